package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi/s3/s3test"
	"github.com/slipwayhq/slipway/internal/workflow"
)

var lockAt = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func lockOf(deployment string) LockRecord {
	return LockRecord{Deployment: deployment, Execution: "arn:exec:" + deployment, Stage: StagePreparing, Image: "repo@sha256:1", At: lockAt}
}

// TestLock runs each scenario on a versioned and an unversioned state
// bucket: in a versioned one a released lock leaves a delete marker, which
// conditional writes must treat as absent.
func TestLock(t *testing.T) {
	type step func(ctx context.Context, t *testing.T, st *Store, srv *s3test.Server)
	acquire := func(dep string, want error) step {
		return func(ctx context.Context, t *testing.T, st *Store, _ *s3test.Server) {
			t.Helper()
			if err := st.AcquireLock(ctx, "staging", "web", lockOf(dep)); !errors.Is(err, want) {
				t.Fatalf("acquire by %s: got error %v, want %v", dep, err, want)
			}
		}
	}
	release := func(dep string) step {
		return func(ctx context.Context, t *testing.T, st *Store, _ *s3test.Server) {
			t.Helper()
			if err := st.ReleaseLock(ctx, "staging", "web", dep); err != nil {
				t.Fatalf("release by %s: %v", dep, err)
			}
		}
	}
	// replace rewrites the lock with the given stage, using a fresh ETag or
	// a stale one (read before a concurrent change).
	replace := func(dep string, stage LockStage, stale bool, want error) step {
		return func(ctx context.Context, t *testing.T, st *Store, srv *s3test.Server) {
			t.Helper()
			_, etag, err := st.Lock(ctx, "staging", "web")
			if err != nil {
				t.Fatal(err)
			}
			if stale {
				rec := lockOf(dep)
				rec.Token = "someone else's write"
				if err := st.ReplaceLock(ctx, "staging", "web", rec, etag); err != nil {
					t.Fatal(err)
				}
			}
			rec := lockOf(dep)
			rec.Stage = stage
			if err := st.ReplaceLock(ctx, "staging", "web", rec, etag); !errors.Is(err, want) {
				t.Fatalf("replace by %s: got error %v, want %v", dep, err, want)
			}
		}
	}
	tests := map[string]struct {
		steps     []step
		wantHeld  string // "" = free
		wantStage LockStage
	}{
		"acquire free lock":           {steps: []step{acquire("d1", nil)}, wantHeld: "d1", wantStage: StagePreparing},
		"acquire held lock":           {steps: []step{acquire("d1", nil), acquire("d2", ErrConflict)}, wantHeld: "d1", wantStage: StagePreparing},
		"acquire again by the holder": {steps: []step{acquire("d1", nil), acquire("d1", nil)}, wantHeld: "d1", wantStage: StagePreparing},
		"release by the holder":       {steps: []step{acquire("d1", nil), release("d1")}},
		"release twice":               {steps: []step{acquire("d1", nil), release("d1"), release("d1")}},
		"release a free lock":         {steps: []step{release("d1")}},
		"release by another":          {steps: []step{acquire("d1", nil), release("d2")}, wantHeld: "d1", wantStage: StagePreparing},
		"acquire after release":       {steps: []step{acquire("d1", nil), release("d1"), acquire("d2", nil)}, wantHeld: "d2", wantStage: StagePreparing},
		"replace with current etag":   {steps: []step{acquire("d1", nil), replace("d1", StageApplying, false, nil)}, wantHeld: "d1", wantStage: StageApplying},
		"replace with stale etag":     {steps: []step{acquire("d1", nil), replace("d1", StageApplying, true, ErrConflict)}, wantHeld: "d1", wantStage: StagePreparing},
		"hand over to a queued one":   {steps: []step{acquire("d1", nil), replace("d2", StagePreparing, false, nil), release("d1")}, wantHeld: "d2", wantStage: StagePreparing},
	}
	for name, tc := range tests {
		for _, versioned := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/versioned=%t", name, versioned), func(t *testing.T) {
				st, srv := newStore(t, versioned)
				ctx := context.Background()
				for _, s := range tc.steps {
					s(ctx, t, st, srv)
				}
				got, etag, err := st.Lock(ctx, "staging", "web")
				if tc.wantHeld == "" {
					if !errors.Is(err, ErrNotFound) {
						t.Fatalf("got lock %+v, error %v; want it free (ErrNotFound)", got, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got.Deployment != tc.wantHeld || got.Stage != tc.wantStage || etag == "" {
					t.Errorf("got holder %s stage %s etag %q, want %s %s and an ETag", got.Deployment, got.Stage, etag, tc.wantHeld, tc.wantStage)
				}
			})
		}
	}
}

