package deploy

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/slipwayhq/slipway/internal/awsapi/autoscaling"
	"github.com/slipwayhq/slipway/internal/awsapi/cloudwatch"
	"github.com/slipwayhq/slipway/internal/awsapi/ecr"
	"github.com/slipwayhq/slipway/internal/awsapi/ecs"
	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/awsapi/sfn"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// world is a hand-written fake of everything the engine talks to: ECS
// services and their deployments, listener rule weights, alarm states,
// scalable targets, ECR, the state store and the Step Functions task tokens.
// ECS deployments finish rolloutAfter after they start, unless their image
// is marked failing (FAILED) or hanging (IN_PROGRESS for ever).
type world struct {
	t   testing.TB
	now time.Time

	// ECS
	cluster   string
	services  map[string]*fakeService
	tdImage   map[string]string   // task definition ARN → image
	tdDeploy  map[string]string   // task definition ARN → its slipway:deployment tag
	revisions map[string][]string // family → ACTIVE ARNs, oldest first
	nextDep   int
	failing   map[string]bool // images whose tasks fail to start
	hanging   map[string]bool // images whose deployments never finish
	// ELBv2, CloudWatch, Application Auto Scaling
	// rules holds the forward weights of each listener rule; ruleActions
	// the whole action list of a rule a test or SetRuleActions gave one (a
	// rule without is a lone forward).
	rules       map[string][]elbv2.TargetWeight
	ruleActions map[string][]elbv2.Action
	health      map[string][]elbv2.Target
	alarms      map[string]string
	targets     map[string]autoscaling.ScalableTarget
	// policies are the policies and scheduled actions of each target,
	// removed with it
	policies map[string]spec.AutoScaling
	// faults: method name → error it returns; calls counts them
	fail  map[string]error
	calls map[string]int
	// ECR
	digests map[string]string // repository:tag → digest
	// store
	specs map[string][]byte
	// specVersions are versions uploaded after v1 (uploadSpec), by key and
	// id; latestSpec the newest id of a key. v1 has no upload time.
	specVersions map[string]map[string]fakeSpecVersion
	latestSpec   map[string]string
	// firstSpecAt is when v1 of every spec was uploaded; zero: unknown.
	firstSpecAt time.Time
	locks       map[string]lockObject
	etag        int
	queue       map[string]store.QueueEntry
	watches     map[string]store.Watch
	approvals   map[string]store.PendingApproval
	plans       map[string][]byte
	history     []store.HistoryEntry
	newest      map[string]store.NewestRequest
	approved    map[string]store.ApprovalRecord // approval records, by deployment
	// Step Functions; onToken, when set, also hands a completed token on
	// (to the in-process state machine)
	tokens map[string]*workflow.Failure // nil value: succeeded
	// outputs are the outputs tokens were completed with (SendTaskSuccess),
	// the waiting task's result as on Step Functions.
	outputs map[string]any
	// ended holds the status of executions that have ended; any other is
	// RUNNING
	ended      map[string]string
	onToken    func(token string, f *workflow.Failure, output any)
	executions []startedExecution
	// EventBridge
	events []Event
	// scales are the desired counts set without a deployment, in order.
	scales []scaleCall
	// native holds the service deployments of kind ecs (native_fake_test.go).
	native *nativeWorld
}

type fakeService struct {
	name        string
	td          string
	desired     int32
	running     int32
	daemon      bool
	deployments []fakeDeployment
	// settings are what UpdateService sets besides the task definition
	// and count; a change of network, load balancers or capacity providers
	// starts a deployment, as on ECS.
	settings ecs.Settings
	// down is how many tasks of the completed PRIMARY deployment are
	// stopped and not replaced yet (churn: a retired host, a scale-out
	// still provisioning); failed is the least its failedTasks shows.
	down, failed int32
	// scaledAt is when its desired count last went up without a new
	// deployment: the new tasks run rolloutAfter later, as on ECS, where
	// a scale-up provisions for tens of seconds.
	scaledAt time.Time
	// unknownHealth is how many RUNNING tasks of the PRIMARY deployment
	// have no health check verdict yet (UNKNOWN); the others are HEALTHY.
	unknownHealth int32
	// current is the ARN of the service deployment of kind ecs ECS runs
	// or ran last; empty for a service Slipway deploys itself.
	current string
}

// scaleCall is a desired count set without a new deployment
// (SetDesiredCount, or RestoreService of a count), with the running
// counts of every service just before it.
type scaleCall struct {
	Service string
	Count   int32
	Running map[string]int32
}

type fakeDeployment struct {
	ecs.Deployment
	started time.Time
}

