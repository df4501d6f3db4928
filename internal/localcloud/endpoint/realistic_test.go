package endpoint_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/ecs"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
)

// startRealistic runs the endpoint with the example world on the virtual
// clock v, its tasks taking AWS's times (ecs.Realistic: 20 s provisioning,
// 15 s pull, targets healthy after 30 s × 5, draining for 300 s).
func startRealistic(t *testing.T, v *clock.Virtual) *endpoint.Running {
	t.Helper()
	return startWith(t, endpoint.Options{Config: endpoint.Config{Clock: v, Tasks: ecs.Realistic()}})
}

// TestFlowsWithRealisticTaskTimes runs the example world's canary, rolling
// and blue/green flows, a canary's rollback on its alarm and a rolling
// deployment's on the circuit breaker, with tasks that take as
// long as on AWS to start, to pass their target groups' health checks and
// to drain (issue 11, ECS local endpoint: task start takes realistic
// simulated time; target registration waits for the health check's
// interval × healthy threshold).
func TestFlowsWithRealisticTaskTimes(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs deployments")
	r := startRealistic(t, clock.NewVirtual(time.Now()))
	canary := []string{"Apply", "ShiftTraffic", "Bake", "ShiftTraffic", "Bake", "ShiftTraffic", "Bake", "Promote", "Deployed"}
	rolling := []string{"Apply", "ShiftTraffic", "Bake", "Promote", "Deployed"}
	var workerV2 string // the digest worker runs after its rolling deployment
	// Paths are compared with repeats in a row counted once: a phase may
	// come back to itself through its wait (Promote waiting for the
	// promoted slot), which is no different flow.

	t.Run("canary of web:v2 succeeds", func(t *testing.T) {
		status, path, digest := deploy(t, r, "web", "v2", nil)
		if status != sfntypes.ExecutionStatusSucceeded {
			t.Errorf("got status %s, want SUCCEEDED", status)
		}
		if diff := cmp.Diff(canary, slices.Compact(path)); diff != "" {
			t.Errorf("path (-want +got):\n%s", diff)
		}
		if got, want := weights(t, r), [2]int32{0, 100}; got != want {
			t.Errorf("got weights blue/green %v, want %v", got, want)
		}
		// The tasks took AWS's times: 20 s provisioning and 15 s pull
		// before RUNNING, then 30 s × 5 before their targets were healthy
		// and the rollout the first traffic step waits for was done.
		tasks := stagingTasks(t, r, "web--green")
		for _, tk := range tasks {
			if !strings.HasSuffix(aws.ToString(tk.Containers[0].Image), "@"+digest) || tk.StartedAt == nil {
				continue
			}
			if got := tk.StartedAt.Sub(aws.ToTime(tk.CreatedAt)); got < 35*time.Second {
				t.Errorf("task %s started %s after it was created, want at least 35 s", aws.ToString(tk.TaskArn), got)
			}
		}
		applied, shifted := entered(t, r, "web-staging-", "Apply"), entered(t, r, "web-staging-", "ShiftTraffic")
		if got := shifted.Sub(applied); got < 185*time.Second {
			t.Errorf("got %s from Apply to the first ShiftTraffic, want at least 185 s (35 s start + 150 s health checks)", got)
		}
	})

	t.Run("faulty web:v3 rolls back on its alarm", func(t *testing.T) {
		faultyWebRollsBack(t, r)
	})

	t.Run("worker rolls", func(t *testing.T) {
		status, path, digest := deploy(t, r, "worker", "v2", nil)
		workerV2 = digest
		if status != sfntypes.ExecutionStatusSucceeded {
			t.Errorf("got status %s, want SUCCEEDED", status)
		}
		if diff := cmp.Diff(rolling, slices.Compact(path)); diff != "" {
			t.Errorf("path (-want +got):\n%s", diff)
		}
		if image := serviceImage(t, r, "worker"); !strings.HasSuffix(image, "@"+digest) {
			t.Errorf("worker runs %s, want the v2 digest %s", image, digest)
		}
	})

	t.Run("crashing worker:v3 rolls back", func(t *testing.T) {
		status, path, _ := deploy(t, r, "worker", "v3", faultOnPush(t, r, faults.Behaviour{CrashOnStart: true}))
		if status != sfntypes.ExecutionStatusFailed {
			t.Errorf("got status %s, want FAILED", status)
		}
		if len(path) < 2 || path[0] != "Apply" || path[len(path)-1] != "RolledBack" {
			t.Errorf("got path %v, want Apply … RolledBack", path)
		}
		if image := serviceImage(t, r, "worker"); !strings.HasSuffix(image, "@"+workerV2) {
			t.Errorf("worker runs %s after the rollback, want v2 %s", image, workerV2)
		}
	})

	t.Run("web switched to blue/green deploys", func(t *testing.T) {
		b, err := os.ReadFile(examples + "/services/web.yaml")
		if err != nil {
			t.Fatal(err)
		}
		head, _, ok := strings.Cut(string(b), "\nstrategy:\n")
		if !ok {
			t.Fatal("examples/services/web.yaml has no strategy block")
		}
		doc := head + "\nstrategy:\n  kind: bluegreen\n  terminationWait: 5m\n  alarms:\n    - ${SERVICE}-${ENVIRONMENT}-5xx\n  stabilizationTimeout: 20m\n"
		// deployOnChange: the upload deploys web to staging with its
		// current image, blue/green.
		status, path := deployOnUpload(t, r, "services/web.yaml", doc)
		if status != sfntypes.ExecutionStatusSucceeded {
			t.Errorf("got status %s, want SUCCEEDED", status)
		}
		if len(path) < 3 || path[0] != "Apply" || path[1] != "ShiftTraffic" || path[len(path)-1] != "Deployed" {
			t.Errorf("got path %v, want Apply, ShiftTraffic, … Deployed", path)
		}
		// The new revision went to the idle slot, blue, and has all the
		// traffic.
		if got, want := weights(t, r), [2]int32{100, 0}; got != want {
			t.Errorf("got weights blue/green %v, want %v", got, want)
		}
	})
}

