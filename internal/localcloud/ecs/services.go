package ecs

import (
	"cmp"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

type createServiceIn struct {
	Cluster                       string                         `json:"cluster"`
	ServiceName                   string                         `json:"serviceName"`
	ClientToken                   string                         `json:"clientToken"`
	TaskDefinition                string                         `json:"taskDefinition"`
	LoadBalancers                 []loadBalancer                 `json:"loadBalancers"`
	ServiceRegistries             []serviceRegistry              `json:"serviceRegistries"`
	DesiredCount                  *int32                         `json:"desiredCount"`
	LaunchType                    string                         `json:"launchType"`
	CapacityProviderStrategy      []capacityProviderStrategyItem `json:"capacityProviderStrategy"`
	PlatformVersion               string                         `json:"platformVersion"`
	Role                          string                         `json:"role"`
	DeploymentConfiguration       *deploymentConfigurationIn     `json:"deploymentConfiguration"`
	PlacementConstraints          json.RawMessage                `json:"placementConstraints"`
	PlacementStrategy             json.RawMessage                `json:"placementStrategy"`
	NetworkConfiguration          *networkConfiguration          `json:"networkConfiguration"`
	HealthCheckGracePeriodSeconds *int32                         `json:"healthCheckGracePeriodSeconds"`
	SchedulingStrategy            string                         `json:"schedulingStrategy"`
	DeploymentController          *deploymentController          `json:"deploymentController"`
	Tags                          []tag                          `json:"tags"`
	EnableECSManagedTags          bool                           `json:"enableECSManagedTags"`
	PropagateTags                 string                         `json:"propagateTags"`
	EnableExecuteCommand          bool                           `json:"enableExecuteCommand"`
}

type updateServiceIn struct {
	Cluster                       string                          `json:"cluster"`
	Service                       string                          `json:"service"`
	DesiredCount                  *int32                          `json:"desiredCount"`
	TaskDefinition                string                          `json:"taskDefinition"`
	CapacityProviderStrategy      *[]capacityProviderStrategyItem `json:"capacityProviderStrategy"`
	DeploymentConfiguration       *deploymentConfigurationIn      `json:"deploymentConfiguration"`
	NetworkConfiguration          *networkConfiguration           `json:"networkConfiguration"`
	PlacementConstraints          json.RawMessage                 `json:"placementConstraints"`
	PlacementStrategy             json.RawMessage                 `json:"placementStrategy"`
	PlatformVersion               string                          `json:"platformVersion"`
	ForceNewDeployment            bool                            `json:"forceNewDeployment"`
	HealthCheckGracePeriodSeconds *int32                          `json:"healthCheckGracePeriodSeconds"`
	DeploymentController          *deploymentController           `json:"deploymentController"`
	EnableExecuteCommand          *bool                           `json:"enableExecuteCommand"`
	EnableECSManagedTags          *bool                           `json:"enableECSManagedTags"`
	LoadBalancers                 *[]loadBalancer                 `json:"loadBalancers"`
	PropagateTags                 string                          `json:"propagateTags"`
	ServiceRegistries             *[]serviceRegistry              `json:"serviceRegistries"`
}

// checkExternal checks the target groups and Cloud Map services a service
// refers to. It runs before s.mu is taken: the collaborators have their
// own locks and may call back into ECS.
func (s *Service) checkExternal(lbs []loadBalancer, regs []serviceRegistry) error {
	for _, lb := range lbs {
		if lb.TargetGroupARN == "" {
			if lb.LoadBalancerName != "" {
				return invalidParam("Classic Load Balancers are not supported by the local endpoint; use targetGroupArn.")
			}
			return invalidParam("loadBalancers: targetGroupArn can not be blank.")
		}
		if s.targets != nil && !s.targets.TargetGroupExists(lb.TargetGroupARN) {
			return invalidParam("The target group with targetGroupArn %s does not exist.", lb.TargetGroupARN)
		}
	}
	for _, r := range regs {
		id := registryServiceID(r.RegistryARN)
		if id == "" {
			return invalidParam("serviceRegistries: registryArn %q is not a valid Cloud Map service ARN.", r.RegistryARN)
		}
		if s.names != nil && !s.names.ServiceExists(id) {
			return invalidParam("The service registry %s does not exist.", r.RegistryARN)
		}
	}
	return nil
}

// registryServiceID returns the srv-… id of a Cloud Map service ARN.
func registryServiceID(arn string) string {
	if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":servicediscovery:") {
		return ""
	}
	_, id, ok := strings.Cut(arn, ":service/")
	if !ok || !strings.HasPrefix(id, "srv-") {
		return ""
	}
	return id
}

