package sfn

import (
	"encoding/json"
	"fmt"

	"github.com/slipwayhq/slipway/internal/asl"
)

// snapshot is the persisted state: the state machines and every ended
// execution. Running executions cannot outlive the process that runs them;
// they are not kept.
type snapshot struct {
	StateMachines []*stateMachine     `json:"stateMachines"`
	Executions    []archivedExecution `json:"executions"`
}

// Snapshot returns the service's state as JSON, for --state-dir.
func (s *Service) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var snap snapshot
	for _, m := range s.machines {
		snap.StateMachines = append(snap.StateMachines, m)
	}
	sortBy(snap.StateMachines, func(m *stateMachine) string { return m.ARN })
	for _, arn := range s.order {
		d, history, err := s.executionLocked(arn)
		if err != nil || d.Status == asl.StatusRunning {
			continue
		}
		snap.Executions = append(snap.Executions, archivedExecution{Description: d, History: history()})
	}
	b, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("snapshot step functions: %w", err)
	}
	return b, nil
}

// Restore replaces the state machines and ended executions with those of a
// snapshot. Each definition is parsed again.
func (s *Service) Restore(b []byte) error {
	var snap snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return fmt.Errorf("restore step functions: %w", err)
	}
	machines := map[string]*stateMachine{}
	for _, m := range snap.StateMachines {
		d, err := asl.Parse([]byte(m.Definition))
		if err != nil {
			return fmt.Errorf("restore state machine %s: %w", m.ARN, err)
		}
		m.parsed = d
		machines[m.ARN] = m
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.machines = machines
	s.archived = map[string]archivedExecution{}
	s.order = nil
	for _, x := range snap.Executions {
		s.archived[x.Description.ExecutionARN] = x
		s.order = append(s.order, x.Description.ExecutionARN)
	}
	return nil
}
