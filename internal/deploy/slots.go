package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/internal/awsapi/autoscaling"
	"github.com/slipwayhq/slipway/internal/awsapi/ecs"
	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Canary and blue/green run two slot services per logical service,
// <name>--blue and <name>--green, each behind its own target group of one
// listener rule (blue is the first target group, green the second). The
// primary slot serves traffic; the other receives the new revision, then
// traffic moves to it and, on success, it becomes the primary and the old
// slot is scaled to zero.

// The slots.
const (
	slotBlue  = "blue"
	slotGreen = "green"
)

func slotName(service, slot string) string { return service + "--" + slot }

// slotOf returns the slot of an ECS slot service name.
func slotOf(service, name string) string { return strings.TrimPrefix(name, service+"--") }

func otherSlot(slot string) string {
	if slot == slotBlue {
		return slotGreen
	}
	return slotBlue
}

// testRule is the test listener rule of a blue/green deployment that
// verifies the new slot before production traffic; empty when not used.
func testRule(r *spec.Rendered) string {
	if r.Strategy.Kind != kindBlueGreen || !r.Strategy.TestListener || r.LoadBalancer == nil {
		return ""
	}
	return r.LoadBalancer.TestListenerRuleArn
}

// newSlotPlan snapshots both slots and the listener rules, and picks the
// target: the slot that is not primary, blue on the first deployment.
func newSlotPlan(ctx context.Context, c Clients, r *spec.Rendered, p *plan) (*plan, error) {
	blue, err := readService(ctx, c, r.Cluster, slotName(r.Service, slotBlue))
	if err != nil {
		return nil, err
	}
	green, err := readService(ctx, c, r.Cluster, slotName(r.Service, slotGreen))
	if err != nil {
		return nil, err
	}
	// A service running under its plain name (rolling until now) is taken
	// over by the slots, not left running beside them (switch.go).
	plain, err := readService(ctx, c, r.Cluster, r.Service)
	if err != nil {
		return nil, err
	}
	if plain.Exists && (blue.Exists || green.Exists) {
		return nil, bothModels(r, plain, blue, green)
	}
	p.Snapshot.Services = []ServiceState{blue, green}
	if plain.Exists {
		p.Snapshot.Services = []ServiceState{plain, blue, green}
	}
	var groups [2]string
	var weights []elbv2.TargetWeight
	if lb := r.LoadBalancer; lb != nil {
		groups = lb.TargetGroupArns
		for _, arn := range []string{lb.ListenerRuleArn, testRule(r)} {
			if arn == "" {
				continue
			}
			rule, err := readRule(ctx, c, arn)
			if err != nil {
				return nil, err
			}
			p.Snapshot.Rules = append(p.Snapshot.Rules, rule)
		}
		weights = p.Snapshot.Rules[0].Weights
	} else {
		p.ByCount = true
	}
	if plain.Exists {
		return p, adoptPlain(r, p, plain)
	}
	primary := primarySlot(blue, green, groups, weights)
	p.Snapshot.Primary = primary
	target := slotBlue
	if primary == slotBlue {
		target = slotGreen
	}
	p.Target, p.Other = slotName(r.Service, target), slotName(r.Service, otherSlot(target))
	if target == slotBlue {
		p.TargetGroup, p.OtherGroup = groups[0], groups[1]
	} else {
		p.TargetGroup, p.OtherGroup = groups[1], groups[0]
	}
	live := blue
	if primary == slotGreen {
		live = green
	}
	p.FullCount = desiredCount(r, live)
	return p, nil
}

// primarySlot says which slot serves traffic: the only one that exists, else
// the one with the larger weight on the listener rule, else the one with
// more tasks (blue on a tie); empty when neither exists.
func primarySlot(blue, green ServiceState, groups [2]string, weights []elbv2.TargetWeight) string {
	switch {
	case !blue.Exists && !green.Exists:
		return ""
	case !green.Exists:
		return slotBlue
	case !blue.Exists:
		return slotGreen
	}
	wb, wg := weightOf(weights, groups[0]), weightOf(weights, groups[1])
	switch {
	case wb > wg:
		return slotBlue
	case wg > wb:
		return slotGreen
	case green.DesiredCount > blue.DesiredCount:
		return slotGreen
	}
	return slotBlue
}

