package endpoint_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	localecs "github.com/slipwayhq/slipway/internal/localcloud/ecs"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// workerCanary is the strategy block that makes the example worker, which
// has no load balancer, a canary by task count: 4 tasks, moved 1 → 2 → 4.
const workerCanary = `strategy:
  kind: canary
  steps:
    - weight: 25
      bake: 2m
    - weight: 50
      bake: 2m
    - weight: 100
  finalBake: 2m
  alarms:
    - ${SERVICE}-${ENVIRONMENT}-errors
  # Long enough for the circuit breaker to judge tasks that fail their
  # health checks: each lives out the 5-minute grace period first.
  stabilizationTimeout: 30m
`

// startByCount runs the endpoint on a virtual clock the test can stop,
// with tasks that take AWS's times to start (ecs.Realistic), and makes
// the worker a canary by count of 4 tasks in staging: it uploads the
// changed spec and waits for the deployment the upload starts.
func startByCount(t *testing.T) *stepped {
	t.Helper()
	s := startSteppedWith(t, endpoint.Config{Tasks: localecs.Realistic()})
	r := s.r

	b, err := os.ReadFile(examples + "/services/worker.yaml")
	if err != nil {
		t.Fatal(err)
	}
	head, _, ok := strings.Cut(string(b), "\nstrategy:\n")
	if !ok || !strings.Contains(head, "\n  desiredCount: 1\n") {
		t.Fatal("examples/services/worker.yaml: want a strategy block and desiredCount: 1")
	}
	const essential = "\n      essential: true\n"
	if !strings.Contains(head, essential) {
		t.Fatal("examples/services/worker.yaml: want an essential container")
	}
	// A container health check: a new task counts once HEALTHY.
	head = strings.Replace(head, essential, essential+"      healthCheck:\n        command: [\"CMD-SHELL\", \"test -f /tmp/ready\"]\n", 1)
	// ECS ignores failed health checks for the grace period after a task
	// starts: an unhealthy new task stays RUNNING that long.
	doc := strings.Replace(head, "\n  desiredCount: 1\n", "\n  desiredCount: 4\n  healthCheckGracePeriodSeconds: 300\n", 1) + "\n" + workerCanary
	x, _ := uploadAndAwait(t, r, "services/worker.yaml", doc, "worker-staging-", time.Minute)
	arn := aws.ToString(x.ExecutionArn)
	if status, path := s.finish(arn); status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("switching the worker to a canary of 4 tasks: got %s (path %v), want SUCCEEDED", status, path)
	}
	if n := total(workerRunning(t, s)); n != 4 {
		t.Fatalf("the worker runs %d tasks after the switch, want 4", n)
	}
	return s
}

// workerRunning is the number of RUNNING tasks of each of the worker's
// services in staging: its slots, and the plain service if it is still
// there.
func workerRunning(t *testing.T, s *stepped) map[string]int32 {
	t.Helper()
	ctx := context.Background()
	list, err := s.ecs.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("staging")})
	if err != nil {
		t.Fatalf("ListServices: %v", err)
	}
	var names []string
	for _, arn := range list.ServiceArns {
		name := arn[strings.LastIndex(arn, "/")+1:]
		if name == "worker" || strings.HasPrefix(name, "worker--") {
			names = append(names, name)
		}
	}
	running := map[string]int32{}
	if len(names) == 0 {
		return running
	}
	out, err := s.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: names})
	if err != nil {
		t.Fatalf("DescribeServices %v: %v", names, err)
	}
	for _, sv := range out.Services {
		running[aws.ToString(sv.ServiceName)] += sv.RunningCount
	}
	return running
}

func total(running map[string]int32) int32 {
	var n int32
	for _, c := range running {
		n += c
	}
	return n
}

// serving is the worker's service running tasks, which must be the only
// one (before a deployment).
func serving(t *testing.T, running map[string]int32) string {
	t.Helper()
	var names []string
	for name, n := range running {
		if n > 0 {
			names = append(names, name)
		}
	}
	if len(names) != 1 {
		t.Fatalf("got the worker running in %v, want one service", running)
	}
	return names[0]
}

