package endpoint_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
)

// TestApplyRecreatesDeletedService proves issue 11 item 14 on the local
// endpoint, whose ECS models DeleteService as AWS does (ACTIVE → DRAINING →
// INACTIVE, the name refused while DRAINING): a deployment of a service
// deleted a moment ago neither updates the dying service nor fails on its
// name; Apply waits through its Retry and creates the service anew.
func TestApplyRecreatesDeletedService(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs a deployment")
	r := start(t)
	ctx := context.Background()
	c := ecs.NewFromConfig(r.AWS)
	// Hold the virtual clock from the delete until the execution runs:
	// while the test sits between two calls nothing is in flight, and the
	// clock would jump to the end of the drain, so Apply would find the
	// service INACTIVE already and the draining path would go untested.
	release := holdClock(r.Clock().(*clock.Virtual))
	defer release()
	del, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("staging"), Service: aws.String("worker"), Force: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(del.Service.Status); got != "DRAINING" {
		t.Fatalf("got status %s after DeleteService, want DRAINING", got)
	}

	const name = "worker-staging-after-delete"
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	startManual(wctx, t, r, sfn.NewFromConfig(r.AWS), name, "worker", endpoint.InitialTag)
	release()
	if err := r.WaitExecutions(wctx, func(n string) bool { return n == name }, 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	ex, err := sfn.NewFromConfig(r.AWS).DescribeExecution(wctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN(r, name))})
	if err != nil {
		t.Fatal(err)
	}
	if status := ex.Status; status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("got status %s (failures: %s), want SUCCEEDED", status, failureCauses(t, r, name))
	}
	// Apply met the DRAINING service and was retried, not failed.
	if causes := failureCauses(t, r, name); !strings.Contains(causes, "still stopping") {
		t.Errorf("got failure causes %q, want Apply's Transient error about the draining service", causes)
	}
	out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"worker"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices: %v %+v", err, out)
	}
	s := out.Services[0]
	if aws.ToString(s.Status) != "ACTIVE" || s.RunningCount == 0 || s.RunningCount != s.DesiredCount {
		t.Errorf("got %s with %d of %d running, want the service ACTIVE again with all its tasks", aws.ToString(s.Status), s.RunningCount, s.DesiredCount)
	}
	if aws.ToString(s.ServiceArn) != aws.ToString(del.Service.ServiceArn) || !s.CreatedAt.After(aws.ToTime(del.Service.CreatedAt)) {
		t.Errorf("got service created %v, want a new service created after the deleted one (%v)", s.CreatedAt, del.Service.CreatedAt)
	}
}
