package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/slipwayhq/slipway/internal/awsapi/ecs"
	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Switching strategy. Rolling runs one service, <name>; canary and
// blue/green run two slot services, <name>--blue and <name>--green. A
// deployment whose strategy does not match what runs takes the live model
// over rather than leaving it running beside the new one:
//
//   - rolling → canary/bluegreen (and the first slot deployment of a
//     service that runs under its plain name): the slots adopt the plain
//     service. It is the slot serving traffic for this deployment (plan.Other,
//     plan.Adopted): the new slot is the one whose target group is not the
//     plain service's, is sized from the plain service's live count, and
//     takes the traffic from the plain service's target group by the rule's
//     weights (or by task counts without a load balancer) once its rollout
//     is complete, so its targets are healthy. Cleanup, after promotion,
//     scales the plain service to 0 and deletes it; ECS drains its targets
//     for the target group's deregistration delay before it stops them.
//   - canary/bluegreen → rolling: the plain service is created behind the
//     spec's target group while the slots serve, and once it is stable (its
//     targets healthy) Promote moves the rule's forward to its target group;
//     Cleanup then scales the slots (plan.Retire) to 0 and deletes them.
//
// Before promotion a rollback restores the rule's captured action list and
// deletes the service this deployment created; the old model is untouched.

// adoptPlain plans the adoption of the live plain service plain by the slots
// (neither of which exists): the new slot is the one whose target group is
// not plain's, and traffic moves from plain's target group, which must be
// in the forward action of the listener rule.
func adoptPlain(r *spec.Rendered, p *plan, plain ServiceState) error {
	p.Adopted, p.Other = plain.Name, plain.Name
	target := slotBlue
	if lb := r.LoadBalancer; lb != nil {
		group := serviceGroup(plain)
		weights := p.Snapshot.Rules[0].Weights
		if group == "" {
			return &workflow.InvalidInput{Problems: []string{fmt.Sprintf(
				"strategy.kind: %s would replace service %s, which has no load balancer, with slots behind listener rule %s: "+
					"its clients do not come through the rule, so Slipway cannot move them. Deploy it with strategy rolling, "+
					"or give it a target group of the rule first",
				r.Strategy.Kind, plain.Name, lb.ListenerRuleArn)}}
		}
		if !slices.ContainsFunc(weights, func(w elbv2.TargetWeight) bool { return w.TargetGroupARN == group }) {
			return &workflow.InvalidInput{Problems: []string{fmt.Sprintf(
				"strategy.kind: %s would replace service %s, which runs behind target group %q, not one of the forward action of listener rule %s (%s): "+
					"Slipway cannot move its traffic. Put its target group in the rule's forward action, or deploy it with strategy rolling",
				r.Strategy.Kind, plain.Name, group, lb.ListenerRuleArn, groupsOf(weights))}}
		}
		if group == lb.TargetGroupArns[0] {
			target = slotGreen
		}
		p.TargetGroup, p.OtherGroup = lb.TargetGroupArns[0], group
		if target == slotGreen {
			p.TargetGroup = lb.TargetGroupArns[1]
		}
	} else {
		p.ByCount = true
	}
	p.Target = slotName(r.Service, target)
	p.FullCount = desiredCount(r, plain)
	return nil
}

// bothModels refuses a deployment when the plain service and a slot both
// run: one of them is left over from a switch made before Slipway took the
// old model over, and which one serves cannot be told safely.
func bothModels(r *spec.Rendered, plain ServiceState, slots ...ServiceState) error {
	var names []string
	for _, s := range slots {
		if s.Exists {
			names = append(names, s.Name)
		}
	}
	return &workflow.InvalidInput{Problems: []string{fmt.Sprintf(
		"service %s runs both as %s (rolling) and as %v (canary/bluegreen): one is left over from an earlier switch of strategy. "+
			"Delete the one that does not serve traffic (aws ecs delete-service --cluster %s --service NAME --force) and deploy again",
		r.Service, plain.Name, names, r.Cluster)}}
}

// planRetire plans the retirement of the slots when a rolling deployment
// finds them serving and no plain service: they stay in the snapshot (a
// rollback leaves them as they are), with the listener rule, whose forward
// moves to the plain service's target group at promotion.
func planRetire(ctx context.Context, c Clients, r *spec.Rendered, p *plan) error {
	blue, err := readService(ctx, c, r.Cluster, slotName(r.Service, slotBlue))
	if err != nil {
		return err
	}
	green, err := readService(ctx, c, r.Cluster, slotName(r.Service, slotGreen))
	if err != nil {
		return err
	}
	for _, s := range []ServiceState{blue, green} {
		if s.Exists {
			p.Retire = append(p.Retire, s.Name)
			p.Snapshot.Services = append(p.Snapshot.Services, s)
		}
	}
	if len(p.Retire) == 0 {
		return nil
	}
	if r.Scheduling == "DAEMON" {
		return &workflow.InvalidInput{Problems: []string{fmt.Sprintf(
			"service %s runs as slots %v: a DAEMON service cannot take them over; delete them first", r.Service, p.Retire)}}
	}
	lb := r.LoadBalancer
	if lb == nil {
		return nil
	}
	rule, err := readRule(ctx, c, lb.ListenerRuleArn)
	if err != nil {
		return err
	}
	p.Snapshot.Rules = append(p.Snapshot.Rules, rule)
	p.TargetGroup = renderedGroup(r)
	if p.TargetGroup == "" || !slices.ContainsFunc(rule.Weights, func(w elbv2.TargetWeight) bool { return w.TargetGroupARN == p.TargetGroup }) {
		return &workflow.InvalidInput{Problems: []string{fmt.Sprintf(
			"strategy.kind: rolling would replace slots %v, but the service's target group %q is not in the forward action of listener rule %s (%s): "+
				"Slipway cannot move their traffic to it. Name one of the rule's target groups in service.loadBalancers",
			p.Retire, p.TargetGroup, lb.ListenerRuleArn, groupsOf(rule.Weights))}}
	}
	return nil
}

