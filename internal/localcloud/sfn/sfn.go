// Package sfn simulates AWS Step Functions for the local endpoint: state
// machines and their executions over the JSON 1.0 protocol (X-Amz-Target
// AWSStepFunctions.*), executed by internal/asl on the shared clock.
//
// Definitions are validated by asl.Parse when a state machine is created or
// updated, so a definition the interpreter cannot run is rejected with
// InvalidDefinition listing every problem, as AWS rejects an invalid one.
// Lambda tasks are handed to a LambdaInvoker (the local Lambda service); a
// function error becomes the task error named by the function's errorType,
// with the error document as its cause, which is what Retry and Catch match
// on AWS.
package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/internal/asl"
	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// TargetPrefix is the X-Amz-Target prefix of Step Functions requests.
const TargetPrefix = "AWSStepFunctions"

// Error codes Step Functions answers with.
const (
	CodeStateMachineDoesNotExist  = "StateMachineDoesNotExist"
	CodeStateMachineAlreadyExists = "StateMachineAlreadyExists"
	CodeExecutionDoesNotExist     = "ExecutionDoesNotExist"
	CodeExecutionAlreadyExists    = "ExecutionAlreadyExists"
	CodeInvalidDefinition         = "InvalidDefinition"
	CodeInvalidName               = "InvalidName"
	CodeInvalidArn                = "InvalidArn"
	CodeInvalidExecutionInput     = "InvalidExecutionInput"
	CodeInvalidToken              = "InvalidToken"
	CodeInvalidOutput             = "InvalidOutput"
	CodeTaskDoesNotExist          = "TaskDoesNotExist"
	CodeTaskTimedOut              = "TaskTimedOut"
)

// LambdaInvoker invokes a Lambda function synchronously, in-process.
// function is a function name or ARN as the task names it. When the function
// itself fails, functionError is true and out is its error document
// ({"errorType": …, "errorMessage": …}); err reports a failure to invoke
// (function not found, throttled).
type LambdaInvoker func(ctx context.Context, function string, payload []byte) (out []byte, functionError bool, err error)

// Config configures a Service.
type Config struct {
	// Region of the ARNs; protocol.DefaultRegion if empty.
	Region string
	// Clock runs the executions; the real clock if nil.
	Clock clock.Clock
	// Lambda runs Lambda tasks; without it they fail with States.TaskFailed.
	Lambda LambdaInvoker
	// Tasks runs Task states whose resource is not Lambda; optional.
	Tasks asl.TaskRunner
	// Logger receives the engine's decisions; nil discards them.
	Logger *slog.Logger
}

// Service is the simulated Step Functions. Its methods are safe for
// concurrent use.
type Service struct {
	region string
	clk    clock.Clock
	log    *slog.Logger
	engine *asl.Engine

	mu       sync.Mutex
	machines map[string]*stateMachine // by ARN
	// archived holds executions restored from a snapshot: ended, read only.
	archived map[string]archivedExecution
	// order records execution ARNs by start, for listing newest first.
	order []string
}