func TestLockRoundTrip(t *testing.T) {
	st, _ := newStore(t, false)
	ctx := context.Background()
	want := LockRecord{Deployment: "d1", Execution: "arn:x", Stage: StageAwaitingApproval, Token: "tok", Image: "img", At: lockAt}
	if err := st.AcquireLock(ctx, "staging", "web", want); err != nil {
		t.Fatal(err)
	}
	got, _, err := st.Lock(ctx, "staging", "web")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lock (-want +got):\n%s", diff)
	}
}

// TestAcquireRace starts many acquirers at once: exactly one wins.
func TestAcquireRace(t *testing.T) {
	st, _ := newStore(t, true)
	ctx := context.Background()
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = st.AcquireLock(ctx, "prod", "web", lockOf(fmt.Sprintf("d%d", i)))
		})
	}
	close(start)
	wg.Wait()
	winner := ""
	for i, err := range errs {
		switch {
		case err == nil:
			if winner != "" {
				t.Errorf("d%d and %s both acquired the lock", i, winner)
			}
			winner = fmt.Sprintf("d%d", i)
		case !errors.Is(err, ErrConflict):
			t.Errorf("d%d: got error %v, want nil or ErrConflict", i, err)
		}
	}
	got, _, err := st.Lock(ctx, "prod", "web")
	if err != nil {
		t.Fatal(err)
	}
	if winner == "" || got.Deployment != winner {
		t.Errorf("got holder %q, want the one winner %q", got.Deployment, winner)
	}
}

// TestReplaceRace has two holders' writes race with the same ETag: exactly
// one lands.
func TestReplaceRace(t *testing.T) {
	st, _ := newStore(t, false)
	ctx := context.Background()
	if err := st.AcquireLock(ctx, "prod", "web", lockOf("d1")); err != nil {
		t.Fatal(err)
	}
	_, etag, err := st.Lock(ctx, "prod", "web")
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			errs[i] = st.ReplaceLock(ctx, "prod", "web", lockOf(fmt.Sprintf("n%d", i)), etag)
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrConflict):
			t.Errorf("got error %v, want nil or ErrConflict", err)
		}
	}
	if wins != 1 {
		t.Errorf("got %d winners, want 1 (errors %v)", wins, errs)
	}
}

// TestReleaseRace hands the lock over between the release's read and its
// delete: the conditional delete fails, the release reads again, sees the
// new holder and leaves the lock alone.
func TestReleaseRace(t *testing.T) {
	st, srv := newStore(t, false)
	ctx := context.Background()
	if err := st.AcquireLock(ctx, "prod", "web", lockOf("d1")); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	srv.OnRequest(func(r s3test.Request) {
		if r.Method == http.MethodDelete {
			once.Do(func() {
				// Another deployment got the lock in between (written
				// directly, as a concurrent writer would).
				if _, err := srv.Put(stateBucket, lockKey("prod", "web"), []byte(`{"deployment":"d2","stage":"preparing"}`)); err != nil {
					t.Error(err)
				}
			})
		}
	})
	if err := st.ReleaseLock(ctx, "prod", "web", "d1"); err != nil {
		t.Fatal(err)
	}
	got, _, err := st.Lock(ctx, "prod", "web")
	if err != nil {
		t.Fatalf("got error %v, want the new holder's lock kept", err)
	}
	if got.Deployment != "d2" {
		t.Errorf("got holder %s, want d2", got.Deployment)
	}
	var deletes []string
	for _, r := range srv.Requests() {
		if r.Method == http.MethodDelete {
			deletes = append(deletes, r.Header.Get("If-Match"))
		}
	}
	if len(deletes) != 1 || deletes[0] == "" {
		t.Errorf("got deletes with If-Match %q, want one conditional delete", deletes)
	}
}

