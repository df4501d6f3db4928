package endpoint_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
	"github.com/slipwayhq/slipway/internal/operator"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestRollbackJoinsAutomaticRollback proves the first half of issue 11
// item 7: `slipway rollback` (operator.Rollback) asked while a deployment
// rolls back on its own joins that rollback. Before, it failed the rollback's
// own wait with Halted, which ended the deployment RollbackFailed with the
// lock kept, though the service was being restored as asked.
func TestRollbackJoinsAutomaticRollback(t *testing.T) {
	clk, r, op := startHeld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := sfn.NewFromConfig(r.AWS)
	const prefix = "worker-staging-"
	before := listExecutions(ctx, t, c, r)

	// Hold the clock: time moves only when the test lets it, so the
	// deployment is caught in its rollback wait.
	release := holdClock(clk)
	defer release()
	digest, err := stack.PushImage(ctx, r.AWS, "worker", "v9")
	if err != nil {
		t.Fatal(err)
	}
	r.Faults.SetImage(digest, faults.Behaviour{CrashOnStart: true})
	arn := stepUntil(t, clk, op, c, r, before, prefix, workflow.StateAwaitRollbackStable)

	got, err := op.Rollback(ctx, "staging", "worker", "tester", "rollback during the automatic rollback")
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if !got.Joined || got.Halted || got.Execution != arn {
		t.Errorf("got %+v, want the rollback of %s joined, nothing halted", got, arn)
	}
	release()

	x, err := op.Watch(ctx, arn, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	if x.State != workflow.StateRolledBack {
		t.Errorf("got %s (%s %s), want %s", x.State, x.Status, x.Error, workflow.StateRolledBack)
	}
	path := statePath(t, c, arn)
	if slices.Contains(path, workflow.StateRecordRollbackFailed) {
		t.Errorf("path %v: the rollback failed", path)
	}
	st := stateStore(r)
	if rec, _, err := st.Lock(ctx, "staging", "worker"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("lock after the rollback: got %+v (%v), want it released", rec, err)
	}
}

// TestUnlockAfterFailedRollback proves the second half of issue 11 item 7:
// a deployment whose rollback failed keeps the lock, and the deployment
// pushed after it waits, until a person releases the lock with
// `slipway unlock` (operator.Unlock), which refuses while the holder runs;
// the waiting deployment then goes on and deploys.
func TestUnlockAfterFailedRollback(t *testing.T) {
	clk, r, op := startHeld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := sfn.NewFromConfig(r.AWS)
	st := stateStore(r)
	const prefix = "worker-staging-"
	before := listExecutions(ctx, t, c, r)

	release := holdClock(clk)
	defer release()
	digest, err := stack.PushImage(ctx, r.AWS, "worker", "v7")
	if err != nil {
		t.Fatal(err)
	}
	r.Faults.SetImage(digest, faults.Behaviour{CrashOnStart: true})
	failed := stepUntil(t, clk, op, c, r, before, prefix, workflow.StateAwaitRollbackStable)
	if _, err := op.Unlock(ctx, "staging", "worker"); !errors.Is(err, operator.ErrInProgress) {
		t.Fatalf("Unlock while the holder runs: got %v, want ErrInProgress", err)
	}
	// The rollback's wait fails: the rollback has failed.
	lock, _, err := st.Lock(ctx, "staging", "worker")
	if err != nil {
		t.Fatal(err)
	}
	// The wait's state is entered before its task records the watch.
	w, err := st.WatchForDeployment(ctx, lock.Deployment)
	for deadline := time.Now().Add(10 * time.Second); errors.Is(err, store.ErrNotFound) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		w, err = st.WatchForDeployment(ctx, lock.Deployment)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(w.Token),
		Error: aws.String("DeploymentFailed"), Cause: aws.String("the restored tasks do not start")}); err != nil {
		t.Fatal(err)
	}
	clk.Done()
	x, err := op.Watch(ctx, failed, func(string) {})
	clk.Busy()
	if err != nil {
		t.Fatal(err)
	}
	if x.State != workflow.StateRollbackFailed {
		t.Fatalf("got %s, want %s", x.State, workflow.StateRollbackFailed)
	}

	// The next push waits for the lock.
	before = listExecutions(ctx, t, c, r)
	good, err := stack.PushImage(ctx, r.AWS, "worker", "v8")
	if err != nil {
		t.Fatal(err)
	}
	next := stepUntil(t, clk, op, c, r, before, prefix, workflow.StateAwaitLock)
	if lock, _, err := st.Lock(ctx, "staging", "worker"); err != nil || lock.Stage != store.StageRollbackFailed {
		t.Fatalf("lock: got %+v (%v), want it kept in stage %s", lock, err, store.StageRollbackFailed)
	}

	// The wait's state is entered before its task queues it.
	s3c := s3.NewFromConfig(r.AWS)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(r.Deployed.StateBucket), Key: aws.String("queue/staging/worker.json")})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deployment in %s is not queued: %v", workflow.StateAwaitLock, err)
		}
	}
	u, err := op.Unlock(ctx, "staging", "worker")
	if err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	if u.Lock.Execution != failed || u.HandedTo == "" {
		t.Errorf("got %+v, want the lock of %s released and handed to the waiting deployment", u, failed)
	}
	release()
	x, err = op.Watch(ctx, next, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	if x.State != workflow.StateDeployed {
		t.Errorf("the deployment after the unlock: got %s (%s %s), want %s", x.State, x.Status, x.Error, workflow.StateDeployed)
	}
	if image := serviceImage(t, r, "worker"); !strings.HasSuffix(image, "@"+good) {
		t.Errorf("worker runs %s, want the push after the unlock %s", image, good)
	}
}

