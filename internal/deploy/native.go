package deploy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/awsapi/ecs"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Native: strategy kind ecs. ECS itself moves the production traffic of
// one service between two target groups (deploymentConfiguration strategy
// BLUE_GREEN, CANARY or LINEAR) and rolls back on its circuit breaker or an
// alarm; Slipway gates the stages with PAUSE lifecycle hooks, resolved from
// the state machine with no polling:
//
//   - Apply updates the service with the strategy, the hooks and the load
//     balancer's advancedConfiguration, and follows the service deployment
//     ECS starts.
//   - Each wait (AwaitStable, then AwaitHook) ends on the hook's event (ECS
//     Hook State Change, HOOK_AWAITING_ACTION) or the deployment's end (ECS
//     Deployment State Change), through functions/signal, or on the
//     reconcile timeout; CheckHook then reads the service deployment and
//     sets the gate.
//   - POST_SCALE_UP, POST_TEST_TRAFFIC_SHIFT and PRE_PRODUCTION_TRAFFIC_SHIFT
//     (before each production step) continue once the alarms are read OK;
//     POST_PRODUCTION_TRAFFIC_SHIFT bakes the strategy's finalBake
//     (alarms watched event-driven, as every bake) and then continues. ECS
//     bakes its own canary and linear steps with the same alarms
//     (deploymentConfiguration.alarms, rollback on).
//   - Rollback resolves the awaiting hook with ROLLBACK, or stops the
//     deployment with a rollback, and waits for ECS to finish it; ECS's own
//     rollback ends in RolledBack the same way.
//
// PAUSE hooks rather than Lambda hooks: a Lambda hook must answer within
// its invocation and keep ECS calling back (IN_PROGRESS + callBackDelay),
// which is polling, and it could not wait on a bake or an alarm event.

// nativeStages are the lifecycle stages Slipway pauses at.
// PRE_PRODUCTION_TRAFFIC_SHIFT comes before each production step (once
// for bluegreen, before the canary and before the rest, before each linear
// step): after ECS's own bake of the step before, Slipway reads the alarms
// there too before the next share moves.
var nativeStages = []string{stagePostScaleUp, stagePostTestTraffic, stagePreProduction, stagePostProduction}

// The lifecycle stages of a service deployment the engine names.
const (
	stagePostScaleUp     = "POST_SCALE_UP"
	stagePostTestTraffic = "POST_TEST_TRAFFIC_SHIFT"
	stagePreProduction   = "PRE_PRODUCTION_TRAFFIC_SHIFT"
	stagePostProduction  = "POST_PRODUCTION_TRAFFIC_SHIFT"
)

// maxHookMinutes is the longest PAUSE hook timeout ECS accepts (14 days).
const maxHookMinutes = 20160

// NativeShape is what a service of strategy kind ecs gets besides the
// rendered service: ECS's strategy and its settings, Slipway's PAUSE hooks,
// the alarms ECS watches, and the load balancer's advancedConfiguration.
type NativeShape struct {
	// Strategy is BLUE_GREEN, CANARY or LINEAR.
	Strategy string
	// CanaryPercent and CanaryBakeMinutes are set for CANARY.
	CanaryPercent     float64
	CanaryBakeMinutes int32
	// StepPercent and StepBakeMinutes are set for LINEAR.
	StepPercent     float64
	StepBakeMinutes int32
	// BakeMinutes is bakeTimeInMinutes.
	BakeMinutes int32
	// PauseStages get one PAUSE hook that times out after
	// HookTimeoutMinutes with ROLLBACK, so ECS rolls back on its own when
	// Slipway is gone.
	PauseStages        []string
	HookTimeoutMinutes int32
	// Alarms are watched by ECS too, with its rollback on.
	Alarms []string
	// AlternateTargetGroupARN, ProductionRule, TestRule and RoleARN are
	// the load balancer's advancedConfiguration (the primary target group
	// is ServiceShape.TargetGroupARN).
	AlternateTargetGroupARN, ProductionRule, TestRule, RoleARN string
}

// ecsStrategy maps a mode to ECS's deployment strategy.
func ecsStrategy(mode string) string {
	switch mode {
	case spec.ModeCanary:
		return "CANARY"
	case spec.ModeLinear:
		return "LINEAR"
	}
	return "BLUE_GREEN"
}

