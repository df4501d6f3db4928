package demo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// world holds the clients the scenarios use.
type world struct {
	r   *endpoint.Running
	say func(format string, args ...any)
	sfn *sfn.Client
	ecs *ecs.Client
	elb *elb.Client
	s3  *s3.Client
	cw  *cloudwatch.Client
	// rolledBack is the execution scenario 2 rolled back, for the report.
	rolledBack string
	// strategy, when set, describes web's strategy as uploaded by a
	// scenario, instead of the example specs'.
	strategy string
}

func newWorld(r *endpoint.Running, say func(string, ...any)) *world {
	return &world{r: r, say: say, sfn: sfn.NewFromConfig(r.AWS), ecs: ecs.NewFromConfig(r.AWS),
		elb: elb.NewFromConfig(r.AWS), s3: s3.NewFromConfig(r.AWS), cw: cloudwatch.NewFromConfig(r.AWS)}
}

// staging returns the first environment of a service's pipeline and the
// service spec.
func (w *world) staging(service string) (*spec.Service, *spec.Environment, error) {
	svc, ok := w.r.Seeded.Set.Services[service]
	if !ok || len(svc.Pipeline) == 0 {
		return nil, nil, errorf("the specs have no service %s with a pipeline", service)
	}
	env, ok := w.r.Seeded.Set.Environments[svc.Pipeline[0]]
	if !ok {
		return nil, nil, errorf("the specs have no environment %s", svc.Pipeline[0])
	}
	return svc, env, nil
}

// push pushes service's repository:tag, waits for the deployment it starts
// in the first environment and narrates it.
func (w *world) push(ctx context.Context, service, tag string, afterPush func(digest string) error) (execution, string, error) {
	svc, env, err := w.staging(service)
	if err != nil {
		return execution{}, "", err
	}
	known, err := w.knownExecutions(ctx)
	if err != nil {
		return execution{}, "", err
	}
	plan := strategyText(svc, env)
	if w.strategy != "" {
		plan = w.strategy
	}
	if plan != "" {
		w.say("%s's strategy in %s: %s", service, env.Name, plan)
	}
	digest, err := stack.PushImage(ctx, w.r.AWS, svc.Image.Repository, tag)
	if err != nil {
		return execution{}, "", err
	}
	w.say("pushed %s:%s (%s…)", svc.Image.Repository, tag, digest[:19])
	if afterPush != nil {
		if err := afterPush(digest); err != nil {
			return execution{}, "", err
		}
	}
	arn, err := w.newExecution(ctx, service+"-"+env.Name+"-", known)
	if err != nil {
		return execution{}, "", err
	}
	w.say("deployment started: %s", arn[strings.LastIndex(arn, ":")+1:])
	lb := env.LoadBalancers[service]
	x, err := w.follow(ctx, arn, func(state string) {
		switch state {
		case workflow.StateShiftTraffic, workflow.StatePromote, workflow.StateRollback, workflow.StateApply,
			workflow.StateAwaitLock, workflow.StateAwaitApproval:
			w.say("  %s", state)
		case workflow.StateContinueDeployment:
			// Kind ecs: ECS moves the traffic; each hook Slipway continues
			// shows where it stands.
			if ws, err := w.weights(ctx, lb); err == nil {
				w.say("  ContinueDeployment with traffic %s", ws)
			}
		case workflow.StateDeployed, workflow.StateRolledBack, workflow.StateRejected, workflow.StateRollbackFailed, workflow.StateSuperseded, workflow.StateFailed:
			w.say("  %s", state)
		case workflow.StateBake:
			if lb.ListenerRuleArn != "" {
				if ws, err := w.weights(ctx, lb); err == nil {
					w.say("  Bake with traffic %s", ws)
				}
			} else {
				w.say("  Bake")
			}
		}
	})
	if err != nil {
		return execution{}, "", err
	}
	w.say("deployment ended %s after %d states", x.Status, len(x.Path))
	return x, digest, nil
}

