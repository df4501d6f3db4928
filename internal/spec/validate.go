package spec

import (
	"fmt"
	"math"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

var (
	arnPattern      = regexp.MustCompile(`^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:([0-9]{12})?:\S+$`)
	repoPattern     = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	familyPattern   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	subnetPattern   = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	sgPattern       = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)
	pinnedPattern   = regexp.MustCompile(`^[^\s@]+@sha256:[0-9a-f]{64}$`)
	strategyKinds   = []string{Rolling, Canary, BlueGreen, ECS}
	ecsModes        = []string{ModeBlueGreen, ModeCanary, ModeLinear}
	overrideSection = []string{"taskDefinition", "service", "autoScaling", "strategy"}
)

// where is a file and the positions of the fields written in it.
type where struct {
	file      string
	positions map[string]pos
}

// checker collects problems. Paths are located in a file: the position of
// the path itself or, for a field that was left out, of its nearest parent.
type checker struct {
	problems Problems
	// resolved is true when variables have been substituted, so every
	// value can be checked; before that, values with ${...} are skipped.
	resolved bool
}

func (c *checker) add(w where, p, format string, args ...any) {
	pr := Problem{File: w.file, Path: p, Reason: fmt.Sprintf(format, args...)}
	for q := p; ; q = parentPath(q) {
		if ps, ok := w.positions[q]; ok {
			// A value from a deployment's own input has no file.
			pr.File, pr.Line, pr.Column = ps.file, ps.line, ps.column
			if ps.path != "" {
				pr.Path = ps.path + p[len(q):]
			}
			break
		}
		if q == "" {
			break
		}
	}
	c.problems = append(c.problems, pr)
}

// addMissing adds a problem whose whole cause is that the spec file missing
// is not in the set (see Problem.Missing).
func (c *checker) addMissing(w where, p, missing, format string, args ...any) {
	c.add(w, p, format, args...)
	c.problems[len(c.problems)-1].Missing = missing
}

// parentPath strips the last ".field" or "[i]" from a path.
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// skip reports whether a value cannot be checked yet because it still holds
// a variable.
func (c *checker) skip(s string) bool {
	return !c.resolved && strings.Contains(s, "${")
}

func (c *checker) arn(w where, p, s string) {
	if s == "" || c.skip(s) {
		return
	}
	if !arnPattern.MatchString(s) {
		c.add(w, p, "%q is not an ARN (arn:aws:<service>:<region>:<account>:<resource>)", s)
	}
}

func (c *checker) variableNames(w where, vars map[string]string, p string) {
	for _, name := range sortedKeys(vars) {
		switch {
		case !varName.MatchString(name):
			c.add(w, joinPath(p, name), "%q is not a variable name; use letters, digits and _, not starting with a digit", name)
		case slices.Contains(BuiltinVariables(), name):
			c.add(w, joinPath(p, name), "%s is a built-in variable and cannot be redefined", name)
		default:
			if _, err := references(vars[name]); err != nil {
				c.add(w, joinPath(p, name), "%s", err)
			}
		}
	}
}

// Validate checks one service spec on its own and returns every problem.
// Rules that need an environment (subnets, load balancers, variables the
// environment defines) are checked by Set.Validate and Render.
func (s *Service) Validate() Problems {
	c := &checker{}
	w := where{file: s.File, positions: s.positions}
	switch {
	case s.Image.Repository == "":
		c.add(w, "image.repository", "required: the ECR repository whose pushes deploy this service")
	case !repoPattern.MatchString(s.Image.Repository):
		c.add(w, "image.repository", "%q is not an ECR repository name (lower-case letters, digits, '.', '_', '-' and '/')", s.Image.Repository)
	}
	for i, t := range s.Image.Tags {
		if _, err := path.Match(t, ""); err != nil || t == "" {
			c.add(w, fmt.Sprintf("image.tags[%d]", i), "%q is not a tag pattern; use * and ? as in \"v*\"", t)
		}
	}
	if len(s.Pipeline) == 0 {
		c.add(w, "pipeline", "required: the environments to deploy to, in promotion order, e.g. [staging, prod]")
	}
	for i, e := range s.Pipeline {
		if slices.Index(s.Pipeline, e) < i {
			c.add(w, fmt.Sprintf("pipeline[%d]", i), "environment %q is listed twice", e)
		}
	}
	c.variableNames(w, s.Variables, "variables")
	for _, name := range sortedKeys(s.Variables) {
		if refs, _ := references(s.Variables[name]); len(refs) > 0 {
			for _, r := range refs {
				if !slices.Contains(BuiltinVariables(), r) {
					c.add(w, joinPath("variables", name), "variable values may only use built-in variables, not ${%s}", r)
				}
			}
		}
	}
	d := &document{TaskDefinition: s.TaskDefinition, Service: s.Service, AutoScaling: s.AutoScaling, Strategy: s.Strategy}
	c.document(w, d, nil)
	return c.problems.sorted()
}

