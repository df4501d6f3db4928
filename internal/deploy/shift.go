package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// shift moves traffic to the weight of the next step and sets up its bake:
// listener rule weights for canary and blue/green behind a load balancer,
// slot task counts for a canary without one; for rolling, ECS has moved the
// traffic already and the step is only the final bake.
func (e *Engine) shift(ctx context.Context, st workflow.State) (workflow.State, error) {
	if err := e.dropWatch(ctx, st); err != nil {
		return st, err
	}
	i := st.Progress.Step
	if i < 0 || i >= len(st.Plan.Steps) {
		return st, &workflow.InvalidInput{Problems: []string{fmt.Sprintf("progress.step: %d is past the %d steps of the plan", i, len(st.Plan.Steps))}}
	}
	step := st.Plan.Steps[i]
	p, c, err := e.loadPlan(ctx, st)
	if err != nil {
		return st, err
	}
	r := p.Rendered
	var scaleIn *workflow.ScaleIn
	switch {
	case r.Strategy.Kind == kindRolling:
	case p.ByCount:
		// New tasks first, then fewer old ones, so capacity never dips:
		// the old slot is scaled in only once the new slot runs its n
		// tasks (see scaleInWhenUp).
		n := countFor(p.FullCount, step.Weight)
		if _, err := c.Services.SetDesiredCount(ctx, r.Cluster, p.Target, n); err != nil {
			return st, fmt.Errorf("scale %s to %d: %w", p.Target, n, err)
		}
		if p.otherExists() {
			scaleIn = &workflow.ScaleIn{Service: p.Other, Count: p.FullCount - n, Running: n, Healthy: hasHealthCheck(r)}
		}
	default:
		if err := setWeights(ctx, c, r.LoadBalancer.ListenerRuleArn, p.splitWeights(step.Weight)); err != nil {
			return st, err
		}
	}
	// The bake watches the new revision's ECS deployment too, so that an
	// "ECS Deployment State Change" FAILED (the circuit breaker tripping on
	// a revision that crash-loops after its rollout looked done, or ECS
	// rolling the service back) ends the bake at once rather than at its
	// next re-check, which realistic task times make minutes away.
	svc, err := c.Services.DescribeService(ctx, r.Cluster, p.Target)
	if err != nil {
		return st, fmt.Errorf("describe service %s/%s: %w", r.Cluster, p.Target, err)
	}
	var ecsDeployment string
	if d := svc.Primary(); d != nil {
		ecsDeployment = d.ID
	}
	now := e.now()
	st.Progress = workflow.Progress{Step: i + 1, Remaining: len(st.Plan.Steps) - i - 1, Weight: step.Weight}
	// The bake wakes every reconcile interval to re-read the alarms (check),
	// so a lost alarm event cannot let the step through; BakeLeftSeconds is
	// what remains to wait after this first interval.
	bake := max(step.BakeSeconds, 1)
	st.Wait = workflow.Wait{
		Kind:          workflow.WaitBake,
		Cluster:       r.Cluster,
		Service:       p.Target,
		ECSDeployment: ecsDeployment,
		Alarms:        r.Alarms,
	}
	startBake(&st.Wait, now, bake, e.reconcileSeconds())
	if scaleIn != nil {
		scaleIn.BakeSeconds = bake
		st.Wait.ScaleIn = scaleIn
		up, detail, err := scaleInWhenUp(ctx, c, &st.Wait, now, e.reconcileSeconds())
		if err != nil {
			return st, err
		}
		if !up {
			// The bake's first part: wait for the new tasks, within the
			// stabilization timeout, with the bake's own wait states.
			deadline := now.Add(stabilization(r))
			st.Wait.Deadline = deadline
			st.Wait.TimeoutSeconds = min(e.reconcileSeconds(), timeoutSeconds(deadline.Sub(now)))
			st.Wait.BakeLeftSeconds = 0
			e.logger(st, workflow.PhaseShift).Info("new tasks starting: the old slot is scaled in once they run",
				"step", i+1, "weight", step.Weight, "oldSlot", scaleIn.Service, "oldCount", scaleIn.Count, "detail", detail)
			return st, nil
		}
	}
	e.logger(st, workflow.PhaseShift).Info("traffic shifted", "step", i+1, "weight", step.Weight,
		"bakeSeconds", bake)
	return st, nil
}

// scaleInWhenUp is the first part of a bake of a canary by task count
// (w.ScaleIn set): once the new slot (w.Service) runs w.ScaleIn.Running
// tasks of its PRIMARY deployment, it scales the old slot in to
// w.ScaleIn.Count and turns w into the step's bake proper, starting now;
// until then it changes nothing and reports where the new tasks stand.
//
// A scale-up starts no ECS deployment (the PRIMARY one stays COMPLETED
// while its new tasks provision, and no event says when they run), so the
// running count is read; a revision whose new tasks fail to start is
// judged by the bake's checks (its failed tasks against the circuit
// breaker's threshold) and rolled back with the old slot still whole.
func scaleInWhenUp(ctx context.Context, c Clients, w *workflow.Wait, now time.Time, reconcile int) (bool, string, error) {
	s := w.ScaleIn
	up, detail, err := newTasksUp(ctx, c, w)
	if err != nil || !up {
		return false, detail, err
	}
	if _, err := c.Services.SetDesiredCount(ctx, w.Cluster, s.Service, s.Count); err != nil {
		return false, detail, fmt.Errorf("scale %s to %d: %w", s.Service, s.Count, err)
	}
	w.ScaleIn = nil
	w.Settled = false
	startBake(w, now, max(s.BakeSeconds, 1), reconcile)
	return true, detail, nil
}

