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
	// Reason and trigger say why, not what: they do not change the name.
	r := baseRequest()
	r.Reason = "again"
	r.Trigger = workflow.Trigger{Kind: workflow.TriggerECRPush, Source: "other-event"}
	if got := ExecutionName(r); got != a {
		t.Errorf("got %q with another reason and trigger, want %q", got, a)
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
