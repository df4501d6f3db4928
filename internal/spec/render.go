package spec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Tag keys Render adds to the task definition and the service.
const (
	TagService     = "slipway:service"
	TagEnvironment = "slipway:environment"
	TagDeployment  = "slipway:deployment"
)

// Defaults Render fills in.
const (
	DefaultStabilizationTimeout = 30 * time.Minute
	DefaultTerminationWait      = 5 * time.Minute
	DefaultApprovalTimeout      = 24 * time.Hour
)

// RenderInput is what one deployment adds to the specs.
type RenderInput struct {
	// Image is the pinned image, "repository-uri@sha256:<64 hex>"; a tag is
	// an error.
	Image string
	// DeploymentID tags the task definition; ${DEPLOYMENT_ID}.
	DeploymentID string
	// Region and AccountID are ${REGION} and ${ACCOUNT_ID}.
	Region, AccountID string
	// Strategy optionally overrides the strategy for this deployment only:
	// a JSON name ("rolling") or object ({"kind": "canary", ...}).
	Strategy json.RawMessage
}

// Rendered is everything a deployment of one service to one environment
// sends to AWS, fully resolved.
type Rendered struct {
	Service, Environment, Cluster string
	// RoleARN is the environment's role for another account; empty for this one.
	RoleARN string `spec:"roleArn"`
	// TaskDefinition is ready for RegisterTaskDefinition: no ${...} left;
	// tags include slipway:service, slipway:environment, slipway:deployment.
	TaskDefinition *ecs.RegisterTaskDefinitionInput
	// ServiceInput is ready for CreateService. ServiceName is the logical
	// name (the engine derives "<name>--blue"/"<name>--green" for canary and
	// bluegreen) and TaskDefinition is the family; the engine sets the
	// registered revision's ARN. With a load balancer, LoadBalancers names
	// the first (blue) target group; the engine uses the slot's.
	ServiceInput *ecs.CreateServiceInput
	// AutoScaling is nil when not configured.
	AutoScaling *AutoScaling
	// Strategy is resolved (service, then environment, then the
	// environment's override, then RenderInput.Strategy) with defaults.
	Strategy Strategy
	// LoadBalancer is nil when the environment gives none for this service.
	LoadBalancer *LoadBalancer
	// Alarms are the strategy's alarms and the environment's, de-duplicated.
	Alarms   []string
	Approval Approval
	// Scheduling is REPLICA or DAEMON.
	Scheduling string
}

