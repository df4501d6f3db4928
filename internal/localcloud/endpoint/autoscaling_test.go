package endpoint_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestAutoScalingScaleOutKeptByADeployment: web's target tracking policy on CPU
// (examples/services/web.yaml, staging limits 1..2) really scales the
// serving slot out under load, and a canary deployed while the load lasts —
// reading counts when it uses them — sizes the new slot from the scaled-out
// count and never scales it back in through its bakes and promotion (issue
// 11 item 3 and the local endpoint's Application Auto Scaling).
//
// The load is set, and the scale-out awaited, before the push: target
// tracking needs three one-minute datapoints over the target and its own
// evaluation, longer than staging's three one-minute bakes, so a scale-out
// started during the canary would land or not by where in the minute the
// virtual clock happened to start.
func TestAutoScalingScaleOutKeptByADeployment(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs deployments")
	s := startStepped(t)
	ctx := context.Background()
	as := aas.NewFromConfig(s.r.AWS)
	cw := cloudwatch.NewFromConfig(s.r.AWS)
	// Both slots are under load: four times what one task can take.
	control := endpoint.Control{URL: s.r.URL}
	load := map[string]float64{"staging/web--blue": 400, "staging/web--green": 400}
	if _, err := control.Apply(ctx, faults.State{ServiceLoads: load}); err != nil {
		t.Fatalf("set the load: %v", err)
	}
	// The serving slot scales out to staging's max on its own.
	for i := 0; s.service("web--blue").DesiredCount < 2; i++ {
		if i > 15*60 {
			t.Fatalf("web--blue did not scale out in 15 simulated minutes under the load")
		}
		if err := s.clock.Sleep(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	assertAlarmHigh(t, as, cw, "web--blue")

	arn, _ := s.pushUntil("web", "v2", workflow.StateBake, nil)

	// Step simulated time a second at a time until the deployment ends,
	// watching the slots' counts.
	var counts []string
	peak := map[string]int32{}
	fell := ""
	var status sfntypes.ExecutionStatus
	for i := 0; ; i++ {
		if i > 30*60 {
			t.Fatalf("the deployment did not end in 30 simulated minutes; counts: %v", counts)
		}
		out, err := s.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		line := ""
		for _, slot := range []string{"web--blue", "web--green"} {
			n := s.service(slot).DesiredCount
			line += fmt.Sprintf("%s=%d ", slot, n)
			if peak[slot] == 2 && n < 2 && slot == "web--green" && fell == "" {
				fell = fmt.Sprintf("%s fell from 2 to %d at step %d", slot, n, i)
			}
			peak[slot] = max(peak[slot], n)
		}
		if len(counts) == 0 || counts[len(counts)-1] != line {
			counts = append(counts, line)
		}
		if out.Status != sfntypes.ExecutionStatusRunning {
			status = out.Status
			break
		}
		if err := s.clock.Sleep(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	path := pathOf(t, s.sfn, arn)
	t.Logf("path %v; counts as they changed: %v", path, counts)
	if status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("got status %s (path %v), want SUCCEEDED; counts: %v", status, path, counts)
	}
	if peak["web--green"] != 2 {
		t.Errorf("web--green peaked at %d tasks, want 2 (scaled out to staging's max); counts: %v", peak["web--green"], counts)
	}
	if fell != "" {
		t.Errorf("%s: the deployment scaled the serving slot back in; counts: %v", fell, counts)
	}
	if got := s.service("web--green").DesiredCount; got != 2 {
		t.Errorf("web--green has %d tasks after the promotion, want 2; counts: %v", got, counts)
	}

	// Green, still under the load at twice a task's capacity each, keeps
	// its count: its policy's AlarmHigh exists and nothing scaled it in.
	assertAlarmHigh(t, as, cw, "web--green")
}

// assertAlarmHigh checks that the target tracking policy of the staging
// service slot owns an AlarmHigh in ALARM: the scale-out was auto
// scaling's, under the load.
func assertAlarmHigh(t *testing.T, as *aas.Client, cw *cloudwatch.Client, slot string) {
	t.Helper()
	ctx := context.Background()
	pols, err := as.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
		ResourceId: aws.String("service/staging/" + slot)})
	if err != nil {
		t.Fatal(err)
	}
	var high string
	for _, p := range pols.ScalingPolicies {
		for _, a := range p.Alarms {
			if strings.Contains(aws.ToString(a.AlarmName), "-AlarmHigh-") {
				high = aws.ToString(a.AlarmName)
			}
		}
	}
	if high == "" {
		t.Fatalf("got policies %+v on %s, want a target tracking policy with an AlarmHigh", pols.ScalingPolicies, slot)
	}
	alarms, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{high}})
	if err != nil || len(alarms.MetricAlarms) != 1 {
		t.Fatalf("DescribeAlarms %s: %v %+v", high, err, alarms)
	}
	if got := alarms.MetricAlarms[0].StateValue; got != cwtypes.StateValueAlarm {
		t.Errorf("got %s in %s, want ALARM under the load", got, high)
	}
}
