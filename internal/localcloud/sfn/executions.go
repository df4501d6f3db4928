package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/slipwayhq/slipway/internal/asl"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

type startExecutionInput struct {
	StateMachineARN string `json:"stateMachineArn"`
	Name            string `json:"name"`
	Input           string `json:"input"`
}

type startExecutionOutput struct {
	ExecutionARN string  `json:"executionArn"`
	StartDate    float64 `json:"startDate"`
}

// startExecution applies AWS's name rules: a name is unique per state
// machine for 90 days; starting again with the name and input of a running
// execution returns that execution, anything else under a used name is
// ExecutionAlreadyExists.
func (s *Service) startExecution(ctx context.Context, in startExecutionInput) (startExecutionOutput, error) {
	if in.Name == "" {
		in.Name = uuid.NewString()
	}
	if err := checkName("execution", in.Name); err != nil {
		return startExecutionOutput{}, err
	}
	if in.Input == "" {
		in.Input = "{}"
	}
	if !json.Valid([]byte(in.Input)) {
		return startExecutionOutput{}, errorf(CodeInvalidExecutionInput, "Invalid State Machine Execution Input: the input is not valid JSON")
	}
	if len(in.Input) > asl.MaxPayloadSize {
		return startExecutionOutput{}, errorf(CodeInvalidExecutionInput, "the input is %d bytes, more than %d", len(in.Input), asl.MaxPayloadSize)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.machine(in.StateMachineARN)
	if err != nil {
		return startExecutionOutput{}, err
	}
	arn := executionARN(m.ARN, in.Name)
	if d, _, err := s.executionLocked(arn); err == nil {
		if d.Status == asl.StatusRunning && d.Input == in.Input {
			return startExecutionOutput{ExecutionARN: arn, StartDate: protocol.EpochSeconds(d.StartDate)}, nil
		}
		return startExecutionOutput{}, errorf(CodeExecutionAlreadyExists, "Execution Already Exists: '%s'", arn)
	}
	x, err := s.engine.Start(ctx, m.parsed, asl.StartInput{StateMachineARN: m.ARN, Name: in.Name, Input: in.Input, RoleARN: m.RoleARN})
	switch {
	case errors.Is(err, asl.ErrExecutionAlreadyExists):
		return startExecutionOutput{}, errorf(CodeExecutionAlreadyExists, "Execution Already Exists: '%s'", arn)
	case errors.Is(err, asl.ErrInvalidExecutionInput):
		return startExecutionOutput{}, errorf(CodeInvalidExecutionInput, "%v", err)
	case err != nil:
		return startExecutionOutput{}, fmt.Errorf("start execution %s: %w", arn, err)
	}
	s.order = append(s.order, arn)
	s.log.Info("execution started", "execution", arn)
	return startExecutionOutput{ExecutionARN: arn, StartDate: protocol.EpochSeconds(x.Describe().StartDate)}, nil
}

// executionARN derives an execution ARN as AWS does:
// arn:aws:states:<region>:<account>:execution:<machine>:<name>.
func executionARN(machineARN, name string) string {
	return strings.Replace(machineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// execution finds a live or archived execution.
func (s *Service) execution(arn string) (asl.Description, func() []asl.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.executionLocked(arn)
}

func (s *Service) executionLocked(arn string) (asl.Description, func() []asl.Event, error) {
	if err := checkARN("executionArn", arn, "execution"); err != nil {
		return asl.Description{}, nil, err
	}
	if x, err := s.engine.Execution(arn); err == nil {
		return x.Describe(), x.History, nil
	}
	if a, ok := s.archived[arn]; ok {
		return a.Description, func() []asl.Event { return a.History }, nil
	}
	return asl.Description{}, nil, errorf(CodeExecutionDoesNotExist, "Execution Does Not Exist: '%s'", arn)
}

type describeExecutionOutput struct {
	ExecutionARN    string       `json:"executionArn"`
	StateMachineARN string       `json:"stateMachineArn"`
	Name            string       `json:"name"`
	Status          string       `json:"status"`
	StartDate       float64      `json:"startDate"`
	StopDate        *float64     `json:"stopDate,omitempty"`
	Input           string       `json:"input"`
	InputDetails    dataDetails  `json:"inputDetails"`
	Output          *string      `json:"output,omitempty"`
	OutputDetails   *dataDetails `json:"outputDetails,omitempty"`
	Error           string       `json:"error,omitempty"`
	Cause           string       `json:"cause,omitempty"`
	RedriveCount    int          `json:"redriveCount"`
	RedriveStatus   string       `json:"redriveStatus"`
}

type dataDetails struct {
	Included bool `json:"included"`
}

func (s *Service) describeExecution(in executionARNInput) (any, error) {
	d, _, err := s.execution(in.ExecutionARN)
	if err != nil {
		return nil, err
	}
	out := describeExecutionOutput{
		ExecutionARN: d.ExecutionARN, StateMachineARN: d.StateMachineARN, Name: d.Name, Status: string(d.Status),
		StartDate: protocol.EpochSeconds(d.StartDate), Input: d.Input, InputDetails: dataDetails{Included: true},
		Error: d.Error, Cause: d.Cause, RedriveStatus: "NOT_REDRIVABLE",
	}
	if !d.StopDate.IsZero() {
		t := protocol.EpochSeconds(d.StopDate)
		out.StopDate = &t
	}
	if d.Status == asl.StatusSucceeded {
		o := d.Output
		out.Output, out.OutputDetails = &o, &dataDetails{Included: true}
	}
	return out, nil
}

type listExecutionsInput struct {
	StateMachineARN string `json:"stateMachineArn"`
	StatusFilter    string `json:"statusFilter"`
	MaxResults      int32  `json:"maxResults"`
	NextToken       string `json:"nextToken"`
}

type executionListItem struct {
	ExecutionARN    string   `json:"executionArn"`
	StateMachineARN string   `json:"stateMachineArn"`
	Name            string   `json:"name"`
	Status          string   `json:"status"`
	StartDate       float64  `json:"startDate"`
	StopDate        *float64 `json:"stopDate,omitempty"`
}

type listExecutionsOutput struct {
	Executions []executionListItem `json:"executions"`
	NextToken  string              `json:"nextToken,omitempty"`
}

// listExecutions lists a machine's executions, most recently started first.
func (s *Service) listExecutions(in listExecutionsInput) (any, error) {
	switch asl.Status(in.StatusFilter) {
	case "", asl.StatusRunning, asl.StatusSucceeded, asl.StatusFailed, asl.StatusTimedOut, asl.StatusAborted:
	default:
		return nil, protocol.Validationf("statusFilter: %q is not RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED", in.StatusFilter)
	}
	s.mu.Lock()
	if _, err := s.machine(in.StateMachineARN); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	var items []executionListItem
	for i := len(s.order) - 1; i >= 0; i-- {
		d, _, err := s.executionLocked(s.order[i])
		if err != nil || d.StateMachineARN != in.StateMachineARN {
			continue
		}
		if in.StatusFilter != "" && string(d.Status) != in.StatusFilter {
			continue
		}
		item := executionListItem{ExecutionARN: d.ExecutionARN, StateMachineARN: d.StateMachineARN, Name: d.Name,
			Status: string(d.Status), StartDate: protocol.EpochSeconds(d.StartDate)}
		if !d.StopDate.IsZero() {
			t := protocol.EpochSeconds(d.StopDate)
			item.StopDate = &t
		}
		items = append(items, item)
	}
	s.mu.Unlock()
	page, next, err := paginate(items, in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []executionListItem{}
	}
	return listExecutionsOutput{Executions: page, NextToken: next}, nil
}

type stopExecutionInput struct {
	ExecutionARN string `json:"executionArn"`
	Error        string `json:"error"`
	Cause        string `json:"cause"`
}

func (s *Service) stopExecution(in stopExecutionInput) (any, error) {
	d, _, err := s.execution(in.ExecutionARN)
	if err != nil {
		return nil, err
	}
	if d.Status == asl.StatusRunning {
		if d, err = s.engine.Stop(in.ExecutionARN, in.Error, in.Cause); err != nil {
			return nil, fmt.Errorf("stop execution %s: %w", in.ExecutionARN, err)
		}
	}
	stop := d.StopDate
	if stop.IsZero() {
		stop = s.clk.Now()
	}
	return struct {
		StopDate float64 `json:"stopDate"`
	}{protocol.EpochSeconds(stop)}, nil
}

type getExecutionHistoryInput struct {
	ExecutionARN         string `json:"executionArn"`
	MaxResults           int32  `json:"maxResults"`
	NextToken            string `json:"nextToken"`
	ReverseOrder         bool   `json:"reverseOrder"`
	IncludeExecutionData *bool  `json:"includeExecutionData"`
}

// historyEvent is an asl.Event with its timestamp in epoch seconds, as the
// JSON protocol sends timestamps.
type historyEvent struct{ asl.Event }

// MarshalJSON writes the event with an epoch-seconds timestamp.
func (e historyEvent) MarshalJSON() ([]byte, error) {
	type plain asl.Event
	return json.Marshal(struct {
		*plain
		Timestamp float64 `json:"timestamp"`
	}{(*plain)(&e.Event), protocol.EpochSeconds(e.Event.Timestamp)})
}

type getExecutionHistoryOutput struct {
	Events    []historyEvent `json:"events"`
	NextToken string         `json:"nextToken,omitempty"`
}

func (s *Service) getExecutionHistory(in getExecutionHistoryInput) (any, error) {
	_, history, err := s.execution(in.ExecutionARN)
	if err != nil {
		return nil, err
	}
	events := history()
	if in.ReverseOrder {
		slices.Reverse(events)
	}
	if in.IncludeExecutionData != nil && !*in.IncludeExecutionData {
		for i := range events {
			stripData(&events[i])
		}
	}
	page, next, err := paginate(events, in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, err
	}
	out := getExecutionHistoryOutput{Events: make([]historyEvent, len(page)), NextToken: next}
	for i, e := range page {
		out.Events[i] = historyEvent{e}
	}
	return out, nil
}

// stripData drops inputs and outputs from an event, as includeExecutionData
// false asks.
func stripData(e *asl.Event) {
	if d := e.ExecutionStarted; d != nil {
		c := *d
		c.Input = ""
		e.ExecutionStarted = &c
	}
	if d := e.StateEntered; d != nil {
		c := *d
		c.Input = ""
		e.StateEntered = &c
	}
	if d := e.StateExited; d != nil {
		c := *d
		c.Output = ""
		e.StateExited = &c
	}
	for _, d := range []**asl.OutputDetails{&e.ExecutionSucceeded, &e.LambdaFunctionSucceeded} {
		if *d != nil {
			*d = &asl.OutputDetails{}
		}
	}
}

type sendTaskSuccessInput struct {
	TaskToken string `json:"taskToken"`
	Output    string `json:"output"`
}

type sendTaskFailureInput struct {
	TaskToken string `json:"taskToken"`
	Error     string `json:"error"`
	Cause     string `json:"cause"`
}

type sendTaskHeartbeatInput struct {
	TaskToken string `json:"taskToken"`
}

func (s *Service) sendTaskSuccess(in sendTaskSuccessInput) (any, error) {
	if in.TaskToken == "" {
		return nil, protocol.Validationf("taskToken: required")
	}
	return struct{}{}, taskError(s.engine.SendTaskSuccess(in.TaskToken, in.Output))
}

func (s *Service) sendTaskFailure(in sendTaskFailureInput) (any, error) {
	if in.TaskToken == "" {
		return nil, protocol.Validationf("taskToken: required")
	}
	return struct{}{}, taskError(s.engine.SendTaskFailure(in.TaskToken, in.Error, in.Cause))
}

func (s *Service) sendTaskHeartbeat(in sendTaskHeartbeatInput) (any, error) {
	if in.TaskToken == "" {
		return nil, protocol.Validationf("taskToken: required")
	}
	return struct{}{}, taskError(s.engine.SendTaskHeartbeat(in.TaskToken))
}

// taskError maps the engine's token errors to the API's error codes.
func taskError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, asl.ErrInvalidToken):
		return errorf(CodeInvalidToken, "Invalid Token: the task token is not valid")
	case errors.Is(err, asl.ErrTaskDoesNotExist):
		return errorf(CodeTaskDoesNotExist, "Task Does Not Exist")
	case errors.Is(err, asl.ErrTaskTimedOut):
		return errorf(CodeTaskTimedOut, "Task Timed Out")
	case errors.Is(err, asl.ErrInvalidOutput):
		return errorf(CodeInvalidOutput, "Invalid Output: the output is not valid JSON")
	}
	return err
}

// paginate returns one page of items starting at the offset nextToken
// encodes (base64url), and the token of the next page: def items unless
// maxResults (1..1000; 0 means unset) says otherwise. maxResults is checked
// before the token, each with Step Functions' error.
func paginate[T any](items []T, maxResults int32, nextToken string, def int) ([]T, string, error) {
	var max *int32
	if maxResults != 0 {
		max = &maxResults
	}
	page, next, err := protocol.Paginate(items, nextToken, max, protocol.PageRules{DefaultSize: def, MaxSize: 1000, Opaque: true})
	switch {
	case errors.Is(err, protocol.ErrBadMaxResults):
		return nil, "", protocol.Validationf("maxResults: %d is outside 0..1000", maxResults)
	case err != nil:
		return nil, "", errorf(CodeInvalidToken, "Invalid Token: nextToken %q is not valid", nextToken)
	}
	return page, next, nil
}

// sortBy sorts items by a string key.
func sortBy[T any](items []T, key func(T) string) {
	slices.SortFunc(items, func(a, b T) int { return strings.Compare(key(a), key(b)) })
}
