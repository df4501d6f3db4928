package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/clock"
)

// twentyStates builds a definition of 20 states: Pass states shaping data,
// Task states calling the runner, and Choice states routing on the result.
func twentyStates() string {
	var states []string
	for i := range 20 {
		name := fmt.Sprintf("S%02d", i)
		next := fmt.Sprintf(`"Next": "S%02d"`, i+1)
		if i == 19 {
			next = `"End": true`
		}
		var body string
		switch i % 3 {
		case 0:
			body = fmt.Sprintf(`{"Type": "Pass", "Parameters": {"step": %d, "deployment.$": "$.deployment", "count.$": "States.MathAdd($.count, 1)"}, %s}`, i, next)
		case 1:
			body = fmt.Sprintf(`{"Type": "Task", "Resource": "arn:aws:states:::x:phase", "ResultPath": "$.result", "Retry": [{"ErrorEquals": ["Transient"]}], %s}`, next)
		default:
			body = fmt.Sprintf(`{"Type": "Choice", "Choices": [{"Variable": "$.count", "NumericGreaterThanEquals": 0, %s}], "Default": "Failed"}`, next)
			if i == 19 {
				body = `{"Type": "Succeed"}`
			}
		}
		states = append(states, fmt.Sprintf(`%q: %s`, name, body))
	}
	states = append(states, `"Failed": {"Type": "Fail", "Error": "Unexpected"}`)
	return `{"StartAt": "S00", "States": {` + strings.Join(states, ",\n") + `}}`
}

func BenchmarkTwentyStateExecution(b *testing.B) {
	def := mustParse(b, twentyStates())
	v := clock.NewVirtual(t0)
	eng := NewEngine(Config{Clock: v, Tasks: TaskRunnerFunc(func(ctx context.Context, call TaskCall) (json.RawMessage, error) {
		return json.RawMessage(`{"ok":true}`), nil
	})})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x, err := eng.Start(context.Background(), def, StartInput{Name: fmt.Sprintf("e%d", i), Input: `{"deployment":"d","count":0}`})
		if err != nil {
			b.Fatal(err)
		}
		<-x.Done()
		if d := x.Describe(); d.Status != StatusSucceeded {
			b.Fatalf("got %s %s %s", d.Status, d.Error, d.Cause)
		}
		if i == 0 {
			b.ReportMetric(float64(x.Transitions()), "transitions/execution")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "executions/s")
}

// canaryDef is a 3-step canary as the deployment state machine runs it:
// shift traffic, then bake for 10 minutes in a callback task that an alarm
// signal would fail, and whose timeout (no alarm) means the step is good.
const canaryDef = `{
  "StartAt": "Shift1",
  "States": {
    "Shift1": {"Type": "Task", "Resource": "arn:aws:states:::x:shift", "ResultPath": null, "Next": "Bake1"},
    "Bake1": {"Type": "Task", "Resource": "arn:aws:states:::x:watch.waitForTaskToken", "TimeoutSeconds": 600,
      "Parameters": {"token.$": "$$.Task.Token"},
      "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": null, "Next": "Shift2"}], "Next": "Shift2"},
    "Shift2": {"Type": "Task", "Resource": "arn:aws:states:::x:shift", "ResultPath": null, "Next": "Bake2"},
    "Bake2": {"Type": "Task", "Resource": "arn:aws:states:::x:watch.waitForTaskToken", "TimeoutSeconds": 600,
      "Parameters": {"token.$": "$$.Task.Token"},
      "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": null, "Next": "Shift3"}], "Next": "Shift3"},
    "Shift3": {"Type": "Task", "Resource": "arn:aws:states:::x:shift", "ResultPath": null, "Next": "Bake3"},
    "Bake3": {"Type": "Task", "Resource": "arn:aws:states:::x:watch.waitForTaskToken", "TimeoutSeconds": 600,
      "Parameters": {"token.$": "$$.Task.Token"},
      "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": null, "Next": "Done"}], "Next": "Done"},
    "Done": {"Type": "Succeed"}
  }
}`

func BenchmarkCanaryThirtyMinutesVirtual(b *testing.B) {
	def := mustParse(b, canaryDef)
	runner := TaskRunnerFunc(func(ctx context.Context, call TaskCall) (json.RawMessage, error) {
		return json.RawMessage(`{}`), nil
	})
	var simulated time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := clock.NewVirtual(t0)
		eng := NewEngine(Config{Clock: v, Tasks: runner})
		x, err := eng.Start(context.Background(), def, StartInput{Name: "canary", Input: `{}`})
		if err != nil {
			b.Fatal(err)
		}
		<-x.Done()
		d := x.Describe()
		if d.Status != StatusSucceeded {
			b.Fatalf("got %s %s %s", d.Status, d.Error, d.Cause)
		}
		simulated = d.StopDate.Sub(d.StartDate)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "wall-ms/canary")
	b.ReportMetric(simulated.Minutes(), "simulated-min/canary")
}

// TestCanaryThirtyMinutesOnVirtualClock checks the simulated time of the
// canary that BenchmarkCanaryThirtyMinutes times; the wall-time figure is the
// benchmark's to print, never a test's to fail on.
func TestCanaryThirtyMinutesOnVirtualClock(t *testing.T) {
	v := clock.NewVirtual(t0)
	eng := NewEngine(Config{Clock: v, Tasks: TaskRunnerFunc(func(ctx context.Context, call TaskCall) (json.RawMessage, error) {
		return json.RawMessage(`{}`), nil
	})})
	d := wait(t, start(t, eng, mustParse(t, canaryDef), ""))
	if d.Status != StatusSucceeded || d.StopDate.Sub(t0) != 30*time.Minute {
		t.Errorf("got %s after %v, want SUCCEEDED after 30m", d.Status, d.StopDate.Sub(t0))
	}
}
