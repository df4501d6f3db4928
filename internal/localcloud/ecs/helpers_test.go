package ecs_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud"
	"github.com/slipwayhq/slipway/internal/localcloud/ecs"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

// fakeELB records target registrations and health like ELBv2 would.
type fakeELB struct {
	mu     sync.Mutex
	groups map[string]map[string]string // target group → target id → state
	calls  []string
	// check runs after every change, with the lock held.
	check func(groups map[string]map[string]string)
}

func newFakeELB(arns ...string) *fakeELB {
	f := &fakeELB{groups: map[string]map[string]string{}}
	for _, a := range arns {
		f.groups[a] = map[string]string{}
	}
	return f
}

func (f *fakeELB) RegisterTargets(arn string, targets []ecs.Target) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range targets {
		f.groups[arn][t.ID] = "initial"
		f.calls = append(f.calls, "register "+t.ID)
	}
	f.changed()
}

func (f *fakeELB) DeregisterTargets(arn string, ids []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		delete(f.groups[arn], id)
		f.calls = append(f.calls, "deregister "+id)
	}
	f.changed()
}

func (f *fakeELB) SetTargetHealth(arn, id, state, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.groups[arn][id]; ok {
		f.groups[arn][id] = state
	}
	f.calls = append(f.calls, state+" "+id)
	f.changed()
}

func (f *fakeELB) changed() {
	if f.check != nil {
		f.check(f.groups)
	}
}

func (f *fakeELB) TargetGroupExists(arn string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.groups[arn]
	return ok
}

func (f *fakeELB) count(arn, state string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.groups[arn] {
		if s == state {
			n++
		}
	}
	return n
}

// fakeNames is Cloud Map's instance registry.
type fakeNames struct {
	mu        sync.Mutex
	instances map[string]map[string]map[string]string // service → instance → attributes
}

func (f *fakeNames) ServiceExists(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.instances[id]
	return ok
}

func (f *fakeNames) RegisterInstance(service, id string, attrs map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.instances[service][id] = attrs
	return nil
}

func (f *fakeNames) DeregisterInstance(service, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.instances[service], id)
	return nil
}

// recorder is an EventSink that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []protocol.Event
	// onTask runs for every task state change, without the lock.
	onTask func(detail map[string]any)
}

func (r *recorder) PutEvent(_ context.Context, e protocol.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	on := r.onTask
	r.mu.Unlock()
	if on != nil && e.DetailType == "ECS Task State Change" {
		b, _ := json.Marshal(e.Detail)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		on(m)
	}
}

// deployments returns "eventName deploymentId" of each deployment event.
func (r *recorder) deployments() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.DetailType != "ECS Deployment State Change" {
			continue
		}
		b, _ := json.Marshal(e.Detail)
		var d struct{ EventName, DeploymentID string }
		_ = json.Unmarshal(b, &d)
		out = append(out, d.EventName+" "+d.DeploymentID)
	}
	return out
}

const (
	// ecrURI prefixes the images of the tests: a registry host, as a
	// deployed image has, so that the image is not looked up on Docker Hub.
	ecrURI     = "000000000000.dkr.ecr.us-east-1.amazonaws.com/"
	tgBlue     = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/staging-web-blue/0000000000000001"
	registryID = "srv-web0000000000001"
	registry   = "arn:aws:servicediscovery:us-east-1:000000000000:service/" + registryID
)

// world is a simulated ECS on a virtual clock, reached through the real
// SDK client over HTTP. The test holds the clock busy except inside settle.
type world struct {
	t      *testing.T
	clock  *clock.Virtual
	svc    *ecs.Service
	api    *sdk.Client
	elb    *fakeELB
	names  *fakeNames
	events *recorder
	faults *faults.Registry
}

