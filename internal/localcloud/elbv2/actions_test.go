package elbv2

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	adapter "github.com/slipwayhq/slipway/internal/awsapi/elbv2"
)

const testCert = "arn:aws:acm:us-east-1:000000000000:certificate/11111111-2222-3333-4444-555555555555"

// secure makes the listener of w HTTPS on port 443 with a certificate.
func secure(t *testing.T, c *sdk.Client, w world) {
	t.Helper()
	_, err := c.ModifyListener(context.Background(), &sdk.ModifyListenerInput{ListenerArn: &w.listener, Port: aws.Int32(443),
		Protocol: types.ProtocolEnumHttps, Certificates: []types.Certificate{{CertificateArn: aws.String(testCert)}}})
	if err != nil {
		t.Fatal(err)
	}
}

func oidcAction(order int32, secret string) types.Action {
	return types.Action{Type: types.ActionTypeEnumAuthenticateOidc, Order: aws.Int32(order), AuthenticateOidcConfig: &types.AuthenticateOidcActionConfig{
		Issuer: aws.String("https://idp.example.com"), AuthorizationEndpoint: aws.String("https://idp.example.com/authorize"),
		TokenEndpoint: aws.String("https://idp.example.com/token"), UserInfoEndpoint: aws.String("https://idp.example.com/userinfo"),
		ClientId: aws.String("web"), ClientSecret: aws.String(secret),
		AuthenticationRequestExtraParams: map[string]string{"prompt": "login", "display": "page"},
		OnUnauthenticatedRequest:         types.AuthenticateOidcActionConditionalBehaviorEnumDeny, SessionTimeout: aws.Int64(3600),
	}}
}

func forwardAction(order int32, w world, blue, green int32) types.Action {
	return types.Action{Type: types.ActionTypeEnumForward, Order: aws.Int32(order), ForwardConfig: &types.ForwardActionConfig{
		TargetGroups:                []types.TargetGroupTuple{{TargetGroupArn: &w.blue, Weight: aws.Int32(blue)}, {TargetGroupArn: &w.green, Weight: aws.Int32(green)}},
		TargetGroupStickinessConfig: &types.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(300)},
	}}
}