// Render resolves a service for an environment and a deployment into the
// exact ECS inputs. The error, if any, is Problems: every problem with the
// specs, the overrides, the variables and the input.
func Render(svc *Service, env *Environment, in RenderInput) (*Rendered, error) {
	if svc == nil || env == nil {
		return nil, Problems{{Reason: "render needs both a service and an environment"}}
	}
	var problems Problems
	sw := where{file: svc.File, positions: svc.positions}
	ew := where{file: env.File, positions: env.positions}
	if !pinnedPattern.MatchString(in.Image) {
		problems = append(problems, Problem{Path: "image", Reason: fmt.Sprintf("%q is not a pinned image; want repository-uri@sha256:<64 hex digits>", in.Image)})
	}

	// The document as written, then the environment's strategy, its
	// overrides and the deployment's strategy, each patching the last.
	doc := encode(reflect.ValueOf(document{TaskDefinition: svc.TaskDefinition, Service: svc.Service, AutoScaling: svc.AutoScaling, Strategy: svc.Strategy}))
	if doc == nil {
		doc = &node{kind: mapKind}
	}
	annotate(doc, "", sw)
	strat := doc.get("strategy")
	if env.Strategy != nil {
		es := encode(reflect.ValueOf(env.Strategy))
		annotate(es, "strategy", ew)
		strat = overrideStrategy(strat, es)
	}
	if _, ok := env.Overrides[svc.Name]; ok {
		patch, ps := overrideNode(env, svc.Name)
		problems = append(problems, ps...)
		switch {
		case patch == nil:
		case patch.kind != mapKind:
			problems = append(problems, nodeProblem(patch, "overrides."+svc.Name, fmt.Sprintf("got %s, want a mapping of taskDefinition, service, autoScaling or strategy", patch.kind)))
		default:
			if s := patch.get("strategy"); s != nil {
				patch = patch.clone()
				patch.del("strategy")
				strat = overrideStrategy(strat, normalizeStrategy(s))
			}
			doc = merge(doc, patch)
		}
	}
	if len(in.Strategy) > 0 {
		s, ps := fromJSON("", in.Strategy)
		for _, p := range ps {
			problems = append(problems, Problem{Path: "strategy", Reason: "deployment strategy override: " + p.Reason})
		}
		if s != nil {
			annotate(s, "strategy", where{}) // not from any file
			strat = overrideStrategy(strat, normalizeStrategy(s))
		}
	}
	if strat != nil {
		doc.set("strategy", strat)
	} else {
		doc.del("strategy")
	}

	vars, ps := variables(svc, env, in)
	problems = append(problems, ps...)
	b := &budget{left: MaxRenderedSize}
	substitute(doc, "", vars, b, &problems)
	envNode := encode(reflect.ValueOf(environmentParts{LoadBalancers: env.LoadBalancers, Alarms: env.Alarms, RoleARN: env.RoleARN}))
	if envNode == nil {
		envNode = &node{kind: mapKind}
	}
	annotate(envNode, "", ew)
	substitute(envNode, "", vars, b, &problems)

	d := newDecoder()
	var out document
	d.decodeStruct(doc, reflect.ValueOf(&out).Elem(), "")
	var parts environmentParts
	ed := newDecoder()
	ed.decodeStruct(envNode, reflect.ValueOf(&parts).Elem(), "")
	problems = append(problems, d.problems...)
	problems = append(problems, ed.problems...)
	if len(problems) > 0 {
		return nil, problems.err()
	}

	var lb *LoadBalancer
	if l, ok := parts.LoadBalancers[svc.Name]; ok {
		lb = &l
	}
	complete(&out, svc, env)

	c := &checker{resolved: true}
	resolvedEnv := *env
	resolvedEnv.LoadBalancers, resolvedEnv.Alarms, resolvedEnv.RoleARN = parts.LoadBalancers, parts.Alarms, parts.RoleARN
	c.environment(ew, &resolvedEnv)
	c.document(where{file: svc.File, positions: d.positions}, &out, &target{env: env, envW: ew, lb: lb, service: svc.Name, image: in.Image})
	if len(c.problems) > 0 {
		return nil, c.problems.err()
	}

	td := out.TaskDefinition
	if td.Family == nil {
		td.Family = ptr(svc.Name + "-" + env.Name)
	}
	td.Tags = withTags(td.Tags, TagService, svc.Name, TagEnvironment, env.Name, TagDeployment, in.DeploymentID)
	si := serviceInput(&out, svc, env, lb)
	return &Rendered{
		Service:        svc.Name,
		Environment:    env.Name,
		Cluster:        env.Cluster,
		RoleARN:        parts.RoleARN,
		TaskDefinition: td,
		ServiceInput:   si,
		AutoScaling:    out.AutoScaling,
		Strategy:       withStrategyDefaults(out.Strategy),
		LoadBalancer:   lb,
		Alarms:         dedup(append(slices.Clone(out.Strategy.Alarms), parts.Alarms...)),
		Approval:       approval(env.Approval),
		Scheduling:     string(si.SchedulingStrategy),
	}, nil
}

// environmentParts are the environment fields that may hold variables.
type environmentParts struct {
	LoadBalancers map[string]LoadBalancer
	Alarms        []string
	RoleARN       string `spec:"roleArn"`
}

