package awsclients

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	asapi "github.com/slipwayhq/slipway/internal/awsapi/autoscaling"
	"github.com/slipwayhq/slipway/internal/deploy"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/workflow"
)

func TestConfigFromEnv(t *testing.T) {
	tests := map[string]struct {
		env     map[string]string
		want    Config
		wantErr string
	}{
		"defaults": {
			env:  map[string]string{"SLIPWAY_SPEC_BUCKET": "specs", "SLIPWAY_STATE_BUCKET": "state"},
			want: Config{SpecBucket: "specs", StateBucket: "state", EventBus: "default", Reconcile: 300 * time.Second, KeepRevisions: 5},
		},
		"all set": {
			env: map[string]string{"SLIPWAY_SPEC_BUCKET": "specs", "SLIPWAY_STATE_BUCKET": "state", "SLIPWAY_EVENT_BUS": "slipway",
				"SLIPWAY_RECONCILE_SECONDS": "60", "SLIPWAY_KEEP_REVISIONS": "10", "SLIPWAY_DEFAULT_ALARMS": "cpu-high, ,5xx",
				"SLIPWAY_APPROVER_ROLES": "arn:aws:iam::111122223333:role/Approver, arn:aws:iam::111122223333:role/Release"},
			want: Config{SpecBucket: "specs", StateBucket: "state", EventBus: "slipway", Reconcile: time.Minute, KeepRevisions: 10,
				DefaultAlarms: []string{"cpu-high", "5xx"},
				ApproverRoles: []string{"arn:aws:iam::111122223333:role/Approver", "arn:aws:iam::111122223333:role/Release"}},
		},
		"no spec bucket":   {env: map[string]string{"SLIPWAY_STATE_BUCKET": "state"}, wantErr: "SLIPWAY_SPEC_BUCKET: required"},
		"no state bucket":  {env: map[string]string{"SLIPWAY_SPEC_BUCKET": "specs"}, wantErr: "SLIPWAY_STATE_BUCKET: required"},
		"bad reconcile":    {env: map[string]string{"SLIPWAY_SPEC_BUCKET": "s", "SLIPWAY_STATE_BUCKET": "s", "SLIPWAY_RECONCILE_SECONDS": "5m"}, wantErr: "SLIPWAY_RECONCILE_SECONDS"},
		"zero revisions":   {env: map[string]string{"SLIPWAY_SPEC_BUCKET": "s", "SLIPWAY_STATE_BUCKET": "s", "SLIPWAY_KEEP_REVISIONS": "0"}, wantErr: "SLIPWAY_KEEP_REVISIONS"},
		"negative seconds": {env: map[string]string{"SLIPWAY_SPEC_BUCKET": "s", "SLIPWAY_STATE_BUCKET": "s", "SLIPWAY_RECONCILE_SECONDS": "-1"}, wantErr: "at least 1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ConfigFromEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func rendered() *spec.Rendered {
	return &spec.Rendered{
		Service: "web", Cluster: "staging",
		TaskDefinition: &ecs.RegisterTaskDefinitionInput{Family: aws.String("web-staging"),
			Tags: []types.Tag{{Key: aws.String("slipway:service"), Value: aws.String("web")}, {Key: aws.String("slipway:digest"), Value: aws.String("old")}}},
		ServiceInput: &ecs.CreateServiceInput{ServiceName: aws.String("web"), Cluster: aws.String("staging"), DesiredCount: aws.Int32(2),
			LoadBalancers: []types.LoadBalancer{{TargetGroupArn: aws.String("tg/blue"), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}},
			DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200),
				DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}}},
	}
}

