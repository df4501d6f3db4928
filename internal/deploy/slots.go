package deploy

import (
	"context"
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
	svc, err := createOrUpdate(ctx, c, r, shape, td)
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
	if p.Adopted != "" {
		return deleteServices(ctx, c, p.Rendered.Cluster, []string{p.Adopted})
	}
	if !p.otherExists() {
		return nil
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
