package deploy

import (
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Canary: the new revision comes up in the idle slot, then traffic moves in
// the strategy's steps (10 → 50 → 100, say), with a bake and an alarm watch
// after each. With a load balancer the steps are listener rule weights;
// without one they are the share of tasks: the new slot runs
// ceil(full × weight / 100) tasks and the old slot the rest.

// canarySteps are the strategy's steps, ending at 100 (with the final bake).
// The first deployment has nothing to compare against, so it goes straight to
// 100 and bakes there.
func canarySteps(s spec.Strategy, first bool) []workflow.Step {
	final := workflow.Step{Weight: 100, BakeSeconds: timeoutSeconds(s.FinalBake.Duration)}
	if first {
		return []workflow.Step{final}
	}
	var out []workflow.Step
	for _, st := range s.Steps {
		out = append(out, workflow.Step{Weight: st.Weight, BakeSeconds: timeoutSeconds(st.Bake.Duration)})
	}
	if len(out) == 0 || out[len(out)-1].Weight < 100 {
		out = append(out, final)
	} else if s.FinalBake.Duration > 0 {
		out[len(out)-1].BakeSeconds = max(out[len(out)-1].BakeSeconds, final.BakeSeconds)
	}
	return out
}

// countFor is the number of tasks of the new slot carrying weight percent
// of full: rounded up, so a step above zero always runs at least one task.
func countFor(full int32, weight int) int32 {
	if weight <= 0 {
		return 0
	}
	if weight >= 100 {
		return full
	}
	return int32((int(full)*weight + 99) / 100)
}
