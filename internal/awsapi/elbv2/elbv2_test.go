package elbv2

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
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
// the reply for its Action, else with the one reply it holds.
type fake struct {
	t       *testing.T
	reply   reply
	replies map[string]reply
	mu      sync.Mutex
	forms   []url.Values
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
	rep, ok := f.replies[r.PostForm.Get("Action")]
	if !ok {
		rep = f.reply
	}
	if rep.status != 0 {
		w.WriteHeader(rep.status)
	}
	io.WriteString(w, rep.body)
}

// newClient returns a Client whose real SDK client talks to a fake answering
// with rep, without retries.
func newClient(t *testing.T, rep reply) (*Client, *fake) {
	f := &fake{t: t, reply: rep}
	return New(sdk.NewFromConfig(awsapitest.Serve(t, f))), f
}

// check compares the forms f received with want, one map per request
// (Version is implied).
func (f *fake) check(t *testing.T, want ...map[string]string) {
	t.Helper()
	var ws []url.Values
	for _, m := range want {
		w := url.Values{"Version": {"2015-12-01"}}
		for k, v := range m {
			w.Set(k, v)
		}
		ws = append(ws, w)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if diff := cmp.Diff(ws, f.forms); diff != "" {
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

// authRule is a rule authenticating with OIDC (Order 1) before a sticky
// forward to blue (Order 2), as DescribeRules returns it: no client secret.
var authRule = `<Rules><member><RuleArn>` + rule + `</RuleArn><Priority>10</Priority><Actions>
	<member><Type>authenticate-oidc</Type><Order>1</Order><AuthenticateOidcConfig>
		<Issuer>https://idp.example.com</Issuer><AuthorizationEndpoint>https://idp.example.com/authorize</AuthorizationEndpoint>
		<TokenEndpoint>https://idp.example.com/token</TokenEndpoint><UserInfoEndpoint>https://idp.example.com/userinfo</UserInfoEndpoint>
		<ClientId>web</ClientId><SessionCookieName>AWSELBAuthSessionCookie</SessionCookieName><Scope>openid</Scope>
		<SessionTimeout>3600</SessionTimeout><OnUnauthenticatedRequest>deny</OnUnauthenticatedRequest>
		<AuthenticationRequestExtraParams><entry><key>prompt</key><value>login</value></entry></AuthenticationRequestExtraParams>
	</AuthenticateOidcConfig></member>
	<member><Type>forward</Type><Order>2</Order><TargetGroupArn>` + blue + `</TargetGroupArn><ForwardConfig>
		<TargetGroups><member><TargetGroupArn>` + blue + `</TargetGroupArn><Weight>1</Weight></member></TargetGroups>
		<TargetGroupStickinessConfig><Enabled>true</Enabled><DurationSeconds>300</DurationSeconds></TargetGroupStickinessConfig>
	</ForwardConfig></member>
</Actions></member></Rules>`

// authActions is authRule's action list in the adapter's terms.
var authActions = []Action{
	{Type: ActionAuthenticateOIDC, Order: 1, AuthenticateOIDC: &AuthenticateOIDC{Issuer: "https://idp.example.com",
		AuthorizationEndpoint: "https://idp.example.com/authorize", TokenEndpoint: "https://idp.example.com/token",
		UserInfoEndpoint: "https://idp.example.com/userinfo", ClientID: "web",
		Session: Session{SessionCookieName: "AWSELBAuthSessionCookie", Scope: "openid", SessionTimeout: 3600,
			ExtraParams: map[string]string{"prompt": "login"}, OnUnauthenticatedRequest: "deny"}}},
	{Type: ActionForward, Order: 2, TargetGroupARN: blue, Forward: &Forward{TargetGroups: []TargetWeight{{blue, 1}},
		Stickiness: &Stickiness{Enabled: true, DurationSeconds: 300}}},
}

// oidcForm is the form of authActions' first action written back: with
// UseExistingClientSecret, since the secret was not read.
var oidcForm = map[string]string{
	"Actions.member.1.Type":                                                                  "authenticate-oidc",
	"Actions.member.1.Order":                                                                 "1",
	"Actions.member.1.AuthenticateOidcConfig.Issuer":                                         "https://idp.example.com",
	"Actions.member.1.AuthenticateOidcConfig.AuthorizationEndpoint":                          "https://idp.example.com/authorize",
	"Actions.member.1.AuthenticateOidcConfig.TokenEndpoint":                                  "https://idp.example.com/token",
	"Actions.member.1.AuthenticateOidcConfig.UserInfoEndpoint":                               "https://idp.example.com/userinfo",
	"Actions.member.1.AuthenticateOidcConfig.ClientId":                                       "web",
	"Actions.member.1.AuthenticateOidcConfig.UseExistingClientSecret":                        "true",
	"Actions.member.1.AuthenticateOidcConfig.SessionCookieName":                              "AWSELBAuthSessionCookie",
	"Actions.member.1.AuthenticateOidcConfig.Scope":                                          "openid",
	"Actions.member.1.AuthenticateOidcConfig.SessionTimeout":                                 "3600",
	"Actions.member.1.AuthenticateOidcConfig.OnUnauthenticatedRequest":                       "deny",
	"Actions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.key":   "prompt",
	"Actions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.value": "login",
}

func TestRuleActions(t *testing.T) {
	c, f := newClient(t, ok("DescribeRules", authRule))
	got, err := c.RuleActions(context.Background(), rule)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(authActions, got); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	f.check(t, map[string]string{"Action": "DescribeRules", "RuleArns.member.1": rule})
	// The plan stores the list as JSON: it must come back the same.
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var back []Action
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
}

// TestSetRuleWeights: the weights are changed by reading the rule and
// writing it back with only the forward's target groups replaced; the
// authentication, the orders and the stickiness stay.
func TestSetRuleWeights(t *testing.T) {
	f := &fake{t: t, replies: map[string]reply{
		"DescribeRules": ok("DescribeRules", authRule),
		"ModifyRule":    ok("ModifyRule", `<Rules><member><RuleArn>`+rule+`</RuleArn></member></Rules>`),
	}}
	c := New(sdk.NewFromConfig(awsapitest.Serve(t, f)))
	err := c.SetRuleWeights(context.Background(), rule, []TargetWeight{{blue, 50}, {green, 50}})
	if err != nil {
		t.Fatal(err)
	}
	modify := map[string]string{
		"Action":                 "ModifyRule",
		"RuleArn":                rule,
		"Actions.member.2.Type":  "forward",
		"Actions.member.2.Order": "2",
		"Actions.member.2.ForwardConfig.TargetGroups.member.1.TargetGroupArn":        blue,
		"Actions.member.2.ForwardConfig.TargetGroups.member.1.Weight":                "50",
		"Actions.member.2.ForwardConfig.TargetGroups.member.2.TargetGroupArn":        green,
		"Actions.member.2.ForwardConfig.TargetGroups.member.2.Weight":                "50",
		"Actions.member.2.ForwardConfig.TargetGroupStickinessConfig.Enabled":         "true",
		"Actions.member.2.ForwardConfig.TargetGroupStickinessConfig.DurationSeconds": "300",
	}
	maps.Copy(modify, oidcForm)
	f.check(t, map[string]string{"Action": "DescribeRules", "RuleArns.member.1": rule}, modify)
}

// TestSetRuleActions writes a captured list back exactly, each action type
// in its own shape.
func TestSetRuleActions(t *testing.T) {
	c, f := newClient(t, ok("ModifyRule", `<Rules><member><RuleArn>`+rule+`</RuleArn></member></Rules>`))
	actions := append(CloneActions(authActions[:1]),
		Action{Type: ActionFixedResponse, Order: 2, FixedResponse: &FixedResponse{StatusCode: "503", ContentType: "text/plain", MessageBody: "down"}})
	if err := c.SetRuleActions(context.Background(), rule, actions); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Action":                 "ModifyRule",
		"RuleArn":                rule,
		"Actions.member.2.Type":  "fixed-response",
		"Actions.member.2.Order": "2",
		"Actions.member.2.FixedResponseConfig.StatusCode":  "503",
		"Actions.member.2.FixedResponseConfig.ContentType": "text/plain",
		"Actions.member.2.FixedResponseConfig.MessageBody": "down",
	}
	maps.Copy(want, oidcForm)
	f.check(t, want)
}

func TestWithWeights(t *testing.T) {
	got, err := WithWeights(authActions, []TargetWeight{{blue, 0}, {green, 100}})
	if err != nil {
		t.Fatal(err)
	}
	want := CloneActions(authActions)
	want[1].TargetGroupARN = ""
	want[1].Forward.TargetGroups = []TargetWeight{{blue, 0}, {green, 100}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if authActions[1].Forward.TargetGroups[0].Weight != 1 || authActions[1].TargetGroupARN != blue {
		t.Errorf("WithWeights changed its input: %+v", authActions[1])
	}
	if _, err := WithWeights(authActions[:1], []TargetWeight{{blue, 1}}); !errors.Is(err, ErrNoForward) {
		t.Errorf("got %v, want ErrNoForward", err)
	}
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
		"rule not forwarding": {reply: ok("DescribeRules", `<Rules><member><RuleArn>`+rule+`</RuleArn><Actions>
			<member><Type>fixed-response</Type><FixedResponseConfig><StatusCode>404</StatusCode></FixedResponseConfig></member></Actions></member></Rules>`)},
		"unavailable": {reply: errorReply(503, "ServiceUnavailable"), transient: true},
		"invalid":     {reply: errorReply(400, "ValidationError")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			// The rule is read, then written: the error comes from either.
			f := &fake{t: t, reply: tc.reply, replies: map[string]reply{"DescribeRules": ok("DescribeRules", authRule)}}
			if strings.Contains(tc.reply.body, "DescribeRules") {
				f.replies = nil
			}
			c := New(sdk.NewFromConfig(awsapitest.Serve(t, f)))
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
