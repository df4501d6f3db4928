package deploy

import (
	"context"

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

// applyRolling updates (or creates) the service with the new task
// definition and applies its auto scaling.
func applyRolling(ctx context.Context, c Clients, p *plan, td string) (*ecs.Service, error) {
	r := p.Rendered
	shape := ServiceShape{Name: r.Service, CircuitBreaker: true}
	if r.Scheduling != "DAEMON" {
		shape.DesiredCount = ptr(p.FullCount)
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
