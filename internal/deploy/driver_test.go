package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// execution walks the phases of one deployment in the order the deploy
// state machine would (internal/workflow/states.go): Choice states read the
// routing fields, Catch clauses store the error where the definition's do
// (caughtAt), transient errors are retried, and a wait either ends by its
// token (completed by the engine or the test) or times out after
// $.wait.timeoutSeconds of fake time.
type execution struct {
	w     *world
	e     *Engine
	arn   string
	st    workflow.State
	state string
	path  []string
	// token is the task token of the wait in progress; "" when none.
	token string
	// onWait runs when a wait has started (its watch returned), before it
	// ends; the test uses it to fire an alarm during a bake, say.
	onWait func(x *execution)
	// approver completes an approval wait; nil lets it time out.
	approver func(x *execution, token string)
	tokens   int
}

func newExecution(w *world, name string, req workflow.Request) *execution {
	return &execution{w: w, e: w.engine(), state: workflow.StatePrepare,
		arn: "arn:aws:states:" + region + ":" + account + ":execution:deploy:" + name,
		st:  workflow.State{Request: req}}
}

// terminal reports whether the execution has ended.
func (x *execution) terminal() bool {
	switch x.state {
	case workflow.StateDeployed, workflow.StateRolledBack, workflow.StateRejected,
		workflow.StateSuperseded, workflow.StateRollbackFailed, workflow.StateFailed:
		return true
	}
	return false
}

// runUntil steps until the execution ends or reaches state (and, for a
// wait, has started it).
func (x *execution) runUntil(state string) {
	for i := 0; i < 500 && !x.terminal(); i++ {
		if x.state == state && (!isWait(state) || x.token != "") {
			return
		}
		x.step()
	}
	if !x.terminal() && x.state != state {
		x.w.t.Fatalf("execution %s stuck in %s (path %v)", x.arn, x.state, x.path)
	}
}

func (x *execution) run() { x.runUntil("") }

func isWait(state string) bool {
	switch state {
	case workflow.StateAwaitLock, workflow.StateAwaitApproval, workflow.StateAwaitStable,
		workflow.StateBake, workflow.StateAwaitRollbackStable, workflow.StateAwaitHook, workflow.StateAwaitHookApproval:
		return true
	}
	return false
}

// call invokes a phase through Engine.Run, retrying transient errors as the
// state machine's Retry clauses do.
func (x *execution) call(phase workflow.Phase, token string) (workflow.State, error) {
	var err error
	for range 3 {
		var st workflow.State
		st, err = x.e.Run(context.Background(), workflow.Invocation{Phase: phase, State: x.st, TaskToken: token, Execution: x.arn})
		var tr *workflow.Transient
		if !errors.As(err, &tr) {
			return st, err
		}
		x.w.advance(time.Second)
	}
	return x.st, err
}

// task runs a non-waiting task: its output replaces the state document, an
// error is caught (caughtAt) and goes to onError.
func (x *execution) task(phase workflow.Phase, next, onError string) {
	st, err := x.call(phase, "")
	if err != nil {
		x.caught(failureOf(err), onError)
		return
	}
	x.st, x.state = st, next
}

// caught stores f where the Catch clause of the current state does and
// moves to next. The input of the failed state is kept, as ResultPath
// does.
func (x *execution) caught(f *workflow.Failure, next string) {
	*caughtAt(&x.st, x.state, f.Error) = f
	x.state = next
}

// caughtAt is the field of st where the definition's Catch of state stores
// an error named name; it mirrors catchResultPath in infra/definition_test.go,
// and TestDriverCatchesLikeDefinition holds it to the golden definition: a
// wait's timeout (except the approval's, which rejects) at $.timedOut, a
// failure of a rollback state at $.rollbackError, a failure of a bookkeeping
// state at $.bookkeepingError, anything else at $.error.
func caughtAt(st *workflow.State, state, name string) **workflow.Failure {
	switch {
	case name == statesTimeout && isWait(state) && state != workflow.StateAwaitApproval && state != workflow.StateAwaitHookApproval:
		return &st.TimedOut
	case state == workflow.StateRollback || state == workflow.StateAwaitRollbackStable || state == workflow.StateCheckRollbackStable:
		return &st.RollbackError
	case state == workflow.StateFinalize || state == workflow.StateRecordFailure || state == workflow.StateRecordRollbackFailed:
		return &st.BookkeepingError
	}
	return &st.Error
}

// wait runs a .waitForTaskToken task in two steps: the first starts it
// (watch or approve phase), the second ends it by its token or by timeout.
func (x *execution) wait(phase workflow.Phase, onSuccess, onTimeout, onError string) {
	if x.token == "" {
		x.tokens++
		x.token = fmt.Sprintf("%s/token-%d", x.arn, x.tokens)
		if _, err := x.call(phase, x.token); err != nil {
			x.token = ""
			x.caught(failureOf(err), onError)
			return
		}
		if x.onWait != nil {
			x.onWait(x)
		}
		return
	}
	token := x.token
	if _, done := x.w.tokens[token]; !done && phase == workflow.PhaseApprove && x.approver != nil {
		x.approver(x, token)
	}
	f, done := x.w.tokens[token]
	if !done {
		// The task times out: Step Functions closes the token.
		x.w.advance(time.Duration(x.st.Wait.TimeoutSeconds) * time.Second)
		f, done = x.w.tokens[token]
	}
	x.token = ""
	switch {
	case !done:
		f = &workflow.Failure{Error: statesTimeout}
		x.w.tokens[token] = f
		x.caught(f, onTimeout)
	case f != nil:
		x.caught(f, onError)
	default:
		// The task's result at $.signal is the output the token was
		// completed with, as JSON.
		x.st.Signal = &workflow.Signal{Source: "test"}
		if out, ok := x.w.outputs[token]; ok {
			var sig workflow.Signal
			b, err := json.Marshal(out)
			if err == nil {
				err = json.Unmarshal(b, &sig)
			}
			if err != nil {
				x.w.t.Fatalf("output of token %s: %v", token, err)
			}
			x.st.Signal = &sig
		}
		x.state = onSuccess
	}
}

