// Package autoscaling is the adapter over Application Auto Scaling for the
// desired count of ECS services: the scalable target (limits, suspension)
// and its policies and scheduled actions.
package autoscaling

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"

	"github.com/slipwayhq/slipway/internal/awsapi"
)

// The ECS service dimension every call of this package addresses.
const (
	namespace = types.ServiceNamespaceEcs
	dimension = types.ScalableDimensionECSServiceDesiredCount
)

// api lists the Application Auto Scaling client methods the adapter uses.
type api interface {
	DescribeScalableTargets(context.Context, *sdk.DescribeScalableTargetsInput, ...func(*sdk.Options)) (*sdk.DescribeScalableTargetsOutput, error)
	RegisterScalableTarget(context.Context, *sdk.RegisterScalableTargetInput, ...func(*sdk.Options)) (*sdk.RegisterScalableTargetOutput, error)
	DeregisterScalableTarget(context.Context, *sdk.DeregisterScalableTargetInput, ...func(*sdk.Options)) (*sdk.DeregisterScalableTargetOutput, error)
	PutScalingPolicy(context.Context, *sdk.PutScalingPolicyInput, ...func(*sdk.Options)) (*sdk.PutScalingPolicyOutput, error)
	PutScheduledAction(context.Context, *sdk.PutScheduledActionInput, ...func(*sdk.Options)) (*sdk.PutScheduledActionOutput, error)
	DescribeScalingPolicies(context.Context, *sdk.DescribeScalingPoliciesInput, ...func(*sdk.Options)) (*sdk.DescribeScalingPoliciesOutput, error)
	DeleteScalingPolicy(context.Context, *sdk.DeleteScalingPolicyInput, ...func(*sdk.Options)) (*sdk.DeleteScalingPolicyOutput, error)
	DescribeScheduledActions(context.Context, *sdk.DescribeScheduledActionsInput, ...func(*sdk.Options)) (*sdk.DescribeScheduledActionsOutput, error)
	DeleteScheduledAction(context.Context, *sdk.DeleteScheduledActionInput, ...func(*sdk.Options)) (*sdk.DeleteScheduledActionOutput, error)
}

// Client manages the auto scaling of ECS services.
type Client struct {
	api api
}

// New returns a Client over api, normally an *applicationautoscaling.Client
// from the SDK.
func New(api api) *Client { return &Client{api: api} }

// ScalableTarget is the registration of a service with auto scaling.
type ScalableTarget struct {
	Min, Max int32
	// Suspended is true when any of dynamic scale-in, dynamic scale-out or
	// scheduled scaling is suspended.
	Suspended bool
}

// TargetTrackingPolicy keeps a predefined metric near Target.
type TargetTrackingPolicy struct {
	Name string
	// Metric is ECSServiceAverageCPUUtilization,
	// ECSServiceAverageMemoryUtilization or ALBRequestCountPerTarget.
	Metric string
	// ResourceLabel names the target group for ALBRequestCountPerTarget:
	// app/<load-balancer>/<id>/targetgroup/<target-group>/<id>.
	ResourceLabel           string
	Target                  float64
	ScaleInCooldownSeconds  int32
	ScaleOutCooldownSeconds int32
	DisableScaleIn          bool
}

// StepPolicy changes the count by steps of the breach of the alarm that
// triggers it (the alarm's action is the policy ARN).
type StepPolicy struct {
	Name string
	// AdjustmentType is ChangeInCapacity, PercentChangeInCapacity or
	// ExactCapacity.
	AdjustmentType         string
	CooldownSeconds        int32
	MetricAggregation      string // Average, Minimum or Maximum
	MinAdjustmentMagnitude int32  // 0 for none
	Steps                  []Step
}

// Step is one step of a StepPolicy: Adjustment applies while the metric minus
// the alarm threshold is within [Lower, Upper); nil means unbounded.
type Step struct {
	Lower, Upper *float64
	Adjustment   int32
}

// ScheduledAction sets the limits of the target on a schedule.
type ScheduledAction struct {
	Name string
	// Schedule is at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields).
	Schedule string
	Timezone string // IANA name; empty means UTC
	// Min and Max are the limits to set; nil leaves one unchanged.
	Min, Max *int32
	// Start and End bound when the schedule applies; zero means unbounded.
	Start, End time.Time
}

