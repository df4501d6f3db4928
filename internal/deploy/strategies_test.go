package deploy

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// bakes runs x to the end and records, at the start of every step's bake,
// the step's weight and the live state. A bake longer than the reconcile
// interval waits again after each re-check; only its first wait counts,
// and for a canary by count only once the old slot is scaled in (a wait
// for the new tasks comes first).
func bakes(x *execution) (weights []int, views []view) {
	step := 0
	x.onWait = func(x *execution) {
		if x.state == workflow.StateBake && x.st.Wait.ScaleIn == nil && x.st.Progress.Step != step {
			step = x.st.Progress.Step
			weights = append(weights, x.st.Progress.Weight)
			views = append(views, x.w.view())
		}
	}
	x.run()
	return weights, views
}

// TestCanarySteps: traffic moves in the strategy's steps, by rule weights
// with a load balancer and by task counts without one.
func TestCanarySteps(t *testing.T) {
	tests := map[string]struct {
		wantWeights []int
		// at returns what the live state says at each bake.
		at func(v view) []int32
		// want is that, per bake.
		want [][]int32
	}{
		"canary by weights": {
			wantWeights: []int{25, 100},
			at: func(v view) []int32 {
				r := v.Rules[ruleWeb]
				return []int32{r[0].Weight, r[1].Weight, v.Services["web--green"].Desired, v.Services["web--blue"].Desired}
			},
			// blue weight, green weight, green tasks, blue tasks: the new slot runs at
			// full size from the start, the old one until cleanup.
			want: [][]int32{{75, 25, 4, 4}, {0, 100, 4, 4}},
		},
		"canary by task count": {
			wantWeights: []int{25, 50, 100},
			at: func(v view) []int32 {
				return []int32{v.Services["worker--green"].Desired, v.Services["worker--blue"].Desired}
			},
			// new tasks, old tasks: ceil(4 × weight / 100) and the rest.
			want: [][]int32{{1, 3}, {2, 2}, {4, 0}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sc := strategyCases()[name]
			w := newWorld(t)
			sc.before(w)
			w.image(sc.service, "v2")
			x := newExecution(w, "exec-1", request(sc, "v2"))
			gotWeights, views := bakes(x)
			if x.state != workflow.StateDeployed {
				t.Fatalf("got %s, want %s", x.state, workflow.StateDeployed)
			}
			if diff := cmp.Diff(tc.wantWeights, gotWeights); diff != "" {
				t.Errorf("step weights (-want +got):\n%s", diff)
			}
			var got [][]int32
			for _, v := range views {
				got = append(got, tc.at(v))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("live state at each bake (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBlueGreenTestListener: the new slot comes up at full size and is
// verified through the test listener rule, with no production traffic,
// before the linear steps; the last step bakes for the termination wait
// with the old slot still running, so a rollback is a weight flip.
func TestBlueGreenTestListener(t *testing.T) {
	sc := strategyCases()["blue/green, linear, test listener"]
	w := newWorld(t)
	sc.before(w)
	w.image("web", "v2")
	x := newExecution(w, "exec-1", request(sc, "v2"))
	x.runUntil(workflow.StateApply)
	x.step()
	wantSteps := []workflow.Step{{Weight: 0, BakeSeconds: 120}, {Weight: 50, BakeSeconds: 300}, {Weight: 100, BakeSeconds: 900}}
	if diff := cmp.Diff(wantSteps, x.st.Plan.Steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	gotWeights, views := bakes(x)
	if x.state != workflow.StateDeployed {
		t.Fatalf("got %s, want %s (path %v)", x.state, workflow.StateDeployed, x.path)
	}
	if diff := cmp.Diff([]int{0, 50, 100}, gotWeights); diff != "" {
		t.Errorf("step weights (-want +got):\n%s", diff)
	}
	verify, last := views[0], views[len(views)-1]
	if diff := cmp.Diff(map[string][]elbv2.TargetWeight{ruleWeb: weights(0, 100), testRuleWeb: weights(100, 0)}, verify.Rules); diff != "" {
		t.Errorf("rules while verifying (-want +got):\n%s", diff)
	}
	if got := verify.Services["web--blue"].Desired; got != 4 {
		t.Errorf("new slot while verifying: got %d tasks, want 4 (full size)", got)
	}
	if got := last.Services["web--green"].Desired; got != 4 {
		t.Errorf("old slot during the termination wait: got %d tasks, want 4", got)
	}
}

// TestUnhealthyTargets: a target of the new slot unhealthy at the end of a
// bake fails it (DeploymentFailed) and rolls back, even with every alarm OK.
func TestUnhealthyTargets(t *testing.T) {
	sc := strategyCases()["blue/green, linear, test listener"]
	w := newWorld(t)
	sc.before(w)
	before := w.view()
	w.image("web", "v2")
	x := newExecution(w, "exec-1", request(sc, "v2"))
	x.onWait = func(x *execution) {
		if x.state == workflow.StateBake {
			w.health[tgBlue] = []elbv2.Target{{ID: "10.0.0.7", Port: 8080, State: "unhealthy", Reason: "Target.ResponseCodeMismatch"}}
		}
	}
	x.run()
	if x.state != workflow.StateRolledBack || x.st.Error.Error != "DeploymentFailed" {
		t.Fatalf("got %s with %+v, want %s with DeploymentFailed", x.state, x.st.Error, workflow.StateRolledBack)
	}
	if got := countOf(x.path, workflow.StateShiftTraffic); got != 1 {
		t.Errorf("shifted %d times, want 1: the verification step fails before production traffic moves", got)
	}
	if diff := cmp.Diff(before, w.view()); diff != "" {
		t.Errorf("live state after rollback (-want +got):\n%s", diff)
	}
}

// TestLastEnvironmentPromotesNothing: a service deployed to the last
// environment of its pipeline starts no further deployment.
func TestLastEnvironmentPromotesNothing(t *testing.T) {
	sc := strategyCases()["canary by task count"]
	w := newWorld(t)
	sc.before(w)
	w.image("worker", "v2")
	x := newExecution(w, "exec-1", request(sc, "v2"))
	x.run()
	if x.state != workflow.StateDeployed || len(w.executions) != 0 {
		t.Errorf("got %s and executions %+v, want %s and none", x.state, w.executions, workflow.StateDeployed)
	}
}
