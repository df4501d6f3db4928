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
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestNewerPushWins proves issue 11 item 5 on the local endpoint: two pushes
// of worker whose ECR events EventBridge delivers out of order (the older
// one's delivery is delayed, as EventBridge may) end with the newer image
// running, while the older push's deployment ends Superseded having changed
// nothing, whether it arrives while the newer one deploys or after it has
// deployed. Before the fix the older one queued behind the newer one, or
// found the lock free, and deployed over it.
func TestNewerPushWins(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs deployments")
	clk := clock.NewVirtual(time.Now())
	// The seeding waits in wall time: allow for a loaded machine.
	r := startWith(t, endpoint.Options{SettleTimeout: 5 * time.Minute, Config: endpoint.Config{Clock: clk}})
	superseded := []string{workflow.StatePrepare, workflow.StateRecordFailure, workflow.StateFailureKind, workflow.StateSuperseded}

	tests := []struct {
		name string
		// older and newer are the tags pushed, in that order; the older
		// push's event is delivered delay after it happened.
		older, newer string
		delay        time.Duration
		// during: the older deployment starts before the newer one ends.
		during bool
	}{
		{name: "older delivered while the newer deploys", older: "v20", newer: "v21", delay: time.Minute, during: true},
		{name: "older delivered after the newer deployed", older: "v30", newer: "v31", delay: 3 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			c := sfn.NewFromConfig(r.AWS)
			before := listExecutions(ctx, t, c, r)

			// Hold the clock so the older event's delay starts at its push,
			// and move it two seconds (events carry whole seconds) before
			// the newer push, whose event is delivered at once.
			clk.Busy()
			r.Faults.DelayEvents(tc.delay)
			olderDigest, err := stack.PushImage(ctx, r.AWS, "worker", tc.older)
			if err != nil {
				clk.Done()
				t.Fatal(err)
			}
			r.Faults.DelayEvents(0)
			if err := clk.Sleep(ctx, 2*time.Second); err != nil {
				clk.Done()
				t.Fatal(err)
			}
			newerDigest, err := stack.PushImage(ctx, r.AWS, "worker", tc.newer)
			clk.Done()
			if err != nil {
				t.Fatal(err)
			}

			const prefix = "worker-staging-"
			if err := r.WaitExecutions(ctx, func(name string) bool { return strings.HasPrefix(name, prefix) },
				countPrefix(before, prefix)+2, 2*time.Minute); err != nil {
				t.Fatal(err)
			}
			older := executionOf(t, c, r, prefix, olderDigest)
			newer := executionOf(t, c, r, prefix, newerDigest)

			if tc.during != older.StartDate.Before(aws.ToTime(newer.StopDate)) {
				t.Fatalf("older started %v, newer ended %v: want the older to start %s the newer ended",
					older.StartDate, newer.StopDate, map[bool]string{true: "before", false: "after"}[tc.during])
			}
			if older.Status != sfntypes.ExecutionStatusSucceeded || newer.Status != sfntypes.ExecutionStatusSucceeded {
				t.Errorf("got older %s, newer %s, want both SUCCEEDED (Superseded and Deployed succeed)", older.Status, newer.Status)
			}
			if diff := cmp.Diff(superseded, statePath(t, c, aws.ToString(older.ExecutionArn))); diff != "" {
				t.Errorf("path of the older push (-want +got):\n%s", diff)
			}
			if got := statePath(t, c, aws.ToString(newer.ExecutionArn)); !slices.Contains(got, workflow.StateApply) ||
				got[len(got)-1] != workflow.StateDeployed {
				t.Errorf("path of the newer push: got %v, want it to apply and end %s", got, workflow.StateDeployed)
			}
			if image := serviceImage(t, r, "worker"); !strings.HasSuffix(image, "@"+newerDigest) {
				t.Errorf("worker runs %s, want the newer push %s (the older is %s)", image, newerDigest, olderDigest)
			}
		})
	}
}

// executionOf returns the execution whose name starts with prefix and
// whose input deploys the image of digest.
func executionOf(t *testing.T, c *sfn.Client, r *endpoint.Running, prefix, digest string) *sfn.DescribeExecutionOutput {
	t.Helper()
	ctx := context.Background()
	all := listExecutions(ctx, t, c, r)
	for _, x := range all {
		if !strings.HasPrefix(aws.ToString(x.Name), prefix) {
			continue
		}
		out, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: x.ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		var in workflow.State
		if err := json.Unmarshal([]byte(aws.ToString(out.Input)), &in); err != nil {
			t.Fatalf("input of %s: %v", aws.ToString(x.Name), err)
		}
		if strings.HasSuffix(in.Image, "@"+digest) {
			return out
		}
	}
	t.Fatalf("no execution %s* deploys %s", prefix, digest)
	return nil
}
