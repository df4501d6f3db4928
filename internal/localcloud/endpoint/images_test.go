package endpoint_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestPushedImageIsPulledFromItsRegistry proves issue 11 item 0 on the
// local endpoint, whose ECS pulls as AWS does: a push deploys the
// repository URI with the digest, whose tasks run; a deployment of a bare
// REPOSITORY@sha256:… started by hand is resolved through ECR, or refused
// when ECR has no such repository, and never deploys a reference ECS would
// look for on Docker Hub.
func TestPushedImageIsPulledFromItsRegistry(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs deployments")
	r := start(t)
	ctx := context.Background()
	repos, err := ecr.NewFromConfig(r.AWS).DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"worker"}})
	if err != nil {
		t.Fatal(err)
	}
	uri := aws.ToString(repos.Repositories[0].RepositoryUri)
	if want := "000000000000.dkr.ecr.us-east-1.amazonaws.com/worker"; uri != want {
		t.Fatalf("got repositoryUri %s, want %s", uri, want)
	}

	t.Run("push", func(t *testing.T) {
		status, _, digest := deploy(t, r, "worker", "v2", nil)
		if status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("got status %s, want SUCCEEDED", status)
		}
		wantWorkerRuns(t, r, uri, digest)
	})

	t.Run("bare reference by hand", func(t *testing.T) {
		// A tag no service tracks: the push starts nothing.
		digest, err := stack.PushImage(ctx, r.AWS, "worker", "manual-1")
		if err != nil {
			t.Fatal(err)
		}
		status := startByHand(t, r, "worker-staging-bare-digest", "worker@"+digest)
		if status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("got status %s, want SUCCEEDED with the reference resolved through ECR", status)
		}
		wantWorkerRuns(t, r, uri, digest)
	})

	t.Run("bare reference of no ECR repository", func(t *testing.T) {
		before := serviceImage(t, r, "worker")
		status := startByHand(t, r, "worker-staging-unknown-repository",
			"nosuch@sha256:"+strings.Repeat("ab", 32))
		if status != sfntypes.ExecutionStatusFailed {
			t.Fatalf("got status %s, want FAILED", status)
		}
		out, err := sfn.NewFromConfig(r.AWS).DescribeExecution(ctx, &sfn.DescribeExecutionInput{
			ExecutionArn: aws.String(executionARN(r, "worker-staging-unknown-repository"))})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(out.Error); got != workflow.ErrDeploymentRejected {
			t.Errorf("got error %s (%s), want %s", got, aws.ToString(out.Cause), workflow.ErrDeploymentRejected)
		}
		if cause := failureCauses(t, r, "worker-staging-unknown-repository"); !strings.Contains(cause, "there is no ECR repository nosuch") {
			t.Errorf("got failure causes %q, want one naming the missing repository", cause)
		}
		if got := serviceImage(t, r, "worker"); got != before {
			t.Errorf("got task definition image %s after the refusal, want %s unchanged", got, before)
		}
	})
}

// startByHand starts a deployment of image to worker's staging as the CLI
// does, with StartExecution, and returns its status once it ended.
func startByHand(t *testing.T, r *endpoint.Running, name, image string) sfntypes.ExecutionStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := sfn.NewFromConfig(r.AWS)
	startManual(ctx, t, r, c, name, "worker", image)
	if err := r.WaitExecutions(ctx, func(n string) bool { return n == name }, 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN(r, name))})
	if err != nil {
		t.Fatal(err)
	}
	return out.Status
}

// failureCauses joins the causes of the failed task states of execution
// name: what the phases reported.
func failureCauses(t *testing.T, r *endpoint.Running, name string) string {
	t.Helper()
	var causes []string
	eachEvent(t, sfn.NewFromConfig(r.AWS), executionARN(r, name), func(e sfntypes.HistoryEvent) bool {
		if d := e.TaskFailedEventDetails; d != nil {
			causes = append(causes, aws.ToString(d.Cause))
		}
		if d := e.LambdaFunctionFailedEventDetails; d != nil {
			causes = append(causes, aws.ToString(d.Cause))
		}
		return true
	})
	return strings.Join(causes, "\n")
}

// executionARN is the ARN of the execution name of the deploy state machine.
func executionARN(r *endpoint.Running, name string) string {
	return strings.Replace(r.Deployed.StateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// wantWorkerRuns checks that worker's task definition names uri@digest and
// that tasks of it run in staging.
func wantWorkerRuns(t *testing.T, r *endpoint.Running, uri, digest string) {
	t.Helper()
	if got, want := serviceImage(t, r, "worker"), uri+"@"+digest; got != want {
		t.Errorf("got task definition image %s, want %s", got, want)
	}
	if n := runningWith(t, r, "worker", uri+"@"+digest); n == 0 {
		t.Errorf("got no RUNNING task of %s@%s, want the service's tasks", uri, digest)
	}
}

// runningWith counts the RUNNING tasks of service in staging whose first
// container runs image.
func runningWith(t *testing.T, r *endpoint.Running, service, image string) int {
	t.Helper()
	n := 0
	for _, task := range stagingTasks(t, r, service) {
		if aws.ToString(task.LastStatus) == "RUNNING" && aws.ToString(task.Containers[0].Image) == image {
			n++
		}
	}
	return n
}
