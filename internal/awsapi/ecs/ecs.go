// Package ecs is the adapter over the Amazon ECS API: task definitions and
// services, in the terms the deployment engine uses.
package ecs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/slipwayhq/slipway/internal/awsapi"
)

// ErrNotFound means the service does not exist or is INACTIVE (deleted).
var ErrNotFound = errors.New("not found")

// api lists the ECS client methods the adapter uses.
type api interface {
	RegisterTaskDefinition(context.Context, *sdk.RegisterTaskDefinitionInput, ...func(*sdk.Options)) (*sdk.RegisterTaskDefinitionOutput, error)
	DeregisterTaskDefinition(context.Context, *sdk.DeregisterTaskDefinitionInput, ...func(*sdk.Options)) (*sdk.DeregisterTaskDefinitionOutput, error)
	ListTaskDefinitions(context.Context, *sdk.ListTaskDefinitionsInput, ...func(*sdk.Options)) (*sdk.ListTaskDefinitionsOutput, error)
	DescribeServices(context.Context, *sdk.DescribeServicesInput, ...func(*sdk.Options)) (*sdk.DescribeServicesOutput, error)
	CreateService(context.Context, *sdk.CreateServiceInput, ...func(*sdk.Options)) (*sdk.CreateServiceOutput, error)
	UpdateService(context.Context, *sdk.UpdateServiceInput, ...func(*sdk.Options)) (*sdk.UpdateServiceOutput, error)
	DeleteService(context.Context, *sdk.DeleteServiceInput, ...func(*sdk.Options)) (*sdk.DeleteServiceOutput, error)
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
	Status         string // ACTIVE, DRAINING
	TaskDefinition string
	DesiredCount   int32
	RunningCount   int32
	PendingCount   int32
	Scheduling     string // REPLICA or DAEMON
	Deployments    []Deployment
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
// wrapping ErrNotFound when the service does not exist or is INACTIVE. A
// missing cluster is not ErrNotFound: it is a configuration error, and
// creating the service would fail too.
func (c *Client) DescribeService(ctx context.Context, cluster, name string) (*Service, error) {
	op := "describe service " + cluster + "/" + name
	out, err := c.api.DescribeServices(ctx, &sdk.DescribeServicesInput{Cluster: &cluster, Services: []string{name}})
	if err != nil {
		return nil, awsapi.Classify(op, err)
	}
	for _, s := range out.Services {
		if aws.ToString(s.Status) == "INACTIVE" {
			return nil, fmt.Errorf("%s: %w (INACTIVE)", op, ErrNotFound)
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
		Name:           aws.ToString(s.ServiceName),
		ARN:            aws.ToString(s.ServiceArn),
		Cluster:        aws.ToString(s.ClusterArn),
		Status:         aws.ToString(s.Status),
		TaskDefinition: aws.ToString(s.TaskDefinition),
		DesiredCount:   s.DesiredCount,
		RunningCount:   s.RunningCount,
		PendingCount:   s.PendingCount,
		Scheduling:     string(s.SchedulingStrategy),
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