func minutesOf(d time.Duration) int32 { return int32(d / time.Minute) }

// nativeShape is the shape of the plan's service: the primary target group
// is the one the live service names (ECS swaps the two at the end of each
// deployment), else the environment's first.
func nativeShape(p *plan, live *ecs.Service) ServiceShape {
	r, s, lb := p.Rendered, p.Rendered.Strategy, p.Rendered.LoadBalancer
	primary, alternate := lb.TargetGroupArns[0], lb.TargetGroupArns[1]
	if live != nil {
		for _, l := range live.Settings.LoadBalancers {
			if l.AdvancedConfiguration == nil || l.TargetGroupArn == nil || l.AdvancedConfiguration.AlternateTargetGroupArn == nil {
				continue
			}
			if tg, alt := *l.TargetGroupArn, *l.AdvancedConfiguration.AlternateTargetGroupArn; tg == alternate && alt == primary {
				primary, alternate = tg, alt
			}
		}
	}
	n := &NativeShape{
		Strategy:    ecsStrategy(s.Mode),
		BakeMinutes: minutesOf(s.Bake.Duration),
		PauseStages: nativeStages,
		// Long enough for Slipway's gate at each hook: the final bake and
		// a stabilisation's worth of retries and lost events.
		HookTimeoutMinutes:      int32(min(maxHookMinutes, int(math.Ceil((stabilization(r) + s.FinalBake.Duration).Minutes())))),
		Alarms:                  r.Alarms,
		AlternateTargetGroupARN: alternate,
		ProductionRule:          lb.ListenerRuleArn,
		RoleARN:                 lb.InfrastructureRoleARN,
	}
	n.HookTimeoutMinutes = max(n.HookTimeoutMinutes, 1)
	if s.TestListener {
		n.TestRule = lb.TestListenerRuleArn
	}
	switch s.Mode {
	case spec.ModeCanary:
		n.CanaryPercent, n.CanaryBakeMinutes = s.CanaryPercent, minutesOf(s.CanaryBake.Duration)
	case spec.ModeLinear:
		n.StepPercent, n.StepBakeMinutes = s.StepPercent, minutesOf(s.StepBake.Duration)
	}
	shape := ServiceShape{Name: r.Service, TargetGroupARN: primary, ContainerName: lb.ContainerName,
		ContainerPort: lb.ContainerPort, CircuitBreaker: true, Native: n}
	if r.Scheduling != "DAEMON" {
		shape.DesiredCount = ptr(p.FullCount)
	}
	return shape
}

// ecsTime is how long ECS itself takes beyond the stages Slipway gates:
// the canary's bake, the linear steps' bakes, and the final bake.
func ecsTime(s spec.Strategy) time.Duration {
	d := s.Bake.Duration
	switch s.Mode {
	case spec.ModeCanary:
		d += s.CanaryBake.Duration
	case spec.ModeLinear:
		if s.StepPercent > 0 {
			steps := int(math.Ceil(100/s.StepPercent)) - 1
			d += time.Duration(max(steps, 0)) * s.StepBake.Duration
		}
	}
	return d
}

