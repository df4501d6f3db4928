package autoscaling

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi/awsapitest"
	"github.com/slipwayhq/slipway/internal/workflow"
)

const resource = "service/prod/web"

// reply is the fake endpoint's answer to one request.
type reply = awsapitest.Reply

func errorReply(status int, code string) reply {
	return reply{Status: status, Body: `{"__type":"` + code + `","Message":"` + code + ` from the fake"}`}
}

// newClient returns a Client whose real SDK client talks to an Application
// Auto Scaling endpoint speaking JSON 1.1 that answers operation op with rep,
// without retries.
func newClient(t *testing.T, op string, rep reply) (*Client, *awsapitest.JSONServer) {
	f, cfg := awsapitest.NewJSON(t, "AnyScaleFrontendService.", "1.1", map[string][]reply{op: {rep}})
	return New(sdk.NewFromConfig(cfg)), f
}

func TestResourceID(t *testing.T) {
	tests := map[string]struct{ cluster, want string }{
		"name": {cluster: "prod", want: "service/prod/web"},
		"arn":  {cluster: "arn:aws:ecs:us-east-1:111122223333:cluster/prod", want: "service/prod/web"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ResourceID(tc.cluster, "web"); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTarget(t *testing.T) {
	target := func(suspended string) reply {
		return reply{Body: `{"ScalableTargets":[{"ServiceNamespace":"ecs","ResourceId":"service/prod/web",
			"ScalableDimension":"ecs:service:DesiredCount","MinCapacity":2,"MaxCapacity":10,
			"RoleARN":"arn:aws:iam::111122223333:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/x",
			"CreationTime":1764100000` + suspended + `}]}`}
	}
	tests := map[string]struct {
		reply reply
		want  *ScalableTarget
	}{
		"registered": {reply: target(""), want: &ScalableTarget{Min: 2, Max: 10}},
		"resumed": {reply: target(`,"SuspendedState":{"DynamicScalingInSuspended":false,
			"DynamicScalingOutSuspended":false,"ScheduledScalingSuspended":false}`), want: &ScalableTarget{Min: 2, Max: 10}},
		"scale-in suspended": {reply: target(`,"SuspendedState":{"DynamicScalingInSuspended":true}`),
			want: &ScalableTarget{Min: 2, Max: 10, Suspended: true}},
		"not registered": {reply: reply{Body: `{"ScalableTargets":[]}`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, f := newClient(t, "DescribeScalableTargets", tc.reply)
			got, err := c.Target(context.Background(), resource)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("target (-want +got):\n%s", diff)
			}
			f.Check(t, `{"operation":"DescribeScalableTargets","ServiceNamespace":"ecs",
				"ScalableDimension":"ecs:service:DesiredCount","ResourceIds":["service/prod/web"]}`)
		})
	}
}

func TestRegisterTarget(t *testing.T) {
	c, f := newClient(t, "RegisterScalableTarget", reply{Body: `{"ScalableTargetARN":"arn:aws:application-autoscaling:us-east-1:111122223333:scalable-target/1"}`})
	if err := c.RegisterTarget(context.Background(), resource, 2, 10, true); err != nil {
		t.Fatal(err)
	}
	f.Check(t, `{"operation":"RegisterScalableTarget","ServiceNamespace":"ecs",
		"ScalableDimension":"ecs:service:DesiredCount","ResourceId":"service/prod/web",
		"MinCapacity":2,"MaxCapacity":10,"SuspendedState":{"DynamicScalingInSuspended":true,
		"DynamicScalingOutSuspended":true,"ScheduledScalingSuspended":true}}`)
}

func TestPutTargetTrackingPolicy(t *testing.T) {
	c, f := newClient(t, "PutScalingPolicy", reply{Body: `{"PolicyARN":"arn:aws:autoscaling:us-east-1:111122223333:scalingPolicy:1:resource/ecs/service/prod/web:policyName/web-requests",
		"Alarms":[{"AlarmName":"TargetTracking-service/prod/web-AlarmHigh","AlarmARN":"arn:aws:cloudwatch:us-east-1:111122223333:alarm:x"}]}`})
	arn, err := c.PutTargetTrackingPolicy(context.Background(), resource, TargetTrackingPolicy{
		Name: "web-requests", Metric: "ALBRequestCountPerTarget",
		ResourceLabel: "app/web/50dc6c495c0c9188/targetgroup/web-blue/943f017f100becff",
		Target:        1000.5, ScaleInCooldownSeconds: 300, ScaleOutCooldownSeconds: 60,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(arn, "policyName/web-requests") {
		t.Errorf("got ARN %q, want the policy ARN of the reply", arn)
	}
	f.Check(t, `{"operation":"PutScalingPolicy","ServiceNamespace":"ecs",
		"ScalableDimension":"ecs:service:DesiredCount","ResourceId":"service/prod/web",
		"PolicyName":"web-requests","PolicyType":"TargetTrackingScaling",
		"TargetTrackingScalingPolicyConfiguration":{"TargetValue":1000.5,
			"PredefinedMetricSpecification":{"PredefinedMetricType":"ALBRequestCountPerTarget",
				"ResourceLabel":"app/web/50dc6c495c0c9188/targetgroup/web-blue/943f017f100becff"},
			"ScaleInCooldown":300,"ScaleOutCooldown":60,"DisableScaleIn":false}}`)
}

func TestPutStepPolicy(t *testing.T) {
	c, f := newClient(t, "PutScalingPolicy", reply{Body: `{"PolicyARN":"arn:policy/web-step"}`})
	arn, err := c.PutStepPolicy(context.Background(), resource, StepPolicy{
		Name: "web-step", AdjustmentType: "ChangeInCapacity", CooldownSeconds: 120, MetricAggregation: "Average",
		Steps: []Step{{Upper: aws.Float64(0), Adjustment: -1}, {Lower: aws.Float64(0), Upper: aws.Float64(20), Adjustment: 1},
			{Lower: aws.Float64(20), Adjustment: 3}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if arn != "arn:policy/web-step" {
		t.Errorf("got ARN %q, want arn:policy/web-step", arn)
	}
	f.Check(t, `{"operation":"PutScalingPolicy","ServiceNamespace":"ecs",
		"ScalableDimension":"ecs:service:DesiredCount","ResourceId":"service/prod/web",
		"PolicyName":"web-step","PolicyType":"StepScaling",
		"StepScalingPolicyConfiguration":{"AdjustmentType":"ChangeInCapacity","Cooldown":120,
			"MetricAggregationType":"Average","StepAdjustments":[
			{"MetricIntervalUpperBound":0,"ScalingAdjustment":-1},
			{"MetricIntervalLowerBound":0,"MetricIntervalUpperBound":20,"ScalingAdjustment":1},
			{"MetricIntervalLowerBound":20,"ScalingAdjustment":3}]}}`)
}

func TestPutScheduledAction(t *testing.T) {
	c, f := newClient(t, "PutScheduledAction", reply{Body: `{}`})
	err := c.PutScheduledAction(context.Background(), resource, ScheduledAction{
		Name: "night", Schedule: "cron(0 22 * * ? *)", Timezone: "Europe/Berlin",
		Min: aws.Int32(1), Max: aws.Int32(2),
		Start: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.Check(t, `{"operation":"PutScheduledAction","ServiceNamespace":"ecs",
		"ScalableDimension":"ecs:service:DesiredCount","ResourceId":"service/prod/web",
		"ScheduledActionName":"night","Schedule":"cron(0 22 * * ? *)","Timezone":"Europe/Berlin",
		"ScalableTargetAction":{"MinCapacity":1,"MaxCapacity":2},"StartTime":1796083200}`)
}

func TestErrors(t *testing.T) {
	tests := map[string]struct {
		reply     reply
		transient bool
	}{
		"concurrent update": {reply: errorReply(400, "ConcurrentUpdateException"), transient: true},
		"throttled":         {reply: errorReply(400, "ThrottlingException"), transient: true},
		"internal":          {reply: errorReply(500, "InternalServiceException"), transient: true},
		"validation":        {reply: errorReply(400, "ValidationException")},
		"no target":         {reply: errorReply(400, "ObjectNotFoundException")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, _ := newClient(t, "RegisterScalableTarget", tc.reply)
			err := c.RegisterTarget(context.Background(), resource, 1, 2, false)
			if err == nil {
				t.Fatal("got no error, want one")
			}
			var tr *workflow.Transient
			if errors.As(err, &tr) != tc.transient {
				t.Errorf("got %v, want transient %v", err, tc.transient)
			}
			if !strings.Contains(err.Error(), "register scalable target service/prod/web (1-2)") {
				t.Errorf("got %q, want it to name the operation", err)
			}
		})
	}
}

func TestPutScalingPolicy(t *testing.T) {
	c, f := newClient(t, "PutScalingPolicy", reply{Body: `{"PolicyARN":"arn:policy/web-queue"}`})
	arn, err := c.PutScalingPolicy(context.Background(), resource, &sdk.PutScalingPolicyInput{
		PolicyName: aws.String("web-queue"),
		TargetTrackingScalingPolicyConfiguration: &types.TargetTrackingScalingPolicyConfiguration{
			TargetValue: aws.Float64(10),
			CustomizedMetricSpecification: &types.CustomizedMetricSpecification{
				MetricName: aws.String("BacklogPerTask"), Namespace: aws.String("Web"), Statistic: types.MetricStatisticAverage,
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if arn != "arn:policy/web-queue" {
		t.Errorf("got ARN %q, want arn:policy/web-queue", arn)
	}
	f.Check(t, `{"operation":"PutScalingPolicy","ServiceNamespace":"ecs",
		"ScalableDimension":"ecs:service:DesiredCount","ResourceId":"service/prod/web",
		"PolicyName":"web-queue","PolicyType":"TargetTrackingScaling",
		"TargetTrackingScalingPolicyConfiguration":{"TargetValue":10,
			"CustomizedMetricSpecification":{"MetricName":"BacklogPerTask","Namespace":"Web","Statistic":"Average"}}}`)
}

func TestDeregisterTarget(t *testing.T) {
	tests := map[string]struct {
		reply     reply
		wantErr   bool
		transient bool
	}{
		"registered":     {reply: reply{Body: `{}`}},
		"not registered": {reply: errorReply(400, "ObjectNotFoundException")},
		"throttled":      {reply: errorReply(400, "ThrottlingException"), wantErr: true, transient: true},
		"denied":         {reply: errorReply(400, "AccessDeniedException"), wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, f := newClient(t, "DeregisterScalableTarget", tc.reply)
			err := c.DeregisterTarget(context.Background(), resource)
			if (err != nil) != tc.wantErr {
				t.Errorf("got %v, want error %v", err, tc.wantErr)
			}
			var tr *workflow.Transient
			if errors.As(err, &tr) != tc.transient {
				t.Errorf("got %v, want transient %v", err, tc.transient)
			}
			f.Check(t, `{"operation":"DeregisterScalableTarget","ServiceNamespace":"ecs",
				"ScalableDimension":"ecs:service:DesiredCount","ResourceId":"service/prod/web"}`)
		})
	}
}

// TestALBResourceLabel: the label of ALBRequestCountPerTarget is the final
// portions of the load balancer and target group ARNs, whichever of the
// load balancer's ARNs names it (issue 11 item 11).
func TestALBResourceLabel(t *testing.T) {
	const tg = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/prod-web-green/943f017f100becff"
	const want = "app/prod/778d41231b141a0f/targetgroup/prod-web-green/943f017f100becff"
	tests := map[string]struct {
		elb, tg, want string
	}{
		"listener rule":         {elb: "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener-rule/app/prod/778d41231b141a0f/0123456789abcdef/0000000000000003", tg: tg, want: want},
		"listener":              {elb: "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/prod/778d41231b141a0f/0123456789abcdef", tg: tg, want: want},
		"load balancer":         {elb: "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/prod/778d41231b141a0f", tg: tg, want: want},
		"network load balancer": {elb: "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/net/prod/778d41231b141a0f", tg: tg},
		"not an ARN":            {elb: "app/prod/778d41231b141a0f", tg: tg},
		"not a target group":    {elb: "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/prod/778d41231b141a0f", tg: "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/prod/778d41231b141a0f"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ALBResourceLabel(tc.elb, tc.tg)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("got %q, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}

// TestWithResourceLabel: only an ALBRequestCountPerTarget metric is
// relabelled, on a copy.
func TestWithResourceLabel(t *testing.T) {
	alb := &types.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(100),
		PredefinedMetricSpecification: &types.PredefinedMetricSpecification{
			PredefinedMetricType: MetricALBRequestCountPerTarget, ResourceLabel: aws.String("app/prod/1/targetgroup/prod-web-blue/1")}}
	got := WithResourceLabel(alb, "app/prod/1/targetgroup/prod-web-green/2")
	if l := aws.ToString(got.PredefinedMetricSpecification.ResourceLabel); l != "app/prod/1/targetgroup/prod-web-green/2" {
		t.Errorf("relabelled: got %q, want the green target group's", l)
	}
	if l := aws.ToString(alb.PredefinedMetricSpecification.ResourceLabel); l != "app/prod/1/targetgroup/prod-web-blue/1" {
		t.Errorf("the spec's policy: got %q, want it unchanged", l)
	}
	cpu := &types.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(60),
		PredefinedMetricSpecification: &types.PredefinedMetricSpecification{PredefinedMetricType: types.MetricTypeECSServiceAverageCPUUtilization}}
	if got := WithResourceLabel(cpu, "x"); got != cpu || got.PredefinedMetricSpecification.ResourceLabel != nil {
		t.Errorf("CPU policy: got %+v, want it unchanged", got)
	}
	if got := WithResourceLabel(nil, "x"); got != nil {
		t.Errorf("nil: got %+v, want nil", got)
	}
}
