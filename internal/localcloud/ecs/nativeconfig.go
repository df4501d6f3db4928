package ecs

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
)

// Deployment strategies (deploymentConfiguration.strategy).
const (
	strategyRolling   = "ROLLING"
	strategyBlueGreen = "BLUE_GREEN"
	strategyCanary    = "CANARY"
	strategyLinear    = "LINEAR"
)

// Lifecycle hook target types and actions.
const (
	hookPause    = "PAUSE"
	hookLambda   = "AWS_LAMBDA"
	actionGo     = "CONTINUE"
	actionRevert = "ROLLBACK"
)

// Limits ECS sets on native deployments.
const (
	maxBakeMinutes        = 1440
	maxHookTimeoutMinutes = 20160
	defaultHookTimeout    = 1440 // minutes
	maxHooksPerType       = 10
	defaultCanaryPercent  = 5.0
	defaultCanaryBake     = 10
	defaultLinearPercent  = 10.0
	defaultLinearBake     = 6
)

type canaryConfiguration struct {
	Percent     *float64 `json:"canaryPercent,omitempty"`
	BakeMinutes *int32   `json:"canaryBakeTimeInMinutes,omitempty"`
}

type linearConfiguration struct {
	Percent     *float64 `json:"stepPercent,omitempty"`
	BakeMinutes *int32   `json:"stepBakeTimeInMinutes,omitempty"`
}

type deploymentAlarms struct {
	AlarmNames []string `json:"alarmNames"`
	Enable     bool     `json:"enable"`
	Rollback   bool     `json:"rollback"`
}

type lifecycleHook struct {
	TargetType      string          `json:"targetType,omitempty"`
	HookTargetARN   string          `json:"hookTargetArn,omitempty"`
	RoleARN         string          `json:"roleArn,omitempty"`
	LifecycleStages []string        `json:"lifecycleStages"`
	HookDetails     json.RawMessage `json:"hookDetails,omitempty"`
	Timeout         *hookTimeout    `json:"timeoutConfiguration,omitempty"`
}

type hookTimeout struct {
	TimeoutInMinutes *int32 `json:"timeoutInMinutes,omitempty"`
	Action           string `json:"action,omitempty"`
}

// timeout returns the hook's timeout in minutes and its timeout action,
// with ECS's defaults (1440, ROLLBACK).
func (h lifecycleHook) timeout() (int32, string) {
	mins, act := int32(defaultHookTimeout), actionRevert
	if h.Timeout != nil {
		if h.Timeout.TimeoutInMinutes != nil {
			mins = *h.Timeout.TimeoutInMinutes
		}
		if h.Timeout.Action != "" {
			act = h.Timeout.Action
		}
	}
	return mins, act
}

// nativeConfig is a service's deployment strategy and what goes with it.
// The zero value is ROLLING with nothing else set.
type nativeConfig struct {
	Strategy    string               `json:"strategy,omitempty"`
	BakeMinutes *int32               `json:"bakeTimeInMinutes,omitempty"`
	Canary      *canaryConfiguration `json:"canaryConfiguration,omitempty"`
	Linear      *linearConfiguration `json:"linearConfiguration,omitempty"`
	Hooks       []lifecycleHook      `json:"lifecycleHooks,omitempty"`
	Alarms      *deploymentAlarms    `json:"alarms,omitempty"`
}

// native reports whether ECS itself shifts traffic for the service.
func (n nativeConfig) native() bool {
	return n.Strategy == strategyBlueGreen || n.Strategy == strategyCanary || n.Strategy == strategyLinear
}

// out writes the configuration into DescribeServices' deploymentConfiguration.
func (n nativeConfig) out(o *deploymentConfigurationOut) {
	o.Strategy, o.BakeTimeInMinutes, o.Canary, o.Linear, o.Alarms = n.Strategy, n.BakeMinutes, n.Canary, n.Linear, n.Alarms
	o.LifecycleHooks = n.Hooks
}

