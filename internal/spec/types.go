package spec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Service is services/<name>.yaml: where the image comes from, the task
// definition, the ECS service, auto scaling and the deployment strategy.
type Service struct {
	// Name is the file name without its extension.
	Name string `spec:"-"`
	// File is the path of the spec below the spec root ("services/web.yaml").
	File string `spec:"-"`
	// Image is the ECR repository whose pushes deploy this service.
	Image ImageSource
	// Pipeline is the ordered list of environments a release is promoted
	// through.
	Pipeline []string
	// Variables are the service's own ${NAME} values; an environment's
	// variables of the same name win.
	Variables map[string]string
	// TaskDefinition is registered for every deployment, in the shape of the
	// ECS RegisterTaskDefinition API.
	TaskDefinition *ecs.RegisterTaskDefinitionInput
	// Service holds the CreateService/UpdateService fields.
	Service *ServiceDefinition
	// AutoScaling is the Application Auto Scaling configuration; nil when
	// the service does not scale.
	AutoScaling *AutoScaling
	// Strategy is how a new revision replaces the old one.
	Strategy Strategy

	// positions maps field paths to where they were written, so problems
	// found while rendering point at the text; nil for a Service built in code.
	positions map[string]pos
}

// ImageSource names the ECR repository a service's image comes from and the
// tags whose push starts a deployment.
type ImageSource struct {
	// Repository is the ECR repository name ("web", "team/web").
	Repository string
	// Tags are path.Match patterns ("v*", "main-*"); a push with a matching
	// tag deploys. Empty means every tagged push.
	Tags []string
}

// ServiceDefinition is the part of ecs.CreateServiceInput a spec may set.
// Cluster, service name and task definition come from the environment and
// the deployment; launch type, capacity providers and network default to the
// environment's.
type ServiceDefinition struct {
	SchedulingStrategy            types.SchedulingStrategy
	DesiredCount                  *int32
	LaunchType                    types.LaunchType
	CapacityProviderStrategy      []types.CapacityProviderStrategyItem
	PlatformVersion               *string
	NetworkConfiguration          *types.NetworkConfiguration
	LoadBalancers                 []types.LoadBalancer
	ServiceRegistries             []types.ServiceRegistry
	DeploymentConfiguration       *types.DeploymentConfiguration
	HealthCheckGracePeriodSeconds *int32
	PlacementConstraints          []types.PlacementConstraint
	PlacementStrategy             []types.PlacementStrategy
	Tags                          []types.Tag
	PropagateTags                 types.PropagateTags
	EnableECSManagedTags          bool
	EnableExecuteCommand          bool
}

// AutoScaling is the service's Application Auto Scaling configuration
// (scalable dimension ecs:service:DesiredCount).
type AutoScaling struct {
	// MinCapacity and MaxCapacity bound the desired count.
	MinCapacity int32
	MaxCapacity int32
	// Policies are target-tracking or step-scaling policies.
	Policies []ScalingPolicy
	// ScheduledActions change the bounds on a schedule.
	ScheduledActions []ScheduledAction
}

// ScalingPolicy is one PutScalingPolicy call; exactly one configuration is set.
type ScalingPolicy struct {
	PolicyName                               string
	TargetTrackingScalingPolicyConfiguration *aastypes.TargetTrackingScalingPolicyConfiguration
	StepScalingPolicyConfiguration           *aastypes.StepScalingPolicyConfiguration
}

// ScheduledAction is one PutScheduledAction call.
type ScheduledAction struct {
	ScheduledActionName  string
	Schedule             string
	Timezone             string
	StartTime            *time.Time
	EndTime              *time.Time
	ScalableTargetAction *aastypes.ScalableTargetAction
}

// The strategy kinds.
const (
	Rolling   = "rolling"
	Canary    = "canary"
	BlueGreen = "bluegreen"
	// ECS hands the traffic shift to ECS itself (deploymentConfiguration
	// strategy BLUE_GREEN, CANARY or LINEAR on one service); Slipway gates
	// each stage with PAUSE lifecycle hooks. Mode says which.
	ECS = "ecs"
)

// The modes of kind ecs, each an ECS deployment strategy.
const (
	ModeBlueGreen = "bluegreen" // BLUE_GREEN: all production traffic at once
	ModeCanary    = "canary"    // CANARY: canaryPercent, canaryBake, then the rest
	ModeLinear    = "linear"    // LINEAR: stepPercent more after each stepBake
)

// Strategy is how a deployment moves from the old revision to the new one.
// In YAML it is an object, or just the kind: `strategy: rolling`.
type Strategy struct {
	// Kind is rolling, canary or bluegreen.
	Kind string
	// Steps move traffic (or tasks, for canary without a load balancer) to
	// the new revision; weights increase and the last is 100.
	Steps []Step
	// FinalBake is how long alarms are watched after the last step before
	// the old revision is retired.
	FinalBake Duration
	// Alarms are CloudWatch alarm names; any in ALARM rolls back.
	Alarms []string
	// StabilizationTimeout bounds how long ECS may take to reach a steady state.
	StabilizationTimeout Duration
	// TerminationWait is how long bluegreen keeps the old slot running
	// after traffic moved, so rollback is a weight flip.
	TerminationWait Duration
	// TestListener routes the test listener rule to the new slot before
	// traffic moves (bluegreen), or to the new revision (ecs).
	TestListener bool

	// Mode is, for kind ecs, the ECS strategy: bluegreen, canary or linear.
	Mode string
	// CanaryPercent is the production traffic % of the canary (mode
	// canary; ECS accepts 0.1..100).
	CanaryPercent float64
	// CanaryBake is how long ECS waits, alarms watched, before it shifts
	// the rest (canaryBakeTimeInMinutes; whole minutes, up to 24h).
	CanaryBake Duration
	// StepPercent is the traffic % each step of mode linear adds (ECS
	// accepts 3..100).
	StepPercent float64
	// StepBake is how long ECS waits between linear steps
	// (stepBakeTimeInMinutes; whole minutes, up to 24h).
	StepBake Duration
	// Bake is how long ECS keeps the old revision after all traffic moved,
	// for its own instant rollback (bakeTimeInMinutes; whole minutes, up
	// to 24h).
	Bake Duration
}

