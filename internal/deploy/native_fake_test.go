package deploy

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/internal/awsapi/ecs"
	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
)

// nativeWorld is the fake's model of ECS-native deployments (kind ecs):
// each service deployment walks ECS's stages on the fake clock, pauses at
// the stages with a PAUSE hook until ContinueServiceDeployment, moves the
// production rule's weights to the alternate target group, and rolls back
// (to the source revision, weights back) on ROLLBACK, a stop, its circuit
// breaker (an image marked failing) or an alarm ECS watches.
type nativeWorld struct {
	deployments map[string]*fakeNative
	next        int
	// continues and rollbacks count the calls, by stage.
	continues, rollbacks []string
}

type fakeNative struct {
	ecs.ServiceDeployment
	service    *fakeService
	shape      *NativeShape
	primary    string // the primary target group, serving before
	sourceTD   string
	targetTD   string
	stage      int // index in nativeStageOrder
	stageSince time.Time
	hookSeq    int
}

// nativeStageOrder is the stages the fake walks; the POST_* ones pause
// when hooked.
var nativeStageOrder = []string{"SCALE_UP", stagePostScaleUp, "TEST_TRAFFIC_SHIFT", stagePostTestTraffic,
	stagePreProduction, "PRODUCTION_TRAFFIC_SHIFT", stagePostProduction, "BAKE_TIME", "CLEAN_UP"}

func (w *world) nativeWorld() *nativeWorld {
	if w.native == nil {
		w.native = &nativeWorld{deployments: map[string]*fakeNative{}}
	}
	return w.native
}

// startNative starts a service deployment of s as UpdateService with a
// native shape does; s.deployments already has the new revision PRIMARY.
func (w *world) startNative(s *fakeService, shape ServiceShape) {
	nw := w.nativeWorld()
	nw.next++
	arn := fmt.Sprintf("arn:aws:ecs:%s:%s:service-deployment/%s/%s/sd%d", region, account, w.cluster, s.name, nw.next)
	source := ""
	if n := len(s.deployments); n > 1 {
		source = s.deployments[n-2].TaskDefinition
	}
	if old, ok := nw.deployments[s.current]; ok && old.Status == ecs.DeploymentInProgress {
		old.Status = ecs.DeploymentStopped
	}
	s.current = arn
	nw.deployments[arn] = &fakeNative{
		ServiceDeployment: ecs.ServiceDeployment{ARN: arn, Status: ecs.DeploymentInProgress, LifecycleStage: nativeStageOrder[0],
			CircuitBreaker: "MONITORING"},
		service: s, shape: shape.Native, primary: shape.TargetGroupARN, sourceTD: source, targetTD: s.td, stageSince: w.now,
	}
}

// settleNative moves every service deployment on to where the clock says.
func (w *world) settleNative() {
	if w.native == nil {
		return
	}
	for _, d := range w.native.deployments {
		for w.stepNative(d) {
		}
	}
}

// stepNative moves d one stage on when it is due, and reports whether it
// did.
func (w *world) stepNative(d *fakeNative) bool {
	switch d.Status {
	case ecs.DeploymentRollbackInProgress:
		if w.now.Before(d.stageSince.Add(rolloutAfter)) {
			return false
		}
		w.finishRollback(d)
		return false
	case ecs.DeploymentInProgress:
	default:
		return false
	}
	if d.AwaitingPause() != nil {
		return false
	}
	for _, a := range d.shape.Alarms {
		if w.alarms[a] == "ALARM" {
			d.Alarms, d.TriggeredAlarms = "TRIGGERED", []string{a}
			w.startRollback(d, "alarm "+a+" in ALARM")
			return false
		}
	}
	stage := nativeStageOrder[d.stage]
	if w.now.Before(d.stageSince.Add(w.stageTime(d, stage))) {
		return false
	}
	if stage == "SCALE_UP" && w.failing[w.tdImage[d.targetTD]] {
		d.CircuitBreaker = "TRIGGERED"
		w.startRollback(d, "tasks failed to start")
		return false
	}
	if stage == "PRODUCTION_TRAFFIC_SHIFT" {
		w.rules[d.shape.ProductionRule] = []elbv2.TargetWeight{{TargetGroupARN: d.primary, Weight: 0},
			{TargetGroupARN: d.shape.AlternateTargetGroupARN, Weight: 100}}
	}
	if stage == "CLEAN_UP" {
		d.Status, d.LifecycleStage = ecs.DeploymentSuccessful, stage
		d.service.deployments = d.service.deployments[len(d.service.deployments)-1:]
		p := &d.service.deployments[0]
		p.RolloutState, p.RunningCount = "COMPLETED", d.service.desired
		d.service.running = d.service.desired
		return false
	}
	d.stage++
	d.stageSince = w.now
	d.LifecycleStage = nativeStageOrder[d.stage]
	if slices.Contains(d.shape.PauseStages, d.LifecycleStage) {
		d.hookSeq++
		d.Hooks = []ecs.Hook{{ID: fmt.Sprintf("ecs-pause-%d", d.hookSeq), TargetType: "PAUSE", Status: ecs.HookAwaitingAction,
			ExpiresAt: w.now.Add(time.Duration(d.shape.HookTimeoutMinutes) * time.Minute), TimeoutAction: ecs.ActionRollback}}
	}
	return true
}

