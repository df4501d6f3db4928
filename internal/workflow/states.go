package workflow

// State names of the deploy state machine. The CDK definition (infra/) names its
// states with these constants and the flow tests assert paths with them, so a
// rename happens in one place.
//
// The happy path of Slipway's own strategies is
//
//	Prepare → AfterPrepare → Apply → AwaitStable → MoreSteps →
//	  [ShiftTraffic → Bake → CheckBake → BakeDoneYet (→ Bake → CheckBake → BakeDoneYet)*]* →
//	  Promote → Cleanup → Finalize → Deployed
//
// A native deployment (kind ecs: ECS shifts the traffic, PAUSE hooks let
// Slipway gate each stage) goes
//
//	Prepare → AfterPrepare → Apply → AwaitStable → MoreSteps →
//	  [CheckHook → HookReady → (AwaitHookApproval | (Bake → CheckBake → BakeDoneYet)*) →
//	   ContinueDeployment → AwaitHook]* → CheckHook → HookReady → Finalize → Deployed
//
// and any failure (an alarm, ECS's own rollback, a timeout, a rejected
// approval: asked at the POST_TEST_TRAFFIC_SHIFT hook) goes to Rollback,
// which rolls the service deployment back, as for the others.
//
// Waits are .waitForTaskToken tasks (AwaitLock, AwaitApproval, AwaitStable,
// Bake, AwaitRollbackStable) whose timeout is read from the state document
// ($.wait.timeoutSeconds); a timeout is caught and leads to one re-check task.
// A bake longer than the reconcile interval wakes every interval: CheckBake
// re-reads the alarms and BakeDoneYet sends it back to Bake until its
// deadline, so a lost alarm event costs at most one interval.
const (
	// StatePrepare loads specs, renders, snapshots live state and takes the lock.
	StatePrepare = "Prepare"
	// StateAfterPrepare routes to AwaitLock, AwaitApproval or Apply.
	StateAfterPrepare = "AfterPrepare"
	// StateAwaitLock waits for the running deployment of the same service and
	// environment to hand over its lock.
	StateAwaitLock = "AwaitLock"
	// StateAwaitApproval waits for a person to approve or reject.
	StateAwaitApproval = "AwaitApproval"
	// StateApply registers the task definition and creates or updates the service.
	StateApply = "Apply"
	// StateAwaitStable waits for the ECS deployment to complete.
	StateAwaitStable = "AwaitStable"
	// StateCheckStable re-checks the ECS deployment when AwaitStable times out.
	StateCheckStable = "CheckStable"
	// StateStableYet routes back to AwaitStable while the deployment is still
	// in progress and its deadline has not passed.
	StateStableYet = "StableYet"
	// StateMoreSteps routes to ShiftTraffic while traffic steps remain, to
	// Promote after the last, and to Cleanup after a promoted slot's
	// registration in Cloud Map (all steps shifted, weight 100).
	StateMoreSteps = "MoreSteps"
	// StateShiftTraffic moves traffic to the weight of the next step.
	StateShiftTraffic = "ShiftTraffic"
	// StateBake watches alarms for the bake time of the current step.
	StateBake = "Bake"
	// StateCheckBake re-reads the alarms when Bake wakes (every reconcile
	// interval) and also checks service health once the bake time is over.
	StateCheckBake = "CheckBake"
	// StateBakeDoneYet routes back to Bake while the bake's deadline has not
	// passed, then on to ShiftTraffic or Promote as MoreSteps would.
	StateBakeDoneYet = "BakeDoneYet"
	// StatePromote makes the new revision the primary one.
	StatePromote = "Promote"
	// StatePromotedYet routes to Cleanup once Promote has settled, and to
	// AwaitStable while the promoted slot's ECS deployment that registers
	// it in Cloud Map is in progress (then MoreSteps goes on to Cleanup).
	StatePromotedYet = "PromotedYet"
	// StateCleanup scales the old slot to zero and prunes old revisions.
	StateCleanup = "Cleanup"
	// StateFinalize records success, releases the lock and starts promotion.
	StateFinalize = "Finalize"
	// StateDeployed is the terminal state of a successful deployment.
	StateDeployed = "Deployed"

	// StateCheckHook reads the ECS service deployment of a native
	// strategy (kind ecs) when AwaitHook (or the AwaitStable after Apply)
	// ends: which PAUSE hook awaits action, or whether ECS finished or
	// rolled back, and decides the gate ($.native.gate).
	StateCheckHook = "CheckHook"
	// StateHookReady routes a native deployment on $.native.gate: wait for
	// the next hook, bake, continue, or finalize.
	StateHookReady = "HookReady"
	// StateAwaitHook waits for the next PAUSE hook of the ECS service
	// deployment to await action, or for the deployment to end (ECS hook
	// and deployment events), timing out after the reconcile interval.
	StateAwaitHook = "AwaitHook"
	// StateAwaitHookApproval waits, at a native deployment's
	// POST_TEST_TRAFFIC_SHIFT hook (the new revision up, test traffic on
	// it, no production traffic yet), for a person to approve or reject
	// when the environment asks for approval; a rejection rolls back.
	StateAwaitHookApproval = "AwaitHookApproval"
	// StateContinueDeployment resolves the awaiting PAUSE hook with
	// ContinueServiceDeployment CONTINUE once its gate passed.
	StateContinueDeployment = "ContinueDeployment"

	// StateRollback restores the snapshot taken by Prepare.
	StateRollback = "Rollback"
	// StateAwaitRollbackStable waits for the restored service to be stable.
	StateAwaitRollbackStable = "AwaitRollbackStable"
	// StateCheckRollbackStable re-checks the restored service on timeout.
	StateCheckRollbackStable = "CheckRollbackStable"
	// StateRollbackStableYet routes back to AwaitRollbackStable while the
	// restore is still in progress.
	StateRollbackStableYet = "RollbackStableYet"
	// StateRollbackWoken routes a woken AwaitRollbackStable: a native
	// deployment's wait is woken by ECS's end-of-deployment event, which
	// does not say how the rollback ended, so CheckRollbackStable reads the
	// service deployment; the others record the failure.
	StateRollbackWoken = "RollbackWoken"
	// StateRecordFailure records a failed (rolled back), rejected or
	// superseded deployment and releases the lock.
	StateRecordFailure = "RecordFailure"
	// StateFailureKind routes a recorded failure to its terminal state.
	StateFailureKind = "FailureKind"
	// StateRolledBack is the terminal state after a successful rollback.
	StateRolledBack = "RolledBack"
	// StateRejected is the terminal state of a deployment refused before
	// anything changed: invalid spec, approval rejected or expired.
	StateRejected = "Rejected"
	// StateFailed is the terminal state of a deployment that failed before
	// it changed anything, for a reason other than its input (an AWS API
	// unreachable after the retries, a missing cluster): nothing was rolled
	// back, because nothing had been applied.
	StateFailed = "Failed"
	// StateSuperseded is the terminal state of a deployment replaced by a newer
	// one before it started applying. Nothing changed, so it is not a failure.
	StateSuperseded = "Superseded"
	// StateRecordRollbackFailed records a rollback that failed. It keeps the
	// lock, so nothing else deploys until a person has looked.
	StateRecordRollbackFailed = "RecordRollbackFailed"
	// StateRollbackFailed is the terminal state after a failed rollback.
	StateRollbackFailed = "RollbackFailed"
)

