package elbv2

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	adapter "github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

var start = time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)

// setup returns a Service on a virtual clock and a real SDK client talking
// to it over HTTP through the real router, registered as the endpoint
// registers ELBv2. The test also fails if the service answers an error
// that is not a *protocol.Error or a result that does not encode.
func setup(t *testing.T) (*Service, *sdk.Client, *clock.Virtual, string) {
	t.Helper()
	clk := clock.NewVirtual(start)
	s := New(Config{Clock: clk})
	router := localcloud.NewServer(localcloud.Options{})
	router.RegisterQuery("elasticloadbalancing", Version, Namespace, protocol.QueryHandlerFunc(func(ctx context.Context, action string, params url.Values) (any, error) {
		res, err := s.ServeQuery(ctx, action, params)
		if err != nil {
			var pe *protocol.Error
			if !errors.As(err, &pe) {
				t.Errorf("%s returned %v, want a *protocol.Error", action, err)
			}
			return res, err
		}
		if _, err := protocol.EncodeQueryResponse(action, Namespace, "req-1", res); err != nil {
			t.Errorf("encode %s: %v", action, err)
		}
		return res, nil
	}))
	url := prototest.Serve(t, router)
	return s, sdk.NewFromConfig(prototest.Config(url)), clk, url
}

// world is a load balancer with a listener, a rule forwarding to blue and
// green, and their ARNs.
type world struct {
	lb, listener, rule, blue, green string
}

func build(t *testing.T, c *sdk.Client) world {
	t.Helper()
	ctx := context.Background()
	lb, err := c.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("slipway-demo"), Subnets: []string{"subnet-1", "subnet-2"}})
	if err != nil {
		t.Fatal(err)
	}
	var w world
	w.lb = aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)
	for _, name := range []string{"web-blue", "web-green"} {
		tg, err := c.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String(name), Protocol: types.ProtocolEnumHttp,
			Port: aws.Int32(8080), VpcId: aws.String("vpc-1"), TargetType: types.TargetTypeEnumIp, HealthCheckPath: aws.String("/health")})
		if err != nil {
			t.Fatal(err)
		}
		arn := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
		if name == "web-blue" {
			w.blue = arn
		} else {
			w.green = arn
		}
	}
	l, err := c.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: &w.lb, Port: aws.Int32(80), Protocol: types.ProtocolEnumHttp,
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumFixedResponse,
			FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("404")}}}})
	if err != nil {
		t.Fatal(err)
	}
	w.listener = aws.ToString(l.Listeners[0].ListenerArn)
	r, err := c.CreateRule(ctx, &sdk.CreateRuleInput{ListenerArn: &w.listener, Priority: aws.Int32(10),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{Values: []string{"/web/*"}}}},
		Actions: []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{TargetGroups: []types.TargetGroupTuple{
			{TargetGroupArn: &w.blue, Weight: aws.Int32(100)}, {TargetGroupArn: &w.green, Weight: aws.Int32(0)}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	w.rule = aws.ToString(r.Rules[0].RuleArn)
	return w
}

func TestARNsAndNames(t *testing.T) {
	_, c, _, _ := setup(t)
	w := build(t, c)
	ctx := context.Background()
	checks := map[string]struct{ got, prefix string }{
		"load balancer": {w.lb, "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/slipway-demo/"},
		"target group":  {w.blue, "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web-blue/"},
		"listener":      {w.listener, strings.Replace(w.lb, ":loadbalancer/", ":listener/", 1) + "/"},
		"rule":          {w.rule, strings.Replace(w.listener, ":listener/", ":listener-rule/", 1) + "/"},
	}
	for name, tc := range checks {
		id := strings.TrimPrefix(tc.got, tc.prefix)
		if !strings.HasPrefix(tc.got, tc.prefix) || len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Errorf("%s: got %s, want %s<16 hex digits>", name, tc.got, tc.prefix)
		}
	}
	again, err := c.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("slipway-demo"), Subnets: []string{"subnet-1", "subnet-2"}})
	if err != nil || aws.ToString(again.LoadBalancers[0].LoadBalancerArn) != w.lb {
		t.Errorf("repeated create: got %v, want the existing %s", err, w.lb)
	}
	out, err := c.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{Names: []string{"slipway-demo"}})
	if err != nil {
		t.Fatal(err)
	}
	lb := out.LoadBalancers[0]
	if dns := aws.ToString(lb.DNSName); !strings.HasPrefix(dns, "slipway-demo-") || !strings.HasSuffix(dns, ".us-east-1.elb.amazonaws.com") {
		t.Errorf("got DNS name %s, want slipway-demo-<n>.us-east-1.elb.amazonaws.com", dns)
	}
	if got := aws.ToTime(lb.CreatedTime); !got.Equal(start) {
		t.Errorf("got created %v, want %v", got, start)
	}
	if lb.State == nil || lb.State.Code != types.LoadBalancerStateEnumActive || len(lb.AvailabilityZones) != 2 {
		t.Errorf("got state %+v zones %d, want active in 2 zones", lb.State, len(lb.AvailabilityZones))
	}
	tgs, err := c.DescribeTargetGroups(ctx, &sdk.DescribeTargetGroupsInput{LoadBalancerArn: &w.lb})
	if err != nil {
		t.Fatal(err)
	}
	// Only blue and green are forwarded to, both by the one rule.
	if len(tgs.TargetGroups) != 2 || aws.ToString(tgs.TargetGroups[0].HealthCheckPath) != "/health" ||
		!cmp.Equal(tgs.TargetGroups[0].LoadBalancerArns, []string{w.lb}) {
		t.Errorf("got target groups %+v, want blue and green on %s with path /health", tgs.TargetGroups, w.lb)
	}
}