// bake returns the deployment's bake time in minutes.
func (n nativeConfig) bake() int32 {
	if n.BakeMinutes == nil {
		return 0
	}
	return *n.BakeMinutes
}

// steps returns the production traffic percentages the target revision gets
// in turn, ending with 100, and the bake in minutes after each step but the
// last.
func (n nativeConfig) steps() ([]float64, int32) {
	switch n.Strategy {
	case strategyCanary:
		p, bake := defaultCanaryPercent, int32(defaultCanaryBake)
		if n.Canary != nil && n.Canary.Percent != nil {
			p = *n.Canary.Percent
		}
		if n.Canary != nil && n.Canary.BakeMinutes != nil {
			bake = *n.Canary.BakeMinutes
		}
		if p >= 100 {
			return []float64{100}, 0
		}
		return []float64{p, 100}, bake
	case strategyLinear:
		p, bake := defaultLinearPercent, int32(defaultLinearBake)
		if n.Linear != nil && n.Linear.Percent != nil {
			p = *n.Linear.Percent
		}
		if n.Linear != nil && n.Linear.BakeMinutes != nil {
			bake = *n.Linear.BakeMinutes
		}
		var out []float64
		for i := 1; ; i++ {
			v := math.Round(float64(i)*p*10) / 10
			if v >= 100 {
				return append(out, 100), bake
			}
			out = append(out, v)
		}
	}
	return []float64{100}, 0
}

// applyNative sets the native deployment fields of dc on sv. A change of
// strategy drops the canary or linear configuration of the old one unless
// the request gives it again.
func applyNative(sv *service, dc *deploymentConfigurationIn) {
	if dc == nil {
		return
	}
	n := &sv.Native
	if dc.Strategy != "" && dc.Strategy != n.Strategy {
		wasNative := n.native()
		n.Strategy = dc.Strategy
		if dc.Canary == nil {
			n.Canary = nil
		}
		if dc.Linear == nil {
			n.Linear = nil
		}
		if wasNative && !n.native() {
			// Back to ROLLING: what only native deployments use goes
			// unless the request sets it again.
			n.BakeMinutes, n.Hooks, n.Alarms = nil, nil, nil
		}
	}
	if dc.BakeTimeInMinutes != nil {
		n.BakeMinutes = dc.BakeTimeInMinutes
	}
	if dc.Canary != nil {
		n.Canary = dc.Canary
	}
	if dc.Linear != nil {
		n.Linear = dc.Linear
	}
	if dc.LifecycleHooks != nil {
		n.Hooks = *dc.LifecycleHooks
	}
	if dc.Alarms != nil {
		n.Alarms = dc.Alarms
	}
}

// tenths reports whether p is a multiple of 0.1.
func tenths(p float64) bool {
	return math.Abs(p*10-math.Round(p*10)) < 1e-9
}

// pauseStages are the stages a PAUSE hook may use, lambdaStages those of
// an AWS_LAMBDA hook.
var (
	pauseStages = []string{"RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT",
		"PRE_PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"}
	lambdaStages = []string{"RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
		"POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"}
)

