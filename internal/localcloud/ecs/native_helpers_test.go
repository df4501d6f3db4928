package ecs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
)

// nativeWorld is a bare local endpoint on a virtual clock the test holds,
// with an ALB whose HTTPS listener has a production rule (authenticate-oidc
// before a sticky forward to blue) and a test rule, two target groups, a
// Fargate cluster, and every ECS event captured.
type nativeWorld struct {
	t          *testing.T
	v          *clock.Virtual
	e          *endpoint.Endpoint
	url        string
	cfg        aws.Config
	ecs        *sdk.Client
	elb        *elb.Client
	cw         *cloudwatch.Client
	blue       string
	green      string
	prodRule   string
	testRule   string
	taskDef    string
	mu         sync.Mutex
	events     []capturedEvent
	hookCalls  []json.RawMessage
	hookAnswer func(n int) string // the nth (0-based) answer of the hook function
}

type capturedEvent struct {
	DetailType string          `json:"detail-type"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

const (
	roleARN    = "arn:aws:iam::000000000000:role/ecsInfrastructureRoleForLoadBalancers"
	hookRole   = "arn:aws:iam::000000000000:role/ecsLambdaHooks"
	imageV1    = "public.ecr.aws/slipway/web@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	imageV2    = "public.ecr.aws/slipway/web@sha256:2222222222222222222222222222222222222222222222222222222222222222"
	digestV2   = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	hookFnName = "native-hook"
)

func newNativeWorld(t *testing.T) *nativeWorld {
	t.Helper()
	return newNativeWorldWith(t, endpoint.Config{})
}

// newNativeWorldWith is newNativeWorld with the endpoint configuration cfg
// (its Clock is set here).
func newNativeWorldWith(t *testing.T, cfg endpoint.Config) *nativeWorld {
	t.Helper()
	v := clock.NewVirtual(time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC))
	v.Busy() // the test holds the clock; sleep lets it move
	cfg.Clock = v
	e := endpoint.New(cfg)
	url, srv, err := e.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		e.Close()
	})
	ac := stack.AWSConfig(url, "us-east-1")
	w := &nativeWorld{t: t, v: v, e: e, url: url, cfg: ac, ecs: sdk.NewFromConfig(ac), elb: elb.NewFromConfig(ac),
		cw: cloudwatch.NewFromConfig(ac)}
	t.Cleanup(func() { v.Done() })
	w.captureEvents()
	w.loadBalancer()
	w.cluster()
	return w
}

func (w *nativeWorld) captureEvents() {
	t, ctx := w.t, context.Background()
	sink := awslambda.NewHandler(func(ctx context.Context, e capturedEvent) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.events = append(w.events, e)
		return nil
	})
	if err := w.e.Lambda.Register("ecs-events", sink); err != nil {
		t.Fatal(err)
	}
	hook := awslambda.NewHandler(func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		w.mu.Lock()
		n := len(w.hookCalls)
		w.hookCalls = append(w.hookCalls, in)
		answer := `{"hookStatus":"SUCCEEDED"}`
		if w.hookAnswer != nil {
			answer = w.hookAnswer(n)
		}
		w.mu.Unlock()
		return json.RawMessage(answer), nil
	})
	if err := w.e.Lambda.Register(hookFnName, hook); err != nil {
		t.Fatal(err)
	}
	eb := eventbridge.NewFromConfig(w.cfg)
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("ecs"),
		EventPattern: aws.String(`{"source":["aws.ecs"],"detail-type":["ECS Hook State Change","ECS Deployment State Change"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("ecs"), Targets: []ebtypes.Target{{
		Id: aws.String("sink"), Arn: aws.String(w.e.Lambda.FunctionARN("ecs-events"))}}}); err != nil {
		t.Fatal(err)
	}
}

