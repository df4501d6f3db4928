package deploy

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestRedeliveredEventDeploysOnce: a second execution for an ECR push event
// that has deployed already must end Superseded having changed nothing.
// The trigger no longer starts one (an event's execution name leaves the
// spec versions out, so a delivery after a spec upload finds the first
// execution), but an execution started with the same event by other means
// must not deploy it twice. Found by the event storm of issue 14
// (internal/localcloud/endpoint/storm_test.go), which before the fix
// deployed the same push twice.
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

// TestManyLateRequestsStayBehind: more late, older requests than Prepare
// reads history entries (historyNewer) are each superseded, and so is one
// requested between them and the deployed newest: each superseded entry
// records the newest request it knew of, so the newest stays within reach.
// Found by the 10,000-event storm of issue 14 (make soak): before, the
// eleventh late push deployed over the newest.
func TestManyLateRequestsStayBehind(t *testing.T) {
	sc := strategyCases()["rolling"]
	w := newWorld(t)
	sc.before(w)
	base := time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)
	req := func(tag string, at time.Time) workflow.Request {
		w.image(sc.service, tag)
		r := request(sc, tag)
		r.Trigger = workflow.Trigger{Kind: workflow.TriggerECRPush, Source: "event-" + tag, Actor: "ecr"}
		r.RequestedAt = at
		return r
	}
	newest := newExecution(w, "exec-newest", req("v100", base.Add(100*time.Second)))
	newest.run()
	if newest.state != workflow.StateDeployed {
		t.Fatalf("newest: got %s, want %s (path %v)", newest.state, workflow.StateDeployed, newest.path)
	}
	late := []struct {
		tag string
		at  time.Duration
	}{}
	for i := 1; i <= 2*historyNewer; i++ {
		late = append(late, struct {
			tag string
			at  time.Duration
		}{fmt.Sprintf("v%d", i), time.Duration(i) * time.Second})
	}
	late = append(late, struct {
		tag string
		at  time.Duration
	}{"v50", 50 * time.Second})
	for _, l := range late {
		w.advance(time.Minute)
		x := newExecution(w, "exec-"+l.tag, req(l.tag, base.Add(l.at)))
		x.run()
		if x.state != workflow.StateSuperseded {
			t.Errorf("late push %s (requested %v after the first): got %s, want %s", l.tag, l.at, x.state, workflow.StateSuperseded)
		}
	}
	// The same event as the newest, delivered again after them all.
	w.advance(time.Minute)
	again := newExecution(w, "exec-newest-again", req("v100", base.Add(100*time.Second)))
	again.run()
	if again.state != workflow.StateSuperseded {
		t.Errorf("the newest push delivered again: got %s, want %s", again.state, workflow.StateSuperseded)
	}
	if got, want := w.view().Services[sc.service].Image, w.image(sc.service, "v100"); got != want {
		t.Errorf("live image: got %s, want %s (the newest push)", got, want)
	}
}

// TestLateRequestAfterALongDeployment: history is ordered by when
// deployments started, so the entry of a long deployment lands below the
// entries of the late, older requests superseded while it ran. One more
// late request after it has deployed must still find it (the newest
// applied request is recorded apart). Found by the 10,000-event storm of
// issue 14.
func TestLateRequestAfterALongDeployment(t *testing.T) {
	sc := strategyCases()["rolling"]
	w := newWorld(t)
	sc.before(w)
	base := time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)
	req := func(tag string, at time.Duration) workflow.Request {
		w.image(sc.service, tag)
		r := request(sc, tag)
		r.Trigger = workflow.Trigger{Kind: workflow.TriggerECRPush, Source: "event-" + tag, Actor: "ecr"}
		r.RequestedAt = base.Add(at)
		return r
	}
	newest := newExecution(w, "exec-newest", req("v100", 100*time.Second))
	newest.runUntil(workflow.StateAwaitStable)
	for i := 1; i <= 2*historyNewer; i++ {
		w.advance(time.Minute)
		x := newExecution(w, fmt.Sprintf("exec-old-%d", i), req(fmt.Sprintf("v%d", i), time.Duration(i)*time.Second))
		x.run()
		if x.state != workflow.StateSuperseded {
			t.Errorf("late push v%d while the newest applies: got %s, want %s", i, x.state, workflow.StateSuperseded)
		}
	}
	newest.run()
	if newest.state != workflow.StateDeployed {
		t.Fatalf("newest: got %s, want %s (path %v)", newest.state, workflow.StateDeployed, newest.path)
	}
	w.advance(time.Minute)
	late := newExecution(w, "exec-late", req("v50", 50*time.Second))
	late.run()
	if late.state != workflow.StateSuperseded {
		t.Errorf("late push after the newest deployed: got %s, want %s (path %v)", late.state, workflow.StateSuperseded, late.path)
	}
	if got, want := w.view().Services[sc.service].Image, w.image(sc.service, "v100"); got != want {
		t.Errorf("live image: got %s, want %s (the newest push)", got, want)
	}
}
