package endpoint_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/slipwayhq/slipway/events"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
	"github.com/slipwayhq/slipway/internal/operator"
	"github.com/slipwayhq/slipway/internal/synth"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestRerunIsAFreshExecution (issue 11 item 6): deploying an image that ran
// before starts a fresh execution, whether a push of the last good build
// asks for it or a person does twice; one event delivered twice starts one.
func TestRerunIsAFreshExecution(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs deployments")
	r := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := sfn.NewFromConfig(r.AWS)
	const prefix = "web-staging-"
	isWeb := func(name string) bool { return strings.HasPrefix(name, prefix) }
	// newest returns the web staging executions, newest first, once none
	// runs and at least n exist.
	newest := func(t *testing.T, n int) []sfntypes.ExecutionListItem {
		t.Helper()
		if err := r.WaitExecutions(ctx, isWeb, n, time.Minute); err != nil {
			t.Fatal(err)
		}
		all := listExecutions(ctx, t, c, r)
		return slices.DeleteFunc(all, func(x sfntypes.ExecutionListItem) bool { return !isWeb(aws.ToString(x.Name)) })
	}
	inputImage := func(t *testing.T, arn string) string {
		t.Helper()
		d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		var st workflow.State
		if err := json.Unmarshal([]byte(aws.ToString(d.Input)), &st); err != nil {
			t.Fatal(err)
		}
		return st.Image
	}

	status, _, good := deploy(t, r, "web", "v2", nil)
	if status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("web:v2: got %s, want SUCCEEDED", status)
	}
	if status, _, _ := deploy(t, r, "web", "v3", nil); status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("web:v3: got %s, want SUCCEEDED", status)
	}

	t.Run("a push of the last good build rolls forward", func(t *testing.T) {
		before := len(newest(t, 0))
		repo := ecr.NewFromConfig(r.AWS)
		img, err := repo.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String("web"),
			ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v2")}}})
		if err != nil || len(img.Images) != 1 {
			t.Fatalf("BatchGetImage web:v2: %v (%d images)", err, len(img.Images))
		}
		// The same manifest under a new tag: the same digest, a new push.
		if _, err := repo.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("web"), ImageTag: aws.String("v2-again"),
			ImageManifest: img.Images[0].ImageManifest, ImageManifestMediaType: img.Images[0].ImageManifestMediaType}); err != nil {
			t.Fatal(err)
		}
		after := newest(t, before+1)
		if len(after) != before+1 {
			t.Fatalf("got %d web staging executions, want %d", len(after), before+1)
		}
		x := after[0]
		if image := inputImage(t, aws.ToString(x.ExecutionArn)); !strings.HasSuffix(image, "@"+good) {
			t.Errorf("the fresh execution deploys %s, want the last good build %s", image, good)
		}
		if x.Status != sfntypes.ExecutionStatusSucceeded {
			t.Errorf("the fresh execution ended %s, want SUCCEEDED", x.Status)
		}
	})

	t.Run("one event delivered twice starts one execution", func(t *testing.T) {
		var fn string
		for _, f := range r.Deployed.Stack.Functions {
			if f.Kind == synth.KindECRPush {
				fn = f.Name
			}
		}
		raw, err := events.Files.ReadFile("ecr-push.json")
		if err != nil {
			t.Fatal(err)
		}
		var ev map[string]any
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		// An image no event has deployed yet: a tag outside web's
		// patterns (v*, main-*) starts nothing when pushed.
		digest, err := stack.PushImage(ctx, r.AWS, "web", "rc9")
		if err != nil {
			t.Fatal(err)
		}
		ev["id"], ev["account"], ev["region"] = "rerun-test-event", protocol.Account, r.Region()
		ev["time"] = time.Now().UTC().Add(24 * time.Hour).Format(time.RFC3339)
		detail := ev["detail"].(map[string]any)
		detail["repository-name"], detail["image-tag"], detail["image-digest"] = "web", "v9", digest
		payload, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		before := len(newest(t, 0))
		lc := lambda.NewFromConfig(r.AWS)
		for range 2 {
			out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: payload})
			if err != nil || out.FunctionError != nil {
				t.Fatalf("invoke %s: %v %s", fn, err, aws.ToString(out.FunctionError))
			}
		}
		if got := len(newest(t, before+1)); got != before+1 {
			t.Errorf("got %d new executions for one event delivered twice, want 1", got-before)
		}
	})

	t.Run("a person's request twice is two executions", func(t *testing.T) {
		op, err := operator.Connect(ctx, r.AWS, operator.Target{})
		if err != nil {
			t.Fatal(err)
		}
		req := workflow.Request{Service: "web", Environment: "staging", Image: "v3", Reason: "rerun"}
		first, err := op.Deploy(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.WaitExecutions(ctx, isWeb, 0, time.Minute); err != nil {
			t.Fatal(err)
		}
		second, err := op.Deploy(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if first == second {
			t.Fatalf("the same request twice answered with one execution %s", first)
		}
		for _, arn := range []string{first, second} {
			x := newestMatching(t, newest(t, 0), arn)
			if x.Status != sfntypes.ExecutionStatusSucceeded {
				t.Errorf("execution %s: got %s, want SUCCEEDED", arn, x.Status)
			}
		}
	})
}

func newestMatching(t *testing.T, execs []sfntypes.ExecutionListItem, arn string) sfntypes.ExecutionListItem {
	t.Helper()
	i := slices.IndexFunc(execs, func(x sfntypes.ExecutionListItem) bool { return aws.ToString(x.ExecutionArn) == arn })
	if i < 0 {
		t.Fatalf("no execution %s", arn)
	}
	return execs[i]
}
