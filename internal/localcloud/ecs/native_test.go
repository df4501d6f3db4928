package ecs_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/document"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/localcloud/ecs"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

// TestNativeCanaryShiftsWeightsPerStep: a CANARY deployment scales the new
// revision up in the alternate target group, gives it canaryPercent of the
// production rule for canaryBakeTimeInMinutes, then all of it, bakes, stops
// the old tasks and succeeds; the rule keeps its authenticate-oidc action
// and stickiness throughout, and the next deployment shifts the other way.
func TestNativeCanaryShiftsWeightsPerStep(t *testing.T) {
	w := newNativeWorld(t)
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary, BakeTimeInMinutes: aws.Int32(10),
		CanaryConfiguration: &types.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(5)}})
	if b, g := w.weights(w.prodRule); b != 100 || g != 0 {
		t.Fatalf("after the first deployment: weights blue %d green %d, want a weighted forward all on blue", b, g)
	}
	arn := w.update(imageV2)

	type sample struct {
		blue, green int32
		at          time.Duration
	}
	start := w.v.Now()
	var seen []sample
	var stages []string
	w.until("the canary deployment succeeds", time.Hour, func() bool {
		servedByHealthy(w)
		sd := w.deployment(arn)
		stages = appendStage(stages, sd.LifecycleStage)
		b, g := w.weights(w.prodRule)
		if len(seen) == 0 || seen[len(seen)-1].blue != b || seen[len(seen)-1].green != g {
			seen = append(seen, sample{b, g, w.v.Now().Sub(start)})
		}
		return sd.Status == types.ServiceDeploymentStatusSuccessful
	})
	var weights [][2]int32
	for _, s := range seen {
		weights = append(weights, [2]int32{s.blue, s.green})
	}
	if diff := cmp.Diff([][2]int32{{100, 0}, {90, 10}, {0, 100}}, weights); diff != "" {
		t.Errorf("production weights (blue, green) over time (-want +got):\n%s", diff)
	}
	if len(seen) == 3 {
		if bake := seen[2].at - seen[1].at; bake < 5*time.Minute || bake > 5*time.Minute+5*time.Second {
			t.Errorf("canary bake: got %v between 10%% and 100%%, want 5m", bake)
		}
	}
	want := []string{"SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT",
		"POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"}
	for _, st := range []string{"SCALE_UP", "PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"} {
		if !slices.Contains(stages, st) {
			t.Errorf("stages seen %v: missing %s (want them in the order %v)", stages, st, want)
		}
	}
	if b, g := w.weights(w.testRule); b != 0 || g != 100 {
		t.Errorf("test rule: blue %d green %d, want all on green", b, g)
	}
	if n := w.tasksOf(imageV1); n != 0 {
		t.Errorf("%d tasks of the old revision still run after CLEAN_UP", n)
	}
	sd := w.deployment(arn)
	if len(sd.SourceServiceRevisions) != 1 || sd.TargetServiceRevision == nil || *sd.TargetServiceRevision.RequestedProductionTrafficWeight != 100 {
		t.Errorf("revisions of the deployment: %+v → %+v", sd.SourceServiceRevisions, sd.TargetServiceRevision)
	}
	revs, err := w.ecs.DescribeServiceRevisions(context.Background(), &sdk.DescribeServiceRevisionsInput{
		ServiceRevisionArns: []string{*sd.TargetServiceRevision.Arn, *sd.SourceServiceRevisions[0].Arn}})
	if err != nil || len(revs.ServiceRevisions) != 2 {
		t.Fatalf("DescribeServiceRevisions: %v %+v", err, revs)
	}
	if got := *revs.ServiceRevisions[0].LoadBalancers[0].TargetGroupArn; got != w.green {
		t.Errorf("target revision's target group %s, want green %s", got, w.green)
	}
	if got := *revs.ServiceRevisions[0].ContainerImages[0].Image; got != imageV2 {
		t.Errorf("target revision's image %s, want %s", got, imageV2)
	}
	if got := w.eventNames("ECS Deployment State Change"); !slices.Equal(got[len(got)-2:], []string{"SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED"}) {
		t.Errorf("deployment events %v, want IN_PROGRESS then COMPLETED last", got)
	}

	// The roles have swapped: the next deployment goes to blue.
	next := w.update(imageV1)
	w.until("the second canary deployment succeeds", time.Hour, func() bool {
		return w.deployment(next).Status == types.ServiceDeploymentStatusSuccessful
	})
	if b, g := w.weights(w.prodRule); b != 100 || g != 0 {
		t.Errorf("after the second deployment: blue %d green %d, want all on blue", b, g)
	}
}

// TestNativeLinearSteps: LINEAR moves stepPercent at a time with
// stepBakeTimeInMinutes between steps and none after 100.
func TestNativeLinearSteps(t *testing.T) {
	w := newNativeWorld(t)
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyLinear,
		LinearConfiguration: &types.LinearConfiguration{StepPercent: aws.Float64(30), StepBakeTimeInMinutes: aws.Int32(2)}})
	arn := w.update(imageV2)
	var greens []int32
	w.until("the linear deployment succeeds", time.Hour, func() bool {
		_, g := w.weights(w.prodRule)
		if len(greens) == 0 || greens[len(greens)-1] != g {
			greens = append(greens, g)
		}
		return w.deployment(arn).Status == types.ServiceDeploymentStatusSuccessful
	})
	if diff := cmp.Diff([]int32{0, 30, 60, 90, 100}, greens); diff != "" {
		t.Errorf("green's production weight per step (-want +got):\n%s", diff)
	}
}

// awaitHook lets time pass until the deployment has a hook awaiting action
// and returns it.
func awaitHook(w *nativeWorld, arn string) types.DeploymentLifecycleHookDetail {
	w.t.Helper()
	var hook types.DeploymentLifecycleHookDetail
	w.until("a hook awaits action", time.Hour, func() bool {
		for _, h := range w.deployment(arn).LifecycleHookDetails {
			if h.Status == types.DeploymentLifecycleHookStatusAwaitingAction {
				hook = h
				return true
			}
		}
		return false
	})
	return hook
}

