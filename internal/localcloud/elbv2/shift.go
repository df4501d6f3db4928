package elbv2

import (
	"fmt"
	"math"
	"slices"
)

// ForwardsTo reports whether ruleARN names a rule whose forward action
// sends traffic to (lists) the target group targetGroupARN. exists is false
// for an unknown rule.
func (s *Service) ForwardsTo(ruleARN, targetGroupARN string) (exists, forwards bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.st.Rules[ruleARN]
	if !ok {
		return false, false
	}
	for _, a := range r.Actions {
		if a.Type == typeForward && a.Forward != nil &&
			slices.ContainsFunc(a.Forward.TargetGroups, func(g weightedGroup) bool { return g.ARN == targetGroupARN }) {
			return true, true
		}
	}
	return true, false
}

// Weights returns the forward weights of the rule ruleARN by target group,
// as a percentage of the rule's traffic.
func (s *Service) Weights(ruleARN string) (map[string]float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.st.Rules[ruleARN]
	if !ok {
		return nil, ruleNotFound()
	}
	out := map[string]float64{}
	for _, a := range r.Actions {
		if a.Type != typeForward || a.Forward == nil {
			continue
		}
		var sum int32
		for _, g := range a.Forward.TargetGroups {
			sum += g.Weight
		}
		for _, g := range a.Forward.TargetGroups {
			if sum > 0 {
				out[g.ARN] = 100 * float64(g.Weight) / float64(sum)
			} else {
				out[g.ARN] = 0
			}
		}
	}
	return out, nil
}

// ShiftWeights moves the traffic of the rule ruleARN between two target
// groups, as ECS does for a blue/green, canary or linear deployment:
// percent of it to to, the rest to from. Only the forward action's
// TargetGroups change; every other action (authenticate-oidc,
// authenticate-cognito…), the action order and the forward's stickiness
// are kept as they were, since ModifyRule would replace the whole action
// list. A percentage with a tenth (12.5) is written as weights out of
// 1000, within the 999 maximum.
func (s *Service) ShiftWeights(ruleARN, from, to string, percent float64) error {
	if percent < 0 || percent > 100 || math.IsNaN(percent) {
		return fmt.Errorf("shift weights of %s: percent %v out of 0..100", ruleARN, percent)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.st.Rules[ruleARN]
	if !ok {
		return ruleNotFound()
	}
	for _, arn := range []string{from, to} {
		if _, ok := s.st.TargetGroups[arn]; !ok {
			return tgNotFound()
		}
	}
	toW, fromW := shiftWeights(percent)
	for i := range r.Actions {
		a := &r.Actions[i]
		if a.Type != typeForward {
			continue
		}
		if a.Forward == nil {
			a.Forward = &forwardConfig{TargetGroups: []weightedGroup{{ARN: a.TargetGroupARN, Weight: 1}}}
		}
		groups := slices.Clone(a.Forward.TargetGroups)
		set := func(arn string, w int32) {
			if i := slices.IndexFunc(groups, func(g weightedGroup) bool { return g.ARN == arn }); i >= 0 {
				groups[i].Weight = w
				return
			}
			groups = append(groups, weightedGroup{ARN: arn, Weight: w})
		}
		set(from, fromW)
		set(to, toW)
		a.Forward = &forwardConfig{TargetGroups: groups, Stickiness: a.Forward.Stickiness}
		a.TargetGroupARN = ""
		return nil
	}
	return validation("rule %s has no forward action to shift", ruleARN)
}

// shiftWeights returns the weights of the target group that gets percent of
// the traffic and of the one that keeps the rest.
func shiftWeights(percent float64) (to, from int32) {
	tenths := int32(math.Round(percent * 10))
	if tenths%10 == 0 {
		return tenths / 10, 100 - tenths/10
	}
	// 0.1 % → 1 and 999.
	return tenths, 1000 - tenths
}
