package ecs

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ListenerRules is the part of ELBv2 that native deployments drive: the
// production and test listener rules whose forward weights they move.
// *elbv2.Service is one.
type ListenerRules interface {
	// ForwardsTo reports whether the rule exists and whether its forward
	// action lists the target group.
	ForwardsTo(ruleARN, targetGroupARN string) (exists, forwards bool)
	// ShiftWeights sends percent of the rule's traffic to to and the rest
	// to from, keeping the rule's other actions as they are.
	ShiftWeights(ruleARN, from, to string, percent float64) error
}

// AlarmReader tells the state (OK, ALARM, INSUFFICIENT_DATA) of a
// CloudWatch alarm; ok is false when there is no such alarm.
type AlarmReader interface {
	AlarmState(name string) (state string, ok bool)
}

// HookInvoker invokes the Lambda function of an AWS_LAMBDA lifecycle hook
// synchronously and returns its response; a function error is an error.
type HookInvoker interface {
	InvokeHook(ctx context.Context, functionARN string, payload []byte) ([]byte, error)
}

// Service deployment statuses.
const (
	sdPending        = "PENDING"
	sdInProgress     = "IN_PROGRESS"
	sdSuccessful     = "SUCCESSFUL"
	sdStopped        = "STOPPED"
	sdRollingBack    = "ROLLBACK_IN_PROGRESS"
	sdRolledBack     = "ROLLBACK_SUCCESSFUL"
	sdRollbackFailed = "ROLLBACK_FAILED"
)

// Lifecycle stages of a native deployment, in order.
const (
	stageReconcile  = "RECONCILE_SERVICE"
	stagePreScale   = "PRE_SCALE_UP"
	stageScaleUp    = "SCALE_UP"
	stagePostScale  = "POST_SCALE_UP"
	stageTest       = "TEST_TRAFFIC_SHIFT"
	stagePostTest   = "POST_TEST_TRAFFIC_SHIFT"
	stageProduction = "PRODUCTION_TRAFFIC_SHIFT"
	stagePreProd    = "PRE_PRODUCTION_TRAFFIC_SHIFT" // a hook stage only, before each step
	stagePostProd   = "POST_PRODUCTION_TRAFFIC_SHIFT"
	stageBake       = "BAKE_TIME"
	stageCleanUp    = "CLEAN_UP"
)

var nativeStages = []string{stageReconcile, stagePreScale, stageScaleUp, stagePostScale, stageTest, stagePostTest,
	stageProduction, stagePostProd, stageBake, stageCleanUp}

// Phases within a stage.
const (
	phaseEnter = ""     // the stage's action is still to be done
	phasePre   = "pre"  // PRE_PRODUCTION_TRAFFIC_SHIFT hooks before a production step
	phaseHooks = "hook" // the stage's hooks run
	phaseWait  = "wait" // the stage waits (tasks, bake) before the next
)

// defaultCallBack is how long ECS waits before invoking a Lambda hook again
// that answered IN_PROGRESS without a callBackDelay.
const defaultCallBack = 30 * time.Second

type serviceRevision struct {
	ARN            string                         `json:"arn"`
	ServiceARN     string                         `json:"serviceArn"`
	ClusterARN     string                         `json:"clusterArn"`
	TaskDefinition string                         `json:"taskDefinition"`
	LaunchType     string                         `json:"launchType,omitempty"`
	Strategy       []capacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	Platform       string                         `json:"platformVersion,omitempty"`
	Network        *networkConfiguration          `json:"networkConfiguration,omitempty"`
	LoadBalancers  []loadBalancer                 `json:"loadBalancers,omitempty"`
	Registries     []serviceRegistry              `json:"serviceRegistries,omitempty"`
	Images         []containerImage               `json:"containerImages,omitempty"`
	CreatedAt      time.Time                      `json:"createdAt"`
}

type containerImage struct {
	ContainerName string `json:"containerName"`
	Image         string `json:"image"`
	ImageDigest   string `json:"imageDigest,omitempty"`
}

