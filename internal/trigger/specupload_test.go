package trigger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Versions of the samples s3-object-created-*.json.
const (
	serviceEventVersion     = "Xj4mQ8s0T2vKp9LrNcY7wZbE1aHdGfU3"
	environmentEventVersion = "pQ2uR7wYz0Ab3Cd6Ef9Gh1Ij4Kl7Mn0O"
)

var workerEntry = store.IndexEntry{Service: "worker", Repository: "worker", Tags: []string{"*"},
	Pipeline: []string{"staging"}, SpecVersion: "worker-v1"}

// bucket is the spec bucket of testdata/specs with web and worker accepted.
func bucket(t *testing.T) *fakeStore {
	t.Helper()
	st := indexed(webEntry, workerEntry)
	st.loadSpecs(t)
	// Both services run in staging: a spec change has something to redeploy.
	st.deployed("staging", "web", "web@"+pushedDigest)
	st.deployed("staging", "worker", "worker@"+pushedDigest)
	return st
}

func specFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/specs/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type uploadRig struct {
	store  *fakeStore
	sfn    *fakeSFN
	events *fakeEvents
	logs   *logs
	h      *SpecUpload
}

func newUploadRig(st *fakeStore) *uploadRig {
	r := &uploadRig{store: st, sfn: newFakeSFN(), events: &fakeEvents{}}
	log := newLoggerInto(&r.logs)
	r.h = NewSpecUpload(st, r.sfn, r.events, testConfig, log)
	r.h.now = func() time.Time { return time.Date(2026, 11, 25, 15, 10, 5, 0, time.UTC) }
	return r
}

func newLoggerInto(l **logs) *slog.Logger {
	log, captured := newLogger()
	*l = captured
	return log
}

