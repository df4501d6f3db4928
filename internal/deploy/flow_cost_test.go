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
	// bake is the total time waited at scale 1 (bakes and termination
	// wait).
	bake time.Duration
	// bakes are the bakes of the traffic steps at the scale the case was
	// made for.
	bakes []time.Duration
	// maxTransitions is the target of issues 3 and 6 (15 for rolling, 30
	// for the canary), raised by the bake's wakes every reconcile interval
	// (issue 12 item 4: the 10-minute rolling bake wakes twice, +3; the
	// canary's 5, 10 and 15-minute bakes 1, 2 and 3 times, +9 less the
	// MoreSteps the bakes no longer pass through), and by PromotedYet, the
	// Choice that waits for a promoted slot's Cloud Map registration when
	// there is one (issue 11 item 11, +1); 0 means none is set.
	maxTransitions int
}

// costCases returns the strategies measured, with every bake time
// multiplied by bakeScale.
func costCases(bakeScale int) map[string]costCase {
	d := func(n int) time.Duration { return time.Duration(n*bakeScale) * time.Minute }
	m := func(n int) string { return d(n).String() }
	rolling := strategyCases()["rolling"]
	rolling.strategy = fmt.Sprintf(`{"kind": "rolling", "finalBake": %q, "alarms": ["web-5xx"], "stabilizationTimeout": "20m"}`, m(10))
	blueGreen := strategyCases()["blue/green, all at once"]
	blueGreen.strategy = fmt.Sprintf(`{"kind": "bluegreen", "terminationWait": %q, "alarms": ["web-5xx"]}`, m(5))
	return map[string]costCase{
		"rolling":       {sc: rolling, bake: 10 * time.Minute, bakes: []time.Duration{d(10)}, maxTransitions: 19},
		"canary-3-step": {sc: canaryThreeSteps(bakeScale), bake: 30 * time.Minute, bakes: []time.Duration{d(5), d(10), d(15)}, maxTransitions: 33},
		// All at once: one step, baked for the termination wait.
		"bluegreen": {sc: blueGreen, bake: 5 * time.Minute, bakes: []time.Duration{d(5)}},
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

// countState counts how often path enters state.
func countState(path []string, state string) int {
	n := 0
	for _, s := range path {
		if s == state {
			n++
		}
	}
	return n
}

func simulated(x *asl.Execution) time.Duration {
	d := x.Describe()
	return d.StopDate.Sub(d.StartDate)
}

// wakes is how often the bakes wake (time out into CheckBake): every
// reconcile interval until each is over, at least once.
func wakes(bakes []time.Duration, reconcile time.Duration) int {
	n := 0
	for _, b := range bakes {
		n += max(1, int((b+reconcile-1)/reconcile))
	}
	return n
}

// TestFlowCostShape holds the definition's cost shape: the happy path of
// each strategy costs a fixed number of state transitions, within the
// target, plus three (Bake, CheckBake, BakeDoneYet) for each reconcile
// interval a bake lasts beyond its first. That polling is the price of
// re-reading the alarms during a bake, in case an alarm event was lost
// (issue 12 item 4); before it a bake cost the same whatever its length.
// Each strategy runs with its bakes and with them multiplied by 100; the
// simulated duration grows by the added bake time (the longer bakes were
// really waited).
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
			reconcile := newWorld(t).engine().Settings.Reconcile
			extra := func(c costCase) int { return 3 * (wakes(c.bakes, reconcile) - len(c.bakes)) }
			got, gotLong := xs.Transitions(), xl.Transitions()
			if want := got - extra(short) + extra(long[name]); gotLong != want {
				t.Errorf("transitions: got %d with bakes x%d, want %d: %d as with the bakes as written, less %d and plus %d for the extra wakes (paths %v, %v)",
					gotLong, scale, want, got, extra(short), extra(long[name]), xl.Path(), xs.Path())
			}
			for _, c := range []struct {
				x    *asl.Execution
				want int
			}{{xs, wakes(short.bakes, reconcile)}, {xl, wakes(long[name].bakes, reconcile)}} {
				if got := countState(c.x.Path(), workflow.StateBake); got != c.want {
					t.Errorf("Bake entered %d times, want %d (every reconcile interval)", got, c.want)
				}
			}
			if short.maxTransitions > 0 && got > short.maxTransitions {
				t.Errorf("transitions: got %d, want at most %d (path %v)", got, short.maxTransitions, xs.Path())
			}
			t.Logf("%s: %d transitions, %v simulated (%v with bakes x%d)", name, got, simulated(xs), simulated(xl), scale)
		})
	}
}
