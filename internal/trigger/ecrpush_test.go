package trigger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

const pushedDigest = "sha256:3f1b9a2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"

func indexed(entries ...store.IndexEntry) *fakeStore {
	st := newFakeStore()
	for _, e := range entries {
		st.index.Entries[e.Service] = e
	}
	st.etag = 1
	return st
}

var (
	webEntry = store.IndexEntry{Service: "web", Repository: "web", Tags: []string{"v*", "main-*"},
		Pipeline: []string{"staging", "prod"}, SpecVersion: "web-v1"}
	// api tracks the same repository with other tags.
	apiEntry = store.IndexEntry{Service: "api", Repository: "web", Tags: []string{"release-*"},
		Pipeline: []string{"qa", "prod"}, SpecVersion: "api-v3"}
)

func TestECRPushStartsFirstEnvironment(t *testing.T) {
	st := indexed(webEntry, apiEntry)
	sfn := newFakeSFN()
	log, logs := newLogger()
	h := NewECRPush(st, sfn, testConfig, log)

	if err := h.Handle(context.Background(), sample(t, "ecr-push.json")); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	got := sfn.executions()
	if len(got) != 1 {
		t.Fatalf("got %d executions, want 1: %+v", len(got), got)
	}
	wantReq := workflow.Request{
		Service: "web", Environment: "staging",
		Image:       "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@" + pushedDigest,
		SpecVersion: "web-v1",
		Reason:      "pushed web:v1.4.2",
		Trigger:     workflow.Trigger{Kind: workflow.TriggerECRPush, Source: "4f5ec4d5-4de4-7aad-a046-56d5cfe1df0e", Actor: "ecr"},
		// The event's time: the newer push wins (issue 11 item 5).
		RequestedAt: time.Date(2026, 11, 25, 14, 2, 11, 0, time.UTC),
	}
	if diff := cmp.Diff(wantReq, got[0].input.Request); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	if got[0].stateMachine != testConfig.StateMachineARN {
		t.Errorf("got state machine %q, want %q", got[0].stateMachine, testConfig.StateMachineARN)
	}
	if want := ExecutionName(wantReq); got[0].name != want {
		t.Errorf("got execution name %q, want %q", got[0].name, want)
	}
	started := logs.find(t, "deployment started")
	for k, want := range map[string]string{"service": "web", "environment": "staging", "execution": got[0].name} {
		if started[k] != want {
			t.Errorf("log attribute %s = %v, want %q", k, started[k], want)
		}
	}
	ignored := logs.find(t, "tag v1.4.2 matches no pattern of api: ignored")
	if ignored["service"] != "api" {
		t.Errorf("got service %v in the ignore line, want api", ignored["service"])
	}
}

func TestECRPushIgnores(t *testing.T) {
	tests := map[string]struct {
		event   []byte
		index   *fakeStore
		wantLog string
	}{
		"untagged": {
			event: sample(t, "ecr-push-untagged.json"), index: indexed(webEntry),
			wantLog: "untagged push: ignored",
		},
		"tag matches no pattern": {
			event:   edit(t, "ecr-push.json", func(d map[string]any) { detail(d)["image-tag"] = "latest" }),
			index:   indexed(webEntry),
			wantLog: "tag latest matches no pattern of web: ignored",
		},
		"untracked repository": {
			event:   edit(t, "ecr-push.json", func(d map[string]any) { detail(d)["repository-name"] = "billing" }),
			index:   indexed(webEntry),
			wantLog: "no service tracks repository billing: ignored",
		},
		"empty index": {
			event: sample(t, "ecr-push.json"), index: newFakeStore(),
			wantLog: "no service tracks repository web: ignored",
		},
		"failed push": {
			event: edit(t, "ecr-push.json", func(d map[string]any) {
				detail(d)["result"] = "FAILURE"
				delete(detail(d), "image-digest")
			}),
			index:   indexed(webEntry),
			wantLog: "PUSH FAILURE is not a successful push: ignored",
		},
		"delete": {
			event:   edit(t, "ecr-push.json", func(d map[string]any) { detail(d)["action-type"] = "DELETE" }),
			index:   indexed(webEntry),
			wantLog: "DELETE SUCCESS is not a successful push: ignored",
		},
		"malformed": {
			event:   edit(t, "ecr-push.json", func(d map[string]any) { detail(d)["image-digest"] = "latest" }),
			index:   indexed(webEntry),
			wantLog: "event dropped",
		},
		"not an ECR event": {
			event: sample(t, "alarm-state-change.json"), index: indexed(webEntry),
			wantLog: "event dropped",
		},
		"garbage": {
			event: []byte("\x00\xff not json"), index: indexed(webEntry),
			wantLog: "event dropped",
		},
		"no pipeline": {
			event:   sample(t, "ecr-push.json"),
			index:   indexed(store.IndexEntry{Service: "web", Repository: "web", Tags: []string{"v*"}}),
			wantLog: "service web has no pipeline: nothing to deploy",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sfn := newFakeSFN()
			log, logs := newLogger()
			if err := NewECRPush(tc.index, sfn, testConfig, log).Handle(context.Background(), tc.event); err != nil {
				t.Fatalf("got error %v, want the event dropped (nil)", err)
			}
			if sfn.calls != 0 {
				t.Errorf("got %d StartExecution calls, want 0", sfn.calls)
			}
			logs.find(t, tc.wantLog)
		})
	}
}

