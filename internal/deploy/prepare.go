package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/awsapi/cloudwatch"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// prepare loads and renders the specs, takes the lock, snapshots the live
// state and stores the plan. It runs again after AwaitLock, so everything it
// does is repeatable.
func (e *Engine) prepare(ctx context.Context, st workflow.State) (workflow.State, error) {
	log := e.logger(st, workflow.PhasePrepare)
	if st.Deployment.StartedAt.IsZero() {
		st.Deployment.StartedAt = e.now()
		at, err := e.requestedAt(ctx, st)
		if err != nil {
			return st, err
		}
		st.RequestedAt = at
		// Pins are Prepare's own: never taken from the input.
		st.Pins = workflow.Pins{Order: personalOrder(st.Request)}
	}
	// Back from a lock wait that timed out (its Catch stores at
	// $.timedOut): a hand-over may have been lost, and checking the lock
	// again below is the answer.
	st.TimedOut = nil
	if err := checkRequest(st.Request); err != nil {
		return st, err
	}
	var rendered *spec.Rendered
	var svc *spec.Service
	var image string
	for attempt := 1; ; attempt++ {
		var err error
		rendered, svc, image, err = e.render(ctx, &st)
		if err != nil {
			return st, err
		}
		// The lock comes before the snapshot: a snapshot taken while another
		// deployment changes the service would restore a state that never was.
		st, err = e.takeLock(ctx, st, image)
		if errors.Is(err, errAdopted) && attempt < lockAttempts {
			continue // render again what was taken
		}
		if errors.Is(err, errAdopted) {
			return st, &workflow.Transient{Op: fmt.Sprintf("lock %s/%s", st.Environment, st.Service),
				Err: fmt.Errorf("the requests waiting changed %d times while this one took their newer parts", lockAttempts)}
		}
		if err != nil || st.Lock.Queued {
			return st, err
		}
		break
	}

	c, err := e.Clients(ctx, rendered.RoleARN)
	if err != nil {
		return st, fmt.Errorf("clients for environment %s: %w", st.Environment, err)
	}
	if err := alarmsExist(ctx, c, rendered); err != nil {
		return st, err
	}
	p, err := newPlan(ctx, c, rendered, svc.Pipeline)
	if err != nil {
		return st, err
	}
	key, err := e.Store.PutPlan(ctx, st.Deployment.ID, p)
	if err != nil {
		return st, fmt.Errorf("store plan: %w", err)
	}
	st.Plan = workflow.Plan{
		Key:              key,
		Strategy:         rendered.Strategy.Kind,
		Image:            image,
		Create:           !p.targetExists(),
		Slot:             p.slot(),
		Steps:            steps(p),
		StabilizeSeconds: timeoutSeconds(stabilization(rendered)),
		ReconcileSeconds: e.reconcileSeconds(),
	}
	st.Progress = workflow.Progress{Remaining: len(st.Plan.Steps)}
	st.Approval = workflow.Approval{Required: rendered.Approval.Required}
	st.Wait = workflow.Wait{}
	if st.Approval.Required {
		timeout := rendered.Approval.Timeout.Duration
		if timeout <= 0 {
			timeout = spec.DefaultApprovalTimeout
		}
		st.Approval.TimeoutSeconds = timeoutSeconds(timeout)
		st.Wait = workflow.Wait{Kind: workflow.WaitApproval, TimeoutSeconds: st.Approval.TimeoutSeconds}
	}
	log.Info("planned", "strategy", st.Plan.Strategy, "image", image, "target", p.Target,
		"create", st.Plan.Create, "steps", len(st.Plan.Steps), "approval", st.Approval.Required)
	return st, nil
}

// render loads the specs at st's versions, resolves its image, sets st's
// pins and renders the documents to deploy.
func (e *Engine) render(ctx context.Context, st *workflow.State) (*spec.Rendered, *spec.Service, string, error) {
	svc, env, times, err := e.loadSpecs(ctx, st)
	if err != nil {
		return nil, nil, "", err
	}
	image, imageAt, err := e.resolveImage(ctx, *st, svc)
	if err != nil {
		return nil, nil, "", err
	}
	st.Pins = pinsOf(*st, image, workflow.Order{Image: imageAt, ServiceSpec: times[0], EnvironmentSpec: times[1]})
	region, account := e.regionAccount(st.Deployment.Execution)
	rendered, err := spec.Render(svc, env, spec.RenderInput{Image: image, DeploymentID: st.Deployment.ID,
		Region: region, AccountID: account, Strategy: st.Strategy})
	if err != nil {
		return nil, nil, "", invalid(err)
	}
	if err := checkRendered(rendered); err != nil {
		return nil, nil, "", err
	}
	for _, a := range e.Settings.DefaultAlarms {
		if !slices.Contains(rendered.Alarms, a) {
			rendered.Alarms = append(rendered.Alarms, a)
		}
	}
	st.Plan.Image = image
	st.Lock.Key = fmt.Sprintf("locks/%s/%s.json", st.Environment, st.Service)
	return rendered, svc, image, nil
}