var start = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{
		t: t, clock: clock.NewVirtual(start), elb: newFakeELB(tgBlue),
		names:  &fakeNames{instances: map[string]map[string]map[string]string{registryID: {}}},
		events: &recorder{}, faults: faults.New(),
	}
	w.clock.Busy()
	w.svc = ecs.New(ecs.Config{Clock: w.clock, Events: w.events, Faults: w.faults, Targets: w.elb, Names: w.names})
	t.Cleanup(w.svc.Close)
	w.api = newClient(t, w.svc)
	return w
}

// newClient serves h through the real router, registered as the endpoint
// registers ECS.
func newClient(t *testing.T, h protocol.JSONHandler) *sdk.Client {
	router := localcloud.NewServer(localcloud.Options{})
	router.RegisterJSON("ecs", "AmazonEC2ContainerServiceV20141113", "1.1", h)
	return sdk.NewFromConfig(prototest.Config(prototest.Serve(t, router)))
}

// settle lets simulated time run until nothing is left to do.
func (w *world) settle() {
	w.t.Helper()
	w.clock.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.clock.WaitIdle(ctx); err != nil {
		w.t.Fatalf("the simulation did not settle: %v", err)
	}
	w.clock.Busy()
}

// advance lets d of simulated time pass.
func (w *world) advance(d time.Duration) {
	w.t.Helper()
	if err := w.clock.Sleep(context.Background(), d); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) cluster(name string) {
	w.t.Helper()
	if _, err := w.api.CreateCluster(context.Background(), &sdk.CreateClusterInput{ClusterName: &name}); err != nil {
		w.t.Fatalf("create cluster %s: %v", name, err)
	}
}

// webTaskDef registers a Fargate revision of family web running image.
func (w *world) webTaskDef(image string) string {
	w.t.Helper()
	out, err := w.api.RegisterTaskDefinition(context.Background(), &sdk.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("512"), Memory: aws.String("1024"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String(image), Essential: aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}},
		}},
	})
	if err != nil {
		w.t.Fatalf("register task definition: %v", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func network() *types.NetworkConfiguration {
	return &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}
}

func (w *world) service(cluster, name string) types.Service {
	w.t.Helper()
	out, err := w.api.DescribeServices(context.Background(), &sdk.DescribeServicesInput{Cluster: &cluster, Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		w.t.Fatalf("describe service %s/%s: %v %+v", cluster, name, err, out)
	}
	return out.Services[0]
}

func (w *world) tasks(cluster, service string, status types.DesiredStatus) []types.Task {
	w.t.Helper()
	ctx := context.Background()
	list, err := w.api.ListTasks(ctx, &sdk.ListTasksInput{Cluster: &cluster, ServiceName: &service, DesiredStatus: status})
	if err != nil {
		w.t.Fatalf("list tasks: %v", err)
	}
	if len(list.TaskArns) == 0 {
		return nil
	}
	out, err := w.api.DescribeTasks(ctx, &sdk.DescribeTasksInput{Cluster: &cluster, Tasks: list.TaskArns})
	if err != nil {
		w.t.Fatalf("describe tasks: %v", err)
	}
	return out.Tasks
}

func createInput(td, tg, registryARN string, desired int32) *sdk.CreateServiceInput {
	return &sdk.CreateServiceInput{
		Cluster: aws.String("staging"), ServiceName: aws.String("web"), TaskDefinition: &td,
		DesiredCount: aws.Int32(desired), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: network(),
		LoadBalancers:                 []types.LoadBalancer{{TargetGroupArn: &tg, ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}},
		ServiceRegistries:             []types.ServiceRegistry{{RegistryArn: &registryARN}},
		HealthCheckGracePeriodSeconds: aws.Int32(30),
		DeploymentConfiguration: &types.DeploymentConfiguration{
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true},
		},
	}
}

func updateInput(td string) *sdk.UpdateServiceInput {
	return &sdk.UpdateServiceInput{Cluster: aws.String("staging"), Service: aws.String("web"), TaskDefinition: &td}
}
