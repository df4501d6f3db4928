package eventbridge

import (
	"context"
	"errors"
	"testing"

	sdk "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi"
	"github.com/slipwayhq/slipway/internal/awsapi/awsapitest"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// endpoint starts an EventBridge endpoint speaking JSON 1.1 that answers
// PutEvents with status and body, and returns a Client for it (no retries)
// and a function returning the request bodies it received.
func endpoint(t *testing.T, status int, body string) (*Client, func() []map[string]any) {
	api, got := sdkClient(t, status, body)
	return New(api), got
}

// sdkClient is endpoint without the adapter: the real SDK client.
func sdkClient(t *testing.T, status int, body string) (*sdk.Client, func() []map[string]any) {
	f, cfg := awsapitest.NewJSON(t, "AWSEvents.", "1.1",
		map[string][]awsapitest.Reply{"PutEvents": {{Status: status, Body: body}}})
	return sdk.NewFromConfig(cfg), f.Bodies
}

func TestPublish(t *testing.T) {
	c, got := endpoint(t, 200, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`)
	detail := map[string]any{"deployment": "d-1", "service": "web", "state": "deployed"}
	if err := c.Publish(context.Background(), "Deployment State Change", detail); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{{"Entries": []any{map[string]any{
		"Source":     "slipway",
		"DetailType": "Deployment State Change",
		"Detail":     `{"deployment":"d-1","service":"web","state":"deployed"}`,
	}}}}
	if diff := cmp.Diff(want, got()); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}

func TestPublishErrors(t *testing.T) {
	tests := map[string]struct {
		status    int
		body      string
		transient bool
		code      string
	}{
		"throttled": {status: 400, body: `{"__type":"ThrottlingException","message":"slow down"}`,
			transient: true, code: "ThrottlingException"},
		"server error": {status: 500, body: `{"__type":"InternalException","message":"oops"}`,
			transient: true, code: "InternalException"},
		"entry throttled": {status: 200, body: `{"FailedEntryCount":1,"Entries":[{"ErrorCode":"ThrottlingException","ErrorMessage":"slow down"}]}`,
			transient: true, code: "ThrottlingException"},
		"entry internal failure": {status: 200, body: `{"FailedEntryCount":1,"Entries":[{"ErrorCode":"InternalFailure","ErrorMessage":"oops"}]}`,
			transient: true, code: "InternalFailure"},
		"entry denied": {status: 200, body: `{"FailedEntryCount":1,"Entries":[{"ErrorCode":"AccessDeniedException","ErrorMessage":"no"}]}`,
			code: "AccessDeniedException"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, _ := endpoint(t, tc.status, tc.body)
			err := c.Publish(context.Background(), "Deployment State Change", map[string]string{"a": "b"})
			if err == nil {
				t.Fatal("got no error, want one")
			}
			var tr *workflow.Transient
			if errors.As(err, &tr) != tc.transient {
				t.Errorf("got %v, want transient %v", err, tc.transient)
			}
			if got := awsapi.Code(err); got != tc.code {
				t.Errorf("got code %q, want %q", got, tc.code)
			}
		})
	}
}

func TestPublishBadDetail(t *testing.T) {
	c, got := endpoint(t, 200, `{}`)
	if err := c.Publish(context.Background(), "x", make(chan int)); err == nil {
		t.Error("got no error for a detail that cannot be encoded, want one")
	}
	if len(got()) != 0 {
		t.Errorf("got %d requests, want none", len(got()))
	}
}

func TestPublishOnBus(t *testing.T) {
	tests := map[string]struct {
		bus  string
		want map[string]any
	}{
		"named": {bus: "slipway", want: map[string]any{"Source": "slipway", "DetailType": "Deployment State Change",
			"Detail": `{"a":"b"}`, "EventBusName": "slipway"}},
		"default": {bus: "default", want: map[string]any{"Source": "slipway", "DetailType": "Deployment State Change",
			"Detail": `{"a":"b"}`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			api, got := sdkClient(t, 200, `{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}`)
			if err := NewOnBus(api, tc.bus).Publish(context.Background(), "Deployment State Change", map[string]string{"a": "b"}); err != nil {
				t.Fatal(err)
			}
			want := []map[string]any{{"Entries": []any{tc.want}}}
			if diff := cmp.Diff(want, got()); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}
