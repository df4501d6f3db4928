// Package ecs is the adapter over the Amazon ECS API: task definitions and
// services, in the terms the deployment engine uses.
package ecs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/slipwayhq/slipway/internal/awsapi"
)

// ErrNotFound means the service does not exist, or was deleted: INACTIVE,
// or DRAINING (then the error wraps ErrDraining too).
var ErrNotFound = errors.New("not found")

// ErrDraining means the service was deleted and its tasks are still
// stopping (DRAINING). It is not there to update, and ECS refuses to create
// a service of the same name until it is INACTIVE: a caller that wants the
// service back waits and retries.
var ErrDraining = errors.New("draining: deleted, its tasks still stopping")

// api lists the ECS client methods the adapter uses.
type api interface {
	RegisterTaskDefinition(context.Context, *sdk.RegisterTaskDefinitionInput, ...func(*sdk.Options)) (*sdk.RegisterTaskDefinitionOutput, error)
	DeregisterTaskDefinition(context.Context, *sdk.DeregisterTaskDefinitionInput, ...func(*sdk.Options)) (*sdk.DeregisterTaskDefinitionOutput, error)
	ListTaskDefinitions(context.Context, *sdk.ListTaskDefinitionsInput, ...func(*sdk.Options)) (*sdk.ListTaskDefinitionsOutput, error)
	DescribeServices(context.Context, *sdk.DescribeServicesInput, ...func(*sdk.Options)) (*sdk.DescribeServicesOutput, error)
	CreateService(context.Context, *sdk.CreateServiceInput, ...func(*sdk.Options)) (*sdk.CreateServiceOutput, error)
	UpdateService(context.Context, *sdk.UpdateServiceInput, ...func(*sdk.Options)) (*sdk.UpdateServiceOutput, error)
	DeleteService(context.Context, *sdk.DeleteServiceInput, ...func(*sdk.Options)) (*sdk.DeleteServiceOutput, error)
	DescribeTaskDefinition(context.Context, *sdk.DescribeTaskDefinitionInput, ...func(*sdk.Options)) (*sdk.DescribeTaskDefinitionOutput, error)
	ListTasks(context.Context, *sdk.ListTasksInput, ...func(*sdk.Options)) (*sdk.ListTasksOutput, error)
	DescribeTasks(context.Context, *sdk.DescribeTasksInput, ...func(*sdk.Options)) (*sdk.DescribeTasksOutput, error)
	DescribeServiceDeployments(context.Context, *sdk.DescribeServiceDeploymentsInput, ...func(*sdk.Options)) (*sdk.DescribeServiceDeploymentsOutput, error)
	ListServiceDeployments(context.Context, *sdk.ListServiceDeploymentsInput, ...func(*sdk.Options)) (*sdk.ListServiceDeploymentsOutput, error)
	ContinueServiceDeployment(context.Context, *sdk.ContinueServiceDeploymentInput, ...func(*sdk.Options)) (*sdk.ContinueServiceDeploymentOutput, error)
	StopServiceDeployment(context.Context, *sdk.StopServiceDeploymentInput, ...func(*sdk.Options)) (*sdk.StopServiceDeploymentOutput, error)
}

// Client reads and changes ECS task definitions and services.
type Client struct {
	api api
}

// New returns a Client over api, normally an *ecs.Client from the SDK.
func New(api api) *Client { return &Client{api: api} }

// Service is the live state of an ECS service.
type Service struct {
	Name           string
	ARN            string
	Cluster        string // the cluster ARN
	Status         string // ACTIVE (DescribeService returns no other)
	TaskDefinition string
	DesiredCount   int32
	RunningCount   int32
	PendingCount   int32
	Scheduling     string // REPLICA or DAEMON
	Deployments    []Deployment
	// CurrentServiceDeployment is the ARN of the service deployment ECS
	// runs or ran last (the native strategies follow it); empty when ECS
	// reports none.
	CurrentServiceDeployment string
	// Settings are what UpdateService can change besides the task
	// definition and the count.
	Settings Settings
}

