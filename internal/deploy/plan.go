package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/slipwayhq/slipway/internal/awsapi/autoscaling"
	"github.com/slipwayhq/slipway/internal/awsapi/ecs"
	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// The strategy kinds of spec.Strategy.Kind.
const (
	kindRolling   = "rolling"
	kindCanary    = "canary"
	kindBlueGreen = "bluegreen"
	kindECS       = "ecs"
)

// plan is what Prepare decided, stored in the state bucket at State.Plan.Key
// because it is far larger than the state document should be.
type plan struct {
	Rendered *spec.Rendered `json:"rendered"`
	// Snapshot is the live state before this deployment; Rollback restores it.
	Snapshot Snapshot `json:"snapshot"`
	// Pipeline is the service's promotion order of environments.
	Pipeline []string `json:"pipeline,omitempty"`
	// Target is the ECS service that receives the new revision: the logical
	// service for rolling, a slot service for canary and blue/green.
	Target string `json:"target"`
	// Other is the slot service serving traffic now; empty for rolling.
	Other string `json:"other,omitempty"`
	// TargetGroup and OtherGroup are the target groups of Target and Other.
	TargetGroup string `json:"targetGroup,omitempty"`
	OtherGroup  string `json:"otherGroup,omitempty"`
	// FullCount is the desired count of the new revision when it carries all
	// traffic; 0 for DAEMON services.
	FullCount int32 `json:"fullCount"`
	// ByCount is true for a canary without load balancer: traffic moves by
	// the number of tasks in each slot.
	ByCount bool `json:"byCount,omitempty"`
	// Adopted is the plain (rolling) service that canary or blue/green slots
	// take over: it is Other, serving traffic until promotion, and Cleanup
	// deletes it; empty unless the strategy switched from rolling (see
	// switch.go).
	Adopted string `json:"adopted,omitempty"`
	// Retire are the slot services a rolling deployment takes over: they
	// serve until the plain service is stable, Promote moves the rule's
	// forward to TargetGroup (the plain service's) and Cleanup deletes them;
	// empty unless the strategy switched to rolling.
	Retire []string `json:"retire,omitempty"`
}

// Snapshot is the live state a deployment may change, as it was before the
// deployment. Restoring it is the whole of a rollback.
type Snapshot struct {
	// Services are the ECS services involved: the service for rolling, both
	// slots for canary and blue/green.
	Services []ServiceState `json:"services"`
	// Rules are the listener rules involved (production, then test).
	Rules []RuleState `json:"rules,omitempty"`
	// Primary is the slot serving traffic ("blue" or "green"); empty for
	// rolling and before the first deployment.
	Primary string `json:"primary,omitempty"`
}

// ServiceState is an ECS service as the engine sees it.
type ServiceState struct {
	Cluster string `json:"cluster"`
	Name    string `json:"name"`
	// Exists is false when the service is missing (or inactive).
	Exists         bool   `json:"exists"`
	TaskDefinition string `json:"taskDefinition,omitempty"`
	// DesiredCount is meaningless for DAEMON services.
	DesiredCount int32 `json:"desiredCount"`
	Daemon       bool  `json:"daemon,omitempty"`
	// Scaling is the scalable target; nil when none is registered.
	Scaling *Limits `json:"scaling,omitempty"`
	// Settings are the service's network, load balancers, registries,
	// capacity providers, deployment configuration and grace period; nil
	// in plans written before they were snapshotted (then left alone).
	Settings *ecs.Settings `json:"settings,omitempty"`
	// Policies are the scaling policies and scheduled actions of the
	// scalable target (limits are in Scaling); nil when no target is
	// registered, or in plans written before they were snapshotted.
	Policies *spec.AutoScaling `json:"policies,omitempty"`
}

// Limits are the limits of a scalable target.
type Limits struct {
	Min       int32 `json:"min"`
	Max       int32 `json:"max"`
	Suspended bool  `json:"suspended"`
}

// RuleState is a listener rule as Prepare read it: the weights of its
// forward action, which tell the primary slot, and its whole action list,
// which Rollback writes back exactly (ModifyRule replaces the whole list,
// so authentication and stickiness are restored with it).
type RuleState struct {
	ARN     string               `json:"arn"`
	Weights []elbv2.TargetWeight `json:"weights"`
	// Actions is empty in plans written before the list was captured;
	// their rollback restores the weights only.
	Actions []elbv2.Action `json:"actions,omitempty"`
}

