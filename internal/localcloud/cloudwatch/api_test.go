package cloudwatch

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/google/go-cmp/cmp"

	adapter "github.com/slipwayhq/slipway/internal/awsapi/cloudwatch"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

func putAlarm(t *testing.T, c *sdk.Client, in *sdk.PutMetricAlarmInput) {
	t.Helper()
	if _, err := c.PutMetricAlarm(context.Background(), in); err != nil {
		t.Fatalf("put alarm %s: %v", aws.ToString(in.AlarmName), err)
	}
}

func alarmInput(name string) *sdk.PutMetricAlarmInput {
	return &sdk.PutMetricAlarmInput{
		AlarmName: aws.String(name), AlarmDescription: aws.String("errors of " + name),
		Namespace: aws.String("Shop"), MetricName: aws.String("Errors"),
		Dimensions: []types.Dimension{{Name: aws.String("Service"), Value: aws.String(name)}},
		Statistic:  types.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(5), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold,
	}
}

func TestAlarmsOverCBOR(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	c := f.client
	putAlarm(t, c, alarmInput("web-5xx"))
	putAlarm(t, c, alarmInput("worker-5xx"))

	states, err := adapter.New(c).AlarmStates(ctx, []string{"web-5xx", "worker-5xx"})
	if err != nil {
		t.Fatal(err)
	}
	want := adapter.AlarmState{Value: "INSUFFICIENT_DATA", Reason: "Unchecked: Initial alarm creation", Updated: start, Transitioned: start}
	if diff := cmp.Diff(map[string]adapter.AlarmState{"web-5xx": want, "worker-5xx": want}, states, cmp.Comparer(time.Time.Equal)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if _, err := adapter.New(c).AlarmStates(ctx, []string{"web-5xx", "typo"}); !errors.Is(err, adapter.ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound for a missing alarm", err)
	}

	f.advance(t, start.Add(90*time.Second))
	if _, err := c.SetAlarmState(ctx, &sdk.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: types.StateValueAlarm,
		StateReason: aws.String("testing"), StateReasonData: aws.String(`{"by":"test"}`)}); err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeAlarms(ctx, &sdk.DescribeAlarmsInput{AlarmNames: []string{"web-5xx"}})
	if err != nil {
		t.Fatal(err)
	}
	a := out.MetricAlarms[0]
	if a.StateValue != types.StateValueAlarm || aws.ToString(a.StateReason) != "testing" || aws.ToString(a.StateReasonData) != `{"by":"test"}` ||
		!aws.ToTime(a.StateTransitionedTimestamp).Equal(start.Add(90*time.Second)) {
		t.Errorf("got %s %q %q at %v, want ALARM testing at %v", a.StateValue, aws.ToString(a.StateReason), aws.ToString(a.StateReasonData),
			aws.ToTime(a.StateTransitionedTimestamp), start.Add(90*time.Second))
	}
	if aws.ToString(a.AlarmArn) != "arn:aws:cloudwatch:us-east-1:000000000000:alarm:web-5xx" || aws.ToFloat64(a.Threshold) != 5 ||
		aws.ToInt32(a.DatapointsToAlarm) != 1 || aws.ToString(a.TreatMissingData) != "missing" || !aws.ToBool(a.ActionsEnabled) ||
		len(a.Dimensions) != 1 || aws.ToString(a.Dimensions[0].Value) != "web-5xx" {
		t.Errorf("got alarm %+v, want the configuration put with its defaults", a)
	}
	events := f.drain()
	if len(events) != 1 || events[0].Detail.(alarmEventDetail).State.Value != StateAlarm {
		t.Fatalf("got events %+v, want one ALARM event", events)
	}

	// The next evaluation puts the alarm back: there is no data, and the
	// default treatment of missing data is "missing".
	f.advance(t, start.Add(2*time.Minute))
	out, err = c.DescribeAlarms(ctx, &sdk.DescribeAlarmsInput{AlarmNames: []string{"web-5xx"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.MetricAlarms[0]; got.StateValue != types.StateValueInsufficientData || aws.ToString(got.StateReason) != "Insufficient Data: 1 datapoint was unknown." {
		t.Errorf("got %s %q, want INSUFFICIENT_DATA after the next evaluation", got.StateValue, aws.ToString(got.StateReason))
	}

	filters := map[string]struct {
		in   sdk.DescribeAlarmsInput
		want []string
	}{
		"prefix":            {sdk.DescribeAlarmsInput{AlarmNamePrefix: aws.String("work")}, []string{"worker-5xx"}},
		"state":             {sdk.DescribeAlarmsInput{StateValue: types.StateValueInsufficientData}, []string{"web-5xx", "worker-5xx"}},
		"composite only":    {sdk.DescribeAlarmsInput{AlarmTypes: []types.AlarmType{types.AlarmTypeCompositeAlarm}}, nil},
		"metric":            {sdk.DescribeAlarmsInput{AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm}}, []string{"web-5xx", "worker-5xx"}},
		"no state matching": {sdk.DescribeAlarmsInput{StateValue: types.StateValueOk}, nil},
	}
	for name, tc := range filters {
		t.Run(name, func(t *testing.T) {
			out, err := c.DescribeAlarms(ctx, &tc.in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range out.MetricAlarms {
				got = append(got, aws.ToString(a.AlarmName))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" || len(out.CompositeAlarms) != 0 {
				t.Errorf("names (-want +got):\n%s", diff)
			}
		})
	}

	// Paging: one alarm per page.
	p := sdk.NewDescribeAlarmsPaginator(c, &sdk.DescribeAlarmsInput{MaxRecords: aws.Int32(1)})
	var pages []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.MetricAlarms {
			pages = append(pages, aws.ToString(a.AlarmName))
		}
	}
	if diff := cmp.Diff([]string{"web-5xx", "worker-5xx"}, pages); diff != "" {
		t.Errorf("paged names (-want +got):\n%s", diff)
	}

	if _, err := c.DisableAlarmActions(ctx, &sdk.DisableAlarmActionsInput{AlarmNames: []string{"worker-5xx"}}); err != nil {
		t.Fatal(err)
	}
	forMetric, err := c.DescribeAlarmsForMetric(ctx, &sdk.DescribeAlarmsForMetricInput{Namespace: aws.String("Shop"), MetricName: aws.String("Errors"),
		Dimensions: []types.Dimension{{Name: aws.String("Service"), Value: aws.String("worker-5xx")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(forMetric.MetricAlarms) != 1 || aws.ToBool(forMetric.MetricAlarms[0].ActionsEnabled) {
		t.Errorf("got %+v, want worker-5xx with actions disabled", forMetric.MetricAlarms)
	}

	if _, err := c.DeleteAlarms(ctx, &sdk.DeleteAlarmsInput{AlarmNames: []string{"web-5xx"}}); err != nil {
		t.Fatal(err)
	}
	errs := map[string]struct {
		call func() error
		code string
	}{
		"set state of a deleted alarm": {func() error {
			_, err := c.SetAlarmState(ctx, &sdk.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: types.StateValueOk, StateReason: aws.String("x")})
			return err
		}, "ResourceNotFound"},
		"delete a missing alarm": {func() error {
			_, err := c.DeleteAlarms(ctx, &sdk.DeleteAlarmsInput{AlarmNames: []string{"nope"}})
			return err
		}, "ResourceNotFound"},
		"bad reason data": {func() error {
			_, err := c.SetAlarmState(ctx, &sdk.SetAlarmStateInput{AlarmName: aws.String("worker-5xx"), StateValue: types.StateValueOk, StateReason: aws.String("x"), StateReasonData: aws.String("{")})
			return err
		}, "InvalidFormat"},
		"names and prefix": {func() error {
			_, err := c.DescribeAlarms(ctx, &sdk.DescribeAlarmsInput{AlarmNames: []string{"a"}, AlarmNamePrefix: aws.String("a")})
			return err
		}, "InvalidParameterCombination"},
		"band comparison": {func() error {
			in := alarmInput("band")
			in.ComparisonOperator = types.ComparisonOperatorLessThanLowerOrGreaterThanUpperThreshold
			_, err := c.PutMetricAlarm(ctx, in)
			return err
		}, "InvalidParameterValue"},
		"statistic and extended statistic": {func() error {
			in := alarmInput("both")
			in.ExtendedStatistic = aws.String("p99")
			_, err := c.PutMetricAlarm(ctx, in)
			return err
		}, "InvalidParameterCombination"},
		"datapoints above periods": {func() error {
			in := alarmInput("m-of-n")
			in.DatapointsToAlarm = aws.Int32(2)
			_, err := c.PutMetricAlarm(ctx, in)
			return err
		}, "InvalidParameterValue"},
		"missing threshold": {func() error {
			in := alarmInput("no-threshold")
			in.Threshold = nil
			_, err := c.PutMetricAlarm(ctx, in)
			return err
		}, "MissingParameter"},
		"bad period": {func() error {
			in := alarmInput("period")
			in.Period = aws.Int32(45)
			_, err := c.PutMetricAlarm(ctx, in)
			return err
		}, "InvalidParameterValue"},
	}
	for name, tc := range errs {
		t.Run(name, func(t *testing.T) {
			if err := tc.call(); prototest.ErrorCode(err) != tc.code {
				t.Errorf("got %v, want %s", err, tc.code)
			}
		})
	}
}

func TestMetricsOverCBOR(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	c := f.client
	f.advance(t, start.Add(10*time.Minute))
	dims := []types.Dimension{{Name: aws.String("Service"), Value: aws.String("web")}}
	// Two minutes of latencies: 100 values 1..100 in the first, a statistic
	// set in the second.
	var values []float64
	for i := 1; i <= 100; i++ {
		values = append(values, float64(i))
	}
	_, err := c.PutMetricData(ctx, &sdk.PutMetricDataInput{Namespace: aws.String("Shop"), MetricData: []types.MetricDatum{
		{MetricName: aws.String("Latency"), Dimensions: dims, Timestamp: aws.Time(start.Add(5*time.Minute + 10*time.Second)), Values: values},
		{MetricName: aws.String("Latency"), Dimensions: dims, Timestamp: aws.Time(start.Add(6 * time.Minute)),
			StatisticValues: &types.StatisticSet{SampleCount: aws.Float64(4), Sum: aws.Float64(40), Minimum: aws.Float64(5), Maximum: aws.Float64(15)}},
		{MetricName: aws.String("Orders"), Timestamp: aws.Time(start.Add(6 * time.Minute)), Value: aws.Float64(3), Unit: types.StandardUnitCount},
	}})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := c.GetMetricStatistics(ctx, &sdk.GetMetricStatisticsInput{Namespace: aws.String("Shop"), MetricName: aws.String("Latency"), Dimensions: dims,
		StartTime: aws.Time(start), EndTime: aws.Time(start.Add(10 * time.Minute)), Period: aws.Int32(60),
		Statistics: []types.Statistic{types.StatisticSum, types.StatisticAverage, types.StatisticMaximum, types.StatisticSampleCount}, ExtendedStatistics: []string{"p99"}})
	if err != nil {
		t.Fatal(err)
	}
	type dp struct {
		At                   time.Time
		Sum, Avg, Max, Count float64
		P99                  float64
		HasP99               bool
	}
	var got []dp
	for _, d := range stats.Datapoints {
		p99, ok := d.ExtendedStatistics["p99"]
		got = append(got, dp{aws.ToTime(d.Timestamp), aws.ToFloat64(d.Sum), aws.ToFloat64(d.Average), aws.ToFloat64(d.Maximum), aws.ToFloat64(d.SampleCount), p99, ok})
	}
	want := []dp{
		{start.Add(5 * time.Minute), 5050, 50.5, 100, 100, 99, true},
		{start.Add(6 * time.Minute), 40, 10, 15, 4, 0, false},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(time.Time.Equal)); diff != "" {
		t.Errorf("statistics (-want +got):\n%s", diff)
	}

	data, err := c.GetMetricData(ctx, &sdk.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(start.Add(10 * time.Minute)),
		MetricDataQueries: []types.MetricDataQuery{
			{Id: aws.String("lat"), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("Shop"), MetricName: aws.String("Latency"), Dimensions: dims},
				Period: aws.Int32(300), Stat: aws.String("Maximum")}},
			{Id: aws.String("orders"), Label: aws.String("orders per minute"), MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String("Shop"), MetricName: aws.String("Orders")},
				Period: aws.Int32(60), Stat: aws.String("Sum")}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		ID, Label string
		Times     []time.Time
		Values    []float64
	}
	var results []result
	for _, r := range data.MetricDataResults {
		if r.StatusCode != types.StatusCodeComplete {
			t.Errorf("got status %s, want Complete", r.StatusCode)
		}
		results = append(results, result{aws.ToString(r.Id), aws.ToString(r.Label), r.Timestamps, r.Values})
	}
	wantResults := []result{
		{"lat", "Latency", []time.Time{start.Add(5 * time.Minute)}, []float64{100}},
		{"orders", "orders per minute", []time.Time{start.Add(6 * time.Minute)}, []float64{3}},
	}
	if diff := cmp.Diff(wantResults, results, cmp.Comparer(time.Time.Equal)); diff != "" {
		t.Errorf("metric data (-want +got):\n%s", diff)
	}

	list, err := c.ListMetrics(ctx, &sdk.ListMetricsInput{Namespace: aws.String("Shop"), Dimensions: []types.DimensionFilter{{Name: aws.String("Service")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Metrics) != 1 || aws.ToString(list.Metrics[0].MetricName) != "Latency" {
		t.Errorf("got metrics %+v, want Latency only", list.Metrics)
	}

	bad := map[string]struct {
		in   *sdk.PutMetricDataInput
		code string
	}{
		"AWS namespace": {&sdk.PutMetricDataInput{Namespace: aws.String("AWS/ApplicationELB"), MetricData: []types.MetricDatum{{MetricName: aws.String("x"), Value: aws.Float64(1)}}}, "InvalidParameterValue"},
		"no value":      {&sdk.PutMetricDataInput{Namespace: aws.String("Shop"), MetricData: []types.MetricDatum{{MetricName: aws.String("x")}}}, "InvalidParameterCombination"},
		"counts":        {&sdk.PutMetricDataInput{Namespace: aws.String("Shop"), MetricData: []types.MetricDatum{{MetricName: aws.String("x"), Values: []float64{1, 2}, Counts: []float64{1}}}}, "InvalidParameterValue"},
		"too old":       {&sdk.PutMetricDataInput{Namespace: aws.String("Shop"), MetricData: []types.MetricDatum{{MetricName: aws.String("x"), Value: aws.Float64(1), Timestamp: aws.Time(start.Add(-15 * 24 * time.Hour))}}}, "InvalidParameterValue"},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := c.PutMetricData(ctx, tc.in); prototest.ErrorCode(err) != tc.code {
				t.Errorf("got %v, want %s", err, tc.code)
			}
		})
	}
	if diff := cmp.Diff([]string{"cbor"}, uniq(f.router.seen())); diff != "" {
		t.Errorf("protocols used by the Go SDK (-want +got):\n%s", diff)
	}
}

func uniq(s []string) []string {
	var out []string
	for _, x := range s {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}

func TestUnknownOperation(t *testing.T) {
	s := New(Config{})
	ctx := context.Background()
	_, err := s.ServeCBOR(ctx, "PutDashboard", nil)
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeUnknownOperation {
		t.Errorf("CBOR: got %v, want UnknownOperationException", err)
	}
	if _, err := s.ServeQuery(ctx, "PutDashboard", url.Values{}); !errors.As(err, &pe) || pe.Code != protocol.CodeInvalidAction {
		t.Errorf("query: got %v, want InvalidAction", err)
	}
	if _, err := s.ServeJSON(ctx, "DescribeAlarms", []byte("{")); !errors.As(err, &pe) || pe.Code != protocol.CodeSerialization {
		t.Errorf("JSON: got %v, want SerializationException", err)
	}
	// The SDKs check required members; the service checks them again.
	if _, err := s.ServeJSON(ctx, "PutMetricData", []byte(`{"Namespace":"Shop","MetricData":[{"Value":1}]}`)); apiCodeOf(err) != "MissingParameter" {
		t.Errorf("JSON: got %v, want MissingParameter", err)
	}
}

func TestQueryProtocol(t *testing.T) {
	s := New(Config{Clock: nil})
	ctx := context.Background()
	put := url.Values{"Action": {"PutMetricAlarm"}, "Version": {Version}, "AlarmName": {"q"}, "Namespace": {"Shop"}, "MetricName": {"Errors"},
		"Statistic": {"Sum"}, "Period": {"60"}, "EvaluationPeriods": {"3"}, "DatapointsToAlarm": {"2"}, "Threshold": {"2.5"},
		"ComparisonOperator": {"GreaterThanThreshold"}, "Dimensions.member.1.Name": {"Service"}, "Dimensions.member.1.Value": {"web"},
		"AlarmActions.member.1": {"arn:aws:sns:us-east-1:000000000000:ops"}}
	if res, err := s.ServeQuery(ctx, "PutMetricAlarm", put); err != nil || res != nil {
		t.Fatalf("got %v %v, want no result and no error", res, err)
	}
	res, err := s.ServeQuery(ctx, "DescribeAlarms", url.Values{"AlarmNames.member.1": {"q"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := protocol.EncodeQueryResponse("DescribeAlarms", Namespace, "r", res)
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	for _, want := range []string{
		"<DescribeAlarmsResult><MetricAlarms><member><AlarmName>q</AlarmName>",
		"<AlarmActions><member>arn:aws:sns:us-east-1:000000000000:ops</member></AlarmActions>",
		"<Dimensions><member><Name>Service</Name><Value>web</Value></member></Dimensions>",
		"<Threshold>2.5</Threshold>", "<DatapointsToAlarm>2</DatapointsToAlarm>", "<StateValue>INSUFFICIENT_DATA</StateValue>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("response lacks %s:\n%s", want, body)
		}
	}
	if _, err := s.ServeQuery(ctx, "PutMetricAlarm", url.Values{"AlarmName": {"q"}, "Period": {"sixty"}}); apiCodeOf(err) != "InvalidParameterValue" {
		t.Errorf("got %v, want InvalidParameterValue", err)
	}
	start := url.Values{"StartTime": {"2026-11-25T16:00:00Z"}, "EndTime": {"2026-11-25T16:10:00.000Z"}, "Namespace": {"Shop"}, "MetricName": {"Errors"},
		"Period": {"60"}, "Statistics.member.1": {"Sum"}}
	res, err = s.ServeQuery(ctx, "GetMetricStatistics", start)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := protocol.EncodeQueryResponse("GetMetricStatistics", Namespace, "r", res); !strings.Contains(string(b), "<Label>Errors</Label>") {
		t.Errorf("got %s, want the label Errors", b)
	}
}

func apiCodeOf(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
