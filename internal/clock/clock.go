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

// Speeder is a clock whose speed can change while it runs, its pending
// timers keeping their deadlines on the clock: the local endpoint
// fast-forwards the seeding of its world (minutes of simulated task starts
// and bakes nobody watches), then runs at the speed the user chose.
type Speeder interface {
	// Speed is how many times faster than wall time the clock runs.
	Speed() float64
	// SetSpeed makes the clock run speed times faster than wall time from
	// now on; a speed that is not positive changes nothing.
	SetSpeed(speed float64)
}

// Scaled returns a clock that starts at the current wall time and runs speed
// times faster than it: with speed 60, a 30-minute timer fires after 30
// seconds of wall time. A speed that is not positive means 1. Its speed can
// change (Speeder).
func Scaled(speed float64) Clock {
	if speed <= 0 {
		speed = 1
	}
	now := time.Now()
	return &scaledClock{speed: speed, origin: now, start: now, timers: map[*scaledTimer]struct{}{}}
}

type scaledClock struct {
	mu     sync.RWMutex
	speed  float64
	origin time.Time // wall time the clock (re)started at this speed
	start  time.Time // the clock's own time at origin

	// timers are the armed timers, re-armed when the speed changes.
	// Lock order: a timer's mu, then tmu.
	tmu    sync.Mutex
	timers map[*scaledTimer]struct{}
}

func (s *scaledClock) Now() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nowLocked(time.Now())
}

func (s *scaledClock) nowLocked(wall time.Time) time.Time {
	return s.start.Add(time.Duration(float64(wall.Sub(s.origin)) * s.speed))
}

// AdvanceTo restarts the clock at t, running at the same speed from the
// current wall time, when t is after Now.
func (s *scaledClock) AdvanceTo(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wall := time.Now()
	if t.After(s.nowLocked(wall)) {
		s.origin, s.start = wall, t
	}
}

// Speed is the clock's current speed.
func (s *scaledClock) Speed() float64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.speed
}

// SetSpeed changes the speed from now on and re-arms every pending timer
// so that it still fires at its deadline on the clock.
func (s *scaledClock) SetSpeed(speed float64) {
	if speed <= 0 {
		return
	}
	s.mu.Lock()
	wall := time.Now()
	s.origin, s.start, s.speed = wall, s.nowLocked(wall), speed
	s.mu.Unlock()
	s.tmu.Lock()
	pending := make([]*scaledTimer, 0, len(s.timers))
	for t := range s.timers {
		pending = append(pending, t)
	}
	s.tmu.Unlock()
	for _, t := range pending {
		t.rearm()
	}
}

func (s *scaledClock) wall(d time.Duration) time.Duration {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return time.Duration(float64(d) / s.speed)
}

func (s *scaledClock) NewTimer(d time.Duration) Timer {
	st := &scaledTimer{clock: s, c: make(chan time.Time, 1)}
	st.mu.Lock()
	st.arm(s.Now().Add(d))
	st.mu.Unlock()
	return st
}

func (s *scaledClock) Sleep(ctx context.Context, d time.Duration) error {
	t := s.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

func (s *scaledClock) Busy() {}

func (s *scaledClock) Done() {}

// scaledTimer delivers the scaled clock's time (not the wall time) when the
// underlying wall timer fires.
type scaledTimer struct {
	clock *scaledClock
	c     chan time.Time

	mu       sync.Mutex
	t        *time.Timer
	deadline time.Time // on the clock, while armed
	armed    bool
	gen      int // incremented by Stop, Reset and re-arming so a late wall firing is ignored
}

func (t *scaledTimer) fire(gen int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if gen != t.gen {
		return
	}
	t.disarmLocked()
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
	t.disarmLocked()
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
	t.arm(t.clock.Now().Add(d))
	return active
}

// rearm restarts the wall timer of an armed timer for its deadline at the
// clock's current speed.
func (t *scaledTimer) rearm() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.armed {
		return
	}
	t.gen++
	t.t.Stop()
	t.arm(t.deadline)
}

// arm starts a wall timer for the current generation firing at deadline on
// the clock; t.mu must be held.
func (t *scaledTimer) arm(deadline time.Time) {
	gen := t.gen
	t.deadline, t.armed = deadline, true
	t.clock.tmu.Lock()
	t.clock.timers[t] = struct{}{}
	t.clock.tmu.Unlock()
	t.t = time.AfterFunc(t.clock.wall(deadline.Sub(t.clock.Now())), func() { t.fire(gen) })
}

// disarmLocked forgets the timer's deadline; t.mu must be held.
func (t *scaledTimer) disarmLocked() {
	if !t.armed {
		return
	}
	t.armed = false
	t.clock.tmu.Lock()
	delete(t.clock.timers, t)
	t.clock.tmu.Unlock()
}
