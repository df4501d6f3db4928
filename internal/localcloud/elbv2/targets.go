package elbv2

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// reasonDescription returns the description AWS gives a target health
// reason code.
func reasonDescription(reason string) string {
	switch reason {
	case "Elb.RegistrationInProgress":
		return "Target registration is in progress"
	case "Elb.InitialHealthChecking":
		return "Initial health checks in progress"
	case "Elb.InternalError":
		return "Health checks failed due to an internal error"
	case "Target.ResponseCodeMismatch":
		return "Health checks failed with these codes: [500]"
	case "Target.Timeout":
		return "Request timed out"
	case "Target.FailedHealthChecks":
		return "Health checks failed"
	case "Target.NotRegistered":
		return "Target is not registered to the target group"
	case "Target.NotInUse":
		return "Target group is not configured to receive traffic from the load balancer"
	case "Target.DeregistrationInProgress":
		return "Target deregistration is in progress"
	case "Target.InvalidState":
		return "Target is in the stopped state"
	case "Target.IpUnusable":
		return "The target IP address is reserved for use by a load balancer"
	case "Target.HealthCheckDisabled":
		return "Health checks are disabled"
	}
	return ""
}

// Target is a target the ECS simulation registers: a task's IP address (or
// an instance id) and the port it serves on.
type Target struct {
	ID   string
	Port int32
}

// RegisterTargets registers targets with the target group targetGroupARN on
// behalf of the ECS simulation, which then reports their health with
// SetTargetHealth. New targets start in state initial. An unknown target
// group is ignored; callers check TargetGroupExists first.
func (s *Service) RegisterTargets(targetGroupARN string, targets []Target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tg, ok := s.st.TargetGroups[targetGroupARN]
	if !ok {
		return
	}
	for _, t := range targets {
		s.registerLocked(tg, t.ID, cmp.Or(t.Port, tg.Port), true)
	}
}

// DeregisterTargets starts draining the targets ids of the target group
// targetGroupARN; they disappear after the deregistration delay.
func (s *Service) DeregisterTargets(targetGroupARN string, ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tg, ok := s.st.TargetGroups[targetGroupARN]
	if !ok {
		return
	}
	for _, t := range tg.Targets {
		if slices.Contains(ids, t.ID) {
			s.drainLocked(tg, t)
		}
	}
}

// SetTargetHealth records the health the ECS simulation observed for the
// target id: state is initial, healthy, unhealthy or draining, and reason
// one of AWS's reason codes (Target.ResponseCodeMismatch, …) or empty.
func (s *Service) SetTargetHealth(targetGroupARN, id, state, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tg, ok := s.st.TargetGroups[targetGroupARN]
	if !ok {
		return
	}
	for _, t := range tg.Targets {
		if t.ID != id {
			continue
		}
		switch state {
		case StateDraining:
			s.drainLocked(tg, t)
		case StateHealthy:
			t.State, t.Reason, t.Desc, t.DrainUntil = state, "", "", time.Time{}
		case StateInitial, StateUnhealthy:
			if reason == "" && state == StateInitial {
				reason = "Elb.RegistrationInProgress"
			}
			if reason == "" {
				reason = "Target.FailedHealthChecks"
			}
			t.State, t.Reason, t.Desc, t.DrainUntil = state, reason, reasonDescription(reason), time.Time{}
		}
	}
}

// TargetGroupExists reports whether the target group arn exists.
func (s *Service) TargetGroupExists(arn string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.st.TargetGroups[arn]
	return ok
}

// HealthyAfter returns how long a newly registered target of the target
// group arn stays initial before it is healthy: HealthCheckIntervalSeconds ×
// HealthyThresholdCount (ALB defaults: 30 s × 5). Zero for an unknown group.
func (s *Service) HealthyAfter(targetGroupARN string) time.Duration {
	return s.groupDuration(targetGroupARN, healthyAfter)
}