// validateNative checks the service's strategy against the rest of its
// configuration, as ECS does when the service is created or updated.
func validateNative(sv *service) error {
	n := &sv.Native
	switch n.Strategy {
	case "", strategyRolling, strategyBlueGreen, strategyCanary, strategyLinear:
	default:
		return invalidParam("deploymentConfiguration.strategy: %s is not a deployment strategy; use ROLLING, BLUE_GREEN, LINEAR or CANARY.", n.Strategy)
	}
	var advanced []loadBalancer
	for _, lb := range sv.LoadBalancers {
		if lb.Advanced != nil {
			advanced = append(advanced, lb)
		}
	}
	if !n.native() {
		switch {
		case len(advanced) > 0:
			return invalidParam("loadBalancers.advancedConfiguration is only supported with the BLUE_GREEN, LINEAR and CANARY deployment strategies.")
		case n.Canary != nil:
			return invalidParam("deploymentConfiguration.canaryConfiguration is only valid with the CANARY deployment strategy.")
		case n.Linear != nil:
			return invalidParam("deploymentConfiguration.linearConfiguration is only valid with the LINEAR deployment strategy.")
		// Set to what does nothing (a bake of 0, no hooks, alarms not
		// enabled) they are accepted, as a deployer moving a service back
		// to ROLLING sends them; otherwise they would be ignored here
		// but applied on AWS.
		case n.BakeMinutes != nil && *n.BakeMinutes != 0:
			return invalidParam("deploymentConfiguration.bakeTimeInMinutes is not modelled by the local endpoint yet for the ROLLING strategy; it would be ignored here but applied on AWS, so the request is refused.")
		case len(n.Hooks) > 0:
			return invalidParam("deploymentConfiguration.lifecycleHooks is not modelled by the local endpoint yet for the ROLLING strategy; it would be ignored here but applied on AWS, so the request is refused.")
		case n.Alarms != nil && n.Alarms.Enable:
			return invalidParam("deploymentConfiguration.alarms is not modelled by the local endpoint yet for the ROLLING strategy; it would be ignored here but applied on AWS, so the request is refused.")
		}
		if len(n.Hooks) == 0 {
			n.Hooks = nil
		}
		return nil
	}
	if sv.Scheduling == "DAEMON" {
		return invalidParam("The %s deployment strategy is not supported for services that use the DAEMON scheduling strategy.", n.Strategy)
	}
	switch {
	case len(sv.LoadBalancers) == 0 || len(advanced) == 0:
		return invalidParam("The %s deployment strategy requires a load balancer with advancedConfiguration (alternateTargetGroupArn, productionListenerRule, roleArn).", n.Strategy)
	case len(advanced) > 1:
		return invalidParam("loadBalancers: more than one load balancer with advancedConfiguration is not modelled by the local endpoint yet.")
	}
	a := advanced[0].Advanced
	switch {
	case a.AlternateTargetGroupARN == "":
		return invalidParam("loadBalancers.advancedConfiguration.alternateTargetGroupArn is required for the %s deployment strategy.", n.Strategy)
	case a.AlternateTargetGroupARN == advanced[0].TargetGroupARN:
		return invalidParam("loadBalancers.advancedConfiguration.alternateTargetGroupArn must be different from targetGroupArn.")
	case a.ProductionListenerRule == "":
		return invalidParam("loadBalancers.advancedConfiguration.productionListenerRule is required for the %s deployment strategy.", n.Strategy)
	case a.RoleARN == "":
		return invalidParam("loadBalancers.advancedConfiguration.roleArn is required for the %s deployment strategy.", n.Strategy)
	case !strings.HasPrefix(a.RoleARN, "arn:") || !strings.Contains(a.RoleARN, ":role/"):
		return invalidParam("loadBalancers.advancedConfiguration.roleArn %q is not an IAM role ARN.", a.RoleARN)
	case a.TestListenerRule != "" && a.TestListenerRule == a.ProductionListenerRule:
		return invalidParam("loadBalancers.advancedConfiguration.testListenerRule must be different from productionListenerRule.")
	}
	for _, rule := range []string{a.ProductionListenerRule, a.TestListenerRule} {
		if strings.Contains(rule, ":listener/") {
			return invalidParam("loadBalancers.advancedConfiguration: a listener ARN (%s) for a Network Load Balancer is not modelled by the local endpoint yet; use an Application Load Balancer listener rule.", rule)
		}
	}
	if n.BakeMinutes != nil && (*n.BakeMinutes < 0 || *n.BakeMinutes > maxBakeMinutes) {
		return invalidParam("deploymentConfiguration.bakeTimeInMinutes must be between 0 and %d.", maxBakeMinutes)
	}
	if n.Canary != nil && n.Strategy != strategyCanary {
		return invalidParam("deploymentConfiguration.canaryConfiguration is only valid with the CANARY deployment strategy.")
	}
	if n.Linear != nil && n.Strategy != strategyLinear {
		return invalidParam("deploymentConfiguration.linearConfiguration is only valid with the LINEAR deployment strategy.")
	}
	if c := n.Canary; c != nil {
		if c.Percent != nil && (*c.Percent < 0.1 || *c.Percent > 100 || !tenths(*c.Percent)) {
			return invalidParam("deploymentConfiguration.canaryConfiguration.canaryPercent must be a multiple of 0.1 between 0.1 and 100.")
		}
		if c.BakeMinutes != nil && (*c.BakeMinutes < 0 || *c.BakeMinutes > maxBakeMinutes) {
			return invalidParam("deploymentConfiguration.canaryConfiguration.canaryBakeTimeInMinutes must be between 0 and %d.", maxBakeMinutes)
		}
	}
	if l := n.Linear; l != nil {
		if l.Percent != nil && (*l.Percent < 3 || *l.Percent > 100 || !tenths(*l.Percent)) {
			return invalidParam("deploymentConfiguration.linearConfiguration.stepPercent must be a multiple of 0.1 between 3 and 100.")
		}
		if l.BakeMinutes != nil && (*l.BakeMinutes < 0 || *l.BakeMinutes > maxBakeMinutes) {
			return invalidParam("deploymentConfiguration.linearConfiguration.stepBakeTimeInMinutes must be between 0 and %d.", maxBakeMinutes)
		}
	}
	if err := validateHooks(n.Hooks); err != nil {
		return err
	}
	if al := n.Alarms; al != nil {
		switch {
		case al.Enable && len(al.AlarmNames) == 0:
			return invalidParam("deploymentConfiguration.alarms.alarmNames can not be empty when alarms are enabled.")
		case al.Enable && !al.Rollback:
			return invalidParam("deploymentConfiguration.alarms with rollback false is not modelled by the local endpoint yet; set rollback to true.")
		}
	}
	if sv.CircuitBreaker && !sv.Rollback {
		return invalidParam("deploymentConfiguration.deploymentCircuitBreaker with rollback false is not modelled by the local endpoint yet for the %s strategy; set rollback to true.", n.Strategy)
	}
	return nil
}

