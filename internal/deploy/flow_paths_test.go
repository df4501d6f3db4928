package deploy

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/asl"
	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// The fragments below are the pieces every path of the deploy state
// machine is made of. Each scenario of TestFlowPaths writes its expected
// path with them, so the table reads as the story of each deployment.

// prepared: Prepare took the lock and AfterPrepare routes on.
func prepared() []string { return []string{workflow.StatePrepare, workflow.StateAfterPrepare} }

// appliedAndStable: Apply starts the ECS deployment. The fakes send no ECS
// Deployment State Change event, so AwaitStable ends at its timeout (the
// reconcile interval) and one CheckStable finds the rollout complete.
func appliedAndStable() []string {
	return []string{workflow.StateApply, workflow.StateAwaitStable, workflow.StateCheckStable,
		workflow.StateStableYet, workflow.StateMoreSteps}
}

// notStableYet: a CheckStable that finds the rollout still in progress
// before its deadline, and the wait that follows.
func notStableYet() []string {
	return []string{workflow.StateCheckStable, workflow.StateStableYet, workflow.StateAwaitStable}
}

// trafficSteps: one traffic step per element of wakes, each shifted and
// baked with no alarm. A bake wakes every reconcile interval (5 minutes
// here) to re-read the alarms until it is over: wakes[i] is how often step
// i's Bake times out into CheckBake and BakeDoneYet (at least once; a
// 10-minute bake wakes twice).
func trafficSteps(wakes ...int) []string {
	var p []string
	for _, n := range wakes {
		p = append(p, workflow.StateShiftTraffic)
		for range n {
			p = append(p, workflow.StateBake, workflow.StateCheckBake, workflow.StateBakeDoneYet)
		}
	}
	return p
}

// promoted: the new revision becomes primary, the old slot is cleaned up
// and the success recorded.
func promoted() []string {
	return []string{workflow.StatePromote, workflow.StatePromotedYet, workflow.StateCleanup, workflow.StateFinalize, workflow.StateDeployed}
}

// rolledBack: Rollback restores the snapshot. In every scenario here it
// puts a task definition back (the rolling service's, or the canary slot's
// previous one), so it waits for that ECS deployment to the reconcile
// interval and one check finds it stable.
func rolledBack() []string {
	return []string{workflow.StateRollback, workflow.StateRollbackStableYet, workflow.StateAwaitRollbackStable,
		workflow.StateCheckRollbackStable, workflow.StateRollbackStableYet}
}

// recorded: the failure is recorded and routed to its terminal state.
func recorded(terminal string) []string {
	return []string{workflow.StateRecordFailure, workflow.StateFailureKind, terminal}
}

// canaryThreeSteps is a canary of 10% → 50% → 100% on the web service,
// baking 5, 10 and 15 minutes times bakeScale: 30 minutes of bake at
// scale 1.
func canaryThreeSteps(bakeScale int) strategyCase {
	sc := strategyCases()["canary by weights"]
	m := func(n int) string { return (time.Duration(n*bakeScale) * time.Minute).String() }
	sc.strategy = fmt.Sprintf(`{"kind": "canary", "steps": [{"weight": 10, "bake": %q}, {"weight": 50, "bake": %q}, {"weight": 100}],
		"finalBake": %q, "alarms": ["web-5xx"], "stabilizationTimeout": "20m"}`, m(5), m(10), m(15))
	return sc
}

// prodBlueGreen is the web service in prod (environments/prod.yaml: an
// approval is required), running v1 in the blue slot; the spec's canary
// (25% for 5 minutes, then 100% and a 10-minute final bake) moves it to
// green.
func prodBlueGreen() strategyCase {
	return strategyCase{
		service: "web",
		alarm:   "web-5xx",
		before: func(w *world) {
			w.cluster = "prod"
			w.addService("web--blue", "web-prod", w.image("web", "v1"), 2, false)
			w.rules[prodRule] = []elbv2.TargetWeight{{TargetGroupARN: prodBlue, Weight: 100}, {TargetGroupARN: prodGreen, Weight: 0}}
		},
		after: func(w *world, image string) view {
			return view{
				Services: map[string]serviceView{
					"web--blue":  {Image: w.image("web", "v1"), Desired: 0},
					"web--green": {Image: image, Desired: 2, Scaling: scaling(2, 10)},
				},
				Rules: map[string][]elbv2.TargetWeight{prodRule: {{TargetGroupARN: prodBlue, Weight: 0}, {TargetGroupARN: prodGreen, Weight: 100}}},
			}
		},
	}
}