// stateMachine is one state machine as the API describes it.
type stateMachine struct {
	ARN        string    `json:"arn"`
	Name       string    `json:"name"`
	Definition string    `json:"definition"`
	RoleARN    string    `json:"roleArn"`
	Type       string    `json:"type"`
	Created    time.Time `json:"created"`
	Tags       []tag     `json:"tags,omitempty"`

	parsed *asl.Definition
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// archivedExecution is an ended execution kept from a snapshot.
type archivedExecution struct {
	Description asl.Description `json:"description"`
	History     []asl.Event     `json:"history"`
}

// New returns a Service with no state machines.
func New(cfg Config) *Service {
	s := &Service{
		region:   cfg.Region,
		clk:      cfg.Clock,
		log:      cfg.Logger,
		machines: map[string]*stateMachine{},
		archived: map[string]archivedExecution{},
	}
	if s.region == "" {
		s.region = protocol.DefaultRegion
	}
	if s.clk == nil {
		s.clk = clock.Real()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	engCfg := asl.Config{Clock: s.clk, Tasks: cfg.Tasks, Logger: s.log, Region: s.region}
	if cfg.Lambda != nil {
		engCfg.Lambda = lambdaAdapter(cfg.Lambda)
	}
	s.engine = asl.NewEngine(engCfg)
	return s
}

// lambdaAdapter turns a function error into the asl.TaskError Step Functions
// reports: the error name is the function's errorType, the cause the whole
// error document; a Lambda service error (throttling) is Lambda.<code>.
func lambdaAdapter(invoke LambdaInvoker) asl.LambdaInvoker {
	return func(ctx context.Context, function string, payload []byte) ([]byte, error) {
		out, functionError, err := invoke(ctx, function, payload)
		var perr *protocol.Error
		if errors.As(err, &perr) {
			// Step Functions names a Lambda service error after its
			// code: Lambda.TooManyRequestsException, Lambda.ServiceException…
			return nil, &asl.TaskError{Name: "Lambda." + perr.Code, Cause: perr.Message}
		}
		if err != nil {
			return nil, fmt.Errorf("invoke %s: %w", function, err)
		}
		if !functionError {
			return out, nil
		}
		var doc struct {
			ErrorType string `json:"errorType"`
		}
		name := "Lambda.Unknown"
		if json.Unmarshal(out, &doc) == nil && doc.ErrorType != "" {
			name = doc.ErrorType
		}
		return nil, &asl.TaskError{Name: name, Cause: string(out)}
	}
}

// Engine returns the interpreter running the executions, for in-process
// callers that wait on an execution.
func (s *Service) Engine() *asl.Engine { return s.engine }

// StartExecution starts an execution with a generated name, as an
// EventBridge target does. It implements the eventbridge package's
// StateMachineStarter.
func (s *Service) StartExecution(ctx context.Context, stateMachineARN string, input []byte) error {
	_, err := s.startExecution(ctx, startExecutionInput{StateMachineARN: stateMachineARN, Input: string(input)})
	if err != nil {
		return fmt.Errorf("start execution of %s: %w", stateMachineARN, err)
	}
	return nil
}

// ServeJSON serves one Step Functions operation.
func (s *Service) ServeJSON(ctx context.Context, op string, body []byte) (any, error) {
	switch op {
	case "CreateStateMachine":
		return serve(body, s.createStateMachine)
	case "UpdateStateMachine":
		return serve(body, s.updateStateMachine)
	case "DescribeStateMachine":
		return serve(body, s.describeStateMachine)
	case "ListStateMachines":
		return serve(body, s.listStateMachines)
	case "DeleteStateMachine":
		return serve(body, s.deleteStateMachine)
	case "StartExecution":
		return serve(body, func(in startExecutionInput) (any, error) { return s.startExecution(ctx, in) })
	case "DescribeExecution":
		return serve(body, s.describeExecution)
	case "ListExecutions":
		return serve(body, s.listExecutions)
	case "StopExecution":
		return serve(body, s.stopExecution)
	case "GetExecutionHistory":
		return serve(body, s.getExecutionHistory)
	case "SendTaskSuccess":
		return serve(body, s.sendTaskSuccess)
	case "SendTaskFailure":
		return serve(body, s.sendTaskFailure)
	case "SendTaskHeartbeat":
		return serve(body, s.sendTaskHeartbeat)
	case "DescribeStateMachineForExecution":
		return serve(body, s.describeStateMachineForExecution)
	}
	return nil, protocol.UnknownOperation(op)
}

// serve decodes the request body into In and calls fn.
func serve[In any](body []byte, fn func(In) (any, error)) (any, error) {
	var in In
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	return fn(in)
}

func errorf(code, format string, args ...any) *protocol.Error {
	return protocol.Errorf(http.StatusBadRequest, code, format, args...)
}

// checkName applies AWS's rules for state machine and execution names: 1 to
// 80 characters, none of them white space, brackets, wildcards, special
// punctuation or control characters.
func checkName(what, name string) error {
	if name == "" || len([]rune(name)) > 80 {
		return errorf(CodeInvalidName, "invalid %s name %q: must be 1 to 80 characters", what, name)
	}
	for _, r := range name {
		switch {
		case r <= 0x20, r >= 0x7f && r <= 0x9f:
			return errorf(CodeInvalidName, "invalid %s name %q: no white space or control characters", what, name)
		case strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", r):
			return errorf(CodeInvalidName, "invalid %s name %q: character %q is not allowed", what, name, r)
		}
	}
	return nil
}

// checkARN rejects a value that is not an ARN of the given resource type in
// this service.
func checkARN(field, arn, resource string) error {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) < 7 || parts[0] != "arn" || parts[2] != "states" || parts[5] != resource || parts[6] == "" {
		return errorf(CodeInvalidArn, "invalid arn in %s: %q is not a Step Functions %s ARN", field, arn, resource)
	}
	return nil
}

func (s *Service) machineARN(name string) string {
	return "arn:aws:states:" + s.region + ":" + protocol.Account + ":stateMachine:" + name
}

// parseDefinition validates a definition with the interpreter's parser.
func parseDefinition(def string) (*asl.Definition, error) {
	if strings.TrimSpace(def) == "" {
		return nil, protocol.Validationf("definition: required")
	}
	d, err := asl.Parse([]byte(def))
	if err != nil {
		var ve *asl.ValidationError
		if errors.As(err, &ve) {
			return nil, errorf(CodeInvalidDefinition, "Invalid State Machine Definition: '%s'", strings.Join(ve.Problems, "; "))
		}
		return nil, errorf(CodeInvalidDefinition, "Invalid State Machine Definition: '%v'", err)
	}
	return d, nil
}

// machine returns the state machine with this ARN; the caller holds s.mu.
func (s *Service) machine(arn string) (*stateMachine, error) {
	if err := checkARN("stateMachineArn", arn, "stateMachine"); err != nil {
		return nil, err
	}
	m, ok := s.machines[arn]
	if !ok {
		return nil, errorf(CodeStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", arn)
	}
	return m, nil
}

type createStateMachineInput struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
	RoleARN    string `json:"roleArn"`
	Type       string `json:"type"`
	Tags       []tag  `json:"tags"`
}

type createStateMachineOutput struct {
	StateMachineARN string  `json:"stateMachineArn"`
	CreationDate    float64 `json:"creationDate"`
}

func (s *Service) createStateMachine(in createStateMachineInput) (any, error) {
	if err := checkName("state machine", in.Name); err != nil {
		return nil, err
	}
	if in.RoleARN == "" {
		return nil, protocol.Validationf("roleArn: required")
	}
	if !strings.HasPrefix(in.RoleARN, "arn:") {
		return nil, errorf(CodeInvalidArn, "invalid arn in roleArn: %q", in.RoleARN)
	}
	switch in.Type {
	case "":
		in.Type = "STANDARD"
	case "STANDARD", "EXPRESS":
	default:
		return nil, protocol.Validationf("type: %q is not STANDARD or EXPRESS", in.Type)
	}
	d, err := parseDefinition(in.Definition)
	if err != nil {
		return nil, err
	}
	arn := s.machineARN(in.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.machines[arn]; ok {
		// Creating the same machine again is idempotent; a different one
		// under the same name is a conflict.
		if m.Definition == in.Definition && m.RoleARN == in.RoleARN && m.Type == in.Type {
			return createStateMachineOutput{StateMachineARN: arn, CreationDate: protocol.EpochSeconds(m.Created)}, nil
		}
		return nil, errorf(CodeStateMachineAlreadyExists, "State Machine Already Exists: '%s'", arn)
	}
	m := &stateMachine{ARN: arn, Name: in.Name, Definition: in.Definition, RoleARN: in.RoleARN, Type: in.Type,
		Created: s.clk.Now(), Tags: in.Tags, parsed: d}
	s.machines[arn] = m
	return createStateMachineOutput{StateMachineARN: arn, CreationDate: protocol.EpochSeconds(m.Created)}, nil
}

type updateStateMachineInput struct {
	StateMachineARN string `json:"stateMachineArn"`
	Definition      string `json:"definition"`
	RoleARN         string `json:"roleArn"`
}

type updateStateMachineOutput struct {
	UpdateDate float64 `json:"updateDate"`
}

// updateStateMachine replaces the definition or role; running executions
// keep the definition they started with, as on AWS.
func (s *Service) updateStateMachine(in updateStateMachineInput) (any, error) {
	if in.Definition == "" && in.RoleARN == "" {
		return nil, errorf("MissingRequiredParameter", "either the definition or the roleArn must be specified")
	}
	var d *asl.Definition
	if in.Definition != "" {
		var err error
		if d, err = parseDefinition(in.Definition); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.machine(in.StateMachineARN)
	if err != nil {
		return nil, err
	}
	if d != nil {
		m.Definition, m.parsed = in.Definition, d
	}
	if in.RoleARN != "" {
		m.RoleARN = in.RoleARN
	}
	return updateStateMachineOutput{UpdateDate: protocol.EpochSeconds(s.clk.Now())}, nil
}

type arnInput struct {
	StateMachineARN string `json:"stateMachineArn"`
}

type describeStateMachineOutput struct {
	StateMachineARN      string               `json:"stateMachineArn"`
	Name                 string               `json:"name"`
	Status               string               `json:"status"`
	Definition           string               `json:"definition"`
	RoleARN              string               `json:"roleArn"`
	Type                 string               `json:"type"`
	CreationDate         float64              `json:"creationDate"`
	LoggingConfiguration loggingConfiguration `json:"loggingConfiguration"`
	TracingConfiguration tracingConfiguration `json:"tracingConfiguration"`
}

type loggingConfiguration struct {
	Level                string `json:"level"`
	IncludeExecutionData bool   `json:"includeExecutionData"`
}

type tracingConfiguration struct {
	Enabled bool `json:"enabled"`
}

func describe(m *stateMachine) describeStateMachineOutput {
	return describeStateMachineOutput{
		StateMachineARN: m.ARN, Name: m.Name, Status: "ACTIVE", Definition: m.Definition, RoleARN: m.RoleARN,
		Type: m.Type, CreationDate: protocol.EpochSeconds(m.Created),
		LoggingConfiguration: loggingConfiguration{Level: "OFF"},
	}
}

func (s *Service) describeStateMachine(in arnInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.machine(in.StateMachineARN)
	if err != nil {
		return nil, err
	}
	return describe(m), nil
}

type executionARNInput struct {
	ExecutionARN string `json:"executionArn"`
}

func (s *Service) describeStateMachineForExecution(in executionARNInput) (any, error) {
	d, _, err := s.execution(in.ExecutionARN)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.machine(d.StateMachineARN)
	if err != nil {
		return nil, err
	}
	out := describe(m)
	return struct {
		StateMachineARN string  `json:"stateMachineArn"`
		Name            string  `json:"name"`
		Definition      string  `json:"definition"`
		RoleARN         string  `json:"roleArn"`
		UpdateDate      float64 `json:"updateDate"`
	}{out.StateMachineARN, out.Name, out.Definition, out.RoleARN, out.CreationDate}, nil
}

type listInput struct {
	MaxResults int32  `json:"maxResults"`
	NextToken  string `json:"nextToken"`
}

type stateMachineListItem struct {
	StateMachineARN string  `json:"stateMachineArn"`
	Name            string  `json:"name"`
	Type            string  `json:"type"`
	CreationDate    float64 `json:"creationDate"`
}

type listStateMachinesOutput struct {
	StateMachines []stateMachineListItem `json:"stateMachines"`
	NextToken     string                 `json:"nextToken,omitempty"`
}

func (s *Service) listStateMachines(in listInput) (any, error) {
	s.mu.Lock()
	items := make([]stateMachineListItem, 0, len(s.machines))
	for _, m := range s.machines {
		items = append(items, stateMachineListItem{StateMachineARN: m.ARN, Name: m.Name, Type: m.Type, CreationDate: protocol.EpochSeconds(m.Created)})
	}
	s.mu.Unlock()
	sortBy(items, func(i stateMachineListItem) string { return i.Name })
	page, next, err := paginate(items, in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, err
	}
	return listStateMachinesOutput{StateMachines: page, NextToken: next}, nil
}

func (s *Service) deleteStateMachine(in arnInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.machine(in.StateMachineARN); err != nil {
		// Deleting a machine that is gone succeeds, as on AWS.
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Code == CodeStateMachineDoesNotExist {
			return struct{}{}, nil
		}
		return nil, err
	}
	delete(s.machines, in.StateMachineARN)
	return struct{}{}, nil
}
