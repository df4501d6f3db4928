package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/asl"
	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// definitionFile is the deploy state machine as synthesized by infra/, in
// plain ASL.
const definitionFile = "../../infra/testdata/deploy.asl.json"

// TestDefinition runs the engine under the synthesized state machine
// (internal/asl on a virtual clock) instead of the test driver, so the
// contract between the two (payloads, result paths, Catch clauses, error
// names, task tokens) is what is tested.
func TestDefinition(t *testing.T) {
	def := loadDefinition(t)
	scenarios := map[string]struct {
		arrange      func(w *world, image string)
		alarmInBake  bool
		failRollback bool
		// hangRollback makes the ECS deployments the rollback starts never
		// finish, so the rollback's wait fails at its deadline.
		hangRollback bool
		// strategies limits the scenario to these strategy cases; empty
		// means all.
		strategies []string
		terminal   string
		outcome    workflow.Outcome
		errorName  string
		// cause is the error the record phase finds at $.error: the
		// failure that started the rollback.
		cause string
	}{
		"success":                {terminal: workflow.StateDeployed, outcome: workflow.OutcomeDeployed},
		"alarm during bake":      {alarmInBake: true, terminal: workflow.StateRolledBack, outcome: workflow.OutcomeRolledBack, errorName: "AlarmFired", cause: "AlarmFired"},
		"tasks failing to start": {arrange: func(w *world, image string) { w.failing[image] = true }, terminal: workflow.StateRolledBack, outcome: workflow.OutcomeRolledBack, errorName: "DeploymentFailed", cause: "DeploymentFailed"},
		"stabilisation timeout":  {arrange: func(w *world, image string) { w.hanging[image] = true }, terminal: workflow.StateRolledBack, outcome: workflow.OutcomeRolledBack, errorName: "StabilizationTimeout", cause: "StabilizationTimeout"},
		"rollback that fails": {arrange: func(w *world, image string) { w.failing[image] = true }, failRollback: true,
			// An error outside the contract reaches Step Functions under its Go
			// type name, as aws-lambda-go reports it.
			terminal: workflow.StateRollbackFailed, outcome: workflow.OutcomeRollbackFailed, errorName: "wrapError", cause: "DeploymentFailed"},
		"rollback that never stabilises": {arrange: func(w *world, image string) { w.failing[image] = true }, hangRollback: true,
			// Only a rolling rollback redeploys the old revision; the slot
			// strategies restore weights and counts of a slot that is stable.
			strategies: []string{"rolling", "rolling DAEMON"},
			terminal:   workflow.StateRollbackFailed, outcome: workflow.OutcomeRollbackFailed, errorName: "StabilizationTimeout", cause: "DeploymentFailed"},
	}
	for sname, sc := range strategyCases() {
		for name, tc := range scenarios {
			if len(tc.strategies) > 0 && !slices.Contains(tc.strategies, sname) {
				continue
			}
			t.Run(sname+"/"+name, func(t *testing.T) {
				w := newWorld(t)
				sc.before(w)
				before := w.view()
				image := w.image(sc.service, "v2")
				if tc.arrange != nil {
					tc.arrange(w, image)
				}
				var recorded *workflow.State
				x := runDefinition(t, def, w, request(sc, "v2"), func(inv workflow.Invocation) {
					if tc.alarmInBake && inv.Phase == workflow.PhaseWatch && inv.State.Wait.Kind == workflow.WaitBake {
						w.alarms[sc.alarm] = "ALARM"
					}
					if tc.failRollback && inv.Phase == workflow.PhaseApply {
						// armed after Apply ran: everything the rollback tries fails
						defer func() {
							for _, op := range []string{"SetRuleWeights", "SetTaskDefinition", "SetDesiredCount", "DeleteService", "RegisterTarget", "DeregisterTarget"} {
								w.fail[op] = errors.New("AccessDenied: not authorized")
							}
						}()
					}
					if tc.hangRollback && inv.Phase == workflow.PhaseApply {
						w.hanging[w.image(sc.service, "v1")] = true
					}
					if inv.Phase == workflow.PhaseRecord || inv.Phase == workflow.PhaseFinalize {
						recorded = &inv.State
					}
				})
				if path := x.Path(); path[len(path)-1] != tc.terminal {
					t.Fatalf("got terminal state %s, want %s (path %v)", path[len(path)-1], tc.terminal, path)
				}
				h, err := w.historyOf(deploymentID(x.ARN()))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(outcome{Outcome: tc.outcome, Error: tc.errorName, Image: image}, outcome{Outcome: h.Outcome, Error: h.Error, Image: h.Image}); diff != "" {
					t.Errorf("history (-want +got):\n%s", diff)
				}
				checkRecorded(t, recorded, tc.outcome, tc.cause, tc.errorName)
				if tc.outcome == workflow.OutcomeRollbackFailed && !strings.Contains(h.Cause, "after "+tc.cause) {
					t.Errorf("history cause: got %q, want it to name the failure that started the rollback (%s)", h.Cause, tc.cause)
				}
				switch tc.outcome {
				case workflow.OutcomeDeployed:
					if diff := cmp.Diff(sc.after(w, image), w.view()); diff != "" {
						t.Errorf("live state after success (-want +got):\n%s", diff)
					}
				case workflow.OutcomeRolledBack:
					if diff := cmp.Diff(before, w.view()); diff != "" {
						t.Errorf("live state after rollback (-want +got):\n%s", diff)
					}
				}
				if _, held := w.locks["staging/"+sc.service]; held != (tc.outcome == workflow.OutcomeRollbackFailed) {
					t.Errorf("lock held after %s: %t", tc.outcome, held)
				}
				if n := len(w.events); n == 0 || w.events[n-1].Status != string(tc.outcome) {
					t.Errorf("last event: got %+v, want status %s", w.events, tc.outcome)
				}
			})
		}
	}
}

