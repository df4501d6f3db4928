// Package lambda simulates AWS Lambda for the local endpoint. Functions are
// in-process handlers (aws-lambda-go's lambda.Handler) by default, or real
// `bootstrap` binaries run behind the Lambda Runtime API. It serves Invoke,
// GetFunction, GetFunctionConfiguration and ListFunctions over the REST-JSON
// protocol the SDK and CLI use, and offers Invoke, InvokePayload and
// InvokeAsync to the other simulated services (Step Functions tasks,
// EventBridge targets).
//
// Function errors are reported as AWS reports them for the Go runtime: status
// 200 with X-Amz-Function-Error: Unhandled and a body
// {"errorType": <Go type name>, "errorMessage": …}; Step Functions matches the
// errorType in ErrorEquals.
package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/uuid"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// Handler is an in-process function: aws-lambda-go's lambda.Handler, built
// from a handler function with lambda.NewHandler.
type Handler = awslambda.Handler

// Error codes Lambda answers with.
const (
	CodeResourceNotFound      = "ResourceNotFoundException"
	CodeInvalidParameterValue = "InvalidParameterValueException"
	CodeInvalidRequestContent = "InvalidRequestContentException"
	CodeRequestTooLarge       = "RequestTooLargeException"
)

// Wire names and limits of the Invoke API.
const (
	apiPrefix                   = "/2015-03-31/functions"
	latest                      = "$LATEST"
	headerFunctionError         = "X-Amz-Function-Error"
	headerExecutedVersion       = "X-Amz-Executed-Version"
	headerInvocationType        = "X-Amz-Invocation-Type"
	functionErrorUnhandled      = "Unhandled"
	invocationTypeEvent         = "Event"
	invocationTypeDryRun        = "DryRun"
	invocationTypeRequestResult = "RequestResponse"
	maxSyncPayload              = 6 * 1024 * 1024
	maxAsyncPayload             = 1024 * 1024
)

// What the simulated functions look like and how asynchronous invocations
// are retried (twice, one and then two minutes apart, as Lambda does).
const (
	defaultMemoryMB      = 128
	defaultTimeout       = 60 * time.Second
	lastModifiedLayout   = "2006-01-02T15:04:05.000-0700"
	functionRuntime      = "provided.al2023"
	functionHandlerName  = "bootstrap"
	asyncRetries         = 2
	firstAsyncRetryDelay = time.Minute
)

// FunctionError is an error a function returned or a runtime failure
// (panic, crash, timeout), in the shape Lambda returns it.
type FunctionError struct {
	Type       string          `json:"errorType,omitempty"`
	Message    string          `json:"errorMessage"`
	StackTrace json.RawMessage `json:"stackTrace,omitempty"`
}

// Error returns "Type: Message".
func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// Payload is the response body Lambda returns for the error.
func (e *FunctionError) Payload() []byte {
	b, err := json.Marshal(e)
	if err != nil {
		// Only strings and a RawMessage that was valid JSON: cannot fail.
		return []byte(`{"errorMessage":"unserializable function error"}`)
	}
	return b
}

// Config configures a Service.
type Config struct {
	// Region of function ARNs and of AWS_REGION; protocol.DefaultRegion if empty.
	Region string
	// Clock times asynchronous invocations and their retries; real if nil.
	Clock clock.Clock
	// Timeout is how long a binary function may run per invocation (wall
	// time) before it is stopped, as AWS stops a function at its timeout;
	// 60 seconds if zero. In-process handlers are not stopped.
	Timeout time.Duration
	// Logger receives function output and failures; slog.Default() if nil.
	Logger *slog.Logger
	// Faults throttles, times out or crashes invocations; none if nil.
	Faults Faults
}

// Faults is the part of the fault registry Lambda consults;
// *faults.Registry implements it.
type Faults interface {
	// InvocationFault returns "throttle", "timeout", "crash" or "" (none)
	// for this invocation of function with payload.
	InvocationFault(function string, payload []byte) string
	// HoldInvocation says whether this invocation is held in flight
	// before the function runs: released is then closed when it may go
	// on, and forget is called once it stops waiting; released is nil
	// when it is not held.
	HoldInvocation(function string, payload []byte) (released <-chan struct{}, forget func())
}

