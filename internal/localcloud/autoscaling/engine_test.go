package autoscaling_test

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	cwsdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud"
	"github.com/slipwayhq/slipway/internal/localcloud/autoscaling"
	"github.com/slipwayhq/slipway/internal/localcloud/cloudwatch"
	"github.com/slipwayhq/slipway/internal/localcloud/ecs"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

// The CloudWatch simulation holds target tracking's alarms and metrics.
var _ autoscaling.Monitoring = (*cloudwatch.Service)(nil)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// world is ECS, CloudWatch and Application Auto Scaling wired as the
// endpoint wires them, on a virtual clock, with the SDK clients of the two
// APIs a user sees.
type world struct {
	clk    *clock.Virtual
	ecs    *ecs.Service
	faults *faults.Registry
	as     *sdk.Client
	cw     *cwsdk.Client
}

const resource = "service/staging/w"

// newWorld runs a service w of desired count 2 in cluster staging, with the
// simulations' loops running. The test holds the clock busy on return; it
// moves time with w.sleep.
func newWorld(t *testing.T) *world {
	t.Helper()
	clk := clock.NewVirtual(t0)
	clk.Busy()
	reg := faults.New()
	e := ecs.New(ecs.Config{Clock: clk, Faults: reg})
	t.Cleanup(e.Close)
	ctx, cancel := context.WithCancel(context.Background())
	calls := []struct{ op, body string }{
		{"CreateCluster", `{"clusterName":"staging"}`},
		{"RegisterTaskDefinition", `{"family":"w","requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc","cpu":"256","memory":"512","containerDefinitions":[{"name":"w","image":"public.ecr.aws/w/w:1","essential":true}]}`},
		{"CreateService", `{"cluster":"staging","serviceName":"w","taskDefinition":"w","desiredCount":2,"launchType":"FARGATE","networkConfiguration":{"awsvpcConfiguration":{"subnets":["subnet-1"]}}}`},
	}
	for _, c := range calls {
		if _, err := e.ServeJSON(ctx, c.op, []byte(c.body)); err != nil {
			t.Fatalf("%s: %v", c.op, err)
		}
	}
	cw := cloudwatch.New(cloudwatch.Config{Clock: clk, Loads: reg, ECS: e})
	as := autoscaling.New(autoscaling.Config{Clock: clk, ECS: e, ECSAPI: e, Monitoring: cw})
	router := localcloud.NewServer(localcloud.Options{})
	router.RegisterJSON("application-autoscaling", prefix, "1.1", as)
	router.RegisterQuery("monitoring", "2010-08-01", "http://monitoring.amazonaws.com/doc/2010-08-01/", cw)
	router.RegisterCBOR("monitoring", "GraniteServiceVersion20100801", cw)
	cfg := prototest.Config(prototest.Serve(t, router))
	done := make(chan struct{}, 2)
	go func() { _ = cw.Run(ctx); done <- struct{}{} }()
	go func() { _ = as.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
	})
	return &world{clk: clk, ecs: e, faults: reg, as: sdk.NewFromConfig(cfg), cw: cwsdk.NewFromConfig(cfg)}
}

