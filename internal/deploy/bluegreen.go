package deploy

import (
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Blue/green: the idle slot is brought up to full size at weight 0,
// optionally verified through the test listener rule (which Apply points at
// it) for one bake before any production traffic, then traffic moves all at
// once or in linear steps. The old slot keeps running for the termination
// wait, which is the bake of the last step, so a rollback until then is a
// weight flip rather than a relaunch.

// blueGreenSteps are the traffic steps: the strategy's linear steps, or one
// step to 100 when it gives none. The last step bakes for the termination
// wait (or the final bake). With a test listener a verification step at
// weight 0, baking for the final bake, comes first.
func blueGreenSteps(s spec.Strategy, first, verify bool) []workflow.Step {
	var out []workflow.Step
	if verify && !first {
		out = append(out, workflow.Step{Weight: 0, BakeSeconds: timeoutSeconds(s.FinalBake.Duration)})
	}
	if !first {
		for _, st := range s.Steps {
			if st.Weight < 100 {
				out = append(out, workflow.Step{Weight: st.Weight, BakeSeconds: timeoutSeconds(st.Bake.Duration)})
			}
		}
	}
	last := s.TerminationWait.Duration
	if last <= 0 {
		last = s.FinalBake.Duration
	}
	return append(out, workflow.Step{Weight: 100, BakeSeconds: timeoutSeconds(last)})
}