func TestRulesThroughAdapter(t *testing.T) {
	s, c, _, _ := setup(t)
	w := build(t, c)
	ctx := context.Background()
	a := adapter.New(c)
	got, err := a.RuleWeights(ctx, w.rule)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]adapter.TargetWeight{{TargetGroupARN: w.blue, Weight: 100}, {TargetGroupARN: w.green, Weight: 0}}, got); diff != "" {
		t.Errorf("weights (-want +got):\n%s", diff)
	}
	if err := a.SetRuleWeights(ctx, w.rule, []adapter.TargetWeight{{TargetGroupARN: w.blue, Weight: 90}, {TargetGroupARN: w.green, Weight: 10}}); err != nil {
		t.Fatal(err)
	}
	got, err = a.RuleWeights(ctx, w.rule)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]adapter.TargetWeight{{TargetGroupARN: w.blue, Weight: 90}, {TargetGroupARN: w.green, Weight: 10}}, got); diff != "" {
		t.Errorf("weights after modify (-want +got):\n%s", diff)
	}
	shares := s.TrafficShares()
	if diff := cmp.Diff(map[string]float64{w.blue: 0.9, w.green: 0.1}, shares); diff != "" {
		t.Errorf("traffic shares (-want +got):\n%s", diff)
	}
	// The conditions survive a ModifyRule that only replaces the actions.
	rules, err := c.DescribeRules(ctx, &sdk.DescribeRulesInput{ListenerArn: &w.listener})
	if err != nil {
		t.Fatal(err)
	}
	if len(rules.Rules) != 2 || aws.ToString(rules.Rules[0].Priority) != "10" || aws.ToString(rules.Rules[1].Priority) != "default" ||
		!aws.ToBool(rules.Rules[1].IsDefault) || len(rules.Rules[0].Conditions) != 1 {
		t.Errorf("got rules %+v, want the rule at priority 10 with its condition, then the default rule", rules.Rules)
	}

	missing := strings.Replace(w.blue, "web-blue", "web-gone", 1)
	if err := a.SetRuleWeights(ctx, w.rule, []adapter.TargetWeight{{TargetGroupARN: missing, Weight: 1}}); !errors.Is(err, adapter.ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound for a missing target group", err)
	}
	if _, err := a.RuleWeights(ctx, w.rule+"0"); !errors.Is(err, adapter.ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound for a missing rule", err)
	}
}

