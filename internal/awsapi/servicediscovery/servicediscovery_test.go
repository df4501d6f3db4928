package servicediscovery

import (
	"context"
	"errors"
	"testing"

	sdk "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi/awsapitest"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// reply is the fake endpoint's answer to one request.
type reply = awsapitest.Reply

// newClient returns a Client whose real SDK client talks to a Cloud Map
// endpoint speaking JSON 1.1 that answers ListInstances with replies in
// order, the last one repeating, without retries.
func newClient(t *testing.T, replies ...reply) (*Client, *awsapitest.JSONServer) {
	f, cfg := awsapitest.NewJSON(t, "Route53AutoNaming_v20170314.", "1.1", map[string][]reply{"ListInstances": replies})
	return New(sdk.NewFromConfig(cfg)), f
}

func TestInstances(t *testing.T) {
	c, f := newClient(t,
		reply{Body: `{"Instances":[{"Id":"0a1b2c","Attributes":{"AWS_INSTANCE_IPV4":"10.0.1.5","AWS_INSTANCE_PORT":"8080","ECS_SERVICE_NAME":"web"}}],"NextToken":"p2"}`},
		reply{Body: `{"Instances":[{"Id":"3d4e5f","Attributes":{"AWS_INSTANCE_IPV4":"10.0.2.7"}}]}`},
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
	wantReq := []map[string]any{{"ServiceId": "srv-abc"}, {"ServiceId": "srv-abc", "NextToken": "p2"}}
	if diff := cmp.Diff(wantReq, f.Bodies()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestInstancesErrors(t *testing.T) {
	tests := map[string]struct {
		reply     reply
		notFound  bool
		transient bool
	}{
		"missing":       {reply: reply{Status: 400, Body: `{"__type":"ServiceNotFound","Message":"no such service"}`}, notFound: true},
		"rate limited":  {reply: reply{Status: 400, Body: `{"__type":"RequestLimitExceeded","Message":"slow down"}`}, transient: true},
		"server error":  {reply: reply{Status: 500, Body: `{"__type":"InternalFailure"}`}, transient: true},
		"invalid input": {reply: reply{Status: 400, Body: `{"__type":"InvalidInput","Message":"bad id"}`}},
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
