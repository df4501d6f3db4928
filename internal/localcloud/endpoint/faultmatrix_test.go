package endpoint_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/slipwayhq/slipway/internal/asl"
	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
	"github.com/slipwayhq/slipway/internal/operator"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// The fault matrix (issue 14): every strategy × every fault, each cell one
// deployment of v2 over v1 of its own service, run side by side on one
// endpoint and one virtual clock through the synthesized state machine.
// Each cell asserts the deployment's end, what ECS runs, where the listener
// rule sends traffic, the history entry, the lock, and that nothing else
// runs. The table of outcomes is docs/faults.md: SLIPWAY_WRITE_FAULTS=1
// writes it; otherwise a table that differs fails the test.
// SLIPWAY_MATRIX_ONLY=key,key runs only those columns (to debug a cell;
// such a partial run neither writes nor checks the table).

// writeFaultsEnv names the variable that makes TestFaultMatrix write
// docs/faults.md instead of comparing it.
const writeFaultsEnv = "SLIPWAY_WRITE_FAULTS"

// faultsDoc is the committed table.
const faultsDoc = "../../../docs/faults.md"

// expect is the outcome a cell must have.
type expect struct {
	// end is the terminal state of v2's deployment.
	end string
	// serving is the only image version that runs afterwards ("v1", "v2",
	// "v3"); "" asserts nothing about it (a failed rollback leaves the
	// service as it is).
	serving string
	// then is the terminal state of v3's deployment, when the cell pushes
	// v3 too.
	then string
	// thenImage is the version the second deployment deploys: "v3", or
	// "v1" when the operator's rollback redeploys it.
	thenImage string
	// lockKept: the lock is kept (after a failed rollback, or after a
	// bookkeeping phase that never ran).
	lockKept bool
	// history is the outcome of the newest history entry, and histImage
	// its version when not the last deployment's (a phase that writes
	// history never ran, so the seed's v1 entry is the newest).
	history   workflow.Outcome
	histImage string
	// leftover is a version that must still run beside the one serving
	// (the old slot of a cleanup that never ran).
	leftover string
	// operator is what the operator's rollback must answer (the
	// operator columns): halted, joined, redeployed v1, or nothing to
	// roll back.
	operator string
	// visits are states v2's deployment must have entered, and
	// thenVisits those v3's must have.
	visits, thenVisits []string
}

// with returns e with the states v2's deployment must enter.
func (e expect) with(states ...string) expect {
	e.visits = states
	return e
}

var (
	deployed   = expect{end: workflow.StateDeployed, serving: "v2", history: workflow.OutcomeDeployed}
	rolledBack = expect{end: workflow.StateRolledBack, serving: "v1", history: workflow.OutcomeRolledBack}
)

// matrixColumn is a fault of the matrix.
type matrixColumn struct {
	key, title string
	// na returns why the cell of row is not run, or "".
	na func(row matrixRow) string
	// arm injects the fault before v2 is pushed.
	arm func(c *matrixCell)
	// at is the state (and its nth entry) in which act runs; "" for none.
	at  string
	nth int
	// act injects the fault while v2's deployment is in state at.
	act func(c *matrixCell)
	// until, if set, replaces at and nth: act runs once v2's deployment
	// has been where until says for a second.
	until func(c *matrixCell, path []string) bool
	// held, if set, is the phase whose first invocation for v2's
	// deployment the local Lambda holds in flight before it does its
	// work (faults.InvokeHold); act runs while it is held and releases
	// it.
	held workflow.Phase
	// want is the right outcome; wantRow, if set, is it for a row.
	want    expect
	wantRow func(row matrixRow) expect
	// after, if set, runs once v2's deployment has ended, before the
	// cell waits for the rest (a push that must take the lock over).
	after func(c *matrixCell)
	// exhaust: every fault armed must be used up, not only have fired
	// (a crash on every attempt, a reorder that delivered what it held).
	exhaust bool
}

// stepPhases are the phases of functions/step a deployment runs.
var stepPhases = []workflow.Phase{workflow.PhasePrepare, workflow.PhaseApply, workflow.PhaseWatch, workflow.PhaseCheck,
	workflow.PhaseShift, workflow.PhasePromote, workflow.PhaseCleanup, workflow.PhaseFinalize}

