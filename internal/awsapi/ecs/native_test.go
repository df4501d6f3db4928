package ecs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/workflow"
)

const sdArn = "arn:aws:ecs:us-east-1:111122223333:service-deployment/prod/web/AbCd"

func TestNativeServiceDeployment(t *testing.T) {
	c, f := newClient(t, map[string][]reply{"DescribeServiceDeployments": {{Body: `{"serviceDeployments":[{
		"serviceDeploymentArn":"` + sdArn + `","serviceArn":"arn:aws:ecs:us-east-1:111122223333:service/prod/web",
		"status":"IN_PROGRESS","lifecycleStage":"POST_TEST_TRAFFIC_SHIFT",
		"targetServiceRevision":{"arn":"arn:aws:ecs:us-east-1:111122223333:service-revision/prod/web/2"},
		"deploymentCircuitBreaker":{"status":"MONITORING","failureCount":0,"threshold":3},
		"alarms":{"status":"MONITORING","alarmNames":["web-5xx"]},
		"lifecycleHookDetails":[{"hookId":"ecs-pause-1","targetType":"PAUSE","status":"AWAITING_ACTION",
			"expiresAt":1764100000,"timeoutAction":"ROLLBACK"}]}],"failures":[]}`}}})
	got, err := c.ServiceDeployment(context.Background(), sdArn)
	if err != nil {
		t.Fatal(err)
	}
	want := &ServiceDeployment{
		ARN: sdArn, Service: "arn:aws:ecs:us-east-1:111122223333:service/prod/web", Status: DeploymentInProgress,
		LifecycleStage: "POST_TEST_TRAFFIC_SHIFT", TargetRevision: "arn:aws:ecs:us-east-1:111122223333:service-revision/prod/web/2",
		CircuitBreaker: "MONITORING", Alarms: "MONITORING",
		Hooks: []Hook{{ID: "ecs-pause-1", TargetType: "PAUSE", Status: HookAwaitingAction, ExpiresAt: time.Unix(1764100000, 0), TimeoutAction: "ROLLBACK"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("service deployment (-want +got):\n%s", diff)
	}
	if h := got.AwaitingPause(); h == nil || h.ID != "ecs-pause-1" {
		t.Errorf("got awaiting pause %+v, want ecs-pause-1", h)
	}
	if got.Terminal() {
		t.Error("got terminal for IN_PROGRESS, want not")
	}
	checkRequests(t, f, request{Op: "DescribeServiceDeployments", Body: jsonMap(t, `{"serviceDeploymentArns":["`+sdArn+`"]}`)})
}

func TestNativeServiceDeploymentMissing(t *testing.T) {
	c, _ := newClient(t, map[string][]reply{"DescribeServiceDeployments": {{Body: `{"serviceDeployments":[],
		"failures":[{"arn":"` + sdArn + `","reason":"MISSING"}]}`}}})
	_, err := c.ServiceDeployment(context.Background(), sdArn)
	if !errors.Is(err, ErrDeploymentNotFound) {
		t.Errorf("got %v, want ErrDeploymentNotFound", err)
	}
}

func TestNativeContinueAndRollBack(t *testing.T) {
	c, f := newClient(t, map[string][]reply{
		"ContinueServiceDeployment": {{Body: `{"serviceDeploymentArn":"` + sdArn + `"}`}},
		"StopServiceDeployment":     {{Body: `{"serviceDeploymentArn":"` + sdArn + `"}`}},
	})
	if err := c.ContinueServiceDeployment(context.Background(), sdArn, "ecs-pause-1", ActionContinue); err != nil {
		t.Fatal(err)
	}
	if err := c.RollBackServiceDeployment(context.Background(), sdArn); err != nil {
		t.Fatal(err)
	}
	checkRequests(t, f,
		request{Op: "ContinueServiceDeployment", Body: jsonMap(t, `{"serviceDeploymentArn":"`+sdArn+`","hookId":"ecs-pause-1","action":"CONTINUE"}`)},
		request{Op: "StopServiceDeployment", Body: jsonMap(t, `{"serviceDeploymentArn":"`+sdArn+`","stopType":"ROLLBACK"}`)})
}

func TestNativeContinueThrottledIsTransient(t *testing.T) {
	c, _ := newClient(t, map[string][]reply{"ContinueServiceDeployment": {errorReply(400, "ThrottlingException")}})
	err := c.ContinueServiceDeployment(context.Background(), sdArn, "ecs-pause-1", ActionRollback)
	var tr *workflow.Transient
	if !errors.As(err, &tr) {
		t.Errorf("got %v, want workflow.Transient", err)
	}
}

func TestNativeListServiceDeployments(t *testing.T) {
	c, f := newClient(t, map[string][]reply{"ListServiceDeployments": {
		{Body: `{"serviceDeployments":[{"serviceDeploymentArn":"a1","status":"IN_PROGRESS"}],"nextToken":"n"}`},
		{Body: `{"serviceDeployments":[{"serviceDeploymentArn":"a2","status":"IN_PROGRESS"}]}`},
	}})
	got, err := c.ServiceDeploymentARNs(context.Background(), "prod", "web", DeploymentInProgress)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a1", "a2"}, got); diff != "" {
		t.Errorf("arns (-want +got):\n%s", diff)
	}
	checkRequests(t, f,
		request{Op: "ListServiceDeployments", Body: jsonMap(t, `{"cluster":"prod","service":"web","status":["IN_PROGRESS"]}`)},
		request{Op: "ListServiceDeployments", Body: jsonMap(t, `{"cluster":"prod","service":"web","status":["IN_PROGRESS"],"nextToken":"n"}`)})
}
