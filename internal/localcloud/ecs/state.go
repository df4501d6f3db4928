package ecs

import (
	"encoding/json"
	"time"
)

// state is everything the simulation knows, in plain structs so that
// Snapshot can write it as JSON and Restore read it back. It is guarded by
// Service.mu.
type state struct {
	// Seq numbers the ids the service generates, so that they are stable
	// across a snapshot.
	Seq uint64 `json:"seq"`
	// IPSeq numbers the private addresses given to awsvpc tasks.
	IPSeq    uint64                       `json:"ipSeq"`
	Clusters map[string]*cluster          `json:"clusters"`        // by name
	Families map[string][]*taskDef        `json:"taskDefinitions"` // by family; revision r at index r-1
	Tags     map[string]map[string]string `json:"tags"`            // by resource ARN
	// Revisions are the service revisions, by ARN; ServiceDeployments the
	// native deployments, by ARN (see deployments.go).
	Revisions          map[string]*serviceRevision   `json:"serviceRevisions,omitempty"`
	ServiceDeployments map[string]*serviceDeployment `json:"serviceDeployments,omitempty"`
}

type cluster struct {
	Name      string                         `json:"name"`
	ARN       string                         `json:"arn"`
	Status    string                         `json:"status"` // ACTIVE or INACTIVE
	Settings  json.RawMessage                `json:"settings,omitempty"`
	Instances []*containerInstance           `json:"instances"`
	Services  map[string]*service            `json:"services"` // by name
	Tasks     map[string]*task               `json:"tasks"`    // by task id
	Providers []string                       `json:"capacityProviders"`
	Strategy  []capacityProviderStrategyItem `json:"defaultCapacityProviderStrategy,omitempty"`
}

type containerInstance struct {
	ARN          string    `json:"arn"`
	EC2ID        string    `json:"ec2InstanceId"`
	Status       string    `json:"status"` // ACTIVE or DRAINING
	CPU          int32     `json:"cpu"`
	Memory       int32     `json:"memory"`
	PrivateIP    string    `json:"privateIp"`
	RegisteredAt time.Time `json:"registeredAt"`
}

// taskDef is one revision of a task definition. Raw keeps the registration
// request as sent (without tags), so Describe echoes every field the client
// set; the fields below are what the simulation reads from it.
type taskDef struct {
	Raw            map[string]json.RawMessage `json:"raw"`
	Family         string                     `json:"family"`
	Revision       int32                      `json:"revision"`
	ARN            string                     `json:"arn"`
	Status         string                     `json:"status"` // ACTIVE or INACTIVE
	NetworkMode    string                     `json:"networkMode"`
	Compatibility  []string                   `json:"requiresCompatibilities"`
	CPU            int32                      `json:"cpu"`    // task level, 0 when unset
	Memory         int32                      `json:"memory"` // task level, 0 when unset
	Containers     []containerDef             `json:"containers"`
	RegisteredAt   time.Time                  `json:"registeredAt"`
	DeregisteredAt time.Time                  `json:"deregisteredAt,omitzero"`
}

type containerDef struct {
	Name              string        `json:"name"`
	Image             string        `json:"image"`
	Essential         bool          `json:"essential"`
	CPU               int32         `json:"cpu"`
	Memory            int32         `json:"memory"` // reserved: memoryReservation, else memory
	Ports             []portMapping `json:"portMappings"`
	HealthCheck       bool          `json:"healthCheck"`
	HealthStartPeriod int32         `json:"healthStartPeriod"`
}

type portMapping struct {
	ContainerPort int32 `json:"containerPort"`
	HostPort      int32 `json:"hostPort"`
}

type service struct {
	Name                 string                         `json:"name"`
	ARN                  string                         `json:"arn"`
	Status               string                         `json:"status"` // ACTIVE, DRAINING, INACTIVE
	TaskDefinition       string                         `json:"taskDefinition"`
	DesiredCount         int32                          `json:"desiredCount"`
	LaunchType           string                         `json:"launchType,omitempty"`
	Strategy             []capacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	PlatformVersion      string                         `json:"platformVersion,omitempty"`
	Scheduling           string                         `json:"schedulingStrategy"`
	MaximumPercent       int32                          `json:"maximumPercent"`
	MinimumHealthy       int32                          `json:"minimumHealthyPercent"`
	CircuitBreaker       bool                           `json:"circuitBreaker"`
	Rollback             bool                           `json:"rollback"`
	Network              *networkConfiguration          `json:"networkConfiguration,omitempty"`
	LoadBalancers        []loadBalancer                 `json:"loadBalancers,omitempty"`
	Registries           []serviceRegistry              `json:"serviceRegistries,omitempty"`
	GracePeriod          int32                          `json:"healthCheckGracePeriodSeconds"`
	Role                 string                         `json:"roleArn,omitempty"`
	PropagateTags        string                         `json:"propagateTags,omitempty"`
	ManagedTags          bool                           `json:"enableECSManagedTags"`
	ExecuteCommand       bool                           `json:"enableExecuteCommand"`
	PlacementConstraints json.RawMessage                `json:"placementConstraints,omitempty"`
	PlacementStrategy    json.RawMessage                `json:"placementStrategy,omitempty"`
	Controller           string                         `json:"deploymentController"`
	ClientToken          string                         `json:"clientToken,omitempty"`
	Deployments          []*deployment                  `json:"deployments"` // PRIMARY first
	Events               []serviceEvent                 `json:"events"`      // newest first
	CreatedAt            time.Time                      `json:"createdAt"`
	// LastCompleted is the last deployment that reached COMPLETED, which a
	// circuit breaker rollback returns to.
	LastCompleted *deployment `json:"lastCompleted,omitempty"`
	// Steady is true while the service is in a steady state, so that the
	// steady-state event is posted once per arrival.
	Steady bool `json:"steady"`
	// Unplaced is the reason of the last placement failure, so the same
	// service event is not repeated on every pass.
	Unplaced string `json:"unplaced,omitempty"`
	// Native is the service's native deployment configuration: strategy
	// (empty for ROLLING), bake, canary or linear steps, hooks and alarms.
	Native nativeConfig `json:"native,omitzero"`
	// LiveTargetGroup is the target group of the load balancer with
	// advancedConfiguration that production traffic goes to, once a native
	// deployment has swapped the roles of the two; empty before.
	LiveTargetGroup string `json:"liveTargetGroup,omitempty"`
	// ServiceDeployment is the ARN of the service's latest native
	// deployment.
	ServiceDeployment string `json:"serviceDeployment,omitempty"`
}

