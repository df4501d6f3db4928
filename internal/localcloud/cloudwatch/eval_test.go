package cloudwatch

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// evalAt is when the table tests evaluate: the periods before it hold the
// data, the newest ending at evalAt.
var evalAt = start.Add(30 * time.Minute)

func ptr[T any](v T) *T { return &v }

// putSeries publishes one value per minute ending at evalAt, oldest first;
// a negative value is a missing minute.
func putSeries(t *testing.T, s *Service, values []float64) {
	t.Helper()
	for i, v := range values {
		if v < 0 {
			continue
		}
		at := evalAt.Add(-time.Duration(len(values)-i) * time.Minute).Add(5 * time.Second)
		_, err := s.putMetricData(context.Background(), &putMetricDataInput{Namespace: "Test", MetricData: []metricDatum{
			{MetricName: "M", Timestamp: &at, Value: ptr(v)},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// stateAfter creates alarm a, forces it to initial just before evalAt and
// returns its state after the evaluation at evalAt.
func stateAfter(t *testing.T, a metricAlarm, initial string, series []float64) (string, *metricAlarm) {
	t.Helper()
	f := newFixture(t, Config{})
	ctx := context.Background()
	a.AlarmName, a.Namespace, a.MetricName = "a", "Test", "M"
	if a.Statistic == "" && a.ExtendedStatistic == "" {
		a.Statistic = "Maximum"
	}
	if a.Period == 0 {
		a.Period = 60
	}
	if _, err := f.svc.putMetricAlarm(ctx, &a); err != nil {
		t.Fatal(err)
	}
	putSeries(t, f.svc, series)
	f.advance(t, evalAt.Add(-time.Second))
	if _, err := f.svc.setAlarmState(ctx, &setAlarmStateInput{AlarmName: "a", StateValue: initial, StateReason: "initial"}); err != nil {
		t.Fatal(err)
	}
	f.advance(t, evalAt)
	f.drain()
	f.svc.mu.Lock()
	defer f.svc.mu.Unlock()
	c := f.svc.st.Alarms["a"].Config
	return c.StateValue, &c
}

func TestComparisons(t *testing.T) {
	tests := map[string]struct {
		op    string
		value float64
		want  string
	}{
		"greater, above":          {"GreaterThanThreshold", 6, StateAlarm},
		"greater, equal":          {"GreaterThanThreshold", 5, StateOK},
		"greater or equal, equal": {"GreaterThanOrEqualToThreshold", 5, StateAlarm},
		"greater or equal, below": {"GreaterThanOrEqualToThreshold", 4.99, StateOK},
		"less, below":             {"LessThanThreshold", 4, StateAlarm},
		"less, equal":             {"LessThanThreshold", 5, StateOK},
		"less or equal, equal":    {"LessThanOrEqualToThreshold", 5, StateAlarm},
		"less or equal, above":    {"LessThanOrEqualToThreshold", 5.01, StateOK},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, _ := stateAfter(t, metricAlarm{EvaluationPeriods: 1, Threshold: ptr(5.0), ComparisonOperator: tc.op}, StateInsufficientData, []float64{tc.value})
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// The five histories of AWS's missing-data documentation (3 of 3, oldest
// first; 0 is within the threshold, X breaches it, - is missing), under
// each treatment. "keep" means the state before the evaluation is kept.
func TestMissingData(t *testing.T) {
	const o, x, m = 1, 10, -1
	histories := map[string][]float64{
		"0 - X - X": {o, m, x, m, x},
		"- - - - 0": {m, m, m, m, o},
		"- - - - -": {m, m, m, m, m},
		"0 X X - X": {o, x, x, m, x},
		"- - X - -": {m, m, x, m, m},
	}
	want := map[string]map[string]string{
		"missing":      {"0 - X - X": StateOK, "- - - - 0": StateOK, "- - - - -": StateInsufficientData, "0 X X - X": StateAlarm, "- - X - -": StateAlarm},
		"ignore":       {"0 - X - X": StateOK, "- - - - 0": StateOK, "- - - - -": "keep", "0 X X - X": StateAlarm, "- - X - -": "keep"},
		"breaching":    {"0 - X - X": StateAlarm, "- - - - 0": StateOK, "- - - - -": StateAlarm, "0 X X - X": StateAlarm, "- - X - -": StateAlarm},
		"notBreaching": {"0 - X - X": StateOK, "- - - - 0": StateOK, "- - - - -": StateOK, "0 X X - X": StateOK, "- - X - -": StateOK},
	}
	for treatment, cases := range want {
		for history, w := range cases {
			for _, initial := range []string{StateOK, StateAlarm} {
				t.Run(treatment+"/"+history+"/from "+initial, func(t *testing.T) {
					got, _ := stateAfter(t, metricAlarm{EvaluationPeriods: 3, Threshold: ptr(5.0), ComparisonOperator: "GreaterThanThreshold",
						TreatMissingData: treatment}, initial, histories[history])
					want := w
					if want == "keep" {
						want = initial
					}
					if got != want {
						t.Errorf("got %s, want %s", got, want)
					}
				})
			}
		}
	}
}

func TestDatapointsToAlarm(t *testing.T) {
	const o, x, m = 1, 10, -1
	tests := map[string]struct {
		n, m    int32
		history []float64
		want    string
	}{
		"3 of 5 breach":               {5, 3, []float64{x, o, x, o, x}, StateAlarm},
		"2 of 5 breach":               {5, 3, []float64{x, o, x, o, o}, StateOK},
		"oldest out of the window":    {3, 2, []float64{x, x, o, o, x}, StateOK},
		"2 of 3 with a missing point": {3, 2, []float64{o, x, m, x}, StateAlarm},
		"1 of 1":                      {1, 1, []float64{o, o, x}, StateAlarm},
		"1 of 2, newest fine":         {2, 1, []float64{o, x, o}, StateAlarm},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, _ := stateAfter(t, metricAlarm{EvaluationPeriods: tc.n, DatapointsToAlarm: tc.m, Threshold: ptr(5.0),
				ComparisonOperator: "GreaterThanThreshold", TreatMissingData: "notBreaching"}, StateInsufficientData, tc.history)
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestStatistics publishes one minute of the values 1, 2, 3 and 10 and
// checks that each statistic is computed exactly: a threshold just below
// it alarms, the value itself does not (GreaterThanThreshold).
func TestStatistics(t *testing.T) {
	tests := map[string]struct {
		stat, ext string
		value     float64
	}{
		"Sum":         {stat: "Sum", value: 16},
		"Average":     {stat: "Average", value: 4},
		"Minimum":     {stat: "Minimum", value: 1},
		"Maximum":     {stat: "Maximum", value: 10},
		"SampleCount": {stat: "SampleCount", value: 4},
		"p99":         {ext: "p99", value: 10},
		"p50":         {ext: "p50", value: 2},
	}
	for name, tc := range tests {
		for _, threshold := range []float64{tc.value - 0.001, tc.value} {
			t.Run(name, func(t *testing.T) {
				f := newFixture(t, Config{})
				ctx := context.Background()
				a := metricAlarm{AlarmName: "a", Namespace: "Test", MetricName: "M", Statistic: tc.stat, ExtendedStatistic: tc.ext, Period: 60,
					EvaluationPeriods: 1, Threshold: ptr(threshold), ComparisonOperator: "GreaterThanThreshold"}
				if _, err := f.svc.putMetricAlarm(ctx, &a); err != nil {
					t.Fatal(err)
				}
				at := evalAt.Add(-30 * time.Second)
				if _, err := f.svc.putMetricData(ctx, &putMetricDataInput{Namespace: "Test", MetricData: []metricDatum{
					{MetricName: "M", Timestamp: &at, Values: []float64{1, 2, 3, 10}},
				}}); err != nil {
					t.Fatal(err)
				}
				f.advance(t, evalAt)
				want := StateOK
				if threshold < tc.value {
					want = StateAlarm
				}
				if got := f.svc.st.Alarms["a"].Config.StateValue; got != want {
					t.Errorf("threshold %v: got %s, want %s", threshold, got, want)
				}
			})
		}
	}
}

func TestReasonAndEvent(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	a := metricAlarm{AlarmName: "web-5xx", AlarmDescription: "Target 5xx responses of web above 5 per minute", Namespace: "Test", MetricName: "M",
		Dimensions: []dimension{{Name: "TargetGroup", Value: "targetgroup/web-green/943f017f100becff"}},
		Statistic:  "Sum", Period: 60, EvaluationPeriods: 2, DatapointsToAlarm: 2, Threshold: ptr(5.0), ComparisonOperator: "GreaterThanThreshold"}
	if _, err := f.svc.putMetricAlarm(ctx, &a); err != nil {
		t.Fatal(err)
	}
	f.advance(t, evalAt.Add(-time.Second))
	for i, v := range []float64{37, 12} {
		at := evalAt.Add(-time.Duration(2-i) * time.Minute)
		if _, err := f.svc.putMetricData(ctx, &putMetricDataInput{Namespace: "Test", MetricData: []metricDatum{
			{MetricName: "M", Dimensions: a.Dimensions, Timestamp: &at, Value: ptr(v)},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	f.drain()
	f.advance(t, evalAt)
	evs := f.drain()
	if len(evs) != 1 {
		t.Fatalf("got %d events, want 1", len(evs))
	}
	ev := evs[0]
	d := ev.Detail.(alarmEventDetail)
	wantReason := "Threshold Crossed: 2 out of the last 2 datapoints [12.0 (25/11/26 16:29:00), 37.0 (25/11/26 16:28:00)] were greater than the threshold (5.0) (minimum 2 datapoints for INSUFFICIENT_DATA -> ALARM transition)."
	if d.State.Reason != wantReason {
		t.Errorf("got reason\n%s\nwant\n%s", d.State.Reason, wantReason)
	}
	var rd map[string]any
	if err := json.Unmarshal([]byte(d.State.ReasonData), &rd); err != nil {
		t.Fatalf("reason data %s: %v", d.State.ReasonData, err)
	}
	if !strings.Contains(d.State.ReasonData, `"recentDatapoints":[37.0,12.0]`) || rd["startDate"] != "2026-11-25T16:28:00.000+0000" || rd["statistic"] != "Sum" {
		t.Errorf("got reason data %s, want the two datapoints from 16:28", d.State.ReasonData)
	}
	if ev.Source != "aws.cloudwatch" || ev.DetailType != "CloudWatch Alarm State Change" || len(ev.Resources) != 1 ||
		ev.Resources[0] != "arn:aws:cloudwatch:us-east-1:000000000000:alarm:web-5xx" {
		t.Errorf("got event %s %s %v", ev.Source, ev.DetailType, ev.Resources)
	}
	if d.PreviousState.Value != StateInsufficientData || d.State.Timestamp != "2026-11-25T16:30:00.000+0000" {
		t.Errorf("got previous %s, timestamp %s", d.PreviousState.Value, d.State.Timestamp)
	}
	// Still breaching a minute later: no new event, no new transition time.
	at := evalAt
	if _, err := f.svc.putMetricData(ctx, &putMetricDataInput{Namespace: "Test", MetricData: []metricDatum{
		{MetricName: "M", Dimensions: a.Dimensions, Timestamp: &at, Value: ptr(9.0)},
	}}); err != nil {
		t.Fatal(err)
	}
	f.advance(t, evalAt.Add(time.Minute))
	if evs := f.drain(); len(evs) != 0 {
		t.Errorf("got %d events while staying in ALARM, want none", len(evs))
	}
	c := f.svc.st.Alarms["web-5xx"].Config
	if !c.StateTransitionedTimestamp.Equal(evalAt) || !c.StateUpdatedTimestamp.Equal(evalAt) || c.StateReason != wantReason {
		t.Errorf("got transitioned %v, updated %v, reason %q; want both at %v with the reason of the transition",
			c.StateTransitionedTimestamp, c.StateUpdatedTimestamp, c.StateReason, evalAt)
	}
}
