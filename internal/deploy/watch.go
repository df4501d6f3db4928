package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/slipwayhq/slipway/internal/awsapi/ecs"
	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// watch starts a wait: it records the task token with what the wait is for,
// so functions/signal can complete it when an alarm or ECS event arrives,
// then checks once, because the event may have come before the watch. Step
// Functions ignores what watch returns, but an error fails the wait at once.
func (e *Engine) watch(ctx context.Context, st workflow.State, token string) (workflow.State, error) {
	switch st.Wait.Kind {
	case workflow.WaitLock:
		return st, e.enqueue(ctx, st, token)
	case workflow.WaitStable, workflow.WaitBake, workflow.WaitHook:
	default:
		return st, &workflow.InvalidInput{Problems: []string{fmt.Sprintf("wait.kind: %q cannot be watched (want stable, bake, hook or lock)", st.Wait.Kind)}}
	}
	w := watchOf(st)
	w.Token = token
	if err := e.Store.PutWatch(ctx, w); err != nil {
		return st, fmt.Errorf("store watch: %w", err)
	}
	_, c, err := e.loadPlan(ctx, st)
	if err != nil {
		return st, err
	}
	if err := e.checkAlarms(ctx, st, c, workflow.PhaseWatch); err != nil {
		return st, err
	}
	if st.Wait.Kind == workflow.WaitHook {
		// The hook's event may have come before the watch.
		ready, detail, err := hookReady(ctx, c, st)
		if err != nil || !ready {
			return st, err
		}
		e.logger(st, workflow.PhaseWatch).Info("hook wait over already", "detail", detail)
		return st, e.succeedToken(ctx, token, workflow.Signal{Source: "check", Detail: detail})
	}
	if st.Wait.Kind != workflow.WaitStable {
		if st.Wait.ScaleIn != nil {
			// The new tasks may run already: CheckBake scales the
			// old slot in now rather than an interval later.
			return st, e.succeedWhenUp(ctx, st, c, token)
		}
		return st, nil
	}
	done, detail, err := rolloutDone(ctx, c, st.Wait)
	if err != nil || !done {
		return st, err
	}
	e.logger(st, workflow.PhaseWatch).Info("already stable", "detail", detail)
	return st, e.succeedToken(ctx, token, workflow.Signal{Source: "check", Detail: detail})
}

// check re-checks a wait whose task timed out: events may have been lost.
// For a stable wait it sets Wait.Settled, or a shorter timeout for the next
// wait, or fails once the deadline has passed; for a bake it fails when an
// alarm is in ALARM or judge finds the new revision failed, else bakes on
// (Settled false, the next timeout) while bake time is left and settles at
// its end.
func (e *Engine) check(ctx context.Context, st workflow.State) (workflow.State, error) {
	log := e.logger(st, workflow.PhaseCheck)
	if err := e.dropWatch(ctx, st); err != nil {
		return st, err
	}
	p, c, err := e.loadPlan(ctx, st)
	if err != nil {
		return st, err
	}
	// A wait's timeout (stored at $.timedOut) is handled by re-checking,
	// which is what this phase does: clear it. $.error, the failure a
	// rollback may be handling, is left as it is.
	timedOut := st.TimedOut != nil
	st.TimedOut = nil
	if err := e.checkAlarms(ctx, st, c, workflow.PhaseCheck); err != nil {
		return st, err
	}
	switch st.Wait.Kind {
	case workflow.WaitHook:
		return e.checkHook(ctx, st, c, p)
	case workflow.WaitStable:
		done, detail, err := rolloutDone(ctx, c, st.Wait)
		if err != nil {
			return st, err
		}
		now := e.now()
		switch {
		case done:
			log.Info("stable", "detail", detail)
			st.Wait.Settled = true
		case !now.Before(st.Wait.Deadline):
			log.Info("not stable by the deadline: rolling back", "detail", detail)
			return st, &workflow.StabilizationTimeout{Deadline: st.Wait.Deadline, Detail: detail}
		default:
			st.Wait.Settled = false
			st.Wait.TimeoutSeconds = min(e.reconcileSeconds(), timeoutSeconds(st.Wait.Deadline.Sub(now)))
		}
		return st, nil
	case workflow.WaitBake:
		judged := judge
		if st.Native != nil {
			judged = func(ctx context.Context, c Clients, _ *plan, _ workflow.Wait) error { return judgeNative(ctx, c, st) }
		}
		if err := judged(ctx, c, p, st.Wait); err != nil {
			log.Info("new revision failed its bake: rolling back", "error", err)
			return st, err
		}
		if st.Wait.ScaleIn != nil {
			return e.checkScaleIn(ctx, st, c)
		}
		// The bake woke (its wait timed out) before its end to re-read the
		// alarms and judge the revision, done above: bake on, for another
		// interval or what is left. The time left is counted in task
		// timeouts, the state machine's clock.
		if timedOut && st.Wait.BakeLeftSeconds > 0 {
			st.Wait.Settled = false
			st.Wait.TimeoutSeconds = min(e.reconcileSeconds(), st.Wait.BakeLeftSeconds)
			st.Wait.BakeLeftSeconds -= st.Wait.TimeoutSeconds
			log.Info("alarms and revision OK, baking on", "waitSeconds", st.Wait.TimeoutSeconds, "bakeLeftSeconds", st.Wait.BakeLeftSeconds)
			return st, nil
		}
		st.Wait.Settled = true
		return st, nil
	}
	return st, &workflow.InvalidInput{Problems: []string{fmt.Sprintf("wait.kind: %q cannot be checked (want stable, bake or hook)", st.Wait.Kind)}}
}