// Settings are the fields of a service that UpdateService changes besides
// the task definition and the desired count, as DescribeServices reports
// them: what a deployment may change and a rollback puts back. They keep the
// API's own shapes so that nothing is lost on the way back.
type Settings struct {
	NetworkConfiguration     *types.NetworkConfiguration          `json:"networkConfiguration,omitempty"`
	LoadBalancers            []types.LoadBalancer                 `json:"loadBalancers,omitempty"`
	ServiceRegistries        []types.ServiceRegistry              `json:"serviceRegistries,omitempty"`
	CapacityProviderStrategy []types.CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	DeploymentConfiguration  *types.DeploymentConfiguration       `json:"deploymentConfiguration,omitempty"`
	// HealthCheckGracePeriodSeconds is 0 when DescribeServices omits it
	// (AWS does for a service without load balancer), which is also the
	// value UpdateService sets to clear it.
	HealthCheckGracePeriodSeconds int32 `json:"healthCheckGracePeriodSeconds,omitempty"`
}

// Diff names the settings of s that differ from o, in a fixed order; empty
// when they are the same. An empty list and a missing one are the same.
func (s Settings) Diff(o Settings) []string {
	var out []string
	for _, f := range []struct {
		name string
		a, b any
	}{
		{"networkConfiguration", s.NetworkConfiguration, o.NetworkConfiguration},
		{"loadBalancers", s.LoadBalancers, o.LoadBalancers},
		{"serviceRegistries", s.ServiceRegistries, o.ServiceRegistries},
		{"capacityProviderStrategy", s.CapacityProviderStrategy, o.CapacityProviderStrategy},
		{"deploymentConfiguration", s.DeploymentConfiguration, o.DeploymentConfiguration},
		{"healthCheckGracePeriodSeconds", s.HealthCheckGracePeriodSeconds, o.HealthCheckGracePeriodSeconds},
	} {
		if !sameJSON(f.a, f.b) {
			out = append(out, f.name)
		}
	}
	return out
}

// sameJSON compares two values of the API's shapes by their JSON, so that a
// value read back from a stored plan equals the one read from the API.
func sameJSON(a, b any) bool {
	ja, err := json.Marshal(a)
	if err != nil {
		return false
	}
	jb, err := json.Marshal(b)
	if err != nil {
		return false
	}
	empty := func(j []byte) bool { return string(j) == "null" || string(j) == "[]" }
	return bytes.Equal(ja, jb) || empty(ja) && empty(jb)
}

// Restore is one UpdateService call that puts a service back: each field
// set is applied, and Settings only where they differ from Live.
type Restore struct {
	// TaskDefinition is the revision to run; empty leaves it.
	TaskDefinition string
	// DesiredCount is the count to set; nil leaves it.
	DesiredCount *int32
	// Settings are the settings to restore, compared with Live field by
	// field; nil leaves them all.
	Settings, Live *Settings
}

