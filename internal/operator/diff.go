package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	ecrsdk "github.com/aws/aws-sdk-go-v2/service/ecr"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	stssdk "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/pmezard/go-difflib/difflib"

	ecrapi "github.com/slipwayhq/slipway/internal/awsapi/ecr"
	ecsapi "github.com/slipwayhq/slipway/internal/awsapi/ecs"
	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/deploy"
	"github.com/slipwayhq/slipway/internal/deploy/awsclients"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/store"
)

// Comparison is what slipway diff compares: the same four documents for
// what the specs render and for what runs, in the API's shapes, with the
// fields AWS fills in (ARNs, revisions, status, registration times,
// defaults) left out of the live side.
type Comparison struct {
	// Service is the ECS service the live side was read from (a slot for
	// canary and blue/green); empty when none runs.
	Service string `json:"liveService,omitempty"`
	// Sections are the documents, by name: taskDefinition, service,
	// autoScaling, listenerRule.
	Sections []Section `json:"sections"`
}

// Section is one document on both sides, as indented JSON with sorted keys;
// Live is empty when the resource does not exist.
type Section struct {
	Name    string `json:"name"`
	Desired string `json:"desired"`
	Live    string `json:"live"`
	// Diff is the unified diff of Live (---) to Desired (+++); empty when
	// they are the same.
	Diff string `json:"diff,omitempty"`
}

// Changed reports whether any section differs.
func (c *Comparison) Changed() bool {
	return slices.ContainsFunc(c.Sections, func(s Section) bool { return s.Diff != "" })
}

// taskDefinitionReader reads a registered revision with its tags.
type taskDefinitionReader interface {
	DescribeTaskDefinition(context.Context, *ecssdk.DescribeTaskDefinitionInput, ...func(*ecssdk.Options)) (*ecssdk.DescribeTaskDefinitionOutput, error)
}

// LastImage returns the image of the newest successful deployment of svc in
// env ("" when none): what diff compares against when no image is given.
func (o *Operator) LastImage(ctx context.Context, env, svc string) (string, error) {
	entries, err := o.store.History(ctx, env, svc, 50)
	if err != nil {
		return "", err
	}
	h, _ := store.LastDeployed(entries)
	return h.Image, nil
}

// SpecFiles reads services/<svc>.yaml and environments/<env>.yaml from the
// spec bucket (the latest versions, as a deployment would).
func (o *Operator) SpecFiles(ctx context.Context, svc, env string) (*spec.Service, *spec.Environment, error) {
	so, err := o.store.ServiceSpec(ctx, svc, "")
	if err != nil {
		return nil, nil, fmt.Errorf("read the spec of %s: %w", svc, err)
	}
	eo, err := o.store.EnvironmentSpec(ctx, env, "")
	if err != nil {
		return nil, nil, fmt.Errorf("read the spec of environment %s: %w", env, err)
	}
	s, err := spec.ParseService(so.Key, so.Body)
	if err != nil {
		return nil, nil, err
	}
	e, err := spec.ParseEnvironment(eo.Key, eo.Body)
	if err != nil {
		return nil, nil, err
	}
	return s, e, nil
}

