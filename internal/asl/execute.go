package asl

import (
	"context"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"time"
)

// errAborted is the internal error name of work cut short because the
// execution ended (stopped or timed out); nothing retries or catches it.
const errAborted = "States.Aborted"

// thread runs one sequence of states: the top level, a Parallel branch or a
// Map iteration. It holds the clock busy while it runs.
type thread struct {
	x         *Execution
	prevEvent int64
}

func aborted(ctx context.Context) *Error {
	return &Error{Name: errAborted, Cause: context.Cause(ctx).Error()}
}

// runMachine runs states from StartAt until a terminal state, returning the
// final output or the error that ended the machine.
func (t *thread) runMachine(ctx context.Context, m *machine, input any) (any, *Error) {
	name := m.startAt
	for {
		if ctx.Err() != nil {
			return nil, aborted(ctx)
		}
		s := m.states[name]
		out, next, err := t.runState(ctx, s, input)
		if err != nil {
			return nil, err
		}
		if next == "" {
			return out, nil
		}
		name, input = next, out
	}
}

// stateContext builds the context object ($$) for a state.
func (t *thread) stateContext(s *state, entered time.Time, retries int, token string) map[string]any {
	x := t.x
	c := map[string]any{
		"Execution": map[string]any{
			"Id": x.arn, "Input": x.input, "Name": x.name, "RoleArn": x.roleARN,
			"StartTime": formatTime(x.start), "RedriveCount": int64(0),
		},
		"State":        map[string]any{"EnteredTime": formatTime(entered), "Name": s.name, "RetryCount": int64(retries)},
		"StateMachine": map[string]any{"Id": x.smARN, "Name": stateMachineName(x.smARN)},
	}
	if token != "" {
		c["Task"] = map[string]any{"Token": token}
	}
	return c
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func stateMachineName(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == ':' {
			return arn[i+1:]
		}
	}
	return arn
}

// runState runs one state: it returns the output and the next state's name
// ("" when the machine ends), or the error that escaped Retry and Catch.
func (t *thread) runState(ctx context.Context, s *state, raw any) (any, string, *Error) {
	x := t.x
	entered := x.eng.clk.Now()
	inJSON := mustString(raw)
	x.mu.Lock()
	x.path = append(x.path, s.name)
	x.transitions++
	x.mu.Unlock()
	x.record(t, s.typ+"StateEntered", func(ev *Event) {
		ev.StateEntered = &StateEnteredDetails{Name: s.name, Input: inJSON}
	})
	if err := sizeOK(fmt.Sprintf("the input of state %q", s.name), inJSON); err != nil {
		return nil, "", err
	}

	var out any
	var next string
	var err *Error
	switch s.typ {
	case "Pass":
		out, err = t.pass(s, raw, entered)
		next = s.next
	case "Choice":
		out, next, err = t.choice(s, raw, entered)
	case "Wait":
		out, err = t.wait(ctx, s, raw, entered)
		next = s.next
	case "Succeed":
		var eff any
		eff, err = effectiveInput(s, raw)
		if err == nil {
			out, err = stateOutput(s, eff)
		}
	case "Fail":
		return nil, "", t.fail(s, raw)
	default: // Task, Parallel, Map: the states with Retry and Catch
		out, next, err = t.withRetry(ctx, s, raw, entered)
	}
	if err != nil {
		return nil, "", err
	}
	outJSON := mustString(out)
	if err := sizeOK(fmt.Sprintf("the output of state %q", s.name), outJSON); err != nil {
		return nil, "", err
	}
	x.record(t, s.typ+"StateExited", func(ev *Event) {
		ev.StateExited = &StateExitedDetails{Name: s.name, Output: outJSON}
	})
	return out, next, nil
}