func TestServiceInput(t *testing.T) {
	tests := map[string]struct {
		shape deploy.ServiceShape
		want  func(in *ecs.CreateServiceInput)
	}{
		"rolling keeps the rendered service, circuit breaker without its own rollback": {
			shape: deploy.ServiceShape{Name: "web", DesiredCount: aws.Int32(4), CircuitBreaker: true},
			want: func(in *ecs.CreateServiceInput) {
				in.DesiredCount = aws.Int32(4)
				in.DeploymentConfiguration.DeploymentCircuitBreaker = &types.DeploymentCircuitBreaker{Enable: true, Rollback: false}
			},
		},
		"a slot behind its own target group": {
			shape: deploy.ServiceShape{Name: "web--green", DesiredCount: aws.Int32(3), TargetGroupARN: "tg/green", ContainerName: "web", ContainerPort: 8080},
			want: func(in *ecs.CreateServiceInput) {
				in.ServiceName, in.DesiredCount = aws.String("web--green"), aws.Int32(3)
				in.LoadBalancers = []types.LoadBalancer{{TargetGroupArn: aws.String("tg/green"), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}}
			},
		},
		"DAEMON: no desired count": {
			shape: deploy.ServiceShape{Name: "web"},
			want:  func(*ecs.CreateServiceInput) {},
		},
		"leaving ECS's own strategy: ROLLING, hooks, bake and alarms cleared": {
			shape: deploy.ServiceShape{Name: "web", DesiredCount: aws.Int32(4), CircuitBreaker: true, LeaveNative: true},
			want: func(in *ecs.CreateServiceInput) {
				in.DesiredCount = aws.Int32(4)
				dc := in.DeploymentConfiguration
				dc.DeploymentCircuitBreaker = &types.DeploymentCircuitBreaker{Enable: true, Rollback: false}
				dc.Strategy = types.DeploymentStrategyRolling
				dc.LifecycleHooks = []types.DeploymentLifecycleHook{}
				dc.Alarms = &types.DeploymentAlarms{AlarmNames: []string{}}
				dc.BakeTimeInMinutes = aws.Int32(0)
			},
		},
		"native canary: ECS's strategy, PAUSE hooks, alarms and rollback, advancedConfiguration": {
			shape: deploy.ServiceShape{Name: "web", DesiredCount: aws.Int32(4), TargetGroupARN: "tg/blue", ContainerName: "web", ContainerPort: 8080,
				CircuitBreaker: true, Native: &deploy.NativeShape{Strategy: "CANARY", CanaryPercent: 12.5, CanaryBakeMinutes: 5, BakeMinutes: 10,
					PauseStages: []string{"POST_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"}, HookTimeoutMinutes: 40,
					Alarms: []string{"web-5xx"}, AlternateTargetGroupARN: "tg/green", ProductionRule: "rule/prod", TestRule: "rule/test", RoleARN: "arn:role/elb"}},
			want: func(in *ecs.CreateServiceInput) {
				in.DesiredCount = aws.Int32(4)
				dc := in.DeploymentConfiguration
				dc.Strategy = types.DeploymentStrategyCanary
				dc.BakeTimeInMinutes = aws.Int32(10)
				dc.CanaryConfiguration = &types.CanaryConfiguration{CanaryPercent: aws.Float64(12.5), CanaryBakeTimeInMinutes: aws.Int32(5)}
				dc.DeploymentCircuitBreaker = &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}
				dc.Alarms = &types.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: true}
				dc.LifecycleHooks = []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause,
					LifecycleStages: []types.DeploymentLifecycleHookStage{"POST_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"},
					TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(40),
						Action: types.DeploymentLifecycleHookActionRollback}}}
				in.LoadBalancers = []types.LoadBalancer{{TargetGroupArn: aws.String("tg/blue"), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080),
					AdvancedConfiguration: &types.AdvancedConfiguration{AlternateTargetGroupArn: aws.String("tg/green"),
						ProductionListenerRule: aws.String("rule/prod"), TestListenerRule: aws.String("rule/test"), RoleArn: aws.String("arn:role/elb")}}}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := rendered()
			got := serviceInput(r, tc.shape, "arn:td:7")
			want := rendered().ServiceInput
			want.TaskDefinition = aws.String("arn:td:7")
			tc.want(want)
			opts := cmpopts.IgnoreUnexported(ecs.CreateServiceInput{}, types.LoadBalancer{}, types.DeploymentConfiguration{}, types.DeploymentCircuitBreaker{},
				types.CanaryConfiguration{}, types.DeploymentAlarms{}, types.DeploymentLifecycleHook{}, types.DeploymentLifecycleHookTimeoutConfiguration{},
				types.AdvancedConfiguration{})
			if diff := cmp.Diff(want, got, opts); diff != "" {
				t.Errorf("input (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(rendered().ServiceInput, r.ServiceInput, opts); diff != "" {
				t.Errorf("the rendered input was changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestWithTags(t *testing.T) {
	r := rendered()
	got := withTags(r.TaskDefinition.Tags, map[string]string{"slipway:digest": "sha256:1", "slipway:deployment": "d1"})
	want := []types.Tag{
		{Key: aws.String("slipway:service"), Value: aws.String("web")},
		{Key: aws.String("slipway:deployment"), Value: aws.String("d1")},
		{Key: aws.String("slipway:digest"), Value: aws.String("sha256:1")},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(types.Tag{})); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if n := len(r.TaskDefinition.Tags); n != 2 {
		t.Errorf("rendered tags changed: got %d, want 2", n)
	}
}

type fakeECS struct{ err error }

func (f fakeECS) DeleteService(_ context.Context, in *ecs.DeleteServiceInput, _ ...func(*ecs.Options)) (*ecs.DeleteServiceOutput, error) {
	if !aws.ToBool(in.Force) {
		return nil, errors.New("force: want true")
	}
	return &ecs.DeleteServiceOutput{}, f.err
}

func TestDeleteService(t *testing.T) {
	tests := map[string]struct {
		err       error
		wantErr   bool
		transient bool
	}{
		"deleted":     {},
		"missing":     {err: &smithy.GenericAPIError{Code: "ServiceNotFoundException"}},
		"inactive":    {err: &smithy.GenericAPIError{Code: "ServiceNotActiveException"}},
		"throttled":   {err: &smithy.GenericAPIError{Code: "ThrottlingException"}, wantErr: true, transient: true},
		"not authz'd": {err: &smithy.GenericAPIError{Code: "AccessDeniedException"}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := &Services{sdk: fakeECS{err: tc.err}}
			err := s.DeleteService(context.Background(), "staging", "web--green")
			var tr *workflow.Transient
			if (err != nil) != tc.wantErr || errors.As(err, &tr) != tc.transient {
				t.Errorf("got %v, want error %t (transient %t)", err, tc.wantErr, tc.transient)
			}
		})
	}
}

type fakeScaling struct {
	policies  []*aas.PutScalingPolicyInput
	scheduled []*aas.PutScheduledActionInput
	// live are the policy and scheduled action names on the target before
	// the puts; deleted collects what was deleted.
	livePolicies, liveActions []string
	deleted                   []string
}

func (f *fakeScaling) DescribeScalableTargets(context.Context, *aas.DescribeScalableTargetsInput, ...func(*aas.Options)) (*aas.DescribeScalableTargetsOutput, error) {
	return &aas.DescribeScalableTargetsOutput{}, nil
}

func (f *fakeScaling) RegisterScalableTarget(context.Context, *aas.RegisterScalableTargetInput, ...func(*aas.Options)) (*aas.RegisterScalableTargetOutput, error) {
	return &aas.RegisterScalableTargetOutput{}, nil
}

func (f *fakeScaling) DescribeScalingPolicies(_ context.Context, in *aas.DescribeScalingPoliciesInput, _ ...func(*aas.Options)) (*aas.DescribeScalingPoliciesOutput, error) {
	out := &aas.DescribeScalingPoliciesOutput{}
	for _, n := range f.livePolicies {
		out.ScalingPolicies = append(out.ScalingPolicies, aastypes.ScalingPolicy{PolicyName: aws.String(n), ResourceId: in.ResourceId})
	}
	return out, nil
}

func (f *fakeScaling) DeleteScalingPolicy(_ context.Context, in *aas.DeleteScalingPolicyInput, _ ...func(*aas.Options)) (*aas.DeleteScalingPolicyOutput, error) {
	f.deleted = append(f.deleted, "policy "+aws.ToString(in.PolicyName))
	return &aas.DeleteScalingPolicyOutput{}, nil
}

func (f *fakeScaling) DescribeScheduledActions(_ context.Context, in *aas.DescribeScheduledActionsInput, _ ...func(*aas.Options)) (*aas.DescribeScheduledActionsOutput, error) {
	out := &aas.DescribeScheduledActionsOutput{}
	for _, n := range f.liveActions {
		out.ScheduledActions = append(out.ScheduledActions, aastypes.ScheduledAction{ScheduledActionName: aws.String(n), ResourceId: in.ResourceId})
	}
	return out, nil
}

func (f *fakeScaling) DeleteScheduledAction(_ context.Context, in *aas.DeleteScheduledActionInput, _ ...func(*aas.Options)) (*aas.DeleteScheduledActionOutput, error) {
	f.deleted = append(f.deleted, "scheduled action "+aws.ToString(in.ScheduledActionName))
	return &aas.DeleteScheduledActionOutput{}, nil
}

func (f *fakeScaling) DeregisterScalableTarget(context.Context, *aas.DeregisterScalableTargetInput, ...func(*aas.Options)) (*aas.DeregisterScalableTargetOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "ObjectNotFoundException"}
}