// LiveDeployment returns the tag slipway:deployment of the task definition
// the service runs, to render ${DEPLOYMENT_ID} as it was rendered; "" when
// no service runs.
func (o *Operator) LiveDeployment(ctx context.Context, r *spec.Rendered) (string, error) {
	cfg := o.configFor(r.RoleARN)
	svc, err := liveService(ctx, awsclients.New(cfg), r)
	if err != nil || svc == nil {
		return "", err
	}
	out, err := ecssdk.NewFromConfig(cfg).DescribeTaskDefinition(ctx, &ecssdk.DescribeTaskDefinitionInput{
		TaskDefinition: &svc.TaskDefinition, Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
	if err != nil {
		return "", fmt.Errorf("describe task definition %s: %w", svc.TaskDefinition, err)
	}
	for _, t := range out.Tags {
		if aws.ToString(t.Key) == "slipway:deployment" {
			return aws.ToString(t.Value), nil
		}
	}
	return "", nil
}

// Compare reads what runs for r (the live slot of canary and blue/green,
// the service itself for rolling) and compares it with r.
func (o *Operator) Compare(ctx context.Context, r *spec.Rendered) (*Comparison, error) {
	cfg := o.configFor(r.RoleARN)
	c := awsclients.New(cfg)
	var tds taskDefinitionReader = ecssdk.NewFromConfig(cfg)
	svc, err := liveService(ctx, c, r)
	if err != nil {
		return nil, err
	}
	cmp := &Comparison{}
	var live struct {
		td, service, scaling, rule any
	}
	if svc != nil {
		cmp.Service = svc.Name
		out, err := tds.DescribeTaskDefinition(ctx, &ecssdk.DescribeTaskDefinitionInput{
			TaskDefinition: &svc.TaskDefinition, Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
		if err != nil {
			return nil, fmt.Errorf("describe task definition %s: %w", svc.TaskDefinition, err)
		}
		live.td = liveTaskDefinition(out.TaskDefinition, out.Tags)
		live.service = withoutBreaker(svc.Settings)
		id := "service/" + r.Cluster + "/" + svc.Name
		target, err := c.Scaling.Target(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("read the scalable target of %s: %w", svc.Name, err)
		}
		if target != nil {
			a, err := c.Scaling.ScalingConfig(ctx, id)
			if err != nil {
				return nil, fmt.Errorf("read the scaling policies of %s: %w", svc.Name, err)
			}
			a.MinCapacity, a.MaxCapacity = target.Min, target.Max
			live.scaling = a
		}
	}
	if lb := r.LoadBalancer; lb != nil && lb.ListenerRuleArn != "" {
		actions, err := c.Traffic.RuleActions(ctx, lb.ListenerRuleArn)
		if err != nil {
			return nil, fmt.Errorf("read listener rule %s: %w", lb.ListenerRuleArn, err)
		}
		live.rule = ruleDoc(lb.ListenerRuleArn, ruleGroups(actions))
	}
	want := withoutBreaker(desiredSettings(r, svc))
	var desiredScaling any
	if r.AutoScaling != nil {
		desiredScaling = r.AutoScaling
	}
	var desiredRule any
	if lb := r.LoadBalancer; lb != nil && lb.ListenerRuleArn != "" {
		groups := []string{lb.TargetGroupArns[0]}
		if r.Strategy.Kind != "rolling" {
			groups = append(groups, lb.TargetGroupArns[1])
		}
		desiredRule = ruleDoc(lb.ListenerRuleArn, groups)
	}
	for _, s := range []struct {
		name          string
		desired, live any
	}{
		{"taskDefinition", desiredTaskDefinition(r), live.td},
		{"service", want, live.service},
		{"autoScaling", desiredScaling, live.scaling},
		{"listenerRule", desiredRule, live.rule},
	} {
		sec, err := section(s.name, s.desired, s.live)
		if err != nil {
			return nil, err
		}
		if sec.Desired == "" && sec.Live == "" {
			continue
		}
		cmp.Sections = append(cmp.Sections, sec)
	}
	return cmp, nil
}

// liveService is the ECS service that serves r now: the service itself
// for rolling; for canary and blue/green the slot that carries the most
// traffic (by the listener rule's weights), or runs the most tasks without
// a load balancer; the plain service when no slot exists. Nil when none.
func liveService(ctx context.Context, c deploy.Clients, r *spec.Rendered) (*ecsapi.Service, error) {
	read := func(name string) (*ecsapi.Service, error) {
		s, err := c.Services.DescribeService(ctx, r.Cluster, name)
		if errors.Is(err, ecsapi.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("describe service %s/%s: %w", r.Cluster, name, err)
		}
		return s, nil
	}
	if r.Strategy.Kind == "rolling" {
		return read(r.Service)
	}
	blue, err := read(r.Service + "--blue")
	if err != nil {
		return nil, err
	}
	green, err := read(r.Service + "--green")
	if err != nil {
		return nil, err
	}
	switch {
	case blue == nil && green == nil:
		return read(r.Service)
	case green == nil:
		return blue, nil
	case blue == nil:
		return green, nil
	}
	if lb := r.LoadBalancer; lb != nil && lb.ListenerRuleArn != "" {
		weights, err := c.Traffic.RuleActions(ctx, lb.ListenerRuleArn)
		if err != nil {
			return nil, fmt.Errorf("read listener rule %s: %w", lb.ListenerRuleArn, err)
		}
		w := map[string]int32{}
		for _, a := range weights {
			if a.Forward != nil {
				for _, g := range a.Forward.TargetGroups {
					w[g.TargetGroupARN] = g.Weight
				}
			}
		}
		if w[lb.TargetGroupArns[1]] > w[lb.TargetGroupArns[0]] {
			return green, nil
		}
		return blue, nil
	}
	if green.DesiredCount > blue.DesiredCount {
		return green, nil
	}
	return blue, nil
}

// desiredSettings are the service settings r asks for, shaped as the
// engine applies them to svc: a slot behind its own target group. The
// circuit breaker is the engine's to set and is compared on neither side.
func desiredSettings(r *spec.Rendered, svc *ecsapi.Service) ecsapi.Settings {
	in := r.ServiceInput
	s := ecsapi.Settings{
		NetworkConfiguration: in.NetworkConfiguration, LoadBalancers: in.LoadBalancers,
		ServiceRegistries: in.ServiceRegistries, CapacityProviderStrategy: in.CapacityProviderStrategy,
		DeploymentConfiguration: in.DeploymentConfiguration, HealthCheckGracePeriodSeconds: aws.ToInt32(in.HealthCheckGracePeriodSeconds),
	}
	if lb := r.LoadBalancer; lb != nil && svc != nil && r.Strategy.Kind != "rolling" {
		group := lb.TargetGroupArns[0]
		if strings.HasSuffix(svc.Name, "--green") {
			group = lb.TargetGroupArns[1]
		}
		s.LoadBalancers = []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(group), ContainerName: aws.String(lb.ContainerName), ContainerPort: aws.Int32(lb.ContainerPort)}}
	}
	return s
}

// withoutBreaker drops the deployment circuit breaker, which the engine
// sets on every service it applies (on, with its own rollback off).
func withoutBreaker(s ecsapi.Settings) ecsapi.Settings {
	if s.DeploymentConfiguration != nil {
		dc := *s.DeploymentConfiguration
		dc.DeploymentCircuitBreaker = nil
		s.DeploymentConfiguration = &dc
	}
	return s
}

func ruleDoc(arn string, groups []string) map[string]any {
	slices.Sort(groups)
	return map[string]any{"ruleArn": arn, "forwardTargetGroups": groups}
}

// ruleGroups are the target groups the rule forwards to.
func ruleGroups(actions []elbv2.Action) []string {
	var out []string
	for _, a := range actions {
		if a.TargetGroupARN != "" {
			out = append(out, a.TargetGroupARN)
		}
		if a.Forward != nil {
			for _, g := range a.Forward.TargetGroups {
				out = append(out, g.TargetGroupARN)
			}
		}
	}
	return out
}

// desiredTaskDefinition is the rendered RegisterTaskDefinition input
// without the tags Slipway adds itself.
func desiredTaskDefinition(r *spec.Rendered) any {
	td := *r.TaskDefinition
	td.Tags = userTags(td.Tags)
	return &td
}

// liveTaskDefinition is a registered revision in RegisterTaskDefinition's
// shape: what AWS fills in (ARN, revision, status, registration,
// requiresAttributes, compatibilities) is dropped, and the tags Slipway
// adds.
func liveTaskDefinition(td *ecstypes.TaskDefinition, tags []ecstypes.Tag) any {
	if td == nil {
		return nil
	}
	in := ecssdk.RegisterTaskDefinitionInput{
		Family: td.Family, ContainerDefinitions: td.ContainerDefinitions, Cpu: td.Cpu, Memory: td.Memory,
		EphemeralStorage: td.EphemeralStorage, ExecutionRoleArn: td.ExecutionRoleArn, TaskRoleArn: td.TaskRoleArn,
		InferenceAccelerators: td.InferenceAccelerators, IpcMode: td.IpcMode, PidMode: td.PidMode,
		NetworkMode: td.NetworkMode, PlacementConstraints: td.PlacementConstraints, ProxyConfiguration: td.ProxyConfiguration,
		RequiresCompatibilities: td.RequiresCompatibilities, RuntimePlatform: td.RuntimePlatform, Volumes: td.Volumes,
		EnableFaultInjection: td.EnableFaultInjection, Tags: userTags(tags),
	}
	return &in
}

func userTags(tags []ecstypes.Tag) []ecstypes.Tag {
	var out []ecstypes.Tag
	for _, t := range tags {
		if !strings.HasPrefix(aws.ToString(t.Key), "slipway:") {
			out = append(out, t)
		}
	}
	return out
}

// section renders both sides in the API's JSON names, drops from the live
// side the defaults AWS fills in where the desired side says nothing, and
// diffs them.
func section(name string, desired, live any) (Section, error) {
	d, err := canonical(desired)
	if err != nil {
		return Section{}, fmt.Errorf("%s: %w", name, err)
	}
	l, err := canonical(live)
	if err != nil {
		return Section{}, fmt.Errorf("%s: %w", name, err)
	}
	if d != nil && l != nil {
		l = dropFilled(d, l)
	}
	sec := Section{Name: name, Desired: indent(d), Live: indent(l)}
	if sec.Desired != sec.Live {
		diff, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(sec.Live), B: difflib.SplitLines(sec.Desired),
			FromFile: "live/" + name, ToFile: "desired/" + name, Context: 3,
		})
		if err != nil {
			return Section{}, fmt.Errorf("diff %s: %w", name, err)
		}
		sec.Diff = diff
	}
	return sec, nil
}

