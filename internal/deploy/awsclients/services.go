package awsclients

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/slipwayhq/slipway/internal/awsapi"
	ecsapi "github.com/slipwayhq/slipway/internal/awsapi/ecs"
	"github.com/slipwayhq/slipway/internal/deploy"
	"github.com/slipwayhq/slipway/internal/spec"
)

// serviceDeleter is the SDK method the ECS adapter does not offer.
type serviceDeleter interface {
	DeleteService(context.Context, *ecs.DeleteServiceInput, ...func(*ecs.Options)) (*ecs.DeleteServiceOutput, error)
}

// Services implements deploy.ServiceAPI over the ECS adapter.
type Services struct {
	api *ecsapi.Client
	sdk serviceDeleter
}

// RegisterTaskDefinition registers r's task definition with tags added
// (replacing tags of the same key).
func (s *Services) RegisterTaskDefinition(ctx context.Context, r *spec.Rendered, tags map[string]string) (string, error) {
	in := *r.TaskDefinition
	in.Tags = withTags(in.Tags, tags)
	return s.api.RegisterTaskDefinition(ctx, &in)
}

// DescribeService returns the service; ecsapi.ErrNotFound when missing.
func (s *Services) DescribeService(ctx context.Context, cluster, name string) (*ecsapi.Service, error) {
	return s.api.DescribeService(ctx, cluster, name)
}

// CreateService creates r's service reshaped by shape.
func (s *Services) CreateService(ctx context.Context, r *spec.Rendered, shape deploy.ServiceShape, td string) (*ecsapi.Service, error) {
	return s.api.CreateService(ctx, serviceInput(r, shape, td))
}

// UpdateService updates the service shape.Name to r's service reshaped by
// shape.
func (s *Services) UpdateService(ctx context.Context, r *spec.Rendered, shape deploy.ServiceShape, td string) (*ecsapi.Service, error) {
	return s.api.UpdateService(ctx, serviceInput(r, shape, td), td)
}

// DeploymentTasks returns the tasks of the ECS deployment id still meant to
// run.
func (s *Services) DeploymentTasks(ctx context.Context, cluster, id string) ([]ecsapi.Task, error) {
	return s.api.DeploymentTasks(ctx, cluster, id)
}

// SetDesiredCount changes only the desired count.
func (s *Services) SetDesiredCount(ctx context.Context, cluster, name string, n int32) (*ecsapi.Service, error) {
	return s.api.SetDesiredCount(ctx, cluster, name, n)
}

// RestoreService puts a service back in one update.
func (s *Services) RestoreService(ctx context.Context, cluster, name string, r ecsapi.Restore) (*ecsapi.Service, error) {
	return s.api.Restore(ctx, cluster, name, r)
}

// DeploymentRevision returns the revision of family the deployment
// registered already, or "".
func (s *Services) DeploymentRevision(ctx context.Context, family, deployment string) (string, error) {
	return s.api.DeploymentRevision(ctx, family, deployment)
}

// TaskDefinitionRevisions lists the ACTIVE revisions of family, oldest first.
func (s *Services) TaskDefinitionRevisions(ctx context.Context, family string) ([]string, error) {
	return s.api.TaskDefinitionRevisions(ctx, family)
}

// DeregisterTaskDefinition deregisters one revision.
func (s *Services) DeregisterTaskDefinition(ctx context.Context, arn string) error {
	return s.api.DeregisterTaskDefinition(ctx, arn)
}

// DeleteService deletes the service, stopping its tasks (Force); a service
// already gone is not an error.
func (s *Services) DeleteService(ctx context.Context, cluster, name string) error {
	_, err := s.sdk.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: &cluster, Service: &name, Force: aws.Bool(true)})
	if awsapi.HasCode(err, "ServiceNotFoundException", "ServiceNotActiveException") {
		return nil
	}
	return awsapi.Classify(fmt.Sprintf("delete service %s/%s", cluster, name), err)
}

// ServiceDeployment describes a native service deployment with its hooks.
func (s *Services) ServiceDeployment(ctx context.Context, arn string) (*ecsapi.ServiceDeployment, error) {
	return s.api.ServiceDeployment(ctx, arn)
}

// ServiceDeploymentARNs lists a service's service deployments in statuses.
func (s *Services) ServiceDeploymentARNs(ctx context.Context, cluster, service string, statuses ...string) ([]string, error) {
	return s.api.ServiceDeploymentARNs(ctx, cluster, service, statuses...)
}

// ContinueServiceDeployment resolves a PAUSE hook.
func (s *Services) ContinueServiceDeployment(ctx context.Context, arn, hookID, action string) error {
	return s.api.ContinueServiceDeployment(ctx, arn, hookID, action)
}

// RollBackServiceDeployment stops a service deployment with a rollback.
func (s *Services) RollBackServiceDeployment(ctx context.Context, arn string) error {
	return s.api.RollBackServiceDeployment(ctx, arn)
}