// Deployment is one ECS deployment of a service.
type Deployment struct {
	ID                 string
	Status             string // PRIMARY (the newest), ACTIVE (being replaced) or INACTIVE
	TaskDefinition     string
	RolloutState       string // IN_PROGRESS, COMPLETED or FAILED
	RolloutStateReason string
	DesiredCount       int32
	RunningCount       int32
	PendingCount       int32
	FailedTasks        int32
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Primary returns the PRIMARY deployment, the one ECS is rolling out, or nil
// when the service has none.
func (s *Service) Primary() *Deployment {
	for i := range s.Deployments {
		if s.Deployments[i].Status == "PRIMARY" {
			return &s.Deployments[i]
		}
	}
	return nil
}

// RegisterTaskDefinition registers a new revision and returns its ARN.
func (c *Client) RegisterTaskDefinition(ctx context.Context, in *sdk.RegisterTaskDefinitionInput) (string, error) {
	out, err := c.api.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return "", awsapi.Classify("register task definition "+aws.ToString(in.Family), err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn), nil
}

// DescribeService returns the service name in cluster. It returns an error
// wrapping ErrNotFound when the service does not exist or was deleted
// (INACTIVE, or DRAINING, which wraps ErrDraining as well). A
// missing cluster is not ErrNotFound: it is a configuration error, and
// creating the service would fail too.
func (c *Client) DescribeService(ctx context.Context, cluster, name string) (*Service, error) {
	op := "describe service " + cluster + "/" + name
	out, err := c.api.DescribeServices(ctx, &sdk.DescribeServicesInput{Cluster: &cluster, Services: []string{name}})
	if err != nil {
		return nil, awsapi.Classify(op, err)
	}
	for _, s := range out.Services {
		switch aws.ToString(s.Status) {
		case "INACTIVE":
			return nil, fmt.Errorf("%s: %w (INACTIVE)", op, ErrNotFound)
		case "DRAINING":
			return nil, fmt.Errorf("%s: %w: %w", op, ErrNotFound, ErrDraining)
		}
		return service(&s), nil
	}
	for _, f := range out.Failures {
		if aws.ToString(f.Reason) != "MISSING" {
			return nil, fmt.Errorf("%s: %s %s", op, aws.ToString(f.Reason), aws.ToString(f.Detail))
		}
	}
	return nil, fmt.Errorf("%s: %w", op, ErrNotFound)
}

// CreateService creates the service described by in.
func (c *Client) CreateService(ctx context.Context, in *sdk.CreateServiceInput) (*Service, error) {
	out, err := c.api.CreateService(ctx, in)
	if err != nil {
		return nil, awsapi.Classify("create service "+aws.ToString(in.Cluster)+"/"+aws.ToString(in.ServiceName), err)
	}
	return service(out.Service), nil
}

// UpdateService updates the existing service named by from (cluster and
// service name) to run taskDefinition with the settings of from that
// UpdateService accepts; see updateInput for what is copied and what is not.
func (c *Client) UpdateService(ctx context.Context, from *sdk.CreateServiceInput, taskDefinition string) (*Service, error) {
	return c.update(ctx, updateInput(from, taskDefinition))
}

// Restore puts the service back as r says in one UpdateService call, so
// ECS starts at most one deployment. A setting that differs from r.Live is
// sent with its restored value: an empty list of load balancers, registries
// or capacity providers is sent as an empty list, which UpdateService reads
// as "remove them all" (and, for capacity providers, "back to the launch
// type"); a grace period restored to 0 is sent as 0.
func (c *Client) Restore(ctx context.Context, cluster, name string, r Restore) (*Service, error) {
	in := &sdk.UpdateServiceInput{Cluster: &cluster, Service: &name, DesiredCount: r.DesiredCount}
	if r.TaskDefinition != "" {
		in.TaskDefinition = &r.TaskDefinition
	}
	if to := r.Settings; to != nil {
		var live Settings
		if r.Live != nil {
			live = *r.Live
		}
		for _, f := range to.Diff(live) {
			switch f {
			case "networkConfiguration":
				in.NetworkConfiguration = to.NetworkConfiguration
			case "loadBalancers":
				in.LoadBalancers = append([]types.LoadBalancer{}, to.LoadBalancers...)
			case "serviceRegistries":
				in.ServiceRegistries = append([]types.ServiceRegistry{}, to.ServiceRegistries...)
			case "capacityProviderStrategy":
				in.CapacityProviderStrategy = append([]types.CapacityProviderStrategyItem{}, to.CapacityProviderStrategy...)
			case "deploymentConfiguration":
				in.DeploymentConfiguration = to.DeploymentConfiguration
			case "healthCheckGracePeriodSeconds":
				in.HealthCheckGracePeriodSeconds = aws.Int32(to.HealthCheckGracePeriodSeconds)
			}
		}
	}
	return c.update(ctx, in)
}

// DeploymentRevision returns the newest ACTIVE revision of family when it is
// tagged slipway:deployment=deployment, else "": a retried Apply finds the
// revision its first attempt registered instead of registering another.
// Only the newest is looked at: the deployment lock keeps any other
// deployment of the service from registering one in between.
func (c *Client) DeploymentRevision(ctx context.Context, family, deployment string) (string, error) {
	out, err := c.api.ListTaskDefinitions(ctx, &sdk.ListTaskDefinitionsInput{
		FamilyPrefix: &family, Status: types.TaskDefinitionStatusActive, Sort: types.SortOrderDesc, MaxResults: aws.Int32(10),
	})
	if err != nil {
		return "", awsapi.Classify("list task definitions "+family, err)
	}
	for _, arn := range out.TaskDefinitionArns {
		_, fr, _ := strings.Cut(arn, "task-definition/")
		if f, _, _ := strings.Cut(fr, ":"); f != family {
			continue
		}
		td, err := c.api.DescribeTaskDefinition(ctx, &sdk.DescribeTaskDefinitionInput{
			TaskDefinition: &arn, Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
		})
		if err != nil {
			return "", awsapi.Classify("describe task definition "+arn, err)
		}
		for _, t := range td.Tags {
			if aws.ToString(t.Key) == "slipway:deployment" && aws.ToString(t.Value) == deployment {
				return arn, nil
			}
		}
		return "", nil
	}
	return "", nil
}

// SetDesiredCount changes only the desired count of the service.
func (c *Client) SetDesiredCount(ctx context.Context, cluster, name string, n int32) (*Service, error) {
	return c.update(ctx, &sdk.UpdateServiceInput{Cluster: &cluster, Service: &name, DesiredCount: &n})
}

// SetTaskDefinition changes only the task definition of the service, which
// starts a new deployment of it (the rollback of a rolling deployment).
func (c *Client) SetTaskDefinition(ctx context.Context, cluster, name, taskDefinition string) (*Service, error) {
	return c.update(ctx, &sdk.UpdateServiceInput{Cluster: &cluster, Service: &name, TaskDefinition: &taskDefinition})
}

func (c *Client) update(ctx context.Context, in *sdk.UpdateServiceInput) (*Service, error) {
	op := "update service " + aws.ToString(in.Cluster) + "/" + aws.ToString(in.Service)
	out, err := c.api.UpdateService(ctx, in)
	if awsapi.HasCode(err, "ServiceNotFoundException", "ServiceNotActiveException") {
		return nil, fmt.Errorf("%s: %w: %w", op, ErrNotFound, err)
	}
	if err != nil {
		return nil, awsapi.Classify(op, err)
	}
	return service(out.Service), nil
}

// DeleteService deletes the service, stopping its tasks without scaling it
// to zero first (Force), as the rollback of a service the deployment created
// needs. A service that is missing or already deleted is not an error.
func (c *Client) DeleteService(ctx context.Context, cluster, name string) error {
	_, err := c.api.DeleteService(ctx, &sdk.DeleteServiceInput{Cluster: &cluster, Service: &name, Force: aws.Bool(true)})
	if awsapi.HasCode(err, "ServiceNotFoundException", "ServiceNotActiveException") {
		return nil
	}
	return awsapi.Classify("delete service "+cluster+"/"+name, err)
}

// TaskDefinitionRevisions returns the ARNs of the ACTIVE revisions of family,
// oldest first. Families that merely start with family are not included.
func (c *Client) TaskDefinitionRevisions(ctx context.Context, family string) ([]string, error) {
	p := sdk.NewListTaskDefinitionsPaginator(c.api, &sdk.ListTaskDefinitionsInput{
		FamilyPrefix: &family,
		Status:       types.TaskDefinitionStatusActive,
		Sort:         types.SortOrderAsc,
	})
	var arns []string
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, awsapi.Classify("list task definitions "+family, err)
		}
		for _, arn := range out.TaskDefinitionArns {
			// arn:aws:ecs:region:account:task-definition/family:revision
			_, fr, _ := strings.Cut(arn, "task-definition/")
			if f, _, _ := strings.Cut(fr, ":"); f == family {
				arns = append(arns, arn)
			}
		}
	}
	return arns, nil
}

