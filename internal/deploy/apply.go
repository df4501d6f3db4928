package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/internal/awsapi/autoscaling"
	"github.com/slipwayhq/slipway/internal/awsapi/ecs"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// apply registers the task definition and creates or updates the service
// that receives it, then sets up the wait for ECS to finish the rollout.
func (e *Engine) apply(ctx context.Context, st workflow.State) (workflow.State, error) {
	log := e.logger(st, workflow.PhaseApply)
	if err := e.checkApprover(ctx, &st); err != nil {
		return st, err
	}
	p, c, err := e.loadPlan(ctx, st)
	if err != nil {
		return st, err
	}
	// From here the deployment changes live state, so it can no longer be
	// superseded: a newer one queues behind it. A lock taken over since
	// Prepare means this one was superseded, and nothing is changed.
	if err := e.setLockStage(ctx, st, store.StageApplying, ""); err != nil {
		return st, err
	}
	// Before the first change: a late, older request (or this one's event
	// delivered again) finds it in Prepare however long this one runs.
	if err := e.Store.MarkApplied(ctx, st.Environment, st.Service, store.NewestRequest{Deployment: st.Deployment.ID,
		RequestedAt: st.RequestedAt, Trigger: st.Trigger, Outcome: workflow.OutcomeDeployed, Pins: st.Pins}); err != nil {
		return st, fmt.Errorf("record the newest request: %w", err)
	}
	if st.Approval.Required {
		if err := e.Store.DeleteApproval(ctx, st.Environment, st.Service); err != nil {
			return st, fmt.Errorf("delete approval: %w", err)
		}
	}

	td, err := e.registerOnce(ctx, c, p, st)
	if err != nil {
		return st, err
	}
	// The count is read now, not taken from Prepare: the service may have
	// been scaled out since (auto scaling, or a person during an incident
	// while this deployment waited for approval). Later steps (shifts by
	// count) use the plan's count, so the plan is stored again.
	if p.Rendered.Scheduling != "DAEMON" {
		n, err := liveFullCount(ctx, c, p, false)
		if err != nil {
			return st, err
		}
		if n != p.FullCount {
			log.Info("desired count read again", "planned", p.FullCount, "now", n)
			p.FullCount = n
			if _, err := e.Store.PutPlan(ctx, st.Deployment.ID, p); err != nil {
				return st, fmt.Errorf("store plan: %w", err)
			}
		}
	}
	if p.Rendered.Strategy.Kind == kindECS {
		return e.applyNative(ctx, st, c, p, td)
	}
	var svc *ecs.Service
	if p.Rendered.Strategy.Kind == kindRolling {
		svc, err = applyRolling(ctx, c, p, td)
	} else {
		first := 100
		if len(st.Plan.Steps) > 0 {
			first = st.Plan.Steps[0].Weight
		}
		svc, err = applySlots(ctx, c, p, first, td)
	}
	if err != nil {
		return st, err
	}
	primary := svc.Primary()
	if primary == nil {
		return st, &workflow.DeploymentFailed{Reason: fmt.Sprintf("service %s has no primary deployment after the update", p.Target)}
	}
	st.Wait = e.stableWait(p, primary.ID)
	log.Info("applied", "taskDefinition", td, "ecsService", p.Target, "ecsDeployment", primary.ID,
		"deadline", st.Wait.Deadline)
	return st, nil
}

// stableWait is the wait for the ECS deployment ecsDeployment of the plan's
// target service to complete, watching the plan's alarms, with the
// stabilization deadline counted from now.
func (e *Engine) stableWait(p *plan, ecsDeployment string) workflow.Wait {
	now := e.now()
	deadline := now.Add(stabilization(p.Rendered))
	return workflow.Wait{
		Kind:           workflow.WaitStable,
		Deadline:       deadline,
		TimeoutSeconds: min(e.reconcileSeconds(), timeoutSeconds(deadline.Sub(now))),
		Cluster:        p.Rendered.Cluster,
		Service:        p.Target,
		ECSDeployment:  ecsDeployment,
		Alarms:         p.Rendered.Alarms,
	}
}

