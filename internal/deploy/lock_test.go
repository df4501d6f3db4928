package deploy

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

func TestDecideLock(t *testing.T) {
	tests := map[string]struct {
		held *store.LockRecord
		want lockAction
	}{
		"free":                        {want: lockAcquire},
		"held by me":                  {held: &store.LockRecord{Deployment: "me", Stage: store.StageApplying}, want: lockOwn},
		"other preparing":             {held: &store.LockRecord{Deployment: "old", Stage: store.StagePreparing}, want: lockSupersede},
		"other awaiting approval":     {held: &store.LockRecord{Deployment: "old", Stage: store.StageAwaitingApproval, Token: "t"}, want: lockSupersede},
		"other applying":              {held: &store.LockRecord{Deployment: "old", Stage: store.StageApplying}, want: lockQueue},
		"other in an unknown stage":   {held: &store.LockRecord{Deployment: "old", Stage: "rolling-back"}, want: lockQueue},
		"me, even in a waiting stage": {held: &store.LockRecord{Deployment: "me", Stage: store.StageAwaitingApproval}, want: lockOwn},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := decideLock(tc.held, "me"); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestTakeLock checks what Prepare does to the lock it finds, and to the
// deployments it supersedes.
func TestTakeLock(t *testing.T) {
	tests := map[string]struct {
		held   *store.LockRecord
		queued *store.QueueEntry
		// status is how the holder's execution ended; "" while it runs.
		status  string
		history []store.HistoryEntry
		// want: the lock holder afterwards, queued or not, tokens failed
		// with Superseded.
		wantHolder     string
		wantQueued     bool
		wantSuperseded []string
	}{
		"free":               {wantHolder: "me"},
		"mine":               {held: &store.LockRecord{Deployment: "me", Stage: store.StagePreparing}, wantHolder: "me"},
		"preparing":          {held: &store.LockRecord{Deployment: "old", Stage: store.StagePreparing}, wantHolder: "me"},
		"awaiting approval":  {held: &store.LockRecord{Deployment: "old", Stage: store.StageAwaitingApproval, Token: "approval-token"}, wantHolder: "me", wantSuperseded: []string{"approval-token"}},
		"applying":           {held: &store.LockRecord{Deployment: "old", Stage: store.StageApplying}, wantHolder: "old", wantQueued: true},
		"free, older queued": {queued: &store.QueueEntry{Deployment: "older", Token: "queue-token"}, wantHolder: "me", wantSuperseded: []string{"queue-token"}},
		"applying, execution stopped": {
			held:   &store.LockRecord{Deployment: "old", Execution: "arn:stopped", Stage: store.StageApplying},
			status: "ABORTED", wantHolder: "me",
		},
		"applying, execution gone": {
			held:   &store.LockRecord{Deployment: "old", Execution: "arn:gone", Stage: store.StageApplying},
			status: "gone", wantHolder: "me",
		},
		"applying, execution still running": {
			held:       &store.LockRecord{Deployment: "old", Execution: "arn:running", Stage: store.StageApplying},
			wantHolder: "old", wantQueued: true,
		},
		"kept after a failed rollback": {
			held:   &store.LockRecord{Deployment: "old", Execution: "arn:failed", Stage: store.StageApplying},
			status: "FAILED", history: []store.HistoryEntry{{Deployment: "old", Service: "web", Environment: "staging", Outcome: workflow.OutcomeRollbackFailed}},
			wantHolder: "old", wantQueued: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			if tc.held != nil {
				w.locks["staging/web"] = lockObject{rec: *tc.held, etag: "e1"}
			}
			if tc.queued != nil {
				w.queue["staging/web"] = *tc.queued
			}
			if tc.status != "" {
				w.ended[tc.held.Execution] = tc.status
			}
			w.history = tc.history
			st := workflow.State{Request: workflow.Request{Service: "web", Environment: "staging"},
				Deployment: workflow.Deployment{ID: "me"}}
			st, err := w.engine().takeLock(context.Background(), st, "web@sha256:1")
			if err != nil {
				t.Fatal(err)
			}
			if got := w.locks["staging/web"].rec.Deployment; got != tc.wantHolder {
				t.Errorf("lock holder: got %q, want %q", got, tc.wantHolder)
			}
			if st.Lock.Queued != tc.wantQueued || st.Lock.Held == tc.wantQueued {
				t.Errorf("lock state: got %+v, want queued %t", st.Lock, tc.wantQueued)
			}
			if tc.wantQueued && (st.Wait.Kind != workflow.WaitLock || st.Wait.TimeoutSeconds != 300) {
				t.Errorf("wait: got %+v, want a lock wait of the reconcile interval", st.Wait)
			}
			var superseded []string
			for token, f := range w.tokens {
				if f != nil && f.Error == "Superseded" {
					superseded = append(superseded, token)
				}
			}
			if diff := cmp.Diff(tc.wantSuperseded, superseded); diff != "" {
				t.Errorf("superseded tokens (-want +got):\n%s", diff)
			}
		})
	}
}

// TestQueueAndHandOver: a deployment arriving while another applies waits
// for the lock; a newer one replaces it in the queue (superseding it); when
// the running one finishes it hands the lock to the newest, which deploys.
func TestQueueAndHandOver(t *testing.T) {
	sc := strategyCases()["rolling"]
	w := newWorld(t)
	sc.before(w)
	for _, tag := range []string{"v2", "v3", "v4"} {
		w.image("web", tag)
	}
	running := newExecution(w, "exec-running", request(sc, "v2"))
	running.runUntil(workflow.StateAwaitStable)
	w.advance(time.Minute)
	queued := newExecution(w, "exec-queued", request(sc, "v3"))
	queued.runUntil(workflow.StateAwaitLock)
	w.advance(time.Minute)
	newest := newExecution(w, "exec-newest", request(sc, "v4"))
	newest.runUntil(workflow.StateAwaitLock)

	queued.run()
	if queued.state != workflow.StateSuperseded {
		t.Errorf("queued deployment: got %s, want %s (path %v)", queued.state, workflow.StateSuperseded, queued.path)
	}
	running.run()
	newest.run()
	if running.state != workflow.StateDeployed || newest.state != workflow.StateDeployed {
		t.Fatalf("got running %s, newest %s, want both %s (paths %v, %v)", running.state, newest.state,
			workflow.StateDeployed, running.path, newest.path)
	}
	if got, want := w.view().Services["web"].Image, w.image("web", "v4"); got != want {
		t.Errorf("live image: got %s, want %s", got, want)
	}
	// The newest waited once and was handed the lock, not timed out.
	if got := countOf(newest.path, workflow.StatePrepare); got != 2 {
		t.Errorf("newest prepared %d times, want 2 (path %v)", got, newest.path)
	}
	h, err := w.historyOf(queued.st.Deployment.ID)
	if err != nil {
		t.Fatal(err)
	}
	if h.Outcome != workflow.OutcomeSuperseded {
		t.Errorf("queued history: got %s, want %s", h.Outcome, workflow.OutcomeSuperseded)
	}
	if len(w.locks) != 0 || len(w.queue) != 0 {
		t.Errorf("got locks %+v, queue %+v, want none", w.locks, w.queue)
	}
}

// TestAwaitLockTimesOut: a lost hand-over is covered by the lock wait's
// timeout, after which Prepare tries again.
func TestAwaitLockTimesOut(t *testing.T) {
	sc := strategyCases()["rolling"]
	w := newWorld(t)
	sc.before(w)
	w.image("web", "v2")
	w.locks["staging/web"] = lockObject{rec: store.LockRecord{Deployment: "gone", Stage: store.StageApplying}, etag: "e1"}
	x := newExecution(w, "exec-1", request(sc, "v2"))
	x.runUntil(workflow.StateAwaitLock)
	x.step() // times out
	if x.state != workflow.StatePrepare || x.st.TimedOut == nil || x.st.Error != nil {
		t.Fatalf("after the timeout: got state %s, timedOut %+v, error %+v; want %s with the timeout at $.timedOut only",
			x.state, x.st.TimedOut, x.st.Error, workflow.StatePrepare)
	}
	delete(w.locks, "staging/web")
	x.runUntil(workflow.StateApply)
	if x.st.TimedOut != nil || x.st.Error != nil {
		t.Errorf("after Prepare: got timedOut %+v, error %+v, want neither: Prepare has acted on the timeout", x.st.TimedOut, x.st.Error)
	}
	if got := countOf(x.path, workflow.StatePrepare); got != 2 {
		t.Errorf("prepared %d times, want 2 (path %v)", got, x.path)
	}
	x.run()
	if x.state != workflow.StateDeployed {
		t.Fatalf("got %s, want %s (path %v)", x.state, workflow.StateDeployed, x.path)
	}
}

// TestSetLockStageAfterSupersede: Apply of a deployment replaced on the lock
// fails with Superseded naming the newer one and changes nothing.
func TestSetLockStageAfterSupersede(t *testing.T) {
	w := newWorld(t)
	w.locks["staging/web"] = lockObject{rec: store.LockRecord{Deployment: "newer", Stage: store.StagePreparing}, etag: "e1"}
	st := workflow.State{Request: workflow.Request{Service: "web", Environment: "staging"}, Deployment: workflow.Deployment{ID: "me"}}
	err := w.engine().setLockStage(context.Background(), st, store.StageApplying, "")
	var s *workflow.Superseded
	if !errors.As(err, &s) || s.By != "newer" {
		t.Fatalf("got %v, want Superseded by newer", err)
	}
	if w.locks["staging/web"].rec.Deployment != "newer" {
		t.Errorf("lock changed: %+v", w.locks["staging/web"].rec)
	}
}

func countOf(path []string, state string) int {
	n := 0
	for _, s := range path {
		if s == state {
			n++
		}
	}
	return n
}