func TestLockErrors(t *testing.T) {
	st, srv := newStore(t, false)
	ctx := context.Background()
	tests := map[string]struct {
		call      func() error
		invalid   bool
		transient bool
		wantOp    string
	}{
		"empty environment":   {call: func() error { return st.AcquireLock(ctx, "", "web", lockOf("d1")) }, invalid: true, wantOp: "acquire lock"},
		"empty deployment":    {call: func() error { return st.AcquireLock(ctx, "prod", "web", LockRecord{}) }, invalid: true, wantOp: "acquire lock"},
		"empty etag":          {call: func() error { return st.ReplaceLock(ctx, "prod", "web", lockOf("d1"), "") }, invalid: true, wantOp: "replace lock"},
		"release empty names": {call: func() error { return st.ReleaseLock(ctx, "prod", "", "d1") }, invalid: true, wantOp: "release lock"},
		"enqueue empty":       {call: func() error { _, err := st.Enqueue(ctx, "prod", "web", QueueEntry{}); return err }, invalid: true, wantOp: "enqueue"},
		"throttled acquire": {call: func() error {
			srv.Inject(s3test.Fault{Method: http.MethodPut, Status: 503, Code: "SlowDown", Times: 1})
			return st.AcquireLock(ctx, "prod", "web", lockOf("d1"))
		}, transient: true, wantOp: "acquire lock prod/web for deployment d1"},
		"server error on release": {call: func() error {
			srv.Inject(s3test.Fault{Method: http.MethodGet, Status: 500, Code: "InternalError", Times: 1})
			return st.ReleaseLock(ctx, "prod", "web", "d1")
		}, transient: true, wantOp: "release lock prod/web for deployment d1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.call()
			var inv *workflow.InvalidInput
			var tr *workflow.Transient
			switch {
			case tc.invalid && !errors.As(err, &inv):
				t.Errorf("got error %v, want *workflow.InvalidInput", err)
			case tc.transient && !errors.As(err, &tr):
				t.Errorf("got error %v, want *workflow.Transient", err)
			}
			if err != nil && !strings.Contains(err.Error(), tc.wantOp) {
				t.Errorf("got error %q, want it to name %q", err, tc.wantOp)
			}
		})
	}
}

