package asl

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/internal/clock"
)

// TaskCall is what a TaskRunner receives for one attempt of a Task state.
type TaskCall struct {
	// Resource is the state's Resource field, as written.
	Resource string
	// Parameters is the effective input of the task: the state input after
	// InputPath and Parameters.
	Parameters json.RawMessage
	// TaskToken is set for ".waitForTaskToken" resources; the task then
	// ends when the token is completed, not when RunTask returns.
	TaskToken string
	// StateName names the Task state.
	StateName string
	// ExecutionARN identifies the execution.
	ExecutionARN string
}

// TaskRunner runs the Task states whose resource is not a Lambda function.
// An error of type *TaskError fails the task with that error name; any other
// error fails it with States.TaskFailed.
type TaskRunner interface {
	RunTask(ctx context.Context, call TaskCall) (json.RawMessage, error)
}

// TaskRunnerFunc adapts a function to the TaskRunner interface.
type TaskRunnerFunc func(ctx context.Context, call TaskCall) (json.RawMessage, error)

// RunTask calls f.
func (f TaskRunnerFunc) RunTask(ctx context.Context, call TaskCall) (json.RawMessage, error) {
	return f(ctx, call)
}

// LambdaInvoker invokes a Lambda function synchronously and returns its
// response payload. A function error should be returned as a *TaskError
// named after the function's error type.
type LambdaInvoker func(ctx context.Context, functionName string, payload []byte) ([]byte, error)

// Config configures an Engine.
type Config struct {
	// Clock is the time source of every execution; nil means clock.Real().
	Clock clock.Clock
	// Tasks runs Task states other than Lambda invocations.
	Tasks TaskRunner
	// Lambda invokes Lambda functions for Lambda ARN resources and for
	// arn:aws:states:::lambda:invoke.
	Lambda LambdaInvoker
	// Logger receives decisions worth logging; nil discards them.
	Logger *slog.Logger
	// Region is reported in task events; empty means us-east-1.
	Region string
}

// Engine runs executions of state machine definitions and holds them,
// finished or not, for Describe, History and the task-token calls. Its
// methods are safe for concurrent use.
type Engine struct {
	cfg Config
	clk clock.Clock
	log *slog.Logger

	mu     sync.Mutex
	execs  map[string]*Execution
	tokens map[string]*taskWait
}

