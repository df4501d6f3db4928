package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	tasks "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// Paths into the state document (workflow.State) that the definition reads or
// writes.
const (
	pathError          = "$.error"
	pathRollbackError  = "$.rollbackError"
	pathTimedOut       = "$.timedOut"
	pathSignal         = "$.signal"
	pathWaitTimeout    = "$.wait.timeoutSeconds"
	pathLockQueued     = "$.lock.queued"
	pathApprovalNeeded = "$.approval.required"
	pathSettled        = "$.wait.settled"
	pathRemaining      = "$.progress.remaining"
	pathWeight         = "$.progress.weight"
	pathOutcome        = "$.outcome"
	pathBookkeeping    = "$.bookkeepingError"
	pathErrorName      = "$.error.Error"
	pathWaitKind       = "$.wait.kind"
	pathNative         = "$.native"
	pathNativeGate     = "$.native.gate"
	pathPlanStrategy   = "$.plan.strategy"
)

// DeployMachine is the deploy state machine: one execution per deployment of
// one service to one environment.
type DeployMachine struct {
	constructs.Construct
	StateMachine sfn.StateMachine
	Logs         awslogs.LogGroup
}

// DeployMachineProps configures the deploy state machine.
type DeployMachineProps struct {
	// Name is the fixed state machine name (the functions build its ARN
	// from it).
	Name string
	// Step is functions/step, which every Task state invokes.
	Step             awslambda.IFunction
	LogRetentionDays int
	LogExecutionData bool
}

// NewDeployMachine creates the state machine, its log group and role.
func NewDeployMachine(scope constructs.Construct, id string, p DeployMachineProps) *DeployMachine {
	c := constructs.NewConstruct(scope, jsii.String(id))
	m := &DeployMachine{Construct: c}
	m.Logs = awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		// The /aws/vendedlogs/ prefix keeps the CloudWatch Logs resource
		// policy that Step Functions logging needs from growing per group.
		LogGroupName: jsii.String("/aws/vendedlogs/states/" + p.Name),
		Retention:    retention(p.LogRetentionDays),
		// The executions' logs outlive the stack, as the buckets do.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	m.StateMachine = sfn.NewStateMachine(c, jsii.String("StateMachine"), &sfn.StateMachineProps{
		StateMachineName: jsii.String(p.Name),
		Comment:          jsii.String("Slipway: deploys one service to one environment, rolling back on any failure."),
		StateMachineType: sfn.StateMachineType_STANDARD,
		DefinitionBody:   sfn.DefinitionBody_FromChainable(definition(c, p.Step)),
		Logs: &sfn.LogOptions{
			Destination:          m.Logs,
			Level:                sfn.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(p.LogExecutionData),
		},
		TracingEnabled: jsii.Bool(true),
	})
	return m
}

// errorName is the name ErrorEquals matches for a workflow error type.
func errorName(err error) string { return workflow.ErrorName(err) }

// The error lists the Catch clauses use.
func haltErrors() []string {
	return []string{
		errorName((*workflow.AlarmFired)(nil)),
		errorName((*workflow.DeploymentFailed)(nil)),
		errorName((*workflow.StabilizationTimeout)(nil)),
		errorName((*workflow.Halted)(nil)),
	}
}

func statesAll() []string     { return []string{*sfn.Errors_ALL()} }
func statesTimeout() []string { return []string{*sfn.Errors_TIMEOUT()} }

// retryTransient retries workflow.Transient with exponential backoff and full
// jitter, capped at a minute between attempts. Nothing else is retried: halt
// errors must roll back at once, invalid input will not get better.
func retryTransient(t sfn.TaskStateBase, attempts float64) {
	t.AddRetry(&sfn.RetryProps{
		Errors:         jsii.Strings(errorName((*workflow.Transient)(nil))),
		Interval:       awscdk.Duration_Seconds(jsii.Number(2)),
		BackoffRate:    jsii.Number(2),
		MaxAttempts:    jsii.Number(attempts),
		MaxDelay:       awscdk.Duration_Seconds(jsii.Number(60)),
		JitterStrategy: sfn.JitterType_FULL,
	})
}