// clockHeldKey marks a context whose caller holds the clock busy.
type clockHeldKey struct{}

// ClockHeld returns ctx marked as the context of a caller that holds the
// clock busy while it waits for Invoke, as the Step Functions engine does
// for a Task state: an invocation held by fault injection hands that hold
// back while it waits, so that a virtual clock moves on meanwhile (on AWS
// time passes while a function runs). Without the mark a held invocation
// waits without touching the clock.
func ClockHeld(ctx context.Context) context.Context {
	return context.WithValue(ctx, clockHeldKey{}, true)
}

// Service is the simulated Lambda. It is safe for concurrent use.
type Service struct {
	region  string
	clock   clock.Clock
	timeout time.Duration
	log     *slog.Logger
	faults  Faults

	ctx    context.Context // ends at Close, stopping async retries
	cancel context.CancelFunc

	mu        sync.Mutex
	functions map[string]*function
	failures  []AsyncFailure
	closed    bool
	// invokeConfigs are the asynchronous invocation configurations by
	// function name; queues receives their on-failure records.
	invokeConfigs map[string]EventInvokeConfig
	queues        QueueSender
	// injected counts the invocations to fail, by function name
	// (FailInvocations).
	injected map[string]int
}

// function is one registered function: an in-process handler or a binary.
type function struct {
	name     string
	handler  Handler
	binary   *binaryFunction
	modified time.Time
}

// AsyncFailure is an asynchronous invocation whose every attempt failed (or
// that grew older than its maximum event age). Besides being kept here, it
// is sent to the function's on-failure destination when it has one (see
// PutEventInvokeConfig).
type AsyncFailure struct {
	FunctionName string          `json:"functionName"`
	Payload      json.RawMessage `json:"payload"`
	Attempts     int             `json:"attempts"`
	Error        FunctionError   `json:"error"`
	Time         time.Time       `json:"time"`
}

// New returns a Lambda with no functions.
func New(cfg Config) *Service {
	if cfg.Region == "" {
		cfg.Region = protocol.DefaultRegion
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{
		region: cfg.Region, clock: cfg.Clock, timeout: cfg.Timeout, log: cfg.Logger, faults: cfg.Faults,
		ctx: ctx, cancel: cancel, functions: map[string]*function{},
	}
}

var functionNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// Register makes h the in-process handler of the function name, replacing
// any function of that name.
func (s *Service) Register(name string, h Handler) error {
	if !functionNameRE.MatchString(name) {
		return fmt.Errorf("register function %q: a name is 1 to 64 letters, digits, hyphens or underscores", name)
	}
	if h == nil {
		return fmt.Errorf("register function %s: nil handler", name)
	}
	return s.add(&function{name: name, handler: h})
}

func (s *Service) add(fn *function) error {
	fn.modified = s.clock.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("register function %s: the service is closed", fn.name)
	}
	old := s.functions[fn.name]
	s.functions[fn.name] = fn
	s.mu.Unlock()
	if old != nil && old.binary != nil {
		old.binary.stop()
	}
	return nil
}

// FunctionARN returns the ARN of the function name.
func (s *Service) FunctionARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.region, protocol.Account, name)
}

// Close stops every binary function's process and pending asynchronous
// retries. Invocations after Close fail.
func (s *Service) Close() error {
	s.cancel()
	s.mu.Lock()
	s.closed = true
	var bins []*binaryFunction
	for _, fn := range s.functions {
		if fn.binary != nil {
			bins = append(bins, fn.binary)
		}
	}
	s.mu.Unlock()
	for _, b := range bins {
		b.stop()
	}
	return nil
}

func notFound(name string) *protocol.Error {
	return protocol.Errorf(http.StatusNotFound, CodeResourceNotFound, "Function not found: %s", name)
}