// document is the part of a service spec that renders into API inputs; an
// environment's overrides patch it.
type document struct {
	TaskDefinition *ecs.RegisterTaskDefinitionInput
	Service        *ServiceDefinition
	AutoScaling    *AutoScaling
	Strategy       Strategy
}

// target is what Render knows about where the document is deployed.
type target struct {
	env  *Environment
	envW where
	lb   *LoadBalancer
	// service is the service's name, image the pinned image.
	service, image string
}

// isFargate reports whether the service runs on Fargate.
func (d *document) isFargate() bool {
	if d.Service != nil {
		if d.Service.LaunchType == types.LaunchTypeFargate {
			return true
		}
		for _, cp := range d.Service.CapacityProviderStrategy {
			if name := deref(cp.CapacityProvider); name == "FARGATE" || name == "FARGATE_SPOT" {
				return true
			}
		}
		if d.Service.LaunchType != "" || len(d.Service.CapacityProviderStrategy) > 0 {
			return false
		}
	}
	return d.TaskDefinition != nil && slices.Contains(d.TaskDefinition.RequiresCompatibilities, types.CompatibilityFargate) &&
		!slices.Contains(d.TaskDefinition.RequiresCompatibilities, types.CompatibilityEc2)
}

func (d *document) daemon() bool {
	return d.Service != nil && d.Service.SchedulingStrategy == types.SchedulingStrategyDaemon
}

// document checks the task definition, service, auto scaling and strategy.
// t is nil when validating a service on its own.
func (c *checker) document(w where, d *document, t *target) {
	c.strategy(w, "strategy", &d.Strategy)
	td := d.TaskDefinition
	if td == nil {
		c.add(w, "taskDefinition", "required: the task definition to register (containerDefinitions, cpu, memory, ...)")
		return
	}
	containers := c.containers(w, td, t)
	fargate := d.isFargate()
	if d.Service != nil && d.Service.LaunchType != "" && len(d.Service.CapacityProviderStrategy) > 0 {
		c.add(w, "service.capacityProviderStrategy", "set launchType or capacityProviderStrategy, not both")
	}
	if fargate {
		if td.NetworkMode != types.NetworkModeAwsvpc {
			c.add(w, "taskDefinition.networkMode", "must be awsvpc for FARGATE")
		}
		cpu, mem := deref(td.Cpu), deref(td.Memory)
		switch {
		case cpu == "":
			c.add(w, "taskDefinition.cpu", "required for FARGATE, e.g. \"256\" (CPU units)")
		case mem == "":
			c.add(w, "taskDefinition.memory", "required for FARGATE, e.g. \"512\" (MiB)")
		case c.skip(cpu) || c.skip(mem):
		default:
			if which, reason := checkFargateSize(cpu, mem); which != "" {
				c.add(w, "taskDefinition."+which, "%s", reason)
			}
		}
		if len(td.RequiresCompatibilities) > 0 && !slices.Contains(td.RequiresCompatibilities, types.CompatibilityFargate) {
			c.add(w, "taskDefinition.requiresCompatibilities", "must include FARGATE when the service runs on FARGATE")
		}
	} else if td.Memory == nil {
		for i, cd := range td.ContainerDefinitions {
			if cd.Memory == nil && cd.MemoryReservation == nil {
				c.add(w, fmt.Sprintf("taskDefinition.containerDefinitions[%d]", i), "set memory or memoryReservation here, or taskDefinition.memory")
			}
		}
	}
	if td.Family != nil && !c.skip(*td.Family) && !familyPattern.MatchString(*td.Family) {
		c.add(w, "taskDefinition.family", "%q is not a family name (up to 255 letters, digits, '-' and '_')", *td.Family)
	}
	c.arn(w, "taskDefinition.executionRoleArn", deref(td.ExecutionRoleArn))
	c.arn(w, "taskDefinition.taskRoleArn", deref(td.TaskRoleArn))
	if td.ExecutionRoleArn == nil {
		for i, cd := range td.ContainerDefinitions {
			if len(cd.Secrets) > 0 {
				c.add(w, "taskDefinition.executionRoleArn", "required: containerDefinitions[%d] uses secrets, which ECS reads with the execution role", i)
				break
			}
			if fargate && cd.LogConfiguration != nil && cd.LogConfiguration.LogDriver == types.LogDriverAwslogs {
				c.add(w, "taskDefinition.executionRoleArn", "required: containerDefinitions[%d] logs with awslogs, which FARGATE sends with the execution role", i)
				break
			}
		}
	}
	if td.NetworkMode == types.NetworkModeAwsvpc {
		for i, cd := range td.ContainerDefinitions {
			for j, pm := range cd.PortMappings {
				if pm.HostPort != nil && pm.ContainerPort != nil && *pm.HostPort != *pm.ContainerPort {
					c.add(w, fmt.Sprintf("taskDefinition.containerDefinitions[%d].portMappings[%d].hostPort", i, j), "must equal containerPort (%d) with networkMode awsvpc, or be left out", *pm.ContainerPort)
				}
			}
		}
	}
	c.service(w, d, containers, fargate, t)
	c.autoScaling(w, d)
}