// personalOrder is the order of the parts a person's request (a manual
// start, slipway deploy or rollback) names: asked for now, whatever their
// age. A spec version a person gives is their choice of spec at that time,
// newer than any upload before it, as an image they give is; the parts they
// leave out are ordered as the versions' uploads are.
func personalOrder(r workflow.Request) workflow.Order {
	var o workflow.Order
	switch r.Trigger.Kind {
	case "", workflow.TriggerManual, workflow.TriggerRollback:
	default:
		return o
	}
	if r.SpecVersion != "" {
		o.ServiceSpec = r.RequestedAt
	}
	if r.EnvironmentSpecVersion != "" {
		o.EnvironmentSpec = r.RequestedAt
	}
	return o
}

// pinsOf returns st's pins for image and the spec versions st holds, with
// their times (own), unknown ones being the request's time; no part's time
// goes back from what st's pins say already (a part taken from a newer
// request, or seen in one).
func pinsOf(st workflow.State, image string, own workflow.Order) workflow.Pins {
	o := workflow.OrderOf(own, st.RequestedAt)
	prev := st.Pins.Order
	for _, p := range []struct{ cur, was *time.Time }{{&o.Image, &prev.Image}, {&o.ServiceSpec, &prev.ServiceSpec},
		{&o.EnvironmentSpec, &prev.EnvironmentSpec}} {
		if p.was.After(*p.cur) {
			*p.cur = *p.was
		}
	}
	return workflow.Pins{Image: image, SpecVersion: st.SpecVersion, EnvironmentSpecVersion: st.EnvironmentSpecVersion, Order: o}
}

// identify sets the identity of the deployment from the execution ARN the
// state machine passes with every phase ($$.Execution.Id), never from the
// state document, which a person or a trigger wrote: the lock, the plan, the
// approval and the history are keyed by this id, so an input naming the
// deployment in flight would otherwise release its lock or overwrite its plan.
//
// Prepare rejects an input that supplies a deployment, except its own, when
// it prepares again after a lock wait (lock.queued). Every later phase
// overwrites the identity, so Record, reached after that rejection, records
// the rejection under this execution's id and leaves the other's lock alone.
func identify(inv workflow.Invocation) (workflow.State, error) {
	st := inv.State
	if inv.Execution == "" {
		return st, &workflow.InvalidInput{Problems: []string{
			"execution: required (the state machine passes $$.Execution.Id)"}}
	}
	id := deploymentID(inv.Execution)
	if inv.Phase == workflow.PhasePrepare {
		supplied := st.Deployment != workflow.Deployment{}
		own := st.Lock.Queued && st.Deployment.ID == id && st.Deployment.Execution == inv.Execution
		if supplied && !own {
			return st, &workflow.InvalidInput{Problems: []string{
				"deployment: must not be set in the input (Slipway derives the deployment id from the execution)"}}
		}
	}
	st.Deployment.ID, st.Deployment.Execution = id, inv.Execution
	return st, nil
}

// requestedAt returns when st was asked for: the request's time, but never
// after the start of its execution, which is also the time of a manual
// start that gives none. A trigger's event precedes the execution it
// starts, so a later time is not believed: it would let a request win over
// every request made until then.
func (e *Engine) requestedAt(ctx context.Context, st workflow.State) (time.Time, error) {
	started := st.Deployment.StartedAt
	x, err := e.Tasks.DescribeExecution(ctx, st.Deployment.Execution)
	if err != nil {
		return time.Time{}, fmt.Errorf("describe execution %s for its start time: %w", st.Deployment.Execution, err)
	}
	if !x.StartDate.IsZero() {
		started = x.StartDate
	}
	if st.RequestedAt.IsZero() || st.RequestedAt.After(started) {
		return started.UTC(), nil
	}
	return st.RequestedAt.UTC(), nil
}