// TestNativeBlueGreenPauseHookContinue: a PAUSE hook at
// POST_TEST_TRAFFIC_SHIFT holds the deployment (test traffic on green,
// production still on blue) and announces itself on EventBridge;
// ContinueServiceDeployment refuses what ECS refuses, and CONTINUE lets the
// deployment finish with all traffic at once.
func TestNativeBlueGreenPauseHookContinue(t *testing.T) {
	w := newNativeWorld(t)
	ctx := context.Background()
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(3),
		LifecycleHooks: []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause,
			LifecycleStages:      []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostTestTrafficShift},
			TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(60)}}}})
	// The first deployment paused too: continue it.
	first := w.latest()
	if h := awaitHookOrNone(w, first); h != nil {
		if _, err := w.ecs.ContinueServiceDeployment(ctx, &sdk.ContinueServiceDeploymentInput{ServiceDeploymentArn: &first, HookId: h.HookId}); err != nil {
			t.Fatal(err)
		}
	}
	w.until("the first deployment succeeds", time.Hour, func() bool { return w.deployment(first).Status == types.ServiceDeploymentStatusSuccessful })

	arn := w.update(imageV2)
	hook := awaitHook(w, arn)
	sd := w.deployment(arn)
	if sd.LifecycleStage != types.ServiceDeploymentLifecycleStagePostTestTrafficShift || hook.TargetType != types.DeploymentLifecycleHookTargetTypePause ||
		hook.TimeoutAction != types.DeploymentLifecycleHookActionRollback || !strings.HasPrefix(*hook.HookId, "ecs-pause-") {
		t.Errorf("paused at %s with hook %+v", sd.LifecycleStage, hook)
	}
	if got, want := hook.ExpiresAt.Sub(w.v.Now()), 60*time.Minute; got > want || got < want-2*time.Minute {
		t.Errorf("hook expires in %v, want about %v", got, want)
	}
	if b, g := w.weights(w.testRule); b != 0 || g != 100 {
		t.Errorf("test rule while paused: blue %d green %d, want green", b, g)
	}
	if b, g := w.weights(w.prodRule); g != 0 || b == 0 {
		t.Errorf("production rule while paused: blue %d green %d, want blue", b, g)
	}
	w.sleep(2 * time.Second) // the event reaches the sink
	var awaiting map[string]any
	for _, e := range w.eventsOf("ECS Hook State Change") {
		if e["eventName"] == "HOOK_AWAITING_ACTION" && e["hookId"] == *hook.HookId {
			awaiting = e
		}
	}
	if awaiting == nil || awaiting["serviceDeploymentArn"] != arn || awaiting["lifecycleStage"] != "POST_TEST_TRAFFIC_SHIFT" ||
		awaiting["hookType"] != "PAUSE" || awaiting["resources"] != arn {
		t.Errorf("HOOK_AWAITING_ACTION event: %v", awaiting)
	}

	errs := map[string]struct {
		in   sdk.ContinueServiceDeploymentInput
		code string
	}{
		"unknown deployment": {sdk.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn + "x"), HookId: hook.HookId}, "ServiceDeploymentNotFoundException"},
		"unknown hook":       {sdk.ContinueServiceDeploymentInput{ServiceDeploymentArn: &arn, HookId: aws.String("ecs-pause-nope")}, "InvalidParameterException"},
		"finished":           {sdk.ContinueServiceDeploymentInput{ServiceDeploymentArn: &first, HookId: hook.HookId}, "ConflictException"},
		"bad action":         {sdk.ContinueServiceDeploymentInput{ServiceDeploymentArn: &arn, HookId: hook.HookId, Action: "MAYBE"}, "InvalidParameterException"},
	}
	for name, tc := range errs {
		if _, err := w.ecs.ContinueServiceDeployment(ctx, &tc.in); prototest.ErrorCode(err) != tc.code {
			t.Errorf("%s: got %v, want %s", name, err, tc.code)
		}
	}
	if _, err := w.ecs.ContinueServiceDeployment(ctx, &sdk.ContinueServiceDeploymentInput{ServiceDeploymentArn: &arn, HookId: hook.HookId,
		Action: types.DeploymentLifecycleHookActionContinue}); err != nil {
		t.Fatalf("ContinueServiceDeployment: %v", err)
	}
	if _, err := w.ecs.ContinueServiceDeployment(ctx, &sdk.ContinueServiceDeploymentInput{ServiceDeploymentArn: &arn, HookId: hook.HookId}); prototest.ErrorCode(err) != "ConflictException" {
		t.Errorf("continuing a hook twice: got %v, want ConflictException", err)
	}
	greens := []int32{0} // checked while paused
	w.until("the blue/green deployment succeeds", time.Hour, func() bool {
		_, g := w.weights(w.prodRule)
		if len(greens) == 0 || greens[len(greens)-1] != g {
			greens = append(greens, g)
		}
		return w.deployment(arn).Status == types.ServiceDeploymentStatusSuccessful
	})
	if diff := cmp.Diff([]int32{0, 100}, greens); diff != "" {
		t.Errorf("blue/green moves all production traffic at once (-want +got):\n%s", diff)
	}
}

// awaitHookOrNone is awaitHook for a deployment that may not pause: it
// returns nil once the deployment has finished without a hook awaiting.
func awaitHookOrNone(w *nativeWorld, arn string) *types.DeploymentLifecycleHookDetail {
	var hook *types.DeploymentLifecycleHookDetail
	w.until("a hook awaits action or the deployment ends", time.Hour, func() bool {
		sd := w.deployment(arn)
		for _, h := range sd.LifecycleHookDetails {
			if h.Status == types.DeploymentLifecycleHookStatusAwaitingAction {
				hook = &h
				return true
			}
		}
		return sd.Status != types.ServiceDeploymentStatusInProgress && sd.Status != types.ServiceDeploymentStatusPending
	})
	return hook
}