// containers checks the container definitions and returns each name's
// container ports.
func (c *checker) containers(w where, td *ecs.RegisterTaskDefinitionInput, t *target) map[string][]int32 {
	ports := map[string][]int32{}
	if len(td.ContainerDefinitions) == 0 {
		c.add(w, "taskDefinition.containerDefinitions", "required: at least one container")
		return ports
	}
	usesImage := false
	for i, cd := range td.ContainerDefinitions {
		p := fmt.Sprintf("taskDefinition.containerDefinitions[%d]", i)
		name := deref(cd.Name)
		if name == "" {
			c.add(w, p+".name", "required: a container name")
		} else if _, dup := ports[name]; dup {
			c.add(w, p+".name", "container %q is defined twice", name)
		}
		image := deref(cd.Image)
		if image == "" {
			c.add(w, p+".image", "required: the image; write ${IMAGE} for the image this service deploys")
		}
		if t == nil && image == "${"+VarImage+"}" || t != nil && t.image != "" && image == t.image {
			usesImage = true
		}
		if _, dup := ports[name]; dup {
			continue
		}
		var list []int32
		for _, pm := range cd.PortMappings {
			if pm.ContainerPort != nil {
				list = append(list, *pm.ContainerPort)
			}
		}
		ports[name] = list
	}
	if !usesImage && (t == nil || t.image != "") {
		c.add(w, "taskDefinition.containerDefinitions", "no container image is exactly ${IMAGE}; set image: ${IMAGE} on the container this service deploys")
	}
	return ports
}

func (c *checker) containerPort(w where, p string, containers map[string][]int32, name *string, port *int32) {
	if name == nil {
		if port != nil {
			c.add(w, p+".containerName", "required with containerPort")
		}
		return
	}
	list, ok := containers[*name]
	if !ok {
		c.add(w, p+".containerName", "container %q is not in taskDefinition.containerDefinitions", *name)
		return
	}
	if port != nil && !slices.Contains(list, *port) {
		c.add(w, p+".containerPort", "container %q has no portMappings entry with containerPort %d", *name, *port)
	}
}