func TestForwardValidation(t *testing.T) {
	_, c, _, _ := setup(t)
	w := build(t, c)
	ctx := context.Background()
	var six []types.TargetGroupTuple
	for i := range 6 {
		tg, err := c.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String("many-" + string(rune('a'+i))),
			Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String("vpc-1")})
		if err != nil {
			t.Fatal(err)
		}
		six = append(six, types.TargetGroupTuple{TargetGroupArn: tg.TargetGroups[0].TargetGroupArn, Weight: aws.Int32(1)})
	}
	otherLB, err := c.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("other")})
	if err != nil {
		t.Fatal(err)
	}
	otherListener, err := c.CreateListener(ctx, &sdk.CreateListenerInput{LoadBalancerArn: otherLB.LoadBalancers[0].LoadBalancerArn, Port: aws.Int32(80),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: six[5].TargetGroupArn}}})
	if err != nil {
		t.Fatal(err)
	}
	fwd := func(tgs ...types.TargetGroupTuple) []types.Action {
		return []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{TargetGroups: tgs}}}
	}
	tests := map[string]struct {
		actions []types.Action
		code    string
	}{
		"weight above 999":   {fwd(types.TargetGroupTuple{TargetGroupArn: &w.blue, Weight: aws.Int32(1000)}), "ValidationError"},
		"negative weight":    {fwd(types.TargetGroupTuple{TargetGroupArn: &w.blue, Weight: aws.Int32(-1)}), "ValidationError"},
		"six target groups":  {fwd(six...), "ValidationError"},
		"no target group":    {[]types.Action{{Type: types.ActionTypeEnumForward}}, "ValidationError"},
		"missing group":      {fwd(types.TargetGroupTuple{TargetGroupArn: aws.String(w.blue + "0"), Weight: aws.Int32(1)}), "TargetGroupNotFound"},
		"duplicate group":    {fwd(types.TargetGroupTuple{TargetGroupArn: &w.blue}, types.TargetGroupTuple{TargetGroupArn: &w.blue}), "ValidationError"},
		"group of other lb":  {fwd(six[5]), "TargetGroupAssociationLimit"},
		"two terminal":       {append(fwd(types.TargetGroupTuple{TargetGroupArn: &w.blue}), types.Action{Type: types.ActionTypeEnumFixedResponse, Order: aws.Int32(2), FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("200")}}), "ValidationError"},
		"arn and other conf": {[]types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: &w.green, ForwardConfig: &types.ForwardActionConfig{TargetGroups: []types.TargetGroupTuple{{TargetGroupArn: &w.blue}}}}}, "ValidationError"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := c.ModifyRule(ctx, &sdk.ModifyRuleInput{RuleArn: &w.rule, Actions: tc.actions})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
				t.Errorf("got %v, want %s", err, tc.code)
			}
		})
	}
	// Five target groups is the limit, not above it.
	five := make([]types.TargetGroupTuple, 5)
	copy(five, six[:5])
	if _, err := c.ModifyRule(ctx, &sdk.ModifyRuleInput{RuleArn: &w.rule, Actions: fwd(five...)}); err != nil {
		t.Errorf("five target groups: got %v, want success", err)
	}
	if _, err := c.DeleteTargetGroup(ctx, &sdk.DeleteTargetGroupInput{TargetGroupArn: six[5].TargetGroupArn}); !hasCode(err, "ResourceInUse") {
		t.Errorf("delete a target group in use: got %v, want ResourceInUse", err)
	}
	if _, err := c.DeleteListener(ctx, &sdk.DeleteListenerInput{ListenerArn: otherListener.Listeners[0].ListenerArn}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteTargetGroup(ctx, &sdk.DeleteTargetGroupInput{TargetGroupArn: six[5].TargetGroupArn}); err != nil {
		t.Errorf("delete a target group no longer in use: got %v, want success", err)
	}
}

func hasCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

func TestNotFoundErrors(t *testing.T) {
	_, c, _, _ := setup(t)
	w := build(t, c)
	ctx := context.Background()
	tests := map[string]struct {
		call func() error
		code string
	}{
		"target group": {func() error {
			_, err := c.DescribeTargetGroups(ctx, &sdk.DescribeTargetGroupsInput{TargetGroupArns: []string{w.blue + "0"}})
			return err
		}, "TargetGroupNotFound"},
		"listener": {func() error {
			_, err := c.DescribeListeners(ctx, &sdk.DescribeListenersInput{ListenerArns: []string{w.listener + "0"}})
			return err
		}, "ListenerNotFound"},
		"rule": {func() error {
			_, err := c.DeleteRule(ctx, &sdk.DeleteRuleInput{RuleArn: aws.String(w.rule + "0")})
			return err
		}, "RuleNotFound"},
		"load balancer": {func() error {
			_, err := c.DescribeLoadBalancers(ctx, &sdk.DescribeLoadBalancersInput{Names: []string{"nope"}})
			return err
		}, "LoadBalancerNotFound"},
		"duplicate target group name": {func() error {
			_, err := c.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String("web-blue"), Protocol: types.ProtocolEnumHttp,
				Port: aws.Int32(9090), VpcId: aws.String("vpc-1")})
			return err
		}, "DuplicateTargetGroupName"},
		"priority in use": {func() error {
			_, err := c.CreateRule(ctx, &sdk.CreateRuleInput{ListenerArn: &w.listener, Priority: aws.Int32(10),
				Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/x"}}},
				Actions:    []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: &w.blue}}})
			return err
		}, "PriorityInUse"},
		"duplicate load balancer name": {func() error {
			_, err := c.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("slipway-demo"), Scheme: types.LoadBalancerSchemeEnumInternal})
			return err
		}, "DuplicateLoadBalancerName"},
		"bad name": {func() error {
			_, err := c.CreateLoadBalancer(ctx, &sdk.CreateLoadBalancerInput{Name: aws.String("-bad")})
			return err
		}, "ValidationError"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := tc.call(); !hasCode(err, tc.code) {
				t.Errorf("got %v, want %s", err, tc.code)
			}
		})
	}
}

