package lambda

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	awslambda "github.com/aws/aws-lambda-go/lambda"

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
