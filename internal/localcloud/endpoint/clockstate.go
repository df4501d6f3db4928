package endpoint

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/slipwayhq/slipway/internal/clock"
)

// clockState persists the clock's time with the services' state. A world
// on a scaled clock runs ahead of the wall clock; restarted from its state
// directory on a fresh clock it would resume in its own past, and every
// time it recorded (execution starts, request times, history) would lie in
// the future: a new push would then look older than the deployment before
// it and be superseded. Restoring moves the clock forward to the saved time
// (clock.Advancer); the real clock cannot move and needs no moving.
type clockState struct{ clk clock.Clock }

type savedClock struct {
	Now time.Time `json:"now"`
}

// Snapshot returns the clock's current time.
func (c clockState) Snapshot() ([]byte, error) {
	return json.Marshal(savedClock{Now: c.clk.Now()})
}

// Restore advances the clock to the saved time when it is ahead.
func (c clockState) Restore(data []byte) error {
	var s savedClock
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("clock: %w", err)
	}
	if a, ok := c.clk.(clock.Advancer); ok {
		a.AdvanceTo(s.Now)
	}
	return nil
}
