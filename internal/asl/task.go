package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

var (
	lambdaFunctionARN = regexp.MustCompile(`^arn:[a-z-]+:lambda:[^:]*:[^:]*:function:[^:]+(:[^:]+)?$`)
	serviceResource   = regexp.MustCompile(`^arn:[a-z-]+:states:::([^:]+):(.+)$`)
)

const waitForTaskToken = ".waitForTaskToken"

// resourceKind says how a Task state's Resource is run.
type resourceKind struct {
	legacyLambda bool   // a Lambda function ARN
	lambdaInvoke bool   // arn:aws:states:::lambda:invoke[.waitForTaskToken]
	waitToken    bool   // the .waitForTaskToken integration pattern
	resourceType string // for task events: "lambda", "ecs", "activity", ...
	resource     string // for task events: "invoke.waitForTaskToken", ...
}

func classifyResource(arn string) resourceKind {
	if lambdaFunctionARN.MatchString(arn) {
		return resourceKind{legacyLambda: true, resourceType: "lambda", resource: arn}
	}
	if m := serviceResource.FindStringSubmatch(arn); m != nil {
		action := m[2]
		return resourceKind{
			lambdaInvoke: m[1] == "lambda" && strings.TrimSuffix(action, waitForTaskToken) == "invoke",
			waitToken:    strings.HasSuffix(action, waitForTaskToken),
			resourceType: m[1], resource: action,
		}
	}
	if strings.Contains(arn, ":activity:") {
		return resourceKind{resourceType: "activity", resource: arn}
	}
	return resourceKind{resourceType: "unknown", resource: arn}
}

// task runs one attempt of a Task state.
func (t *thread) task(ctx context.Context, s *state, raw any, entered time.Time, retries int) (any, *Error) {
	x := t.x
	eff, err := effectiveInput(s, raw)
	if err != nil {
		return nil, err
	}
	kind := classifyResource(s.resource)
	var tw *taskWait
	token := ""
	if kind.waitToken {
		token = newToken()
		tw = &taskWait{exec: x, result: make(chan tokenResult, 1)}
		x.eng.mu.Lock()
		x.eng.tokens[token] = tw
		x.eng.mu.Unlock()
		defer x.eng.releaseToken(tw)
	}
	ctxObj := t.stateContext(s, entered, retries, token)
	params := eff
	if s.parameters != nil {
		v, perr := s.parameters.eval(eff, ctxObj)
		if perr != nil {
			return nil, asError(perr)
		}
		params = v
	}
	if err := checkSize(fmt.Sprintf("the parameters of state %q", s.name), params); err != nil {
		return nil, err
	}
	timeout, err := durationField(s.name, "TimeoutSecondsPath", s.timeout, s.timeoutPath, eff, ctxObj)
	if err != nil {
		return nil, err
	}
	heartbeat, err := durationField(s.name, "HeartbeatSecondsPath", s.heartbeat, s.heartbeatPath, eff, ctxObj)
	if err != nil {
		return nil, err
	}
	if tw == nil {
		heartbeat = 0 // only a task with a token can send heartbeats
	}
	paramsJSON := mustString(params)

	if kind.legacyLambda {
		t.x.record(t, "LambdaFunctionScheduled", func(ev *Event) {
			ev.LambdaFunctionScheduled = &LambdaScheduledDetails{Resource: s.resource, Input: paramsJSON, TimeoutInSeconds: int64(timeout / time.Second)}
		})
		t.x.record(t, "LambdaFunctionStarted", nil)
	} else {
		t.x.record(t, "TaskScheduled", func(ev *Event) {
			ev.TaskScheduled = &TaskScheduledDetails{
				ResourceType: kind.resourceType, Resource: kind.resource, Region: x.eng.cfg.Region,
				Parameters: paramsJSON, TimeoutInSeconds: int64(timeout / time.Second), HeartbeatInSeconds: int64(heartbeat / time.Second),
			}
		})
		t.x.record(t, "TaskStarted", func(ev *Event) {
			ev.TaskStarted = &TaskDetails{ResourceType: kind.resourceType, Resource: kind.resource}
		})
	}

	invoke := func(ctx context.Context) (any, error) {
		return t.invoke(ctx, s, kind, params, paramsJSON, token)
	}
	submitted := func(v any) {
		out := mustString(v)
		t.x.record(t, "TaskSubmitted", func(ev *Event) {
			ev.TaskSubmitted = &TaskDetails{ResourceType: kind.resourceType, Resource: kind.resource, Output: out}
		})
	}
	result, terr := t.await(ctx, tw, invoke, timeout, heartbeat, submitted)
	if terr != nil {
		if terr.Name != errAborted {
			t.recordTaskFailure(kind, terr)
		}
		return nil, terr
	}
	if err := checkSize(fmt.Sprintf("the result of state %q", s.name), result); err != nil {
		return nil, err
	}
	out := mustString(result)
	if kind.legacyLambda {
		t.x.record(t, "LambdaFunctionSucceeded", func(ev *Event) { ev.LambdaFunctionSucceeded = &OutputDetails{Output: out} })
	} else {
		t.x.record(t, "TaskSucceeded", func(ev *Event) {
			ev.TaskSucceeded = &TaskDetails{ResourceType: kind.resourceType, Resource: kind.resource, Output: out}
		})
	}
	return t.finishResult(s, raw, result, ctxObj)
}