// ResourceID returns the auto scaling resource id of an ECS service:
// service/<cluster>/<service>. cluster may be a name or an ARN.
func ResourceID(cluster, service string) string {
	if strings.HasPrefix(cluster, "arn:") {
		cluster = cluster[strings.LastIndex(cluster, "/")+1:]
	}
	return "service/" + cluster + "/" + service
}

// Target returns the scalable target of resourceID, or nil and no error
// when the service is not registered with auto scaling.
func (c *Client) Target(ctx context.Context, resourceID string) (*ScalableTarget, error) {
	out, err := c.api.DescribeScalableTargets(ctx, &sdk.DescribeScalableTargetsInput{
		ServiceNamespace: namespace, ScalableDimension: dimension, ResourceIds: []string{resourceID},
	})
	if err != nil {
		return nil, awsapi.Classify("describe scalable target "+resourceID, err)
	}
	for _, t := range out.ScalableTargets {
		if aws.ToString(t.ResourceId) != resourceID {
			continue
		}
		st := &ScalableTarget{Min: aws.ToInt32(t.MinCapacity), Max: aws.ToInt32(t.MaxCapacity)}
		if s := t.SuspendedState; s != nil {
			st.Suspended = aws.ToBool(s.DynamicScalingInSuspended) || aws.ToBool(s.DynamicScalingOutSuspended) ||
				aws.ToBool(s.ScheduledScalingSuspended)
		}
		return st, nil
	}
	return nil, nil
}

// RegisterTarget registers resourceID with limits minCount and maxCount, or
// updates them, and suspends (or resumes) dynamic and scheduled scaling as a whole.
// Scaling is suspended while traffic moves so that it cannot fight the
// deployment.
func (c *Client) RegisterTarget(ctx context.Context, resourceID string, minCount, maxCount int32, suspended bool) error {
	_, err := c.api.RegisterScalableTarget(ctx, &sdk.RegisterScalableTargetInput{
		ServiceNamespace: namespace, ScalableDimension: dimension, ResourceId: &resourceID,
		MinCapacity: &minCount, MaxCapacity: &maxCount,
		SuspendedState: &types.SuspendedState{
			DynamicScalingInSuspended:  &suspended,
			DynamicScalingOutSuspended: &suspended,
			ScheduledScalingSuspended:  &suspended,
		},
	})
	return awsapi.Classify(fmt.Sprintf("register scalable target %s (%d-%d)", resourceID, minCount, maxCount), err)
}

// DeregisterTarget removes the scalable target of resourceID; Application
// Auto Scaling deletes its policies and scheduled actions with it. A target
// that is not registered is not an error.
func (c *Client) DeregisterTarget(ctx context.Context, resourceID string) error {
	_, err := c.api.DeregisterScalableTarget(ctx, &sdk.DeregisterScalableTargetInput{
		ServiceNamespace: namespace, ScalableDimension: dimension, ResourceId: &resourceID,
	})
	if awsapi.HasCode(err, "ObjectNotFoundException") {
		return nil
	}
	return awsapi.Classify("deregister scalable target "+resourceID, err)
}

// PutTargetTrackingPolicy creates or replaces the target tracking policy p of
// resourceID and returns the policy ARN.
func (c *Client) PutTargetTrackingPolicy(ctx context.Context, resourceID string, p TargetTrackingPolicy) (string, error) {
	metric := &types.PredefinedMetricSpecification{PredefinedMetricType: types.MetricType(p.Metric)}
	if p.ResourceLabel != "" {
		metric.ResourceLabel = &p.ResourceLabel
	}
	return c.PutScalingPolicy(ctx, resourceID, &sdk.PutScalingPolicyInput{
		PolicyName: &p.Name, PolicyType: types.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &types.TargetTrackingScalingPolicyConfiguration{
			TargetValue:                   &p.Target,
			PredefinedMetricSpecification: metric,
			ScaleInCooldown:               &p.ScaleInCooldownSeconds,
			ScaleOutCooldown:              &p.ScaleOutCooldownSeconds,
			DisableScaleIn:                &p.DisableScaleIn,
		},
	})
}

