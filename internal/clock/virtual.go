package clock

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Virtual is a clock whose time moves only when nothing is in flight: when
// every Busy has been matched by Done and a timer is pending, it jumps to the
// earliest timer and fires it. Timers with equal deadlines fire in the order
// they were created (or last reset), one at a time.
//
// A fired timer hands a busy hold to whoever receives its value, so time
// cannot move again until that goroutine has reacted and called Done (or
// blocks in Sleep). Stop and Reset take the hold back if the value was never
// received. Hence the contract for components:
//
//   - hold the clock (Busy) while running, release it (Done) just before
//     blocking on a channel, and call Done once after receiving from a
//     timer's channel when done reacting to it;
//   - a goroutine that wakes another one by sending it a message calls Busy
//     before sending, so the hold travels with the message;
//   - stop every timer that may have fired unreceived (defer t.Stop()).
//
// A test drives a Virtual clock without doing anything special: it starts the
// work (which takes a hold before returning) and waits for the result; the
// clock advances by itself. WaitIdle tells a test that the system has nothing
// left to do until something outside it acts (for example a task token is
// completed). The zero value is not usable; use NewVirtual.
type Virtual struct {
	mu      sync.Mutex
	now     time.Time
	busy    int
	seq     uint64
	timers  timerHeap
	waiters []chan struct{}
}

// NewVirtual returns a virtual clock reading start, with nothing in flight.
func NewVirtual(start time.Time) *Virtual {
	return &Virtual{now: start}
}

// Now returns the clock's current time.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

// AdvanceTo moves the clock to t when t is after Now. Pending timers whose
// deadline it passes fire as usual, one at a time once nothing is in
// flight, reading t.
func (v *Virtual) AdvanceTo(t time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if t.After(v.now) {
		v.now = t
	}
}

// Busy marks one unit of work in flight.
func (v *Virtual) Busy() {
	v.mu.Lock()
	v.busy++
	v.mu.Unlock()
}

// Done ends one unit of work; when none is left the clock advances to the
// next timer. Calling Done more often than Busy is a programming error and
// panics, as sync.WaitGroup does.
func (v *Virtual) Done() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.busy == 0 {
		panic("clock: Virtual.Done called without a matching Busy")
	}
	v.busy--
	v.advanceLocked()
}

// NewTimer returns a timer that fires once the clock reaches Now()+d.
func (v *Virtual) NewTimer(d time.Duration) Timer {
	t := &virtualTimer{v: v, c: make(chan time.Time, 1), index: -1}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.scheduleLocked(t, d)
	return t
}

// Sleep blocks until the clock has moved d forward or ctx ends. The caller
// holds the clock busy before and after, but not while sleeping.
func (v *Virtual) Sleep(ctx context.Context, d time.Duration) error {
	t := v.NewTimer(d)
	v.Done()
	select {
	case <-t.C():
		return nil // the timer's hold is now the caller's
	case <-ctx.Done():
		t.Stop()
		v.Busy()
		return ctx.Err()
	}
}

// WaitIdle blocks until nothing is in flight and no timer is pending, that is
// until the system waits for something outside it, or until ctx ends.
func (v *Virtual) WaitIdle(ctx context.Context) error {
	v.mu.Lock()
	if v.busy == 0 && len(v.timers) == 0 {
		v.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	v.waiters = append(v.waiters, ch)
	v.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// scheduleLocked arms t to fire d from now and, if the clock is idle, lets
// it advance.
func (v *Virtual) scheduleLocked(t *virtualTimer, d time.Duration) {
	if d < 0 {
		d = 0
	}
	v.seq++
	t.when = v.now.Add(d)
	t.seq = v.seq
	heap.Push(&v.timers, t)
	v.advanceLocked()
}

// advanceLocked fires the earliest timer if nothing is in flight. Firing
// makes the clock busy again (the hold belongs to the receiver), so at most
// one timer fires per call; the next fires when that hold is released.
func (v *Virtual) advanceLocked() {
	if v.busy > 0 {
		return
	}
	if len(v.timers) == 0 {
		for _, ch := range v.waiters {
			close(ch)
		}
		v.waiters = nil
		return
	}
	t := heap.Pop(&v.timers).(*virtualTimer)
	if t.when.After(v.now) {
		v.now = t.when
	}
	v.busy++
	t.c <- v.now // never blocks: the buffer is drained before a timer is re-armed
}

// releaseLocked takes back a fired timer's hold whose value was not received.
func (v *Virtual) releaseLocked(t *virtualTimer) bool {
	select {
	case <-t.c:
		v.busy--
		return true
	default:
		return false
	}
}

type virtualTimer struct {
	v     *Virtual
	c     chan time.Time
	when  time.Time
	seq   uint64
	index int // position in the heap, -1 when not pending
}

func (t *virtualTimer) C() <-chan time.Time { return t.c }

func (t *virtualTimer) Stop() bool {
	v := t.v
	v.mu.Lock()
	defer v.mu.Unlock()
	stopped := t.stopLocked()
	v.advanceLocked()
	return stopped
}

func (t *virtualTimer) stopLocked() bool {
	if t.index >= 0 {
		heap.Remove(&t.v.timers, t.index)
		return true
	}
	return t.v.releaseLocked(t)
}

func (t *virtualTimer) Reset(d time.Duration) bool {
	v := t.v
	v.mu.Lock()
	defer v.mu.Unlock()
	active := t.stopLocked()
	v.scheduleLocked(t, d)
	return active
}

// timerHeap orders pending timers by deadline, then creation sequence.
type timerHeap []*virtualTimer

func (h timerHeap) Len() int { return len(h) }

func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}

func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *timerHeap) Push(x any) {
	t := x.(*virtualTimer)
	t.index = len(*h)
	*h = append(*h, t)
}

func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}