// checkRecorded checks the state document the definition handed to the
// last Finalize or Record: the failure being handled at $.error, a
// failure of the rollback at $.rollbackError (named rollbackError), and no
// wait timeout left over after a deployment whose every check passed.
func checkRecorded(t *testing.T, st *workflow.State, outcome workflow.Outcome, cause, rollbackError string) {
	t.Helper()
	if st == nil {
		t.Fatal("neither Finalize nor Record ran")
	}
	got := [2]string{failureName(st.Error), failureName(st.RollbackError)}
	want := [2]string{cause, ""}
	if outcome == workflow.OutcomeRollbackFailed {
		want[1] = rollbackError
	}
	if got != want {
		t.Errorf("recorded $.error, $.rollbackError: got %q, want %q", got, want)
	}
	if outcome == workflow.OutcomeDeployed && st.TimedOut != nil {
		t.Errorf("recorded $.timedOut: got %+v, want none: each check clears the timeout that led to it", st.TimedOut)
	}
}

// TestDriverCatchesLikeDefinition holds the test driver's Catch rule
// (caughtAt) to the golden definition: every Catch clause of every state
// stores where the driver stores the errors it matches.
func TestDriverCatchesLikeDefinition(t *testing.T) {
	b, err := os.ReadFile(definitionFile)
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		States map[string]struct {
			Catch []struct {
				ErrorEquals []string
				ResultPath  string
			}
		}
	}
	if err := json.Unmarshal(b, &def); err != nil {
		t.Fatal(err)
	}
	var st workflow.State
	fields := map[string]**workflow.Failure{"$.error": &st.Error, "$.timedOut": &st.TimedOut, "$.rollbackError": &st.RollbackError,
		"$.bookkeepingError": &st.BookkeepingError}
	catches := 0
	for state, s := range def.States {
		for _, c := range s.Catch {
			want, ok := fields[c.ResultPath]
			if !ok {
				t.Errorf("%s: Catch %v stores at %s, which the driver never does", state, c.ErrorEquals, c.ResultPath)
				continue
			}
			for _, name := range c.ErrorEquals {
				if name == "States.ALL" {
					name = "wrapError" // any error outside the contract
				}
				catches++
				if got := caughtAt(&st, state, name); got != want {
					t.Errorf("%s: %s is caught at %s by the definition, elsewhere by the driver", state, name, c.ResultPath)
				}
			}
		}
	}
	if catches == 0 {
		t.Fatalf("no Catch clause in %s", definitionFile)
	}
}