func (c *checker) service(w where, d *document, containers map[string][]int32, fargate bool, t *target) {
	sd := d.Service
	if sd == nil {
		sd = &ServiceDefinition{}
	}
	if d.daemon() {
		if fargate {
			c.add(w, "service.schedulingStrategy", "DAEMON services cannot run on FARGATE; use launchType EC2")
		}
		if kind := d.Strategy.Kind; kind != "" && kind != Rolling {
			c.add(w, "strategy.kind", "DAEMON services deploy with rolling only, not %s", kind)
		}
		if sd.DesiredCount != nil {
			c.add(w, "service.desiredCount", "not allowed for DAEMON services: one task runs on each instance")
		}
		if d.AutoScaling != nil {
			c.add(w, "autoScaling", "DAEMON services cannot auto scale")
		}
	}
	if sd.DesiredCount != nil && *sd.DesiredCount < 0 {
		c.add(w, "service.desiredCount", "%d is negative", *sd.DesiredCount)
	}
	if sd.NetworkConfiguration != nil && d.TaskDefinition.NetworkMode != types.NetworkModeAwsvpc {
		c.add(w, "service.networkConfiguration", "only for networkMode awsvpc (the task definition uses %s)", orDefault(string(d.TaskDefinition.NetworkMode), "the default mode"))
	}
	if t != nil && d.TaskDefinition.NetworkMode == types.NetworkModeAwsvpc {
		nc := sd.NetworkConfiguration
		if nc == nil || nc.AwsvpcConfiguration == nil || len(nc.AwsvpcConfiguration.Subnets) == 0 {
			reason := "required for networkMode awsvpc"
			if fargate {
				reason = "required for FARGATE"
			}
			c.add(w, "service.networkConfiguration.awsvpcConfiguration.subnets", "%s; set network.subnets in %s", reason, t.env.File)
		}
	}
	for i, lb := range sd.LoadBalancers {
		p := fmt.Sprintf("service.loadBalancers[%d]", i)
		c.arn(w, p+".targetGroupArn", deref(lb.TargetGroupArn))
		if lb.TargetGroupArn == nil && lb.LoadBalancerName == nil {
			c.add(w, p+".targetGroupArn", "required: the target group the container registers in")
		}
		c.containerPort(w, p, containers, lb.ContainerName, lb.ContainerPort)
	}
	for i, r := range sd.ServiceRegistries {
		p := fmt.Sprintf("service.serviceRegistries[%d]", i)
		if r.RegistryArn == nil {
			c.add(w, p+".registryArn", "required: the Cloud Map service ARN")
		}
		c.arn(w, p+".registryArn", deref(r.RegistryArn))
		c.containerPort(w, p, containers, r.ContainerName, r.ContainerPort)
	}
	if t == nil {
		return
	}
	// Rules that depend on the environment.
	kind := orDefault(d.Strategy.Kind, Rolling)
	envLB := "loadBalancers." + t.service
	switch {
	case t.lb == nil && kind == BlueGreen:
		c.add(w, "strategy.kind", "bluegreen needs a load balancer with two target groups; add %s to %s", envLB, t.env.File)
	case t.lb != nil && (kind == Canary || kind == BlueGreen):
		if t.lb.TargetGroupArns[1] == "" {
			c.add(t.envW, envLB+".targetGroupArns", "%s needs two target groups (blue, green)", kind)
		}
		if t.lb.ListenerRuleArn == "" {
			c.add(t.envW, envLB+".listenerRuleArn", "required for %s: the listener rule whose weights move traffic", kind)
		}
	}
	if kind == ECS && !d.daemon() {
		c.ecsService(w, d, t)
	}
	if t.lb != nil {
		c.containerPort(t.envW, envLB, containers, &t.lb.ContainerName, &t.lb.ContainerPort)
	}
	if d.Strategy.TestListener && (t.lb == nil || t.lb.TestListenerRuleArn == "") {
		c.add(w, "strategy.testListener", "needs %s.testListenerRuleArn in %s", envLB, t.env.File)
	}
}

func (c *checker) autoScaling(w where, d *document) {
	as := d.AutoScaling
	if as == nil {
		return
	}
	if as.MinCapacity < 0 {
		c.add(w, "autoScaling.minCapacity", "%d is negative", as.MinCapacity)
	}
	if as.MaxCapacity <= 0 {
		c.add(w, "autoScaling.maxCapacity", "required: the largest desired count (1 or more)")
	} else if as.MinCapacity > as.MaxCapacity {
		c.add(w, "autoScaling.minCapacity", "%d is greater than maxCapacity %d", as.MinCapacity, as.MaxCapacity)
	}
	if d.Service != nil && d.Service.DesiredCount != nil && as.MaxCapacity > 0 && as.MinCapacity <= as.MaxCapacity {
		if n := *d.Service.DesiredCount; n < as.MinCapacity || n > as.MaxCapacity {
			c.add(w, "service.desiredCount", "%d is outside autoScaling minCapacity..maxCapacity (%d..%d)", n, as.MinCapacity, as.MaxCapacity)
		}
	}
	names := map[string]bool{}
	for i, p := range as.Policies {
		pp := fmt.Sprintf("autoScaling.policies[%d]", i)
		if p.PolicyName == "" {
			c.add(w, pp+".policyName", "required")
		} else if names[p.PolicyName] {
			c.add(w, pp+".policyName", "policy %q is defined twice", p.PolicyName)
		}
		names[p.PolicyName] = true
		tt, step := p.TargetTrackingScalingPolicyConfiguration, p.StepScalingPolicyConfiguration
		switch {
		case (tt == nil) == (step == nil):
			c.add(w, pp, "set exactly one of targetTrackingScalingPolicyConfiguration or stepScalingPolicyConfiguration")
		case tt != nil:
			tp := pp + ".targetTrackingScalingPolicyConfiguration"
			if tt.TargetValue == nil {
				c.add(w, tp+".targetValue", "required: the metric value to hold")
			}
			if (tt.PredefinedMetricSpecification == nil) == (tt.CustomizedMetricSpecification == nil) {
				c.add(w, tp, "set exactly one of predefinedMetricSpecification or customizedMetricSpecification")
			}
		case step != nil:
			c.stepPolicy(w, pp)
			if len(step.StepAdjustments) == 0 {
				c.add(w, pp+".stepScalingPolicyConfiguration.stepAdjustments", "required: at least one step adjustment")
			}
		}
	}
	for i, a := range as.ScheduledActions {
		ap := fmt.Sprintf("autoScaling.scheduledActions[%d]", i)
		if a.ScheduledActionName == "" {
			c.add(w, ap+".scheduledActionName", "required")
		}
		if a.Schedule == "" {
			c.add(w, ap+".schedule", "required: at(...), rate(...) or cron(...)")
		} else if !strings.HasPrefix(a.Schedule, "at(") && !strings.HasPrefix(a.Schedule, "rate(") && !strings.HasPrefix(a.Schedule, "cron(") {
			c.add(w, ap+".schedule", "%q is not a schedule; write at(...), rate(...) or cron(...)", a.Schedule)
		}
		if a.ScalableTargetAction == nil || a.ScalableTargetAction.MinCapacity == nil && a.ScalableTargetAction.MaxCapacity == nil {
			c.add(w, ap+".scalableTargetAction", "required: minCapacity and/or maxCapacity")
		}
	}
}