// rolledBack waits for the deployment to be rolled back and checks what a
// rollback leaves: all traffic on blue, no task of the new revision, and
// SERVICE_DEPLOYMENT_FAILED as the deployment's last event.
func rolledBack(w *nativeWorld, arn, reason string) types.ServiceDeployment {
	w.t.Helper()
	w.until("the deployment rolls back", time.Hour, func() bool {
		return w.deployment(arn).Status == types.ServiceDeploymentStatusRollbackSuccessful
	})
	sd := w.deployment(arn)
	if sd.Rollback == nil || !strings.Contains(*sd.Rollback.Reason, reason) || *sd.Rollback.ServiceRevisionArn != *sd.SourceServiceRevisions[0].Arn {
		w.t.Errorf("rollback %+v, want the reason to say %q and the source revision", sd.Rollback, reason)
	}
	if b, g := w.weights(w.prodRule); g != 0 || b == 0 {
		w.t.Errorf("production after the rollback: blue %d green %d, want blue", b, g)
	}
	if b, g := w.weights(w.testRule); g != 0 || b == 0 {
		w.t.Errorf("test after the rollback: blue %d green %d, want blue", b, g)
	}
	if n := w.tasksOf(imageV2); n != 0 {
		w.t.Errorf("%d tasks of the new revision still run", n)
	}
	svc, err := w.ecs.DescribeServices(context.Background(), &sdk.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil || len(svc.Services[0].Deployments) != 1 || *svc.Services[0].Deployments[0].TaskDefinition != w.taskDef {
		w.t.Errorf("service after the rollback: %v %+v, want one deployment of the old revision", err, svc.Services[0].Deployments)
	}
	// EventBridge keeps no order: the rolled back deployment has one
	// SERVICE_DEPLOYMENT_FAILED and no SERVICE_DEPLOYMENT_COMPLETED.
	w.sleep(2 * time.Second)
	byID := map[string][]string{}
	var failed []string
	for _, e := range w.eventsOf("ECS Deployment State Change") {
		id, name := e["deploymentId"].(string), e["eventName"].(string)
		byID[id] = append(byID[id], name)
		if name == "SERVICE_DEPLOYMENT_FAILED" {
			failed = append(failed, id)
		}
	}
	if len(failed) != 1 || slices.Contains(byID[failed[0]], "SERVICE_DEPLOYMENT_COMPLETED") {
		w.t.Errorf("deployment events by deployment %v, want one deployment FAILED and not COMPLETED", byID)
	}
	return sd
}

// TestNativeHookRollback: ContinueServiceDeployment ROLLBACK at a PAUSE
// hook after the canary step rolls the deployment back.
func TestNativeHookRollback(t *testing.T) {
	w := newNativeWorld(t)
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary,
		CanaryConfiguration: &types.CanaryConfiguration{CanaryPercent: aws.Float64(20), CanaryBakeTimeInMinutes: aws.Int32(1)},
		LifecycleHooks: []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause,
			LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePreProductionTrafficShift}}}})
	first := w.latest()
	for h := awaitHookOrNone(w, first); h != nil; h = awaitHookOrNone(w, first) {
		if _, err := w.ecs.ContinueServiceDeployment(context.Background(), &sdk.ContinueServiceDeploymentInput{ServiceDeploymentArn: &first, HookId: h.HookId}); err != nil {
			t.Fatal(err)
		}
	}
	arn := w.update(imageV2)
	hook := awaitHook(w, arn) // before the canary step
	if _, err := w.ecs.ContinueServiceDeployment(context.Background(), &sdk.ContinueServiceDeploymentInput{ServiceDeploymentArn: &arn, HookId: hook.HookId}); err != nil {
		t.Fatal(err)
	}
	second := awaitHook(w, arn) // before 100 %: a fresh hook
	if *second.HookId == *hook.HookId {
		t.Errorf("the second production step reused hook id %s", *hook.HookId)
	}
	if _, g := w.weights(w.prodRule); g != 20 {
		t.Errorf("green at the second step's hook: %d, want the canary's 20", g)
	}
	if _, err := w.ecs.ContinueServiceDeployment(context.Background(), &sdk.ContinueServiceDeploymentInput{ServiceDeploymentArn: &arn, HookId: second.HookId,
		Action: types.DeploymentLifecycleHookActionRollback}); err != nil {
		t.Fatal(err)
	}
	rolledBack(w, arn, "ROLLBACK")
}

// TestNativeAlarmRollback: an alarm of deploymentConfiguration.alarms going
// to ALARM during the canary bake rolls the deployment back.
func TestNativeAlarmRollback(t *testing.T) {
	w := newNativeWorld(t)
	w.alarm("web-5xx")
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary,
		CanaryConfiguration: &types.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(30)},
		Alarms:              &types.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: true}})
	arn := w.update(imageV2)
	w.until("the canary takes traffic", time.Hour, func() bool { _, g := w.weights(w.prodRule); return g == 10 })
	w.sleep(time.Minute)
	w.setAlarm("web-5xx", cwtypes.StateValueAlarm)
	sd := rolledBack(w, arn, "web-5xx")
	if sd.Alarms == nil || sd.Alarms.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered || !slices.Equal(sd.Alarms.TriggeredAlarmNames, []string{"web-5xx"}) {
		t.Errorf("alarms of the deployment: %+v", sd.Alarms)
	}
}

// TestNativeCircuitBreakerRollback: new tasks that keep crashing trip the
// circuit breaker, which rolls the deployment back before any production
// traffic moves.
func TestNativeCircuitBreakerRollback(t *testing.T) {
	w := newNativeWorld(t)
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen,
		DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}})
	w.e.Faults.SetImage(digestV2, faults.Behaviour{CrashOnStart: true})
	arn := w.update(imageV2)
	var maxGreen int32
	w.until("the circuit breaker trips", time.Hour, func() bool {
		_, g := w.weights(w.prodRule)
		maxGreen = max(maxGreen, g)
		return w.deployment(arn).Status != types.ServiceDeploymentStatusInProgress
	})
	sd := rolledBack(w, arn, "circuit breaker")
	if maxGreen != 0 {
		t.Errorf("green got %d%% of production before the breaker tripped", maxGreen)
	}
	if sd.DeploymentCircuitBreaker == nil || sd.DeploymentCircuitBreaker.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered ||
		sd.DeploymentCircuitBreaker.FailureCount < sd.DeploymentCircuitBreaker.Threshold {
		t.Errorf("circuit breaker of the deployment: %+v", sd.DeploymentCircuitBreaker)
	}
}