// readService returns the live state of one ECS service.
func readService(ctx context.Context, c Clients, cluster, name string) (ServiceState, error) {
	s := ServiceState{Cluster: cluster, Name: name}
	svc, err := c.Services.DescribeService(ctx, cluster, name)
	if errors.Is(err, ecs.ErrNotFound) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("describe service %s/%s: %w", cluster, name, err)
	}
	s.Exists = true
	s.TaskDefinition = svc.TaskDefinition
	s.DesiredCount = svc.DesiredCount
	s.Daemon = svc.Scheduling == "DAEMON"
	s.Settings = &svc.Settings
	id := autoscaling.ResourceID(cluster, name)
	t, err := c.Scaling.Target(ctx, id)
	if err != nil {
		return s, fmt.Errorf("read scalable target of %s/%s: %w", cluster, name, err)
	}
	if t != nil {
		s.Scaling = &Limits{Min: t.Min, Max: t.Max, Suspended: t.Suspended}
		if s.Policies, err = c.Scaling.ScalingConfig(ctx, id); err != nil {
			return s, fmt.Errorf("read scaling policies of %s/%s: %w", cluster, name, err)
		}
	}
	return s, nil
}

// liveFullCount is the desired count of the new revision when it carries
// all traffic, read from the live services now rather than from the
// snapshot: auto scaling, a person or an earlier step may have scaled the
// service since Prepare (an approval can wait for hours), and a deployment
// must never scale a live service in during an incident. It is the rendered
// desired count, or what runs now if that is more, bounded by the spec's
// auto scaling limits. For canary and blue/green the slots are read: both
// together for a canary by count (they share the traffic by their tasks),
// else the larger (the slot serving traffic). Before the target slot takes
// traffic (Apply, which may be retried after scaling it), withTarget is
// false and only the other slot counts. 0 for DAEMON services.
func liveFullCount(ctx context.Context, c Clients, p *plan, withTarget bool) (int32, error) {
	r := p.Rendered
	if r.Scheduling == "DAEMON" {
		return 0, nil
	}
	var running int32
	if r.Strategy.Kind == kindRolling || r.Strategy.Kind == kindECS {
		live, err := readCount(ctx, c, r.Cluster, r.Service)
		if err != nil {
			return 0, err
		}
		running = live
		// Switching to rolling: the slots serve until the plain service
		// takes over, so it is sized from the one serving.
		for _, name := range p.Retire {
			n, err := readCount(ctx, c, r.Cluster, name)
			if err != nil {
				return 0, err
			}
			running = max(running, n)
		}
	} else {
		var t int32
		if withTarget {
			n, err := readCount(ctx, c, r.Cluster, p.Target)
			if err != nil {
				return 0, err
			}
			t = n
		}
		o, err := readCount(ctx, c, r.Cluster, p.Other)
		if err != nil {
			return 0, err
		}
		running = max(t, o)
		if p.ByCount {
			running = t + o
		}
	}
	return boundedCount(r, running), nil
}

// boundedCount is the rendered desired count or running if that is more,
// within the spec's auto scaling limits.
func boundedCount(r *spec.Rendered, running int32) int32 {
	var n int32 = 1
	if r.ServiceInput != nil && r.ServiceInput.DesiredCount != nil {
		n = *r.ServiceInput.DesiredCount
	}
	n = max(n, running)
	if a := r.AutoScaling; a != nil {
		n = min(max(n, a.MinCapacity), a.MaxCapacity)
	}
	return n
}

// readCount returns the live desired count of a service; 0 when it does
// not exist.
func readCount(ctx context.Context, c Clients, cluster, name string) (int32, error) {
	svc, err := c.Services.DescribeService(ctx, cluster, name)
	if errors.Is(err, ecs.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("describe service %s/%s: %w", cluster, name, err)
	}
	return svc.DesiredCount, nil
}

// readRule returns a listener rule's action list and its forward weights.
func readRule(ctx context.Context, c Clients, arn string) (RuleState, error) {
	actions, err := c.Traffic.RuleActions(ctx, arn)
	if err != nil {
		return RuleState{}, fmt.Errorf("read actions of rule %s: %w", arn, err)
	}
	w, err := elbv2.ForwardWeights(actions)
	if err != nil {
		return RuleState{}, fmt.Errorf("read weights of rule %s: %w", arn, err)
	}
	return RuleState{ARN: arn, Weights: w, Actions: actions}, nil
}

// loadPlan reads the plan of st and the clients of its environment.
func (e *Engine) loadPlan(ctx context.Context, st workflow.State) (*plan, Clients, error) {
	if st.Plan.Key == "" {
		return nil, Clients{}, &workflow.InvalidInput{Problems: []string{"plan.key: required (set by prepare)"}}
	}
	var p plan
	if err := e.Store.Plan(ctx, st.Plan.Key, &p); err != nil {
		return nil, Clients{}, fmt.Errorf("read plan %s: %w", st.Plan.Key, err)
	}
	if p.Rendered == nil {
		return nil, Clients{}, &workflow.InvalidInput{Problems: []string{fmt.Sprintf("plan %s: rendered: missing", st.Plan.Key)}}
	}
	c, err := e.Clients(ctx, p.Rendered.RoleARN)
	if err != nil {
		return nil, Clients{}, fmt.Errorf("clients for environment %s: %w", st.Environment, err)
	}
	return &p, c, nil
}

func ptr[T any](v T) *T { return &v }
