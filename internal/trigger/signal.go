package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	sfnapi "github.com/slipwayhq/slipway/internal/awsapi/sfn"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// watchStore finds and removes the watches of waiting tasks; *store.Store
// implements it.
type watchStore interface {
	WatchesForAlarm(ctx context.Context, alarm string) ([]store.Watch, error)
	WatchesForECSDeployment(ctx context.Context, id string) ([]store.Watch, error)
	DeleteWatch(ctx context.Context, w store.Watch) error
}

// taskCompleter completes waiting tasks; *sfn.Client implements it. Both
// methods return an error wrapping sfn.ErrTaskClosed when the task no longer
// waits.
type taskCompleter interface {
	SendTaskSuccess(ctx context.Context, token string, output any) error
	SendTaskFailure(ctx context.Context, token string, cause error) error
}

// Signal handles the events that end waits: a CloudWatch alarm going into
// ALARM fails every wait watching it (the deployment rolls back now, not at
// the end of the bake), an ECS deployment completing or failing ends the
// waits on that deployment, and a PAUSE hook of an ECS-native deployment
// awaiting action wakes the wait on that service deployment.
//
// An event may arrive before the watch phase has written its watch; then
// nothing is found here, and the wait's timeout re-check (the reconcile
// interval) sees the alarm or the deployment state instead.
type Signal struct {
	watches watchStore
	tasks   taskCompleter
	origin  Origin
	log     *slog.Logger
}

// NewSignal returns the handler. watches is normally a *store.Store, tasks
// an *sfn.Client; events are accepted from cfg.Origin().
func NewSignal(watches watchStore, tasks taskCompleter, cfg Config, log *slog.Logger) *Signal {
	return &Signal{watches: watches, tasks: tasks, origin: cfg.Origin(), log: log}
}

// Handle processes one event. It returns an error only when retrying may
// help; a closed task is not an error, and a malformed or irrelevant event is
// logged and dropped.
func (h *Signal) Handle(ctx context.Context, event json.RawMessage) error {
	head, err := Header(event)
	if err != nil {
		h.log.Warn("event dropped", "error", err.Error())
		return nil
	}
	if !fromOrigin(h.origin, h.log, &head) {
		return nil
	}
	switch head.DetailType {
	case DetailTypeAlarmStateChange:
		return h.alarm(ctx, event)
	case DetailTypeECSDeploymentState:
		return h.deployment(ctx, event)
	case DetailTypeECSHookState:
		return h.hook(ctx, event)
	}
	h.log.Warn(fmt.Sprintf("event dropped: detail-type %q is not %q, %q or %q", head.DetailType,
		DetailTypeAlarmStateChange, DetailTypeECSDeploymentState, DetailTypeECSHookState), "event", head.ID)
	return nil
}

// hook wakes the waits on a native service deployment whose PAUSE hook
// awaits action. The wait's check reads the deployment itself and decides
// the gate: the event only says when to look.
func (h *Signal) hook(ctx context.Context, event json.RawMessage) error {
	ev, err := ParseECSHookStateChange(event)
	if err != nil {
		h.log.Warn("event dropped", "error", err.Error())
		return nil
	}
	d := ev.Detail
	log := h.log.With("event", ev.ID, "serviceDeployment", d.ServiceDeploymentArn, "hook", d.HookID)
	if d.EventName != ECSHookAwaitingAction {
		log.Info(fmt.Sprintf("hook event %s: ignored, waits end when a hook awaits action", d.EventName))
		return nil
	}
	watches, err := h.watches.WatchesForECSDeployment(ctx, d.ServiceDeploymentArn)
	if err != nil {
		return fmt.Errorf("service deployment %s: %w", d.ServiceDeploymentArn, err)
	}
	if len(watches) == 0 {
		log.Info(fmt.Sprintf("hook %s awaits action at %s: no deployment waits for it", d.HookID, d.LifecycleStage))
		return nil
	}
	signal := workflow.Signal{Source: "ecs", Detail: fmt.Sprintf("hook %s awaits action at %s", d.HookID, d.LifecycleStage)}
	var errs []error
	for _, w := range watches {
		errs = append(errs, h.complete(ctx, log, w, signal.Detail+": the wait is over",
			func(token string) error { return h.tasks.SendTaskSuccess(ctx, token, signal) }))
	}
	return errors.Join(errs...)
}

func (h *Signal) alarm(ctx context.Context, event json.RawMessage) error {
	ev, err := ParseAlarmStateChange(event)
	if err != nil {
		h.log.Warn("event dropped", "error", err.Error())
		return nil
	}
	d := ev.Detail
	log := h.log.With("event", ev.ID, "alarm", d.AlarmName)
	if d.State.Value != AlarmStateAlarm {
		log.Info(fmt.Sprintf("alarm %s went to %s: ignored, only ALARM ends a wait", d.AlarmName, d.State.Value))
		return nil
	}
	watches, err := h.watches.WatchesForAlarm(ctx, d.AlarmName)
	if err != nil {
		return fmt.Errorf("alarm %s: %w", d.AlarmName, err)
	}
	if len(watches) == 0 {
		log.Info(fmt.Sprintf("alarm %s in ALARM: no deployment watches it", d.AlarmName))
		return nil
	}
	cause := &workflow.AlarmFired{Alarm: d.AlarmName, Reason: d.State.Reason}
	var errs []error
	for _, w := range watches {
		errs = append(errs, h.complete(ctx, log, w, fmt.Sprintf("alarm %s in ALARM: failing the %s wait, the deployment rolls back", d.AlarmName, w.Kind),
			func(token string) error { return h.tasks.SendTaskFailure(ctx, token, cause) }))
	}
	return errors.Join(errs...)
}