// TestNativeStopServiceDeployment: StopServiceDeployment ROLLBACK rolls a
// running deployment back; ABORT is refused as not modelled, and a
// finished deployment cannot be stopped.
func TestNativeStopServiceDeployment(t *testing.T) {
	w := newNativeWorld(t)
	ctx := context.Background()
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyLinear,
		LinearConfiguration: &types.LinearConfiguration{StepPercent: aws.Float64(50), StepBakeTimeInMinutes: aws.Int32(10)}})
	first := w.latest()
	arn := w.update(imageV2)
	w.until("half the traffic moves", time.Hour, func() bool { _, g := w.weights(w.prodRule); return g == 50 })
	if _, err := w.ecs.StopServiceDeployment(ctx, &sdk.StopServiceDeploymentInput{ServiceDeploymentArn: &arn, StopType: types.StopServiceDeploymentStopTypeAbort}); prototest.ErrorCode(err) != "InvalidParameterException" ||
		!strings.Contains(err.Error(), "not modelled") {
		t.Errorf("ABORT: got %v, want InvalidParameterException saying it is not modelled", err)
	}
	if _, err := w.ecs.StopServiceDeployment(ctx, &sdk.StopServiceDeploymentInput{ServiceDeploymentArn: &first, StopType: types.StopServiceDeploymentStopTypeRollback}); prototest.ErrorCode(err) != "ConflictException" {
		t.Errorf("stopping a finished deployment: got %v, want ConflictException", err)
	}
	if _, err := w.ecs.StopServiceDeployment(ctx, &sdk.StopServiceDeploymentInput{ServiceDeploymentArn: &arn, StopType: types.StopServiceDeploymentStopTypeRollback}); err != nil {
		t.Fatalf("StopServiceDeployment: %v", err)
	}
	rolledBack(w, arn, "StopServiceDeployment")
}

// TestNativeLambdaHook: an AWS_LAMBDA hook gets the payload ECS sends and
// is invoked again after callBackDelay while it answers IN_PROGRESS; a
// FAILED answer rolls the deployment back.
func TestNativeLambdaHook(t *testing.T) {
	w := newNativeWorld(t)
	fn := w.e.Lambda.FunctionARN(hookFnName)
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen,
		LifecycleHooks: []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypeAwsLambda,
			HookTargetArn: aws.String(fn), RoleArn: aws.String(hookRole), HookDetails: document.NewLazyDocument(map[string]any{"suite": "smoke"}),
			LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostScaleUp}}}})
	w.mu.Lock()
	w.hookCalls = nil
	w.hookAnswer = func(n int) string {
		if n < 2 {
			return `{"hookStatus":"IN_PROGRESS","callBackDelay":45}`
		}
		return `{"hookStatus":"SUCCEEDED"}`
	}
	w.mu.Unlock()
	arn := w.update(imageV2)
	w.until("the deployment with a Lambda hook succeeds", time.Hour, func() bool {
		return w.deployment(arn).Status == types.ServiceDeploymentStatusSuccessful
	})
	w.mu.Lock()
	calls := slices.Clone(w.hookCalls)
	w.mu.Unlock()
	if len(calls) != 3 {
		t.Fatalf("the hook was invoked %d times, want 3 (IN_PROGRESS twice, then SUCCEEDED)", len(calls))
	}
	var p struct {
		ExecutionDetails struct {
			ServiceARN     string             `json:"serviceArn"`
			TargetRevision string             `json:"targetServiceRevisionArn"`
			Production     map[string]float64 `json:"productionTrafficWeights"`
		} `json:"executionDetails"`
		ExecutionID    string            `json:"executionId"`
		LifecycleStage string            `json:"lifecycleStage"`
		ResourceARN    string            `json:"resourceArn"`
		HookDetails    map[string]string `json:"hookDetails"`
	}
	if err := json.Unmarshal(calls[0], &p); err != nil {
		t.Fatal(err)
	}
	sd := w.deployment(arn)
	if p.LifecycleStage != "POST_SCALE_UP" || p.ResourceARN != arn || p.ExecutionDetails.TargetRevision != *sd.TargetServiceRevision.Arn ||
		!strings.HasSuffix(p.ExecutionDetails.ServiceARN, ":service/prod/web") || p.ExecutionDetails.Production[w.blue] != 100 || p.ExecutionID == "" ||
		p.HookDetails["suite"] != "smoke" {
		t.Errorf("hook payload %s", calls[0])
	}

	w.mu.Lock()
	w.hookAnswer = func(int) string { return `{"hookStatus":"FAILED"}` }
	w.mu.Unlock()
	failed := w.update(imageV1 + "0")
	w.until("the failing hook rolls back", time.Hour, func() bool {
		return w.deployment(failed).Status == types.ServiceDeploymentStatusRollbackSuccessful
	})
	if r := w.deployment(failed).Rollback; r == nil || !strings.Contains(*r.Reason, "FAILED") {
		t.Errorf("rollback %+v, want it to name the hook's FAILED", r)
	}
}

