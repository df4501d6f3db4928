package endpoint_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// lastBake is what the input of a Bake state says about its wait.
type lastBake struct {
	arn, cluster, service string
	timeout               time.Duration
}

// pushUntilLastWait pushes repo:tag and lets simulated time pass a second at
// a time until the deployment it started enters a Bake whose wait is the
// last of its bake (no bake time left after it): the check at its end
// judges the new revision. It returns holding the clock, at most a second
// after the Bake was entered. afterPush runs once the push is done.
func (c *stepped) pushUntilLastWait(repo, tag string, afterPush func(digest string)) lastBake {
	t := c.t
	t.Helper()
	prefix := repo + "-staging-"
	before := c.executions()
	c.hold()
	c.push(repo, tag, afterPush)
	for range 3600 {
		if arn, ok := newestStarted(before, c.executions(), prefix); ok {
			if b, ok := c.lastBakeOf(arn); ok {
				return b
			}
		}
		c.sleep(time.Second)
	}
	t.Fatalf("the deployment of %s:%s reached no last bake wait in an hour of simulated time", repo, tag)
	return lastBake{}
}

// lastBakeOf finds the Bake the execution arn is in, if its wait is the
// last of its bake.
func (c *stepped) lastBakeOf(arn string) (lastBake, bool) {
	t := c.t
	t.Helper()
	var entered *sfntypes.StateEnteredEventDetails
	eachEvent(t, c.sfn, arn, func(e sfntypes.HistoryEvent) bool {
		switch {
		case e.StateEnteredEventDetails != nil:
			entered = e.StateEnteredEventDetails
		case e.Type == sfntypes.HistoryEventTypeExecutionFailed || e.Type == sfntypes.HistoryEventTypeExecutionSucceeded:
			t.Fatalf("execution %s ended (path %v) before its last bake wait", arn, pathOf(t, c.sfn, arn))
		}
		return true
	})
	if entered == nil || aws.ToString(entered.Name) != workflow.StateBake {
		return lastBake{}, false
	}
	var in workflow.State
	if err := json.Unmarshal([]byte(aws.ToString(entered.Input)), &in); err != nil {
		t.Fatalf("input of Bake: %v", err)
	}
	if in.Wait.BakeLeftSeconds > 0 {
		return lastBake{}, false
	}
	return lastBake{arn: arn, cluster: in.Wait.Cluster, service: in.Wait.Service,
		timeout: time.Duration(in.Wait.TimeoutSeconds) * time.Second}, true
}

// stopOne stops a running task of the service, as ECS does when it retires
// the task's host or reclaims its Spot capacity, and returns its ARN.
func (c *stepped) stopOne(cluster, service, reason string) string {
	t := c.t
	t.Helper()
	ctx := context.Background()
	list, err := c.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service),
		DesiredStatus: ecstypes.DesiredStatusRunning})
	if err != nil {
		t.Fatalf("ListTasks %s: %v", service, err)
	}
	if len(list.TaskArns) == 0 {
		t.Fatalf("%s runs no task to stop", service)
	}
	arn := list.TaskArns[0]
	if _, err := c.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn), Reason: aws.String(reason)}); err != nil {
		t.Fatalf("StopTask %s: %v", arn, err)
	}
	return arn
}