func TestECRPushEveryMatchingService(t *testing.T) {
	api := apiEntry
	api.Tags = []string{"v1.*"}
	st := indexed(webEntry, api)
	sfn := newFakeSFN()
	log, _ := newLogger()
	if err := NewECRPush(st, sfn, testConfig, log).Handle(context.Background(), sample(t, "ecr-push.json")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range sfn.executions() {
		got = append(got, e.input.Service+"/"+e.input.Environment+"/"+e.input.SpecVersion)
	}
	want := []string{"api/qa/api-v3", "web/staging/web-v1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("executions (-want +got):\n%s", diff)
	}
}

func TestECRPushRetriesOnlyWhatMayPass(t *testing.T) {
	t.Run("index unavailable", func(t *testing.T) {
		st := indexed(webEntry)
		st.err = &workflow.Transient{Op: "GetObject", Err: errors.New("503 Slow Down")}
		log, _ := newLogger()
		err := NewECRPush(st, newFakeSFN(), testConfig, log).Handle(context.Background(), sample(t, "ecr-push.json"))
		var tr *workflow.Transient
		if !errors.As(err, &tr) {
			t.Fatalf("got %v, want a *workflow.Transient so Lambda retries", err)
		}
	})
	t.Run("one start throttled", func(t *testing.T) {
		api := apiEntry
		api.Tags = []string{"v*"}
		st := indexed(webEntry, api)
		sfn := newFakeSFN()
		sfn.failFor = "api"
		log, _ := newLogger()
		h := NewECRPush(st, sfn, testConfig, log)
		err := h.Handle(context.Background(), sample(t, "ecr-push.json"))
		var tr *workflow.Transient
		if !errors.As(err, &tr) {
			t.Fatalf("got %v, want a *workflow.Transient", err)
		}
		if n := len(sfn.executions()); n != 1 {
			t.Fatalf("got %d executions, want web's to start despite api's failure", n)
		}
		// Lambda's retry starts api and finds web already there.
		sfn.failFor = ""
		if err := h.Handle(context.Background(), sample(t, "ecr-push.json")); err != nil {
			t.Fatalf("retry: %v", err)
		}
		if n := len(sfn.executions()); n != 2 {
			t.Errorf("got %d executions after the retry, want 2", n)
		}
	})
}

// TestECRPushReplay replays one event 100 times, concurrently, as
// EventBridge's at-least-once delivery and Lambda's retries may: exactly one
// execution starts, every other start finds it there.
func TestECRPushReplay(t *testing.T) {
	st := indexed(webEntry)
	sfn := newFakeSFN()
	log, logs := newLogger()
	h := NewECRPush(st, sfn, testConfig, log)
	event := sample(t, "ecr-push.json")

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Go(func() { errs <- h.Handle(context.Background(), event) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Handle: %v", err)
		}
	}
	if n := len(sfn.executions()); n != 1 {
		t.Errorf("got %d executions, want 1", n)
	}
	if sfn.calls != 100 {
		t.Errorf("got %d StartExecution calls, want 100", sfn.calls)
	}
	dups := 0
	for _, r := range logs.records(t) {
		if r["msg"] == "deployment already started: duplicate event ignored" {
			dups++
		}
	}
	if dups != 99 {
		t.Errorf("got %d duplicate log lines, want 99", dups)
	}
}

// TestECRPushTwoPushes: two pushes in quick succession are two deployments.
// Both start; the engine's lock and queue let the newer supersede the older
// before it applies (internal/deploy), so they never interleave.
func TestECRPushTwoPushes(t *testing.T) {
	st := indexed(webEntry)
	sfn := newFakeSFN()
	log, _ := newLogger()
	h := NewECRPush(st, sfn, testConfig, log)
	first := sample(t, "ecr-push.json")
	second := edit(t, "ecr-push.json", func(d map[string]any) {
		d["id"] = "0b6d2f84-1c3e-4a5b-9d7f-8e2a1c0b3d4e"
		detail(d)["image-tag"] = "v1.4.3"
		detail(d)["image-digest"] = "sha256:" + fmt.Sprintf("%064x", 7)
	})
	for _, ev := range [][]byte{first, second} {
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	got := sfn.executions()
	if len(got) != 2 {
		t.Fatalf("got %d executions, want 2", len(got))
	}
	if got[0].name == got[1].name {
		t.Errorf("got one name %q for two pushes, want two", got[0].name)
	}
}

// TestECRPushRetagIsASecondEvent: a second tag on the same digest is a
// second event, and every event is a deployment (exactly-once holds for one
// event delivered twice, see TestECRPushReplay): a push of the last good
// build must roll forward. The lock serialises the two; the newer supersedes
// the older before it applies.
func TestECRPushRetagIsASecondEvent(t *testing.T) {
	st := indexed(webEntry)
	sfn := newFakeSFN()
	log, _ := newLogger()
	h := NewECRPush(st, sfn, testConfig, log)
	retag := edit(t, "ecr-push.json", func(d map[string]any) {
		d["id"] = "7c1e0a59-2b4d-4f6e-8a9c-0d1e2f3a4b5c"
		detail(d)["image-tag"] = "main-8f3e2a1"
	})
	for _, ev := range [][]byte{sample(t, "ecr-push.json"), retag, retag} {
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(sfn.executions()); n != 2 {
		t.Errorf("got %d executions for two events (one delivered twice), want 2", n)
	}
}

// TestECRPushDeploysFromThePushedRegistry checks that the deployed image
// names the registry the event says the image was pushed to: a reference
// without one is pulled from Docker Hub, where a private digest never is.
func TestECRPushDeploysFromThePushedRegistry(t *testing.T) {
	tests := map[string]struct {
		account, region string
		want            string // the requested image; empty: nothing started
	}{
		"sample": {"123456789012", "eu-west-1",
			"123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@" + pushedDigest},
		"other account and region": {"210987654321", "us-east-2",
			"210987654321.dkr.ecr.us-east-2.amazonaws.com/web@" + pushedDigest},
		"GovCloud": {"123456789012", "us-gov-west-1",
			"123456789012.dkr.ecr.us-gov-west-1.amazonaws.com/web@" + pushedDigest},
		"China": {"123456789012", "cn-north-1",
			"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web@" + pushedDigest},
		"no account": {"", "eu-west-1", ""},
		"no region":  {"123456789012", "", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			event := edit(t, "ecr-push.json", func(d map[string]any) {
				d["account"], d["region"] = tc.account, tc.region
			})
			sfn := newFakeSFN()
			log, _ := newLogger()
			// A stack in the event's account and region, which it accepts
			// events from (see TestOrigin).
			cfg := testConfig
			cfg.StateMachineARN = "arn:aws:states:" + tc.region + ":" + tc.account + ":stateMachine:deploy"
			if err := NewECRPush(indexed(webEntry), sfn, cfg, log).Handle(context.Background(), event); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			got := sfn.executions()
			if tc.want == "" {
				if len(got) != 0 {
					t.Fatalf("got %d executions for an event without a registry, want 0", len(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d executions, want 1", len(got))
			}
			if img := got[0].input.Request.Image; img != tc.want {
				t.Errorf("got image %s, want %s", img, tc.want)
			}
		})
	}
}

// TestECRPushPinsAcceptedEnvironment: a push deploys with the environment as
// last accepted, not a later upload of it that was rejected (issue 12 item
// 2); with none recorded, with the latest.
func TestECRPushPinsAcceptedEnvironment(t *testing.T) {
	tests := map[string]struct {
		accepted map[string]store.AcceptedSpec
		want     string
	}{
		"accepted version recorded": {
			accepted: map[string]store.AcceptedSpec{"environments/staging.yaml": {Key: "environments/staging.yaml", Version: "env-good"}},
			want:     "env-good",
		},
		"none recorded": {want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := indexed(webEntry)
			st.accepted = tc.accepted
			sfn := newFakeSFN()
			log, _ := newLogger()
			if err := NewECRPush(st, sfn, testConfig, log).Handle(context.Background(), sample(t, "ecr-push.json")); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			got := sfn.executions()
			if len(got) != 1 {
				t.Fatalf("got %d executions, want 1", len(got))
			}
			if v := got[0].input.Request.EnvironmentSpecVersion; v != tc.want {
				t.Errorf("got environment spec version %q, want %q", v, tc.want)
			}
		})
	}
}

// TestECRPushReadsEachEnvironmentOnce: two services that deploy first to one
// environment both get its accepted version, read from the store once.
func TestECRPushReadsEachEnvironmentOnce(t *testing.T) {
	other := webEntry
	other.Service = "web-canary"
	st := indexed(webEntry, other)
	st.accepted = map[string]store.AcceptedSpec{"environments/staging.yaml": {Key: "environments/staging.yaml", Version: "env-good"}}
	sfn := newFakeSFN()
	log, _ := newLogger()
	if err := NewECRPush(st, sfn, testConfig, log).Handle(context.Background(), sample(t, "ecr-push.json")); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	got := sfn.executions()
	if len(got) != 2 {
		t.Fatalf("got %d executions, want 2", len(got))
	}
	for _, x := range got {
		if v := x.input.Request.EnvironmentSpecVersion; v != "env-good" {
			t.Errorf("%s: got environment spec version %q, want %q", x.input.Request.Service, v, "env-good")
		}
	}
	if n := st.acceptedReads["environments/staging.yaml"]; n != 1 {
		t.Errorf("got %d reads of the accepted staging version, want 1", n)
	}
}
