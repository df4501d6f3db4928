package demo

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// nativeCanary is web's strategy in staging for the native scenarios: ECS
// itself shifts 10% to the new revision, bakes it, shifts the rest;
// Slipway gates each stage with PAUSE hooks and bakes the last.
const nativeCanary = "{kind: ecs, mode: canary, canaryPercent: 10, canaryBake: 2m, finalBake: 2m, alarms: [web-staging-5xx]}"

// stagingWith returns staging.yaml as uploaded with web's strategy
// override replaced by strategy (a flow mapping).
func (w *world) stagingWith(ctx context.Context, strategy string) (string, error) {
	out, err := w.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(w.r.Deployed.SpecBucket), Key: aws.String("environments/staging.yaml")})
	if err != nil {
		return "", fmt.Errorf("read environments/staging.yaml: %w", err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return "", fmt.Errorf("read environments/staging.yaml: %w", err)
	}
	env := string(b)
	if i := strings.Index(env, "    strategy: {"); i >= 0 {
		j := strings.Index(env[i:], "}\n")
		return env[:i] + "    strategy: " + strategy + "\n" + env[i+j+2:], nil
	}
	i := strings.Index(env, "    strategy:\n      steps:")
	j := strings.Index(env, "        - weight: 100\n")
	if i < 0 || j < i {
		return "", errorf("environments/staging.yaml has no overrides.web.strategy to replace")
	}
	return env[:i] + "    strategy: " + strategy + "\n" + env[j+len("        - weight: 100\n"):], nil
}

// upload puts environments/staging.yaml with web's strategy and follows the
// deployment of web it starts (staging deploys on change).
func (w *world) uploadStrategy(ctx context.Context, strategy string) (execution, error) {
	doc, err := w.stagingWith(ctx, strategy)
	if err != nil {
		return execution{}, err
	}
	known, err := w.knownExecutions(ctx)
	if err != nil {
		return execution{}, err
	}
	if _, err := w.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(w.r.Deployed.SpecBucket),
		Key: aws.String("environments/staging.yaml"), Body: strings.NewReader(doc)}); err != nil {
		return execution{}, fmt.Errorf("upload environments/staging.yaml: %w", err)
	}
	w.say("uploaded environments/staging.yaml with web's strategy %s", strategy)
	arn, err := w.newExecution(ctx, "web-staging-", known)
	if err != nil {
		return execution{}, err
	}
	x, err := w.follow(ctx, arn, func(string) {})
	if err != nil {
		return execution{}, err
	}
	w.say("deployment ended %s: %s", x.Status, strings.Join(x.Path, " → "))
	return x, nil
}

// nativeCanarySucceeds: web moves to ECS's own canary (from the slots,
// through rolling), then web:v4 goes through every hook to 100%.
func (w *world) nativeCanarySucceeds(ctx context.Context) error {
	for _, strategy := range []string{"{kind: rolling}", nativeCanary} {
		x, err := w.uploadStrategy(ctx, strategy)
		if err != nil {
			return err
		}
		if x.Status != sfntypes.ExecutionStatusSucceeded {
			return errorf("switching web to %s: %s", strategy, x.describe())
		}
	}
	w.strategy = "ECS's own canary (kind ecs): 10% (ECS bakes 2m) → 100%, Slipway's hooks at POST_SCALE_UP, " +
		"POST_TEST_TRAFFIC_SHIFT, before each production step and at POST_PRODUCTION_TRAFFIC_SHIFT (final bake 2m), watching web-staging-5xx"
	_, env, err := w.staging("web")
	if err != nil {
		return err
	}
	lb := env.LoadBalancers["web"]
	before, err := w.weights(ctx, lb)
	if err != nil {
		return err
	}
	_, digest, err := w.pushDeploys(ctx, "web", "v4", workflow.StateApply, workflow.StateCheckHook, workflow.StateContinueDeployment, workflow.StateBake, workflow.StateDeployed)
	if err != nil {
		return err
	}
	image, running, err := w.serviceImage(ctx, env.Cluster, "web")
	if err != nil {
		return err
	}
	if !strings.HasSuffix(image, "@"+digest) {
		return errorf("web runs %s, want v4 (%s)", image, digest)
	}
	after, err := w.weights(ctx, lb)
	if err != nil {
		return err
	}
	if after["blue"] != before["green"] || after["green"] != before["blue"] {
		return errorf("traffic %s after the deployment, want the other group's (%s before)", after, before)
	}
	sd, err := w.lastServiceDeployment(ctx, env.Cluster, "web")
	if err != nil {
		return err
	}
	if sd.Status != ecstypes.ServiceDeploymentStatusSuccessful {
		return errorf("ECS's service deployment is %s, want SUCCESSFUL", sd.Status)
	}
	w.say("web:v4 serves %s from one service with %d tasks; ECS's service deployment is %s", after, running, sd.Status)
	return nil
}

// nativeCanaryRollsBack: web:v5 answers 50% 5xx; its alarm fires while ECS
// shifts traffic and the deployment is rolled back to v4.
func (w *world) nativeCanaryRollsBack(ctx context.Context) error {
	_, env, err := w.staging("web")
	if err != nil {
		return err
	}
	lb := env.LoadBalancers["web"]
	before, err := w.weights(ctx, lb)
	if err != nil {
		return err
	}
	image, _, err := w.serviceImage(ctx, env.Cluster, "web")
	if err != nil {
		return err
	}
	x, _, clear, err := w.pushFaulty(ctx, "web", "v5")
	if err != nil {
		return err
	}
	defer clear()
	if x.Status == sfntypes.ExecutionStatusSucceeded {
		return errorf("the faulty deployment succeeded: %s", x.describe())
	}
	if err := hasAll(x.Path, workflow.StateApply, workflow.StateRollback, workflow.StateRolledBack); err != nil {
		return err
	}
	after, err := w.weights(ctx, lb)
	if err != nil {
		return err
	}
	if fmt.Sprint(after) != fmt.Sprint(before) {
		return errorf("traffic %s after the rollback, want %s as before", after, before)
	}
	now, _, err := w.serviceImage(ctx, env.Cluster, "web")
	if err != nil {
		return err
	}
	if now != image {
		return errorf("web runs %s after the rollback, want %s as before", now, image)
	}
	sd, err := w.lastServiceDeployment(ctx, env.Cluster, "web")
	if err != nil {
		return err
	}
	w.say("rolled back (%s); ECS's service deployment is %s; traffic is %s again, on v4", x.Error, sd.Status, after)
	return nil
}

// lastServiceDeployment describes the newest service deployment of service.
func (w *world) lastServiceDeployment(ctx context.Context, cluster, service string) (ecstypes.ServiceDeployment, error) {
	list, err := w.ecs.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String(cluster), Service: aws.String(service)})
	if err != nil {
		return ecstypes.ServiceDeployment{}, fmt.Errorf("list service deployments of %s: %w", service, err)
	}
	if len(list.ServiceDeployments) == 0 {
		return ecstypes.ServiceDeployment{}, errorf("%s has no service deployment", service)
	}
	out, err := w.ecs.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{
		ServiceDeploymentArns: []string{aws.ToString(list.ServiceDeployments[0].ServiceDeploymentArn)}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		return ecstypes.ServiceDeployment{}, fmt.Errorf("describe the service deployment of %s: %v", service, err)
	}
	return out.ServiceDeployments[0], nil
}
