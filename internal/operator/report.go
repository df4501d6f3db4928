package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwsdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	sfnsdk "github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	sfnapi "github.com/slipwayhq/slipway/internal/awsapi/sfn"
	"github.com/slipwayhq/slipway/internal/report"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// ErrNoExecution means the execution, or any execution of a service in an
// environment, was not found.
var ErrNoExecution = errors.New("no such execution")

// alarmHistoryAPI reads CloudWatch's alarm history.
type alarmHistoryAPI interface {
	DescribeAlarmHistory(context.Context, *cwsdk.DescribeAlarmHistoryInput, ...func(*cwsdk.Options)) (*cwsdk.DescribeAlarmHistoryOutput, error)
}

// ReportRecord is the record of one deployment a report is drawn from,
// with the warnings of the parts that could not be read (the timeline is
// drawn without them).
type ReportRecord struct {
	Input    report.Input
	Warnings []string
}

// ResolveExecution returns the execution ARN ref names: an execution ARN as
// given, or the newest execution of the service ref in env.
func (o *Operator) ResolveExecution(ctx context.Context, ref, env string) (string, error) {
	if strings.HasPrefix(ref, "arn:") {
		return ref, nil
	}
	arn, err := o.newest(ctx, ref, env, recentExecutions)
	if err != nil {
		return "", err
	}
	if arn == "" {
		return "", fmt.Errorf("%w: no deployment of %s in %s among the last %d executions of %s", ErrNoExecution, ref, env, recentExecutions, o.StateMachineARN)
	}
	return arn, nil
}

// recentExecutions bounds how far back ResolveExecution looks.
const recentExecutions = 1000

// Record reads the record of the execution arn: its history events with
// their inputs and outputs, the plan Prepare stored, its history entry
// and the history of the alarms it watched. now ends the timeline of an
// execution still running.
func (o *Operator) Record(ctx context.Context, arn string, now time.Time) (*ReportRecord, error) {
	d, err := o.sfn.DescribeExecution(ctx, arn)
	if errors.Is(err, sfnapi.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s (list them with slipway status)", ErrNoExecution, arn)
	}
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", arn, err)
	}
	rec := &ReportRecord{Input: report.Input{Execution: arn, Status: d.Status, Start: d.StartDate, Stop: d.StopDate, Now: now}}
	events, err := o.events(ctx, arn)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", arn, err)
	}
	rec.Input.Events = events
	var st workflow.State
	for _, e := range events {
		doc := e.Output
		if doc == "" {
			doc = e.Input
		}
		var s workflow.State
		if json.Unmarshal([]byte(doc), &s) == nil && s.Plan.Key != "" {
			st = s
			break
		}
	}
	if st.Plan.Key != "" {
		var p report.Plan
		if err := o.store.Plan(ctx, st.Plan.Key, &p); err != nil {
			rec.Warnings = append(rec.Warnings, fmt.Sprintf("plan %s not read (%v): task counts are not drawn", st.Plan.Key, err))
		} else {
			rec.Input.Plan = &p
		}
	}
	if st.Service != "" && st.Environment != "" {
		entries, err := o.store.History(ctx, st.Environment, st.Service, 50)
		if err != nil {
			rec.Warnings = append(rec.Warnings, fmt.Sprintf("history of %s in %s not read: %v", st.Service, st.Environment, err))
		}
		for _, h := range entries {
			if h.Execution == arn {
				rec.Input.Outcome = string(h.Outcome)
				break
			}
		}
	}
	alarms := o.alarmHistory
	if p := rec.Input.Plan; p != nil && p.Rendered.RoleARN != "" && o.cfg.Credentials != nil {
		// The alarms are in the environment's account.
		alarms = cwsdk.NewFromConfig(o.configFor(p.Rendered.RoleARN))
	}
	if alarms != nil {
		end := d.StopDate
		if end.IsZero() {
			end = now
		}
		for _, name := range report.AlarmNames(events) {
			list, err := alarmTransitions(ctx, alarms, name, d.StartDate, end)
			if err != nil {
				rec.Warnings = append(rec.Warnings, fmt.Sprintf("history of alarm %s not read (%v): its band is drawn from the execution's record", name, err))
				continue
			}
			rec.Input.Alarms = append(rec.Input.Alarms, list...)
		}
	}
	return rec, nil
}

// events reads the execution's history, oldest first, with its data.
func (o *Operator) events(ctx context.Context, arn string) ([]report.Event, error) {
	p := sfnsdk.NewGetExecutionHistoryPaginator(o.history, &sfnsdk.GetExecutionHistoryInput{
		ExecutionArn: &arn, IncludeExecutionData: aws.Bool(true), MaxResults: 1000})
	var out []report.Event
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read history of %s: %w", arn, err)
		}
		for _, e := range page.Events {
			out = append(out, reportEvent(e))
		}
	}
	return out, nil
}

func reportEvent(e sfntypes.HistoryEvent) report.Event {
	r := report.Event{At: aws.ToTime(e.Timestamp), Type: string(e.Type)}
	switch {
	case e.StateEnteredEventDetails != nil:
		r.State, r.Input = aws.ToString(e.StateEnteredEventDetails.Name), aws.ToString(e.StateEnteredEventDetails.Input)
	case e.StateExitedEventDetails != nil:
		r.State, r.Output = aws.ToString(e.StateExitedEventDetails.Name), aws.ToString(e.StateExitedEventDetails.Output)
	case e.TaskFailedEventDetails != nil:
		r.Error, r.Cause = aws.ToString(e.TaskFailedEventDetails.Error), aws.ToString(e.TaskFailedEventDetails.Cause)
	case e.LambdaFunctionFailedEventDetails != nil:
		r.Error, r.Cause = aws.ToString(e.LambdaFunctionFailedEventDetails.Error), aws.ToString(e.LambdaFunctionFailedEventDetails.Cause)
	case e.ExecutionFailedEventDetails != nil:
		r.Error, r.Cause = aws.ToString(e.ExecutionFailedEventDetails.Error), aws.ToString(e.ExecutionFailedEventDetails.Cause)
	}
	return r
}

// alarmTransitions reads the state changes of one alarm between from and
// to, and the last change before from (the state the alarm was in when
// the deployment started).
func alarmTransitions(ctx context.Context, api alarmHistoryAPI, name string, from, to time.Time) ([]report.AlarmTransition, error) {
	var out []report.AlarmTransition
	in := &cwsdk.DescribeAlarmHistoryInput{AlarmName: &name, HistoryItemType: cwtypes.HistoryItemTypeStateUpdate,
		StartDate: aws.Time(from.Add(-24 * time.Hour)), EndDate: aws.Time(to), ScanBy: cwtypes.ScanByTimestampAscending}
	p := cwsdk.NewDescribeAlarmHistoryPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range page.AlarmHistoryItems {
			var data struct {
				OldState, NewState struct {
					StateValue string `json:"stateValue"`
				}
			}
			if json.Unmarshal([]byte(aws.ToString(it.HistoryData)), &data) != nil {
				continue
			}
			out = append(out, report.AlarmTransition{Alarm: name, At: aws.ToTime(it.Timestamp),
				From: data.OldState.StateValue, To: data.NewState.StateValue})
		}
	}
	// Keep the changes inside the window and the last one before it.
	var kept []report.AlarmTransition
	for i, x := range out {
		if !x.At.Before(from) || i+1 == len(out) || !out[i+1].At.Before(from) {
			kept = append(kept, x)
		}
	}
	return kept, nil
}