// retryService retries the errors the Lambda service reports when it could
// not run functions/step (throttling, a service or SDK client fault, a
// sandbox that timed out): the function did not run or its sandbox is gone,
// and every phase is idempotent, so a retry is safe. Exponential backoff
// with full jitter spreads the retries of many executions throttled at
// once; six attempts wait up to about two minutes in all.
func retryService(t sfn.TaskStateBase) {
	t.AddRetry(&sfn.RetryProps{
		Errors:         jsii.Strings(workflow.ServiceErrorNames()...),
		Interval:       awscdk.Duration_Seconds(jsii.Number(1)),
		BackoffRate:    jsii.Number(2),
		MaxAttempts:    jsii.Number(6),
		MaxDelay:       awscdk.Duration_Seconds(jsii.Number(60)),
		JitterStrategy: sfn.JitterType_FULL,
	})
}

// catchBookkeeping routes a failure of a bookkeeping state (recording the
// outcome) that exhausted its retries to next, the terminal state (or the
// Choice leading to it) matching what happened to the service. It stores
// the failure at $.bookkeepingError, so $.error and $.rollbackError keep
// the failure being recorded, and the execution output says what was not
// recorded.
func catchBookkeeping(t sfn.TaskStateBase, next sfn.IChainable) {
	t.AddCatch(next, &sfn.CatchProps{Errors: jsii.Strings(statesAll()...), ResultPath: jsii.String(pathBookkeeping)})
}

// catch routes errors to next, keeping the state document and storing the
// error at $.error (workflow.Failure).
func catch(t sfn.TaskStateBase, next sfn.IChainable, errs []string) {
	t.AddCatch(next, &sfn.CatchProps{Errors: jsii.Strings(errs...), ResultPath: jsii.String(pathError)})
}

// catchRollback routes a failure of the rollback itself to next, storing it
// at $.rollbackError so that $.error keeps the failure that caused the
// rollback, and the record phase knows the rollback failed.
func catchRollback(t sfn.TaskStateBase, next sfn.IChainable) {
	t.AddCatch(next, &sfn.CatchProps{Errors: jsii.Strings(statesAll()...), ResultPath: jsii.String(pathRollbackError)})
}

// catchTimeout routes a wait's timeout to its re-check, storing it at
// $.timedOut: a timeout is the normal end of a bake and a routine reconcile
// otherwise, and must not overwrite $.error (the failure a rollback handles).
func catchTimeout(t sfn.TaskStateBase, next sfn.IChainable) {
	t.AddCatch(next, &sfn.CatchProps{Errors: jsii.Strings(statesTimeout()...), ResultPath: jsii.String(pathTimedOut)})
}

// phaseTask invokes functions/step for phase; the function returns the whole
// new state document.
// retries is the MaxAttempts of its Transient retrier.
func phaseTask(scope constructs.Construct, step awslambda.IFunction, name string, phase workflow.Phase, retries float64, comment string) tasks.LambdaInvoke {
	t := tasks.NewLambdaInvoke(scope, jsii.String(name), &tasks.LambdaInvokeProps{
		Comment:             jsii.String(comment),
		LambdaFunction:      step,
		PayloadResponseOnly: jsii.Bool(true),
		// retryService replaces CDK's default retrier, which misses
		// throttling and sandbox timeouts.
		RetryOnServiceExceptions: jsii.Bool(false),
		// workflow.Invocation.
		Payload: sfn.TaskInput_FromObject(&map[string]any{
			"phase":     string(phase),
			"state":     sfn.JsonPath_EntirePayload(),
			"execution": sfn.JsonPath_ExecutionId(),
		}),
		ResultPath: sfn.JsonPath_EntirePayload(),
	})
	retryTransient(t, retries)
	retryService(t)
	return t
}

// waitTask invokes functions/step with a task token and waits until
// something completes the token (functions/signal, an approval, the watch
// phase itself) or $.wait.timeoutSeconds pass. The output lands at $.signal
// (workflow.Signal); the state document is otherwise kept.
func waitTask(scope constructs.Construct, step awslambda.IFunction, name string, phase workflow.Phase, comment string) tasks.LambdaInvoke {
	t := tasks.NewLambdaInvoke(scope, jsii.String(name), &tasks.LambdaInvokeProps{
		Comment:            jsii.String(comment),
		LambdaFunction:     step,
		IntegrationPattern: sfn.IntegrationPattern_WAIT_FOR_TASK_TOKEN,
		// retryService replaces CDK's default retrier.
		RetryOnServiceExceptions: jsii.Bool(false),
		// workflow.Invocation.
		Payload: sfn.TaskInput_FromObject(&map[string]any{
			"phase":     string(phase),
			"state":     sfn.JsonPath_EntirePayload(),
			"taskToken": sfn.JsonPath_TaskToken(),
			"execution": sfn.JsonPath_ExecutionId(),
		}),
		ResultPath:  jsii.String(pathSignal),
		TaskTimeout: sfn.Timeout_At(jsii.String(pathWaitTimeout)),
	})
	retryTransient(t, 5)
	retryService(t)
	return t
}

