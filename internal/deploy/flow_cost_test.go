package deploy

import (
	"fmt"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/asl"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// costCase is the happy path of one strategy whose cost (state
// transitions, which Step Functions Standard bills) is measured.
type costCase struct {
	sc strategyCase
	// bake is the total bake time at scale 1.
	bake time.Duration
	// maxTransitions is the target of issues 3 and 6; 0 means none is set.
	maxTransitions int
}

// costCases returns the strategies measured, with every bake time
// multiplied by bakeScale.
func costCases(bakeScale int) map[string]costCase {
	m := func(n int) string { return (time.Duration(n*bakeScale) * time.Minute).String() }
	rolling := strategyCases()["rolling"]
	rolling.strategy = fmt.Sprintf(`{"kind": "rolling", "finalBake": %q, "alarms": ["web-5xx"], "stabilizationTimeout": "20m"}`, m(10))
	blueGreen := strategyCases()["blue/green, all at once"]
	blueGreen.strategy = fmt.Sprintf(`{"kind": "bluegreen", "terminationWait": %q, "alarms": ["web-5xx"]}`, m(5))
	return map[string]costCase{
		"rolling":       {sc: rolling, bake: 10 * time.Minute, maxTransitions: 15},
		"canary-3-step": {sc: canaryThreeSteps(bakeScale), bake: 30 * time.Minute, maxTransitions: 30},
		"bluegreen":     {sc: blueGreen, bake: 5 * time.Minute},
	}
}

// newHappyFlow sets up a world running v1 of sc's service and a runner of
// def over it; starting req deploys v2 with sc's strategy.
func newHappyFlow(tb testing.TB, def *asl.Definition, sc strategyCase) (*definitionRunner, workflow.Request) {
	tb.Helper()
	w := newWorld(tb)
	sc.before(w)
	w.image(sc.service, "v2")
	return newDefinitionRunner(tb, def, w, func(workflow.Invocation) {}), request(sc, "v2")
}

// runDeployed starts req on r and fails unless it ends Deployed.
func runDeployed(tb testing.TB, r *definitionRunner, req workflow.Request) *asl.Execution {
	tb.Helper()
	x := r.start("exec-1", req)
	if got := r.wait(x); got != workflow.StateDeployed {
		tb.Fatalf("got terminal state %s, want %s (path %v)", got, workflow.StateDeployed, x.Path())
	}
	return x
}

// runHappyFlow deploys v2 with sc's strategy through def and fails unless
// it ends Deployed.
func runHappyFlow(tb testing.TB, def *asl.Definition, sc strategyCase) *asl.Execution {
	tb.Helper()
	r, req := newHappyFlow(tb, def, sc)
	return runDeployed(tb, r, req)
}

func simulated(x *asl.Execution) time.Duration {
	d := x.Describe()
	return d.StopDate.Sub(d.StartDate)
}

// TestFlowCostShape holds the definition's cost shape: the happy path of
// each strategy costs a fixed number of state transitions, within the
// target, whatever the bake times. Each strategy runs with its bakes and
// with them multiplied by 100; the simulated duration grows by the added
// bake time (the longer bakes were really waited) while the transitions
// stay the same (no polling loop).
func TestFlowCostShape(t *testing.T) {
	def := loadDefinition(t)
	const scale = 100
	long := costCases(scale)
	for name, short := range costCases(1) {
		t.Run(name, func(t *testing.T) {
			xs := runHappyFlow(t, def, short.sc)
			xl := runHappyFlow(t, def, long[name].sc)
			if got, want := simulated(xl)-simulated(xs), (scale-1)*short.bake; got != want {
				t.Errorf("simulated time with bakes x%d: got %v more, want %v more", scale, got, want)
			}
			got, gotLong := xs.Transitions(), xl.Transitions()
			if gotLong != got {
				t.Errorf("transitions: got %d with bakes x%d, want %d as with the bakes as written (paths %v, %v)",
					gotLong, scale, got, xl.Path(), xs.Path())
			}
			if short.maxTransitions > 0 && got > short.maxTransitions {
				t.Errorf("transitions: got %d, want at most %d (path %v)", got, short.maxTransitions, xs.Path())
			}
			t.Logf("%s: %d transitions, %v simulated (%v with bakes x%d)", name, got, simulated(xs), simulated(xl), scale)
		})
	}
}