// startBake starts a bake of bakeSeconds at now on w: its deadline, and a
// first wait of at most one reconcile interval, with the rest of the bake
// in BakeLeftSeconds (check bakes on from there).
func startBake(w *workflow.Wait, now time.Time, bakeSeconds, reconcile int) {
	first := min(reconcile, bakeSeconds)
	w.Deadline = now.Add(secondsOf(bakeSeconds))
	w.TimeoutSeconds = first
	w.BakeLeftSeconds = bakeSeconds - first
}

// newTasksUp reports whether the new slot (w.Service) runs the
// w.ScaleIn.Running tasks of its PRIMARY deployment the old slot waits
// for: RUNNING, and HEALTHY too when the task definition has a container
// health check (w.ScaleIn.Healthy). The detail says where they stand.
func newTasksUp(ctx context.Context, c Clients, w *workflow.Wait) (bool, string, error) {
	s := w.ScaleIn
	svc, err := c.Services.DescribeService(ctx, w.Cluster, w.Service)
	if err != nil {
		return false, "", fmt.Errorf("describe service %s/%s: %w", w.Cluster, w.Service, err)
	}
	d := svc.Primary()
	if d == nil {
		return false, "", &workflow.DeploymentFailed{Reason: fmt.Sprintf("%s has no primary deployment", w.Service)}
	}
	detail := fmt.Sprintf("%s: %d of %d new tasks running, %d failed to start", w.Service, d.RunningCount, s.Running, d.FailedTasks)
	if d.RunningCount < s.Running || !s.Healthy {
		return d.RunningCount >= s.Running, detail, nil
	}
	tasks, err := c.Services.DeploymentTasks(ctx, w.Cluster, d.ID)
	if err != nil {
		return false, detail, fmt.Errorf("read the tasks of %s: %w", w.Service, err)
	}
	var healthy int32
	for _, t := range tasks {
		if t.LastStatus == "RUNNING" && t.HealthStatus == "HEALTHY" {
			healthy++
		}
	}
	detail = fmt.Sprintf("%s: %d of %d new tasks running and healthy (%d running), %d failed to start",
		w.Service, healthy, s.Running, d.RunningCount, d.FailedTasks)
	return healthy >= s.Running, detail, nil
}

// hasHealthCheck reports whether the task definition of r has a container
// health check on an essential container, which is what makes a task's
// health status HEALTHY rather than UNKNOWN.
func hasHealthCheck(r *spec.Rendered) bool {
	if r.TaskDefinition == nil {
		return false
	}
	for _, cd := range r.TaskDefinition.ContainerDefinitions {
		if cd.HealthCheck != nil && (cd.Essential == nil || *cd.Essential) {
			return true
		}
	}
	return false
}

// checkScaleIn is CheckBake during the first part of a step of a canary by
// task count, after the alarms and judge: it scales the old slot in and
// starts the bake once the new tasks run, fails with StabilizationTimeout
// once the deadline has passed without them, and waits again otherwise.
func (e *Engine) checkScaleIn(ctx context.Context, st workflow.State, c Clients) (workflow.State, error) {
	log := e.logger(st, workflow.PhaseCheck)
	now := e.now()
	s := *st.Wait.ScaleIn
	up, detail, err := scaleInWhenUp(ctx, c, &st.Wait, now, e.reconcileSeconds())
	switch {
	case err != nil:
		return st, err
	case up:
		log.Info("new tasks running: old slot scaled in, baking", "oldSlot", s.Service, "oldCount", s.Count,
			"detail", detail, "bakeSeconds", max(s.BakeSeconds, 1))
	case !now.Before(st.Wait.Deadline):
		log.Info("new tasks not running by the deadline: rolling back, the old slot untouched", "detail", detail)
		return st, &workflow.StabilizationTimeout{Deadline: st.Wait.Deadline, Detail: detail}
	default:
		st.Wait.Settled = false
		st.Wait.TimeoutSeconds = min(e.reconcileSeconds(), timeoutSeconds(st.Wait.Deadline.Sub(now)))
		log.Info("new tasks not all running yet: the old slot keeps its tasks", "detail", detail)
	}
	return st, nil
}

// succeedWhenUp completes the token of a bake's first part at once when the
// new tasks run already, so CheckBake scales the old slot in without
// waiting an interval. It changes nothing itself: the watch's result is
// ignored.
func (e *Engine) succeedWhenUp(ctx context.Context, st workflow.State, c Clients, token string) error {
	up, detail, err := newTasksUp(ctx, c, &st.Wait)
	if err != nil || !up {
		// An error is judged by CheckBake at the wait's timeout.
		return nil
	}
	e.logger(st, workflow.PhaseWatch).Info("new tasks already running", "detail", detail)
	return e.succeedToken(ctx, token, workflow.Signal{Source: "check", Detail: detail})
}
