// Package ecs simulates Amazon ECS for the local endpoint: clusters,
// container instances, task definition revisions, services with their
// deployments, and tasks that move through PROVISIONING, PENDING, RUNNING
// and STOPPED on the shared clock.
//
// The scheduler follows ECS's rules closely enough that a deployment that
// behaves here behaves on AWS: the minimum healthy and maximum percent bound
// every replacement, the deployment circuit breaker counts failed tasks
// against 0.5 × desired (at least 3, at most 200), DAEMON services run one
// task per container instance, Fargate and EC2 are validated as AWS
// validates them, and tasks behind a load balancer are registered as targets
// whose health decides when a deployment has reached a steady state. A task
// pulls its images as on AWS (see pullError): one that cannot be pulled
// stops with CannotPullContainerError and counts for the circuit breaker.
// Faults from the fault registry make an image crash on start or fail its
// health checks.
//
// Services with the BLUE_GREEN, CANARY or LINEAR strategy are deployed by
// ECS itself, with service deployments, service revisions, lifecycle hooks
// and the production listener rule's weights; deployments.go says what is
// modelled.
//
// The simulation is level-triggered: every API call and every timer firing
// runs one reconciliation over the whole state, and a single clock timer is
// armed for the next moment something is due. Calls out of the package
// (events, target and Cloud Map registrations) are queued while the state is
// locked and made in order after it is released.
package ecs

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// Target is one load balancer target: a task's private IP (awsvpc) or its
// container instance's EC2 instance id (bridge, host), and the port.
type Target struct {
	ID   string
	Port int32
}

// TargetRegistry is the part of ELBv2 that ECS drives: registering the
// targets of the tasks of services with load balancers and reporting their
// health. State is initial, healthy, unhealthy or draining; reason is the
// ELB reason code (Elb.RegistrationInProgress, Target.FailedHealthChecks…).
type TargetRegistry interface {
	RegisterTargets(targetGroupARN string, targets []Target)
	DeregisterTargets(targetGroupARN string, ids []string)
	SetTargetHealth(targetGroupARN, id, state, reason string)
	TargetGroupExists(arn string) bool
}

// InstanceRegistry is the part of Cloud Map that ECS drives for services
// with serviceRegistries. serviceID is the Cloud Map service id (srv-…).
type InstanceRegistry interface {
	ServiceExists(serviceID string) bool
	RegisterInstance(serviceID, instanceID string, attributes map[string]string) error
	DeregisterInstance(serviceID, instanceID string) error
}

// FaultSource tells which faults an image has; *faults.Registry is one.
type FaultSource interface {
	ForImage(image string) faults.Behaviour
}

// Timings of the simulated task lifecycle, in simulated time.
const (
	// QuickProvisioning and QuickPull are the task start times of a zero
	// Timings: short, so that tests and the demo move fast.
	QuickProvisioning = 2 * time.Second
	QuickPull         = 3 * time.Second
	// RealisticProvisioning and RealisticPull are typical Fargate times:
	// provisioning and attaching the network interface, then pulling the
	// image and starting the containers (30–90 s in all on AWS).
	RealisticProvisioning = 20 * time.Second
	RealisticPull         = 15 * time.Second

	crashTime       = 1 * time.Second  // RUNNING → the crashing container exits
	healthCheckTime = 10 * time.Second // RUNNING → first health check verdict
	drainTime       = 10 * time.Second // DEACTIVATING while targets drain (quick timings)
	stopTime        = 2 * time.Second  // STOPPING → STOPPED
	forgetAfter     = time.Hour        // how long a STOPPED task stays visible
	maxEvents       = 100              // service events kept

	// placeBatch is how many tasks of a service one pass places.
	placeBatch = 50
	// maxTasksPerService is AWS's quota of tasks per service.
	maxTasksPerService = 5000
	// maxInstancesPerCluster is AWS's quota of container instances per
	// cluster.
	maxInstancesPerCluster = 5000
)

