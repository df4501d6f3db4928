package deploy

import (
	"encoding/json"
	"slices"
	"testing"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// nativeStrategies are the three modes of kind ecs, each with a final bake
// (Slipway's gate at POST_PRODUCTION_TRAFFIC_SHIFT) and ECS's own bakes.
var nativeStrategies = map[string]string{
	"bluegreen": `{"kind": "ecs", "mode": "bluegreen", "bake": "5m", "finalBake": "10m", "alarms": ["web-5xx"]}`,
	"canary":    `{"kind": "ecs", "mode": "canary", "canaryPercent": 10, "canaryBake": "5m", "finalBake": "10m", "alarms": ["web-5xx"]}`,
	"linear":    `{"kind": "ecs", "mode": "linear", "stepPercent": 25, "stepBake": "2m", "finalBake": "10m", "alarms": ["web-5xx"]}`,
}

// TestNativeDefinition runs each native mode under the synthesized state
// machine on the fake: success, an alarm in Slipway's bake, ECS's circuit
// breaker, and a rejected approval; it checks the path of states, what ECS
// was told, the production rule, what runs, the history and the lock.
func TestNativeDefinition(t *testing.T) {
	def := loadDefinition(t)
	blue := "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/staging-web-blue/0000000000000001"
	green := "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/staging-web-green/0000000000000002"
	scenarios := map[string]struct {
		env          string
		alarmInBake  bool
		failing      bool
		reject       bool
		approve      bool
		terminal     string
		outcome      workflow.Outcome
		errorName    string
		continues    []string
		rollbacks    []string
		wantWeights  []elbv2.TargetWeight
		newRevision  bool
		pathContains []string
	}{
		"success": {terminal: workflow.StateDeployed, outcome: workflow.OutcomeDeployed,
			continues:   []string{stagePostScaleUp, stagePostTestTraffic, stagePreProduction, stagePostProduction},
			wantWeights: []elbv2.TargetWeight{{TargetGroupARN: blue, Weight: 0}, {TargetGroupARN: green, Weight: 100}}, newRevision: true,
			pathContains: []string{workflow.StateApply, workflow.StateCheckHook, workflow.StateHookReady, workflow.StateContinueDeployment,
				workflow.StateAwaitHook, workflow.StateBake, workflow.StateCheckBake, workflow.StateBakeDoneYet, workflow.StateFinalize}},
		"alarm in the final bake": {alarmInBake: true, terminal: workflow.StateRolledBack, outcome: workflow.OutcomeRolledBack, errorName: "AlarmFired",
			continues: []string{stagePostScaleUp, stagePostTestTraffic, stagePreProduction}, rollbacks: []string{stagePostProduction},
			wantWeights:  []elbv2.TargetWeight{{TargetGroupARN: blue, Weight: 100}, {TargetGroupARN: green, Weight: 0}},
			pathContains: []string{workflow.StateBake, workflow.StateRollback, workflow.StateAwaitRollbackStable, workflow.StateRecordFailure}},
		"circuit breaker": {failing: true, terminal: workflow.StateRolledBack, outcome: workflow.OutcomeRolledBack, errorName: "DeploymentFailed",
			wantWeights:  []elbv2.TargetWeight{{TargetGroupARN: blue, Weight: 100}, {TargetGroupARN: green, Weight: 0}},
			pathContains: []string{workflow.StateCheckStable, workflow.StateRollback, workflow.StateRecordFailure}},
		// Prod asks for approval: at the POST_TEST_TRAFFIC_SHIFT hook, once
		// the new revision runs; a rejection rolls it back there.
		"rejected approval": {env: "prod", reject: true, terminal: workflow.StateRolledBack, outcome: workflow.OutcomeRolledBack, errorName: "ApprovalRejected",
			continues: []string{stagePostScaleUp}, rollbacks: []string{stagePostTestTraffic},
			pathContains: []string{workflow.StateApply, workflow.StateAwaitHookApproval, workflow.StateRollback, workflow.StateRecordFailure}},
		"approved": {env: "prod", approve: true, terminal: workflow.StateDeployed, outcome: workflow.OutcomeDeployed, newRevision: true,
			continues:    []string{stagePostScaleUp, stagePostTestTraffic, stagePreProduction, stagePostProduction},
			pathContains: []string{workflow.StateApply, workflow.StateAwaitHookApproval, workflow.StateContinueDeployment, workflow.StateDeployed}},
	}
	for mode, strategy := range nativeStrategies {
		for name, tc := range scenarios {
			t.Run(mode+"/"+name, func(t *testing.T) {
				w := newWorld(t)
				env, rule := "staging", ruleWeb
				if tc.env == "prod" {
					env, rule, w.cluster = "prod", prodRule, "prod"
					blue, green = prodBlue, prodGreen
				}
				w.addService("web", "web-"+env, w.image("web", "v1"), 4, false)
				w.rules[rule] = []elbv2.TargetWeight{{TargetGroupARN: blue, Weight: 100}, {TargetGroupARN: green, Weight: 0}}
				w.alarms["web-5xx"] = "OK"
				old := w.image("web", "v1")
				image := w.image("web", "v2")
				if tc.failing {
					w.failing[image] = true
				}
				req := workflow.Request{Service: "web", Environment: env, Image: "v2", Reason: "test",
					Strategy: json.RawMessage(strategy), Trigger: workflow.Trigger{Kind: workflow.TriggerManual, Actor: "tester"}}
				var r *definitionRunner
				r = newDefinitionRunner(t, def, w, func(inv workflow.Invocation) {
					if tc.alarmInBake && inv.Phase == workflow.PhaseWatch && inv.State.Wait.Kind == workflow.WaitBake && inv.State.Native != nil {
						w.alarms["web-5xx"] = "ALARM"
					}
					if tc.reject && inv.Phase == workflow.PhaseApprove {
						r.clk.Busy()
						go func() {
							defer r.clk.Done()
							_ = r.sm.SendTaskFailure(inv.TaskToken, "ApprovalRejected", "rejected by bob")
						}()
					}
					if tc.approve && inv.Phase == workflow.PhaseApprove {
						r.clk.Busy()
						go func() {
							defer r.clk.Done()
							_ = r.sm.SendTaskSuccess(inv.TaskToken, `{"source": "approval", "by": "alice"}`)
						}()
					}
				})
				x := r.start("exec-native", req)
				r.wait(x)
				path := x.Path()
				t.Logf("path %v", path)
				if got := path[len(path)-1]; got != tc.terminal {
					t.Fatalf("got terminal state %s, want %s (path %v)", got, tc.terminal, path)
				}
				for _, s := range tc.pathContains {
					if !slices.Contains(path, s) {
						t.Errorf("path %v lacks %s", path, s)
					}
				}
				for _, s := range []string{workflow.StateShiftTraffic, workflow.StatePromote, workflow.StateCleanup} {
					if slices.Contains(path, s) {
						t.Errorf("path %v has %s, a state of Slipway's own strategies", path, s)
					}
				}
				var continues, rollbacks []string
				if w.native != nil {
					continues, rollbacks = w.native.continues, w.native.rollbacks
				}
				if diff := cmp.Diff(tc.continues, continues); diff != "" {
					t.Errorf("hooks continued (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.rollbacks, rollbacks); diff != "" {
					t.Errorf("hooks rolled back (-want +got):\n%s", diff)
				}
				if tc.wantWeights != nil {
					if diff := cmp.Diff(tc.wantWeights, w.rules[rule]); diff != "" {
						t.Errorf("production rule weights (-want +got):\n%s", diff)
					}
				}
				wantImage := old
				if tc.newRevision {
					wantImage = image
				}
				if got := w.tdImage[w.services["web"].td]; got != wantImage {
					t.Errorf("service runs %s, want %s", got, wantImage)
				}
				if len(w.services) != 1 {
					t.Errorf("got services %v, want web only: kind ecs has no slot services", slices.Sorted(func(yield func(string) bool) {
						for k := range w.services {
							if !yield(k) {
								return
							}
						}
					}))
				}
				h, err := w.historyOf(deploymentID(x.ARN()))
				if err != nil {
					t.Fatal(err)
				}
				if h.Outcome != tc.outcome || h.Error != tc.errorName || h.Image != image {
					t.Errorf("history: got outcome %s error %q image %s, want %s %q %s", h.Outcome, h.Error, h.Image, tc.outcome, tc.errorName, image)
				}
				if _, held := w.locks[env+"/web"]; held {
					t.Errorf("lock %s/web held after %s", env, tc.outcome)
				}
			})
		}
	}
}

// TestNativeBackToRollingKeepsTheTrafficGroup: ECS's own strategies leave
// web behind the environment's second target group as often as the first;
// a rolling deployment afterwards keeps it there, where the production
// rule forwards, rather than registering its tasks where no traffic goes.
func TestNativeBackToRollingKeepsTheTrafficGroup(t *testing.T) {
	def := loadDefinition(t)
	green := "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/staging-web-green/0000000000000002"
	w := newWorld(t)
	w.addService("web", "web-staging", w.image("web", "v1"), 4, false)
	s := w.services["web"]
	s.settings.LoadBalancers = []ecstypes.LoadBalancer{{TargetGroupArn: &green, ContainerName: ptr("web"), ContainerPort: ptr(int32(8080))}}
	s.settings.DeploymentConfiguration = &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyLinear}
	w.rules[ruleWeb] = []elbv2.TargetWeight{{TargetGroupARN: "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/staging-web-blue/0000000000000001", Weight: 0},
		{TargetGroupARN: green, Weight: 100}}
	image := w.image("web", "v2")
	req := workflow.Request{Service: "web", Environment: "staging", Image: "v2", Reason: "test", Strategy: json.RawMessage(`"rolling"`),
		Trigger: workflow.Trigger{Kind: workflow.TriggerManual, Actor: "tester"}}
	x := runDefinition(t, def, w, req, func(workflow.Invocation) {})
	if path := x.Path(); path[len(path)-1] != workflow.StateDeployed {
		t.Fatalf("got path %v, want Deployed", path)
	}
	if got := w.tdImage[s.td]; got != image {
		t.Errorf("web runs %s, want %s", got, image)
	}
	lbs := s.settings.LoadBalancers
	if len(lbs) != 1 || *lbs[0].TargetGroupArn != green {
		t.Errorf("web's load balancers %+v, want the green group the rule forwards to", lbs)
	}
}

// TestNativeFirstDeploymentRollsBackByDeleting: a service kind ecs creates
// has no revision for ECS to roll back to; its failed first deployment is
// rolled back by deleting it, as for every kind.
func TestNativeFirstDeploymentRollsBackByDeleting(t *testing.T) {
	def := loadDefinition(t)
	w := newWorld(t)
	w.rules[ruleWeb] = weights(100, 0)
	image := w.image("web", "v2")
	w.failing[image] = true
	req := workflow.Request{Service: "web", Environment: "staging", Image: "v2", Reason: "test",
		Strategy: json.RawMessage(nativeStrategies["canary"]), Trigger: workflow.Trigger{Kind: workflow.TriggerManual, Actor: "tester"}}
	x := runDefinition(t, def, w, req, func(workflow.Invocation) {})
	path := x.Path()
	if path[len(path)-1] != workflow.StateRolledBack || !slices.Contains(path, workflow.StateRollback) {
		t.Fatalf("got path %v, want RolledBack through Rollback", path)
	}
	if _, ok := w.services["web"]; ok {
		t.Errorf("web still exists after the rollback of the deployment that created it")
	}
	t.Logf("path %v", path)
	if w.calls["DeleteService"] != 1 {
		t.Errorf("got %d DeleteService calls, want 1", w.calls["DeleteService"])
	}
}