// step runs the current state.
func (x *execution) step() {
	if x.token == "" {
		x.path = append(x.path, x.state)
	}
	s := &x.st
	switch x.state {
	case workflow.StatePrepare:
		x.task(workflow.PhasePrepare, workflow.StateAfterPrepare, workflow.StateRecordFailure)
	case workflow.StateAfterPrepare:
		switch {
		case s.Lock.Queued:
			x.state = workflow.StateAwaitLock
		case s.Approval.Required:
			x.state = workflow.StateAwaitApproval
		default:
			x.state = workflow.StateApply
		}
	case workflow.StateAwaitLock:
		x.wait(workflow.PhaseWatch, workflow.StatePrepare, workflow.StatePrepare, workflow.StateRecordFailure)
	case workflow.StateAwaitApproval:
		x.wait(workflow.PhaseApprove, workflow.StateApply, workflow.StateRecordFailure, workflow.StateRecordFailure)
	case workflow.StateApply:
		x.task(workflow.PhaseApply, workflow.StateAwaitStable, workflow.StateRollback)
	case workflow.StateAwaitStable:
		x.wait(workflow.PhaseWatch, workflow.StateMoreSteps, workflow.StateCheckStable, workflow.StateRollback)
	case workflow.StateCheckStable:
		x.task(workflow.PhaseCheck, workflow.StateStableYet, workflow.StateRollback)
	case workflow.StateStableYet:
		x.state = workflow.StateAwaitStable
		if s.Wait.Settled {
			x.state = workflow.StateMoreSteps
		}
	case workflow.StateMoreSteps:
		switch {
		case s.Progress.Remaining == 0 && s.Progress.Weight >= 100:
			// Back from a promoted slot's registration.
			x.state = workflow.StateCleanup
		case s.Progress.Remaining > 0:
			x.state = workflow.StateShiftTraffic
		default:
			x.state = workflow.StatePromote
		}
	case workflow.StateShiftTraffic:
		x.task(workflow.PhaseShift, workflow.StateBake, workflow.StateRollback)
	case workflow.StateBake:
		x.wait(workflow.PhaseWatch, workflow.StateCheckBake, workflow.StateCheckBake, workflow.StateRollback)
	case workflow.StateCheckBake:
		x.task(workflow.PhaseCheck, workflow.StateBakeDoneYet, workflow.StateRollback)
	case workflow.StateBakeDoneYet:
		switch {
		case !s.Wait.Settled:
			x.state = workflow.StateBake
		case s.Progress.Remaining > 0:
			x.state = workflow.StateShiftTraffic
		default:
			x.state = workflow.StatePromote
		}
	case workflow.StatePromote:
		x.task(workflow.PhasePromote, workflow.StatePromotedYet, workflow.StateRollback)
	case workflow.StatePromotedYet:
		x.state = workflow.StateAwaitStable
		if s.Wait.Settled {
			x.state = workflow.StateCleanup
		}
	case workflow.StateCleanup:
		x.task(workflow.PhaseCleanup, workflow.StateFinalize, workflow.StateFinalize)
	case workflow.StateFinalize:
		x.task(workflow.PhaseFinalize, workflow.StateDeployed, workflow.StateDeployed)
	case workflow.StateRollback:
		x.task(workflow.PhaseRollback, workflow.StateRollbackStableYet, workflow.StateRecordRollbackFailed)
	case workflow.StateRollbackStableYet:
		x.state = workflow.StateAwaitRollbackStable
		if s.Wait.Settled {
			x.state = workflow.StateRecordFailure
		}
	case workflow.StateAwaitRollbackStable:
		x.wait(workflow.PhaseWatch, workflow.StateRollbackWoken, workflow.StateCheckRollbackStable, workflow.StateRecordRollbackFailed)
	case workflow.StateRollbackWoken:
		x.state = workflow.StateRecordFailure
		if s.Native != nil {
			x.state = workflow.StateCheckRollbackStable
		}
	case workflow.StateCheckRollbackStable:
		x.task(workflow.PhaseCheck, workflow.StateRollbackStableYet, workflow.StateRecordRollbackFailed)
	case workflow.StateRecordFailure:
		x.task(workflow.PhaseRecord, workflow.StateFailureKind, workflow.StateFailureKind)
	case workflow.StateFailureKind:
		o := s.Outcome
		if o == "" {
			// RecordFailure failed ($.bookkeepingError): the definition
			// classifies the failure from $.error as the record phase does.
			o = outcomeOf(*s)
		}
		switch o {
		case workflow.OutcomeSuperseded:
			x.state = workflow.StateSuperseded
		case workflow.OutcomeRejected:
			x.state = workflow.StateRejected
		case workflow.OutcomeFailed:
			x.state = workflow.StateFailed
		default:
			x.state = workflow.StateRolledBack
		}
	case workflow.StateRecordRollbackFailed:
		x.task(workflow.PhaseRecord, workflow.StateRollbackFailed, workflow.StateRollbackFailed)
	default:
		x.w.t.Fatalf("no state %q", x.state)
	}
	if x.terminal() {
		x.path = append(x.path, x.state)
	}
}
