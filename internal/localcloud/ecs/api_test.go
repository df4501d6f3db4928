package ecs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/events"
	ecsapi "github.com/slipwayhq/slipway/internal/awsapi/ecs"
	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/ecs"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

func TestClusters(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.api.CreateCluster(ctx, &sdk.CreateClusterInput{
		ClusterName: aws.String("staging"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}},
	}); err != nil {
		t.Fatal(err)
	}
	w.cluster("prod")
	list, err := w.api.ListClusters(ctx, &sdk.ListClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"arn:aws:ecs:us-east-1:000000000000:cluster/prod", "arn:aws:ecs:us-east-1:000000000000:cluster/staging"}
	if diff := cmp.Diff(want, list.ClusterArns); diff != "" {
		t.Errorf("clusters (-want +got):\n%s", diff)
	}
	desc, err := w.api.DescribeClusters(ctx, &sdk.DescribeClustersInput{
		Clusters: []string{"staging", "nope"}, Include: []types.ClusterField{types.ClusterFieldTags},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Clusters) != 1 || aws.ToString(desc.Clusters[0].Status) != "ACTIVE" || len(desc.Clusters[0].Tags) != 1 {
		t.Errorf("got clusters %+v, want staging ACTIVE with its tag", desc.Clusters)
	}
	if len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" {
		t.Errorf("got failures %+v, want nope MISSING", desc.Failures)
	}
	if _, err := w.svc.AddContainerInstance("prod", 1024, 2048); err != nil {
		t.Fatal(err)
	}
	ci, err := w.api.ListContainerInstances(ctx, &sdk.ListContainerInstancesInput{Cluster: aws.String("prod")})
	if err != nil || len(ci.ContainerInstanceArns) != 1 {
		t.Fatalf("list container instances: %v %+v", err, ci)
	}
	dci, err := w.api.DescribeContainerInstances(ctx, &sdk.DescribeContainerInstancesInput{Cluster: aws.String("prod"), ContainerInstances: ci.ContainerInstanceArns})
	if err != nil || len(dci.ContainerInstances) != 1 || dci.ContainerInstances[0].RegisteredResources[0].IntegerValue != 1024 {
		t.Fatalf("describe container instances: %v %+v", err, dci)
	}
	_, err = w.api.DeleteCluster(ctx, &sdk.DeleteClusterInput{Cluster: aws.String("prod")})
	if got := prototest.ErrorCode(err); got != "ClusterContainsContainerInstancesException" {
		t.Errorf("delete cluster with instances: got %q (%v), want ClusterContainsContainerInstancesException", got, err)
	}
	if _, err := w.api.DeleteCluster(ctx, &sdk.DeleteClusterInput{Cluster: aws.String("staging")}); err != nil {
		t.Fatal(err)
	}
	_, err = w.api.ListServices(ctx, &sdk.ListServicesInput{Cluster: aws.String("staging")})
	if got := prototest.ErrorCode(err); got != "ClusterNotFoundException" {
		t.Errorf("list services of a deleted cluster: got %q, want ClusterNotFoundException", got)
	}
}

