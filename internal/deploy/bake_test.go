package deploy

import (
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestBakeJudgesTheRevisionNotChurn: during every strategy's bakes, tasks
// stopped and not replaced yet, a scale-out (or a DAEMON service's new
// host) still provisioning, or failed tasks below the circuit breaker's
// threshold are no failure; failed tasks at the threshold and a rollout
// ECS marked FAILED are (issue 11 item 4).
func TestBakeJudgesTheRevisionNotChurn(t *testing.T) {
	tests := map[string]struct {
		// during changes the service the bake watches, at each bake
		during   func(s *fakeService)
		terminal string
		causeHas string
	}{
		"a task stopped and not replaced yet": {
			during:   func(s *fakeService) { s.down = 1 },
			terminal: workflow.StateDeployed,
		},
		"every task stopped and not replaced yet": {
			during:   func(s *fakeService) { s.down = s.desired },
			terminal: workflow.StateDeployed,
		},
		"a scale-out still provisioning": {
			during:   func(s *fakeService) { s.desired += 2; s.down = 2 },
			terminal: workflow.StateDeployed,
		},
		"two failed tasks": {
			during:   func(s *fakeService) { s.failed = 2 },
			terminal: workflow.StateDeployed,
		},
		"failed tasks at the circuit breaker's threshold": {
			during:   func(s *fakeService) { s.failed = failureThreshold(s.desired) },
			terminal: workflow.StateRolledBack, causeHas: "circuit breaker's threshold",
		},
		"a rollout ECS marked FAILED": {
			during: func(s *fakeService) {
				d := &s.deployments[len(s.deployments)-1]
				d.RolloutState, d.RolloutStateReason = "FAILED", "ECS deployment circuit breaker: tasks failed to start."
			},
			terminal: workflow.StateRolledBack, causeHas: "tasks failed to start",
		},
	}
	for sname, sc := range strategyCases() {
		for name, tc := range tests {
			t.Run(sname+"/"+name, func(t *testing.T) {
				w := newWorld(t)
				sc.before(w)
				w.image(sc.service, "v2")
				x := newExecution(w, "exec-1", request(sc, "v2"))
				x.onWait = func(x *execution) {
					if x.state == workflow.StateBake {
						s := w.services[x.st.Wait.Service]
						if s == nil {
							t.Fatalf("the bake watches %q, which does not exist", x.st.Wait.Service)
						}
						if x.st.Wait.ScaleIn != nil {
							// A canary by count's next step waits for
							// its new tasks to run: by then ECS has
							// replaced the tasks stopped during the
							// last bake, which the fake never does.
							s.down = 0
							w.settle()
							return
						}
						tc.during(s)
						w.settle()
					}
				}
				x.run()
				if x.state != tc.terminal {
					t.Fatalf("got %s (path %v, error %+v), want %s", x.state, x.path, x.st.Error, tc.terminal)
				}
				if tc.causeHas == "" {
					return
				}
				if x.st.Error == nil || x.st.Error.Error != "DeploymentFailed" || !strings.Contains(x.st.Error.Cause, tc.causeHas) {
					t.Errorf("got error %+v, want DeploymentFailed saying %q", x.st.Error, tc.causeHas)
				}
			})
		}
	}
}

// TestBakeJudgesTargetHealth: behind a load balancer, a bake fails only
// when every target of the new slot that counts is unhealthy; a target
// draining (a stopped task's) or in its initial checks (its replacement's)
// is churn (issue 11 item 4).
func TestBakeJudgesTargetHealth(t *testing.T) {
	target := func(id, state string) elbv2.Target {
		tg := elbv2.Target{ID: id, Port: 8080, State: state}
		if state == "unhealthy" {
			tg.Reason = "Target.FailedHealthChecks"
		}
		return tg
	}
	tests := map[string]struct {
		targets  []elbv2.Target
		terminal string
	}{
		"one unhealthy among healthy ones": {
			targets:  []elbv2.Target{target("10.0.0.7", "unhealthy"), target("10.0.0.8", "healthy")},
			terminal: workflow.StateDeployed,
		},
		"draining and initial: a task being replaced": {
			targets:  []elbv2.Target{target("10.0.0.7", "draining"), target("10.0.0.9", "initial")},
			terminal: workflow.StateDeployed,
		},
		"unhealthy, with its replacement in its initial checks": {
			targets:  []elbv2.Target{target("10.0.0.7", "unhealthy"), target("10.0.0.9", "initial")},
			terminal: workflow.StateDeployed,
		},
		"no target registered yet": {
			terminal: workflow.StateDeployed,
		},
		"every target unhealthy": {
			targets:  []elbv2.Target{target("10.0.0.7", "unhealthy"), target("10.0.0.8", "unhealthy")},
			terminal: workflow.StateRolledBack,
		},
		"unhealthy, the others draining": {
			targets:  []elbv2.Target{target("10.0.0.7", "unhealthy"), target("10.0.0.8", "draining")},
			terminal: workflow.StateRolledBack,
		},
	}
	// The target group of each slot of web.
	groups := map[string]string{"web--blue": tgBlue, "web--green": tgGreen}
	for _, sname := range []string{"canary by weights", "blue/green, linear, test listener"} {
		sc := strategyCases()[sname]
		for name, tc := range tests {
			t.Run(sname+"/"+name, func(t *testing.T) {
				w := newWorld(t)
				sc.before(w)
				w.image(sc.service, "v2")
				x := newExecution(w, "exec-1", request(sc, "v2"))
				x.onWait = func(x *execution) {
					if x.state == workflow.StateBake {
						tg, ok := groups[x.st.Wait.Service]
						if !ok {
							t.Fatalf("the bake watches %q, which has no target group here", x.st.Wait.Service)
						}
						w.health[tg] = tc.targets
					}
				}
				x.run()
				if x.state != tc.terminal {
					t.Fatalf("got %s (path %v, error %+v), want %s", x.state, x.path, x.st.Error, tc.terminal)
				}
				if tc.terminal == workflow.StateRolledBack && (x.st.Error == nil || !strings.Contains(x.st.Error.Cause, "every target")) {
					t.Errorf("got error %+v, want DeploymentFailed saying every target is unhealthy", x.st.Error)
				}
			})
		}
	}
}

func TestFailureThreshold(t *testing.T) {
	tests := map[string]struct {
		desired, want int32
	}{
		"none":         {desired: 0, want: 3},
		"one":          {desired: 1, want: 3},
		"six":          {desired: 6, want: 3},
		"seven":        {desired: 7, want: 4},
		"ten":          {desired: 10, want: 5},
		"at the cap":   {desired: 400, want: 200},
		"past the cap": {desired: 5000, want: 200},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := failureThreshold(tc.desired); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}
