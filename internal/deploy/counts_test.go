package deploy

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipwayhq/slipway/internal/awsapi/ecs"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// countCases are the strategy cases with the service serving traffic before
// the deployment and the one receiving the new revision.
var countCases = map[string]struct{ serving, target string }{
	"rolling":                 {serving: "web", target: "web"},
	"canary by weights":       {serving: "web--blue", target: "web--green"},
	"canary by task count":    {serving: "worker--blue", target: "worker--green"},
	"blue/green, all at once": {serving: "web--blue", target: "web--green"},
}

// TestApplyReadsLiveCount: the service is scaled out between Prepare and
// Apply (auto scaling, or a person during the approval wait); the new
// revision runs at least that many tasks, never Prepare's older count.
func TestApplyReadsLiveCount(t *testing.T) {
	for name, cc := range countCases {
		t.Run(name, func(t *testing.T) {
			sc := strategyCases()[name]
			w := newWorld(t)
			sc.before(w)
			w.image(sc.service, "v2")
			x := newExecution(w, "exec-1", request(sc, "v2"))
			x.runUntil(workflow.StateApply)
			w.services[cc.serving].desired = 8
			w.settle()
			x.run()
			if x.state != workflow.StateDeployed {
				t.Fatalf("got terminal state %s, want %s (path %v)", x.state, workflow.StateDeployed, x.path)
			}
			if got := w.services[cc.target].desired; got != 8 {
				t.Errorf("desired count of %s: got %d, want 8 (the live count at Apply)", cc.target, got)
			}
		})
	}
}

// TestRollbackKeepsScaleOut: the serving service is scaled out during the
// bake, an alarm fires; the rollback never brings it below the live count,
// and the slot that ran the bad revision goes back to what it was.
func TestRollbackKeepsScaleOut(t *testing.T) {
	for name, cc := range countCases {
		t.Run(name, func(t *testing.T) {
			sc := strategyCases()[name]
			w := newWorld(t)
			sc.before(w)
			_, targetExisted := w.services[cc.target]
			w.image(sc.service, "v2")
			x := newExecution(w, "exec-1", request(sc, "v2"))
			x.runUntil(workflow.StateBake)
			w.services[cc.serving].desired = 8
			w.settle()
			w.alarms[sc.alarm] = "ALARM"
			x.run()
			if x.state != workflow.StateRolledBack {
				t.Fatalf("got terminal state %s, want %s (path %v)", x.state, workflow.StateRolledBack, x.path)
			}
			if got := w.services[cc.serving].desired; got != 8 {
				t.Errorf("desired count of %s after rollback: got %d, want 8 (the live count)", cc.serving, got)
			}
			if cc.target == cc.serving {
				return
			}
			s, ok := w.services[cc.target]
			switch {
			case !targetExisted && ok:
				t.Errorf("%s: got a service, want it deleted (the deployment created it)", cc.target)
			case targetExisted && s.desired != 0:
				t.Errorf("desired count of %s after rollback: got %d, want 0", cc.target, s.desired)
			}
		})
	}
}