// NewEngine returns an engine with no executions.
func NewEngine(cfg Config) *Engine {
	e := &Engine{cfg: cfg, clk: cfg.Clock, log: cfg.Logger, execs: map[string]*Execution{}, tokens: map[string]*taskWait{}}
	if e.clk == nil {
		e.clk = clock.Real()
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.cfg.Region == "" {
		e.cfg.Region = "us-east-1"
	}
	return e
}

// Status is the status of an execution, as Step Functions names it.
type Status string

// Execution statuses.
const (
	StatusRunning   Status = "RUNNING"
	StatusSucceeded Status = "SUCCEEDED"
	StatusFailed    Status = "FAILED"
	StatusTimedOut  Status = "TIMED_OUT"
	StatusAborted   Status = "ABORTED"
)

// StartInput describes an execution to start. Checking names against AWS's
// rules is the caller's job.
type StartInput struct {
	// StateMachineARN is the ARN of the state machine; the execution ARN is
	// derived from it. Empty means a local placeholder ARN.
	StateMachineARN string
	// Name is the execution name, unique within the engine per state
	// machine; empty means a generated UUID, as StartExecution does.
	Name string
	// Input is the JSON input; empty means {}.
	Input string
	// RoleARN is reported in $$.Execution.RoleArn.
	RoleARN string
}

// Description summarizes an execution, as DescribeExecution does.
type Description struct {
	ExecutionARN    string
	StateMachineARN string
	Name            string
	Status          Status
	Input           string
	Output          string // set when Status is SUCCEEDED
	Error           string // set when Status is FAILED, TIMED_OUT or ABORTED
	Cause           string
	StartDate       time.Time
	StopDate        time.Time // zero while running
}

// Execution is one run of a definition.
type Execution struct {
	eng        *Engine
	def        *Definition
	arn, smARN string
	name       string
	roleARN    string
	input      any
	inputJSON  string
	start      time.Time
	cancel     context.CancelCauseFunc
	done       chan struct{}
	closeDone  sync.Once

	mu          sync.Mutex
	status      Status
	output      string
	errName     string
	cause       string
	stop        time.Time
	events      []Event
	path        []string
	transitions int
	ended       bool // the terminal event is recorded
}

// Start begins an execution of def and returns at once; the execution runs
// in the background on the engine's clock. ctx only carries values: the
// execution outlives it. It fails with ErrExecutionAlreadyExists or
// ErrInvalidExecutionInput.
func (e *Engine) Start(ctx context.Context, def *Definition, in StartInput) (*Execution, error) {
	if in.Name == "" {
		in.Name = newUUID()
	}
	smARN := in.StateMachineARN
	if smARN == "" {
		smARN = "arn:aws:states:" + e.cfg.Region + ":000000000000:stateMachine:local"
	}
	raw := in.Input
	if strings.TrimSpace(raw) == "" {
		raw = "{}"
	}
	input, err := decodeJSON([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("start execution %s: %w: %v", in.Name, ErrInvalidExecutionInput, err)
	}
	if len(raw) > MaxPayloadSize {
		return nil, fmt.Errorf("start execution %s: %w: %d bytes, more than %d", in.Name, ErrInvalidExecutionInput, len(raw), MaxPayloadSize)
	}
	x := &Execution{
		eng: e, def: def, smARN: smARN, name: in.Name, roleARN: in.RoleARN,
		arn:   executionARN(smARN, in.Name),
		input: input, inputJSON: raw,
		start: e.clk.Now(), status: StatusRunning, done: make(chan struct{}),
	}
	e.mu.Lock()
	if _, dup := e.execs[x.arn]; dup {
		e.mu.Unlock()
		return nil, fmt.Errorf("start execution %s: %w", in.Name, ErrExecutionAlreadyExists)
	}
	e.execs[x.arn] = x
	e.mu.Unlock()

	runCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	x.cancel = cancel
	x.record(nil, "ExecutionStarted", func(ev *Event) {
		ev.ExecutionStarted = &ExecutionStartedDetails{Input: raw, RoleARN: in.RoleARN, StateMachineARN: smARN}
	})
	e.clk.Busy() // handed to the execution goroutine
	if def.Timeout > 0 {
		e.clk.Busy()
		go x.watchTimeout(def.Timeout)
	}
	go x.run(runCtx)
	return x, nil
}

// executionARN derives an execution ARN from a state machine ARN.
func executionARN(smARN, name string) string {
	if i := strings.Index(smARN, ":stateMachine:"); i >= 0 {
		return smARN[:i] + ":execution:" + smARN[i+len(":stateMachine:"):] + ":" + name
	}
	return smARN + ":" + name
}

// stopCause is the cause an execution's context is cancelled with when it
// times out or is stopped.
type stopCause struct {
	status      Status
	name, cause string
}

func (s *stopCause) Error() string { return string(s.status) }

// watchTimeout ends the execution when its TimeoutSeconds elapse. It starts
// holding the clock.
func (x *Execution) watchTimeout(d time.Duration) {
	clk := x.eng.clk
	t := clk.NewTimer(d)
	defer t.Stop()
	clk.Done()
	select {
	case <-t.C():
		// Record the outcome before cancelling, while this goroutine still
		// holds the clock: once it lets go, a virtual clock may move on.
		cause := &stopCause{status: StatusTimedOut, name: ErrTimeout, cause: fmt.Sprintf("the execution ran longer than its TimeoutSeconds (%v)", d)}
		x.cancel(cause)
		x.finish(cause.status, "", cause.name, cause.cause)
		clk.Done()
	case <-x.done:
	}
}

// run executes the definition and records the outcome. It starts holding
// the clock and releases it when the execution has ended.
func (x *Execution) run(ctx context.Context) {
	clk := x.eng.clk
	defer clk.Done()
	th := &thread{x: x, prevEvent: 1} // after ExecutionStarted
	out, err := th.runMachine(ctx, x.def.top, x.input)
	if cause, ok := context.Cause(ctx).(*stopCause); ok {
		x.finish(cause.status, "", cause.name, cause.cause)
		return
	}
	if err != nil {
		x.finish(StatusFailed, "", err.Name, err.Cause)
		return
	}
	x.finish(StatusSucceeded, mustString(out), "", "")
}

// finish records the terminal status and event unless one is recorded
// already (Stop records its own), then releases everything the execution
// holds.
func (x *Execution) finish(status Status, output, name, cause string) {
	x.mu.Lock()
	first := x.status == StatusRunning
	if first {
		x.status, x.output, x.errName, x.cause, x.stop = status, output, name, cause, x.eng.clk.Now()
	}
	x.mu.Unlock()
	if first {
		x.recordTerminal(status, output, name, cause)
		x.eng.log.Info("execution ended", "execution", x.arn, "status", string(status), "error", name)
	}
	x.cancel(nil)
	x.eng.closeTokens(x)
	x.closeDone.Do(func() { close(x.done) })
}

func (x *Execution) recordTerminal(status Status, output, name, cause string) {
	x.appendEvent(nil, "Execution"+map[Status]string{
		StatusSucceeded: "Succeeded", StatusFailed: "Failed", StatusTimedOut: "TimedOut", StatusAborted: "Aborted",
	}[status], func(ev *Event) {
		f := &FailureDetails{Error: name, Cause: cause}
		switch status {
		case StatusSucceeded:
			ev.ExecutionSucceeded = &OutputDetails{Output: output}
		case StatusFailed:
			ev.ExecutionFailed = f
		case StatusTimedOut:
			ev.ExecutionTimedOut = f
		case StatusAborted:
			ev.ExecutionAborted = f
		}
	}, true)
}

// ARN returns the execution's ARN.
func (x *Execution) ARN() string { return x.arn }

// Done returns a channel closed when the execution has ended.
func (x *Execution) Done() <-chan struct{} { return x.done }

// Wait blocks until the execution ends or ctx does, and describes it.
func (x *Execution) Wait(ctx context.Context) (Description, error) {
	select {
	case <-x.done:
		return x.Describe(), nil
	case <-ctx.Done():
		return x.Describe(), fmt.Errorf("wait for execution %s: %w", x.arn, ctx.Err())
	}
}

// Describe returns the execution's current description.
func (x *Execution) Describe() Description {
	x.mu.Lock()
	defer x.mu.Unlock()
	return Description{
		ExecutionARN: x.arn, StateMachineARN: x.smARN, Name: x.name, Status: x.status,
		Input: x.inputJSON, Output: x.output, Error: x.errName, Cause: x.cause,
		StartDate: x.start, StopDate: x.stop,
	}
}

// History returns a copy of the events recorded so far, oldest first.
func (x *Execution) History() []Event {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]Event(nil), x.events...)
}

