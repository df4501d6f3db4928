package elbv2

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"

	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi/awsapitest"
	"github.com/slipwayhq/slipway/internal/workflow"
)

const (
	rule  = "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener-rule/app/web/1/2/3"
	blue  = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web-blue/1"
	green = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web-green/2"
)

// reply is the fake endpoint's answer: an HTTP status and an XML body.
type reply struct {
	status int // 200 when zero
	body   string
}

// ok wraps result, the inner XML of <Action>Result, in a query response.
func ok(action, result string) reply {
	return reply{body: `<` + action + `Response xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">` +
		`<` + action + `Result>` + result + `</` + action + `Result>` +
		`<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></` + action + `Response>`}
}

// errorReply is a query-protocol error response.
func errorReply(status int, code string) reply {
	return reply{status: status, body: `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">` +
		`<Error><Type>Sender</Type><Code>` + code + `</Code><Message>` + code + ` from the fake</Message></Error>` +
		`<RequestId>req-1</RequestId></ErrorResponse>`}
}

// fake is an ELBv2 endpoint speaking the query protocol: form-encoded
// requests, XML responses. It records each request's form and answers with
// the one reply it holds.
type fake struct {
	t     *testing.T
	reply reply
	mu    sync.Mutex
	forms []url.Values
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); r.Method != http.MethodPost || ct != "application/x-www-form-urlencoded" {
		f.t.Errorf("got %s with content type %q, want a form POST", r.Method, ct)
	}
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("parse form: %v", err)
	}
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	if f.reply.status != 0 {
		w.WriteHeader(f.reply.status)
	}
	io.WriteString(w, f.reply.body)
}

// newClient returns a Client whose real SDK client talks to a fake answering
// with rep, without retries.
func newClient(t *testing.T, rep reply) (*Client, *fake) {
	f := &fake{t: t, reply: rep}
	return New(sdk.NewFromConfig(awsapitest.Serve(t, f))), f
}

// check compares the one form f received with want (Version is implied).
func (f *fake) check(t *testing.T, want map[string]string) {
	t.Helper()
	w := url.Values{"Version": {"2015-12-01"}}
	for k, v := range want {
		w.Set(k, v)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if diff := cmp.Diff([]url.Values{w}, f.forms); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestRuleWeights(t *testing.T) {
	tests := map[string]struct {
		reply    reply
		want     []TargetWeight
		notFound bool
	}{
		"weighted": {
			reply: ok("DescribeRules", `<Rules><member><RuleArn>`+rule+`</RuleArn><Priority>10</Priority>
				<Actions><member><Type>forward</Type><Order>1</Order><ForwardConfig><TargetGroups>
				<member><TargetGroupArn>`+blue+`</TargetGroupArn><Weight>90</Weight></member>
				<member><TargetGroupArn>`+green+`</TargetGroupArn><Weight>10</Weight></member>
				</TargetGroups></ForwardConfig></member></Actions></member></Rules>`),
			want: []TargetWeight{{TargetGroupARN: blue, Weight: 90}, {TargetGroupARN: green, Weight: 10}},
		},
		"after an authenticate action, single group": {
			reply: ok("DescribeRules", `<Rules><member><RuleArn>`+rule+`</RuleArn><Actions>
				<member><Type>authenticate-oidc</Type><Order>1</Order></member>
				<member><Type>forward</Type><Order>2</Order><TargetGroupArn>`+blue+`</TargetGroupArn></member>
				</Actions></member></Rules>`),
			want: []TargetWeight{{TargetGroupARN: blue, Weight: 1}},
		},
		"missing": {reply: errorReply(400, "RuleNotFound"), notFound: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, f := newClient(t, tc.reply)
			got, err := c.RuleWeights(context.Background(), rule)
			f.check(t, map[string]string{"Action": "DescribeRules", "RuleArns.member.1": rule})
			if errors.Is(err, ErrNotFound) != tc.notFound {
				t.Errorf("got %v, want ErrNotFound %v", err, tc.notFound)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("weights (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRuleWeightsNoForward(t *testing.T) {
	c, _ := newClient(t, ok("DescribeRules", `<Rules><member><RuleArn>`+rule+`</RuleArn><Actions>
		<member><Type>fixed-response</Type></member></Actions></member></Rules>`))
	if _, err := c.RuleWeights(context.Background(), rule); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("got %v, want an error saying the rule does not forward", err)
	}
}

func TestSetRuleWeights(t *testing.T) {
	c, f := newClient(t, ok("ModifyRule", `<Rules><member><RuleArn>`+rule+`</RuleArn></member></Rules>`))
	err := c.SetRuleWeights(context.Background(), rule, []TargetWeight{{blue, 50}, {green, 50}})
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, map[string]string{
		"Action":                "ModifyRule",
		"RuleArn":               rule,
		"Actions.member.1.Type": "forward",
		"Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn": blue,
		"Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight":         "50",
		"Actions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn": green,
		"Actions.member.1.ForwardConfig.TargetGroups.member.2.Weight":         "50",
	})
}

func TestSetRuleWeightsErrors(t *testing.T) {
	tests := map[string]struct {
		reply     reply
		notFound  bool
		transient bool
	}{
		"rule missing":         {reply: errorReply(400, "RuleNotFound"), notFound: true},
		"target group missing": {reply: errorReply(400, "TargetGroupNotFound"), notFound: true},
		"throttled":            {reply: errorReply(400, "Throttling"), transient: true},
		"unavailable":          {reply: errorReply(503, "ServiceUnavailable"), transient: true},
		"invalid":              {reply: errorReply(400, "ValidationError")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, _ := newClient(t, tc.reply)
			err := c.SetRuleWeights(context.Background(), rule, []TargetWeight{{blue, 0}, {green, 100}})
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

func TestTargetHealth(t *testing.T) {
	c, f := newClient(t, ok("DescribeTargetHealth", `<TargetHealthDescriptions>
		<member><Target><Id>10.0.1.5</Id><Port>8080</Port></Target><HealthCheckPort>8080</HealthCheckPort>
			<TargetHealth><State>healthy</State></TargetHealth></member>
		<member><Target><Id>10.0.2.7</Id><Port>8080</Port></Target>
			<TargetHealth><State>unhealthy</State><Reason>Target.FailedHealthChecks</Reason>
			<Description>Health checks failed</Description></TargetHealth></member>
		</TargetHealthDescriptions>`))
	got, err := c.TargetHealth(context.Background(), green)
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{
		{ID: "10.0.1.5", Port: 8080, State: "healthy"},
		{ID: "10.0.2.7", Port: 8080, State: "unhealthy", Reason: "Target.FailedHealthChecks", Description: "Health checks failed"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	f.check(t, map[string]string{"Action": "DescribeTargetHealth", "TargetGroupArn": green})

	c, _ = newClient(t, errorReply(400, "TargetGroupNotFound"))
	if _, err := c.TargetHealth(context.Background(), green); !errors.Is(err, ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}
