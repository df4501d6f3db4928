// Package workflow is the contract between the deploy state machine (defined in
// infra/, run by Step Functions or internal/asl) and the code its Task states
// call: the names of states and phases, the state document that travels from
// state to state, and the error types that Retry and Catch clauses match.
package workflow

import (
	"encoding/json"
	"time"
)

// State is the document that travels through one execution of the deploy state
// machine. Every phase takes it and returns it; Choice states read the fields
// documented as routing fields, which are therefore never omitted.
//
// A manual execution input is a State with only the Request fields set (they
// are inlined), so what a person pastes into the console is short:
//
//	{"service": "web", "environment": "staging", "image": "v1.4.2", "reason": "hotfix"}
//
// Large documents (rendered task definition, plan, snapshot) live in the state
// bucket and travel here by key, keeping the document far below the 256 KiB
// Step Functions limit.
type State struct {
	Request

	// Deployment identifies this deployment; set by Prepare.
	Deployment Deployment `json:"deployment"`
	// Pins are what this deployment deploys, each part with the time that
	// orders it against the other requests of its service and environment
	// (Order); set by Prepare, which also takes into them the newer parts
	// of a request it supersedes.
	Pins Pins `json:"pins,omitzero"`
	// Plan summarises what Prepare decided; the full plan is at Plan.Key.
	Plan Plan `json:"plan"`
	// Lock is this deployment's claim on (environment, service).
	Lock Lock `json:"lock"`
	// Approval says whether a person must approve before Apply.
	Approval Approval `json:"approval"`
	// Progress tracks the traffic steps.
	Progress Progress `json:"progress"`
	// Wait describes what the next (or current) waiting task waits for.
	Wait Wait `json:"wait"`
	// Signal is the output of the last completed wait (SendTaskSuccess).
	Signal *Signal `json:"signal,omitempty"`
	// Error is set by a Catch clause (ResultPath $.error) when a phase failed.
	Error *Failure `json:"error,omitempty"`
	// TimedOut is set by the Catch of a wait's States.Timeout (ResultPath
	// $.timedOut): the wait ended by its timeout rather than a signal. It has
	// its own field so a timeout never overwrites Error, the failure a
	// rollback is handling; the check phase that follows clears it.
	TimedOut *Failure `json:"timedOut,omitempty"`
	// RollbackError is set by the Catch clauses of the rollback states
	// (ResultPath $.rollbackError), so the error that caused the rollback is
	// kept beside the one that stopped it, and the record phase can tell a
	// failed rollback from a failed deployment.
	RollbackError *Failure `json:"rollbackError,omitempty"`
	// BookkeepingError is set by the Catch of the bookkeeping states
	// (Finalize, RecordFailure, RecordRollbackFailed; ResultPath
	// $.bookkeepingError) when recording the outcome failed after its
	// retries: the execution still ends in the terminal state matching what
	// happened to the service, and its output shows what was not recorded.
	BookkeepingError *Failure `json:"bookkeepingError,omitempty"`
	// Outcome is set by the record phase; the FailureKind Choice routes on it.
	Outcome Outcome `json:"outcome"`
	// Native follows the ECS service deployment of a native strategy
	// (kind ecs); nil for Slipway's own strategies, so their documents are
	// unchanged. The Choices read it behind an IsPresent test.
	Native *Native `json:"native,omitempty"`
}

// The gates of a native deployment ($.native.gate), set by the check of
// its service deployment.
const (
	// GateWait: no hook awaits action yet; wait for the next.
	GateWait = "wait"
	// GateBake: a hook awaits action after production traffic moved;
	// bake (alarms watched) before continuing.
	GateBake = "bake"
	// GateContinue: a hook awaits action and needs no bake; continue.
	GateContinue = "continue"
	// GateApprove: the hook at POST_TEST_TRAFFIC_SHIFT awaits a person's
	// approval (the environment asks for one).
	GateApprove = "approve"
	// GateDone: ECS finished the deployment successfully.
	GateDone = "done"
)

// Native is the state of a native deployment: the ECS service deployment
// and the PAUSE hook it awaits.
type Native struct {
	// ServiceDeployment is the ECS service deployment ARN.
	ServiceDeployment string `json:"serviceDeployment"`
	// Stage is the lifecycle stage of the awaiting hook (POST_SCALE_UP, …).
	Stage string `json:"stage,omitempty"`
	// HookID is the awaiting PAUSE hook's id, for ContinueServiceDeployment.
	HookID string `json:"hookId,omitempty"`
	// Gate is what the state machine does next. Routing field.
	Gate string `json:"gate"`
	// Continued lists the stages Slipway continued, for history.
	Continued []string `json:"continued,omitempty"`
}