func TestTaskDefinitions(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	v1 := w.webTaskDef("web:1")
	w.webTaskDef("web:2")
	v3 := w.webTaskDef("web:3")
	if _, err := w.api.RegisterTaskDefinition(ctx, &sdk.RegisterTaskDefinitionInput{
		Family: aws.String("web-prod"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String("web:1"), Memory: aws.Int32(256),
		}},
		Tags: []types.Tag{{Key: aws.String("slipway:deployment"), Value: aws.String("d-1")}},
	}); err != nil {
		t.Fatal(err)
	}
	if v3 != "arn:aws:ecs:us-east-1:000000000000:task-definition/web:3" {
		t.Errorf("got ARN %s", v3)
	}
	if _, err := w.api.DeregisterTaskDefinition(ctx, &sdk.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:2")}); err != nil {
		t.Fatal(err)
	}
	list := func(in *sdk.ListTaskDefinitionsInput) []string {
		t.Helper()
		out, err := w.api.ListTaskDefinitions(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var revs []string
		for _, a := range out.TaskDefinitionArns {
			revs = append(revs, a[strings.LastIndex(a, "/")+1:])
		}
		return revs
	}
	tests := map[string]struct {
		in   *sdk.ListTaskDefinitionsInput
		want []string
	}{
		"all active":     {&sdk.ListTaskDefinitionsInput{}, []string{"web:1", "web:3", "web-prod:1"}},
		"family, desc":   {&sdk.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Sort: types.SortOrderDesc}, []string{"web:3", "web:1"}},
		"inactive":       {&sdk.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive}, []string{"web:2"}},
		"exact family":   {&sdk.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web-prod")}, []string{"web-prod:1"}},
		"unknown family": {&sdk.ListTaskDefinitionsInput{FamilyPrefix: aws.String("nope")}, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, list(tc.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	fam, err := w.api.ListTaskDefinitionFamilies(ctx, &sdk.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("web-")})
	if err != nil || !slices.Equal(fam.Families, []string{"web-prod"}) {
		t.Errorf("got families %v (%v), want [web-prod]", fam.Families, err)
	}
	// Paging through every revision with a page size of 1.
	p := sdk.NewListTaskDefinitionsPaginator(w.api, &sdk.ListTaskDefinitionsInput{MaxResults: aws.Int32(1)})
	n := 0
	for p.HasMorePages() {
		if _, err := p.NextPage(ctx); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Errorf("got %d pages, want 3", n)
	}
	d, err := w.api.DescribeTaskDefinition(ctx, &sdk.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String("web-prod"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{aws.ToString(d.TaskDefinition.Family), d.TaskDefinition.Revision, d.TaskDefinition.Status, d.TaskDefinition.NetworkMode, len(d.Tags)}
	want := []any{"web-prod", int32(1), types.TaskDefinitionStatusActive, types.NetworkModeBridge, 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("describe (-want +got):\n%s", diff)
	}
	d, err = w.api.DescribeTaskDefinition(ctx, &sdk.DescribeTaskDefinitionInput{TaskDefinition: &v1})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.TaskDefinition.Compatibilities; !slices.Contains(got, types.CompatibilityFargate) {
		t.Errorf("got compatibilities %v, want FARGATE among them", got)
	}
	if got := aws.ToInt32(d.TaskDefinition.ContainerDefinitions[0].PortMappings[0].ContainerPort); got != 8080 {
		t.Errorf("got container port %d, want 8080 echoed", got)
	}
}

func TestRegisterTaskDefinitionRejects(t *testing.T) {
	container := []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("app:1")}}
	tests := map[string]struct {
		in   sdk.RegisterTaskDefinitionInput
		want string // part of the message
	}{
		"fargate without awsvpc": {
			sdk.RegisterTaskDefinitionInput{RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
				Cpu: aws.String("256"), Memory: aws.String("512"), ContainerDefinitions: container},
			"Fargate only supports network mode",
		},
		"fargate without cpu": {
			sdk.RegisterTaskDefinitionInput{RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
				NetworkMode: types.NetworkModeAwsvpc, Memory: aws.String("512"), ContainerDefinitions: container},
			"Fargate requires that 'cpu' be defined at the task level.",
		},
		"fargate invalid pair": {
			sdk.RegisterTaskDefinitionInput{RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
				NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("512"), Memory: aws.String("512"), ContainerDefinitions: container},
			"No Fargate configuration exists for given values: 512 CPU, 512 memory.",
		},
		"ec2 container without memory": {
			sdk.RegisterTaskDefinitionInput{ContainerDefinitions: container},
			"At least one of 'memory' or 'memoryReservation' must be specified.",
		},
		"awsvpc host port differs": {
			sdk.RegisterTaskDefinitionInput{NetworkMode: types.NetworkModeAwsvpc, Memory: aws.String("512"),
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("app:1"),
					PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080)}}}}},
			"host ports and container ports in port mappings must match",
		},
	}
	w := newWorld(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := tc.in
			in.Family = aws.String("app")
			_, err := w.api.RegisterTaskDefinition(context.Background(), &in)
			if got := prototest.ErrorCode(err); got != "ClientException" || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q %v, want ClientException saying %q", got, err, tc.want)
			}
		})
	}
}

