package faults

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestForImage(t *testing.T) {
	r := New()
	bad := Behaviour{ErrorRate: 0.5, LatencyMs: 300}
	r.SetImage("sha256:abc", bad)
	tests := map[string]struct {
		image string
		want  Behaviour
	}{
		"bare digest":   {image: "sha256:abc", want: bad},
		"uri at digest": {image: "000000000000.dkr.ecr.us-east-1.amazonaws.com/web@sha256:abc", want: bad},
		"other digest":  {image: "web@sha256:def", want: Behaviour{}},
		"tag only":      {image: "web:v1", want: Behaviour{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := r.ForImage(tc.image); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	r.SetImage("sha256:abc", Behaviour{})
	if got := r.ForImage("sha256:abc"); got != (Behaviour{}) {
		t.Errorf("after clearing: got %+v, want zero", got)
	}
}

func TestThrottle(t *testing.T) {
	r := New()
	r.Throttle("ecs", "UpdateService", 2)
	r.Throttle("sfn", "*", 1)
	var got []bool
	for range 3 {
		got = append(got, r.ShouldThrottle("ecs", "UpdateService"))
	}
	got = append(got, r.ShouldThrottle("ecs", "DescribeServices"), r.ShouldThrottle("sfn", "StartExecution"), r.ShouldThrottle("sfn", "StartExecution"))
	want := []bool{true, true, false, false, true, false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("throttle sequence mismatch (-want +got):\n%s", diff)
	}
}

func TestEventsAndState(t *testing.T) {
	r := New()
	r.Apply(State{
		Images:       map[string]Behaviour{"sha256:a": {CrashOnStart: true}},
		Throttles:    []Throttle{{Service: "s3", Operation: "*", Count: 3}, {Service: "ecr", Operation: "PutImage", Count: 1}},
		EventDelayMs: 1500,
		DropEvents:   1,
	})
	want := State{
		Images:       map[string]Behaviour{"sha256:a": {CrashOnStart: true}},
		Throttles:    []Throttle{{Service: "ecr", Operation: "PutImage", Count: 1}, {Service: "s3", Operation: "*", Count: 3}},
		EventDelayMs: 1500,
		DropEvents:   1,
	}
	if diff := cmp.Diff(want, r.State()); diff != "" {
		t.Errorf("state mismatch (-want +got):\n%s", diff)
	}
	if got := r.EventDelay(); got != 1500*time.Millisecond {
		t.Errorf("got delay %v, want 1.5s", got)
	}
	if got := []bool{r.ShouldDropEvent(), r.ShouldDropEvent()}; !cmp.Equal(got, []bool{true, false}) {
		t.Errorf("got drops %v, want [true false]", got)
	}
	r.Reset()
	if diff := cmp.Diff(State{}, r.State()); diff != "" {
		t.Errorf("after reset (-want +got):\n%s", diff)
	}
}

func TestAPIFaultMatchesTheRequest(t *testing.T) {
	r := New()
	r.Apply(State{Throttles: []Throttle{
		{Service: "ecs", Operation: "UpdateService", Count: 1, Match: `"service":"web"`, Error: ErrorInternal},
		{Service: "s3", Operation: "*", Count: 1, Match: "locks/staging/web"},
	}})
	tests := []struct {
		service, op, request, want string
	}{
		{"ecs", "UpdateService", `{"service":"worker"}`, ""},
		{"ecs", "UpdateService", `{"service":"web"}`, ErrorInternal},
		{"ecs", "UpdateService", `{"service":"web"}`, ""},
		{"s3", "PutObject", "/state/locks/staging/worker.json", ""},
		{"s3", "PutObject", "/state/locks/staging/web.json", ErrorThrottling},
		{"s3", "PutObject", "/state/locks/staging/web.json", ""},
	}
	for i, tc := range tests {
		if got := r.APIFault(tc.service, tc.op, []byte(tc.request)); got != tc.want {
			t.Errorf("call %d %s %s %s: got %q, want %q", i, tc.service, tc.op, tc.request, got, tc.want)
		}
	}
}

func TestInvocationAndEventFaults(t *testing.T) {
	r := New()
	r.Apply(State{
		Invocations: []Invocation{{Function: "step", Match: []string{`"phase":"apply"`, "web-staging-"}, Fault: InvokeCrash, Count: 1}},
		Events: []Event{
			{Match: []string{"aws.ecs", "web--green"}, Action: EventDrop, Count: 1},
			{Match: []string{"web"}, Action: EventDuplicate, Count: 2},
		},
	})
	if got := r.InvocationFault("step", []byte(`{"phase":"apply","execution":"worker-staging-1"}`)); got != "" {
		t.Errorf("another service's apply: got %q, want none", got)
	}
	if got := r.InvocationFault("step", []byte(`{"phase":"apply","execution":"web-staging-1"}`)); got != InvokeCrash {
		t.Errorf("web's apply: got %q, want %q", got, InvokeCrash)
	}
	if got := r.InvocationFault("step", []byte(`{"phase":"apply","execution":"web-staging-1"}`)); got != "" {
		t.Errorf("web's apply again: got %q, want none (count spent)", got)
	}
	drop, copies, _ := r.EventFault([]byte(`{"source":"aws.ecs","resources":["web--green"]}`))
	if !drop || copies != 2 {
		t.Errorf("first ECS event of web: got drop %v copies %d, want dropped (and counted as duplicated)", drop, copies)
	}
	drop, copies, _ = r.EventFault([]byte(`{"source":"aws.ecr","detail":{"repository-name":"web"}}`))
	if drop || copies != 2 {
		t.Errorf("web's push: got drop %v copies %d, want 2 copies", drop, copies)
	}
	drop, copies, _ = r.EventFault([]byte(`{"source":"aws.ecr","detail":{"repository-name":"web"}}`))
	if drop || copies != 1 {
		t.Errorf("after the counts are spent: got drop %v copies %d, want one copy", drop, copies)
	}
	if st := r.State(); len(st.Invocations) != 0 || len(st.Events) != 0 {
		t.Errorf("spent faults still listed: %+v", st)
	}
}

func TestHoldInvocation(t *testing.T) {
	r := New()
	r.Apply(State{Invocations: []Invocation{
		{Function: "step", Match: []string{`"phase":"apply"`}, Fault: InvokeHold, Count: 1, Hold: "web"},
		{Function: "step", Match: []string{`"phase":"apply"`}, Fault: InvokeCrash, Count: 1},
	}})
	if ch, _ := r.HoldInvocation("step", []byte(`{"phase":"prepare"}`)); ch != nil {
		t.Fatal("held an invocation the fault does not match")
	}
	released, forget := r.HoldInvocation("step", []byte(`{"phase":"apply"}`))
	if released == nil {
		t.Fatal("the matching invocation was not held")
	}
	if got := r.State().Held; !cmp.Equal(got, []string{"web"}) {
		t.Errorf("State().Held = %v, want [web]", got)
	}
	if n := r.Held("web"); n != 1 {
		t.Errorf("Held(web) = %d, want 1", n)
	}
	// The hold is used up; the crash is InvocationFault's, not a hold.
	if ch, _ := r.HoldInvocation("step", []byte(`{"phase":"apply"}`)); ch != nil {
		t.Error("held a second invocation with a count of 1")
	}
	if got := r.InvocationFault("step", []byte(`{"phase":"apply"}`)); got != InvokeCrash {
		t.Errorf("InvocationFault = %q, want the crash", got)
	}
	select {
	case <-released:
		t.Fatal("released before Release")
	default:
	}
	if n := r.Release("other"); n != 0 {
		t.Errorf("Release(other) = %d, want 0", n)
	}
	r.Apply(State{Release: []string{"web"}})
	select {
	case <-released:
	default:
		t.Fatal("not released by Apply with Release")
	}
	forget()
	if n := r.Held("web"); n != 0 {
		t.Errorf("Held(web) after the release = %d, want 0", n)
	}
	// Reset lets every held invocation go.
	r.Apply(State{Invocations: []Invocation{{Function: "step", Fault: InvokeHold, Count: 1}}})
	released, _ = r.HoldInvocation("step", []byte(`{}`))
	if n := r.Held("step"); n != 1 {
		t.Fatalf("a hold without a name is held under the function's: Held(step) = %d", n)
	}
	r.Reset()
	select {
	case <-released:
	default:
		t.Fatal("not released by Reset")
	}
}

func TestReorderEvent(t *testing.T) {
	r := New()
	r.Apply(State{Events: []Event{{Match: []string{"web", "ECS Deployment State Change"}, Action: EventReorder, Count: 2}}})
	other := []byte(`{"detail-type":"ECS Deployment State Change","resources":["api"]}`)
	if got := r.ReorderEvent(other); !cmp.Equal(got, [][]byte{other}) {
		t.Errorf("an event the fault does not match: got %q, want it alone", got)
	}
	first := []byte(`{"detail-type":"ECS Deployment State Change","resources":["web"],"detail":{"eventName":"SERVICE_DEPLOYMENT_IN_PROGRESS"}}`)
	second := []byte(`{"detail-type":"ECS Deployment State Change","resources":["web"],"detail":{"eventName":"SERVICE_DEPLOYMENT_COMPLETED"}}`)
	if got := r.ReorderEvent(first); got != nil {
		t.Errorf("the first event: got %q, want it held back", got)
	}
	// Neither dropped, duplicated nor delayed by the reorder fault.
	if drop, copies, delay := r.EventFault(first); drop || copies != 1 || delay != 0 {
		t.Errorf("EventFault = %v %d %v, want no fault", drop, copies, delay)
	}
	if got := r.ReorderEvent(second); !cmp.Equal(got, [][]byte{second, first}) {
		t.Errorf("the second event: got %q, want both, newest first", got)
	}
	if got := r.State().Events; len(got) != 0 {
		t.Errorf("the fault is still pending: %+v", got)
	}
	third := []byte(`{"detail-type":"ECS Deployment State Change","resources":["web"]}`)
	if got := r.ReorderEvent(third); !cmp.Equal(got, [][]byte{third}) {
		t.Errorf("after the fault: got %q, want the event alone", got)
	}
}
