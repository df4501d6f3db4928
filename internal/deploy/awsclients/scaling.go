package awsclients

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"

	"github.com/slipwayhq/slipway/internal/awsapi"
	asapi "github.com/slipwayhq/slipway/internal/awsapi/autoscaling"
	"github.com/slipwayhq/slipway/internal/spec"
)

// scalingSDK lists the SDK methods the auto scaling adapter does not offer.
// The spec keeps policies in the API's own shapes, so they are put as they
// are rather than translated to the adapter's structs and back.
type scalingSDK interface {
	DeregisterScalableTarget(context.Context, *aas.DeregisterScalableTargetInput, ...func(*aas.Options)) (*aas.DeregisterScalableTargetOutput, error)
	PutScalingPolicy(context.Context, *aas.PutScalingPolicyInput, ...func(*aas.Options)) (*aas.PutScalingPolicyOutput, error)
	PutScheduledAction(context.Context, *aas.PutScheduledActionInput, ...func(*aas.Options)) (*aas.PutScheduledActionOutput, error)
}

// Scaling implements deploy.ScalingAPI: the auto scaling adapter for the
// scalable target, the SDK for the rest.
type Scaling struct {
	*asapi.Client
	sdk scalingSDK
}

// DeregisterTarget removes the scalable target of resourceID and with it its
// policies; a target already gone is not an error.
func (s *Scaling) DeregisterTarget(ctx context.Context, resourceID string) error {
	_, err := s.sdk.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{
		ServiceNamespace: types.ServiceNamespaceEcs, ScalableDimension: types.ScalableDimensionECSServiceDesiredCount,
		ResourceId: aws.String(resourceID)})
	if awsapi.HasCode(err, "ObjectNotFoundException") {
		return nil
	}
	return awsapi.Classify("deregister scalable target "+resourceID, err)
}

// PutPolicies makes the policies and scheduled actions of resourceID those
// of a: each of a's is put (PutScalingPolicy and PutScheduledAction replace
// one of the same name), then every other one is deleted, so a policy
// removed from the spec does not keep scaling the service, and restoring a
// snapshot removes what the deployment added.
func (s *Scaling) PutPolicies(ctx context.Context, resourceID string, a *spec.AutoScaling) error {
	keep := map[string]bool{}
	for _, p := range a.Policies {
		keep[p.PolicyName] = true
		in := &aas.PutScalingPolicyInput{
			PolicyName: aws.String(p.PolicyName), ResourceId: aws.String(resourceID),
			ServiceNamespace: types.ServiceNamespaceEcs, ScalableDimension: types.ScalableDimensionECSServiceDesiredCount,
			TargetTrackingScalingPolicyConfiguration: p.TargetTrackingScalingPolicyConfiguration,
			StepScalingPolicyConfiguration:           p.StepScalingPolicyConfiguration,
			PolicyType:                               types.PolicyTypeTargetTrackingScaling,
		}
		if p.StepScalingPolicyConfiguration != nil {
			in.PolicyType = types.PolicyTypeStepScaling
		}
		if _, err := s.sdk.PutScalingPolicy(ctx, in); err != nil {
			return awsapi.Classify(fmt.Sprintf("put scaling policy %s on %s", p.PolicyName, resourceID), err)
		}
	}
	keepActions := map[string]bool{}
	for _, sa := range a.ScheduledActions {
		keepActions[sa.ScheduledActionName] = true
		in := &aas.PutScheduledActionInput{
			ScheduledActionName: aws.String(sa.ScheduledActionName), ResourceId: aws.String(resourceID),
			ServiceNamespace: types.ServiceNamespaceEcs, ScalableDimension: types.ScalableDimensionECSServiceDesiredCount,
			Schedule: aws.String(sa.Schedule), StartTime: sa.StartTime, EndTime: sa.EndTime,
			ScalableTargetAction: sa.ScalableTargetAction,
		}
		if sa.Timezone != "" {
			in.Timezone = aws.String(sa.Timezone)
		}
		if _, err := s.sdk.PutScheduledAction(ctx, in); err != nil {
			return awsapi.Classify(fmt.Sprintf("put scheduled action %s on %s", sa.ScheduledActionName, resourceID), err)
		}
	}
	live, err := s.Client.Policies(ctx, resourceID)
	if err != nil {
		return err
	}
	for _, p := range live {
		if !keep[p.Name] {
			if err := s.DeletePolicy(ctx, resourceID, p.Name); err != nil {
				return err
			}
		}
	}
	actions, err := s.ScheduledActions(ctx, resourceID)
	if err != nil {
		return err
	}
	for _, sa := range actions {
		if !keepActions[sa.Name] {
			if err := s.DeleteScheduledAction(ctx, resourceID, sa.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// ScalingConfig returns the policies and scheduled actions of resourceID in
// the spec's shapes; MinCapacity and MaxCapacity are left zero (the limits
// are the scalable target's).
func (s *Scaling) ScalingConfig(ctx context.Context, resourceID string) (*spec.AutoScaling, error) {
	out := &spec.AutoScaling{}
	policies, err := s.Client.Policies(ctx, resourceID)
	if err != nil {
		return nil, err
	}
	for _, p := range policies {
		out.Policies = append(out.Policies, spec.ScalingPolicy{PolicyName: p.Name,
			TargetTrackingScalingPolicyConfiguration: p.TargetTracking, StepScalingPolicyConfiguration: p.StepScaling})
	}
	actions, err := s.ScheduledActions(ctx, resourceID)
	if err != nil {
		return nil, err
	}
	for _, a := range actions {
		sa := spec.ScheduledAction{ScheduledActionName: a.Name, Schedule: a.Schedule, Timezone: a.Timezone,
			ScalableTargetAction: &types.ScalableTargetAction{MinCapacity: a.Min, MaxCapacity: a.Max}}
		if !a.Start.IsZero() {
			sa.StartTime = aws.Time(a.Start)
		}
		if !a.End.IsZero() {
			sa.EndTime = aws.Time(a.End)
		}
		out.ScheduledActions = append(out.ScheduledActions, sa)
	}
	return out, nil
}
