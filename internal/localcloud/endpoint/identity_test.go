package endpoint_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestSpoofedDeploymentIDRejected starts, with the stock SDK, an execution
// whose input names the deployment in flight (web in prod, awaiting its
// approval). Prepare rejects it as InvalidInput, and the lock in the state
// bucket still belongs to the deployment in flight, unchanged.
func TestSpoofedDeploymentIDRejected(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs deployments")
	// A clock 200 times faster than wall time: the seed's deployments end
	// in seconds, and prod's approval wait (4 h) lasts over a minute, long
	// enough to look at the deployment in flight. (A virtual clock would
	// jump to the approval's timeout whenever the test is idle.)
	r := startWith(t, endpoint.Options{Config: endpoint.Config{Clock: clock.Scaled(200)}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := sfn.NewFromConfig(r.AWS)
	st := stateStore(r)

	inFlight, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(r.Deployed.StateMachineARN),
		Name: aws.String("in-flight"), Input: aws.String(`{"service": "web", "environment": "prod", "image": "` + endpoint.InitialTag + `", "reason": "test"}`)})
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	var lock store.LockRecord
	var etag string
	for {
		lock, etag, err = st.Lock(ctx, "prod", "web")
		// The seed's promotion of web to prod may hold the lock first;
		// this newer deployment supersedes it.
		if err == nil && lock.Stage == store.StageAwaitingApproval && lock.Execution == aws.ToString(inFlight.ExecutionArn) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the deployment in flight never awaited approval: lock %+v, %v", lock, err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	input, err := json.Marshal(map[string]any{"service": "web", "environment": "prod", "image": endpoint.InitialTag,
		"deployment": map[string]string{"id": lock.Deployment, "execution": lock.Execution}})
	if err != nil {
		t.Fatal(err)
	}
	spoof, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(r.Deployed.StateMachineARN),
		Name: aws.String("spoof"), Input: aws.String(string(input))})
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	var x *sfn.DescribeExecutionOutput
	for {
		x, err = c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: spoof.ExecutionArn})
		if err != nil {
			t.Fatalf("DescribeExecution: %v", err)
		}
		if x.Status != sfntypes.ExecutionStatusRunning {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the spoofed execution did not end")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if x.Status != sfntypes.ExecutionStatusFailed {
		t.Errorf("spoofed execution: got status %s, want FAILED", x.Status)
	}
	if path := pathOf(t, c, aws.ToString(spoof.ExecutionArn)); !slices.Contains(path, workflow.StateRejected) {
		t.Errorf("spoofed execution: got path %v, want it to end in %s", path, workflow.StateRejected)
	}
	// Prepare failed with InvalidInput naming the field.
	var failures []string
	h := sfn.NewGetExecutionHistoryPaginator(c, &sfn.GetExecutionHistoryInput{ExecutionArn: spoof.ExecutionArn})
	for h.HasMorePages() {
		page, err := h.NextPage(ctx)
		if err != nil {
			t.Fatalf("GetExecutionHistory: %v", err)
		}
		for _, e := range page.Events {
			// The definition invokes the function by its ARN
			// (PayloadResponseOnly): a failure is LambdaFunctionFailed.
			if d := e.LambdaFunctionFailedEventDetails; d != nil {
				failures = append(failures, aws.ToString(d.Error)+": "+aws.ToString(d.Cause))
			}
			if d := e.TaskFailedEventDetails; d != nil {
				failures = append(failures, aws.ToString(d.Error)+": "+aws.ToString(d.Cause))
			}
		}
	}
	if !slices.ContainsFunc(failures, func(f string) bool {
		return strings.HasPrefix(f, "InvalidInput: ") && strings.Contains(f, "deployment: must not be set")
	}) {
		t.Errorf("spoofed execution: got task failures %q, want InvalidInput about deployment", failures)
	}

	after, afterETag, err := st.Lock(ctx, "prod", "web")
	if err != nil {
		t.Fatalf("read the lock after the spoofed execution: %v", err)
	}
	if after != lock || afterETag != etag {
		t.Errorf("lock: got %+v (etag %s), want %+v (etag %s) untouched", after, afterETag, lock, etag)
	}
	d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: inFlight.ExecutionArn})
	if err != nil {
		t.Fatalf("DescribeExecution: %v", err)
	}
	if d.Status != sfntypes.ExecutionStatusRunning {
		t.Errorf("deployment in flight: got status %s, want RUNNING", d.Status)
	}
}