func TestQueue(t *testing.T) {
	entry := func(dep, token string) QueueEntry {
		return QueueEntry{Deployment: dep, Execution: "arn:" + dep, Token: token, At: lockAt}
	}
	type op struct {
		enqueue      *QueueEntry
		wantReplaced string // for enqueue: deployment replaced, "" for none
		dequeue      bool
		unqueue      string
		wantDequeued string // for dequeue: deployment returned, "" for none
	}
	enq := func(dep, replaced string) op {
		e := entry(dep, "tok-"+dep)
		return op{enqueue: &e, wantReplaced: replaced}
	}
	deq := func(want string) op { return op{dequeue: true, wantDequeued: want} }
	unq := func(dep string) op { return op{unqueue: dep} }
	tests := map[string]struct {
		ops []op
	}{
		"empty queue":            {ops: []op{deq("")}},
		"one waiting":            {ops: []op{enq("d1", ""), deq("d1"), deq("")}},
		"newer replaces older":   {ops: []op{enq("d1", ""), enq("d2", "d1"), enq("d3", "d2"), deq("d3"), deq("")}},
		"same deployment again":  {ops: []op{enq("d1", ""), enq("d1", ""), deq("d1"), deq("")}},
		"unqueue own entry":      {ops: []op{enq("d1", ""), unq("d1"), deq("")}},
		"unqueue replaced entry": {ops: []op{enq("d1", ""), enq("d2", "d1"), unq("d1"), deq("d2")}},
		"unqueue when empty":     {ops: []op{unq("d1"), deq("")}},
		"enqueue after dequeue":  {ops: []op{enq("d1", ""), deq("d1"), enq("d2", ""), deq("d2")}},
	}
	for name, tc := range tests {
		for _, versioned := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/versioned=%t", name, versioned), func(t *testing.T) {
				st, _ := newStore(t, versioned)
				ctx := context.Background()
				// Another service's queue must be untouched by everything.
				if _, err := st.Enqueue(ctx, "staging", "api", entry("other", "t")); err != nil {
					t.Fatal(err)
				}
				for i, o := range tc.ops {
					switch {
					case o.enqueue != nil:
						replaced, err := st.Enqueue(ctx, "staging", "web", *o.enqueue)
						if err != nil {
							t.Fatalf("op %d: %v", i, err)
						}
						if o.wantReplaced == "" {
							if replaced != nil {
								t.Fatalf("op %d: got replaced %+v, want none", i, replaced)
							}
							continue
						}
						if want := entry(o.wantReplaced, "tok-"+o.wantReplaced); replaced == nil || !cmp.Equal(*replaced, want) {
							t.Fatalf("op %d: got replaced %+v, want %+v", i, replaced, want)
						}
					case o.dequeue:
						got, err := st.Dequeue(ctx, "staging", "web")
						if err != nil {
							t.Fatalf("op %d: %v", i, err)
						}
						if o.wantDequeued == "" {
							if got != nil {
								t.Fatalf("op %d: got %+v, want an empty queue", i, got)
							}
							continue
						}
						if want := entry(o.wantDequeued, "tok-"+o.wantDequeued); got == nil || !cmp.Equal(*got, want) {
							t.Fatalf("op %d: got dequeued %+v, want %+v", i, got, want)
						}
					default:
						if err := st.Unqueue(ctx, "staging", "web", o.unqueue); err != nil {
							t.Fatalf("op %d: %v", i, err)
						}
					}
				}
				got, err := st.Dequeue(ctx, "staging", "api")
				if err != nil || got == nil || got.Deployment != "other" {
					t.Errorf("other queue: got %+v, %v; want deployment other", got, err)
				}
			})
		}
	}
}

// TestDequeueRace has many callers dequeue one entry: exactly one gets it.
func TestDequeueRace(t *testing.T) {
	st, _ := newStore(t, false)
	ctx := context.Background()
	if _, err := st.Enqueue(ctx, "prod", "web", QueueEntry{Deployment: "d1", At: lockAt}); err != nil {
		t.Fatal(err)
	}
	const n = 6
	got := make([]*QueueEntry, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = st.Dequeue(ctx, "prod", "web") })
	}
	wg.Wait()
	winners := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("caller %d: %v", i, errs[i])
		}
		if got[i] != nil {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("got %d callers with the entry, want 1", winners)
	}
}

