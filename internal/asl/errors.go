package asl

import (
	"errors"
	"fmt"
)

// Error names defined by the States Language specification and AWS Step
// Functions.
const (
	ErrALL                    = "States.ALL"
	ErrRuntime                = "States.Runtime"
	ErrDataLimitExceeded      = "States.DataLimitExceeded"
	ErrTimeout                = "States.Timeout"
	ErrTaskFailed             = "States.TaskFailed"
	ErrHeartbeatTimeout       = "States.HeartbeatTimeout"
	ErrIntrinsicFailure       = "States.IntrinsicFailure"
	ErrResultPathMatchFailure = "States.ResultPathMatchFailure"
	ErrParameterPathFailure   = "States.ParameterPathFailure"
	ErrNoChoiceMatched        = "States.NoChoiceMatched"
	ErrBranchFailed           = "States.BranchFailed"
	ErrPermissions            = "States.Permissions"
	ErrItemReaderFailed       = "States.ItemReaderFailed"
	ErrResultWriterFailed     = "States.ResultWriterFailed"
	ErrExceedToleratedFailure = "States.ExceedToleratedFailureThreshold"
)

// Error is a failure inside an execution, named as Step Functions names it;
// Retry and Catch match on Name. A failed execution reports one.
type Error struct {
	Name  string
	Cause string
}

// Error returns the name and cause.
func (e *Error) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

func newError(name, format string, args ...any) *Error {
	return &Error{Name: name, Cause: fmt.Sprintf(format, args...)}
}

// TaskError is the error a TaskRunner or LambdaInvoker returns to fail a
// task with a specific error name (for example a Lambda's error type), which
// Retry and Catch then match. Any other Go error fails the task with
// States.TaskFailed.
type TaskError struct {
	Name  string
	Cause string
}

// Error returns the name and cause.
func (e *TaskError) Error() string { return e.Name + ": " + e.Cause }

// asError converts any error from a task into an *Error.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var te *TaskError
	if errors.As(err, &te) {
		return &Error{Name: te.Name, Cause: te.Cause}
	}
	return &Error{Name: ErrTaskFailed, Cause: err.Error()}
}

// terminal reports whether an error ends the execution whatever the Retry
// and Catch fields say, as States.Runtime and States.DataLimitExceeded do.
func terminal(name string) bool {
	return name == ErrRuntime || name == ErrDataLimitExceeded
}

// errorMatches reports whether an ErrorEquals entry matches the error name.
func errorMatches(pattern, name string) bool {
	if terminal(name) {
		return false
	}
	switch pattern {
	case ErrALL:
		return true
	case ErrTaskFailed:
		// States.TaskFailed matches every error but States.Timeout.
		return name != ErrTimeout
	default:
		return pattern == name
	}
}

// Sentinel errors of the Engine's API, matched with errors.Is.
var (
	// ErrInvalidToken: the task token is malformed.
	ErrInvalidToken = errors.New("InvalidToken: the task token is not valid")
	// ErrTaskDoesNotExist: no task was ever issued this token.
	ErrTaskDoesNotExist = errors.New("TaskDoesNotExist: no task has this token")
	// ErrTaskTimedOut: the task of this token is already closed (completed,
	// timed out, or its execution ended).
	ErrTaskTimedOut = errors.New("TaskTimedOut: the task of this token is closed")
	// ErrInvalidOutput: the output given for a task is not JSON.
	ErrInvalidOutput = errors.New("InvalidOutput: the task output is not valid JSON")
	// ErrExecutionDoesNotExist: no execution has this ARN.
	ErrExecutionDoesNotExist = errors.New("ExecutionDoesNotExist: no execution has this ARN")
	// ErrExecutionAlreadyExists: an execution with this name exists.
	ErrExecutionAlreadyExists = errors.New("ExecutionAlreadyExists: an execution with this name exists")
	// ErrInvalidExecutionInput: the execution input is not valid.
	ErrInvalidExecutionInput = errors.New("InvalidExecutionInput: the execution input is not valid")
)
