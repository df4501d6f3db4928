package cloudwatch

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

func TestExpressionParsing(t *testing.T) {
	m := timeSeries{start: 4, start.Add(time.Minute): 10}
	n := timeSeries{start: 2, start.Add(2 * time.Minute): 5}
	env := &mathEnv{stats: []string{"m", "n"}, resolve: func(id string) (timeSeries, error) {
		switch id {
		case "m":
			return m, nil
		case "n":
			return n, nil
		}
		return nil, errors.New("unknown id " + id)
	}}
	one := start.Add(time.Minute)
	tests := map[string]struct {
		expr   string
		scalar float64
		series timeSeries
		err    bool
	}{
		"precedence":        {expr: "1 + 2 * 3 - 4 / 2", scalar: 5},
		"parentheses":       {expr: "(1 + 2) * -3", scalar: -9},
		"exponent":          {expr: "1.5e2 / 3", scalar: 50},
		"series times":      {expr: "100 * m / 2", series: timeSeries{start: 200, one: 500}},
		"series by series":  {expr: "m / n", series: timeSeries{start: 2}},
		"divide by zero":    {expr: "m / (n - 2)", series: timeSeries{}},
		"sum of metrics":    {expr: "SUM(METRICS())", series: timeSeries{start: 6, one: 10, start.Add(2 * time.Minute): 5}},
		"max of array":      {expr: "MAX([m, n * 3])", series: timeSeries{start: 6, one: 10, start.Add(2 * time.Minute): 15}},
		"avg of one series": {expr: "avg(m)", scalar: 7},
		"min and abs":       {expr: "ABS(MIN(m) - 10)", scalar: 6},
		"unknown id":        {expr: "m + x", err: true},
		"unknown function":  {expr: "RATE(m)", err: true},
		"dangling operator": {expr: "m +", err: true},
		"unclosed":          {expr: "SUM([m, n)", err: true},
		"trailing":          {expr: "m n", err: true},
		"scalar division":   {expr: "1 / 0", err: true},
		"array arithmetic":  {expr: "[m] + [n]", err: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			node, err := parseExpression(tc.expr)
			var v mathValue
			if err == nil {
				v, err = node.eval(env, 0)
			}
			if (err != nil) != tc.err {
				t.Fatalf("got error %v, want error %v", err, tc.err)
			}
			if tc.err {
				return
			}
			if tc.series != nil {
				if diff := cmp.Diff(tc.series, v.series); diff != "" {
					t.Errorf("series (-want +got):\n%s", diff)
				}
				return
			}
			if v.scalar == nil || *v.scalar != tc.scalar {
				t.Errorf("got %+v, want the scalar %v", v, tc.scalar)
			}
		})
	}
}

func TestGetMetricDataExpressions(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	c := f.client
	f.advance(t, start.Add(10*time.Minute))
	for i, v := range [][2]float64{{10, 200}, {50, 200}} {
		at := start.Add(time.Duration(i+1) * time.Minute)
		if _, err := c.PutMetricData(ctx, &sdk.PutMetricDataInput{Namespace: aws.String("Shop"), MetricData: []types.MetricDatum{
			{MetricName: aws.String("Errors"), Timestamp: aws.Time(at), Value: aws.Float64(v[0])},
			{MetricName: aws.String("Requests"), Timestamp: aws.Time(at), Value: aws.Float64(v[1])},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	stat := func(id, name string) types.MetricDataQuery {
		return types.MetricDataQuery{Id: aws.String(id), ReturnData: aws.Bool(false), MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: aws.String("Shop"), MetricName: aws.String(name)}, Period: aws.Int32(60), Stat: aws.String("Sum")}}
	}
	query := func(exprs ...string) ([]types.MetricDataResult, error) {
		qs := []types.MetricDataQuery{stat("errors", "Errors"), stat("requests", "Requests")}
		for i, e := range exprs {
			qs = append(qs, types.MetricDataQuery{Id: aws.String("e" + string(rune('0'+i))), Expression: aws.String(e), Label: aws.String("rate")})
		}
		out, err := c.GetMetricData(ctx, &sdk.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(start.Add(10 * time.Minute)),
			ScanBy: types.ScanByTimestampAscending, MetricDataQueries: qs})
		if err != nil {
			return nil, err
		}
		return out.MetricDataResults, nil
	}
	res, err := query("100 * errors / requests")
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || aws.ToString(res[0].Label) != "rate" || !cmp.Equal(res[0].Values, []float64{5, 25}) ||
		!cmp.Equal(res[0].Timestamps, []time.Time{start.Add(time.Minute), start.Add(2 * time.Minute)}, cmp.Comparer(time.Time.Equal)) {
		t.Errorf("got %+v, want the error rate 5 then 25", res)
	}
	bad := map[string][]string{
		"scalar result": {"MAX(errors)"},
		"unknown id":    {"errors / nope"},
		"cycle":         {"e1 + 1", "e0 * 2"},
		"syntax":        {"errors /"},
	}
	for name, exprs := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := query(exprs...); prototest.ErrorCode(err) != "InvalidParameterValue" {
				t.Errorf("got %v, want InvalidParameterValue", err)
			}
		})
	}
}