// retireWeights moves the whole forward of the listener rule to the plain
// service's target group: it gets 100, every other group of the forward 0.
// The plain service's rollout is complete at this point (AwaitStable), so
// its targets are healthy; they are read again, and a group with no healthy
// target never gets the traffic.
func retireWeights(ctx context.Context, c Clients, p *plan) error {
	lb := p.Rendered.LoadBalancer
	if len(p.Retire) == 0 || lb == nil || p.TargetGroup == "" {
		return nil
	}
	if err := requireHealthy(ctx, c, p.TargetGroup); err != nil {
		return err
	}
	live, err := readRule(ctx, c, lb.ListenerRuleArn)
	if err != nil {
		return err
	}
	var w []elbv2.TargetWeight
	for _, g := range live.Weights {
		if g.TargetGroupARN != p.TargetGroup {
			w = append(w, elbv2.TargetWeight{TargetGroupARN: g.TargetGroupARN, Weight: 0})
		}
	}
	w = append([]elbv2.TargetWeight{{TargetGroupARN: p.TargetGroup, Weight: 100}}, w...)
	return setWeights(ctx, c, lb.ListenerRuleArn, w)
}

// requireHealthy fails unless group has a healthy target: weight must
// never point at a group that cannot serve. The failure is Transient (a
// target may pass its checks in a moment); once the retries are spent, the
// deployment rolls back.
func requireHealthy(ctx context.Context, c Clients, group string) error {
	targets, err := c.Traffic.TargetHealth(ctx, group)
	if err != nil {
		return fmt.Errorf("read target health of %s: %w", group, err)
	}
	if slices.ContainsFunc(targets, func(t elbv2.Target) bool { return t.State == "healthy" }) {
		return nil
	}
	return &workflow.Transient{Op: "move traffic to " + group,
		Err: fmt.Errorf("target group %s has no healthy target (%d targets)", group, len(targets))}
}

// deleteServices scales each named service to 0 and deletes it, after
// removing its scalable target so auto scaling does not bring it back. ECS
// deregisters its tasks from their target groups and stops them after the
// deregistration delay (the service is DRAINING meanwhile). A service gone
// already is skipped, so a retried cleanup is safe.
func deleteServices(ctx context.Context, c Clients, cluster string, names []string) error {
	for _, name := range names {
		// DescribeService, not readService: the scalable target and its
		// policies, which readService also reads, are removed unread.
		live, err := c.Services.DescribeService(ctx, cluster, name)
		if errors.Is(err, ecs.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("describe service %s/%s: %w", cluster, name, err)
		}
		if err := c.Scaling.DeregisterTarget(ctx, scalingID(cluster, name)); err != nil {
			return fmt.Errorf("remove scalable target of %s: %w", name, err)
		}
		if live.DesiredCount > 0 && live.Scheduling != "DAEMON" {
			if _, err := c.Services.SetDesiredCount(ctx, cluster, name, 0); err != nil {
				return fmt.Errorf("scale %s to 0: %w", name, err)
			}
		}
		if err := c.Services.DeleteService(ctx, cluster, name); err != nil {
			return fmt.Errorf("delete service %s/%s: %w", cluster, name, err)
		}
	}
	return nil
}

// serviceGroup is the target group of a live service's first load
// balancer; "" when it has none (or its settings were not read).
func serviceGroup(s ServiceState) string {
	if s.Settings == nil {
		return ""
	}
	for _, lb := range s.Settings.LoadBalancers {
		if lb.TargetGroupArn != nil && *lb.TargetGroupArn != "" {
			return *lb.TargetGroupArn
		}
	}
	return ""
}

// renderedGroup is the target group the rendered service is created
// behind: the spec's service.loadBalancers, or the environment's first
// target group.
func renderedGroup(r *spec.Rendered) string {
	if r.ServiceInput == nil {
		return ""
	}
	for _, lb := range r.ServiceInput.LoadBalancers {
		if lb.TargetGroupArn != nil && *lb.TargetGroupArn != "" {
			return *lb.TargetGroupArn
		}
	}
	return ""
}

func groupsOf(w []elbv2.TargetWeight) []string {
	var out []string
	for _, g := range w {
		out = append(out, g.TargetGroupARN)
	}
	return out
}
