package endpoint_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// newest returns the newest execution whose name starts with prefix.
func newest(t *testing.T, r *endpoint.Running, prefix string) sfntypes.ExecutionListItem {
	t.Helper()
	all, err := endpoint.ListExecutions(context.Background(), sfn.NewFromConfig(r.AWS), r.Deployed.StateMachineARN)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(all, func(x sfntypes.ExecutionListItem) bool { return strings.HasPrefix(aws.ToString(x.Name), prefix) })
	if i < 0 {
		t.Fatalf("no execution named %s…", prefix)
	}
	return all[i]
}

// taskFailures returns "Error: Cause" of each failed Lambda call of an
// execution, with the state it happened in, in order.
func taskFailures(t *testing.T, c *sfn.Client, arn string) []string {
	t.Helper()
	var out []string
	state := ""
	p := sfn.NewGetExecutionHistoryPaginator(c, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("GetExecutionHistory: %v", err)
		}
		for _, e := range page.Events {
			if d := e.StateEnteredEventDetails; d != nil {
				state = aws.ToString(d.Name)
			}
			if d := e.LambdaFunctionFailedEventDetails; d != nil {
				out = append(out, state+" "+aws.ToString(d.Error)+": "+aws.ToString(d.Cause))
			}
		}
	}
	return out
}

// TestPrepareFailureEndsFailed proves issue 11 item 15 (a Prepare failure
// that is not input validation): ECS DescribeServices is throttled for
// longer than the SDK's and the state machine's retries, so Prepare fails
// after it took the lock and before it changed anything. The deployment
// ends Failed with DeploymentNotApplied, not RolledBack; its history entry
// says failed; the lock is released.
func TestPrepareFailureEndsFailed(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs a deployment")
	r := start(t)
	ctx := context.Background()
	control := endpoint.Control{URL: r.URL}
	if _, err := control.Apply(ctx, faults.State{Throttles: []faults.Throttle{{Service: "ecs", Operation: "DescribeServices", Count: 1000}}}); err != nil {
		t.Fatalf("throttle DescribeServices: %v", err)
	}
	status, path, _ := deploy(t, r, "web", "v2", nil)
	if err := control.Clear(ctx); err != nil {
		t.Fatalf("clear the faults: %v", err)
	}
	if status != sfntypes.ExecutionStatusFailed {
		t.Errorf("got status %s, want FAILED", status)
	}
	if diff := cmp.Diff([]string{workflow.StateFailed}, path); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	c := sfn.NewFromConfig(r.AWS)
	x := newest(t, r, "web-staging-")
	d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: x.ExecutionArn})
	if err != nil {
		t.Fatalf("DescribeExecution: %v", err)
	}
	if got := aws.ToString(d.Error); got != workflow.ErrDeploymentNotApplied {
		t.Errorf("got execution error %q, want %s", got, workflow.ErrDeploymentNotApplied)
	}
	// Prepare failed on the throttling, not on its input.
	failures := taskFailures(t, c, aws.ToString(x.ExecutionArn))
	if !slices.ContainsFunc(failures, func(f string) bool { return strings.HasPrefix(f, workflow.StatePrepare+" Transient: ") }) {
		t.Errorf("got task failures %q, want Prepare failing Transient", failures)
	}

	st := stateStore(r)
	hist, err := st.History(ctx, "staging", "web", 1)
	if err != nil || len(hist) == 0 {
		t.Fatalf("read history: %v (%d entries)", err, len(hist))
	}
	if h := hist[0]; h.Execution != aws.ToString(x.ExecutionArn) || h.Outcome != workflow.OutcomeFailed {
		t.Errorf("got newest history entry %s outcome %q, want %s outcome %q", h.Execution, h.Outcome, aws.ToString(x.ExecutionArn), workflow.OutcomeFailed)
	}
	if lock, _, err := st.Lock(ctx, "staging", "web"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("got lock %+v (%v), want it released", lock, err)
	}
}

// TestRetriedApplyRegistersOneRevision proves issue 11 item 15 (a retried
// Apply registers no second task definition revision): the service write
// that follows the registration is throttled past the SDK's retries once,
// so Apply fails Transient after it registered and the state machine runs
// it again. The family web-staging grows by exactly one revision.
func TestRetriedApplyRegistersOneRevision(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs a deployment")
	r := start(t)
	ctx := context.Background()
	ecsc := ecs.NewFromConfig(r.AWS)
	revisions := func() []string {
		t.Helper()
		var arns []string
		p := ecs.NewListTaskDefinitionsPaginator(ecsc, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web-staging")})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListTaskDefinitions: %v", err)
			}
			arns = append(arns, page.TaskDefinitionArns...)
		}
		return arns
	}
	before := revisions()

	// The SDK makes three attempts per call: three throttles fail one
	// Apply attempt, whether the new slot is created or updated.
	control := endpoint.Control{URL: r.URL}
	if _, err := control.Apply(ctx, faults.State{Throttles: []faults.Throttle{
		{Service: "ecs", Operation: "CreateService", Count: 3},
		{Service: "ecs", Operation: "UpdateService", Count: 3},
	}}); err != nil {
		t.Fatalf("throttle the service writes: %v", err)
	}
	status, _, _ := deploy(t, r, "web", "v2", nil)
	if err := control.Clear(ctx); err != nil {
		t.Fatalf("clear the faults: %v", err)
	}
	if status != sfntypes.ExecutionStatusSucceeded {
		t.Errorf("got status %s, want SUCCEEDED", status)
	}
	x := newest(t, r, "web-staging-")
	failures := taskFailures(t, sfn.NewFromConfig(r.AWS), aws.ToString(x.ExecutionArn))
	if !slices.ContainsFunc(failures, func(f string) bool { return strings.HasPrefix(f, workflow.StateApply+" Transient: ") }) {
		t.Fatalf("got task failures %q, want Apply failing Transient once (else it was not retried)", failures)
	}

	after := revisions()
	if len(after) != len(before)+1 {
		t.Errorf("got %d revisions of web-staging after a retried Apply, want %d (one more than %v): %v", len(after), len(before)+1, before, after)
	}
}