// Request is what a trigger or a person asks for.
type Request struct {
	// Service is the name of services/<service>.yaml.
	Service string `json:"service"`
	// Environment is the name of environments/<environment>.yaml.
	Environment string `json:"environment"`
	// Image is a tag, a digest (sha256:…) or a full image reference. Empty
	// means the image the service runs now.
	Image string `json:"image,omitempty"`
	// SpecVersion is the S3 version id of the service spec; empty means latest.
	SpecVersion string `json:"specVersion,omitempty"`
	// EnvironmentSpecVersion is the S3 version id of the environment spec;
	// empty means latest.
	EnvironmentSpecVersion string `json:"environmentSpecVersion,omitempty"`
	// Strategy overrides the strategy of the specs for this deployment only,
	// in the spec's own shape (a name such as "rolling", or an object).
	Strategy json.RawMessage `json:"strategy,omitempty"`
	// Reason is free text shown in history and events.
	Reason string `json:"reason,omitempty"`
	// Trigger says what started the deployment.
	Trigger Trigger `json:"trigger,omitzero"`
	// RequestedAt is when the deployment was asked for: the time of the
	// event that triggered it (an image push, a spec upload), the request
	// time of the deployment a promotion follows, or, for a manual start
	// (left empty), the start of the execution, which Prepare fills in; a
	// time after the execution's start is taken as its start. Of two
	// requests for the same service and environment the newer wins: an
	// older one never supersedes, nor runs after, a newer one. It is not
	// part of the execution name, so a duplicated event still starts
	// nothing.
	RequestedAt time.Time `json:"requestedAt,omitzero"`
}

// TriggerKind names what started a deployment.
type TriggerKind string

// The kinds of trigger.
const (
	TriggerManual     TriggerKind = "manual"
	TriggerECRPush    TriggerKind = "ecr-push"
	TriggerSpecUpload TriggerKind = "spec-upload"
	TriggerPromotion  TriggerKind = "promotion"
	TriggerRollback   TriggerKind = "rollback"
)

// Trigger records the origin of a deployment.
type Trigger struct {
	Kind TriggerKind `json:"kind,omitempty"`
	// Source is the event id, the S3 key and version, or the previous
	// environment's deployment id for a promotion.
	Source string `json:"source,omitempty"`
	// Actor is who or what asked: an IAM principal, "ecr", "s3".
	Actor string `json:"actor,omitempty"`
}

// Deployment identifies one deployment.
type Deployment struct {
	// ID is short and stable for the execution; it tags the task definition.
	ID string `json:"id,omitempty"`
	// Execution is the Step Functions execution ARN.
	Execution string `json:"execution,omitempty"`
	// StartedAt is when Prepare first ran.
	StartedAt time.Time `json:"startedAt,omitzero"`
}

// Plan summarises what Prepare decided.
type Plan struct {
	// Key is the state-bucket key of the full plan (rendered inputs, snapshot).
	Key string `json:"key,omitempty"`
	// Strategy is rolling, canary or bluegreen.
	Strategy string `json:"strategy,omitempty"`
	// Image is the pinned image: repository-uri@sha256:digest.
	Image string `json:"image,omitempty"`
	// Create is true when the service does not exist yet.
	Create bool `json:"create,omitempty"`
	// Slot is the slot that receives the new revision ("blue" or "green");
	// empty for rolling.
	Slot string `json:"slot,omitempty"`
	// Steps are the traffic steps, in order.
	Steps []Step `json:"steps,omitempty"`
	// StabilizeSeconds bounds how long AwaitStable may take in all.
	StabilizeSeconds int `json:"stabilizeSeconds,omitempty"`
	// ReconcileSeconds is how long a wait trusts events before re-checking.
	ReconcileSeconds int `json:"reconcileSeconds,omitempty"`
}

// Step is one traffic step: move Weight percent to the new revision, then bake.
type Step struct {
	// Weight is the percentage of traffic (or of tasks, for canary by task
	// count) on the new revision after this step.
	Weight int `json:"weight"`
	// BakeSeconds is how long alarms are watched after the shift.
	BakeSeconds int `json:"bakeSeconds"`
}

// Lock is this deployment's claim on the (environment, service) lock.
type Lock struct {
	// Key is the state-bucket key of the lock object.
	Key string `json:"key,omitempty"`
	// Held is true once this deployment owns the lock.
	Held bool `json:"held"`
	// Queued is true when another deployment holds the lock and this one
	// waits for it. Routing field.
	Queued bool `json:"queued"`
}

// Approval says whether a person must approve the deployment.
type Approval struct {
	// Required is a routing field.
	Required bool `json:"required"`
	// TimeoutSeconds is how long the approval may take.
	TimeoutSeconds int `json:"timeoutSeconds,omitempty"`
	// By is who approved: the caller identity (ARN) STS reported to
	// the approving CLI, for an assumed role its session ARN.
	By string `json:"by,omitempty"`
	// Note is the approver's free-text note (slipway approve --note); it
	// is kept next to By, never instead of it.
	Note string `json:"note,omitempty"`
}

