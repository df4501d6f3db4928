package deploy

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/asl"
)

// BenchmarkFlowTransitions prints the cost of each strategy's happy path
// through the synthesized definition, in state transitions (what Step
// Functions Standard bills); ns/op is the wall time of one deployment on
// the virtual clock. TestFlowCostShape holds the targets; these are
// figures. polling-transitions/deployment is what the same deployment
// would cost as a polling loop, each of its waits done as a 15-second
// Wait → check → Choice loop (pollingTransitions), for `make bench` to
// print side by side.
func BenchmarkFlowTransitions(b *testing.B) {
	def := loadDefinition(b)
	cases := costCases(1)
	for _, name := range slices.Sorted(maps.Keys(cases)) {
		c := cases[name]
		b.Run(name, func(b *testing.B) {
			transitions, polling := 0, 0
			for b.Loop() {
				b.StopTimer()
				r, req := newHappyFlow(b, def, c.sc)
				b.StartTimer()
				x := runDeployed(b, r, req)
				transitions, polling = x.Transitions(), pollingTransitions(x, 15*time.Second)
			}
			b.ReportMetric(float64(transitions), "transitions/deployment")
			b.ReportMetric(float64(polling), "polling-transitions/deployment")
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

// pollingTransitions is what the execution x would cost as a polling loop
// that checks every interval: its transitions, with each state that waited
// (simulated time passed between entering and leaving it) replaced by a
// Wait → check Task → Choice loop of three transitions per interval waited.
func pollingTransitions(x *asl.Execution, every time.Duration) int {
	n := x.Transitions()
	entered := map[string]time.Time{}
	for _, e := range x.History() {
		switch {
		case e.StateEntered != nil:
			entered[e.StateEntered.Name] = e.Timestamp
		case e.StateExited != nil:
			start, ok := entered[e.StateExited.Name]
			if w := e.Timestamp.Sub(start); ok && w > 0 {
				n += 3*int((w+every-1)/every) - 1
			}
		}
	}
	return n
}