// TestDefinitionTimeouts runs the waits whose timeout is no failure, and
// the approval's, which is one, through the synthesized definition.
func TestDefinitionTimeouts(t *testing.T) {
	def := loadDefinition(t)
	t.Run("lock wait: Prepare again", func(t *testing.T) {
		sc := strategyCases()["rolling"]
		w := newWorld(t)
		sc.before(w)
		image := w.image("web", "v2")
		// A holder that never hands the lock over; it is gone once the
		// wait has started, so only the wait's timeout brings Prepare back.
		w.locks["staging/web"] = lockObject{rec: store.LockRecord{Deployment: "gone", Stage: store.StageApplying}, etag: "e1"}
		var prepared []workflow.State
		var finalized *workflow.State
		x := runDefinition(t, def, w, request(sc, "v2"), func(inv workflow.Invocation) {
			switch {
			case inv.Phase == workflow.PhaseFinalize:
				finalized = &inv.State
			case inv.Phase == workflow.PhasePrepare:
				prepared = append(prepared, inv.State)
			case inv.Phase == workflow.PhaseWatch && inv.State.Wait.Kind == workflow.WaitLock:
				delete(w.locks, "staging/web")
			}
		})
		path := x.Path()
		if path[len(path)-1] != workflow.StateDeployed || countOf(path, workflow.StatePrepare) != 2 || countOf(path, workflow.StateAwaitLock) != 1 {
			t.Fatalf("got path %v, want Prepare, AwaitLock, Prepare again, then Deployed", path)
		}
		if again := prepared[1]; again.TimedOut == nil || again.TimedOut.Error != statesTimeout || again.Error != nil {
			t.Errorf("second Prepare: got timedOut %+v, error %+v; want the lock wait's timeout at $.timedOut only", again.TimedOut, again.Error)
		}
		checkRecorded(t, finalized, workflow.OutcomeDeployed, "", "")
		if h, err := w.historyOf(deploymentID(x.ARN())); err != nil || h.Outcome != workflow.OutcomeDeployed || h.Error != "" || h.Image != image {
			t.Errorf("history: got %+v (%v), want deployed %s without error", h, err, image)
		}
	})
	t.Run("bake: CheckBake", func(t *testing.T) {
		sc := strategyCases()["canary by weights"]
		w := newWorld(t)
		sc.before(w)
		w.image(sc.service, "v2")
		var checked []workflow.State
		x := runDefinition(t, def, w, request(sc, "v2"), func(inv workflow.Invocation) {
			if inv.Phase == workflow.PhaseCheck && inv.State.Wait.Kind == workflow.WaitBake {
				checked = append(checked, inv.State)
			}
		})
		path := x.Path()
		if path[len(path)-1] != workflow.StateDeployed || len(checked) == 0 || countOf(path, workflow.StateCheckBake) != countOf(path, workflow.StateBake) {
			t.Fatalf("got path %v, want each Bake to end in CheckBake, then Deployed", path)
		}
		for i, st := range checked {
			if st.TimedOut == nil || st.TimedOut.Error != statesTimeout || st.Error != nil {
				t.Errorf("CheckBake %d: got timedOut %+v, error %+v; want the bake's timeout at $.timedOut only", i+1, st.TimedOut, st.Error)
			}
		}
	})
	t.Run("approval: Rejected", func(t *testing.T) {
		w := newWorld(t)
		w.cluster = "prod"
		w.addService("web--blue", "web-prod", w.image("web", "v1"), 2, false)
		w.rules[prodRule] = []elbv2.TargetWeight{{TargetGroupARN: prodBlue, Weight: 100}, {TargetGroupARN: prodGreen, Weight: 0}}
		before := w.view()
		w.image("web", "v2")
		var recorded *workflow.State
		x := runDefinition(t, def, w, workflow.Request{Service: "web", Environment: "prod", Image: "v2"}, func(inv workflow.Invocation) {
			if inv.Phase == workflow.PhaseRecord {
				recorded = &inv.State
			}
		})
		path := x.Path()
		if path[len(path)-1] != workflow.StateRejected {
			t.Fatalf("got path %v, want it to end %s", path, workflow.StateRejected)
		}
		if recorded == nil || failureName(recorded.Error) != statesTimeout || recorded.TimedOut != nil {
			t.Errorf("recorded: got %+v, want the approval's timeout at $.error", recorded)
		}
		h, err := w.historyOf(deploymentID(x.ARN()))
		if err != nil || h.Outcome != workflow.OutcomeRejected || h.Error != statesTimeout {
			t.Errorf("history: got %+v (%v), want rejected with %s", h, err, statesTimeout)
		}
		if diff := cmp.Diff(before, w.view()); diff != "" {
			t.Errorf("live state changed (-want +got):\n%s", diff)
		}
		if len(w.locks) != 0 || len(w.approvals) != 0 {
			t.Errorf("got locks %+v, approvals %+v, want none", w.locks, w.approvals)
		}
	})
}