// Progress tracks the traffic steps.
type Progress struct {
	// Step is the number of steps shifted so far.
	Step int `json:"step"`
	// Remaining is the number of steps still to shift. Routing field.
	Remaining int `json:"remaining"`
	// Weight is the traffic percentage on the new revision now.
	Weight int `json:"weight"`
}

// Wait describes what a waiting task waits for. The phase before a waiting
// task fills it in; the task's TimeoutSecondsPath reads TimeoutSeconds.
type Wait struct {
	Kind WaitKind `json:"kind,omitempty"`
	// TimeoutSeconds is the task timeout: the bake time, or the reconcile
	// interval after which a lost event is assumed and the state re-checked.
	// Always at least 1 (Step Functions rejects 0).
	TimeoutSeconds int `json:"timeoutSeconds"`
	// Deadline is when waiting for this condition is given up.
	Deadline time.Time `json:"deadline,omitzero"`
	// BakeLeftSeconds is, for a bake, how much of the bake time is still to
	// wait after the current wait's timeout. A bake waits at most one
	// reconcile interval at a time and the check after each timeout
	// re-reads the alarms; the bake is counted in the state machine's own
	// time (the task timeouts), so a function's clock can neither cut it
	// short nor stretch it.
	BakeLeftSeconds int `json:"bakeLeftSeconds,omitempty"`
	// Cluster, Service and ECSDeployment identify the ECS deployment
	// watched by a stable wait.
	Cluster       string `json:"cluster,omitempty"`
	Service       string `json:"service,omitempty"`
	ECSDeployment string `json:"ecsDeployment,omitempty"`
	// ServiceDeployment is the ECS service deployment ARN a hook wait
	// watches (its hook events name it; its end is announced with
	// ECSDeployment).
	ServiceDeployment string `json:"serviceDeployment,omitempty"`
	// Alarms are the alarm names watched; any in ALARM fails the wait.
	Alarms []string `json:"alarms,omitempty"`
	// ScaleIn, for a step of a canary by task count, is the old slot's
	// scale-in that waits for the new slot's tasks: the bake's first part
	// waits until they run, then scales the old slot in and bakes. Nil
	// once done, and for every other wait.
	ScaleIn *ScaleIn `json:"scaleIn,omitempty"`
	// Settled is set by a check phase: true when the condition is met.
	// Routing field.
	Settled bool `json:"settled"`
}

// ScaleIn is the old slot's scale-in a step of a canary by task count
// holds back until the new slot runs its tasks, so capacity never dips
// below what ran before the step and a new revision whose tasks never
// start leaves the old slot whole.
type ScaleIn struct {
	// Service is the old slot's ECS service and Count its desired count
	// once the new tasks run.
	Service string `json:"service"`
	Count   int32  `json:"count"`
	// Running is how many tasks of the new slot's PRIMARY deployment must
	// be RUNNING first.
	Running int32 `json:"running"`
	// Healthy says they must be HEALTHY too: the task definition has a
	// container health check.
	Healthy bool `json:"healthy,omitempty"`
	// BakeSeconds is the step's bake, counted from the scale-in.
	BakeSeconds int `json:"bakeSeconds"`
}

// Signal is the output a waiting task is completed with (SendTaskSuccess).
type Signal struct {
	// Source is what completed the wait: "ecs", "approval", "lock", "check".
	Source string `json:"source"`
	// Detail says what happened, for history.
	Detail string `json:"detail,omitempty"`
	// By is who approved, for approvals: the caller ARN STS reported to
	// the approving CLI.
	By string `json:"by,omitempty"`
	// Note is the approver's free-text note, for approvals.
	Note string `json:"note,omitempty"`
}

// Failure is what a Catch clause stores at $.error: the error name (one of
// ErrorNames, or a States.* name) and its cause.
type Failure struct {
	Error string `json:"Error"`
	Cause string `json:"Cause,omitempty"`
}

// Outcome is how a deployment ended.
type Outcome string

// The outcomes. The FailureKind Choice routes on RolledBack, Rejected,
// Superseded and Failed.
const (
	OutcomeNone       Outcome = ""
	OutcomeDeployed   Outcome = "deployed"
	OutcomeRolledBack Outcome = "rolled-back"
	OutcomeRejected   Outcome = "rejected"
	OutcomeSuperseded Outcome = "superseded"
	// OutcomeFailed is a deployment that failed before it changed anything
	// (Prepare could not reach ECS, a cluster is missing): there was
	// nothing to roll back. The lock is released.
	OutcomeFailed Outcome = "failed"
	// OutcomeRollbackFailed keeps the lock: a person must check the service.
	OutcomeRollbackFailed Outcome = "rollback-failed"
)

// Invocation is the payload every Task state sends to functions/step.
type Invocation struct {
	Phase Phase `json:"phase"`
	State State `json:"state"`
	// TaskToken is set for .waitForTaskToken tasks ($$.Task.Token).
	TaskToken string `json:"taskToken,omitempty"`
	// Execution is the execution ARN ($$.Execution.Id).
	Execution string `json:"execution,omitempty"`
}
