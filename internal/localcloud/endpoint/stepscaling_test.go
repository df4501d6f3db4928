package endpoint_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/store"
)

// TestStepScalingPolicyIsRejectedOnUpload proves issue 11 item 13 on the
// local endpoint: a step-scaling policy would be put and never fire (no
// alarm names it in AlarmActions), so a service spec with one, uploaded to
// the spec bucket with the S3 client as a user would, is rejected by the
// spec-upload function with file:line, path and reason; the rejection is
// readable from the state bucket, and nothing is deployed.
func TestStepScalingPolicyIsRejectedOnUpload(t *testing.T) {
	skipIfShort(t, "synthesizes the stack")
	r := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	base, err := os.ReadFile(filepath.Join(examples, "services", "web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The example's web spec with a second, step-scaling policy.
	const step = "    - policyName: web-steps\n" +
		"      stepScalingPolicyConfiguration:\n" +
		"        adjustmentType: ChangeInCapacity\n" +
		"        stepAdjustments: [{metricIntervalLowerBound: 0, scalingAdjustment: 2}]\n"
	const anchor = "\nstrategy:\n"
	doc := string(base)
	i := strings.Index(doc, anchor)
	if i < 0 || !strings.Contains(doc[:i], "  policies:\n") {
		t.Fatalf("examples/services/web.yaml has no autoScaling.policies before strategy: to extend")
	}
	doc = doc[:i+1] + step + doc[i+1:]
	// The problem is reported at the policy configuration's value, the
	// line of its first field.
	line := strings.Count(doc[:strings.Index(doc, "        adjustmentType: ChangeInCapacity")], "\n") + 1

	c := sfn.NewFromConfig(r.AWS)
	before, err := endpoint.ListExecutions(ctx, c, r.Deployed.StateMachineARN)
	if err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(r.AWS)
	out, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(r.Deployed.SpecBucket),
		Key: aws.String("services/web.yaml"), Body: strings.NewReader(doc)})
	if err != nil {
		t.Fatalf("upload the spec: %v", err)
	}

	st := store.New(s3api.New(s3c), r.Deployed.SpecBucket, r.Deployed.StateBucket)
	var rej store.Rejection
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		rej, err = st.Rejection(ctx, "services/web.yaml", aws.ToString(out.VersionId))
		if err == nil || !errors.Is(err, store.ErrNotFound) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("read the rejection of the upload: %v", err)
	}
	wantAt := fmt.Sprintf("services/web.yaml:%d:", line)
	const wantPath = "autoScaling.policies[1].stepScalingPolicyConfiguration: "
	if !slices.ContainsFunc(rej.Problems, func(p string) bool {
		return strings.HasPrefix(p, wantAt) && strings.Contains(p, wantPath) && strings.Contains(p, "AlarmActions")
	}) {
		t.Errorf("got problems %q, want one at %s naming %s and why (no alarm names it in AlarmActions)", rej.Problems, wantAt, wantPath)
	}

	// Nothing is deployed: an accepted upload starts a deployment of web
	// within moments; give a wrongly accepted one time to show.
	if err := r.WaitExecutions(ctx, func(name string) bool { return strings.HasPrefix(name, "web-") },
		countPrefix(before, "web-")+1, 3*time.Second); err == nil {
		t.Errorf("a deployment of web started after the rejected upload, want none")
	}
	after, err := endpoint.ListExecutions(ctx, c, r.Deployed.StateMachineARN)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("got %d executions after the rejected upload, want %d", len(after), len(before))
	}
	pols, err := aas.NewFromConfig(r.AWS).DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs})
	if err != nil {
		t.Fatalf("DescribeScalingPolicies: %v", err)
	}
	for _, p := range pols.ScalingPolicies {
		if p.PolicyType == aastypes.PolicyTypeStepScaling || aws.ToString(p.PolicyName) == "web-steps" {
			t.Errorf("got scaling policy %s (%s) on %s, want no step policy put", aws.ToString(p.PolicyName), p.PolicyType, aws.ToString(p.ResourceId))
		}
	}
}
