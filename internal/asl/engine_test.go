package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slipwayhq/slipway/internal/clock"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// tokenRunner records the calls it gets, and answers each with a result.
type tokenRunner struct {
	mu     sync.Mutex
	calls  []TaskCall
	tokens chan string // receives each call's token
}

func newTokenRunner() *tokenRunner { return &tokenRunner{tokens: make(chan string, 10)} }

func (r *tokenRunner) RunTask(ctx context.Context, call TaskCall) (json.RawMessage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call)
	r.tokens <- call.TaskToken
	return json.RawMessage(`{"submitted":true}`), nil
}

// nextToken returns the token of the next call.
func (r *tokenRunner) nextToken(t *testing.T) string {
	t.Helper()
	select {
	case tok := <-r.tokens:
		return tok
	case <-time.After(5 * time.Second):
		t.Fatal("no task was called")
		return ""
	}
}

func mustParse(t testing.TB, def string) *Definition {
	t.Helper()
	d, err := Parse([]byte(def))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return d
}

func start(t testing.TB, eng *Engine, def *Definition, input string) *Execution {
	t.Helper()
	x, err := eng.Start(context.Background(), def, StartInput{Name: "test", Input: input})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return x
}

func waitIdle(t *testing.T, v *clock.Virtual) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := v.WaitIdle(ctx); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}
}

func wait(t *testing.T, x *Execution) Description {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := x.Wait(ctx)
	if err != nil {
		t.Fatalf("%v; history %v", err, historyTypes(x))
	}
	return d
}

const callbackDef = `{
  "StartAt": "Await",
  "States": {
    "Await": {
      "Type": "Task",
      "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
      "Parameters": {"token.$": "$$.Task.Token", "job.$": "$.job"},
      "HeartbeatSeconds": 60,
      "TimeoutSeconds": 3600,
      "ResultPath": "$.answer",
      "End": true
    }
  }
}`

