package deploy

import (
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestBakeEndsOnECSDeploymentFailedEvent: an "ECS Deployment State Change"
// FAILED for the new revision's ECS deployment ends a bake at once, for
// every strategy. functions/signal finds the waits to fail by the ECS
// deployment id of their watch (store.WatchesForECSDeployment); the test
// does what it does with the watches the engine wrote. A bake whose watch
// carries no ECS deployment would instead run to its next re-check, which
// with AWS's task times is minutes away (issue 11, ECS local endpoint:
// realistic task start and drain times).
func TestBakeEndsOnECSDeploymentFailedEvent(t *testing.T) {
	for name, sc := range strategyCases() {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			sc.before(w)
			w.image(sc.service, "v2")
			x := newExecution(w, "exec-1", request(sc, "v2"))
			fired := false
			x.onWait = func(x *execution) {
				if x.state != workflow.StateBake || fired {
					return
				}
				fired = true
				s := w.services[x.st.Wait.Service]
				if s == nil {
					t.Fatalf("the bake watches %q, which does not exist", x.st.Wait.Service)
				}
				primary := s.deployments[len(s.deployments)-1].ID
				if got := x.st.Wait.ECSDeployment; got != primary {
					t.Errorf("got bake wait ECS deployment %q, want %s's primary %q", got, x.st.Wait.Service, primary)
				}
				// What the signal function does on the FAILED event.
				found := 0
				for _, wa := range w.watches {
					if wa.ECSDeployment == primary {
						found++
						cause := &workflow.DeploymentFailed{Reason: "ECS deployment circuit breaker: tasks failed to start."}
						if err := w.SendTaskFailure(t.Context(), wa.Token, cause); err != nil {
							t.Fatalf("fail the bake's task: %v", err)
						}
					}
				}
				if found != 1 {
					t.Errorf("got %d watches on ECS deployment %q, want 1", found, primary)
				}
			}
			x.run()
			if !fired {
				t.Fatalf("the execution never baked (path %v)", x.path)
			}
			if x.state != workflow.StateRolledBack {
				t.Fatalf("got %s (path %v, error %+v), want %s", x.state, x.path, x.st.Error, workflow.StateRolledBack)
			}
			if x.st.Error == nil || x.st.Error.Error != "DeploymentFailed" || !strings.Contains(x.st.Error.Cause, "tasks failed to start") {
				t.Errorf("got error %+v, want DeploymentFailed saying the tasks failed to start", x.st.Error)
			}
		})
	}
}