// resolve finds the function a FunctionName parameter names: a name, a
// partial ARN (account:function:name) or an ARN, optionally with a
// qualifier, which must be $LATEST (the simulation has no versions).
func (s *Service) resolve(ref, qualifier string) (*function, error) {
	name := ref
	if rest, ok := strings.CutPrefix(ref, "arn:aws:lambda:"); ok {
		// region:account:function:name[:qualifier]
		parts := strings.Split(rest, ":")
		if len(parts) < 4 || parts[2] != "function" {
			return nil, notFound(ref)
		}
		name = strings.Join(parts[3:], ":")
	} else if parts := strings.Split(ref, ":"); len(parts) >= 3 && parts[1] == "function" {
		name = strings.Join(parts[2:], ":")
	}
	if n, q, ok := strings.Cut(name, ":"); ok {
		if qualifier != "" && qualifier != q {
			return nil, protocol.Errorf(http.StatusBadRequest, CodeInvalidParameterValue, "The derived qualifier from the function name does not match the specified qualifier.")
		}
		name, qualifier = n, q
	}
	if qualifier != "" && qualifier != latest {
		return nil, notFound(s.FunctionARN(name) + ":" + qualifier)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, protocol.Errorf(http.StatusServiceUnavailable, "ServiceException", "the local Lambda service is closed")
	}
	fn, ok := s.functions[name]
	if !ok {
		return nil, notFound(s.FunctionARN(name))
	}
	return fn, nil
}

// Invoke runs the function name (a name or an ARN) synchronously. A function
// error is returned as fnErr with err nil; err is a service error such as
// ResourceNotFoundException (a *protocol.Error).
func (s *Service) Invoke(ctx context.Context, name string, payload []byte) (out []byte, fnErr *FunctionError, err error) {
	fn, err := s.resolve(name, "")
	if err != nil {
		return nil, nil, err
	}
	payload, err = checkPayload(payload, maxSyncPayload)
	if err != nil {
		return nil, nil, err
	}
	return s.run(ctx, fn, payload)
}

// InvokePayload invokes the function name synchronously and returns the
// response payload as the Invoke API does: the function's output, or with
// functionError true its error document ({"errorType": …, "errorMessage":
// …}). err is a service error (a *protocol.Error). It has the shape of the
// sfn package's LambdaInvoker.
func (s *Service) InvokePayload(ctx context.Context, name string, payload []byte) (out []byte, functionError bool, err error) {
	out, fnErr, err := s.Invoke(ctx, name, payload)
	if err != nil {
		return nil, false, err
	}
	if fnErr != nil {
		return fnErr.Payload(), true, nil
	}
	return out, false, nil
}

// InvokeAsync queues an asynchronous (Event) invocation of the function
// name and returns once it is accepted. The invocation runs on the clock; a
// function error is retried twice (or MaximumRetryAttempts times), one and
// then two minutes later, as Lambda does, unless the event would be older
// than its maximum event age; then it is recorded in AsyncFailures and its
// invocation record sent to the on-failure destination.
func (s *Service) InvokeAsync(ctx context.Context, name string, payload []byte) error {
	fn, err := s.resolve(name, "")
	if err != nil {
		return err
	}
	payload, err = checkPayload(payload, maxAsyncPayload)
	if err != nil {
		return err
	}
	// The hold travels with the invocation so a virtual clock waits for it.
	s.clock.Busy()
	go func() {
		defer s.clock.Done()
		s.runAsync(fn, payload)
	}()
	return nil
}

func (s *Service) runAsync(fn *function, payload []byte) {
	accepted := s.clock.Now()
	retries, maxAge, dest, queues := s.asyncPolicy(fn.name)
	delay := firstAsyncRetryDelay
	for attempt := 1; ; attempt++ {
		_, fnErr, err := s.run(ClockHeld(s.ctx), fn, payload)
		if err == nil && fnErr == nil {
			return
		}
		if fnErr == nil {
			fnErr = &FunctionError{Type: "ServiceException", Message: err.Error()}
		}
		condition := ""
		switch {
		case attempt > retries:
			condition = conditionRetriesExhausted
		case s.clock.Now().Add(delay).Sub(accepted) > maxAge:
			condition = conditionEventAgeExceeded
		}
		if condition != "" {
			s.log.Warn("asynchronous invocation given up", "function", fn.name, "attempts", attempt, "condition", condition, "errorType", fnErr.Type, "error", fnErr.Message)
			s.mu.Lock()
			s.failures = append(s.failures, AsyncFailure{FunctionName: fn.name, Payload: payload, Attempts: attempt, Error: *fnErr, Time: s.clock.Now()})
			s.mu.Unlock()
			s.deliverFailure(fn, dest, queues, payload, attempt, condition, fnErr)
			return
		}
		s.log.Info("asynchronous invocation failed, retrying", "function", fn.name, "attempt", attempt, "errorType", fnErr.Type, "retryIn", delay)
		if s.clock.Sleep(s.ctx, delay) != nil {
			return
		}
		delay *= 2
	}
}