// applyNative updates (or creates) the service with the native strategy
// and follows the service deployment ECS starts. A retried Apply finds the
// service already running the revision with its deployment under way and
// follows that one instead of starting another.
func (e *Engine) applyNative(ctx context.Context, st workflow.State, c Clients, p *plan, td string) (workflow.State, error) {
	r := p.Rendered
	live, err := c.Services.DescribeService(ctx, r.Cluster, r.Service)
	switch {
	case errors.Is(err, ecs.ErrNotFound):
		live = nil
	case err != nil:
		return st, fmt.Errorf("describe service %s/%s: %w", r.Cluster, r.Service, err)
	}
	svc := live
	if live == nil || live.TaskDefinition != td || live.CurrentServiceDeployment == "" {
		shape := nativeShape(p, live)
		// The primary target group is the one production traffic is on:
		// the rule says, whatever the service's description names.
		serving, err := servingGroup(ctx, c, r.LoadBalancer)
		if err != nil {
			return st, err
		}
		if lb := r.LoadBalancer; serving == lb.TargetGroupArns[1] {
			shape.TargetGroupARN, shape.Native.AlternateTargetGroupARN = lb.TargetGroupArns[1], lb.TargetGroupArns[0]
		} else if serving == lb.TargetGroupArns[0] {
			shape.TargetGroupARN, shape.Native.AlternateTargetGroupARN = lb.TargetGroupArns[0], lb.TargetGroupArns[1]
		}
		svc, err = createOrUpdate(ctx, c, r, shape, td)
		if err != nil {
			return st, err
		}
	}
	if err := applyScaling(ctx, c, r, r.Service, p.FullCount, false); err != nil {
		return st, err
	}
	arn := svc.CurrentServiceDeployment
	if arn == "" {
		arns, err := c.Services.ServiceDeploymentARNs(ctx, r.Cluster, r.Service, ecs.DeploymentPending, ecs.DeploymentInProgress)
		if err != nil {
			return st, fmt.Errorf("find the service deployment of %s: %w", r.Service, err)
		}
		if len(arns) == 0 {
			return st, &workflow.DeploymentFailed{Reason: fmt.Sprintf("service %s: ECS started no service deployment for %s", r.Service, td)}
		}
		arn = arns[0]
	}
	ecsID := ""
	if d := svc.Primary(); d != nil {
		ecsID = d.ID
	}
	st.Native = &workflow.Native{ServiceDeployment: arn, Gate: workflow.GateWait}
	st.Wait = e.hookWait(p, arn, ecsID)
	e.logger(st, workflow.PhaseApply).Info("applied natively", "taskDefinition", td, "strategy", ecsStrategy(r.Strategy.Mode),
		"serviceDeployment", arn, "deadline", st.Wait.Deadline)
	return st, nil
}

// hookWait is the wait for the service deployment arn to reach its next
// PAUSE hook or its end, within the stabilization timeout plus the time
// ECS spends on its own bakes.
func (e *Engine) hookWait(p *plan, arn, ecsID string) workflow.Wait {
	now := e.now()
	deadline := now.Add(stabilization(p.Rendered) + ecsTime(p.Rendered.Strategy))
	return workflow.Wait{
		Kind:              workflow.WaitHook,
		Deadline:          deadline,
		TimeoutSeconds:    min(e.reconcileSeconds(), timeoutSeconds(deadline.Sub(now))),
		Cluster:           p.Rendered.Cluster,
		Service:           p.Target,
		ECSDeployment:     ecsID,
		ServiceDeployment: arn,
		Alarms:            p.Rendered.Alarms,
	}
}

// approveAtHook starts a native deployment's approval wait at its
// POST_TEST_TRAFFIC_SHIFT hook: it stores the pending approval where
// `slipway approve/reject` find it, and announces it. Unlike the approval
// before Apply it leaves the lock as it is: the deployment has changed the
// service, so a newer one queues behind it rather than superseding it.
func (e *Engine) approveAtHook(ctx context.Context, st workflow.State, token string) (workflow.State, error) {
	a := store.PendingApproval{Deployment: st.Deployment.ID, Execution: st.Deployment.Execution, Token: token,
		Service: st.Service, Environment: st.Environment, Image: st.Plan.Image, At: e.now()}
	if err := e.Store.PutApproval(ctx, a); err != nil {
		return st, fmt.Errorf("store approval: %w", err)
	}
	if err := e.publish(ctx, st, "awaiting-approval", "", ""); err != nil {
		return st, err
	}
	e.logger(st, workflow.PhaseApprove).Info("awaiting approval at the hook", "stage", st.Native.Stage,
		"image", st.Plan.Image, "timeoutSeconds", st.Wait.TimeoutSeconds)
	return st, nil
}

// rollingBack reports whether st is on its way back: a failure is being
// handled.
func rollingBack(st workflow.State) bool { return st.Error != nil }