func weightOf(weights []elbv2.TargetWeight, group string) int32 {
	for _, w := range weights {
		if w.TargetGroupARN == group && group != "" {
			return w.Weight
		}
	}
	return 0
}

// otherExists reports whether the slot serving traffic before the
// deployment exists.
func (p *plan) otherExists() bool { return p.snapshotOf(p.Other).Exists }

// snapshotOf returns the snapshot of the named service.
func (p *plan) snapshotOf(name string) ServiceState {
	for _, s := range p.Snapshot.Services {
		if s.Name == name {
			return s
		}
	}
	return ServiceState{Name: name}
}

// splitWeights puts w percent of the rule's traffic on the target slot and
// the rest on the other, listed blue first.
func (p *plan) splitWeights(w int) []elbv2.TargetWeight {
	t := elbv2.TargetWeight{TargetGroupARN: p.TargetGroup, Weight: int32(w)}
	o := elbv2.TargetWeight{TargetGroupARN: p.OtherGroup, Weight: int32(100 - w)}
	if slotOf(p.Rendered.Service, p.Target) == slotBlue {
		return []elbv2.TargetWeight{t, o}
	}
	return []elbv2.TargetWeight{o, t}
}

// setWeights sets the weights of a rule.
func setWeights(ctx context.Context, c Clients, rule string, w []elbv2.TargetWeight) error {
	if err := c.Traffic.SetRuleWeights(ctx, rule, w); err != nil {
		return fmt.Errorf("set weights of rule %s: %w", rule, err)
	}
	return nil
}

// applySlots brings the target slot up with the new revision, taking no
// production traffic yet.
func applySlots(ctx context.Context, c Clients, p *plan, firstWeight int, td string) (*ecs.Service, error) {
	r := p.Rendered
	n := p.FullCount
	if p.ByCount {
		n = countFor(p.FullCount, firstWeight)
	}
	if lb := r.LoadBalancer; lb != nil {
		// Weight 0 before the new tasks register, so no user meets them
		// before the first shift.
		if err := setWeights(ctx, c, lb.ListenerRuleArn, p.splitWeights(0)); err != nil {
			return nil, err
		}
		if rule := testRule(r); rule != "" {
			if err := setWeights(ctx, c, rule, p.splitWeights(100)); err != nil {
				return nil, err
			}
		}
	}
	// Auto scaling is suspended while traffic moves: it would shrink the old
	// slot as traffic leaves it and fight the counts the shifts set.
	if old := p.snapshotOf(p.Other); old.Scaling != nil {
		l := *old.Scaling
		l.Suspended = true
		if err := registerLimits(ctx, c, r.Cluster, p.Other, l); err != nil {
			return nil, err
		}
	}
	shape := ServiceShape{Name: p.Target, DesiredCount: ptr(n), CircuitBreaker: true}
	if lb := r.LoadBalancer; lb != nil {
		shape.TargetGroupARN, shape.ContainerName, shape.ContainerPort = p.TargetGroup, lb.ContainerName, lb.ContainerPort
	}
	svc, err := createOrUpdate(ctx, c, withoutRegistries(r, p), shape, td)
	if err != nil {
		return nil, err
	}
	scaled, err := slotScaling(r, p.TargetGroup)
	if err != nil {
		return nil, err
	}
	if err := applyScaling(ctx, c, scaled, p.Target, n, true); err != nil {
		return nil, err
	}
	return svc, nil
}

