package clock

import (
	"context"
	"testing"
	"time"
)

// TestScaledSetSpeedRearmsTimers checks that a timer armed at one speed
// fires at its deadline on the clock after the speed changes, and that the
// clock's time never runs backwards across the change.
func TestScaledSetSpeedRearmsTimers(t *testing.T) {
	c := Scaled(1)
	sp, ok := c.(Speeder)
	if !ok {
		t.Fatal("the scaled clock does not implement Speeder")
	}
	begin := c.Now()
	timer := c.NewTimer(time.Hour)
	stopped := c.NewTimer(time.Hour)
	stopped.Stop()
	before := c.Now()
	sp.SetSpeed(360000) // an hour in 10 ms of wall time
	if got := sp.Speed(); got != 360000 {
		t.Errorf("got speed %v, want 360000", got)
	}
	if after := c.Now(); after.Before(before) {
		t.Fatalf("the clock ran backwards: %v after %v", after, before)
	}
	select {
	case at := <-timer.C():
		if at.Sub(begin) < time.Hour {
			t.Errorf("fired at %v on the clock, want at least an hour after %v", at, begin)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the hour-long timer did not fire within 5 s of wall time after the speed-up")
	}
	select {
	case <-stopped.C():
		t.Error("a stopped timer fired after the speed changed")
	case <-time.After(50 * time.Millisecond):
	}
}

// TestScaledSleepFollowsSpeed checks that a sleep in progress ends at the
// new speed.
func TestScaledSleepFollowsSpeed(t *testing.T) {
	c := Scaled(1)
	done := make(chan error, 1)
	go func() { done <- c.Sleep(context.Background(), time.Hour) }()
	time.Sleep(20 * time.Millisecond) // let the sleep arm its timer
	c.(Speeder).SetSpeed(360000)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an hour's sleep did not end within 5 s of wall time after the speed-up")
	}
}

// TestScaledSetSpeedIgnoresNonPositive checks that a speed of zero or less
// changes nothing.
func TestScaledSetSpeedIgnoresNonPositive(t *testing.T) {
	c := Scaled(60)
	c.(Speeder).SetSpeed(0)
	c.(Speeder).SetSpeed(-1)
	if got := c.(Speeder).Speed(); got != 60 {
		t.Errorf("got speed %v, want 60", got)
	}
}