func TestCreateServiceRejects(t *testing.T) {
	w := newWorld(t)
	w.cluster("staging")
	ctx := context.Background()
	fargate := w.webTaskDef("web:1")
	out, err := w.api.RegisterTaskDefinition(ctx, &sdk.RegisterTaskDefinitionInput{
		Family: aws.String("bridge"), RequiresCompatibilities: []types.Compatibility{types.CompatibilityEc2},
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("a"), Image: aws.String("a:1"), Memory: aws.Int32(128)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	bridge := aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	base := func() sdk.CreateServiceInput {
		return sdk.CreateServiceInput{Cluster: aws.String("staging"), ServiceName: aws.String("other"), TaskDefinition: &fargate,
			DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: network()}
	}
	existing := base()
	existing.ServiceName = aws.String("s")
	if _, err := w.api.CreateService(ctx, &existing); err != nil {
		t.Fatalf("the base input must be valid: %v", err)
	}
	tests := map[string]struct {
		change   func(*sdk.CreateServiceInput)
		code     string
		contains string
	}{
		"not idempotent":   {func(in *sdk.CreateServiceInput) { in.ServiceName = aws.String("s") }, "InvalidParameterException", "Creation of service was not idempotent."},
		"missing cluster":  {func(in *sdk.CreateServiceInput) { in.Cluster = aws.String("nope") }, "ClusterNotFoundException", "Cluster not found."},
		"missing revision": {func(in *sdk.CreateServiceInput) { in.TaskDefinition = aws.String("web:9") }, "InvalidParameterException", "TaskDefinition not found."},
		"fargate on an EC2 revision": {func(in *sdk.CreateServiceInput) { in.TaskDefinition = &bridge; in.NetworkConfiguration = nil },
			"InvalidParameterException", "Task definition does not support launch_type FARGATE."},
		"fargate daemon": {func(in *sdk.CreateServiceInput) {
			in.SchedulingStrategy = types.SchedulingStrategyDaemon
			in.DesiredCount = nil
		}, "InvalidParameterException", "The daemon scheduling strategy does not support a launch type of FARGATE."},
		"awsvpc without network": {func(in *sdk.CreateServiceInput) { in.NetworkConfiguration = nil },
			"InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified."},
		"launch type and strategy": {func(in *sdk.CreateServiceInput) {
			in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}
		}, "InvalidParameterException", "Specifying both a launch type and capacity provider strategy is not supported."},
		"unknown target group": {func(in *sdk.CreateServiceInput) {
			in.LoadBalancers = []types.LoadBalancer{{TargetGroupArn: aws.String(tgBlue + "x"), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}}
		}, "InvalidParameterException", "does not exist"},
		"container port not mapped": {func(in *sdk.CreateServiceInput) {
			in.LoadBalancers = []types.LoadBalancer{{TargetGroupArn: aws.String(tgBlue), ContainerName: aws.String("web"), ContainerPort: aws.Int32(9090)}}
		}, "InvalidParameterException", "The container web did not have a container port 9090 defined."},
		"min not below max": {func(in *sdk.CreateServiceInput) {
			in.DeploymentConfiguration = &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(100), MaximumPercent: aws.Int32(100)}
		}, "InvalidParameterException", "minimumHealthyPercent must be less than maximumPercent"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := base()
			tc.change(&in)
			_, err := w.api.CreateService(ctx, &in)
			if got := prototest.ErrorCode(err); got != tc.code || !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("got %q %v, want %s saying %q", got, err, tc.code, tc.contains)
			}
		})
	}
	// A capacity provider strategy alone is accepted and runs on Fargate.
	in := base()
	in.ServiceName, in.LaunchType = aws.String("spot"), ""
	in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{
		{CapacityProvider: aws.String("FARGATE"), Base: 1, Weight: 1}, {CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 3},
	}
	if _, err := w.api.CreateService(ctx, &in); err != nil {
		t.Fatalf("capacity provider strategy: %v", err)
	}
	w.settle()
	if tasks := w.tasks("staging", "spot", types.DesiredStatusRunning); len(tasks) != 1 || aws.ToString(tasks[0].CapacityProviderName) != "FARGATE" {
		t.Errorf("got %+v, want one task on the FARGATE base", tasks)
	}
}

