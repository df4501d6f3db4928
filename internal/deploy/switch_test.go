package deploy

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// behind puts the live service name behind target group tg, as its
// CreateService would have.
func (w *world) behind(name, tg string) {
	w.services[name].settings.LoadBalancers = []ecstypes.LoadBalancer{{TargetGroupArn: ptr(tg),
		ContainerName: ptr("web"), ContainerPort: ptr(int32(8080))}}
}

// serving reports whether a service with running tasks sits behind tg: the
// fake's stand-in for a group with a healthy target (a service's tasks run
// once its rollout completes).
func (w *world) serving(tg string) bool {
	for _, s := range w.services {
		for _, lb := range s.settings.LoadBalancers {
			if lb.TargetGroupArn != nil && *lb.TargetGroupArn == tg && s.running > 0 {
				return true
			}
		}
	}
	return false
}

// trace runs x to its end, one state at a time, and after each state checks
// that no weight above 0 points at a target group without running tasks
// (an error names the state). It returns the live states in the order they
// appeared, each as "State: service=desired … | rule weights", so a test can
// assert the order of operations.
func trace(t *testing.T, x *execution) []string {
	t.Helper()
	var out []string
	last := x.w.describe()
	for i := 0; i < 500 && !x.terminal(); i++ {
		state := x.state
		x.step()
		for _, g := range x.w.rules[ruleWeb] {
			if g.Weight > 0 && !x.w.serving(g.TargetGroupARN) {
				t.Errorf("after %s: weight %d on %s, which has no running task", state, g.Weight, g.TargetGroupARN)
			}
		}
		if now := x.w.describe(); now != last {
			out = append(out, state+": "+now)
			last = now
		}
	}
	if !x.terminal() {
		t.Fatalf("execution stuck in %s (path %v)", x.state, x.path)
	}
	return out
}

// describe is the live services (name=desired, tag of the image) and the
// production rule's weights (blue, green) in one line.
func (w *world) describe() string {
	var parts []string
	for name, s := range w.services {
		img := w.tdImage[s.td]
		for k, d := range w.digests {
			if strings.HasSuffix(img, "@"+d) {
				img = k[strings.LastIndex(k, ":")+1:]
			}
		}
		parts = append(parts, fmt.Sprintf("%s=%d@%s", name, s.desired, img))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%s | blue %d green %d", strings.Join(parts, " "),
		weightOf(w.rules[ruleWeb], tgBlue), weightOf(w.rules[ruleWeb], tgGreen))
}

var rollingWeb = strategyCase{service: "web", alarm: "web-5xx",
	strategy: `{"kind": "rolling", "finalBake": "10m", "alarms": ["web-5xx"], "stabilizationTimeout": "20m"}`}

// TestSwitchRollingToCanary: a canary deployment of a service that runs
// under its plain name (rolling until now, or never deployed by slots)
// adopts it: the new slot comes up behind the target group the plain
// service is not behind, sized from the plain service, takes the traffic in
// the canary's steps once its rollout is complete, and at promotion the
// plain service is scaled to 0 and deleted. Today the plain service is left
// running beside the slots, and the slots start as a first deployment.
func TestSwitchRollingToCanary(t *testing.T) {
	w := newWorld(t)
	w.addService("web", "web-staging", w.image("web", "v1"), 5, false)
	w.behind("web", tgBlue)
	w.rules[ruleWeb] = weights(100, 0)
	w.image("web", "v2")
	x := newExecution(w, "exec-1", request(strategyCase{service: "web"}, "v2"))
	got := trace(t, x)
	if x.state != workflow.StateDeployed {
		t.Fatalf("got %s (%+v), want %s", x.state, x.st.Error, workflow.StateDeployed)
	}
	want := []string{
		// Apply: the new slot behind green, at the plain service's 5, no traffic.
		"Apply: web--green=5@v2 web=5@v1 | blue 100 green 0",
		// After its rollout, the steps: 25, then 100.
		"ShiftTraffic: web--green=5@v2 web=5@v1 | blue 75 green 25",
		"ShiftTraffic: web--green=5@v2 web=5@v1 | blue 0 green 100",
		// Promoted, the plain service is scaled to 0 and deleted.
		"Cleanup: web--green=5@v2 | blue 0 green 100",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("live states in order (-want +got):\n%s", diff)
	}
	if got := countOf(x.path, workflow.StateShiftTraffic); got != 2 {
		t.Errorf("shifted %d times, want 2 (the canary's steps, not a first deployment's one)", got)
	}
}