type lockObject struct {
	rec  store.LockRecord
	etag string
}

type startedExecution struct {
	machine, name string
	input         workflow.Request
}

const (
	region       = "us-east-1"
	account      = "111122223333"
	rolloutAfter = time.Minute
	daemonHosts  = 3
)

func newWorld(t testing.TB) *world {
	w := &world{
		t: t, now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), cluster: "staging",
		services: map[string]*fakeService{}, tdImage: map[string]string{}, tdDeploy: map[string]string{}, revisions: map[string][]string{},
		failing: map[string]bool{}, hanging: map[string]bool{},
		rules: map[string][]elbv2.TargetWeight{}, ruleActions: map[string][]elbv2.Action{}, health: map[string][]elbv2.Target{}, alarms: map[string]string{},
		targets: map[string]autoscaling.ScalableTarget{}, policies: map[string]spec.AutoScaling{}, fail: map[string]error{}, calls: map[string]int{},
		digests: map[string]string{}, specs: map[string][]byte{}, locks: map[string]lockObject{},
		queue: map[string]store.QueueEntry{}, watches: map[string]store.Watch{},
		approvals: map[string]store.PendingApproval{}, plans: map[string][]byte{},
		tokens: map[string]*workflow.Failure{}, ended: map[string]string{},
	}
	for _, dir := range []string{"services", "environments"} {
		entries, err := os.ReadDir("testdata/specs/" + dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile("testdata/specs/" + dir + "/" + e.Name())
			if err != nil {
				t.Fatal(err)
			}
			w.specs[dir+"/"+e.Name()] = b
		}
	}
	for _, a := range []string{"web-5xx", "worker-errors", "agent-errors", "staging-cpu"} {
		w.alarms[a] = "OK"
	}
	return w
}

// engine returns an Engine over w.
func (w *world) engine() *Engine {
	c := Clients{Services: w, Traffic: w, Alarms: w, Scaling: w}
	return &Engine{
		Store: w, Tasks: w, Events: w, Images: w,
		Clients: func(context.Context, string) (Clients, error) { return c, nil },
		Settings: Settings{Region: region, AccountID: account, Reconcile: 5 * time.Minute,
			KeepRevisions: 2, Now: func() time.Time { return w.now }},
	}
}

// image returns the pinned image of repository:tag, pushing it if new.
func (w *world) image(repo, tag string) string {
	d, ok := w.digests[repo+":"+tag]
	if !ok {
		d = fmt.Sprintf("sha256:%064x", len(w.digests)+1)
		w.digests[repo+":"+tag] = d
	}
	return w.repoURI(repo) + "@" + d
}

func (w *world) repoURI(repo string) string {
	return account + ".dkr.ecr." + region + ".amazonaws.com/" + repo
}

// addService makes a live service running image; desired is ignored for
// DAEMON services.
func (w *world) addService(name, family, image string, desired int32, daemon bool) {
	td := w.register(family, image)
	if daemon {
		desired = daemonHosts
	}
	s := &fakeService{name: name, daemon: daemon}
	w.services[name] = s
	w.deploy(s, td, desired)
	w.now = w.now.Add(rolloutAfter)
	w.settle()
}

func (w *world) register(family, image string) string {
	arn := fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", region, account, family, len(w.revisions[family])+1+w.deregisteredCount(family))
	w.revisions[family] = append(w.revisions[family], arn)
	w.tdImage[arn] = image
	return arn
}

func (w *world) deregisteredCount(family string) int {
	n := 0
	for arn := range w.tdImage {
		if strings.Contains(arn, "/"+family+":") && !slices.Contains(w.revisions[family], arn) {
			n++
		}
	}
	return n
}

// deploy starts an ECS deployment of td on s.
func (w *world) deploy(s *fakeService, td string, desired int32) {
	w.nextDep++
	for i := range s.deployments {
		s.deployments[i].Status = "ACTIVE"
	}
	s.td, s.desired = td, desired
	s.deployments = append(s.deployments, fakeDeployment{started: w.now, Deployment: ecs.Deployment{
		ID: "ecs-svc/" + strconv.Itoa(w.nextDep), Status: "PRIMARY", TaskDefinition: td,
		RolloutState: "IN_PROGRESS", DesiredCount: desired}})
}

