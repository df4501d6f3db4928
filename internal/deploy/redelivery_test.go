package deploy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestRedeliveredEventDeploysOnce: an ECR push event delivered again after
// an upload of the environment spec starts a second execution (its name
// includes the accepted spec versions), which must end Superseded having
// changed nothing: the event has deployed already. Found by the event storm
// of issue 14 (internal/localcloud/endpoint/storm_test.go), which before the
// fix deployed the same push twice.
func TestRedeliveredEventDeploysOnce(t *testing.T) {
	sc := strategyCases()["rolling"]
	w := newWorld(t)
	sc.before(w)
	w.image(sc.service, "v2")
	req := request(sc, "v2")
	req.Trigger = workflow.Trigger{Kind: workflow.TriggerECRPush, Source: "event-v2", Actor: "ecr"}
	req.RequestedAt = time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)

	first := newExecution(w, "exec-first", req)
	first.run()
	if first.state != workflow.StateDeployed {
		t.Fatalf("first delivery: got %s, want %s (path %v)", first.state, workflow.StateDeployed, first.path)
	}
	w.advance(time.Hour)
	again := newExecution(w, "exec-again", req)
	again.run()
	refused := []string{workflow.StatePrepare, workflow.StateRecordFailure, workflow.StateFailureKind, workflow.StateSuperseded}
	if diff := cmp.Diff(refused, again.path); diff != "" {
		t.Errorf("path of the second delivery (-want +got):\n%s", diff)
	}
	h, err := w.historyOf(again.st.Deployment.ID)
	if err != nil {
		t.Fatal(err)
	}
	if h.Outcome != workflow.OutcomeSuperseded {
		t.Errorf("second delivery's history: got %s, want %s", h.Outcome, workflow.OutcomeSuperseded)
	}

	// A manual start of the same image is a person asking again: it runs.
	manual := request(sc, "v2")
	manual.Trigger = workflow.Trigger{Kind: workflow.TriggerManual, Actor: "test"}
	byHand := newExecution(w, "exec-manual", manual)
	byHand.run()
	if byHand.state != workflow.StateDeployed {
		t.Errorf("manual start of the same image: got %s, want %s (path %v)", byHand.state, workflow.StateDeployed, byHand.path)
	}
}
