package clock

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// drain receives from the named timers until all have fired, in firing
// order, releasing each timer's hold after recording it. react, if not nil,
// runs while the hold is held.
func drain(t *testing.T, v *Virtual, timers map[string]Timer, react func(name string, at time.Time)) []string {
	t.Helper()
	var names []string
	var cases []reflect.SelectCase
	for name, tm := range timers {
		names = append(names, name)
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(tm.C())})
	}
	names = append(names, "timeout")
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(time.After(5 * time.Second))})
	var order []string
	for len(order) < len(timers) {
		i, val, _ := reflect.Select(cases)
		if names[i] == "timeout" {
			t.Fatalf("no timer fired after %v", order)
		}
		cases[i].Chan = reflect.Value{} // a nil channel is never selected again
		order = append(order, names[i])
		if react != nil {
			react(names[i], val.Interface().(time.Time))
		}
		v.Done()
	}
	return order
}

func TestVirtualFiresInDeadlineThenCreationOrder(t *testing.T) {
	v := NewVirtual(epoch)
	v.Busy()
	timers := map[string]Timer{}
	for _, tc := range []struct {
		name string
		d    time.Duration
	}{{"a", 10 * time.Second}, {"b", 5 * time.Second}, {"c", 10 * time.Second}, {"d", 5 * time.Second}, {"e", 0}} {
		timers[tc.name] = v.NewTimer(tc.d)
	}
	fired := map[string]time.Time{}
	v.Done()
	order := drain(t, v, timers, func(name string, at time.Time) { fired[name] = at })
	if diff := cmp.Diff([]string{"e", "b", "d", "a", "c"}, order); diff != "" {
		t.Errorf("firing order (-want +got):\n%s", diff)
	}
	if got, want := fired["a"], epoch.Add(10*time.Second); !got.Equal(want) {
		t.Errorf("a fired at %v, want %v", got, want)
	}
	if got, want := v.Now(), epoch.Add(10*time.Second); !got.Equal(want) {
		t.Errorf("Now() = %v, want %v", got, want)
	}
}

func TestVirtualTimersCreatedWhileAdvancing(t *testing.T) {
	v := NewVirtual(epoch)
	v.Busy()
	t1 := v.NewTimer(10 * time.Second)
	t2 := v.NewTimer(20 * time.Second)
	v.Done()

	var order []string
	var mu sync.Mutex
	record := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }

	<-t1.C() // holding the clock now
	record("t1")
	t3 := v.NewTimer(5 * time.Second)  // 15s: before t2
	t4 := v.NewTimer(10 * time.Second) // 20s: same deadline as t2, created later
	v.Done()
	order = append(order, drain(t, v, map[string]Timer{"t2": t2, "t3": t3, "t4": t4}, nil)...)
	if diff := cmp.Diff([]string{"t1", "t3", "t2", "t4"}, order); diff != "" {
		t.Errorf("firing order (-want +got):\n%s", diff)
	}
}

func TestVirtualStopAndReset(t *testing.T) {
	tests := map[string]struct {
		act      func(v *Virtual, tm Timer) bool
		wantRet  bool
		wantFire bool
		wantNow  time.Duration
	}{
		"stop pending timer": {
			act:     func(v *Virtual, tm Timer) bool { return tm.Stop() },
			wantRet: true,
		},
		"stop twice": {
			act:     func(v *Virtual, tm Timer) bool { tm.Stop(); return tm.Stop() },
			wantRet: false,
		},
		"reset pending timer later": {
			act:      func(v *Virtual, tm Timer) bool { return tm.Reset(time.Hour) },
			wantRet:  true,
			wantFire: true,
			wantNow:  time.Hour,
		},
		"reset stopped timer": {
			act:      func(v *Virtual, tm Timer) bool { tm.Stop(); return tm.Reset(2 * time.Minute) },
			wantRet:  false,
			wantFire: true,
			wantNow:  2 * time.Minute,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := NewVirtual(epoch)
			v.Busy()
			tm := v.NewTimer(time.Minute)
			if got := tc.act(v, tm); got != tc.wantRet {
				t.Errorf("got %v, want %v", got, tc.wantRet)
			}
			v.Done()
			if tc.wantFire {
				select {
				case at := <-tm.C():
					if want := epoch.Add(tc.wantNow); !at.Equal(want) {
						t.Errorf("fired at %v, want %v", at, want)
					}
					v.Done()
				case <-time.After(5 * time.Second):
					t.Fatal("timer did not fire")
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := v.WaitIdle(ctx); err != nil {
				t.Fatalf("WaitIdle: %v", err)
			}
			select {
			case <-tm.C():
				t.Error("stopped timer delivered a value")
			default:
			}
			if got, want := v.Now(), epoch.Add(tc.wantNow); !got.Equal(want) {
				t.Errorf("Now() = %v, want %v", got, want)
			}
		})
	}
}

func TestVirtualStopTakesBackUnreceivedHold(t *testing.T) {
	v := NewVirtual(epoch)
	v.Busy()
	tm := v.NewTimer(time.Second)
	other := v.NewTimer(time.Hour)
	v.Done() // tm fires; its value sits unreceived and holds the clock
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := v.WaitIdle(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitIdle with an unreceived fired timer: got %v, want %v", err, context.DeadlineExceeded)
	}
	if got, want := v.Now(), epoch.Add(time.Second); !got.Equal(want) {
		t.Errorf("Now() = %v, want %v (time moved past an unreceived timer)", got, want)
	}
	if !tm.Stop() {
		t.Error("Stop of a fired, unreceived timer: got false, want true")
	}
	// The hold is released, so the clock moves on to the next timer.
	select {
	case <-other.C():
		v.Done()
	case <-time.After(5 * time.Second):
		t.Fatal("clock did not advance after Stop released the hold")
	}
	if got, want := v.Now(), epoch.Add(time.Hour); !got.Equal(want) {
		t.Errorf("Now() = %v, want %v", got, want)
	}
}

func TestVirtualSleepIsFastAndOrdered(t *testing.T) {
	v := NewVirtual(epoch)
	var mu sync.Mutex
	var log []string
	var wg sync.WaitGroup
	worker := func(name string, steps ...time.Duration) {
		defer wg.Done()
		defer v.Done()
		for _, d := range steps {
			if err := v.Sleep(context.Background(), d); err != nil {
				t.Errorf("Sleep: %v", err)
				return
			}
			mu.Lock()
			log = append(log, name+"@"+v.Now().Sub(epoch).String())
			mu.Unlock()
		}
	}
	start := time.Now()
	for _, w := range []struct {
		name  string
		steps []time.Duration
	}{
		{"canary", []time.Duration{30 * time.Minute, 30 * time.Minute, 30 * time.Minute}},
		{"poll", []time.Duration{time.Hour, time.Minute}},
	} {
		wg.Add(1)
		v.Busy() // the hold travels to the goroutine
		go worker(w.name, w.steps...)
	}
	wg.Wait()
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("90 simulated minutes took %v of wall time", elapsed)
	}
	// poll's 1h timer was created at 0, canary's second one at 30m: poll wakes first.
	want := []string{"canary@30m0s", "poll@1h0m0s", "canary@1h0m0s", "poll@1h1m0s", "canary@1h30m0s"}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("wake-ups (-want +got):\n%s", diff)
	}
}