// flowRun is one scenario's run of the synthesized definition: the world,
// the state machine, and what the scenario's hook needs to act as the
// outside world does (functions/signal, a person approving).
type flowRun struct {
	w  *world
	r  *definitionRunner
	sc strategyCase
	// newer is the execution a superseding push started.
	newer *asl.Execution
}

// succeed completes token as SendTaskSuccess would. Completing a token
// from inside a task would wait on the task itself, so it runs apart,
// holding the virtual clock so no timeout fires first.
func (f *flowRun) succeed(token, output string) {
	f.r.clk.Busy()
	go func() {
		defer f.r.clk.Done()
		if err := f.r.sm.SendTaskSuccess(token, output); err != nil {
			f.r.t.Errorf("send task success: %v", err)
		}
	}()
}

// fail fails token as SendTaskFailure would.
func (f *flowRun) fail(token, name, cause string) {
	f.r.clk.Busy()
	go func() {
		defer f.r.clk.Done()
		if err := f.r.sm.SendTaskFailure(token, name, cause); err != nil {
			f.r.t.Errorf("send task failure: %v", err)
		}
	}()
}

// live state a scenario expects at the end.
func deployedLive(sc strategyCase, w *world, _ view, image string) view { return sc.after(w, image) }
func restoredLive(_ strategyCase, _ *world, before view, _ string) view { return before }