// TestBakeSurvivesChurn: a task of the new revision stopped and replaced by
// the scheduler, and a scale-out of the new slot, just before a canary's
// bake is judged, are no failure of the revision: the deployment ends
// Deployed along the canary's path (issue 11 item 4). The moment is
// chosen so that the replacement and the new tasks are not running yet
// when the bake is judged: runningCount < desiredCount then.
func TestBakeSurvivesChurn(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs deployments")
	c := startStepped(t)
	canary := []string{"Apply", "ShiftTraffic", "Bake", "ShiftTraffic", "Bake", "ShiftTraffic", "Bake", "Promote", "Deployed"}
	tests := []struct {
		name string
		tag  string
		act  func(t *testing.T, b lastBake)
	}{
		{name: "a task retired with its host is replaced", tag: "v2", act: func(t *testing.T, b lastBake) {
			c.stopOne(b.cluster, b.service, "Task stopped: host EC2 instance retirement")
		}},
		{name: "a scale-out is still provisioning", tag: "v3", act: func(t *testing.T, b lastBake) {
			n := c.serviceIn(b.cluster, b.service).DesiredCount + 1
			if _, err := c.ecs.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String(b.cluster),
				Service: aws.String(b.service), DesiredCount: aws.Int32(n)}); err != nil {
				t.Fatalf("UpdateService %s: %v", b.service, err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			b := c.pushUntilLastWait("web", tc.tag, nil)
			// The bake is judged b.timeout after it was entered, at most a
			// second ago; act two to three seconds before, less than a
			// task's start (provisioning and pull).
			c.sleep(b.timeout - 3*time.Second)
			tc.act(t, b)
			c.sleep(time.Second)
			if sv := c.serviceIn(b.cluster, b.service); sv.RunningCount >= sv.DesiredCount {
				t.Fatalf("%s runs %d of %d tasks right after the churn, want fewer: the test would prove nothing",
					b.service, sv.RunningCount, sv.DesiredCount)
			}
			status, path := c.finish(b.arn)
			if status != sfntypes.ExecutionStatusSucceeded {
				t.Errorf("got status %s (rolled back for %+v), want SUCCEEDED", status, c.rollbackCause(b.arn))
			}
			if diff := cmp.Diff(canary, path); diff != "" {
				t.Errorf("path (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCrashLoopStillRollsBack: churn is tolerated, a failing revision is
// not. A revision whose tasks crash on start trips the circuit breaker
// before its first bake; one whose replacement tasks crash-loop during a
// bake reaches the circuit breaker's threshold of failed tasks and is
// judged failed at the bake's check. Both roll back (issue 11 item 4).
func TestCrashLoopStillRollsBack(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs deployments")
	c := startStepped(t)
	crash := func(t *testing.T, digest string) {
		injectFault(t, c.r, digest, faults.Behaviour{CrashOnStart: true})
	}

	t.Run("tasks that crash on start", func(t *testing.T) {
		c.t = t
		status, path, _ := deploy(t, c.r, "web", "v2", func(digest string) { crash(t, digest) })
		if status != sfntypes.ExecutionStatusFailed {
			t.Errorf("got status %s, want FAILED", status)
		}
		if diff := cmp.Diff([]string{"Apply", "Rollback", "RolledBack"}, path); diff != "" {
			t.Errorf("path (-want +got):\n%s", diff)
		}
	})

	t.Run("replacements that crash-loop during a bake", func(t *testing.T) {
		c.t = t
		var digest string
		b := c.pushUntilLastWait("web", "v3", func(d string) { digest = d })
		// From now on every new task of the revision crashes on start:
		// the replacement of a stopped task crash-loops.
		crash(t, digest)
		c.stopOne(b.cluster, b.service, "Task stopped: host EC2 instance retirement")
		status, path := c.finish(b.arn)
		if status != sfntypes.ExecutionStatusFailed {
			t.Errorf("got status %s, want FAILED", status)
		}
		if want := []string{"Apply", "ShiftTraffic", "Bake", "Rollback", "RolledBack"}; !cmp.Equal(want, path) {
			t.Errorf("got path %v, want %v", path, want)
		}
		// Judged by its failed tasks: no alarm fired and the rollout had
		// completed.
		if f := c.rollbackCause(b.arn); f == nil || f.Error != "DeploymentFailed" || !strings.Contains(f.Cause, "circuit breaker's threshold") {
			t.Errorf("rolled back for %+v, want DeploymentFailed for the failed tasks", f)
		}
	})
}
