package deploy

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// authenticatedRule is web's rule authenticating with OIDC (Order 1)
// before a sticky forward (Order 2) with blue and green weighted.
func authenticatedRule(blue, green int32) []elbv2.Action {
	return []elbv2.Action{
		{Type: elbv2.ActionAuthenticateOIDC, Order: 1, AuthenticateOIDC: &elbv2.AuthenticateOIDC{Issuer: "https://idp.example.com",
			AuthorizationEndpoint: "https://idp.example.com/authorize", TokenEndpoint: "https://idp.example.com/token",
			UserInfoEndpoint: "https://idp.example.com/userinfo", ClientID: "web",
			Session: elbv2.Session{SessionCookieName: "AWSELBAuthSessionCookie", Scope: "openid", SessionTimeout: 3600, OnUnauthenticatedRequest: "authenticate"}}},
		{Type: elbv2.ActionForward, Order: 2, Forward: &elbv2.Forward{TargetGroups: weights(blue, green),
			Stickiness: &elbv2.Stickiness{Enabled: true, DurationSeconds: 600}}},
	}
}

// TestRuleKeepsAuthentication (issue 11 item 1): every shift of a canary
// changes the forward's weights only, so the authentication step, the
// orders and the stickiness stay; a rollback writes back the exact list
// Prepare read.
func TestRuleKeepsAuthentication(t *testing.T) {
	tests := map[string]struct {
		alarm    bool
		terminal string
		final    []elbv2.Action
	}{
		"canary succeeds":     {terminal: workflow.StateDeployed, final: authenticatedRule(0, 100)},
		"alarm rolls it back": {alarm: true, terminal: workflow.StateRolledBack, final: authenticatedRule(100, 0)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sc := strategyCases()["canary by weights"]
			w := newWorld(t)
			sc.before(w)
			w.ruleActions[ruleWeb] = authenticatedRule(100, 0)
			w.image(sc.service, "v2")
			x := newExecution(w, "exec-1", request(sc, "v2"))
			bakes := 0
			x.onWait = func(x *execution) {
				if x.state != workflow.StateBake {
					return
				}
				bakes++
				live := w.actionsOf(ruleWeb)
				tw, err := elbv2.ForwardWeights(live)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(authenticatedRule(tw[0].Weight, tw[1].Weight), live); diff != "" {
					t.Errorf("bake %d: actions other than the weights changed (-want +got):\n%s", bakes, diff)
				}
				if tc.alarm {
					w.alarms[sc.alarm] = "ALARM"
				}
			}
			x.run()
			if x.state != tc.terminal {
				t.Fatalf("got %s, want %s (path %v, error %+v)", x.state, tc.terminal, x.path, x.st.Error)
			}
			if bakes == 0 {
				t.Fatal("got no bake, want the rule checked at each")
			}
			if diff := cmp.Diff(tc.final, w.actionsOf(ruleWeb)); diff != "" {
				t.Errorf("final actions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRestoreRules: Rollback writes back the captured list when it
// differs, and nothing when it does not; a plan written before the list
// was captured restores the weights only, keeping the rest of the rule.
func TestRestoreRules(t *testing.T) {
	tests := map[string]struct {
		snapshot RuleState
		live     []elbv2.Action
		want     []elbv2.Action
		changed  []string
	}{
		"list differs": {
			snapshot: RuleState{ARN: ruleWeb, Weights: weights(100, 0), Actions: authenticatedRule(100, 0)},
			live:     authenticatedRule(0, 100)[1:],
			want:     authenticatedRule(100, 0),
			changed:  []string{"actions of " + ruleWeb},
		},
		"list the same": {
			snapshot: RuleState{ARN: ruleWeb, Weights: weights(100, 0), Actions: authenticatedRule(100, 0)},
			live:     authenticatedRule(100, 0),
			want:     authenticatedRule(100, 0),
		},
		"plan without a list": {
			snapshot: RuleState{ARN: ruleWeb, Weights: weights(100, 0)},
			live:     authenticatedRule(25, 75),
			want:     authenticatedRule(100, 0),
			changed:  []string{"weights of " + ruleWeb},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.ruleActions[ruleWeb] = tc.live
			w.rules[ruleWeb], _ = elbv2.ForwardWeights(tc.live)
			c := Clients{Services: w, Traffic: w, Alarms: w, Scaling: w}
			changed, err := restore(t.Context(), c, Snapshot{Rules: []RuleState{tc.snapshot}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.changed, changed); diff != "" {
				t.Errorf("changed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, w.actionsOf(ruleWeb)); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
		})
	}
}
