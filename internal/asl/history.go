package asl

import "time"

// Event is one entry of an execution's history. Type and the JSON names of
// the fields are those of the Step Functions GetExecutionHistory API; only
// the details field matching Type is set.
type Event struct {
	ID              int64     `json:"id"`
	PreviousEventID int64     `json:"previousEventId"`
	Timestamp       time.Time `json:"timestamp"`
	Type            string    `json:"type"`

	ExecutionStarted   *ExecutionStartedDetails `json:"executionStartedEventDetails,omitempty"`
	ExecutionSucceeded *OutputDetails           `json:"executionSucceededEventDetails,omitempty"`
	ExecutionFailed    *FailureDetails          `json:"executionFailedEventDetails,omitempty"`
	ExecutionAborted   *FailureDetails          `json:"executionAbortedEventDetails,omitempty"`
	ExecutionTimedOut  *FailureDetails          `json:"executionTimedOutEventDetails,omitempty"`

	StateEntered *StateEnteredDetails `json:"stateEnteredEventDetails,omitempty"`
	StateExited  *StateExitedDetails  `json:"stateExitedEventDetails,omitempty"`

	TaskScheduled *TaskScheduledDetails `json:"taskScheduledEventDetails,omitempty"`
	TaskStarted   *TaskDetails          `json:"taskStartedEventDetails,omitempty"`
	TaskSubmitted *TaskDetails          `json:"taskSubmittedEventDetails,omitempty"`
	TaskSucceeded *TaskDetails          `json:"taskSucceededEventDetails,omitempty"`
	TaskFailed    *TaskDetails          `json:"taskFailedEventDetails,omitempty"`
	TaskTimedOut  *TaskDetails          `json:"taskTimedOutEventDetails,omitempty"`

	LambdaFunctionScheduled *LambdaScheduledDetails `json:"lambdaFunctionScheduledEventDetails,omitempty"`
	LambdaFunctionSucceeded *OutputDetails          `json:"lambdaFunctionSucceededEventDetails,omitempty"`
	LambdaFunctionFailed    *FailureDetails         `json:"lambdaFunctionFailedEventDetails,omitempty"`
	LambdaFunctionTimedOut  *FailureDetails         `json:"lambdaFunctionTimedOutEventDetails,omitempty"`

	MapStateStarted       *MapStateStartedDetails `json:"mapStateStartedEventDetails,omitempty"`
	MapIterationStarted   *MapIterationDetails    `json:"mapIterationStartedEventDetails,omitempty"`
	MapIterationSucceeded *MapIterationDetails    `json:"mapIterationSucceededEventDetails,omitempty"`
	MapIterationFailed    *MapIterationDetails    `json:"mapIterationFailedEventDetails,omitempty"`
	MapIterationAborted   *MapIterationDetails    `json:"mapIterationAbortedEventDetails,omitempty"`
}

// ExecutionStartedDetails describes an ExecutionStarted event.
type ExecutionStartedDetails struct {
	Input           string `json:"input"`
	RoleARN         string `json:"roleArn,omitempty"`
	StateMachineARN string `json:"stateMachineArn,omitempty"`
}

// OutputDetails carries the output of a succeeded execution or Lambda call.
type OutputDetails struct {
	Output string `json:"output"`
}

// FailureDetails carries an error name and cause.
type FailureDetails struct {
	Error string `json:"error"`
	Cause string `json:"cause"`
}

// StateEnteredDetails describes a *StateEntered event.
type StateEnteredDetails struct {
	Name  string `json:"name"`
	Input string `json:"input"`
}

// StateExitedDetails describes a *StateExited event.
type StateExitedDetails struct {
	Name   string `json:"name"`
	Output string `json:"output"`
}

// TaskScheduledDetails describes a TaskScheduled event.
type TaskScheduledDetails struct {
	ResourceType       string `json:"resourceType"`
	Resource           string `json:"resource"`
	Region             string `json:"region"`
	Parameters         string `json:"parameters"`
	TimeoutInSeconds   int64  `json:"timeoutInSeconds,omitempty"`
	HeartbeatInSeconds int64  `json:"heartbeatInSeconds,omitempty"`
}

// TaskDetails describes the TaskStarted, TaskSubmitted, TaskSucceeded,
// TaskFailed and TaskTimedOut events; Output is set on success and
// submission, Error and Cause on failure.
type TaskDetails struct {
	ResourceType string `json:"resourceType"`
	Resource     string `json:"resource"`
	Output       string `json:"output,omitempty"`
	Error        string `json:"error,omitempty"`
	Cause        string `json:"cause,omitempty"`
}

// LambdaScheduledDetails describes a LambdaFunctionScheduled event.
type LambdaScheduledDetails struct {
	Resource         string `json:"resource"`
	Input            string `json:"input"`
	TimeoutInSeconds int64  `json:"timeoutInSeconds,omitempty"`
}

// MapStateStartedDetails describes a MapStateStarted event.
type MapStateStartedDetails struct {
	Length int `json:"length"`
}

// MapIterationDetails names the Map state and the index of an iteration.
type MapIterationDetails struct {
	Name  string `json:"name"`
	Index int    `json:"index"`
}