// settle moves every ECS deployment on to where the clock says it is. The
// PRIMARY deployment is the last one; older ones keep their tasks until it
// completes.
func (w *world) settle() {
	w.settleNative()
	for _, s := range w.services {
		if s.current != "" {
			continue // ECS deploys it natively: settleNative
		}
		p := &s.deployments[len(s.deployments)-1]
		image := w.tdImage[p.TaskDefinition]
		due := !w.now.Before(p.started.Add(rolloutAfter))
		if p.RolloutState == "IN_PROGRESS" && due && !w.hanging[image] {
			if w.failing[image] {
				p.RolloutState, p.RolloutStateReason = "FAILED", "ECS deployment circuit breaker: tasks failed to start"
				p.FailedTasks = max(s.desired, 1)
			} else {
				p.RolloutState = "COMPLETED"
			}
		}
		p.DesiredCount = s.desired
		if p.RolloutState == "COMPLETED" {
			n := s.desired - s.down
			if w.now.Before(s.scaledAt.Add(rolloutAfter)) {
				n = min(n, p.RunningCount)
			}
			p.RunningCount = n
			p.FailedTasks = max(p.FailedTasks, s.failed)
			s.deployments = s.deployments[len(s.deployments)-1:]
		}
		s.running = 0
		for _, d := range s.deployments {
			s.running += d.RunningCount
		}
	}
}

// advance lets time pass.
func (w *world) advance(d time.Duration) {
	w.now = w.now.Add(d)
	w.settle()
}

// fault counts a call of op and returns the error the test set for it.
func (w *world) fault(op string) error {
	w.calls[op]++
	return w.fail[op]
}

// changes counts the calls that change live state.
func (w *world) changes() int {
	n := 0
	for _, op := range []string{"RegisterTaskDefinition", "CreateService", "UpdateService", "SetDesiredCount",
		"SetTaskDefinition", "RestoreService", "DeleteService", "SetRuleWeights", "SetRuleActions", "RegisterTarget", "DeregisterTarget",
		"PutPolicies"} {
		n += w.calls[op]
	}
	return n
}

// --- ServiceAPI

func (w *world) RegisterTaskDefinition(_ context.Context, r *spec.Rendered, tags map[string]string) (string, error) {
	if err := w.fault("RegisterTaskDefinition"); err != nil {
		return "", err
	}
	for _, k := range []string{"slipway:service", "slipway:environment", "slipway:deployment", "slipway:digest"} {
		if tags[k] == "" && k == "slipway:digest" {
			w.t.Errorf("task definition tag %s: missing", k)
		}
	}
	arn := w.register(*r.TaskDefinition.Family, *r.TaskDefinition.ContainerDefinitions[0].Image)
	w.tdDeploy[arn] = tags["slipway:deployment"]
	return arn, nil
}

// DeploymentRevision looks at the newest ACTIVE revision only, as the
// adapter does.
func (w *world) DeploymentRevision(_ context.Context, family, deployment string) (string, error) {
	if err := w.fault("DeploymentRevision"); err != nil {
		return "", err
	}
	revs := w.revisions[family]
	if len(revs) == 0 || w.tdDeploy[revs[len(revs)-1]] != deployment {
		return "", nil
	}
	return revs[len(revs)-1], nil
}

func (w *world) DescribeService(_ context.Context, cluster, name string) (*ecs.Service, error) {
	if err := w.fault("DescribeService"); err != nil {
		return nil, err
	}
	s, ok := w.services[name]
	if !ok || cluster != w.cluster {
		return nil, fmt.Errorf("describe %s: %w", name, ecs.ErrNotFound)
	}
	out := &ecs.Service{Name: s.name, Cluster: cluster, Status: "ACTIVE", TaskDefinition: s.td,
		DesiredCount: s.desired, RunningCount: s.running, Scheduling: "REPLICA", Settings: s.settings}
	if s.daemon {
		out.Scheduling = "DAEMON"
	}
	for _, d := range slices.Backward(s.deployments) {
		out.Deployments = append(out.Deployments, d.Deployment)
	}
	out.CurrentServiceDeployment = s.current
	return out, nil
}

func (w *world) CreateService(ctx context.Context, r *spec.Rendered, shape ServiceShape, td string) (*ecs.Service, error) {
	if err := w.fault("CreateService"); err != nil {
		return nil, err
	}
	if _, ok := w.services[shape.Name]; ok {
		return nil, fmt.Errorf("create %s: already exists", shape.Name)
	}
	s := &fakeService{name: shape.Name, daemon: r.Scheduling == "DAEMON", settings: renderedSettings(r, shape)}
	w.services[shape.Name] = s
	w.deploy(s, td, w.desiredFor(r, shape))
	if shape.Native != nil {
		w.startNative(s, shape)
	}
	return w.DescribeService(ctx, r.Cluster, shape.Name)
}