func describeRule(t *testing.T, c *sdk.Client, arn string) types.Rule {
	t.Helper()
	out, err := c.DescribeRules(context.Background(), &sdk.DescribeRulesInput{RuleArns: []string{arn}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Rules[0]
}

// TestAuthenticateActions: a rule on an HTTPS listener keeps an
// authenticate-oidc action before a sticky forward; Describe returns it
// with AWS's defaults and without the client secret; ModifyRule replaces
// the whole list, and UseExistingClientSecret keeps the secret.
func TestAuthenticateActions(t *testing.T) {
	s, c, _, _ := setup(t)
	w := build(t, c)
	secure(t, c, w)
	ctx := context.Background()
	if _, err := c.ModifyRule(ctx, &sdk.ModifyRuleInput{RuleArn: &w.rule, Actions: []types.Action{oidcAction(1, "s3cret"), forwardAction(2, w, 90, 10)}}); err != nil {
		t.Fatal(err)
	}
	got := describeRule(t, c, w.rule).Actions
	want := []types.Action{
		{Type: types.ActionTypeEnumAuthenticateOidc, Order: aws.Int32(1), AuthenticateOidcConfig: &types.AuthenticateOidcActionConfig{
			Issuer: aws.String("https://idp.example.com"), AuthorizationEndpoint: aws.String("https://idp.example.com/authorize"),
			TokenEndpoint: aws.String("https://idp.example.com/token"), UserInfoEndpoint: aws.String("https://idp.example.com/userinfo"),
			ClientId: aws.String("web"), SessionCookieName: aws.String("AWSELBAuthSessionCookie"), Scope: aws.String("openid"),
			AuthenticationRequestExtraParams: map[string]string{"prompt": "login", "display": "page"},
			OnUnauthenticatedRequest:         types.AuthenticateOidcActionConditionalBehaviorEnumDeny, SessionTimeout: aws.Int64(3600),
		}},
		forwardAction(2, w, 90, 10),
	}
	opts := cmpopts.IgnoreUnexported(types.Action{}, types.AuthenticateOidcActionConfig{}, types.ForwardActionConfig{},
		types.TargetGroupTuple{}, types.TargetGroupStickinessConfig{})
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if s.st.Rules[w.rule].Actions[0].OIDC.ClientSecret != "s3cret" {
		t.Errorf("the client secret was not kept")
	}
	l, err := c.DescribeListeners(ctx, &sdk.DescribeListenersInput{ListenerArns: []string{w.listener}})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Listeners[0]; got.Protocol != types.ProtocolEnumHttps || len(got.Certificates) != 1 || aws.ToString(got.Certificates[0].CertificateArn) != testCert ||
		aws.ToString(got.SslPolicy) != defaultSSLPolicy {
		t.Errorf("got listener %s with certificates %+v and policy %s, want HTTPS with %s and %s", got.Protocol, got.Certificates, aws.ToString(got.SslPolicy), testCert, defaultSSLPolicy)
	}

	// Writing back what Describe returned, with UseExistingClientSecret as
	// AWS documents, keeps the secret.
	back := got
	back[0].AuthenticateOidcConfig.UseExistingClientSecret = aws.Bool(true)
	if _, err := c.ModifyRule(ctx, &sdk.ModifyRuleInput{RuleArn: &w.rule, Actions: back}); err != nil {
		t.Fatalf("write back the described actions: %v", err)
	}
	if s.st.Rules[w.rule].Actions[0].OIDC.ClientSecret != "s3cret" {
		t.Errorf("UseExistingClientSecret lost the client secret")
	}

	// ModifyRule replaces the whole list: a forward alone drops the
	// authentication, and the condition stays.
	if _, err := c.ModifyRule(ctx, &sdk.ModifyRuleInput{RuleArn: &w.rule, Actions: []types.Action{forwardAction(1, w, 100, 0)}}); err != nil {
		t.Fatal(err)
	}
	r := describeRule(t, c, w.rule)
	if len(r.Actions) != 1 || r.Actions[0].Type != types.ActionTypeEnumForward || len(r.Conditions) != 1 {
		t.Errorf("got actions %+v conditions %d, want the forward alone and the condition kept", r.Actions, len(r.Conditions))
	}
	if _, err := c.ModifyRule(ctx, &sdk.ModifyRuleInput{RuleArn: &w.rule, Actions: back}); !hasCode(err, "ValidationError") {
		t.Errorf("UseExistingClientSecret without an existing secret: got %v, want ValidationError", err)
	}

	// Cognito in the default actions.
	cognito := types.Action{Type: types.ActionTypeEnumAuthenticateCognito, Order: aws.Int32(1), AuthenticateCognitoConfig: &types.AuthenticateCognitoActionConfig{
		UserPoolArn: aws.String("arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_abc"), UserPoolClientId: aws.String("client"),
		UserPoolDomain: aws.String("auth.example.com")}}
	fixed := types.Action{Type: types.ActionTypeEnumFixedResponse, Order: aws.Int32(2), FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("404")}}
	if _, err := c.ModifyListener(ctx, &sdk.ModifyListenerInput{ListenerArn: &w.listener, DefaultActions: []types.Action{cognito, fixed}}); err != nil {
		t.Fatal(err)
	}
	l, err = c.DescribeListeners(ctx, &sdk.DescribeListenersInput{ListenerArns: []string{w.listener}})
	if err != nil {
		t.Fatal(err)
	}
	if d := l.Listeners[0].DefaultActions; len(d) != 2 || d[0].AuthenticateCognitoConfig == nil ||
		aws.ToString(d[0].AuthenticateCognitoConfig.UserPoolDomain) != "auth.example.com" || aws.ToInt64(d[0].AuthenticateCognitoConfig.SessionTimeout) != defaultSessionTimeout {
		t.Errorf("got default actions %+v, want cognito (with the default session timeout) then fixed-response", d)
	}
	// The listener cannot go back to HTTP while its actions authenticate.
	if _, err := c.ModifyListener(ctx, &sdk.ModifyListenerInput{ListenerArn: &w.listener, Protocol: types.ProtocolEnumHttp}); !hasCode(err, "InvalidLoadBalancerAction") {
		t.Errorf("HTTP with an authenticate default action: got %v, want InvalidLoadBalancerAction", err)
	}
}

// TestActionValidation: invalid action lists are refused with AWS's codes,
// and fields the endpoint does not model are refused by name.
func TestActionValidation(t *testing.T) {
	_, c, _, _ := setup(t)
	w := build(t, c)
	ctx := context.Background()
	// A second, HTTP listener on the same load balancer.
	plain, err := c.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: &w.lb, Port: aws.Int32(8080), Protocol: types.ProtocolEnumHttp,
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("404")}}}})
	if err != nil {
		t.Fatal(err)
	}
	plainRule, err := c.CreateRule(ctx, &sdk.CreateRuleInput{ListenerArn: plain.Listeners[0].ListenerArn, Priority: aws.Int32(1),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/x"}}},
		Actions:    []types.Action{forwardAction(1, w, 1, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	secure(t, c, w)
	noSecret := oidcAction(1, "")
	noSecret.AuthenticateOidcConfig.ClientSecret = nil
	noOrder := forwardAction(2, w, 1, 1)
	noOrder.Order = nil
	fixedWithForward := types.Action{Type: types.ActionTypeEnumFixedResponse, Order: aws.Int32(2),
		FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("200")}, ForwardConfig: &types.ForwardActionConfig{}}
	fixedWithForward.ForwardConfig.TargetGroups = []types.TargetGroupTuple{{TargetGroupArn: &w.blue}}
	jwt := types.Action{Type: types.ActionTypeEnumJwtValidation, Order: aws.Int32(1),
		JwtValidationConfig: &types.JwtValidationActionConfig{Issuer: aws.String("https://idp.example.com"), JwksEndpoint: aws.String("https://idp.example.com/jwks")}}
	tests := map[string]struct {
		rule    string
		actions []types.Action
		code    string
		names   string // in the message
	}{
		"authenticate on HTTP":        {aws.ToString(plainRule.Rules[0].RuleArn), []types.Action{oidcAction(1, "x"), forwardAction(2, w, 1, 1)}, "InvalidLoadBalancerAction", "HTTPS"},
		"authenticate after forward":  {w.rule, []types.Action{oidcAction(2, "x"), forwardAction(1, w, 1, 1)}, "InvalidLoadBalancerAction", "before"},
		"two authenticate":            {w.rule, []types.Action{oidcAction(1, "x"), oidcAction(2, "x"), forwardAction(3, w, 1, 1)}, "InvalidLoadBalancerAction", "at most one"},
		"authenticate alone":          {w.rule, []types.Action{oidcAction(1, "x")}, "ValidationError", "exactly one"},
		"duplicate order":             {w.rule, []types.Action{oidcAction(1, "x"), forwardAction(1, w, 1, 1)}, "ValidationError", "Order"},
		"missing order":               {w.rule, []types.Action{oidcAction(1, "x"), noOrder}, "ValidationError", "Order"},
		"order above 50000":           {w.rule, []types.Action{forwardAction(50001, w, 1, 1)}, "ValidationError", "order"},
		"no secret, no existing":      {w.rule, []types.Action{noSecret, forwardAction(2, w, 1, 1)}, "ValidationError", "ClientSecret"},
		"config of another type":      {w.rule, []types.Action{fixedWithForward}, "ValidationError", "ForwardConfig"},
		"jwt-validation not modelled": {w.rule, []types.Action{jwt, forwardAction(2, w, 1, 1)}, "ValidationError", "JwtValidationConfig"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := c.ModifyRule(ctx, &sdk.ModifyRuleInput{RuleArn: &tc.rule, Actions: tc.actions})
			if !hasCode(err, tc.code) || !strings.Contains(err.Error(), tc.names) {
				t.Errorf("got %v, want %s naming %s", err, tc.code, tc.names)
			}
		})
	}
	// An HTTPS listener needs a certificate.
	_, err = c.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: &w.lb, Port: aws.Int32(8443), Protocol: types.ProtocolEnumHttps,
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("404")}}}})
	if !hasCode(err, "ValidationError") || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("HTTPS without a certificate: got %v, want ValidationError naming the certificate", err)
	}
	// A listener field the endpoint does not model is refused by name.
	_, err = c.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: &w.lb, Port: aws.Int32(8443), Protocol: types.ProtocolEnumHttps,
		Certificates: []types.Certificate{{CertificateArn: aws.String(testCert)}}, AlpnPolicy: []string{"HTTP2Only"},
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("404")}}}})
	if !hasCode(err, "ValidationError") || !strings.Contains(err.Error(), "AlpnPolicy") {
		t.Errorf("AlpnPolicy: got %v, want ValidationError naming AlpnPolicy", err)
	}
	// Nothing was changed by the refused requests.
	if got := describeRule(t, c, w.rule).Actions; len(got) != 1 || got[0].Type != types.ActionTypeEnumForward {
		t.Errorf("got actions %+v after refused modifications, want the forward of build", got)
	}
}

