package deploy

import (
	"context"
	"fmt"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// shift moves traffic to the weight of the next step and sets up its bake:
// listener rule weights for canary and blue/green behind a load balancer,
// slot task counts for a canary without one; for rolling, ECS has moved the
// traffic already and the step is only the final bake.
func (e *Engine) shift(ctx context.Context, st workflow.State) (workflow.State, error) {
	if err := e.dropWatch(ctx, st); err != nil {
		return st, err
	}
	i := st.Progress.Step
	if i < 0 || i >= len(st.Plan.Steps) {
		return st, &workflow.InvalidInput{Problems: []string{fmt.Sprintf("progress.step: %d is past the %d steps of the plan", i, len(st.Plan.Steps))}}
	}
	step := st.Plan.Steps[i]
	p, c, err := e.loadPlan(ctx, st)
	if err != nil {
		return st, err
	}
	r := p.Rendered
	switch {
	case r.Strategy.Kind == kindRolling:
	case p.ByCount:
		// New tasks first, then fewer old ones, so capacity never dips.
		n := countFor(p.FullCount, step.Weight)
		if _, err := c.Services.SetDesiredCount(ctx, r.Cluster, p.Target, n); err != nil {
			return st, fmt.Errorf("scale %s to %d: %w", p.Target, n, err)
		}
		if p.otherExists() {
			if _, err := c.Services.SetDesiredCount(ctx, r.Cluster, p.Other, p.FullCount-n); err != nil {
				return st, fmt.Errorf("scale %s to %d: %w", p.Other, p.FullCount-n, err)
			}
		}
	default:
		if err := setWeights(ctx, c, r.LoadBalancer.ListenerRuleArn, p.splitWeights(step.Weight)); err != nil {
			return st, err
		}
	}
	// The bake watches the new revision's ECS deployment too, so that an
	// "ECS Deployment State Change" FAILED (the circuit breaker tripping on
	// a revision that crash-loops after its rollout looked done, or ECS
	// rolling the service back) ends the bake at once rather than at its
	// next re-check, which realistic task times make minutes away.
	svc, err := c.Services.DescribeService(ctx, r.Cluster, p.Target)
	if err != nil {
		return st, fmt.Errorf("describe service %s/%s: %w", r.Cluster, p.Target, err)
	}
	var ecsDeployment string
	if d := svc.Primary(); d != nil {
		ecsDeployment = d.ID
	}
	now := e.now()
	st.Progress = workflow.Progress{Step: i + 1, Remaining: len(st.Plan.Steps) - i - 1, Weight: step.Weight}
	// The bake wakes every reconcile interval to re-read the alarms (check),
	// so a lost alarm event cannot let the step through; BakeLeftSeconds is
	// what remains to wait after this first interval.
	bake := max(step.BakeSeconds, 1)
	first := min(e.reconcileSeconds(), bake)
	st.Wait = workflow.Wait{
		Kind:            workflow.WaitBake,
		TimeoutSeconds:  first,
		BakeLeftSeconds: bake - first,
		Deadline:        now.Add(secondsOf(bake)),
		Cluster:         r.Cluster,
		Service:         p.Target,
		ECSDeployment:   ecsDeployment,
		Alarms:          r.Alarms,
	}
	e.logger(st, workflow.PhaseShift).Info("traffic shifted", "step", i+1, "weight", step.Weight,
		"bakeSeconds", bake)
	return st, nil
}