// TargetTimings is implemented by a TargetRegistry that knows its target
// groups' settings, as ELBv2 does. With Timings.TargetGroups the simulation
// asks it how long a new target takes to pass its health checks and how
// long a deregistered one drains. Unlike the registry's other methods these
// are called with the simulation's state locked, to arm the task's next
// step: they only read, and must not call back into ECS.
type TargetTimings interface {
	// HealthyAfter is how long a newly registered target stays initial:
	// HealthCheckIntervalSeconds × HealthyThresholdCount.
	HealthyAfter(targetGroupARN string) time.Duration
	// UnhealthyAfter is how long a newly registered target that fails
	// every check stays initial: HealthCheckIntervalSeconds ×
	// UnhealthyThresholdCount.
	UnhealthyAfter(targetGroupARN string) time.Duration
	// DeregistrationDelay is the target group's
	// deregistration_delay.timeout_seconds.
	DeregistrationDelay(targetGroupARN string) time.Duration
}

// Timings are how long the simulated task lifecycle takes. The zero value
// is quick (QuickProvisioning, QuickPull, a fixed 10 s health check verdict
// and drain), for tests and the demo; Realistic is what `slipway local`
// runs with.
type Timings struct {
	// Provisioning is PROVISIONING → PENDING; QuickProvisioning unless
	// positive.
	Provisioning time.Duration
	// Pull is PENDING → RUNNING (image pull, container start); QuickPull
	// unless positive.
	Pull time.Duration
	// TargetGroups makes a task behind a load balancer wait as on AWS: its
	// target is healthy only after the target group's health check interval
	// × healthy threshold (ALB defaults: 30 s × 5), unhealthy after the
	// interval × unhealthy threshold (30 s × 2), and a stopping task
	// stays DEACTIVATING for the group's deregistration delay (default
	// 300 s). It needs a TargetRegistry that implements TargetTimings.
	TargetGroups bool
}

// Realistic returns the timings of a Fargate task on AWS.
func Realistic() Timings {
	return Timings{Provisioning: RealisticProvisioning, Pull: RealisticPull, TargetGroups: true}
}

// Config wires a Service to the rest of the local endpoint. Only Clock is
// required; nil collaborators are left out of the simulation.
type Config struct {
	Region string
	Clock  clock.Clock
	// Timings is how long tasks take to start, pass their load balancer
	// health checks and drain; the zero value is quick.
	Timings Timings
	Events  protocol.EventSink
	Faults  FaultSource
	Targets TargetRegistry
	Names   InstanceRegistry
	// Images is the local ECR, which tasks pull its images from; nil leaves
	// those images unchecked (see pullError).
	Images ImageRegistry
	// Rules, Alarms and Hooks serve native deployments (deployments.go):
	// the listener rules whose weights they move, the CloudWatch alarms
	// that roll them back, and the Lambda functions of their hooks.
	Rules  ListenerRules
	Alarms AlarmReader
	Hooks  HookInvoker
	Logger *slog.Logger
}

// Service is the simulated ECS. It implements protocol.JSONHandler. The zero
// value is not usable; use New, and Close when done.
type Service struct {
	region  string
	clock   clock.Clock
	events  protocol.EventSink
	faults  FaultSource
	targets TargetRegistry
	names   InstanceRegistry
	images  ImageRegistry
	rules   ListenerRules
	alarms  AlarmReader
	hooks   HookInvoker
	log     *slog.Logger
	timings Timings

	mu       sync.Mutex
	st       state
	effects  []func() // calls out of the package, made in order by flush
	flushing bool
	timer    clock.Timer
	quit     chan struct{}
	closed   bool
}