// complete fills in what the environment provides for a service that does
// not say: launch type or capacity providers, and the awsvpc network.
func complete(d *document, svc *Service, env *Environment) {
	if d.Service == nil {
		d.Service = &ServiceDefinition{}
	}
	sd := d.Service
	if sd.LaunchType == "" && len(sd.CapacityProviderStrategy) == 0 {
		sd.LaunchType = types.LaunchType(env.LaunchType)
		sd.CapacityProviderStrategy = slices.Clone(env.CapacityProviderStrategy)
	}
	if d.TaskDefinition == nil {
		return
	}
	// ECS places a task on Fargate only if its definition asks for it.
	if len(d.TaskDefinition.RequiresCompatibilities) == 0 && d.isFargate() {
		d.TaskDefinition.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
	}
	if d.TaskDefinition.NetworkMode != types.NetworkModeAwsvpc {
		return
	}
	if sd.NetworkConfiguration == nil {
		sd.NetworkConfiguration = &types.NetworkConfiguration{}
	}
	if sd.NetworkConfiguration.AwsvpcConfiguration == nil {
		sd.NetworkConfiguration.AwsvpcConfiguration = &types.AwsVpcConfiguration{}
	}
	vpc := sd.NetworkConfiguration.AwsvpcConfiguration
	if len(vpc.Subnets) == 0 {
		vpc.Subnets = slices.Clone(env.Network.Subnets)
	}
	if len(vpc.SecurityGroups) == 0 {
		vpc.SecurityGroups = slices.Clone(env.Network.SecurityGroups)
	}
	if vpc.AssignPublicIp == "" {
		vpc.AssignPublicIp = types.AssignPublicIpDisabled
		if env.Network.AssignPublicIp {
			vpc.AssignPublicIp = types.AssignPublicIpEnabled
		}
	}
}

// serviceInput builds the CreateService input.
func serviceInput(d *document, svc *Service, env *Environment, lb *LoadBalancer) *ecs.CreateServiceInput {
	sd := d.Service
	si := &ecs.CreateServiceInput{
		ServiceName:                   ptr(svc.Name),
		Cluster:                       ptr(env.Cluster),
		TaskDefinition:                d.TaskDefinition.Family,
		SchedulingStrategy:            sd.SchedulingStrategy,
		DesiredCount:                  sd.DesiredCount,
		LaunchType:                    sd.LaunchType,
		CapacityProviderStrategy:      sd.CapacityProviderStrategy,
		PlatformVersion:               sd.PlatformVersion,
		NetworkConfiguration:          sd.NetworkConfiguration,
		LoadBalancers:                 sd.LoadBalancers,
		ServiceRegistries:             sd.ServiceRegistries,
		DeploymentConfiguration:       sd.DeploymentConfiguration,
		HealthCheckGracePeriodSeconds: sd.HealthCheckGracePeriodSeconds,
		PlacementConstraints:          sd.PlacementConstraints,
		PlacementStrategy:             sd.PlacementStrategy,
		Tags:                          withTags(sd.Tags, TagService, svc.Name, TagEnvironment, env.Name),
		PropagateTags:                 sd.PropagateTags,
		EnableECSManagedTags:          sd.EnableECSManagedTags,
		EnableExecuteCommand:          sd.EnableExecuteCommand,
	}
	if si.SchedulingStrategy == "" {
		si.SchedulingStrategy = types.SchedulingStrategyReplica
	}
	if si.DesiredCount == nil && si.SchedulingStrategy == types.SchedulingStrategyReplica {
		n := int32(1)
		if d.AutoScaling != nil && d.AutoScaling.MinCapacity > 0 {
			n = d.AutoScaling.MinCapacity
		}
		si.DesiredCount = &n
	}
	if lb != nil && len(si.LoadBalancers) == 0 {
		si.LoadBalancers = []types.LoadBalancer{{
			TargetGroupArn: ptr(lb.TargetGroupArns[0]),
			ContainerName:  ptr(lb.ContainerName),
			ContainerPort:  ptr(lb.ContainerPort),
		}}
	}
	// The ECS circuit breaker is on unless the spec says otherwise: a
	// revision that cannot start rolls back without waiting for alarms.
	if si.DeploymentConfiguration == nil {
		si.DeploymentConfiguration = &types.DeploymentConfiguration{}
	}
	if si.DeploymentConfiguration.DeploymentCircuitBreaker == nil {
		si.DeploymentConfiguration.DeploymentCircuitBreaker = &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}
	}
	return si
}

// withTags returns tags with the key/value pairs set (replacing any with
// the same key); pairs with an empty value are left out.
func withTags(tags []types.Tag, kv ...string) []types.Tag {
	out := slices.Clone(tags)
	for i := 0; i+1 < len(kv); i += 2 {
		k, v := kv[i], kv[i+1]
		out = slices.DeleteFunc(out, func(t types.Tag) bool { return deref(t.Key) == k })
		if v != "" {
			out = append(out, types.Tag{Key: ptr(k), Value: ptr(v)})
		}
	}
	return out
}