// startHeld runs the endpoint with the example world on a virtual clock
// the test moves by hand, and an Operator over it.
func startHeld(t *testing.T) (*clock.Virtual, *endpoint.Running, *operator.Operator) {
	t.Helper()
	skipIfShort(t, "synthesizes the stack and runs deployments")
	clk := clock.NewVirtual(time.Now())
	// The seeding waits in wall time: allow for a loaded machine.
	r := startWith(t, endpoint.Options{SettleTimeout: 5 * time.Minute, Config: endpoint.Config{Clock: clk}})
	op, err := operator.Connect(context.Background(), r.AWS, operator.Target{})
	if err != nil {
		t.Fatal(err)
	}
	op.SetPollPeriod(10 * time.Millisecond)
	return clk, r, op
}

// stepUntil moves the held clock clk two seconds at a time until the
// newest execution started since before whose name has prefix is in state,
// and returns its ARN.
func stepUntil(t *testing.T, clk *clock.Virtual, op *operator.Operator, c *sfn.Client, r *endpoint.Running,
	before []sfntypes.ExecutionListItem, prefix, state string) string {
	t.Helper()
	for step := 0; step < 1800; step++ {
		if err := clk.Sleep(context.Background(), 2*time.Second); err != nil {
			t.Fatal(err)
		}
		x, ok := runningExecution(t, op, c, r, before, prefix)
		if !ok {
			continue
		}
		if x.State == state {
			return x.ARN
		}
		if x.Status != string(sfntypes.ExecutionStatusRunning) {
			t.Fatalf("execution %s ended %s in %s before reaching %s", x.ARN, x.Status, x.State, state)
		}
	}
	t.Fatalf("no execution %s* reached %s in an hour of simulated time", prefix, state)
	return ""
}

// runningExecution returns the newest execution started since before whose
// name has prefix, with the state it is in.
func runningExecution(t *testing.T, op *operator.Operator, c *sfn.Client, r *endpoint.Running,
	before []sfntypes.ExecutionListItem, prefix string) (operator.Execution, bool) {
	t.Helper()
	ctx := context.Background()
	all := listExecutions(ctx, t, c, r)
	for _, x := range all {
		name := aws.ToString(x.Name)
		if !strings.HasPrefix(name, prefix) || slices.ContainsFunc(before, func(b sfntypes.ExecutionListItem) bool {
			return aws.ToString(b.ExecutionArn) == aws.ToString(x.ExecutionArn)
		}) {
			continue
		}
		d, err := op.Describe(ctx, aws.ToString(x.ExecutionArn))
		if err != nil {
			t.Fatal(err)
		}
		return d, true
	}
	return operator.Execution{}, false
}