// loadDefinition parses the synthesized definition.
func loadDefinition(tb testing.TB) *asl.Definition {
	tb.Helper()
	b, err := os.ReadFile(definitionFile)
	if err != nil {
		tb.Fatal(err)
	}
	def, err := asl.Parse(b)
	if err != nil {
		tb.Fatalf("parse %s: %v", definitionFile, err)
	}
	return def
}

// definitionRunner runs executions of the synthesized definition against a
// world. Every invocation of the step function goes through Engine.Run as
// the Lambda runtime would (JSON in, JSON or a named error out); the task
// tokens the engine completes go to the state machine.
type definitionRunner struct {
	t   testing.TB
	def *asl.Definition
	sm  *asl.Engine
	clk *clock.Virtual
	// refuse, when set, is asked before each invocation; a non-empty name
	// makes the Lambda service refuse it with that error (say
	// Lambda.TooManyRequestsException) without running the function.
	refuse func(inv workflow.Invocation) string
}

// newDefinitionRunner returns a runner; after(inv) runs once each
// invocation has run.
func newDefinitionRunner(t testing.TB, def *asl.Definition, w *world, after func(workflow.Invocation)) *definitionRunner {
	clk := clock.NewVirtual(w.now)
	e := w.engine()
	var mu sync.Mutex // the world is not safe for concurrent use
	r := &definitionRunner{t: t, def: def, clk: clk}
	w.onToken = func(token string, f *workflow.Failure, output any) {
		// Completing a token from inside a task would wait on the task
		// itself; the clock is held busy until it is done, so no timeout
		// fires first.
		clk.Busy()
		go func() {
			defer clk.Done()
			if f != nil {
				_ = r.sm.SendTaskFailure(token, f.Error, f.Cause)
				return
			}
			b, err := json.Marshal(output)
			if err != nil {
				t.Error(err)
			}
			_ = r.sm.SendTaskSuccess(token, string(b))
		}()
	}
	r.sm = asl.NewEngine(asl.Config{Clock: clk, Lambda: func(ctx context.Context, _ string, payload []byte) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		w.now = clk.Now()
		w.settle()
		var inv workflow.Invocation
		if err := json.Unmarshal(payload, &inv); err != nil {
			return nil, &asl.TaskError{Name: "Runtime.UnmarshalError", Cause: err.Error()}
		}
		if r.refuse != nil {
			if name := r.refuse(inv); name != "" {
				return nil, &asl.TaskError{Name: name, Cause: "refused by the Lambda service"}
			}
		}
		st, err := e.Run(ctx, inv)
		after(inv)
		if err != nil {
			return nil, &asl.TaskError{Name: workflow.ErrorName(err), Cause: err.Error()}
		}
		return json.Marshal(st)
	}})
	return r
}