func (f *fakeScaling) PutScalingPolicy(_ context.Context, in *aas.PutScalingPolicyInput, _ ...func(*aas.Options)) (*aas.PutScalingPolicyOutput, error) {
	f.policies = append(f.policies, in)
	return &aas.PutScalingPolicyOutput{}, nil
}

func (f *fakeScaling) PutScheduledAction(_ context.Context, in *aas.PutScheduledActionInput, _ ...func(*aas.Options)) (*aas.PutScheduledActionOutput, error) {
	f.scheduled = append(f.scheduled, in)
	return &aas.PutScheduledActionOutput{}, nil
}

func TestScalingPolicies(t *testing.T) {
	f := &fakeScaling{livePolicies: []string{"cpu", "removed-from-spec"}, liveActions: []string{"night", "weekend"}}
	s := &Scaling{Client: asapi.New(f), sdk: f}
	a := &spec.AutoScaling{MinCapacity: 2, MaxCapacity: 10,
		Policies: []spec.ScalingPolicy{
			{PolicyName: "cpu", TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(60)}},
			{PolicyName: "steps", StepScalingPolicyConfiguration: &aastypes.StepScalingPolicyConfiguration{}},
		},
		ScheduledActions: []spec.ScheduledAction{{ScheduledActionName: "night", Schedule: "cron(0 22 * * ? *)", Timezone: "Europe/Paris"}},
	}
	if err := s.PutPolicies(context.Background(), "service/staging/web", a); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range f.policies {
		got = append(got, aws.ToString(p.PolicyName)+" "+string(p.PolicyType)+" "+aws.ToString(p.ResourceId))
	}
	for _, sa := range f.scheduled {
		got = append(got, aws.ToString(sa.ScheduledActionName)+" "+aws.ToString(sa.Schedule)+" "+aws.ToString(sa.Timezone))
	}
	want := []string{
		"cpu TargetTrackingScaling service/staging/web",
		"steps StepScaling service/staging/web",
		"night cron(0 22 * * ? *) Europe/Paris",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"policy removed-from-spec", "scheduled action weekend"}, f.deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	if err := s.DeregisterTarget(context.Background(), "service/staging/web"); err != nil {
		t.Errorf("deregister a missing target: got %v, want nil", err)
	}
}

func TestFactoryKeepsClients(t *testing.T) {
	f := NewFactory(aws.Config{Region: "us-east-1"})
	a, err := f.Clients(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := f.Clients(context.Background(), "")
	c, _ := f.Clients(context.Background(), "arn:aws:iam::444455556666:role/slipway-deploy")
	if a.Services != b.Services {
		t.Errorf("got new clients for the same role, want the same")
	}
	if a.Services == c.Services {
		t.Errorf("got the base clients for an assumed role, want others")
	}
}
