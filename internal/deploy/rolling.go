package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/slipwayhq/slipway/internal/awsapi/ecs"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Rolling: one service updated in place by ECS, with the circuit breaker on
// (its own rollback off: Slipway restores its snapshot itself, so scaling
// limits and desired counts come back too). Alarms are watched while ECS
// replaces the tasks and, when the strategy has a final bake, for that long
// afterwards. The only strategy for DAEMON services, which have no desired
// count.

// rollingSteps is one bake at full weight when the strategy asks for a
// final bake, else nothing: ECS itself moves the traffic.
func rollingSteps(s spec.Strategy) []workflow.Step {
	if s.FinalBake.Duration <= 0 {
		return nil
	}
	return []workflow.Step{{Weight: 100, BakeSeconds: timeoutSeconds(s.FinalBake.Duration)}}
}

// keepTrafficGroup keeps a rolling service behind the target group it is
// registered in when that is the environment's second one: ECS's own
// strategies (kind ecs) swap the two groups at the end of each deployment
// and leave the production rule forwarding to the second as often as to
// the first, and moving the service to the first would register its new
// tasks where no traffic goes. It also says when the service leaves ECS's
// own strategy, whose settings UpdateService would otherwise keep.
func keepTrafficGroup(ctx context.Context, c Clients, r *spec.Rendered, shape *ServiceShape) error {
	live, err := c.Services.DescribeService(ctx, r.Cluster, r.Service)
	if errors.Is(err, ecs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe service %s/%s: %w", r.Cluster, r.Service, err)
	}
	if dc := live.Settings.DeploymentConfiguration; dc != nil && dc.Strategy != "" && dc.Strategy != "ROLLING" {
		shape.LeaveNative = true
	}
	lb := r.LoadBalancer
	if lb == nil || lb.TargetGroupArns[1] == "" || lb.ListenerRuleArn == "" {
		return nil
	}
	second := shape.LeaveNative
	for _, l := range live.Settings.LoadBalancers {
		second = second || l.TargetGroupArn != nil && *l.TargetGroupArn == lb.TargetGroupArns[1]
	}
	if !second {
		return nil
	}
	// The production rule says where the traffic is.
	serving, err := servingGroup(ctx, c, lb)
	if err != nil {
		return err
	}
	if serving == lb.TargetGroupArns[1] {
		shape.TargetGroupARN, shape.ContainerName, shape.ContainerPort = serving, lb.ContainerName, lb.ContainerPort
	}
	return nil
}

// servingGroup returns the one of lb's two target groups that its
// production rule forwards the larger share to, or "" when it forwards to
// neither.
func servingGroup(ctx context.Context, c Clients, lb *spec.LoadBalancer) (string, error) {
	rule, err := readRule(ctx, c, lb.ListenerRuleArn)
	if err != nil {
		return "", err
	}
	var w [2]int32
	for _, tw := range rule.Weights {
		for i, g := range lb.TargetGroupArns {
			if tw.TargetGroupARN == g {
				w[i] = tw.Weight
			}
		}
	}
	switch {
	case w[1] > w[0]:
		return lb.TargetGroupArns[1], nil
	case w[0] > 0:
		return lb.TargetGroupArns[0], nil
	}
	return "", nil
}

// applyRolling updates (or creates) the service with the new task
// definition and applies its auto scaling.
func applyRolling(ctx context.Context, c Clients, p *plan, td string) (*ecs.Service, error) {
	r := p.Rendered
	shape := ServiceShape{Name: r.Service, CircuitBreaker: true}
	if r.Scheduling != "DAEMON" {
		shape.DesiredCount = ptr(p.FullCount)
	}
	if err := keepTrafficGroup(ctx, c, r, &shape); err != nil {
		return nil, err
	}
	svc, err := createOrUpdate(ctx, c, r, shape, td)
	if err != nil {
		return nil, err
	}
	if err := applyScaling(ctx, c, r, r.Service, p.FullCount, false); err != nil {
		return nil, err
	}
	return svc, nil
}