// checkAlarms fails with AlarmFired when a watched alarm is in ALARM.
func (e *Engine) checkAlarms(ctx context.Context, st workflow.State, c Clients, phase workflow.Phase) error {
	if len(st.Wait.Alarms) == 0 {
		return nil
	}
	states, err := c.Alarms.AlarmStates(ctx, st.Wait.Alarms)
	if err != nil {
		return fmt.Errorf("read alarms: %w", err)
	}
	for _, name := range st.Wait.Alarms {
		if s, ok := states[name]; ok && s.Value == "ALARM" {
			e.logger(st, phase).Info(fmt.Sprintf("alarm %s in ALARM: rolling back", name), "alarm", name, "reason", s.Reason)
			return &workflow.AlarmFired{Alarm: name, Reason: s.Reason}
		}
	}
	return nil
}

// rolloutDone reports whether the watched ECS deployment completed and runs
// its desired tasks (what the ECS services-stable waiter waits for); a
// failed one is DeploymentFailed. A change of desired count alone starts
// no ECS deployment: the PRIMARY one stays COMPLETED while the tasks a
// rollback restored are still starting, so the running count decides. The
// detail says where it stands, for history.
func rolloutDone(ctx context.Context, c Clients, w workflow.Wait) (bool, string, error) {
	svc, err := c.Services.DescribeService(ctx, w.Cluster, w.Service)
	if err != nil {
		return false, "", fmt.Errorf("describe service %s/%s: %w", w.Cluster, w.Service, err)
	}
	i := slices.IndexFunc(svc.Deployments, func(d ecs.Deployment) bool { return d.ID == w.ECSDeployment })
	if i < 0 {
		return false, "", &workflow.DeploymentFailed{Reason: fmt.Sprintf(
			"ECS deployment %s of %s is gone: the service was changed by something else", w.ECSDeployment, w.Service)}
	}
	d := svc.Deployments[i]
	detail := fmt.Sprintf("ECS deployment %s of %s: %s, %d of %d tasks running, %d failed to start",
		d.ID, w.Service, d.RolloutState, d.RunningCount, d.DesiredCount, d.FailedTasks)
	switch d.RolloutState {
	case "COMPLETED":
		return d.RunningCount >= d.DesiredCount, detail, nil
	case "FAILED":
		reason := d.RolloutStateReason
		if reason == "" {
			reason = detail
		}
		return false, detail, &workflow.DeploymentFailed{Reason: fmt.Sprintf("%s: %s", w.Service, reason)}
	}
	return false, detail, nil
}