// stepPolicy refuses a step scaling policy. Application Auto Scaling runs a
// step policy only when a CloudWatch alarm names its ARN in AlarmActions;
// the spec describes no such alarm and Slipway creates none, so the policy
// would be put and never fire. Target tracking creates and owns its alarms.
func (c *checker) stepPolicy(w where, p string) {
	c.add(w, p+".stepScalingPolicyConfiguration", "step scaling is not supported: a step policy acts only when a "+
		"CloudWatch alarm names it in AlarmActions, and Slipway creates no alarm for it, so it would never fire; "+
		"use targetTrackingScalingPolicyConfiguration, which creates and owns its alarms")
}

// strategy checks a strategy on its own.
func (c *checker) strategy(w where, p string, s *Strategy) {
	kind := orDefault(s.Kind, Rolling)
	if !slices.Contains(strategyKinds, kind) {
		c.add(w, p+".kind", "%q is not one of %s", s.Kind, strings.Join(strategyKinds, ", "))
		return
	}
	c.ecsStrategy(w, p, s, kind)
	switch {
	case kind == Rolling && len(s.Steps) > 0:
		c.add(w, p+".steps", "steps apply to canary and bluegreen, not rolling")
	case kind == ECS && len(s.Steps) > 0:
		c.add(w, p+".steps", "steps are Slipway's own traffic steps, not kind ecs: ECS moves the traffic; use canaryPercent (mode canary) or stepPercent (mode linear)")
	case kind == Canary && len(s.Steps) == 0:
		c.add(w, p+".steps", "required for canary, e.g. [{weight: 10, bake: 5m}, {weight: 100}]")
	}
	prev := 0
	for i, st := range s.Steps {
		sp := fmt.Sprintf("%s.steps[%d].weight", p, i)
		switch {
		case st.Weight < 1 || st.Weight > 100:
			c.add(w, sp, "%d is outside 1..100", st.Weight)
		case st.Weight <= prev:
			c.add(w, sp, "%d does not increase (the step before is %d)", st.Weight, prev)
		}
		prev = max(prev, st.Weight)
	}
	if n := len(s.Steps); n > 0 && s.Steps[n-1].Weight < 100 {
		c.add(w, fmt.Sprintf("%s.steps[%d].weight", p, n-1), "the last step must reach 100, not %d", s.Steps[n-1].Weight)
	}
	if kind != BlueGreen {
		if s.TerminationWait.Duration != 0 {
			reason := "applies to bluegreen only"
			if kind == ECS {
				reason = "applies to bluegreen only; with kind ecs, bake keeps the old revision for ECS's own rollback"
			}
			c.add(w, p+".terminationWait", "%s", reason)
		}
		if s.TestListener && kind != ECS {
			c.add(w, p+".testListener", "applies to bluegreen and ecs only")
		}
	}
	for i, a := range s.Alarms {
		if a == "" || len(a) > 255 {
			c.add(w, fmt.Sprintf("%s.alarms[%d]", p, i), "an alarm name is 1 to 255 characters")
		}
	}
}