// matrixColumns are the faults, in the table's order.
func matrixColumns() []matrixColumn {
	noLB := func(row matrixRow) string {
		if !row.lb {
			return "n/a: no load balancer (" + row.title + " moves tasks, not traffic)"
		}
		return ""
	}
	api := func(service, kind string, match func(c *matrixCell) string) func(c *matrixCell) {
		return func(c *matrixCell) {
			// Six failures outlast the SDK's three attempts twice: the
			// engine's own retry of Transient errors is exercised.
			c.apply(faults.State{Throttles: []faults.Throttle{{Service: service, Operation: "*", Count: 6, Match: match(c), Error: kind}}})
		}
	}
	bySvc := func(c *matrixCell) string { return c.svc }
	byRule := func(c *matrixCell) string { return c.ruleID }
	byKey := func(c *matrixCell) string { return "/" + c.svc }
	cols := []matrixColumn{
		{key: "none", title: "no fault", want: deployed},
		{key: "ecs-thr", title: "ECS ThrottlingException ×6", arm: api("ecs", faults.ErrorThrottling, bySvc), want: deployed},
		{key: "ecs-5xx", title: "ECS 500 ServerException ×6", arm: api("ecs", faults.ErrorInternal, bySvc), want: deployed},
		{key: "elb-thr", title: "ELBv2 Throttling ×6", na: noLB, arm: api("elasticloadbalancing", faults.ErrorThrottling, byRule), want: deployed},
		{key: "elb-5xx", title: "ELBv2 500 InternalFailure ×6", na: noLB, arm: api("elasticloadbalancing", faults.ErrorInternal, byRule), want: deployed},
		{key: "s3-thr", title: "S3 503 SlowDown ×6", arm: api("s3", faults.ErrorThrottling, byKey), want: deployed},
		{key: "s3-5xx", title: "S3 500 InternalError ×6", arm: api("s3", faults.ErrorInternal, byKey), want: deployed},
		{key: "l-thr", title: "Lambda TooManyRequests ×2 in every phase", arm: everyPhase(faults.InvokeThrottle, 2), want: deployed},
		{key: "l-tmo", title: "Lambda timeout (after its work) once in every phase", arm: everyPhase(faults.InvokeTimeout, 1), want: deployed},
		// The same on a deployment that rolls back: rollback and record run.
		{key: "lrb-thr", title: "Lambda TooManyRequests ×2 in every phase (v2 crash-loops)", arm: crashLooping(everyPhase(faults.InvokeThrottle, 2)), want: rolledBack},
		{key: "lrb-tmo", title: "Lambda timeout once in every phase (v2 crash-loops)", arm: crashLooping(everyPhase(faults.InvokeTimeout, 1)), want: rolledBack},
	}
	// A crash of the runtime (Runtime.ExitError) before the phase ran is
	// retried like the Lambda service's own errors: every phase is
	// idempotent. One crash, in any phase, changes nothing.
	// Kind ecs has no phase that moves Slipway's slots: ECS shifts the
	// traffic and retires the old revision. It has one the others lack:
	// continue resolves ECS's PAUSE hooks.
	for _, p := range append(slices.Clone(stepPhases), workflow.PhaseContinue) {
		cols = append(cols, matrixColumn{key: "lc-" + string(p), title: "Lambda crash once in " + string(p), na: noPhase(p),
			arm: func(c *matrixCell) { c.crashPhase(p, false) }, want: deployed})
	}
	cols = append(cols,
		matrixColumn{key: "lc-rollback", title: "Lambda crash once in rollback (v2 crash-loops)", arm: func(c *matrixCell) { c.crashPhase(workflow.PhaseRollback, true) },
			want: rolledBack},
		matrixColumn{key: "lc-record", title: "Lambda crash once in record (v2 crash-loops)", arm: func(c *matrixCell) { c.crashPhase(workflow.PhaseRecord, true) }, want: rolledBack},
	)
	cols = append(cols, crashPersistsColumns()...)
	cols = append(cols,
		matrixColumn{key: "crash", title: "v2 tasks crash-loop", arm: func(c *matrixCell) { c.onPush = faults.Behaviour{CrashOnStart: true} }, want: rolledBack},
		matrixColumn{key: "health", title: "v2 fails health checks", arm: func(c *matrixCell) { c.onPush = faults.Behaviour{FailHealthChecks: true} }, want: rolledBack},
	)
	for n := 1; n <= 3; n++ {
		cols = append(cols, matrixColumn{key: fmt.Sprintf("alarm%d", n), title: fmt.Sprintf("alarm in bake %d", n),
			na: func(row matrixRow) string {
				if n > row.bakes && row.native {
					return "n/a: Slipway bakes once (finalBake, at POST_PRODUCTION_TRAFFIC_SHIFT); ECS's own bakes are the column below"
				}
				if n > row.bakes {
					return fmt.Sprintf("n/a: %s bakes %d time(s)", row.title, row.bakes)
				}
				return ""
			},
			at: workflow.StateBake, nth: n, act: (*matrixCell).alarm, want: rolledBack})
	}
	// ECS's own bake of kind ecs (a canary's or a linear step's, or
	// bluegreen's bakeTimeInMinutes after the shift) runs while Slipway
	// waits in AwaitHook after the ContinueDeployment that started it;
	// the strategy's alarms are ECS's deploymentConfiguration.alarms too.
	inECSBake := func(c *matrixCell, path []string) bool {
		return len(path) > 0 && path[len(path)-1] == workflow.StateAwaitHook &&
			countOf(path, workflow.StateContinueDeployment) == c.row.ecsBakeAfter
	}
	nativeOnly := func(row matrixRow) string {
		if !row.native {
			return "n/a: only kind ecs has ECS's own bakes; Slipway's are the columns above"
		}
		return ""
	}
	cols = append(cols, matrixColumn{key: "alarm-ecs", title: "alarm while ECS bakes (kind ecs: the canary, the first linear step, bluegreen's bake)",
		na: nativeOnly, at: workflow.StateAwaitHook, act: (*matrixCell).alarmInECSBake, want: rolledBack, until: inECSBake})
	// The alarm fires from the metrics, not SetAlarmState: v2 answers
	// half its requests with a 5xx, the local CloudWatch publishes the
	// ALB's HTTPCode_Target_5XX_Count each minute, and the 5xx alarm
	// (both target groups, more than 5 a minute) breaches.
	cols = append(cols, matrixColumn{key: "alarm-5xx", title: "alarm raised by ALB metrics: v2 answers 50% of requests with a 5xx",
		na: func(row matrixRow) string {
			if !row.lb {
				return "n/a: no load balancer, so no ALB 5xx metric; its alarm watches a metric only a test publishes (the alarm columns set it)"
			}
			return ""
		},
		arm: func(c *matrixCell) { c.onPush = faults.Behaviour{ErrorRate: 0.5} }, want: rolledBack})
	cols = append(cols,
		matrixColumn{key: "ev-delay", title: "ECS events delayed 150 s (reconcile interval 120 s)",
			arm:  func(c *matrixCell) { c.events(faults.EventDelay, 150_000, "aws.ecs") },
			want: deployed.with(workflow.StateCheckStable)},
		matrixColumn{key: "ev-drop", title: "ECS events dropped",
			arm: func(c *matrixCell) { c.events(faults.EventDrop, 0, "aws.ecs") }, want: deployed.with(workflow.StateCheckStable)},
		matrixColumn{key: "ev-dup", title: "every event delivered twice (push included)",
			arm: func(c *matrixCell) { c.events(faults.EventDuplicate, 0) }, want: deployed},
		// EventBridge does not keep order: the first two ECS deployment
		// events of the cell's services (a deployment's IN_PROGRESS and
		// COMPLETED) arrive newest first.
		matrixColumn{key: "ev-reorder", title: "ECS deployment events reordered (COMPLETED delivered before IN_PROGRESS)",
			arm: func(c *matrixCell) {
				c.apply(faults.State{Events: []faults.Event{{Match: []string{c.svc, "ECS Deployment State Change"}, Action: faults.EventReorder, Count: 2}}})
			}, want: deployed, exhaust: true},
	)
	// The last bake is the first for a strategy that bakes once.
	onceBaked := func(nth int) func(row matrixRow) string {
		return func(row matrixRow) string {
			if nth < 0 && row.bakes == 1 {
				return "n/a: " + row.title + " bakes once: the cell of bake 1"
			}
			return ""
		}
	}
	during := []struct {
		key, title, state string
		nth               int
		na                func(row matrixRow) string
		until             func(c *matrixCell, path []string) bool
	}{
		{"stable", "AwaitStable", workflow.StateAwaitStable, 1, onceBaked(1), nil},
		{"bake1", "bake 1", workflow.StateBake, 1, onceBaked(1), nil},
		{"bakel", "the last bake", workflow.StateBake, -1, onceBaked(-1), nil},
		{"ecsbake", "ECS's bake (kind ecs)", workflow.StateAwaitHook, 0, nativeOnly, inECSBake},
	}
	for _, d := range during {
		cols = append(cols, matrixColumn{key: "push-" + d.key, title: "v3 pushed during " + d.title, at: d.state, nth: d.nth, na: d.na, until: d.until,
			act: func(c *matrixCell) { c.pushV3() },
			// v3 waits for v2's lock, then deploys over it.
			want: expect{end: workflow.StateDeployed, then: workflow.StateDeployed, serving: "v3", history: workflow.OutcomeDeployed,
				thenVisits: []string{workflow.StateAwaitLock}}})
	}
	for _, d := range during {
		cols = append(cols, matrixColumn{key: "op-" + d.key, title: "operator rollback during " + d.title, at: d.state, nth: d.nth, na: d.na, until: d.until,
			act: (*matrixCell).operatorRollback, want: rolledBack})
	}
	cols = append(cols, inFlightColumns()...)
	cols = append(cols, matrixColumn{key: "rb-fail", title: "rollback fails: v2 crash-loops, and from AwaitStable on ECS and ELBv2 answer 500",
		arm: func(c *matrixCell) { c.onPush = faults.Behaviour{CrashOnStart: true} }, at: workflow.StateAwaitStable, nth: 1,
		act:  (*matrixCell).outage,
		want: expect{end: workflow.StateRollbackFailed, lockKept: true, history: workflow.OutcomeRollbackFailed}})
	return cols
}

// slotPhase says why kind ecs lacks a phase that moves Slipway's slots.
var slotPhase = map[workflow.Phase]string{workflow.PhaseShift: "ECS shifts the traffic", workflow.PhasePromote: "ECS makes the new revision primary",
	workflow.PhaseCleanup: "ECS retires the old revision after its bake"}

// noPhase says why a row's deployment does not run phase p, or "". Kind
// ecs has no phase that moves Slipway's slots (ECS shifts the traffic and
// retires the old revision) and has one the others lack: continue
// resolves ECS's PAUSE hooks.
func noPhase(p workflow.Phase) func(row matrixRow) string {
	return func(row matrixRow) string {
		if why := slotPhase[p]; why != "" && row.native {
			return "n/a: kind ecs has no " + string(p) + " phase (" + why + ")"
		}
		if p == workflow.PhaseContinue && !row.native {
			return "n/a: only kind ecs has ECS PAUSE hooks to continue"
		}
		return ""
	}
}

// crashAttempts is how many times a Task state invokes the step function
// before its Catch: once, then the six retries of Runtime.ExitError
// (MaxAttempts 6 in infra/testdata/deploy.asl.json).
const crashAttempts = 7