// TestEnqueueRace has many deployments enqueue at once: one ends up
// waiting and every other one is reported replaced exactly once, so each
// is superseded by someone.
func TestEnqueueRace(t *testing.T) {
	st, _ := newStore(t, false)
	ctx := context.Background()
	const n = 6
	replaced := make([]*QueueEntry, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			replaced[i], errs[i] = st.Enqueue(ctx, "prod", "web", QueueEntry{Deployment: fmt.Sprintf("d%d", i), At: lockAt})
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for i := range n {
		if errs[i] != nil {
			// Under heavy contention an enqueue may give up; it reports
			// ErrConflict and wrote nothing.
			if !errors.Is(errs[i], ErrConflict) {
				t.Errorf("d%d: got error %v, want nil or ErrConflict", i, errs[i])
			}
			seen[fmt.Sprintf("d%d", i)]++
			continue
		}
		if replaced[i] != nil {
			seen[replaced[i].Deployment]++
		}
	}
	last, err := st.Dequeue(ctx, "prod", "web")
	if err != nil || last == nil {
		t.Fatalf("got %+v, %v; want the last deployment waiting", last, err)
	}
	seen[last.Deployment]++
	for i := range n {
		if d := fmt.Sprintf("d%d", i); seen[d] != 1 {
			t.Errorf("%s accounted for %d times (replaced, gave up or left waiting), want exactly once", d, seen[d])
		}
	}
}

// TestEnqueueNewerWins: of two deployments waiting for the same lock, the
// one requested later keeps the place, whatever the order they arrive in;
// requests of the same or an unknown time are ordered by arrival.
func TestEnqueueNewerWins(t *testing.T) {
	at := func(min int) time.Time {
		if min < 0 {
			return time.Time{}
		}
		return lockAt.Add(time.Duration(min) * time.Minute)
	}
	tests := map[string]struct {
		waiting, arriving int // request times, in minutes after lockAt; -1 unknown
		wantWaiting       string
		wantNewerWaiting  bool
	}{
		"newer arrives":            {waiting: 1, arriving: 2, wantWaiting: "arriving"},
		"older arrives":            {waiting: 2, arriving: 1, wantWaiting: "waiting", wantNewerWaiting: true},
		"same time":                {waiting: 1, arriving: 1, wantWaiting: "arriving"},
		"waiting of unknown time":  {waiting: -1, arriving: 1, wantWaiting: "arriving"},
		"arriving of unknown time": {waiting: 2, arriving: -1, wantWaiting: "arriving"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st, _ := newStore(t, false)
			ctx := context.Background()
			waiting := QueueEntry{Deployment: "waiting", Token: "tok-waiting", RequestedAt: at(tc.waiting), At: lockAt}
			arriving := QueueEntry{Deployment: "arriving", Token: "tok-arriving", RequestedAt: at(tc.arriving), At: lockAt}
			if _, err := st.Enqueue(ctx, "prod", "web", waiting); err != nil {
				t.Fatal(err)
			}
			other, err := st.Enqueue(ctx, "prod", "web", arriving)
			if got := errors.Is(err, ErrNewerWaiting); got != tc.wantNewerWaiting {
				t.Fatalf("got error %v, want ErrNewerWaiting %t", err, tc.wantNewerWaiting)
			}
			if !tc.wantNewerWaiting && err != nil {
				t.Fatal(err)
			}
			// Either way the entry returned is the waiting one: replaced, or
			// kept.
			if other == nil || !cmp.Equal(*other, waiting) {
				t.Errorf("got other %+v, want %+v", other, waiting)
			}
			got, err := st.Dequeue(ctx, "prod", "web")
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || got.Deployment != tc.wantWaiting {
				t.Errorf("got waiting %+v, want deployment %s", got, tc.wantWaiting)
			}
		})
	}
}