func TestSpecUploadServiceDeploys(t *testing.T) {
	st := bucket(t)
	body := strings.Replace(specFile(t, "services/web.yaml"), "desiredCount: 2", "desiredCount: 3", 1)
	body = strings.Replace(body, `tags: ["v*", "main-*"]`, `tags: ["v*"]`, 1)
	st.put("services/web.yaml", serviceEventVersion, []byte(body))
	r := newUploadRig(st)

	if err := r.h.Handle(context.Background(), sample(t, "s3-object-created-service.json")); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if len(st.rejections) != 0 {
		t.Fatalf("got rejections %+v, want none", st.rejections)
	}
	wantEntry := store.IndexEntry{Service: "web", Repository: "web", Tags: []string{"v*"},
		Pipeline: []string{"staging", "prod"}, SpecVersion: serviceEventVersion}
	if diff := cmp.Diff(wantEntry, st.index.Entries["web"]); diff != "" {
		t.Errorf("index entry (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(workerEntry, st.index.Entries["worker"]); diff != "" {
		t.Errorf("other index entries must stay (-want +got):\n%s", diff)
	}
	got := r.sfn.executions()
	if len(got) != 1 {
		t.Fatalf("got %d executions, want 1", len(got))
	}
	want := workflow.Request{
		Service: "web", Environment: "staging", SpecVersion: serviceEventVersion,
		Reason:  "spec services/web.yaml updated",
		Trigger: workflow.Trigger{Kind: workflow.TriggerSpecUpload, Source: "services/web.yaml@" + serviceEventVersion, Actor: "123456789012"},
		// The event's time: the newer request wins (issue 11 item 5).
		RequestedAt: time.Date(2026, 11, 25, 15, 10, 4, 0, time.UTC),
	}
	if diff := cmp.Diff(want, got[0].input.Request); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	line := r.logs.find(t, "deployment started")
	if line["execution"] != got[0].name || line["service"] != "web" || line["environment"] != "staging" {
		t.Errorf("got log %v, want service, environment and execution attributes", line)
	}

	// The same event again (EventBridge delivers at least once): nothing new.
	if err := r.h.Handle(context.Background(), sample(t, "s3-object-created-service.json")); err != nil {
		t.Fatal(err)
	}
	if n := len(r.sfn.executions()); n != 1 {
		t.Errorf("got %d executions after a replay, want 1", n)
	}
}

func TestSpecUploadNewServiceWithoutTagsTracksEveryTag(t *testing.T) {
	st := bucket(t)
	delete(st.index.Entries, "worker")
	st.put("services/worker.yaml", serviceEventVersion, []byte(specFile(t, "services/worker.yaml")))
	event := edit(t, "s3-object-created-service.json", func(d map[string]any) {
		detail(d)["object"].(map[string]any)["key"] = "services/worker.yaml"
	})
	r := newUploadRig(st)
	if err := r.h.Handle(context.Background(), event); err != nil {
		t.Fatal(err)
	}
	e := st.index.Entries["worker"]
	if diff := cmp.Diff([]string{"*"}, e.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if m := st.index.Match("worker", "anything-1"); len(m) != 1 {
		t.Errorf("got %d matches for any tag, want 1", len(m))
	}
}

func TestSpecUploadRejects(t *testing.T) {
	tests := map[string]struct {
		body      string
		wantIn    []string // each must appear in some problem
		wantCount int      // exact number of problems, when > 0
	}{
		"not yaml": {
			body:   "image: [unclosed\n",
			wantIn: []string{"services/web.yaml:"},
		},
		"unknown field": {
			body:   strings.Replace(specFile(t, "services/web.yaml"), "pipeline:", "pipelines: [x]\npipeline:", 1),
			wantIn: []string{"pipelines"},
		},
		"environment listed twice": {
			body:      strings.Replace(specFile(t, "services/web.yaml"), "pipeline: [staging, prod]", "pipeline: [staging, staging]", 1),
			wantIn:    []string{`pipeline[1]: environment "staging" is listed twice`},
			wantCount: 1,
		},
		"several problems": {
			body: strings.Replace(strings.Replace(specFile(t, "services/web.yaml"),
				"repository: web", "repository: Web", 1), `memory: "512"`, `memory: "8192"`, 1),
			wantIn: []string{"image.repository", "memory"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := bucket(t)
			st.put("services/web.yaml", serviceEventVersion, []byte(tc.body))
			r := newUploadRig(st)
			if err := r.h.Handle(context.Background(), sample(t, "s3-object-created-service.json")); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if n := len(r.sfn.executions()); n != 0 {
				t.Errorf("got %d executions, want none for a rejected spec", n)
			}
			if diff := cmp.Diff(webEntry, st.index.Entries["web"]); diff != "" {
				t.Errorf("index changed by a rejected spec (-want +got):\n%s", diff)
			}
			if len(st.rejections) != 1 {
				t.Fatalf("got %d rejections, want 1", len(st.rejections))
			}
			rej := st.rejections[0]
			if rej.Key != "services/web.yaml" || rej.Version != serviceEventVersion || rej.At.IsZero() {
				t.Errorf("got rejection %+v, want key, version and time", rej)
			}
			all := strings.Join(rej.Problems, "\n")
			for _, w := range tc.wantIn {
				if !strings.Contains(all, w) {
					t.Errorf("problems do not mention %q:\n%s", w, all)
				}
			}
			if tc.wantCount > 0 && len(rej.Problems) != tc.wantCount {
				t.Errorf("got %d problems, want %d:\n%s", len(rej.Problems), tc.wantCount, all)
			}
			if len(r.events.events) != 1 {
				t.Fatalf("got %d events, want one Spec Rejected", len(r.events.events))
			}
			ev := r.events.events[0]
			want := SpecRejected{Key: "services/web.yaml", Version: serviceEventVersion, Problems: rej.Problems}
			if ev.detailType != DetailTypeSpecRejected {
				t.Errorf("got detail type %q, want %q", ev.detailType, DetailTypeSpecRejected)
			}
			if diff := cmp.Diff(want, ev.detail); diff != "" {
				t.Errorf("event detail (-want +got):\n%s", diff)
			}
			r.logs.find(t, "rejected")
		})
	}
}

// TestSpecUploadIgnoresOthersProblems: a broken spec elsewhere in the bucket
// (uploaded, rejected, still the latest object) does not block this upload.
func TestSpecUploadNeverDeployedStartsNothing(t *testing.T) {
	t.Run("service", func(t *testing.T) {
		st := bucket(t)
		st.history = nil
		st.put("services/web.yaml", serviceEventVersion, []byte(specFile(t, "services/web.yaml")))
		r := newUploadRig(st)
		if err := r.h.Handle(context.Background(), sample(t, "s3-object-created-service.json")); err != nil {
			t.Fatalf("Handle: %v", err)
		}
		if n := len(r.sfn.executions()); n != 0 {
			t.Errorf("got %d executions, want none: web runs no image in staging yet", n)
		}
		if len(st.rejections) != 0 {
			t.Errorf("got rejections %+v, want none: the spec is valid", st.rejections)
		}
		r.logs.find(t, "web has never been deployed to staging")
	})
	t.Run("environment", func(t *testing.T) {
		st := bucket(t)
		st.history = nil
		st.deployed("staging", "worker", "worker@"+pushedDigest)
		st.put("environments/staging.yaml", environmentEventVersion, []byte(specFile(t, "environments/staging.yaml")))
		r := newUploadRig(st)
		if err := r.h.Handle(context.Background(), sample(t, "s3-object-created-environment.json")); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range r.sfn.executions() {
			got = append(got, e.input.Service)
		}
		if diff := cmp.Diff([]string{"worker"}, got); diff != "" {
			t.Errorf("services redeployed (-want +got):\n%s", diff)
		}
	})
}

func TestSpecUploadIgnoresOthersProblems(t *testing.T) {
	st := bucket(t)
	st.put("services/broken.yaml", "broken-v1", []byte("image: {repository: broken}\npipeline: [nowhere]\n"))
	st.put("services/web.yaml", serviceEventVersion, []byte(specFile(t, "services/web.yaml")))
	r := newUploadRig(st)
	if err := r.h.Handle(context.Background(), sample(t, "s3-object-created-service.json")); err != nil {
		t.Fatal(err)
	}
	if len(st.rejections) != 0 {
		t.Fatalf("got rejections %+v, want none", st.rejections)
	}
	if n := len(r.sfn.executions()); n != 1 {
		t.Errorf("got %d executions, want 1", n)
	}
}

func TestSpecUploadIgnores(t *testing.T) {
	key := func(k string) []byte {
		return edit(t, "s3-object-created-service.json", func(d map[string]any) {
			detail(d)["object"].(map[string]any)["key"] = k
		})
	}
	tests := map[string]struct {
		event   []byte
		wantLog string
	}{
		"other bucket": {
			event: edit(t, "s3-object-created-service.json", func(d map[string]any) {
				detail(d)["bucket"].(map[string]any)["name"] = "someone-else"
			}),
			wantLog: "not the spec bucket",
		},
		"other prefix":  {key("README.md"), "outside services/ and environments/: ignored"},
		"subfolder":     {key("services/old/web.yaml"), "in a subfolder"},
		"not yaml":      {key("services/web.yaml.bak"), "not a .yaml, .yml or .json file"},
		"bad encoding":  {key("services/web%zz.yaml"), "event dropped"},
		"malformed":     {edit(t, "s3-object-created-service.json", func(d map[string]any) { delete(detail(d)["object"].(map[string]any), "version-id") }), "event dropped"},
		"wrong event":   {sample(t, "ecr-push.json"), "event dropped"},
		"stale version": {sample(t, "s3-object-created-service.json"), "superseded by"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := bucket(t)
			st.put("services/web.yaml", serviceEventVersion, []byte(specFile(t, "services/web.yaml")))
			if name == "stale version" {
				// A newer upload landed before this event was handled.
				st.put("services/web.yaml", "newer", []byte(specFile(t, "services/web.yaml")))
			}
			r := newUploadRig(st)
			if err := r.h.Handle(context.Background(), tc.event); err != nil {
				t.Fatalf("got %v, want the event dropped", err)
			}
			if r.sfn.calls != 0 || len(st.rejections) != 0 || len(r.events.events) != 0 {
				t.Errorf("got %d starts, %d rejections, %d events; want nothing done", r.sfn.calls, len(st.rejections), len(r.events.events))
			}
			if diff := cmp.Diff(webEntry, st.index.Entries["web"]); diff != "" {
				t.Errorf("index changed (-want +got):\n%s", diff)
			}
			r.logs.find(t, tc.wantLog)
		})
	}
}

func TestSpecUploadDeletedSpecIsRejected(t *testing.T) {
	st := bucket(t)
	delete(st.specs, "services/web.yaml")
	r := newUploadRig(st)
	if err := r.h.Handle(context.Background(), sample(t, "s3-object-created-service.json")); err != nil {
		t.Fatal(err)
	}
	if len(st.rejections) != 1 || !strings.Contains(st.rejections[0].Problems[0], "deleted") {
		t.Fatalf("got rejections %+v, want one saying the spec was deleted", st.rejections)
	}
	if r.sfn.calls != 0 {
		t.Errorf("got %d starts, want none", r.sfn.calls)
	}
}

func TestSpecUploadIndexConflict(t *testing.T) {
	st := bucket(t)
	st.put("services/web.yaml", serviceEventVersion, []byte(specFile(t, "services/web.yaml")))
	// Two other uploads write the index between this handler's read and
	// write; the handler must re-read and keep their entries.
	st.conflicts = 2
	st.concurrent = func(idx *store.Index) {
		idx.Entries["api"] = apiEntry
	}
	r := newUploadRig(st)
	if err := r.h.Handle(context.Background(), sample(t, "s3-object-created-service.json")); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if got := st.index.Entries["web"].SpecVersion; got != serviceEventVersion {
		t.Errorf("got web spec version %q, want %q", got, serviceEventVersion)
	}
	if _, ok := st.index.Entries["api"]; !ok {
		t.Error("the concurrent writer's entry was lost")
	}

	// A writer that always wins: the handler gives up with a transient error,
	// so Lambda retries the event later.
	st2 := bucket(t)
	st2.put("services/web.yaml", serviceEventVersion, []byte(specFile(t, "services/web.yaml")))
	st2.conflicts = 1000
	r2 := newUploadRig(st2)
	err := r2.h.Handle(context.Background(), sample(t, "s3-object-created-service.json"))
	var tr *workflow.Transient
	if !errors.As(err, &tr) || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("got %v, want a *workflow.Transient wrapping store.ErrConflict", err)
	}
	if r2.sfn.calls != 0 {
		t.Errorf("got %d starts before the index was written, want none", r2.sfn.calls)
	}
}