// maxECSBake is the longest bake ECS accepts (bakeTimeInMinutes,
// canaryBakeTimeInMinutes, stepBakeTimeInMinutes: 0..1440).
const maxECSBake = 24 * time.Hour

// ecsStrategy checks the fields of kind ecs against what ECS accepts, and
// that they are not set on Slipway's own kinds.
func (c *checker) ecsStrategy(w where, p string, s *Strategy, kind string) {
	if kind != ECS {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"mode", s.Mode != ""},
			{"canaryPercent", s.CanaryPercent != 0},
			{"canaryBake", s.CanaryBake.Duration != 0},
			{"stepPercent", s.StepPercent != 0},
			{"stepBake", s.StepBake.Duration != 0},
			{"bake", s.Bake.Duration != 0},
		} {
			if f.set {
				c.add(w, p+"."+f.name, "applies to kind ecs only (ECS-native deployments), not %s", kind)
			}
		}
		return
	}
	switch {
	case s.Mode == "":
		c.add(w, p+".mode", "required for kind ecs: one of %s", strings.Join(ecsModes, ", "))
	case !slices.Contains(ecsModes, s.Mode):
		c.add(w, p+".mode", "%q is not one of %s", s.Mode, strings.Join(ecsModes, ", "))
	}
	switch {
	case s.Mode == ModeCanary && s.CanaryPercent == 0:
		c.add(w, p+".canaryPercent", "required for mode canary: the production traffic %% of the canary, 0.1..100")
	case s.Mode == ModeCanary && (s.CanaryPercent < 0.1 || s.CanaryPercent > 100):
		c.add(w, p+".canaryPercent", "%g is outside 0.1..100, the range ECS accepts", s.CanaryPercent)
	case s.Mode == ModeCanary && !tenths(s.CanaryPercent):
		c.add(w, p+".canaryPercent", "%g is not a multiple of 0.1, the step ECS accepts", s.CanaryPercent)
	case s.Mode != ModeCanary && s.CanaryPercent != 0:
		c.add(w, p+".canaryPercent", "applies to mode canary only")
	}
	if s.Mode != ModeCanary && s.CanaryBake.Duration != 0 {
		c.add(w, p+".canaryBake", "applies to mode canary only")
	}
	switch {
	case s.Mode == ModeLinear && s.StepPercent == 0:
		c.add(w, p+".stepPercent", "required for mode linear: the traffic %% each step adds, 3..100")
	case s.Mode == ModeLinear && (s.StepPercent < 3 || s.StepPercent > 100):
		c.add(w, p+".stepPercent", "%g is outside 3..100, the range ECS accepts", s.StepPercent)
	case s.Mode == ModeLinear && !tenths(s.StepPercent):
		c.add(w, p+".stepPercent", "%g is not a multiple of 0.1, the step ECS accepts", s.StepPercent)
	case s.Mode != ModeLinear && s.StepPercent != 0:
		c.add(w, p+".stepPercent", "applies to mode linear only")
	}
	if s.Mode != ModeLinear && s.StepBake.Duration != 0 {
		c.add(w, p+".stepBake", "applies to mode linear only")
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"canaryBake", s.CanaryBake.Duration}, {"stepBake", s.StepBake.Duration}, {"bake", s.Bake.Duration}} {
		switch {
		case f.d > maxECSBake:
			c.add(w, p+"."+f.name, "%s is longer than 24h, the most ECS accepts (1440 minutes)", f.d)
		case f.d%time.Minute != 0:
			c.add(w, p+"."+f.name, "%s is not a whole number of minutes; ECS counts bake time in minutes", f.d)
		}
	}
}

// tenths reports whether p is a multiple of 0.1.
func tenths(p float64) bool {
	return math.Abs(p*10-math.Round(p*10)) < 1e-9
}