// definition builds the deploy state machine. State names are the
// workflow.State* constants; phases are workflow.Phase*.
//
// Every wait is a .waitForTaskToken task whose timeout comes from the state
// document: the reconcile interval (or what is left of a bake or a
// deadline, if less). A timeout is caught into one re-check task, so a lost
// event costs at most one interval. A bake wakes every interval to re-read
// the alarms (CheckBake, then BakeDoneYet back to Bake until its deadline):
// a lost alarm event must not let a release through, at the price of three
// transitions per interval of bake.
//
// Every Task state retries the Lambda service's own errors
// (workflow.ServiceErrorNames) besides Transient; the bookkeeping states
// (Finalize, RecordFailure, RecordRollbackFailed) catch what exhausts its
// retries and still end in the terminal state matching the service's fate.
func definition(scope constructs.Construct, step awslambda.IFunction) sfn.IChainable {
	// Most phases retry Transient five times (about a minute with the
	// backoff); recording, finalizing and rolling back are worth more
	// patience.
	//
	// Apply waits longest: it is Transient while a service of the name it
	// creates is DRAINING (deleted a moment ago), and ECS frees the name
	// only once the service's tasks have stopped — on AWS after their
	// targets' deregistration delay (300 s by default) and the containers'
	// stop timeout. Five retries (about a minute) give up long before that;
	// 25 wait at most about 21 minutes (2+4+8+16+32 s, then 20 × 60 s) and
	// about 10 on average with the full jitter, well past a default drain.
	const (
		retries         = 5
		applyRetries    = 25
		patientRetries  = 10
		rollbackRetries = 8
	)
	task := func(name string, phase workflow.Phase, comment string) tasks.LambdaInvoke {
		return phaseTask(scope, step, name, phase, retries, comment)
	}
	patientTask := func(name string, phase workflow.Phase, retries float64, comment string) tasks.LambdaInvoke {
		return phaseTask(scope, step, name, phase, retries, comment)
	}
	wait := func(name string, phase workflow.Phase, comment string) tasks.LambdaInvoke {
		return waitTask(scope, step, name, phase, comment)
	}

	// Terminal states.
	deployed := sfn.NewSucceed(scope, jsii.String(workflow.StateDeployed), &sfn.SucceedProps{
		Comment: jsii.String("The new revision is live and the lock is released."),
	})
	superseded := sfn.NewSucceed(scope, jsii.String(workflow.StateSuperseded), &sfn.SucceedProps{
		Comment: jsii.String("A newer deployment replaced this one before anything changed; not a failure."),
	})
	rejected := sfn.NewFail(scope, jsii.String(workflow.StateRejected), &sfn.FailProps{
		Comment: jsii.String("Refused before anything changed."),
		Error:   jsii.String(workflow.ErrDeploymentRejected),
		Cause:   jsii.String("The deployment was refused before anything changed: the spec or request is invalid, or the approval was rejected or expired. Nothing was changed; the lock is released."),
	})
	rolledBack := sfn.NewFail(scope, jsii.String(workflow.StateRolledBack), &sfn.FailProps{
		Comment: jsii.String("The deployment failed and the previous state was restored."),
		Error:   jsii.String(workflow.ErrDeploymentRolledBack),
		Cause:   jsii.String("The deployment failed and the service was restored to its previous state; the error that caused it is in the execution history and the deployment's history entry. The lock is released."),
	})
	failed := sfn.NewFail(scope, jsii.String(workflow.StateFailed), &sfn.FailProps{
		Comment: jsii.String("Failed before anything changed; nothing to roll back."),
		Error:   jsii.String(workflow.ErrDeploymentNotApplied),
		Cause:   jsii.String("The deployment failed before it changed anything (an AWS API unreachable after the retries, a missing cluster or rule): there was nothing to roll back. The error is in the execution history and the deployment's history entry. The lock is released."),
	})
	rollbackFailed := sfn.NewFail(scope, jsii.String(workflow.StateRollbackFailed), &sfn.FailProps{
		Comment: jsii.String("The rollback itself failed."),
		Error:   jsii.String(workflow.ErrRollbackFailed),
		Cause:   jsii.String("The rollback did not complete: a person must check the service (task definition, desired counts, listener weights, scaling limits). The deployment lock is kept, so nothing else deploys this service to this environment until it is released."),
	})

	// Recording the outcome must not be lost to throttling: retry longer.
	recordFailure := patientTask(workflow.StateRecordFailure, workflow.PhaseRecord, patientRetries,
		"Records the failed, rejected or superseded deployment in history, announces it and releases the lock.")
	recordRollbackFailed := patientTask(workflow.StateRecordRollbackFailed, workflow.PhaseRecord, patientRetries,
		"Records that the rollback failed and announces it; keeps the lock so that a person looks before anything else deploys.")
	recordRollbackFailed.Next(rollbackFailed)
	// Recording failed after its retries: the rollback failed all the same,
	// and the lock is kept either way, so RollbackFailed is still the truth.
	catchBookkeeping(recordRollbackFailed, rollbackFailed)

	failureKind := sfn.NewChoice(scope, jsii.String(workflow.StateFailureKind), &sfn.ChoiceProps{
		Comment: jsii.String("Ends a failure in the terminal state matching its outcome. RecordFailure sets $.outcome; when recording itself failed ($.bookkeepingError), $.outcome is unset and the same classification is made from $.error (as the record phase does), except that a failure before any change, which the record phase tells from the lock, ends RolledBack."),
	})
	errorIs := func(names ...string) sfn.Condition {
		var or []sfn.Condition
		for _, n := range names {
			or = append(or, sfn.Condition_StringEquals(jsii.String(pathErrorName), jsii.String(n)))
		}
		c := or[0]
		if len(or) > 1 {
			c = sfn.Condition_Or(or...)
		}
		return sfn.Condition_And(sfn.Condition_IsPresent(jsii.String(pathErrorName)), c)
	}
	failureKind.
		// A native deployment's rejection at its hook was rolled back:
		// the record says so before $.error (ApprovalRejected) is read.
		When(sfn.Condition_StringEquals(jsii.String(pathOutcome), jsii.String(string(workflow.OutcomeRolledBack))), rolledBack, nil).
		When(sfn.Condition_StringEquals(jsii.String(pathOutcome), jsii.String(string(workflow.OutcomeSuperseded))), superseded, nil).
		When(sfn.Condition_StringEquals(jsii.String(pathOutcome), jsii.String(string(workflow.OutcomeRejected))), rejected, nil).
		When(sfn.Condition_StringEquals(jsii.String(pathOutcome), jsii.String(string(workflow.OutcomeFailed))), failed, nil).
		When(errorIs(errorName((*workflow.Superseded)(nil))), superseded, nil).
		When(errorIs(errorName((*workflow.InvalidInput)(nil)), errorName((*workflow.ApprovalRejected)(nil))), rejected, nil).
		When(sfn.Condition_And(errorIs(*sfn.Errors_TIMEOUT()),
			sfn.Condition_IsPresent(jsii.String(pathWaitKind)),
			sfn.Condition_StringEquals(jsii.String(pathWaitKind), jsii.String(string(workflow.WaitApproval)))), rejected, nil).
		Otherwise(rolledBack)
	recordFailure.Next(failureKind)
	// Recording failed after its retries: the deployment still failed (or
	// was refused or superseded) and nothing more will change the service,
	// so the execution ends in the matching terminal state rather than with
	// a raw Lambda error. The lock is not released, but Prepare takes over a
	// lock whose execution has ended.
	catchBookkeeping(recordFailure, failureKind)

	// Rollback and its wait.
	rollback := patientTask(workflow.StateRollback, workflow.PhaseRollback, rollbackRetries,
		"Restores the snapshot Prepare took: task definition, desired counts, weights, primary slot, scaling limits. Idempotent, so retries are safe.")
	catchRollback(rollback, recordRollbackFailed)

	rollbackStableYet := sfn.NewChoice(scope, jsii.String(workflow.StateRollbackStableYet), &sfn.ChoiceProps{
		Comment: jsii.String("Records the failure once the restored service is stable; waits otherwise."),
	})
	awaitRollbackStable := wait(workflow.StateAwaitRollbackStable, workflow.PhaseWatch,
		"Waits for the restored service to become stable (ECS deployment event), timing out after the reconcile interval.")
	checkRollbackStable := task(workflow.StateCheckRollbackStable, workflow.PhaseCheck,
		"Re-checks the restored service after a wait timed out, in case its event was lost (and after a native deployment's wait was woken: ECS's event does not say whether its rollback failed); fails once the deadline has passed.")
	rollbackWoken := sfn.NewChoice(scope, jsii.String(workflow.StateRollbackWoken), &sfn.ChoiceProps{
		Comment: jsii.String("A native deployment (kind ecs, $.native) is woken by ECS's end-of-deployment event, which does not say whether ECS's rollback succeeded or ended ROLLBACK_FAILED: CheckRollbackStable reads the service deployment. The others record the failure."),
	})
	rollback.Next(rollbackStableYet)
	rollbackStableYet.
		When(sfn.Condition_BooleanEquals(jsii.String(pathSettled), jsii.Bool(true)), recordFailure, nil).
		Otherwise(awaitRollbackStable)
	awaitRollbackStable.Next(rollbackWoken)
	rollbackWoken.
		When(sfn.Condition_IsPresent(jsii.String(pathNative)), checkRollbackStable, nil).
		Otherwise(recordFailure)
	catchTimeout(awaitRollbackStable, checkRollbackStable)
	catchRollback(awaitRollbackStable, recordRollbackFailed)
	checkRollbackStable.Next(rollbackStableYet)
	catchRollback(checkRollbackStable, recordRollbackFailed)

	// toRollback sends every failure of a forward step to Rollback. The halt
	// errors are listed on their own to document that they are expected
	// here; States.ALL catches the rest (a Transient that exhausted its
	// retries, a Lambda error).
	toRollback := func(t sfn.TaskStateBase) {
		catch(t, rollback, haltErrors())
		catch(t, rollback, statesAll())
	}

	// Forward path, from the end.
	// The deployment is live: rolling back now would be wrong, so Finalize
	// retries Transient for longer, and a failure that exhausts its retries
	// still ends in Deployed, which is what happened to the service.
	finalize := patientTask(workflow.StateFinalize, workflow.PhaseFinalize, patientRetries,
		"Records success in history, announces it, releases the lock and starts the next environment of the promotion order. If that fails after its retries the service is still deployed: the Catch ends in Deployed with the failure at $.bookkeepingError (the next deployment takes over the lock of this ended execution; a promotion not started must be started by hand).")
	finalize.Next(deployed)
	catchBookkeeping(finalize, deployed)

	cleanup := task(workflow.StateCleanup, workflow.PhaseCleanup,
		"Scales the old slot to zero after the termination wait and deregisters task definition revisions beyond the ones kept.")
	cleanup.Next(finalize)
	// Cleanup failing leaves extra capacity or revisions behind, not a broken
	// service: finalize anyway and record the error as a warning.
	catch(cleanup, finalize, statesAll())

	promote := task(workflow.StatePromote, workflow.PhasePromote,
		"Makes the new revision the primary one (slot, full traffic, Cloud Map registration, scaling resumed).")
	toRollback(promote)

	moreSteps := sfn.NewChoice(scope, jsii.String(workflow.StateMoreSteps), &sfn.ChoiceProps{
		Comment: jsii.String("Shifts the next traffic step while steps remain; promotes otherwise; cleans up once the promoted slot's Cloud Map registration (PromotedYet) is complete. A native deployment (kind ecs, $.native) has no step of Slipway's: it goes to CheckHook."),
	})
	shift := task(workflow.StateShiftTraffic, workflow.PhaseShift,
		"Moves traffic to the weight (or task count) of the next step.")
	bake := wait(workflow.StateBake, workflow.PhaseWatch,
		"Watches alarms during the bake of this step: an alarm fails the wait at once; the wait times out after the reconcile interval (or what is left of the bake), and CheckBake re-reads the alarms.")
	checkBake := task(workflow.StateCheckBake, workflow.PhaseCheck,
		"Re-reads the alarms each time Bake wakes (every reconcile interval), in case an alarm event was lost; at the end of the bake also checks service health.")
	bakeDoneYet := sfn.NewChoice(scope, jsii.String(workflow.StateBakeDoneYet), &sfn.ChoiceProps{
		Comment: jsii.String("Bakes on until the bake's deadline; then continues a native deployment at its hook, shifts the next traffic step while steps remain, promotes otherwise."),
	})

	// The native branch (kind ecs): ECS moves the traffic and pauses at
	// its PAUSE hooks; Slipway's gate at each is a check, or a bake with
	// the alarms watched event-driven, then ContinueDeployment.
	nativePresent := sfn.Condition_IsPresent(jsii.String(pathNative))
	gateIs := func(g string) sfn.Condition {
		return sfn.Condition_StringEquals(jsii.String(pathNativeGate), jsii.String(g))
	}
	checkHook := task(workflow.StateCheckHook, workflow.PhaseCheck,
		"Reads the ECS service deployment when a wait for it ends (its hook or deployment event, or the reconcile timeout): which PAUSE hook awaits action, or whether ECS completed or rolled back (an error, so Rollback records it); sets $.native.gate.")
	hookReady := sfn.NewChoice(scope, jsii.String(workflow.StateHookReady), &sfn.ChoiceProps{
		Comment: jsii.String("Routes a native deployment on $.native.gate: bake or continue at an awaiting hook, finalize once ECS completed, wait for the next hook otherwise."),
	})
	awaitHook := wait(workflow.StateAwaitHook, workflow.PhaseWatch,
		"Waits for the next PAUSE hook of the ECS service deployment to await action, or for the deployment to end (ECS events through functions/signal), watching alarms; times out after the reconcile interval.")
	continueDeployment := task(workflow.StateContinueDeployment, workflow.PhaseContinue,
		"Resolves the awaiting PAUSE hook with ContinueServiceDeployment CONTINUE once its gate passed (alarms read OK at the last moment).")
	checkHook.Next(hookReady)
	toRollback(checkHook)
	awaitHook.Next(checkHook)
	catchTimeout(awaitHook, checkHook)
	toRollback(awaitHook)
	continueDeployment.Next(awaitHook)
	toRollback(continueDeployment)
	// The environment's approval of a native deployment comes at its
	// POST_TEST_TRAFFIC_SHIFT hook: the new revision runs and serves test
	// traffic, production has none of it. A rejection, or nobody in time,
	// rolls back.
	awaitHookApproval := wait(workflow.StateAwaitHookApproval, workflow.PhaseApprove,
		"Announces the pending approval at the native deployment's POST_TEST_TRAFFIC_SHIFT hook and waits for slipway approve or reject, up to the approval timeout; a rejection or the timeout rolls back.")
	awaitHookApproval.Next(continueDeployment)
	catch(awaitHookApproval, rollback, []string{errorName((*workflow.ApprovalRejected)(nil)), *sfn.Errors_TIMEOUT()})
	catch(awaitHookApproval, rollback, statesAll())
	// A promoted slot's registration (PromotedYet) waits in AwaitStable,
	// which comes back here: with every step shifted and all traffic on
	// the new revision, Promote has run and Cleanup is next.
	moreSteps.
		When(nativePresent, checkHook, nil).
		When(sfn.Condition_NumberGreaterThan(jsii.String(pathRemaining), jsii.Number(0)), shift, nil).
		When(sfn.Condition_NumberGreaterThan(jsii.String(pathWeight), jsii.Number(99)), cleanup, nil).
		Otherwise(promote)
	shift.Next(bake)
	toRollback(shift)
	bake.Next(checkBake)
	catchTimeout(bake, checkBake)
	toRollback(bake)
	checkBake.Next(bakeDoneYet)
	toRollback(checkBake)
	bakeDoneYet.
		When(sfn.Condition_BooleanEquals(jsii.String(pathSettled), jsii.Bool(false)), bake, nil).
		When(nativePresent, continueDeployment, nil).
		When(sfn.Condition_NumberGreaterThan(jsii.String(pathRemaining), jsii.Number(0)), shift, nil).
		Otherwise(promote)

	awaitStable := wait(workflow.StateAwaitStable, workflow.PhaseWatch,
		"Waits for the ECS deployment to complete (ECS deployment event) while watching alarms, timing out after the reconcile interval.")
	// Promote settles at once, unless it gave the promoted slot the spec's
	// Cloud Map registries, which ECS applies by a deployment of the slot:
	// that is waited for as Apply's is, so Cleanup scales the old slot in
	// only once the new one is registered; MoreSteps then goes on to
	// Cleanup.
	promotedYet := sfn.NewChoice(scope, jsii.String(workflow.StatePromotedYet), &sfn.ChoiceProps{
		Comment: jsii.String("Cleans up once the promoted slot is registered in Cloud Map; waits for its ECS deployment otherwise."),
	})
	promote.Next(promotedYet)
	promotedYet.
		When(sfn.Condition_BooleanEquals(jsii.String(pathSettled), jsii.Bool(true)), cleanup, nil).
		Otherwise(awaitStable)
	checkStable := task(workflow.StateCheckStable, workflow.PhaseCheck,
		"Re-checks the ECS deployment after a wait timed out, in case its event was lost; fails once the stabilisation deadline has passed.")
	stableYet := sfn.NewChoice(scope, jsii.String(workflow.StateStableYet), &sfn.ChoiceProps{
		Comment: jsii.String("Moves on once the ECS deployment is stable; waits again otherwise. A native deployment goes to HookReady, CheckStable having set its gate."),
	})
	awaitStable.Next(moreSteps)
	catchTimeout(awaitStable, checkStable)
	toRollback(awaitStable)
	checkStable.Next(stableYet)
	toRollback(checkStable)
	hookReady.
		When(gateIs(workflow.GateApprove), awaitHookApproval, nil).
		When(gateIs(workflow.GateBake), bake, nil).
		When(gateIs(workflow.GateContinue), continueDeployment, nil).
		When(gateIs(workflow.GateDone), finalize, nil).
		Otherwise(awaitHook)
	stableYet.
		When(nativePresent, hookReady, nil).
		When(sfn.Condition_BooleanEquals(jsii.String(pathSettled), jsii.Bool(true)), moreSteps, nil).
		Otherwise(awaitStable)

	apply := patientTask(workflow.StateApply, workflow.PhaseApply, applyRetries,
		"Registers the task definition and creates or updates the service (new slot for canary and blue/green), with auto scaling and service discovery.")
	apply.Next(awaitStable)
	toRollback(apply)

	awaitApproval := wait(workflow.StateAwaitApproval, workflow.PhaseApprove,
		"Announces the pending approval and waits for `slipway approve` or `slipway reject`, up to the approval timeout.")
	awaitApproval.Next(apply)
	catch(awaitApproval, recordFailure, []string{
		errorName((*workflow.ApprovalRejected)(nil)),
		errorName((*workflow.Superseded)(nil)),
		*sfn.Errors_TIMEOUT(),
	})
	catch(awaitApproval, recordFailure, statesAll())

	prepare := task(workflow.StatePrepare, workflow.PhasePrepare,
		"Loads and renders the specs, resolves the image digest, snapshots the live state for rollback, stores the plan and takes the lock.")
	awaitLock := wait(workflow.StateAwaitLock, workflow.PhaseWatch,
		"Waits for the deployment holding the lock to finish; a newer deployment may supersede this one meanwhile.")
	afterPrepare := sfn.NewChoice(scope, jsii.String(workflow.StateAfterPrepare), &sfn.ChoiceProps{
		Comment: jsii.String("Waits for the lock or an approval when Prepare says so; applies otherwise."),
	})
	prepare.Next(afterPrepare)
	// Nothing has changed yet: invalid input and supersession are recorded
	// and end the execution without a rollback.
	catch(prepare, recordFailure, []string{
		errorName((*workflow.InvalidInput)(nil)),
		errorName((*workflow.Superseded)(nil)),
	})
	catch(prepare, recordFailure, statesAll())
	afterPrepare.
		When(sfn.Condition_BooleanEquals(jsii.String(pathLockQueued), jsii.Bool(true)), awaitLock, nil).
		// A native deployment (kind ecs) is approved at its hook, once
		// its new revision serves test traffic.
		When(sfn.Condition_And(sfn.Condition_IsPresent(jsii.String(pathPlanStrategy)),
			sfn.Condition_StringEquals(jsii.String(pathPlanStrategy), jsii.String("ecs"))), apply, nil).
		When(sfn.Condition_BooleanEquals(jsii.String(pathApprovalNeeded), jsii.Bool(true)), awaitApproval, nil).
		Otherwise(apply)
	// The lock may have been handed over or not: Prepare checks again either
	// way (it is idempotent).
	awaitLock.Next(prepare)
	catchTimeout(awaitLock, prepare)
	catch(awaitLock, recordFailure, []string{errorName((*workflow.Superseded)(nil))})
	catch(awaitLock, recordFailure, statesAll())

	return prepare
}