func TestUpdateAndDeleteServiceErrors(t *testing.T) {
	w := newWorld(t)
	w.cluster("staging")
	ctx := context.Background()
	td := w.webTaskDef("web:1")
	_, err := w.api.UpdateService(ctx, &sdk.UpdateServiceInput{Cluster: aws.String("staging"), Service: aws.String("web"), TaskDefinition: &td})
	if got := prototest.ErrorCode(err); got != "ServiceNotFoundException" {
		t.Errorf("update a missing service: got %q, want ServiceNotFoundException", got)
	}
	createWeb(t, w, td, 2, 100, 200, false, false)
	w.settle()
	_, err = w.api.DeleteService(ctx, &sdk.DeleteServiceInput{Cluster: aws.String("staging"), Service: aws.String("web")})
	if got := prototest.ErrorCode(err); got != "InvalidParameterException" {
		t.Errorf("delete a scaled service without force: got %q, want InvalidParameterException", got)
	}
	del, err := w.api.DeleteService(ctx, &sdk.DeleteServiceInput{Cluster: aws.String("staging"), Service: aws.String("web"), Force: aws.Bool(true)})
	if err != nil || aws.ToString(del.Service.Status) != "DRAINING" {
		t.Fatalf("force delete: %v, want DRAINING", err)
	}
	_, err = w.api.UpdateService(ctx, &sdk.UpdateServiceInput{Cluster: aws.String("staging"), Service: aws.String("web"), DesiredCount: aws.Int32(3)})
	if got := prototest.ErrorCode(err); got != "ServiceNotActiveException" {
		t.Errorf("update a draining service: got %q, want ServiceNotActiveException", got)
	}
	w.settle()
	if got := aws.ToString(w.service("staging", "web").Status); got != "INACTIVE" {
		t.Errorf("got status %s after the tasks stopped, want INACTIVE", got)
	}
	if got := w.elb.count(tgBlue, "healthy") + w.elb.count(tgBlue, "draining"); got != 0 {
		t.Errorf("got %d targets left, want none", got)
	}
	if got := len(w.names.instances[registryID]); got != 0 {
		t.Errorf("got %d Cloud Map instances left, want none", got)
	}
	// The name is free again.
	createWeb(t, w, td, 1, 100, 200, false, false)
}

