package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// rollback restores the snapshot Prepare took, exactly: listener rule
// weights, then task definitions and desired counts, then scaling limits.
// It compares the live state with the snapshot and changes only what
// differs, so it is idempotent and safe to retry. It then waits for the
// restored service to be stable, or settles at once when no ECS deployment
// is in progress.
func (e *Engine) rollback(ctx context.Context, st workflow.State) (workflow.State, error) {
	log := e.logger(st, workflow.PhaseRollback)
	if err := e.dropWatch(ctx, st); err != nil {
		return st, err
	}
	// A superseded deployment changed nothing (Apply checks the lock before
	// any change), and the services may belong to the newer deployment by
	// now: restoring this one's snapshot would undo that one.
	if st.Error != nil && st.Error.Error == workflow.ErrorName((*workflow.Superseded)(nil)) {
		log.Info("superseded before applying: nothing to restore")
		st.Wait = workflow.Wait{Settled: true}
		return st, nil
	}
	rec, _, err := e.readLock(ctx, st)
	if err != nil {
		return st, err
	}
	if rec != nil && rec.Deployment != st.Deployment.ID {
		log.Info("lock held by another deployment: nothing to restore", "holder", rec.Deployment)
		st.Wait = workflow.Wait{Settled: true}
		return st, nil
	}
	p, c, err := e.loadPlan(ctx, st)
	if err != nil {
		return st, err
	}
	changed, err := restore(ctx, c, p.Snapshot)
	if err != nil {
		return st, err
	}
	log.Info("snapshot restored", "cause", causeOf(st.Error), "changed", changed)

	now := e.now()
	deadline := now.Add(stabilization(p.Rendered))
	for _, s := range restoreOrder(p.Snapshot) {
		if !s.Exists {
			continue
		}
		svc, err := c.Services.DescribeService(ctx, s.Cluster, s.Name)
		if err != nil {
			return st, fmt.Errorf("describe service %s/%s: %w", s.Cluster, s.Name, err)
		}
		if d := svc.Primary(); d != nil && d.RolloutState == "IN_PROGRESS" {
			st.Wait = workflow.Wait{
				Kind:           workflow.WaitStable,
				Deadline:       deadline,
				TimeoutSeconds: min(e.reconcileSeconds(), timeoutSeconds(deadline.Sub(now))),
				Cluster:        s.Cluster,
				Service:        s.Name,
				ECSDeployment:  d.ID,
			}
			return st, nil
		}
	}
	st.Wait = workflow.Wait{Settled: true}
	return st, nil
}

// restore puts the live state back to snap and lists what it changed.
func restore(ctx context.Context, c Clients, snap Snapshot) ([]string, error) {
	var changed []string
	// Weights first: traffic leaves the bad revision at once, before any
	// task is replaced.
	for _, rule := range snap.Rules {
		live, err := readRule(ctx, c, rule.ARN)
		if err != nil {
			return changed, err
		}
		if sameWeights(live.Weights, rule.Weights) {
			continue
		}
		if err := setWeights(ctx, c, rule.ARN, rule.Weights); err != nil {
			return changed, err
		}
		changed = append(changed, "weights of "+rule.ARN)
	}
	// Then task definitions and desired counts; scaling limits last, so
	// auto scaling does not act on a half-restored service.
	for _, s := range restoreOrder(snap) {
		live, err := readService(ctx, c, s.Cluster, s.Name)
		if err != nil {
			return changed, err
		}
		did, err := restoreService(ctx, c, s, live)
		changed = append(changed, did...)
		if err != nil {
			return changed, err
		}
	}
	return changed, nil
}

// restoreService puts one service back to s.
func restoreService(ctx context.Context, c Clients, s, live ServiceState) ([]string, error) {
	id := scalingID(s.Cluster, s.Name)
	if !s.Exists {
		if !live.Exists {
			return nil, nil
		}
		// Created by this deployment: remove it, and its scalable target.
		if err := c.Scaling.DeregisterTarget(ctx, id); err != nil {
			return nil, fmt.Errorf("remove scalable target of %s: %w", s.Name, err)
		}
		if err := c.Services.DeleteService(ctx, s.Cluster, s.Name); err != nil {
			return nil, fmt.Errorf("delete service %s/%s: %w", s.Cluster, s.Name, err)
		}
		return []string{"deleted " + s.Name}, nil
	}
	if !live.Exists {
		return nil, fmt.Errorf("service %s/%s no longer exists: it cannot be restored to task definition %s", s.Cluster, s.Name, s.TaskDefinition)
	}
	var changed []string
	if live.TaskDefinition != s.TaskDefinition {
		if _, err := c.Services.SetTaskDefinition(ctx, s.Cluster, s.Name, s.TaskDefinition); err != nil {
			return changed, fmt.Errorf("restore task definition of %s to %s: %w", s.Name, s.TaskDefinition, err)
		}
		changed = append(changed, fmt.Sprintf("task definition of %s", s.Name))
	}
	if !s.Daemon && live.DesiredCount != s.DesiredCount {
		if _, err := c.Services.SetDesiredCount(ctx, s.Cluster, s.Name, s.DesiredCount); err != nil {
			return changed, fmt.Errorf("restore desired count of %s to %d: %w", s.Name, s.DesiredCount, err)
		}
		changed = append(changed, fmt.Sprintf("desired count of %s", s.Name))
	}
	switch {
	case s.Scaling == nil && live.Scaling != nil:
		if err := c.Scaling.DeregisterTarget(ctx, id); err != nil {
			return changed, fmt.Errorf("remove scalable target of %s: %w", s.Name, err)
		}
		changed = append(changed, fmt.Sprintf("scalable target of %s", s.Name))
	case s.Scaling != nil && (live.Scaling == nil || *live.Scaling != *s.Scaling):
		if err := registerLimits(ctx, c, s.Cluster, s.Name, *s.Scaling); err != nil {
			return changed, err
		}
		changed = append(changed, fmt.Sprintf("scaling limits of %s", s.Name))
	}
	return changed, nil
}

// restoreOrder lists the snapshot's services with the primary slot first:
// the one carrying traffic is restored, and waited for, before the other.
func restoreOrder(snap Snapshot) []ServiceState {
	out := slices.Clone(snap.Services)
	slices.SortStableFunc(out, func(a, b ServiceState) int {
		pa, pb := snap.Primary != "" && hasSlot(a.Name, snap.Primary), snap.Primary != "" && hasSlot(b.Name, snap.Primary)
		switch {
		case pa && !pb:
			return -1
		case pb && !pa:
			return 1
		}
		return 0
	})
	return out
}

func hasSlot(name, slot string) bool { return strings.HasSuffix(name, "--"+slot) }

func sameWeights(a, b []elbv2.TargetWeight) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if weightOf(b, x.TargetGroupARN) != x.Weight || !slices.ContainsFunc(b, func(y elbv2.TargetWeight) bool { return y.TargetGroupARN == x.TargetGroupARN }) {
			return false
		}
	}
	return true
}

func causeOf(f *workflow.Failure) string {
	if f == nil {
		return ""
	}
	return f.Error + ": " + f.Cause
}