// TestNativeValidation: CreateService refuses the combinations ECS refuses,
// and fields of these shapes the endpoint does not model, by name.
func TestNativeValidation(t *testing.T) {
	w := newNativeWorld(t)
	lbs := func(f func(a *types.AdvancedConfiguration)) []types.LoadBalancer {
		l := w.advanced()
		f(l[0].AdvancedConfiguration)
		return l
	}
	canary := types.DeploymentStrategyCanary
	tests := map[string]struct {
		dc   types.DeploymentConfiguration
		lbs  []types.LoadBalancer
		want string
	}{
		"no load balancer":          {types.DeploymentConfiguration{Strategy: canary}, []types.LoadBalancer{}, "requires a load balancer"},
		"no alternate":              {types.DeploymentConfiguration{Strategy: canary}, lbs(func(a *types.AdvancedConfiguration) { a.AlternateTargetGroupArn = nil }), "alternateTargetGroupArn is required"},
		"alternate is primary":      {types.DeploymentConfiguration{Strategy: canary}, lbs(func(a *types.AdvancedConfiguration) { a.AlternateTargetGroupArn = aws.String(w.blue) }), "must be different"},
		"no role":                   {types.DeploymentConfiguration{Strategy: canary}, lbs(func(a *types.AdvancedConfiguration) { a.RoleArn = nil }), "roleArn is required"},
		"unknown rule":              {types.DeploymentConfiguration{Strategy: canary}, lbs(func(a *types.AdvancedConfiguration) { a.ProductionListenerRule = aws.String(w.prodRule + "0") }), "does not exist"},
		"advanced with rolling":     {types.DeploymentConfiguration{Strategy: types.DeploymentStrategyRolling}, w.advanced(), "only supported with"},
		"canary percent too small":  {types.DeploymentConfiguration{Strategy: canary, CanaryConfiguration: &types.CanaryConfiguration{CanaryPercent: aws.Float64(0.05)}}, w.advanced(), "canaryPercent"},
		"canary percent not tenths": {types.DeploymentConfiguration{Strategy: canary, CanaryConfiguration: &types.CanaryConfiguration{CanaryPercent: aws.Float64(10.25)}}, w.advanced(), "canaryPercent"},
		"step percent too small":    {types.DeploymentConfiguration{Strategy: types.DeploymentStrategyLinear, LinearConfiguration: &types.LinearConfiguration{StepPercent: aws.Float64(2)}}, w.advanced(), "stepPercent"},
		"linear config with canary": {types.DeploymentConfiguration{Strategy: canary, LinearConfiguration: &types.LinearConfiguration{StepPercent: aws.Float64(10)}}, w.advanced(), "only valid with the LINEAR"},
		"bake too long":             {types.DeploymentConfiguration{Strategy: canary, BakeTimeInMinutes: aws.Int32(1441)}, w.advanced(), "bakeTimeInMinutes"},
		"lambda hook without role": {types.DeploymentConfiguration{Strategy: canary, LifecycleHooks: []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypeAwsLambda,
			HookTargetArn: aws.String(w.e.Lambda.FunctionARN(hookFnName)), LifecycleStages: []types.DeploymentLifecycleHookStage{"POST_SCALE_UP"}}}}, w.advanced(), "roleArn is required"},
		"pause hook at production shift": {types.DeploymentConfiguration{Strategy: canary, LifecycleHooks: []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause,
			LifecycleStages: []types.DeploymentLifecycleHookStage{"PRODUCTION_TRAFFIC_SHIFT"}}}}, w.advanced(), "not a valid stage"},
		"early success criteria": {types.DeploymentConfiguration{Strategy: canary, EarlySuccessCriteria: &types.DeploymentEarlySuccessCriteria{}}, w.advanced(), "not modelled"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dc := tc.dc
			_, err := w.ecs.CreateService(context.Background(), &sdk.CreateServiceInput{
				Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String(w.taskDef),
				DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeFargate, LoadBalancers: tc.lbs, DeploymentConfiguration: &dc,
				NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-a"}}},
			})
			var code string
			if err != nil {
				code = prototest.ErrorCode(err)
			}
			if code != "InvalidParameterException" || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want InvalidParameterException saying %q", err, tc.want)
			}
		})
	}
	out, err := w.ecs.DescribeServiceDeployments(context.Background(), &sdk.DescribeServiceDeploymentsInput{
		ServiceDeploymentArns: []string{"arn:aws:ecs:us-east-1:000000000000:service-deployment/prod/web/nope"}})
	if err != nil || len(out.Failures) != 1 || *out.Failures[0].Reason != "MISSING" {
		t.Errorf("an unknown deployment: %v %+v, want a MISSING failure", err, out)
	}
}

// servedByHealthy fails the test when the production rule sends traffic to
// a target group with no healthy target: the moment of lost traffic a
// deployment must never have.
func servedByHealthy(w *nativeWorld) {
	w.t.Helper()
	b, g := w.weights(w.prodRule)
	for tg, weight := range map[string]int32{w.blue: b, w.green: g} {
		if weight == 0 {
			continue
		}
		out, err := w.elb.DescribeTargetHealth(context.Background(), &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
		if err != nil {
			w.t.Fatal(err)
		}
		healthy := 0
		for _, d := range out.TargetHealthDescriptions {
			if d.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
				healthy++
			}
		}
		if healthy == 0 {
			w.t.Fatalf("at %v the production rule sends %d to %s, which has no healthy target", w.v.Now(), weight, tg)
		}
	}
}

// TestNativeMigration: a ROLLING service moves to CANARY (its running
// tasks are the source revision, in the target group production uses) and
// back to ROLLING on the target group that serves production then, and
// production traffic never goes to a target group with no healthy target.
func TestNativeMigration(t *testing.T) {
	w := newNativeWorld(t)
	ctx := context.Background()
	net := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-a"}}}
	plain := []types.LoadBalancer{{TargetGroupArn: aws.String(w.blue), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}}
	if _, err := w.ecs.CreateService(ctx, &sdk.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String(w.taskDef), DesiredCount: aws.Int32(2), LaunchType: types.LaunchTypeFargate, LoadBalancers: plain,
		NetworkConfiguration: net}); err != nil {
		t.Fatal(err)
	}
	w.until("the rolling service is steady", 10*time.Minute, func() bool {
		svc, err := w.ecs.DescribeServices(ctx, &sdk.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
		return err == nil && svc.Services[0].Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	if w.latestOrEmpty() != "" {
		t.Errorf("a ROLLING service lists a native service deployment")
	}
	if _, err := w.ecs.UpdateService(ctx, &sdk.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
		TaskDefinition: aws.String(w.register(imageV2)), LoadBalancers: w.advanced(),
		DeploymentConfiguration: &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary, BakeTimeInMinutes: aws.Int32(1),
			Alarms: &types.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: true},
			LifecycleHooks: []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause,
				LifecycleStages:      []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostScaleUp},
				TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(1), Action: types.DeploymentLifecycleHookActionContinue}}},
			CanaryConfiguration: &types.CanaryConfiguration{CanaryPercent: aws.Float64(25), CanaryBakeTimeInMinutes: aws.Int32(2)}}}); err != nil {
		t.Fatalf("move to CANARY: %v", err)
	}
	arn := w.latest()
	w.until("the migrating canary succeeds", time.Hour, func() bool {
		servedByHealthy(w)
		return w.deployment(arn).Status == types.ServiceDeploymentStatusSuccessful
	})
	if b, g := w.weights(w.prodRule); b != 0 || g != 100 {
		t.Fatalf("after the canary: blue %d green %d, want green", b, g)
	}
	// Back to ROLLING, on green, which serves production now, with the
	// native settings set to nothing as a deployer sends them.
	live := []types.LoadBalancer{{TargetGroupArn: aws.String(w.green), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}}
	back, err := w.ecs.UpdateService(ctx, &sdk.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
		TaskDefinition: aws.String(w.register(imageV1)), LoadBalancers: live,
		DeploymentConfiguration: &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyRolling, BakeTimeInMinutes: aws.Int32(0),
			LifecycleHooks: []types.DeploymentLifecycleHook{}, Alarms: &types.DeploymentAlarms{AlarmNames: []string{}}}})
	if err != nil {
		t.Fatalf("move back to ROLLING: %v", err)
	}
	if dc := back.Service.DeploymentConfiguration; dc.Strategy != types.DeploymentStrategyRolling || len(dc.LifecycleHooks) != 0 ||
		(dc.Alarms != nil && dc.Alarms.Enable) {
		t.Errorf("deployment configuration back on ROLLING: %+v", dc)
	}
	w.until("the rolling deployment completes", time.Hour, func() bool {
		servedByHealthy(w)
		svc, err := w.ecs.DescribeServices(ctx, &sdk.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
		return err == nil && len(svc.Services[0].Deployments) == 1 && svc.Services[0].Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	out, err := w.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(w.green)})
	if err != nil {
		t.Fatal(err)
	}
	healthy := 0
	for _, d := range out.TargetHealthDescriptions {
		if d.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
			healthy++
		}
	}
	if healthy != 2 || w.tasksOf(imageV1) != 2 || w.tasksOf(imageV2) != 0 {
		t.Errorf("green after the rolling deployment: %d healthy targets, want the 2 new tasks", healthy)
	}
}