func TestWaitForTaskToken(t *testing.T) {
	tests := map[string]struct {
		complete   func(eng *Engine, token string) error
		wantStatus Status
		wantOutput string
		wantError  string
		wantLast   string
		wantElapse time.Duration
	}{
		"success": {
			complete:   func(eng *Engine, token string) error { return eng.SendTaskSuccess(token, `{"ok":1}`) },
			wantStatus: StatusSucceeded,
			wantOutput: `{"answer":{"ok":1},"job":"j1"}`,
			wantLast:   "TaskSucceeded",
		},
		"failure": {
			complete:   func(eng *Engine, token string) error { return eng.SendTaskFailure(token, "AlarmFired", "web-5xx") },
			wantStatus: StatusFailed,
			wantError:  "AlarmFired",
			wantLast:   "TaskFailed",
		},
		"heartbeat timeout": {
			complete:   func(eng *Engine, token string) error { return nil },
			wantStatus: StatusFailed,
			wantError:  ErrHeartbeatTimeout,
			wantLast:   "TaskTimedOut",
			wantElapse: time.Minute,
		},
		"heartbeats until the task timeout": {
			complete: func(eng *Engine, token string) error {
				return nil // the heartbeat loop below keeps the task alive
			},
			wantStatus: StatusFailed,
			wantError:  ErrTimeout,
			wantLast:   "TaskTimedOut",
			wantElapse: time.Hour,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := clock.NewVirtual(t0)
			runner := newTokenRunner()
			eng := NewEngine(Config{Clock: v, Tasks: runner})
			// The test acts as a component: while it holds the clock,
			// time stands still, so it completes the token at 0s.
			v.Busy()
			x := start(t, eng, mustParse(t, callbackDef), `{"job":"j1"}`)
			token := runner.nextToken(t)
			if !strings.Contains(string(runner.calls[0].Parameters), token) {
				t.Errorf("parameters %s do not carry the token %s", runner.calls[0].Parameters, token)
			}
			if name == "heartbeats until the task timeout" {
				// A component sends a heartbeat every 50s.
				v.Busy()
				go func() {
					defer v.Done()
					for v.Sleep(context.Background(), 50*time.Second) == nil {
						if err := eng.SendTaskHeartbeat(token); err != nil {
							return // the task timed out
						}
					}
				}()
			}
			if err := tc.complete(eng, token); err != nil {
				t.Fatalf("complete: %v", err)
			}
			v.Done()
			d := wait(t, x)
			if d.Status != tc.wantStatus || d.Error != tc.wantError {
				t.Fatalf("got %s %q (%s), want %s %q", d.Status, d.Error, d.Cause, tc.wantStatus, tc.wantError)
			}
			if tc.wantOutput != "" && d.Output != tc.wantOutput {
				t.Errorf("got output %s, want %s", d.Output, tc.wantOutput)
			}
			if got := d.StopDate.Sub(t0); got != tc.wantElapse {
				t.Errorf("execution took %v of clock time, want %v", got, tc.wantElapse)
			}
			types := historyTypes(x)
			want := []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted", tc.wantLast}
			if len(types) < len(want) || !cmp.Equal(types[:len(want)], want) {
				t.Errorf("got history %v, want it to start with %v", types, want)
			}
			// The token is closed now.
			if err := eng.SendTaskSuccess(token, `{}`); !errors.Is(err, ErrTaskTimedOut) {
				t.Errorf("SendTaskSuccess on a closed token: got %v, want %v", err, ErrTaskTimedOut)
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	eng := NewEngine(Config{Clock: clock.NewVirtual(t0)})
	tests := map[string]struct {
		call func() error
		want error
	}{
		"malformed token":         {func() error { return eng.SendTaskSuccess("nope", "{}") }, ErrInvalidToken},
		"unknown token":           {func() error { return eng.SendTaskFailure(newToken(), "E", "c") }, ErrTaskDoesNotExist},
		"unknown heartbeat":       {func() error { return eng.SendTaskHeartbeat(newToken()) }, ErrTaskDoesNotExist},
		"output that is not JSON": {func() error { return eng.SendTaskSuccess(newToken(), "{") }, ErrInvalidOutput},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTokenCompletedInsideTheCall(t *testing.T) {
	v := clock.NewVirtual(t0)
	var eng *Engine
	eng = NewEngine(Config{Clock: v, Tasks: TaskRunnerFunc(func(ctx context.Context, call TaskCall) (json.RawMessage, error) {
		return nil, eng.SendTaskSuccess(call.TaskToken, `"early"`)
	})})
	x := start(t, eng, mustParse(t, callbackDef), `{"job":"j"}`)
	if d := wait(t, x); d.Status != StatusSucceeded || d.Output != `{"answer":"early","job":"j"}` {
		t.Errorf("got %s %s %s, want SUCCEEDED with the early answer", d.Status, d.Output, d.Error)
	}
}

func TestStopAbortsAndClosesTokens(t *testing.T) {
	v := clock.NewVirtual(t0)
	runner := newTokenRunner()
	eng := NewEngine(Config{Clock: v, Tasks: runner})
	v.Busy()
	x := start(t, eng, mustParse(t, callbackDef), `{"job":"j"}`)
	token := runner.nextToken(t)
	d, err := eng.Stop(x.ARN(), "Superseded", "a newer deployment started")
	v.Done()
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if d.Status != StatusAborted || d.Error != "Superseded" {
		t.Errorf("got %s %q, want ABORTED Superseded", d.Status, d.Error)
	}
	wait(t, x)
	waitIdle(t, v) // the execution let go of the clock
	if err := eng.SendTaskSuccess(token, "{}"); !errors.Is(err, ErrTaskTimedOut) {
		t.Errorf("got %v, want %v", err, ErrTaskTimedOut)
	}
	types := historyTypes(x)
	if types[len(types)-1] != "ExecutionAborted" {
		t.Errorf("history %v does not end with ExecutionAborted", types)
	}
	if _, err := eng.Stop("arn:aws:states:us-east-1:0:execution:x:none", "", ""); !errors.Is(err, ErrExecutionDoesNotExist) {
		t.Errorf("Stop of an unknown execution: got %v, want %v", err, ErrExecutionDoesNotExist)
	}
}

func TestExecutionTimeout(t *testing.T) {
	v := clock.NewVirtual(t0)
	eng := NewEngine(Config{Clock: v})
	def := mustParse(t, `{"TimeoutSeconds": 600, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}`)
	x := start(t, eng, def, "")
	d := wait(t, x)
	if d.Status != StatusTimedOut || d.Error != ErrTimeout {
		t.Fatalf("got %s %q, want TIMED_OUT %s", d.Status, d.Error, ErrTimeout)
	}
	if got := d.StopDate.Sub(t0); got != 10*time.Minute {
		t.Errorf("timed out after %v, want 10m", got)
	}
	if h := historyTypes(x); h[len(h)-1] != "ExecutionTimedOut" {
		t.Errorf("history %v does not end with ExecutionTimedOut", h)
	}
	waitIdle(t, v)
}

func TestHistory(t *testing.T) {
	tests := map[string]struct {
		def  string
		want []string
	}{
		"task": {
			def:  `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::ecs:runTask.sync","End":true}}}`,
			want: []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"},
		},
		"lambda function": {
			def:  `{"StartAt":"L","States":{"L":{"Type":"Task","Resource":"arn:aws:lambda:eu-west-1:123456789012:function:f","End":true}}}`,
			want: []string{"ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded", "TaskStateExited", "ExecutionSucceeded"},
		},
		"failed task": {
			def:  `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:fail","End":true}}}`,
			want: []string{"ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskFailed", "ExecutionFailed"},
		},
		"choice wait pass succeed fail": {
			def: `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.go","BooleanEquals":true,"Next":"W"}],"Default":"F"},
			  "W":{"Type":"Wait","Seconds":5,"Next":"P"},"P":{"Type":"Pass","Next":"S"},"S":{"Type":"Succeed"},"F":{"Type":"Fail"}}}`,
			want: []string{"ExecutionStarted", "ChoiceStateEntered", "ChoiceStateExited", "WaitStateEntered", "WaitStateExited",
				"PassStateEntered", "PassStateExited", "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"},
		},
		"map": {
			def: `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.one","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
			want: []string{"ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapIterationStarted", "PassStateEntered", "PassStateExited",
				"MapIterationSucceeded", "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"},
		},
		"parallel": {
			def: `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}],"End":true}}}`,
			want: []string{"ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted", "PassStateEntered", "PassStateExited",
				"ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := clock.NewVirtual(t0)
			run := TaskRunnerFunc(func(ctx context.Context, call TaskCall) (json.RawMessage, error) {
				if strings.HasSuffix(call.Resource, ":fail") {
					return nil, errors.New("boom")
				}
				return json.RawMessage(`{}`), nil
			})
			lambda := func(ctx context.Context, fn string, payload []byte) ([]byte, error) { return payload, nil }
			eng := NewEngine(Config{Clock: v, Tasks: run, Lambda: lambda})
			x := start(t, eng, mustParse(t, tc.def), `{"go":true,"one":[1]}`)
			wait(t, x)
			h := x.History()
			var got []string
			for i, ev := range h {
				got = append(got, ev.Type)
				if ev.ID != int64(i+1) {
					t.Errorf("event %d has id %d", i, ev.ID)
				}
				if i > 0 && (ev.PreviousEventID < 1 || ev.PreviousEventID >= ev.ID) {
					t.Errorf("event %d (%s) has previousEventId %d", ev.ID, ev.Type, ev.PreviousEventID)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("history (-want +got):\n%s", diff)
			}
			if got, want := x.Transitions(), countSuffix(tc.want, "StateEntered"); got != want {
				t.Errorf("got %d transitions, want %d", got, want)
			}
		})
	}
}

func countSuffix(list []string, suffix string) int {
	n := 0
	for _, s := range list {
		if strings.HasSuffix(s, suffix) {
			n++
		}
	}
	return n
}

func TestHistoryDetails(t *testing.T) {
	v := clock.NewVirtual(t0)
	eng := NewEngine(Config{Clock: v, Region: "eu-west-1", Tasks: TaskRunnerFunc(func(ctx context.Context, call TaskCall) (json.RawMessage, error) {
		return json.RawMessage(`{"r":1}`), nil
	})})
	def := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::ecs:runTask.sync","Parameters":{"Cluster":"c"},"TimeoutSeconds":30,"End":true}}}`)
	x := start(t, eng, def, `{"a":1}`)
	wait(t, x)
	h := x.History()
	want := []Event{
		{ID: 1, Timestamp: t0, Type: "ExecutionStarted", ExecutionStarted: &ExecutionStartedDetails{Input: `{"a":1}`, StateMachineARN: "arn:aws:states:eu-west-1:000000000000:stateMachine:local"}},
		{ID: 2, PreviousEventID: 1, Timestamp: t0, Type: "TaskStateEntered", StateEntered: &StateEnteredDetails{Name: "T", Input: `{"a":1}`}},
		{ID: 3, PreviousEventID: 2, Timestamp: t0, Type: "TaskScheduled", TaskScheduled: &TaskScheduledDetails{ResourceType: "ecs", Resource: "runTask.sync", Region: "eu-west-1", Parameters: `{"Cluster":"c"}`, TimeoutInSeconds: 30}},
		{ID: 4, PreviousEventID: 3, Timestamp: t0, Type: "TaskStarted", TaskStarted: &TaskDetails{ResourceType: "ecs", Resource: "runTask.sync"}},
		{ID: 5, PreviousEventID: 4, Timestamp: t0, Type: "TaskSucceeded", TaskSucceeded: &TaskDetails{ResourceType: "ecs", Resource: "runTask.sync", Output: `{"r":1}`}},
		{ID: 6, PreviousEventID: 5, Timestamp: t0, Type: "TaskStateExited", StateExited: &StateExitedDetails{Name: "T", Output: `{"r":1}`}},
		{ID: 7, PreviousEventID: 6, Timestamp: t0, Type: "ExecutionSucceeded", ExecutionSucceeded: &OutputDetails{Output: `{"r":1}`}},
	}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

func TestRetryBackoff(t *testing.T) {
	tests := map[string]struct {
		retry    string
		attempts int
		want     time.Duration // clock time until the last attempt
		atMost   bool          // with jitter the delay is at most want
	}{
		"defaults":          {`{"ErrorEquals":["E"]}`, 4, (1 + 2 + 4) * time.Second, false},
		"interval and rate": {`{"ErrorEquals":["E"],"IntervalSeconds":2,"BackoffRate":3,"MaxAttempts":3}`, 4, (2 + 6 + 18) * time.Second, false},
		"max delay":         {`{"ErrorEquals":["E"],"IntervalSeconds":2,"BackoffRate":3,"MaxAttempts":3,"MaxDelaySeconds":10}`, 4, (2 + 6 + 10) * time.Second, false},
		"full jitter":       {`{"ErrorEquals":["E"],"IntervalSeconds":10,"MaxAttempts":2,"JitterStrategy":"FULL"}`, 3, (10 + 20) * time.Second, true},
		"jitter none":       {`{"ErrorEquals":["E"],"IntervalSeconds":10,"MaxAttempts":1,"JitterStrategy":"NONE"}`, 2, 10 * time.Second, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := clock.NewVirtual(t0)
			var mu sync.Mutex
			var at []time.Time
			eng := NewEngine(Config{Clock: v, Tasks: TaskRunnerFunc(func(ctx context.Context, call TaskCall) (json.RawMessage, error) {
				mu.Lock()
				defer mu.Unlock()
				at = append(at, v.Now())
				return nil, &TaskError{Name: "E", Cause: "again"}
			})})
			def := mustParse(t, fmt.Sprintf(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::x:y","Retry":[%s],"End":true}}}`, tc.retry))
			d := wait(t, start(t, eng, def, ""))
			if d.Error != "E" {
				t.Fatalf("got error %q, want E", d.Error)
			}
			if len(at) != tc.attempts {
				t.Fatalf("got %d attempts, want %d", len(at), tc.attempts)
			}
			got := at[len(at)-1].Sub(t0)
			if tc.atMost && got > tc.want || !tc.atMost && got != tc.want {
				t.Errorf("last attempt after %v, want %v (at most: %v)", got, tc.want, tc.atMost)
			}
		})
	}
}

func TestDataLimitExceeded(t *testing.T) {
	big := `{"blob":"` + strings.Repeat("x", MaxPayloadSize) + `"}`
	eng := NewEngine(Config{Clock: clock.NewVirtual(t0), Tasks: TaskRunnerFunc(func(ctx context.Context, call TaskCall) (json.RawMessage, error) {
		return json.RawMessage(big), nil
	})})
	def := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::x:y","Catch":[{"ErrorEquals":["States.ALL"],"Next":"H"}],"End":true},"H":{"Type":"Succeed"}}}`)
	d := wait(t, start(t, eng, def, ""))
	if d.Status != StatusFailed || d.Error != ErrDataLimitExceeded {
		t.Errorf("got %s %q, want FAILED %s (not caught by States.ALL)", d.Status, d.Error, ErrDataLimitExceeded)
	}
	if _, err := eng.Start(context.Background(), def, StartInput{Name: "big", Input: big}); !errors.Is(err, ErrInvalidExecutionInput) {
		t.Errorf("Start with a big input: got %v, want %v", err, ErrInvalidExecutionInput)
	}
}

func TestStartErrors(t *testing.T) {
	eng := NewEngine(Config{Clock: clock.NewVirtual(t0)})
	def := mustParse(t, `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	if _, err := eng.Start(context.Background(), def, StartInput{Name: "bad", Input: "{"}); !errors.Is(err, ErrInvalidExecutionInput) {
		t.Errorf("got %v, want %v", err, ErrInvalidExecutionInput)
	}
	x := start(t, eng, def, "")
	wait(t, x)
	if _, err := eng.Start(context.Background(), def, StartInput{Name: "test"}); !errors.Is(err, ErrExecutionAlreadyExists) {
		t.Errorf("got %v, want %v", err, ErrExecutionAlreadyExists)
	}
	d, err := eng.Describe(x.ARN())
	if err != nil || d.Status != StatusSucceeded || d.Output != "{}" {
		t.Errorf("Describe: got %+v, %v", d, err)
	}
	if _, err := eng.Describe("arn:nope"); !errors.Is(err, ErrExecutionDoesNotExist) {
		t.Errorf("got %v, want %v", err, ErrExecutionDoesNotExist)
	}
}

// longDef waits 30 minutes three times between tasks that each time out
// once (TimeoutSeconds 300) before succeeding: 1h45m of clock time.
const longDef = `{
  "StartAt": "Shift1",
  "States": {
    "Shift1": {"Type": "Task", "Resource": "arn:aws:states:::x:shift", "TimeoutSeconds": 300,
      "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 1}], "ResultPath": null, "Next": "Bake1"},
    "Bake1": {"Type": "Wait", "Seconds": 1800, "Next": "Shift2"},
    "Shift2": {"Type": "Task", "Resource": "arn:aws:states:::x:shift", "TimeoutSeconds": 300,
      "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 1}], "ResultPath": null, "Next": "Bake2"},
    "Bake2": {"Type": "Wait", "Seconds": 1800, "Next": "Shift3"},
    "Shift3": {"Type": "Task", "Resource": "arn:aws:states:::x:shift", "TimeoutSeconds": 300,
      "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 1}], "ResultPath": null, "Next": "Bake3"},
    "Bake3": {"Type": "Wait", "Seconds": 1800, "End": true}
  }
}`

// slowEveryOther is a task that hangs (on the clock) on every other call.
func slowEveryOther(clk clock.Clock) TaskRunner {
	var mu sync.Mutex
	n := 0
	return TaskRunnerFunc(func(ctx context.Context, call TaskCall) (json.RawMessage, error) {
		mu.Lock()
		n++
		slow := n%2 == 1
		mu.Unlock()
		if slow {
			if err := clk.Sleep(ctx, 24*time.Hour); err != nil {
				return nil, err
			}
		}
		return json.RawMessage(`{}`), nil
	})
}

func TestLongDefinitionOnVirtualClock(t *testing.T) {
	v := clock.NewVirtual(t0)
	eng := NewEngine(Config{Clock: v, Tasks: slowEveryOther(v)})
	began := time.Now()
	d := wait(t, start(t, eng, mustParse(t, longDef), `{"deployment":"d-1"}`))
	wall := time.Since(began)
	if d.Status != StatusSucceeded {
		t.Fatalf("got %s %s %s, want SUCCEEDED", d.Status, d.Error, d.Cause)
	}
	if got, want := d.StopDate.Sub(t0), 3*(300+1+1800)*time.Second; got != want {
		t.Errorf("took %v of clock time, want %v", got, want)
	}
	if wall > time.Second {
		t.Errorf("took %v of wall time, want well under a second", wall)
	}
	waitIdle(t, v)
}

func TestJSONataRejected(t *testing.T) {
	_, err := Parse([]byte(`{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","Output":"{% $states.input %}","End":true}}}`))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a *ValidationError", err)
	}
	want := []string{
		"QueryLanguage: JSONata is not supported yet; use JSONPath (the default)",
		"States.P.Output: unknown field (JSONata and workflow variables are not supported yet)",
	}
	if diff := cmp.Diff(want, ve.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(callbackDef))
	f.Add([]byte(longDef))
	f.Add([]byte(`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Not":{"Variable":"$.a","StringMatches":"x*\\*"},"Next":"D"}],"Default":"D"},"D":{"Type":"Succeed"}}}`))
	f.Add([]byte(`{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"a.$":"States.Format('{}', States.Array($..x[?(@.y>1)]))"},"ResultPath":"$['a'][0]","End":true}}}`))
	f.Add([]byte(`{"StartAt":"M","States":{"M":{"Type":"Map","Iterator":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err == nil && d == nil {
			t.Fatal("Parse returned neither a definition nor an error")
		}
	})
}

func TestDefinitionNames(t *testing.T) {
	d := mustParse(t, `{"StartAt":"P","States":{
	  "P":{"Type":"Parallel","Branches":[{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::x:y",
	    "Retry":[{"ErrorEquals":["Transient","States.Timeout"]}],"End":true}}}],
	    "Catch":[{"ErrorEquals":["AlarmFired"],"Next":"F"}],"Next":"M"},
	  "M":{"Type":"Map","ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}},"End":true},
	  "F":{"Type":"Fail","Error":"DeploymentFailed"}}}`)
	if diff := cmp.Diff([]string{"F", "I", "M", "P", "T"}, d.StateNames()); diff != "" {
		t.Errorf("StateNames (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"AlarmFired", "DeploymentFailed", "States.Timeout", "Transient"}, d.ErrorNames()); diff != "" {
		t.Errorf("ErrorNames (-want +got):\n%s", diff)
	}
}

func TestScaledClockExecution(t *testing.T) {
	eng := NewEngine(Config{Clock: clock.Scaled(3600)}) // an hour per second
	def := mustParse(t, `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}`)
	began := time.Now()
	d := wait(t, start(t, eng, def, `{"a":1}`))
	if d.Status != StatusSucceeded || d.Output != `{"a":1}` {
		t.Fatalf("got %s %s, want SUCCEEDED {\"a\":1}", d.Status, d.Output)
	}
	if got := d.StopDate.Sub(d.StartDate); got < time.Minute {
		t.Errorf("the execution took %v of clock time, want at least 1m", got)
	}
	if wall := time.Since(began); wall > 2*time.Second {
		t.Errorf("a scaled minute took %v of wall time", wall)
	}
}

func TestHeartbeatSecondsPath(t *testing.T) {
	v := clock.NewVirtual(t0)
	eng := NewEngine(Config{Clock: v, Tasks: TaskRunnerFunc(func(ctx context.Context, call TaskCall) (json.RawMessage, error) {
		return json.RawMessage(`{}`), nil
	})})
	def := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::x:y.waitForTaskToken",
	  "HeartbeatSecondsPath":"$.hb","TimeoutSecondsPath":"$.limit","End":true}}}`)
	d := wait(t, start(t, eng, def, `{"hb":45,"limit":600}`))
	if d.Error != ErrHeartbeatTimeout || d.StopDate.Sub(t0) != 45*time.Second {
		t.Errorf("got %q after %v, want %s after 45s", d.Error, d.StopDate.Sub(t0), ErrHeartbeatTimeout)
	}
}

func TestMapMaxConcurrency(t *testing.T) {
	tests := map[string]struct {
		limit string
		want  time.Duration
	}{
		"unlimited": {`0`, 10 * time.Minute},
		"two":       {`2`, 20 * time.Minute},
		"one":       {`1`, 30 * time.Minute},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := clock.NewVirtual(t0)
			eng := NewEngine(Config{Clock: v})
			def := mustParse(t, `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":`+tc.limit+`,
			  "ItemProcessor":{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":600,"End":true}}},"End":true}}}`)
			d := wait(t, start(t, eng, def, `[1,2,3]`))
			if d.Status != StatusSucceeded || d.Output != `[1,2,3]` {
				t.Fatalf("got %s %s, want SUCCEEDED [1,2,3]", d.Status, d.Output)
			}
			if got := d.StopDate.Sub(t0); got != tc.want {
				t.Errorf("took %v of clock time, want %v", got, tc.want)
			}
		})
	}
}