// crashPersistsColumns crash the first Task of a phase on every attempt,
// so that its retries run out and its Catch decides (the synthesized
// definition, infra/testdata/deploy.asl.json). The crash comes before the
// phase's work (Runtime.ExitError), so the phase never ran:
//   - prepare: Catch → RecordFailure: nothing changed, the lock never
//     taken: Failed, the history entry naming no image (never resolved).
//   - apply: Catch → Rollback, which restores nothing (the crash came
//     before any change) → RecordFailure: Failed (the lock never reached
//     applying).
//   - watch (AwaitStable), check (the first CheckBake, or CheckHook),
//     shift, promote, continue: Catch → Rollback → RolledBack.
//   - cleanup: Catch → Finalize: Deployed, the traffic on v2; the old
//     slot of canary by weight and bluegreen still runs at full size (the
//     cleanup never ran); the others' old tasks were replaced already.
//   - finalize: Catch → Deployed with $.bookkeepingError: the history
//     never got v2's entry and the lock is kept by the ended execution;
//     the next deployment takes it over (holderGone): the cell asserts
//     both, then pushes v3, which must deploy.
//   - rollback (v2 crash-loops): Catch → RecordRollbackFailed: the lock
//     kept until a person checks the service.
//   - record (v2 crash-loops): Catch → FailureKind on $.error:
//     RolledBack, the service restored, but no history entry and the lock
//     kept by the ended execution: as for finalize, v3 pushed then must
//     take the lock over and deploy.
func crashPersistsColumns() []matrixColumn {
	failed := expect{end: workflow.StateFailed, serving: "v1", history: workflow.OutcomeFailed}
	prepareFailed := failed
	prepareFailed.histImage = noImage
	takenOver := func(end string) expect {
		return expect{end: end, then: workflow.StateDeployed, serving: "v3", history: workflow.OutcomeDeployed}
	}
	want := map[workflow.Phase]expect{
		workflow.PhasePrepare:  prepareFailed,
		workflow.PhaseApply:    failed,
		workflow.PhaseWatch:    rolledBack,
		workflow.PhaseCheck:    rolledBack,
		workflow.PhaseShift:    rolledBack,
		workflow.PhasePromote:  rolledBack,
		workflow.PhaseContinue: rolledBack,
		workflow.PhaseFinalize: takenOver(workflow.StateDeployed),
		workflow.PhaseRollback: {end: workflow.StateRollbackFailed, lockKept: true, history: workflow.OutcomeRollbackFailed},
		workflow.PhaseRecord:   takenOver(workflow.StateRolledBack),
	}
	cleanup := func(row matrixRow) expect {
		w := deployed
		if row.lb && !row.native {
			w.leftover = "v1"
		}
		return w
	}
	var cols []matrixColumn
	for _, p := range []workflow.Phase{workflow.PhasePrepare, workflow.PhaseApply, workflow.PhaseWatch, workflow.PhaseCheck, workflow.PhaseShift,
		workflow.PhasePromote, workflow.PhaseCleanup, workflow.PhaseFinalize, workflow.PhaseContinue, workflow.PhaseRollback, workflow.PhaseRecord} {
		title := fmt.Sprintf("Lambda crash on all %d attempts of the first %s", crashAttempts, p)
		crashLoop := p == workflow.PhaseRollback || p == workflow.PhaseRecord
		if crashLoop {
			title += " (v2 crash-loops)"
		}
		var wantRow func(matrixRow) expect
		if p == workflow.PhaseCleanup {
			wantRow = cleanup
		}
		var after func(c *matrixCell)
		if p == workflow.PhaseFinalize || p == workflow.PhaseRecord {
			after = (*matrixCell).pushOverKeptLock
		}
		cols = append(cols, matrixColumn{key: "lcx-" + string(p), title: title, na: noPhase(p), want: want[p], wantRow: wantRow, after: after, exhaust: true,
			arm: func(c *matrixCell) {
				c.apply(faults.State{Invocations: []faults.Invocation{{Function: c.m.function, Fault: faults.InvokeCrash, Count: crashAttempts,
					Match: []string{`"phase":"` + string(p) + `"`, c.executionMark()}}}})
				if crashLoop {
					c.onPush = faults.Behaviour{CrashOnStart: true}
				}
			}})
	}
	return cols
}

// heldPhases are the phases the in-flight columns hold: every quick Task
// of a deployment (the waits are the columns "during AwaitStable", "bake
// n" and "ECS's bake").
var heldPhases = []workflow.Phase{workflow.PhasePrepare, workflow.PhaseApply, workflow.PhaseCheck, workflow.PhaseShift, workflow.PhasePromote,
	workflow.PhaseCleanup, workflow.PhaseFinalize, workflow.PhaseContinue, workflow.PhaseRollback, workflow.PhaseRecord}

// inFlightColumns act while the first invocation of a phase for v2's
// deployment is held in flight, before the phase does its work; the
// phase then runs. Rollback and record run on a v2 that crash-loops.
//
// "v3 pushed while P is in flight" pushes v3 and waits until v3's Prepare
// has decided (internal/deploy/lock.go) before P goes on. Until Apply has
// set the lock's stage to applying, v2 has changed nothing and the newer
// request wins: in prepare v3 takes the free lock and v2's Prepare yields
// (Superseded); in apply v3 supersedes v2's lock (stage preparing) and
// v2's Apply finds it taken: Superseded, its rollback restoring nothing.
// From check on v2 is applying: v3 queues (AwaitLock) and deploys after v2
// has ended.
//
// "operator rollback while P is in flight" runs slipway rollback: it finds
// no wait to halt while P is in flight (in prepare not even the lock: a
// running execution that holds no lock yet) and polls; P then goes on.
// The operator halts the deployment's next wait: RolledBack. Where no wait
// follows (promote, cleanup, finalize, and a check that ends the last
// bake) the deployment ends Deployed, and once the lock is free the
// operator redeploys v1. In rollback and record the deployment is already
// rolling back: the operator joins it.
func inFlightColumns() []matrixColumn {
	var cols []matrixColumn
	for _, p := range heldPhases {
		crashLoop := p == workflow.PhaseRollback || p == workflow.PhaseRecord
		suffix := ""
		if crashLoop {
			suffix = " (v2 crash-loops)"
		}
		arm := func(c *matrixCell) {
			if crashLoop {
				c.onPush = faults.Behaviour{CrashOnStart: true}
			}
		}
		v2end := workflow.StateDeployed
		if crashLoop {
			v2end = workflow.StateRolledBack
		}
		push := expect{end: v2end, then: workflow.StateDeployed, serving: "v3", history: workflow.OutcomeDeployed,
			thenVisits: []string{workflow.StateAwaitLock}}
		switch p {
		case workflow.PhasePrepare:
			// History is ordered by start (or end, for a deployment
			// that never started): v2's superseded entry, written
			// after v3 started, is the newest; it names no image, as
			// v2's Prepare never resolved it.
			push = expect{end: workflow.StateSuperseded, then: workflow.StateDeployed, serving: "v3", history: workflow.OutcomeSuperseded, histImage: noImage}
		case workflow.PhaseApply:
			push = expect{end: workflow.StateSuperseded, then: workflow.StateDeployed, serving: "v3", history: workflow.OutcomeDeployed}
		}
		cols = append(cols, matrixColumn{key: "hpush-" + string(p), title: "v3 pushed while " + string(p) + " is in flight" + suffix,
			na: noPhase(p), arm: arm, held: p, act: (*matrixCell).pushV3InFlight, want: push})
		op := func(row matrixRow) expect {
			halted := rolledBack
			halted.operator = "halted"
			redeployed := expect{end: workflow.StateDeployed, then: workflow.StateDeployed, thenImage: "v1", serving: "v1", history: workflow.OutcomeDeployed,
				operator: "redeployed v1"}
			switch p {
			case workflow.PhaseCheck:
				// The first check of a deployment that bakes once
				// is its last: promote and cleanup follow, no wait.
				if row.bakes == 1 && !row.native {
					return redeployed
				}
				return halted
			case workflow.PhasePromote, workflow.PhaseCleanup, workflow.PhaseFinalize:
				return redeployed
			case workflow.PhaseRollback, workflow.PhaseRecord:
				w := rolledBack
				w.operator = "joined"
				return w
			}
			return halted
		}
		cols = append(cols, matrixColumn{key: "hop-" + string(p), title: "operator rollback while " + string(p) + " is in flight" + suffix,
			na: noPhase(p), arm: arm, held: p, act: (*matrixCell).operatorRollbackInFlight, wantRow: op})
	}
	return cols
}

// everyPhase fails each phase's invocations of the cell's service n times
// with fault.
func everyPhase(fault string, n int) func(c *matrixCell) {
	return func(c *matrixCell) {
		var st faults.State
		for _, p := range append(slices.Clone(stepPhases), workflow.PhaseContinue, workflow.PhaseRollback, workflow.PhaseRecord) {
			st.Invocations = append(st.Invocations, faults.Invocation{Function: c.m.function, Fault: fault, Count: n,
				Match: []string{`"phase":"` + string(p) + `"`, c.executionMark()}})
		}
		c.apply(st)
	}
}

// crashLooping is arm, and v2's tasks crash so that the deployment rolls
// back.
func crashLooping(arm func(c *matrixCell)) func(c *matrixCell) {
	return func(c *matrixCell) {
		arm(c)
		c.onPush = faults.Behaviour{CrashOnStart: true}
	}
}

// slowPoll is the poll period of the operator of the in-flight columns:
// its rollback looks for a wait to halt for 30 of them (9 s), time for a
// held phase to be released and reach its next wait on a busy machine.
const slowPoll = 300 * time.Millisecond

// matrix is what every cell shares.
type matrix struct {
	r        *endpoint.Running
	clk      *clock.Virtual
	op       *operator.Operator
	slowOp   *operator.Operator // polls every slowPoll
	st       *store.Store
	function string // the step function's name
	rules    map[string]string
}