// judge decides whether the new revision fails its bake. It is asked at
// every check of a bake, after the alarms, so a failed rollout ends the
// bake at the next check rather than at its end. Churn is no failure: ECS
// stops and replaces tasks at any time (host retirement, a Spot reclaim,
// one out-of-memory kill), a scale-out or a DAEMON service's new container
// instance leaves runningCount below desiredCount while tasks provision,
// and none of that says anything about the revision. So the running and
// desired counts are not judged; what is:
//
//   - its ECS deployment's rolloutState: FAILED (the circuit breaker
//     tripped, or ECS rolled the service back, leaving the new revision's
//     deployment FAILED beside the rollback) fails the bake;
//   - its failed tasks (tasks that failed to start or were stopped for
//     failing health checks) against the circuit breaker's own threshold,
//     failureThreshold: the breaker stops watching once a rollout
//     completes, and a revision that crash-loops during its bake must fail
//     as it would have failed its rollout. One failed task among many does
//     not;
//   - behind a load balancer, its target group's health: every target
//     that counts is unhealthy. Targets draining (leaving, such as a
//     stopped task's) and unused or unavailable ones do not count; one
//     healthy target or one in its initial checks (a replacement on its
//     way) means the revision can serve, so the bake goes on.
func judge(ctx context.Context, c Clients, p *plan, w workflow.Wait) error {
	svc, err := c.Services.DescribeService(ctx, w.Cluster, w.Service)
	if err != nil {
		return fmt.Errorf("describe service %s/%s: %w", w.Cluster, w.Service, err)
	}
	for _, d := range svc.Deployments {
		if d.RolloutState == "FAILED" {
			reason := cmp.Or(d.RolloutStateReason, "rollout failed")
			return &workflow.DeploymentFailed{Reason: fmt.Sprintf("%s: ECS deployment %s: %s", w.Service, d.ID, reason)}
		}
	}
	d := svc.Primary()
	if d == nil {
		return &workflow.DeploymentFailed{Reason: fmt.Sprintf("%s has no primary deployment", w.Service)}
	}
	if limit := failureThreshold(svc.DesiredCount); d.FailedTasks >= limit {
		return &workflow.DeploymentFailed{Reason: fmt.Sprintf(
			"%s: %d tasks of ECS deployment %s failed, the circuit breaker's threshold is %d", w.Service, d.FailedTasks, d.ID, limit)}
	}
	if p.TargetGroup == "" || w.Service != p.Target {
		return nil
	}
	targets, err := c.Traffic.TargetHealth(ctx, p.TargetGroup)
	if err != nil {
		return fmt.Errorf("read target health of %s: %w", p.TargetGroup, err)
	}
	if allUnhealthy(targets) {
		t := targets[slices.IndexFunc(targets, func(t elbv2.Target) bool { return t.State == "unhealthy" })]
		return &workflow.DeploymentFailed{Reason: fmt.Sprintf("%s: every target of %s is unhealthy (%s: %s)",
			w.Service, p.TargetGroup, t.ID, cmp.Or(t.Reason, t.Description))}
	}
	return nil
}

// allUnhealthy reports whether at least one target is unhealthy and none
// is healthy or in its initial health checks; draining, unused and
// unavailable targets count for neither.
func allUnhealthy(targets []elbv2.Target) bool {
	unhealthy := false
	for _, t := range targets {
		switch t.State {
		case "healthy", "initial":
			return false
		case "unhealthy":
			unhealthy = true
		}
	}
	return unhealthy
}

// failureThreshold is the number of failed tasks at which the ECS
// deployment circuit breaker fails a deployment of desired tasks: half of
// them, rounded up, at least 3 and at most 200 (ServiceDeploymentCircuitBreaker
// in the ECS API reference).
func failureThreshold(desired int32) int32 {
	return min(max((desired+1)/2, 3), 200)
}

// watchOf is the watch record of st's current wait, without its token.
func watchOf(st workflow.State) store.Watch {
	return store.Watch{
		Deployment: st.Deployment.ID, Execution: st.Deployment.Execution, Kind: st.Wait.Kind,
		Environment: st.Environment, Service: st.Service,
		Cluster: st.Wait.Cluster, ECSService: st.Wait.Service, ECSDeployment: st.Wait.ECSDeployment,
		ServiceDeployment: st.Wait.ServiceDeployment,
		Alarms:            st.Wait.Alarms, Deadline: st.Wait.Deadline,
	}
}

// dropWatch deletes the watch of st's last wait, if it has one: the wait
// is over, and a late event must not find it.
func (e *Engine) dropWatch(ctx context.Context, st workflow.State) error {
	w, err := e.Store.WatchForDeployment(ctx, st.Deployment.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read watch: %w", err)
	}
	if err := e.Store.DeleteWatch(ctx, w); err != nil {
		return fmt.Errorf("delete watch: %w", err)
	}
	return nil
}