// serviceDeployment is one native deployment and where it stands.
type serviceDeployment struct {
	ARN        string       `json:"arn"`
	Cluster    string       `json:"cluster"` // name
	Service    string       `json:"service"` // name
	ServiceARN string       `json:"serviceArn"`
	ClusterARN string       `json:"clusterArn"`
	Status     string       `json:"status"`
	Reason     string       `json:"statusReason,omitempty"`
	Stage      string       `json:"lifecycleStage"`
	Phase      string       `json:"phase,omitempty"`
	Config     nativeConfig `json:"config"`
	// Breaker, MaxPercent and MinHealthy are the rest of the service's
	// deployment configuration when the deployment started.
	Breaker    bool  `json:"circuitBreaker"`
	MaxPercent int32 `json:"maximumPercent"`
	MinHealthy int32 `json:"minimumHealthyPercent"`
	// Sources and Target are service revision ARNs; SourceDeployments and
	// Deployment the ecs-svc/… ids of the deployments that run them.
	Sources           []string `json:"sources"`
	SourceDeployments []string `json:"sourceDeployments"`
	// SourceDesired is how many tasks the source revision ran; until
	// CLEAN_UP the scheduler replaces those that stop.
	SourceDesired int32  `json:"sourceDesired"`
	Target        string `json:"target"`
	Deployment    string `json:"deployment"`
	// From is the target group production traffic leaves, To the one it
	// moves to; Initial marks the first deployment of a service, which has
	// no source and shifts nothing.
	FromTG     string    `json:"from"`
	ToTG       string    `json:"to"`
	ProdRule   string    `json:"productionListenerRule"`
	TestRule   string    `json:"testListenerRule,omitempty"`
	Initial    bool      `json:"initial"`
	Steps      []float64 `json:"steps"`
	StepBake   int32     `json:"stepBake"`
	Step       int       `json:"step"`
	ProdWeight float64   `json:"productionWeight"` // % of production traffic on To
	TestWeight float64   `json:"testWeight"`       // % of test traffic on To
	WaitUntil  time.Time `json:"waitUntil,omitzero"`
	Hooks      []hookRun `json:"hooks,omitempty"`     // all so far, oldest first
	AlarmCheck time.Time `json:"alarmCheck,omitzero"` // when its alarms were first read
	// AlarmStatus and BreakerStatus are MONITORING, TRIGGERED,
	// MONITORING_COMPLETE or DISABLED.
	AlarmStatus   string        `json:"alarmStatus"`
	Triggered     []string      `json:"triggeredAlarms,omitempty"`
	BreakerStatus string        `json:"breakerStatus"`
	Rollback      *rollbackInfo `json:"rollback,omitempty"`
	CreatedAt     time.Time     `json:"createdAt"`
	StartedAt     time.Time     `json:"startedAt,omitzero"`
	UpdatedAt     time.Time     `json:"updatedAt"`
	FinishedAt    time.Time     `json:"finishedAt,omitzero"`
	StoppedAt     time.Time     `json:"stoppedAt,omitzero"`
}

type rollbackInfo struct {
	Reason    string    `json:"reason"`
	Revision  string    `json:"serviceRevisionArn"`
	StartedAt time.Time `json:"startedAt"`
	// Deployment is the ecs-svc/… id of the deployment rolled back to, and
	// FailedBefore its failed task count when the rollback started: the
	// failures since then count against the rollback.
	Deployment   string `json:"deployment,omitempty"`
	FailedBefore int32  `json:"failedBefore,omitempty"`
}

// hookRun is one lifecycle hook at one stage.
type hookRun struct {
	ID            string    `json:"hookId"`
	Index         int       `json:"index"` // in Config.Hooks
	Type          string    `json:"targetType"`
	TargetARN     string    `json:"targetArn,omitempty"`
	Stage         string    `json:"stage"`
	Status        string    `json:"status"`
	Reason        string    `json:"reason,omitempty"`
	ExpiresAt     time.Time `json:"expiresAt"`
	TimeoutAction string    `json:"timeoutAction"`
	NextInvoke    time.Time `json:"nextInvoke,omitzero"`
	Invoking      bool      `json:"invoking,omitempty"`
}

func (sd *serviceDeployment) active() bool {
	return sd.Status == sdPending || sd.Status == sdInProgress || sd.Status == sdRollingBack
}

func (sd *serviceDeployment) stageIndex() int { return slices.Index(nativeStages, sd.Stage) }

// liveLoadBalancers returns the service's load balancers with the target
// group that takes production traffic, and whether that differs from what
// the service was configured with (a native deployment swapped them).
func liveLoadBalancers(sv *service) ([]loadBalancer, bool) {
	if sv.LiveTargetGroup == "" {
		return nil, false
	}
	out := slices.Clone(sv.LoadBalancers)
	for i, lb := range out {
		if lb.Advanced != nil && lb.Advanced.AlternateTargetGroupARN == sv.LiveTargetGroup {
			out[i].TargetGroupARN = sv.LiveTargetGroup
			return out, true
		}
	}
	return nil, false
}