type deployment struct {
	ID             string                         `json:"id"`
	Status         string                         `json:"status"` // PRIMARY or ACTIVE
	TaskDefinition string                         `json:"taskDefinition"`
	DesiredCount   int32                          `json:"desiredCount"`
	FailedTasks    int32                          `json:"failedTasks"`
	LaunchType     string                         `json:"launchType,omitempty"`
	Strategy       []capacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	Platform       string                         `json:"platformVersion,omitempty"`
	Network        *networkConfiguration          `json:"networkConfiguration,omitempty"`
	RolloutState   string                         `json:"rolloutState"`
	RolloutReason  string                         `json:"rolloutStateReason"`
	CreatedAt      time.Time                      `json:"createdAt"`
	UpdatedAt      time.Time                      `json:"updatedAt"`
	// Revision is the ARN of the service revision the deployment runs.
	Revision string `json:"revision,omitempty"`
	// LoadBalancers, when set, are the target groups its tasks register in
	// (a native deployment's target revision uses the alternate ones);
	// otherwise the service's.
	LoadBalancers []loadBalancer `json:"loadBalancers,omitempty"`
	// Native is the ARN of the service deployment that brings this
	// deployment up, for native strategies.
	Native string `json:"native,omitempty"`
}

type serviceEvent struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
	Message   string    `json:"message"`
}

// Task lifecycle steps: what happens to a task at its Next time.
const (
	stepPending = "pending" // PROVISIONING → PENDING
	stepRunning = "running" // PENDING → RUNNING
	stepCrash   = "crash"   // the essential container exits
	stepHealth  = "health"  // the first health check verdict
	stepHCFail  = "hcfail"  // unhealthy and out of the grace period: replace
	stepDrained = "drained" // DEACTIVATING → STOPPING (targets deregistered)
	stepStopped = "stopped" // STOPPING → STOPPED
)

type task struct {
	ID                string                `json:"id"`
	ARN               string                `json:"arn"`
	Service           string                `json:"service,omitempty"` // owning service name
	Deployment        string                `json:"deployment,omitempty"`
	TaskDefinition    string                `json:"taskDefinition"`
	StartedBy         string                `json:"startedBy,omitempty"`
	Group             string                `json:"group"`
	LaunchType        string                `json:"launchType"`
	CapacityProvider  string                `json:"capacityProvider,omitempty"`
	ContainerInstance string                `json:"containerInstance,omitempty"` // ARN
	PrivateIP         string                `json:"privateIp"`
	HostPorts         map[string]int32      `json:"hostPorts,omitempty"` // "container:port" → host port
	Containers        []taskContainer       `json:"containers"`
	CPU               int32                 `json:"cpu"`
	Memory            int32                 `json:"memory"`
	LastStatus        string                `json:"lastStatus"`
	DesiredStatus     string                `json:"desiredStatus"`
	HealthStatus      string                `json:"healthStatus"` // UNKNOWN, HEALTHY, UNHEALTHY
	TargetsUp         bool                  `json:"targetsUp"`    // registered with the load balancers
	Failed            bool                  `json:"failed"`       // stopped by a failure (counts for the circuit breaker)
	StopCode          string                `json:"stopCode,omitempty"`
	StoppedReason     string                `json:"stoppedReason,omitempty"`
	Version           int64                 `json:"version"`
	CreatedAt         time.Time             `json:"createdAt"`
	StartedAt         time.Time             `json:"startedAt,omitzero"`
	StoppingAt        time.Time             `json:"stoppingAt,omitzero"`
	StoppedAt         time.Time             `json:"stoppedAt,omitzero"`
	Next              time.Time             `json:"next,omitzero"`
	Step              string                `json:"step,omitempty"`
	Network           *networkConfiguration `json:"networkConfiguration,omitempty"`

	// CloudMap are the Cloud Map services (srv-…) the task is registered
	// in: those of its service when it started. It is deregistered from
	// them when it stops, whatever registries its service has by then
	// (an UpdateService changing them leaves running tasks as they are).
	CloudMap []string `json:"cloudMap,omitempty"`
}

type taskContainer struct {
	Name         string `json:"name"`
	Image        string `json:"image"`
	Essential    bool   `json:"essential"`
	LastStatus   string `json:"lastStatus"`
	ExitCode     *int32 `json:"exitCode,omitempty"`
	HealthStatus string `json:"healthStatus"`
	Reason       string `json:"reason,omitempty"`
}

// stopping reports whether the task is on its way out (or gone).
func (t *task) stopping() bool { return t.DesiredStatus == "STOPPED" }

// healthy reports whether the task counts as healthy for the minimum
// healthy percent and for steady state: running, not being stopped, past
// its first health check when it has one, and not about to crash (a
// container that crashes on start dies before ECS counts it).
func (t *task) healthy() bool {
	return !t.stopping() && t.LastStatus == "RUNNING" && t.HealthStatus != "UNHEALTHY" &&
		t.Step != stepHealth && t.Step != stepCrash
}