// groups are the target groups of the cell's load balancer, blue then
// green.
func (c *matrixCell) groups() []string { return matrixGroups(c.svc, c.m.rules[c.svc]) }

// matrixCell is one cell being run.
type matrixCell struct {
	t       *testing.T
	m       *matrix
	row     matrixRow
	col     matrixColumn
	svc     string
	ruleID  string
	held    bool
	onPush  faults.Behaviour
	digests map[string]string // version → digest
	armed   faults.State      // what the cell injected, to see it fired
	// endOutage, if set, ends a fault once the deployments have ended.
	endOutage func()
	problems  []string
	// note, if set, is said first in the cell's text.
	note string
	// settled: the cell's ECS services ran their desired counts in one
	// deployment when observed.
	settled bool
	// seed are the executions before the matrix began.
	seed map[string]bool
	// want is the outcome the cell must have.
	want expect
	// phaseReleased: the held phase (col.held) was let go.
	phaseReleased bool
	// noThen: the act started no second deployment, whatever the cell
	// wants: the cell does not wait for one.
	noThen bool
}

// apply injects faults and remembers them.
func (c *matrixCell) apply(st faults.State) {
	c.t.Helper()
	c.m.r.Faults.Apply(st)
	c.armed.Throttles = append(c.armed.Throttles, st.Throttles...)
	c.armed.Invocations = append(c.armed.Invocations, st.Invocations...)
	c.armed.Events = append(c.armed.Events, st.Events...)
}

// executionMark is in every step invocation of the cell's deployments:
// the execution ARN's name part.
func (c *matrixCell) executionMark() string { return ":" + c.svc + "-" + c.row.key + "-" }

// crashPhase crashes the first invocation of phase p; crashLoop also makes
// v2's tasks crash so that the deployment rolls back.
func (c *matrixCell) crashPhase(p workflow.Phase, crashLoop bool) {
	c.apply(faults.State{Invocations: []faults.Invocation{{Function: c.m.function, Fault: faults.InvokeCrash, Count: 1,
		Match: []string{`"phase":"` + string(p) + `"`, c.executionMark()}}}})
	if crashLoop {
		c.onPush = faults.Behaviour{CrashOnStart: true}
	}
}

// events injects an event fault on the cell's events that also contain
// every string of also.
func (c *matrixCell) events(action string, delayMs int64, also ...string) {
	c.apply(faults.State{Events: []faults.Event{{Match: append([]string{c.svc}, also...), Action: action, DelayMs: delayMs, Count: 1000}}})
}

// fired reports whether the faults armed happened, as far as the registry
// tells: none of them is still pending in full.
func (c *matrixCell) fired() bool {
	st := c.m.r.Faults.State()
	for _, a := range c.armed.Throttles {
		for _, p := range st.Throttles {
			if p.Service == a.Service && p.Match == a.Match && p.Count == a.Count {
				return false
			}
		}
	}
	used := 0
	for _, a := range c.armed.Invocations {
		if !slices.ContainsFunc(st.Invocations, func(p faults.Invocation) bool {
			return p.Fault == a.Fault && slices.Equal(p.Match, a.Match) && p.Count == a.Count
		}) {
			used++
		}
	}
	if len(c.armed.Invocations) > 0 && used == 0 {
		return false
	}
	if c.col.exhaust {
		for _, a := range c.armed.Invocations {
			if slices.ContainsFunc(st.Invocations, func(p faults.Invocation) bool { return p.Fault == a.Fault && slices.Equal(p.Match, a.Match) }) {
				return false
			}
		}
		for _, a := range c.armed.Events {
			if slices.ContainsFunc(st.Events, func(p faults.Event) bool { return p.Action == a.Action && slices.Equal(p.Match, a.Match) }) {
				return false
			}
		}
	}
	for _, a := range c.armed.Events {
		for _, p := range st.Events {
			if slices.Equal(p.Match, a.Match) && p.Action == a.Action && p.Count == a.Count {
				return false
			}
		}
	}
	return true
}

func (c *matrixCell) hold() {
	if !c.held {
		c.held = true
		c.m.clk.Busy()
	}
}

func (c *matrixCell) release() {
	if c.held {
		c.held = false
		c.m.clk.Done()
	}
}

// sleep lets a second of simulated time pass while the cell holds the clock.
func (c *matrixCell) sleep() {
	if err := c.m.clk.Sleep(context.Background(), time.Second); err != nil {
		c.t.Fatal(err)
	}
}

// push pushes tag to the cell's repository, moving the clock while it
// holds it, and applies onPush to v2.
func (c *matrixCell) push(tag string) string {
	c.t.Helper()
	done := make(chan error, 1)
	var digest string
	go func() {
		d, err := stack.PushImage(context.Background(), c.m.r.AWS, c.svc, tag)
		digest = d
		done <- err
	}()
	for {
		select {
		case err := <-done:
			if err != nil {
				c.t.Fatalf("push %s:%s: %v", c.svc, tag, err)
			}
			c.digests[tag] = digest
			if tag == "v2" && c.onPush != (faults.Behaviour{}) {
				c.m.r.Faults.SetImage(digest, c.onPush)
			}
			return digest
		case <-time.After(5 * time.Millisecond):
			if c.held {
				c.sleep()
			}
		}
	}
}

// executions returns the cell's deployments not in seed, oldest first.
func (c *matrixCell) executions(seed map[string]bool) []*asl.Execution {
	var out []*asl.Execution
	prefix := c.svc + "-" + c.row.key + "-"
	for _, x := range c.m.r.StepFunctions.Engine().Executions() {
		// The ARN ends with the execution's name and needs no lock:
		// every cell polls every execution.
		arn := x.ARN()
		if strings.HasPrefix(arn[strings.LastIndex(arn, ":")+1:], prefix) && !seed[arn] {
			out = append(out, x)
		}
	}
	slices.SortFunc(out, func(a, b *asl.Execution) int { return a.Describe().StartDate.Compare(b.Describe().StartDate) })
	return out
}

// stepUntil moves the held clock a second at a time until v2's deployment
// has been in state at (its nth entry; -1 for the last bake) for a second.
// It reports false if the deployment ended first.
func (c *matrixCell) stepUntil(seed map[string]bool) bool {
	nth := c.col.nth
	if nth < 0 {
		nth = c.row.bakes
	}
	seen := false
	for range 3600 {
		xs := c.executions(seed)
		if len(xs) > 0 {
			x := xs[0]
			path := x.Path()
			in := len(path) > 0 && path[len(path)-1] == c.col.at && countOf(path, c.col.at) == nth
			if c.col.until != nil {
				in = c.col.until(c, path)
			}
			if x.Describe().Status != asl.StatusRunning {
				return false
			}
			if in && seen {
				return true
			}
			seen = in
		}
		c.sleep()
	}
	return false
}

// alarm sets the alarm the cell's strategy watches to ALARM.
func (c *matrixCell) alarm() {
	name := c.svc + "-" + c.row.key + "-errors"
	if c.row.lb {
		name = c.svc + "-" + c.row.key + "-5xx"
	}
	_, err := cloudwatch.NewFromConfig(c.m.r.AWS).SetAlarmState(context.Background(), &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String(name), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("fault matrix")})
	if err != nil {
		c.t.Fatalf("SetAlarmState %s: %v", name, err)
	}
}

// alarmInECSBake fires the alarm while ECS bakes, and notes where the
// rule sent the traffic then: v2 must have a share, and the canary or the
// linear step not all of it.
func (c *matrixCell) alarmInECSBake() {
	out, err := elb.NewFromConfig(c.m.r.AWS).DescribeRules(context.Background(), &elb.DescribeRulesInput{RuleArns: []string{c.m.rules[c.svc]}})
	if err != nil {
		c.t.Fatalf("DescribeRules: %v", err)
	}
	var w []string
	var top int32
	for _, tg := range out.Rules[0].Actions[0].ForwardConfig.TargetGroups {
		w = append(w, fmt.Sprint(aws.ToInt32(tg.Weight)))
		top = max(top, aws.ToInt32(tg.Weight))
	}
	c.note = "alarm at rule weights " + strings.Join(w, "/")
	if split := top < 100; split != (c.row.strategyMode() != "bluegreen") {
		c.problems = append(c.problems, fmt.Sprintf("the alarm fired at weights %v, not in ECS's bake", w))
	}
	c.alarm()
}

// strategyMode is the mode of a kind ecs row.
func (row matrixRow) strategyMode() string {
	for _, m := range []string{"bluegreen", "canary", "linear"} {
		if strings.Contains(row.strategy, "mode: "+m) {
			return m
		}
	}
	return ""
}

