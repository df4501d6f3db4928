package eventbridge

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// snapshot is the persisted state: the rules, with their targets.
type snapshot struct {
	Rules []Rule `json:"rules"`
}

// Snapshot returns the rules and their targets as JSON, for --state-dir.
// Events in flight and dead letters are not part of it.
func (s *Service) Snapshot() ([]byte, error) {
	s.mu.Lock()
	snap := snapshot{Rules: make([]Rule, 0, len(s.rules))}
	for _, r := range s.rules {
		c := *r
		c.Targets = slices.Clone(r.Targets)
		snap.Rules = append(snap.Rules, c)
	}
	s.mu.Unlock()
	slices.SortFunc(snap.Rules, func(a, b Rule) int { return strings.Compare(a.Name, b.Name) })
	b, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("marshal eventbridge snapshot: %w", err)
	}
	return b, nil
}

// Restore replaces the rules and targets with those of a Snapshot. The
// snapshot is validated as a whole first; on error nothing changes.
func (s *Service) Restore(b []byte) error {
	var snap snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return fmt.Errorf("decode eventbridge snapshot: %w", err)
	}
	rules := map[string]*Rule{}
	patterns := map[string]*Pattern{}
	for i := range snap.Rules {
		r := snap.Rules[i]
		if !nameRE.MatchString(r.Name) {
			return fmt.Errorf("eventbridge snapshot: rules[%d]: invalid name %q", i, r.Name)
		}
		if _, dup := rules[r.Name]; dup {
			return fmt.Errorf("eventbridge snapshot: rules[%d]: duplicate rule %s", i, r.Name)
		}
		if r.State != stateEnabled && r.State != stateDisabled && r.State != stateEnabledCloudTrail {
			return fmt.Errorf("eventbridge snapshot: rule %s: invalid state %q", r.Name, r.State)
		}
		p, err := ParsePattern(r.EventPattern)
		if err != nil {
			return fmt.Errorf("eventbridge snapshot: rule %s: %w", r.Name, err)
		}
		for j, t := range r.Targets {
			if err := validateTarget(t, j); err != nil {
				return fmt.Errorf("eventbridge snapshot: rule %s: %w", r.Name, err)
			}
		}
		if r.Arn == "" {
			r.Arn = s.ruleARN(r.Name)
		}
		r.EventBusName = defaultBus
		rules[r.Name] = &r
		patterns[r.Name] = p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules, s.patterns = rules, patterns
	return nil
}