func (t *thread) recordTaskFailure(kind resourceKind, e *Error) {
	timedOut := e.Name == ErrTimeout || e.Name == ErrHeartbeatTimeout
	switch {
	case kind.legacyLambda && timedOut:
		t.x.record(t, "LambdaFunctionTimedOut", func(ev *Event) { ev.LambdaFunctionTimedOut = &FailureDetails{Error: e.Name, Cause: e.Cause} })
	case kind.legacyLambda:
		t.x.record(t, "LambdaFunctionFailed", func(ev *Event) { ev.LambdaFunctionFailed = &FailureDetails{Error: e.Name, Cause: e.Cause} })
	case timedOut:
		t.x.record(t, "TaskTimedOut", func(ev *Event) {
			ev.TaskTimedOut = &TaskDetails{ResourceType: kind.resourceType, Resource: kind.resource, Error: e.Name, Cause: e.Cause}
		})
	default:
		t.x.record(t, "TaskFailed", func(ev *Event) {
			ev.TaskFailed = &TaskDetails{ResourceType: kind.resourceType, Resource: kind.resource, Error: e.Name, Cause: e.Cause}
		})
	}
}

// durationField resolves TimeoutSeconds(Path) or HeartbeatSeconds(Path);
// zero means none.
func durationField(stateName, field string, literal int64, path *referencePath, input, ctxObj any) (time.Duration, *Error) {
	if path == nil {
		return time.Duration(literal) * time.Second, nil
	}
	v, ok := path.get(input, ctxObj)
	n, isInt := toInt(v)
	if !ok || !isInt || n <= 0 {
		return 0, newError(ErrRuntime, "%s %q of state %q must point to a positive integer, got %s", field, path, stateName, mustString(v))
	}
	return time.Duration(n) * time.Second, nil
}

// invoke performs the call of a task's resource.
func (t *thread) invoke(ctx context.Context, s *state, kind resourceKind, params any, paramsJSON, token string) (any, error) {
	eng := t.x.eng
	switch {
	case kind.legacyLambda:
		if eng.cfg.Lambda == nil {
			return nil, fmt.Errorf("no Lambda invoker is configured for %s", s.resource)
		}
		out, err := eng.cfg.Lambda(ctx, s.resource, []byte(paramsJSON))
		if err != nil {
			return nil, err
		}
		return decodeResult(out), nil
	case kind.lambdaInvoke:
		if eng.cfg.Lambda == nil {
			return nil, fmt.Errorf("no Lambda invoker is configured for %s", s.resource)
		}
		m, _ := params.(map[string]any)
		fn, _ := m["FunctionName"].(string)
		if fn == "" {
			return nil, newError(ErrRuntime, "the parameters of state %q need a FunctionName string for %s", s.name, s.resource)
		}
		payload := []byte("{}")
		if p, ok := m["Payload"]; ok {
			if str, isStr := p.(string); isStr {
				payload = []byte(str)
			} else {
				payload = []byte(mustString(p))
			}
		}
		out, err := eng.cfg.Lambda(ctx, fn, payload)
		if err != nil {
			return nil, err
		}
		requestID := newUUID()
		return map[string]any{
			"ExecutedVersion": "$LATEST",
			"Payload":         decodeResult(out),
			"SdkHttpMetadata": map[string]any{
				"AllHttpHeaders": map[string]any{"X-Amz-Executed-Version": []any{"$LATEST"}, "x-amzn-RequestId": []any{requestID}, "Content-Type": []any{"application/json"}},
				"HttpHeaders":    map[string]any{"X-Amz-Executed-Version": "$LATEST", "x-amzn-RequestId": requestID, "Content-Type": "application/json"},
				"HttpStatusCode": int64(200),
			},
			"SdkResponseMetadata": map[string]any{"RequestId": requestID},
			"StatusCode":          int64(200),
		}, nil
	default:
		if eng.cfg.Tasks == nil {
			return nil, fmt.Errorf("no task runner is configured for %s", s.resource)
		}
		out, err := eng.cfg.Tasks.RunTask(ctx, TaskCall{
			Resource: s.resource, Parameters: json.RawMessage(paramsJSON), TaskToken: token,
			StateName: s.name, ExecutionARN: t.x.arn,
		})
		if err != nil {
			return nil, err
		}
		if len(out) == 0 {
			return map[string]any{}, nil
		}
		v, derr := decodeJSON(out)
		if derr != nil {
			return nil, newError(ErrTaskFailed, "the result of state %q is not JSON: %v", s.name, derr)
		}
		return v, nil
	}
}