// canonical is v as generic JSON in the API's field names (spec.MarshalAPI),
// with nulls and empty lists and objects removed; nil for nothing.
func canonical(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := spec.MarshalAPI(v)
	if err != nil {
		return nil, err
	}
	var g any
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, err
	}
	return prune(g), nil
}

func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if p := prune(e); p == nil {
				delete(x, k)
			} else {
				x[k] = p
			}
		}
		if len(x) == 0 {
			return nil
		}
		return x
	case []any:
		out := x[:0]
		for _, e := range x {
			if p := prune(e); p != nil {
				out = append(out, p)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return v
}

// dropFilled removes from live what AWS fills in when a request leaves it
// out, where desired leaves it out: zero values, a container's essential
// (true), a port mapping's protocol (tcp) and hostPort (= containerPort
// in awsvpc), the deployment configuration's percentages (200/100 for
// REPLICA, 100/0 for DAEMON) and strategy (ROLLING).
func dropFilled(desired, live any) any {
	switch l := live.(type) {
	case map[string]any:
		d, _ := desired.(map[string]any)
		for k, lv := range l {
			dv, ok := d[k]
			if ok {
				l[k] = dropFilled(dv, lv)
				continue
			}
			if m, ok := lv.(map[string]any); ok {
				// An object the request left out entirely, such as the
				// deployment configuration ECS fills in: compared as
				// whatever is left once its defaults are dropped.
				if rest := dropFilled(map[string]any{}, m); len(rest.(map[string]any)) == 0 {
					delete(l, k)
				}
				continue
			}
			if zero(lv) || filledDefault(k, lv, l) {
				delete(l, k)
			}
		}
		return l
	case []any:
		d, _ := desired.([]any)
		for i := range l {
			if i < len(d) {
				l[i] = dropFilled(d[i], l[i])
			}
		}
		return l
	}
	return live
}

func zero(v any) bool {
	switch x := v.(type) {
	case bool:
		return !x
	case float64:
		return x == 0
	case string:
		return x == ""
	}
	return false
}

func filledDefault(k string, v any, in map[string]any) bool {
	switch k {
	case "essential":
		return v == true
	case "protocol":
		return v == "tcp"
	case "hostPort":
		return v == in["containerPort"]
	case "maximumPercent": // REPLICA 200, DAEMON 100
		return v == 200.0 || v == 100.0
	case "minimumHealthyPercent": // REPLICA 100, DAEMON 0
		return v == 100.0
	case "strategy":
		return v == "ROLLING"
	}
	return false
}

func indent(v any) string {
	if v == nil {
		return ""
	}
	b, _ := json.MarshalIndent(v, "", "  ") // generic JSON always encodes
	return string(b) + "\n"
}

// configFor is the SDK configuration for an environment: the stack's
// account when roleARN is empty, else the role's credentials (as the
// engine assumes it, under a session named for the CLI).
func (o *Operator) configFor(roleARN string) aws.Config {
	if roleARN == "" {
		return o.cfg
	}
	cfg := o.cfg.Copy()
	provider := stscreds.NewAssumeRoleProvider(stssdk.NewFromConfig(o.cfg), roleARN,
		func(a *stscreds.AssumeRoleOptions) { a.RoleSessionName = "slipway-cli" })
	cfg.Credentials = aws.NewCredentialsCache(provider)
	return cfg
}

// PinImage resolves image (a tag, a digest, or a repository reference) to
// repository-uri@sha256:digest exactly as a deployment of svc would, in
// the ECR of the stack's account.
func (o *Operator) PinImage(ctx context.Context, svc *spec.Service, image string) (string, error) {
	return deploy.ResolveImage(ctx, ecrapi.New(ecrsdk.NewFromConfig(o.cfg)), svc, image)
}

// Account returns the account and caller ARN of the credentials in use.
func (o *Operator) Account(ctx context.Context) (account, arn string, err error) {
	account, arn, err = o.identity.CallerIdentity(ctx)
	if err != nil {
		return "", "", fmt.Errorf("ask STS who the caller is: %w", err)
	}
	return account, arn, nil
}

// Region is the region of the SDK configuration in use.
func (o *Operator) Region() string { return o.cfg.Region }