// outage makes every ECS and ELBv2 call about the cell's service fail with
// a 500 until the cell's deployments have ended.
func (c *matrixCell) outage() {
	st := faults.State{Throttles: []faults.Throttle{{Service: "ecs", Operation: "*", Count: 1 << 30, Match: c.svc, Error: faults.ErrorInternal}}}
	if c.row.lb {
		st.Throttles = append(st.Throttles, faults.Throttle{Service: "elasticloadbalancing", Operation: "*", Count: 1 << 30, Match: c.ruleID, Error: faults.ErrorInternal})
	}
	c.apply(st)
	c.endOutage = func() {
		for _, t := range st.Throttles {
			t.Count = 0
			c.m.r.Faults.Apply(faults.State{Throttles: []faults.Throttle{t}})
		}
	}
}

// pushV3 pushes v3 while v2 deploys.
func (c *matrixCell) pushV3() { c.push("v3") }

// pushOverKeptLock checks what a finalize or record that never ran leaves:
// the lock kept (applying) by the ended execution and no history entry of
// v2 (the seed's v1 is the newest); then it pushes v3, which must take the
// lock over.
func (c *matrixCell) pushOverKeptLock() {
	ctx := context.Background()
	lock := "released"
	if rec, _, err := c.m.st.Lock(ctx, c.row.key, c.svc); err == nil {
		lock = "kept (" + string(rec.Stage) + ")"
	} else if !errors.Is(err, store.ErrNotFound) {
		c.t.Fatalf("read the lock: %v", err)
	}
	hist := "none"
	if h, err := c.m.st.History(ctx, c.row.key, c.svc, 1); err == nil && len(h) > 0 {
		hist = c.version(h[0].Image) + " " + string(h[0].Outcome)
	}
	c.note = "lock " + lock + ", history " + hist + "; then v3 pushed"
	if lock != "kept (applying)" || hist != "v1 deployed" {
		c.problems = append(c.problems, fmt.Sprintf("after v2: lock %s, history %s; want the lock kept (applying), the seed's v1 entry the newest", lock, hist))
	}
	c.push("v3")
}

// awaitHeld waits, in wall time, until the local Lambda holds the phase
// col.held of v2's deployment; false if the deployment ended first.
func (c *matrixCell) awaitHeld() bool {
	for deadline := time.Now().Add(8 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c.m.r.Faults.Held(c.svc) > 0 {
			return true
		}
		if xs := c.executions(c.seed); len(xs) > 0 && xs[0].Describe().Status != asl.StatusRunning {
			return false
		}
	}
	return false
}

// releasePhase lets the held phase go on and do its work.
func (c *matrixCell) releasePhase() {
	if c.phaseReleased {
		return
	}
	c.phaseReleased = true
	if n := c.m.r.Faults.Release(c.svc); n != 1 {
		c.problems = append(c.problems, fmt.Sprintf("released %d held invocations, want 1", n))
	}
}

// pushV3InFlight pushes v3 while v2's phase is held, and lets the phase
// go on once v3's Prepare has decided (taken the lock, superseded v2's,
// or queued).
func (c *matrixCell) pushV3InFlight() {
	c.push("v3")
	for range 600 {
		if xs := c.executions(c.seed); len(xs) > 1 && (len(xs[1].Path()) > 1 || xs[1].Describe().Status != asl.StatusRunning) {
			// A second on, so that whatever v2 records comes after.
			c.sleep()
			c.releasePhase()
			return
		}
		c.sleep()
	}
	c.problems = append(c.problems, "v3's Prepare never ended")
}

// operatorRollbackInFlight runs slipway rollback while v2's phase is
// held: the operator finds no wait to halt and polls on (or answers at
// once when there is nothing to halt); the phase then goes on. The note
// says what the operator answered.
func (c *matrixCell) operatorRollbackInFlight() {
	type answer struct {
		got operator.Rollback
		err error
	}
	done := make(chan answer, 1)
	go func() {
		got, err := c.m.slowOp.Rollback(context.Background(), c.row.key, c.svc, "matrix", "fault matrix")
		done <- answer{got, err}
	}()
	var a answer
	select {
	case a = <-done:
		c.releasePhase()
	case <-time.After(2 * slowPoll):
		c.releasePhase()
		// The clock moves a second for each second of wall time while
		// the operator polls: slow enough that v2 cannot pass a wait
		// (a bake, a rollout) between two polls, fast enough for the
		// retries of a phase that failed once (a lost conditional
		// write) on a busy machine.
		for answered := false; !answered; {
			select {
			case a = <-done:
				answered = true
			case <-time.After(time.Second):
				c.sleep()
			}
		}
	}
	var said string
	switch {
	case errors.Is(a.err, operator.ErrNothingToRollBack):
		said = "nothing to roll back"
	case a.err != nil:
		said = "error: " + a.err.Error()
	case a.got.Halted:
		said = "halted"
	case a.got.Joined:
		said = "joined"
	case a.got.Execution != "":
		said = "redeployed " + c.version(a.got.Image)
	default:
		said = fmt.Sprintf("%+v", a.got)
	}
	c.note = "operator rollback " + said
	if said != c.want.operator {
		c.problems = append(c.problems, fmt.Sprintf("the operator's rollback: %s, want %s", said, c.want.operator))
		if a.got.Execution == "" {
			c.noThen = true // no second deployment to wait for
		}
	}
}

// operatorRollback runs `slipway rollback` on the cell's service.
func (c *matrixCell) operatorRollback() {
	got, err := c.m.op.Rollback(context.Background(), c.row.key, c.svc, "matrix", "fault matrix")
	if err != nil {
		c.problems = append(c.problems, "operator rollback: "+err.Error())
		return
	}
	if !got.Halted {
		c.problems = append(c.problems, fmt.Sprintf("operator rollback: got %+v, want the deployment halted", got))
	}
}

// outcome is what a cell observed.
type outcome struct {
	ends    []string         // "v2 Deployed", in start order
	running map[string]int32 // version → running tasks
	desired int32
	rule    string // "v1:0 v2:100", or "" without a load balancer
	history workflow.Outcome
	histImg string
	lock    string
	settled bool
	// ecsDeployment is the status of the newest ECS service deployment
	// (kind ecs).
	ecsDeployment string
}

// healthyGroups are the cell's target groups with a healthy target.
func (c *matrixCell) healthyGroups() []string {
	var out []string
	for _, g := range c.groups() {
		h, err := elb.NewFromConfig(c.m.r.AWS).DescribeTargetHealth(context.Background(), &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(g)})
		if err != nil {
			c.t.Fatalf("DescribeTargetHealth %s: %v", g, err)
		}
		if slices.ContainsFunc(h.TargetHealthDescriptions, func(d elbtypes.TargetHealthDescription) bool {
			return d.TargetHealth != nil && d.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy
		}) {
			out = append(out, g)
		}
	}
	return out
}

// serviceDeployment is the status of the cell's newest ECS service
// deployment.
func (c *matrixCell) serviceDeployment() string {
	ctx := context.Background()
	ec := ecs.NewFromConfig(c.m.r.AWS)
	list, err := ec.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String(c.row.key), Service: aws.String(c.svc)})
	if err != nil || len(list.ServiceDeployments) == 0 {
		c.t.Fatalf("ListServiceDeployments %s: %v %+v", c.svc, err, list)
	}
	return string(list.ServiceDeployments[0].Status)
}

// run runs the cell and returns the table's text for it.
func (c *matrixCell) run(seed map[string]bool) string {
	t := c.t
	if c.col.arm != nil {
		c.col.arm(c)
	}
	if c.col.at != "" {
		c.hold()
		defer c.release()
	}
	if c.col.held != "" {
		c.apply(faults.State{Invocations: []faults.Invocation{{Function: c.m.function, Fault: faults.InvokeHold, Count: 1, Hold: c.svc,
			Match: []string{`"phase":"` + string(c.col.held) + `"`, c.executionMark()}}}})
	}
	c.push("v2")
	if c.col.held != "" {
		if c.awaitHeld() {
			// The act comes a second after the push: a request of its
			// own time, as a person's or a build's would be.
			c.hold()
			c.sleep()
			c.col.act(c)
			c.releasePhase()
			c.release()
		} else {
			c.problems = append(c.problems, fmt.Sprintf("v2's deployment never ran %s", c.col.held))
		}
	}
	if c.col.at != "" {
		if c.stepUntil(seed) {
			c.col.act(c)
		} else {
			c.problems = append(c.problems, fmt.Sprintf("the deployment never waited in %s #%d", c.col.at, c.col.nth))
		}
		c.release()
	}
	want := 1
	if c.want.then != "" && !c.noThen {
		want = 2
	}
	if c.col.after != nil {
		c.await(seed, 1)
		c.col.after(c)
	}
	xs := c.await(seed, want)
	if !c.fired() {
		c.problems = append(c.problems, "the fault never fired")
	}
	o := c.observe(xs)
	c.check(o, len(xs))
	text := o.String()
	if c.note != "" {
		text = c.note + ": " + text
	}
	if len(c.problems) > 0 {
		t.Errorf("%s × %s: %s\n  observed: %s", c.row.title, c.col.title, strings.Join(c.problems, "; "), text)
		return "FAILS: " + strings.Join(c.problems, "; ") + " — " + text
	}
	return text
}

