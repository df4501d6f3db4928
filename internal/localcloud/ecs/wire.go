package ecs

import (
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// Wire shapes of the ECS JSON 1.1 API, named as the API names its members.

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type capacityProviderStrategyItem struct {
	CapacityProvider string `json:"capacityProvider"`
	Weight           int32  `json:"weight"`
	Base             int32  `json:"base"`
}

type networkConfiguration struct {
	Awsvpc *awsvpcConfiguration `json:"awsvpcConfiguration,omitempty"`
}

type awsvpcConfiguration struct {
	Subnets        []string `json:"subnets"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	AssignPublicIP string   `json:"assignPublicIp,omitempty"`
}

type loadBalancer struct {
	TargetGroupARN   string `json:"targetGroupArn,omitempty"`
	LoadBalancerName string `json:"loadBalancerName,omitempty"`
	ContainerName    string `json:"containerName,omitempty"`
	ContainerPort    int32  `json:"containerPort,omitempty"`
	// Advanced is the blue/green configuration of a native deployment
	// strategy (see deployments.go).
	Advanced *advancedConfiguration `json:"advancedConfiguration,omitempty"`
}

type advancedConfiguration struct {
	AlternateTargetGroupARN string `json:"alternateTargetGroupArn,omitempty"`
	ProductionListenerRule  string `json:"productionListenerRule,omitempty"`
	TestListenerRule        string `json:"testListenerRule,omitempty"`
	RoleARN                 string `json:"roleArn,omitempty"`
}

type serviceRegistry struct {
	RegistryARN   string `json:"registryArn,omitempty"`
	Port          int32  `json:"port,omitempty"`
	ContainerName string `json:"containerName,omitempty"`
	ContainerPort int32  `json:"containerPort,omitempty"`
}

type deploymentConfigurationIn struct {
	CircuitBreaker *struct {
		Enable   bool `json:"enable"`
		Rollback bool `json:"rollback"`
	} `json:"deploymentCircuitBreaker"`
	MaximumPercent        *int32               `json:"maximumPercent"`
	MinimumHealthyPercent *int32               `json:"minimumHealthyPercent"`
	Alarms                *deploymentAlarms    `json:"alarms"`
	Strategy              string               `json:"strategy"`
	BakeTimeInMinutes     *int32               `json:"bakeTimeInMinutes"`
	Canary                *canaryConfiguration `json:"canaryConfiguration"`
	Linear                *linearConfiguration `json:"linearConfiguration"`
	LifecycleHooks        *[]lifecycleHook     `json:"lifecycleHooks"`
}

type deploymentController struct {
	Type string `json:"type"`
}

// ts returns t as the epoch seconds AWS JSON sends, nil for the zero time.
func ts(t time.Time) *float64 {
	if t.IsZero() {
		return nil
	}
	v := protocol.EpochSeconds(t)
	return &v
}

func tagList(m map[string]string) []tag {
	out := []tag{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, tag{Key: k, Value: m[k]})
	}
	return out
}

type failure struct {
	ARN    string `json:"arn,omitempty"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

type clusterOut struct {
	ClusterARN                        string                         `json:"clusterArn"`
	ClusterName                       string                         `json:"clusterName"`
	Status                            string                         `json:"status"`
	RegisteredContainerInstancesCount int32                          `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 int32                          `json:"runningTasksCount"`
	PendingTasksCount                 int32                          `json:"pendingTasksCount"`
	ActiveServicesCount               int32                          `json:"activeServicesCount"`
	CapacityProviders                 []string                       `json:"capacityProviders"`
	DefaultCapacityProviderStrategy   []capacityProviderStrategyItem `json:"defaultCapacityProviderStrategy"`
	Settings                          json.RawMessage                `json:"settings,omitempty"`
	Tags                              []tag                          `json:"tags,omitempty"`
}

func (s *Service) clusterOut(c *cluster, withTags bool) clusterOut {
	out := clusterOut{
		ClusterARN: c.ARN, ClusterName: c.Name, Status: c.Status,
		CapacityProviders:               append([]string{}, c.Providers...),
		DefaultCapacityProviderStrategy: append([]capacityProviderStrategyItem{}, c.Strategy...),
		Settings:                        c.Settings,
	}
	for _, i := range c.Instances {
		if i.Status == "ACTIVE" || i.Status == "DRAINING" {
			out.RegisteredContainerInstancesCount++
		}
	}
	for _, t := range c.Tasks {
		switch t.LastStatus {
		case "RUNNING":
			out.RunningTasksCount++
		case "PROVISIONING", "PENDING", "ACTIVATING":
			out.PendingTasksCount++
		}
	}
	for _, sv := range c.Services {
		if sv.Status == "ACTIVE" {
			out.ActiveServicesCount++
		}
	}
	if withTags {
		out.Tags = tagList(s.st.Tags[c.ARN])
	}
	return out
}

type deploymentOut struct {
	ID                       string                         `json:"id"`
	Status                   string                         `json:"status"`
	TaskDefinition           string                         `json:"taskDefinition"`
	DesiredCount             int32                          `json:"desiredCount"`
	PendingCount             int32                          `json:"pendingCount"`
	RunningCount             int32                          `json:"runningCount"`
	FailedTasks              int32                          `json:"failedTasks"`
	CreatedAt                *float64                       `json:"createdAt,omitempty"`
	UpdatedAt                *float64                       `json:"updatedAt,omitempty"`
	CapacityProviderStrategy []capacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	LaunchType               string                         `json:"launchType,omitempty"`
	PlatformVersion          string                         `json:"platformVersion,omitempty"`
	PlatformFamily           string                         `json:"platformFamily,omitempty"`
	NetworkConfiguration     *networkConfiguration          `json:"networkConfiguration,omitempty"`
	RolloutState             string                         `json:"rolloutState,omitempty"`
	RolloutStateReason       string                         `json:"rolloutStateReason,omitempty"`
}

type serviceEventOut struct {
	ID        string   `json:"id"`
	CreatedAt *float64 `json:"createdAt"`
	Message   string   `json:"message"`
}

type deploymentConfigurationOut struct {
	CircuitBreaker        circuitBreakerOut    `json:"deploymentCircuitBreaker"`
	MaximumPercent        int32                `json:"maximumPercent"`
	MinimumHealthyPercent int32                `json:"minimumHealthyPercent"`
	Alarms                *deploymentAlarms    `json:"alarms,omitempty"`
	Strategy              string               `json:"strategy,omitempty"`
	BakeTimeInMinutes     *int32               `json:"bakeTimeInMinutes,omitempty"`
	Canary                *canaryConfiguration `json:"canaryConfiguration,omitempty"`
	Linear                *linearConfiguration `json:"linearConfiguration,omitempty"`
	LifecycleHooks        []lifecycleHook      `json:"lifecycleHooks,omitempty"`
}

type circuitBreakerOut struct {
	Enable   bool `json:"enable"`
	Rollback bool `json:"rollback"`
}

type serviceOut struct {
	ServiceARN                    string                         `json:"serviceArn"`
	ServiceName                   string                         `json:"serviceName"`
	ClusterARN                    string                         `json:"clusterArn"`
	LoadBalancers                 []loadBalancer                 `json:"loadBalancers"`
	ServiceRegistries             []serviceRegistry              `json:"serviceRegistries"`
	Status                        string                         `json:"status"`
	DesiredCount                  int32                          `json:"desiredCount"`
	RunningCount                  int32                          `json:"runningCount"`
	PendingCount                  int32                          `json:"pendingCount"`
	LaunchType                    string                         `json:"launchType,omitempty"`
	CapacityProviderStrategy      []capacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	PlatformVersion               string                         `json:"platformVersion,omitempty"`
	PlatformFamily                string                         `json:"platformFamily,omitempty"`
	TaskDefinition                string                         `json:"taskDefinition"`
	DeploymentConfiguration       deploymentConfigurationOut     `json:"deploymentConfiguration"`
	Deployments                   []deploymentOut                `json:"deployments"`
	RoleARN                       string                         `json:"roleArn,omitempty"`
	Events                        []serviceEventOut              `json:"events"`
	CreatedAt                     *float64                       `json:"createdAt"`
	PlacementConstraints          json.RawMessage                `json:"placementConstraints,omitempty"`
	PlacementStrategy             json.RawMessage                `json:"placementStrategy,omitempty"`
	NetworkConfiguration          *networkConfiguration          `json:"networkConfiguration,omitempty"`
	HealthCheckGracePeriodSeconds *int32                         `json:"healthCheckGracePeriodSeconds,omitempty"`
	SchedulingStrategy            string                         `json:"schedulingStrategy"`
	DeploymentController          deploymentController           `json:"deploymentController"`
	Tags                          []tag                          `json:"tags,omitempty"`
	CreatedBy                     string                         `json:"createdBy"`
	EnableECSManagedTags          bool                           `json:"enableECSManagedTags"`
	PropagateTags                 string                         `json:"propagateTags"`
	EnableExecuteCommand          bool                           `json:"enableExecuteCommand"`
	// CurrentServiceDeployment is the ARN of the service's latest native
	// deployment.
	CurrentServiceDeployment string `json:"currentServiceDeployment,omitempty"`
}

func (s *Service) serviceOut(c *cluster, sv *service, withTags bool) serviceOut {
	out := serviceOut{
		ServiceARN: sv.ARN, ServiceName: sv.Name, ClusterARN: c.ARN,
		LoadBalancers:            append([]loadBalancer{}, sv.LoadBalancers...),
		ServiceRegistries:        append([]serviceRegistry{}, sv.Registries...),
		Status:                   sv.Status,
		DesiredCount:             sv.DesiredCount,
		LaunchType:               sv.LaunchType,
		CapacityProviderStrategy: sv.Strategy,
		PlatformVersion:          sv.PlatformVersion,
		TaskDefinition:           sv.TaskDefinition,
		DeploymentConfiguration: deploymentConfigurationOut{
			CircuitBreaker:        circuitBreakerOut{Enable: sv.CircuitBreaker, Rollback: sv.Rollback},
			MaximumPercent:        sv.MaximumPercent,
			MinimumHealthyPercent: sv.MinimumHealthy,
		},
		Deployments:          []deploymentOut{},
		RoleARN:              sv.Role,
		Events:               []serviceEventOut{},
		CreatedAt:            ts(sv.CreatedAt),
		PlacementConstraints: sv.PlacementConstraints,
		PlacementStrategy:    sv.PlacementStrategy,
		NetworkConfiguration: sv.Network,
		SchedulingStrategy:   sv.Scheduling,
		DeploymentController: deploymentController{Type: sv.Controller},
		CreatedBy:            "arn:aws:iam::" + protocol.Account + ":root",
		EnableECSManagedTags: sv.ManagedTags,
		PropagateTags:        sv.PropagateTags,
		EnableExecuteCommand: sv.ExecuteCommand,
	}
	if out.PropagateTags == "" {
		out.PropagateTags = "NONE"
	}
	sv.Native.out(&out.DeploymentConfiguration)
	out.CurrentServiceDeployment = sv.ServiceDeployment
	if sv.fargate() {
		out.PlatformFamily = "Linux"
	}
	if len(sv.LoadBalancers) > 0 || sv.GracePeriod > 0 {
		g := sv.GracePeriod
		out.HealthCheckGracePeriodSeconds = &g
	}
	for _, d := range sv.Deployments {
		pending, running := s.countTasks(c, sv.Name, d.ID)
		do := deploymentOut{
			ID: d.ID, Status: d.Status, TaskDefinition: d.TaskDefinition,
			DesiredCount: d.DesiredCount, PendingCount: pending, RunningCount: running, FailedTasks: d.FailedTasks,
			CreatedAt: ts(d.CreatedAt), UpdatedAt: ts(d.UpdatedAt),
			CapacityProviderStrategy: d.Strategy, LaunchType: d.LaunchType, PlatformVersion: d.Platform,
			NetworkConfiguration: d.Network, RolloutState: d.RolloutState, RolloutStateReason: d.RolloutReason,
		}
		if d.LaunchType == "FARGATE" || len(d.Strategy) > 0 {
			do.PlatformFamily = "Linux"
		}
		out.Deployments = append(out.Deployments, do)
		out.PendingCount += pending
		out.RunningCount += running
	}
	for _, e := range sv.Events {
		out.Events = append(out.Events, serviceEventOut{ID: e.ID, CreatedAt: ts(e.CreatedAt), Message: e.Message})
	}
	if withTags {
		out.Tags = tagList(s.st.Tags[sv.ARN])
	}
	return out
}

type containerOut struct {
	ContainerARN    string           `json:"containerArn"`
	TaskARN         string           `json:"taskArn"`
	Name            string           `json:"name"`
	Image           string           `json:"image"`
	LastStatus      string           `json:"lastStatus"`
	ExitCode        *int32           `json:"exitCode,omitempty"`
	Reason          string           `json:"reason,omitempty"`
	HealthStatus    string           `json:"healthStatus"`
	NetworkBindings []networkBinding `json:"networkBindings,omitempty"`
}

type networkBinding struct {
	ContainerPort int32  `json:"containerPort"`
	HostPort      int32  `json:"hostPort"`
	Protocol      string `json:"protocol"`
	BindIP        string `json:"bindIP"`
}

type attachmentOut struct {
	ID      string         `json:"id"`
	Type    string         `json:"type"`
	Status  string         `json:"status"`
	Details []keyValuePair `json:"details"`
}

type keyValuePair struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type taskOut struct {
	TaskARN              string          `json:"taskArn"`
	ClusterARN           string          `json:"clusterArn"`
	TaskDefinitionARN    string          `json:"taskDefinitionArn"`
	ContainerInstanceARN string          `json:"containerInstanceArn,omitempty"`
	LastStatus           string          `json:"lastStatus"`
	DesiredStatus        string          `json:"desiredStatus"`
	HealthStatus         string          `json:"healthStatus"`
	CPU                  string          `json:"cpu,omitempty"`
	Memory               string          `json:"memory,omitempty"`
	Containers           []containerOut  `json:"containers"`
	StartedBy            string          `json:"startedBy,omitempty"`
	Group                string          `json:"group"`
	LaunchType           string          `json:"launchType"`
	CapacityProviderName string          `json:"capacityProviderName,omitempty"`
	PlatformVersion      string          `json:"platformVersion,omitempty"`
	PlatformFamily       string          `json:"platformFamily,omitempty"`
	Attachments          []attachmentOut `json:"attachments"`
	AvailabilityZone     string          `json:"availabilityZone"`
	Version              int64           `json:"version"`
	StopCode             string          `json:"stopCode,omitempty"`
	StoppedReason        string          `json:"stoppedReason,omitempty"`
	Connectivity         string          `json:"connectivity,omitempty"`
	CreatedAt            *float64        `json:"createdAt,omitempty"`
	PullStartedAt        *float64        `json:"pullStartedAt,omitempty"`
	StartedAt            *float64        `json:"startedAt,omitempty"`
	StoppingAt           *float64        `json:"stoppingAt,omitempty"`
	StoppedAt            *float64        `json:"stoppedAt,omitempty"`
	Tags                 []tag           `json:"tags,omitempty"`
}

func (s *Service) taskOut(c *cluster, t *task, withTags bool) taskOut {
	out := taskOut{
		TaskARN: t.ARN, ClusterARN: c.ARN, TaskDefinitionARN: t.TaskDefinition,
		ContainerInstanceARN: t.ContainerInstance,
		LastStatus:           t.LastStatus, DesiredStatus: t.DesiredStatus, HealthStatus: t.HealthStatus,
		Containers: []containerOut{}, StartedBy: t.StartedBy, Group: t.Group, LaunchType: t.LaunchType,
		CapacityProviderName: t.CapacityProvider, Attachments: []attachmentOut{},
		AvailabilityZone: s.region + "a", Version: t.Version,
		StopCode: t.StopCode, StoppedReason: t.StoppedReason,
		CreatedAt: ts(t.CreatedAt), StartedAt: ts(t.StartedAt), StoppingAt: ts(t.StoppingAt), StoppedAt: ts(t.StoppedAt),
	}
	if t.CPU > 0 {
		out.CPU = itoa(t.CPU)
	}
	if t.Memory > 0 {
		out.Memory = itoa(t.Memory)
	}
	if t.LaunchType == "FARGATE" {
		out.PlatformVersion, out.PlatformFamily = "1.4.0", "Linux"
	}
	if t.LastStatus != "PROVISIONING" {
		out.PullStartedAt = ts(t.CreatedAt)
		out.Connectivity = "CONNECTED"
	}
	if t.Network != nil {
		status := "ATTACHED"
		if t.LastStatus == "PROVISIONING" {
			status = "PRECREATED"
		} else if t.LastStatus == "STOPPED" {
			status = "DELETED"
		}
		out.Attachments = append(out.Attachments, attachmentOut{
			ID: attachmentID(t.ID), Type: "ElasticNetworkInterface", Status: status,
			Details: []keyValuePair{{Name: "privateIPv4Address", Value: t.PrivateIP}},
		})
	}
	for _, ct := range t.Containers {
		co := containerOut{
			ContainerARN: "arn:aws:ecs:" + s.region + ":" + protocol.Account + ":container/" + c.Name + "/" + t.ID + "/" + ct.Name,
			TaskARN:      t.ARN, Name: ct.Name, Image: ct.Image, LastStatus: ct.LastStatus,
			ExitCode: ct.ExitCode, Reason: ct.Reason, HealthStatus: ct.HealthStatus,
		}
		for key, hp := range t.HostPorts {
			name, port := splitPortKey(key)
			if name == ct.Name {
				co.NetworkBindings = append(co.NetworkBindings, networkBinding{ContainerPort: port, HostPort: hp, Protocol: "tcp", BindIP: "0.0.0.0"})
			}
		}
		slices.SortFunc(co.NetworkBindings, func(a, b networkBinding) int { return int(a.ContainerPort - b.ContainerPort) })
		out.Containers = append(out.Containers, co)
	}
	if withTags {
		out.Tags = tagList(s.st.Tags[t.ARN])
	}
	return out
}

type resourceOut struct {
	Name         string `json:"name"`
	Type         string `json:"type"`
	IntegerValue int32  `json:"integerValue"`
}

type containerInstanceOut struct {
	ContainerInstanceARN string        `json:"containerInstanceArn"`
	EC2InstanceID        string        `json:"ec2InstanceId"`
	Status               string        `json:"status"`
	AgentConnected       bool          `json:"agentConnected"`
	RunningTasksCount    int32         `json:"runningTasksCount"`
	PendingTasksCount    int32         `json:"pendingTasksCount"`
	RegisteredResources  []resourceOut `json:"registeredResources"`
	RemainingResources   []resourceOut `json:"remainingResources"`
	RegisteredAt         *float64      `json:"registeredAt"`
	Version              int64         `json:"version"`
	Tags                 []tag         `json:"tags,omitempty"`
}

func (s *Service) instanceOut(c *cluster, i *containerInstance) containerInstanceOut {
	cpu, mem := s.usedResources(c, i.ARN)
	out := containerInstanceOut{
		ContainerInstanceARN: i.ARN, EC2InstanceID: i.EC2ID, Status: i.Status, AgentConnected: true,
		RegisteredResources: []resourceOut{{Name: "CPU", Type: "INTEGER", IntegerValue: i.CPU}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: i.Memory}},
		RemainingResources:  []resourceOut{{Name: "CPU", Type: "INTEGER", IntegerValue: i.CPU - cpu}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: i.Memory - mem}},
		RegisteredAt:        ts(i.RegisteredAt), Version: 1,
	}
	for _, t := range c.Tasks {
		if t.ContainerInstance != i.ARN {
			continue
		}
		switch t.LastStatus {
		case "RUNNING":
			out.RunningTasksCount++
		case "PROVISIONING", "PENDING":
			out.PendingTasksCount++
		}
	}
	return out
}

// attachmentID derives the id of a task's network interface attachment.
func attachmentID(taskID string) string {
	return taskID[:min(8, len(taskID))] + "-eni"
}