// regionAccount returns the region and account of the settings, or else of
// the execution ARN (arn:aws:states:<region>:<account>:execution:…), which
// is where Slipway runs.
func (e *Engine) regionAccount(execution string) (region, account string) {
	region, account = e.Settings.Region, e.Settings.AccountID
	if parts := strings.Split(execution, ":"); len(parts) > 4 && parts[0] == "arn" {
		region = cmp.Or(region, parts[3])
		account = cmp.Or(account, parts[4])
	}
	return region, account
}

// checkRequest rejects a request that names no service or environment.
func checkRequest(r workflow.Request) error {
	var problems []string
	if r.Service == "" {
		problems = append(problems, "service: required (the name of services/<service>.yaml)")
	}
	if r.Environment == "" {
		problems = append(problems, "environment: required (the name of environments/<environment>.yaml)")
	}
	if len(problems) > 0 {
		return &workflow.InvalidInput{Problems: problems}
	}
	return nil
}

// loadSpecs reads, parses and validates the specs at the requested
// versions, and pins those versions in st so a repeated Prepare (and the
// promotion to the next environment) reads the same documents. times are
// when the two versions were uploaded (service, environment).
func (e *Engine) loadSpecs(ctx context.Context, st *workflow.State) (svc *spec.Service, env *spec.Environment, times [2]time.Time, err error) {
	so, err := e.Store.ServiceSpec(ctx, st.Service, st.SpecVersion)
	if err != nil {
		return nil, nil, times, specError("services/"+st.Service+".yaml", st.SpecVersion, err)
	}
	eo, err := e.Store.EnvironmentSpec(ctx, st.Environment, st.EnvironmentSpecVersion)
	if err != nil {
		return nil, nil, times, specError("environments/"+st.Environment+".yaml", st.EnvironmentSpecVersion, err)
	}
	svc, err = spec.ParseService(so.Key, so.Body)
	if err != nil {
		return nil, nil, times, invalid(err)
	}
	env, err = spec.ParseEnvironment(eo.Key, eo.Body)
	if err != nil {
		return nil, nil, times, invalid(err)
	}
	if problems := append(svc.Validate(), env.Validate()...); len(problems) > 0 {
		return nil, nil, times, invalid(problems)
	}
	st.SpecVersion, st.EnvironmentSpecVersion = so.Version, eo.Version
	times[0], times[1] = so.LastModified, eo.LastModified
	return svc, env, times, nil
}

func specError(file, version string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		if version != "" {
			file += " version " + version
		}
		return &workflow.InvalidInput{Problems: []string{file + ": not found in the spec bucket"}}
	}
	return fmt.Errorf("read %s: %w", file, err)
}

// invalid turns spec problems into InvalidInput; other errors pass.
func invalid(err error) error {
	var problems spec.Problems
	if !errors.As(err, &problems) {
		return err
	}
	ii := &workflow.InvalidInput{}
	for _, p := range problems {
		ii.Problems = append(ii.Problems, p.String())
	}
	return ii
}

// checkRendered rejects combinations the engine cannot deploy.
func checkRendered(r *spec.Rendered) error {
	var problems []string
	switch r.Strategy.Kind {
	case kindRolling:
	case kindCanary, kindBlueGreen:
		if r.Scheduling == "DAEMON" {
			problems = append(problems, fmt.Sprintf("strategy.kind: %s cannot deploy a DAEMON service; use rolling", r.Strategy.Kind))
		}
		if r.Strategy.Kind == kindBlueGreen && r.LoadBalancer == nil {
			problems = append(problems, fmt.Sprintf("environments/%s: loadBalancers.%s: required for bluegreen", r.Environment, r.Service))
		}
		if lb := r.LoadBalancer; lb != nil && (lb.ListenerRuleArn == "" || lb.TargetGroupArns[0] == "" || lb.TargetGroupArns[1] == "") {
			problems = append(problems, fmt.Sprintf("environments/%s: loadBalancers.%s: a listener rule and two target groups (blue, green) are required for %s",
				r.Environment, r.Service, r.Strategy.Kind))
		}
	case kindECS:
		if r.Scheduling == "DAEMON" {
			problems = append(problems, "strategy.kind: ecs cannot deploy a DAEMON service; use rolling")
		}
		if lb := r.LoadBalancer; lb == nil || lb.ListenerRuleArn == "" || lb.TargetGroupArns[0] == "" || lb.TargetGroupArns[1] == "" || lb.InfrastructureRoleARN == "" {
			problems = append(problems, fmt.Sprintf("environments/%s: loadBalancers.%s: a listener rule, two target groups and infrastructureRoleArn are required for ecs",
				r.Environment, r.Service))
		}
	default:
		problems = append(problems, fmt.Sprintf("strategy.kind: unknown strategy %q (want rolling, canary, bluegreen or ecs)", r.Strategy.Kind))
	}
	if r.TaskDefinition == nil || r.ServiceInput == nil {
		problems = append(problems, "taskDefinition, service: required")
	}
	if len(problems) > 0 {
		return &workflow.InvalidInput{Problems: problems}
	}
	return nil
}

