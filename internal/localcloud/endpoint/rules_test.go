package endpoint_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
)

// ruleWatch polls a listener rule while a deployment runs and records every
// distinct action list it sees.
type ruleWatch struct {
	mu   sync.Mutex
	seen [][]elbv2.Action
	errs []error
	stop func()
}

func watchRule(c *elbv2.Client, rule string) *ruleWatch {
	w := &ruleWatch{}
	w.stop = pollEvery(2*time.Millisecond, func() {
		actions, err := c.RuleActions(context.Background(), rule)
		w.mu.Lock()
		defer w.mu.Unlock()
		switch {
		case err != nil:
			w.errs = append(w.errs, err)
		case len(w.seen) == 0 || !cmp.Equal(w.seen[len(w.seen)-1], actions):
			w.seen = append(w.seen, actions)
		}
	})
	return w
}

// end stops the polling and returns what it saw.
func (w *ruleWatch) end() ([][]elbv2.Action, []error) {
	w.stop()
	return w.seen, w.errs
}

// withWeights is actions with the forward's weights set to blue and green.
func withWeights(t *testing.T, actions []elbv2.Action, groups [2]string, blue, green int32) []elbv2.Action {
	t.Helper()
	out, err := elbv2.WithWeights(actions, []elbv2.TargetWeight{{TargetGroupARN: groups[0], Weight: blue}, {TargetGroupARN: groups[1], Weight: green}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// forwardWeights returns the forward's weights of actions, blue then green.
func forwardWeights(t *testing.T, actions []elbv2.Action, groups [2]string) (blue, green int32) {
	t.Helper()
	tw, err := elbv2.ForwardWeights(actions)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range tw {
		switch w.TargetGroupARN {
		case groups[0]:
			blue = w.Weight
		case groups[1]:
			green = w.Weight
		}
	}
	return blue, green
}

// TestRuleKeepsAuthenticationAndStickiness (issue 11 item 1): web's
// staging rule authenticates with OIDC before a sticky forward, on an HTTPS
// listener. A canary that succeeds and one an alarm rolls back change the
// forward's weights only: at every point observed the authenticate action,
// the orders and the stickiness are intact, and after the rollback the
// action list is exactly the one before that deployment.
func TestRuleKeepsAuthenticationAndStickiness(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs two deployments")
	r := start(t)
	ctx := context.Background()
	lb := r.Seeded.Set.Environments["staging"].LoadBalancers["web"]
	ruleARN, groups := lb.ListenerRuleArn, lb.TargetGroupArns
	c := elb.NewFromConfig(r.AWS)
	rules := elbv2.New(c)

	// An authenticate action is allowed on HTTPS listeners only.
	listenerARN := strings.Replace(ruleARN[:strings.LastIndex(ruleARN, "/")], ":listener-rule/", ":listener/", 1)
	if _, err := c.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: &listenerARN, Port: aws.Int32(443), Protocol: elbtypes.ProtocolEnumHttps,
		Certificates: []elbtypes.Certificate{{CertificateArn: aws.String("arn:aws:acm:us-east-1:000000000000:certificate/11111111-2222-3333-4444-555555555555")}}}); err != nil {
		t.Fatalf("make the listener HTTPS: %v", err)
	}
	if _, err := c.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: &ruleARN, Actions: []elbtypes.Action{
		{Type: elbtypes.ActionTypeEnumAuthenticateOidc, Order: aws.Int32(10), AuthenticateOidcConfig: &elbtypes.AuthenticateOidcActionConfig{
			Issuer: aws.String("https://idp.example.com"), AuthorizationEndpoint: aws.String("https://idp.example.com/authorize"),
			TokenEndpoint: aws.String("https://idp.example.com/token"), UserInfoEndpoint: aws.String("https://idp.example.com/userinfo"),
			ClientId: aws.String("web"), ClientSecret: aws.String("s3cret"), Scope: aws.String("openid email"),
			AuthenticationRequestExtraParams: map[string]string{"prompt": "login"}}},
		{Type: elbtypes.ActionTypeEnumForward, Order: aws.Int32(20), ForwardConfig: &elbtypes.ForwardActionConfig{
			TargetGroups:                []elbtypes.TargetGroupTuple{{TargetGroupArn: &groups[0], Weight: aws.Int32(100)}, {TargetGroupArn: &groups[1], Weight: aws.Int32(0)}},
			TargetGroupStickinessConfig: &elbtypes.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(600)}}},
	}}); err != nil {
		t.Fatalf("give the rule an authenticate-oidc action: %v", err)
	}
	before, err := rules.RuleActions(ctx, ruleARN)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 2 || before[0].AuthenticateOIDC == nil || before[1].Forward == nil || before[1].Forward.Stickiness == nil {
		t.Fatalf("got actions %+v, want authenticate-oidc then a sticky forward", before)
	}

	// check asserts that every list seen differs from want only in the
	// forward's weights.
	check := func(t *testing.T, seen [][]elbv2.Action, errs []error, want []elbv2.Action) {
		t.Helper()
		if len(errs) > 0 {
			t.Errorf("reading the rule during the deployment: %v", errs)
		}
		if len(seen) < 2 {
			t.Errorf("saw %d action lists during the deployment, want the weights to move", len(seen))
		}
		for i, got := range seen {
			blue, green := forwardWeights(t, got, groups)
			if diff := cmp.Diff(withWeights(t, want, groups, blue, green), got); diff != "" {
				t.Errorf("point %d (weights %d/%d): actions other than the weights changed (-want +got):\n%s", i, blue, green, diff)
			}
		}
	}

	t.Run("canary succeeds", func(t *testing.T) {
		watch := watchRule(rules, ruleARN)
		status, path, _ := deploy(t, r, "web", "v2", nil)
		seen, errs := watch.end()
		if status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("got status %s (path %v), want SUCCEEDED", status, path)
		}
		check(t, seen, errs, before)
		after, err := rules.RuleActions(ctx, ruleARN)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(withWeights(t, before, groups, 0, 100), after); diff != "" {
			t.Errorf("actions after the canary (-want +got):\n%s", diff)
		}
	})

	t.Run("alarm rolls back to the exact list", func(t *testing.T) {
		start, err := rules.RuleActions(ctx, ruleARN)
		if err != nil {
			t.Fatal(err)
		}
		watch := watchRule(rules, ruleARN)
		status, path, _ := deploy(t, r, "web", "v3", faultOnPush(t, r, faults.Behaviour{ErrorRate: 0.5}))
		seen, errs := watch.end()
		if status != sfntypes.ExecutionStatusFailed || len(path) < 2 || path[len(path)-1] != "RolledBack" {
			t.Fatalf("got status %s path %v, want FAILED ending in RolledBack", status, path)
		}
		check(t, seen, errs, start)
		after, err := rules.RuleActions(ctx, ruleARN)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(start, after); diff != "" {
			t.Errorf("actions after the rollback (-want +got):\n%s", diff)
		}
	})
}