func withStrategyDefaults(s Strategy) Strategy {
	if s.Kind == "" {
		s.Kind = Rolling
	}
	if s.StabilizationTimeout.Duration == 0 {
		s.StabilizationTimeout.Duration = DefaultStabilizationTimeout
	}
	if s.Kind == BlueGreen {
		if len(s.Steps) == 0 {
			s.Steps = []Step{{Weight: 100}}
		}
		if s.TerminationWait.Duration == 0 {
			s.TerminationWait.Duration = DefaultTerminationWait
		}
	}
	return s
}

func approval(a *Approval) Approval {
	if a == nil {
		return Approval{}
	}
	out := *a
	if out.Required && out.Timeout.Duration == 0 {
		out.Timeout.Duration = DefaultApprovalTimeout
	}
	return out
}

func dedup(list []string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// overrideStrategy layers over onto base: a different kind replaces the
// strategy (steps of a canary mean nothing to rolling); the same kind, or
// none, merges field by field; null resets to the default.
func overrideStrategy(base, over *node) *node {
	base, over = normalizeStrategy(base), normalizeStrategy(over)
	switch {
	case over == nil:
		return base
	case over.kind == nullKind:
		return nil
	case over.kind != mapKind || base == nil || base.kind != mapKind:
		return over.clone()
	}
	if k := over.get("kind"); k != nil && k.kind == stringKind {
		if bk := base.get("kind"); bk == nil && k.value != Rolling || bk != nil && bk.value != k.value {
			return over.clone()
		}
	}
	return merge(base, over)
}

// overrideNode returns an environment's merge patch for a service.
func overrideNode(e *Environment, service string) (*node, Problems) {
	raw, ok := e.Overrides[service]
	if !ok || len(raw) == 0 {
		return nil, nil
	}
	p := "overrides." + service
	n, ps := fromJSON(e.File, raw)
	for i := range ps {
		ps[i].Path = p
	}
	if n != nil {
		annotate(n, p, where{file: e.File, positions: e.positions})
	}
	return n, ps
}

// annotate sets the position of every value in n from the positions
// recorded when the file was parsed.
func annotate(n *node, path string, w where) {
	if n == nil {
		return
	}
	if p, ok := w.positions[path]; ok {
		n.pos = p
	} else {
		n.pos = pos{file: w.file}
	}
	n.pos.path = path
	for i, k := range n.keys {
		annotate(n.vals[i], joinPath(path, k), w)
	}
	for i, item := range n.items {
		annotate(item, fmt.Sprintf("%s[%d]", path, i), w)
	}
}

// variables returns the values of ${NAME} for this render: the built-ins,
// then the service's variables, then the environment's (which win).
func variables(svc *Service, env *Environment, in RenderInput) (map[string]string, Problems) {
	builtins := map[string]string{}
	for k, v := range map[string]string{
		VarImage: in.Image, VarService: svc.Name, VarEnvironment: env.Name, VarCluster: env.Cluster,
		VarDeploymentID: in.DeploymentID, VarRegion: in.Region, VarAccountID: in.AccountID,
	} {
		if v != "" {
			builtins[k] = v
		}
	}
	vars := map[string]string{}
	for k, v := range builtins {
		vars[k] = v
	}
	var problems Problems
	for _, src := range []struct {
		w    where
		vars map[string]string
	}{{where{svc.File, svc.positions}, svc.Variables}, {where{env.File, env.positions}, env.Variables}} {
		for _, name := range sortedKeys(src.vars) {
			if _, builtin := builtins[name]; builtin || slices.Contains(BuiltinVariables(), name) {
				continue // reported by Validate
			}
			val, missing, err := expand(src.vars[name], builtins)
			c := &checker{}
			switch {
			case err != nil:
				c.add(src.w, "variables."+name, "%s", err)
			case len(missing) > 0:
				for _, m := range missing {
					c.add(src.w, "variables."+name, "%s", undefinedReason(m))
				}
			}
			problems = append(problems, c.problems...)
			vars[name] = val
		}
	}
	return vars, problems
}

func ptr[T any](v T) *T { return &v }