// Path returns the names of the states entered so far, in order (states of
// concurrent branches interleave as they ran).
func (x *Execution) Path() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]string(nil), x.path...)
}

// Transitions returns the number of state transitions so far: one per state
// entered, as Step Functions counts them.
func (x *Execution) Transitions() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.transitions
}

// record appends an event; th (nil for execution-level events) tracks the
// previous event of the same branch for PreviousEventID.
func (x *Execution) record(th *thread, typ string, fill func(*Event)) {
	x.appendEvent(th, typ, fill, false)
}

// appendEvent records an event unless the execution's terminal event is
// recorded already: work still winding down after a stop or a timeout
// leaves no trace, as in AWS.
func (x *Execution) appendEvent(th *thread, typ string, fill func(*Event), terminal bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ended {
		return
	}
	x.ended = terminal
	id := int64(len(x.events) + 1)
	ev := Event{ID: id, Timestamp: x.eng.clk.Now(), Type: typ}
	switch {
	case th != nil:
		ev.PreviousEventID = th.prevEvent
		th.prevEvent = id
	case id > 1:
		ev.PreviousEventID = id - 1
	}
	if fill != nil {
		fill(&ev)
	}
	x.events = append(x.events, ev)
}

// Execution returns the execution with this ARN.
func (e *Engine) Execution(arn string) (*Execution, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.execs[arn]
	if !ok {
		return nil, fmt.Errorf("execution %s: %w", arn, ErrExecutionDoesNotExist)
	}
	return x, nil
}

