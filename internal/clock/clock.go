// Package clock provides the time source every part of the local system
// shares: the real clock, a scaled clock that runs N times faster than wall
// time, and a virtual clock that jumps straight to the next timer whenever
// nothing is in flight, so hours of simulated waiting take milliseconds.
//
// Components written against Clock follow one rule so that the virtual clock
// knows when the system is idle: a goroutine doing work holds the clock busy
// (Busy ... Done), and it gives up that hold only while it blocks. Sleep does
// this for the caller. Real and Scaled clocks ignore Busy and Done.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock is a source of time and timers.
type Clock interface {
	// Now returns the clock's current time.
	Now() time.Time
	// NewTimer returns a timer that delivers the clock's time on its channel
	// once d has elapsed on this clock.
	NewTimer(d time.Duration) Timer
	// Sleep blocks until d has elapsed on this clock or ctx ends, and
	// returns ctx.Err() in the latter case. On a virtual clock the caller
	// must hold the clock busy; it does not while sleeping, and it holds it
	// again when Sleep returns.
	Sleep(ctx context.Context, d time.Duration) error
	// Busy marks one unit of work in flight; time on a virtual clock does
	// not move until every unit is matched by Done.
	Busy()
	// Done ends one unit of work started by Busy, or the hold a fired
	// virtual timer hands to the goroutine that received its value.
	Done()
}

// Timer is a single-shot timer of a Clock. Stop and Reset follow the Go 1.23
// semantics of time.Timer: after they return no stale value is received.
type Timer interface {
	// C returns the channel the timer's time is delivered on.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It reports whether the call
	// stopped the timer before its value was received.
	Stop() bool
	// Reset changes the timer to fire after d, discarding a value not yet
	// received. It reports whether the timer was active.
	Reset(d time.Duration) bool
}

// Advancer is a clock that can be moved forward to a given time: a local
// world restored from its state directory resumes at the time it was saved,
// so what it recorded (history, request times) is never in its future.
// The real clock cannot be moved and does not implement it.
type Advancer interface {
	// AdvanceTo moves the clock to t when t is after Now; an earlier t
	// changes nothing, so the clock never runs backwards.
	AdvanceTo(t time.Time)
}

// Real returns the wall clock.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	return sleep(ctx, time.NewTimer(d))
}

func (realClock) Busy() {}

func (realClock) Done() {}

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time        { return t.t.C }
func (t realTimer) Stop() bool                 { return t.t.Stop() }
func (t realTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }

func sleep(ctx context.Context, t *time.Timer) error {
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Scaled returns a clock that starts at the current wall time and runs speed
// times faster than it: with speed 60, a 30-minute timer fires after 30
// seconds of wall time. A speed that is not positive means 1.
func Scaled(speed float64) Clock {
	if speed <= 0 {
		speed = 1
	}
	now := time.Now()
	return &scaledClock{speed: speed, origin: now, start: now}
}

type scaledClock struct {
	speed float64

	mu     sync.RWMutex
	origin time.Time // wall time the clock started
	start  time.Time // the clock's own time at origin
}

func (s *scaledClock) Now() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	elapsed := time.Since(s.origin)
	return s.start.Add(time.Duration(float64(elapsed) * s.speed))
}

// AdvanceTo restarts the clock at t, running at the same speed from the
// current wall time, when t is after Now.
func (s *scaledClock) AdvanceTo(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wall := time.Now()
	if t.After(s.start.Add(time.Duration(float64(wall.Sub(s.origin)) * s.speed))) {
		s.origin, s.start = wall, t
	}
}

func (s *scaledClock) wall(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.speed)
}

func (s *scaledClock) NewTimer(d time.Duration) Timer {
	st := &scaledTimer{clock: s, c: make(chan time.Time, 1)}
	st.arm(d)
	return st
}

func (s *scaledClock) Sleep(ctx context.Context, d time.Duration) error {
	return sleep(ctx, time.NewTimer(s.wall(d)))
}

func (s *scaledClock) Busy() {}

func (s *scaledClock) Done() {}

// scaledTimer delivers the scaled clock's time (not the wall time) when the
// underlying wall timer fires.
type scaledTimer struct {
	clock *scaledClock
	c     chan time.Time

	mu  sync.Mutex
	t   *time.Timer
	gen int // incremented by Stop and Reset so a late wall firing is ignored
}

func (t *scaledTimer) fire(gen int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if gen != t.gen {
		return
	}
	select {
	case t.c <- t.clock.Now():
	default:
	}
}

func (t *scaledTimer) C() <-chan time.Time { return t.c }

func (t *scaledTimer) Stop() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stopLocked()
}

func (t *scaledTimer) stopLocked() bool {
	t.gen++
	stopped := t.t.Stop()
	select {
	case <-t.c:
		stopped = true
	default:
	}
	return stopped
}

func (t *scaledTimer) Reset(d time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	active := t.stopLocked()
	t.arm(d)
	return active
}

// arm starts a wall timer for the current generation; t.mu must be held or
// the timer not yet shared.
func (t *scaledTimer) arm(d time.Duration) {
	gen := t.gen
	t.t = time.AfterFunc(t.clock.wall(d), func() { t.fire(gen) })
}