// AsyncFailures returns the asynchronous invocations that failed every
// attempt, oldest first.
func (s *Service) AsyncFailures() []AsyncFailure {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.failures)
}

// checkPayload applies Lambda's payload rules: JSON, within the size limit;
// an empty payload is {}.
func checkPayload(payload []byte, limit int) ([]byte, error) {
	if len(payload) > limit {
		return nil, protocol.Errorf(http.StatusRequestEntityTooLarge, CodeRequestTooLarge, "Request must be smaller than %d bytes for the InvokeFunction operation", limit)
	}
	if len(strings.TrimSpace(string(payload))) == 0 {
		return []byte("{}"), nil
	}
	if !json.Valid(payload) {
		return nil, protocol.Errorf(http.StatusBadRequest, CodeInvalidRequestContent, "Could not parse request body into json: the payload is not valid JSON")
	}
	return payload, nil
}

func (s *Service) run(ctx context.Context, fn *function, payload []byte) ([]byte, *FunctionError, error) {
	if fnErr := s.injectedFault(fn.name); fnErr != nil {
		return nil, fnErr, nil
	}
	if err := s.hold(ctx, fn, payload); err != nil {
		return nil, nil, err
	}
	fault := ""
	if s.faults != nil {
		fault = s.faults.InvocationFault(fn.name, payload)
	}
	switch fault {
	case "throttle":
		// Lambda refuses the invocation: the function does not run.
		return nil, nil, protocol.Errorf(http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded.")
	case "crash":
		s.log.Info("crashing an invocation by fault injection", "function", fn.name)
		return nil, &FunctionError{Type: "Runtime.ExitError", Message: "RequestId: " + uuid.NewString() +
			" Error: Runtime exited with error: exit status 2"}, nil
	}
	out, fnErr, err := s.call(ctx, fn, payload)
	if fault == "timeout" && err == nil {
		// The function did its work; its answer is lost, as when Lambda
		// stops a function at its timeout after its last API call.
		s.log.Info("timing out an invocation by fault injection", "function", fn.name)
		return nil, &FunctionError{Type: "Sandbox.Timedout", Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds",
			uuid.NewString(), s.timeout.Seconds())}, nil
	}
	return out, fnErr, err
}

// hold waits, before the function runs, while fault injection holds the
// invocation in flight (faults.InvokeHold). A caller that holds the clock
// (ClockHeld) has its hold handed back meanwhile. It returns ctx's error
// if ctx ends first, or an error if the service closes.
func (s *Service) hold(ctx context.Context, fn *function, payload []byte) error {
	if s.faults == nil {
		return nil
	}
	released, forget := s.faults.HoldInvocation(fn.name, payload)
	if released == nil {
		return nil
	}
	defer forget()
	s.log.Info("holding an invocation by fault injection", "function", fn.name)
	if held, _ := ctx.Value(clockHeldKey{}).(bool); held {
		s.clock.Done()
		defer s.clock.Busy()
	}
	select {
	case <-released:
		s.log.Info("releasing an invocation held by fault injection", "function", fn.name)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.ctx.Done():
		return protocol.Errorf(http.StatusInternalServerError, "ServiceException", "the Lambda service stopped while the invocation was held")
	}
}