// Step is one traffic step.
type Step struct {
	// Weight is the percentage on the new revision after this step (1..100).
	Weight int
	// Bake is how long alarms are watched after the step.
	Bake Duration
}

// Duration is a time.Duration written as Go duration text: "90s", "10m", "1h30m".
type Duration struct {
	time.Duration
}

// Environment is environments/<name>.yaml: where services run and how
// deployments to it behave.
type Environment struct {
	// Name is the file name without its extension.
	Name string `spec:"-"`
	// File is the path of the spec below the spec root.
	File string `spec:"-"`
	// Cluster is the ECS cluster name or ARN.
	Cluster string
	// LaunchType is the default launch type of services that set neither a
	// launch type nor a capacity provider strategy.
	LaunchType string
	// CapacityProviderStrategy is the default capacity provider strategy.
	CapacityProviderStrategy []types.CapacityProviderStrategyItem
	// Network is the default awsvpc network configuration.
	Network Network
	// LoadBalancers maps a service name to its load balancer wiring.
	LoadBalancers map[string]LoadBalancer
	// Variables are ${NAME} values for every service in the environment.
	Variables map[string]string
	// Alarms are alarm names watched for every deployment here.
	Alarms []string
	// RoleARN is an IAM role assumed to deploy into another account.
	RoleARN string `spec:"roleArn"`
	// Approval gates deployments on a person's approval.
	Approval *Approval
	// DeployOnChange deploys when a spec file changes, not only on image pushes.
	DeployOnChange bool
	// Strategy overrides the services' strategies in this environment.
	Strategy *Strategy
	// Overrides are per-service RFC 7386 merge patches applied to the
	// rendered {taskDefinition, service, autoScaling, strategy} document.
	Overrides map[string]json.RawMessage

	// positions maps field paths to where they were written.
	positions map[string]pos
}

// Network is an awsvpc network configuration.
type Network struct {
	Subnets        []string
	SecurityGroups []string
	AssignPublicIp bool
}

// LoadBalancer wires a service to an ALB listener rule and two target groups.
type LoadBalancer struct {
	// ListenerRuleArn is the rule whose weighted forward action moves traffic.
	ListenerRuleArn string
	// TargetGroupArns are the blue and green target groups; rolling needs only the first.
	TargetGroupArns [2]string
	// TestListenerRuleArn routes test traffic to the new slot (bluegreen)
	// or the new revision (ecs).
	TestListenerRuleArn string
	// InfrastructureRoleARN is the IAM role ECS assumes to change the
	// listener rules and target groups in a deployment of kind ecs
	// (loadBalancers[].advancedConfiguration.roleArn).
	InfrastructureRoleARN string `spec:"infrastructureRoleArn"`
	// ContainerName and ContainerPort are registered in the target groups.
	ContainerName string
	ContainerPort int32
}

// Approval gates deployments on a person's approval.
type Approval struct {
	// Required makes every deployment wait for approval.
	Required bool
	// Timeout is how long to wait before the deployment is rejected.
	Timeout Duration
}

func (d *Duration) decodeSpec(dec *decoder, n *node, path string) {
	if n.kind != stringKind && !(n.kind == intKind && n.value == "0") {
		dec.problem(n, path, "got %s%s, want a duration such as \"90s\", \"10m\" or \"1h30m\"", n.kind, quoteValue(n, path))
		return
	}
	v, err := time.ParseDuration(n.value)
	if err != nil {
		dec.problem(n, path, "%s is not a duration; write e.g. \"90s\", \"10m\" or \"1h30m\"", shown(n, path, "the value"))
		return
	}
	if v < 0 {
		dec.problem(n, path, "%s is negative; durations are 0 or more", shown(n, path, "the value"))
		return
	}
	d.Duration = v
}

func (d Duration) encodeSpec() *node {
	if d.Duration == 0 {
		return nil
	}
	return &node{kind: stringKind, value: d.String()}
}

// MarshalJSON writes the duration as text ("5m0s").
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// UnmarshalJSON reads duration text ("5m", "1h30m").
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	d.Duration = v
	return nil
}

func (s *Strategy) decodeSpec(dec *decoder, n *node, path string) {
	n = normalizeStrategy(n)
	if n.kind != mapKind {
		dec.problem(n, path, "got %s%s, want a strategy name (rolling, canary, bluegreen, ecs) or a mapping", n.kind, quoteValue(n, path))
		return
	}
	dec.decodeStruct(n, reflectValue(s), path)
}

// normalizeStrategy turns `strategy: canary` into `strategy: {kind: canary}`.
func normalizeStrategy(n *node) *node {
	if n != nil && n.kind == stringKind {
		return &node{kind: mapKind, keys: []string{"kind"}, vals: []*node{n}, pos: n.pos}
	}
	return n
}

func reflectValue(p any) reflect.Value { return reflect.ValueOf(p).Elem() }