// lbsOf returns the load balancers the task registers in: its deployment's
// when pinned, else the service's.
func lbsOf(sv *service, t *task) []loadBalancer {
	for _, d := range sv.Deployments {
		if d.ID == t.Deployment && d.LoadBalancers != nil {
			return d.LoadBalancers
		}
	}
	return sv.LoadBalancers
}

// newRevision records the service revision deployment d runs.
func (s *Service) newRevision(now time.Time, sv *service, d *deployment) string {
	_, rest, _ := strings.Cut(sv.ARN, ":service/")
	clusterName, _, _ := strings.Cut(rest, "/")
	s.st.Seq++
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], s.st.Seq)
	sum := sha256.Sum256(b[:])
	n := binary.BigEndian.Uint64(sum[:8]) % 1e19
	rev := &serviceRevision{
		ARN:        s.arn(fmt.Sprintf("service-revision/%s/%s/%019d", clusterName, sv.Name, n)),
		ServiceARN: sv.ARN, ClusterARN: s.arn("cluster/" + clusterName), TaskDefinition: d.TaskDefinition,
		LaunchType: d.LaunchType, Strategy: d.Strategy, Platform: d.Platform, Network: d.Network,
		LoadBalancers: slices.Clone(cmpLBs(d.LoadBalancers, sv.LoadBalancers)),
		Registries:    slices.Clone(sv.Registries), CreatedAt: now,
	}
	if td, err := s.taskDefLocked(d.TaskDefinition); err == nil {
		for _, cd := range td.Containers {
			img := containerImage{ContainerName: cd.Name, Image: cd.Image}
			if _, digest, ok := strings.Cut(cd.Image, "@"); ok {
				img.ImageDigest = digest
			}
			rev.Images = append(rev.Images, img)
		}
	}
	s.st.Revisions[rev.ARN] = rev
	return rev.ARN
}

func cmpLBs(a, b []loadBalancer) []loadBalancer {
	if a != nil {
		return a
	}
	return b
}

// opaqueID returns a fresh id of n characters of [A-Za-z0-9_-].
func (s *Service) opaqueID(n int) string {
	s.st.Seq++
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], s.st.Seq)
	sum := sha256.Sum256(b[:])
	out := base64.RawURLEncoding.EncodeToString(sum[:])
	for len(out) < n {
		out += out
	}
	return out[:n]
}

