package deploy

import (
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi/autoscaling"
	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Listener rules and target groups of environments/staging.yaml (testdata).
const (
	ruleWeb     = "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener-rule/app/staging/0123456789abcdef/0123456789abcdef/0000000000000001"
	testRuleWeb = "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener-rule/app/staging/0123456789abcdef/0123456789abcdef/0000000000000002"
	tgBlue      = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/staging-web-blue/0000000000000001"
	tgGreen     = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/staging-web-green/0000000000000002"
)

// view is the live state a deployment may change, in terms a test can
// write down: per ECS service its image, desired count and scalable target,
// and the weights of every listener rule.
type view struct {
	Services map[string]serviceView
	Rules    map[string][]elbv2.TargetWeight
}

type serviceView struct {
	Image   string
	Desired int32
	Scaling *autoscaling.ScalableTarget
}

func (w *world) view() view {
	v := view{Services: map[string]serviceView{}, Rules: map[string][]elbv2.TargetWeight{}}
	for name, s := range w.services {
		sv := serviceView{Image: w.tdImage[s.td], Desired: s.desired}
		if t, ok := w.targets[autoscaling.ResourceID(w.cluster, name)]; ok {
			sv.Scaling = &t
		}
		v.Services[name] = sv
	}
	for arn, tw := range w.rules {
		tw = append([]elbv2.TargetWeight(nil), tw...)
		sort.Slice(tw, func(i, j int) bool { return tw[i].TargetGroupARN < tw[j].TargetGroupARN })
		v.Rules[arn] = tw
	}
	return v
}

func weights(blue, green int32) []elbv2.TargetWeight {
	return []elbv2.TargetWeight{{TargetGroupARN: tgBlue, Weight: blue}, {TargetGroupARN: tgGreen, Weight: green}}
}

func scaling(lo, hi int32) *autoscaling.ScalableTarget {
	return &autoscaling.ScalableTarget{Min: lo, Max: hi}
}

// strategyCase is a service, its live state before the deployment and the
// live state a successful deployment of image leaves.
type strategyCase struct {
	service  string
	strategy string // per-deployment override; "" keeps the spec's
	alarm    string // an alarm the strategy watches
	before   func(w *world)
	after    func(w *world, image string) view
}

func strategyCases() map[string]strategyCase {
	return map[string]strategyCase{
		"rolling": {
			service:  "web",
			strategy: `{"kind": "rolling", "finalBake": "10m", "alarms": ["web-5xx"], "stabilizationTimeout": "20m"}`,
			alarm:    "web-5xx",
			before: func(w *world) {
				w.addService("web", "web-staging", w.image("web", "v1"), 4, false)
				w.targets["service/staging/web"] = *scaling(2, 10)
				w.rules[ruleWeb] = weights(100, 0)
			},
			after: func(w *world, image string) view {
				return view{
					Services: map[string]serviceView{"web": {Image: image, Desired: 4, Scaling: scaling(2, 10)}},
					Rules:    map[string][]elbv2.TargetWeight{ruleWeb: weights(100, 0)},
				}
			},
		},
		"rolling DAEMON": {
			service: "agent",
			alarm:   "agent-errors",
			before: func(w *world) {
				w.addService("agent", "agent-staging", w.image("agent", "v1"), 0, true)
			},
			after: func(w *world, image string) view {
				return view{
					Services: map[string]serviceView{"agent": {Image: image, Desired: daemonHosts}},
					Rules:    map[string][]elbv2.TargetWeight{},
				}
			},
		},
		"canary by weights": {
			service: "web",
			alarm:   "web-5xx",
			before: func(w *world) {
				w.addService("web--blue", "web-staging", w.image("web", "v1"), 4, false)
				w.addService("web--green", "web-staging", w.image("web", "v0"), 0, false)
				w.targets["service/staging/web--blue"] = *scaling(2, 10)
				w.rules[ruleWeb] = weights(100, 0)
			},
			after: func(w *world, image string) view {
				return view{
					Services: map[string]serviceView{
						"web--blue":  {Image: w.image("web", "v1"), Desired: 0},
						"web--green": {Image: image, Desired: 4, Scaling: scaling(2, 10)},
					},
					Rules: map[string][]elbv2.TargetWeight{ruleWeb: weights(0, 100)},
				}
			},
		},
		"canary by task count": {
			service: "worker",
			alarm:   "worker-errors",
			before: func(w *world) {
				w.addService("worker--blue", "worker-staging", w.image("worker", "v1"), 4, false)
			},
			after: func(w *world, image string) view {
				return view{
					Services: map[string]serviceView{
						"worker--blue":  {Image: w.image("worker", "v1"), Desired: 0},
						"worker--green": {Image: image, Desired: 4},
					},
					Rules: map[string][]elbv2.TargetWeight{},
				}
			},
		},
		"blue/green, linear, test listener": {
			service: "web",
			strategy: `{"kind": "bluegreen", "steps": [{"weight": 50, "bake": "5m"}, {"weight": 100}], "testListener": true,
				"finalBake": "2m", "terminationWait": "15m", "alarms": ["web-5xx"], "stabilizationTimeout": "20m"}`,
			alarm: "web-5xx",
			before: func(w *world) {
				w.addService("web--blue", "web-staging", w.image("web", "v0"), 0, false)
				w.addService("web--green", "web-staging", w.image("web", "v1"), 4, false)
				w.targets["service/staging/web--green"] = *scaling(2, 10)
				w.rules[ruleWeb] = weights(0, 100)
				w.rules[testRuleWeb] = weights(0, 100)
			},
			after: func(w *world, image string) view {
				return view{
					Services: map[string]serviceView{
						"web--blue":  {Image: image, Desired: 4, Scaling: scaling(2, 10)},
						"web--green": {Image: w.image("web", "v1"), Desired: 0},
					},
					Rules: map[string][]elbv2.TargetWeight{ruleWeb: weights(100, 0), testRuleWeb: weights(100, 0)},
				}
			},
		},
		"blue/green, all at once": {
			service:  "web",
			strategy: `{"kind": "bluegreen", "alarms": ["web-5xx"]}`,
			alarm:    "web-5xx",
			before: func(w *world) {
				w.addService("web--blue", "web-staging", w.image("web", "v1"), 3, false)
				w.rules[ruleWeb] = weights(100, 0)
			},
			after: func(w *world, image string) view {
				return view{
					Services: map[string]serviceView{
						"web--blue":  {Image: w.image("web", "v1"), Desired: 0},
						"web--green": {Image: image, Desired: 3, Scaling: scaling(2, 10)},
					},
					Rules: map[string][]elbv2.TargetWeight{ruleWeb: weights(0, 100)},
				}
			},
		},
	}
}

// outcome is what the history entry of a deployment says.
type outcome struct {
	Outcome workflow.Outcome
	Error   string
	Image   string
}

func TestStrategies(t *testing.T) {
	scenarios := map[string]struct {
		// arrange changes the world after the live state is set up; image is
		// what the deployment deploys.
		arrange func(w *world, x *execution, sc strategyCase, image string)
		// failRollback makes every change the rollback tries fail.
		failRollback bool
		terminal     string
		outcome      workflow.Outcome
		errorName    string
		// causeHas is in the history entry's cause: for a failed rollback,
		// the failure that caused the rollback.
		causeHas string
		restored bool // the live state is the snapshot again
	}{
		"success": {
			terminal: workflow.StateDeployed, outcome: workflow.OutcomeDeployed,
		},
		"alarm during bake": {
			arrange: func(w *world, x *execution, sc strategyCase, _ string) {
				x.onWait = func(x *execution) {
					if x.state == workflow.StateBake {
						w.alarms[sc.alarm] = "ALARM"
					}
				}
			},
			terminal: workflow.StateRolledBack, outcome: workflow.OutcomeRolledBack,
			errorName: "AlarmFired", restored: true,
		},
		"tasks failing to start": {
			arrange:  func(w *world, _ *execution, _ strategyCase, image string) { w.failing[image] = true },
			terminal: workflow.StateRolledBack, outcome: workflow.OutcomeRolledBack,
			errorName: "DeploymentFailed", restored: true,
		},
		"stabilisation timeout": {
			arrange:  func(w *world, _ *execution, _ strategyCase, image string) { w.hanging[image] = true },
			terminal: workflow.StateRolledBack, outcome: workflow.OutcomeRolledBack,
			errorName: "StabilizationTimeout", restored: true,
		},
		"rollback that fails": {
			arrange:      func(w *world, _ *execution, _ strategyCase, image string) { w.failing[image] = true },
			failRollback: true,
			terminal:     workflow.StateRollbackFailed, outcome: workflow.OutcomeRollbackFailed,
			errorName: "Error", causeHas: "after DeploymentFailed",
		},
	}
	for sname, sc := range strategyCases() {
		for name, tc := range scenarios {
			t.Run(sname+"/"+name, func(t *testing.T) {
				w := newWorld(t)
				sc.before(w)
				before := w.view()
				image := w.image(sc.service, "v2")
				x := newExecution(w, "exec-1", request(sc, "v2"))
				if tc.arrange != nil {
					tc.arrange(w, x, sc, image)
				}
				if tc.failRollback {
					x.runUntil(workflow.StateRollback)
					for _, op := range []string{"SetRuleWeights", "SetTaskDefinition", "SetDesiredCount", "DeleteService", "RegisterTarget", "DeregisterTarget"} {
						w.fail[op] = errors.New("AccessDenied: not authorized")
					}
				}
				x.run()

				if x.state != tc.terminal {
					t.Fatalf("got terminal state %s, want %s (path %v, error %+v, rollbackError %+v)", x.state, tc.terminal, x.path, x.st.Error, x.st.RollbackError)
				}
				h, err := w.historyOf(x.st.Deployment.ID)
				if err != nil {
					t.Fatal(err)
				}
				got := outcome{Outcome: h.Outcome, Error: h.Error, Image: h.Image}
				if diff := cmp.Diff(outcome{Outcome: tc.outcome, Error: tc.errorName, Image: image}, got); diff != "" {
					t.Errorf("history entry (-want +got):\n%s", diff)
				}
				if !strings.Contains(h.Cause, tc.causeHas) {
					t.Errorf("history cause: got %q, want it to contain %q", h.Cause, tc.causeHas)
				}
				if tc.outcome == workflow.OutcomeDeployed && x.st.TimedOut != nil {
					t.Errorf("deployed: got timedOut %+v, want none: the check after each timed-out wait clears it", x.st.TimedOut)
				}
				switch {
				case tc.outcome == workflow.OutcomeDeployed:
					if diff := cmp.Diff(sc.after(w, image), w.view()); diff != "" {
						t.Errorf("live state after success (-want +got):\n%s", diff)
					}
				case tc.restored:
					if diff := cmp.Diff(before, w.view()); diff != "" {
						t.Errorf("live state after rollback is not the snapshot (-want +got):\n%s", diff)
					}
				}
				lock, held := w.locks["staging/"+sc.service]
				if keep := tc.outcome == workflow.OutcomeRollbackFailed; held != keep || keep && lock.rec.Deployment != x.st.Deployment.ID {
					t.Errorf("lock after %s: got held %t (%+v), want held %t", tc.outcome, held, lock.rec, keep)
				}
				if len(w.watches) != 0 {
					t.Errorf("watches left: %+v", w.watches)
				}
				if n := len(w.events); n == 0 || w.events[n-1].Status != string(tc.outcome) {
					t.Errorf("last event: got %+v, want status %s", w.events, tc.outcome)
				}
			})
		}
	}
}

func request(sc strategyCase, tag string) workflow.Request {
	r := workflow.Request{Service: sc.service, Environment: "staging", Image: tag, Reason: "test",
		Trigger: workflow.Trigger{Kind: workflow.TriggerManual, Actor: "tester"}}
	if sc.strategy != "" {
		r.Strategy = json.RawMessage(sc.strategy)
	}
	return r
}

// TestSupersededByNewerPush: a deployment that has prepared but not started
// applying is replaced by a newer one; it changes nothing and ends
// Superseded, and the newer one deploys.
func TestSupersededByNewerPush(t *testing.T) {
	for sname, sc := range strategyCases() {
		t.Run(sname, func(t *testing.T) {
			w := newWorld(t)
			sc.before(w)
			w.image(sc.service, "v2")
			w.image(sc.service, "v3")
			older := newExecution(w, "exec-older", request(sc, "v2"))
			older.runUntil(workflow.StateApply)
			w.advance(time.Minute)
			newer := newExecution(w, "exec-newer", request(sc, "v3"))
			newer.run()
			older.run()

			if older.state != workflow.StateSuperseded || newer.state != workflow.StateDeployed {
				t.Fatalf("got older %s, newer %s, want %s, %s (paths %v, %v)", older.state, newer.state,
					workflow.StateSuperseded, workflow.StateDeployed, older.path, newer.path)
			}
			for x, want := range map[*execution]outcome{
				older: {Outcome: workflow.OutcomeSuperseded, Error: "Superseded", Image: w.image(sc.service, "v2")},
				newer: {Outcome: workflow.OutcomeDeployed, Image: w.image(sc.service, "v3")},
			} {
				h, err := w.historyOf(x.st.Deployment.ID)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, outcome{Outcome: h.Outcome, Error: h.Error, Image: h.Image}); diff != "" {
					t.Errorf("history of %s (-want +got):\n%s", x.arn, diff)
				}
			}
			if diff := cmp.Diff(sc.after(w, w.image(sc.service, "v3")), w.view()); diff != "" {
				t.Errorf("live state (-want +got):\n%s", diff)
			}
			if len(w.locks) != 0 {
				t.Errorf("locks left: %+v", w.locks)
			}
		})
	}
}