// DeregistrationDelay returns how long a deregistered target of the target
// group arn stays draining: deregistration_delay.timeout_seconds (default
// 300 s). Zero for an unknown group.
func (s *Service) DeregistrationDelay(targetGroupARN string) time.Duration {
	return s.groupDuration(targetGroupARN, deregistrationDelay)
}

// UnhealthyAfter returns how long a newly registered target of the target
// group arn that fails every health check stays initial before it is
// unhealthy: HealthCheckIntervalSeconds × UnhealthyThresholdCount (ALB
// defaults: 30 s × 2). Zero for an unknown group.
func (s *Service) UnhealthyAfter(targetGroupARN string) time.Duration {
	return s.groupDuration(targetGroupARN, unhealthyAfter)
}

// groupDuration returns f of the target group arn under the lock, or zero
// for an unknown group.
func (s *Service) groupDuration(arn string, f func(*targetGroup) time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	tg, ok := s.st.TargetGroups[arn]
	if !ok {
		return 0
	}
	return f(tg)
}

func healthyAfter(tg *targetGroup) time.Duration {
	hc := tg.HealthCheck
	return time.Duration(hc.IntervalSeconds) * time.Duration(hc.HealthyThreshold) * time.Second
}

func unhealthyAfter(tg *targetGroup) time.Duration {
	hc := tg.HealthCheck
	return time.Duration(hc.IntervalSeconds) * time.Duration(hc.UnhealthyThreshold) * time.Second
}

// TrafficShares returns the share of traffic each target group receives,
// by target group ARN. Every listener rule (the default rule included) is
// assumed to receive the same baseline traffic, 1.0; a forward action gives
// each of its target groups weight/sum-of-weights of it, and the shares of
// a target group forwarded to by several rules add up. Groups with no
// traffic are absent.
func (s *Service) TrafficShares() map[string]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]float64{}
	for _, r := range s.st.Rules {
		l, ok := s.st.Listeners[r.ListenerARN]
		if !ok {
			continue
		}
		if _, ok := s.st.LoadBalancers[l.LoadBalancerARN]; !ok {
			continue
		}
		for _, a := range r.Actions {
			if a.Type != "forward" || a.Forward == nil {
				continue
			}
			var sum int32
			for _, g := range a.Forward.TargetGroups {
				sum += g.Weight
			}
			for _, g := range a.Forward.TargetGroups {
				if sum > 0 && g.Weight > 0 {
					out[g.ARN] += float64(g.Weight) / float64(sum)
				}
			}
		}
	}
	return out
}

// LoadBalancerOf returns the ARN of the load balancer that forwards to the
// target group arn.
func (s *Service) LoadBalancerOf(targetGroupARN string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lbs := s.loadBalancersOfLocked(targetGroupARN)
	if len(lbs) == 0 {
		return "", false
	}
	return lbs[0], true
}

// HealthyTargets returns the ids of the healthy targets of the target group
// targetGroupARN.
func (s *Service) HealthyTargets(targetGroupARN string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDrainedLocked()
	tg, ok := s.st.TargetGroups[targetGroupARN]
	if !ok {
		return nil
	}
	inUse := len(s.loadBalancersOfLocked(tg.ARN)) > 0
	now := s.clock.Now()
	var out []string
	for _, t := range tg.Targets {
		if st, _ := s.healthLocked(tg, t, inUse, now); st == StateHealthy {
			out = append(out, t.ID)
		}
	}
	return out
}

func (s *Service) registerLocked(tg *targetGroup, id string, port int32, managed bool) {
	now := s.clock.Now().UTC()
	for _, t := range tg.Targets {
		if t.ID == id && t.Port == port {
			if !t.DrainUntil.IsZero() {
				*t = target{ID: id, Port: port, Managed: managed, Registered: now,
					State: StateInitial, Reason: "Elb.RegistrationInProgress", Desc: reasonDescription("Elb.RegistrationInProgress")}
			}
			return
		}
	}
	tg.Targets = append(tg.Targets, &target{ID: id, Port: port, Managed: managed, Registered: now,
		State: StateInitial, Reason: "Elb.RegistrationInProgress", Desc: reasonDescription("Elb.RegistrationInProgress")})
}