// strategyText describes how a deployment of svc to env moves: the
// strategy as rendered (the environment's overrides applied).
func strategyText(svc *spec.Service, env *spec.Environment) string {
	const image = "000000000000.dkr.ecr.us-east-1.amazonaws.com/demo@sha256:0000000000000000000000000000000000000000000000000000000000000000"
	r, err := spec.Render(svc, env, spec.RenderInput{Image: image, DeploymentID: "demo", Region: "us-east-1", AccountID: stack.Account})
	if err != nil {
		return ""
	}
	st := r.Strategy
	var steps []string
	for _, s := range st.Steps {
		step := fmt.Sprintf("%d%%", s.Weight)
		if s.Bake.Duration > 0 {
			step += fmt.Sprintf(" (bake %s)", s.Bake.Duration)
		}
		steps = append(steps, step)
	}
	text := st.Kind
	if len(steps) > 0 {
		text += " " + strings.Join(steps, " → ")
	}
	if st.FinalBake.Duration > 0 {
		text += fmt.Sprintf(", final bake %s", st.FinalBake.Duration)
	}
	if len(r.Alarms) > 0 {
		text += ", watching " + strings.Join(r.Alarms, ", ")
	}
	return text
}

// weights describes the listener rule's forward weights per target group.
type weights map[string]int32

// String lists the weights as "blue 50% / green 50%".
func (ws weights) String() string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(ws)) {
		parts = append(parts, fmt.Sprintf("%s %d%%", name, ws[name]))
	}
	return strings.Join(parts, " / ")
}

// weights reads the weights of the rule of lb, keyed "blue" and "green".
func (w *world) weights(ctx context.Context, lb spec.LoadBalancer) (weights, error) {
	out, err := w.elb.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{lb.ListenerRuleArn}})
	if err != nil {
		return nil, fmt.Errorf("describe rule: %w", err)
	}
	if len(out.Rules) != 1 || len(out.Rules[0].Actions) == 0 || out.Rules[0].Actions[0].ForwardConfig == nil {
		return nil, errorf("rule %s has no forward action", lb.ListenerRuleArn)
	}
	ws := weights{}
	for _, tg := range out.Rules[0].Actions[0].ForwardConfig.TargetGroups {
		switch aws.ToString(tg.TargetGroupArn) {
		case lb.TargetGroupArns[0]:
			ws["blue"] = aws.ToInt32(tg.Weight)
		case lb.TargetGroupArns[1]:
			ws["green"] = aws.ToInt32(tg.Weight)
		}
	}
	return ws, nil
}

// servingSlot returns the slot ("blue"/"green") of service whose running
// task definition uses the image digest, and that slot's running count.
func (w *world) servingSlot(ctx context.Context, cluster, service, digest string) (string, int32, error) {
	for _, slot := range []string{"blue", "green"} {
		image, running, err := w.serviceImage(ctx, cluster, service+"--"+slot)
		if errors.Is(err, errNoService) {
			continue
		}
		if err != nil {
			return "", 0, err
		}
		if strings.HasSuffix(image, "@"+digest) && running > 0 {
			return slot, running, nil
		}
	}
	return "", 0, errorf("no slot of %s runs %s", service, digest)
}

// serviceImage returns the image of the first container of the service's
// task definition and its running count.
func (w *world) serviceImage(ctx context.Context, cluster, service string) (string, int32, error) {
	out, err := w.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil {
		return "", 0, fmt.Errorf("describe service %s: %w", service, err)
	}
	if len(out.Services) == 0 || aws.ToString(out.Services[0].Status) != "ACTIVE" {
		return "", 0, errNoService
	}
	s := out.Services[0]
	td, err := w.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: s.TaskDefinition})
	if err != nil {
		return "", 0, fmt.Errorf("describe task definition of %s: %w", service, err)
	}
	if len(td.TaskDefinition.ContainerDefinitions) == 0 {
		return "", 0, errorf("task definition of %s has no container", service)
	}
	return aws.ToString(td.TaskDefinition.ContainerDefinitions[0].Image), s.RunningCount, nil
}

func hasAll(path []string, states ...string) error {
	for _, s := range states {
		if !slices.Contains(path, s) {
			return errorf("path %s does not go through %s", strings.Join(path, " → "), s)
		}
	}
	return nil
}

// canarySucceeds: web:v2 goes through every traffic step to 100% and is
// promoted.
func (w *world) canarySucceeds(ctx context.Context) error {
	_, env, err := w.staging("web")
	if err != nil {
		return err
	}
	x, digest, err := w.pushDeploys(ctx, "web", "v2", workflow.StateApply, workflow.StateShiftTraffic, workflow.StateBake, workflow.StatePromote, workflow.StateDeployed)
	if err != nil {
		return err
	}
	if slices.Contains(x.Path, workflow.StateRollback) {
		return errorf("path %s went through Rollback", strings.Join(x.Path, " → "))
	}
	slot, running, err := w.servingSlot(ctx, env.Cluster, "web", digest)
	if err != nil {
		return err
	}
	ws, err := w.weights(ctx, env.LoadBalancers["web"])
	if err != nil {
		return err
	}
	if ws[slot] != 100 {
		return errorf("traffic %s, want 100%% on %s, which runs v2", ws, slot)
	}
	w.say("web:v2 serves 100%% of traffic from the %s slot with %d tasks", slot, running)
	return nil
}

