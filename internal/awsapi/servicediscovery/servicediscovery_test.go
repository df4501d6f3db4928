package servicediscovery

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// reply is the fake endpoint's answer to one request.
type reply struct {
	status int    // 200 when zero
	body   string // JSON
}

// fake is a Cloud Map endpoint speaking JSON 1.1 that answers ListInstances
// with its replies in order, the last one repeating, and records the bodies.
type fake struct {
	t        *testing.T
	mu       sync.Mutex
	replies  []reply
	requests []map[string]any
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if tg, ct := r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type"); tg != "Route53AutoNaming_v20170314.ListInstances" || ct != "application/x-amz-json-1.1" {
		f.t.Errorf("got target %q content type %q, want ListInstances in JSON 1.1", tg, ct)
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.t.Errorf("request body: %v", err)
	}
	f.mu.Lock()
	f.requests = append(f.requests, body)
	rep := f.replies[0]
	if len(f.replies) > 1 {
		f.replies = f.replies[1:]
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if rep.status != 0 {
		w.WriteHeader(rep.status)
	}
	io.WriteString(w, rep.body)
}

// newClient returns a Client whose real SDK client talks to a fake answering
// with replies, without retries.
func newClient(t *testing.T, replies ...reply) (*Client, *fake) {
	f := &fake{t: t, replies: replies}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return New(sdk.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	})), f
}

func TestInstances(t *testing.T) {
	c, f := newClient(t,
		reply{body: `{"Instances":[{"Id":"0a1b2c","Attributes":{"AWS_INSTANCE_IPV4":"10.0.1.5","AWS_INSTANCE_PORT":"8080","ECS_SERVICE_NAME":"web"}}],"NextToken":"p2"}`},
		reply{body: `{"Instances":[{"Id":"3d4e5f","Attributes":{"AWS_INSTANCE_IPV4":"10.0.2.7"}}]}`},
	)
	got, err := c.Instances(context.Background(), "srv-abc")
	if err != nil {
		t.Fatal(err)
	}
	want := []Instance{
		{ID: "0a1b2c", Attributes: map[string]string{"AWS_INSTANCE_IPV4": "10.0.1.5", "AWS_INSTANCE_PORT": "8080", "ECS_SERVICE_NAME": "web"}},
		{ID: "3d4e5f", Attributes: map[string]string{"AWS_INSTANCE_IPV4": "10.0.2.7"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("instances (-want +got):\n%s", diff)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	wantReq := []map[string]any{{"ServiceId": "srv-abc"}, {"ServiceId": "srv-abc", "NextToken": "p2"}}
	if diff := cmp.Diff(wantReq, f.requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestInstancesErrors(t *testing.T) {
	tests := map[string]struct {
		reply     reply
		notFound  bool
		transient bool
	}{
		"missing":       {reply: reply{status: 400, body: `{"__type":"ServiceNotFound","Message":"no such service"}`}, notFound: true},
		"rate limited":  {reply: reply{status: 400, body: `{"__type":"RequestLimitExceeded","Message":"slow down"}`}, transient: true},
		"server error":  {reply: reply{status: 500, body: `{"__type":"InternalFailure"}`}, transient: true},
		"invalid input": {reply: reply{status: 400, body: `{"__type":"InvalidInput","Message":"bad id"}`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, _ := newClient(t, tc.reply)
			_, err := c.Instances(context.Background(), "srv-abc")
			if err == nil {
				t.Fatal("got no error, want one")
			}
			if errors.Is(err, ErrNotFound) != tc.notFound {
				t.Errorf("got %v, want ErrNotFound %v", err, tc.notFound)
			}
			var tr *workflow.Transient
			if errors.As(err, &tr) != tc.transient {
				t.Errorf("got %v, want transient %v", err, tc.transient)
			}
		})
	}
}
