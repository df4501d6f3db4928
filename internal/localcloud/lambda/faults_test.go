package lambda

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// TestInvocationFaults checks the faults the registry injects into
// invocations, as Lambda reports each: a throttle is a 429 service error
// and the function does not run; a timeout lets it run and loses its
// answer (Sandbox.Timedout); a crash is Runtime.ExitError before it runs.
func TestInvocationFaults(t *testing.T) {
	reg := faults.New()
	s := New(Config{Faults: reg})
	var runs atomic.Int32
	if err := s.Register("step", awslambda.NewHandler(func(context.Context) (string, error) {
		runs.Add(1)
		return "ok", nil
	})); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		fault    string
		wantType string // the function error's type; "" for a service error
		wantRuns int32
	}{
		{faults.InvokeThrottle, "", 0},
		{faults.InvokeTimeout, "Sandbox.Timedout", 1},
		{faults.InvokeCrash, "Runtime.ExitError", 0},
	}
	for _, tc := range tests {
		t.Run(tc.fault, func(t *testing.T) {
			runs.Store(0)
			reg.Apply(faults.State{Invocations: []faults.Invocation{{Function: "step", Match: []string{`"phase":"apply"`}, Fault: tc.fault, Count: 1}}})
			if _, fnErr, err := s.Invoke(t.Context(), "step", []byte(`{"phase":"prepare"}`)); err != nil || fnErr != nil {
				t.Fatalf("an invocation the fault does not match: got %v, %v", fnErr, err)
			}
			runs.Store(0)
			_, fnErr, err := s.Invoke(t.Context(), "step", []byte(`{"phase":"apply"}`))
			if tc.wantType == "" {
				var perr *protocol.Error
				if !errors.As(err, &perr) || perr.Status != http.StatusTooManyRequests || perr.Code != "TooManyRequestsException" {
					t.Errorf("got %v, %v, want a 429 TooManyRequestsException", fnErr, err)
				}
			} else if err != nil || fnErr == nil || fnErr.Type != tc.wantType {
				t.Errorf("got %+v, %v, want a %s function error", fnErr, err, tc.wantType)
			}
			if got := runs.Load(); got != tc.wantRuns {
				t.Errorf("the function ran %d times, want %d", got, tc.wantRuns)
			}
			if _, fnErr, err := s.Invoke(t.Context(), "step", []byte(`{"phase":"apply"}`)); err != nil || fnErr != nil {
				t.Errorf("after the fault's count: got %v, %v, want success", fnErr, err)
			}
		})
	}
}

// TestHeldInvocation checks a hold (faults.InvokeHold): the invocation
// waits in flight before the function runs until the hold is released,
// handing a caller's hold on the clock back meanwhile so that a virtual
// clock moves on; a caller that gives up ends the wait.
func TestHeldInvocation(t *testing.T) {
	reg := faults.New()
	clk := clock.NewVirtual(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	s := New(Config{Faults: reg, Clock: clk})
	t.Cleanup(func() { s.Close() })
	var runs atomic.Int32
	if err := s.Register("step", awslambda.NewHandler(func(context.Context) (string, error) {
		runs.Add(1)
		return "ok", nil
	})); err != nil {
		t.Fatal(err)
	}
	reg.Apply(faults.State{Invocations: []faults.Invocation{{Function: "step", Match: []string{`"phase":"apply"`}, Fault: faults.InvokeHold, Count: 1, Hold: "web"}}})
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	clk.Busy() // the caller's hold, as a Task state's
	go func() {
		out, fnErr, err := s.Invoke(ClockHeld(t.Context()), "step", []byte(`{"phase":"apply"}`))
		if fnErr != nil {
			err = errors.New(fnErr.Message)
		}
		done <- result{out, err}
	}()
	for reg.Held("web") == 0 {
		time.Sleep(time.Millisecond)
	}
	// The clock moves while the invocation is held.
	tm := clk.NewTimer(time.Minute)
	select {
	case <-tm.C():
		clk.Done()
	case <-time.After(10 * time.Second):
		t.Fatal("the virtual clock did not move while the invocation was held")
	}
	if n := runs.Load(); n != 0 {
		t.Fatalf("the function ran %d times while held, want 0", n)
	}
	if n := reg.Release("web"); n != 1 {
		t.Fatalf("Release(web) = %d, want 1", n)
	}
	r := <-done
	if r.err != nil || string(r.out) != `"ok"` || runs.Load() != 1 {
		t.Fatalf("after the release: got %s, %v, %d runs; want the function's answer, one run", r.out, r.err, runs.Load())
	}
	clk.Done()
	if n := reg.Held("web"); n != 0 {
		t.Errorf("Held(web) after the invocation = %d, want 0", n)
	}

	// A caller that gives up ends the wait; the function does not run.
	reg.Apply(faults.State{Invocations: []faults.Invocation{{Function: "step", Fault: faults.InvokeHold, Count: 1, Hold: "web"}}})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		_, _, err := s.Invoke(ctx, "step", []byte(`{}`))
		done <- result{nil, err}
	}()
	for reg.Held("web") == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if r := <-done; !errors.Is(r.err, context.Canceled) || runs.Load() != 1 {
		t.Errorf("a cancelled held invocation: got %v and %d runs, want context.Canceled and no run", r.err, runs.Load()-1)
	}
}
