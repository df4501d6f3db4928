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
