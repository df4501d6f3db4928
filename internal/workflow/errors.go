package workflow

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// The error types below are the contract with the state machine's Retry and
// Catch clauses: a Lambda's error type name (aws-lambda-go reports the Go type
// name) and the error passed to SendTaskFailure are what ErrorEquals matches.
// Wrapping hides the type, so functions/step returns the workflow error found
// in the chain (see Named), never a wrapper.
//
// Three classes:
//   - transient: Transient, retried with backoff and jitter;
//   - invalid input or no longer wanted: InvalidInput, Superseded,
//     ApprovalRejected — nothing was changed, nothing to undo;
//   - halt: AlarmFired, DeploymentFailed, StabilizationTimeout, Halted —
//     never retried, always rolled back.

// Transient is a failure that may pass on its own: throttling, a 5xx, a
// conflicting concurrent update. The state machine retries it.
type Transient struct {
	Op  string
	Err error
}

// Error says what happened; Step Functions shows it as the cause.
func (e *Transient) Error() string { return fmt.Sprintf("%s: %v", e.Op, e.Err) }

// Unwrap returns the underlying failure.
func (e *Transient) Unwrap() error { return e.Err }

// InvalidInput means the request or the specs cannot be deployed as they are.
// Problems lists each one (file, field path, reason).
type InvalidInput struct {
	Problems []string
}

// Error says what happened; Step Functions shows it as the cause.
func (e *InvalidInput) Error() string {
	return "invalid input: " + strings.Join(e.Problems, "; ")
}

// Superseded means a newer deployment of the same service and environment
// replaced this one before it started applying.
type Superseded struct {
	// By is the deployment id of the newer deployment.
	By string
}

// Error says what happened; Step Functions shows it as the cause.
func (e *Superseded) Error() string { return "superseded by deployment " + e.By }

// ApprovalRejected means a person rejected the deployment.
type ApprovalRejected struct {
	By     string
	Reason string
}

// Error says what happened; Step Functions shows it as the cause.
func (e *ApprovalRejected) Error() string {
	return fmt.Sprintf("rejected by %s: %s", e.By, e.Reason)
}

// AlarmFired means a watched CloudWatch alarm went into ALARM.
type AlarmFired struct {
	Alarm  string
	Reason string
}

// Error says what happened; Step Functions shows it as the cause.
func (e *AlarmFired) Error() string {
	return fmt.Sprintf("alarm %s in ALARM: %s", e.Alarm, e.Reason)
}

// DeploymentFailed means ECS could not roll out the new revision: the
// deployment failed or was rolled back by the circuit breaker, tasks failed to
// start, or targets stayed unhealthy.
type DeploymentFailed struct {
	Reason string
}

// Error says what happened; Step Functions shows it as the cause.
func (e *DeploymentFailed) Error() string { return "deployment failed: " + e.Reason }

// StabilizationTimeout means the new revision did not become stable before
// the deadline.
type StabilizationTimeout struct {
	Deadline time.Time
	Detail   string
}

// Error says what happened; Step Functions shows it as the cause.
func (e *StabilizationTimeout) Error() string {
	return fmt.Sprintf("not stable by %s: %s", e.Deadline.UTC().Format(time.RFC3339), e.Detail)
}

// Halted means a person stopped the deployment (slipway rollback).
type Halted struct {
	By     string
	Reason string
}

// Error says what happened; Step Functions shows it as the cause.
func (e *Halted) Error() string { return fmt.Sprintf("halted by %s: %s", e.By, e.Reason) }

// Error names of the deploy state machine's Fail states: what a failed
// execution reports as its error (DescribeExecution's error field), so a
// client can tell how a deployment ended without reading its history. They
// are not Go error types: no phase returns them and no Retry or Catch
// matches them.
const (
	// ErrDeploymentRejected ends a deployment refused before anything
	// changed: the spec or request is invalid, or the approval was rejected
	// or expired. The lock is released.
	ErrDeploymentRejected = "DeploymentRejected"
	// ErrDeploymentRolledBack ends a deployment that failed and whose
	// service was restored to its previous state. The lock is released.
	ErrDeploymentRolledBack = "DeploymentRolledBack"
	// ErrDeploymentNotApplied ends a deployment that failed before it
	// changed anything, for a reason other than its input: there was
	// nothing to roll back. The lock is released.
	ErrDeploymentNotApplied = "DeploymentNotApplied"
	// ErrRollbackFailed ends a deployment whose rollback did not complete.
	// The lock is kept until a person has checked the service.
	ErrRollbackFailed = "RollbackFailed"
)

// Errors the Lambda service (not the function) reports when invoking
// functions/step: throttling, a fault of the service or of the SDK client
// Step Functions uses (including its own invocation timing out), and a
// sandbox that timed out or a runtime that exited. The function did not run,
// or its result is lost; every phase is idempotent, so each is safe to
// retry. The state machine retries them on every Task state, with backoff
// and jitter.
const (
	ErrLambdaTooManyRequests = "Lambda.TooManyRequestsException"
	ErrLambdaService         = "Lambda.ServiceException"
	ErrLambdaAWS             = "Lambda.AWSLambdaException"
	ErrLambdaSdkClient       = "Lambda.SdkClientException"
	ErrLambdaClientTimeout   = "Lambda.ClientExecutionTimeoutException"
	ErrSandboxTimedOut       = "Sandbox.Timedout"
	// ErrRuntimeExit is a runtime that exited before answering (a crash,
	// the sandbox killed): the answer is lost, as after a timeout. Not
	// retrying it let one crash of Finalize or RecordFailure end the
	// deployment with the lock kept and no history entry.
	ErrRuntimeExit = "Runtime.ExitError"
)

// ServiceErrorNames returns the Lambda service errors the state machine
// retries on every Task state.
func ServiceErrorNames() []string {
	return []string{ErrLambdaTooManyRequests, ErrLambdaService, ErrLambdaAWS, ErrLambdaSdkClient,
		ErrLambdaClientTimeout, ErrSandboxTimedOut, ErrRuntimeExit}
}

// errorTypes lists every workflow error type; ErrorNames derives from it.
func errorTypes() []error {
	return []error{
		(*Transient)(nil),
		(*InvalidInput)(nil),
		(*Superseded)(nil),
		(*ApprovalRejected)(nil),
		(*AlarmFired)(nil),
		(*DeploymentFailed)(nil),
		(*StabilizationTimeout)(nil),
		(*Halted)(nil),
	}
}

// ErrorNames returns the name of every workflow error type, as ErrorEquals
// matches it.
func ErrorNames() []string {
	names := make([]string, 0, len(errorTypes()))
	for _, e := range errorTypes() {
		names = append(names, ErrorName(e))
	}
	return names
}

// ErrorName returns the name Step Functions sees for err: the Go type name, as
// aws-lambda-go reports it.
func ErrorName(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// Named returns the first workflow error in err's chain, so that a wrapped
// error still reaches Step Functions under its contract name. It returns nil
// when the chain holds none.
func Named(err error) error {
	for err != nil {
		for _, t := range errorTypes() {
			if reflect.TypeOf(err) == reflect.TypeOf(t) {
				return err
			}
		}
		err = errors.Unwrap(err)
	}
	return nil
}

// IsHalt reports whether err must roll back without retrying.
func IsHalt(err error) bool {
	var (
		a *AlarmFired
		d *DeploymentFailed
		s *StabilizationTimeout
		h *Halted
	)
	return errors.As(err, &a) || errors.As(err, &d) || errors.As(err, &s) || errors.As(err, &h)
}
