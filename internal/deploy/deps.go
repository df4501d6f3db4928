package deploy

import (
	"context"

	"github.com/slipwayhq/slipway/internal/awsapi/autoscaling"
	"github.com/slipwayhq/slipway/internal/awsapi/cloudwatch"
	"github.com/slipwayhq/slipway/internal/awsapi/ecs"
	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/awsapi/sfn"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/store"
)

// The interfaces below list only what the engine calls. They are written in
// the terms of internal/store and the internal/awsapi adapters; where an
// adapter takes an SDK input shape, the method here takes the spec.Rendered
// that carries it, so this package needs no SDK import (awsclients makes the
// SDK-shaped edits).

// Store is the part of *store.Store the engine uses.
type Store interface {
	ServiceSpec(ctx context.Context, name, version string) (store.SpecObject, error)
	EnvironmentSpec(ctx context.Context, name, version string) (store.SpecObject, error)

	Lock(ctx context.Context, env, svc string) (store.LockRecord, string, error)
	AcquireLock(ctx context.Context, env, svc string, rec store.LockRecord) error
	ReplaceLock(ctx context.Context, env, svc string, rec store.LockRecord, etag string) error
	ReleaseLock(ctx context.Context, env, svc, deployment string) error
	Enqueue(ctx context.Context, env, svc string, e store.QueueEntry) (*store.QueueEntry, error)
	Dequeue(ctx context.Context, env, svc string) (*store.QueueEntry, error)
	// Queued returns the waiting deployment without removing it; nil when
	// none waits.
	Queued(ctx context.Context, env, svc string) (*store.QueueEntry, error)

	PutWatch(ctx context.Context, w store.Watch) error
	WatchForDeployment(ctx context.Context, deployment string) (store.Watch, error)
	DeleteWatch(ctx context.Context, w store.Watch) error
	PutApproval(ctx context.Context, a store.PendingApproval) error
	Approval(ctx context.Context, env, svc string) (store.PendingApproval, error)
	DeleteApproval(ctx context.Context, env, svc string) error
	ApprovalRecord(ctx context.Context, deployment string) (store.ApprovalRecord, error)

	PutPlan(ctx context.Context, deployment string, v any) (string, error)
	Plan(ctx context.Context, key string, v any) error

	PutHistory(ctx context.Context, e store.HistoryEntry) error
	History(ctx context.Context, env, svc string, limit int) ([]store.HistoryEntry, error)
	// NewestApplied returns an error wrapping store.ErrNotFound when no
	// request has begun changing the service.
	NewestApplied(ctx context.Context, env, svc string) (store.NewestRequest, error)
	MarkApplied(ctx context.Context, env, svc string, rec store.NewestRequest) error
}

// TaskAPI completes task tokens and starts executions (awsapi/sfn). A token
// that is already closed gives sfn.ErrTaskClosed.
type TaskAPI interface {
	SendTaskSuccess(ctx context.Context, token string, output any) error
	SendTaskFailure(ctx context.Context, token string, cause error) error
	StartExecution(ctx context.Context, stateMachineARN, name string, input any) (arn string, existed bool, err error)
	// DescribeExecution returns an error wrapping sfn.ErrNotFound when there
	// is no such execution.
	DescribeExecution(ctx context.Context, arn string) (*sfn.Execution, error)
}

// EventPublisher publishes Slipway events (awsapi/eventbridge).
type EventPublisher interface {
	Publish(ctx context.Context, detailType string, detail any) error
}

// ImageResolver looks images up in ECR (awsapi/ecr).
type ImageResolver interface {
	ImageDigest(ctx context.Context, repository, tag string) (string, error)
	RepositoryURI(ctx context.Context, repository string) (string, error)
}

// ServiceShape says how the engine wants the rendered ECS service changed
// before it is created or updated.
type ServiceShape struct {
	// Name is the ECS service name: the logical name, or a slot's name.
	Name string
	// DesiredCount replaces the rendered desired count when set; nil keeps
	// it (always nil for DAEMON services).
	DesiredCount *int32
	// TargetGroupARN, when set, replaces the load balancer target group of
	// the rendered service (a slot behind its own target group).
	TargetGroupARN string
	// ContainerName and ContainerPort go with TargetGroupARN.
	ContainerName string
	ContainerPort int32
	// CircuitBreaker turns on the ECS deployment circuit breaker with its
	// own rollback off: Slipway rolls back itself, to its snapshot. With
	// Native, its rollback is on: ECS rolls a native deployment back.
	CircuitBreaker bool
	// Native, when set, deploys with ECS's own strategy (kind ecs).
	Native *NativeShape
	// LeaveNative moves a service deployed with ECS's own strategy back
	// to ROLLING: strategy, hooks, bakes and advancedConfiguration go.
	LeaveNative bool
}