// effectiveInput applies InputPath to the raw state input.
func effectiveInput(s *state, raw any) (any, *Error) {
	switch {
	case s.inputPath.isNull:
		return map[string]any{}, nil
	case s.inputPath.path == nil:
		return raw, nil
	}
	v, ok := s.inputPath.path.get(raw, nil)
	if !ok {
		return nil, newError(ErrRuntime, "invalid path %q in InputPath of state %q: the path matches nothing in the input", s.inputPath.path, s.name)
	}
	return v, nil
}

// stateOutput applies OutputPath.
func stateOutput(s *state, v any) (any, *Error) {
	switch {
	case s.outputPath.isNull:
		return map[string]any{}, nil
	case s.outputPath.path == nil:
		return v, nil
	}
	out, ok := s.outputPath.path.get(v, nil)
	if !ok {
		return nil, newError(ErrRuntime, "invalid path %q in OutputPath of state %q: the path matches nothing", s.outputPath.path, s.name)
	}
	return out, nil
}

// applyResultPath places a result into the raw state input.
func applyResultPath(path *referencePath, null bool, raw, result any) (any, *Error) {
	switch {
	case null:
		return raw, nil
	case path == nil:
		return result, nil
	}
	out, err := path.set(raw, result)
	if err != nil {
		return nil, asError(err)
	}
	return out, nil
}

// finishResult applies ResultSelector, ResultPath and OutputPath to a result.
func (t *thread) finishResult(s *state, raw, result any, ctxObj map[string]any) (any, *Error) {
	if s.resultSelector != nil {
		v, err := s.resultSelector.eval(result, ctxObj)
		if err != nil {
			return nil, asError(err)
		}
		result = v
	}
	out, err := applyResultPath(s.resultPath, s.resultNull, raw, result)
	if err != nil {
		return nil, err
	}
	return stateOutput(s, out)
}

func (t *thread) pass(s *state, raw any, entered time.Time) (any, *Error) {
	eff, err := effectiveInput(s, raw)
	if err != nil {
		return nil, err
	}
	result := eff
	switch {
	case s.hasResult:
		result = deepCopy(s.result)
	case s.parameters != nil:
		v, perr := s.parameters.eval(eff, t.stateContext(s, entered, 0, ""))
		if perr != nil {
			return nil, asError(perr)
		}
		result = v
	}
	out, err := applyResultPath(s.resultPath, s.resultNull, raw, result)
	if err != nil {
		return nil, err
	}
	return stateOutput(s, out)
}

func (t *thread) choice(s *state, raw any, entered time.Time) (any, string, *Error) {
	eff, err := effectiveInput(s, raw)
	if err != nil {
		return nil, "", err
	}
	ctxObj := t.stateContext(s, entered, 0, "")
	next := s.defaultNext
	matched := false
	for _, r := range s.choices {
		ok, cerr := r.eval(eff, ctxObj)
		if cerr != nil {
			return nil, "", asError(cerr)
		}
		if ok {
			next, matched = r.next, true
			break
		}
	}
	if !matched && next == "" {
		return nil, "", newError(ErrNoChoiceMatched, "no choice rule of state %q matched the input and there is no Default", s.name)
	}
	out, err := stateOutput(s, eff)
	return out, next, err
}

func (t *thread) wait(ctx context.Context, s *state, raw any, entered time.Time) (any, *Error) {
	eff, err := effectiveInput(s, raw)
	if err != nil {
		return nil, err
	}
	ctxObj := t.stateContext(s, entered, 0, "")
	clk := t.x.eng.clk
	var d time.Duration
	switch {
	case s.hasSeconds:
		d = time.Duration(s.seconds) * time.Second
	case s.secondsPath != nil:
		v, ok := s.secondsPath.get(eff, ctxObj)
		n, isInt := toInt(v)
		if !ok || !isInt || n < 0 {
			return nil, newError(ErrRuntime, "SecondsPath %q of state %q must point to a non-negative integer, got %s", s.secondsPath, s.name, mustString(v))
		}
		d = time.Duration(n) * time.Second
	case s.hasTimestamp:
		d = s.timestamp.Sub(clk.Now())
	case s.timestampPath != nil:
		v, ok := s.timestampPath.get(eff, ctxObj)
		str, _ := v.(string)
		ts, valid := parseTimestamp(str)
		if !ok || !valid {
			return nil, newError(ErrRuntime, "TimestampPath %q of state %q must point to an RFC 3339 timestamp, got %s", s.timestampPath, s.name, mustString(v))
		}
		d = ts.Sub(clk.Now())
	}
	if d > 0 {
		if clk.Sleep(ctx, d) != nil {
			return nil, aborted(ctx)
		}
	}
	return stateOutput(s, eff)
}

