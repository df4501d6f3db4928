package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	elbsdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/google/go-cmp/cmp"

	samples "github.com/slipwayhq/slipway/events"
	elbadapter "github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud"
	"github.com/slipwayhq/slipway/internal/localcloud/elbv2"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

// revisions is the ECS simulation's side of the generator in tests: the
// image behind each target.
type revisions map[string]string

func (r revisions) RevisionsOfTargets() map[string]string { return r }

// elbWorld is an ELBv2 simulation with a load balancer whose rule sends
// 90% of the traffic to blue (image good) and 10% to green (image bad).
type elbWorld struct {
	svc                       *elbv2.Service
	client                    *elbadapter.Client
	lb, rule, blue, green     string
	lbDimension, tgDimensionG string
}

func newELBWorld(t *testing.T, clk clock.Clock) *elbWorld {
	t.Helper()
	svc := elbv2.New(elbv2.Config{Clock: clk})
	call := func(action string, p url.Values) any {
		t.Helper()
		res, err := svc.ServeQuery(context.Background(), action, p)
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		return res
	}
	// Read ARNs back the way a client does: through the XML.
	arnOf := func(action string, res any, elem string) string {
		t.Helper()
		b, err := protocol.EncodeQueryResponse(action, elbv2.Namespace, "r", res)
		if err != nil {
			t.Fatal(err)
		}
		return between(string(b), "<"+elem+">", "</"+elem+">")
	}
	w := &elbWorld{svc: svc}
	w.lb = arnOf("CreateLoadBalancer", call("CreateLoadBalancer", url.Values{"Name": {"slipway-demo"}}), "LoadBalancerArn")
	for _, name := range []string{"web-blue", "web-green"} {
		arn := arnOf("CreateTargetGroup", call("CreateTargetGroup", url.Values{"Name": {name}, "Protocol": {"HTTP"}, "Port": {"8080"},
			"VpcId": {"vpc-1"}, "TargetType": {"ip"}}), "TargetGroupArn")
		if name == "web-blue" {
			w.blue = arn
		} else {
			w.green = arn
		}
	}
	l := arnOf("CreateListener", call("CreateListener", url.Values{"LoadBalancerArn": {w.lb}, "Port": {"80"},
		"DefaultActions.member.1.Type": {"fixed-response"}, "DefaultActions.member.1.FixedResponseConfig.StatusCode": {"404"}}), "ListenerArn")
	w.rule = arnOf("CreateRule", call("CreateRule", url.Values{"ListenerArn": {l}, "Priority": {"1"},
		"Conditions.member.1.Field": {"path-pattern"}, "Conditions.member.1.Values.member.1": {"/*"},
		"Actions.member.1.Type": {"forward"},
		"Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn": {w.blue},
		"Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight":         {"90"},
		"Actions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn": {w.green},
		"Actions.member.1.ForwardConfig.TargetGroups.member.2.Weight":         {"10"},
	}), "RuleArn")
	svc.RegisterTargets(w.blue, []elbv2.Target{{ID: "10.0.0.1", Port: 8080}})
	svc.RegisterTargets(w.green, []elbv2.Target{{ID: "10.0.0.2", Port: 8080}})
	svc.SetTargetHealth(w.blue, "10.0.0.1", elbv2.StateHealthy, "")
	svc.SetTargetHealth(w.green, "10.0.0.2", elbv2.StateHealthy, "")
	w.lbDimension, w.tgDimensionG = lbDimension(w.lb), tgDimension(w.green)

	// Slipway moves weights through its adapter and the real SDK client.
	// The ELBv2 service is served through the real router, registered as
	// the endpoint registers it.
	router := localcloud.NewServer(localcloud.Options{})
	router.RegisterQuery("elasticloadbalancing", elbv2.Version, elbv2.Namespace, svc)
	w.client = elbadapter.New(elbsdk.NewFromConfig(prototest.Config(prototest.Serve(t, router))))
	return w
}

func between(s, open, close string) string {
	_, rest, _ := strings.Cut(s, open)
	v, _, _ := strings.Cut(rest, close)
	return v
}