// alarmsExist rejects a deployment watching an alarm that does not exist:
// found only at the first check, it would roll back a healthy revision.
func alarmsExist(ctx context.Context, c Clients, r *spec.Rendered) error {
	if len(r.Alarms) == 0 {
		return nil
	}
	_, err := c.Alarms.AlarmStates(ctx, r.Alarms)
	if errors.Is(err, cloudwatch.ErrNotFound) {
		return &workflow.InvalidInput{Problems: []string{fmt.Sprintf(
			"alarms (of the strategy, environments/%s.yaml and SLIPWAY_DEFAULT_ALARMS): %v", r.Environment, err)}}
	}
	if err != nil {
		return fmt.Errorf("read alarms: %w", err)
	}
	return nil
}

func stabilization(r *spec.Rendered) time.Duration {
	if d := r.Strategy.StabilizationTimeout.Duration; d > 0 {
		return d
	}
	return spec.DefaultStabilizationTimeout
}

// newPlan snapshots the live state and decides where the new revision goes.
func newPlan(ctx context.Context, c Clients, r *spec.Rendered, pipeline []string) (*plan, error) {
	p := &plan{Rendered: r, Pipeline: pipeline}
	if r.Strategy.Kind == kindRolling || r.Strategy.Kind == kindECS {
		s, err := readService(ctx, c, r.Cluster, r.Service)
		if err != nil {
			return nil, err
		}
		p.Snapshot.Services = []ServiceState{s}
		p.Target = r.Service
		if !s.Exists {
			// Switching from canary or blue/green: the slots serve until
			// the plain service takes over (switch.go).
			if err := planRetire(ctx, c, r, p); err != nil {
				return nil, err
			}
			if r.Strategy.Kind == kindECS && len(p.Retire) > 0 {
				return nil, &workflow.InvalidInput{Problems: []string{fmt.Sprintf(
					"strategy.kind: ecs cannot take over the slot services %v yet; deploy with kind rolling first "+
						"(Slipway moves the traffic to the plain service %s), then with kind ecs", p.Retire, r.Service)}}
			}
		}
		if r.Scheduling != "DAEMON" {
			p.FullCount = desiredCount(r, s)
			for _, name := range p.Retire {
				p.FullCount = max(p.FullCount, desiredCount(r, p.snapshotOf(name)))
			}
		}
		return p, nil
	}
	return newSlotPlan(ctx, c, r, p)
}

// desiredCount is the size of the new revision as Prepare sees it: the
// rendered desired count, or what the service runs now if that is more,
// within the auto scaling limits (boundedCount). Apply reads it again from
// the live services (liveFullCount), since it may have changed meanwhile.
func desiredCount(r *spec.Rendered, live ServiceState) int32 {
	var running int32
	if live.Exists {
		running = live.DesiredCount
	}
	return boundedCount(r, running)
}

// targetExists reports whether the service receiving the new revision
// exists already (an update rather than a create).
func (p *plan) targetExists() bool { return p.snapshotOf(p.Target).Exists }

// slot names the slot receiving the new revision; empty for rolling.
func (p *plan) slot() string {
	if p.Rendered.Strategy.Kind == kindRolling {
		return ""
	}
	return slotOf(p.Rendered.Service, p.Target)
}

// steps are the traffic steps of the plan.
func steps(p *plan) []workflow.Step {
	s := p.Rendered.Strategy
	// A first deployment has nothing serving to compare with; one that
	// adopts a plain service has, and moves its traffic in the steps.
	first := p.Snapshot.Primary == "" && p.Adopted == ""
	switch s.Kind {
	case kindCanary:
		return canarySteps(s, first)
	case kindBlueGreen:
		return blueGreenSteps(s, first, testRule(p.Rendered) != "")
	case kindECS:
		// ECS moves the traffic: no step of Slipway's.
		return nil
	}
	return rollingSteps(s)
}