func (w *world) UpdateService(ctx context.Context, r *spec.Rendered, shape ServiceShape, td string) (*ecs.Service, error) {
	if err := w.fault("UpdateService"); err != nil {
		return nil, err
	}
	s, ok := w.services[shape.Name]
	if !ok {
		return nil, fmt.Errorf("update %s: %w", shape.Name, ecs.ErrNotFound)
	}
	if !shape.CircuitBreaker {
		w.t.Errorf("update %s: circuit breaker off", shape.Name)
	}
	s.settings = renderedSettings(r, shape)
	w.deploy(s, td, w.desiredFor(r, shape))
	if shape.Native != nil {
		w.startNative(s, shape)
	}
	return w.DescribeService(ctx, r.Cluster, shape.Name)
}

// renderedSettings are the settings an update to r's service reshaped by
// shape leaves, as awsclients builds the request.
func renderedSettings(r *spec.Rendered, shape ServiceShape) ecs.Settings {
	in := r.ServiceInput
	out := ecs.Settings{NetworkConfiguration: in.NetworkConfiguration, LoadBalancers: in.LoadBalancers,
		ServiceRegistries: in.ServiceRegistries, CapacityProviderStrategy: in.CapacityProviderStrategy,
		DeploymentConfiguration: in.DeploymentConfiguration}
	if in.HealthCheckGracePeriodSeconds != nil {
		out.HealthCheckGracePeriodSeconds = *in.HealthCheckGracePeriodSeconds
	}
	if shape.TargetGroupARN != "" {
		out.LoadBalancers = []ecstypes.LoadBalancer{{TargetGroupArn: &shape.TargetGroupARN,
			ContainerName: &shape.ContainerName, ContainerPort: &shape.ContainerPort}}
	}
	return out
}

// RestoreService is SetTaskDefinition, SetDesiredCount and the settings in
// one update: a fault set for either of those ops fails it too, when the
// restore would make that change.
func (w *world) RestoreService(ctx context.Context, cluster, name string, r ecs.Restore) (*ecs.Service, error) {
	if err := w.fault("RestoreService"); err != nil {
		return nil, err
	}
	if r.TaskDefinition != "" && w.fail["SetTaskDefinition"] != nil {
		return nil, w.fault("SetTaskDefinition")
	}
	if r.DesiredCount != nil && w.fail["SetDesiredCount"] != nil {
		return nil, w.fault("SetDesiredCount")
	}
	s, ok := w.services[name]
	if !ok {
		return nil, fmt.Errorf("restore %s: %w", name, ecs.ErrNotFound)
	}
	if r.DesiredCount != nil && s.daemon {
		return nil, fmt.Errorf("restore %s: a DAEMON service has no desired count", name)
	}
	redeploy := r.TaskDefinition != "" && r.TaskDefinition != s.td
	if r.Settings != nil {
		live := s.settings
		if r.Live == nil || len(r.Live.Diff(live)) > 0 {
			w.t.Errorf("restore %s: the live settings given are not the live ones", name)
		}
		for _, f := range r.Settings.Diff(live) {
			switch f {
			case "networkConfiguration", "loadBalancers", "serviceRegistries", "capacityProviderStrategy":
				// ECS applies each by a deployment, registries too.
				redeploy = true
			}
		}
		s.settings = *r.Settings
	}
	n := s.desired
	if r.DesiredCount != nil {
		n = *r.DesiredCount
	}
	if redeploy {
		w.deploy(s, cmp.Or(r.TaskDefinition, s.td), n)
	} else {
		w.scale(s, n)
	}
	return w.DescribeService(ctx, cluster, name)
}

func (w *world) desiredFor(r *spec.Rendered, shape ServiceShape) int32 {
	switch {
	case r.Scheduling == "DAEMON":
		return daemonHosts
	case shape.DesiredCount != nil:
		return *shape.DesiredCount
	}
	return *r.ServiceInput.DesiredCount
}

func (w *world) SetDesiredCount(ctx context.Context, cluster, name string, n int32) (*ecs.Service, error) {
	if err := w.fault("SetDesiredCount"); err != nil {
		return nil, err
	}
	s, ok := w.services[name]
	if !ok {
		return nil, fmt.Errorf("scale %s: %w", name, ecs.ErrNotFound)
	}
	w.scale(s, n)
	return w.DescribeService(ctx, cluster, name)
}

