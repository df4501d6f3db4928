package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/asl"
	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/clock"
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
	b, err := os.ReadFile(definitionFile)
	if err != nil {
		t.Fatal(err)
	}
	def, err := asl.Parse(b)
	if err != nil {
		t.Fatalf("parse %s: %v", definitionFile, err)
	}
	scenarios := map[string]struct {
		arrange      func(w *world, image string)
		alarmInBake  bool
		failRollback bool
		terminal     string
		outcome      workflow.Outcome
		errorName    string
	}{
		"success":                {terminal: workflow.StateDeployed, outcome: workflow.OutcomeDeployed},
		"alarm during bake":      {alarmInBake: true, terminal: workflow.StateRolledBack, outcome: workflow.OutcomeRolledBack, errorName: "AlarmFired"},
		"tasks failing to start": {arrange: func(w *world, image string) { w.failing[image] = true }, terminal: workflow.StateRolledBack, outcome: workflow.OutcomeRolledBack, errorName: "DeploymentFailed"},
		"stabilisation timeout":  {arrange: func(w *world, image string) { w.hanging[image] = true }, terminal: workflow.StateRolledBack, outcome: workflow.OutcomeRolledBack, errorName: "StabilizationTimeout"},
		"rollback that fails": {arrange: func(w *world, image string) { w.failing[image] = true }, failRollback: true,
			// An error outside the contract reaches Step Functions under its Go
			// type name, as aws-lambda-go reports it.
			terminal: workflow.StateRollbackFailed, outcome: workflow.OutcomeRollbackFailed, errorName: "wrapError"},
	}
	for sname, sc := range strategyCases() {
		for name, tc := range scenarios {
			t.Run(sname+"/"+name, func(t *testing.T) {
				w := newWorld(t)
				sc.before(w)
				before := w.view()
				image := w.image(sc.service, "v2")
				if tc.arrange != nil {
					tc.arrange(w, image)
				}
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
			})
		}
	}
}

// definitionRunner runs executions of the synthesized definition against a
// world. Every invocation of the step function goes through Engine.Run as
// the Lambda runtime would (JSON in, JSON or a named error out); the task
// tokens the engine completes go to the state machine.
type definitionRunner struct {
	t   *testing.T
	def *asl.Definition
	sm  *asl.Engine
	clk *clock.Virtual
}

// newDefinitionRunner returns a runner; after(inv) runs once each
// invocation has run.
func newDefinitionRunner(t *testing.T, def *asl.Definition, w *world, after func(workflow.Invocation)) *definitionRunner {
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
	b, err := os.ReadFile(definitionFile)
	if err != nil {
		t.Fatal(err)
	}
	def, err := asl.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
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
