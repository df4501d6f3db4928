package trigger

import (
	"regexp"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/workflow"
)

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

func baseRequest() workflow.Request {
	return workflow.Request{
		Service:                "web",
		Environment:            "staging",
		Image:                  "web@sha256:3f1b9a2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8",
		SpecVersion:            "Xj4mQ8s0T2vKp9LrNcY7wZbE1aHdGfU3",
		EnvironmentSpecVersion: "pQ2uR7wYz0Ab3Cd6Ef9Gh1Ij4Kl7Mn0O",
	}
}

func TestExecutionNameIsDeterministic(t *testing.T) {
	a, b := ExecutionName(baseRequest()), ExecutionName(baseRequest())
	if a != b {
		t.Errorf("got %q and %q for the same request, want one name", a, b)
	}
	if !strings.HasPrefix(a, "web-staging-") {
		t.Errorf("got %q, want it to start with web-staging-", a)
	}
	if !validName.MatchString(a) {
		t.Errorf("got %q, not a valid execution name", a)
	}
	// Reason and actor say why and who, not which event: they do not
	// change the name.
	r := baseRequest()
	r.Reason = "again"
	r.Trigger.Actor = "someone"
	if got := ExecutionName(r); got != a {
		t.Errorf("got %q with another reason and actor, want %q", got, a)
	}
}

// TestExecutionNameFreshForANewEvent: an image that ran before starts a
// fresh execution when a new event asks for it (a push of the last good
// build, a re-run promoted again); the same event delivered twice does not.
func TestExecutionNameFreshForANewEvent(t *testing.T) {
	push := func(event string) workflow.Request {
		r := baseRequest()
		r.Trigger = workflow.Trigger{Kind: workflow.TriggerECRPush, Source: event, Actor: "ecr"}
		return r
	}
	if a, b := ExecutionName(push("event-1")), ExecutionName(push("event-1")); a != b {
		t.Errorf("got %q and %q for one event delivered twice, want one name", a, b)
	}
	if a, b := ExecutionName(push("event-1")), ExecutionName(push("event-2")); a == b {
		t.Errorf("got %q for two pushes of one image, want two names", a)
	}
	promoted := func(from string) workflow.Request {
		r := baseRequest()
		r.Trigger = workflow.Trigger{Kind: workflow.TriggerPromotion, Source: from, Actor: "slipway"}
		return r
	}
	if a, b := ExecutionName(promoted("d1")), ExecutionName(promoted("d2")); a == b {
		t.Errorf("got %q for promotions of two deployments, want two names", a)
	}
	// Kind and source are length-prefixed fields of their own.
	a := baseRequest()
	a.Trigger = workflow.Trigger{Kind: "ab", Source: "c"}
	b := baseRequest()
	b.Trigger = workflow.Trigger{Kind: "a", Source: "bc"}
	if ExecutionName(a) == ExecutionName(b) {
		t.Errorf("kind and source run together in the hash")
	}
}

// TestRequestExecutionNameIsFresh: a person's requests are never one
// execution, however alike.
func TestRequestExecutionNameIsFresh(t *testing.T) {
	seen := map[string]bool{ExecutionName(baseRequest()): true}
	for range 100 {
		got, err := RequestExecutionName(baseRequest())
		if err != nil {
			t.Fatal(err)
		}
		if seen[got] {
			t.Fatalf("got %q twice, want a fresh name for every request", got)
		}
		seen[got] = true
		if !validName.MatchString(got) || !strings.HasPrefix(got, "web-staging-") {
			t.Errorf("got %q, want a valid name starting with web-staging-", got)
		}
	}
}

func TestExecutionNameDiffersWhenAnyInputDiffers(t *testing.T) {
	tests := map[string]func(*workflow.Request){
		"service":             func(r *workflow.Request) { r.Service = "worker" },
		"environment":         func(r *workflow.Request) { r.Environment = "prod" },
		"digest":              func(r *workflow.Request) { r.Image = strings.Replace(r.Image, "3f1b", "3f1c", 1) },
		"spec version":        func(r *workflow.Request) { r.SpecVersion = "other" },
		"environment version": func(r *workflow.Request) { r.EnvironmentSpecVersion = "other" },
		"no image":            func(r *workflow.Request) { r.Image = "" },
		// Fields are length-prefixed: moving a character across a boundary
		// changes the name.
		"boundary": func(r *workflow.Request) { r.Service, r.Environment = "webs", "taging" },
		// Replacement makes the readable part equal; the hash still differs.
		"sanitised alike": func(r *workflow.Request) { r.Service = "web!" },
	}
	base := ExecutionName(baseRequest())
	seen := map[string]string{base: "base"}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			r := baseRequest()
			change(&r)
			got := ExecutionName(r)
			if got == base {
				t.Errorf("got %q, the same name as the base request", got)
			}
			if other, ok := seen[got]; ok {
				t.Errorf("got %q, the same name as %q", got, other)
			}
			seen[got] = name
			if !validName.MatchString(got) {
				t.Errorf("got %q, not a valid execution name", got)
			}
		})
	}
}

// TestExecutionNameOfAnEvent: an event's execution is named by the event,
// not by the spec versions accepted when it was handled, so the same push
// delivered again after a spec upload starts nothing new; another event
// for the same image does.
func TestExecutionNameOfAnEvent(t *testing.T) {
	r := baseRequest()
	r.Trigger = workflow.Trigger{Kind: workflow.TriggerECRPush, Source: "event-1", Actor: "ecr"}
	first := ExecutionName(r)
	again := r
	again.SpecVersion, again.EnvironmentSpecVersion = "newer", "newer-too"
	if got := ExecutionName(again); got != first {
		t.Errorf("redelivered after a spec upload: got %q, want %q", got, first)
	}
	other := r
	other.Trigger.Source = "event-2"
	if got := ExecutionName(other); got == first {
		t.Errorf("another push of the same image: got %q, the first push's name", got)
	}
	upload := r
	upload.Trigger = workflow.Trigger{Kind: workflow.TriggerSpecUpload, Source: "event-1"}
	if got := ExecutionName(upload); got == first {
		t.Errorf("another kind of event with the same source: got %q, the push's name", got)
	}
	if !validName.MatchString(first) || !strings.HasPrefix(first, "web-staging-") {
		t.Errorf("got %q, want a valid name starting with web-staging-", first)
	}
}

func TestExecutionNameLimits(t *testing.T) {
	long := strings.Repeat("a", 200)
	tests := map[string]workflow.Request{
		"long service":     {Service: long, Environment: "prod"},
		"long both":        {Service: long, Environment: long},
		"unicode":          {Service: "wéb✓", Environment: "pröd"},
		"spaces and dots":  {Service: "my web.app", Environment: "eu west"},
		"empty":            {},
		"long unicode":     {Service: strings.Repeat("é", 100), Environment: "x"},
		"differs past cut": {Service: long + "b", Environment: "prod"},
	}
	names := map[string]string{}
	for name, r := range tests {
		t.Run(name, func(t *testing.T) {
			got := ExecutionName(r)
			if !validName.MatchString(got) {
				t.Errorf("got %q (%d chars), want ≤ 80 of [A-Za-z0-9-_]", got, len(got))
			}
			if other, ok := names[got]; ok {
				t.Errorf("got %q, also the name of %q", got, other)
			}
			names[got] = name
		})
	}
}