// stageTime is how long a stage takes in the fake: a minute to scale up,
// ECS's own bakes where it bakes, nothing elsewhere.
func (w *world) stageTime(d *fakeNative, stage string) time.Duration {
	switch stage {
	case "SCALE_UP":
		return rolloutAfter
	case "PRODUCTION_TRAFFIC_SHIFT":
		return time.Duration(d.shape.CanaryBakeMinutes)*time.Minute + time.Duration(d.shape.StepBakeMinutes)*time.Minute
	case "BAKE_TIME":
		return time.Duration(d.shape.BakeMinutes) * time.Minute
	}
	return 0
}

func (w *world) startRollback(d *fakeNative, reason string) {
	d.Status, d.RollbackReason, d.Hooks = ecs.DeploymentRollbackInProgress, reason, nil
	d.stageSince = w.now
	// The production rule goes back to the source at once.
	if _, ok := w.rules[d.shape.ProductionRule]; ok {
		w.rules[d.shape.ProductionRule] = []elbv2.TargetWeight{{TargetGroupARN: d.primary, Weight: 100},
			{TargetGroupARN: d.shape.AlternateTargetGroupARN, Weight: 0}}
	}
}

func (w *world) finishRollback(d *fakeNative) {
	d.Status = ecs.DeploymentRollbackSuccessful
	s := d.service
	if d.sourceTD != "" {
		s.td = d.sourceTD
		s.deployments = []fakeDeployment{{started: w.now, Deployment: ecs.Deployment{ID: "ecs-svc/rollback-" + d.ARN,
			Status: "PRIMARY", TaskDefinition: d.sourceTD, RolloutState: "COMPLETED", DesiredCount: s.desired, RunningCount: s.desired}}}
	}
}

// --- ServiceAPI, native part

func (w *world) ServiceDeployment(_ context.Context, arn string) (*ecs.ServiceDeployment, error) {
	if err := w.fault("ServiceDeployment"); err != nil {
		return nil, err
	}
	d, ok := w.nativeWorld().deployments[arn]
	if !ok {
		return nil, fmt.Errorf("describe %s: %w", arn, ecs.ErrDeploymentNotFound)
	}
	out := d.ServiceDeployment
	out.Hooks = slices.Clone(d.Hooks)
	return &out, nil
}

func (w *world) ServiceDeploymentARNs(_ context.Context, _, service string, statuses ...string) ([]string, error) {
	if err := w.fault("ServiceDeploymentARNs"); err != nil {
		return nil, err
	}
	var out []string
	for arn, d := range w.nativeWorld().deployments {
		if d.service.name == service && (len(statuses) == 0 || slices.Contains(statuses, d.Status)) {
			out = append(out, arn)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out, nil
}

func (w *world) ContinueServiceDeployment(_ context.Context, arn, hookID, action string) error {
	if err := w.fault("ContinueServiceDeployment"); err != nil {
		return err
	}
	d, ok := w.nativeWorld().deployments[arn]
	if !ok {
		return fmt.Errorf("continue %s: %w", arn, ecs.ErrDeploymentNotFound)
	}
	if d.Status != ecs.DeploymentInProgress {
		return fmt.Errorf("ConflictException: service deployment %s is %s", arn, d.Status)
	}
	h := d.AwaitingPause()
	if h == nil || h.ID != hookID {
		return fmt.Errorf("InvalidParameterException: hook %s does not await action", hookID)
	}
	if action == ecs.ActionRollback {
		w.native.rollbacks = append(w.native.rollbacks, d.LifecycleStage)
		w.startRollback(d, "ROLLBACK at "+d.LifecycleStage)
		return nil
	}
	w.native.continues = append(w.native.continues, d.LifecycleStage)
	d.Hooks = nil
	d.stageSince = w.now
	w.settleNative()
	return nil
}

func (w *world) RollBackServiceDeployment(_ context.Context, arn string) error {
	if err := w.fault("RollBackServiceDeployment"); err != nil {
		return err
	}
	d, ok := w.nativeWorld().deployments[arn]
	if !ok {
		return fmt.Errorf("stop %s: %w", arn, ecs.ErrDeploymentNotFound)
	}
	if d.Status != ecs.DeploymentInProgress {
		return fmt.Errorf("ConflictException: service deployment %s is %s", arn, d.Status)
	}
	w.native.rollbacks = append(w.native.rollbacks, "stop at "+d.LifecycleStage)
	w.startRollback(d, "stopped with rollback")
	return nil
}
