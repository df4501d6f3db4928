package store

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	"github.com/slipwayhq/slipway/internal/awsapi/s3/s3test"
	"github.com/slipwayhq/slipway/internal/workflow"
)

var deadline = time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)

func watchOf(dep, token string, ecsID string, alarms ...string) Watch {
	return Watch{
		Token: token, Deployment: dep, Execution: "arn:" + dep, Kind: workflow.WaitBake,
		Environment: "prod", Service: "web", Cluster: "main", ECSService: "web",
		ECSDeployment: ecsID, Alarms: alarms, Deadline: deadline,
	}
}

func deployments(ws []Watch) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Deployment+"@"+w.Token)
	}
	return out
}

func TestWatches(t *testing.T) {
	type lookup struct {
		alarm, ecs string
		want       []string // deployment@token
	}
	tests := map[string]struct {
		put      []Watch
		del      []Watch
		lookups  []lookup
		wantKeys []string
	}{
		"by alarm and by ECS deployment": {
			put: []Watch{watchOf("d1", "t1", "ecs-1", "web-5xx", "web-latency"), watchOf("d2", "t2", "", "web-5xx")},
			lookups: []lookup{
				{alarm: "web-5xx", want: []string{"d1@t1", "d2@t2"}},
				{alarm: "web-latency", want: []string{"d1@t1"}},
				{ecs: "ecs-1", want: []string{"d1@t1"}},
				{alarm: "web", want: nil}, // a prefix of another alarm's name
				{ecs: "ecs", want: nil},
			},
			wantKeys: []string{
				"watches/alarm/web-5xx/d1.json", "watches/alarm/web-5xx/d2.json", "watches/alarm/web-latency/d1.json",
				"watches/deployment/d1.json", "watches/deployment/d2.json", "watches/ecs/ecs-1/d1.json",
			},
		},
		"odd alarm names stay apart": {
			put: []Watch{watchOf("d1", "t1", "", "a/b c%"), watchOf("d2", "t2", "", "a")},
			lookups: []lookup{
				{alarm: "a/b c%", want: []string{"d1@t1"}},
				{alarm: "a", want: []string{"d2@t2"}},
				{alarm: "a/b", want: nil},
			},
			wantKeys: []string{"watches/alarm/a%2Fb%20c%25/d1.json", "watches/alarm/a/d2.json", "watches/deployment/d1.json", "watches/deployment/d2.json"},
		},
		"duplicate alarms": {
			put:      []Watch{watchOf("d1", "t1", "", "x", "x")},
			lookups:  []lookup{{alarm: "x", want: []string{"d1@t1"}}},
			wantKeys: []string{"watches/alarm/x/d1.json", "watches/deployment/d1.json"},
		},
		"delete removes every entry": {
			put:      []Watch{watchOf("d1", "t1", "ecs-1", "a1", "a2"), watchOf("d2", "t2", "ecs-2", "a1")},
			del:      []Watch{watchOf("d1", "t1", "ecs-1", "a1", "a2")},
			lookups:  []lookup{{alarm: "a1", want: []string{"d2@t2"}}, {alarm: "a2", want: nil}, {ecs: "ecs-1", want: nil}},
			wantKeys: []string{"watches/alarm/a1/d2.json", "watches/deployment/d2.json", "watches/ecs/ecs-2/d2.json"},
		},
		"delete twice": {
			put:      []Watch{watchOf("d1", "t1", "ecs-1", "a1")},
			del:      []Watch{watchOf("d1", "t1", "ecs-1", "a1"), watchOf("d1", "t1", "ecs-1", "a1")},
			lookups:  []lookup{{alarm: "a1", want: nil}, {ecs: "ecs-1", want: nil}},
			wantKeys: nil,
		},
		"delete a watch never written": {
			del:      []Watch{watchOf("d1", "t1", "ecs-1", "a1")},
			wantKeys: nil,
		},
		"next wait replaces the previous one": {
			put: []Watch{watchOf("d1", "t1", "ecs-1", "a1", "a2"), watchOf("d1", "t2", "", "a2", "a3")},
			lookups: []lookup{
				{alarm: "a1", want: nil}, {ecs: "ecs-1", want: nil},
				{alarm: "a2", want: []string{"d1@t2"}}, {alarm: "a3", want: []string{"d1@t2"}},
			},
			wantKeys: []string{"watches/alarm/a2/d1.json", "watches/alarm/a3/d1.json", "watches/deployment/d1.json"},
		},
		"deleting the finished wait keeps the next one": {
			put:      []Watch{watchOf("d1", "t1", "", "a1"), watchOf("d1", "t2", "", "a1")},
			del:      []Watch{watchOf("d1", "t1", "", "a1")},
			lookups:  []lookup{{alarm: "a1", want: []string{"d1@t2"}}},
			wantKeys: []string{"watches/alarm/a1/d1.json", "watches/deployment/d1.json"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st, srv := newStore(t, false)
			ctx := context.Background()
			for _, w := range tc.put {
				if err := st.PutWatch(ctx, w); err != nil {
					t.Fatal(err)
				}
			}
			for _, w := range tc.del {
				if err := st.DeleteWatch(ctx, w); err != nil {
					t.Fatal(err)
				}
			}
			for _, l := range tc.lookups {
				var got []Watch
				var err error
				if l.alarm != "" {
					got, err = st.WatchesForAlarm(ctx, l.alarm)
				} else {
					got, err = st.WatchesForECSDeployment(ctx, l.ecs)
				}
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(l.want, deployments(got)); diff != "" {
					t.Errorf("watches on alarm %q / ECS %q (-want +got):\n%s", l.alarm, l.ecs, diff)
				}
			}
			if diff := cmp.Diff(tc.wantKeys, srv.Keys(stateBucket)); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWatchRoundTrip(t *testing.T) {
	st, srv := newStore(t, false)
	ctx := context.Background()
	want := watchOf("d1", "tok", "ecs-1", "a1")
	if err := st.PutWatch(ctx, want); err != nil {
		t.Fatal(err)
	}
	byAlarm, err := st.WatchesForAlarm(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	byDeployment, err := st.WatchForDeployment(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Watch{want, want}, append(byAlarm, byDeployment)); diff != "" {
		t.Errorf("watch (-want +got):\n%s", diff)
	}
	if _, err := st.WatchForDeployment(ctx, "d2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("got error %v, want ErrNotFound", err)
	}

	// One List finds the watches: the lookup costs a List and a Get per
	// watch, never a List per deployment.
	before := len(srv.Requests())
	if _, err := st.WatchesForECSDeployment(ctx, "ecs-1"); err != nil {
		t.Fatal(err)
	}
	var lists int
	for _, r := range srv.Requests()[before:] {
		if r.Key == "" {
			lists++
		}
	}
	if lists != 1 {
		t.Errorf("got %d List requests, want 1", lists)
	}
}

func TestWatchErrors(t *testing.T) {
	st, srv := newStore(t, false)
	ctx := context.Background()
	tests := map[string]struct {
		call      func() error
		invalid   bool
		transient bool
	}{
		"no token":           {call: func() error { return st.PutWatch(ctx, watchOf("d1", "", "", "a")) }, invalid: true},
		"no deployment":      {call: func() error { return st.PutWatch(ctx, watchOf("", "t", "", "a")) }, invalid: true},
		"empty alarm name":   {call: func() error { return st.PutWatch(ctx, watchOf("d1", "t", "", "a", "")) }, invalid: true},
		"empty alarm lookup": {call: func() error { _, err := st.WatchesForAlarm(ctx, ""); return err }, invalid: true},
		"empty ECS lookup":   {call: func() error { _, err := st.WatchesForECSDeployment(ctx, ""); return err }, invalid: true},
		"list throttled": {call: func() error {
			srv.Inject(s3test.Fault{Method: http.MethodGet, Key: "", Status: 503, Code: "SlowDown", Times: 1})
			_, err := st.WatchesForAlarm(ctx, "a")
			return err
		}, transient: true},
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
			case err != nil && !strings.Contains(err.Error(), "watch"):
				t.Errorf("got error %q, want it to say what was done", err)
			}
		})
	}
}

func TestApprovals(t *testing.T) {
	st, _ := newStore(t, false)
	ctx := context.Background()
	want := PendingApproval{Deployment: "d1", Execution: "arn:d1", Token: "tok", Service: "web", Environment: "prod", Image: "img@sha256:1", At: lockAt}
	other := want
	other.Service, other.Deployment = "api", "d2"
	for _, a := range []PendingApproval{want, other} {
		if err := st.PutApproval(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.Approval(ctx, "prod", "web")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("approval (-want +got):\n%s", diff)
	}
	for range 2 { // idempotent
		if err := st.DeleteApproval(ctx, "prod", "web"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Approval(ctx, "prod", "web"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: got error %v, want ErrNotFound", err)
	}
	if got, err := st.Approval(ctx, "prod", "api"); err != nil || got.Deployment != "d2" {
		t.Errorf("other service: got %+v, %v; want deployment d2 kept", got, err)
	}
	var inv *workflow.InvalidInput
	if err := st.PutApproval(ctx, PendingApproval{Service: "web", Environment: "prod"}); !errors.As(err, &inv) {
		t.Errorf("incomplete approval: got error %v, want *workflow.InvalidInput", err)
	}
}

func TestPlans(t *testing.T) {
	st, _ := newStore(t, false)
	ctx := context.Background()
	type plan struct {
		Slot  string            `json:"slot"`
		Count int               `json:"count"`
		Tags  map[string]string `json:"tags"`
	}
	want := plan{Slot: "green", Count: 3, Tags: map[string]string{"a": "b"}}
	key, err := st.PutPlan(ctx, "dep/1", want)
	if err != nil {
		t.Fatal(err)
	}
	if key != "plans/dep%2F1.json" {
		t.Errorf("got key %q, want plans/dep%%2F1.json", key)
	}
	var got plan
	if err := st.Plan(ctx, key, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if err := st.Plan(ctx, "plans/missing.json", &got); !errors.Is(err, ErrNotFound) {
		t.Errorf("got error %v, want ErrNotFound", err)
	}
	if _, err := st.PutPlan(ctx, "d", func() {}); err == nil || !strings.Contains(err.Error(), "store plan of deployment d") {
		t.Errorf("unencodable plan: got error %v, want an encode error naming the deployment", err)
	}
	if _, err := st.s3.Put(ctx, stateBucket, "plans/bad.json", []byte("{"), "", s3api.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if err := st.Plan(ctx, "plans/bad.json", &got); err == nil || !strings.Contains(err.Error(), "read plan plans/bad.json") {
		t.Errorf("corrupt plan: got error %v, want a decode error naming the plan", err)
	}
}

func TestHistory(t *testing.T) {
	base := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	entry := func(dep string, started time.Duration) HistoryEntry {
		return HistoryEntry{
			Deployment: dep, Execution: "arn:" + dep, Service: "web", Environment: "prod", Image: "img",
			Strategy: "rolling", Outcome: workflow.OutcomeDeployed,
			Trigger:   workflow.Trigger{Kind: workflow.TriggerECRPush, Source: "evt", Actor: "ecr"},
			StartedAt: base.Add(started), EndedAt: base.Add(started + time.Minute), TaskDefinition: "web:1",
		}
	}
	// Written out of order; includes entries a nanosecond and a decade apart.
	entries := []HistoryEntry{
		entry("d3", 2*time.Hour), entry("d1", 0), entry("d5", 3*time.Hour+time.Nanosecond),
		entry("d2", time.Hour), entry("d4", 3*time.Hour), entry("d0", -10*365*24*time.Hour),
	}
	newestFirst := []string{"d5", "d4", "d3", "d2", "d1", "d0"}
	tests := map[string]struct {
		limit    int
		pageSize int
		want     []string
	}{
		"all":             {limit: 0, pageSize: 1000, want: newestFirst},
		"limit":           {limit: 2, pageSize: 1000, want: newestFirst[:2]},
		"limit, paged":    {limit: 5, pageSize: 2, want: newestFirst[:5]},
		"all, paged":      {limit: -1, pageSize: 4, want: newestFirst},
		"limit above all": {limit: 50, pageSize: 1000, want: newestFirst},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st, srv := newStore(t, false)
			ctx := context.Background()
			for _, e := range entries {
				if err := st.PutHistory(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			// Other services' and environments' history must not mix in,
			// including a service whose name extends this one's.
			for _, o := range []HistoryEntry{{Service: "web-2"}, {Environment: "prod-eu"}} {
				e := entry("x", 5*time.Hour)
				if o.Service != "" {
					e.Service = o.Service
				}
				if o.Environment != "" {
					e.Environment = o.Environment
				}
				if err := st.PutHistory(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			// A retried Record phase overwrites its entry.
			retry := entry("d3", 2*time.Hour)
			retry.Outcome = workflow.OutcomeRolledBack
			if err := st.PutHistory(ctx, retry); err != nil {
				t.Fatal(err)
			}
			srv.SetPageSize(tc.pageSize)
			got, err := st.History(ctx, "prod", "web", tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range got {
				ids = append(ids, e.Deployment)
				if e.Deployment == "d3" && e.Outcome != workflow.OutcomeRolledBack {
					t.Errorf("d3: got outcome %s, want the retried write's %s", e.Outcome, workflow.OutcomeRolledBack)
				}
			}
			if diff := cmp.Diff(tc.want, ids); diff != "" {
				t.Errorf("history (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHistoryEntryRoundTrip(t *testing.T) {
	st, _ := newStore(t, false)
	ctx := context.Background()
	want := HistoryEntry{
		Deployment: "d1", Execution: "arn", Service: "web", Environment: "prod", Image: "img", Strategy: "canary",
		Outcome: workflow.OutcomeRolledBack, Error: "AlarmFired", Cause: "alarm web-5xx in ALARM", Reason: "hotfix",
		Trigger:   workflow.Trigger{Kind: workflow.TriggerManual, Actor: "arn:aws:iam::1:user/a"},
		StartedAt: lockAt, EndedAt: lockAt.Add(time.Minute), TaskDefinition: "arn:td:web:7",
	}
	if err := st.PutHistory(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := st.History(ctx, "prod", "web", 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]HistoryEntry{want}, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	empty, err := st.History(ctx, "prod", "api", 10)
	if err != nil || len(empty) != 0 {
		t.Errorf("got %v, %v; want no history", empty, err)
	}
}

func TestHistoryKeyOrder(t *testing.T) {
	// Keys must sort newest first for any two times, across digit-count
	// boundaries of the underlying nanosecond count.
	times := []time.Time{
		time.Unix(0, 0), time.Unix(9, 999999999), time.Unix(10, 0), time.Unix(1e9, 0),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2199, 12, 31, 0, 0, 0, 0, time.UTC),
	}
	var keys []string
	for _, at := range times {
		keys = append(keys, historyKey(HistoryEntry{Deployment: "d", Environment: "e", Service: "s"}, at))
	}
	sorted := append([]string(nil), keys...)
	sort.Strings(sorted)
	for i := range keys {
		if want := keys[len(keys)-1-i]; sorted[i] != want {
			t.Errorf("position %d: got %s, want %s", i, sorted[i], want)
		}
	}
}

func TestHistoryErrors(t *testing.T) {
	st, _ := newStore(t, false)
	ctx := context.Background()
	tests := map[string]HistoryEntry{
		"no time":       {Deployment: "d", Environment: "e", Service: "s"},
		"before 1970":   {Deployment: "d", Environment: "e", Service: "s", StartedAt: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)},
		"no deployment": {Environment: "e", Service: "s", StartedAt: lockAt},
		"no service":    {Deployment: "d", Environment: "e", StartedAt: lockAt},
	}
	for name, e := range tests {
		t.Run(name, func(t *testing.T) {
			var inv *workflow.InvalidInput
			if err := st.PutHistory(ctx, e); !errors.As(err, &inv) {
				t.Errorf("got error %v, want *workflow.InvalidInput", err)
			}
		})
	}
	// Only EndedAt set: it is used.
	e := HistoryEntry{Deployment: "d", Environment: "e", Service: "s", EndedAt: lockAt}
	if err := st.PutHistory(ctx, e); err != nil {
		t.Errorf("got error %v for an entry with only EndedAt, want nil", err)
	}
}

// TestMissingStateBucket checks that a missing bucket is reported by name
// from store operations.
func TestMissingStateBucket(t *testing.T) {
	srv := s3test.NewServer(t)
	st := New(s3api.New(srv.Client()), "no-specs", "no-state")
	ctx := context.Background()
	calls := map[string]func() error{
		"lock":    func() error { _, _, err := st.Lock(ctx, "e", "s"); return err },
		"spec":    func() error { _, err := st.ServiceSpec(ctx, "web", ""); return err },
		"history": func() error { _, err := st.History(ctx, "e", "s", 1); return err },
		"index":   func() error { _, _, err := st.Index(ctx); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			if !errors.Is(err, s3api.ErrNoSuchBucket) || !strings.Contains(err.Error(), `"no-`) {
				t.Errorf("got error %v, want ErrNoSuchBucket naming the bucket", err)
			}
			if errors.Is(err, ErrNotFound) {
				t.Errorf("got ErrNotFound for a missing bucket: a lock would look free")
			}
		})
	}
}

// TestLastDeployedByEnd: history is ordered by start, and a deployment that
// started first can end last (it waited for the lock): the one that runs
// is the one that succeeded last.
func TestLastDeployedByEnd(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	entries := []HistoryEntry{ // newest start first
		{Deployment: "failed", Outcome: workflow.OutcomeRolledBack, Image: "web@sha256:bad", StartedAt: t0.Add(3 * time.Minute), EndedAt: t0.Add(9 * time.Minute)},
		{Deployment: "took-the-free-lock", Outcome: workflow.OutcomeDeployed, Image: "web@sha256:older", StartedAt: t0.Add(2 * time.Minute), EndedAt: t0.Add(5 * time.Minute)},
		{Deployment: "waited", Outcome: workflow.OutcomeDeployed, Image: "web@sha256:newer", StartedAt: t0.Add(time.Minute), EndedAt: t0.Add(7 * time.Minute)},
		{Deployment: "first", Outcome: workflow.OutcomeDeployed, Image: "web@sha256:first", StartedAt: t0, EndedAt: t0.Add(time.Minute)},
	}
	got, ok := LastDeployed(entries)
	if !ok || got.Deployment != "waited" {
		t.Errorf("got %s (%v), want waited: it succeeded last", got.Deployment, ok)
	}
	if _, ok := LastDeployed(entries[:1]); ok {
		t.Error("a history of one rollback: got a deployment, want none")
	}
}
