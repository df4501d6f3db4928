package deploy

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/workflow"
)

func TestIdentify(t *testing.T) {
	const arn = "arn:aws:states:us-east-1:111122223333:execution:deploy:mine"
	const other = "arn:aws:states:us-east-1:111122223333:execution:deploy:in-flight"
	req := workflow.Request{Service: "web", Environment: "staging"}
	mine := workflow.Deployment{ID: deploymentID(arn), Execution: arn}
	tests := map[string]struct {
		inv     workflow.Invocation
		want    workflow.Deployment
		invalid bool
	}{
		"prepare derives the id": {
			inv:  workflow.Invocation{Phase: workflow.PhasePrepare, Execution: arn, State: workflow.State{Request: req}},
			want: mine,
		},
		"prepare rejects a spoofed id": {
			inv: workflow.Invocation{Phase: workflow.PhasePrepare, Execution: arn, State: workflow.State{Request: req,
				Deployment: workflow.Deployment{ID: deploymentID(other)}}},
			invalid: true,
		},
		"prepare rejects a spoofed execution": {
			inv: workflow.Invocation{Phase: workflow.PhasePrepare, Execution: arn, State: workflow.State{Request: req,
				Deployment: workflow.Deployment{Execution: other}}},
			invalid: true,
		},
		"prepare rejects a start time in the input": {
			inv: workflow.Invocation{Phase: workflow.PhasePrepare, Execution: arn, State: workflow.State{Request: req,
				Deployment: workflow.Deployment{StartedAt: time.Unix(1, 0)}}},
			invalid: true,
		},
		"prepare rejects its own id when it did not wait for the lock": {
			inv:     workflow.Invocation{Phase: workflow.PhasePrepare, Execution: arn, State: workflow.State{Request: req, Deployment: mine}},
			invalid: true,
		},
		"prepare rejects another's id after a lock wait": {
			inv: workflow.Invocation{Phase: workflow.PhasePrepare, Execution: arn, State: workflow.State{Request: req,
				Deployment: workflow.Deployment{ID: deploymentID(other), Execution: other}, Lock: workflow.Lock{Queued: true}}},
			invalid: true,
		},
		"prepare again after a lock wait keeps its own identity": {
			inv: workflow.Invocation{Phase: workflow.PhasePrepare, Execution: arn, State: workflow.State{Request: req,
				Deployment: workflow.Deployment{ID: mine.ID, Execution: arn, StartedAt: time.Unix(1, 0).UTC()},
				Lock:       workflow.Lock{Queued: true}}},
			want: workflow.Deployment{ID: mine.ID, Execution: arn, StartedAt: time.Unix(1, 0).UTC()},
		},
		"record overwrites a spoofed id": {
			inv: workflow.Invocation{Phase: workflow.PhaseRecord, Execution: arn, State: workflow.State{Request: req,
				Deployment: workflow.Deployment{ID: deploymentID(other), Execution: other}}},
			want: mine,
		},
		"no execution": {
			inv:     workflow.Invocation{Phase: workflow.PhaseRecord, State: workflow.State{Request: req}},
			invalid: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st, err := identify(tc.inv)
			var invalid *workflow.InvalidInput
			if got := errors.As(err, &invalid); got != tc.invalid {
				t.Fatalf("got error %v, want InvalidInput: %t", err, tc.invalid)
			}
			if tc.invalid {
				return
			}
			if diff := cmp.Diff(tc.want, st.Deployment); diff != "" {
				t.Errorf("deployment (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSpoofedDeploymentID starts a deployment whose input names the
// deployment in flight: it is rejected, the holder's lock, plan and history
// are untouched, and the rejection is recorded under its own id.
func TestSpoofedDeploymentID(t *testing.T) {
	sc := strategyCases()["rolling"]
	w := newWorld(t)
	sc.before(w)
	w.image("web", "v2")
	w.image("web", "v3")
	running := newExecution(w, "exec-running", request(sc, "v2"))
	running.runUntil(workflow.StateAwaitStable)
	lockBefore := w.locks[lockName(running.st.Environment, running.st.Service)]
	planBefore := string(w.plans[running.st.Plan.Key])

	spoof := newExecution(w, "exec-spoof", request(sc, "v3"))
	spoof.st.Deployment = workflow.Deployment{ID: running.st.Deployment.ID, Execution: running.arn}
	spoof.run()
	if spoof.state != workflow.StateRejected {
		t.Fatalf("spoofed deployment: got %s, want %s (path %v)", spoof.state, workflow.StateRejected, spoof.path)
	}
	if got := w.locks[lockName(running.st.Environment, running.st.Service)]; got != lockBefore {
		t.Errorf("lock: got %+v, want %+v untouched", got, lockBefore)
	}
	if got := string(w.plans[running.st.Plan.Key]); got != planBefore {
		t.Errorf("plan %s changed by the spoofed deployment", running.st.Plan.Key)
	}
	if _, err := w.historyOf(running.st.Deployment.ID); err == nil {
		t.Errorf("the spoofed deployment wrote history under the id of the one in flight")
	}
	h, err := w.historyOf(deploymentID(spoof.arn))
	if err != nil {
		t.Fatal(err)
	}
	if h.Outcome != workflow.OutcomeRejected {
		t.Errorf("spoofed deployment's history: got %s, want %s", h.Outcome, workflow.OutcomeRejected)
	}
	running.run()
	if running.state != workflow.StateDeployed {
		t.Errorf("deployment in flight: got %s, want %s (path %v)", running.state, workflow.StateDeployed, running.path)
	}
}
