package autoscaling_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/google/go-cmp/cmp"

	asapi "github.com/slipwayhq/slipway/internal/awsapi/autoscaling"
	"github.com/slipwayhq/slipway/internal/localcloud"
	"github.com/slipwayhq/slipway/internal/localcloud/autoscaling"
	"github.com/slipwayhq/slipway/internal/localcloud/ecs"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

// The ECS simulation is what resizes services.
var _ autoscaling.DesiredCounts = (*ecs.Service)(nil)

const prefix = "AnyScaleFrontendService"

// newClient serves h through the real router, registered as the endpoint
// registers Application Auto Scaling.
func newClient(t *testing.T, h protocol.JSONHandler) *sdk.Client {
	router := localcloud.NewServer(localcloud.Options{})
	router.RegisterJSON("application-autoscaling", prefix, "1.1", h)
	return sdk.NewFromConfig(prototest.Config(prototest.Serve(t, router)))
}

// fakeECS records clamps of the services it knows.
type fakeECS struct {
	mu      sync.Mutex
	desired map[string]int32 // cluster/service → desired count
}

func (f *fakeECS) ClampDesiredCount(cluster, service string, lo, hi int32) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.desired[cluster+"/"+service]
	if ok {
		f.desired[cluster+"/"+service] = min(max(n, lo), hi)
	}
	return ok
}