// hookReady reports whether a hook wait is over: forward, when a PAUSE
// hook awaits action or the deployment left IN_PROGRESS (CheckHook says
// how); back, when ECS has finished the rollback. A failed rollback is an
// error, so the wait fails.
func hookReady(ctx context.Context, c Clients, st workflow.State) (bool, string, error) {
	sd, err := c.Services.ServiceDeployment(ctx, st.Wait.ServiceDeployment)
	if err != nil {
		return false, "", fmt.Errorf("read service deployment: %w", err)
	}
	if rollingBack(st) {
		if sd.Status == ecs.DeploymentRollbackFailed {
			return false, "", rollbackFailed(sd)
		}
		return sd.Terminal(), fmt.Sprintf("service deployment %s", sd.Status), nil
	}
	if h := sd.AwaitingPause(); h != nil {
		return true, fmt.Sprintf("hook %s awaits action at %s", h.ID, sd.LifecycleStage), nil
	}
	switch sd.Status {
	case ecs.DeploymentPending, ecs.DeploymentInProgress:
		return false, "", nil
	}
	return true, fmt.Sprintf("service deployment %s", sd.Status), nil
}

func rollbackFailed(sd *ecs.ServiceDeployment) error {
	return &workflow.DeploymentFailed{Reason: fmt.Sprintf("ECS could not roll back service deployment %s: %s",
		sd.ARN, firstOf(sd.RollbackReason, sd.StatusReason, sd.Status))}
}

// checkHook reads the service deployment after a hook wait and sets the
// gate: bake or continue at an awaiting hook, done when ECS succeeded,
// wait again otherwise; ECS's own rollback is the error it was for.
func (e *Engine) checkHook(ctx context.Context, st workflow.State, c Clients, p *plan) (workflow.State, error) {
	log := e.logger(st, workflow.PhaseCheck)
	if st.Native == nil {
		return st, &workflow.InvalidInput{Problems: []string{"native: required for a hook wait (set by apply)"}}
	}
	sd, err := c.Services.ServiceDeployment(ctx, st.Wait.ServiceDeployment)
	if err != nil {
		return st, fmt.Errorf("read service deployment: %w", err)
	}
	if rollingBack(st) {
		return e.checkNativeRollback(st, sd)
	}
	now := e.now()
	if h := sd.AwaitingPause(); h != nil {
		st.Native.Stage, st.Native.HookID = sd.LifecycleStage, h.ID
		st.Native.Gate = workflow.GateContinue
		if sd.LifecycleStage == stagePostTestTraffic && st.Approval.Required && st.Approval.By == "" {
			// The environment asks for a person: the new revision runs
			// and serves test traffic, production has none of it yet.
			st.Native.Gate = workflow.GateApprove
			st.Wait = workflow.Wait{Kind: workflow.WaitApproval, TimeoutSeconds: max(st.Approval.TimeoutSeconds, 1),
				Cluster: st.Wait.Cluster, Service: st.Wait.Service, ECSDeployment: st.Wait.ECSDeployment,
				ServiceDeployment: sd.ARN, Settled: true}
			log.Info("hook awaits action: asking for approval", "stage", sd.LifecycleStage, "hook", h.ID)
			return st, nil
		}
		bake := p.Rendered.Strategy.FinalBake.Duration
		if sd.LifecycleStage == stagePostProduction && bake > 0 {
			st.Native.Gate = workflow.GateBake
			first := min(e.reconcileSeconds(), timeoutSeconds(bake))
			st.Wait = workflow.Wait{Kind: workflow.WaitBake, TimeoutSeconds: first,
				BakeLeftSeconds: max(timeoutSeconds(bake)-first, 0), Cluster: st.Wait.Cluster, Service: st.Wait.Service,
				ECSDeployment: st.Wait.ECSDeployment, ServiceDeployment: sd.ARN, Alarms: p.Rendered.Alarms, Settled: true}
			log.Info("hook awaits action: baking before continuing", "stage", sd.LifecycleStage, "hook", h.ID, "bakeSeconds", timeoutSeconds(bake))
			return st, nil
		}
		st.Wait.Settled = true
		log.Info("hook awaits action: continuing", "stage", sd.LifecycleStage, "hook", h.ID)
		return st, nil
	}
	switch sd.Status {
	case ecs.DeploymentSuccessful:
		st.Native.Gate, st.Native.Stage, st.Native.HookID = workflow.GateDone, "", ""
		st.Wait.Settled = true
		st.Progress.Weight = 100
		log.Info("ECS completed the service deployment", "serviceDeployment", sd.ARN)
		return st, nil
	case ecs.DeploymentPending, ecs.DeploymentInProgress:
	default:
		return st, nativeFailure(sd)
	}
	if !now.Before(st.Wait.Deadline) {
		log.Info("no hook and no end by the deadline: rolling back", "stage", sd.LifecycleStage)
		return st, &workflow.StabilizationTimeout{Deadline: st.Wait.Deadline,
			Detail: fmt.Sprintf("service deployment %s still %s at %s", sd.ARN, sd.Status, sd.LifecycleStage)}
	}
	st.Native.Gate = workflow.GateWait
	st.Wait.Settled = false
	st.Wait.TimeoutSeconds = min(e.reconcileSeconds(), timeoutSeconds(st.Wait.Deadline.Sub(now)))
	return st, nil
}