// TestCanaryRaises5xx is the demo's second scenario in miniature: the green
// target group runs an image that answers half its requests with 5xx. At
// 10% of the traffic its errors stay under the alarm's threshold; moving
// the weight to 50% trips the alarm within its evaluation periods, and a
// state-change event shaped as AWS's is emitted.
func TestCanaryRaises5xx(t *testing.T) {
	clk := clock.NewVirtual(start)
	clk.Busy() // hold the world still while building it
	w := newELBWorld(t, clk)
	reg := faults.New()
	reg.SetImage("sha256:bad", faults.Behaviour{ErrorRate: 0.5})
	sink := &events{clk: clk, ch: make(chan protocol.Event, 10)}
	cw := New(Config{Clock: clk, Events: sink, LoadBalancing: w.svc, Faults: reg,
		Revisions: revisions{"10.0.0.1": "123.dkr.ecr.us-east-1.amazonaws.com/web@sha256:good", "10.0.0.2": "123.dkr.ecr.us-east-1.amazonaws.com/web@sha256:bad"}})
	ctx, cancel := context.WithCancel(context.Background())
	// 10% of 100 req/s is 600 requests a minute and 300 errors; 50% is 1500.
	alarm := metricAlarm{AlarmName: "web-5xx", AlarmDescription: "Target 5xx responses of web green", Namespace: "AWS/ApplicationELB",
		MetricName: "HTTPCode_Target_5XX_Count", Statistic: "Sum", Period: 60, EvaluationPeriods: 3, DatapointsToAlarm: 2,
		Threshold: ptr(1000.0), ComparisonOperator: "GreaterThanThreshold", TreatMissingData: "notBreaching",
		Dimensions: []dimension{{Name: "TargetGroup", Value: w.tgDimensionG}, {Name: "LoadBalancer", Value: w.lbDimension}}}
	if _, err := cw.putMetricAlarm(ctx, &alarm); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cw.Run(ctx) }()
	next := func() protocol.Event {
		t.Helper()
		select {
		case e := <-sink.ch:
			return e // the event's hold on the clock is now ours
		case <-time.After(10 * time.Second):
			t.Fatal("no alarm event")
		}
		return protocol.Event{}
	}
	clk.Done()

	ok := next()
	if d := ok.Detail.(alarmEventDetail); d.State.Value != StateOK || !clk.Now().Equal(start.Add(time.Minute)) {
		t.Fatalf("got %s at %v, want OK at %v", d.State.Value, clk.Now(), start.Add(time.Minute))
	}
	moved := clk.Now()
	if err := w.client.SetRuleWeights(ctx, w.rule, []elbadapter.TargetWeight{{TargetGroupARN: w.blue, Weight: 50}, {TargetGroupARN: w.green, Weight: 50}}); err != nil {
		t.Fatal(err)
	}
	clk.Done()

	fired := next()
	d := fired.Detail.(alarmEventDetail)
	took := clk.Now().Sub(moved)
	if d.State.Value != StateAlarm || d.PreviousState.Value != StateOK {
		t.Fatalf("got %s -> %s, want OK -> ALARM", d.PreviousState.Value, d.State.Value)
	}
	// Two breaching minutes are needed (DatapointsToAlarm 2) of the three
	// evaluated (the last at 10% included), and at most
	// the three evaluation periods may pass.
	if took < 2*time.Minute || took > 3*time.Minute {
		t.Errorf("alarm fired %v after the weights moved, want within 2 to 3 minutes", took)
	}
	var rd struct{ RecentDatapoints []float64 }
	if err := json.Unmarshal([]byte(d.State.ReasonData), &rd); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float64{300, 1500, 1500}, rd.RecentDatapoints); diff != "" {
		t.Errorf("evaluated datapoints (-want +got):\n%s", diff)
	}
	checkEventShape(t, fired)

	// The requests follow the weights too: 3000 a minute to green at 50%.
	stats, err := cw.getMetricStatistics(ctx, &getMetricStatisticsInput{Namespace: "AWS/ApplicationELB", MetricName: "RequestCount",
		Dimensions: alarm.Dimensions, StartTime: ptr(start), EndTime: ptr(clk.Now()), Period: 60, Statistics: []string{"Sum"}})
	if err != nil {
		t.Fatal(err)
	}
	var sums []float64
	for _, dp := range stats.Datapoints {
		sums = append(sums, *dp.Sum)
	}
	if diff := cmp.Diff([]float64{600, 3000, 3000}, sums); diff != "" {
		t.Errorf("RequestCount of green per minute (-want +got):\n%s", diff)
	}
	stats, err = cw.getMetricStatistics(ctx, &getMetricStatisticsInput{Namespace: "AWS/ApplicationELB", MetricName: "HTTPCode_Target_2XX_Count",
		Dimensions: alarm.Dimensions, StartTime: ptr(start), EndTime: ptr(clk.Now()), Period: 60, Statistics: []string{"Sum"}})
	if err != nil {
		t.Fatal(err)
	}
	sums = nil
	for _, dp := range stats.Datapoints {
		sums = append(sums, *dp.Sum)
	}
	if diff := cmp.Diff([]float64{300, 1500, 1500}, sums); diff != "" {
		t.Errorf("HTTPCode_Target_2XX_Count of green per minute (-want +got):\n%s", diff)
	}
	clk.Done()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
}

