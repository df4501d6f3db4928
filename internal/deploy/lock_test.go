package deploy

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

func TestDecideLock(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(time.Second), t0.Add(time.Minute)
	tests := map[string]struct {
		held *store.LockRecord
		// at is when "me" was requested; zero is unknown.
		at   time.Time
		want lockAction
	}{
		"free":                        {want: lockAcquire},
		"held by me":                  {held: &store.LockRecord{Deployment: "me", Stage: store.StageApplying}, want: lockOwn},
		"other preparing":             {held: &store.LockRecord{Deployment: "old", Stage: store.StagePreparing}, want: lockSupersede},
		"other awaiting approval":     {held: &store.LockRecord{Deployment: "old", Stage: store.StageAwaitingApproval, Token: "t"}, want: lockSupersede},
		"other applying":              {held: &store.LockRecord{Deployment: "old", Stage: store.StageApplying}, want: lockQueue},
		"other in an unknown stage":   {held: &store.LockRecord{Deployment: "old", Stage: "rolling-back"}, want: lockQueue},
		"me, even in a waiting stage": {held: &store.LockRecord{Deployment: "me", Stage: store.StageAwaitingApproval}, want: lockOwn},
		// Newer wins: an older request yields to the holder, whatever its
		// stage; a newer one acts as before.
		"newer preparing":          {held: &store.LockRecord{Deployment: "newer", Stage: store.StagePreparing, RequestedAt: t2}, at: t1, want: lockYield},
		"newer awaiting approval":  {held: &store.LockRecord{Deployment: "newer", Stage: store.StageAwaitingApproval, RequestedAt: t2}, at: t1, want: lockYield},
		"newer applying":           {held: &store.LockRecord{Deployment: "newer", Stage: store.StageApplying, RequestedAt: t2}, at: t1, want: lockYield},
		"older preparing":          {held: &store.LockRecord{Deployment: "old", Stage: store.StagePreparing, RequestedAt: t1}, at: t2, want: lockSupersede},
		"older applying":           {held: &store.LockRecord{Deployment: "old", Stage: store.StageApplying, RequestedAt: t1}, at: t2, want: lockQueue},
		"same time, preparing":     {held: &store.LockRecord{Deployment: "other", Stage: store.StagePreparing, RequestedAt: t1}, at: t1, want: lockSupersede},
		"holder of unknown time":   {held: &store.LockRecord{Deployment: "other", Stage: store.StagePreparing}, at: t1, want: lockSupersede},
		"me of unknown time":       {held: &store.LockRecord{Deployment: "other", Stage: store.StageApplying, RequestedAt: t2}, want: lockQueue},
		"me, older than my record": {held: &store.LockRecord{Deployment: "me", Stage: store.StagePreparing, RequestedAt: t2}, at: t1, want: lockOwn},
		// Ordered by part: a holder with a newer image and an older spec
		// than me is not newer. Prepare has taken the newer image of one
		// that has not started applying (adopt), so the two orders are
		// equal then; one that applies is queued behind.
		"newer image, older spec, applying": {held: &store.LockRecord{Deployment: "push", Stage: store.StageApplying,
			Pins: workflow.Pins{Order: workflow.Order{Image: t2, ServiceSpec: t0, EnvironmentSpec: t0}}}, at: t1, want: lockQueue},
		"newer image and spec, applying": {held: &store.LockRecord{Deployment: "push", Stage: store.StageApplying,
			Pins: workflow.Pins{Order: workflow.Order{Image: t2, ServiceSpec: t1, EnvironmentSpec: t1}}}, at: t1, want: lockYield},
		"same order, preparing": {held: &store.LockRecord{Deployment: "push", Stage: store.StagePreparing,
			Pins: workflow.Pins{Order: workflow.Order{Image: t1, ServiceSpec: t1, EnvironmentSpec: t1}}}, at: t1, want: lockSupersede},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := decideLock(tc.held, "me", workflow.OrderOf(workflow.Order{}, tc.at)); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestTakeLock checks what Prepare does to the lock it finds, and to the
// deployments it supersedes.
func TestTakeLock(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	deployed := func(id string, at time.Time, outcome workflow.Outcome) []store.HistoryEntry {
		return []store.HistoryEntry{{Deployment: id, Service: "web", Environment: "staging", Outcome: outcome, RequestedAt: at}}
	}
	superseded := func(n int) []store.HistoryEntry {
		var h []store.HistoryEntry
		for i := range n {
			h = append(h, store.HistoryEntry{Deployment: fmt.Sprintf("later-%d", i), Service: "web", Environment: "staging",
				Outcome: workflow.OutcomeSuperseded})
		}
		return h
	}
	tests := map[string]struct {
		held   *store.LockRecord
		queued *store.QueueEntry
		// status is how the holder's execution ended; "" while it runs.
		status  string
		history []store.HistoryEntry
		// at is when "me" was requested; zero is unknown.
		at time.Time
		// want: the lock holder afterwards ("" free), queued or not,
		// tokens failed with Superseded, tokens completed (handed the
		// lock), and the deployment that superseded me, if any.
		wantHolder     string
		wantQueued     bool
		wantSuperseded []string
		wantHandedOver []string
		wantBy         string
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
		// Issue 11 item 7: the kept lock says so itself, so no number of
		// later history entries lifts the protection.
		"kept after a failed rollback, however many entries follow": {
			held:   &store.LockRecord{Deployment: "old", Execution: "arn:failed", Stage: store.StageRollbackFailed},
			status: "FAILED", history: superseded(25), at: t1,
			wantHolder: "old", wantQueued: true,
		},
		// Newer wins (issue 11 item 5).
		"newer preparing": {
			held: &store.LockRecord{Deployment: "newer", Stage: store.StagePreparing, RequestedAt: t2}, at: t1,
			wantHolder: "newer", wantBy: "newer",
		},
		"newer awaiting approval": {
			held: &store.LockRecord{Deployment: "newer", Stage: store.StageAwaitingApproval, Token: "approval-token", RequestedAt: t2}, at: t1,
			wantHolder: "newer", wantBy: "newer",
		},
		"newer applying: not followed": {
			held: &store.LockRecord{Deployment: "newer", Execution: "arn:running", Stage: store.StageApplying, RequestedAt: t2}, at: t1,
			wantHolder: "newer", wantBy: "newer",
		},
		"older awaiting approval": {
			held: &store.LockRecord{Deployment: "old", Stage: store.StageAwaitingApproval, Token: "approval-token", RequestedAt: t0}, at: t1,
			wantHolder: "me", wantSuperseded: []string{"approval-token"},
		},
		"older applying": {
			held: &store.LockRecord{Deployment: "old", Execution: "arn:running", Stage: store.StageApplying, RequestedAt: t0}, at: t1,
			wantHolder: "old", wantQueued: true,
		},
		"free, a newer one deployed since":    {history: deployed("newer", t2, workflow.OutcomeDeployed), at: t1, wantBy: "newer"},
		"free, a newer one rolled back since": {history: deployed("newer", t2, workflow.OutcomeRolledBack), at: t1, wantBy: "newer"},
		"free, a newer one was rejected":      {history: deployed("newer", t2, workflow.OutcomeRejected), at: t1, wantHolder: "me"},
		"free, an older one deployed":         {history: deployed("old", t0, workflow.OutcomeDeployed), at: t1, wantHolder: "me"},
		"free, history of unknown time":       {history: deployed("old", time.Time{}, workflow.OutcomeDeployed), at: t1, wantHolder: "me"},
		"older preparing, a newer one deployed since": {
			held:    &store.LockRecord{Deployment: "old", Stage: store.StagePreparing, RequestedAt: t0},
			history: deployed("newer", t2, workflow.OutcomeDeployed), at: t1,
			wantHolder: "old", wantBy: "newer",
		},
		"holder stopped, a newer one deployed since": {
			held:   &store.LockRecord{Deployment: "old", Execution: "arn:stopped", Stage: store.StageApplying, RequestedAt: t0},
			status: "ABORTED", history: deployed("newer", t2, workflow.OutcomeDeployed), at: t1,
			wantHolder: "old", wantBy: "newer",
		},
		"free, older queued, both timed": {
			queued: &store.QueueEntry{Deployment: "older", Token: "queue-token", RequestedAt: t0}, at: t1,
			wantHolder: "me", wantSuperseded: []string{"queue-token"},
		},
		"free, newer queued: handed over": {
			queued: &store.QueueEntry{Deployment: "newer", Token: "queue-token", RequestedAt: t2}, at: t1,
			wantHandedOver: []string{"queue-token"}, wantBy: "newer",
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
			st := workflow.State{Request: workflow.Request{Service: "web", Environment: "staging", RequestedAt: tc.at},
				Deployment: workflow.Deployment{ID: "me"}, Pins: workflow.Pins{Order: workflow.OrderOf(workflow.Order{}, tc.at)}}
			st, err := w.engine().takeLock(context.Background(), st, "web@sha256:1")
			if got := w.locks["staging/web"].rec.Deployment; got != tc.wantHolder {
				t.Errorf("lock holder: got %q, want %q", got, tc.wantHolder)
			}
			var handedOver []string
			for token, f := range w.tokens {
				if f == nil {
					handedOver = append(handedOver, token)
				}
			}
			if diff := cmp.Diff(tc.wantHandedOver, handedOver); diff != "" {
				t.Errorf("tokens completed (-want +got):\n%s", diff)
			}
			if tc.wantBy != "" {
				var s *workflow.Superseded
				if !errors.As(err, &s) || s.By != tc.wantBy {
					t.Fatalf("got error %v, want Superseded by %s", err, tc.wantBy)
				}
				if len(w.queue) != 0 && tc.wantHandedOver != nil {
					t.Errorf("queue: got %+v, want the newer one dequeued", w.queue)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := w.locks["staging/web"].rec.RequestedAt; tc.wantHolder == "me" && !got.Equal(tc.at) {
				t.Errorf("lock requested at: got %v, want %v", got, tc.at)
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

// TestNewerRequestWins: of two requests for the same service and
// environment, the one asked for later (Request.RequestedAt: the push
// event's time) is what ends up running, whatever order the executions
// start in; the older one ends Superseded having changed nothing (issue 11
// item 5).
func TestNewerRequestWins(t *testing.T) {
	sc := strategyCases()["rolling"]
	pushed := time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)
	// The path of the older request: refused by Prepare, or by its lock
	// wait when a newer one waits already.
	refused := []string{workflow.StatePrepare, workflow.StateRecordFailure, workflow.StateFailureKind, workflow.StateSuperseded}
	refusedWaiting := []string{workflow.StatePrepare, workflow.StateAfterPrepare, workflow.StateAwaitLock,
		workflow.StateRecordFailure, workflow.StateFailureKind, workflow.StateSuperseded}
	// handedLate: the older one was queued and handed the lock, but a newer
	// one took the free lock before it prepared again.
	handedLate := []string{workflow.StatePrepare, workflow.StateAfterPrepare, workflow.StateAwaitLock,
		workflow.StatePrepare, workflow.StateRecordFailure, workflow.StateFailureKind, workflow.StateSuperseded}
	tests := map[string]struct {
		// run drives the executions of v2 (older, pushed first) and v3
		// (newer); running is a deployment of v1b already applying, or nil.
		run       func(w *world, running, older, newer *execution)
		wantOlder []string
	}{
		"older arrives while the newer applies": {
			run: func(w *world, _, older, newer *execution) {
				newer.runUntil(workflow.StateAwaitStable)
				older.run()
				newer.run()
			},
			wantOlder: refused,
		},
		"older arrives after the newer deployed": {
			run: func(w *world, _, older, newer *execution) {
				newer.run()
				w.advance(time.Hour)
				older.run()
			},
			wantOlder: refused,
		},
		"older queues behind a newer one already waiting": {
			run: func(w *world, running, older, newer *execution) {
				running.runUntil(workflow.StateAwaitStable)
				newer.runUntil(workflow.StateAwaitLock)
				older.run()
				running.run()
				newer.run()
			},
			wantOlder: refusedWaiting,
		},
		"older handed the lock late, after the newer took it": {
			run: func(w *world, running, older, newer *execution) {
				running.runUntil(workflow.StateAwaitStable)
				older.runUntil(workflow.StateAwaitLock)
				running.run() // hands the lock to older, which has not prepared again yet
				newer.runUntil(workflow.StateAwaitStable)
				older.run()
				newer.run()
			},
			wantOlder: handedLate,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			sc.before(w)
			at := func(tag string, pushedAt time.Time) workflow.Request {
				w.image(sc.service, tag)
				r := request(sc, tag)
				r.Trigger = workflow.Trigger{Kind: workflow.TriggerECRPush, Source: "event-" + tag, Actor: "ecr"}
				r.RequestedAt = pushedAt
				return r
			}
			running := newExecution(w, "exec-running", at("v1b", pushed.Add(-time.Hour)))
			older := newExecution(w, "exec-older", at("v2", pushed))
			newer := newExecution(w, "exec-newer", at("v3", pushed.Add(time.Second)))
			tc.run(w, running, older, newer)

			if diff := cmp.Diff(tc.wantOlder, older.path); diff != "" {
				t.Errorf("path of the older request (-want +got):\n%s", diff)
			}
			if newer.state != workflow.StateDeployed {
				t.Errorf("newer request: got %s, want %s (path %v)", newer.state, workflow.StateDeployed, newer.path)
			}
			if got, want := w.view().Services[sc.service].Image, w.image(sc.service, "v3"); got != want {
				t.Errorf("live image: got %s, want %s (the newer push)", got, want)
			}
			h, err := w.historyOf(older.st.Deployment.ID)
			if err != nil {
				t.Fatal(err)
			}
			if h.Outcome != workflow.OutcomeSuperseded || !h.RequestedAt.Equal(pushed) {
				t.Errorf("older history: got %s requested at %v, want %s requested at %v", h.Outcome, h.RequestedAt,
					workflow.OutcomeSuperseded, pushed)
			}
			if len(w.locks) != 0 || len(w.queue) != 0 {
				t.Errorf("got locks %+v, queue %+v, want none", w.locks, w.queue)
			}
		})
	}
}

// TestRollbackFailedKeepsLock: a deployment whose rollback failed keeps the
// lock marked as such (issue 11 item 7), and a deployment arriving after
// any number of others were recorded still waits for a person to release
// it.
func TestRollbackFailedKeepsLock(t *testing.T) {
	sc := strategyCases()["rolling"]
	w := newWorld(t)
	sc.before(w)
	image := w.image(sc.service, "v2")
	w.failing[image] = true
	failed := newExecution(w, "exec-failed", request(sc, "v2"))
	failed.runUntil(workflow.StateRollback)
	for _, op := range []string{"SetRuleWeights", "SetTaskDefinition", "SetDesiredCount", "RestoreService"} {
		w.fail[op] = errors.New("AccessDenied: not authorized")
	}
	failed.run()
	if failed.state != workflow.StateRollbackFailed {
		t.Fatalf("got %s, want %s (path %v)", failed.state, workflow.StateRollbackFailed, failed.path)
	}
	clear(w.fail)
	w.ended[failed.arn] = "FAILED"
	lock := w.locks["staging/"+sc.service].rec
	if lock.Deployment != failed.st.Deployment.ID || lock.Stage != store.StageRollbackFailed {
		t.Fatalf("lock: got %+v, want deployment %s in stage %s", lock, failed.st.Deployment.ID, store.StageRollbackFailed)
	}
	for i := range 30 {
		w.history = append(w.history, store.HistoryEntry{Deployment: fmt.Sprintf("later-%d", i), Service: sc.service,
			Environment: "staging", Outcome: workflow.OutcomeSuperseded, StartedAt: w.now})
	}
	w.advance(time.Hour)
	w.image(sc.service, "v3")
	next := newExecution(w, "exec-next", request(sc, "v3"))
	next.runUntil(workflow.StateAwaitLock)
	next.step() // the wait times out: nobody hands the lock over
	next.runUntil(workflow.StateAwaitLock)
	if got := w.locks["staging/"+sc.service].rec.Deployment; got != failed.st.Deployment.ID {
		t.Errorf("lock holder: got %s, want %s, whose rollback failed", got, failed.st.Deployment.ID)
	}
	if got := countOf(next.path, workflow.StateApply); got != 0 {
		t.Errorf("the next deployment applied over a failed rollback (path %v)", next.path)
	}
}