func (h *Signal) deployment(ctx context.Context, event json.RawMessage) error {
	ev, err := ParseECSDeploymentStateChange(event)
	if err != nil {
		h.log.Warn("event dropped", "error", err.Error())
		return nil
	}
	d := ev.Detail
	log := h.log.With("event", ev.ID, "ecsDeployment", d.DeploymentID)
	switch d.EventName {
	case ECSDeploymentCompleted, ECSDeploymentFailed:
	case ECSDeploymentInProgress:
		log.Info(fmt.Sprintf("ECS deployment %s in progress: ignored, waits end on completion or failure", d.DeploymentID))
		return nil
	default:
		log.Info(fmt.Sprintf("ECS deployment event %s: ignored, not one Slipway waits for", d.EventName))
		return nil
	}
	watches, err := h.watches.WatchesForECSDeployment(ctx, d.DeploymentID)
	if err != nil {
		return fmt.Errorf("ECS deployment %s: %w", d.DeploymentID, err)
	}
	if len(watches) == 0 {
		log.Info(fmt.Sprintf("ECS deployment %s: %s, no deployment waits for it", d.DeploymentID, d.EventName))
		return nil
	}
	var errs []error
	for _, w := range watches {
		if w.Kind == workflow.WaitHook {
			// A native deployment's end, either way, wakes its wait: the
			// check reads why (ECS's alarm or circuit breaker rollback, or
			// the end of Slipway's own rollback).
			signal := workflow.Signal{Source: "ecs", Detail: fmt.Sprintf("ECS deployment %s: %s", d.DeploymentID, d.EventName)}
			errs = append(errs, h.complete(ctx, log, w, signal.Detail+": the wait is over",
				func(token string) error { return h.tasks.SendTaskSuccess(ctx, token, signal) }))
			continue
		}
		if d.EventName == ECSDeploymentCompleted {
			// Completion ends a wait for stability only: a bake lasts its
			// full time whatever ECS reports.
			if w.Kind != workflow.WaitStable {
				log.Info(fmt.Sprintf("ECS deployment %s completed: the %s wait goes on", d.DeploymentID, w.Kind), watchAttrs(w)...)
				continue
			}
			signal := workflow.Signal{Source: "ecs", Detail: completedDetail(d)}
			errs = append(errs, h.complete(ctx, log, w, fmt.Sprintf("ECS deployment %s completed: the wait is over", d.DeploymentID),
				func(token string) error { return h.tasks.SendTaskSuccess(ctx, token, signal) }))
			continue
		}
		cause := &workflow.DeploymentFailed{Reason: failedReason(d)}
		errs = append(errs, h.complete(ctx, log, w, fmt.Sprintf("ECS deployment %s failed: failing the %s wait, the deployment rolls back", d.DeploymentID, w.Kind),
			func(token string) error { return h.tasks.SendTaskFailure(ctx, token, cause) }))
	}
	return errors.Join(errs...)
}

// complete sends the outcome to the watch's task and then deletes the watch.
// A task that is already closed (completed by another event, timed out, or
// its execution stopped) is not an error: the watch is stale and goes too. On
// any other failure the watch stays, so a retry finds it again.
func (h *Signal) complete(ctx context.Context, log *slog.Logger, w store.Watch, decision string, send func(token string) error) error {
	log = log.With(watchAttrs(w)...)
	err := send(w.Token)
	switch {
	case errors.Is(err, sfnapi.ErrTaskClosed):
		log.Info(decision + " (the task was already closed)")
	case err != nil:
		return fmt.Errorf("complete the %s wait of deployment %s: %w", w.Kind, w.Deployment, err)
	default:
		log.Info(decision)
	}
	if err := h.watches.DeleteWatch(ctx, w); err != nil {
		return fmt.Errorf("delete the %s watch of deployment %s: %w", w.Kind, w.Deployment, err)
	}
	return nil
}

func watchAttrs(w store.Watch) []any {
	return []any{"service", w.Service, "environment", w.Environment, "deployment", w.Deployment, "execution", w.Execution}
}

func completedDetail(d ECSDeploymentStateChange) string {
	if d.Reason != "" {
		return d.Reason
	}
	return fmt.Sprintf("ECS deployment %s completed", d.DeploymentID)
}

func failedReason(d ECSDeploymentStateChange) string {
	if d.Reason != "" {
		return d.Reason
	}
	return fmt.Sprintf("ECS deployment %s failed", d.DeploymentID)
}