func TestDesiredCountAloneKeepsTheDeployment(t *testing.T) {
	w := newWorld(t)
	w.cluster("staging")
	td := w.webTaskDef("web:1")
	createWeb(t, w, td, 1, 100, 200, false, false)
	w.settle()
	id := aws.ToString(w.service("staging", "web").Deployments[0].Id)
	if _, err := w.api.UpdateService(context.Background(), &sdk.UpdateServiceInput{
		Cluster: aws.String("staging"), Service: aws.String("web"), DesiredCount: aws.Int32(3),
	}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	s := w.service("staging", "web")
	if len(s.Deployments) != 1 || aws.ToString(s.Deployments[0].Id) != id || s.RunningCount != 3 {
		t.Errorf("got deployments %+v running %d, want %s alone running 3", s.Deployments, s.RunningCount, id)
	}
	if ok := w.svc.ClampDesiredCount("staging", "web", 1, 2); !ok {
		t.Fatal("clamp: service not found")
	}
	w.settle()
	if s := w.service("staging", "web"); s.DesiredCount != 2 || s.RunningCount != 2 {
		t.Errorf("after clamping to [1,2] got desired %d running %d, want 2 2", s.DesiredCount, s.RunningCount)
	}
	if w.svc.ClampDesiredCount("staging", "nope", 1, 2) {
		t.Error("clamp of a missing service reported it found")
	}
}

func TestTags(t *testing.T) {
	w := newWorld(t)
	w.cluster("staging")
	ctx := context.Background()
	td := w.webTaskDef("web:1")
	createWeb(t, w, td, 0, 100, 200, false, false)
	arn := w.service("staging", "web").ServiceArn
	if _, err := w.api.TagResource(ctx, &sdk.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{
		{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.api.UntagResource(ctx, &sdk.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	out, err := w.api.ListTagsForResource(ctx, &sdk.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil || len(out.Tags) != 1 || aws.ToString(out.Tags[0].Key) != "b" {
		t.Errorf("got tags %+v (%v), want only b", out, err)
	}
	_, err = w.api.ListTagsForResource(ctx, &sdk.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecs:us-east-1:000000000000:service/staging/nope")})
	if got := prototest.ErrorCode(err); got != "InvalidParameterException" {
		t.Errorf("tags of a missing resource: got %q, want InvalidParameterException", got)
	}
	d, err := w.api.DescribeServices(ctx, &sdk.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"web"}, Include: []types.ServiceField{types.ServiceFieldTags}})
	if err != nil || len(d.Services[0].Tags) != 1 {
		t.Errorf("describe with tags: %v %+v", err, d)
	}
}

// TestAdapter drives the engine's ECS adapter against the simulation.
func TestAdapter(t *testing.T) {
	w := newWorld(t)
	w.cluster("staging")
	ctx := context.Background()
	c := ecsapi.New(w.api)
	td := &sdk.RegisterTaskDefinitionInput{
		Family: aws.String("worker-staging"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("worker"), Image: aws.String(ecrURI + "worker@sha256:1"), Essential: aws.Bool(true)}},
	}
	v1, err := c.RegisterTaskDefinition(ctx, td)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeService(ctx, "staging", "worker"); !errors.Is(err, ecsapi.ErrNotFound) {
		t.Fatalf("describe a missing service: got %v, want ErrNotFound", err)
	}
	create := &sdk.CreateServiceInput{
		Cluster: aws.String("staging"), ServiceName: aws.String("worker"), TaskDefinition: &v1, DesiredCount: aws.Int32(2),
		LaunchType: types.LaunchTypeFargate, NetworkConfiguration: network(),
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true}},
	}
	s, err := c.CreateService(ctx, create)
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Primary(); p == nil || p.RolloutState != "IN_PROGRESS" {
		t.Fatalf("got primary %+v, want IN_PROGRESS", p)
	}
	w.settle()
	td.ContainerDefinitions[0].Image = aws.String(ecrURI + "worker@sha256:2")
	v2, err := c.RegisterTaskDefinition(ctx, td)
	if err != nil {
		t.Fatal(err)
	}
	s, err = c.UpdateService(ctx, create, v2)
	if err != nil {
		t.Fatal(err)
	}
	id := s.Primary().ID
	w.settle()
	s, err = c.DescribeService(ctx, "staging", "worker")
	if err != nil {
		t.Fatal(err)
	}
	p := s.Primary()
	got := []any{p.ID, p.TaskDefinition, p.RolloutState, p.RunningCount, len(s.Deployments), s.Scheduling}
	want := []any{id, v2, "COMPLETED", int32(2), 1, "REPLICA"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after the update (-want +got):\n%s", diff)
	}
	if _, err := c.SetDesiredCount(ctx, "staging", "worker", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetTaskDefinition(ctx, "staging", "worker", v1); err != nil {
		t.Fatal(err)
	}
	w.settle()
	revs, err := c.TaskDefinitionRevisions(ctx, "worker-staging")
	if err != nil || !slices.Equal(revs, []string{v1, v2}) {
		t.Errorf("got revisions %v (%v), want %v", revs, err, []string{v1, v2})
	}
	if err := c.DeregisterTaskDefinition(ctx, v2); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteService(ctx, "staging", "worker"); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if _, err := c.DescribeService(ctx, "staging", "worker"); !errors.Is(err, ecsapi.ErrNotFound) {
		t.Errorf("describe a deleted service: got %v, want ErrNotFound", err)
	}
	if err := c.DeleteService(ctx, "staging", "worker"); err != nil {
		t.Errorf("delete an already deleted service: %v", err)
	}
	if _, err := c.SetDesiredCount(ctx, "staging", "worker", 1); !errors.Is(err, ecsapi.ErrNotFound) {
		t.Errorf("update a deleted service: got %v, want ErrNotFound", err)
	}
}

// TestDeploymentEventShape checks the events against the samples in events/.
func TestDeploymentEventShape(t *testing.T) {
	w := newWorld(t)
	w.cluster("staging")
	createWeb(t, w, w.webTaskDef("web:1"), 1, 100, 200, true, false)
	w.settle()
	w.faults.SetImage("sha256:bad", faults.Behaviour{CrashOnStart: true})
	if _, err := w.api.UpdateService(context.Background(), updateInput(w.webTaskDef(ecrURI+"web@sha256:bad"))); err != nil {
		t.Fatal(err)
	}
	w.settle()
	seen := map[string]bool{}
	for _, e := range w.events.events {
		if e.DetailType != "ECS Deployment State Change" {
			continue
		}
		if e.Source != "aws.ecs" || len(e.Resources) != 1 || e.Resources[0] != "arn:aws:ecs:us-east-1:000000000000:service/staging/web" {
			t.Errorf("got source %s resources %v", e.Source, e.Resources)
		}
		got := detailMap(t, e.Detail)
		file := map[string]string{
			"SERVICE_DEPLOYMENT_IN_PROGRESS": "ecs-deployment-in-progress.json",
			"SERVICE_DEPLOYMENT_COMPLETED":   "ecs-deployment-completed.json",
			"SERVICE_DEPLOYMENT_FAILED":      "ecs-deployment-failed.json",
		}[got["eventName"].(string)]
		seen[file] = true
		b, err := events.Files.ReadFile(file)
		if err != nil {
			t.Fatalf("sample for %v: %v", got["eventName"], err)
		}
		var sample struct{ Detail map[string]any }
		if err := json.Unmarshal(b, &sample); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(slices.Sorted(maps.Keys(sample.Detail)), slices.Sorted(maps.Keys(got))); diff != "" {
			t.Errorf("%s detail fields (-sample +got):\n%s", file, diff)
		}
		id := got["deploymentId"].(string)
		wantReason := strings.ReplaceAll(sample.Detail["reason"].(string), sample.Detail["deploymentId"].(string), id)
		if got["reason"] != wantReason || got["eventType"] != sample.Detail["eventType"] {
			t.Errorf("got %v, want reason %q and type %v", got, wantReason, sample.Detail["eventType"])
		}
		if len(got["updatedAt"].(string)) != len(sample.Detail["updatedAt"].(string)) {
			t.Errorf("got updatedAt %q, want the format of %q", got["updatedAt"], sample.Detail["updatedAt"])
		}
	}
	if len(seen) != 3 {
		t.Errorf("got events of %v, want in progress, completed and failed", seen)
	}
}

func detailMap(t *testing.T, d any) map[string]any {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSnapshotRestore(t *testing.T) {
	w := newWorld(t)
	w.cluster("staging")
	v1 := w.webTaskDef("web:1")
	createWeb(t, w, v1, 2, 100, 200, false, false)
	w.advance(7e9) // mid-deployment: tasks running, health checks pending
	snap, err := w.svc.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	w.svc.Close()

	restored := ecs.New(ecs.Config{Clock: w.clock, Events: w.events, Faults: w.faults, Targets: w.elb, Names: w.names})
	t.Cleanup(restored.Close)
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	w.svc, w.api = restored, newClient(t, restored)
	w.settle()
	s := w.service("staging", "web")
	if s.RunningCount != 2 || s.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
		t.Errorf("after restore got running %d %s, want 2 COMPLETED", s.RunningCount, s.Deployments[0].RolloutState)
	}
	again, err := restored.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := ecs.New(ecs.Config{Clock: w.clock}).Restore(again); err != nil {
		t.Errorf("restore of a second snapshot: %v", err)
	}
	for _, bad := range []string{
		`{"clusters":{"x":null}}`,
		`{"clusters":{"x":{"tasks":{"t":null}}}}`,
		`{"clusters":{"x":{"services":{"s":{"deployments":[null]}}}}}`,
		`{"taskDefinitions":{"web":[{"revision":2}]}}`,
		`[]`,
	} {
		if err := restored.Restore([]byte(bad)); err == nil {
			t.Errorf("restore of %s: got no error", bad)
		}
	}
}

func TestRevisionOfTarget(t *testing.T) {
	w := newWorld(t)
	w.cluster("staging")
	createWeb(t, w, w.webTaskDef(ecrURI+"web@sha256:abc"), 1, 100, 200, false, false)
	w.settle()
	tk := w.tasks("staging", "web", types.DesiredStatusRunning)[0]
	ip := aws.ToString(tk.Attachments[0].Details[0].Value)
	if img, ok := w.svc.RevisionOfTarget(ip); !ok || img != ecrURI+"web@sha256:abc" {
		t.Errorf("got %q %v, want web@sha256:abc", img, ok)
	}
	if _, ok := w.svc.RevisionOfTarget("10.9.9.9"); ok {
		t.Error("an unknown target reported a revision")
	}
}

func TestServeJSONErrors(t *testing.T) {
	svc := ecs.New(ecs.Config{})
	defer svc.Close()
	tests := map[string]struct {
		op, body, code string
	}{
		"unknown operation":       {"Frobnicate", `{}`, protocol.CodeUnknownOperation},
		"malformed body":          {"CreateCluster", `{`, protocol.CodeSerialization},
		"wrong type":              {"DescribeServices", `{"services":"web"}`, protocol.CodeSerialization},
		"missing default cluster": {"ListServices", `{}`, "ClusterNotFoundException"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := svc.ServeJSON(context.Background(), tc.op, []byte(tc.body))
			var pe *protocol.Error
			if !errors.As(err, &pe) || pe.Code != tc.code || pe.Status != 400 {
				t.Errorf("got %v, want a 400 %s", err, tc.code)
			}
		})
	}
}

// FuzzServeJSON feeds arbitrary bodies to every operation: errors are
// fine, panics and non-AWS errors are not.
func FuzzServeJSON(f *testing.F) {
	ops := []string{"CreateCluster", "DescribeClusters", "ListClusters", "DeleteCluster", "ListContainerInstances",
		"DescribeContainerInstances", "RegisterTaskDefinition", "DescribeTaskDefinition", "ListTaskDefinitions",
		"ListTaskDefinitionFamilies", "DeregisterTaskDefinition", "CreateService", "UpdateService", "DescribeServices",
		"ListServices", "DeleteService", "ListTasks", "DescribeTasks", "StopTask", "RunTask", "UpdateContainerInstancesState", "DeregisterContainerInstance", "TagResource", "UntagResource", "ListTagsForResource"}
	f.Add(uint8(6), []byte(`{"family":"a","containerDefinitions":[{"name":"a","image":"b","memory":1,"portMappings":[{"containerPort":80}]}]}`))
	f.Add(uint8(11), []byte(`{"serviceName":"s","taskDefinition":"a","desiredCount":2,"loadBalancers":[{}],"networkConfiguration":{}}`))
	f.Add(uint8(12), []byte(`{"service":"s","loadBalancers":null,"deploymentConfiguration":{"maximumPercent":-1}}`))
	f.Add(uint8(8), []byte(`{"maxResults":0,"nextToken":"-1"}`))
	f.Add(uint8(6), []byte(`{"family":"a","cpu":"0.25 vCPU","memory":"99999999999 GB","containerDefinitions":[{"name":"a","image":"b"}]}`))
	svc := ecs.New(ecs.Config{})
	f.Cleanup(svc.Close)
	if _, err := svc.ServeJSON(context.Background(), "CreateCluster", []byte(`{}`)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		out, err := svc.ServeJSON(context.Background(), ops[int(op)%len(ops)], body)
		prototest.CheckJSONAnswer(t, out, err)
	})
}

func TestRunTask(t *testing.T) {
	w := newWorld(t)
	w.cluster("staging")
	ctx := context.Background()
	td := w.webTaskDef("web:1")
	out, err := w.api.RunTask(ctx, &sdk.RunTaskInput{
		Cluster: aws.String("staging"), TaskDefinition: &td, Count: aws.Int32(2), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: network(), StartedBy: aws.String("migration"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 2 || aws.ToString(out.Tasks[0].Group) != "family:web" || aws.ToString(out.Tasks[0].LastStatus) != "PROVISIONING" {
		t.Fatalf("got %+v, want 2 PROVISIONING tasks of group family:web", out.Tasks)
	}
	w.settle()
	list, err := w.api.ListTasks(ctx, &sdk.ListTasksInput{Cluster: aws.String("staging"), StartedBy: aws.String("migration")})
	if err != nil || len(list.TaskArns) != 2 {
		t.Fatalf("list tasks started by migration: %v %+v", err, list)
	}
	if _, err := w.api.StopTask(ctx, &sdk.StopTaskInput{Cluster: aws.String("staging"), Task: aws.String(list.TaskArns[0])}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	list, err = w.api.ListTasks(ctx, &sdk.ListTasksInput{Cluster: aws.String("staging"), StartedBy: aws.String("migration")})
	if err != nil || len(list.TaskArns) != 1 {
		t.Errorf("got %+v (%v), want one task left: standalone tasks are not replaced", list, err)
	}

	job, err := w.api.RegisterTaskDefinition(ctx, &sdk.RegisterTaskDefinitionInput{Family: aws.String("job"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("job"), Image: aws.String("job:1"), Memory: aws.Int32(64)}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.api.RunTask(ctx, &sdk.RunTaskInput{Cluster: aws.String("staging"), TaskDefinition: job.TaskDefinition.TaskDefinitionArn, LaunchType: types.LaunchTypeEc2})
	if got := prototest.ErrorCode(err); got != "InvalidParameterException" || !strings.Contains(err.Error(), "No Container Instances were found in your cluster.") {
		t.Errorf("EC2 without instances: got %q %v", got, err)
	}
}

func TestCreateServiceRetriedWithClientToken(t *testing.T) {
	w := newWorld(t)
	w.cluster("staging")
	in := createInput(w.webTaskDef("web:1"), tgBlue, registry, 1)
	in.ClientToken = aws.String("token-1")
	first, err := w.api.CreateService(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.api.CreateService(context.Background(), in)
	if err != nil || aws.ToString(again.Service.Deployments[0].Id) != aws.ToString(first.Service.Deployments[0].Id) {
		t.Errorf("retry with the same token: got %v, want the same service", err)
	}
	in.ClientToken = aws.String("token-2")
	if _, err := w.api.CreateService(context.Background(), in); prototest.ErrorCode(err) != "InvalidParameterException" {
		t.Errorf("another token: got %v, want InvalidParameterException", err)
	}
}

// BenchmarkDescribeServices measures the operation the deployment engine
// polls, on a cluster of 10 services with 5 running tasks each.
func BenchmarkDescribeServices(b *testing.B) {
	v := clock.NewVirtual(start)
	svc := ecs.New(ecs.Config{Clock: v})
	defer svc.Close()
	ctx := context.Background()
	v.Busy()
	calls := []string{
		`CreateCluster {"clusterName":"bench"}`,
		`RegisterTaskDefinition {"family":"w","containerDefinitions":[{"name":"w","image":"w:1","memory":64}]}`,
	}
	for i := range 10 {
		calls = append(calls, fmt.Sprintf(`CreateService {"cluster":"bench","serviceName":"s%d","taskDefinition":"w","desiredCount":5}`, i))
	}
	for _, c := range calls {
		op, body, _ := strings.Cut(c, " ")
		if _, err := svc.ServeJSON(ctx, op, []byte(body)); err != nil {
			b.Fatal(err)
		}
		if op == "CreateCluster" {
			for range 5 {
				if _, err := svc.AddContainerInstance("bench", 4096, 8192); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	v.Done()
	if err := v.WaitIdle(ctx); err != nil {
		b.Fatal(err)
	}
	req := []byte(`{"cluster":"bench","services":["s0","s1","s2"]}`)
	out, err := svc.ServeJSON(ctx, "DescribeServices", req)
	if err != nil {
		b.Fatal(err)
	}
	if js, _ := json.Marshal(out); !strings.Contains(string(js), `"runningCount":5`) {
		b.Fatalf("the services are not running 5 tasks each: %s", js)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.ServeJSON(ctx, "DescribeServices", req); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzRestore feeds arbitrary state files to Restore and lets the
// simulation run over what it accepts: errors are fine, panics are not.
func FuzzRestore(f *testing.F) {
	w := newWorld(&testing.T{})
	w.cluster("staging")
	createWeb(&testing.T{}, w, w.webTaskDef("web:1"), 2, 100, 200, true, true)
	w.advance(6e9)
	snap, err := w.svc.Snapshot()
	if err != nil {
		f.Fatal(err)
	}
	w.svc.Close()
	f.Add(snap)
	f.Add([]byte(`{"clusters":{"c":{"status":"ACTIVE","services":{"s":{"status":"ACTIVE","deployments":[{"status":"PRIMARY","desiredCount":3}]}},"tasks":{"t":{"service":"s","next":"2026-01-01T00:00:00Z","step":"running"}}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		svc := ecs.New(ecs.Config{Clock: clock.NewVirtual(start)})
		defer svc.Close()
		if err := svc.Restore(b); err != nil {
			return
		}
		if _, err := svc.ServeJSON(context.Background(), "ListClusters", nil); err != nil {
			t.Fatal(err)
		}
	})
}