// await waits, in wall time, until the cell has n deployments and all have
// ended, then until its ECS services are steady.
func (c *matrixCell) await(seed map[string]bool, n int) []*asl.Execution {
	deadline := time.Now().Add(8 * time.Minute)
	for {
		xs := c.executions(seed)
		running := slices.ContainsFunc(xs, func(x *asl.Execution) bool { return x.Describe().Status == asl.StatusRunning })
		if len(xs) >= n && !running {
			break
		}
		if time.Now().After(deadline) {
			var paths []string
			for _, x := range xs {
				paths = append(paths, fmt.Sprintf("%s %v", x.Describe().Status, x.Path()))
			}
			c.t.Fatalf("%d deployments of %s after 8 minutes, want %d ended: %s; %s; %s", len(xs), c.svc, n,
				strings.Join(paths, "; "), c.note, strings.Join(c.problems, "; "))
		}
		// Hundreds of cells poll at once: not more often than this.
		time.Sleep(100 * time.Millisecond)
	}
	if c.endOutage != nil {
		c.endOutage()
	}
	// Tasks stop and drain after the deployment has ended; a service
	// left crash-looping never settles.
	c.settled = false
	for settle := time.Now().Add(30 * time.Second); time.Now().Before(settle); time.Sleep(50 * time.Millisecond) {
		if c.steady() {
			c.settled = true
			break
		}
	}
	return c.executions(seed)
}

// slots describes the cell's ECS services (the service, or its slots).
func (c *matrixCell) slots() []ecs.DescribeServicesOutput {
	ctx := context.Background()
	ec := ecs.NewFromConfig(c.m.r.AWS)
	names := []string{c.svc}
	if k := c.row.strategyKind(); k != "rolling" && k != "ecs" {
		names = []string{c.svc + "--blue", c.svc + "--green"}
	}
	out, err := ec.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(c.row.key), Services: names})
	if err != nil {
		c.t.Fatalf("DescribeServices %v: %v", names, err)
	}
	return []ecs.DescribeServicesOutput{*out}
}

// steady reports whether every ACTIVE service of the cell runs its desired
// count in one deployment.
func (c *matrixCell) steady() bool {
	for _, out := range c.slots() {
		for _, s := range out.Services {
			if aws.ToString(s.Status) != "ACTIVE" {
				continue
			}
			if len(s.Deployments) != 1 || s.RunningCount != s.DesiredCount || s.PendingCount != 0 {
				return false
			}
		}
	}
	return true
}

// observe reads what the cell ended with.
func (c *matrixCell) observe(xs []*asl.Execution) outcome {
	ctx := context.Background()
	o := outcome{running: map[string]int32{}, settled: c.settled}
	for _, x := range xs {
		path := x.Path()
		last := string(x.Describe().Status)
		if len(path) > 0 {
			last = path[len(path)-1]
		}
		end := c.versionOfExecution(x) + " " + last
		visits := c.want.visits
		if len(o.ends) == 1 {
			visits = c.want.thenVisits
		}
		var via []string
		for _, v := range visits {
			if slices.Contains(path, v) {
				via = append(via, v)
			} else {
				c.problems = append(c.problems, fmt.Sprintf("%s never entered %s (path %v)", end, v, path))
			}
		}
		if len(via) > 0 {
			end += " (via " + strings.Join(via, ", ") + ")"
		}
		if c.row.native {
			// ECS moves the traffic of kind ecs: Slipway's slot states
			// must not run, and a deployment that ECS completed passed
			// its PAUSE hooks.
			for _, st := range []string{workflow.StateShiftTraffic, workflow.StatePromote, workflow.StateCleanup} {
				if slices.Contains(path, st) {
					c.problems = append(c.problems, fmt.Sprintf("%s entered %s: ECS shifts the traffic of kind ecs (path %v)", end, st, path))
				}
			}
			if last == workflow.StateDeployed && !slices.Contains(path, workflow.StateContinueDeployment) {
				c.problems = append(c.problems, fmt.Sprintf("%s never continued a PAUSE hook (path %v)", end, path))
			}
		}
		o.ends = append(o.ends, end)
	}
	ec := ecs.NewFromConfig(c.m.r.AWS)
	groups := map[string]string{} // target group → version
	for _, out := range c.slots() {
		for _, s := range out.Services {
			if aws.ToString(s.Status) != "ACTIVE" {
				continue
			}
			td, err := ec.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: s.TaskDefinition})
			if err != nil {
				c.t.Fatalf("DescribeTaskDefinition: %v", err)
			}
			v := c.version(aws.ToString(td.TaskDefinition.ContainerDefinitions[0].Image))
			if c.settled {
				o.running[v] += s.RunningCount
			} else {
				o.running[v] += s.DesiredCount
			}
			if c.row.native {
				// One service: ECS registers the revision's tasks
				// in the group it shifts to.
				for _, g := range c.healthyGroups() {
					groups[g] = v
				}
			}
			for _, lb := range s.LoadBalancers {
				if !c.row.native {
					groups[aws.ToString(lb.TargetGroupArn)] = v
				}
			}
		}
	}
	if c.row.native {
		o.ecsDeployment = c.serviceDeployment()
	}
	if c.row.lb {
		rules, err := elb.NewFromConfig(c.m.r.AWS).DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{c.m.rules[c.svc]}})
		if err != nil {
			c.t.Fatalf("DescribeRules: %v", err)
		}
		var parts []string
		for _, a := range rules.Rules[0].Actions {
			if a.ForwardConfig == nil {
				continue
			}
			for _, tg := range a.ForwardConfig.TargetGroups {
				if w := aws.ToInt32(tg.Weight); w > 0 {
					v := groups[aws.ToString(tg.TargetGroupArn)]
					if v == "" {
						v = "idle slot"
					}
					parts = append(parts, fmt.Sprintf("%s %d%%", v, w))
				}
			}
		}
		slices.Sort(parts)
		o.rule = strings.Join(parts, ", ")
	}
	if h, err := c.m.st.History(ctx, c.row.key, c.svc, 1); err == nil && len(h) > 0 {
		o.history, o.histImg = h[0].Outcome, c.version(h[0].Image)
		if h[0].Image == "" {
			o.histImg = noImage
		}
	}
	lock, _, err := c.m.st.Lock(ctx, c.row.key, c.svc)
	switch {
	case errors.Is(err, store.ErrNotFound):
		o.lock = "released"
	case err != nil:
		c.t.Fatalf("read the lock: %v", err)
	default:
		o.lock = "kept (" + string(lock.Stage) + ")"
	}
	return o
}

// noImage stands for the image of a history entry that names none: a
// deployment that ended before its Prepare resolved the image (the Catch
// of Prepare keeps its input; internal/deploy's
// TestFlowFailureBeforeAnyChange asserts the same).
const noImage = "no image"

// version names an image by the tag pushed: "v1", "v2", "v3".
func (c *matrixCell) version(image string) string {
	for v, d := range c.digests {
		// By digest, or by tag (a request whose digest was never
		// resolved: its Prepare did not run).
		if d != "" && (strings.HasSuffix(image, "@"+d) || strings.HasSuffix(image, "/"+c.svc+":"+v)) {
			return v
		}
	}
	return "?"
}

// versionOfExecution names the image an execution deploys.
func (c *matrixCell) versionOfExecution(x *asl.Execution) string {
	for v, d := range c.digests {
		if d != "" && strings.Contains(x.Describe().Input, d) {
			return v
		}
	}
	return "?"
}

