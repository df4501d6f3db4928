package trigger

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

const ecsDeployment = "ecs-svc/4218301648853079204"

func watches() []store.Watch {
	return []store.Watch{
		{Token: "t-stable", Deployment: "d1", Execution: "arn:exec:web-prod-1", Kind: workflow.WaitStable,
			Environment: "prod", Service: "web", ECSDeployment: ecsDeployment, Alarms: []string{"web-5xx", "web-latency"}},
		{Token: "t-bake", Deployment: "d2", Execution: "arn:exec:web-prod-2", Kind: workflow.WaitBake,
			Environment: "prod", Service: "web", ECSDeployment: ecsDeployment, Alarms: []string{"web-5xx"}},
		{Token: "t-other", Deployment: "d3", Execution: "arn:exec:worker-staging-1", Kind: workflow.WaitBake,
			Environment: "staging", Service: "worker", ECSDeployment: "ecs-svc/1", Alarms: []string{"worker-errors"}},
	}
}

func signalRig(t *testing.T) (*Signal, *fakeStore, *fakeSFN, *logs) {
	t.Helper()
	st := newFakeStore()
	st.watches = watches()
	sfn := newFakeSFN()
	log, logs := newLogger()
	return NewSignal(st, sfn, testConfig, log), st, sfn, logs
}

func TestSignalAlarmFailsEveryWatch(t *testing.T) {
	h, st, sfn, logs := signalRig(t)
	if err := h.Handle(context.Background(), sample(t, "alarm-state-change.json")); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	var tokens []string
	for _, s := range sfn.sent {
		tokens = append(tokens, s.token)
		var af *workflow.AlarmFired
		if !errors.As(s.cause, &af) {
			t.Fatalf("token %s: got cause %v, want a *workflow.AlarmFired", s.token, s.cause)
		}
		if af.Alarm != "web-5xx" || af.Reason == "" {
			t.Errorf("got %+v, want alarm web-5xx with the state's reason", af)
		}
		if got := workflow.ErrorName(workflow.Named(s.cause)); got != "AlarmFired" {
			t.Errorf("got error name %q, want AlarmFired", got)
		}
	}
	slices.Sort(tokens)
	if diff := cmp.Diff([]string{"t-bake", "t-stable"}, tokens); diff != "" {
		t.Errorf("failed tokens (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"t-other"}, st.watchTokens()); diff != "" {
		t.Errorf("remaining watches (-want +got):\n%s", diff)
	}
	line := logs.find(t, "alarm web-5xx in ALARM: failing the bake wait")
	if line["service"] != "web" || line["environment"] != "prod" || line["execution"] != "arn:exec:web-prod-2" {
		t.Errorf("got log %v, want service, environment and execution", line)
	}

	// The same event again: the watches are gone, nothing is sent.
	sent := len(sfn.sent)
	if err := h.Handle(context.Background(), sample(t, "alarm-state-change.json")); err != nil {
		t.Fatal(err)
	}
	if len(sfn.sent) != sent {
		t.Errorf("a replay sent %d more results, want none", len(sfn.sent)-sent)
	}
	logs.find(t, "no deployment watches it")
}

func TestSignalECSCompleted(t *testing.T) {
	h, st, sfn, logs := signalRig(t)
	if err := h.Handle(context.Background(), sample(t, "ecs-deployment-completed.json")); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if len(sfn.sent) != 1 {
		t.Fatalf("got %d results sent, want 1: %+v", len(sfn.sent), sfn.sent)
	}
	s := sfn.sent[0]
	want := workflow.Signal{Source: "ecs", Detail: "ECS deployment ecs-svc/4218301648853079204 completed."}
	if s.token != "t-stable" || s.cause != nil {
		t.Fatalf("got %+v, want success for t-stable", s)
	}
	if diff := cmp.Diff(want, s.output); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	// A bake lasts its full time: completion does not end it.
	if diff := cmp.Diff([]string{"t-bake", "t-other"}, st.watchTokens()); diff != "" {
		t.Errorf("remaining watches (-want +got):\n%s", diff)
	}
	logs.find(t, "completed: the bake wait goes on")
}

func TestSignalECSFailed(t *testing.T) {
	h, st, sfn, _ := signalRig(t)
	if err := h.Handle(context.Background(), sample(t, "ecs-deployment-failed.json")); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if len(sfn.sent) != 2 {
		t.Fatalf("got %d results sent, want 2", len(sfn.sent))
	}
	for _, s := range sfn.sent {
		var df *workflow.DeploymentFailed
		if !errors.As(s.cause, &df) {
			t.Fatalf("token %s: got cause %v, want a *workflow.DeploymentFailed", s.token, s.cause)
		}
		if df.Reason != "ECS deployment circuit breaker: tasks failed to start." {
			t.Errorf("got reason %q, want the event's", df.Reason)
		}
	}
	if diff := cmp.Diff([]string{"t-other"}, st.watchTokens()); diff != "" {
		t.Errorf("remaining watches (-want +got):\n%s", diff)
	}
}

func TestSignalIgnores(t *testing.T) {
	tests := map[string]struct {
		event   []byte
		wantLog string
	}{
		"alarm OK":          {sample(t, "alarm-ok.json"), "alarm web-5xx went to OK: ignored"},
		"insufficient data": {edit(t, "alarm-state-change.json", func(d map[string]any) { detail(d)["state"].(map[string]any)["value"] = "INSUFFICIENT_DATA" }), "went to INSUFFICIENT_DATA: ignored"},
		"in progress":       {sample(t, "ecs-deployment-in-progress.json"), "in progress: ignored"},
		"unknown ECS event": {edit(t, "ecs-deployment-completed.json", func(d map[string]any) { detail(d)["eventName"] = "SERVICE_DEPLOYMENT_PAUSED" }), "SERVICE_DEPLOYMENT_PAUSED: ignored"},
		"other event":       {sample(t, "ecr-push.json"), "event dropped"},
		"malformed alarm":   {edit(t, "alarm-state-change.json", func(d map[string]any) { detail(d)["state"] = "ALARM" }), "event dropped"},
		"malformed ECS":     {edit(t, "ecs-deployment-failed.json", func(d map[string]any) { delete(detail(d), "deploymentId") }), "event dropped"},
		"not json":          {[]byte("{"), "event dropped"},
		"no detail type":    {edit(t, "alarm-state-change.json", func(d map[string]any) { delete(d, "detail-type") }), "event dropped"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h, st, sfn, logs := signalRig(t)
			if err := h.Handle(context.Background(), tc.event); err != nil {
				t.Fatalf("got %v, want the event dropped", err)
			}
			if len(sfn.sent) != 0 || len(st.watches) != 3 {
				t.Errorf("got %d results sent and %d watches, want nothing changed", len(sfn.sent), len(st.watches))
			}
			logs.find(t, tc.wantLog)
		})
	}
}