// DeploymentTasks lists the tasks of the deployment id: its running ones,
// HEALTHY but for unknownHealth of them, and PROVISIONING ones up to the
// desired count.
func (w *world) DeploymentTasks(_ context.Context, _, id string) ([]ecs.Task, error) {
	if err := w.fault("DeploymentTasks"); err != nil {
		return nil, err
	}
	for _, s := range w.services {
		for _, d := range s.deployments {
			if d.ID != id {
				continue
			}
			var out []ecs.Task
			for i := range max(d.DesiredCount, d.RunningCount) {
				t := ecs.Task{ARN: fmt.Sprintf("%s/task-%d", id, i), LastStatus: "PROVISIONING", HealthStatus: "UNKNOWN"}
				if i < d.RunningCount {
					t.LastStatus = "RUNNING"
					if i >= s.unknownHealth {
						t.HealthStatus = "HEALTHY"
					}
				}
				out = append(out, t)
			}
			return out, nil
		}
	}
	return nil, nil
}

// scale sets the desired count of s without a new deployment and logs it;
// added tasks run rolloutAfter later.
func (w *world) scale(s *fakeService, n int32) {
	running := map[string]int32{}
	for name, x := range w.services {
		running[name] = x.running
	}
	w.scales = append(w.scales, scaleCall{Service: s.name, Count: n, Running: running})
	if n > s.desired {
		s.scaledAt = w.now
	}
	s.desired = n
	w.settle()
}

func (w *world) DeleteService(_ context.Context, _, name string) error {
	if err := w.fault("DeleteService"); err != nil {
		return err
	}
	delete(w.services, name)
	return nil
}

func (w *world) TaskDefinitionRevisions(_ context.Context, family string) ([]string, error) {
	return slices.Clone(w.revisions[family]), nil
}

func (w *world) DeregisterTaskDefinition(_ context.Context, arn string) error {
	if err := w.fault("DeregisterTaskDefinition"); err != nil {
		return err
	}
	for f, arns := range w.revisions {
		w.revisions[f] = slices.DeleteFunc(arns, func(a string) bool { return a == arn })
	}
	return nil
}

// --- TrafficAPI, AlarmReader, ScalingAPI

// actionsOf returns the action list of rule: the one it was given, its
// forward carrying the weights in w.rules (a test may set those directly),
// or a lone forward with those weights.
func (w *world) actionsOf(rule string) []elbv2.Action {
	tw := w.rules[rule]
	list, ok := w.ruleActions[rule]
	if !ok {
		return []elbv2.Action{{Type: elbv2.ActionForward, Order: 1, Forward: &elbv2.Forward{TargetGroups: slices.Clone(tw)}}}
	}
	if now, err := elbv2.ForwardWeights(list); err == nil && !slices.Equal(now, tw) {
		if next, err := elbv2.WithWeights(list, tw); err == nil {
			return next
		}
	}
	return elbv2.CloneActions(list)
}

func (w *world) RuleActions(_ context.Context, rule string) ([]elbv2.Action, error) {
	if err := w.fault("RuleActions"); err != nil {
		return nil, err
	}
	if _, ok := w.rules[rule]; !ok {
		return nil, fmt.Errorf("rule %s: %w", rule, elbv2.ErrNotFound)
	}
	return w.actionsOf(rule), nil
}

// SetRuleWeights changes the forward's weights only, as the adapter does;
// a rule without a forward action is an error.
func (w *world) SetRuleWeights(_ context.Context, rule string, tw []elbv2.TargetWeight) error {
	if err := w.fault("SetRuleWeights"); err != nil {
		return err
	}
	if _, ok := w.rules[rule]; !ok {
		return fmt.Errorf("rule %s: %w", rule, elbv2.ErrNotFound)
	}
	next, err := elbv2.WithWeights(w.actionsOf(rule), tw)
	if err != nil {
		return fmt.Errorf("rule %s: %w", rule, err)
	}
	if _, ok := w.ruleActions[rule]; ok {
		w.ruleActions[rule] = next
	}
	w.rules[rule] = slices.Clone(tw)
	return nil
}

// SetRuleActions replaces the whole action list, as ModifyRule does, after
// AWS's check that exactly one forward, fixed-response or redirect action
// comes last.
func (w *world) SetRuleActions(_ context.Context, rule string, actions []elbv2.Action) error {
	if err := w.fault("SetRuleActions"); err != nil {
		return err
	}
	if _, ok := w.rules[rule]; !ok {
		return fmt.Errorf("rule %s: %w", rule, elbv2.ErrNotFound)
	}
	terminal := func(a elbv2.Action) bool {
		return a.Type == elbv2.ActionForward || a.Type == elbv2.ActionFixedResponse || a.Type == elbv2.ActionRedirect
	}
	if n := len(actions); n == 0 || !terminal(actions[n-1]) || slices.ContainsFunc(actions[:n-1], terminal) {
		return fmt.Errorf("ValidationError: rule %s: exactly one forward, fixed-response or redirect action, last, got %+v", rule, actions)
	}
	w.ruleActions[rule] = elbv2.CloneActions(actions)
	tw, _ := elbv2.ForwardWeights(actions)
	w.rules[rule] = tw
	return nil
}