// slotScaling returns r with its ALBRequestCountPerTarget policies naming
// the slot's own target group tg: each slot has its own target group, and a
// policy that counted the requests of the other slot's would scale this
// one on traffic it does not serve (none at all while it is the new slot,
// all of it once it is the old one). r is not changed; r itself is
// returned when there is nothing to relabel.
func slotScaling(r *spec.Rendered, tg string) (*spec.Rendered, error) {
	a := r.AutoScaling
	if a == nil || r.LoadBalancer == nil || tg == "" {
		return r, nil
	}
	if !slices.ContainsFunc(a.Policies, countsRequests) {
		return r, nil
	}
	label, err := autoscaling.ALBResourceLabel(r.LoadBalancer.ListenerRuleArn, tg)
	if err != nil {
		return nil, &workflow.InvalidInput{Problems: []string{fmt.Sprintf("autoScaling: %s policy: %v",
			autoscaling.MetricALBRequestCountPerTarget, err)}}
	}
	out := *a
	out.Policies = slices.Clone(a.Policies)
	for i, pol := range out.Policies {
		out.Policies[i].TargetTrackingScalingPolicyConfiguration =
			autoscaling.WithResourceLabel(pol.TargetTrackingScalingPolicyConfiguration, label)
	}
	rendered := *r
	rendered.AutoScaling = &out
	return &rendered, nil
}

// countsRequests reports whether p tracks ALBRequestCountPerTarget.
func countsRequests(p spec.ScalingPolicy) bool {
	c := p.TargetTrackingScalingPolicyConfiguration
	return c != nil && c.PredefinedMetricSpecification != nil &&
		c.PredefinedMetricSpecification.PredefinedMetricType == autoscaling.MetricALBRequestCountPerTarget
}

// Service discovery follows traffic. The spec's serviceRegistries (Cloud
// Map) name one service for the logical service, and ECS registers every
// task of a service with registries in it, so DNS would send clients to
// the new revision from the moment its tasks start, whatever the listener
// rule's weights. So while another service serves, the new slot runs
// without registries (withoutRegistries): DNS clients keep getting the
// revision that served before the deployment, through every step of a
// canary, including its rollback. Promote gives the new slot the spec's
// registries (promoteRegistries), which ECS applies by a deployment of the
// slot: it starts tasks that register, then stops the unregistered ones.
// Cleanup scales the old slot to zero only once that deployment is
// complete (registeredWhenPromoted), so DNS is never left without a task;
// the old slot's tasks are deregistered as they stop. Between promotion and
// cleanup DNS answers with both revisions.

// withoutRegistries is r with no serviceRegistries when the new slot must
// not register in Cloud Map yet: the spec has registries and another
// service (the old slot, or a plain service being adopted) serves. An
// empty list, not a missing one, so an UpdateService removes registries
// the slot has from an earlier promotion. r is not changed.
func withoutRegistries(r *spec.Rendered, p *plan) *spec.Rendered {
	if r.ServiceInput == nil || len(r.ServiceInput.ServiceRegistries) == 0 || (!p.otherExists() && p.Adopted == "") {
		return r
	}
	in := *r.ServiceInput
	in.ServiceRegistries = in.ServiceRegistries[:0:0]
	out := *r
	out.ServiceInput = &in
	return &out
}

// promoteRegistries gives the promoted slot the spec's serviceRegistries,
// unless it has them already (a first deployment, or a retried Promote).
func promoteRegistries(ctx context.Context, c Clients, p *plan) error {
	r := p.Rendered
	if r.ServiceInput == nil || len(r.ServiceInput.ServiceRegistries) == 0 {
		return nil
	}
	// Only the settings are needed: DescribeService, not readService,
	// which also reads the scalable target and its policies.
	svc, err := c.Services.DescribeService(ctx, r.Cluster, p.Target)
	if errors.Is(err, ecs.ErrNotFound) {
		return fmt.Errorf("register %s in Cloud Map: the service is gone", p.Target)
	}
	if err != nil {
		return fmt.Errorf("describe service %s/%s: %w", r.Cluster, p.Target, err)
	}
	live := svc.Settings
	want := live
	want.ServiceRegistries = r.ServiceInput.ServiceRegistries
	if len(want.Diff(live)) == 0 {
		return nil
	}
	if _, err := c.Services.RestoreService(ctx, r.Cluster, p.Target, ecs.Restore{Settings: &want, Live: &live}); err != nil {
		return fmt.Errorf("register %s in Cloud Map (serviceRegistries): %w", p.Target, err)
	}
	return nil
}