func (s *Service) drainLocked(tg *targetGroup, t *target) {
	if t.DrainUntil.IsZero() {
		t.DrainUntil = s.clock.Now().Add(deregistrationDelay(tg)).UTC()
	}
}

// expireDrainedLocked removes the targets whose deregistration delay is over.
func (s *Service) expireDrainedLocked() {
	now := s.clock.Now()
	for _, tg := range s.st.TargetGroups {
		tg.Targets = slices.DeleteFunc(tg.Targets, func(t *target) bool {
			return !t.DrainUntil.IsZero() && !now.Before(t.DrainUntil)
		})
	}
}

// healthLocked returns the state and reason DescribeTargetHealth reports for
// t: draining first, then unused when no load balancer forwards to the
// group, then what ECS reported for its targets; targets registered through
// the API pass their health checks after HealthyThreshold intervals.
func (s *Service) healthLocked(tg *targetGroup, t *target, inUse bool, now time.Time) (state, reason string) {
	switch {
	case !t.DrainUntil.IsZero():
		return StateDraining, "Target.DeregistrationInProgress"
	case !inUse:
		return StateUnused, "Target.NotInUse"
	case t.Managed:
		return t.State, t.Reason
	}
	if !now.Before(t.Registered.Add(healthyAfter(tg))) {
		return StateHealthy, ""
	}
	return StateInitial, "Elb.RegistrationInProgress"
}

func (s *Service) registerTargets(p url.Values) (any, error) {
	tg, targets, err := s.targetsParam(p, true)
	if err != nil {
		return nil, err
	}
	for _, t := range targets {
		s.registerLocked(tg, t.ID, t.Port, false)
	}
	return struct{}{}, nil
}

func (s *Service) deregisterTargets(p url.Values) (any, error) {
	tg, targets, err := s.targetsParam(p, true)
	if err != nil {
		return nil, err
	}
	var found []*target
	for _, want := range targets {
		i := slices.IndexFunc(tg.Targets, func(t *target) bool { return t.ID == want.ID && t.Port == want.Port })
		if i < 0 {
			return nil, protocol400("InvalidTarget", "The following targets are not registered in target group '%s': '%s'", tg.ARN, want.ID)
		}
		found = append(found, tg.Targets[i])
	}
	for _, t := range found {
		s.drainLocked(tg, t)
	}
	return struct{}{}, nil
}

// targetsParam reads TargetGroupArn and Targets.member.N.{Id,Port}; a
// missing port means the target group's.
func (s *Service) targetsParam(p url.Values, need bool) (*targetGroup, []Target, error) {
	arn, err := required(p, "TargetGroupArn")
	if err != nil {
		return nil, nil, err
	}
	tg, ok := s.st.TargetGroups[arn]
	if !ok {
		return nil, nil, tgNotFound()
	}
	var targets []Target
	for i, m := range structs(p, "Targets") {
		id := strings.TrimSpace(m.Get("Id"))
		if id == "" {
			return nil, nil, validation("Targets.member.%d.Id: required", i+1)
		}
		port, ok, err := int32Param(m, "Port", 1, 65535)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			port = tg.Port
		}
		targets = append(targets, Target{ID: id, Port: port})
	}
	if need && len(targets) == 0 {
		return nil, nil, validation("1 validation error detected: Value null at 'targets' failed to satisfy constraint: Member must not be null")
	}
	return tg, targets, nil
}