func validateHooks(hooks []lifecycleHook) error {
	count := map[string]int{}
	for i, h := range hooks {
		at := "deploymentConfiguration.lifecycleHooks[" + itoa(int32(i)) + "]"
		stages := pauseStages
		switch h.TargetType {
		case hookPause:
			switch {
			case h.HookTargetARN != "":
				return invalidParam("%s.hookTargetArn is not applicable to PAUSE hooks.", at)
			case h.RoleARN != "":
				return invalidParam("%s.roleArn is not applicable to PAUSE hooks.", at)
			case len(h.HookDetails) > 0 && string(h.HookDetails) != "null":
				return invalidParam("%s.hookDetails is not used by PAUSE hooks.", at)
			}
		case hookLambda, "":
			stages = lambdaStages
			switch {
			case h.HookTargetARN == "":
				return invalidParam("%s.hookTargetArn is required for AWS_LAMBDA hooks.", at)
			case !strings.HasPrefix(h.HookTargetARN, "arn:aws:lambda:") || !strings.Contains(h.HookTargetARN, ":function:"):
				return invalidParam("%s.hookTargetArn %q is not a Lambda function ARN.", at, h.HookTargetARN)
			case h.RoleARN == "":
				return invalidParam("%s.roleArn is required for AWS_LAMBDA hooks.", at)
			}
		default:
			return invalidParam("%s.targetType must be AWS_LAMBDA or PAUSE, not %s.", at, h.TargetType)
		}
		typ := h.TargetType
		if typ == "" {
			typ = hookLambda
		}
		if count[typ]++; count[typ] > maxHooksPerType {
			return invalidParam("deploymentConfiguration.lifecycleHooks: at most %d %s hooks per service.", maxHooksPerType, typ)
		}
		if len(h.LifecycleStages) == 0 {
			return invalidParam("%s.lifecycleStages can not be empty.", at)
		}
		for _, st := range h.LifecycleStages {
			if !slices.Contains(stages, st) {
				return invalidParam("%s.lifecycleStages: %s is not a valid stage for a %s hook; valid stages are %s.", at, st, typ, strings.Join(stages, ", "))
			}
		}
		if h.Timeout != nil {
			if m := h.Timeout.TimeoutInMinutes; m != nil && (*m < 1 || *m > maxHookTimeoutMinutes) {
				return invalidParam("%s.timeoutConfiguration.timeoutInMinutes must be between 1 and %d.", at, maxHookTimeoutMinutes)
			}
			switch h.Timeout.Action {
			case "", actionGo, actionRevert:
			default:
				return invalidParam("%s.timeoutConfiguration.action must be CONTINUE or ROLLBACK.", at)
			}
		}
	}
	return nil
}