// TestSwitchRollingToCanaryRollback: a canary that adopts a plain service
// and fails its first bake puts the rule's action list back exactly,
// deletes the new slot and leaves the plain service as it was.
func TestSwitchRollingToCanaryRollback(t *testing.T) {
	w := newWorld(t)
	w.addService("web", "web-staging", w.image("web", "v1"), 5, false)
	w.behind("web", tgBlue)
	w.targets["service/staging/web"] = *scaling(2, 10)
	w.rules[ruleWeb] = weights(100, 0)
	w.ruleActions[ruleWeb] = []elbv2.Action{
		{Type: elbv2.ActionAuthenticateOIDC, Order: 1, AuthenticateOIDC: &elbv2.AuthenticateOIDC{Issuer: "https://idp.example.com",
			AuthorizationEndpoint: "https://idp.example.com/auth", TokenEndpoint: "https://idp.example.com/token",
			UserInfoEndpoint: "https://idp.example.com/userinfo", ClientID: "web"}},
		{Type: elbv2.ActionForward, Order: 2, Forward: &elbv2.Forward{TargetGroups: weights(100, 0)}},
	}
	actions := w.actionsOf(ruleWeb)
	before := w.view()
	w.image("web", "v2")
	x := newExecution(w, "exec-1", request(strategyCase{service: "web"}, "v2"))
	x.onWait = func(x *execution) {
		if x.state == workflow.StateBake {
			x.w.alarms["web-5xx"] = "ALARM"
		}
	}
	trace(t, x)
	if x.state != workflow.StateRolledBack {
		t.Fatalf("got %s (%+v), want %s", x.state, x.st.Error, workflow.StateRolledBack)
	}
	if diff := cmp.Diff(before, w.view()); diff != "" {
		t.Errorf("live state after rollback (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(actions, w.actionsOf(ruleWeb)); diff != "" {
		t.Errorf("rule actions after rollback (-want +got):\n%s", diff)
	}
}

// TestSwitchToCanaryRefused: slots cannot take over a plain service whose
// traffic they cannot move, nor guess which model serves when both run;
// the deployment is rejected before it changes anything.
func TestSwitchToCanaryRefused(t *testing.T) {
	tests := map[string]struct {
		before func(w *world)
		want   string
	}{
		"plain service behind a group not in the rule": {
			before: func(w *world) {
				w.addService("web", "web-staging", w.image("web", "v1"), 2, false)
				w.behind("web", "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/other/0000000000000009")
			},
			want: "not one of the forward action",
		},
		"plain service without a load balancer": {
			before: func(w *world) {
				w.addService("web", "web-staging", w.image("web", "v1"), 2, false)
			},
			want: "which has no load balancer",
		},
		"plain service and a slot": {
			before: func(w *world) {
				w.addService("web", "web-staging", w.image("web", "v1"), 2, false)
				w.behind("web", tgBlue)
				w.addService("web--green", "web-staging", w.image("web", "v1"), 2, false)
				w.behind("web--green", tgGreen)
			},
			want: "runs both as web (rolling) and as [web--green]",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			tc.before(w)
			w.rules[ruleWeb] = weights(100, 0)
			before := w.view()
			w.image("web", "v2")
			x := newExecution(w, "exec-1", request(strategyCase{service: "web"}, "v2"))
			x.run()
			if x.state != workflow.StateRejected {
				t.Fatalf("got %s, want %s", x.state, workflow.StateRejected)
			}
			if x.st.Error == nil || !strings.Contains(x.st.Error.Cause, tc.want) {
				t.Errorf("got error %+v, want one containing %q", x.st.Error, tc.want)
			}
			if diff := cmp.Diff(before, w.view()); diff != "" {
				t.Errorf("live state (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSwitchCanaryToRolling: a rolling deployment of a service that runs as
// slots creates the plain service behind the spec's target group while the
// slots serve, moves the rule's forward to it once it is stable and its
// targets healthy, then deletes the slots. Today the slots are left running
// and keep the traffic.
func TestSwitchCanaryToRolling(t *testing.T) {
	w := newWorld(t)
	w.addService("web--blue", "web-staging", w.image("web", "v0"), 0, false)
	w.behind("web--blue", tgBlue)
	w.addService("web--green", "web-staging", w.image("web", "v1"), 3, false)
	w.behind("web--green", tgGreen)
	w.targets["service/staging/web--green"] = *scaling(2, 10)
	w.rules[ruleWeb] = weights(0, 100)
	w.health[tgBlue] = []elbv2.Target{{ID: "10.0.0.9", Port: 8080, State: "healthy"}}
	w.image("web", "v2")
	x := newExecution(w, "exec-1", request(rollingWeb, "v2"))
	got := trace(t, x)
	if x.state != workflow.StateDeployed {
		t.Fatalf("got %s (%+v), want %s", x.state, x.st.Error, workflow.StateDeployed)
	}
	want := []string{
		// The plain service, behind blue, at the serving slot's 3; no traffic yet.
		"Apply: web--blue=0@v0 web--green=3@v1 web=3@v2 | blue 0 green 100",
		// Stable: the rule's forward moves to it.
		"Promote: web--blue=0@v0 web--green=3@v1 web=3@v2 | blue 100 green 0",
		// Then the slots are scaled to 0 and deleted.
		"Cleanup: web=3@v2 | blue 100 green 0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("live states in order (-want +got):\n%s", diff)
	}
	if _, ok := w.targets["service/staging/web--green"]; ok {
		t.Errorf("scalable target of web--green: still registered, want removed with the slot")
	}
}

// TestSwitchCanaryToRollingRollback: a switch to rolling that fails before
// promotion restores the rule, deletes the plain service it created and
// leaves the slots as they were; one whose plain service has no healthy
// target never moves the rule to it.
func TestSwitchCanaryToRollingRollback(t *testing.T) {
	tests := map[string]struct {
		arrange   func(w *world, x *execution)
		errorName string
	}{
		"alarm during the bake": {
			arrange: func(w *world, x *execution) {
				w.health[tgBlue] = []elbv2.Target{{ID: "10.0.0.9", Port: 8080, State: "healthy"}}
				x.onWait = func(x *execution) {
					if x.state == workflow.StateBake {
						x.w.alarms["web-5xx"] = "ALARM"
					}
				}
			},
			errorName: "AlarmFired",
		},
		"no healthy target at promotion": {
			arrange: func(w *world, x *execution) {
				// Still in its initial checks: not failing, not serving.
				w.health[tgBlue] = []elbv2.Target{{ID: "10.0.0.9", Port: 8080, State: "initial"}}
			},
			errorName: workflow.ErrorName((*workflow.Transient)(nil)),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.addService("web--blue", "web-staging", w.image("web", "v0"), 0, false)
			w.behind("web--blue", tgBlue)
			w.addService("web--green", "web-staging", w.image("web", "v1"), 3, false)
			w.behind("web--green", tgGreen)
			w.rules[ruleWeb] = weights(0, 100)
			before := w.view()
			w.image("web", "v2")
			x := newExecution(w, "exec-1", request(rollingWeb, "v2"))
			tc.arrange(w, x)
			trace(t, x)
			if x.state != workflow.StateRolledBack {
				t.Fatalf("got %s (%+v), want %s", x.state, x.st.Error, workflow.StateRolledBack)
			}
			if x.st.Error == nil || x.st.Error.Error != tc.errorName {
				t.Errorf("got error %+v, want %s", x.st.Error, tc.errorName)
			}
			if diff := cmp.Diff(before, w.view()); diff != "" {
				t.Errorf("live state after rollback (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRequireHealthy: traffic moves only to a group with a healthy target.
func TestRequireHealthy(t *testing.T) {
	tests := map[string]struct {
		targets []elbv2.Target
		ok      bool
	}{
		"healthy":             {targets: []elbv2.Target{{ID: "a", State: "initial"}, {ID: "b", State: "healthy"}}, ok: true},
		"initial only":        {targets: []elbv2.Target{{ID: "a", State: "initial"}}},
		"draining and unused": {targets: []elbv2.Target{{ID: "a", State: "draining"}, {ID: "b", State: "unused"}}},
		"none":                {},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.health[tgBlue] = tc.targets
			err := requireHealthy(t.Context(), Clients{Traffic: w}, tgBlue)
			var tr *workflow.Transient
			if got := err == nil; got != tc.ok {
				t.Fatalf("got error %v, want ok %t", err, tc.ok)
			}
			if err != nil && !errors.As(err, &tr) {
				t.Errorf("got %T, want *workflow.Transient", err)
			}
		})
	}
}

// TestSwitchByCount: without a load balancer the switch moves tasks, not
// traffic: a canary adopting the plain worker scales it in step by step as
// the new slot's tasks come up, then deletes it; a switch back to rolling
// brings the plain service up at the slot's size before the slots go.
func TestSwitchByCount(t *testing.T) {
	tests := map[string]struct {
		before   func(w *world)
		strategy string
		want     []string
	}{
		"rolling to canary": {
			before: func(w *world) {
				w.addService("worker", "worker-staging", w.image("worker", "v1"), 4, false)
			},
			// New tasks first, then the plain service scaled in by as many,
			// per step (25, 50, 100); then it is deleted.
			want: []string{
				"Apply: worker--blue=1@v2 worker=4@v1 | blue 0 green 0",
				"ShiftTraffic: worker--blue=1@v2 worker=3@v1 | blue 0 green 0",
				"ShiftTraffic: worker--blue=2@v2 worker=3@v1 | blue 0 green 0",
				"CheckBake: worker--blue=2@v2 worker=2@v1 | blue 0 green 0",
				"ShiftTraffic: worker--blue=4@v2 worker=2@v1 | blue 0 green 0",
				"CheckBake: worker--blue=4@v2 worker=0@v1 | blue 0 green 0",
				"Cleanup: worker--blue=4@v2 | blue 0 green 0",
			},
		},
		"canary to rolling": {
			before: func(w *world) {
				w.addService("worker--blue", "worker-staging", w.image("worker", "v1"), 4, false)
			},
			strategy: `{"kind": "rolling", "alarms": ["worker-errors"], "stabilizationTimeout": "20m"}`,
			// The plain service at the slot's 4 beside it, then the slot goes.
			want: []string{
				"Apply: worker--blue=4@v1 worker=4@v2 | blue 0 green 0",
				"Cleanup: worker=4@v2 | blue 0 green 0",
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			tc.before(w)
			w.image("worker", "v2")
			x := newExecution(w, "exec-1", request(strategyCase{service: "worker", strategy: tc.strategy}, "v2"))
			got := trace(t, x)
			if x.state != workflow.StateDeployed {
				t.Fatalf("got %s (%+v), want %s", x.state, x.st.Error, workflow.StateDeployed)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("live states in order (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSwitchRollingToBlueGreen: blue/green adopts a plain service as canary
// does: the new slot comes up at full size with no traffic, takes it all at
// once after its rollout, and the plain service keeps running through the
// termination wait (a rollback is a weight flip) until cleanup deletes it.
func TestSwitchRollingToBlueGreen(t *testing.T) {
	w := newWorld(t)
	w.addService("web", "web-staging", w.image("web", "v1"), 3, false)
	w.behind("web", tgBlue)
	w.rules[ruleWeb] = weights(100, 0)
	w.image("web", "v2")
	x := newExecution(w, "exec-1", request(strategyCase{service: "web",
		strategy: `{"kind": "bluegreen", "terminationWait": "15m", "alarms": ["web-5xx"]}`}, "v2"))
	got := trace(t, x)
	if x.state != workflow.StateDeployed {
		t.Fatalf("got %s (%+v), want %s", x.state, x.st.Error, workflow.StateDeployed)
	}
	want := []string{
		"Apply: web--green=3@v2 web=3@v1 | blue 100 green 0",
		"ShiftTraffic: web--green=3@v2 web=3@v1 | blue 0 green 100",
		"Cleanup: web--green=3@v2 | blue 0 green 100",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("live states in order (-want +got):\n%s", diff)
	}
}
