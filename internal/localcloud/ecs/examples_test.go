package ecs_test

import (
	"context"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/slipwayhq/slipway/internal/spec"
)

// TestExamplesDeploy renders every example service for every example
// environment, as the deployment engine would, and runs it on the
// simulation: each must register, create and reach a steady state.
func TestExamplesDeploy(t *testing.T) {
	set, err := spec.Load(os.DirFS("../../../examples"))
	if err != nil {
		t.Fatalf("load the examples: %v", err)
	}
	w := newWorld(t)
	ctx := context.Background()
	for _, envName := range slices.Sorted(maps.Keys(set.Environments)) {
		env := set.Environments[envName]
		w.cluster(env.Cluster)
		for range 3 {
			if _, err := w.svc.AddContainerInstance(env.Cluster, 2048, 4096); err != nil {
				t.Fatal(err)
			}
		}
		for _, lb := range env.LoadBalancers {
			for _, arn := range lb.TargetGroupArns {
				w.elb.groups[arn] = map[string]string{}
			}
		}
	}
	for _, envName := range slices.Sorted(maps.Keys(set.Environments)) {
		for _, svcName := range slices.Sorted(maps.Keys(set.Services)) {
			t.Run(svcName+"/"+envName, func(t *testing.T) {
				r, err := spec.Render(set.Services[svcName], set.Environments[envName], spec.RenderInput{
					Image:        "000000000000.dkr.ecr.us-east-1.amazonaws.com/" + svcName + "@sha256:" + strings.Repeat("a", 64),
					DeploymentID: "d-1", Region: "us-east-1", AccountID: "000000000000",
				})
				if err != nil {
					t.Fatalf("render: %v", err)
				}
				td, err := w.api.RegisterTaskDefinition(ctx, r.TaskDefinition)
				if err != nil {
					t.Fatalf("register task definition: %v", err)
				}
				in := *r.ServiceInput
				in.TaskDefinition = td.TaskDefinition.TaskDefinitionArn
				if _, err := w.api.CreateService(ctx, &in); err != nil {
					t.Fatalf("create service: %v", err)
				}
				w.settle()
				s := w.service(r.Cluster, aws.ToString(in.ServiceName))
				p := s.Deployments[0]
				if len(s.Deployments) != 1 || p.RolloutState != types.DeploymentRolloutStateCompleted || s.RunningCount != s.DesiredCount || s.DesiredCount == 0 {
					t.Errorf("got %s running %d of %d, events:\n%s", p.RolloutState, s.RunningCount, s.DesiredCount, eventMessages(s))
				}
			})
		}
	}
}
