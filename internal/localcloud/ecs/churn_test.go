package ecs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

// TestChurnIsNoFailure: a running task stopped (as ECS stops one whose host
// retires or whose Spot capacity is reclaimed) is replaced by the scheduler,
// and a scale-out starts new tasks; either way runningCount is below
// desiredCount while the new tasks provision, then recovers, and the
// deployment is the same one, COMPLETED, with no failed task: the circuit
// breaker counts tasks that fail, not tasks that are stopped (issue 11
// item 4).
func TestChurnIsNoFailure(t *testing.T) {
	const reason = "Host EC2 instance retirement"
	tests := map[string]struct {
		churn       func(t *testing.T, w *world)
		wantDesired int32
	}{
		"a task stopped as its host retires": {
			churn: func(t *testing.T, w *world) {
				tk := w.tasks("staging", "web", types.DesiredStatusRunning)[0]
				if _, err := w.api.StopTask(context.Background(), &sdk.StopTaskInput{Cluster: aws.String("staging"), Task: tk.TaskArn,
					Reason: aws.String(reason)}); err != nil {
					t.Fatal(err)
				}
			},
			wantDesired: 3,
		},
		"a scale-out": {
			churn: func(t *testing.T, w *world) {
				if _, err := w.api.UpdateService(context.Background(), &sdk.UpdateServiceInput{Cluster: aws.String("staging"),
					Service: aws.String("web"), DesiredCount: aws.Int32(5)}); err != nil {
					t.Fatal(err)
				}
			},
			wantDesired: 5,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.cluster("staging")
			createWeb(t, w, w.webTaskDef(ecrURI+"web@sha256:aaa"), 3, 100, 200, true, true)
			w.settle()
			before := w.service("staging", "web").Deployments[0]
			if before.RolloutState != types.DeploymentRolloutStateCompleted {
				t.Fatalf("got rollout %s before the churn, want COMPLETED", before.RolloutState)
			}

			tc.churn(t, w)
			// Provisioning and pulling take simulated time: a second
			// later the new tasks are not running yet.
			w.advance(time.Second)
			sv := w.service("staging", "web")
			if sv.DesiredCount != tc.wantDesired || sv.RunningCount >= sv.DesiredCount || sv.PendingCount == 0 {
				t.Fatalf("got desired %d running %d pending %d right after the churn, want desired %d, fewer running, some pending",
					sv.DesiredCount, sv.RunningCount, sv.PendingCount, tc.wantDesired)
			}

			w.settle()
			sv = w.service("staging", "web")
			if sv.RunningCount != tc.wantDesired || sv.DesiredCount != tc.wantDesired {
				t.Errorf("got running %d of %d once settled, want %d of %d", sv.RunningCount, sv.DesiredCount, tc.wantDesired, tc.wantDesired)
			}
			if len(sv.Deployments) != 1 {
				t.Fatalf("got %d deployments, want 1 (churn starts none)", len(sv.Deployments))
			}
			d := sv.Deployments[0]
			if aws.ToString(d.Id) != aws.ToString(before.Id) || d.RolloutState != types.DeploymentRolloutStateCompleted || d.FailedTasks != 0 {
				t.Errorf("got deployment %s %s with %d failed tasks, want %s COMPLETED with 0",
					aws.ToString(d.Id), d.RolloutState, d.FailedTasks, aws.ToString(before.Id))
			}
			if got := w.elb.count(tgBlue, "healthy"); got != int(tc.wantDesired) {
				t.Errorf("got %d healthy targets, want %d", got, tc.wantDesired)
			}
			for _, tk := range w.tasks("staging", "web", types.DesiredStatusStopped) {
				if tk.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(tk.StoppedReason) != reason {
					t.Errorf("stopped task: got %s %q, want %s %q", tk.StopCode, aws.ToString(tk.StoppedReason), types.TaskStopCodeUserInitiated, reason)
				}
			}
		})
	}
}

// TestDaemonJoinIsNoFailure: a container instance that joins the cluster
// gets a task of a DAEMON service; until it runs, runningCount is below the
// new desiredCount, and the deployment counts no failure (issue 11 item 4).
func TestDaemonJoinIsNoFailure(t *testing.T) {
	w := newWorld(t)
	w.cluster("prod")
	for range 2 {
		if _, err := w.svc.AddContainerInstance("prod", 2048, 4096); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	td, err := w.api.RegisterTaskDefinition(ctx, &sdk.RegisterTaskDefinitionInput{
		Family: aws.String("agent"), NetworkMode: types.NetworkModeHost,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityEc2},
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("agent"), Image: aws.String(ecrURI + "agent@sha256:one"), Cpu: 128, Memory: aws.Int32(256),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.api.CreateService(ctx, &sdk.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("agent"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		SchedulingStrategy: types.SchedulingStrategyDaemon, LaunchType: types.LaunchTypeEc2,
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true}},
	}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	before := w.service("prod", "agent").Deployments[0]

	if _, err := w.svc.AddContainerInstance("prod", 2048, 4096); err != nil {
		t.Fatal(err)
	}
	w.advance(time.Second)
	if sv := w.service("prod", "agent"); sv.DesiredCount != 3 || sv.RunningCount != 2 {
		t.Fatalf("got running %d of %d right after the join, want 2 of 3", sv.RunningCount, sv.DesiredCount)
	}
	w.settle()
	sv := w.service("prod", "agent")
	if sv.RunningCount != 3 || len(sv.Deployments) != 1 {
		t.Fatalf("got running %d and %d deployments once settled, want 3 and 1", sv.RunningCount, len(sv.Deployments))
	}
	if d := sv.Deployments[0]; aws.ToString(d.Id) != aws.ToString(before.Id) || d.RolloutState != types.DeploymentRolloutStateCompleted || d.FailedTasks != 0 {
		t.Errorf("got deployment %s %s with %d failed tasks, want %s COMPLETED with 0",
			aws.ToString(d.Id), d.RolloutState, d.FailedTasks, aws.ToString(before.Id))
	}
}

// TestStopTaskReasonLimit: StopTask takes a reason of up to 255 characters,
// as the API does, and refuses a longer one without stopping the task.
func TestStopTaskReasonLimit(t *testing.T) {
	w := newWorld(t)
	w.cluster("staging")
	createWeb(t, w, w.webTaskDef(ecrURI+"web@sha256:aaa"), 1, 100, 200, true, false)
	w.settle()
	tk := w.tasks("staging", "web", types.DesiredStatusRunning)[0]
	_, err := w.api.StopTask(context.Background(), &sdk.StopTaskInput{Cluster: aws.String("staging"), Task: tk.TaskArn,
		Reason: aws.String(strings.Repeat("r", 256))})
	if got := prototest.ErrorCode(err); got != "InvalidParameterException" {
		t.Fatalf("got %q %v, want InvalidParameterException", got, err)
	}
	if got := w.tasks("staging", "web", types.DesiredStatusRunning); len(got) != 1 || aws.ToString(got[0].TaskArn) != aws.ToString(tk.TaskArn) {
		t.Fatalf("got running tasks %+v, want the task still running", got)
	}
	if _, err := w.api.StopTask(context.Background(), &sdk.StopTaskInput{Cluster: aws.String("staging"), Task: tk.TaskArn,
		Reason: aws.String(strings.Repeat("r", 255))}); err != nil {
		t.Fatalf("a reason of 255 characters: %v", err)
	}
}