func (s *Service) createService(body []byte) (any, error) {
	var in createServiceIn
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if err := unmodelledFields("CreateService", body, nativeModelled, "deploymentConfiguration", "loadBalancers"); err != nil {
		return nil, err
	}
	if err := s.checkExternal(in.LoadBalancers, in.ServiceRegistries); err != nil {
		return nil, err
	}
	if err := s.checkAdvanced(in.LoadBalancers); err != nil {
		return nil, err
	}
	return s.locked(func(now time.Time) (any, error) { return s.createServiceLocked(now, &in) })
}

func (s *Service) createServiceLocked(now time.Time, in *createServiceIn) (any, error) {
	c, err := s.clusterLocked(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.ServiceName == "" {
		return nil, invalidParam("serviceName can not be blank.")
	}
	if !validName(in.ServiceName) {
		return nil, invalidParam("Service name must be 1-255 letters, numbers, hyphens and underscores.")
	}
	// A deleted service keeps its name until its tasks have stopped
	// (DRAINING); once INACTIVE the name is free again.
	switch old := c.Services[in.ServiceName]; {
	case old == nil || old.Status == "INACTIVE":
	case old.Status == "DRAINING":
		return nil, invalidParam("Unable to Start a service that is still Draining.")
	case in.ClientToken != "" && old.ClientToken == in.ClientToken:
		// A retried request: the same service.
		return map[string]any{"service": s.serviceOut(c, old, false)}, nil
	default:
		return nil, invalidParam("Creation of service was not idempotent.")
	}
	if in.DeploymentController != nil && in.DeploymentController.Type != "" && in.DeploymentController.Type != "ECS" {
		return nil, invalidParam("The local endpoint supports only the ECS deployment controller, not %s.", in.DeploymentController.Type)
	}
	if in.TaskDefinition == "" {
		return nil, invalidParam("taskDefinition can not be blank.")
	}
	td, err := s.taskDefLocked(in.TaskDefinition)
	if err != nil {
		return nil, invalidParam("TaskDefinition not found.")
	}
	if td.Status != "ACTIVE" {
		return nil, invalidParam("TaskDefinition is inactive")
	}
	sv := &service{
		Name: in.ServiceName, ARN: s.arn("service/" + c.Name + "/" + in.ServiceName), Status: "ACTIVE",
		TaskDefinition: td.ARN, Scheduling: cmp.Or(in.SchedulingStrategy, "REPLICA"),
		PlatformVersion: in.PlatformVersion, Role: in.Role, PropagateTags: in.PropagateTags,
		ManagedTags: in.EnableECSManagedTags, ExecuteCommand: in.EnableExecuteCommand,
		PlacementConstraints: in.PlacementConstraints, PlacementStrategy: in.PlacementStrategy,
		Network: in.NetworkConfiguration, LoadBalancers: in.LoadBalancers, Registries: in.ServiceRegistries,
		Controller: "ECS", CreatedAt: now, Events: []serviceEvent{}, ClientToken: in.ClientToken,
	}
	if sv.Scheduling != "REPLICA" && sv.Scheduling != "DAEMON" {
		return nil, invalidParam("schedulingStrategy must be REPLICA or DAEMON.")
	}
	if err := s.setLaunch(c, sv, in.LaunchType, in.CapacityProviderStrategy, true); err != nil {
		return nil, err
	}
	if in.HealthCheckGracePeriodSeconds != nil {
		if *in.HealthCheckGracePeriodSeconds < 0 {
			return nil, invalidParam("healthCheckGracePeriodSeconds must not be negative.")
		}
		sv.GracePeriod = *in.HealthCheckGracePeriodSeconds
	}
	if sv.Scheduling == "DAEMON" {
		if in.DesiredCount != nil {
			return nil, invalidParam("The daemon scheduling strategy does not support a desired count for services.")
		}
		sv.MaximumPercent, sv.MinimumHealthy = 100, 0
	} else {
		sv.MaximumPercent, sv.MinimumHealthy = 200, 100
		if in.DesiredCount != nil {
			if *in.DesiredCount < 0 || *in.DesiredCount > maxTasksPerService {
				return nil, invalidParam("desiredCount must be between 0 and %d (the tasks per service quota).", maxTasksPerService)
			}
			sv.DesiredCount = *in.DesiredCount
		}
	}
	if err := applyDeploymentConfiguration(sv, in.DeploymentConfiguration); err != nil {
		return nil, err
	}
	applyNative(sv, in.DeploymentConfiguration)
	if err := validTags(in.Tags); err != nil {
		return nil, err
	}
	if err := s.validateRun(c, sv, td); err != nil {
		return nil, err
	}
	if err := validateNative(sv); err != nil {
		return nil, err
	}
	c.Services[sv.Name] = sv
	for arn := range s.st.Tags {
		if arn == sv.ARN { // tags of an earlier service of the same name
			delete(s.st.Tags, arn)
		}
	}
	s.setTags(sv.ARN, in.Tags)
	if sv.Native.native() {
		s.startNative(now, c, sv, td.ARN)
		return map[string]any{"service": s.serviceOut(c, sv, false)}, nil
	}
	d := s.newDeployment(now, sv, td.ARN)
	sv.Deployments = []*deployment{d}
	if sv.Scheduling == "DAEMON" {
		sv.DesiredCount = int32(len(activeInstances(c)))
		d.DesiredCount = sv.DesiredCount
	}
	s.deploymentEvent(sv, d, "SERVICE_DEPLOYMENT_IN_PROGRESS", now)
	return map[string]any{"service": s.serviceOut(c, sv, false)}, nil
}

// setLaunch validates and sets how the service runs: a launch type or a
// capacity provider strategy (FARGATE, FARGATE_SPOT), defaulting to the
// cluster's default strategy, else EC2.
func (s *Service) setLaunch(c *cluster, sv *service, launchType string, strategy []capacityProviderStrategyItem, create bool) error {
	if launchType != "" && len(strategy) > 0 {
		return invalidParam("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
	}
	if launchType != "" {
		if launchType != "EC2" && launchType != "FARGATE" {
			return invalidParam("launchType %s is not supported by the local endpoint: use EC2 or FARGATE.", launchType)
		}
		sv.LaunchType, sv.Strategy = launchType, nil
		return nil
	}
	if len(strategy) == 0 && create {
		strategy = c.Strategy
	}
	if len(strategy) == 0 {
		if create {
			sv.LaunchType = "EC2"
		}
		return nil
	}
	base := 0
	weight := int32(0)
	for _, p := range strategy {
		if p.CapacityProvider != "FARGATE" && p.CapacityProvider != "FARGATE_SPOT" {
			return invalidParam("The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.")
		}
		if p.Weight < 0 || p.Weight > 1000 || p.Base < 0 || p.Base > 100000 {
			return invalidParam("Capacity provider weight must be 0-1000 and base 0-100000.")
		}
		if p.Base > 0 {
			base++
		}
		weight += p.Weight
	}
	if base > 1 {
		return invalidParam("A base value can be specified for only one capacity provider in a strategy.")
	}
	if weight == 0 {
		return invalidParam("At least one capacity provider in a strategy must have a weight greater than zero.")
	}
	sv.LaunchType, sv.Strategy = "", strategy
	return nil
}

// fargate reports whether the service's tasks run on Fargate.
func (sv *service) fargate() bool { return sv.LaunchType == "FARGATE" || len(sv.Strategy) > 0 }

func applyDeploymentConfiguration(sv *service, dc *deploymentConfigurationIn) error {
	if dc == nil {
		return nil
	}
	if dc.MaximumPercent != nil {
		sv.MaximumPercent = *dc.MaximumPercent
	}
	if dc.MinimumHealthyPercent != nil {
		sv.MinimumHealthy = *dc.MinimumHealthyPercent
	}
	if dc.CircuitBreaker != nil {
		sv.CircuitBreaker, sv.Rollback = dc.CircuitBreaker.Enable, dc.CircuitBreaker.Rollback
	}
	if sv.MinimumHealthy < 0 || sv.MinimumHealthy > 100 {
		return invalidParam("minimumHealthyPercent must be between 0 and 100.")
	}
	if sv.Scheduling == "REPLICA" {
		if sv.MaximumPercent < 100 || sv.MaximumPercent > 200 {
			return invalidParam("maximumPercent must be between 100 and 200 for the REPLICA scheduling strategy.")
		}
		if sv.MinimumHealthy >= sv.MaximumPercent {
			return invalidParam("minimumHealthyPercent must be less than maximumPercent, or a deployment cannot make progress.")
		}
	} else if sv.MaximumPercent != 100 {
		return invalidParam("maximumPercent must be 100 for the DAEMON scheduling strategy.")
	}
	return nil
}

// validateRun checks that the service can run the task definition td as
// configured: Fargate compatibility, network configuration and the load
// balancer containers.
func (s *Service) validateRun(c *cluster, sv *service, td *taskDef) error {
	if sv.fargate() {
		if sv.Scheduling == "DAEMON" {
			return invalidParam("The daemon scheduling strategy does not support a launch type of FARGATE.")
		}
		if len(td.Compatibility) > 0 && !slices.Contains(td.Compatibility, "FARGATE") {
			return invalidParam("Task definition does not support launch_type FARGATE.")
		}
		if td.NetworkMode != "awsvpc" || td.CPU == 0 || td.Memory == 0 || !validFargate(td.CPU, td.Memory) {
			return invalidParam("Task definition does not support launch_type FARGATE.")
		}
	} else if len(td.Compatibility) > 0 && !slices.Contains(td.Compatibility, "EC2") {
		return invalidParam("Task definition does not support launch_type EC2.")
	}
	if td.NetworkMode == "awsvpc" {
		if sv.Network == nil || sv.Network.Awsvpc == nil {
			return invalidParam("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
		}
		if len(sv.Network.Awsvpc.Subnets) == 0 {
			return invalidParam("subnets can not be empty.")
		}
		switch sv.Network.Awsvpc.AssignPublicIP {
		case "", "ENABLED", "DISABLED":
		default:
			return invalidParam("assignPublicIp must be ENABLED or DISABLED.")
		}
	} else if sv.Network != nil && sv.Network.Awsvpc != nil {
		return invalidParam("Network Configuration is not valid for the given networkMode of this task definition.")
	}
	for _, lb := range sv.LoadBalancers {
		if lb.ContainerName == "" || lb.ContainerPort == 0 {
			return invalidParam("loadBalancers: containerName and containerPort are required.")
		}
		if !hasPort(td, lb.ContainerName, lb.ContainerPort) {
			return invalidParam("The container %s did not have a container port %d defined.", lb.ContainerName, lb.ContainerPort)
		}
	}
	for _, r := range sv.Registries {
		if r.ContainerName != "" && !hasPort(td, r.ContainerName, r.ContainerPort) {
			return invalidParam("The container %s did not have a container port %d defined.", r.ContainerName, r.ContainerPort)
		}
	}
	return nil
}

func hasPort(td *taskDef, container string, port int32) bool {
	for _, cd := range td.Containers {
		if cd.Name != container {
			continue
		}
		for _, p := range cd.Ports {
			if p.ContainerPort == port {
				return true
			}
		}
	}
	return false
}

func (s *Service) newDeployment(now time.Time, sv *service, tdARN string) *deployment {
	id := s.deploymentID()
	d := &deployment{
		ID: id, Status: "PRIMARY", TaskDefinition: tdARN, DesiredCount: sv.DesiredCount,
		LaunchType: sv.LaunchType, Strategy: sv.Strategy, Platform: platform(sv), Network: sv.Network,
		RolloutState: "IN_PROGRESS", RolloutReason: "ECS deployment " + id + " in progress.",
		CreatedAt: now, UpdatedAt: now,
	}
	// After a native deployment the target groups have swapped roles: the
	// tasks of a later deployment register where production traffic goes.
	if lbs, pinned := liveLoadBalancers(sv); pinned {
		d.LoadBalancers = lbs
	}
	d.Revision = s.newRevision(now, sv, d)
	return d
}

func platform(sv *service) string {
	if !sv.fargate() {
		return ""
	}
	return cmp.Or(sv.PlatformVersion, "1.4.0")
}

func (s *Service) serviceLocked(c *cluster, ref string) (*service, error) {
	if ref == "" {
		return nil, invalidParam("service can not be blank.")
	}
	sv := c.Services[lastPart(ref)]
	if sv == nil {
		return nil, serviceNotFound()
	}
	return sv, nil
}

// updateModelled lists, for UpdateService's request and the members it
// nests, the fields the local endpoint models; "" names the request itself.
// Any other field is refused by name (unmodelledFields) rather than
// dropped: a test would otherwise pass on an update AWS applies and the
// endpoint ignored. The native deployment shapes come from nativeModelled.
var updateModelled = func() map[string][]string {
	m := map[string][]string{
		"": {"cluster", "service", "desiredCount", "taskDefinition", "capacityProviderStrategy", "deploymentConfiguration",
			"networkConfiguration", "placementConstraints", "placementStrategy", "platformVersion", "forceNewDeployment",
			"healthCheckGracePeriodSeconds", "deploymentController", "enableExecuteCommand", "enableECSManagedTags",
			"loadBalancers", "propagateTags", "serviceRegistries"},
		"networkConfiguration":                     {"awsvpcConfiguration"},
		"networkConfiguration.awsvpcConfiguration": {"subnets", "securityGroups", "assignPublicIp"},
		"serviceRegistries[]":                      {"registryArn", "port", "containerName", "containerPort"},
		"capacityProviderStrategy[]":               {"capacityProvider", "weight", "base"},
	}
	maps.Copy(m, nativeModelled)
	return m
}()

// unmodelledFields refuses a request of op that sets a field the local
// endpoint does not model (availabilityZoneRebalancing,
// serviceConnectConfiguration, volumeConfigurations,
// vpcLatticeConfigurations, monitoring, deploymentConfiguration
// .earlySuccessCriteria, …), naming it. It checks the members of the
// request named by roots ("" for all of it) against modelled.
func unmodelledFields(op string, body []byte, modelled map[string][]string, roots ...string) error {
	var walk func(path string, v any) error
	walk = func(path string, v any) error {
		switch v := v.(type) {
		case map[string]any:
			known, ok := modelled[path]
			if !ok {
				return nil
			}
			for _, k := range slices.Sorted(maps.Keys(v)) {
				if v[k] == nil {
					continue
				}
				field := strings.TrimPrefix(path+"."+k, ".")
				if !slices.Contains(known, k) {
					return invalidParam("%s: %s is not modelled by the local endpoint yet; it would be ignored here but applied on AWS, so the request is refused.", op, field)
				}
				if err := walk(field, v[k]); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range v {
				if err := walk(path+"[]", e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		return nil // DecodeJSON reports it
	}
	for _, root := range roots {
		var v any = req
		if root != "" {
			v = req[root]
		}
		if err := walk(root, v); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) updateService(body []byte) (any, error) {
	var in updateServiceIn
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if err := unmodelledFields("UpdateService", body, updateModelled, ""); err != nil {
		return nil, err
	}
	var lbs []loadBalancer
	var regs []serviceRegistry
	if in.LoadBalancers != nil {
		lbs = *in.LoadBalancers
	}
	if in.ServiceRegistries != nil {
		regs = *in.ServiceRegistries
	}
	if err := s.checkExternal(lbs, regs); err != nil {
		return nil, err
	}
	if err := s.checkAdvanced(lbs); err != nil {
		return nil, err
	}
	return s.locked(func(now time.Time) (any, error) { return s.updateServiceLocked(now, &in) })
}

func (s *Service) updateServiceLocked(now time.Time, in *updateServiceIn) (any, error) {
	c, err := s.clusterLocked(in.Cluster)
	if err != nil {
		return nil, err
	}
	cur, err := s.serviceLocked(c, in.Service)
	if err != nil {
		return nil, err
	}
	if cur.Status != "ACTIVE" {
		return nil, serviceNotActive()
	}
	if in.DeploymentController != nil && in.DeploymentController.Type != "" && in.DeploymentController.Type != "ECS" {
		return nil, invalidParam("The local endpoint supports only the ECS deployment controller, not %s.", in.DeploymentController.Type)
	}
	// Work on a copy so that a rejected update changes nothing.
	sv := *cur
	td, err := s.taskDefLocked(cmp.Or(in.TaskDefinition, cur.TaskDefinition))
	if err != nil {
		return nil, invalidParam("TaskDefinition not found.")
	}
	if in.TaskDefinition != "" && td.Status != "ACTIVE" {
		return nil, invalidParam("TaskDefinition is inactive")
	}
	sv.TaskDefinition = td.ARN
	if in.DesiredCount != nil {
		if sv.Scheduling == "DAEMON" {
			return nil, invalidParam("The daemon scheduling strategy does not support a desired count for services.")
		}
		if *in.DesiredCount < 0 || *in.DesiredCount > maxTasksPerService {
			return nil, invalidParam("desiredCount must be between 0 and %d (the tasks per service quota).", maxTasksPerService)
		}
		sv.DesiredCount = *in.DesiredCount
	}
	switch {
	case in.CapacityProviderStrategy == nil:
	case len(*in.CapacityProviderStrategy) > 0:
		if err := s.setLaunch(c, &sv, "", *in.CapacityProviderStrategy, false); err != nil {
			return nil, err
		}
	case len(sv.Strategy) > 0:
		// An empty list takes the service back to the launch type of its
		// capacity providers; the local ones are all Fargate.
		sv.LaunchType, sv.Strategy = "FARGATE", nil
	}
	if err := applyDeploymentConfiguration(&sv, in.DeploymentConfiguration); err != nil {
		return nil, err
	}
	applyNative(&sv, in.DeploymentConfiguration)
	if in.NetworkConfiguration != nil {
		sv.Network = in.NetworkConfiguration
	}
	if in.PlacementConstraints != nil {
		sv.PlacementConstraints = in.PlacementConstraints
	}
	if in.PlacementStrategy != nil {
		sv.PlacementStrategy = in.PlacementStrategy
	}
	if in.PlatformVersion != "" {
		sv.PlatformVersion = in.PlatformVersion
	}
	if in.HealthCheckGracePeriodSeconds != nil {
		if *in.HealthCheckGracePeriodSeconds < 0 {
			return nil, invalidParam("healthCheckGracePeriodSeconds must not be negative.")
		}
		sv.GracePeriod = *in.HealthCheckGracePeriodSeconds
	}
	if in.EnableExecuteCommand != nil {
		sv.ExecuteCommand = *in.EnableExecuteCommand
	}
	if in.EnableECSManagedTags != nil {
		sv.ManagedTags = *in.EnableECSManagedTags
	}
	if in.PropagateTags != "" {
		sv.PropagateTags = in.PropagateTags
	}
	if in.LoadBalancers != nil {
		sv.LoadBalancers = *in.LoadBalancers
	}
	if in.ServiceRegistries != nil {
		sv.Registries = *in.ServiceRegistries
	}
	if err := s.validateRun(c, &sv, td); err != nil {
		return nil, err
	}
	if err := validateNative(&sv); err != nil {
		return nil, err
	}
	if !sv.Native.native() {
		// Back to ROLLING: the load balancers say where tasks go again.
		sv.LiveTargetGroup = ""
	}
	// A new deployment starts when what the tasks run changes, or when
	// asked for; a new desired count alone only resizes the current one.
	p := primary(cur)
	changed := in.ForceNewDeployment || p == nil || sv.TaskDefinition != p.TaskDefinition ||
		!reflect.DeepEqual(sv.Network, p.Network) || sv.LaunchType != p.LaunchType ||
		!reflect.DeepEqual(sv.Strategy, p.Strategy) || platform(&sv) != p.Platform ||
		!reflect.DeepEqual(sv.LoadBalancers, cur.LoadBalancers) || !reflect.DeepEqual(sv.Registries, cur.Registries)
	if changed {
		switch {
		case sv.Native.native():
			s.startNative(now, c, &sv, td.ARN)
		case p != nil:
			s.startDeployment(now, c, &sv, td.ARN, "")
		}
	} else if p != nil && sv.Scheduling == "REPLICA" {
		p.DesiredCount = sv.DesiredCount
		p.UpdatedAt = now
	}
	*cur = sv
	return map[string]any{"service": s.serviceOut(c, cur, false)}, nil
}

// startDeployment makes a new PRIMARY deployment of tdARN for sv; the old
// ones become ACTIVE and drain as the new one comes up. reason, when set,
// replaces the default rollout reason (used by rollbacks). s.mu is held.
func (s *Service) startDeployment(now time.Time, c *cluster, sv *service, tdARN, reason string) *deployment {
	for _, d := range sv.Deployments {
		if d.Status == "PRIMARY" {
			d.Status = "ACTIVE"
			d.UpdatedAt = now
		}
	}
	d := s.newDeployment(now, sv, tdARN)
	if sv.Scheduling == "DAEMON" {
		d.DesiredCount = int32(len(activeInstances(c)))
	}
	if reason != "" {
		d.RolloutReason = reason
	}
	sv.Deployments = append([]*deployment{d}, sv.Deployments...)
	sv.TaskDefinition = tdARN
	s.deploymentEvent(sv, d, "SERVICE_DEPLOYMENT_IN_PROGRESS", now)
	return d
}

func primary(sv *service) *deployment {
	for _, d := range sv.Deployments {
		if d.Status == "PRIMARY" {
			return d
		}
	}
	return nil
}

type describeServicesIn struct {
	Cluster  string   `json:"cluster"`
	Services []string `json:"services"`
	Include  []string `json:"include"`
}

func (s *Service) describeServices(now time.Time, in *describeServicesIn) (any, error) {
	c, err := s.clusterLocked(in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.Services) == 0 {
		return nil, invalidParam("services can not be empty.")
	}
	if len(in.Services) > 10 {
		return nil, invalidParam("services can have at most 10 items.")
	}
	out := struct {
		Services []serviceOut `json:"services"`
		Failures []failure    `json:"failures"`
	}{Services: []serviceOut{}, Failures: []failure{}}
	for _, ref := range in.Services {
		sv := c.Services[lastPart(ref)]
		if sv == nil {
			out.Failures = append(out.Failures, failure{ARN: s.arn("service/" + c.Name + "/" + lastPart(ref)), Reason: "MISSING"})
			continue
		}
		out.Services = append(out.Services, s.serviceOut(c, sv, slices.Contains(in.Include, "TAGS")))
	}
	return out, nil
}

type listServicesIn struct {
	Cluster            string `json:"cluster"`
	LaunchType         string `json:"launchType"`
	SchedulingStrategy string `json:"schedulingStrategy"`
	MaxResults         *int32 `json:"maxResults"`
	NextToken          string `json:"nextToken"`
}

func (s *Service) listServices(now time.Time, in *listServicesIn) (any, error) {
	c, err := s.clusterLocked(in.Cluster)
	if err != nil {
		return nil, err
	}
	var arns []string
	for _, sv := range c.Services {
		// A deleted service leaves the list at once, while DRAINING; only
		// DescribeServices still shows it.
		if sv.Status != "ACTIVE" ||
			(in.LaunchType != "" && sv.LaunchType != in.LaunchType) ||
			(in.SchedulingStrategy != "" && sv.Scheduling != in.SchedulingStrategy) {
			continue
		}
		arns = append(arns, sv.ARN)
	}
	slices.Sort(arns)
	max := in.MaxResults
	if max == nil {
		ten := int32(10)
		max = &ten
	}
	page, next, err := paginate(arns, in.NextToken, max)
	if err != nil {
		return nil, err
	}
	return struct {
		ServiceArns []string `json:"serviceArns"`
		NextToken   *string  `json:"nextToken,omitempty"`
	}{append([]string{}, page...), next}, nil
}

type deleteServiceIn struct {
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	Force   bool   `json:"force"`
}

func (s *Service) deleteService(now time.Time, in *deleteServiceIn) (any, error) {
	c, err := s.clusterLocked(in.Cluster)
	if err != nil {
		return nil, err
	}
	sv, err := s.serviceLocked(c, in.Service)
	if err != nil {
		return nil, err
	}
	if sv.Status != "ACTIVE" {
		return nil, serviceNotActive()
	}
	if !in.Force && sv.Scheduling == "REPLICA" && sv.DesiredCount > 0 {
		return nil, invalidParam("The service cannot be stopped while it is scaled above 0.")
	}
	if sd := s.activeNative(sv); sd != nil {
		// The service's tasks all stop: so does its deployment.
		sd.Status, sd.Reason, sd.StoppedAt, sd.FinishedAt, sd.UpdatedAt = sdStopped, "The service was deleted.", now, now, now
	}
	sv.Status = "DRAINING"
	sv.DesiredCount = 0
	for _, d := range sv.Deployments {
		d.DesiredCount = 0
		d.UpdatedAt = now
	}
	return map[string]any{"service": s.serviceOut(c, sv, false)}, nil
}

// ClampDesiredCount brings the desired count of the ACTIVE REPLICA service
// into [lo, hi], as Application Auto Scaling does when a scalable target is
// registered. It reports false when the cluster or service does not exist
// or is not ACTIVE.
func (s *Service) ClampDesiredCount(clusterName, serviceName string, lo, hi int32) bool {
	ok, _ := s.locked(func(now time.Time) (any, error) {
		c, err := s.clusterLocked(clusterName)
		if err != nil {
			return false, nil
		}
		sv := c.Services[serviceName]
		if sv == nil || sv.Status != "ACTIVE" {
			return false, nil
		}
		if sv.Scheduling != "REPLICA" {
			return true, nil
		}
		n := min(max(sv.DesiredCount, lo), hi, maxTasksPerService)
		if n != sv.DesiredCount {
			sv.DesiredCount = n
			if p := primary(sv); p != nil {
				p.DesiredCount = n
				p.UpdatedAt = now
			}
		}
		return true, nil
	})
	return ok.(bool)
}
