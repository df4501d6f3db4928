package lambda

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// snapshot is the persisted state: the binary functions and the
// asynchronous invocation configurations. In-process handlers are code, not
// state; whoever registered them registers them again after a restart.
type snapshot struct {
	Binaries      []binarySnapshot                `json:"binaries"`
	InvokeConfigs map[string]invokeConfigSnapshot `json:"invokeConfigs,omitempty"`
}

type invokeConfigSnapshot struct {
	MaximumRetryAttempts *int   `json:"maximumRetryAttempts,omitempty"`
	MaximumEventAgeSec   int    `json:"maximumEventAgeInSeconds,omitempty"`
	OnFailure            string `json:"onFailure,omitempty"`
}

type binarySnapshot struct {
	Name string            `json:"name"`
	Path string            `json:"path"`
	Env  map[string]string `json:"env,omitempty"`
}

// Snapshot returns the binary function registrations as JSON, for
// --state-dir.
func (s *Service) Snapshot() ([]byte, error) {
	s.mu.Lock()
	snap := snapshot{Binaries: []binarySnapshot{}}
	for _, fn := range s.functions {
		if b := fn.binary; b != nil {
			snap.Binaries = append(snap.Binaries, binarySnapshot{Name: b.name, Path: b.path, Env: b.env})
		}
	}
	for name, c := range s.invokeConfigs {
		if snap.InvokeConfigs == nil {
			snap.InvokeConfigs = map[string]invokeConfigSnapshot{}
		}
		snap.InvokeConfigs[name] = invokeConfigSnapshot{MaximumRetryAttempts: c.MaximumRetryAttempts,
			MaximumEventAgeSec: int(c.MaximumEventAge / time.Second), OnFailure: c.OnFailure}
	}
	s.mu.Unlock()
	slices.SortFunc(snap.Binaries, func(a, b binarySnapshot) int { return strings.Compare(a.Name, b.Name) })
	b, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("marshal lambda snapshot: %w", err)
	}
	return b, nil
}

// Restore registers the binary functions of a Snapshot, replacing functions
// of the same names. The snapshot is validated as a whole first.
func (s *Service) Restore(b []byte) error {
	var snap snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return fmt.Errorf("decode lambda snapshot: %w", err)
	}
	for i, bin := range snap.Binaries {
		if !functionNameRE.MatchString(bin.Name) {
			return fmt.Errorf("lambda snapshot: binaries[%d]: invalid function name %q", i, bin.Name)
		}
		if bin.Path == "" {
			return fmt.Errorf("lambda snapshot: function %s: path is empty", bin.Name)
		}
	}
	for name := range snap.InvokeConfigs {
		if !functionNameRE.MatchString(name) {
			return fmt.Errorf("lambda snapshot: invokeConfigs: invalid function name %q", name)
		}
	}
	for _, bin := range snap.Binaries {
		if err := s.RegisterBinary(bin.Name, bin.Path, bin.Env); err != nil {
			return fmt.Errorf("restore lambda snapshot: %w", err)
		}
	}
	// The configurations are restored as they were; their in-process
	// functions are registered again after the restore.
	s.mu.Lock()
	s.invokeConfigs = map[string]EventInvokeConfig{}
	for name, c := range snap.InvokeConfigs {
		s.invokeConfigs[name] = EventInvokeConfig{MaximumRetryAttempts: c.MaximumRetryAttempts,
			MaximumEventAge: time.Duration(c.MaximumEventAgeSec) * time.Second, OnFailure: c.OnFailure}
	}
	s.mu.Unlock()
	return nil
}