func TestAlarmOnExpression(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	stat := func(id, name string) metricDataQuery {
		return metricDataQuery{Id: id, ReturnData: ptr(false), MetricStat: &metricStat{Metric: metric{Namespace: "Shop", MetricName: name}, Period: 60, Stat: "Sum"}}
	}
	a := metricAlarm{AlarmName: "error-rate", EvaluationPeriods: 1, Threshold: ptr(10.0), ComparisonOperator: "GreaterThanThreshold",
		Metrics: []metricDataQuery{stat("errors", "Errors"), stat("requests", "Requests"), {Id: "rate", Expression: "100 * errors / requests", Label: "error rate"}}}
	if _, err := f.svc.putMetricAlarm(ctx, &a); err != nil {
		t.Fatal(err)
	}
	at := evalAt.Add(-time.Minute)
	if _, err := f.svc.putMetricData(ctx, &putMetricDataInput{Namespace: "Shop", MetricData: []metricDatum{
		{MetricName: "Errors", Timestamp: &at, Value: ptr(30.0)}, {MetricName: "Requests", Timestamp: &at, Value: ptr(200.0)},
	}}); err != nil {
		t.Fatal(err)
	}
	f.advance(t, evalAt)
	evs := f.drain()
	if len(evs) != 1 {
		t.Fatalf("got %d events, want 1", len(evs))
	}
	d := evs[0].Detail.(alarmEventDetail)
	if d.State.Value != StateAlarm || len(d.Configuration.Metrics) != 3 || d.Configuration.Metrics[2].Expression != "100 * errors / requests" {
		t.Errorf("got %s with configuration %+v, want ALARM on the expression", d.State.Value, d.Configuration)
	}
	wrong := map[string][]metricDataQuery{
		"unknown id":         {stat("errors", "Errors"), {Id: "rate", Expression: "errors / nope"}},
		"two results":        {{Id: "errors", MetricStat: stat("errors", "Errors").MetricStat}, {Id: "rate", Expression: "errors * 2"}},
		"different periods":  {stat("errors", "Errors"), {Id: "r", ReturnData: ptr(false), MetricStat: &metricStat{Metric: metric{Namespace: "Shop", MetricName: "Requests"}, Period: 300, Stat: "Sum"}}, {Id: "rate", Expression: "errors / r"}},
		"no metric":          {{Id: "rate", Expression: "1 + 1"}},
		"both stat and expr": {{Id: "rate", Expression: "1", MetricStat: stat("x", "X").MetricStat}},
	}
	for name, metrics := range wrong {
		t.Run(name, func(t *testing.T) {
			bad := metricAlarm{AlarmName: "bad", EvaluationPeriods: 1, Threshold: ptr(1.0), ComparisonOperator: "GreaterThanThreshold", Metrics: metrics}
			_, err := f.svc.putMetricAlarm(ctx, &bad)
			var pe *protocol.Error
			if !errors.As(err, &pe) || pe.Code != "InvalidParameterValue" {
				t.Errorf("got %v, want InvalidParameterValue", err)
			}
		})
	}
}