// ecsService checks a deployment of kind ecs against its environment: ECS
// shifts traffic between the two target groups of one listener rule, with
// an infrastructure role, on a REPLICA service; and the service spec leaves
// the settings Slipway derives from the strategy to Slipway.
func (c *checker) ecsService(w where, d *document, t *target) {
	envLB := "loadBalancers." + t.service
	if t.lb == nil {
		c.add(w, "strategy.kind", "ecs needs a load balancer: ECS shifts traffic between two target groups of one listener rule; "+
			"add %s to %s (a canary by task count, without a load balancer, is Slipway's kind canary only)", envLB, t.env.File)
	} else {
		if t.lb.TargetGroupArns[1] == "" {
			c.add(t.envW, envLB+".targetGroupArns", "ecs needs two target groups (the primary, then the alternate ECS moves traffic to)")
		}
		if t.lb.ListenerRuleArn == "" {
			c.add(t.envW, envLB+".listenerRuleArn", "required for ecs: the production listener rule ECS shifts")
		} else if d.Strategy.Mode != ModeBlueGreen && strings.Contains(t.lb.ListenerRuleArn, "/net/") {
			c.add(t.envW, envLB+".listenerRuleArn", "mode %s needs an Application Load Balancer rule; ECS shifts Network Load Balancer traffic with mode bluegreen only", d.Strategy.Mode)
		}
		if t.lb.InfrastructureRoleARN == "" {
			c.add(t.envW, envLB+".infrastructureRoleArn", "required for ecs: the IAM role ECS assumes to change the listener rules (advancedConfiguration.roleArn)")
		}
	}
	if d.Service == nil {
		return
	}
	if dc := d.Service.DeploymentConfiguration; dc != nil {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"strategy", dc.Strategy != ""},
			{"bakeTimeInMinutes", dc.BakeTimeInMinutes != nil},
			{"canaryConfiguration", dc.CanaryConfiguration != nil},
			{"linearConfiguration", dc.LinearConfiguration != nil},
			{"lifecycleHooks", len(dc.LifecycleHooks) > 0},
			{"alarms", dc.Alarms != nil},
		} {
			if f.set {
				c.add(w, "service.deploymentConfiguration."+f.name, "set by Slipway from strategy (kind ecs); write it there (mode, canaryPercent, stepPercent, bakes, alarms)")
			}
		}
	}
	for i, lb := range d.Service.LoadBalancers {
		if lb.AdvancedConfiguration != nil {
			c.add(w, fmt.Sprintf("service.loadBalancers[%d].advancedConfiguration", i), "set by Slipway from %s in %s (targetGroupArns, listenerRuleArn, testListenerRuleArn, infrastructureRoleArn)", envLB, t.env.File)
		}
	}
}

// Validate checks one environment spec on its own and returns every problem.
func (e *Environment) Validate() Problems {
	c := &checker{}
	w := where{file: e.File, positions: e.positions}
	c.environment(w, e)
	return c.problems.sorted()
}

func (c *checker) environment(w where, e *Environment) {
	if e.Cluster == "" {
		c.add(w, "cluster", "required: the ECS cluster name or ARN")
	}
	if e.LaunchType != "" && !slices.Contains(enumValues(reflect.TypeFor[types.LaunchType]()), e.LaunchType) {
		c.add(w, "launchType", "%q is not one of %s", e.LaunchType, strings.Join(enumValues(reflect.TypeFor[types.LaunchType]()), ", "))
	}
	if e.LaunchType != "" && len(e.CapacityProviderStrategy) > 0 {
		c.add(w, "capacityProviderStrategy", "set launchType or capacityProviderStrategy, not both")
	}
	for i, s := range e.Network.Subnets {
		if !c.skip(s) && !subnetPattern.MatchString(s) {
			c.add(w, fmt.Sprintf("network.subnets[%d]", i), "%q is not a subnet id (subnet-0123456789abcdef0)", s)
		}
	}
	for i, s := range e.Network.SecurityGroups {
		if !c.skip(s) && !sgPattern.MatchString(s) {
			c.add(w, fmt.Sprintf("network.securityGroups[%d]", i), "%q is not a security group id (sg-0123456789abcdef0)", s)
		}
	}
	for _, name := range sortedKeys(e.LoadBalancers) {
		lb := e.LoadBalancers[name]
		p := "loadBalancers." + name
		c.arn(w, p+".listenerRuleArn", lb.ListenerRuleArn)
		if lb.TargetGroupArns[0] == "" {
			c.add(w, p+".targetGroupArns", "required: the blue and green target group ARNs")
		}
		for i, tg := range lb.TargetGroupArns {
			c.arn(w, fmt.Sprintf("%s.targetGroupArns[%d]", p, i), tg)
		}
		if lb.TargetGroupArns[1] != "" && lb.TargetGroupArns[0] == lb.TargetGroupArns[1] {
			c.add(w, p+".targetGroupArns[1]", "must differ from targetGroupArns[0]")
		}
		c.arn(w, p+".testListenerRuleArn", lb.TestListenerRuleArn)
		c.arn(w, p+".infrastructureRoleArn", lb.InfrastructureRoleARN)
		if r := lb.InfrastructureRoleARN; r != "" && !c.skip(r) && arnPattern.MatchString(r) && !strings.Contains(r, ":iam::") {
			c.add(w, p+".infrastructureRoleArn", "%q is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", r)
		}
		if lb.ContainerName == "" {
			c.add(w, p+".containerName", "required: the container registered in the target groups")
		}
		if lb.ContainerPort < 1 || lb.ContainerPort > 65535 {
			c.add(w, p+".containerPort", "required: the container port registered in the target groups (1..65535)")
		}
	}
	c.variableNames(w, e.Variables, "variables")
	for i, a := range e.Alarms {
		if a == "" || len(a) > 255 {
			c.add(w, fmt.Sprintf("alarms[%d]", i), "an alarm name is 1 to 255 characters")
		}
	}
	c.arn(w, "roleArn", e.RoleARN)
	if e.Strategy != nil {
		c.strategy(w, "strategy", e.Strategy)
	}
	for _, name := range sortedKeys(e.Overrides) {
		n, problems := overrideNode(e, name)
		c.problems = append(c.problems, problems...)
		if n == nil {
			continue
		}
		p := "overrides." + name
		if n.kind != mapKind {
			c.add(w, p, "got %s, want a mapping of %s", n.kind, strings.Join(overrideSection, ", "))
			continue
		}
		// A patch has the shape of the document it patches: decoding it
		// finds unknown fields and wrong types before any service renders.
		d := newDecoder()
		d.decodeStruct(n, reflect.ValueOf(&document{}).Elem(), "")
		c.problems = append(c.problems, d.problems...)
	}
}