// checkEventShape compares the event with events/alarm-state-change.json,
// the shape AWS delivers: the same fields at every level, of the same JSON
// types.
func checkEventShape(t *testing.T, e protocol.Event) {
	t.Helper()
	raw, err := samples.Files.ReadFile("alarm-state-change.json")
	if err != nil {
		t.Fatal(err)
	}
	var sample map[string]any
	if err := json.Unmarshal(raw, &sample); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{"source": e.Source, "detail-type": e.DetailType, "resources": e.Resources, "detail": e.Detail})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "id", "account", "time", "region"} {
		delete(sample, k) // the event sink fills these
	}
	if diff := cmp.Diff(shape(sample), shape(got)); diff != "" {
		t.Errorf("event shape (-sample +emitted):\n%s", diff)
	}
	if got["source"] != "aws.cloudwatch" || got["detail-type"] != "CloudWatch Alarm State Change" {
		t.Errorf("got %v / %v", got["source"], got["detail-type"])
	}
}

// shape replaces every leaf of a decoded JSON value by its type name and
// every list by the shape of its first element.
func shape(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = shape(e)
		}
		return m
	case []any:
		if len(x) == 0 {
			return []any{}
		}
		return []any{shape(x[0])}
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

// TestGeneratorMetrics checks the three ALB metrics of a minute and their
// dimensions, with a latency fault.
func TestGeneratorMetrics(t *testing.T) {
	clk := clock.NewVirtual(start)
	w := newELBWorld(t, clk)
	reg := faults.New()
	reg.SetImage("sha256:slow", faults.Behaviour{LatencyMs: 2000})
	cw := New(Config{Clock: clk, LoadBalancing: w.svc, Faults: reg, BaselineRPS: 10,
		Revisions: revisions{"10.0.0.1": "web@sha256:slow"}})
	ctx := context.Background()
	clk.Busy()
	if err := clk.Sleep(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	cw.Tick(ctx)
	clk.Done()
	list, err := cw.listMetrics(ctx, &listMetricsInput{Namespace: "AWS/ApplicationELB"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range list.Metrics {
		if m.MetricName == "RequestCountPerTarget" {
			// By TargetGroup alone, as target tracking reads it.
			if len(m.Dimensions) != 1 || m.Dimensions[0].Name != "TargetGroup" {
				t.Errorf("got RequestCountPerTarget dimensions %v, want TargetGroup only", m.Dimensions)
				continue
			}
			names = append(names, m.MetricName+" "+m.Dimensions[0].Value)
			continue
		}
		names = append(names, m.MetricName+" "+m.Dimensions[1].Value)
		if m.Dimensions[0] != (dimension{Name: "LoadBalancer", Value: w.lbDimension}) {
			t.Errorf("got dimensions %v, want LoadBalancer=%s first", m.Dimensions, w.lbDimension)
		}
	}
	blue := tgDimension(w.blue)
	// No 5xx at all: ELB publishes the error counts only when there are some.
	want := []string{"HTTPCode_Target_2XX_Count " + blue, "HTTPCode_Target_2XX_Count " + w.tgDimensionG,
		"RequestCount " + blue, "RequestCount " + w.tgDimensionG, "RequestCountPerTarget " + blue, "RequestCountPerTarget " + w.tgDimensionG, "TargetResponseTime " + blue, "TargetResponseTime " + w.tgDimensionG}
	if diff := cmp.Diff(want, slices.Sorted(slices.Values(names))); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	stats, err := cw.getMetricStatistics(ctx, &getMetricStatisticsInput{Namespace: "AWS/ApplicationELB", MetricName: "TargetResponseTime",
		Dimensions: []dimension{{Name: "TargetGroup", Value: blue}, {Name: "LoadBalancer", Value: w.lbDimension}},
		StartTime:  ptr(start), EndTime: ptr(clk.Now()), Period: 60, Statistics: []string{"Average", "SampleCount"}, ExtendedStatistics: []string{"p99", "p50"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(stats.Datapoints) != 1 {
		t.Fatalf("got %d datapoints, want 1", len(stats.Datapoints))
	}
	dp := stats.Datapoints[0]
	// 540 requests (90% of 600): 11 slow ones (2%) at 2.02 s, the rest at 0.02 s.
	got := []float64{*dp.SampleCount, dp.ExtendedStatistics["p99"], dp.ExtendedStatistics["p50"]}
	if diff := cmp.Diff([]float64{540, 2.02, 0.02}, got); diff != "" {
		t.Errorf("count, p99, p50 (-want +got):\n%s", diff)
	}
	if avg := *dp.Average; avg < 0.06 || avg > 0.062 {
		t.Errorf("got average %v, want about 0.02 + 2*11/540", avg)
	}
}