func TestScalableTargets(t *testing.T) {
	ecsSvc := &fakeECS{desired: map[string]int32{"staging/web": 5, "staging/worker": 0}}
	svc := autoscaling.New(autoscaling.Config{ECS: ecsSvc})
	c := newClient(t, svc)
	a := asapi.New(c)
	ctx := context.Background()
	web := asapi.ResourceID("arn:aws:ecs:us-east-1:000000000000:cluster/staging", "web")

	if got, err := a.Target(ctx, web); err != nil || got != nil {
		t.Fatalf("target before registration: got %+v %v, want none", got, err)
	}
	if err := a.RegisterTarget(ctx, web, 1, 3, false); err != nil {
		t.Fatal(err)
	}
	if got := ecsSvc.desired["staging/web"]; got != 3 {
		t.Errorf("got desired count %d, want 3 (clamped to the max)", got)
	}
	got, err := a.Target(ctx, web)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&asapi.ScalableTarget{Min: 1, Max: 3}, got); diff != "" {
		t.Errorf("target (-want +got):\n%s", diff)
	}
	// Suspended scaling keeps the count where it is.
	worker := "service/staging/worker"
	if err := a.RegisterTarget(ctx, worker, 2, 4, true); err != nil {
		t.Fatal(err)
	}
	if got := ecsSvc.desired["staging/worker"]; got != 0 {
		t.Errorf("got desired count %d with scaling suspended, want 0 (unchanged)", got)
	}
	if got, _ := a.Target(ctx, worker); got == nil || !got.Suspended {
		t.Errorf("got %+v, want a suspended target", got)
	}
	// An update may change only part of the registration.
	if _, err := c.RegisterScalableTarget(ctx, &sdk.RegisterScalableTargetInput{
		ServiceNamespace: types.ServiceNamespaceEcs, ScalableDimension: types.ScalableDimensionECSServiceDesiredCount,
		ResourceId: &worker, MaxCapacity: aws.Int32(6),
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Target(ctx, worker); got == nil || got.Min != 2 || got.Max != 6 {
		t.Errorf("got %+v, want 2-6", got)
	}

	tests := map[string]struct {
		in   sdk.RegisterScalableTargetInput
		code string
	}{
		"min above max":     {sdk.RegisterScalableTargetInput{ResourceId: aws.String("service/staging/web"), MinCapacity: aws.Int32(5), MaxCapacity: aws.Int32(2)}, "ValidationException"},
		"missing service":   {sdk.RegisterScalableTargetInput{ResourceId: aws.String("service/staging/nope"), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(2)}, "ValidationException"},
		"new without range": {sdk.RegisterScalableTargetInput{ResourceId: aws.String("service/prod/web")}, "ValidationException"},
		"bad resource id":   {sdk.RegisterScalableTargetInput{ResourceId: aws.String("web"), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(2)}, "ValidationException"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := tc.in
			in.ServiceNamespace, in.ScalableDimension = types.ServiceNamespaceEcs, types.ScalableDimensionECSServiceDesiredCount
			_, err := c.RegisterScalableTarget(ctx, &in)
			if got := prototest.ErrorCode(err); got != tc.code {
				t.Errorf("got %q (%v), want %s", got, err, tc.code)
			}
		})
	}

	ttARN, err := a.PutTargetTrackingPolicy(ctx, web, asapi.TargetTrackingPolicy{Name: "web-cpu", Metric: "ECSServiceAverageCPUUtilization", Target: 60})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ttARN, ":scalingPolicy:") || !strings.HasSuffix(ttARN, ":resource/ecs/service/staging/web:policyName/web-cpu") {
		t.Errorf("got policy ARN %s", ttARN)
	}
	up := 0.0
	stepARN, err := a.PutStepPolicy(ctx, web, asapi.StepPolicy{Name: "web-step", AdjustmentType: "ChangeInCapacity",
		CooldownSeconds: 60, MetricAggregation: "Average", Steps: []asapi.Step{{Lower: &up, Adjustment: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	again, err := a.PutTargetTrackingPolicy(ctx, web, asapi.TargetTrackingPolicy{Name: "web-cpu", Metric: "ECSServiceAverageCPUUtilization", Target: 70})
	if err != nil || again != ttARN {
		t.Errorf("replacing a policy: got %s (%v), want the same ARN %s", again, err, ttARN)
	}
	pol, err := c.DescribeScalingPolicies(ctx, &sdk.DescribeScalingPoliciesInput{ServiceNamespace: types.ServiceNamespaceEcs, ResourceId: &web})
	if err != nil || len(pol.ScalingPolicies) != 2 {
		t.Fatalf("describe policies: %v %+v", err, pol)
	}
	byName := map[string]types.ScalingPolicy{}
	for _, p := range pol.ScalingPolicies {
		byName[aws.ToString(p.PolicyName)] = p
	}
	if p := byName["web-cpu"]; len(p.Alarms) != 2 || aws.ToFloat64(p.TargetTrackingScalingPolicyConfiguration.TargetValue) != 70 {
		t.Errorf("got %+v, want two alarms and target 70", p)
	}
	if p := byName["web-step"]; aws.ToString(p.PolicyARN) != stepARN || len(p.StepScalingPolicyConfiguration.StepAdjustments) != 1 || len(p.Alarms) != 0 {
		t.Errorf("got %+v, want the step policy", p)
	}
	_, err = c.PutScalingPolicy(ctx, &sdk.PutScalingPolicyInput{PolicyName: aws.String("p"), ServiceNamespace: types.ServiceNamespaceEcs,
		ScalableDimension: types.ScalableDimensionECSServiceDesiredCount, ResourceId: aws.String("service/prod/unregistered"),
		PolicyType: types.PolicyTypeStepScaling, StepScalingPolicyConfiguration: &types.StepScalingPolicyConfiguration{}})
	if got := prototest.ErrorCode(err); got != "ObjectNotFoundException" {
		t.Errorf("policy of an unregistered target: got %q, want ObjectNotFoundException", got)
	}
	if _, err := c.DeleteScalingPolicy(ctx, &sdk.DeleteScalingPolicyInput{PolicyName: aws.String("web-step"), ServiceNamespace: types.ServiceNamespaceEcs,
		ScalableDimension: types.ScalableDimensionECSServiceDesiredCount, ResourceId: &web}); err != nil {
		t.Fatal(err)
	}

	lo := int32(2)
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if err := a.PutScheduledAction(ctx, web, asapi.ScheduledAction{Name: "morning", Schedule: "cron(0 8 * * ? *)", Timezone: "Europe/Paris", Min: &lo, Start: start}); err != nil {
		t.Fatal(err)
	}
	err = a.PutScheduledAction(ctx, web, asapi.ScheduledAction{Name: "bad", Schedule: "every day"})
	if got := prototest.ErrorCode(err); got != "ValidationException" {
		t.Errorf("bad schedule: got %q, want ValidationException", got)
	}
	sa, err := c.DescribeScheduledActions(ctx, &sdk.DescribeScheduledActionsInput{ServiceNamespace: types.ServiceNamespaceEcs, ResourceId: &web})
	if err != nil || len(sa.ScheduledActions) != 1 {
		t.Fatalf("describe scheduled actions: %v %+v", err, sa)
	}
	s := sa.ScheduledActions[0]
	gotSA := []any{aws.ToString(s.Schedule), aws.ToString(s.Timezone), aws.ToInt32(s.ScalableTargetAction.MinCapacity), aws.ToTime(s.StartTime).UTC()}
	wantSA := []any{"cron(0 8 * * ? *)", "Europe/Paris", int32(2), start}
	if diff := cmp.Diff(wantSA, gotSA); diff != "" {
		t.Errorf("scheduled action (-want +got):\n%s", diff)
	}

	snap, err := svc.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored := autoscaling.New(autoscaling.Config{})
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	rc := asapi.New(newClient(t, restored))
	if got, err := rc.Target(ctx, web); err != nil || got == nil || got.Max != 3 {
		t.Errorf("restored target: got %+v %v", got, err)
	}

	if err := a.DeregisterTarget(ctx, web); err != nil {
		t.Fatal(err)
	}
	if err := a.DeregisterTarget(ctx, web); err != nil {
		t.Errorf("deregister twice through the adapter: %v", err)
	}
	_, err = c.DeregisterScalableTarget(ctx, &sdk.DeregisterScalableTargetInput{ServiceNamespace: types.ServiceNamespaceEcs,
		ScalableDimension: types.ScalableDimensionECSServiceDesiredCount, ResourceId: &web})
	if got := prototest.ErrorCode(err); got != "ObjectNotFoundException" {
		t.Errorf("deregister a missing target: got %q, want ObjectNotFoundException", got)
	}
	sa, err = c.DescribeScheduledActions(ctx, &sdk.DescribeScheduledActionsInput{ServiceNamespace: types.ServiceNamespaceEcs, ResourceId: &web})
	if err != nil || len(sa.ScheduledActions) != 0 {
		t.Errorf("scheduled actions after deregistration: %v %+v, want none", err, sa)
	}
}

// TestClampsTheSimulatedService wires the real ECS simulation.
func TestClampsTheSimulatedService(t *testing.T) {
	e := ecs.New(ecs.Config{})
	defer e.Close()
	ctx := context.Background()
	calls := []struct{ op, body string }{
		{"CreateCluster", `{"clusterName":"staging"}`},
		{"RegisterTaskDefinition", `{"family":"w","containerDefinitions":[{"name":"w","image":"w:1","memory":64}]}`},
		{"CreateService", `{"cluster":"staging","serviceName":"w","taskDefinition":"w","desiredCount":0}`},
	}
	for _, c := range calls {
		if _, err := e.ServeJSON(ctx, c.op, []byte(c.body)); err != nil {
			t.Fatalf("%s: %v", c.op, err)
		}
	}
	svc := autoscaling.New(autoscaling.Config{ECS: e})
	if err := asapi.New(newClient(t, svc)).RegisterTarget(ctx, "service/staging/w", 2, 4, false); err != nil {
		t.Fatal(err)
	}
	out, err := e.ServeJSON(ctx, "DescribeServices", []byte(`{"cluster":"staging","services":["w"]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	var d struct {
		Services []struct{ DesiredCount int32 }
	}
	if err := json.Unmarshal(b, &d); err != nil || len(d.Services) != 1 || d.Services[0].DesiredCount != 2 {
		t.Errorf("got %s, want desired count 2", b)
	}
}

func FuzzServeJSON(f *testing.F) {
	ops := []string{"RegisterScalableTarget", "DescribeScalableTargets", "DeregisterScalableTarget", "PutScalingPolicy",
		"DescribeScalingPolicies", "DeleteScalingPolicy", "PutScheduledAction", "DescribeScheduledActions", "DeleteScheduledAction"}
	f.Add(uint8(0), []byte(`{"ServiceNamespace":"ecs","ResourceId":"service/a/b","ScalableDimension":"ecs:service:DesiredCount","MinCapacity":1,"MaxCapacity":2}`))
	f.Add(uint8(3), []byte(`{"ServiceNamespace":"ecs","ResourceId":"service/a/b","ScalableDimension":"ecs:service:DesiredCount","PolicyName":"p","PolicyType":"TargetTrackingScaling","TargetTrackingScalingPolicyConfiguration":{"TargetValue":1}}`))
	f.Add(uint8(6), []byte(`{"ServiceNamespace":"ecs","ResourceId":"service/a/b","ScalableDimension":"ecs:service:DesiredCount","ScheduledActionName":"s","Schedule":"rate(1 day)","ScalableTargetAction":{"MinCapacity":3,"MaxCapacity":1}}`))
	svc := autoscaling.New(autoscaling.Config{ECS: &fakeECS{desired: map[string]int32{"a/b": 1}}})
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		out, err := svc.ServeJSON(context.Background(), ops[int(op)%len(ops)], body)
		prototest.CheckJSONAnswer(t, out, err)
	})
}