// Validate checks every spec and how they fit together: pipeline
// environments exist, load balancers and overrides name services that
// exist, and every (service, environment) pair of every pipeline renders.
func (s *Set) Validate() Problems {
	var all Problems
	for _, name := range sortedKeys(s.Services) {
		all = append(all, s.Services[name].Validate()...)
	}
	for _, name := range sortedKeys(s.Environments) {
		all = append(all, s.Environments[name].Validate()...)
	}
	c := &checker{}
	for _, name := range sortedKeys(s.Environments) {
		e := s.Environments[name]
		w := where{file: e.File, positions: e.positions}
		for _, svc := range sortedKeys(e.LoadBalancers) {
			if _, ok := s.Services[svc]; !ok {
				c.addMissing(w, "loadBalancers."+svc, "services/"+svc+".yaml", "service %q does not exist (no services/%s.yaml)", svc, svc)
			}
		}
		for _, svc := range sortedKeys(e.Overrides) {
			if _, ok := s.Services[svc]; !ok {
				c.addMissing(w, "overrides."+svc, "services/"+svc+".yaml", "service %q does not exist (no services/%s.yaml)", svc, svc)
			}
		}
	}
	// A pair that fails to render often fails for a reason already
	// reported for one of its files; report each problem once.
	seen := map[string]bool{}
	for _, p := range all {
		seen[p.File+":"+p.Path+":"+p.Reason] = true
		if p.Line > 0 {
			seen[fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)] = true
		}
	}
	for _, name := range sortedKeys(s.Services) {
		svc := s.Services[name]
		w := where{file: svc.File, positions: svc.positions}
		for i, envName := range svc.Pipeline {
			env, ok := s.Environments[envName]
			if !ok {
				c.addMissing(w, fmt.Sprintf("pipeline[%d]", i), "environments/"+envName+".yaml", "environment %q does not exist; add environments/%s.yaml or fix the name", envName, envName)
				continue
			}
			_, err := Render(svc, env, validationInput(svc))
			for _, p := range asProblemsOrNil(err) {
				if seen[p.File+":"+p.Path+":"+p.Reason] || p.Line > 0 && seen[fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)] {
					continue
				}
				p.Reason += " (rendering " + svc.Name + " for environment " + envName + ")"
				c.problems = append(c.problems, p)
			}
		}
	}
	return append(all, c.problems...).sorted()
}

// validationInput is a stand-in deployment used to check that a pair
// renders: a well-formed digest and placeholder account and region.
func validationInput(svc *Service) RenderInput {
	repo := svc.Image.Repository
	if repo == "" {
		repo = svc.Name
	}
	return RenderInput{
		Image:        "000000000000.dkr.ecr.us-east-1.amazonaws.com/" + repo + "@sha256:" + strings.Repeat("0", 64),
		DeploymentID: "validate",
		Region:       "us-east-1",
		AccountID:    "000000000000",
	}
}

func asProblemsOrNil(err error) Problems {
	if err == nil {
		return nil
	}
	return asProblems(err)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
