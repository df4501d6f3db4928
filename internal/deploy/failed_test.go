package deploy

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/asl"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestFlowFailureBeforeAnyChange (issue 11 item 15): under the synthesized
// state machine on the virtual clock, a deployment that fails before it
// changes anything, for a reason other than its input, ends Failed with
// error DeploymentNotApplied and a "failed" history entry, not RolledBack:
// nothing was rolled back. A failure after Apply changed the service still
// ends RolledBack, and so does a halt (slipway rollback) before Apply, which
// is what the person asked for.
func TestFlowFailureBeforeAnyChange(t *testing.T) {
	def := loadDefinition(t)
	unreachable := &workflow.Transient{Op: "describe service", Err: errors.New("dial tcp 10.0.0.1:443: i/o timeout")}
	tests := map[string]struct {
		sc      strategyCase
		env     string
		arrange func(w *world, image string)
		on      func(f *flowRun, inv workflow.Invocation)
		path    []string
		// execError is the error of the Fail state the execution ends in.
		execError string
		outcome   workflow.Outcome
		errorName string
		// changed says the deployment changed the service (and restored it).
		changed bool
		// unresolved: the history names no image, since the Catch of
		// Prepare keeps its input, where the image is not resolved yet.
		unresolved bool
		// minCalls is the least number of DescribeService calls: Prepare
		// was retried before it was given up.
		minCalls int
	}{
		"ECS unreachable in Prepare after its retries": {
			sc:         strategyCases()["rolling"],
			arrange:    func(w *world, _ string) { w.fail["DescribeService"] = unreachable },
			path:       slices.Concat([]string{workflow.StatePrepare}, recorded(workflow.StateFailed)),
			execError:  workflow.ErrDeploymentNotApplied,
			outcome:    workflow.OutcomeFailed,
			errorName:  "Transient",
			minCalls:   6, // the first attempt and 5 retries
			unresolved: true,
		},
		"approval wait fails with an unexpected error": {
			sc:  prodBlueGreen(),
			env: "prod",
			on: func(f *flowRun, inv workflow.Invocation) {
				if inv.Phase == workflow.PhaseApprove {
					f.fail(inv.TaskToken, "States.TaskFailed", "the approval wait failed")
				}
			},
			path:      slices.Concat(prepared(), []string{workflow.StateAwaitApproval}, recorded(workflow.StateFailed)),
			execError: workflow.ErrDeploymentNotApplied,
			outcome:   workflow.OutcomeFailed,
			errorName: "States.TaskFailed",
		},
		"halted while awaiting approval": {
			sc:  prodBlueGreen(),
			env: "prod",
			on: func(f *flowRun, inv workflow.Invocation) {
				if inv.Phase == workflow.PhaseApprove {
					f.fail(inv.TaskToken, workflow.ErrorName((*workflow.Halted)(nil)), "halted by alice: incident")
				}
			},
			path:      slices.Concat(prepared(), []string{workflow.StateAwaitApproval}, recorded(workflow.StateRolledBack)),
			execError: workflow.ErrDeploymentRolledBack,
			outcome:   workflow.OutcomeRolledBack,
			errorName: "Halted",
		},
		"tasks fail to start after Apply": {
			sc:      strategyCases()["rolling"],
			arrange: func(w *world, image string) { w.failing[image] = true },
			path: slices.Concat(prepared(), []string{workflow.StateApply, workflow.StateAwaitStable, workflow.StateCheckStable},
				rolledBack(), recorded(workflow.StateRolledBack)),
			execError: workflow.ErrDeploymentRolledBack,
			outcome:   workflow.OutcomeRolledBack,
			errorName: "DeploymentFailed",
			changed:   true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			tc.sc.before(w)
			before := w.view()
			image := w.image(tc.sc.service, "v2")
			if tc.arrange != nil {
				tc.arrange(w, image)
			}
			req := request(tc.sc, "v2")
			if tc.env != "" {
				req.Environment = tc.env
			}
			f := &flowRun{w: w, sc: tc.sc}
			f.r = newDefinitionRunner(t, def, w, func(inv workflow.Invocation) {
				if tc.on != nil {
					tc.on(f, inv)
				}
			})
			x := f.r.start("exec-1", req)
			f.r.wait(x)
			if diff := cmp.Diff(tc.path, x.Path()); diff != "" {
				t.Errorf("path (-want +got):\n%s", diff)
			}
			if d := x.Describe(); d.Status != asl.StatusFailed || d.Error != tc.execError {
				t.Errorf("execution: got %s with error %q, want %s with %q", d.Status, d.Error, asl.StatusFailed, tc.execError)
			}
			h, err := w.historyOf(deploymentID(x.ARN()))
			if err != nil {
				t.Fatal(err)
			}
			want := outcome{Outcome: tc.outcome, Error: tc.errorName, Image: image}
			if tc.unresolved {
				want.Image = ""
			}
			if diff := cmp.Diff(want,
				outcome{Outcome: h.Outcome, Error: h.Error, Image: h.Image}); diff != "" {
				t.Errorf("history (-want +got):\n%s", diff)
			}
			if n := len(w.events); n == 0 || w.events[n-1].Status != string(tc.outcome) {
				t.Errorf("got events %+v, want %s last", w.events, tc.outcome)
			}
			if !tc.changed && w.changes() != 0 {
				t.Errorf("got %d changes to live state, want none", w.changes())
			}
			if diff := cmp.Diff(before, w.view()); diff != "" {
				t.Errorf("live state (-before +after):\n%s", diff)
			}
			if n := w.calls["DescribeService"]; n < tc.minCalls {
				t.Errorf("DescribeService: got %d calls, want at least %d", n, tc.minCalls)
			}
			if len(w.locks) != 0 || len(w.approvals) != 0 || len(w.watches) != 0 {
				t.Errorf("got locks %+v, approvals %+v, watches %+v left, want none", w.locks, w.approvals, w.watches)
			}
		})
	}
}
