package stack

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/slipwayhq/slipway/internal/spec"
)

// ContainerInstances adds simulated EC2 container instances to a cluster;
// the local ECS service implements it.
type ContainerInstances interface {
	AddContainerInstance(cluster string, cpu, memory int32) (string, error)
}

// StateRewriter is a service whose state can be saved and replaced (the
// local ELBv2). The seed uses it to give load balancer resources the exact
// ARNs the example environments name, which the API cannot choose.
type StateRewriter interface {
	Snapshot() ([]byte, error)
	Restore([]byte) error
}

// CloudMap creates Cloud Map namespaces and services with chosen ids; the
// local Cloud Map implements it. The API cannot choose a service id, and the
// specs name theirs.
type CloudMap interface {
	AddNamespace(name, kind string) (string, error)
	AddService(namespaceID, name, id string) (string, error)
}

// World describes the demo world to seed.
type World struct {
	// Specs is a spec root (the examples/ directory): services/ and
	// environments/.
	Specs fs.FS
	// InstancesPerCluster is how many EC2 container instances each cluster
	// gets, for DAEMON services; 3 if zero.
	InstancesPerCluster int
	// Instances, LoadBalancers and CloudMap are the in-process hooks.
	Instances     ContainerInstances
	LoadBalancers StateRewriter
	CloudMap      CloudMap
}

// Seeded describes the seeded world.
type Seeded struct {
	Set *spec.Set
	// Clusters are the ECS clusters created.
	Clusters []string
	// Alarms are the alarm names created.
	Alarms []string
	// SpecKeys are the spec files uploaded, in upload order.
	SpecKeys []string
}

// Seed creates the world the example specs expect on the local endpoint:
// a cluster per environment with container instances, an ALB per
// environment with one listener, and per service with a load balancer a
// listener rule and two target groups (blue/green) with the ARNs the
// environment names; the Cloud Map services the specs register in; every
// alarm a deployment watches; and uploads the specs
// to the spec bucket (environments first), which the spec-upload function
// indexes. ECR repositories and images are the caller's (see PushImage).
func Seed(ctx context.Context, cfg aws.Config, d *Deployed, w World) (*Seeded, error) {
	set, err := spec.Load(w.Specs)
	if err != nil {
		return nil, fmt.Errorf("seed: load specs: %w", err)
	}
	out := &Seeded{Set: set}
	if w.InstancesPerCluster == 0 {
		w.InstancesPerCluster = 3
	}
	ecsc := ecs.NewFromConfig(cfg)
	for _, name := range sortedKeys(set.Environments) {
		env := set.Environments[name]
		if slices.Contains(out.Clusters, env.Cluster) {
			continue
		}
		if _, err := ecsc.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(env.Cluster)}); err != nil {
			return nil, fmt.Errorf("seed: create cluster %s: %w", env.Cluster, err)
		}
		for range w.InstancesPerCluster {
			if _, err := w.Instances.AddContainerInstance(env.Cluster, 2048, 4096); err != nil {
				return nil, fmt.Errorf("seed: add container instance to %s: %w", env.Cluster, err)
			}
		}
		out.Clusters = append(out.Clusters, env.Cluster)
	}
	if err := seedLoadBalancers(ctx, elb.NewFromConfig(cfg), set, w.LoadBalancers); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	renders, err := renderAll(set, cfg.Region)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	if err := seedCloudMap(w.CloudMap, renders); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	if out.Alarms, err = seedAlarms(ctx, cloudwatch.NewFromConfig(cfg), renders, d.DefaultAlarms); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	if out.SpecKeys, err = uploadSpecs(ctx, s3.NewFromConfig(cfg), d.SpecBucket, w.Specs); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ruleARN is a listener rule ARN of an application load balancer split
// into its parts: listener-rule/app/<lb>/<lb id>/<listener id>/<rule id>.
type ruleARN struct {
	lbName, lbID, listenerID, ruleID string
}