// PutStepPolicy creates or replaces the step scaling policy p of resourceID
// and returns the policy ARN, which the triggering alarm names as its action.
func (c *Client) PutStepPolicy(ctx context.Context, resourceID string, p StepPolicy) (string, error) {
	cfg := &types.StepScalingPolicyConfiguration{
		AdjustmentType:        types.AdjustmentType(p.AdjustmentType),
		Cooldown:              &p.CooldownSeconds,
		MetricAggregationType: types.MetricAggregationType(p.MetricAggregation),
	}
	if p.MinAdjustmentMagnitude != 0 {
		cfg.MinAdjustmentMagnitude = &p.MinAdjustmentMagnitude
	}
	for _, s := range p.Steps {
		cfg.StepAdjustments = append(cfg.StepAdjustments, types.StepAdjustment{
			MetricIntervalLowerBound: s.Lower, MetricIntervalUpperBound: s.Upper, ScalingAdjustment: aws.Int32(s.Adjustment),
		})
	}
	return c.PutScalingPolicy(ctx, resourceID, &sdk.PutScalingPolicyInput{
		PolicyName: &p.Name, PolicyType: types.PolicyTypeStepScaling, StepScalingPolicyConfiguration: cfg,
	})
}

// PutScalingPolicy creates or replaces the policy in, in the SDK's own shape
// as the service spec carries it, for resourceID, and returns the policy ARN.
// It sets the namespace, dimension and resource id of in, and its policy type
// from the configuration present when in leaves it empty.
func (c *Client) PutScalingPolicy(ctx context.Context, resourceID string, in *sdk.PutScalingPolicyInput) (string, error) {
	in.ServiceNamespace, in.ScalableDimension, in.ResourceId = namespace, dimension, &resourceID
	if in.PolicyType == "" && in.TargetTrackingScalingPolicyConfiguration != nil {
		in.PolicyType = types.PolicyTypeTargetTrackingScaling
	}
	if in.PolicyType == "" && in.StepScalingPolicyConfiguration != nil {
		in.PolicyType = types.PolicyTypeStepScaling
	}
	out, err := c.api.PutScalingPolicy(ctx, in)
	if err != nil {
		return "", awsapi.Classify("put scaling policy "+aws.ToString(in.PolicyName)+" of "+resourceID, err)
	}
	return aws.ToString(out.PolicyARN), nil
}

// PutScheduledAction creates or replaces the scheduled action a of
// resourceID.
func (c *Client) PutScheduledAction(ctx context.Context, resourceID string, a ScheduledAction) error {
	in := &sdk.PutScheduledActionInput{
		ServiceNamespace: namespace, ScalableDimension: dimension, ResourceId: &resourceID,
		ScheduledActionName:  &a.Name,
		Schedule:             &a.Schedule,
		ScalableTargetAction: &types.ScalableTargetAction{MinCapacity: a.Min, MaxCapacity: a.Max},
	}
	if a.Timezone != "" {
		in.Timezone = &a.Timezone
	}
	if !a.Start.IsZero() {
		in.StartTime = &a.Start
	}
	if !a.End.IsZero() {
		in.EndTime = &a.End
	}
	_, err := c.api.PutScheduledAction(ctx, in)
	return awsapi.Classify("put scheduled action "+a.Name+" of "+resourceID, err)
}

// Policy is a scaling policy as DescribeScalingPolicies reports it, in the
// API's own shapes: exactly one configuration is set.
type Policy struct {
	Name           string
	TargetTracking *types.TargetTrackingScalingPolicyConfiguration
	StepScaling    *types.StepScalingPolicyConfiguration
	// Alarms are the names of the alarms that trigger the policy (for
	// target tracking, the ones Application Auto Scaling created).
	Alarms []string
}

// Policies returns the scaling policies of resourceID, by name.
func (c *Client) Policies(ctx context.Context, resourceID string) ([]Policy, error) {
	p := sdk.NewDescribeScalingPoliciesPaginator(c.api, &sdk.DescribeScalingPoliciesInput{
		ServiceNamespace: namespace, ScalableDimension: dimension, ResourceId: &resourceID,
	})
	var out []Policy
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, awsapi.Classify("describe scaling policies of "+resourceID, err)
		}
		for _, sp := range page.ScalingPolicies {
			if aws.ToString(sp.ResourceId) != resourceID {
				continue
			}
			pol := Policy{Name: aws.ToString(sp.PolicyName), TargetTracking: sp.TargetTrackingScalingPolicyConfiguration,
				StepScaling: sp.StepScalingPolicyConfiguration}
			for _, a := range sp.Alarms {
				pol.Alarms = append(pol.Alarms, aws.ToString(a.AlarmName))
			}
			out = append(out, pol)
		}
	}
	return out, nil
}

