package workflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestManualInputDecodes(t *testing.T) {
	in := `{"service":"web","environment":"staging","image":"v1.4.2","reason":"hotfix"}`
	var s State
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatalf("decode manual input: %v", err)
	}
	want := Request{Service: "web", Environment: "staging", Image: "v1.4.2", Reason: "hotfix"}
	if diff := cmp.Diff(want, s.Request); diff != "" {
		t.Errorf("request mismatch (-want +got):\n%s", diff)
	}
}

func TestRoutingFieldsAlwaysPresent(t *testing.T) {
	b, err := json.Marshal(State{})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Lock     map[string]any `json:"lock"`
		Approval map[string]any `json:"approval"`
		Progress map[string]any `json:"progress"`
		Wait     map[string]any `json:"wait"`
		Outcome  *string        `json:"outcome"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for name, obj := range map[string]map[string]any{
		"lock.queued": doc.Lock, "approval.required": doc.Approval,
		"progress.remaining": doc.Progress, "wait.settled": doc.Wait,
	} {
		field := lastSegment(name)
		if _, ok := obj[field]; !ok {
			t.Errorf("%s missing from an empty State: %s", name, b)
		}
	}
	if doc.Outcome == nil {
		t.Errorf("outcome missing from an empty State: %s", b)
	}
}

func lastSegment(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '.' {
			return p[i+1:]
		}
	}
	return p
}

func TestNamedFindsContractErrorThroughWrapping(t *testing.T) {
	tests := map[string]struct {
		err  error
		want string
	}{
		"alarm":     {fmt.Errorf("bake web: %w", &AlarmFired{Alarm: "web-5xx"}), "AlarmFired"},
		"transient": {fmt.Errorf("a: %w", fmt.Errorf("b: %w", &Transient{Op: "x", Err: errors.New("503")})), "Transient"},
		"invalid":   {&InvalidInput{Problems: []string{"services/web.yaml: image: required"}}, "InvalidInput"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Named(tc.err)
			if got == nil {
				t.Fatalf("Named(%v) = nil, want %s", tc.err, tc.want)
			}
			if n := ErrorName(got); n != tc.want {
				t.Errorf("ErrorName = %s, want %s", n, tc.want)
			}
		})
	}
	if got := Named(errors.New("plain")); got != nil {
		t.Errorf("Named(plain) = %v, want nil", got)
	}
}

func TestErrorNamesAreUniqueAndClassified(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range ErrorNames() {
		if seen[n] {
			t.Errorf("duplicate error name %s", n)
		}
		seen[n] = true
	}
	if !IsHalt(fmt.Errorf("x: %w", &Halted{By: "ops"})) {
		t.Error("IsHalt(Halted) = false, want true")
	}
	if IsHalt(&Transient{Op: "x", Err: errors.New("y")}) {
		t.Error("IsHalt(Transient) = true, want false")
	}
}

func TestPhasesValid(t *testing.T) {
	for _, p := range Phases() {
		if !p.Valid() {
			t.Errorf("%s.Valid() = false", p)
		}
	}
	if Phase("deploy").Valid() {
		t.Error(`Phase("deploy").Valid() = true, want false`)
	}
}

// TestServiceErrorNames: the Lambda service errors the state machine
// retries are Lambda's or the sandbox's, never a workflow error type (which
// a phase returns and the state machine must not retry blindly).
func TestServiceErrorNames(t *testing.T) {
	workflowErrors := map[string]bool{}
	for _, n := range ErrorNames() {
		workflowErrors[n] = true
	}
	seen := map[string]bool{}
	for _, n := range ServiceErrorNames() {
		if seen[n] || workflowErrors[n] {
			t.Errorf("%s: duplicate, or also a workflow error type", n)
		}
		seen[n] = true
		if !strings.HasPrefix(n, "Lambda.") && !strings.HasPrefix(n, "Sandbox.") && !strings.HasPrefix(n, "Runtime.") {
			t.Errorf("%s: got a name outside Lambda.*, Sandbox.* and Runtime.*, want a Lambda service or runtime error", n)
		}
	}
	for _, want := range []string{"Lambda.TooManyRequestsException", "Lambda.ServiceException",
		"Lambda.AWSLambdaException", "Lambda.SdkClientException", "Sandbox.Timedout", "Runtime.ExitError"} {
		if !seen[want] {
			t.Errorf("ServiceErrorNames lacks %s", want)
		}
	}
}