// TestEnqueueByPart: a deployment newer in one part (a spec) and older in
// another (the image) than the one waiting replaces neither way: Enqueue
// says so (ErrBehindWaiting) and keeps the waiting one, whose parts the
// arriving one must take first. Queued reads it without removing it.
func TestEnqueueByPart(t *testing.T) {
	st, _ := newStore(t, false)
	ctx := context.Background()
	t1, t2 := lockAt.Add(time.Minute), lockAt.Add(2*time.Minute)
	push := QueueEntry{Deployment: "push", Token: "tok-push", RequestedAt: t1, At: lockAt,
		Pins: workflow.Pins{Image: "web@sha256:new", Order: workflow.Order{Image: t2, ServiceSpec: t1, EnvironmentSpec: t1}}}
	upload := QueueEntry{Deployment: "upload", Token: "tok-upload", RequestedAt: t2, At: lockAt,
		Pins: workflow.Pins{SpecVersion: "s2", Order: workflow.Order{Image: t1, ServiceSpec: t2, EnvironmentSpec: t1}}}
	if _, err := st.Enqueue(ctx, "prod", "web", push); err != nil {
		t.Fatal(err)
	}
	other, err := st.Enqueue(ctx, "prod", "web", upload)
	if !errors.Is(err, ErrBehindWaiting) || other == nil || other.Deployment != "push" {
		t.Fatalf("got %+v, %v; want the push and ErrBehindWaiting", other, err)
	}
	q, err := st.Queued(ctx, "prod", "web")
	if err != nil || q == nil || !cmp.Equal(*q, push) {
		t.Fatalf("Queued: got %+v, %v; want %+v", q, err, push)
	}
	// Having taken the push's image, the upload covers it and replaces it.
	upload.Pins, _ = upload.Pins.Join(push.Pins, true)
	if other, err = st.Enqueue(ctx, "prod", "web", upload); err != nil || other == nil || other.Deployment != "push" {
		t.Fatalf("after the join: got %+v, %v; want the push replaced", other, err)
	}
	if q, err = st.Queued(ctx, "prod", "web"); err != nil || q == nil || q.Deployment != "upload" || q.Pins.Image != "web@sha256:new" {
		t.Errorf("Queued after the join: got %+v, %v", q, err)
	}
}

// TestMarkAppliedKeepsNewestPart: the newest record keeps the newest
// request by time and, of each part, the newest pin, which may come from
// different requests; a request older in every part changes nothing.
func TestMarkAppliedKeepsNewestPart(t *testing.T) {
	st, _ := newStore(t, false)
	ctx := context.Background()
	t0, t1, t2 := lockAt, lockAt.Add(time.Minute), lockAt.Add(2*time.Minute)
	upload := NewestRequest{Deployment: "upload", RequestedAt: t2, Outcome: workflow.OutcomeDeployed,
		Pins: workflow.Pins{Image: "web@sha256:old", SpecVersion: "s2", Order: workflow.Order{Image: t0, ServiceSpec: t2, EnvironmentSpec: t0}}}
	push := NewestRequest{Deployment: "push", RequestedAt: t1, Outcome: workflow.OutcomeDeployed,
		Pins: workflow.Pins{Image: "web@sha256:new", SpecVersion: "s1", Order: workflow.Order{Image: t1, ServiceSpec: t0, EnvironmentSpec: t0}}}
	for _, rec := range []NewestRequest{upload, push} {
		if err := st.MarkApplied(ctx, "prod", "web", rec); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.NewestApplied(ctx, "prod", "web")
	if err != nil {
		t.Fatal(err)
	}
	want := workflow.Pins{Image: "web@sha256:new", SpecVersion: "s2", Order: workflow.Order{Image: t1, ServiceSpec: t2, EnvironmentSpec: t0}}
	if got.Deployment != "upload" || !cmp.Equal(got.Pins, want) {
		t.Errorf("got %s with %+v, want upload (the newest request) with %+v", got.Deployment, got.Pins, want)
	}
	old := NewestRequest{Deployment: "old", RequestedAt: t0, Pins: workflow.Pins{Image: "web@sha256:older",
		Order: workflow.Order{Image: t0, ServiceSpec: t0, EnvironmentSpec: t0}}}
	if err := st.MarkApplied(ctx, "prod", "web", old); err != nil {
		t.Fatal(err)
	}
	if again, err := st.NewestApplied(ctx, "prod", "web"); err != nil || !cmp.Equal(again, got) {
		t.Errorf("after an older request: got %+v, %v; want it unchanged %+v", again, err, got)
	}
}