// checkNativeRollback settles a rollback wait once ECS has finished it.
func (e *Engine) checkNativeRollback(st workflow.State, sd *ecs.ServiceDeployment) (workflow.State, error) {
	switch {
	case sd.Status == ecs.DeploymentRollbackFailed:
		return st, rollbackFailed(sd)
	case sd.Terminal():
		st.Wait.Settled = true
		return st, nil
	case !e.now().Before(st.Wait.Deadline):
		return st, &workflow.StabilizationTimeout{Deadline: st.Wait.Deadline,
			Detail: fmt.Sprintf("rollback of service deployment %s still %s", sd.ARN, sd.Status)}
	}
	st.Wait.Settled = false
	st.Wait.TimeoutSeconds = min(e.reconcileSeconds(), timeoutSeconds(st.Wait.Deadline.Sub(e.now())))
	return st, nil
}

// nativeFailure is the error of a service deployment ECS stopped or rolled
// back on its own: an alarm it watched, its circuit breaker, a hook's
// timeout.
func nativeFailure(sd *ecs.ServiceDeployment) error {
	if sd.Alarms == "TRIGGERED" && len(sd.TriggeredAlarms) > 0 {
		return &workflow.AlarmFired{Alarm: sd.TriggeredAlarms[0],
			Reason: fmt.Sprintf("ECS rolled back service deployment %s (%s)", sd.ARN, sd.Status)}
	}
	reason := firstOf(sd.RollbackReason, sd.StatusReason, "no reason given")
	if sd.CircuitBreaker == "TRIGGERED" {
		reason = "the deployment circuit breaker triggered: " + reason
	}
	return &workflow.DeploymentFailed{Reason: fmt.Sprintf("ECS ended service deployment %s %s: %s", sd.ARN, sd.Status, reason)}
}

// judgeNative fails a bake at a hook when ECS is no longer holding the
// deployment there (it rolled back on its own).
func judgeNative(ctx context.Context, c Clients, st workflow.State) error {
	sd, err := c.Services.ServiceDeployment(ctx, st.Native.ServiceDeployment)
	if err != nil {
		return fmt.Errorf("read service deployment: %w", err)
	}
	if sd.Status != ecs.DeploymentInProgress {
		return nativeFailure(sd)
	}
	return nil
}

// continueNative resolves the awaiting PAUSE hook with CONTINUE and waits
// for the next. A retry after a CONTINUE that ECS took finds the hook no
// longer awaiting, and waits all the same.
func (e *Engine) continueNative(ctx context.Context, st workflow.State) (workflow.State, error) {
	log := e.logger(st, workflow.PhaseContinue)
	if err := e.dropWatch(ctx, st); err != nil {
		return st, err
	}
	if st.Native == nil || st.Native.HookID == "" {
		return st, &workflow.InvalidInput{Problems: []string{"native.hookId: required (set by the check of a hook wait)"}}
	}
	p, c, err := e.loadPlan(ctx, st)
	if err != nil {
		return st, err
	}
	// The gate's last word: an alarm in ALARM now rolls back rather than
	// continuing.
	st.Wait.Alarms = p.Rendered.Alarms
	if err := e.checkAlarms(ctx, st, c, workflow.PhaseContinue); err != nil {
		return st, err
	}
	n := st.Native
	if n.Gate == workflow.GateApprove {
		// An approval ended the wait: check who approved (approver
		// roles), then the pending record goes.
		if err := e.checkApprover(ctx, &st); err != nil {
			return st, err
		}
		if err := e.Store.DeleteApproval(ctx, st.Environment, st.Service); err != nil {
			return st, fmt.Errorf("delete approval: %w", err)
		}
	}
	if err := c.Services.ContinueServiceDeployment(ctx, n.ServiceDeployment, n.HookID, ecs.ActionContinue); err != nil {
		sd, derr := c.Services.ServiceDeployment(ctx, n.ServiceDeployment)
		if derr != nil || sd.Status != ecs.DeploymentInProgress && sd.Status != ecs.DeploymentSuccessful {
			return st, fmt.Errorf("continue at %s: %w", n.Stage, err)
		}
		if h := sd.AwaitingPause(); h != nil && h.ID == n.HookID {
			return st, fmt.Errorf("continue at %s: %w", n.Stage, err)
		}
		log.Info("hook no longer awaits action: continued already", "hook", n.HookID)
	}
	log.Info("continued", "stage", n.Stage, "hook", n.HookID)
	n.Continued = append(n.Continued, n.Stage)
	n.Stage, n.HookID, n.Gate = "", "", workflow.GateWait
	st.Wait = e.hookWait(p, n.ServiceDeployment, st.Wait.ECSDeployment)
	return st, nil
}