func (s *Service) describeTargetHealth(p url.Values) (any, error) {
	tg, filter, err := s.targetsParam(p, false)
	if err != nil {
		return nil, err
	}
	inUse := len(s.loadBalancersOfLocked(tg.ARN)) > 0
	now := s.clock.Now()
	describe := func(id string, port int32, state, reason string) xmlTargetHealth {
		var x xmlTargetHealth
		x.Target.Id, x.Target.Port = id, port
		x.HealthCheckPort = tg.HealthCheck.Port
		if x.HealthCheckPort == "traffic-port" {
			x.HealthCheckPort = strconv.Itoa(int(port))
		}
		x.TargetHealth.State, x.TargetHealth.Reason, x.TargetHealth.Description = state, reason, reasonDescription(reason)
		return x
	}
	out := []xmlTargetHealth{}
	for _, t := range tg.Targets {
		if len(filter) > 0 && !slices.ContainsFunc(filter, func(f Target) bool { return f.ID == t.ID && f.Port == t.Port }) {
			continue
		}
		state, reason := s.healthLocked(tg, t, inUse, now)
		x := describe(t.ID, t.Port, state, reason)
		if t.Managed && reason == t.Reason && t.Desc != "" {
			x.TargetHealth.Description = t.Desc
		}
		out = append(out, x)
	}
	for _, f := range filter {
		if !slices.ContainsFunc(tg.Targets, func(t *target) bool { return f.ID == t.ID && f.Port == t.Port }) {
			out = append(out, describe(f.ID, f.Port, StateUnused, "Target.NotRegistered"))
		}
	}
	return struct {
		TargetHealthDescriptions []xmlTargetHealth `xml:"TargetHealthDescriptions>member"`
	}{out}, nil
}

func (s *Service) resourceExistsLocked(arn string) error {
	switch {
	case strings.Contains(arn, ":loadbalancer/"):
		if _, ok := s.st.LoadBalancers[arn]; !ok {
			return lbNotFound()
		}
	case strings.Contains(arn, ":targetgroup/"):
		if _, ok := s.st.TargetGroups[arn]; !ok {
			return tgNotFound()
		}
	case strings.Contains(arn, ":listener/"):
		if _, ok := s.st.Listeners[arn]; !ok {
			return listenerNotFound()
		}
	case strings.Contains(arn, ":listener-rule/"):
		if _, ok := s.st.Rules[arn]; !ok {
			return ruleNotFound()
		}
	default:
		return validation("'%s' is not a valid load balancer, target group, listener or rule ARN", arn)
	}
	return nil
}

func (s *Service) addTags(p url.Values) (any, error) {
	arns := list(p, "ResourceArns")
	tags, err := parseTags(p)
	if err != nil {
		return nil, err
	}
	if len(arns) == 0 || len(tags) == 0 {
		return nil, validation("ResourceArns and Tags are required")
	}
	for _, arn := range arns {
		if err := s.resourceExistsLocked(arn); err != nil {
			return nil, err
		}
	}
	for _, arn := range arns {
		cur := s.st.Tags[arn]
		for _, t := range tags {
			if i := slices.IndexFunc(cur, func(c tag) bool { return c.Key == t.Key }); i >= 0 {
				cur[i] = t
			} else {
				cur = append(cur, t)
			}
		}
		s.st.Tags[arn] = cur
	}
	return struct{}{}, nil
}

func (s *Service) removeTags(p url.Values) (any, error) {
	arns, keys := list(p, "ResourceArns"), list(p, "TagKeys")
	for _, arn := range arns {
		if err := s.resourceExistsLocked(arn); err != nil {
			return nil, err
		}
	}
	for _, arn := range arns {
		s.st.Tags[arn] = slices.DeleteFunc(s.st.Tags[arn], func(t tag) bool { return slices.Contains(keys, t.Key) })
	}
	return struct{}{}, nil
}

func (s *Service) describeTags(p url.Values) (any, error) {
	arns := list(p, "ResourceArns")
	if len(arns) == 0 {
		return nil, validation("ResourceArns is required")
	}
	out := []xmlTagDescription{}
	for _, arn := range arns {
		if err := s.resourceExistsLocked(arn); err != nil {
			return nil, err
		}
		out = append(out, xmlTagDescription{ResourceArn: arn, Tags: s.st.Tags[arn]})
	}
	return struct {
		TagDescriptions []xmlTagDescription `xml:"TagDescriptions>member"`
	}{out}, nil
}