// ServiceAPI manages ECS task definitions and services (awsapi/ecs).
// DescribeService returns ecs.ErrNotFound when the service is missing or
// inactive.
type ServiceAPI interface {
	// RegisterTaskDefinition registers r.TaskDefinition with tags added.
	RegisterTaskDefinition(ctx context.Context, r *spec.Rendered, tags map[string]string) (arn string, err error)
	DescribeService(ctx context.Context, cluster, name string) (*ecs.Service, error)
	// CreateService creates r.ServiceInput reshaped by s.
	CreateService(ctx context.Context, r *spec.Rendered, s ServiceShape, taskDefinition string) (*ecs.Service, error)
	// UpdateService updates the service s.Name to r.ServiceInput reshaped by s.
	UpdateService(ctx context.Context, r *spec.Rendered, s ServiceShape, taskDefinition string) (*ecs.Service, error)
	SetDesiredCount(ctx context.Context, cluster, name string, n int32) (*ecs.Service, error)
	// DeploymentTasks returns the tasks the ECS deployment id started
	// whose desired status is RUNNING (ecs.Client.DeploymentTasks).
	DeploymentTasks(ctx context.Context, cluster, id string) ([]ecs.Task, error)
	// RestoreService puts a service back in one update: task definition,
	// count and the settings that differ (ecs.Client.Restore).
	RestoreService(ctx context.Context, cluster, name string, r ecs.Restore) (*ecs.Service, error)
	// DeploymentRevision returns the revision of family a deployment
	// registered already, or "" (ecs.Client.DeploymentRevision).
	DeploymentRevision(ctx context.Context, family, deployment string) (string, error)
	// DeleteService deletes a service, stopping its tasks; a missing service
	// is not an error.
	DeleteService(ctx context.Context, cluster, name string) error
	TaskDefinitionRevisions(ctx context.Context, family string) ([]string, error)
	DeregisterTaskDefinition(ctx context.Context, arn string) error

	// ServiceDeployment describes a service deployment of a native
	// strategy, with its active hooks.
	ServiceDeployment(ctx context.Context, arn string) (*ecs.ServiceDeployment, error)
	// ServiceDeploymentARNs lists a service's service deployments in one
	// of statuses, newest first.
	ServiceDeploymentARNs(ctx context.Context, cluster, service string, statuses ...string) ([]string, error)
	// ContinueServiceDeployment resolves a PAUSE hook with
	// ecs.ActionContinue or ecs.ActionRollback.
	ContinueServiceDeployment(ctx context.Context, arn, hookID, action string) error
	// RollBackServiceDeployment stops a service deployment with a
	// rollback.
	RollBackServiceDeployment(ctx context.Context, arn string) error
}

// TrafficAPI reads and moves listener rule weights (awsapi/elbv2).
type TrafficAPI interface {
	// RuleActions reads a rule's whole action list.
	RuleActions(ctx context.Context, ruleARN string) ([]elbv2.Action, error)
	// SetRuleWeights changes only the target groups and weights of the
	// rule's forward action; every other action and setting stays.
	SetRuleWeights(ctx context.Context, ruleARN string, w []elbv2.TargetWeight) error
	// SetRuleActions replaces the rule's whole action list with actions.
	SetRuleActions(ctx context.Context, ruleARN string, actions []elbv2.Action) error
	TargetHealth(ctx context.Context, targetGroupARN string) ([]elbv2.Target, error)
}

// AlarmReader reads alarm states (awsapi/cloudwatch).
type AlarmReader interface {
	AlarmStates(ctx context.Context, names []string) (map[string]cloudwatch.AlarmState, error)
}

// ScalingAPI manages the Application Auto Scaling target of an ECS service
// (awsapi/autoscaling). Target returns nil, nil when none is registered.
type ScalingAPI interface {
	Target(ctx context.Context, resourceID string) (*autoscaling.ScalableTarget, error)
	RegisterTarget(ctx context.Context, resourceID string, min, max int32, suspended bool) error
	// DeregisterTarget removes the target and its policies; a missing target
	// is not an error.
	DeregisterTarget(ctx context.Context, resourceID string) error
	// PutPolicies makes the scaling policies and scheduled actions of the
	// target those of a: it puts each of a's and deletes any other, so a
	// policy removed from the spec (or added by this deployment, when a is
	// a snapshot) is gone.
	PutPolicies(ctx context.Context, resourceID string, a *spec.AutoScaling) error
	// ScalingConfig returns the policies and scheduled actions of the
	// target in the spec's shapes (limits are Target's).
	ScalingConfig(ctx context.Context, resourceID string) (*spec.AutoScaling, error)
}