// follow lets simulated time pass a second at a time, with the clock held,
// until the execution arn ends; every second, and once it has ended,
// sample(path, running) reads the path so far and the worker's running
// tasks. It returns the execution's status and path.
func follow(t *testing.T, s *stepped, arn string, sample func(path []string, running map[string]int32)) (sfntypes.ExecutionStatus, []string) {
	t.Helper()
	ctx := context.Background()
	for range 3 * 3600 {
		out, err := s.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		path := pathOf(t, s.sfn, arn)
		sample(path, workerRunning(t, s))
		if out.Status != sfntypes.ExecutionStatusRunning {
			s.release()
			return out.Status, path
		}
		if err := s.clock.Sleep(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("execution %s did not end in three hours of simulated time (path %v)", arn, pathOf(t, s.sfn, arn))
	return "", nil
}

// TestCanaryByCountKeepsCapacity: the worker, without a load balancer and
// with a container health check, deploys as a canary by task count with
// tasks that take AWS's tens of seconds to start. Sampled every simulated
// second, the worker never runs fewer tasks than the 4 it ran before: each
// step's new tasks run and are healthy before the old slot is scaled in. A
// revision whose new tasks crash-loop, or run but fail their health
// checks, at the 50% step rolls back with the old slot keeping its tasks
// throughout, and the rollback ends only once the restored tasks run
// (issue 11 item 9).
func TestCanaryByCountKeepsCapacity(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs deployments")
	s := startByCount(t)

	t.Run("new tasks run before old ones stop", func(t *testing.T) {
		s.t = t
		arn, _ := s.pushUntil("worker", "v2", workflow.StateApply, nil)
		least := int32(4)
		var last map[string]int32
		status, path := follow(t, s, arn, func(_ []string, running map[string]int32) {
			least, last = min(least, total(running)), running
		})
		if status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("got status %s (path %v), want SUCCEEDED", status, path)
		}
		if got := countOf(path, workflow.StateShiftTraffic); got != 3 {
			t.Errorf("got %d traffic steps (path %v), want 3", got, path)
		}
		if least < 4 {
			t.Errorf("got %d worker tasks running at the least, want at least 4 throughout", least)
		}
		if got := total(last); got != 4 {
			t.Errorf("got %d worker tasks running at the end (%v), want 4", got, last)
		}
	})

	// At the 50% step the new tasks fail: they crash on start, or run and
	// fail their container health checks.
	for _, tc := range []struct {
		name, tag string
		fault     faults.Behaviour
	}{
		{"new tasks crash-loop at 50%: the old tasks stay", "v3", faults.Behaviour{CrashOnStart: true}},
		{"new tasks run but fail their health checks at 50%: the old tasks stay", "v4", faults.Behaviour{FailHealthChecks: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			old := serving(t, workerRunning(t, s))
			var digest string
			arn, _ := s.pushUntil("worker", tc.tag, workflow.StateApply, func(d string) { digest = d })
			var (
				failing     bool
				leastBefore = int32(4) // all tasks, until the rollback
				leastOld    = int32(3) // the old slot's, from the 50% step on
				last        map[string]int32
			)
			status, path := follow(t, s, arn, func(path []string, running map[string]int32) {
				last = running
				if !slices.Contains(path, workflow.StateRollback) {
					leastBefore = min(leastBefore, total(running))
				}
				if countOf(path, workflow.StateShiftTraffic) < 2 {
					return
				}
				leastOld = min(leastOld, running[old])
				// The 50% step has scaled the new slot up: from now on
				// every new task of the revision fails.
				if !failing {
					failing = true
					injectFault(t, s.r, digest, tc.fault)
				}
			})
			if !failing {
				t.Fatalf("the deployment ended (path %v) before its 50%% step", path)
			}
			if status != sfntypes.ExecutionStatusFailed || path[len(path)-1] != workflow.StateRolledBack {
				t.Errorf("got status %s, path %v, want FAILED in %s", status, path, workflow.StateRolledBack)
			}
			if got := countOf(path, workflow.StateShiftTraffic); got != 2 {
				t.Errorf("got %d traffic steps (path %v), want 2", got, path)
			}
			// Judged by their failed tasks, at the circuit breaker's
			// threshold.
			if f := s.rollbackCause(arn); f == nil || f.Error != "DeploymentFailed" {
				t.Errorf("rolled back for %+v, want DeploymentFailed", f)
			}
			if leastBefore < 4 {
				t.Errorf("got %d worker tasks running at the least before the rollback, want at least 4", leastBefore)
			}
			if leastOld < 3 {
				t.Errorf("got %s running %d tasks at the least from the 50%% step on, want its 3 kept", old, leastOld)
			}
			if got := last[old]; got != 4 {
				t.Errorf("got %s running %d tasks when the rollback ended (%v), want 4: it waits for the restored tasks", old, got, last)
			}
		})
	}
}

func countOf(path []string, state string) int {
	n := 0
	for _, s := range path {
		if s == state {
			n++
		}
	}
	return n
}
