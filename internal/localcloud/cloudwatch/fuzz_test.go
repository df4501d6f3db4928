package cloudwatch

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// fuzzOps are the operations the fuzz targets pick from by a byte.
var fuzzOps = []string{"PutMetricData", "GetMetricData", "GetMetricStatistics", "ListMetrics", "PutMetricAlarm", "DescribeAlarms",
	"DescribeAlarmsForMetric", "SetAlarmState", "DeleteAlarms", "EnableAlarmActions", "DisableAlarmActions", "Nope"}

// fuzzService returns a Service holding an alarm and some data, so that
// fuzzed requests reach past the lookups.
func fuzzService(t *testing.T) *Service {
	s := New(Config{})
	ctx := context.Background()
	if _, err := s.putMetricAlarm(ctx, &metricAlarm{AlarmName: "a", Namespace: "N", MetricName: "M", Statistic: "Sum", Period: 60,
		EvaluationPeriods: 1, Threshold: ptr(1.0), ComparisonOperator: "GreaterThanThreshold"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.putMetricData(ctx, &putMetricDataInput{Namespace: "N", MetricData: []metricDatum{{MetricName: "M", Value: ptr(2.0)}}}); err != nil {
		t.Fatal(err)
	}
	return s
}

func checkErr(t *testing.T, err error) {
	var pe *protocol.Error
	if err != nil && !errors.As(err, &pe) {
		t.Errorf("got %T %v, want a *protocol.Error", err, err)
	}
}

// FuzzServeCBOR feeds arbitrary bodies to every operation: a result or a
// *protocol.Error, never a panic.
func FuzzServeCBOR(f *testing.F) {
	f.Add(byte(4), cbor.Encode(cbor.Map{"AlarmName": cbor.String("b"), "Namespace": cbor.String("N"), "MetricName": cbor.String("M"),
		"Statistic": cbor.String("Sum"), "Period": cbor.Uint(60), "EvaluationPeriods": cbor.Uint(2), "Threshold": cbor.Float64(3),
		"ComparisonOperator": cbor.String("LessThanThreshold"), "Metrics": cbor.List{cbor.Map{"Id": cbor.String("m")}}}))
	f.Add(byte(1), cbor.Encode(cbor.Map{"StartTime": &cbor.Tag{ID: 1, Value: cbor.Float64(1.7e9)}, "EndTime": &cbor.Tag{ID: 1, Value: cbor.Uint(1.8e9)},
		"MetricDataQueries": cbor.List{cbor.Map{"Id": cbor.String("q"), "MetricStat": cbor.Map{"Metric": cbor.Map{"Namespace": cbor.String("N"),
			"MetricName": cbor.String("M")}, "Period": cbor.Uint(60), "Stat": cbor.String("p99")}}}}))
	f.Add(byte(0), cbor.Encode(cbor.Map{"Namespace": cbor.String("N"), "MetricData": cbor.List{cbor.Map{"MetricName": cbor.String("M"),
		"Values": cbor.List{cbor.Float64(1)}, "Counts": cbor.List{cbor.Float64(-1)}}}}))
	f.Add(byte(7), cbor.Encode(cbor.Map{"AlarmName": cbor.String("a"), "StateValue": cbor.String("OK"), "StateReason": cbor.String("r")}))
	f.Add(byte(5), []byte{0xbf, 0x61, 0x41})
	f.Add(byte(2), []byte{0x1f, 0x8b, 0x08})
	f.Fuzz(func(t *testing.T, op byte, body []byte) {
		s := fuzzService(t)
		_, err := s.ServeCBOR(context.Background(), fuzzOps[int(op)%len(fuzzOps)], body)
		checkErr(t, err)
		_, err = s.ServeJSON(context.Background(), fuzzOps[int(op)%len(fuzzOps)], body)
		checkErr(t, err)
		s.Tick(context.Background())
	})
}

// FuzzServeQuery feeds arbitrary forms to every operation.
func FuzzServeQuery(f *testing.F) {
	f.Add(byte(4), "AlarmName=b&Namespace=N&MetricName=M&ExtendedStatistic=p99.9&Period=60&EvaluationPeriods=2&Threshold=1e308&ComparisonOperator=GreaterThanThreshold")
	f.Add(byte(1), "StartTime=2026-01-01T00:00:00Z&EndTime=1900000000&MetricDataQueries.member.1.Id=q&MetricDataQueries.member.1.MetricStat.Metric.Namespace=N&MetricDataQueries.member.1.MetricStat.Metric.MetricName=M&MetricDataQueries.member.1.MetricStat.Period=60&MetricDataQueries.member.1.MetricStat.Stat=Sum")
	f.Add(byte(0), "Namespace=N&MetricData.member.1.MetricName=M&MetricData.member.1.Values.member.1=1&MetricData.member.1.Counts.member.2=1")
	f.Add(byte(2), "Namespace=N&MetricName=M&StartTime=x&Period=-1")
	f.Add(byte(1), "StartTime=2026-01-01T00:00:00Z&EndTime=2026-01-02T00:00:00Z&MetricDataQueries.member.1.Id=m&MetricDataQueries.member.1.MetricStat.Metric.Namespace=N&MetricDataQueries.member.1.MetricStat.Metric.MetricName=M&MetricDataQueries.member.1.MetricStat.Period=60&MetricDataQueries.member.1.MetricStat.Stat=Sum&MetricDataQueries.member.2.Id=e&MetricDataQueries.member.2.Expression=SUM([m,-m*2])/(m-1)")
	f.Add(byte(4), "AlarmName=x&EvaluationPeriods=1&Threshold=1&ComparisonOperator=LessThanThreshold&Metrics.member.1.Id=m&Metrics.member.1.ReturnData=false&Metrics.member.1.MetricStat.Metric.Namespace=N&Metrics.member.1.MetricStat.Metric.MetricName=M&Metrics.member.1.MetricStat.Period=60&Metrics.member.1.MetricStat.Stat=Sum&Metrics.member.2.Id=e&Metrics.member.2.Expression=MAX(METRICS())*m")
	f.Add(byte(8), "AlarmNames.member.1=a&AlarmNames.member.01=b")
	f.Fuzz(func(t *testing.T, op byte, form string) {
		params, err := url.ParseQuery(form)
		if err != nil {
			return
		}
		s := fuzzService(t)
		_, err = s.ServeQuery(context.Background(), fuzzOps[int(op)%len(fuzzOps)], params)
		checkErr(t, err)
		s.Tick(context.Background())
	})
}

// FuzzExpression parses and evaluates arbitrary metric math: an error or a
// value, never a panic.
func FuzzExpression(f *testing.F) {
	for _, s := range []string{"100 * m / n", "SUM(METRICS())", "MAX([m, -n, (m)])", "ABS(MIN(m) - 1e3)", "((((m))))", "m / 0", "-.5e-3"} {
		f.Add(s)
	}
	m := timeSeries{start: 1}
	env := &mathEnv{stats: []string{"m", "n"}, resolve: func(id string) (timeSeries, error) {
		if id == "m" || id == "n" {
			return m, nil
		}
		return nil, errors.New("unknown")
	}}
	f.Fuzz(func(t *testing.T, expr string) {
		n, err := parseExpression(expr)
		if err != nil {
			return
		}
		n.eval(env, 0)
		exprRefs(n)
	})
}