// TestWeightsKeepAuthentication: the adapter's weight changes on the local
// endpoint keep the authenticate action, its client secret, the orders and
// the stickiness, and a captured list is restored exactly.
func TestWeightsKeepAuthentication(t *testing.T) {
	s, c, _, _ := setup(t)
	w := build(t, c)
	secure(t, c, w)
	ctx := context.Background()
	if _, err := c.ModifyRule(ctx, &sdk.ModifyRuleInput{RuleArn: &w.rule, Actions: []types.Action{oidcAction(10, "s3cret"), forwardAction(20, w, 100, 0)}}); err != nil {
		t.Fatal(err)
	}
	a := adapter.New(c)
	before, err := a.RuleActions(ctx, w.rule)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetRuleWeights(ctx, w.rule, []adapter.TargetWeight{{TargetGroupARN: w.blue, Weight: 75}, {TargetGroupARN: w.green, Weight: 25}}); err != nil {
		t.Fatal(err)
	}
	after, err := a.RuleActions(ctx, w.rule)
	if err != nil {
		t.Fatal(err)
	}
	want, err := adapter.WithWeights(before, []adapter.TargetWeight{{TargetGroupARN: w.blue, Weight: 75}, {TargetGroupARN: w.green, Weight: 25}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, after); diff != "" {
		t.Errorf("actions after the weight change (-want +got):\n%s", diff)
	}
	if got := s.st.Rules[w.rule].Actions[0].OIDC.ClientSecret; got != "s3cret" {
		t.Errorf("got client secret %q after the weight change, want it kept", got)
	}
	if err := a.SetRuleActions(ctx, w.rule, before); err != nil {
		t.Fatal(err)
	}
	restored, err := a.RuleActions(ctx, w.rule)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, restored); diff != "" {
		t.Errorf("restored actions (-want +got):\n%s", diff)
	}
}

// TestConditionFields: a condition carrying another field's configuration,
// or a member the endpoint does not model, is refused by name rather than
// dropped.
func TestConditionFields(t *testing.T) {
	_, c, _, _ := setup(t)
	w := build(t, c)
	ctx := context.Background()
	tests := map[string]struct {
		cond  types.RuleCondition
		names string
	}{
		"config of another field": {types.RuleCondition{Field: aws.String("path-pattern"),
			HostHeaderConfig: &types.HostHeaderConditionConfig{Values: []string{"example.com"}}}, "HostHeaderConfig"},
		"regex values": {types.RuleCondition{Field: aws.String("path-pattern"),
			PathPatternConfig: &types.PathPatternConditionConfig{RegexValues: []string{"^/x$"}}}, "RegexValues"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := c.ModifyRule(ctx, &sdk.ModifyRuleInput{RuleArn: &w.rule, Conditions: []types.RuleCondition{tc.cond}})
			if !hasCode(err, "ValidationError") || !strings.Contains(err.Error(), tc.names) {
				t.Errorf("got %v, want ValidationError naming %s", err, tc.names)
			}
		})
	}
}