// start starts an execution named name.
func (r *definitionRunner) start(name string, req workflow.Request) *asl.Execution {
	in, err := json.Marshal(req)
	if err != nil {
		r.t.Fatal(err)
	}
	x, err := r.sm.Start(context.Background(), r.def, asl.StartInput{
		StateMachineARN: "arn:aws:states:" + region + ":" + account + ":stateMachine:deploy", Name: name, Input: string(in)})
	if err != nil {
		r.t.Fatal(err)
	}
	return x
}

// wait waits for x to end and returns its terminal state.
func (r *definitionRunner) wait(x *asl.Execution) string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := x.Wait(ctx); err != nil {
		r.t.Fatalf("execution %s did not end: %v (path %v)", x.ARN(), err, x.Path())
	}
	path := x.Path()
	return path[len(path)-1]
}

// runDefinition runs one execution of def to its end.
func runDefinition(t *testing.T, def *asl.Definition, w *world, req workflow.Request, after func(workflow.Invocation)) *asl.Execution {
	t.Helper()
	r := newDefinitionRunner(t, def, w, after)
	x := r.start("exec-1", req)
	r.wait(x)
	return x
}

// TestDefinitionSupersede: a deployment waiting for approval is superseded
// by a newer one; the older ends Superseded (a success: nothing changed),
// the newer is approved and deploys.
func TestDefinitionSupersede(t *testing.T) {
	def := loadDefinition(t)
	w := newWorld(t)
	w.cluster = "prod"
	w.addService("web--blue", "web-prod", w.image("web", "v1"), 2, false)
	w.rules[prodRule] = []elbv2.TargetWeight{{TargetGroupARN: prodBlue, Weight: 100}, {TargetGroupARN: prodGreen, Weight: 0}}
	newImage := w.image("web", "v3")
	w.image("web", "v2")
	var r *definitionRunner
	var newer *asl.Execution
	r = newDefinitionRunner(t, def, w, func(inv workflow.Invocation) {
		if inv.Phase != workflow.PhaseApprove {
			return
		}
		if newer == nil {
			w.advance(time.Minute)
			newer = r.start("exec-newer", workflow.Request{Service: "web", Environment: "prod", Image: "v3"})
			return
		}
		r.clk.Busy()
		go func() {
			defer r.clk.Done()
			_ = r.sm.SendTaskSuccess(inv.TaskToken, `{"source": "approval", "by": "alice"}`)
		}()
	})
	older := r.start("exec-older", workflow.Request{Service: "web", Environment: "prod", Image: "v2"})
	if got := r.wait(older); got != workflow.StateSuperseded {
		t.Fatalf("older: got %s, want %s (path %v, history %+v)", got, workflow.StateSuperseded, older.Path(), w.history)
	}
	if got := r.wait(newer); got != workflow.StateDeployed {
		t.Fatalf("newer: got %s, want %s (path %v)", got, workflow.StateDeployed, newer.Path())
	}
	if got := w.view().Services["web--green"].Image; got != newImage {
		t.Errorf("live image: got %s, want %s", got, newImage)
	}
	h, err := w.historyOf(deploymentID(older.ARN()))
	if err != nil || h.Outcome != workflow.OutcomeSuperseded {
		t.Errorf("older history: got %+v (%v), want superseded", h, err)
	}
	if len(w.locks) != 0 || len(w.approvals) != 0 {
		t.Errorf("got locks %+v, approvals %+v, want none", w.locks, w.approvals)
	}
}

// Listener rule and target groups of environments/prod.yaml (testdata).
const (
	prodRule  = "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener-rule/app/prod/0123456789abcdef/0123456789abcdef/0000000000000003"
	prodBlue  = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/prod-web-blue/0000000000000003"
	prodGreen = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/prod-web-green/0000000000000004"
)