func (w *world) TargetHealth(_ context.Context, tg string) ([]elbv2.Target, error) {
	return w.health[tg], nil
}

func (w *world) AlarmStates(_ context.Context, names []string) (map[string]cloudwatch.AlarmState, error) {
	out := map[string]cloudwatch.AlarmState{}
	for _, n := range names {
		v, ok := w.alarms[n]
		if !ok {
			return nil, fmt.Errorf("alarm %s: %w", n, cloudwatch.ErrNotFound)
		}
		out[n] = cloudwatch.AlarmState{Value: v, Reason: "threshold crossed", Updated: w.now}
	}
	return out, nil
}

func (w *world) Target(_ context.Context, id string) (*autoscaling.ScalableTarget, error) {
	t, ok := w.targets[id]
	if !ok {
		return nil, nil
	}
	return &t, nil
}

func (w *world) RegisterTarget(_ context.Context, id string, lo, hi int32, suspended bool) error {
	if err := w.fault("RegisterTarget"); err != nil {
		return err
	}
	w.targets[id] = autoscaling.ScalableTarget{Min: lo, Max: hi, Suspended: suspended}
	// Registering limits moves a desired count outside them inside, as
	// Application Auto Scaling does.
	if s := w.services[id[strings.LastIndex(id, "/")+1:]]; s != nil && !s.daemon {
		if n := min(max(s.desired, lo), hi); n != s.desired {
			s.desired = n
			w.settle()
		}
	}
	return nil
}

func (w *world) DeregisterTarget(_ context.Context, id string) error {
	if err := w.fault("DeregisterTarget"); err != nil {
		return err
	}
	delete(w.targets, id)
	delete(w.policies, id)
	return nil
}

func (w *world) PutPolicies(_ context.Context, id string, a *spec.AutoScaling) error {
	if err := w.fault("PutPolicies"); err != nil {
		return err
	}
	if _, ok := w.targets[id]; !ok {
		return fmt.Errorf("put policies on %s: no scalable target (ObjectNotFoundException)", id)
	}
	w.policies[id] = spec.AutoScaling{Policies: slices.Clone(a.Policies), ScheduledActions: slices.Clone(a.ScheduledActions)}
	return nil
}

func (w *world) ScalingConfig(_ context.Context, id string) (*spec.AutoScaling, error) {
	if err := w.fault("ScalingConfig"); err != nil {
		return nil, err
	}
	p := w.policies[id]
	return &p, nil
}

// --- ImageResolver

func (w *world) ImageDigest(_ context.Context, repo, tag string) (string, error) {
	d, ok := w.digests[repo+":"+tag]
	if !ok {
		return "", fmt.Errorf("tag %s: %w", tag, ecr.ErrNotFound)
	}
	return d, nil
}

func (w *world) RepositoryURI(_ context.Context, repo string) (string, error) {
	return w.repoURI(repo), nil
}

// --- TaskAPI, EventPublisher

func (w *world) SendTaskSuccess(_ context.Context, token string, output any) error {
	if _, done := w.tokens[token]; done {
		return fmt.Errorf("token %s: %w", token, sfn.ErrTaskClosed)
	}
	w.tokens[token] = nil
	if w.outputs == nil {
		w.outputs = map[string]any{}
	}
	w.outputs[token] = output
	if w.onToken != nil {
		w.onToken(token, nil, output)
	}
	return nil
}

func (w *world) SendTaskFailure(_ context.Context, token string, cause error) error {
	if _, done := w.tokens[token]; done {
		return fmt.Errorf("token %s: %w", token, sfn.ErrTaskClosed)
	}
	w.tokens[token] = failureOf(cause)
	if w.onToken != nil {
		w.onToken(token, w.tokens[token], nil)
	}
	return nil
}

func (w *world) StartExecution(_ context.Context, machine, name string, input any) (string, bool, error) {
	req, ok := input.(workflow.Request)
	if !ok {
		w.t.Errorf("StartExecution input: got %T, want workflow.Request", input)
	}
	for _, e := range w.executions {
		if e.name == name {
			return "", true, nil
		}
	}
	w.executions = append(w.executions, startedExecution{machine: machine, name: name, input: req})
	return strings.Replace(machine, ":stateMachine:", ":execution:", 1) + ":" + name, false, nil
}