// decodeResult parses a Lambda response; one that is not JSON is kept as a
// string.
func decodeResult(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	v, err := decodeJSON(b)
	if err != nil {
		return string(b)
	}
	return v
}

// await runs invoke on its own goroutine and waits for its result, for the
// task token (if tw is set), for the timeout or the heartbeat timeout, or
// for the execution to end. The caller holds the clock; every way out of
// the select below hands the waiter exactly one hold (see clock.Virtual).
func (t *thread) await(ctx context.Context, tw *taskWait, invoke func(context.Context) (any, error), timeout, heartbeat time.Duration, submitted func(any)) (any, *Error) {
	eng := t.x.eng
	clk := eng.clk
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type callResult struct {
		v   any
		err error
	}
	results := make(chan callResult, 1)
	clk.Busy() // the invoking goroutine's hold, handed back with its result
	go func() {
		v, err := invoke(cctx)
		results <- callResult{v, err}
	}()
	resCh := results
	defer func() {
		if resCh != nil {
			// The call is still running: release its hold once it returns.
			go func() { <-results; clk.Done() }()
		}
	}()

	var timeoutC, heartbeatC <-chan time.Time
	if timeout > 0 {
		tm := clk.NewTimer(timeout)
		defer tm.Stop()
		timeoutC = tm.C()
	}
	var tokenC <-chan tokenResult
	if tw != nil {
		tokenC = tw.result
		if heartbeat > 0 {
			eng.mu.Lock()
			tw.hbEvery = heartbeat
			tw.heartbeat = clk.NewTimer(heartbeat)
			heartbeatC = tw.heartbeat.C()
			eng.mu.Unlock()
		}
	}
	for {
		clk.Done()
		select {
		case r := <-resCh:
			resCh = nil
			if r.err != nil {
				return nil, asError(r.err)
			}
			if tw == nil {
				return r.v, nil
			}
			submitted(r.v)
		case r := <-tokenC:
			if resCh != nil {
				// The token was completed while the call was still running.
				// Wait for the call (or the timeout) so that the history
				// reads in order: TaskSubmitted, then the outcome.
				clk.Done()
				select {
				case cr := <-resCh:
					resCh = nil
					if cr.err == nil {
						submitted(cr.v)
					}
				case <-timeoutC:
				case <-ctx.Done():
					clk.Busy()
					return nil, aborted(ctx)
				}
			}
			return r.output, r.err
		case <-timeoutC:
			if r, ok := eng.closeOrTake(tw); ok {
				return r.output, r.err
			}
			return nil, newError(ErrTimeout, "the task did not finish within %v", timeout)
		case <-heartbeatC:
			if r, ok := eng.closeOrTake(tw); ok {
				return r.output, r.err
			}
			return nil, newError(ErrHeartbeatTimeout, "no heartbeat within %v", heartbeat)
		case <-ctx.Done():
			clk.Busy()
			return nil, aborted(ctx)
		}
	}
}

// closeOrTake closes a token whose task timed out, unless a result was
// delivered first: then it takes that result instead, swapping the timer's
// clock hold for the result's.
func (e *Engine) closeOrTake(tw *taskWait) (tokenResult, bool) {
	if tw == nil {
		return tokenResult{}, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !tw.closed {
		tw.closed = true
		return tokenResult{}, false
	}
	select {
	case r := <-tw.result:
		e.clk.Done()
		return r, true
	default:
		return tokenResult{}, false
	}
}

// releaseToken closes a finished task's token, stops its heartbeat timer
// and releases the hold of a result nobody received.
func (e *Engine) releaseToken(tw *taskWait) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tw.closed = true
	if tw.heartbeat != nil {
		tw.heartbeat.Stop()
	}
	select {
	case <-tw.result:
		e.clk.Done()
	default:
	}
}