// TestNativeHookTimeout: a PAUSE hook nobody continues times out after
// timeoutInMinutes and takes its timeout action: CONTINUE goes on,
// ROLLBACK (the default) rolls back; each announces HOOK_TIMED_OUT.
func TestNativeHookTimeout(t *testing.T) {
	for _, action := range []types.DeploymentLifecycleHookAction{types.DeploymentLifecycleHookActionContinue, ""} {
		t.Run(string(action), func(t *testing.T) {
			w := newNativeWorld(t)
			w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen,
				LifecycleHooks: []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause,
					LifecycleStages:      []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostScaleUp},
					TimeoutConfiguration: &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(15), Action: action}}}})
			first := w.latest()
			w.until("the first deployment ends", 2*time.Hour, func() bool {
				st := w.deployment(first).Status
				return st != types.ServiceDeploymentStatusInProgress && st != types.ServiceDeploymentStatusPending
			})
			if action == "" {
				// The first deployment has nothing to roll back to.
				if st := w.deployment(first).Status; st != types.ServiceDeploymentStatusRollbackFailed {
					t.Fatalf("first deployment timed out with ROLLBACK: %s, want ROLLBACK_FAILED", st)
				}
				return
			}
			arn := w.update(imageV2)
			hook := awaitHook(w, arn)
			paused := w.v.Now()
			w.until("the deployment succeeds", 2*time.Hour, func() bool {
				return w.deployment(arn).Status == types.ServiceDeploymentStatusSuccessful
			})
			if waited := w.v.Now().Sub(paused); waited < 15*time.Minute {
				t.Errorf("the deployment went on %v after pausing, want the 15m timeout", waited)
			}
			w.sleep(2 * time.Second)
			timedOut := false
			for _, e := range w.eventsOf("ECS Hook State Change") {
				timedOut = timedOut || (e["eventName"] == "HOOK_TIMED_OUT" && e["hookId"] == *hook.HookId)
			}
			if !timedOut {
				t.Errorf("no HOOK_TIMED_OUT event for %s: %v", *hook.HookId, w.eventNames("ECS Hook State Change"))
			}
		})
	}
}

// TestNativeNewerDeploymentStopsRunningOne: an UpdateService during a
// native deployment stops it (STOPPED, its traffic back, its tasks
// stopped) and starts a new one from the revision that served production.
func TestNativeNewerDeploymentStopsRunningOne(t *testing.T) {
	w := newNativeWorld(t)
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary,
		CanaryConfiguration: &types.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(30)}})
	arn := w.update(imageV2)
	w.until("the canary takes traffic", time.Hour, func() bool { _, g := w.weights(w.prodRule); return g == 10 })
	imageV3 := strings.Replace(imageV2, "2222", "3333", 1)
	next := w.update(imageV3)
	if sd := w.deployment(arn); sd.Status != types.ServiceDeploymentStatusStopped || sd.StoppedAt == nil {
		t.Errorf("the replaced deployment: %s, want STOPPED", sd.Status)
	}
	if _, g := w.weights(w.prodRule); g != 0 {
		t.Errorf("green keeps %d%% after its deployment stopped", g)
	}
	w.until("the newer deployment succeeds", 2*time.Hour, func() bool {
		servedByHealthy(w)
		return w.deployment(next).Status == types.ServiceDeploymentStatusSuccessful
	})
	if n := w.tasksOf(imageV2); n != 0 {
		t.Errorf("%d tasks of the stopped deployment's revision still run", n)
	}
	if n := w.tasksOf(imageV3); n != 2 {
		t.Errorf("%d tasks of the newest revision, want 2", n)
	}
	if sd := w.deployment(next); len(sd.SourceServiceRevisions) != 1 {
		t.Errorf("the newer deployment's sources: %+v, want only the revision that served production", sd.SourceServiceRevisions)
	}
}

// TestNativeDeploymentSurvivesSnapshot: a snapshot taken while a PAUSE hook
// awaits action restores into a deployment that still awaits it and
// finishes once continued (slipway local --state-dir).
func TestNativeDeploymentSurvivesSnapshot(t *testing.T) {
	w := newNativeWorld(t)
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyLinear,
		LinearConfiguration: &types.LinearConfiguration{StepPercent: aws.Float64(50), StepBakeTimeInMinutes: aws.Int32(1)},
		LifecycleHooks: []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause,
			LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostProductionTrafficShift}}}})
	first := w.latest()
	for h := awaitHookOrNone(w, first); h != nil; h = awaitHookOrNone(w, first) {
		if _, err := w.ecs.ContinueServiceDeployment(context.Background(), &sdk.ContinueServiceDeploymentInput{ServiceDeploymentArn: &first, HookId: h.HookId}); err != nil {
			t.Fatal(err)
		}
	}
	arn := w.update(imageV2)
	hook := awaitHook(w, arn)
	before := w.deployment(arn)
	snap, err := w.e.ECS.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var broken map[string]any
	if err := json.Unmarshal(snap, &broken); err != nil {
		t.Fatal(err)
	}
	broken["serviceDeployments"].(map[string]any)[arn].(map[string]any)["step"] = 7
	if b, _ := json.Marshal(broken); w.e.ECS.Restore(b) == nil {
		t.Errorf("a snapshot whose deployment is at step 7 of 2 was restored")
	}
	if err := w.e.ECS.Restore(snap); err != nil {
		t.Fatalf("restore: %v", err)
	}
	b1, _ := json.Marshal(before)
	b2, _ := json.Marshal(w.deployment(arn))
	if diff := cmp.Diff(string(b1), string(b2)); diff != "" {
		t.Errorf("the deployment after a restore (-before +after):\n%s", diff)
	}
	if _, err := w.ecs.ContinueServiceDeployment(context.Background(), &sdk.ContinueServiceDeploymentInput{ServiceDeploymentArn: &arn, HookId: hook.HookId}); err != nil {
		t.Fatal(err)
	}
	w.until("the restored deployment succeeds", time.Hour, func() bool {
		return w.deployment(arn).Status == types.ServiceDeploymentStatusSuccessful
	})
}

