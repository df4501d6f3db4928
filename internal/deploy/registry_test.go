package deploy

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/workflow"
)

const webRegistry = "arn:aws:servicediscovery:us-east-1:111122223333:service/srv-web0000000000001"

// withRegistry gives the web spec a Cloud Map registry and its blue slot
// (serving) the same, as a deployment of that spec leaves it.
func withRegistry(t *testing.T, w *world) {
	t.Helper()
	web := string(w.specs["services/web.yaml"])
	const svc = "service:\n  desiredCount: 2\n"
	if !strings.Contains(web, svc) {
		t.Fatal("services/web.yaml: no service block to add serviceRegistries to")
	}
	w.specs["services/web.yaml"] = []byte(strings.Replace(web, svc,
		svc+"  serviceRegistries:\n    - registryArn: "+webRegistry+"\n", 1))
	w.services["web--blue"].settings.ServiceRegistries = []ecstypes.ServiceRegistry{{RegistryArn: aws.String(webRegistry)}}
}

// dns is what Cloud Map answers for web, by slot: the slots registered in
// the registry that run tasks. The fake counts a service's tasks as one.
func dns(w *world) []string {
	var out []string
	for name, s := range w.services {
		if s.running > 0 && slices.ContainsFunc(s.settings.ServiceRegistries, func(r ecstypes.ServiceRegistry) bool {
			return aws.ToString(r.RegistryArn) == webRegistry
		}) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// TestServiceDiscoveryFollowsTraffic (issue 11 item 11): with canary, DNS
// clients (Cloud Map) get the slot that served before the deployment
// through every step, whatever the rule's weights; the new slot is
// registered at promotion, and the old slot is scaled in only once that
// registration's ECS deployment is complete, so DNS is never empty. A
// canary rolled back never reaches DNS.
func TestServiceDiscoveryFollowsTraffic(t *testing.T) {
	tests := map[string]struct {
		alarm    bool
		terminal string
		final    []string
		// registering: Promote waited for the new slot's registration.
		registering bool
	}{
		"canary succeeds":   {terminal: workflow.StateDeployed, final: []string{"web--green"}, registering: true},
		"canary rolls back": {alarm: true, terminal: workflow.StateRolledBack, final: []string{"web--blue"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sc := strategyCases()["canary by weights"]
			w := newWorld(t)
			sc.before(w)
			withRegistry(t, w)
			w.image("web", "v2")
			x := newExecution(w, "exec-1", request(sc, "v2"))
			if tc.alarm {
				x.onWait = func(x *execution) {
					if x.state == workflow.StateBake && x.st.Progress.Weight == 25 {
						w.alarms["web-5xx"] = "ALARM"
					}
				}
			}
			for i := 0; i < 500 && !x.terminal(); i++ {
				x.step()
				got := dns(w)
				if len(got) == 0 {
					t.Fatalf("after %s: DNS answers with no slot (path %v)", x.path[len(x.path)-1], x.path)
				}
				if weightOf(w.rules[ruleWeb], tgGreen) < 100 && !cmp.Equal(got, []string{"web--blue"}) {
					t.Errorf("after %s, rule weights %v: DNS answers with %v, want only web--blue until web--green takes all the traffic",
						x.path[len(x.path)-1], w.rules[ruleWeb], got)
				}
			}
			if x.state != tc.terminal {
				t.Fatalf("got %s, want %s (path %v, error %+v)", x.state, tc.terminal, x.path, x.st.Error)
			}
			if got := dns(w); !cmp.Equal(got, tc.final) {
				t.Errorf("at the end: DNS answers with %v, want %v", got, tc.final)
			}
			i := slices.Index(x.path, workflow.StatePromotedYet)
			if got := i >= 0 && x.path[i+1] == workflow.StateAwaitStable; got != tc.registering {
				t.Errorf("Promote waited for the registration: got %t, want %t (path %v)", got, tc.registering, x.path)
			}
			// After the registration MoreSteps goes on to Cleanup: Promote
			// runs once.
			if n := countState(x.path, workflow.StatePromote); tc.terminal == workflow.StateDeployed && n != 1 {
				t.Errorf("Promote entered %d times, want 1 (path %v)", n, x.path)
			}
		})
	}
}
