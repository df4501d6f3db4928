package deploy

import (
	"context"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// promote makes the new revision the primary one. For canary and blue/green
// that is all traffic and full size on the new slot, with auto scaling
// resumed; a rolling service is primary already once ECS is done, and
// takes the listener rule's forward from the slots it replaces.
func (e *Engine) promote(ctx context.Context, st workflow.State) (workflow.State, error) {
	if err := e.dropWatch(ctx, st); err != nil {
		return st, err
	}
	p, c, err := e.loadPlan(ctx, st)
	if err != nil {
		return st, err
	}
	if p.Rendered.Strategy.Kind != kindRolling {
		if err := promoteSlots(ctx, c, p); err != nil {
			return st, err
		}
		// Registering the slot in Cloud Map is an ECS deployment of it:
		// wait for it as for Apply's (PromotedYet → AwaitStable), then
		// Promote again, which settles.
		d, err := registering(ctx, c, p)
		if err != nil {
			return st, err
		}
		if d != nil {
			st.Progress.Weight = 100
			st.Wait = e.stableWait(p, d.ID)
			e.logger(st, workflow.PhasePromote).Info("registering the new slot in Cloud Map", "primary", p.Target,
				"ecsDeployment", d.ID, "deadline", st.Wait.Deadline)
			return st, nil
		}
	} else if err := retireWeights(ctx, c, p); err != nil {
		// Switched to rolling: the stable plain service takes the rule.
		return st, err
	}
	st.Progress.Weight = 100
	st.Wait = workflow.Wait{Settled: true}
	e.logger(st, workflow.PhasePromote).Info("promoted", "primary", p.Target)
	return st, nil
}