// TestNativeDeleteServiceStopsDeployment: deleting a service stops its
// running native deployment.
func TestNativeDeleteServiceStopsDeployment(t *testing.T) {
	w := newNativeWorld(t)
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary})
	arn := w.update(imageV2)
	w.until("the canary takes traffic", time.Hour, func() bool { _, g := w.weights(w.prodRule); return g == 5 })
	if _, err := w.ecs.DeleteService(context.Background(), &sdk.DeleteServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
		Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if sd := w.deployment(arn); sd.Status != types.ServiceDeploymentStatusStopped {
		t.Errorf("the deployment of a deleted service: %s, want STOPPED", sd.Status)
	}
}

// TestNativeRealisticTimings: with the timings `slipway local` runs with,
// SCALE_UP lasts as long as Fargate start plus the ALB's healthy threshold
// (20 s + 15 s + 5 × 30 s), and CLEAN_UP as long as the deregistration
// delay (300 s) the old tasks drain for, during which the deployment can
// no longer be stopped.
func TestNativeRealisticTimings(t *testing.T) {
	w := newNativeWorldWith(t, endpoint.Config{Tasks: ecs.Realistic()})
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen})
	arn := w.update(imageV2)
	entered := map[types.ServiceDeploymentLifecycleStage]time.Time{}
	var scaledUp time.Time // when the stage after SCALE_UP was first seen
	last := types.ServiceDeploymentLifecycleStage("")
	w.until("the deployment succeeds", 2*time.Hour, func() bool {
		sd := w.deployment(arn)
		if _, ok := entered[sd.LifecycleStage]; !ok {
			entered[sd.LifecycleStage] = w.v.Now()
			if sd.LifecycleStage == types.ServiceDeploymentLifecycleStageCleanUp && sd.Status == types.ServiceDeploymentStatusInProgress {
				_, err := w.ecs.StopServiceDeployment(context.Background(), &sdk.StopServiceDeploymentInput{ServiceDeploymentArn: &arn})
				if prototest.ErrorCode(err) != "ConflictException" {
					t.Errorf("StopServiceDeployment in CLEAN_UP: got %v, want ConflictException", err)
				}
			}
		}
		if last == types.ServiceDeploymentLifecycleStageScaleUp && sd.LifecycleStage != last {
			scaledUp = w.v.Now()
		}
		last = sd.LifecycleStage
		return sd.Status == types.ServiceDeploymentStatusSuccessful
	})
	done := w.v.Now()
	scaleUp := scaledUp.Sub(entered[types.ServiceDeploymentLifecycleStageScaleUp])
	if want := 185 * time.Second; scaleUp < want || scaleUp > want+30*time.Second {
		t.Errorf("SCALE_UP took %v, want about %v", scaleUp, want)
	}
	if cleanUp := done.Sub(entered[types.ServiceDeploymentLifecycleStageCleanUp]); cleanUp < 300*time.Second || cleanUp > 330*time.Second {
		t.Errorf("CLEAN_UP took %v, want the 300 s deregistration delay and the stop", cleanUp)
	}
}

// TestNativeAlarmAlreadyFiring: a deployment whose alarm is in ALARM when
// it starts rolls back before any production traffic moves.
func TestNativeAlarmAlreadyFiring(t *testing.T) {
	w := newNativeWorld(t)
	w.alarm("web-latency")
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen,
		Alarms: &types.DeploymentAlarms{AlarmNames: []string{"web-latency"}, Enable: true, Rollback: true}})
	w.setAlarm("web-latency", cwtypes.StateValueAlarm)
	arn := w.update(imageV2)
	var maxGreen int32
	w.until("the deployment ends", time.Hour, func() bool {
		_, g := w.weights(w.prodRule)
		maxGreen = max(maxGreen, g)
		st := w.deployment(arn).Status
		return st != types.ServiceDeploymentStatusInProgress && st != types.ServiceDeploymentStatusPending
	})
	rolledBack(w, arn, "web-latency")
	if maxGreen != 0 {
		t.Errorf("green got %d%% of production with its alarm firing", maxGreen)
	}
}

// TestNativeNewerDeploymentDuringRollback: an UpdateService while a
// deployment rolls back finishes that rollback (its new tasks stop at
// once) and deploys from the revision the rollback went back to.
func TestNativeNewerDeploymentDuringRollback(t *testing.T) {
	w := newNativeWorld(t)
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary})
	arn := w.update(imageV2)
	w.until("the canary takes traffic", time.Hour, func() bool { _, g := w.weights(w.prodRule); return g == 5 })
	if _, err := w.ecs.StopServiceDeployment(context.Background(), &sdk.StopServiceDeploymentInput{ServiceDeploymentArn: &arn}); err != nil {
		t.Fatal(err)
	}
	if st := w.deployment(arn).Status; st != types.ServiceDeploymentStatusRollbackInProgress {
		t.Fatalf("after StopServiceDeployment: %s, want ROLLBACK_IN_PROGRESS", st)
	}
	imageV3 := strings.Replace(imageV2, "2222", "3333", 1)
	next := w.update(imageV3)
	if st := w.deployment(arn).Status; st != types.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("the rolled back deployment once replaced: %s, want ROLLBACK_SUCCESSFUL", st)
	}
	w.until("the newer deployment succeeds", 2*time.Hour, func() bool {
		servedByHealthy(w)
		return w.deployment(next).Status == types.ServiceDeploymentStatusSuccessful
	})
	if n := w.tasksOf(imageV2); n != 0 {
		t.Errorf("%d tasks of the rolled back revision still run", n)
	}
}