// check compares what the cell observed with what it must be.
func (c *matrixCell) check(o outcome, n int) {
	w := c.want
	bad := func(format string, args ...any) { c.problems = append(c.problems, fmt.Sprintf(format, args...)) }
	wantEnds := []string{"v2 " + w.end}
	if w.then != "" {
		img := w.thenImage
		if img == "" {
			img = "v3"
		}
		wantEnds = append(wantEnds, img+" "+w.then)
	}
	var ends []string
	for _, e := range o.ends {
		ends = append(ends, strings.SplitN(e, " (via", 2)[0])
	}
	if !slices.Equal(ends, wantEnds) {
		bad("got deployments %v, want %v", o.ends, wantEnds)
	}
	if w.serving != "" {
		for v, n := range o.running {
			if v != w.serving && v != w.leftover && n > 0 {
				bad("%s still runs %d task(s), want only %s", v, n, w.serving)
			}
		}
		if o.running[w.serving] == 0 {
			bad("%s runs no task", w.serving)
		}
		if w.leftover != "" && o.running[w.leftover] == 0 {
			bad("%s runs no task, want the old slot left running", w.leftover)
		}
		if c.row.lb && o.rule != w.serving+" 100%" {
			bad("rule sends %s, want %s 100%%", o.rule, w.serving)
		}
	}
	if w.lockKept != strings.HasPrefix(o.lock, "kept") {
		bad("lock %s, want kept %v", o.lock, w.lockKept)
	}
	if o.history != w.history {
		bad("history says %q, want %q", o.history, w.history)
	}
	last := wantEnds[len(wantEnds)-1][:2]
	if w.histImage != "" {
		last = w.histImage
	}
	if o.histImg != last {
		bad("the newest history entry is %s's, want %s's", o.histImg, last)
	}
	if w.serving != "" && !o.settled {
		bad("the service did not settle")
	}
	if c.row.native {
		want := map[string]string{workflow.StateDeployed: "SUCCESSFUL", workflow.StateRolledBack: "ROLLBACK_SUCCESSFUL"}[wantEnds[len(wantEnds)-1][3:]]
		if want != "" && o.ecsDeployment != want {
			bad("ECS's service deployment is %s, want %s", o.ecsDeployment, want)
		}
	}
}

// String is the table's text for an outcome.
func (o outcome) String() string {
	var run []string
	for _, v := range []string{"v1", "v2", "v3", "?"} {
		if n := o.running[v]; n > 0 {
			run = append(run, fmt.Sprintf("%s×%d", v, n))
		}
	}
	parts := []string{strings.Join(o.ends, ", then "), "runs " + strings.Join(run, "+")}
	switch {
	case !o.settled:
		parts[1] = "not steady, wants " + strings.Join(run, "+")
	case len(run) == 0:
		parts[1] = "runs nothing"
	}
	if o.rule != "" {
		parts = append(parts, "rule "+o.rule)
	}
	if o.ecsDeployment != "" {
		parts = append(parts, "ECS deployment "+o.ecsDeployment)
	}
	h := o.histImg + " " + string(o.history)
	if o.histImg == noImage {
		h = string(o.history) + ", naming no image"
	}
	if o.history == "" {
		h = "none"
	}
	parts = append(parts, "history "+h, "lock "+o.lock)
	return strings.Join(parts, " · ")
}

// strategyKind is the kind of the row's strategy.
func (row matrixRow) strategyKind() string {
	for _, k := range []string{"canary", "bluegreen", "ecs"} {
		if strings.Contains(row.strategy, "kind: "+k) {
			return k
		}
	}
	return "rolling"
}