// DeletePolicy deletes the scaling policy name of resourceID (and the alarms
// of a target tracking policy); a policy already gone is not an error.
func (c *Client) DeletePolicy(ctx context.Context, resourceID, name string) error {
	_, err := c.api.DeleteScalingPolicy(ctx, &sdk.DeleteScalingPolicyInput{
		ServiceNamespace: namespace, ScalableDimension: dimension, ResourceId: &resourceID, PolicyName: &name,
	})
	if awsapi.HasCode(err, "ObjectNotFoundException") {
		return nil
	}
	return awsapi.Classify("delete scaling policy "+name+" of "+resourceID, err)
}

// ScheduledActions returns the scheduled actions of resourceID.
func (c *Client) ScheduledActions(ctx context.Context, resourceID string) ([]ScheduledAction, error) {
	p := sdk.NewDescribeScheduledActionsPaginator(c.api, &sdk.DescribeScheduledActionsInput{
		ServiceNamespace: namespace, ScalableDimension: dimension, ResourceId: &resourceID,
	})
	var out []ScheduledAction
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, awsapi.Classify("describe scheduled actions of "+resourceID, err)
		}
		for _, sa := range page.ScheduledActions {
			if aws.ToString(sa.ResourceId) != resourceID {
				continue
			}
			a := ScheduledAction{Name: aws.ToString(sa.ScheduledActionName), Schedule: aws.ToString(sa.Schedule),
				Timezone: aws.ToString(sa.Timezone), Start: aws.ToTime(sa.StartTime), End: aws.ToTime(sa.EndTime)}
			if t := sa.ScalableTargetAction; t != nil {
				a.Min, a.Max = t.MinCapacity, t.MaxCapacity
			}
			out = append(out, a)
		}
	}
	return out, nil
}

// DeleteScheduledAction deletes the scheduled action name of resourceID; an
// action already gone is not an error.
func (c *Client) DeleteScheduledAction(ctx context.Context, resourceID, name string) error {
	_, err := c.api.DeleteScheduledAction(ctx, &sdk.DeleteScheduledActionInput{
		ServiceNamespace: namespace, ScalableDimension: dimension, ResourceId: &resourceID, ScheduledActionName: &name,
	})
	if awsapi.HasCode(err, "ObjectNotFoundException") {
		return nil
	}
	return awsapi.Classify("delete scheduled action "+name+" of "+resourceID, err)
}

// MetricALBRequestCountPerTarget is the predefined metric of the requests
// each target of one target group receives; its ResourceLabel names the
// target group.
const MetricALBRequestCountPerTarget = "ALBRequestCountPerTarget"

// ALBResourceLabel returns the ResourceLabel of ALBRequestCountPerTarget for
// target group targetGroupARN behind the load balancer that elbARN names
// (the load balancer's ARN, or one of its listeners' or listener rules'):
// the final portion of the load balancer ARN and that of the target group
// ARN, app/<load-balancer>/<id>/targetgroup/<target-group>/<id>.
func ALBResourceLabel(elbARN, targetGroupARN string) (string, error) {
	lb := arnResource(elbARN)
	parts := strings.Split(lb, "/")
	if len(parts) < 4 || parts[1] != "app" || parts[2] == "" || parts[3] == "" ||
		(parts[0] != "loadbalancer" && parts[0] != "listener" && parts[0] != "listener-rule") {
		return "", fmt.Errorf("resource label of %s: %q names no application load balancer", targetGroupARN, elbARN)
	}
	tg := arnResource(targetGroupARN)
	if p := strings.Split(tg, "/"); len(p) != 3 || p[0] != "targetgroup" || p[1] == "" || p[2] == "" {
		return "", fmt.Errorf("resource label for load balancer %s: %q is not a target group ARN", elbARN, targetGroupARN)
	}
	return strings.Join(parts[1:4], "/") + "/" + tg, nil
}

// arnResource returns the resource part of an ARN (after its fifth colon).
func arnResource(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ""
	}
	return parts[5]
}

// WithResourceLabel returns c with the ResourceLabel of its
// ALBRequestCountPerTarget metric set to label, as a copy; c itself when
// its metric is another. c is never changed.
func WithResourceLabel(c *types.TargetTrackingScalingPolicyConfiguration, label string) *types.TargetTrackingScalingPolicyConfiguration {
	if c == nil || c.PredefinedMetricSpecification == nil ||
		c.PredefinedMetricSpecification.PredefinedMetricType != MetricALBRequestCountPerTarget {
		return c
	}
	out := *c
	m := *c.PredefinedMetricSpecification
	m.ResourceLabel = aws.String(label)
	out.PredefinedMetricSpecification = &m
	return &out
}