// registerOnce registers the task definition of the plan, tagged with the
// deployment, unless an earlier attempt of this Apply registered it already:
// a retried Apply must not leave a second revision behind.
func (e *Engine) registerOnce(ctx context.Context, c Clients, p *plan, st workflow.State) (string, error) {
	if f := p.Rendered.TaskDefinition.Family; f != nil && *f != "" {
		arn, err := c.Services.DeploymentRevision(ctx, *f, st.Deployment.ID)
		if err != nil {
			return "", fmt.Errorf("look for the revision of deployment %s: %w", st.Deployment.ID, err)
		}
		if arn != "" {
			return arn, nil
		}
	}
	td, err := c.Services.RegisterTaskDefinition(ctx, p.Rendered, map[string]string{
		"slipway:service":     st.Service,
		"slipway:environment": st.Environment,
		"slipway:deployment":  st.Deployment.ID,
		"slipway:digest":      digestOf(st.Plan.Image),
	})
	if err != nil {
		return "", fmt.Errorf("register task definition: %w", err)
	}
	return td, nil
}

// createOrUpdate updates the service named by shape, or creates it when it
// does not exist (a retried Apply finds the service it created). A deleted
// service is not there to update: INACTIVE, it is created anew; DRAINING,
// ECS refuses its name until its tasks have stopped, so the error is
// Transient and the state machine's Retry waits for it.
func createOrUpdate(ctx context.Context, c Clients, r *spec.Rendered, shape ServiceShape, td string) (*ecs.Service, error) {
	_, err := c.Services.DescribeService(ctx, r.Cluster, shape.Name)
	switch {
	case errors.Is(err, ecs.ErrDraining):
		return nil, &workflow.Transient{Op: fmt.Sprintf("create service %s/%s", r.Cluster, shape.Name),
			Err: fmt.Errorf("the service of that name was deleted and its tasks are still stopping; "+
				"it can be created once INACTIVE: %w", err)}
	case errors.Is(err, ecs.ErrNotFound):
		svc, err := c.Services.CreateService(ctx, r, shape, td)
		if err != nil {
			return nil, fmt.Errorf("create service %s/%s: %w", r.Cluster, shape.Name, err)
		}
		return svc, nil
	case err != nil:
		return nil, fmt.Errorf("describe service %s/%s: %w", r.Cluster, shape.Name, err)
	}
	svc, err := c.Services.UpdateService(ctx, r, shape, td)
	if err != nil {
		return nil, fmt.Errorf("update service %s/%s: %w", r.Cluster, shape.Name, err)
	}
	return svc, nil
}

// applyScaling registers the service's scalable target with the spec's
// limits, widened to include n so registering never moves the count the
// engine chose, and applies the policies (removing those the spec no longer
// has). A spec without auto scaling deregisters a target left from an earlier
// one (with its policies): the spec says what scales the service.
func applyScaling(ctx context.Context, c Clients, r *spec.Rendered, name string, n int32, suspended bool) error {
	a := r.AutoScaling
	if a == nil {
		t, err := c.Scaling.Target(ctx, scalingID(r.Cluster, name))
		if err != nil {
			return fmt.Errorf("read scalable target of %s: %w", name, err)
		}
		if t == nil {
			return nil
		}
		if err := c.Scaling.DeregisterTarget(ctx, scalingID(r.Cluster, name)); err != nil {
			return fmt.Errorf("remove scalable target of %s (autoScaling removed from the spec): %w", name, err)
		}
		return nil
	}
	l := Limits{Min: min(a.MinCapacity, n), Max: max(a.MaxCapacity, n), Suspended: suspended}
	if !suspended {
		l.Min, l.Max = a.MinCapacity, a.MaxCapacity
	}
	if err := registerLimits(ctx, c, r.Cluster, name, l); err != nil {
		return err
	}
	if err := c.Scaling.PutPolicies(ctx, scalingID(r.Cluster, name), a); err != nil {
		return fmt.Errorf("put scaling policies of %s: %w", name, err)
	}
	return nil
}

func registerLimits(ctx context.Context, c Clients, cluster, name string, l Limits) error {
	if err := c.Scaling.RegisterTarget(ctx, scalingID(cluster, name), l.Min, l.Max, l.Suspended); err != nil {
		return fmt.Errorf("register scalable target of %s (%d-%d, suspended %t): %w", name, l.Min, l.Max, l.Suspended, err)
	}
	return nil
}

func scalingID(cluster, name string) string { return autoscaling.ResourceID(cluster, name) }

// digestOf returns the sha256:… part of a pinned image reference.
func digestOf(image string) string {
	_, d, _ := strings.Cut(image, "@")
	return d
}