// rollbackNative rolls the service deployment back: ROLLBACK at the
// awaiting hook, or a stop with rollback when no hook holds it; nothing
// when ECS rolls back (or rolled back) already. It then waits for ECS to
// finish. A deployment ECS completed cannot be rolled back this way.
func (e *Engine) rollbackNative(ctx context.Context, st workflow.State, c Clients, p *plan) (workflow.State, error) {
	log := e.logger(st, workflow.PhaseRollback)
	if !p.targetExists() {
		// This deployment created the service: there is no revision for
		// ECS to roll back to (its rollback would end ROLLBACK_FAILED), so
		// the rollback deletes the service, as for every kind.
		if err := c.Services.DeleteService(ctx, p.Rendered.Cluster, p.Target); err != nil {
			return st, fmt.Errorf("delete service %s created by this deployment: %w", p.Target, err)
		}
		log.Info("deleted the service this deployment created", "cause", causeOf(st.Error))
		st.Wait = workflow.Wait{Settled: true}
		return st, nil
	}
	if st.Native == nil || st.Native.ServiceDeployment == "" {
		log.Info("no service deployment started: nothing to roll back", "cause", causeOf(st.Error))
		st.Wait = workflow.Wait{Settled: true}
		return st, nil
	}
	arn := st.Native.ServiceDeployment
	sd, err := c.Services.ServiceDeployment(ctx, arn)
	if err != nil {
		return st, fmt.Errorf("read service deployment: %w", err)
	}
	wait := e.hookWait(p, arn, st.Wait.ECSDeployment)
	wait.Alarms = nil
	switch {
	case sd.Status == ecs.DeploymentSuccessful:
		return st, fmt.Errorf("service deployment %s completed before the rollback: deploy the previous image to go back", arn)
	case sd.Status == ecs.DeploymentRollbackFailed:
		return st, rollbackFailed(sd)
	case sd.Terminal():
		log.Info("ECS rolled back already", "status", sd.Status, "cause", causeOf(st.Error))
		wait.Settled = true
	case sd.Status == ecs.DeploymentRollbackRequested || sd.Status == ecs.DeploymentRollbackInProgress:
		log.Info("ECS is rolling back", "cause", causeOf(st.Error))
	case sd.AwaitingPause() != nil:
		h := sd.AwaitingPause()
		if err := c.Services.ContinueServiceDeployment(ctx, arn, h.ID, ecs.ActionRollback); err != nil {
			return st, fmt.Errorf("roll back at %s: %w", sd.LifecycleStage, err)
		}
		log.Info("rolled back at the hook", "stage", sd.LifecycleStage, "hook", h.ID, "cause", causeOf(st.Error))
	default:
		if err := c.Services.RollBackServiceDeployment(ctx, arn); err != nil {
			return st, fmt.Errorf("roll back service deployment: %w", err)
		}
		log.Info("stopped the service deployment with a rollback", "stage", sd.LifecycleStage, "cause", causeOf(st.Error))
	}
	st.Native.Stage, st.Native.HookID = "", ""
	st.Wait = wait
	return st, nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