func TestRestoredCount(t *testing.T) {
	tests := map[string]struct {
		snap, live ServiceState
		want       int32
	}{
		"live lower":                   {snap: ServiceState{DesiredCount: 4}, live: ServiceState{DesiredCount: 1}, want: 4},
		"live higher":                  {snap: ServiceState{DesiredCount: 4}, live: ServiceState{DesiredCount: 9}, want: 9},
		"idle slot":                    {snap: ServiceState{DesiredCount: 0}, live: ServiceState{DesiredCount: 4}, want: 0},
		"live above the scaling limit": {snap: ServiceState{DesiredCount: 4, Scaling: &Limits{Min: 2, Max: 6}}, live: ServiceState{DesiredCount: 9}, want: 6},
		"snapshot above its limit":     {snap: ServiceState{DesiredCount: 8, Scaling: &Limits{Min: 2, Max: 6}}, live: ServiceState{DesiredCount: 9}, want: 8},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := restoredCount(tc.snap, tc.live); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// TestRollbackRestoresSettings: a deployment changes the service's network,
// deployment configuration, grace period, registries and scaling policies;
// the rollback puts every one of them back as it was.
func TestRollbackRestoresSettings(t *testing.T) {
	sc := strategyCases()["rolling"]
	w := newWorld(t)
	sc.before(w)
	id := scalingID(w.cluster, "web")
	before := ecs.Settings{
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{"subnet-00000000000000old"}, AssignPublicIp: ecstypes.AssignPublicIpDisabled}},
		ServiceRegistries: []ecstypes.ServiceRegistry{{RegistryArn: aws.String("arn:aws:servicediscovery:us-east-1:111122223333:service/srv-old")}},
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{MaximumPercent: aws.Int32(150), MinimumHealthyPercent: aws.Int32(50),
			DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: false}},
		HealthCheckGracePeriodSeconds: 120,
	}
	w.services["web"].settings = before
	policies := spec.AutoScaling{
		Policies: []spec.ScalingPolicy{{PolicyName: "legacy-steps", StepScalingPolicyConfiguration: &aastypes.StepScalingPolicyConfiguration{
			AdjustmentType:  aastypes.AdjustmentTypeChangeInCapacity,
			StepAdjustments: []aastypes.StepAdjustment{{MetricIntervalLowerBound: aws.Float64(0), ScalingAdjustment: aws.Int32(2)}}}}},
		ScheduledActions: []spec.ScheduledAction{{ScheduledActionName: "night", Schedule: "cron(0 22 * * ? *)",
			ScalableTargetAction: &aastypes.ScalableTargetAction{MaxCapacity: aws.Int32(3)}}},
	}
	w.policies[id] = policies

	w.image(sc.service, "v2")
	x := newExecution(w, "exec-1", request(sc, "v2"))
	x.runUntil(workflow.StateBake)
	// The deployment did change them: the spec's settings and policies.
	if len(w.services["web"].settings.Diff(before)) == 0 {
		t.Fatalf("settings during the bake: got the old ones, want the spec's")
	}
	if got := w.policies[id]; len(got.Policies) != 1 || got.Policies[0].PolicyName != "web-cpu" || len(got.ScheduledActions) != 0 {
		t.Fatalf("policies during the bake: got %+v, want only the spec's web-cpu (removed ones deleted)", got)
	}
	w.alarms[sc.alarm] = "ALARM"
	x.run()
	if x.state != workflow.StateRolledBack {
		t.Fatalf("got terminal state %s, want %s (path %v)", x.state, workflow.StateRolledBack, x.path)
	}
	if diff := w.services["web"].settings.Diff(before); len(diff) > 0 {
		t.Errorf("settings after rollback: %v differ from before the deployment", diff)
	}
	if diff := cmp.Diff(policies, w.policies[id], cmpopts.IgnoreUnexported(aastypes.StepScalingPolicyConfiguration{},
		aastypes.StepAdjustment{}, aastypes.ScalableTargetAction{})); diff != "" {
		t.Errorf("policies after rollback (-want +got):\n%s", diff)
	}
}

// TestApplyRemovesAutoScaling: a spec without autoScaling deregisters the
// scalable target an earlier one left, policies and all.
func TestApplyRemovesAutoScaling(t *testing.T) {
	w := newWorld(t)
	w.addService("worker", "worker-staging", w.image("worker", "v1"), 4, false)
	id := scalingID(w.cluster, "worker")
	w.targets[id] = *scaling(2, 10)
	w.policies[id] = spec.AutoScaling{Policies: []spec.ScalingPolicy{{PolicyName: "old"}}}
	r := &spec.Rendered{Cluster: w.cluster, Service: "worker"}
	c := Clients{Services: w, Scaling: w}
	if err := applyScaling(context.Background(), c, r, "worker", 4, false); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.targets[id]; ok {
		t.Errorf("scalable target of worker: got one, want it deregistered")
	}
	if _, ok := w.policies[id]; ok {
		t.Errorf("policies of worker: got some, want them gone with the target")
	}
}

// TestRetriedApplyRegistersOnce: Apply run twice for the same deployment (a
// Lambda retry) registers one task definition revision, not two.
func TestRetriedApplyRegistersOnce(t *testing.T) {
	sc := strategyCases()["rolling"]
	w := newWorld(t)
	sc.before(w)
	w.image(sc.service, "v2")
	x := newExecution(w, "exec-1", request(sc, "v2"))
	x.runUntil(workflow.StateApply)
	before := len(w.revisions["web-staging"])
	if _, err := x.call(workflow.PhaseApply, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := x.call(workflow.PhaseApply, ""); err != nil {
		t.Fatal(err)
	}
	if got := len(w.revisions["web-staging"]) - before; got != 1 {
		t.Errorf("revisions registered: got %d, want 1", got)
	}
	if got, want := w.services["web"].td, w.revisions["web-staging"][len(w.revisions["web-staging"])-1]; got != want {
		t.Errorf("task definition of web: got %s, want %s", got, want)
	}
}