// DeregisterTaskDefinition marks the revision arn INACTIVE.
func (c *Client) DeregisterTaskDefinition(ctx context.Context, arn string) error {
	_, err := c.api.DeregisterTaskDefinition(ctx, &sdk.DeregisterTaskDefinitionInput{TaskDefinition: &arn})
	return awsapi.Classify("deregister task definition "+arn, err)
}

// updateInput builds the UpdateService request that brings an existing
// service to the settings of from, running taskDefinition. It copies every
// field UpdateService accepts; a field left nil in from leaves the live value
// unchanged (that is UpdateService's meaning of an absent field). DesiredCount
// is copied as given: a caller that lets auto scaling own the count passes
// nil.
//
// Left out, because UpdateService cannot change them after create:
//   - ServiceName: the identity of the service (sent as Service);
//   - ClientToken: the idempotency token of the create request;
//   - LaunchType: fixed at create (moving to capacity providers goes through
//     CapacityProviderStrategy, which is copied);
//   - Role: the service-linked role is fixed at create;
//   - SchedulingStrategy: REPLICA or DAEMON is fixed at create;
//   - Tags: changed with TagResource, not UpdateService.
//
// ForceNewDeployment stays false: the new task definition already starts a
// deployment.
func updateInput(from *sdk.CreateServiceInput, taskDefinition string) *sdk.UpdateServiceInput {
	return &sdk.UpdateServiceInput{
		Cluster:                       from.Cluster,
		Service:                       from.ServiceName,
		TaskDefinition:                &taskDefinition,
		DesiredCount:                  from.DesiredCount,
		CapacityProviderStrategy:      from.CapacityProviderStrategy,
		DeploymentConfiguration:       from.DeploymentConfiguration,
		DeploymentController:          from.DeploymentController,
		NetworkConfiguration:          from.NetworkConfiguration,
		PlacementConstraints:          from.PlacementConstraints,
		PlacementStrategy:             from.PlacementStrategy,
		PlatformVersion:               from.PlatformVersion,
		HealthCheckGracePeriodSeconds: from.HealthCheckGracePeriodSeconds,
		LoadBalancers:                 from.LoadBalancers,
		ServiceRegistries:             from.ServiceRegistries,
		EnableExecuteCommand:          aws.Bool(from.EnableExecuteCommand),
		EnableECSManagedTags:          aws.Bool(from.EnableECSManagedTags),
		PropagateTags:                 from.PropagateTags,
		AvailabilityZoneRebalancing:   from.AvailabilityZoneRebalancing,
		ServiceConnectConfiguration:   from.ServiceConnectConfiguration,
		VolumeConfigurations:          from.VolumeConfigurations,
		VpcLatticeConfigurations:      from.VpcLatticeConfigurations,
		Monitoring:                    from.Monitoring,
		GatewayConnectors:             from.GatewayConnectors,
	}
}