// pushDeploys pushes service:tag and waits for the deployment it starts,
// which must succeed through every state of through.
func (w *world) pushDeploys(ctx context.Context, service, tag string, through ...string) (x execution, digest string, err error) {
	x, digest, err = w.push(ctx, service, tag, nil)
	if err != nil {
		return execution{}, "", err
	}
	if x.Status != sfntypes.ExecutionStatusSucceeded {
		return execution{}, "", errorf("deployment %s", x.describe())
	}
	if err := hasAll(x.Path, through...); err != nil {
		return execution{}, "", err
	}
	return x, digest, nil
}

// pushFaulty pushes service:tag, making its tasks answer 50% of requests
// with 5xx as soon as the image exists, and waits for the deployment it
// starts; it returns the image's digest too. clear removes the fault.
func (w *world) pushFaulty(ctx context.Context, service, tag string) (x execution, digest string, clear func(), err error) {
	control := endpoint.Control{URL: w.r.URL}
	x, digest, err = w.push(ctx, service, tag, func(digest string) error {
		_, err := control.Apply(ctx, faults.State{Images: map[string]faults.Behaviour{digest: {ErrorRate: 0.5}}})
		if err == nil {
			w.say("fault: tasks of %s:%s answer 50%% of requests with 5xx", service, tag)
		}
		return err
	})
	if err != nil {
		return execution{}, "", nil, err
	}
	return x, digest, func() {
		control.Apply(context.WithoutCancel(ctx), faults.State{Images: map[string]faults.Behaviour{digest: {}}})
	}, nil
}

// canaryRollsBack: web:v3 answers 50% 5xx; its alarm fires during a bake
// and traffic returns to v2.
func (w *world) canaryRollsBack(ctx context.Context) error {
	_, env, err := w.staging("web")
	if err != nil {
		return err
	}
	lb := env.LoadBalancers["web"]
	before, err := w.weights(ctx, lb)
	if err != nil {
		return err
	}
	x, digest, clear, err := w.pushFaulty(ctx, "web", "v3")
	if err != nil {
		return err
	}
	defer clear()
	w.rolledBack = x.ARN
	if x.Status == sfntypes.ExecutionStatusSucceeded {
		return errorf("the faulty deployment succeeded: %s", x.describe())
	}
	if err := hasAll(x.Path, workflow.StateShiftTraffic, workflow.StateBake, workflow.StateRollback, workflow.StateRolledBack); err != nil {
		return err
	}
	if slices.Contains(x.Path, workflow.StatePromote) {
		return errorf("path %s promoted the faulty revision", strings.Join(x.Path, " → "))
	}
	after, err := w.weights(ctx, lb)
	if err != nil {
		return err
	}
	if fmt.Sprint(after) != fmt.Sprint(before) {
		return errorf("traffic %s after the rollback, want %s as before", after, before)
	}
	alarm := "web-" + env.Name + "-5xx"
	st, err := w.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{alarm}})
	if err != nil {
		return fmt.Errorf("describe alarm %s: %w", alarm, err)
	}
	if len(st.MetricAlarms) == 1 {
		w.say("alarm %s is %s: %s", alarm, st.MetricAlarms[0].StateValue, aws.ToString(st.MetricAlarms[0].StateReason))
	}
	records := store.New(s3api.New(w.s3), w.r.Deployed.SpecBucket, w.r.Deployed.StateBucket)
	history, err := records.History(ctx, env.Name, "web", 1)
	if err != nil {
		return fmt.Errorf("read web's deployment history: %w", err)
	}
	if len(history) != 1 || history[0].Outcome != workflow.OutcomeRolledBack || !strings.HasSuffix(history[0].Image, "@"+digest) {
		return errorf("latest history entry %+v, want v3 (%s) rolled back", history, digest)
	}
	w.say("rolled back (%s); traffic is %s again; history records v3 %s: %s", x.Error, after, history[0].Outcome, history[0].Error)
	return nil
}