// TestNativeSourceTaskReplaced: a task of the revision serving production
// that stops during the canary bake is replaced, so production keeps its
// capacity until CLEAN_UP.
func TestNativeSourceTaskReplaced(t *testing.T) {
	w := newNativeWorld(t)
	ctx := context.Background()
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary,
		CanaryConfiguration: &types.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(20)}})
	arn := w.update(imageV2)
	w.until("the canary takes traffic", time.Hour, func() bool { _, g := w.weights(w.prodRule); return g == 10 })
	list, err := w.ecs.ListTasks(ctx, &sdk.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := w.ecs.DescribeTasks(ctx, &sdk.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: list.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	for _, task := range out.Tasks {
		if aws.ToString(task.Containers[0].Image) == imageV1 && !stopped {
			if _, err := w.ecs.StopTask(ctx, &sdk.StopTaskInput{Cluster: aws.String("prod"), Task: task.TaskArn}); err != nil {
				t.Fatal(err)
			}
			stopped = true
		}
	}
	if !stopped {
		t.Fatal("no task of the source revision to stop")
	}
	w.sleep(2 * time.Minute)
	if sd := w.deployment(arn); sd.LifecycleStage != types.ServiceDeploymentLifecycleStageProductionTrafficShift {
		t.Fatalf("stage %s, want still baking the canary", sd.LifecycleStage)
	}
	if n := w.tasksOf(imageV1); n != 2 {
		t.Errorf("%d tasks of the source revision during the bake, want 2 (the stopped one replaced)", n)
	}
	w.until("the deployment succeeds", 2*time.Hour, func() bool {
		return w.deployment(arn).Status == types.ServiceDeploymentStatusSuccessful
	})
	if n := w.tasksOf(imageV1); n != 0 {
		t.Errorf("%d tasks of the source revision after CLEAN_UP", n)
	}
}

// TestNativeNewerDeploymentDuringFirst: replacing a service's first
// deployment while it pauses keeps its tasks, which serve production, as
// the source of the new one.
func TestNativeNewerDeploymentDuringFirst(t *testing.T) {
	w := newNativeWorld(t)
	ctx := context.Background()
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen,
		LifecycleHooks: []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause,
			LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostScaleUp}}}})
	first := w.latest()
	awaitHook(w, first)
	next := w.update(imageV2)
	if st := w.deployment(first).Status; st != types.ServiceDeploymentStatusStopped {
		t.Errorf("the replaced first deployment: %s, want STOPPED", st)
	}
	if n := w.tasksOf(imageV1); n != 2 {
		t.Errorf("%d tasks of the first revision once replaced, want its 2 still serving", n)
	}
	hook := awaitHook(w, next)
	if sd := w.deployment(next); len(sd.SourceServiceRevisions) != 1 {
		t.Errorf("the new deployment's sources: %+v, want the first revision", sd.SourceServiceRevisions)
	}
	if _, err := w.ecs.ContinueServiceDeployment(ctx, &sdk.ContinueServiceDeploymentInput{ServiceDeploymentArn: &next, HookId: hook.HookId}); err != nil {
		t.Fatal(err)
	}
	w.until("the new deployment succeeds", time.Hour, func() bool {
		servedByHealthy(w)
		return w.deployment(next).Status == types.ServiceDeploymentStatusSuccessful
	})
	if b, g := w.weights(w.prodRule); b != 0 || g != 100 {
		t.Errorf("after the new deployment: blue %d green %d, want green", b, g)
	}
}

// TestNativeRollbackFailed: a rollback whose source revision cannot run
// any more (its image crashes now, and its tasks were stopped) ends
// ROLLBACK_FAILED once the circuit breaker's threshold of its tasks failed
// during the rollback, as ECS gives up; a rollback whose source runs
// healthy ends ROLLBACK_SUCCESSFUL only once it does.
func TestNativeRollbackFailed(t *testing.T) {
	w := newNativeWorld(t)
	ctx := context.Background()
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen,
		DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		LifecycleHooks: []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause,
			LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostScaleUp}}}})
	first := w.latest()
	for h := awaitHookOrNone(w, first); h != nil; h = awaitHookOrNone(w, first) {
		if _, err := w.ecs.ContinueServiceDeployment(ctx, &sdk.ContinueServiceDeploymentInput{ServiceDeploymentArn: &first, HookId: h.HookId}); err != nil {
			t.Fatal(err)
		}
	}
	arn := w.update(imageV2)
	hook := awaitHook(w, arn)
	// The source revision's image crashes from now on, and its tasks stop.
	w.e.Faults.SetImage(strings.TrimPrefix(imageV1[strings.Index(imageV1, "@"):], "@"), faults.Behaviour{CrashOnStart: true})
	list, err := w.ecs.ListTasks(ctx, &sdk.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := w.ecs.DescribeTasks(ctx, &sdk.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: list.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range out.Tasks {
		if aws.ToString(task.Containers[0].Image) == imageV1 {
			if _, err := w.ecs.StopTask(ctx, &sdk.StopTaskInput{Cluster: aws.String("prod"), Task: task.TaskArn}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := w.ecs.ContinueServiceDeployment(ctx, &sdk.ContinueServiceDeploymentInput{ServiceDeploymentArn: &arn, HookId: hook.HookId,
		Action: types.DeploymentLifecycleHookActionRollback}); err != nil {
		t.Fatal(err)
	}
	w.until("the rollback ends", 2*time.Hour, func() bool {
		return w.deployment(arn).Status != types.ServiceDeploymentStatusRollbackInProgress
	})
	sd := w.deployment(arn)
	if sd.Status != types.ServiceDeploymentStatusRollbackFailed {
		t.Fatalf("service deployment %s (%s), want ROLLBACK_FAILED", sd.Status, aws.ToString(sd.StatusReason))
	}
	if !strings.Contains(aws.ToString(sd.StatusReason), "failed to start") {
		t.Errorf("status reason %q, want it to say the rollback's tasks failed to start", aws.ToString(sd.StatusReason))
	}
	if b, g := w.weights(w.prodRule); g != 0 || b == 0 {
		t.Errorf("production after the failed rollback: blue %d green %d, want blue (ECS shifted back first)", b, g)
	}
}