func TestSpecUploadEnvironment(t *testing.T) {
	t.Run("deployOnChange", func(t *testing.T) {
		st := bucket(t)
		body := strings.Replace(specFile(t, "environments/staging.yaml"), "cluster: staging", "cluster: staging-2", 1)
		st.put("environments/staging.yaml", environmentEventVersion, []byte(body))
		r := newUploadRig(st)
		if err := r.h.Handle(context.Background(), sample(t, "s3-object-created-environment.json")); err != nil {
			t.Fatal(err)
		}
		var got []workflow.Request
		for _, e := range r.sfn.executions() {
			got = append(got, e.input.Request)
		}
		trig := workflow.Trigger{Kind: workflow.TriggerSpecUpload, Source: "environments/staging.yaml@" + environmentEventVersion, Actor: "123456789012"}
		uploaded := time.Date(2026, 11, 25, 15, 12, 38, 0, time.UTC) // the event's time
		want := []workflow.Request{
			{Service: "web", Environment: "staging", SpecVersion: "web-v1", EnvironmentSpecVersion: environmentEventVersion,
				Reason: "environment spec environments/staging.yaml updated", Trigger: trig, RequestedAt: uploaded},
			{Service: "worker", Environment: "staging", SpecVersion: "worker-v1", EnvironmentSpecVersion: environmentEventVersion,
				Reason: "environment spec environments/staging.yaml updated", Trigger: trig, RequestedAt: uploaded},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
	})
	t.Run("deployOnChange off", func(t *testing.T) {
		st := bucket(t)
		st.put("environments/prod.yaml", environmentEventVersion, []byte(specFile(t, "environments/prod.yaml")))
		event := edit(t, "s3-object-created-environment.json", func(d map[string]any) {
			detail(d)["object"].(map[string]any)["key"] = "environments/prod.yaml"
		})
		r := newUploadRig(st)
		if err := r.h.Handle(context.Background(), event); err != nil {
			t.Fatal(err)
		}
		if r.sfn.calls != 0 || len(st.rejections) != 0 {
			t.Errorf("got %d starts and %d rejections, want none", r.sfn.calls, len(st.rejections))
		}
		line := r.logs.find(t, "deployOnChange is off: services not redeployed")
		if diff := cmp.Diff([]any{"web"}, line["services"]); diff != "" {
			t.Errorf("services not redeployed (-want +got):\n%s", diff)
		}
	})
	t.Run("breaks a service", func(t *testing.T) {
		st := bucket(t)
		// Without subnets, no Fargate service can run in staging.
		body := "cluster: staging\nlaunchType: FARGATE\ndeployOnChange: true\n"
		st.put("environments/staging.yaml", environmentEventVersion, []byte(body))
		r := newUploadRig(st)
		if err := r.h.Handle(context.Background(), sample(t, "s3-object-created-environment.json")); err != nil {
			t.Fatal(err)
		}
		if r.sfn.calls != 0 {
			t.Errorf("got %d starts, want none", r.sfn.calls)
		}
		if len(st.rejections) != 1 {
			t.Fatalf("got %d rejections, want 1", len(st.rejections))
		}
		all := strings.Join(st.rejections[0].Problems, "\n")
		for _, svc := range []string{"rendering web for environment staging", "rendering worker for environment staging"} {
			if !strings.Contains(all, svc) {
				t.Errorf("problems do not mention %q:\n%s", svc, all)
			}
		}
	})
}

func TestSpecUploadPublishFailureIsRetried(t *testing.T) {
	st := bucket(t)
	st.put("services/web.yaml", serviceEventVersion, []byte("nonsense: true\n"))
	r := newUploadRig(st)
	r.events.err = &workflow.Transient{Op: "PutEvents", Err: errors.New("ThrottlingException")}
	err := r.h.Handle(context.Background(), sample(t, "s3-object-created-service.json"))
	var tr *workflow.Transient
	if !errors.As(err, &tr) {
		t.Fatalf("got %v, want a *workflow.Transient", err)
	}
}

// TestValidateSurvivesAValidatorPanic: a spec that trips a bug in the
// validator is rejected with a problem saying so, not a crashed function.
func TestValidateSurvivesAValidatorPanic(t *testing.T) {
	// A nil service is a programming error Set.Validate cannot survive.
	_, err := validate(&spec.Set{Services: map[string]*spec.Service{"web": nil}})
	if err == nil || !strings.Contains(err.Error(), "validator failed") {
		t.Fatalf("got %v, want the panic turned into an error", err)
	}
	problems, _ := introduced(&spec.Set{Services: map[string]*spec.Service{"web": nil}}, SpecRef{Kind: SpecService, Name: "api", Key: "services/api.yaml"}, &spec.Service{Name: "api"})
	if len(problems) != 1 || !strings.HasPrefix(problems[0], "services/api.yaml: cannot be validated") {
		t.Errorf("got %q, want one problem naming the file", problems)
	}
}

func (f *fakeStore) Rejection(_ context.Context, key, version string) (store.Rejection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rejections {
		if r.Key == key && r.Version == version {
			return r, nil
		}
	}
	return store.Rejection{}, fmt.Errorf("read rejection of %s version %s: %w", key, version, store.ErrNotFound)
}

func (f *fakeStore) AcceptedSpec(_ context.Context, key string) (store.AcceptedSpec, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.acceptedReads == nil {
		f.acceptedReads = map[string]int{}
	}
	f.acceptedReads[key]++
	if f.err != nil {
		return store.AcceptedSpec{}, f.err
	}
	a, ok := f.accepted[key]
	if !ok {
		return store.AcceptedSpec{}, fmt.Errorf("read accepted version of %s: %w", key, store.ErrNotFound)
	}
	return a, nil
}

func (f *fakeStore) PutAcceptedSpec(_ context.Context, a store.AcceptedSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.accepted == nil {
		f.accepted = map[string]store.AcceptedSpec{}
	}
	f.accepted[a.Key] = a
	return nil
}

// objectEvent is an Object Created event of the spec bucket for one version
// of key, size bytes long.
func objectEvent(t *testing.T, key, version string, size int) []byte {
	t.Helper()
	return edit(t, "s3-object-created-environment.json", func(d map[string]any) {
		o := detail(d)["object"].(map[string]any)
		o["key"], o["version-id"], o["size"] = key, version, size
	})
}

// TestSpecUploadRejectedFileDoesNotPoison: an environment is accepted, a
// later version of it is rejected, and then a service is uploaded that
// needs the accepted environment (a variable only it defines). The service
// is validated against the accepted version, not the rejected latest, so
// it is accepted, and its deployment pins the environment version it was
// validated with (issue 12 item 2).
func TestSpecUploadRejectedFileDoesNotPoison(t *testing.T) {
	good := specFile(t, "environments/staging.yaml") + "variables:\n  GREETING: hello\n"
	tests := map[string]string{
		// Parses and validates on its own, but no Fargate service can run
		// without subnets: rejected for what it does to web and worker.
		"breaks every service": "cluster: staging\nlaunchType: FARGATE\ndeployOnChange: true\n",
		"does not parse":       "cluster: [staging\n",
		"over the size limit":  good + "#" + strings.Repeat("x", store.MaxSpecSize) + "\n",
	}
	for name, bad := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := bucket(t)
			r := newUploadRig(st)
			const envKey = "environments/staging.yaml"
			st.put(envKey, "env-good", []byte(good))
			if err := r.h.Handle(ctx, objectEvent(t, envKey, "env-good", len(good))); err != nil {
				t.Fatal(err)
			}
			if len(st.rejections) != 0 {
				t.Fatalf("got rejections %+v of the good environment, want none", st.rejections)
			}
			if got := st.accepted[envKey].Version; got != "env-good" {
				t.Fatalf("got accepted version %q, want env-good", got)
			}

			st.put(envKey, "env-bad", []byte(bad))
			if err := r.h.Handle(ctx, objectEvent(t, envKey, "env-bad", len(bad))); err != nil {
				t.Fatal(err)
			}
			if len(st.rejections) != 1 || st.rejections[0].Version != "env-bad" {
				t.Fatalf("got rejections %+v, want env-bad rejected", st.rejections)
			}
			if got := st.accepted[envKey].Version; got != "env-good" {
				t.Errorf("got accepted version %q after a rejection, want env-good still", got)
			}

			svc := strings.Replace(specFile(t, "services/web.yaml"), "pipeline: [staging, prod]", "pipeline: [staging]", 1)
			svc = strings.Replace(svc, "      essential: true\n", "      essential: true\n      environment:\n        - {name: GREETING, value: \"${GREETING}\"}\n", 1)
			st.put("services/web.yaml", "web-v2", []byte(svc))
			before := r.sfn.calls
			if err := r.h.Handle(ctx, objectEvent(t, "services/web.yaml", "web-v2", len(svc))); err != nil {
				t.Fatal(err)
			}
			if len(st.rejections) != 1 {
				t.Fatalf("got rejections %+v, want only env-bad's: the service upload must be accepted", st.rejections[1:])
			}
			if got := st.index.Entries["web"].SpecVersion; got != "web-v2" {
				t.Errorf("got indexed web version %q, want web-v2", got)
			}
			if r.sfn.calls != before+1 {
				t.Fatalf("got %d new starts, want 1", r.sfn.calls-before)
			}
			var got []string
			for _, e := range r.sfn.executions() {
				if req := e.input.Request; req.Service == "web" && req.SpecVersion == "web-v2" {
					got = append(got, req.EnvironmentSpecVersion)
				}
			}
			if diff := cmp.Diff([]string{"env-good"}, got); diff != "" {
				t.Errorf("environment spec version of the web-v2 deployment (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSpecUploadTooLarge: a spec file over the limit is rejected with the
// size and the limit, on the event's size before it is read, and on the
// size S3 returns when the event does not say (issue 12 item 1).
func TestSpecUploadTooLarge(t *testing.T) {
	size := store.MaxSpecSize + 1
	tests := map[string]struct {
		eventSize int
		want      string
	}{
		"event says": {eventSize: size,
			want: fmt.Sprintf("services/web.yaml: the file is %d bytes, more than the limit of %d bytes (1 MiB) per spec file; split it or move large values out of the spec; nothing deployed", size, store.MaxSpecSize)},
		"read says": {eventSize: 0,
			want: fmt.Sprintf("services/web.yaml: the file is %d bytes, more than the limit of %d bytes (1 MiB) per spec file; split it or move large values out of the spec; nothing deployed", size, store.MaxSpecSize)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			r := newRealRig(t)
			if _, err := r.srv.Put(testConfig.SpecBucket, "services/web.yaml", make([]byte, size)); err != nil {
				t.Fatal(err)
			}
			info, err := s3api.New(r.srv.Client()).Head(ctx, testConfig.SpecBucket, "services/web.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if err := r.upload.Handle(ctx, objectEvent(t, "services/web.yaml", info.VersionID, tc.eventSize)); err != nil {
				t.Fatalf("got error %v, want the upload rejected", err)
			}
			rej, err := r.store.Rejection(ctx, "services/web.yaml", info.VersionID)
			if err != nil {
				t.Fatalf("got %v reading the rejection, want it recorded", err)
			}
			if diff := cmp.Diff([]string{tc.want}, rej.Problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRealStoreOversizedEnvironmentDoesNotPoison: over the real store and
// S3, an environment whose latest version is over the size limit does not
// make a service upload fail or retry forever: the service is validated
// against the environment's accepted version.
func TestRealStoreOversizedEnvironmentDoesNotPoison(t *testing.T) {
	ctx := context.Background()
	r := newRealRig(t)
	for _, key := range []string{"environments/staging.yaml", "environments/prod.yaml"} {
		if err := r.upload.Handle(ctx, r.putSpec(t, key, []byte(specFile(t, key)))); err != nil {
			t.Fatal(err)
		}
	}
	big := make([]byte, store.MaxSpecSize+1)
	if _, err := r.srv.Put(testConfig.SpecBucket, "environments/staging.yaml", big); err != nil {
		t.Fatal(err)
	}
	info, err := s3api.New(r.srv.Client()).Head(ctx, testConfig.SpecBucket, "environments/staging.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.upload.Handle(ctx, objectEvent(t, "environments/staging.yaml", info.VersionID, len(big))); err != nil {
		t.Fatal(err)
	}
	if err := r.upload.Handle(ctx, r.putSpec(t, "services/web.yaml", []byte(specFile(t, "services/web.yaml")))); err != nil {
		t.Fatalf("got %v, want the service upload handled", err)
	}
	if len(r.events.events) != 1 {
		t.Fatalf("got %d rejections, want only the oversized environment's: %+v", len(r.events.events), r.events.events)
	}
	idx, _, err := r.store.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if idx.Entries["web"].SpecVersion == "" {
		t.Errorf("web not indexed, want the service upload accepted")
	}
}