// TestFlowPaths runs the engine on fakes under the synthesized state
// machine (internal/asl on the virtual clock) and asserts, for each
// scenario, the full path of states, the live state it leaves, the history
// entry and the lock.
func TestFlowPaths(t *testing.T) {
	def := loadDefinition(t)
	rolling := strategyCases()["rolling"]
	blueGreen := strategyCases()["blue/green, all at once"]

	tests := map[string]struct {
		sc  strategyCase
		env string // "" is staging
		// arrange changes the world once sc.before has run; image is what
		// the deployment deploys.
		arrange func(w *world, image string)
		// on runs after each invocation of the step function.
		on   func(f *flowRun, inv workflow.Invocation)
		path []string
		live func(sc strategyCase, w *world, before view, image string) view
		// outcome and errorName are the history entry's.
		outcome   workflow.Outcome
		errorName string
		lockHeld  bool
		// supersededBy is the tag of a push arriving while the deployment
		// waits for approval; newerPath is the path of its execution.
		supersededBy string
		newerPath    []string
	}{
		"rolling: success": {
			sc: rolling,
			// The final bake of 10 minutes wakes twice.
			path:    slices.Concat(prepared(), appliedAndStable(), trafficSteps(2), promoted()),
			live:    deployedLive,
			outcome: workflow.OutcomeDeployed,
		},
		"canary 10→50→100: success": {
			sc:      canaryThreeSteps(1),
			path:    slices.Concat(prepared(), appliedAndStable(), trafficSteps(1, 2, 3), promoted()),
			live:    deployedLive,
			outcome: workflow.OutcomeDeployed,
		},
		"blue/green: success": {
			sc: blueGreen,
			// One step: all traffic to green, then the termination wait.
			path:    slices.Concat(prepared(), appliedAndStable(), trafficSteps(1), promoted()),
			live:    deployedLive,
			outcome: workflow.OutcomeDeployed,
		},
		"canary: alarm while baking at 50% → rolled back": {
			sc: canaryThreeSteps(1),
			on: func(f *flowRun, inv workflow.Invocation) {
				if inv.Phase == workflow.PhaseWatch && inv.State.Wait.Kind == workflow.WaitBake && inv.State.Progress.Weight == 50 {
					// The alarm goes off and functions/signal fails the
					// bake's token with the alarm, as the Alarm State
					// Change event makes it do.
					f.w.alarms[f.sc.alarm] = "ALARM"
					f.fail(inv.TaskToken, workflow.ErrorName((*workflow.AlarmFired)(nil)), "alarm web-5xx in ALARM: threshold crossed")
				}
			},
			path: slices.Concat(prepared(), appliedAndStable(), trafficSteps(1),
				[]string{workflow.StateShiftTraffic, workflow.StateBake}, rolledBack(), recorded(workflow.StateRolledBack)),
			live:      restoredLive,
			outcome:   workflow.OutcomeRolledBack,
			errorName: "AlarmFired",
		},
		"rolling: tasks fail to start → rolled back": {
			sc:      rolling,
			arrange: func(w *world, image string) { w.failing[image] = true },
			// CheckStable finds the ECS deployment FAILED.
			path: slices.Concat(prepared(), []string{workflow.StateApply, workflow.StateAwaitStable, workflow.StateCheckStable},
				rolledBack(), recorded(workflow.StateRolledBack)),
			live:      restoredLive,
			outcome:   workflow.OutcomeRolledBack,
			errorName: "DeploymentFailed",
		},
		"rolling: not stable in 20m → rolled back": {
			sc:      rolling,
			arrange: func(w *world, image string) { w.hanging[image] = true },
			// Re-checked every 5 minutes (the reconcile interval) until the
			// 20-minute stabilisation timeout.
			path: slices.Concat(prepared(), []string{workflow.StateApply, workflow.StateAwaitStable},
				notStableYet(), notStableYet(), notStableYet(), []string{workflow.StateCheckStable},
				rolledBack(), recorded(workflow.StateRolledBack)),
			live:      restoredLive,
			outcome:   workflow.OutcomeRolledBack,
			errorName: "StabilizationTimeout",
		},
		"approval rejected": {
			sc:  prodBlueGreen(),
			env: "prod",
			on: func(f *flowRun, inv workflow.Invocation) {
				if inv.Phase == workflow.PhaseApprove {
					f.fail(inv.TaskToken, workflow.ErrorName((*workflow.ApprovalRejected)(nil)), "rejected by bob: not on a Friday")
				}
			},
			path:      slices.Concat(prepared(), []string{workflow.StateAwaitApproval}, recorded(workflow.StateRejected)),
			live:      restoredLive,
			outcome:   workflow.OutcomeRejected,
			errorName: "ApprovalRejected",
		},
		"approval expired": {
			sc:        prodBlueGreen(),
			env:       "prod",
			path:      slices.Concat(prepared(), []string{workflow.StateAwaitApproval}, recorded(workflow.StateRejected)),
			live:      restoredLive,
			outcome:   workflow.OutcomeRejected,
			errorName: statesTimeout,
		},
		"superseded while awaiting approval": {
			sc:           prodBlueGreen(),
			env:          "prod",
			supersededBy: "v3",
			on: func(f *flowRun, inv workflow.Invocation) {
				if inv.Phase != workflow.PhaseApprove {
					return
				}
				if f.newer == nil {
					f.w.advance(time.Minute)
					req := request(f.sc, "v3")
					req.Environment = "prod"
					f.newer = f.r.start("exec-newer", req)
					return
				}
				f.succeed(inv.TaskToken, `{"source": "approval", "by": "alice"}`)
			},
			path: slices.Concat(prepared(), []string{workflow.StateAwaitApproval}, recorded(workflow.StateSuperseded)),
			newerPath: slices.Concat(prepared(), []string{workflow.StateAwaitApproval}, appliedAndStable(),
				trafficSteps(1, 2), promoted()),
			live: func(sc strategyCase, w *world, _ view, _ string) view {
				return sc.after(w, w.image(sc.service, "v3"))
			},
			outcome:   workflow.OutcomeSuperseded,
			errorName: "Superseded",
		},
		"rolling: rollback fails → lock kept": {
			sc:      rolling,
			arrange: func(w *world, image string) { w.failing[image] = true },
			on: func(f *flowRun, inv workflow.Invocation) {
				if inv.Phase == workflow.PhaseApply {
					// Armed once Apply has run: every change the rollback
					// tries is denied.
					for _, op := range []string{"SetRuleWeights", "SetTaskDefinition", "SetDesiredCount", "DeleteService", "RegisterTarget", "DeregisterTarget"} {
						f.w.fail[op] = errors.New("AccessDenied: not authorized")
					}
				}
			},
			path: slices.Concat(prepared(), []string{workflow.StateApply, workflow.StateAwaitStable, workflow.StateCheckStable,
				workflow.StateRollback, workflow.StateRecordRollbackFailed, workflow.StateRollbackFailed}),
			// Nothing could be restored: the service runs what Apply set.
			live: func(sc strategyCase, w *world, before view, image string) view {
				v := before
				v.Services = map[string]serviceView{"web": {Image: image, Desired: 4, Scaling: scaling(2, 10)}}
				return v
			},
			outcome:  workflow.OutcomeRollbackFailed,
			lockHeld: true,
			// An error outside the contract reaches Step Functions under its
			// Go type name, as aws-lambda-go reports it.
			errorName: "wrapError",
		},
		"rolling: lock held → AwaitLock → Prepare again": {
			sc: rolling,
			arrange: func(w *world, _ string) {
				w.locks["staging/web"] = lockObject{rec: store.LockRecord{Deployment: "gone", Stage: store.StageApplying}, etag: "e1"}
			},
			on: func(f *flowRun, inv workflow.Invocation) {
				if inv.Phase == workflow.PhaseWatch && inv.State.Wait.Kind == workflow.WaitLock {
					// The holder goes without handing the lock over; only
					// the wait's timeout brings Prepare back.
					delete(f.w.locks, "staging/web")
				}
			},
			path: slices.Concat(prepared(), []string{workflow.StateAwaitLock}, prepared(), appliedAndStable(),
				trafficSteps(2), promoted()),
			live:    deployedLive,
			outcome: workflow.OutcomeDeployed,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			tc.sc.before(w)
			before := w.view()
			image := w.image(tc.sc.service, "v2")
			if tc.supersededBy != "" {
				w.image(tc.sc.service, tc.supersededBy)
			}
			if tc.arrange != nil {
				tc.arrange(w, image)
			}
			req := request(tc.sc, "v2")
			if tc.env != "" {
				req.Environment = tc.env
			}
			f := &flowRun{w: w, sc: tc.sc}
			f.r = newDefinitionRunner(t, def, w, func(inv workflow.Invocation) {
				if tc.on != nil {
					tc.on(f, inv)
				}
			})
			x := f.r.start("exec-1", req)
			f.r.wait(x)
			if diff := cmp.Diff(tc.path, x.Path()); diff != "" {
				t.Errorf("path (-want +got):\n%s", diff)
			}
			if tc.supersededBy != "" {
				if f.newer == nil {
					t.Fatal("the newer deployment never started")
				}
				f.r.wait(f.newer)
				if diff := cmp.Diff(tc.newerPath, f.newer.Path()); diff != "" {
					t.Errorf("path of the newer deployment (-want +got):\n%s", diff)
				}
				h, err := w.historyOf(deploymentID(f.newer.ARN()))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(outcome{Outcome: workflow.OutcomeDeployed, Image: w.image(tc.sc.service, tc.supersededBy)},
					outcome{Outcome: h.Outcome, Error: h.Error, Image: h.Image}); diff != "" {
					t.Errorf("history of the newer deployment (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tc.live(tc.sc, w, before, image), w.view()); diff != "" {
				t.Errorf("live state (-want +got):\n%s", diff)
			}
			h, err := w.historyOf(deploymentID(x.ARN()))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(outcome{Outcome: tc.outcome, Error: tc.errorName, Image: image},
				outcome{Outcome: h.Outcome, Error: h.Error, Image: h.Image}); diff != "" {
				t.Errorf("history (-want +got):\n%s", diff)
			}
			lock, held := w.locks[req.Environment+"/"+tc.sc.service]
			if held != tc.lockHeld || held && lock.rec.Deployment != deploymentID(x.ARN()) {
				t.Errorf("lock: got held %t (%+v), want held %t by %s", held, lock.rec, tc.lockHeld, deploymentID(x.ARN()))
			}
			if len(w.approvals) != 0 || len(w.watches) != 0 {
				t.Errorf("got approvals %+v, watches %+v left, want none", w.approvals, w.watches)
			}
		})
	}
}

// TestFlowLostAlarmEventDuringLongBake: an alarm goes into ALARM fifteen
// minutes into an hour-long bake, while Bake waits, and its event is lost (functions/signal
// never fails the bake's token). The bake wakes every reconcile interval to
// re-read the alarms, so the rollback starts within one interval of the
// alarm, not at the end of the bake (issue 12 item 4).
func TestFlowLostAlarmEventDuringLongBake(t *testing.T) {
	def := loadDefinition(t)
	sc := canaryThreeSteps(12) // bakes of 60, 120 and 180 minutes
	w := newWorld(t)
	sc.before(w)
	before := w.view()
	image := w.image(sc.service, "v2")
	var (
		watches         int
		firedAt, rollAt time.Time
		reconcile       = w.engine().Settings.Reconcile
	)
	r := newDefinitionRunner(t, def, w, func(inv workflow.Invocation) {
		switch {
		case inv.Phase == workflow.PhaseWatch && inv.State.Wait.Kind == workflow.WaitBake:
			watches++
			if watches == 4 {
				// Bake has started its fourth wait and read the alarm OK;
				// it goes off now and no event says so: only a re-read
				// can see it.
				w.alarms[sc.alarm] = "ALARM"
				firedAt = w.now
			}
		case inv.Phase == workflow.PhaseRollback && rollAt.IsZero():
			rollAt = w.now
		}
	})
	x := r.start("exec-1", request(sc, "v2"))
	if got := r.wait(x); got != workflow.StateRolledBack {
		t.Fatalf("got terminal state %s, want %s (path %v)", got, workflow.StateRolledBack, x.Path())
	}
	wake := []string{workflow.StateBake, workflow.StateCheckBake, workflow.StateBakeDoneYet}
	want := slices.Concat(prepared(), appliedAndStable(), []string{workflow.StateShiftTraffic}, wake, wake, wake,
		[]string{workflow.StateBake, workflow.StateCheckBake}, rolledBack(), recorded(workflow.StateRolledBack))
	if diff := cmp.Diff(want, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	if firedAt.IsZero() || rollAt.IsZero() {
		t.Fatalf("alarm set at %v, rollback at %v: want both", firedAt, rollAt)
	}
	if got := rollAt.Sub(firedAt); got <= 0 || got > reconcile {
		t.Errorf("rollback %v after the alarm, want within one reconcile interval (%v)", got, reconcile)
	}
	if diff := cmp.Diff(before, w.view()); diff != "" {
		t.Errorf("live state (-want +got):\n%s", diff)
	}
	h, err := w.historyOf(deploymentID(x.ARN()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(outcome{Outcome: workflow.OutcomeRolledBack, Error: "AlarmFired", Image: image},
		outcome{Outcome: h.Outcome, Error: h.Error, Image: h.Image}); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

// TestFlowThrottledRollbackRetried: the Lambda service throttles the
// rollback (and then faults) several times; the Rollback state's retrier
// for Lambda service errors tries again with backoff until the rollback
// runs, and the deployment ends RolledBack with the service restored
// (issue 12 item 4). Before, these errors were not retried and the
// rollback ended in RollbackFailed with the lock held.
func TestFlowThrottledRollbackRetried(t *testing.T) {
	def := loadDefinition(t)
	sc := strategyCases()["rolling"]
	w := newWorld(t)
	sc.before(w)
	before := w.view()
	image := w.image(sc.service, "v2")
	w.failing[image] = true
	r := newDefinitionRunner(t, def, w, func(workflow.Invocation) {})
	refusals := []string{workflow.ErrLambdaTooManyRequests, workflow.ErrLambdaTooManyRequests,
		workflow.ErrLambdaService, workflow.ErrSandboxTimedOut, workflow.ErrLambdaTooManyRequests}
	refused := 0
	r.refuse = func(inv workflow.Invocation) string {
		if inv.Phase != workflow.PhaseRollback || refused == len(refusals) {
			return ""
		}
		refused++
		return refusals[refused-1]
	}
	x := r.start("exec-1", request(sc, "v2"))
	r.wait(x)
	want := slices.Concat(prepared(), []string{workflow.StateApply, workflow.StateAwaitStable, workflow.StateCheckStable},
		rolledBack(), recorded(workflow.StateRolledBack))
	if diff := cmp.Diff(want, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	if refused != len(refusals) {
		t.Errorf("got %d refused invocations, want %d", refused, len(refusals))
	}
	if diff := cmp.Diff(before, w.view()); diff != "" {
		t.Errorf("live state (-want +got):\n%s", diff)
	}
	if _, held := w.locks["staging/"+sc.service]; held {
		t.Error("lock held, want released")
	}
}