func (w *nativeWorld) loadBalancer() {
	t, ctx := w.t, context.Background()
	lb, err := w.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: []string{"subnet-a", "subnet-b"}})
	if err != nil {
		t.Fatal(err)
	}
	lbARN := lb.LoadBalancers[0].LoadBalancerArn
	tg := func(name string) string {
		out, err := w.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String(name), Protocol: elbtypes.ProtocolEnumHttp,
			Port: aws.Int32(8080), VpcId: aws.String("vpc-1"), TargetType: elbtypes.TargetTypeEnumIp})
		if err != nil {
			t.Fatal(err)
		}
		return *out.TargetGroups[0].TargetGroupArn
	}
	w.blue, w.green = tg("web-blue"), tg("web-green")
	fixed := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("404")}}}
	prod, err := w.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lbARN, Port: aws.Int32(443), Protocol: elbtypes.ProtocolEnumHttps,
		Certificates:   []elbtypes.Certificate{{CertificateArn: aws.String("arn:aws:acm:us-east-1:000000000000:certificate/11111111-2222-3333-4444-555555555555")}},
		DefaultActions: fixed})
	if err != nil {
		t.Fatal(err)
	}
	test, err := w.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lbARN, Port: aws.Int32(8443), Protocol: elbtypes.ProtocolEnumHttp,
		DefaultActions: fixed})
	if err != nil {
		t.Fatal(err)
	}
	path := []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/*"}}}
	pr, err := w.elb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: prod.Listeners[0].ListenerArn, Priority: aws.Int32(10), Conditions: path,
		Actions: []elbtypes.Action{
			{Type: elbtypes.ActionTypeEnumAuthenticateOidc, Order: aws.Int32(10), AuthenticateOidcConfig: &elbtypes.AuthenticateOidcActionConfig{
				Issuer: aws.String("https://idp.example.com"), AuthorizationEndpoint: aws.String("https://idp.example.com/authorize"),
				TokenEndpoint: aws.String("https://idp.example.com/token"), UserInfoEndpoint: aws.String("https://idp.example.com/userinfo"),
				ClientId: aws.String("web"), ClientSecret: aws.String("s3cret")}},
			{Type: elbtypes.ActionTypeEnumForward, Order: aws.Int32(20), ForwardConfig: &elbtypes.ForwardActionConfig{
				TargetGroups:                []elbtypes.TargetGroupTuple{{TargetGroupArn: &w.blue, Weight: aws.Int32(1)}},
				TargetGroupStickinessConfig: &elbtypes.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(600)}}},
		}})
	if err != nil {
		t.Fatalf("create the production rule: %v", err)
	}
	tr, err := w.elb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: test.Listeners[0].ListenerArn, Priority: aws.Int32(10), Conditions: path,
		Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: &w.blue}}})
	if err != nil {
		t.Fatalf("create the test rule: %v", err)
	}
	w.prodRule, w.testRule = *pr.Rules[0].RuleArn, *tr.Rules[0].RuleArn
}

func (w *nativeWorld) cluster() {
	t, ctx := w.t, context.Background()
	if _, err := w.ecs.CreateCluster(ctx, &sdk.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	w.taskDef = w.register(imageV1)
}

// register registers a revision of the web task definition running image.
func (w *nativeWorld) register(image string) string {
	out, err := w.ecs.RegisterTaskDefinition(context.Background(), &sdk.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(image), Essential: aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}}}},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return *out.TaskDefinition.TaskDefinitionArn
}

// advanced is the load balancer of the web service with the blue/green
// configuration.
func (w *nativeWorld) advanced() []types.LoadBalancer {
	return []types.LoadBalancer{{TargetGroupArn: aws.String(w.blue), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080),
		AdvancedConfiguration: &types.AdvancedConfiguration{AlternateTargetGroupArn: aws.String(w.green),
			ProductionListenerRule: aws.String(w.prodRule), TestListenerRule: aws.String(w.testRule), RoleArn: aws.String(roleARN)}}}
}

// create creates the web service with dc and waits for its first
// deployment to succeed, or to pause at a hook.
func (w *nativeWorld) create(dc *types.DeploymentConfiguration) {
	w.t.Helper()
	_, err := w.ecs.CreateService(context.Background(), &sdk.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String(w.taskDef),
		DesiredCount: aws.Int32(2), LaunchType: types.LaunchTypeFargate, LoadBalancers: w.advanced(), DeploymentConfiguration: dc,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-a"}}},
	})
	if err != nil {
		w.t.Fatalf("CreateService: %v", err)
	}
	first := w.latest()
	w.until("the first deployment succeeds or pauses", 10*time.Minute, func() bool {
		sd := w.deployment(first)
		for _, h := range sd.LifecycleHookDetails {
			if h.Status == types.DeploymentLifecycleHookStatusAwaitingAction {
				return true
			}
		}
		return sd.Status == types.ServiceDeploymentStatusSuccessful
	})
}

// update deploys image to the web service and returns the new service
// deployment's ARN.
func (w *nativeWorld) update(image string) string {
	w.t.Helper()
	before := w.latestOrEmpty()
	out, err := w.ecs.UpdateService(context.Background(), &sdk.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
		TaskDefinition: aws.String(w.register(image))})
	if err != nil {
		w.t.Fatalf("UpdateService: %v", err)
	}
	arn := w.latest()
	if arn == before {
		w.t.Fatalf("UpdateService started no service deployment")
	}
	if got := aws.ToString(out.Service.CurrentServiceDeployment); got != arn {
		w.t.Fatalf("UpdateService: currentServiceDeployment %q, want the new deployment %s", got, arn)
	}
	return arn
}

func (w *nativeWorld) latestOrEmpty() string {
	out, err := w.ecs.ListServiceDeployments(context.Background(), &sdk.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("web")})
	if err != nil || len(out.ServiceDeployments) == 0 {
		return ""
	}
	return *out.ServiceDeployments[0].ServiceDeploymentArn
}

// latest returns the ARN of the web service's newest service deployment.
func (w *nativeWorld) latest() string {
	w.t.Helper()
	arn := w.latestOrEmpty()
	if arn == "" {
		w.t.Fatal("ListServiceDeployments: no service deployment")
	}
	return arn
}

// deployment describes a service deployment.
func (w *nativeWorld) deployment(arn string) types.ServiceDeployment {
	w.t.Helper()
	out, err := w.ecs.DescribeServiceDeployments(context.Background(), &sdk.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		w.t.Fatalf("DescribeServiceDeployments %s: %v %+v", arn, err, out)
	}
	return out.ServiceDeployments[0]
}

// sleep lets d of simulated time pass.
func (w *nativeWorld) sleep(d time.Duration) {
	if err := w.v.Sleep(context.Background(), d); err != nil {
		w.t.Fatal(err)
	}
}

// until lets simulated time pass a second at a time until ok, failing the
// test after limit.
func (w *nativeWorld) until(what string, limit time.Duration, ok func() bool) {
	w.t.Helper()
	for end := w.v.Now().Add(limit); !ok(); w.sleep(time.Second) {
		if w.v.Now().After(end) {
			w.t.Fatalf("%s: not after %v of simulated time", what, limit)
		}
	}
}

// weights returns the production or test rule's forward weights, blue and
// green, and fails unless its other actions are as created.
func (w *nativeWorld) weights(rule string) (blue, green int32) {
	w.t.Helper()
	out, err := w.elb.DescribeRules(context.Background(), &elb.DescribeRulesInput{RuleArns: []string{rule}})
	if err != nil {
		w.t.Fatal(err)
	}
	acts := out.Rules[0].Actions
	var fwd *elbtypes.Action
	for i := range acts {
		if acts[i].Type == elbtypes.ActionTypeEnumForward {
			fwd = &acts[i]
		}
	}
	if fwd == nil {
		w.t.Fatalf("rule %s lost its forward action: %+v", rule, acts)
	}
	if rule == w.prodRule {
		if len(acts) != 2 || acts[0].Type != elbtypes.ActionTypeEnumAuthenticateOidc || *acts[0].Order != 10 || *fwd.Order != 20 ||
			fwd.ForwardConfig.TargetGroupStickinessConfig == nil || !*fwd.ForwardConfig.TargetGroupStickinessConfig.Enabled ||
			*fwd.ForwardConfig.TargetGroupStickinessConfig.DurationSeconds != 600 {
			w.t.Fatalf("the production rule lost its authentication or stickiness: %+v", acts)
		}
	}
	for _, g := range fwd.ForwardConfig.TargetGroups {
		switch *g.TargetGroupArn {
		case w.blue:
			blue = *g.Weight
		case w.green:
			green = *g.Weight
		}
	}
	return blue, green
}

// eventsOf returns the captured events of detail type dt, as detail maps.
func (w *nativeWorld) eventsOf(dt string) []map[string]any {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []map[string]any
	for _, e := range w.events {
		if e.DetailType != dt {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(e.Detail, &m); err == nil {
			m["resources"] = strings.Join(e.Resources, ",")
			out = append(out, m)
		}
	}
	return out
}

// eventNames returns the eventName of each captured event of type dt.
func (w *nativeWorld) eventNames(dt string) []string {
	var out []string
	for _, m := range w.eventsOf(dt) {
		out = append(out, fmt.Sprint(m["eventName"]))
	}
	return out
}

// tasksOf counts the web service's tasks that run image and are not
// STOPPED.
func (w *nativeWorld) tasksOf(image string) int {
	w.t.Helper()
	ctx := context.Background()
	list, err := w.ecs.ListTasks(ctx, &sdk.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("web")})
	if err != nil {
		w.t.Fatal(err)
	}
	if len(list.TaskArns) == 0 {
		return 0
	}
	out, err := w.ecs.DescribeTasks(ctx, &sdk.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: list.TaskArns})
	if err != nil {
		w.t.Fatal(err)
	}
	n := 0
	for _, task := range out.Tasks {
		if len(task.Containers) > 0 && aws.ToString(task.Containers[0].Image) == image && *task.LastStatus != "STOPPED" {
			n++
		}
	}
	return n
}

// alarm creates the metric alarm name, in state OK.
func (w *nativeWorld) alarm(name string) {
	ctx := context.Background()
	if _, err := w.cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(name), Namespace: aws.String("AWS/ApplicationELB"),
		MetricName: aws.String("HTTPCode_Target_5XX_Count"), Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(5), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
		TreatMissingData: aws.String("notBreaching")}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *nativeWorld) setAlarm(name string, state cwtypes.StateValue) {
	if _, err := w.cw.SetAlarmState(context.Background(), &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(name), StateValue: state,
		StateReason: aws.String("test")}); err != nil {
		w.t.Fatal(err)
	}
}

// appendStage appends st to stages unless it is the last one already.
func appendStage(stages []string, st types.ServiceDeploymentLifecycleStage) []string {
	if len(stages) == 0 || stages[len(stages)-1] != string(st) {
		stages = append(stages, string(st))
	}
	return stages
}
