package ecs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/slipwayhq/slipway/internal/awsapi"
)

// The service deployment statuses (ServiceDeployment.Status).
const (
	DeploymentPending            = "PENDING"
	DeploymentInProgress         = "IN_PROGRESS"
	DeploymentSuccessful         = "SUCCESSFUL"
	DeploymentStopRequested      = "STOP_REQUESTED"
	DeploymentStopped            = "STOPPED"
	DeploymentRollbackRequested  = "ROLLBACK_REQUESTED"
	DeploymentRollbackInProgress = "ROLLBACK_IN_PROGRESS"
	DeploymentRollbackSuccessful = "ROLLBACK_SUCCESSFUL"
	DeploymentRollbackFailed     = "ROLLBACK_FAILED"
)

// HookAwaitingAction is the status of a PAUSE hook that waits for
// ContinueServiceDeployment.
const HookAwaitingAction = "AWAITING_ACTION"

// The actions ContinueServiceDeployment takes.
const (
	ActionContinue = "CONTINUE"
	ActionRollback = "ROLLBACK"
)

// ServiceDeployment is one service deployment of the native strategies
// (DescribeServiceDeployments), in the terms the engine uses.
type ServiceDeployment struct {
	ARN     string
	Service string // the service ARN
	// Status is one of the Deployment* constants.
	Status       string
	StatusReason string
	// LifecycleStage is the stage ECS is in (POST_SCALE_UP, …).
	LifecycleStage string
	// TargetRevision is the service revision ARN being deployed.
	TargetRevision string
	// Hooks are the lifecycle hooks active now.
	Hooks []Hook
	// RollbackReason is set when ECS rolled back (circuit breaker, alarm,
	// ROLLBACK).
	RollbackReason string
	// CircuitBreaker and Alarms are ECS's own verdicts: TRIGGERED,
	// MONITORING, MONITORING_COMPLETE or DISABLED.
	CircuitBreaker, Alarms string
	// TriggeredAlarms names the alarms that made ECS roll back.
	TriggeredAlarms []string
}

// Hook is one active lifecycle hook of a service deployment.
type Hook struct {
	ID            string
	TargetType    string // PAUSE or AWS_LAMBDA
	Status        string // AWAITING_ACTION, IN_PROGRESS, SUCCEEDED, FAILED, TIMED_OUT
	ExpiresAt     time.Time
	TimeoutAction string
}

// AwaitingPause returns the PAUSE hook that waits for an action, or nil.
func (d *ServiceDeployment) AwaitingPause() *Hook {
	for i := range d.Hooks {
		if d.Hooks[i].TargetType == string(types.DeploymentLifecycleHookTargetTypePause) && d.Hooks[i].Status == HookAwaitingAction {
			return &d.Hooks[i]
		}
	}
	return nil
}

// Terminal reports whether ECS is done with the deployment, one way or the
// other.
func (d *ServiceDeployment) Terminal() bool {
	switch d.Status {
	case DeploymentSuccessful, DeploymentStopped, DeploymentRollbackSuccessful, DeploymentRollbackFailed:
		return true
	}
	return false
}

// ErrDeploymentNotFound means ECS knows no service deployment of that ARN.
var ErrDeploymentNotFound = errors.New("service deployment not found")

// ServiceDeployment describes the service deployment arn; an error wrapping
// ErrDeploymentNotFound when ECS reports it missing.
func (c *Client) ServiceDeployment(ctx context.Context, arn string) (*ServiceDeployment, error) {
	op := "describe service deployment " + arn
	out, err := c.api.DescribeServiceDeployments(ctx, &sdk.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil {
		return nil, awsapi.Classify(op, err)
	}
	for _, d := range out.ServiceDeployments {
		return serviceDeployment(&d), nil
	}
	for _, f := range out.Failures {
		if r := aws.ToString(f.Reason); r != "MISSING" {
			return nil, fmt.Errorf("%s: %s %s", op, r, aws.ToString(f.Detail))
		}
	}
	return nil, fmt.Errorf("%s: %w", op, ErrDeploymentNotFound)
}

// ServiceDeploymentARNs lists the ARNs of the service's deployments in
// one of statuses (all when none), newest first as ECS lists them.
func (c *Client) ServiceDeploymentARNs(ctx context.Context, cluster, service string, statuses ...string) ([]string, error) {
	in := &sdk.ListServiceDeploymentsInput{Cluster: &cluster, Service: &service}
	for _, s := range statuses {
		in.Status = append(in.Status, types.ServiceDeploymentStatus(s))
	}
	var arns []string
	for {
		out, err := c.api.ListServiceDeployments(ctx, in)
		if err != nil {
			return nil, awsapi.Classify("list service deployments of "+cluster+"/"+service, err)
		}
		for _, b := range out.ServiceDeployments {
			arns = append(arns, aws.ToString(b.ServiceDeploymentArn))
		}
		if aws.ToString(out.NextToken) == "" {
			return arns, nil
		}
		in.NextToken = out.NextToken
	}
}

// ContinueServiceDeployment resolves the PAUSE hook hookID of the service
// deployment arn with action (ActionContinue or ActionRollback).
func (c *Client) ContinueServiceDeployment(ctx context.Context, arn, hookID, action string) error {
	_, err := c.api.ContinueServiceDeployment(ctx, &sdk.ContinueServiceDeploymentInput{
		ServiceDeploymentArn: &arn, HookId: &hookID, Action: types.DeploymentLifecycleHookAction(action),
	})
	return awsapi.Classify(fmt.Sprintf("%s hook %s of service deployment %s", action, hookID, arn), err)
}

// RollBackServiceDeployment stops the service deployment arn with a
// rollback to the revision that ran before it (StopServiceDeployment
// ROLLBACK): the rollback of a deployment that no hook holds.
func (c *Client) RollBackServiceDeployment(ctx context.Context, arn string) error {
	_, err := c.api.StopServiceDeployment(ctx, &sdk.StopServiceDeploymentInput{
		ServiceDeploymentArn: &arn, StopType: types.StopServiceDeploymentStopTypeRollback,
	})
	return awsapi.Classify("roll back service deployment "+arn, err)
}

func serviceDeployment(d *types.ServiceDeployment) *ServiceDeployment {
	out := &ServiceDeployment{
		ARN:            aws.ToString(d.ServiceDeploymentArn),
		Service:        aws.ToString(d.ServiceArn),
		Status:         string(d.Status),
		StatusReason:   aws.ToString(d.StatusReason),
		LifecycleStage: string(d.LifecycleStage),
	}
	if d.TargetServiceRevision != nil {
		out.TargetRevision = aws.ToString(d.TargetServiceRevision.Arn)
	}
	if d.Rollback != nil {
		out.RollbackReason = aws.ToString(d.Rollback.Reason)
	}
	if d.DeploymentCircuitBreaker != nil {
		out.CircuitBreaker = string(d.DeploymentCircuitBreaker.Status)
	}
	if d.Alarms != nil {
		out.Alarms = string(d.Alarms.Status)
		out.TriggeredAlarms = d.Alarms.TriggeredAlarmNames
	}
	for _, h := range d.LifecycleHookDetails {
		out.Hooks = append(out.Hooks, Hook{
			ID:            aws.ToString(h.HookId),
			TargetType:    string(h.TargetType),
			Status:        string(h.Status),
			ExpiresAt:     aws.ToTime(h.ExpiresAt),
			TimeoutAction: string(h.TimeoutAction),
		})
	}
	return out
}