// call runs the function: its binary, or its in-process handler.
func (s *Service) call(ctx context.Context, fn *function, payload []byte) ([]byte, *FunctionError, error) {
	if fn.binary != nil {
		return fn.binary.invoke(ctx, payload)
	}
	// In-process handlers see the invocation metadata the Go runtime gives
	// them; there is no deadline, as their time may be virtual.
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID: uuid.NewString(), InvokedFunctionArn: s.FunctionARN(fn.name),
	})
	out, fnErr := callHandler(ctx, fn.handler, payload)
	return out, fnErr, nil
}

// callHandler runs an in-process handler the way aws-lambda-go's runtime
// loop does: a returned error or a panic becomes a function error whose
// type is the Go type name of the error or panic value (the element type
// for a pointer).
func callHandler(ctx context.Context, h Handler, payload []byte) (out []byte, fnErr *FunctionError) {
	defer func() {
		if v := recover(); v != nil {
			fnErr = &FunctionError{Type: typeName(v), Message: fmt.Sprintf("%v", v), StackTrace: panicStack()}
		}
	}()
	out, err := h.Invoke(ctx, payload)
	if err != nil {
		// A handler may return the runtime's own error shape, which
		// aws-lambda-go passes through unchanged.
		if ive, ok := err.(messages.InvokeResponse_Error); ok {
			return nil, &FunctionError{Type: ive.Type, Message: ive.Message}
		}
		return nil, &FunctionError{Type: typeName(err), Message: err.Error()}
	}
	return out, nil
}

func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

// stackFrame is a frame of a panic's stack as the Go runtime reports it.
type stackFrame struct {
	Path  string `json:"path"`
	Line  int    `json:"line"`
	Label string `json:"label"`
}

func panicStack() json.RawMessage {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var out []stackFrame
	for {
		f, more := frames.Next()
		label := f.Function
		if i := strings.LastIndex(label, "."); i >= 0 {
			label = label[i+1:]
		}
		out = append(out, stackFrame{Path: f.File, Line: f.Line, Label: label})
		if !more {
			break
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil
	}
	return b
}

// ServeHTTP serves the Lambda REST API under /2015-03-31/functions.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, apiPrefix)
	if !ok {
		writeError(w, protocol.Errorf(http.StatusNotFound, protocol.CodeUnknownOperation, "unknown operation %s %s", r.Method, r.URL.Path))
		return
	}
	rest = strings.Trim(rest, "/")
	switch {
	case rest == "" && r.Method == http.MethodGet:
		s.listFunctions(w, r)
	case strings.HasSuffix(rest, "/invocations") && r.Method == http.MethodPost:
		s.serveInvoke(w, r, strings.TrimSuffix(rest, "/invocations"))
	case rest != "" && !strings.Contains(rest, "/") && r.Method == http.MethodGet:
		s.getFunction(w, r, rest, false)
	case strings.HasSuffix(rest, "/configuration") && r.Method == http.MethodGet:
		s.getFunction(w, r, strings.TrimSuffix(rest, "/configuration"), true)
	default:
		writeError(w, protocol.Errorf(http.StatusNotFound, protocol.CodeUnknownOperation, "unknown operation %s %s", r.Method, r.URL.Path))
	}
}