// nativeModelled lists, like updateModelled, the members of the native
// deployment shapes the local endpoint models; CreateService and
// UpdateService refuse the others by name.
var nativeModelled = map[string][]string{
	"deploymentConfiguration": {"deploymentCircuitBreaker", "maximumPercent", "minimumHealthyPercent", "strategy",
		"bakeTimeInMinutes", "canaryConfiguration", "linearConfiguration", "lifecycleHooks", "alarms"},
	"deploymentConfiguration.deploymentCircuitBreaker":              {"enable", "rollback"},
	"deploymentConfiguration.canaryConfiguration":                   {"canaryPercent", "canaryBakeTimeInMinutes"},
	"deploymentConfiguration.linearConfiguration":                   {"stepPercent", "stepBakeTimeInMinutes"},
	"deploymentConfiguration.alarms":                                {"alarmNames", "enable", "rollback"},
	"deploymentConfiguration.lifecycleHooks[]":                      {"targetType", "hookTargetArn", "roleArn", "lifecycleStages", "hookDetails", "timeoutConfiguration"},
	"deploymentConfiguration.lifecycleHooks[].timeoutConfiguration": {"timeoutInMinutes", "action"},
	"loadBalancers[]":                       {"targetGroupArn", "loadBalancerName", "containerName", "containerPort", "advancedConfiguration"},
	"loadBalancers[].advancedConfiguration": {"alternateTargetGroupArn", "productionListenerRule", "testListenerRule", "roleArn"},
}

// checkAdvanced checks what the advanced configurations of lbs refer to:
// the alternate target group and the listener rules, which must forward to
// one of the service's two target groups. Like checkExternal it runs
// before s.mu is taken.
func (s *Service) checkAdvanced(lbs []loadBalancer) error {
	for _, lb := range lbs {
		a := lb.Advanced
		if a == nil {
			continue
		}
		if a.AlternateTargetGroupARN != "" && s.targets != nil && !s.targets.TargetGroupExists(a.AlternateTargetGroupARN) {
			return invalidParam("The target group with targetGroupArn %s does not exist.", a.AlternateTargetGroupARN)
		}
		if s.rules == nil {
			continue
		}
		for _, r := range []struct{ field, arn string }{{"productionListenerRule", a.ProductionListenerRule}, {"testListenerRule", a.TestListenerRule}} {
			if r.arn == "" || strings.Contains(r.arn, ":listener/") {
				continue // validateNative reports these
			}
			exists, primary := s.rules.ForwardsTo(r.arn, lb.TargetGroupARN)
			_, alternate := s.rules.ForwardsTo(r.arn, a.AlternateTargetGroupARN)
			switch {
			case !exists:
				return invalidParam("loadBalancers.advancedConfiguration.%s: the listener rule %s does not exist.", r.field, r.arn)
			case !primary && !alternate:
				return invalidParam("loadBalancers.advancedConfiguration.%s: the listener rule %s does not forward to target group %s or %s.",
					r.field, r.arn, lb.TargetGroupARN, a.AlternateTargetGroupARN)
			}
		}
	}
	return nil
}
