package sfn

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/slipwayhq/slipway/internal/asl"
)

// snapshot is the persisted state: the state machines and every execution.
// A running execution cannot outlive the process that runs it: it is saved
// as aborted, so that whoever waits on it (a deployment lock's holder check)
// sees it ended after a restart.
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
	now := s.clk.Now()
	for _, arn := range s.order {
		d, history, err := s.executionLocked(arn)
		if err != nil {
			continue
		}
		x := archivedExecution{Description: d, History: history()}
		if d.Status == asl.StatusRunning {
			x = abortedAt(x, now)
		}
		snap.Executions = append(snap.Executions, x)
	}
	b, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("snapshot step functions: %w", err)
	}
	return b, nil
}

// Errors of the executions a snapshot aborts.
const (
	errEndpointStopped   = "Local.EndpointStopped"
	causeEndpointStopped = "the local endpoint stopped while the execution was running"
)

// abortedAt returns a running execution as aborted at t, with the
// ExecutionAborted event AWS records for StopExecution.
func abortedAt(x archivedExecution, t time.Time) archivedExecution {
	x.Description.Status = asl.StatusAborted
	x.Description.Error, x.Description.Cause = errEndpointStopped, causeEndpointStopped
	x.Description.StopDate = t
	id := int64(len(x.History) + 1)
	x.History = append(x.History, asl.Event{ID: id, PreviousEventID: id - 1, Timestamp: t, Type: "ExecutionAborted",
		ExecutionAborted: &asl.FailureDetails{Error: errEndpointStopped, Cause: causeEndpointStopped}})
	return x
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