func (w *world) DescribeExecution(_ context.Context, arn string) (*sfn.Execution, error) {
	status, ok := w.ended[arn]
	switch {
	case status == "gone":
		return nil, fmt.Errorf("describe %s: %w", arn, sfn.ErrNotFound)
	case !ok:
		status = "RUNNING"
	}
	return &sfn.Execution{ARN: arn, Status: status}, nil
}

func (w *world) Publish(_ context.Context, detailType string, detail any) error {
	ev, ok := detail.(Event)
	if detailType != DetailType || !ok {
		w.t.Errorf("Publish: got %s %T, want %s Event", detailType, detail, DetailType)
	}
	w.events = append(w.events, ev)
	return nil
}

// failureOf is what a Catch clause stores for err.
func failureOf(err error) *workflow.Failure {
	name := "Error"
	if n := workflow.Named(err); n != nil {
		name = workflow.ErrorName(n)
	}
	return &workflow.Failure{Error: name, Cause: err.Error()}
}

// --- Store

func (w *world) ServiceSpec(_ context.Context, name, version string) (store.SpecObject, error) {
	return w.spec("services/"+name+".yaml", version)
}

func (w *world) EnvironmentSpec(_ context.Context, name, version string) (store.SpecObject, error) {
	return w.spec("environments/"+name+".yaml", version)
}

func (w *world) spec(key, version string) (store.SpecObject, error) {
	if version == "" {
		version = w.latestSpec[key]
	}
	if v, ok := w.specVersions[key][version]; ok {
		return store.SpecObject{Key: key, Version: version, Body: v.body, LastModified: v.at}, nil
	}
	b, ok := w.specs[key]
	if !ok || (version != "" && version != "v1") {
		return store.SpecObject{}, fmt.Errorf("%s: %w", key, store.ErrNotFound)
	}
	return store.SpecObject{Key: key, Version: "v1", Body: b, LastModified: w.firstSpecAt}, nil
}

// fakeSpecVersion is a spec version uploaded by uploadSpec.
type fakeSpecVersion struct {
	body []byte
	at   time.Time
}

// uploadSpec uploads key again at the world's time as version id, with
// the same body and a comment more, and returns when.
func (w *world) uploadSpec(key, id string) time.Time {
	if w.specVersions == nil {
		w.specVersions, w.latestSpec = map[string]map[string]fakeSpecVersion{}, map[string]string{}
	}
	if w.specVersions[key] == nil {
		w.specVersions[key] = map[string]fakeSpecVersion{}
	}
	at := w.now.Truncate(time.Second)
	w.specVersions[key][id] = fakeSpecVersion{body: append(slices.Clone(w.specs[key]), "\n# "+id+"\n"...), at: at}
	w.latestSpec[key] = id
	return at
}

func lockName(env, svc string) string { return env + "/" + svc }

func (w *world) Lock(_ context.Context, env, svc string) (store.LockRecord, string, error) {
	l, ok := w.locks[lockName(env, svc)]
	if !ok {
		return store.LockRecord{}, "", store.ErrNotFound
	}
	return l.rec, l.etag, nil
}

func (w *world) AcquireLock(_ context.Context, env, svc string, rec store.LockRecord) error {
	if _, ok := w.locks[lockName(env, svc)]; ok {
		return store.ErrConflict
	}
	w.etag++
	w.locks[lockName(env, svc)] = lockObject{rec: rec, etag: strconv.Itoa(w.etag)}
	return nil
}

func (w *world) ReplaceLock(_ context.Context, env, svc string, rec store.LockRecord, etag string) error {
	l, ok := w.locks[lockName(env, svc)]
	if !ok || l.etag != etag {
		return store.ErrConflict
	}
	w.etag++
	w.locks[lockName(env, svc)] = lockObject{rec: rec, etag: strconv.Itoa(w.etag)}
	return nil
}

func (w *world) ReleaseLock(_ context.Context, env, svc, deployment string) error {
	if l, ok := w.locks[lockName(env, svc)]; ok && l.rec.Deployment == deployment {
		delete(w.locks, lockName(env, svc))
	}
	return nil
}