func TestTargetHealth(t *testing.T) {
	s, c, clk, _ := setup(t)
	w := build(t, c)
	ctx := context.Background()
	a := adapter.New(c)

	if !s.TargetGroupExists(w.green) || s.TargetGroupExists(w.green+"0") {
		t.Errorf("TargetGroupExists: got wrong answers for %s", w.green)
	}
	s.RegisterTargets(w.green, []Target{{ID: "10.0.1.5", Port: 8080}, {ID: "10.0.1.6"}})
	health := func() []adapter.Target {
		t.Helper()
		got, err := a.TargetHealth(ctx, w.green)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := []adapter.Target{
		{ID: "10.0.1.5", Port: 8080, State: "initial", Reason: "Elb.RegistrationInProgress", Description: "Target registration is in progress"},
		{ID: "10.0.1.6", Port: 8080, State: "initial", Reason: "Elb.RegistrationInProgress", Description: "Target registration is in progress"},
	}
	if diff := cmp.Diff(want, health()); diff != "" {
		t.Errorf("after registration (-want +got):\n%s", diff)
	}
	s.SetTargetHealth(w.green, "10.0.1.5", StateHealthy, "")
	s.SetTargetHealth(w.green, "10.0.1.6", StateUnhealthy, "Target.ResponseCodeMismatch")
	want = []adapter.Target{
		{ID: "10.0.1.5", Port: 8080, State: "healthy"},
		{ID: "10.0.1.6", Port: 8080, State: "unhealthy", Reason: "Target.ResponseCodeMismatch", Description: "Health checks failed with these codes: [500]"},
	}
	if diff := cmp.Diff(want, health()); diff != "" {
		t.Errorf("after health checks (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"10.0.1.5"}, s.HealthyTargets(w.green)); diff != "" {
		t.Errorf("healthy targets (-want +got):\n%s", diff)
	}
	s.DeregisterTargets(w.green, []string{"10.0.1.5"})
	if got := health()[0]; got.State != "draining" || got.Reason != "Target.DeregistrationInProgress" {
		t.Errorf("got %+v, want draining", got)
	}
	clk.Busy()
	if err := clk.Sleep(ctx, defaultDeregistrationDelay); err != nil {
		t.Fatal(err)
	}
	clk.Done()
	if got := health(); len(got) != 1 || got[0].ID != "10.0.1.6" {
		t.Errorf("after the deregistration delay got %+v, want only 10.0.1.6", got)
	}

	// Targets registered through the API pass their health checks after
	// HealthyThreshold (5) intervals of 30 s; a group no listener uses
	// reports them unused.
	if _, err := c.RegisterTargets(ctx, &sdk.RegisterTargetsInput{TargetGroupArn: &w.blue, Targets: []types.TargetDescription{{Id: aws.String("10.0.2.1")}}}); err != nil {
		t.Fatal(err)
	}
	unusedTG, err := c.CreateTargetGroup(ctx, &sdk.CreateTargetGroupInput{Name: aws.String("idle"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String("vpc-1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterTargets(ctx, &sdk.RegisterTargetsInput{TargetGroupArn: unusedTG.TargetGroups[0].TargetGroupArn, Targets: []types.TargetDescription{{Id: aws.String("i-1")}}}); err != nil {
		t.Fatal(err)
	}
	clk.Busy()
	if err := clk.Sleep(ctx, 150*time.Second); err != nil {
		t.Fatal(err)
	}
	clk.Done()
	got, err := a.TargetHealth(ctx, w.blue)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].State != "healthy" {
		t.Errorf("got %+v, want 10.0.2.1 healthy", got)
	}
	got, err = a.TargetHealth(ctx, aws.ToString(unusedTG.TargetGroups[0].TargetGroupArn))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].State != "unused" || got[0].Reason != "Target.NotInUse" {
		t.Errorf("got %+v, want i-1 unused", got)
	}
	if _, err := c.DeregisterTargets(ctx, &sdk.DeregisterTargetsInput{TargetGroupArn: &w.blue, Targets: []types.TargetDescription{{Id: aws.String("10.9.9.9")}}}); !hasCode(err, "InvalidTarget") {
		t.Errorf("deregister an unknown target: got %v, want InvalidTarget", err)
	}
	if _, err := a.TargetHealth(ctx, w.blue+"0"); !errors.Is(err, adapter.ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}

func TestTrafficShares(t *testing.T) {
	s, c, _, _ := setup(t)
	w := build(t, c)
	ctx := context.Background()
	// A second rule sends everything to green; the default action to blue.
	if _, err := c.CreateRule(ctx, &sdk.CreateRuleInput{ListenerArn: &w.listener, Priority: aws.Int32(20),
		Conditions: []types.RuleCondition{{Field: aws.String("host-header"), Values: []string{"api.example.com"}}},
		Actions:    []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: &w.green}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModifyRule(ctx, &sdk.ModifyRuleInput{RuleArn: &w.rule, Actions: []types.Action{{Type: types.ActionTypeEnumForward,
		ForwardConfig: &types.ForwardActionConfig{TargetGroups: []types.TargetGroupTuple{{TargetGroupArn: &w.blue, Weight: aws.Int32(3)}, {TargetGroupArn: &w.green, Weight: aws.Int32(1)}}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModifyListener(ctx, &sdk.ModifyListenerInput{ListenerArn: &w.listener, DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: &w.blue}}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]float64{w.blue: 1.75, w.green: 1.25}, s.TrafficShares()); diff != "" {
		t.Errorf("traffic shares (-want +got):\n%s", diff)
	}
	lb, ok := s.LoadBalancerOf(w.green)
	if !ok || lb != w.lb {
		t.Errorf("got load balancer %s %v, want %s", lb, ok, w.lb)
	}
	if _, err := c.DeleteLoadBalancer(ctx, &sdk.DeleteLoadBalancerInput{LoadBalancerArn: &w.lb}); err != nil {
		t.Fatal(err)
	}
	if got := s.TrafficShares(); len(got) != 0 {
		t.Errorf("got shares %v after deleting the load balancer, want none", got)
	}
}

func TestTagsAndSetRulePriorities(t *testing.T) {
	_, c, _, _ := setup(t)
	w := build(t, c)
	ctx := context.Background()
	if _, err := c.AddTags(ctx, &sdk.AddTagsInput{ResourceArns: []string{w.blue, w.lb}, Tags: []types.Tag{{Key: aws.String("service"), Value: aws.String("web")}}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeTags(ctx, &sdk.DescribeTagsInput{ResourceArns: []string{w.blue}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TagDescriptions) != 1 || len(out.TagDescriptions[0].Tags) != 1 || aws.ToString(out.TagDescriptions[0].Tags[0].Value) != "web" {
		t.Errorf("got tags %+v, want service=web", out.TagDescriptions)
	}
	if _, err := c.DescribeTags(ctx, &sdk.DescribeTagsInput{ResourceArns: []string{w.blue + "0"}}); !hasCode(err, "TargetGroupNotFound") {
		t.Errorf("got %v, want TargetGroupNotFound", err)
	}
	pr, err := c.SetRulePriorities(ctx, &sdk.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{{RuleArn: &w.rule, Priority: aws.Int32(5)}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pr.Rules) != 1 || aws.ToString(pr.Rules[0].Priority) != "5" {
		t.Errorf("got %+v, want the rule at priority 5", pr.Rules)
	}
}

func TestSnapshotRestore(t *testing.T) {
	s, c, _, _ := setup(t)
	w := build(t, c)
	s.RegisterTargets(w.blue, []Target{{ID: "10.0.0.1", Port: 8080}})
	s.SetTargetHealth(w.blue, "10.0.0.1", StateHealthy, "")
	b, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := New(Config{Clock: clock.NewVirtual(start)})
	if err := r.Restore(b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s.TrafficShares(), r.TrafficShares()); diff != "" {
		t.Errorf("restored shares (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"10.0.0.1"}, r.HealthyTargets(w.blue)); diff != "" {
		t.Errorf("restored healthy targets (-want +got):\n%s", diff)
	}
	if err := r.Restore([]byte(`{"LoadBalancers":`)); err == nil {
		t.Error("got no error restoring a truncated snapshot, want one")
	}
}

func TestUnknownAction(t *testing.T) {
	s := New(Config{})
	_, err := s.ServeQuery(context.Background(), "Nope", url.Values{"Version": {Version}})
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != "InvalidAction" {
		t.Errorf("got %v, want InvalidAction", err)
	}
}

// TestAWSCLI drives the service with the stock aws CLI, as a user would.
func TestAWSCLI(t *testing.T) {
	aws, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the aws CLI is not on the PATH; the CLI session cannot run here")
	}
	_, c, _, endpoint := setup(t)
	w := build(t, c)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(aws, append([]string{"--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json", "elbv2"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws elbv2 %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	out := run("describe-target-groups", "--names", "web-green", "--query", "TargetGroups[0].TargetGroupArn", "--output", "text")
	if strings.TrimSpace(out) != w.green {
		t.Errorf("describe-target-groups: got %q, want %s", out, w.green)
	}
	run("modify-rule", "--rule-arn", w.rule, "--actions",
		`[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"`+w.blue+`","Weight":50},{"TargetGroupArn":"`+w.green+`","Weight":50}]}}]`)
	out = run("describe-rules", "--rule-arns", w.rule, "--query", "Rules[0].Actions[0].ForwardConfig.TargetGroups[].Weight", "--output", "text")
	if got := strings.Fields(out); !cmp.Equal(got, []string{"50", "50"}) {
		t.Errorf("weights after modify-rule: got %q, want 50 50", out)
	}
}

func TestTargetGroupAttributes(t *testing.T) {
	s, c, clk, _ := setup(t)
	w := build(t, c)
	ctx := context.Background()
	out, err := c.ModifyTargetGroupAttributes(ctx, &sdk.ModifyTargetGroupAttributesInput{TargetGroupArn: &w.green,
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("30")}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range out.Attributes {
		got[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	if got["deregistration_delay.timeout_seconds"] != "30" || got["stickiness.enabled"] != "false" || len(got) != 6 {
		t.Errorf("got attributes %v, want the delay at 30 and the defaults", got)
	}
	desc, err := c.DescribeTargetGroupAttributes(ctx, &sdk.DescribeTargetGroupAttributesInput{TargetGroupArn: &w.green})
	if err != nil || len(desc.Attributes) != 6 {
		t.Fatalf("describe attributes: got %v %v", desc, err)
	}
	for name, attr := range map[string]types.TargetGroupAttribute{
		"unknown key":  {Key: aws.String("nope"), Value: aws.String("1")},
		"delay range":  {Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("3601")},
		"not a number": {Key: aws.String("stickiness.lb_cookie.duration_seconds"), Value: aws.String("x")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.ModifyTargetGroupAttributes(ctx, &sdk.ModifyTargetGroupAttributesInput{TargetGroupArn: &w.green, Attributes: []types.TargetGroupAttribute{attr}})
			if !hasCode(err, "ValidationError") {
				t.Errorf("got %v, want ValidationError", err)
			}
		})
	}

	// A deregistered target drains for the group's delay, 30 s, not 300 s.
	s.RegisterTargets(w.green, []Target{{ID: "10.0.1.5", Port: 8080}})
	s.DeregisterTargets(w.green, []string{"10.0.1.5"})
	clk.Busy()
	if err := clk.Sleep(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	clk.Done()
	health, err := c.DescribeTargetHealth(ctx, &sdk.DescribeTargetHealthInput{TargetGroupArn: &w.green})
	if err != nil {
		t.Fatal(err)
	}
	if len(health.TargetHealthDescriptions) != 0 {
		t.Errorf("got %d targets 30 s after deregistration, want none", len(health.TargetHealthDescriptions))
	}

	mod, err := c.ModifyTargetGroup(ctx, &sdk.ModifyTargetGroupInput{TargetGroupArn: &w.green, HealthCheckPath: aws.String("/ready"),
		HealthCheckIntervalSeconds: aws.Int32(10)})
	if err != nil {
		t.Fatal(err)
	}
	if tg := mod.TargetGroups[0]; aws.ToString(tg.HealthCheckPath) != "/ready" || aws.ToInt32(tg.HealthCheckIntervalSeconds) != 10 {
		t.Errorf("got %+v, want path /ready every 10 s", tg)
	}
}