// writeError writes a REST-JSON error as Lambda does.
func writeError(w http.ResponseWriter, err error) {
	var perr *protocol.Error
	if !errors.As(err, &perr) {
		perr = protocol.InternalFailure()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", perr.Code)
	w.WriteHeader(perr.Status)
	b, _ := json.Marshal(struct {
		Type    string `json:"Type"`
		Message string `json:"message"`
	}{"User", perr.Message})
	w.Write(b)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, protocol.InternalFailure())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (s *Service) serveInvoke(w http.ResponseWriter, r *http.Request, ref string) {
	fn, err := s.resolve(ref, r.URL.Query().Get("Qualifier"))
	if err != nil {
		writeError(w, err)
		return
	}
	typ := r.Header.Get(headerInvocationType)
	limit := maxSyncPayload
	switch typ {
	case "", invocationTypeRequestResult, invocationTypeDryRun:
	case invocationTypeEvent:
		limit = maxAsyncPayload
	default:
		writeError(w, protocol.Errorf(http.StatusBadRequest, CodeInvalidParameterValue, "Invalid InvocationType %q: must be RequestResponse, Event or DryRun", typ))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		writeError(w, protocol.Errorf(http.StatusBadRequest, CodeInvalidRequestContent, "read request body: %v", err))
		return
	}
	payload, err := checkPayload(body, limit)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set(headerExecutedVersion, latest)
	switch typ {
	case invocationTypeDryRun:
		w.WriteHeader(http.StatusNoContent)
		return
	case invocationTypeEvent:
		if err := s.InvokeAsync(r.Context(), fn.name, payload); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	out, fnErr, err := s.run(r.Context(), fn, payload)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if fnErr != nil {
		w.Header().Set(headerFunctionError, functionErrorUnhandled)
		out = fnErr.Payload()
	}
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}

// Configuration is a function's configuration in the API's shape.
type Configuration struct {
	FunctionName     string       `json:"FunctionName"`
	FunctionArn      string       `json:"FunctionArn"`
	Runtime          string       `json:"Runtime"`
	Handler          string       `json:"Handler"`
	CodeSize         int64        `json:"CodeSize"`
	CodeSha256       string       `json:"CodeSha256,omitempty"`
	Timeout          int          `json:"Timeout"`
	MemorySize       int          `json:"MemorySize"`
	LastModified     string       `json:"LastModified"`
	Version          string       `json:"Version"`
	State            string       `json:"State"`
	LastUpdateStatus string       `json:"LastUpdateStatus"`
	PackageType      string       `json:"PackageType"`
	Architectures    []string     `json:"Architectures"`
	Environment      *environment `json:"Environment,omitempty"`
}

type environment struct {
	Variables map[string]string `json:"Variables"`
}

func (s *Service) configuration(fn *function) Configuration {
	arch := "x86_64"
	if runtime.GOARCH == "arm64" {
		arch = "arm64"
	}
	c := Configuration{
		FunctionName: fn.name, FunctionArn: s.FunctionARN(fn.name), Runtime: functionRuntime,
		Handler: functionHandlerName, Timeout: int(s.timeout / time.Second), MemorySize: defaultMemoryMB,
		LastModified: fn.modified.UTC().Format(lastModifiedLayout), Version: latest, State: "Active",
		LastUpdateStatus: "Successful", PackageType: "Zip", Architectures: []string{arch},
	}
	if b := fn.binary; b != nil {
		c.Environment = &environment{Variables: b.env}
		if f, err := os.ReadFile(b.path); err == nil {
			sum := sha256.Sum256(f)
			c.CodeSize = int64(len(f))
			c.CodeSha256 = base64.StdEncoding.EncodeToString(sum[:])
		}
	}
	return c
}

// getFunction serves GetFunction, or GetFunctionConfiguration when
// configOnly.
func (s *Service) getFunction(w http.ResponseWriter, r *http.Request, ref string, configOnly bool) {
	fn, err := s.resolve(ref, r.URL.Query().Get("Qualifier"))
	if err != nil {
		writeError(w, err)
		return
	}
	if configOnly {
		writeJSON(w, s.configuration(fn))
		return
	}
	writeJSON(w, struct {
		Configuration Configuration `json:"Configuration"`
	}{s.configuration(fn)})
}

func (s *Service) listFunctions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, protocol.Errorf(http.StatusBadRequest, CodeInvalidParameterValue, "MaxItems must be between 1 and 10000, got %q", v))
			return
		}
		limit = n
	}
	marker := q.Get("Marker")
	s.mu.Lock()
	var fns []*function
	for _, fn := range s.functions {
		// Marker is the name of the first function of the next page.
		if fn.name >= marker {
			fns = append(fns, fn)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(fns, func(a, b *function) int { return strings.Compare(a.name, b.name) })
	out := struct {
		Functions  []Configuration `json:"Functions"`
		NextMarker string          `json:"NextMarker,omitempty"`
	}{Functions: []Configuration{}}
	for i, fn := range fns {
		if i == limit {
			out.NextMarker = fn.name
			break
		}
		out.Functions = append(out.Functions, s.configuration(fn))
	}
	writeJSON(w, out)
}