func (w *world) Enqueue(_ context.Context, env, svc string, e store.QueueEntry) (*store.QueueEntry, error) {
	old, ok := w.queue[lockName(env, svc)]
	if ok && old.Deployment != e.Deployment && old.Newer(e) {
		return &old, fmt.Errorf("enqueue %s: %w", e.Deployment, store.ErrNewerWaiting)
	}
	if ok && old.Deployment != e.Deployment && e.Order().Behind(old.Order()) != 0 {
		return &old, fmt.Errorf("enqueue %s: %w", e.Deployment, store.ErrBehindWaiting)
	}
	w.queue[lockName(env, svc)] = e
	if !ok {
		return nil, nil
	}
	return &old, nil
}

func (w *world) Queued(_ context.Context, env, svc string) (*store.QueueEntry, error) {
	e, ok := w.queue[lockName(env, svc)]
	if !ok {
		return nil, nil
	}
	return &e, nil
}

func (w *world) Dequeue(_ context.Context, env, svc string) (*store.QueueEntry, error) {
	e, ok := w.queue[lockName(env, svc)]
	if !ok {
		return nil, nil
	}
	delete(w.queue, lockName(env, svc))
	return &e, nil
}

func (w *world) PutWatch(_ context.Context, wa store.Watch) error {
	if wa.Token == "" {
		return &workflow.InvalidInput{Problems: []string{"token: required"}}
	}
	w.watches[wa.Deployment] = wa
	return nil
}

func (w *world) WatchForDeployment(_ context.Context, deployment string) (store.Watch, error) {
	wa, ok := w.watches[deployment]
	if !ok {
		return store.Watch{}, store.ErrNotFound
	}
	return wa, nil
}

func (w *world) DeleteWatch(_ context.Context, wa store.Watch) error {
	if cur, ok := w.watches[wa.Deployment]; ok && cur.Token == wa.Token {
		delete(w.watches, wa.Deployment)
	}
	return nil
}

func (w *world) PutApproval(_ context.Context, a store.PendingApproval) error {
	w.approvals[lockName(a.Environment, a.Service)] = a
	return nil
}

func (w *world) Approval(_ context.Context, env, svc string) (store.PendingApproval, error) {
	a, ok := w.approvals[lockName(env, svc)]
	if !ok {
		return a, store.ErrNotFound
	}
	return a, nil
}

func (w *world) ApprovalRecord(_ context.Context, deployment string) (store.ApprovalRecord, error) {
	r, ok := w.approved[deployment]
	if !ok {
		return r, store.ErrNotFound
	}
	return r, nil
}

func (w *world) DeleteApproval(_ context.Context, env, svc string) error {
	delete(w.approvals, lockName(env, svc))
	return nil
}

func (w *world) PutPlan(_ context.Context, deployment string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	key := "plans/" + deployment + ".json"
	w.plans[key] = b
	return key, nil
}

func (w *world) Plan(_ context.Context, key string, v any) error {
	b, ok := w.plans[key]
	if !ok {
		return store.ErrNotFound
	}
	return json.Unmarshal(b, v)
}

func (w *world) NewestApplied(_ context.Context, env, svc string) (store.NewestRequest, error) {
	n, ok := w.newest[lockName(env, svc)]
	if !ok {
		return store.NewestRequest{}, store.ErrNotFound
	}
	return n, nil
}

func (w *world) MarkApplied(_ context.Context, env, svc string, rec store.NewestRequest) error {
	if w.newest == nil {
		w.newest = map[string]store.NewestRequest{}
	}
	if cur, ok := w.newest[lockName(env, svc)]; ok {
		rec = store.Merged(cur, rec)
	} else {
		rec.Pins.Order = rec.Order()
	}
	w.newest[lockName(env, svc)] = rec
	return nil
}

func (w *world) PutHistory(_ context.Context, e store.HistoryEntry) error {
	w.history = append(w.history, e)
	return nil
}

// History lists entries newest first by when the deployment started, as
// the store's keys order them (the end time when there is no start), the
// later written first of equal ones.
func (w *world) History(_ context.Context, env, svc string, limit int) ([]store.HistoryEntry, error) {
	var out []store.HistoryEntry
	for _, h := range slices.Backward(w.history) {
		if h.Environment == env && h.Service == svc {
			out = append(out, h)
		}
	}
	at := func(h store.HistoryEntry) time.Time {
		if h.StartedAt.IsZero() {
			return h.EndedAt
		}
		return h.StartedAt
	}
	slices.SortStableFunc(out, func(a, b store.HistoryEntry) int { return at(b).Compare(at(a)) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// historyOf returns the history entry of deployment.
func (w *world) historyOf(deployment string) (store.HistoryEntry, error) {
	for _, h := range w.history {
		if h.Deployment == deployment {
			return h, nil
		}
	}
	return store.HistoryEntry{}, errors.New("no history entry for " + deployment)
}
