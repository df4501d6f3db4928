package deploy

import (
	"errors"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestPrepareRejects: a request or spec that cannot be deployed ends
// Rejected, with a problem naming the file or field, nothing changed and
// no lock left behind.
func TestPrepareRejects(t *testing.T) {
	tests := map[string]struct {
		req     workflow.Request
		arrange func(w *world)
		problem string
	}{
		"no service": {
			req:     workflow.Request{Environment: "staging", Image: "v1"},
			problem: "service: required",
		},
		"no such service": {
			req:     workflow.Request{Service: "nope", Environment: "staging", Image: "v1"},
			problem: "services/nope.yaml: not found in the spec bucket",
		},
		"no such spec version": {
			req:     workflow.Request{Service: "web", Environment: "staging", Image: "v1", SpecVersion: "v7"},
			problem: "services/web.yaml version v7: not found",
		},
		"unknown field in the spec": {
			req: workflow.Request{Service: "web", Environment: "staging", Image: "v1"},
			arrange: func(w *world) {
				w.specs["services/web.yaml"] = append(w.specs["services/web.yaml"], []byte("colour: blue\n")...)
			},
			problem: "services/web.yaml:",
		},
		"canary of a DAEMON service": {
			req:     workflow.Request{Service: "agent", Environment: "staging", Image: "v1", Strategy: []byte(`"canary"`)},
			problem: "DAEMON services deploy with rolling only",
		},
		"blue/green without a load balancer": {
			req:     workflow.Request{Service: "worker", Environment: "staging", Image: "v1", Strategy: []byte(`{"kind": "bluegreen"}`)},
			problem: "add loadBalancers.worker to environments/staging.yaml",
		},
		"an alarm that does not exist": {
			req:     workflow.Request{Service: "web", Environment: "staging", Image: "v1"},
			arrange: func(w *world) { delete(w.alarms, "web-5xx") },
			problem: "web-5xx",
		},
		"unknown tag": {
			req:     workflow.Request{Service: "web", Environment: "staging", Image: "v404"},
			problem: "tag not found in ECR repository web",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			for _, repo := range []string{"web", "worker", "agent"} {
				w.image(repo, "v1")
			}
			if tc.arrange != nil {
				tc.arrange(w)
			}
			x := newExecution(w, "exec-1", tc.req)
			x.run()
			if x.state != workflow.StateRejected {
				t.Fatalf("got %s, want %s (path %v, error %+v)", x.state, workflow.StateRejected, x.path, x.st.Error)
			}
			if x.st.Error.Error != "InvalidInput" || !strings.Contains(x.st.Error.Cause, tc.problem) {
				t.Errorf("got error %+v, want InvalidInput containing %q", x.st.Error, tc.problem)
			}
			if w.changes() != 0 || len(w.locks) != 0 {
				t.Errorf("got %d changes, locks %+v; want none", w.changes(), w.locks)
			}
			if _, err := w.historyOf(deploymentID(x.arn)); err != nil && tc.req.Service != "" {
				t.Error(err)
			}
			if n := len(w.events); n == 0 || w.events[n-1].Status != string(workflow.OutcomeRejected) {
				t.Errorf("got events %+v, want a rejected one last", w.events)
			}
		})
	}
}

// TestPrepareFailureReleasesLock: Prepare failing after it took the lock
// (the Catch clause keeps Prepare's input, which has no deployment id yet)
// still releases the lock in RecordFailure, which derives the same id. It
// changed nothing, so it ends Failed, not RolledBack (issue 11 item 15).
func TestPrepareFailureReleasesLock(t *testing.T) {
	w := newWorld(t)
	w.image("web", "v2")
	w.fail["RuleActions"] = errors.New("AccessDenied: elasticloadbalancing:DescribeRules")
	w.rules[ruleWeb] = []elbv2.TargetWeight{}
	x := newExecution(w, "exec-1", workflow.Request{Service: "web", Environment: "staging", Image: "v2"})
	x.run()
	if x.state != workflow.StateFailed {
		t.Fatalf("got %s, want %s (path %v)", x.state, workflow.StateFailed, x.path)
	}
	if len(w.locks) != 0 {
		t.Errorf("got locks %+v, want none", w.locks)
	}
	h, err := w.historyOf(deploymentID(x.arn))
	if err != nil || h.Outcome != workflow.OutcomeFailed || !strings.Contains(h.Cause, "AccessDenied") {
		t.Errorf("history: got %+v (%v), want outcome %s with the cause recorded", h, err, workflow.OutcomeFailed)
	}
	if n := len(w.events); n == 0 || w.events[n-1].Status != string(workflow.OutcomeFailed) {
		t.Errorf("got events %+v, want a failed one last", w.events)
	}
}

// TestCheckRendered: the engine refuses what it cannot deploy even if the
// spec package let it through.
func TestCheckRendered(t *testing.T) {
	lb := &spec.LoadBalancer{ListenerRuleArn: ruleWeb, TargetGroupArns: [2]string{tgBlue, tgGreen}}
	tests := map[string]struct {
		r       spec.Rendered
		problem string
	}{
		"rolling":            {r: spec.Rendered{Strategy: spec.Strategy{Kind: "rolling"}}},
		"canary by count":    {r: spec.Rendered{Strategy: spec.Strategy{Kind: "canary"}}},
		"bluegreen":          {r: spec.Rendered{Strategy: spec.Strategy{Kind: "bluegreen"}, LoadBalancer: lb}},
		"unknown kind":       {r: spec.Rendered{Strategy: spec.Strategy{Kind: "shadow"}}, problem: `unknown strategy "shadow"`},
		"canary of a DAEMON": {r: spec.Rendered{Strategy: spec.Strategy{Kind: "canary"}, Scheduling: "DAEMON"}, problem: "cannot deploy a DAEMON service"},
		"bluegreen, no LB":   {r: spec.Rendered{Environment: "staging", Service: "web", Strategy: spec.Strategy{Kind: "bluegreen"}}, problem: "loadBalancers.web: required for bluegreen"},
		"canary, one target group": {
			r:       spec.Rendered{Environment: "staging", Service: "web", Strategy: spec.Strategy{Kind: "canary"}, LoadBalancer: &spec.LoadBalancer{ListenerRuleArn: ruleWeb, TargetGroupArns: [2]string{tgBlue}}},
			problem: "two target groups (blue, green) are required for canary",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := tc.r
			r.TaskDefinition, r.ServiceInput = zeroOf(r.TaskDefinition), zeroOf(r.ServiceInput)
			err := checkRendered(&r)
			if tc.problem == "" {
				if err != nil {
					t.Errorf("got %v, want nil", err)
				}
				return
			}
			var ii *workflow.InvalidInput
			if !errors.As(err, &ii) || !strings.Contains(ii.Error(), tc.problem) {
				t.Errorf("got %v, want InvalidInput containing %q", err, tc.problem)
			}
		})
	}
}

// zeroOf returns a new zero value of p's type: the SDK input types, named
// here without importing the SDK, which this package does not.
func zeroOf[T any](*T) *T { return new(T) }
