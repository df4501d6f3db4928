package cloudwatch

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/clock"
)

func TestSnapshotRestore(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewVirtual(start.Add(10 * time.Minute))
	s := New(Config{Clock: clk})
	if _, err := s.putMetricAlarm(ctx, &metricAlarm{AlarmName: "a", Namespace: "N", MetricName: "M", ExtendedStatistic: "p99", Period: 60,
		EvaluationPeriods: 2, Threshold: ptr(1.0), ComparisonOperator: "GreaterThanThreshold", AlarmActions: []string{"arn:aws:sns:us-east-1:000000000000:t"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.putMetricData(ctx, &putMetricDataInput{Namespace: "N", MetricData: []metricDatum{
		{MetricName: "M", Timestamp: ptr(start.Add(5 * time.Minute)), Values: []float64{1, 5}, Counts: []float64{3, 1}},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.setAlarmState(ctx, &setAlarmStateInput{AlarmName: "a", StateValue: StateAlarm, StateReason: "set"}); err != nil {
		t.Fatal(err)
	}
	b, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := New(Config{Clock: clk})
	if err := r.Restore(b); err != nil {
		t.Fatal(err)
	}
	describe := func(s *Service) describeAlarmsOutput {
		out, err := s.describeAlarms(ctx, &describeAlarmsInput{})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if diff := cmp.Diff(describe(s), describe(r)); diff != "" {
		t.Errorf("restored alarms (-want +got):\n%s", diff)
	}
	stats := func(s *Service) getMetricStatisticsOutput {
		out, err := s.getMetricStatistics(ctx, &getMetricStatisticsInput{Namespace: "N", MetricName: "M", StartTime: ptr(start), EndTime: ptr(start.Add(time.Hour)),
			Period: 60, ExtendedStatistics: []string{"p50", "p99"}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := stats(s)
	if len(want.Datapoints) != 1 || want.Datapoints[0].ExtendedStatistics["p99"] != 5 {
		t.Fatalf("got %+v, want one datapoint with p99 5", want)
	}
	if diff := cmp.Diff(want, stats(r)); diff != "" {
		t.Errorf("restored metrics (-want +got):\n%s", diff)
	}
	if err := r.Restore([]byte(`{}`)); err == nil {
		t.Error("got no error restoring an empty snapshot, want one")
	}
}