// Phase names the work a Task state asks functions/step to do; it travels in
// the Lambda payload as Invocation.Phase.
type Phase string

// The phases of functions/step.
const (
	PhasePrepare  Phase = "prepare"
	PhaseApprove  Phase = "approve"
	PhaseApply    Phase = "apply"
	PhaseWatch    Phase = "watch"
	PhaseCheck    Phase = "check"
	PhaseShift    Phase = "shift"
	PhasePromote  Phase = "promote"
	PhaseCleanup  Phase = "cleanup"
	PhaseRollback Phase = "rollback"
	PhaseFinalize Phase = "finalize"
	PhaseRecord   Phase = "record"
	// PhaseContinue resolves a native deployment's awaiting PAUSE hook
	// with CONTINUE.
	PhaseContinue Phase = "continue"
)

// Phases lists every phase, in the order a deployment meets them.
func Phases() []Phase {
	return []Phase{PhasePrepare, PhaseApprove, PhaseApply, PhaseWatch, PhaseCheck, PhaseShift,
		PhasePromote, PhaseCleanup, PhaseContinue, PhaseRollback, PhaseFinalize, PhaseRecord}
}

// Valid reports whether p is one of Phases.
func (p Phase) Valid() bool {
	for _, q := range Phases() {
		if p == q {
			return true
		}
	}
	return false
}

// WaitKind says what a waiting task waits for.
type WaitKind string

// The kinds of wait.
const (
	WaitLock     WaitKind = "lock"     // the lock holder hands over
	WaitApproval WaitKind = "approval" // a person approves or rejects
	WaitStable   WaitKind = "stable"   // the ECS deployment completes
	WaitBake     WaitKind = "bake"     // the bake time passes with no alarm
	// WaitHook waits for an ECS service deployment (kind ecs) to reach a
	// PAUSE hook awaiting action, or to end.
	WaitHook WaitKind = "hook"
)