// TestApprovalRecordNamesTheHolder proves issue 11 item 15 (the approval
// record is written after the lock is held): a second prod deployment of
// web supersedes the first while it awaits approval; once the first has
// ended, the pending approval that slipway approve reads names the second,
// the deployment holding the lock.
func TestApprovalRecordNamesTheHolder(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs deployments")
	// A clock 200 times faster than wall time, as in
	// TestSpoofedDeploymentIDRejected: prod's approval wait (4 h) lasts
	// over a minute, and a virtual clock would jump to its timeout.
	r, err := endpoint.Start(context.Background(), endpoint.Options{Addr: "127.0.0.1:0", Specs: os.DirFS(examples),
		WorkDir: t.TempDir(), Config: endpoint.Config{Clock: clock.Scaled(200)}})
	if err != nil {
		t.Fatalf("start the endpoint: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := sfn.NewFromConfig(r.AWS)
	st := stateStore(r)
	startProd := func(name string) string {
		t.Helper()
		x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(r.Deployed.StateMachineARN),
			Name: aws.String(name), Input: aws.String(`{"service": "web", "environment": "prod", "image": "` + endpoint.InitialTag + `", "reason": "test"}`)})
		if err != nil {
			t.Fatalf("StartExecution %s: %v", name, err)
		}
		return aws.ToString(x.ExecutionArn)
	}
	// awaiting waits until arn holds the lock awaiting approval and the
	// pending approval names it.
	awaiting := func(arn string) (store.LockRecord, store.PendingApproval) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; {
			lock, _, lerr := st.Lock(ctx, "prod", "web")
			a, aerr := st.Approval(ctx, "prod", "web")
			if lerr == nil && aerr == nil && lock.Stage == store.StageAwaitingApproval && lock.Execution == arn && a.Execution == arn {
				return lock, a
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never awaited approval with its record: lock %+v (%v), approval %+v (%v)", arn, lock, lerr, a, aerr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	first := startProd("first")
	awaiting(first)
	second := startProd("second")
	// The first ends Superseded (it recorded so, after the second took the
	// lock); only then is its bookkeeping over.
	for {
		d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(first)})
		if err != nil {
			t.Fatalf("DescribeExecution: %v", err)
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the first deployment did not end after the second superseded it")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if path := enteredStates(t, c, first, nil); !slices.Contains(path, workflow.StateSuperseded) {
		t.Errorf("first deployment: got path %v, want it to end %s", path, workflow.StateSuperseded)
	}
	lock, a := awaiting(second)
	if a.Deployment != lock.Deployment || a.Token != lock.Token {
		t.Errorf("got approval for deployment %s token %.12s…, want the lock holder's %s token %.12s…", a.Deployment, a.Token, lock.Deployment, lock.Token)
	}
	// It stays so: nothing of the first deployment replaces or deletes it.
	time.Sleep(500 * time.Millisecond)
	if got, err := st.Approval(ctx, "prod", "web"); err != nil || got != a {
		t.Errorf("got approval %+v (%v) later, want %+v unchanged", got, err, a)
	}

	// The narrow case the fix is for: a deployment superseded after its
	// Prepare took the lock and before its approval wait began. Its
	// Prepare is slowed by two throttled DescribeAlarms calls, which the
	// SDK absorbs in its three attempts (its backoff before the last is up
	// to 4 s of wall time); the fourth deployment starts once both are
	// spent and, most of the time, takes the lock and writes its approval
	// record before the third reaches its wait. Written before the lock
	// was checked, the third's record replaced the fourth's and was then
	// deleted with its Superseded: slipway approve found nothing.
	control := endpoint.Control{URL: r.URL}
	if _, err := control.Apply(ctx, faults.State{Throttles: []faults.Throttle{{Service: "monitoring", Operation: "DescribeAlarms", Count: 2}}}); err != nil {
		t.Fatalf("throttle DescribeAlarms: %v", err)
	}
	third := startProd("third")
	for {
		lock, _, lerr := st.Lock(ctx, "prod", "web")
		fs, ferr := control.Faults(ctx)
		if lerr == nil && ferr == nil && lock.Execution == third && len(fs.Throttles) == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the third deployment's Prepare never took the lock and met the throttles: lock %+v (%v), faults %+v (%v)", lock, lerr, fs, ferr)
		}
		time.Sleep(2 * time.Millisecond)
	}
	fourth := startProd("fourth")
	for {
		d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(third)})
		if err != nil {
			t.Fatalf("DescribeExecution: %v", err)
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the third deployment did not end after the fourth superseded it")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if path := enteredStates(t, c, third, nil); !slices.Contains(path, workflow.StateSuperseded) {
		t.Errorf("third deployment: got path %v, want it to end %s", path, workflow.StateSuperseded)
	}
	lock, a = awaiting(fourth)
	if a.Deployment != lock.Deployment || a.Token != lock.Token {
		t.Errorf("got approval for deployment %s token %.12s…, want the lock holder's %s token %.12s…", a.Deployment, a.Token, lock.Deployment, lock.Token)
	}
	time.Sleep(500 * time.Millisecond)
	if got, err := st.Approval(ctx, "prod", "web"); err != nil || got != a {
		t.Errorf("got approval %+v (%v) later, want %+v unchanged", got, err, a)
	}
}
