package deploy

import (
	"maps"
	"slices"
	"testing"
	"time"
)

// BenchmarkFlowTransitions prints the cost of each strategy's happy path
// through the synthesized definition, in state transitions (what Step
// Functions Standard bills); ns/op is the wall time of one deployment on
// the virtual clock. TestFlowCostShape holds the targets; these are
// figures.
func BenchmarkFlowTransitions(b *testing.B) {
	def := loadDefinition(b)
	cases := costCases(1)
	for _, name := range slices.Sorted(maps.Keys(cases)) {
		c := cases[name]
		b.Run(name, func(b *testing.B) {
			transitions := 0
			for b.Loop() {
				b.StopTimer()
				r, req := newHappyFlow(b, def, c.sc)
				b.StartTimer()
				transitions = runDeployed(b, r, req).Transitions()
			}
			b.ReportMetric(float64(transitions), "transitions/deployment")
		})
	}
}

// BenchmarkFlowCanaryThirtyMinutes times a 3-step canary with 30 minutes of
// bake (5, 10 and 15 minutes at 10%, 50% and 100%) through the synthesized
// definition, the engine and the fakes on the virtual clock: ns/op is the
// wall time per deployment (issue 6's target: under 100 ms), simulated-min
// the virtual time it spans (the bakes plus the wait for the first ECS
// rollout).
func BenchmarkFlowCanaryThirtyMinutes(b *testing.B) {
	def := loadDefinition(b)
	sc := canaryThreeSteps(1)
	var span time.Duration
	for b.Loop() {
		b.StopTimer()
		r, req := newHappyFlow(b, def, sc)
		b.StartTimer()
		span = simulated(runDeployed(b, r, req))
	}
	b.ReportMetric(span.Minutes(), "simulated-min")
}