func parseRuleARN(arn string) (ruleARN, error) {
	_, res, ok := strings.Cut(arn, ":listener-rule/app/")
	parts := strings.Split(res, "/")
	if !ok || len(parts) != 4 || slices.Contains(parts, "") {
		return ruleARN{}, fmt.Errorf("listener rule ARN %q: want …:listener-rule/app/<name>/<id>/<id>/<id>", arn)
	}
	return ruleARN{parts[0], parts[1], parts[2], parts[3]}, nil
}

// idOf returns the last path element of an ARN: the id ELBv2 generated.
func idOf(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// targetGroupName returns the name in …:targetgroup/<name>/<id>.
func targetGroupName(arn string) (string, error) {
	_, res, ok := strings.Cut(arn, ":targetgroup/")
	name, id, ok2 := strings.Cut(res, "/")
	if !ok || !ok2 || name == "" || id == "" {
		return "", fmt.Errorf("target group ARN %q: want …:targetgroup/<name>/<id>", arn)
	}
	return name, nil
}

// seedLoadBalancers creates the ALBs, listeners, rules and target groups
// the environments name, then rewrites the generated ids in ELBv2's state
// to the ids of the environments' ARNs.
func seedLoadBalancers(ctx context.Context, c *elb.Client, set *spec.Set, state StateRewriter) error {
	ids := map[string]string{} // generated id → wanted id
	listeners := map[string]string{}
	priority := int32(0)
	for _, envName := range sortedKeys(set.Environments) {
		env := set.Environments[envName]
		for _, svcName := range sortedKeys(env.LoadBalancers) {
			lb := env.LoadBalancers[svcName]
			where := fmt.Sprintf("%s: loadBalancers.%s", env.File, svcName)
			want, err := parseRuleARN(lb.ListenerRuleArn)
			if err != nil {
				return fmt.Errorf("%s.listenerRuleArn: %w", where, err)
			}
			listenerARN, ok := listeners[want.lbName]
			if !ok {
				lbOut, err := c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
					Name: aws.String(want.lbName), Type: elbtypes.LoadBalancerTypeEnumApplication,
					Scheme:  elbtypes.LoadBalancerSchemeEnumInternal,
					Subnets: env.Network.Subnets, SecurityGroups: env.Network.SecurityGroups,
				})
				if err != nil {
					return fmt.Errorf("create load balancer %s: %w", want.lbName, err)
				}
				lbARN := aws.ToString(lbOut.LoadBalancers[0].LoadBalancerArn)
				ids[idOf(lbARN)] = want.lbID
				lOut, err := c.CreateListener(ctx, &elb.CreateListenerInput{
					LoadBalancerArn: aws.String(lbARN), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
					DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse,
						FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("404")}}},
				})
				if err != nil {
					return fmt.Errorf("create listener of %s: %w", want.lbName, err)
				}
				listenerARN = aws.ToString(lOut.Listeners[0].ListenerArn)
				ids[idOf(listenerARN)] = want.listenerID
				listeners[want.lbName] = listenerARN
			}
			var groups []elbtypes.TargetGroupTuple
			for i, tgARN := range lb.TargetGroupArns {
				name, err := targetGroupName(tgARN)
				if err != nil {
					return fmt.Errorf("%s.targetGroupArns[%d]: %w", where, i, err)
				}
				tg, err := c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
					Name: aws.String(name), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(lb.ContainerPort),
					VpcId: aws.String("vpc-0local0000000001"), TargetType: elbtypes.TargetTypeEnumIp,
					HealthCheckPath: aws.String("/healthz"),
				})
				if err != nil {
					return fmt.Errorf("create target group %s: %w", name, err)
				}
				got := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
				ids[idOf(got)] = idOf(tgARN)
				weight := int32(0)
				if i == 0 {
					weight = 100
				}
				groups = append(groups, elbtypes.TargetGroupTuple{TargetGroupArn: aws.String(got), Weight: aws.Int32(weight)})
			}
			priority++
			r, err := c.CreateRule(ctx, &elb.CreateRuleInput{
				ListenerArn: aws.String(listenerARN), Priority: aws.Int32(priority),
				Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"),
					PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/" + svcName + "/*"}}}},
				Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward,
					ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: groups}}},
			})
			if err != nil {
				return fmt.Errorf("create listener rule for %s: %w", svcName, err)
			}
			ids[idOf(aws.ToString(r.Rules[0].RuleArn))] = want.ruleID
		}
	}
	if len(ids) == 0 {
		return nil
	}
	b, err := state.Snapshot()
	if err != nil {
		return fmt.Errorf("give load balancers their ARNs: %w", err)
	}
	text := string(b)
	for generated, wanted := range ids {
		text = strings.ReplaceAll(text, generated, wanted)
	}
	if err := state.Restore([]byte(text)); err != nil {
		return fmt.Errorf("give load balancers their ARNs: %w", err)
	}
	return nil
}

// rendering is one example service rendered for one environment of its
// pipeline.
type rendering struct {
	env *spec.Environment
	r   *spec.Rendered
}

// renderAll renders every service for every environment of its pipeline,
// with a placeholder image, to learn what deployments will reference.
func renderAll(set *spec.Set, region string) ([]rendering, error) {
	const image = "000000000000.dkr.ecr.us-east-1.amazonaws.com/seed@sha256:0000000000000000000000000000000000000000000000000000000000000000"
	var out []rendering
	for _, svcName := range sortedKeys(set.Services) {
		svc := set.Services[svcName]
		for _, envName := range svc.Pipeline {
			env, ok := set.Environments[envName]
			if !ok {
				continue
			}
			r, err := spec.Render(svc, env, spec.RenderInput{Image: image, DeploymentID: "seed", Region: region, AccountID: Account})
			if err != nil {
				return nil, fmt.Errorf("render %s for %s: %w", svcName, envName, err)
			}
			out = append(out, rendering{env: env, r: r})
		}
	}
	return out, nil
}

// seedCloudMap creates a namespace and the Cloud Map services the
// rendered services register in, with the ids their registry ARNs name.
func seedCloudMap(cm CloudMap, renders []rendering) error {
	namespace := ""
	done := map[string]bool{}
	for _, x := range renders {
		if x.r.ServiceInput == nil {
			continue
		}
		for _, reg := range x.r.ServiceInput.ServiceRegistries {
			arn := aws.ToString(reg.RegistryArn)
			_, id, ok := strings.Cut(arn, ":service/")
			if !ok || done[id] {
				continue
			}
			if namespace == "" {
				var err error
				if namespace, err = cm.AddNamespace("local", "HTTP"); err != nil {
					return fmt.Errorf("create Cloud Map namespace: %w", err)
				}
			}
			if _, err := cm.AddService(namespace, x.r.Service, id); err != nil {
				return fmt.Errorf("create Cloud Map service %s for %s: %w", id, x.r.Service, err)
			}
			done[id] = true
		}
	}
	return nil
}

// seedAlarms creates every alarm a deployment of an example service to one
// of its environments watches, plus the stack's default alarms. The 5xx and
// latency alarms of a service with a load balancer watch the ALB metrics of
// both its target groups (metric math), so they fire whichever slot the new
// revision runs in; the others watch metrics that stay quiet unless a test
// publishes them.
func seedAlarms(ctx context.Context, c *cloudwatch.Client, renders []rendering, defaults []string) ([]string, error) {
	type watch struct {
		env *spec.Environment
		lb  *spec.LoadBalancer
	}
	alarms := map[string]watch{}
	for _, name := range defaults {
		alarms[name] = watch{}
	}
	for _, x := range renders {
		for _, a := range x.r.Alarms {
			alarms[a] = watch{env: x.env, lb: x.r.LoadBalancer}
		}
	}
	names := sortedKeys(alarms)
	for _, name := range names {
		w := alarms[name]
		in := &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(name), EvaluationPeriods: aws.Int32(1),
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
			TreatMissingData:   aws.String("notBreaching"),
		}
		switch {
		case w.lb != nil && (strings.HasSuffix(name, "-5xx") || strings.HasSuffix(name, "-p99-latency")):
			r, err := parseRuleARN(w.lb.ListenerRuleArn)
			if err != nil {
				return nil, err
			}
			metric, stat, expr := "HTTPCode_Target_5XX_Count", "Sum", "SUM([blue, green])"
			in.Threshold = aws.Float64(5)
			in.AlarmDescription = aws.String("5xx responses of the service's targets, both slots")
			if strings.HasSuffix(name, "-p99-latency") {
				metric, stat, expr = "TargetResponseTime", "p99", "MAX([blue, green])"
				in.Threshold = aws.Float64(1)
				in.AlarmDescription = aws.String("p99 response time of the service's targets above 1 s, both slots")
			}
			in.Metrics = []cwtypes.MetricDataQuery{{Id: aws.String("total"), Expression: aws.String(expr), ReturnData: aws.Bool(true)}}
			for i, slot := range []string{"blue", "green"} {
				tg := w.lb.TargetGroupArns[i]
				in.Metrics = append(in.Metrics, cwtypes.MetricDataQuery{Id: aws.String(slot), ReturnData: aws.Bool(false),
					MetricStat: &cwtypes.MetricStat{Period: aws.Int32(60), Stat: aws.String(stat), Metric: &cwtypes.Metric{
						Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String(metric),
						Dimensions: []cwtypes.Dimension{
							{Name: aws.String("LoadBalancer"), Value: aws.String("app/" + r.lbName + "/" + r.lbID)},
							{Name: aws.String("TargetGroup"), Value: aws.String(tg[strings.Index(tg, "targetgroup/"):])},
						}}}})
			}
		case strings.HasSuffix(name, "-cpu-high") && w.env != nil:
			in.Namespace, in.MetricName = aws.String("AWS/ECS"), aws.String("CPUUtilization")
			in.Dimensions = []cwtypes.Dimension{{Name: aws.String("ClusterName"), Value: aws.String(w.env.Cluster)}}
			in.Statistic, in.Threshold, in.Period = cwtypes.StatisticAverage, aws.Float64(80), aws.Int32(60)
		default:
			in.Namespace, in.MetricName = aws.String("Slipway/Local"), aws.String(name)
			in.Statistic, in.Threshold, in.Period = cwtypes.StatisticSum, aws.Float64(0), aws.Int32(60)
			in.AlarmDescription = aws.String("a local alarm on a metric nothing publishes unless a test does")
		}
		if _, err := c.PutMetricAlarm(ctx, in); err != nil {
			return nil, fmt.Errorf("create alarm %s: %w", name, err)
		}
	}
	return names, nil
}

// uploadSpecs puts every spec file of specs in the spec bucket under the same
// key, environments first so that services validate against them.
func uploadSpecs(ctx context.Context, c *s3.Client, bucket string, specs fs.FS) ([]string, error) {
	var keys []string
	for _, dir := range []string{spec.EnvironmentsDir, spec.ServicesDir} {
		entries, err := fs.ReadDir(specs, dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", dir, err)
		}
		for _, e := range entries {
			if e.IsDir() || !(strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml") || strings.HasSuffix(e.Name(), ".json")) {
				continue
			}
			key := path.Join(dir, e.Name())
			if err := PutSpec(ctx, c, bucket, key, specs); err != nil {
				return nil, err
			}
			keys = append(keys, key)
		}
	}
	return keys, nil
}

// PutSpec uploads the spec file key of specs to the bucket under key.
func PutSpec(ctx context.Context, c *s3.Client, bucket, key string, specs fs.FS) error {
	b, err := fs.ReadFile(specs, key)
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: strings.NewReader(string(b)), ContentType: aws.String("application/yaml")}); err != nil {
		return fmt.Errorf("upload %s: %w", key, err)
	}
	return nil
}

// Clusters returns the clusters the environments of a spec root name, which
// the stack must be allowed to deploy to.
func Clusters(specs fs.FS) ([]string, error) {
	set, err := spec.Load(specs)
	if err != nil {
		return nil, fmt.Errorf("load specs: %w", err)
	}
	var out []string
	for _, name := range sortedKeys(set.Environments) {
		if c := set.Environments[name].Cluster; !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}