// New returns an empty simulated ECS.
func New(cfg Config) *Service {
	if cfg.Region == "" {
		cfg.Region = protocol.DefaultRegion
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Events == nil {
		cfg.Events = protocol.DiscardEvents{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Timings.Provisioning <= 0 {
		cfg.Timings.Provisioning = QuickProvisioning
	}
	if cfg.Timings.Pull <= 0 {
		cfg.Timings.Pull = QuickPull
	}
	return &Service{
		region: cfg.Region, clock: cfg.Clock, events: cfg.Events, faults: cfg.Faults,
		targets: cfg.Targets, names: cfg.Names, images: cfg.Images, log: cfg.Logger,
		rules: cfg.Rules, alarms: cfg.Alarms, hooks: cfg.Hooks,
		timings: cfg.Timings,
		st:      newState(),
		quit:    make(chan struct{}),
	}
}

func newState() state {
	return state{Clusters: map[string]*cluster{}, Families: map[string][]*taskDef{}, Tags: map[string]map[string]string{},
		Revisions: map[string]*serviceRevision{}, ServiceDeployments: map[string]*serviceDeployment{}}
}

// Close stops the simulation's timer. Calls made after Close still answer
// but time no longer moves the simulation.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	close(s.quit)
}

// ServeJSON serves one ECS operation (the part of X-Amz-Target after
// "AmazonEC2ContainerServiceV20141113.").
func (s *Service) ServeJSON(ctx context.Context, op string, body []byte) (any, error) {
	switch op {
	case "CreateCluster":
		return handle(s, body, s.createCluster)
	case "DescribeClusters":
		return view(s, body, s.describeClusters)
	case "ListClusters":
		return view(s, body, s.listClusters)
	case "DeleteCluster":
		return handle(s, body, s.deleteCluster)
	case "ListContainerInstances":
		return view(s, body, s.listContainerInstances)
	case "DescribeContainerInstances":
		return view(s, body, s.describeContainerInstances)
	case "UpdateContainerInstancesState":
		return handle(s, body, s.updateContainerInstancesState)
	case "DeregisterContainerInstance":
		return handle(s, body, s.deregisterContainerInstance)
	case "RegisterTaskDefinition":
		return s.registerTaskDefinition(body)
	case "DescribeTaskDefinition":
		return view(s, body, s.describeTaskDefinition)
	case "ListTaskDefinitions":
		return view(s, body, s.listTaskDefinitions)
	case "ListTaskDefinitionFamilies":
		return view(s, body, s.listTaskDefinitionFamilies)
	case "DeregisterTaskDefinition":
		return handle(s, body, s.deregisterTaskDefinition)
	case "CreateService":
		return s.createService(body)
	case "UpdateService":
		return s.updateService(body)
	case "DescribeServices":
		return view(s, body, s.describeServices)
	case "ListServices":
		return view(s, body, s.listServices)
	case "DeleteService":
		return handle(s, body, s.deleteService)
	case "ListTasks":
		return view(s, body, s.listTasks)
	case "DescribeTasks":
		return view(s, body, s.describeTasks)
	case "StopTask":
		return handle(s, body, s.stopTask)
	case "RunTask":
		return handle(s, body, s.runTask)
	case "DescribeServiceDeployments":
		return view(s, body, s.describeServiceDeployments)
	case "ListServiceDeployments":
		return view(s, body, s.listServiceDeployments)
	case "DescribeServiceRevisions":
		return view(s, body, s.describeServiceRevisions)
	case "ContinueServiceDeployment":
		return handle(s, body, s.continueServiceDeployment)
	case "StopServiceDeployment":
		return handle(s, body, s.stopServiceDeployment)
	case "TagResource":
		return handle(s, body, s.tagResource)
	case "UntagResource":
		return handle(s, body, s.untagResource)
	case "ListTagsForResource":
		return view(s, body, s.listTagsForResource)
	}
	return nil, protocol.UnknownOperation(op)
}

// handle decodes body into In and runs f with the state locked, then lets the
// simulation react to the change.
func handle[In any](s *Service, body []byte, f func(now time.Time, in *In) (any, error)) (any, error) {
	var in In
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	return s.locked(func(now time.Time) (any, error) { return f(now, &in) })
}

// view decodes body into In and runs f, which only reads, with the state
// locked. Reads need no reconciliation: every step that falls due is the
// timer's.
func view[In any](s *Service, body []byte, f func(now time.Time, in *In) (any, error)) (any, error) {
	return protocol.Handle(body, &s.mu, s.clock.Now, f)
}

// locked runs f with the state locked, reconciles, re-arms the timer and
// makes the queued calls out of the package.
func (s *Service) locked(f func(now time.Time) (any, error)) (any, error) {
	s.mu.Lock()
	now := s.clock.Now()
	out, err := f(now)
	s.reconcileLocked(now)
	s.mu.Unlock()
	s.flush()
	return out, err
}

// effect queues a call out of the package; s.mu must be held.
func (s *Service) effect(f func()) { s.effects = append(s.effects, f) }

// flush makes the queued calls in order, outside s.mu so that a
// collaborator may call back into ECS. A call made while another flush runs
// leaves its effects to that flush, which keeps them in order.
func (s *Service) flush() {
	s.mu.Lock()
	if s.flushing {
		s.mu.Unlock()
		return
	}
	s.flushing = true
	for len(s.effects) > 0 {
		batch := s.effects
		s.effects = nil
		s.mu.Unlock()
		for _, f := range batch {
			f()
		}
		s.mu.Lock()
	}
	s.flushing = false
	s.mu.Unlock()
}

// Snapshot returns the whole state as JSON.
func (s *Service) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := json.Marshal(&s.st)
	if err != nil {
		return nil, fmt.Errorf("snapshot ecs: %w", err)
	}
	return b, nil
}

// Restore replaces the state with one taken by Snapshot. Tasks continue
// their lifecycle from where they were; steps that fell due while the
// endpoint was down happen at once.
func (s *Service) Restore(b []byte) error {
	st := newState()
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("restore ecs: %w", err)
	}
	if err := checkState(&st); err != nil {
		return fmt.Errorf("restore ecs: %w", err)
	}
	if st.Tags == nil {
		st.Tags = map[string]map[string]string{}
	}
	_, err := s.locked(func(time.Time) (any, error) {
		s.st = st
		return nil, nil
	})
	return err
}