func TestSignalClosedTaskIsNotAnError(t *testing.T) {
	h, st, sfn, logs := signalRig(t)
	sfn.closed["t-stable"] = true // timed out, or its execution was stopped
	if err := h.Handle(context.Background(), sample(t, "ecs-deployment-completed.json")); err != nil {
		t.Fatalf("got %v, want a closed task treated as done", err)
	}
	if slices.Contains(st.watchTokens(), "t-stable") {
		t.Error("the stale watch of a closed task was kept")
	}
	logs.find(t, "the task was already closed")
}

func TestSignalTransientFailureKeepsWatch(t *testing.T) {
	h, st, sfn, _ := signalRig(t)
	sfn.broken["t-bake"] = &workflow.Transient{Op: "SendTaskFailure", Err: errors.New("ThrottlingException")}
	err := h.Handle(context.Background(), sample(t, "alarm-state-change.json"))
	var tr *workflow.Transient
	if !errors.As(err, &tr) {
		t.Fatalf("got %v, want a *workflow.Transient so Lambda retries", err)
	}
	if diff := cmp.Diff([]string{"t-bake", "t-other"}, st.watchTokens()); diff != "" {
		t.Errorf("remaining watches (-want +got):\n%s", diff)
	}
	// The retry completes what is left; the other task is not sent twice.
	delete(sfn.broken, "t-bake")
	if err := h.Handle(context.Background(), sample(t, "alarm-state-change.json")); err != nil {
		t.Fatal(err)
	}
	if len(sfn.sent) != 2 {
		t.Errorf("got %d results sent in all, want 2", len(sfn.sent))
	}
}

func TestSignalStoreUnavailable(t *testing.T) {
	h, st, _, _ := signalRig(t)
	st.err = &workflow.Transient{Op: "ListObjectsV2", Err: errors.New("503")}
	for _, name := range []string{"alarm-state-change.json", "ecs-deployment-completed.json"} {
		err := h.Handle(context.Background(), sample(t, name))
		var tr *workflow.Transient
		if !errors.As(err, &tr) {
			t.Errorf("%s: got %v, want a *workflow.Transient", name, err)
		}
	}
}