// TestApplyOutlastsARealisticDrain: a deployment whose Apply must create a
// service deleted a moment ago, whose tasks drain from their target group
// for its deregistration delay (300 s) before ECS frees the name, waits
// through Apply's Retry and creates it, rather than giving up after about a
// minute (issue 11, ECS: DeleteService ACTIVE → DRAINING → INACTIVE, with
// realistic times).
func TestApplyOutlastsARealisticDrain(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs a deployment")
	v := clock.NewVirtual(time.Now())
	r := startRealistic(t, v)
	ctx := context.Background()
	c := awsecs.NewFromConfig(r.AWS)
	// Hold simulated time while the live slot is deleted and the
	// deployment starts, so that Apply meets the service DRAINING.
	v.Busy()
	held := true
	release := func() {
		if held {
			held = false
			v.Done()
		}
	}
	defer release()
	// The seed deployed v1 to blue, which serves; deleted, green is the
	// live slot and the deployment goes to blue.
	del, err := c.DeleteService(ctx, &awsecs.DeleteServiceInput{Cluster: aws.String("staging"), Service: aws.String("web--blue"), Force: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(del.Service.Status); got != "DRAINING" {
		t.Fatalf("got status %s after DeleteService, want DRAINING", got)
	}
	deleted := v.Now()
	const name = "web-staging-after-delete"
	sc := sfn.NewFromConfig(r.AWS)
	startManual(ctx, t, r, sc, name, "web", endpoint.InitialTag)
	release()
	wait, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := r.WaitExecutions(wait, func(n string) bool { return n == name }, 1, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	path := statePath(t, sc, executionARN(r, name))
	// Apply met the DRAINING service, was retried past the drain, and
	// went on to wait for the new service's rollout.
	if causes := failureCauses(t, r, name); !strings.Contains(causes, "still stopping") {
		t.Errorf("got failure causes %q, want Apply's Transient error about the draining service", causes)
	}
	if !slices.Contains(path, "AwaitStable") {
		t.Fatalf("got path %v (failures: %s), want Apply to succeed and AwaitStable to follow", path, failureCauses(t, r, name))
	}
	if got := entered(t, r, name, "AwaitStable").Sub(deleted); got < 300*time.Second {
		t.Errorf("got AwaitStable %s after the delete, want at least the 300 s deregistration delay", got)
	}
	out, err := c.DescribeServices(ctx, &awsecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"web--blue"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices: %v %+v", err, out)
	}
	if s := out.Services[0]; aws.ToString(s.Status) != "ACTIVE" || !s.CreatedAt.After(aws.ToTime(del.Service.CreatedAt)) {
		t.Errorf("got web--blue %s created %v, want it ACTIVE again, created after the deleted one (%v)",
			aws.ToString(s.Status), s.CreatedAt, del.Service.CreatedAt)
	}
	status, err := sc.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN(r, name))})
	if err != nil {
		t.Fatal(err)
	}
	if status.Status != sfntypes.ExecutionStatusSucceeded {
		t.Errorf("got status %s (path %v), want SUCCEEDED", status.Status, path)
	}
}

// deployOnUpload uploads a spec file and returns the deployment to staging
// it starts, once ended: its status and milestones.
func deployOnUpload(t *testing.T, r *endpoint.Running, key, doc string) (sfntypes.ExecutionStatus, []string) {
	t.Helper()
	x, c := uploadAndAwait(t, r, key, doc, "web-staging-", time.Minute)
	return x.Status, pathOf(t, c, aws.ToString(x.ExecutionArn))
}

// entered returns when the newest execution named with prefix first
// entered state, by its history's (simulated) timestamps.
func entered(t *testing.T, r *endpoint.Running, prefix, state string) time.Time {
	t.Helper()
	ctx := context.Background()
	c := sfn.NewFromConfig(r.AWS)
	execs := listExecutions(ctx, t, c, r)
	i := slices.IndexFunc(execs, func(x sfntypes.ExecutionListItem) bool { return strings.HasPrefix(aws.ToString(x.Name), prefix) })
	if i < 0 {
		t.Fatalf("no execution named %s…", prefix)
	}
	var at *time.Time
	eachEvent(t, c, aws.ToString(execs[i].ExecutionArn), func(e sfntypes.HistoryEvent) bool {
		if d := e.StateEnteredEventDetails; d != nil && aws.ToString(d.Name) == state {
			at = e.Timestamp
			return false
		}
		return true
	})
	if at != nil {
		return aws.ToTime(at)
	}
	t.Fatalf("%s never entered %s", aws.ToString(execs[i].Name), state)
	return time.Time{}
}