// checkState rejects a snapshot with holes the simulation would trip on,
// and fills in empty maps.
func checkState(st *state) error {
	for name, c := range st.Clusters {
		if c == nil {
			return fmt.Errorf("cluster %s: null", name)
		}
		if c.Services == nil {
			c.Services = map[string]*service{}
		}
		if c.Tasks == nil {
			c.Tasks = map[string]*task{}
		}
		if slices.Contains(c.Instances, nil) {
			return fmt.Errorf("cluster %s: null container instance", name)
		}
		if len(c.Instances) > maxInstancesPerCluster {
			return fmt.Errorf("cluster %s: more than %d container instances", name, maxInstancesPerCluster)
		}
		for svName, sv := range c.Services {
			if sv == nil || slices.Contains(sv.Deployments, nil) {
				return fmt.Errorf("cluster %s: service %s: null service or deployment", name, svName)
			}
			if sv.DesiredCount < 0 || sv.DesiredCount > maxTasksPerService {
				return fmt.Errorf("cluster %s: service %s: desired count %d out of range", name, svName, sv.DesiredCount)
			}
			for _, d := range sv.Deployments {
				if d.DesiredCount < 0 || d.DesiredCount > maxTasksPerService {
					return fmt.Errorf("cluster %s: service %s: desired count %d out of range", name, svName, d.DesiredCount)
				}
			}
		}
		for id, t := range c.Tasks {
			if t == nil {
				return fmt.Errorf("cluster %s: task %s: null", name, id)
			}
		}
	}
	if st.Families == nil {
		st.Families = map[string][]*taskDef{}
	}
	if st.Revisions == nil {
		st.Revisions = map[string]*serviceRevision{}
	}
	if st.ServiceDeployments == nil {
		st.ServiceDeployments = map[string]*serviceDeployment{}
	}
	for arn, sd := range st.ServiceDeployments {
		if sd == nil {
			return fmt.Errorf("service deployment %s: null", arn)
		}
		if len(sd.Steps) == 0 || sd.Step < 0 || sd.Step >= len(sd.Steps) || sd.stageIndex() < 0 {
			return fmt.Errorf("service deployment %s: stage %q, step %d of %d", arn, sd.Stage, sd.Step, len(sd.Steps))
		}
		for _, h := range sd.Hooks {
			if h.Index < 0 || h.Index >= len(sd.Config.Hooks) {
				return fmt.Errorf("service deployment %s: hook %s names no configured hook", arn, h.ID)
			}
		}
	}
	for family, revs := range st.Families {
		for i, td := range revs {
			if td == nil || td.Revision != int32(i+1) {
				return fmt.Errorf("task definition %s: revision %d missing or out of order", family, i+1)
			}
		}
	}
	return nil
}

// Errors as ECS names them. Every ECS client error is a 400.
func clientErr(format string, args ...any) *protocol.Error {
	return protocol.Errorf(http.StatusBadRequest, "ClientException", format, args...)
}

func invalidParam(format string, args ...any) *protocol.Error {
	return protocol.Errorf(http.StatusBadRequest, "InvalidParameterException", format, args...)
}