// TestFaultMatrix runs the fault matrix and checks docs/faults.md.
func TestFaultMatrix(t *testing.T) {
	skipIfShort(t, "runs the fault matrix: a deployment per strategy and fault on one endpoint")
	began := time.Now()
	cols := matrixColumns()
	for i, a := range cols {
		for _, b := range cols[i+1:] {
			if strings.HasPrefix(a.key, b.key) || strings.HasPrefix(b.key, a.key) {
				t.Fatalf("column keys %s and %s: one is a prefix of the other, so faults matched by name would hit both", a.key, b.key)
			}
		}
	}
	if only := os.Getenv("SLIPWAY_MATRIX_ONLY"); only != "" {
		keep := strings.Split(only, ",")
		cols = slices.DeleteFunc(cols, func(c matrixColumn) bool { return !slices.Contains(keep, c.key) })
	}
	cells := map[string][]string{}
	text := map[[2]string]string{}
	for _, row := range matrixRows {
		for _, col := range cols {
			if col.na != nil {
				if why := col.na(row); why != "" {
					text[[2]string{row.key, col.key}] = why
					continue
				}
			}
			cells[row.key] = append(cells[row.key], col.key)
		}
	}
	services := 0
	for _, keys := range cells {
		services += len(keys)
	}
	// The cells run in worlds of at most maxWorldCells services, one
	// after the other: the local endpoint's work grows faster than its
	// services (471 in one world took 5 minutes to seed, 238 took 41 s,
	// 156 took 15 s). A CPU profile puts it in the local CloudWatch's
	// minute (the ALB metrics look up each healthy target's revision,
	// which sorts every task of the cluster) and in the spec-upload
	// trigger (each upload validates the whole spec set).
	var mu sync.Mutex
	for i, wcols := range splitWorlds(cols, cells) {
		wcells := map[string][]string{}
		for row, keys := range cells {
			for _, k := range keys {
				if slices.ContainsFunc(wcols, func(c matrixColumn) bool { return c.key == k }) {
					wcells[row] = append(wcells[row], k)
				}
			}
		}
		if len(wcells) == 0 {
			continue // every cell n/a
		}
		t.Run(fmt.Sprintf("world%d", i+1), func(t *testing.T) { runMatrixWorld(t, wcols, wcells, &mu, text) })
	}
	t.Logf("fault matrix: %d cells run, %d n/a, in %v", services, len(text)-services, time.Since(began).Round(time.Millisecond))
	for _, row := range matrixRows {
		for _, col := range cols {
			if _, ok := text[[2]string{row.key, col.key}]; !ok {
				t.Fatalf("the cell %s × %s never ran (its world failed): nothing written or checked", row.title, col.title)
			}
		}
	}
	if len(cols) != len(matrixColumns()) {
		return // a partial run (SLIPWAY_MATRIX_ONLY) writes and checks nothing
	}
	doc := renderFaults(cols, text)
	if os.Getenv(writeFaultsEnv) != "" {
		if err := os.WriteFile(faultsDoc, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(faultsDoc)
	if err != nil || string(got) != doc {
		t.Errorf("docs/faults.md is not what the matrix observed (%v): run %s=1 go test -run TestFaultMatrix ./internal/localcloud/endpoint/ and commit it", err, writeFaultsEnv)
	}
}

// maxWorldCells is about the most services one world of the matrix has.
const maxWorldCells = 160

// splitWorlds cuts the columns, in order, into as few worlds as
// maxWorldCells allows, of about the same number of cells (a world may
// pass the mark by less than a column).
func splitWorlds(cols []matrixColumn, cells map[string][]string) [][]matrixColumn {
	size := map[string]int{}
	total := 0
	for _, keys := range cells {
		for _, k := range keys {
			size[k]++
			total++
		}
	}
	target := max(1, (total+maxWorldCells-1)/maxWorldCells)
	target = (total + target - 1) / target
	var worlds [][]matrixColumn
	var cur []matrixColumn
	n := 0
	for _, col := range cols {
		cur, n = append(cur, col), n+size[col.key]
		if n >= target {
			worlds, cur, n = append(worlds, cur), nil, 0
		}
	}
	if len(cur) > 0 {
		worlds = append(worlds, cur)
	}
	return worlds
}

// runMatrixWorld runs the cells of cols on an endpoint of their own and
// records each cell's text in text, under mu.
func runMatrixWorld(t *testing.T, cols []matrixColumn, cells map[string][]string, mu *sync.Mutex, text map[[2]string]string) {
	began := time.Now()
	dir := t.TempDir()
	rules := writeMatrixWorld(t, dir, cells)
	clk := clock.NewVirtual(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	r := startWith(t, endpoint.Options{Specs: os.DirFS(dir), SettleTimeout: 10 * time.Minute, Config: endpoint.Config{Clock: clk}})
	services := 0
	for _, keys := range cells {
		services += len(keys)
	}
	t.Logf("endpoint and %d services seeded in %v", services, time.Since(began).Round(time.Millisecond))
	ctx := context.Background()
	op, err := operator.Connect(ctx, r.AWS, operator.Target{})
	if err != nil {
		t.Fatal(err)
	}
	op.SetPollPeriod(10 * time.Millisecond)
	slowOp, err := operator.Connect(ctx, r.AWS, operator.Target{})
	if err != nil {
		t.Fatal(err)
	}
	slowOp.SetPollPeriod(slowPoll)
	m := &matrix{r: r, clk: clk, op: op, slowOp: slowOp, st: stateStore(r), rules: rules, function: stepFunction(t, r)}
	seed := map[string]bool{}
	for _, x := range r.StepFunctions.Engine().Executions() {
		seed[x.Describe().ExecutionARN] = true
	}
	// Every cell runs at once: t.Parallel would run only GOMAXPROCS of
	// them at a time, and they spend their time waiting on one clock.
	var wg sync.WaitGroup
	for _, row := range matrixRows {
		for _, col := range cols {
			if !slices.Contains(cells[row.key], col.key) {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.Run(row.key+"/"+col.key, func(t *testing.T) {
					c := &matrixCell{t: t, m: m, row: row, col: col, svc: matrixService(row, col.key), digests: map[string]string{}, seed: seed, want: col.want}
					if col.wantRow != nil {
						c.want = col.wantRow(row)
					}
					if rule := rules[c.svc]; rule != "" {
						c.ruleID = rule[strings.LastIndex(rule, "/")+1:]
					}
					c.digests["v1"] = c.v1()
					out := c.run(seed)
					t.Log(out)
					mu.Lock()
					text[[2]string{row.key, col.key}] = out
					mu.Unlock()
				})
			}()
		}
	}
	wg.Wait()
	t.Logf("%d cells run in %v", services, time.Since(began).Round(time.Millisecond))
}

// v1 is the digest of the image the seed deployed.
func (c *matrixCell) v1() string {
	for _, out := range c.slots() {
		for _, s := range out.Services {
			if aws.ToString(s.Status) != "ACTIVE" || s.RunningCount == 0 {
				continue
			}
			td, err := ecs.NewFromConfig(c.m.r.AWS).DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: s.TaskDefinition})
			if err != nil {
				c.t.Fatal(err)
			}
			image := aws.ToString(td.TaskDefinition.ContainerDefinitions[0].Image)
			return image[strings.LastIndex(image, "@")+1:]
		}
	}
	c.t.Fatalf("%s runs nothing before the cell", c.svc)
	return ""
}

// stepFunction returns the name of the function the state machine's Task
// states invoke.
func stepFunction(t *testing.T, r *endpoint.Running) string {
	t.Helper()
	out, err := lambda.NewFromConfig(r.AWS).ListFunctions(context.Background(), &lambda.ListFunctionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range out.Functions {
		if name := aws.ToString(f.FunctionName); strings.HasSuffix(strings.ToLower(name), "step") {
			return name
		}
	}
	t.Fatal("no step function")
	return ""
}

// renderFaults writes the table of docs/faults.md: a section per strategy,
// a line per fault.
func renderFaults(cols []matrixColumn, text map[[2]string]string) string {
	var b strings.Builder
	tick := "`"
	fmt.Fprintf(&b, `# Fault matrix

Written by %[1]sTestFaultMatrix%[1]s (internal/localcloud/endpoint/faultmatrix_test.go), which
runs every cell below on the local endpoint, on a virtual clock, through the synthesized state
machine: one service per cell deploys v2 over v1 while the fault is injected. The cells run
in worlds (an endpoint each) of about %[3]d services at most, one after the other. Regenerate with
%[1]s%[2]s=1 go test -count=1 -run TestFaultMatrix ./internal/localcloud/endpoint/%[1]s;
%[1]smake test%[1]s fails when this file differs from what the matrix observes.

Each cell reads: how each deployment ended (its last state) · the image versions ECS runs and
how many tasks · where the listener rule sends traffic (strategies with a load balancer) ·
the newest history entry · the lock. A cell marked **FAILS** did not end as it must; the
reason comes first. "n/a" says why a cell does not apply to a strategy.

The ECS-native rows (strategy kind ecs) run one service whose traffic ECS itself shifts
between two target groups: a group is named by the version of the healthy targets ECS
registered in it, and the cell adds the status of ECS's newest service deployment
(SUCCESSFUL after Deployed, ROLLBACK_SUCCESSFUL after RolledBack, both asserted); their
paths must not enter Slipway's slot states, and a Deployed one must have continued ECS's
PAUSE hooks. ECS's own bakes (canaryBake, stepBake, bake) are not Slipway's Bake: the
columns "while ECS bakes" act in them, as Slipway waits in AwaitHook. The native rows found
no fault in the engine.

What the faults are, as the local endpoint injects them (package internal/localcloud/faults):
API faults fail the calls that name the cell's service (ECS), its listener rule (ELBv2) or its
keys (S3) six times, so the SDK's three attempts run out twice and the engine's own retry of
Transient errors is exercised. Lambda faults hit the step function's invocations of the
cell's deployment in a phase: TooManyRequests is a 429 the function never sees (Step Functions
names it Lambda.TooManyRequestsException), a timeout lets the phase do its work and loses the
answer (Sandbox.Timedout), a crash is Runtime.ExitError before it runs. Event faults drop,
delay or duplicate the EventBridge events that name the cell's service, or reorder them: the
first two ECS deployment events of the cell's services (a deployment's IN_PROGRESS and
COMPLETED) are held back and delivered newest first, a second apart. The 5xx alarm column
sets no alarm state: v2 answers half its requests with a 5xx (faults.Behaviour ErrorRate),
the local CloudWatch publishes the ALB's HTTPCode_Target_5XX_Count every minute, and the
service's 5xx alarm (both target groups, more than 5 a minute) breaches on its own.

"Lambda crash on all 7 attempts of the first P": the first Task of phase P crashes on its
first attempt and on its six retries (Runtime.ExitError, MaxAttempts 6), so its Catch in the
synthesized definition (infra/testdata/deploy.asl.json) decides, and the phase never did its
work. Prepare and Apply go to RecordFailure (Apply through a Rollback that has nothing to
restore): Failed, nothing changed, the lock released. watch (AwaitStable), check, shift,
promote and continue go to Rollback: RolledBack. Cleanup's Catch goes to Finalize: Deployed,
all traffic on v2, but the old slot of canary by weight and bluegreen still runs at full size
(asserted). Finalize's Catch ends Deployed and record's goes to FailureKind (RolledBack): both
leave no history entry for v2 (the seed's v1 entry stays the newest) and the lock kept, stage
applying, by an ended execution; the cell asserts both, then pushes v3, which must take the
lock over (holderGone) and deploy. Rollback's Catch ends RollbackFailed with the lock kept.

The in-flight columns act while a quick Task state is in flight, which stepping the virtual
clock cannot do: the local Lambda holds the first invocation of phase P for the cell's
deployment before the phase does its work (faults.InvokeHold), the cell acts a second later,
then lets the phase go on, which does its work after the act. "v3 pushed while P is in
flight" waits until v3's Prepare has decided. The engine's rules (internal/deploy/lock.go):
until Apply sets the lock's stage to applying, v2 has changed nothing and the newer request
wins: in prepare v3 takes the free lock and v2's Prepare yields (Superseded; its history entry,
written after v3 started, is the newest and names no image, as v2 never resolved it); in apply
v3 supersedes v2's lock and v2's Apply finds it taken (Superseded, its Rollback restoring
nothing). From check on v2 is applying: v3 queues (AwaitLock) and deploys once v2 has ended,
rolled back or not. "operator rollback while P is in flight" runs the operator's rollback,
which finds no wait to halt while P is in flight and polls on: it halts the deployment's next
wait (RolledBack), in prepare once v2 has taken the lock; where no wait follows (promote,
cleanup, finalize, and the check that ends a last bake) v2 ends Deployed and, the lock free,
the operator redeploys v1; in rollback and record it joins the rollback under way. The cell
names the operator's answer first.

What the matrix found: before commit "workflow: retry Runtime.ExitError like the Lambda
service's errors", one crash of the runtime was not retried: in finalize the deployment ended
Deployed with the lock kept and no history entry (the next deployment would wait for the lock
for ever), in record RolledBack with the same, and in cleanup (canary by weight, bluegreen)
Deployed with the old slot still running at full size. Before commit "rollback: wait for a
deployment that is starting, then halt it", an operator rollback while v2's Prepare was in
flight found the lock free and answered "no deployment in progress … nothing to roll back",
and v2 then deployed: the person's rollback was lost.

`, tick, writeFaultsEnv, maxWorldCells)
	for _, row := range matrixRows {
		fmt.Fprintf(&b, "## %s\n\n| fault | outcome |\n|---|---|\n", row.title)
		for _, col := range cols {
			fmt.Fprintf(&b, "| %s | %s |\n", col.title, strings.ReplaceAll(text[[2]string{row.key, col.key}], "|", "\\|"))
		}
		b.WriteString("\n")
	}
	return b.String()
}
