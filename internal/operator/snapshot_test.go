package operator

import (
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/workflow"
)

func TestTimedWait(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	canary := workflow.State{
		Plan:     workflow.Plan{Steps: []workflow.Step{{Weight: 10, BakeSeconds: 300}, {Weight: 100, BakeSeconds: 600}}},
		Progress: workflow.Progress{Step: 1, Weight: 10},
		Approval: workflow.Approval{Required: true, TimeoutSeconds: 3600},
	}
	tests := map[string]struct {
		events []entered
		doc    workflow.State
		now    time.Time
		want   *Wait
	}{
		"approval runs from its entry for the timeout": {
			events: []entered{{name: workflow.StatePrepare, at: at(0)}, {name: workflow.StateAwaitApproval, at: at(10)}},
			doc:    canary, now: at(610),
			want: &Wait{Kind: "approval", Started: at(10), Ends: at(3610), LeftSeconds: 3000},
		},
		// A bake longer than the reconcile interval loops through
		// CheckBake and BakeDoneYet: it started at the first Bake.
		"bake runs from the first Bake of the step": {
			events: []entered{{name: workflow.StateShiftTraffic, at: at(0)}, {name: workflow.StateBake, at: at(5)},
				{name: workflow.StateCheckBake, at: at(65)}, {name: workflow.StateBakeDoneYet, at: at(65)}, {name: workflow.StateBake, at: at(66)}},
			doc: canary, now: at(100),
			want: &Wait{Kind: "bake", Started: at(5), Ends: at(305), LeftSeconds: 205},
		},
		"time left never goes below zero": {
			events: []entered{{name: workflow.StateBake, at: at(5)}},
			doc:    canary, now: at(1000),
			want: &Wait{Kind: "bake", Started: at(5), Ends: at(305), LeftSeconds: 0},
		},
		"no wait while applying": {
			events: []entered{{name: workflow.StateApply, at: at(5)}},
			doc:    canary, now: at(10),
		},
		"no wait before any state": {doc: canary, now: at(10)},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := timedWait(tt.events, tt.doc, tt.now)
			switch {
			case got == nil && tt.want == nil:
			case got == nil || tt.want == nil || *got != *tt.want:
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPhaseOf(t *testing.T) {
	s := Snapshot{State: workflow.StateBake, Step: 1, Steps: 3, Weight: 10}
	doc := workflow.State{Wait: workflow.Wait{Alarms: []string{"a", "b"}}}
	if got, want := phaseOf(s, doc), "baking at 10% (step 1 of 3), watching 2 alarms"; got != want {
		t.Errorf("Bake: got %q, want %q", got, want)
	}
	for _, st := range []string{workflow.StatePrepare, workflow.StateAwaitApproval, workflow.StateRollback, workflow.StateRolledBack, workflow.StateDeployed} {
		if got := phaseOf(Snapshot{State: st}, doc); got == "" || got == st {
			t.Errorf("%s: got %q, want words", st, got)
		}
	}
}
