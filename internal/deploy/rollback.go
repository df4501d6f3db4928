package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/internal/awsapi/ecs"
	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// rollback restores the snapshot Prepare took: listener rule weights, then
// each service's task definition, desired count (the live one when it is
// higher: see restoredCount) and settings, then its scaling limits,
// policies and scheduled actions.
// It compares the live state with the snapshot and changes only what
// differs, so it is idempotent and safe to retry. It then waits for the
// restored service to be stable (its ECS deployment completed and its
// desired tasks running: a canary by count's old slot scaled back out), or
// settles at once when every restored service is.
func (e *Engine) rollback(ctx context.Context, st workflow.State) (workflow.State, error) {
	log := e.logger(st, workflow.PhaseRollback)
	if err := e.dropWatch(ctx, st); err != nil {
		return st, err
	}
	// A superseded deployment changed nothing (Apply checks the lock before
	// any change), and the services may belong to the newer deployment by
	// now: restoring this one's snapshot would undo that one. An approval
	// Apply refused (checkApprover) changed nothing either.
	// A native deployment's approval comes at its hook, after Apply: its
	// rejection rolls back like any failure.
	nativeApplied := st.Native != nil && st.Native.ServiceDeployment != ""
	if st.Error != nil && !nativeApplied && (st.Error.Error == workflow.ErrorName((*workflow.Superseded)(nil)) ||
		st.Error.Error == workflow.ErrorName((*workflow.ApprovalRejected)(nil))) {
		log.Info("refused before applying: nothing to restore", "error", st.Error.Error)
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
	if p.Rendered.Strategy.Kind == kindECS {
		// ECS puts back the revision it ran before; restoring the
		// snapshot's task definition would start another deployment.
		return e.rollbackNative(ctx, st, c, p)
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
		// A restored count starts no ECS deployment (the PRIMARY one stays
		// COMPLETED while the tasks start): the restored tasks are waited
		// for all the same, so success means they run.
		if d := svc.Primary(); d != nil && (d.RolloutState == "IN_PROGRESS" || d.RunningCount < d.DesiredCount) {
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
	// Rules first: traffic leaves the bad revision at once, before any
	// task is replaced. The whole action list is written back, exactly as
	// Prepare read it.
	for _, rule := range snap.Rules {
		if len(rule.Actions) == 0 {
			// A plan from before the list was captured: weights only.
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
			continue
		}
		live, err := c.Traffic.RuleActions(ctx, rule.ARN)
		if err != nil {
			return changed, fmt.Errorf("read actions of rule %s: %w", rule.ARN, err)
		}
		if same, err := sameActions(live, rule.Actions); err != nil || same {
			if err != nil {
				return changed, fmt.Errorf("compare actions of rule %s: %w", rule.ARN, err)
			}
			continue
		}
		if err := c.Traffic.SetRuleActions(ctx, rule.ARN, rule.Actions); err != nil {
			return changed, fmt.Errorf("restore actions of rule %s: %w", rule.ARN, err)
		}
		changed = append(changed, "actions of "+rule.ARN)
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

// restoreService puts one service back to s: task definition, desired
// count and settings in one UpdateService (so ECS starts one deployment),
// then the scalable target's limits, then its policies and scheduled
// actions, so auto scaling does not act on a half-restored service.
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
	var r ecs.Restore
	if live.TaskDefinition != s.TaskDefinition {
		r.TaskDefinition = s.TaskDefinition
		changed = append(changed, fmt.Sprintf("task definition of %s", s.Name))
	}
	if n := restoredCount(s, live); !s.Daemon && live.DesiredCount != n {
		r.DesiredCount = ptr(n)
		changed = append(changed, fmt.Sprintf("desired count of %s (%d)", s.Name, n))
	}
	if s.Settings != nil {
		var ls ecs.Settings
		if live.Settings != nil {
			ls = *live.Settings
		}
		if diff := s.Settings.Diff(ls); len(diff) > 0 {
			r.Settings, r.Live = s.Settings, &ls
			changed = append(changed, fmt.Sprintf("%s of %s", strings.Join(diff, ", "), s.Name))
		}
	}
	if r.TaskDefinition != "" || r.DesiredCount != nil || r.Settings != nil {
		if _, err := c.Services.RestoreService(ctx, s.Cluster, s.Name, r); err != nil {
			return nil, fmt.Errorf("restore service %s/%s (%s): %w", s.Cluster, s.Name, strings.Join(changed, "; "), err)
		}
	}
	switch {
	case s.Scaling == nil && live.Scaling != nil:
		if err := c.Scaling.DeregisterTarget(ctx, id); err != nil {
			return changed, fmt.Errorf("remove scalable target of %s: %w", s.Name, err)
		}
		return append(changed, fmt.Sprintf("scalable target of %s", s.Name)), nil
	case s.Scaling == nil:
		return changed, nil
	case live.Scaling == nil || *live.Scaling != *s.Scaling:
		if err := registerLimits(ctx, c, s.Cluster, s.Name, *s.Scaling); err != nil {
			return changed, err
		}
		changed = append(changed, fmt.Sprintf("scaling limits of %s", s.Name))
	}
	if s.Policies != nil && (live.Policies == nil || !samePolicies(*s.Policies, *live.Policies)) {
		if err := c.Scaling.PutPolicies(ctx, id, s.Policies); err != nil {
			return changed, fmt.Errorf("restore scaling policies of %s: %w", s.Name, err)
		}
		changed = append(changed, fmt.Sprintf("scaling policies of %s", s.Name))
	}
	return changed, nil
}

// restoredCount is the desired count a rollback gives a service: the
// snapshot's, or the live one when that is higher and the service served
// traffic before the deployment (its snapshot count is above zero). A
// rollback usually happens during an incident, when auto scaling or a person
// may have scaled the service out since Prepare; scaling it back in then
// would shed the capacity the incident needs. An idle slot (0 in the
// snapshot) goes back to 0: its tasks run the revision being rolled back.
// The snapshot's scaling maximum still bounds the count, as registering the
// limits again would.
func restoredCount(s, live ServiceState) int32 {
	n := s.DesiredCount
	if n > 0 && live.DesiredCount > n {
		n = live.DesiredCount
		if s.Scaling != nil {
			n = max(min(n, s.Scaling.Max), s.DesiredCount)
		}
	}
	return n
}

// samePolicies reports whether two sets of policies and scheduled actions
// are the same, by their JSON (one may come from a stored plan).
func samePolicies(a, b spec.AutoScaling) bool {
	a.MinCapacity, a.MaxCapacity, b.MinCapacity, b.MaxCapacity = 0, 0, 0, 0
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
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

// sameActions reports whether two action lists are the same, comparing
// their JSON (the form the plan stores), so an absent and an empty map or
// list are equal.
func sameActions(a, b []elbv2.Action) (bool, error) {
	ja, err := json.Marshal(a)
	if err != nil {
		return false, err
	}
	jb, err := json.Marshal(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ja, jb), nil
}

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
