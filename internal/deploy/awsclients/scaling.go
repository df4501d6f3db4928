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

// PutPolicies puts the policies and scheduled actions of a on resourceID.
func (s *Scaling) PutPolicies(ctx context.Context, resourceID string, a *spec.AutoScaling) error {
	for _, p := range a.Policies {
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
	for _, sa := range a.ScheduledActions {
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
	return nil
}
