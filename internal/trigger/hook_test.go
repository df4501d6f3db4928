package trigger

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

const sampleServiceDeployment = "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/Qm3xT8vLpR2aN7cYk4WdE"

func TestParseECSHookStateChange(t *testing.T) {
	ev, err := ParseECSHookStateChange(sample(t, "ecs-hook-state-change.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := ev.Detail
	if d.EventName != ECSHookAwaitingAction || d.ServiceDeploymentArn != sampleServiceDeployment ||
		d.LifecycleStage != "POST_TEST_TRAFFIC_SHIFT" || d.HookID == "" || d.HookType != "PAUSE" {
		t.Errorf("got %+v, want the sample's awaiting PAUSE hook at POST_TEST_TRAFFIC_SHIFT", d)
	}
}

// TestParseECSHookStateChangeMalformed: an event the signal function cannot
// act on is refused with the field and the reason.
func TestParseECSHookStateChangeMalformed(t *testing.T) {
	tests := map[string]struct {
		change func(map[string]any)
		field  string
	}{
		"no event name":          {func(d map[string]any) { delete(detail(d), "eventName") }, "detail.eventName"},
		"no service deployment":  {func(d map[string]any) { delete(detail(d), "serviceDeploymentArn") }, "detail.serviceDeploymentArn"},
		"not a deployment ARN":   {func(d map[string]any) { detail(d)["serviceDeploymentArn"] = "ecs-svc/1" }, "detail.serviceDeploymentArn"},
		"awaiting with no hook":  {func(d map[string]any) { delete(detail(d), "hookId") }, "detail.hookId"},
		"detail of wrong type":   {func(d map[string]any) { detail(d)["hookId"] = 7 }, "detail"},
		"another service's hook": {func(d map[string]any) { d["source"] = "aws.lambda" }, "source"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseECSHookStateChange(edit(t, "ecs-hook-state-change.json", tc.change))
			var me *MalformedEvent
			if !errors.As(err, &me) {
				t.Fatalf("got %v, want a *MalformedEvent", err)
			}
			if me.DetailType != DetailTypeECSHookState && me.DetailType != "EventBridge" {
				t.Errorf("got detail type %q, want %q", me.DetailType, DetailTypeECSHookState)
			}
			if len(me.Field) < len(tc.field) || me.Field[:len(tc.field)] != tc.field {
				t.Errorf("got field %q, want %s…", me.Field, tc.field)
			}
		})
	}
}

func hookWatch() store.Watch {
	return store.Watch{Token: "t-hook", Deployment: "d9", Execution: "arn:exec:web-prod-9", Kind: workflow.WaitHook,
		Environment: "prod", Service: "web", ECSDeployment: ecsDeployment, ServiceDeployment: sampleServiceDeployment,
		Alarms: []string{"web-5xx"}}
}

// TestSignalHookWakesItsWait: a PAUSE hook awaiting action completes the
// wait on its service deployment (only that one), with a success the
// check after it reads.
func TestSignalHookWakesItsWait(t *testing.T) {
	h, st, sfn, _ := signalRig(t)
	st.watches = append(st.watches, hookWatch())
	if err := h.Handle(context.Background(), sample(t, "ecs-hook-state-change.json")); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if len(sfn.sent) != 1 || sfn.sent[0].token != "t-hook" || sfn.sent[0].cause != nil {
		t.Fatalf("got %+v, want one success for t-hook", sfn.sent)
	}
	want := workflow.Signal{Source: "ecs", Detail: "hook ecs-pause-k9Xq2LmT7vRwN4bYc8ZpJd3HsGf6Ae1Uo5Vi0Kt_Qy- awaits action at POST_TEST_TRAFFIC_SHIFT"}
	if diff := cmp.Diff(want, sfn.sent[0].output); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"t-stable", "t-bake", "t-other"}, st.watchTokens()); diff != "" {
		t.Errorf("remaining watches (-want +got):\n%s", diff)
	}
}

// TestSignalHookIgnoresOtherHookEvents: only HOOK_AWAITING_ACTION ends a
// wait.
func TestSignalHookIgnoresOtherHookEvents(t *testing.T) {
	h, st, sfn, logs := signalRig(t)
	st.watches = append(st.watches, hookWatch())
	ev := edit(t, "ecs-hook-state-change.json", func(d map[string]any) { detail(d)["eventName"] = ECSHookSucceeded })
	if err := h.Handle(context.Background(), ev); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if len(sfn.sent) != 0 {
		t.Errorf("got %+v sent, want nothing", sfn.sent)
	}
	logs.find(t, "hook event HOOK_SUCCEEDED: ignored")
}

// TestSignalNativeEndWakesNotFails: the end of a native deployment, even
// SERVICE_DEPLOYMENT_FAILED (ECS's own rollback), wakes a hook wait with a
// success; the check reads why, and a rollback's wait ends with it.
func TestSignalNativeEndWakesNotFails(t *testing.T) {
	for _, name := range []string{"ecs-deployment-failed.json", "ecs-deployment-completed.json"} {
		t.Run(name, func(t *testing.T) {
			h, st, sfn, _ := signalRig(t)
			st.watches = []store.Watch{hookWatch()}
			if err := h.Handle(context.Background(), sample(t, name)); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if len(sfn.sent) != 1 || sfn.sent[0].token != "t-hook" || sfn.sent[0].cause != nil {
				t.Fatalf("got %+v, want one success for t-hook", sfn.sent)
			}
			if len(st.watchTokens()) != 0 {
				t.Errorf("got watches %v left, want none", st.watchTokens())
			}
		})
	}
}