func (t *thread) fail(s *state, raw any) *Error {
	e := &Error{Name: s.errorName, Cause: s.cause}
	if s.errorPath != nil {
		v, _ := s.errorPath.get(raw, nil)
		str, ok := v.(string)
		if !ok {
			return newError(ErrRuntime, "ErrorPath %q of state %q must point to a string", s.errorPath, s.name)
		}
		e.Name = str
	}
	if s.causePath != nil {
		v, _ := s.causePath.get(raw, nil)
		str, ok := v.(string)
		if !ok {
			return newError(ErrRuntime, "CausePath %q of state %q must point to a string", s.causePath, s.name)
		}
		e.Cause = str
	}
	return e
}

// withRetry runs a Task, Parallel or Map state, applying its Retry and
// Catch fields to errors.
func (t *thread) withRetry(ctx context.Context, s *state, raw any, entered time.Time) (any, string, *Error) {
	attempts := make([]int, len(s.retry))
	retries := 0
	clk := t.x.eng.clk
	for {
		var out any
		var err *Error
		switch s.typ {
		case "Task":
			out, err = t.task(ctx, s, raw, entered, retries)
		case "Parallel":
			out, err = t.parallel(ctx, s, raw, entered, retries)
		case "Map":
			out, err = t.mapState(ctx, s, raw, entered, retries)
		}
		if err == nil {
			return out, s.next, nil
		}
		if err.Name == errAborted || ctx.Err() != nil {
			return nil, "", aborted(ctx)
		}
		r := matchRetrier(s.retry, err.Name)
		if r >= 0 && attempts[r] < s.retry[r].maxAttempts {
			delay := s.retry[r].delay(attempts[r])
			attempts[r]++
			retries++
			if clk.Sleep(ctx, delay) != nil {
				return nil, "", aborted(ctx)
			}
			continue
		}
		for _, c := range s.catch {
			if !matchesAny(c.errorEquals, err.Name) {
				continue
			}
			t.x.eng.log.Info("error caught", "execution", t.x.arn, "state", s.name, "error", err.Name, "next", c.next)
			out, perr := applyResultPath(c.resultPath, c.resultNull, raw, map[string]any{"Error": err.Name, "Cause": err.Cause})
			if perr != nil {
				return nil, "", perr
			}
			return out, c.next, nil
		}
		return nil, "", err
	}
}

func matchesAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if errorMatches(p, name) {
			return true
		}
	}
	return false
}

func matchRetrier(rs []*retrier, name string) int {
	for i, r := range rs {
		if matchesAny(r.errorEquals, name) {
			return i
		}
	}
	return -1
}

// delay is the wait before retry number n+1 (n counted from 0):
// IntervalSeconds × BackoffRate^n, capped by MaxDelaySeconds, and with FULL
// jitter a uniformly random part of it.
func (r *retrier) delay(n int) time.Duration {
	d := float64(r.interval) * math.Pow(r.backoffRate, float64(n))
	if r.maxDelay > 0 && d > float64(r.maxDelay) {
		d = float64(r.maxDelay)
	}
	if d > float64(math.MaxInt64/2) {
		d = float64(math.MaxInt64 / 2)
	}
	if r.jitterFull {
		d = mrand.Float64() * d
	}
	return time.Duration(d)
}