// startNative starts a native deployment of tdARN for sv: a new PRIMARY
// deployment whose tasks will register in the target group production
// traffic does not go to, and the service deployment that brings it up
// stage by stage. A native deployment still running is stopped: its target
// revision's tasks stop and its traffic goes back. s.mu is held.
func (s *Service) startNative(now time.Time, c *cluster, sv *service, tdARN string) {
	var lb *loadBalancer
	for i := range sv.LoadBalancers {
		if sv.LoadBalancers[i].Advanced != nil {
			lb = &sv.LoadBalancers[i]
		}
	}
	if lb == nil {
		// validateNative lets no native service without one through.
		s.log.Error("native deployment without a load balancer with advancedConfiguration", "service", sv.ARN)
		return
	}
	a := lb.Advanced
	from := lb.TargetGroupARN
	if sv.LiveTargetGroup == a.AlternateTargetGroupARN {
		from = a.AlternateTargetGroupARN
	} else {
		sv.LiveTargetGroup = ""
	}
	to := a.AlternateTargetGroupARN
	if from == a.AlternateTargetGroupARN {
		to = lb.TargetGroupARN
	}
	// A deployment still running is replaced by this one.
	superseded := map[string]bool{}
	if old := s.st.ServiceDeployments[sv.ServiceDeployment]; old != nil && old.active() && old.Initial {
		// The first deployment's tasks already serve production: they
		// are the source of this one.
		old.Status, old.Reason, old.StoppedAt, old.FinishedAt, old.UpdatedAt = sdStopped, "Stopped by a newer service deployment.", now, now, now
	} else if old != nil && old.active() {
		superseded[old.Deployment] = true
		if old.Status == sdRollingBack {
			// Its new tasks stop just below: the rollback is done.
			old.Status, old.FinishedAt, old.UpdatedAt = sdRolledBack, now, now
		} else {
			old.Status, old.Reason, old.StoppedAt, old.UpdatedAt = sdStopped, "Stopped by a newer service deployment.", now, now
			old.FinishedAt = now
			s.shiftBack(old)
		}
		for _, t := range liveTasks(c, sv) {
			if t.Deployment == old.Deployment {
				s.beginStop(now, c, t, "ServiceSchedulerInitiated", "Service deployment stopped by a newer one", false)
			}
		}
		for _, d := range sv.Deployments {
			if d.ID == old.Deployment && d.RolloutState == "IN_PROGRESS" {
				d.RolloutState, d.RolloutReason, d.UpdatedAt = "FAILED", "Stopped by a newer service deployment.", now
			}
		}
	}
	sd := &serviceDeployment{
		ARN:     s.arn("service-deployment/" + c.Name + "/" + sv.Name + "/" + s.opaqueID(21)),
		Cluster: c.Name, Service: sv.Name, ServiceARN: sv.ARN, ClusterARN: c.ARN,
		Status: sdPending, Stage: stageReconcile, Config: sv.Native,
		Breaker: sv.CircuitBreaker, MaxPercent: sv.MaximumPercent, MinHealthy: sv.MinimumHealthy,
		FromTG: from, ToTG: to, ProdRule: a.ProductionListenerRule, TestRule: a.TestListenerRule,
		AlarmStatus: "DISABLED", BreakerStatus: "DISABLED",
		CreatedAt: now, UpdatedAt: now,
	}
	if sd.Config.Alarms != nil && sd.Config.Alarms.Enable {
		sd.AlarmStatus = "MONITORING"
	}
	if sd.Breaker {
		sd.BreakerStatus = "MONITORING"
	}
	sd.Steps, sd.StepBake = sd.Config.steps()
	for _, d := range sv.Deployments {
		if d.LoadBalancers == nil {
			// Pin where the running tasks are, before the roles swap.
			d.LoadBalancers = slices.Clone(sv.LoadBalancers)
			for i := range d.LoadBalancers {
				if d.LoadBalancers[i].Advanced != nil {
					d.LoadBalancers[i].TargetGroupARN = from
				}
			}
		}
		if d.Status == "PRIMARY" {
			d.Status, d.UpdatedAt = "ACTIVE", now
			if !superseded[d.ID] {
				sd.SourceDesired = d.DesiredCount
			}
		}
		if !superseded[d.ID] {
			sd.SourceDeployments = append(sd.SourceDeployments, d.ID)
			sd.Sources = append(sd.Sources, d.Revision)
		}
	}
	sd.Initial = len(sd.SourceDeployments) == 0
	if sd.Initial {
		// Nothing runs yet: the first revision goes where production
		// traffic already goes.
		sd.FromTG, sd.ToTG = to, from
		sd.ProdWeight, sd.TestWeight = 100, 100
		sd.Steps, sd.StepBake = []float64{100}, 0
	}
	d := s.newDeployment(now, sv, tdARN)
	d.LoadBalancers = slices.Clone(sv.LoadBalancers)
	for i := range d.LoadBalancers {
		if d.LoadBalancers[i].Advanced != nil {
			d.LoadBalancers[i].TargetGroupARN = sd.ToTG
		}
	}
	if rev := s.st.Revisions[d.Revision]; rev != nil {
		rev.LoadBalancers = slices.Clone(d.LoadBalancers)
	}
	d.Native = sd.ARN
	sd.Deployment, sd.Target = d.ID, d.Revision
	sv.Deployments = append([]*deployment{d}, sv.Deployments...)
	sv.TaskDefinition = tdARN
	sv.ServiceDeployment = sd.ARN
	s.st.ServiceDeployments[sd.ARN] = sd
	s.serviceEvent(now, sv, fmt.Sprintf("(service %s) started %s service deployment %s.", sv.Name, sd.Config.Strategy, lastPart(sd.ARN)))
	s.deploymentEvent(sv, d, "SERVICE_DEPLOYMENT_IN_PROGRESS", now)
}

// activeNative returns the service's native deployment while it runs.
func (s *Service) activeNative(sv *service) *serviceDeployment {
	sd := s.st.ServiceDeployments[sv.ServiceDeployment]
	if sd == nil || !sd.active() {
		return nil
	}
	return sd
}