// sleep lets d of simulated time pass with every loop running.
func (w *world) sleep(t *testing.T, d time.Duration) {
	t.Helper()
	if err := w.clk.Sleep(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

func (w *world) desired(t *testing.T) int32 {
	t.Helper()
	out, err := w.ecs.ServeJSON(context.Background(), "DescribeServices", []byte(`{"cluster":"staging","services":["w"]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	var d struct {
		Services []struct{ DesiredCount int32 }
	}
	if err := json.Unmarshal(b, &d); err != nil || len(d.Services) != 1 {
		t.Fatalf("describe services: got %s", b)
	}
	return d.Services[0].DesiredCount
}

func (w *world) register(t *testing.T, lo, hi int32, ss *types.SuspendedState) {
	t.Helper()
	_, err := w.as.RegisterScalableTarget(context.Background(), &sdk.RegisterScalableTargetInput{
		ServiceNamespace: types.ServiceNamespaceEcs, ResourceId: aws.String(resource),
		ScalableDimension: types.ScalableDimensionECSServiceDesiredCount,
		MinCapacity:       aws.Int32(lo), MaxCapacity: aws.Int32(hi), SuspendedState: ss})
	if err != nil {
		t.Fatal(err)
	}
}

// cpuPolicy puts a target tracking policy on CPU at target 50% and returns
// its alarms.
func (w *world) cpuPolicy(t *testing.T, disableScaleIn bool, outCooldown int32) []types.Alarm {
	t.Helper()
	out, err := w.as.PutScalingPolicy(context.Background(), &sdk.PutScalingPolicyInput{
		ServiceNamespace: types.ServiceNamespaceEcs, ResourceId: aws.String(resource),
		ScalableDimension: types.ScalableDimensionECSServiceDesiredCount,
		PolicyName:        aws.String("cpu"), PolicyType: types.PolicyTypeTargetTrackingScaling,
		TargetTrackingScalingPolicyConfiguration: &types.TargetTrackingScalingPolicyConfiguration{
			TargetValue:                   aws.Float64(50),
			PredefinedMetricSpecification: &types.PredefinedMetricSpecification{PredefinedMetricType: types.MetricTypeECSServiceAverageCPUUtilization},
			ScaleOutCooldown:              aws.Int32(outCooldown), ScaleInCooldown: aws.Int32(60), DisableScaleIn: aws.Bool(disableScaleIn),
		}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Alarms
}

func (w *world) alarmStates(t *testing.T, alarms []types.Alarm) map[string]cwtypes.StateValue {
	t.Helper()
	var names []string
	for _, a := range alarms {
		names = append(names, aws.ToString(a.AlarmName))
	}
	out, err := w.cw.DescribeAlarms(context.Background(), &cwsdk.DescribeAlarmsInput{AlarmNames: names})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]cwtypes.StateValue{}
	for _, a := range out.MetricAlarms {
		side := "high"
		if strings.Contains(aws.ToString(a.AlarmName), "-AlarmLow-") {
			side = "low"
		}
		got[side] = a.StateValue
	}
	return got
}

// TestTargetTrackingScalesOutUnderLoad: CPU load on the service raises its
// CPUUtilization, the policy's AlarmHigh goes to ALARM and the service
// scales out to ceil(current × metric / target), never past max; with
// dynamic scaling out suspended nothing moves.
func TestTargetTrackingScalesOutUnderLoad(t *testing.T) {
	tests := map[string]struct {
		max       int32
		cooldown  int32 // ScaleOutCooldown, 60 when 0
		suspended *types.SuspendedState
		want      int32
	}{
		// 300% of one task's CPU over 2 tasks is 100% (capped), so 4
		// tasks; then 75% over 4, so 6 at 50%.
		"scales out":   {max: 10, want: 6},
		"stops at max": {max: 3, want: 3},
		// The second step waits for the scale-out cooldown.
		"cooldown":            {max: 10, cooldown: 1200, want: 4},
		"suspended scale out": {max: 10, suspended: &types.SuspendedState{DynamicScalingOutSuspended: aws.Bool(true)}, want: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.register(t, 2, tc.max, tc.suspended)
			alarms := w.cpuPolicy(t, false, cmp.Or(tc.cooldown, 60))
			if len(alarms) != 2 || !strings.HasPrefix(aws.ToString(alarms[0].AlarmName), "TargetTracking-"+resource+"-AlarmHigh-") ||
				!strings.HasPrefix(aws.ToString(alarms[1].AlarmName), "TargetTracking-"+resource+"-AlarmLow-") {
				t.Fatalf("got alarms %+v, want AlarmHigh and AlarmLow", alarms)
			}
			if got := w.alarmStates(t, alarms); len(got) != 2 {
				t.Fatalf("got alarms %v in CloudWatch, want the policy's two", got)
			}
			w.faults.SetServiceLoad("staging", "w", 300)
			var high []cwtypes.StateValue
			for range 6 {
				w.sleep(t, time.Minute)
				high = append(high, w.alarmStates(t, alarms)["high"])
			}
			if !slices.Contains(high, cwtypes.StateValueAlarm) {
				t.Errorf("got AlarmHigh %v minute by minute under load, want ALARM", high)
			}
			w.sleep(t, 10*time.Minute)
			if got := w.desired(t); got != tc.want {
				t.Errorf("got desired count %d, want %d", got, tc.want)
			}
		})
	}
}

// TestTargetTrackingScalesIn: with the load gone the slow AlarmLow
// scales the service in, not below min, unless DisableScaleIn.
func TestTargetTrackingScalesIn(t *testing.T) {
	tests := map[string]struct {
		disable bool
		want    int32
	}{
		"scales in to min":  {want: 2},
		"scale in disabled": {disable: true, want: 5},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.register(t, 5, 10, nil)
			w.register(t, 2, 10, nil)
			if got := w.desired(t); got != 5 {
				t.Fatalf("got desired count %d, want 5 after the first registration", got)
			}
			alarms := w.cpuPolicy(t, tc.disable, 60)
			// 50% on each of 5 tasks: at the target, neither alarm breaches.
			w.faults.SetServiceLoad("staging", "w", 250)
			w.sleep(t, 20*time.Minute)
			if got := w.desired(t); got != 5 {
				t.Fatalf("got desired count %d at the target, want 5", got)
			}
			w.faults.SetServiceLoad("staging", "w", 20)
			w.sleep(t, 10*time.Minute)
			if got := w.desired(t); got != 5 {
				t.Errorf("got desired count %d 10 minutes after the load fell, want 5: scale in waits for 15 low datapoints", got)
			}
			w.sleep(t, 7*time.Minute)
			if tc.disable {
				if got := w.alarmStates(t, alarms)["low"]; got != cwtypes.StateValueAlarm {
					t.Errorf("got AlarmLow %s, want ALARM even though scale in is disabled", got)
				}
			}
			if got := w.desired(t); got != tc.want {
				t.Errorf("got desired count %d, want %d", got, tc.want)
			}
		})
	}
}

// TestDeletingAPolicyDeletesItsAlarms: the alarms are the policy's own.
func TestDeletingAPolicyDeletesItsAlarms(t *testing.T) {
	w := newWorld(t)
	w.register(t, 2, 4, nil)
	alarms := w.cpuPolicy(t, false, 60)
	_, err := w.as.DeleteScalingPolicy(context.Background(), &sdk.DeleteScalingPolicyInput{
		ServiceNamespace: types.ServiceNamespaceEcs, ResourceId: aws.String(resource),
		ScalableDimension: types.ScalableDimensionECSServiceDesiredCount, PolicyName: aws.String("cpu")})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.alarmStates(t, alarms); len(got) != 0 {
		t.Errorf("got alarms %v after DeleteScalingPolicy, want none", got)
	}
}

// TestScheduledActionsRunOnTheClock: an action sets min and max at its
// time and the desired count follows; suspended scheduled scaling and a
// time outside StartTime..EndTime do nothing.
func TestScheduledActionsRunOnTheClock(t *testing.T) {
	at := t0.Add(10 * time.Minute)
	tests := map[string]struct {
		schedule, zone string
		start, end     *time.Time
		suspended      bool
		want           int32
	}{
		"at":                 {schedule: "at(" + at.Format("2006-01-02T15:04:05") + ")", want: 5},
		"at in a time zone":  {schedule: "at(" + at.In(mustZone(t, "Europe/Paris")).Format("2006-01-02T15:04:05") + ")", zone: "Europe/Paris", want: 5},
		"cron":               {schedule: "cron(10 9 ? * MON-FRI *)", want: 5}, // t0 is a Monday
		"cron another day":   {schedule: "cron(10 9 ? * TUE *)", want: 2},
		"rate":               {schedule: "rate(10 minutes)", want: 5},
		"suspended":          {schedule: "rate(10 minutes)", suspended: true, want: 2},
		"before StartTime":   {schedule: "rate(10 minutes)", start: aws.Time(t0.Add(-time.Hour)), end: aws.Time(t0.Add(5 * time.Minute)), want: 2},
		"EndTime not passed": {schedule: "rate(10 minutes)", end: aws.Time(t0.Add(time.Hour)), want: 5},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.register(t, 2, 4, &types.SuspendedState{ScheduledScalingSuspended: aws.Bool(tc.suspended)})
			_, err := w.as.PutScheduledAction(context.Background(), &sdk.PutScheduledActionInput{
				ServiceNamespace: types.ServiceNamespaceEcs, ResourceId: aws.String(resource),
				ScalableDimension:   types.ScalableDimensionECSServiceDesiredCount,
				ScheduledActionName: aws.String("morning"), Schedule: aws.String(tc.schedule), Timezone: optional(tc.zone),
				StartTime: tc.start, EndTime: tc.end,
				ScalableTargetAction: &types.ScalableTargetAction{MinCapacity: aws.Int32(5), MaxCapacity: aws.Int32(8)}})
			if err != nil {
				t.Fatal(err)
			}
			w.sleep(t, 9*time.Minute)
			if got := w.desired(t); got != 2 {
				t.Errorf("got desired count %d before the action's time, want 2", got)
			}
			w.sleep(t, 2*time.Minute)
			if got := w.desired(t); got != tc.want {
				t.Errorf("got desired count %d after the action's time, want %d", got, tc.want)
			}
			out, err := w.as.DescribeScalableTargets(context.Background(), &sdk.DescribeScalableTargetsInput{ServiceNamespace: types.ServiceNamespaceEcs})
			if err != nil || len(out.ScalableTargets) != 1 {
				t.Fatalf("describe targets: %v %+v", err, out)
			}
			wantMin := int32(2)
			if tc.want == 5 {
				wantMin = 5
			}
			if got := aws.ToInt32(out.ScalableTargets[0].MinCapacity); got != wantMin {
				t.Errorf("got MinCapacity %d, want %d", got, wantMin)
			}
		})
	}
}

// TestScheduleValidation: schedules the local endpoint cannot run are
// refused by name, not stored and never run.
func TestScheduleValidation(t *testing.T) {
	tests := map[string]string{
		"five cron fields":    "cron(0 9 * * ?)",
		"both days":           "cron(0 9 * * * *)",
		"last day of month":   "cron(0 9 L * ? *)",
		"nth weekday":         "cron(0 9 ? * 2#1 *)",
		"bad rate unit":       "rate(1 minutes)",
		"bad at":              "at(2026-13-01T00:00:00)",
		"minute out of range": "cron(60 9 * * ? *)",
	}
	for name, schedule := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.register(t, 2, 4, nil)
			_, err := w.as.PutScheduledAction(context.Background(), &sdk.PutScheduledActionInput{
				ServiceNamespace: types.ServiceNamespaceEcs, ResourceId: aws.String(resource),
				ScalableDimension:   types.ScalableDimensionECSServiceDesiredCount,
				ScheduledActionName: aws.String("s"), Schedule: aws.String(schedule),
				ScalableTargetAction: &types.ScalableTargetAction{MinCapacity: aws.Int32(3)}})
			if err == nil || !strings.Contains(err.Error(), "ValidationException") {
				t.Errorf("got %v, want a ValidationException", err)
			}
		})
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