func service(s *types.Service) *Service {
	out := &Service{
		Name:                     aws.ToString(s.ServiceName),
		ARN:                      aws.ToString(s.ServiceArn),
		Cluster:                  aws.ToString(s.ClusterArn),
		Status:                   aws.ToString(s.Status),
		TaskDefinition:           aws.ToString(s.TaskDefinition),
		DesiredCount:             s.DesiredCount,
		RunningCount:             s.RunningCount,
		PendingCount:             s.PendingCount,
		Scheduling:               string(s.SchedulingStrategy),
		CurrentServiceDeployment: aws.ToString(s.CurrentServiceDeployment),
		Settings: Settings{
			NetworkConfiguration:          s.NetworkConfiguration,
			LoadBalancers:                 s.LoadBalancers,
			ServiceRegistries:             s.ServiceRegistries,
			CapacityProviderStrategy:      s.CapacityProviderStrategy,
			DeploymentConfiguration:       s.DeploymentConfiguration,
			HealthCheckGracePeriodSeconds: aws.ToInt32(s.HealthCheckGracePeriodSeconds),
		},
	}
	for _, d := range s.Deployments {
		out.Deployments = append(out.Deployments, Deployment{
			ID:                 aws.ToString(d.Id),
			Status:             aws.ToString(d.Status),
			TaskDefinition:     aws.ToString(d.TaskDefinition),
			RolloutState:       string(d.RolloutState),
			RolloutStateReason: aws.ToString(d.RolloutStateReason),
			DesiredCount:       d.DesiredCount,
			RunningCount:       d.RunningCount,
			PendingCount:       d.PendingCount,
			FailedTasks:        d.FailedTasks,
			CreatedAt:          aws.ToTime(d.CreatedAt),
			UpdatedAt:          aws.ToTime(d.UpdatedAt),
		})
	}
	return out
}

// Task is a task of an ECS deployment as the engine judges it.
type Task struct {
	ARN string
	// LastStatus is PROVISIONING, PENDING, ACTIVATING, RUNNING,
	// DEACTIVATING, STOPPING, DEPROVISIONING or STOPPED.
	LastStatus string
	// HealthStatus is HEALTHY, UNHEALTHY or UNKNOWN: UNKNOWN until the
	// container health checks have a verdict, and for ever when the task
	// definition has none.
	HealthStatus string
}

// DeploymentTasks returns the tasks ECS started for the service deployment
// id (their startedBy), whose desired status is RUNNING: the tasks a
// scale-up of that deployment added, still starting or running.
func (c *Client) DeploymentTasks(ctx context.Context, cluster, id string) ([]Task, error) {
	op := "list tasks of " + cluster + " started by " + id
	// startedBy must be the only filter of ListTasks (the default
	// desired status, RUNNING, applies).
	p := sdk.NewListTasksPaginator(c.api, &sdk.ListTasksInput{Cluster: &cluster, StartedBy: &id})
	var arns []string
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, awsapi.Classify(op, err)
		}
		arns = append(arns, out.TaskArns...)
	}
	var tasks []Task
	for batch := range slices.Chunk(arns, 100) {
		out, err := c.api.DescribeTasks(ctx, &sdk.DescribeTasksInput{Cluster: &cluster, Tasks: batch})
		if err != nil {
			return nil, awsapi.Classify("describe tasks of "+cluster+" started by "+id, err)
		}
		for _, t := range out.Tasks {
			tasks = append(tasks, Task{ARN: aws.ToString(t.TaskArn), LastStatus: aws.ToString(t.LastStatus),
				HealthStatus: string(t.HealthStatus)})
		}
	}
	return tasks, nil
}