func findDeployment(sv *service, id string) *deployment {
	for _, d := range sv.Deployments {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// advanceNative moves the service deployment through as many stages as are
// due now.
func (s *Service) advanceNative(now time.Time, c *cluster, sv *service, sd *serviceDeployment) {
	for range 200 {
		if !s.stepNative(now, c, sv, sd) {
			return
		}
	}
}

// stepNative makes one step of the service deployment, and reports whether
// another may follow at once.
func (s *Service) stepNative(now time.Time, c *cluster, sv *service, sd *serviceDeployment) bool {
	switch sd.Status {
	case sdPending:
		sd.Status, sd.StartedAt, sd.UpdatedAt = sdInProgress, now, now
		return true
	case sdRollingBack:
		s.tendRollback(now, c, sv, sd)
		return false
	case sdInProgress:
	default:
		return false
	}
	if reason := s.tendHooks(now, sv, sd); reason != "" {
		s.rollbackNative(now, c, sv, sd, reason)
		return false
	}
	// Once CLEAN_UP has begun the source revision is going: there is
	// nothing to roll back to.
	if target := findDeployment(sv, sd.Deployment); sd.Breaker && target != nil && sd.Stage != stageCleanUp &&
		target.FailedTasks >= failureThreshold(target.DesiredCount) {
		sd.BreakerStatus = "TRIGGERED"
		s.rollbackNative(now, c, sv, sd, "ECS deployment circuit breaker: tasks failed to start.")
		return false
	}
	s.checkAlarms(now, sd)
	switch sd.Phase {
	case phaseEnter:
		s.enterStage(now, sv, sd)
		return true
	case phasePre:
		if !hooksDone(sd) {
			return false
		}
		s.shiftProduction(now, sv, sd, sd.Steps[sd.Step])
		s.startHooks(now, sv, sd, stageProduction)
		sd.Phase = phaseHooks
		return true
	case phaseHooks:
		if !hooksDone(sd) {
			return false
		}
		sd.Phase, sd.WaitUntil = phaseWait, now
		switch {
		case sd.Stage == stageProduction && sd.Steps[sd.Step] < 100:
			sd.WaitUntil = now.Add(time.Duration(sd.StepBake) * time.Minute)
		case sd.Stage == stageBake && !sd.Initial:
			// With no source revision there is nothing to roll back to
			// while baking.
			sd.WaitUntil = now.Add(time.Duration(sd.Config.bake()) * time.Minute)
		}
		return true
	case phaseWait:
		if !s.waitDone(now, c, sv, sd) {
			return false
		}
		switch {
		case sd.Stage == stageProduction && sd.Step < len(sd.Steps)-1:
			sd.Step++
			s.startHooks(now, sv, sd, stagePreProd)
			sd.Phase = phasePre
			return true
		case sd.Stage == stageCleanUp:
			s.finishNative(now, sv, sd)
			return false
		}
		sd.Stage, sd.Phase, sd.UpdatedAt = nativeStages[sd.stageIndex()+1], phaseEnter, now
		return true
	}
	return false
}

// enterStage does what the stage does on entry and starts its hooks.
func (s *Service) enterStage(now time.Time, sv *service, sd *serviceDeployment) {
	sd.UpdatedAt = now
	switch sd.Stage {
	case stageReconcile:
		// Only when more than one revision was running.
		if len(sd.Sources) > 1 {
			s.startHooks(now, sv, sd, stageReconcile)
		}
	case stageScaleUp, stageBake, stageCleanUp:
		if sd.Stage == stageCleanUp && !sd.Initial {
			// The target groups swap roles: the next deployment shifts
			// the other way.
			sv.LiveTargetGroup = sd.ToTG
			s.serviceEvent(now, sv, fmt.Sprintf("(service %s) production traffic is served by (target-group %s).", sv.Name, sd.ToTG))
		}
		sd.Phase = phaseHooks // no hooks at these stages
		return
	case stageTest:
		if sd.TestRule != "" {
			sd.TestWeight = 100
			s.shift(sd.TestRule, sd.FromTG, sd.ToTG, 100)
			s.serviceEvent(now, sv, fmt.Sprintf("(service %s) test traffic shifted to (target-group %s).", sv.Name, sd.ToTG))
		}
		s.startHooks(now, sv, sd, stageTest)
	case stageProduction:
		sd.Step = 0
		s.startHooks(now, sv, sd, stagePreProd)
		sd.Phase = phasePre
		return
	default:
		s.startHooks(now, sv, sd, sd.Stage)
	}
	sd.Phase = phaseHooks
}

// waitDone reports whether what the stage waits for has happened.
func (s *Service) waitDone(now time.Time, c *cluster, sv *service, sd *serviceDeployment) bool {
	switch sd.Stage {
	case stageScaleUp:
		target := findDeployment(sv, sd.Deployment)
		if target == nil {
			return false
		}
		healthy := int32(0)
		for _, t := range liveTasks(c, sv) {
			if t.Deployment == target.ID && t.healthy() {
				healthy++
			}
		}
		return healthy >= target.DesiredCount
	case stageCleanUp:
		for _, id := range sd.SourceDeployments {
			if s.liveOf(c, sv, id) > 0 {
				return false
			}
		}
		return true
	}
	return !now.Before(sd.WaitUntil)
}

// liveOf counts the tasks of deployment id that have not stopped yet.
func (s *Service) liveOf(c *cluster, sv *service, id string) int {
	n := 0
	for _, t := range c.Tasks {
		if t.Service == sv.Name && t.Deployment == id && t.LastStatus != "STOPPED" {
			n++
		}
	}
	return n
}

// shift queues a weight change of a listener rule.
func (s *Service) shift(rule, from, to string, percent float64) {
	if s.rules == nil || rule == "" {
		return
	}
	s.effect(func() {
		if err := s.rules.ShiftWeights(rule, from, to, percent); err != nil {
			s.log.Warn("shift listener rule weights", "rule", rule, "error", err)
		}
	})
}

// shiftProduction gives the target revision percent of production traffic.
func (s *Service) shiftProduction(now time.Time, sv *service, sd *serviceDeployment, percent float64) {
	// The first deployment has one step, to 100 % where production already
	// goes: ECS still writes the rule as a weighted forward over both
	// target groups, as AWS is seen doing.
	sd.ProdWeight = percent
	s.shift(sd.ProdRule, sd.FromTG, sd.ToTG, percent)
	s.serviceEvent(now, sv, fmt.Sprintf("(service %s) shifted %s%% of production traffic to (target-group %s).",
		sv.Name, formatPercent(percent), sd.ToTG))
}

// shiftBack sends all traffic back to the source target group.
func (s *Service) shiftBack(sd *serviceDeployment) {
	if sd.Initial {
		return
	}
	if sd.ProdWeight > 0 {
		sd.ProdWeight = 0
		s.shift(sd.ProdRule, sd.FromTG, sd.ToTG, 0)
	}
	if sd.TestRule != "" && sd.TestWeight > 0 {
		sd.TestWeight = 0
		s.shift(sd.TestRule, sd.FromTG, sd.ToTG, 0)
	}
}

func formatPercent(p float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", p), "0"), ".")
}

// rollbackNative rolls the deployment back: traffic returns to the source
// target group at once, the source revision becomes PRIMARY again and the
// scheduler stops the target revision's tasks.
func (s *Service) rollbackNative(now time.Time, c *cluster, sv *service, sd *serviceDeployment, reason string) {
	target := findDeployment(sv, sd.Deployment)
	var source *deployment
	for _, d := range sv.Deployments {
		if slices.Contains(sd.SourceDeployments, d.ID) && (source == nil || d.CreatedAt.After(source.CreatedAt)) {
			source = d
		}
	}
	sd.Reason, sd.UpdatedAt = reason, now
	if target != nil {
		target.RolloutState, target.RolloutReason, target.UpdatedAt = "FAILED", reason, now
	}
	s.serviceEvent(now, sv, fmt.Sprintf("(service %s) (deployment %s) deployment failed: %s", sv.Name, sd.Deployment, reason))
	if source == nil {
		sd.Status, sd.FinishedAt = sdRollbackFailed, now
		sd.Reason = reason + " There is no service revision to roll back to."
		if target != nil {
			s.deploymentEvent(sv, target, "SERVICE_DEPLOYMENT_FAILED", now)
		}
		return
	}
	sd.Status = sdRollingBack
	sd.Rollback = &rollbackInfo{Reason: reason, Revision: source.Revision, StartedAt: now,
		Deployment: source.ID, FailedBefore: source.FailedTasks}
	s.shiftBack(sd)
	if target != nil {
		target.Status = "ACTIVE"
		s.deploymentEvent(sv, target, "SERVICE_DEPLOYMENT_FAILED", now)
	}
	source.Status, source.DesiredCount, source.UpdatedAt = "PRIMARY", sv.DesiredCount, now
	sv.TaskDefinition = source.TaskDefinition
	s.serviceEvent(now, sv, fmt.Sprintf("(service %s) rolling back to deployment %s.", sv.Name, source.ID))
}

// tendRollback ends a rollback: ROLLBACK_SUCCESSFUL once the target
// revision's tasks have stopped and the source revision runs its desired
// count healthy again; ROLLBACK_FAILED when, with the circuit breaker on,
// as many of the source revision's tasks as its threshold fail to start
// during the rollback (its image crashes or cannot be pulled any more), as
// ECS gives up a rollback whose revision cannot run.
func (s *Service) tendRollback(now time.Time, c *cluster, sv *service, sd *serviceDeployment) {
	var source *deployment
	if sd.Rollback != nil {
		source = findDeployment(sv, sd.Rollback.Deployment)
	}
	if source != nil && sd.Breaker && source.FailedTasks-sd.Rollback.FailedBefore >= failureThreshold(source.DesiredCount) {
		sd.Status, sd.FinishedAt, sd.UpdatedAt = sdRollbackFailed, now, now
		sd.Reason = sd.Rollback.Reason + " The rollback failed: tasks of " + source.ID + " failed to start."
		source.RolloutState, source.RolloutReason, source.UpdatedAt = "FAILED",
			"ECS deployment circuit breaker: tasks failed to start during the rollback.", now
		s.serviceEvent(now, sv, fmt.Sprintf("(service %s) service deployment %s failed to roll back: tasks of (deployment %s) failed to start.",
			sv.Name, lastPart(sd.ARN), source.ID))
		return
	}
	if s.liveOf(c, sv, sd.Deployment) > 0 {
		return
	}
	if source != nil {
		healthy := int32(0)
		for _, t := range liveTasks(c, sv) {
			if t.Deployment == source.ID && t.healthy() {
				healthy++
			}
		}
		if healthy < source.DesiredCount {
			return
		}
	}
	sd.Status, sd.FinishedAt, sd.UpdatedAt = sdRolledBack, now, now
	s.serviceEvent(now, sv, fmt.Sprintf("(service %s) service deployment %s rolled back.", sv.Name, lastPart(sd.ARN)))
}

// finishNative completes a deployment whose source tasks have stopped.
func (s *Service) finishNative(now time.Time, sv *service, sd *serviceDeployment) {
	sd.Status, sd.FinishedAt, sd.UpdatedAt = sdSuccessful, now, now
	if sd.AlarmStatus == "MONITORING" {
		sd.AlarmStatus = "MONITORING_COMPLETE"
	}
	if sd.BreakerStatus == "MONITORING" {
		sd.BreakerStatus = "MONITORING_COMPLETE"
	}
	p := findDeployment(sv, sd.Deployment)
	if p == nil {
		return
	}
	p.RolloutState, p.RolloutReason, p.UpdatedAt = "COMPLETED", "ECS deployment "+p.ID+" completed.", now
	done := *p
	sv.LastCompleted = &done
	s.serviceEvent(now, sv, fmt.Sprintf("(service %s) (deployment %s) deployment completed.", sv.Name, p.ID))
	s.deploymentEvent(sv, p, "SERVICE_DEPLOYMENT_COMPLETED", now)
}

// checkAlarms reads the deployment's alarms once, when it starts, outside
// s.mu (CloudWatch reads ECS while it holds its own lock): an alarm already
// in ALARM rolls it back. Later changes arrive through AlarmChanged, so a
// deployment waiting at a hook leaves a virtual clock idle.
func (s *Service) checkAlarms(now time.Time, sd *serviceDeployment) {
	al := sd.Config.Alarms
	if al == nil || !al.Enable || s.alarms == nil || !sd.AlarmCheck.IsZero() {
		return
	}
	sd.AlarmCheck = now
	names, arn := slices.Clone(al.AlarmNames), sd.ARN
	s.effect(func() {
		for _, n := range names {
			if st, ok := s.alarms.AlarmState(n); ok && st == "ALARM" {
				s.alarmTripped(arn, n)
			}
		}
	})
}

// AlarmChanged tells ECS that the CloudWatch alarm name went to state (OK,
// ALARM, INSUFFICIENT_DATA), as CloudWatch's state change events do. A
// native deployment that watches the alarm in its
// deploymentConfiguration.alarms rolls back when it goes to ALARM before
// CLEAN_UP.
func (s *Service) AlarmChanged(name, state string) {
	if state != "ALARM" {
		return
	}
	s.mu.Lock()
	var arns []string
	for arn, sd := range s.st.ServiceDeployments {
		if al := sd.Config.Alarms; al != nil && al.Enable && sd.Status == sdInProgress && slices.Contains(al.AlarmNames, name) {
			arns = append(arns, arn)
		}
	}
	s.mu.Unlock()
	slices.Sort(arns)
	for _, arn := range arns {
		s.alarmTripped(arn, name)
	}
}

// alarmTripped rolls the service deployment arn back because the alarm
// name is in ALARM, unless it has finished or reached CLEAN_UP.
func (s *Service) alarmTripped(arn, name string) {
	s.locked(func(now time.Time) (any, error) {
		sd := s.st.ServiceDeployments[arn]
		if sd == nil || sd.Status != sdInProgress || sd.stageIndex() >= slices.Index(nativeStages, stageCleanUp) {
			return nil, nil
		}
		c, sv := s.serviceOfDeployment(sd)
		if sv == nil {
			return nil, nil
		}
		sd.AlarmStatus, sd.Triggered = "TRIGGERED", []string{name}
		s.rollbackNative(now, c, sv, sd, "CloudWatch alarm "+name+" in ALARM.")
		return nil, nil
	})
}

// serviceOfDeployment returns the cluster and service of a service
// deployment, nil when they are gone.
func (s *Service) serviceOfDeployment(sd *serviceDeployment) (*cluster, *service) {
	c := s.st.Clusters[sd.Cluster]
	if c == nil {
		return nil, nil
	}
	sv := c.Services[sd.Service]
	if sv == nil || sv.ARN != sd.ServiceARN {
		return nil, nil
	}
	return c, sv
}

// scaleTarget starts the target revision's tasks from SCALE_UP on, all of
// them whatever maximumPercent says, and leaves the source tasks alone until
// CLEAN_UP.
func (s *Service) scaleTarget(now time.Time, c *cluster, sv *service, sd *serviceDeployment, p *deployment) {
	if sd.stageIndex() < slices.Index(nativeStages, stageScaleUp) || p.ID != sd.Deployment {
		return
	}
	n := 0
	for _, t := range liveTasks(c, sv) {
		if t.Deployment == p.ID {
			n++
		}
	}
	var started []string
	for range max(min(int(p.DesiredCount)-n, placeBatch), 0) {
		t := s.placeTask(now, c, sv, p, nil)
		if t == nil {
			break
		}
		started = append(started, t.ID)
	}
	s.startedEvent(now, sv, started)
}

// keepSource replaces the tasks of the newest source revision that stop
// before CLEAN_UP, so production keeps its capacity while the target
// revision comes up and bakes.
func (s *Service) keepSource(now time.Time, c *cluster, sv *service, sd *serviceDeployment) {
	var src *deployment
	for _, d := range sv.Deployments {
		if slices.Contains(sd.SourceDeployments, d.ID) && (src == nil || d.CreatedAt.After(src.CreatedAt)) {
			src = d
		}
	}
	if src == nil || sd.SourceDesired == 0 {
		return
	}
	n := 0
	for _, t := range liveTasks(c, sv) {
		if t.Deployment == src.ID {
			n++
		}
	}
	var started []string
	for range max(min(int(sd.SourceDesired)-n, placeBatch), 0) {
		t := s.placeTask(now, c, sv, src, nil)
		if t == nil {
			break
		}
		started = append(started, t.ID)
	}
	s.startedEvent(now, sv, started)
}

// nativeDue returns the next moment the service deployment has something
// to do on its own (a bake ends, a hook times out or is invoked again),
// after now; zero when it waits for nothing timed.
func nativeDue(now time.Time, sd *serviceDeployment) time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if sd.Status != sdInProgress {
		return next
	}
	if sd.Phase == phaseWait {
		consider(sd.WaitUntil)
	}
	for _, h := range sd.Hooks {
		if h.Status == "AWAITING_ACTION" || h.Status == "IN_PROGRESS" {
			consider(h.ExpiresAt)
			if h.Type == hookLambda && !h.Invoking {
				consider(h.NextInvoke)
			}
		}
	}
	return next
}