func TestVirtualSleepCancelled(t *testing.T) {
	v := NewVirtual(epoch)
	v.Busy()
	v.Busy() // an unrelated unit of work keeps time still
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- v.Sleep(ctx, time.Minute) }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want %v", err, context.Canceled)
	}
	v.Done()
	v.Done()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := v.WaitIdle(ctx2); err != nil {
		t.Fatalf("WaitIdle after cancelled Sleep: %v (timer or hold leaked)", err)
	}
	if !v.Now().Equal(epoch) {
		t.Errorf("Now() = %v, want %v", v.Now(), epoch)
	}
}

func TestVirtualDoneWithoutBusyPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Done without Busy: got no panic, want one")
		}
	}()
	NewVirtual(epoch).Done()
}

func TestScaledRunsFaster(t *testing.T) {
	c := Scaled(3600) // an hour per second
	start := c.Now()
	tm := c.NewTimer(30 * time.Minute)
	defer tm.Stop()
	select {
	case at := <-tm.C():
		if got := at.Sub(start); got < 30*time.Minute {
			t.Errorf("timer fired after %v of clock time, want at least 30m", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("30 scaled minutes did not pass within 5s")
	}
	if err := c.Sleep(context.Background(), 10*time.Minute); err != nil {
		t.Fatalf("Sleep: %v", err)
	}
	if got := c.Now().Sub(start); got < 40*time.Minute {
		t.Errorf("clock advanced %v, want at least 40m", got)
	}
}

func TestScaledStopAndReset(t *testing.T) {
	c := Scaled(1000)
	tm := c.NewTimer(time.Hour) // 3.6s of wall time
	if !tm.Stop() {
		t.Error("Stop of a pending timer: got false, want true")
	}
	tm.Reset(time.Second) // 1ms of wall time
	select {
	case <-tm.C():
	case <-time.After(5 * time.Second):
		t.Fatal("reset timer did not fire")
	}
}

func TestRealSleepCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Real().Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want %v", err, context.Canceled)
	}
}

func TestVirtualResetTakesBackUnreceivedHold(t *testing.T) {
	v := NewVirtual(epoch)
	v.Busy()
	tm := v.NewTimer(time.Second)
	v.Done() // tm fires at 1s and holds the clock, unreceived
	if !tm.Reset(time.Minute) {
		t.Error("Reset of a fired, unreceived timer: got false, want true")
	}
	select {
	case at := <-tm.C():
		if want := epoch.Add(time.Second + time.Minute); !at.Equal(want) {
			t.Errorf("fired at %v, want %v", at, want)
		}
		v.Done()
	case <-time.After(5 * time.Second):
		t.Fatal("reset timer did not fire")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := v.WaitIdle(ctx); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}
}

// TestAdvanceTo: Scaled and Virtual clocks move forward to a later time and
// never back; a restored local world resumes where it was saved.
func TestAdvanceTo(t *testing.T) {
	later := time.Now().Add(72 * time.Hour)
	clocks := map[string]Clock{
		"scaled":  Scaled(60),
		"virtual": NewVirtual(time.Now()),
	}
	for name, c := range clocks {
		t.Run(name, func(t *testing.T) {
			a, ok := c.(Advancer)
			if !ok {
				t.Fatalf("%T does not implement Advancer", c)
			}
			a.AdvanceTo(later)
			if got := c.Now(); got.Before(later) {
				t.Errorf("got %v after AdvanceTo(%v), want at least that", got, later)
			}
			a.AdvanceTo(later.Add(-48 * time.Hour))
			if got := c.Now(); got.Before(later) {
				t.Errorf("got %v after advancing to an earlier time, want the clock not to run back (%v)", got, later)
			}
		})
	}
	if _, ok := Real().(Advancer); ok {
		t.Error("the real clock implements Advancer; it cannot be moved")
	}
}