func clusterNotFound() *protocol.Error {
	return protocol.Errorf(http.StatusBadRequest, "ClusterNotFoundException", "Cluster not found.")
}

func serviceNotFound() *protocol.Error {
	return protocol.Errorf(http.StatusBadRequest, "ServiceNotFoundException", "Service not found.")
}

func serviceNotActive() *protocol.Error {
	return protocol.Errorf(http.StatusBadRequest, "ServiceNotActiveException", "Service was not ACTIVE.")
}

// id returns a fresh identifier of n hex digits, derived from a counter so
// that runs are reproducible; s.mu must be held.
func (s *Service) id(n int) string {
	s.st.Seq++
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], s.st.Seq)
	sum := sha256.Sum256(b[:])
	return hex.EncodeToString(sum[:])[:n]
}

// deploymentID returns a fresh "ecs-svc/<19 digits>"; s.mu must be held.
func (s *Service) deploymentID() string {
	h := s.id(16)
	v, _ := strconv.ParseUint(h, 16, 64)
	return fmt.Sprintf("ecs-svc/%019d", v%1e19)
}

func (s *Service) arn(resource string) string {
	return "arn:aws:ecs:" + s.region + ":" + protocol.Account + ":" + resource
}

// lastPart returns what follows the last '/' of an ARN, or s itself.
func lastPart(s string) string {
	if strings.HasPrefix(s, "arn:") {
		return s[strings.LastIndex(s, "/")+1:]
	}
	return s
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func splitPortKey(key string) (string, int32) {
	name, port, _ := strings.Cut(key, ":")
	p, _ := strconv.Atoi(port)
	return name, int32(p)
}

// clusterLocked returns the ACTIVE cluster named by ref (a name or an ARN,
// "default" when empty); s.mu must be held.
func (s *Service) clusterLocked(ref string) (*cluster, error) {
	if ref == "" {
		ref = "default"
	}
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		_, name, _ = strings.Cut(ref, ":cluster/")
	}
	c := s.st.Clusters[name]
	if c == nil || c.Status != "ACTIVE" {
		return nil, clusterNotFound()
	}
	return c, nil
}

// paginate returns the page of items starting at token (a plain offset) and
// the token of the next page: 100 items unless max (1..100) says otherwise.
// A bad token or max gets ECS's error; the token is checked first.
func paginate[T any](items []T, token string, max *int32) ([]T, *string, error) {
	page, next, err := protocol.Paginate(items, token, max, protocol.PageRules{DefaultSize: 100, MaxSize: 100})
	switch {
	case errors.Is(err, protocol.ErrBadNextToken):
		return nil, nil, invalidParam("Invalid nextToken.")
	case err != nil:
		return nil, nil, invalidParam("maxResults must be between 1 and 100.")
	case next == "":
		return page, nil, nil
	}
	return page, &next, nil
}

// verdictAfter is how long after registration the health checks of a task
// of sv behind a load balancer reach their verdict: with
// Timings.TargetGroups, the longest of its target groups' interval × healthy
// threshold, or × unhealthy threshold for a task that fails them; else the
// quick fixed verdict time.
func (s *Service) verdictAfter(sv *service, t *task, failing bool) time.Duration {
	tt, ok := s.targets.(TargetTimings)
	if !ok || !s.timings.TargetGroups {
		return healthCheckTime
	}
	var d time.Duration
	for _, lb := range lbsOf(sv, t) {
		if failing {
			d = max(d, tt.UnhealthyAfter(lb.TargetGroupARN))
		} else {
			d = max(d, tt.HealthyAfter(lb.TargetGroupARN))
		}
	}
	return d
}

// drainFor is how long a stopping task of sv stays DEACTIVATING while its
// targets drain: the longest deregistration delay of its target groups with
// Timings.TargetGroups, else the quick fixed drain.
func (s *Service) drainFor(sv *service, t *task) time.Duration {
	tt, ok := s.targets.(TargetTimings)
	if !ok || !s.timings.TargetGroups {
		return drainTime
	}
	var d time.Duration
	for _, lb := range lbsOf(sv, t) {
		d = max(d, tt.DeregistrationDelay(lb.TargetGroupARN))
	}
	return d
}