// invalidSpec: a services/web.yaml with errors is rejected with each
// problem and starts no deployment.
func (w *world) invalidSpec(ctx context.Context) error {
	known, err := w.knownExecutions(ctx)
	if err != nil {
		return err
	}
	const key = "services/web.yaml"
	bad := `image:
  repository: web
pipeline: [staging, nowhere]
taskDefinition:
  requiresCompatibilities: [FARGATE]
  cpu: "300"
  containerDefinitions: []
service:
  desiredCount: -1
strategy:
  kind: canary
  steps:
    - weight: 150
`
	out, err := w.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(w.r.Deployed.SpecBucket), Key: aws.String(key),
		Body: strings.NewReader(bad)})
	if err != nil {
		return fmt.Errorf("upload %s: %w", key, err)
	}
	version := aws.ToString(out.VersionId)
	w.say("uploaded an invalid %s (version %s)", key, version)
	st := store.New(s3api.New(w.s3), w.r.Deployed.SpecBucket, w.r.Deployed.StateBucket)
	var rej store.Rejection
	for {
		rej, err = st.Rejection(ctx, key, version)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := pause(ctx); err != nil {
			return fmt.Errorf("wait for the rejection of %s: %w", key, err)
		}
	}
	if len(rej.Problems) == 0 {
		return errorf("rejection of %s lists no problem", key)
	}
	w.say("rejected with %d problems:", len(rej.Problems))
	for _, p := range rej.Problems {
		w.say("  %s", p)
	}
	// The upload's handler has finished (it recorded the rejection); give
	// any deployment it might have started a moment to show up.
	time.Sleep(200 * time.Millisecond)
	execs, err := endpoint.ListExecutions(ctx, w.sfn, w.r.Deployed.StateMachineARN)
	if err != nil {
		return err
	}
	for _, x := range execs {
		if !known[aws.ToString(x.ExecutionArn)] {
			return errorf("execution %s started after the rejected upload", aws.ToString(x.Name))
		}
	}
	w.say("no deployment started")
	return nil
}

// workerRolls: worker:v2 replaces worker:v1 in place.
func (w *world) workerRolls(ctx context.Context) error {
	_, env, err := w.staging("worker")
	if err != nil {
		return err
	}
	_, digest, err := w.pushDeploys(ctx, "worker", "v2", workflow.StateApply, workflow.StateAwaitStable, workflow.StateDeployed)
	if err != nil {
		return err
	}
	image, running, err := w.serviceImage(ctx, env.Cluster, "worker")
	if err != nil {
		return err
	}
	if !strings.HasSuffix(image, "@"+digest) || running < 1 {
		return errorf("worker runs %s with %d tasks, want worker:v2 (%s) running", image, running, digest)
	}
	w.say("worker runs v2 with %d task(s)", running)
	return nil
}

// agentRolls: agent:v2 replaces the DAEMON's task on every container
// instance.
func (w *world) agentRolls(ctx context.Context) error {
	_, env, err := w.staging("agent")
	if err != nil {
		return err
	}
	_, digest, err := w.pushDeploys(ctx, "agent", "v2")
	if err != nil {
		return err
	}
	instances, err := w.ecs.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String(env.Cluster)})
	if err != nil {
		return fmt.Errorf("list container instances: %w", err)
	}
	tasks, err := w.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(env.Cluster), ServiceName: aws.String("agent"),
		DesiredStatus: ecstypes.DesiredStatusRunning})
	if err != nil {
		return fmt.Errorf("list agent tasks: %w", err)
	}
	if len(tasks.TaskArns) == 0 {
		return errorf("agent has no running task")
	}
	desc, err := w.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(env.Cluster), Tasks: tasks.TaskArns})
	if err != nil {
		return fmt.Errorf("describe agent tasks: %w", err)
	}
	image, _, err := w.serviceImage(ctx, env.Cluster, "agent")
	if err != nil {
		return err
	}
	if !strings.HasSuffix(image, "@"+digest) {
		return errorf("agent's task definition runs %s, want v2 (%s)", image, digest)
	}
	hosts := map[string]bool{}
	for _, t := range desc.Tasks {
		if aws.ToString(t.LastStatus) != "RUNNING" {
			continue
		}
		if len(t.Containers) == 0 || !strings.HasSuffix(aws.ToString(t.Containers[0].Image), "@"+digest) {
			return errorf("task %s runs %v, want v2", aws.ToString(t.TaskArn), t.Containers)
		}
		hosts[aws.ToString(t.ContainerInstanceArn)] = true
	}
	if len(hosts) != len(instances.ContainerInstanceArns) {
		return errorf("agent v2 runs on %d of %d container instances", len(hosts), len(instances.ContainerInstanceArns))
	}
	w.say("agent v2 runs on all %d container instances", len(hosts))
	return nil
}
