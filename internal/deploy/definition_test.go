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
				path := x.Path()
				if got := path[len(path)-1]; got != tc.terminal {
					t.Fatalf("got terminal state %s, want %s (path %v)", got, tc.terminal, path)
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

// runDefinition runs one execution of def to its end. Every invocation of
// the step function goes through Engine.Run as the Lambda runtime would
// (JSON in, JSON or a named error out); after calls hook(inv) once the
// invocation has run. Task tokens the engine completes go to the state
// machine.
func runDefinition(t *testing.T, def *asl.Definition, w *world, req workflow.Request, after func(workflow.Invocation)) *asl.Execution {
	t.Helper()
	clk := clock.NewVirtual(w.now)
	e := w.engine()
	var mu sync.Mutex // the world is not safe for concurrent use
	var sm *asl.Engine
	w.onToken = func(token string, f *workflow.Failure, output any) {
		// Completing a token from inside a task would wait on the task itself.
		go func() {
			if f != nil {
				_ = sm.SendTaskFailure(token, f.Error, f.Cause)
				return
			}
			b, err := json.Marshal(output)
			if err != nil {
				t.Error(err)
			}
			_ = sm.SendTaskSuccess(token, string(b))
		}()
	}
	sm = asl.NewEngine(asl.Config{Clock: clk, Lambda: func(ctx context.Context, _ string, payload []byte) ([]byte, error) {
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
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	x, err := sm.Start(context.Background(), def, asl.StartInput{
		StateMachineARN: "arn:aws:states:" + region + ":" + account + ":stateMachine:deploy", Name: "exec-1", Input: string(in)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := x.Wait(ctx); err != nil {
		t.Fatalf("execution did not end: %v (path %v)", err, x.Path())
	}
	return x
}