// registering returns the ECS deployment of the promoted slot that
// registers it in Cloud Map (promoteRegistries) while it is in progress, nil
// once it is complete or when there is none: Promote waits for it, so that
// Cleanup never scales in the old slot, the one DNS answers with, before
// the new one is registered. A failed one is DeploymentFailed: the old slot
// still runs, registered and at full size, and the rollback gives it the
// traffic back.
func registering(ctx context.Context, c Clients, p *plan) (*ecs.Deployment, error) {
	r := p.Rendered
	if r.ServiceInput == nil || len(r.ServiceInput.ServiceRegistries) == 0 {
		return nil, nil
	}
	svc, err := c.Services.DescribeService(ctx, r.Cluster, p.Target)
	if err != nil {
		return nil, fmt.Errorf("describe service %s/%s: %w", r.Cluster, p.Target, err)
	}
	d := svc.Primary()
	switch {
	case d == nil || d.RolloutState == "COMPLETED":
		return nil, nil
	case d.RolloutState == "FAILED":
		reason := cmp.Or(d.RolloutStateReason, "its tasks did not start")
		return nil, &workflow.DeploymentFailed{Reason: fmt.Sprintf(
			"%s: the ECS deployment %s that registers it in Cloud Map failed: %s", p.Target, d.ID, reason)}
	}
	return d, nil
}

// registeredWhenPromoted is Cleanup's guard of the same: it returns
// Transient while the promoted slot's registering deployment is in
// progress (Promote waited for it, so only a change by something else gets
// here), and scaling the old slot in would leave DNS without a task.
func registeredWhenPromoted(ctx context.Context, c Clients, p *plan) error {
	d, err := registering(ctx, c, p)
	if err != nil || d == nil {
		return err
	}
	return &workflow.Transient{Op: fmt.Sprintf("scale in %s", p.Other), Err: fmt.Errorf(
		"%s is not registered in Cloud Map yet: ECS deployment %s is %s with %d of %d tasks running",
		p.Target, d.ID, d.RolloutState, d.RunningCount, d.DesiredCount)}
}

// promoteSlots makes the target slot the primary one: all traffic on it,
// at full size, with auto scaling resumed. Full size is read now: the slots
// may have been scaled out during the bakes, and the target is brought up
// to it before it takes all the traffic.
func promoteSlots(ctx context.Context, c Clients, p *plan) error {
	r := p.Rendered
	n, err := liveFullCount(ctx, c, p, true)
	if err != nil {
		return err
	}
	t, err := readCount(ctx, c, r.Cluster, p.Target)
	if err != nil {
		return err
	}
	if p.ByCount || t < n {
		if _, err := c.Services.SetDesiredCount(ctx, r.Cluster, p.Target, n); err != nil {
			return fmt.Errorf("scale %s to %d: %w", p.Target, n, err)
		}
	}
	if lb := r.LoadBalancer; lb != nil {
		if err := setWeights(ctx, c, lb.ListenerRuleArn, p.splitWeights(100)); err != nil {
			return err
		}
	}
	if err := promoteRegistries(ctx, c, p); err != nil {
		return err
	}
	scaled, err := slotScaling(r, p.TargetGroup)
	if err != nil {
		return err
	}
	return applyScaling(ctx, c, scaled, p.Target, n, false)
}

// cleanupSlots scales the old slot to zero, with its scalable target removed
// first so auto scaling does not bring it back. An adopted plain service is
// deleted (deleteServices): the slots replace it.
func cleanupSlots(ctx context.Context, c Clients, p *plan) error {
	if p.Adopted == "" && !p.otherExists() {
		return nil
	}
	if err := registeredWhenPromoted(ctx, c, p); err != nil {
		return err
	}
	if p.Adopted != "" {
		return deleteServices(ctx, c, p.Rendered.Cluster, []string{p.Adopted})
	}
	r := p.Rendered
	if err := c.Scaling.DeregisterTarget(ctx, scalingID(r.Cluster, p.Other)); err != nil {
		return fmt.Errorf("remove scalable target of %s: %w", p.Other, err)
	}
	if _, err := c.Services.SetDesiredCount(ctx, r.Cluster, p.Other, 0); err != nil {
		return fmt.Errorf("scale %s to 0: %w", p.Other, err)
	}
	return nil
}
