package protocol

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// probeLock is a sync.Locker that records whether it is held.
type probeLock struct {
	mu   sync.Mutex
	held bool
}

func (l *probeLock) Lock()   { l.mu.Lock(); l.held = true }
func (l *probeLock) Unlock() { l.held = false; l.mu.Unlock() }

func TestHandle(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	type input struct {
		Name string `json:"name"`
	}
	tests := map[string]struct {
		body      string
		want      string
		wantCall  bool
		wantError bool
	}{
		"decodes and calls": {body: `{"name":"web"}`, want: "web", wantCall: true},
		"empty body":        {body: ``, wantCall: true},
		"bad json":          {body: `{"name":`, wantError: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var lock probeLock
			nowHeld := false
			now := func() time.Time { nowHeld = lock.held; return at }
			called := false
			out, err := Handle([]byte(tc.body), &lock, now, func(now time.Time, in *input) (any, error) {
				called = true
				if !lock.held {
					t.Errorf("f ran without the lock")
				}
				if !now.Equal(at) {
					t.Errorf("got now %v, want %v", now, at)
				}
				return in.Name, nil
			})
			if called != tc.wantCall {
				t.Fatalf("got called %v, want %v", called, tc.wantCall)
			}
			if lock.held {
				t.Errorf("lock still held after Handle")
			}
			if tc.wantError {
				var perr *Error
				if !errors.As(err, &perr) {
					t.Fatalf("got error %v, want a *protocol.Error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if !nowHeld {
				t.Errorf("now was read before the lock was taken")
			}
			if out != tc.want {
				t.Errorf("got %v, want %q", out, tc.want)
			}
		})
	}
}