// Executions returns every execution the engine holds, in no particular order.
func (e *Engine) Executions() []*Execution {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Execution, 0, len(e.execs))
	for _, x := range e.execs {
		out = append(out, x)
	}
	return out
}

// Describe describes the execution with this ARN.
func (e *Engine) Describe(arn string) (Description, error) {
	x, err := e.Execution(arn)
	if err != nil {
		return Description{}, err
	}
	return x.Describe(), nil
}

// Stop aborts a running execution with the given error and cause, as
// StopExecution does; stopping an ended execution changes nothing.
func (e *Engine) Stop(arn, errName, cause string) (Description, error) {
	x, err := e.Execution(arn)
	if err != nil {
		return Description{}, err
	}
	x.cancel(&stopCause{status: StatusAborted, name: errName, cause: cause})
	x.finish(StatusAborted, "", errName, cause)
	return x.Describe(), nil
}

// taskWait is a task waiting for its token to be completed.
type taskWait struct {
	exec      *Execution
	closed    bool
	result    chan tokenResult // buffered: at most one result is sent
	heartbeat clock.Timer      // nil without HeartbeatSeconds
	hbEvery   time.Duration
}

type tokenResult struct {
	output any
	err    *Error
}

// newToken returns an opaque, unguessable task token.
func newToken() string {
	var b [48]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validToken reports whether s has the shape of a token newToken makes.
func validToken(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 48
}

func (e *Engine) lookupToken(token string) (*taskWait, error) {
	if !validToken(token) {
		return nil, ErrInvalidToken
	}
	tw, ok := e.tokens[token]
	if !ok {
		return nil, ErrTaskDoesNotExist
	}
	if tw.closed {
		return nil, ErrTaskTimedOut
	}
	return tw, nil
}

// complete delivers a result to the waiting task. The clock hold travels
// with the result to the task's goroutine.
func (e *Engine) complete(token string, r tokenResult) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	tw, err := e.lookupToken(token)
	if err != nil {
		return err
	}
	tw.closed = true
	e.clk.Busy()
	tw.result <- r
	return nil
}

// SendTaskSuccess completes the task of a token with an output (JSON).
func (e *Engine) SendTaskSuccess(token, output string) error {
	v, err := decodeJSON([]byte(output))
	if err != nil {
		return fmt.Errorf("send task success: %w: %v", ErrInvalidOutput, err)
	}
	if err := e.complete(token, tokenResult{output: v}); err != nil {
		return fmt.Errorf("send task success: %w", err)
	}
	return nil
}

// SendTaskFailure fails the task of a token with an error name and cause.
func (e *Engine) SendTaskFailure(token, errName, cause string) error {
	if err := e.complete(token, tokenResult{err: &Error{Name: errName, Cause: cause}}); err != nil {
		return fmt.Errorf("send task failure: %w", err)
	}
	return nil
}

// SendTaskHeartbeat restarts the heartbeat timeout of the task of a token.
func (e *Engine) SendTaskHeartbeat(token string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	tw, err := e.lookupToken(token)
	if err != nil {
		return fmt.Errorf("send task heartbeat: %w", err)
	}
	if tw.heartbeat != nil {
		tw.heartbeat.Reset(tw.hbEvery)
	}
	return nil
}

// closeTokens closes every token of an ended execution.
func (e *Engine) closeTokens(x *Execution) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, tw := range e.tokens {
		if tw.exec == x {
			tw.closed = true
		}
	}
}