// serviceInput is r's CreateServiceInput as shape says: the slot's name and
// target group, the desired count the engine chose, and the circuit breaker
// on with its own rollback off (Slipway restores its snapshot instead). r is
// not changed.
func serviceInput(r *spec.Rendered, shape deploy.ServiceShape, td string) *ecs.CreateServiceInput {
	in := *r.ServiceInput
	in.ServiceName = aws.String(shape.Name)
	in.TaskDefinition = aws.String(td)
	if shape.DesiredCount != nil {
		in.DesiredCount = aws.Int32(*shape.DesiredCount)
	}
	if shape.TargetGroupARN != "" {
		in.LoadBalancers = []types.LoadBalancer{{
			TargetGroupArn: aws.String(shape.TargetGroupARN),
			ContainerName:  aws.String(shape.ContainerName),
			ContainerPort:  aws.Int32(shape.ContainerPort),
		}}
	}
	if shape.CircuitBreaker {
		var dc types.DeploymentConfiguration
		if in.DeploymentConfiguration != nil {
			dc = *in.DeploymentConfiguration
		}
		dc.DeploymentCircuitBreaker = &types.DeploymentCircuitBreaker{Enable: true, Rollback: false}
		in.DeploymentConfiguration = &dc
	}
	if shape.Native != nil {
		native(&in, shape.Native)
	}
	if shape.LeaveNative && shape.Native == nil {
		// UpdateService keeps what it is not sent: name ROLLING and clear
		// what only ECS's own strategies use.
		var dc types.DeploymentConfiguration
		if in.DeploymentConfiguration != nil {
			dc = *in.DeploymentConfiguration
		}
		dc.Strategy = types.DeploymentStrategyRolling
		dc.LifecycleHooks = []types.DeploymentLifecycleHook{}
		dc.Alarms = &types.DeploymentAlarms{AlarmNames: []string{}, Enable: false, Rollback: false}
		dc.BakeTimeInMinutes = aws.Int32(0)
		dc.CanaryConfiguration, dc.LinearConfiguration = nil, nil
		in.DeploymentConfiguration = &dc
	}
	return &in
}

// native sets what a native strategy (kind ecs) needs on in: ECS's
// strategy with its settings, the PAUSE hooks, the alarms and the circuit
// breaker with ECS's own rollback, and the load balancer's
// advancedConfiguration (in.LoadBalancers is the primary target group).
func native(in *ecs.CreateServiceInput, n *deploy.NativeShape) {
	var dc types.DeploymentConfiguration
	if in.DeploymentConfiguration != nil {
		dc = *in.DeploymentConfiguration
	}
	dc.Strategy = types.DeploymentStrategy(n.Strategy)
	dc.BakeTimeInMinutes = aws.Int32(n.BakeMinutes)
	dc.CanaryConfiguration, dc.LinearConfiguration = nil, nil
	switch n.Strategy {
	case "CANARY":
		dc.CanaryConfiguration = &types.CanaryConfiguration{CanaryPercent: aws.Float64(n.CanaryPercent),
			CanaryBakeTimeInMinutes: aws.Int32(n.CanaryBakeMinutes)}
	case "LINEAR":
		dc.LinearConfiguration = &types.LinearConfiguration{StepPercent: aws.Float64(n.StepPercent),
			StepBakeTimeInMinutes: aws.Int32(n.StepBakeMinutes)}
	}
	dc.DeploymentCircuitBreaker = &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}
	dc.Alarms = nil
	if len(n.Alarms) > 0 {
		dc.Alarms = &types.DeploymentAlarms{AlarmNames: n.Alarms, Enable: true, Rollback: true}
	}
	dc.LifecycleHooks = nil
	if len(n.PauseStages) > 0 {
		h := types.DeploymentLifecycleHook{TargetType: types.DeploymentLifecycleHookTargetTypePause,
			TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{
				TimeoutInMinutes: aws.Int32(n.HookTimeoutMinutes), Action: types.DeploymentLifecycleHookActionRollback}}
		for _, s := range n.PauseStages {
			h.LifecycleStages = append(h.LifecycleStages, types.DeploymentLifecycleHookStage(s))
		}
		dc.LifecycleHooks = []types.DeploymentLifecycleHook{h}
	}
	in.DeploymentConfiguration = &dc
	lbs := slices.Clone(in.LoadBalancers)
	for i := range lbs {
		ac := &types.AdvancedConfiguration{AlternateTargetGroupArn: aws.String(n.AlternateTargetGroupARN),
			ProductionListenerRule: aws.String(n.ProductionRule), RoleArn: aws.String(n.RoleARN)}
		if n.TestRule != "" {
			ac.TestListenerRule = aws.String(n.TestRule)
		}
		lbs[i].AdvancedConfiguration = ac
	}
	in.LoadBalancers = lbs
}

// withTags returns tags with each of add set, in key order.
func withTags(tags []types.Tag, add map[string]string) []types.Tag {
	out := slices.Clone(tags)
	keys := make([]string, 0, len(add))
	for k := range add {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out = slices.DeleteFunc(out, func(t types.Tag) bool { return aws.ToString(t.Key) == k })
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(add[k])})
	}
	return out
}
