package operator

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwsdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbsdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	sfnsdk "github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/slipwayhq/slipway/internal/trigger"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Snapshot is one look at a deployment in progress (or ended): where the
// state machine is, and the live state of what it changes — the traffic
// weight, tasks and target health of each slot, and every watched alarm.
// The CLI's live view and its JSON Lines are drawn from it; its JSON field
// names are documented in docs/cli.md and are stable.
type Snapshot struct {
	// At is when the snapshot was taken, in the service's time: the later
	// of the caller's clock and the newest history event.
	At          time.Time `json:"at"`
	Execution   string    `json:"execution"`
	Service     string    `json:"service"`
	Environment string    `json:"environment"`
	Image       string    `json:"image,omitempty"`
	// Status is the execution's status: RUNNING, SUCCEEDED, FAILED, …
	Status string `json:"status"`
	// State is the state machine's current state (the one entered last)
	// and EnteredAt when it was entered; Phase says it in words.
	State     string    `json:"state"`
	EnteredAt time.Time `json:"enteredAt,omitzero"`
	Phase     string    `json:"phase"`
	// Path is every state entered so far, oldest first.
	Path []Entered `json:"path"`
	// Strategy is rolling, canary, bluegreen or ecs; empty before Prepare.
	Strategy string `json:"strategy,omitempty"`
	// Step is the number of traffic steps shifted, of Steps; Weight is the
	// percentage of traffic on the new revision the state machine has set.
	Step   int `json:"step"`
	Steps  int `json:"steps"`
	Weight int `json:"weight"`
	// Slots are the ECS services involved: blue and green for canary and
	// blue/green, the one service for rolling. Empty before Prepare.
	Slots []Slot `json:"slots"`
	// Alarms are the alarms the deployment watches, by name.
	Alarms []Alarm `json:"alarms"`
	// Native is the ECS service deployment of a deployment of strategy
	// kind ecs, which has no slots: ECS moves the traffic of one service
	// between two target groups. Nil for the other kinds and before Apply
	// started it.
	Native *NativeDeployment `json:"native,omitempty"`
	// Wait is the bake or approval in progress, with its time left; nil
	// when the deployment is doing neither.
	Wait *Wait `json:"wait,omitempty"`
	// Error is the execution's error once it has failed.
	Error string `json:"error,omitempty"`
	// LiveError says why the plan, the slots or the alarms could not be
	// read (and are left empty), such as missing permissions or a role of
	// another account that cannot be assumed; empty when they were.
	LiveError string `json:"liveError,omitempty"`
}

// Entered is a state the execution entered, and when.
type Entered struct {
	State string    `json:"state"`
	At    time.Time `json:"at"`
}

// Slot is one ECS service of a deployment, with its share of traffic.
type Slot struct {
	// Name is "blue" or "green", or the service name for rolling.
	Name    string `json:"name"`
	Service string `json:"service"`
	// New is true for the slot that receives the new revision.
	New bool `json:"new"`
	// Primary is true for the slot that served traffic before.
	Primary bool `json:"primary"`
	// Weight is the listener rule's weight for the slot's target group in
	// percent of the rule's total; -1 when the service has no load balancer,
	// and for strategy kind ecs (Snapshot.Native has the target groups').
	Weight  int   `json:"weight"`
	Running int32 `json:"running"`
	Desired int32 `json:"desired"`
	Pending int32 `json:"pending"`
	// Healthy and Targets count the target group's targets that are
	// healthy, and all of them; 0 without a load balancer.
	Healthy int `json:"healthy"`
	Targets int `json:"targets"`
	// Exists is false while the service has not been created (or was
	// deleted).
	Exists bool `json:"exists"`
}

// NativeDeployment is an ECS service deployment as a snapshot shows it.
type NativeDeployment struct {
	// ServiceDeployment is its ARN.
	ServiceDeployment string `json:"serviceDeployment"`
	// Status is ECS's: PENDING, IN_PROGRESS, SUCCESSFUL, STOPPED,
	// ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED, …
	Status string `json:"status,omitempty"`
	// Stage is its current lifecycle stage (POST_SCALE_UP, …).
	Stage string `json:"stage,omitempty"`
	// AwaitingHook is the id of the PAUSE hook that awaits action (Slipway's
	// gate at Stage); empty when none does.
	AwaitingHook string `json:"awaitingHook,omitempty"`
	// TargetGroups are the two target groups with their share of the
	// production listener rule, in the environment's order.
	TargetGroups []TargetGroup `json:"targetGroups"`
}

// TargetGroup is one target group of a native deployment, with its share
// of production traffic and its targets' health.
type TargetGroup struct {
	// TargetGroup is its ARN, Name the name in it.
	TargetGroup string `json:"targetGroup"`
	Name        string `json:"name"`
	// Weight is the production rule's weight for it, in percent of the
	// rule's total.
	Weight int `json:"weight"`
	// Healthy and Targets count its healthy targets, and all of them.
	Healthy int `json:"healthy"`
	Targets int `json:"targets"`
}

// Alarm is a watched CloudWatch alarm and its state: OK, ALARM,
// INSUFFICIENT_DATA, or MISSING when no such alarm exists.
type Alarm struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// Wait is a timed wait the deployment is in.
type Wait struct {
	// Kind is "bake" or "approval".
	Kind string `json:"kind"`
	// Started is when the wait began and Ends when it runs out: the bake
	// time, or the environment's approval timeout.
	Started time.Time `json:"started"`
	Ends    time.Time `json:"ends"`
	// LeftSeconds is the time left at the snapshot, never below 0.
	LeftSeconds int `json:"leftSeconds"`
}

// Ended reports whether the execution has ended.
func (s Snapshot) Ended() bool {
	return s.Status != "" && s.Status != string(sfntypes.ExecutionStatusRunning)
}

// Deployed reports whether the execution ended in the Deployed state.
func (s Snapshot) Deployed() bool {
	return s.Status == string(sfntypes.ExecutionStatusSucceeded) && s.State == workflow.StateDeployed
}

// Left is the time left in the wait.
func (w Wait) Left() time.Duration { return time.Duration(w.LeftSeconds) * time.Second }

// The live-state APIs a snapshot reads.
type (
	servicesAPI interface {
		DescribeServices(context.Context, *ecssdk.DescribeServicesInput, ...func(*ecssdk.Options)) (*ecssdk.DescribeServicesOutput, error)
		DescribeServiceDeployments(context.Context, *ecssdk.DescribeServiceDeploymentsInput, ...func(*ecssdk.Options)) (*ecssdk.DescribeServiceDeploymentsOutput, error)
	}
	loadBalancingAPI interface {
		DescribeRules(context.Context, *elbsdk.DescribeRulesInput, ...func(*elbsdk.Options)) (*elbsdk.DescribeRulesOutput, error)
		DescribeTargetHealth(context.Context, *elbsdk.DescribeTargetHealthInput, ...func(*elbsdk.Options)) (*elbsdk.DescribeTargetHealthOutput, error)
	}
	alarmsAPI interface {
		DescribeAlarms(context.Context, *cwsdk.DescribeAlarmsInput, ...func(*cwsdk.Options)) (*cwsdk.DescribeAlarmsOutput, error)
	}
)

// planView is the part of the engine's plan (internal/deploy, stored at
// State.Plan.Key) a snapshot needs: where the slots run and which listener
// rule moves traffic between them.
type planView struct {
	Rendered struct {
		Cluster      string
		Service      string
		RoleARN      string
		Alarms       []string
		LoadBalancer *struct {
			ListenerRuleArn string
			TargetGroupArns [2]string
		}
	} `json:"rendered"`
	Snapshot struct {
		Primary string `json:"primary"`
	} `json:"snapshot"`
	Target      string `json:"target"`
	Other       string `json:"other"`
	TargetGroup string `json:"targetGroup"`
	OtherGroup  string `json:"otherGroup"`
}

// entered is one state entered, with its input (the state document).
type entered struct {
	name  string
	at    time.Time
	input string
}

// Snapshot looks at the execution arn now: its state from the execution
// history, and the live ECS services, listener rule weights, target health
// and alarms of the deployment it runs.
func (o *Operator) Snapshot(ctx context.Context, arn string) (Snapshot, error) {
	d, err := o.sfn.DescribeExecution(ctx, arn)
	if err != nil {
		return Snapshot{}, fmt.Errorf("look at %s: %w", arn, err)
	}
	s := Snapshot{Execution: d.ARN, Status: d.Status, Error: d.Error, Path: []Entered{}, Slots: []Slot{}, Alarms: []Alarm{}}
	var in workflow.State
	if json.Unmarshal([]byte(d.Input), &in) == nil {
		s.Service, s.Environment, s.Image = in.Service, in.Environment, in.Image
	}
	events, newest, err := o.enteredStates(ctx, arn)
	if err != nil {
		return Snapshot{}, fmt.Errorf("look at %s: %w", arn, err)
	}
	s.At = o.now().UTC()
	if newest.After(s.At) {
		s.At = newest.UTC()
	}
	for _, e := range events {
		s.Path = append(s.Path, Entered{State: e.name, At: e.at.UTC()})
	}
	var doc workflow.State
	if n := len(events); n > 0 {
		last := events[n-1]
		s.State, s.EnteredAt = last.name, last.at.UTC()
		// The newest state document: the newest state's input.
		if err := json.Unmarshal([]byte(last.input), &doc); err != nil {
			doc = workflow.State{}
		}
	}
	if d.Output != "" {
		var out workflow.State
		if json.Unmarshal([]byte(d.Output), &out) == nil && out.Plan.Image != "" {
			doc = out
		}
	}
	if doc.Plan.Image != "" {
		s.Image = doc.Plan.Image
	}
	s.Strategy = doc.Plan.Strategy
	s.Step, s.Steps, s.Weight = doc.Progress.Step, len(doc.Plan.Steps), doc.Progress.Weight
	s.Wait = timedWait(events, doc, s.At)
	s.Phase = phaseOf(s, doc)
	if doc.Plan.Key == "" {
		return s, nil
	}
	// The plan and the live state may be unreadable — a caller without
	// read permissions on the state bucket, ECS, ELBv2 or CloudWatch, a
	// role of another account it may not assume, a throttled API — while
	// the deployment can still be followed: LiveError says what is not
	// shown.
	p, err := o.planView(ctx, doc.Plan.Key)
	if err != nil {
		s.LiveError = err.Error()
		return s, nil
	}
	var problems []string
	c := o.liveClients(p.Rendered.RoleARN)
	sp := p
	if doc.Native != nil {
		// ECS moves a native deployment's traffic between two target
		// groups, not slots: the service's tasks here, the weights under
		// Native.
		sp.Rendered.LoadBalancer = nil
	}
	if slots, err := o.slots(ctx, c, sp); err != nil {
		problems = append(problems, err.Error())
	} else {
		s.Slots = slots
	}
	if doc.Native != nil && doc.Native.ServiceDeployment != "" {
		if n, err := o.native(ctx, c, p, doc.Native.ServiceDeployment); err != nil {
			problems = append(problems, err.Error())
		} else {
			s.Native = n
		}
	}
	if alarms, err := o.alarms(ctx, c, p.Rendered.Alarms); err != nil {
		problems = append(problems, err.Error())
	} else {
		s.Alarms = alarms
	}
	s.LiveError = strings.Join(problems, "; ")
	if s.LiveError != "" && p.Rendered.RoleARN != "" {
		s.LiveError += " (read through the environment's role " + p.Rendered.RoleARN + ")"
	}
	return s, nil
}

// now is the caller's clock; tests may replace it.
func (o *Operator) now() time.Time {
	if o.clock != nil {
		return o.clock()
	}
	return time.Now()
}

// history is what has been read of one execution's history: the states
// entered, oldest first (only the newest keeps its input), the id of the
// newest event read and its time.
type history struct {
	events []entered
	lastID int64
	newest time.Time
}

// enteredStates returns the states arn entered, oldest first, with the
// newest one's input, and the time of the newest event. Events never
// change once written, so each call reads only those newer than the last
// call's, newest first, stopping at the first one seen before.
func (o *Operator) enteredStates(ctx context.Context, arn string) ([]entered, time.Time, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	h := o.histories[arn]
	if h == nil {
		h = &history{}
		if o.histories == nil {
			o.histories = map[string]*history{}
		}
		o.histories[arn] = h
	}
	p := sfnsdk.NewGetExecutionHistoryPaginator(o.history, &sfnsdk.GetExecutionHistoryInput{
		ExecutionArn: &arn, ReverseOrder: true, IncludeExecutionData: aws.Bool(true)})
	var fresh []entered // newest first
	lastID, newest := h.lastID, h.newest
	for seen := false; p.HasMorePages() && !seen; {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, h.newest, fmt.Errorf("read history: %w", err)
		}
		for _, e := range page.Events {
			if e.Id <= h.lastID {
				seen = true
				break
			}
			lastID = max(lastID, e.Id)
			if at := aws.ToTime(e.Timestamp); at.After(newest) {
				newest = at
			}
			if dt := e.StateEnteredEventDetails; dt != nil {
				fresh = append(fresh, entered{name: aws.ToString(dt.Name), at: aws.ToTime(e.Timestamp), input: aws.ToString(dt.Input)})
			}
		}
	}
	if len(fresh) > 0 {
		if n := len(h.events); n > 0 {
			h.events[n-1].input = ""
		}
		slices.Reverse(fresh)
		for i := range fresh[:len(fresh)-1] {
			fresh[i].input = ""
		}
		h.events = append(h.events, fresh...)
	}
	h.lastID, h.newest = lastID, newest
	return h.events, h.newest, nil
}

// timedWait is the bake or approval the execution waits in, if any: an
// approval runs from AwaitApproval's (or a native deployment's
// AwaitHookApproval's) entry for the environment's approval
// timeout; a bake from the first Bake entry after the newest traffic shift
// (or stable wait) for the step's bake time.
func timedWait(events []entered, doc workflow.State, now time.Time) *Wait {
	if len(events) == 0 {
		return nil
	}
	last := events[len(events)-1]
	var w Wait
	switch last.name {
	case workflow.StateAwaitApproval, workflow.StateAwaitHookApproval:
		if doc.Approval.TimeoutSeconds <= 0 {
			return nil
		}
		w = Wait{Kind: string(workflow.WaitApproval), Started: last.at,
			Ends: last.at.Add(time.Duration(doc.Approval.TimeoutSeconds) * time.Second)}
	case workflow.StateBake, workflow.StateCheckBake, workflow.StateBakeDoneYet:
		start := last.at
		for i := len(events) - 1; i >= 0; i-- {
			switch events[i].name {
			case workflow.StateBake:
				start = events[i].at
				continue
			case workflow.StateCheckBake, workflow.StateBakeDoneYet:
				continue
			}
			break
		}
		bake := 0
		if i := doc.Progress.Step - 1; i >= 0 && i < len(doc.Plan.Steps) {
			bake = doc.Plan.Steps[i].BakeSeconds
		}
		if bake <= 0 {
			return nil
		}
		w = Wait{Kind: string(workflow.WaitBake), Started: start, Ends: start.Add(time.Duration(bake) * time.Second)}
	default:
		return nil
	}
	w.Started, w.Ends = w.Started.UTC(), w.Ends.UTC()
	w.LeftSeconds = max(0, int(w.Ends.Sub(now).Round(time.Second)/time.Second))
	return &w
}

// phaseOf says in words what the deployment is doing in its current state.
func phaseOf(s Snapshot, doc workflow.State) string {
	step := ""
	if s.Steps > 0 {
		step = fmt.Sprintf(" (step %d of %d)", s.Step, s.Steps)
	}
	switch s.State {
	case "":
		return "starting"
	case workflow.StatePrepare, workflow.StateAfterPrepare:
		return "preparing: rendering the specs and taking the lock"
	case workflow.StateAwaitLock:
		return "waiting for the deployment ahead of it to release the lock"
	case workflow.StateAwaitApproval:
		return "awaiting approval (slipway approve or reject)"
	case workflow.StateApply:
		return "applying the new revision"
	case workflow.StateAwaitStable, workflow.StateCheckStable, workflow.StateStableYet:
		return "waiting for the new tasks to be stable"
	case workflow.StateMoreSteps:
		return "choosing the next traffic step"
	case workflow.StateShiftTraffic:
		return fmt.Sprintf("shifting traffic to the new revision%s", step)
	case workflow.StateBake, workflow.StateCheckBake, workflow.StateBakeDoneYet:
		return fmt.Sprintf("baking at %d%%%s, watching %d alarms", s.Weight, step, len(doc.Wait.Alarms))
	case workflow.StatePromote, workflow.StatePromotedYet:
		return "promoting the new revision"
	case workflow.StateCleanup:
		return "scaling the old slot to zero"
	case workflow.StateFinalize:
		return "recording the deployment"
	case workflow.StateDeployed:
		return "deployed"
	case workflow.StateCheckHook, workflow.StateHookReady, workflow.StateAwaitHook:
		return "ECS deploys: waiting for its next lifecycle hook to await action"
	case workflow.StateAwaitHookApproval:
		return "awaiting approval at ECS's lifecycle hook (slipway approve or reject)"
	case workflow.StateContinueDeployment:
		return "continuing ECS's deployment at its lifecycle hook"
	case workflow.StateRollback:
		return "rolling back to the previous state"
	case workflow.StateAwaitRollbackStable, workflow.StateCheckRollbackStable, workflow.StateRollbackStableYet, workflow.StateRollbackWoken:
		return "rolling back: waiting for the restored service to be stable"
	case workflow.StateRecordFailure, workflow.StateFailureKind, workflow.StateRecordRollbackFailed:
		return "recording the failure"
	case workflow.StateRolledBack:
		return "rolled back"
	case workflow.StateRejected:
		return "rejected: nothing changed"
	case workflow.StateFailed:
		return "failed before changing anything"
	case workflow.StateSuperseded:
		return "superseded by a newer deployment: nothing changed"
	case workflow.StateRollbackFailed:
		return "rollback failed: the lock is kept until a person checks the service"
	}
	return strings.ToLower(s.State)
}

// live are the clients a snapshot reads the live state with.
type live struct {
	ecs servicesAPI
	elb loadBalancingAPI
	cw  alarmsAPI
}

// liveClients returns the clients for an environment: the caller's own,
// or for an environment in another account (roleArn) clients that assume
// its role, as the deploy function does, built once per role.
func (o *Operator) liveClients(role string) live {
	if role == "" || o.cfg.Credentials == nil {
		return o.live
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if c, ok := o.roles[role]; ok {
		return c
	}
	c := newLive(o.configFor(role))
	if o.roles == nil {
		o.roles = map[string]live{}
	}
	o.roles[role] = c
	return c
}

func newLive(cfg aws.Config) live {
	return live{ecs: ecssdk.NewFromConfig(cfg), elb: elbsdk.NewFromConfig(cfg), cw: cwsdk.NewFromConfig(cfg)}
}

// planView reads (once per key) what the snapshot needs of a plan.
func (o *Operator) planView(ctx context.Context, key string) (planView, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if p, ok := o.plans[key]; ok {
		return p, nil
	}
	var p planView
	if err := o.store.Plan(ctx, key, &p); err != nil {
		return p, fmt.Errorf("read the plan %s: %w", key, err)
	}
	if o.plans == nil {
		o.plans = map[string]planView{}
	}
	o.plans[key] = p
	return p, nil
}

// slots reads each slot's service counts, rule weight and target health.
func (o *Operator) slots(ctx context.Context, c live, p planView) ([]Slot, error) {
	r := p.Rendered
	type member struct{ service, group string }
	var members []member
	if p.Other == "" {
		// Rolling: one service, behind the first target group if any.
		g := ""
		if r.LoadBalancer != nil {
			g = cmpOr(p.TargetGroup, r.LoadBalancer.TargetGroupArns[0])
		}
		members = []member{{cmpOr(p.Target, r.Service), g}}
	} else {
		members = []member{{p.Target, p.TargetGroup}, {p.Other, p.OtherGroup}}
		// Blue first, whichever receives the new revision.
		sort.SliceStable(members, func(i, j int) bool { return members[i].service < members[j].service })
	}
	names := make([]string, len(members))
	for i, m := range members {
		names[i] = m.service
	}
	out, err := c.ecs.DescribeServices(ctx, &ecssdk.DescribeServicesInput{Cluster: &r.Cluster, Services: names})
	if err != nil {
		return nil, fmt.Errorf("describe services %v in cluster %s: %w", names, r.Cluster, err)
	}
	var weights map[string]int32
	if r.LoadBalancer != nil && r.LoadBalancer.ListenerRuleArn != "" {
		if weights, err = ruleWeights(ctx, c, r.LoadBalancer.ListenerRuleArn); err != nil {
			return nil, err
		}
	}
	var total int32
	for _, w := range weights {
		total += w
	}
	slots := make([]Slot, 0, len(members))
	for _, m := range members {
		sl := Slot{Name: m.service, Service: m.service, New: m.service == p.Target, Weight: -1}
		if p.Other != "" {
			sl.Name = strings.TrimPrefix(m.service, r.Service+"--")
			sl.Primary = sl.Name == p.Snapshot.Primary
		}
		for _, svc := range out.Services {
			if aws.ToString(svc.ServiceName) == m.service && aws.ToString(svc.Status) != "INACTIVE" {
				sl.Exists = true
				sl.Running, sl.Desired, sl.Pending = svc.RunningCount, svc.DesiredCount, svc.PendingCount
			}
		}
		if m.group != "" {
			if weights != nil {
				sl.Weight = 0
				if total > 0 {
					sl.Weight = int((weights[m.group]*100 + total/2) / total)
				}
			}
			if sl.Healthy, sl.Targets, err = targetHealth(ctx, c, m.group); err != nil {
				return nil, err
			}
		}
		slots = append(slots, sl)
	}
	return slots, nil
}

// native reads the ECS service deployment arn: its status, stage and the
// hook awaiting action, and the production rule's weight and the health
// of each of the two target groups.
func (o *Operator) native(ctx context.Context, c live, p planView, arn string) (*NativeDeployment, error) {
	out, err := c.ecs.DescribeServiceDeployments(ctx, &ecssdk.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil {
		return nil, fmt.Errorf("describe service deployment %s: %w", arn, err)
	}
	if len(out.ServiceDeployments) != 1 {
		return nil, fmt.Errorf("describe service deployment %s: not found", arn)
	}
	sd := out.ServiceDeployments[0]
	n := &NativeDeployment{ServiceDeployment: arn, Status: string(sd.Status), Stage: string(sd.LifecycleStage), TargetGroups: []TargetGroup{}}
	for _, h := range sd.LifecycleHookDetails {
		if h.Status == ecstypes.DeploymentLifecycleHookStatusAwaitingAction {
			n.AwaitingHook = aws.ToString(h.HookId)
		}
	}
	lb := p.Rendered.LoadBalancer
	if lb == nil || lb.ListenerRuleArn == "" {
		return n, nil
	}
	weights, err := ruleWeights(ctx, c, lb.ListenerRuleArn)
	if err != nil {
		return nil, err
	}
	var total int32
	for _, w := range weights {
		total += w
	}
	for _, g := range lb.TargetGroupArns {
		if g == "" {
			continue
		}
		tg := TargetGroup{TargetGroup: g, Name: targetGroupName(g)}
		if total > 0 {
			tg.Weight = int((weights[g]*100 + total/2) / total)
		}
		if tg.Healthy, tg.Targets, err = targetHealth(ctx, c, g); err != nil {
			return nil, err
		}
		n.TargetGroups = append(n.TargetGroups, tg)
	}
	return n, nil
}

// targetGroupName is the name in a target group ARN
// (…:targetgroup/NAME/ID); the ARN itself when it has none.
func targetGroupName(arn string) string {
	_, rest, ok := strings.Cut(arn, ":targetgroup/")
	if !ok {
		return arn
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// ruleWeights reads the weights of the rule's forward action by target
// group ARN.
func ruleWeights(ctx context.Context, c live, rule string) (map[string]int32, error) {
	out, err := c.elb.DescribeRules(ctx, &elbsdk.DescribeRulesInput{RuleArns: []string{rule}})
	if err != nil {
		return nil, fmt.Errorf("describe listener rule %s: %w", rule, err)
	}
	weights := map[string]int32{}
	for _, r := range out.Rules {
		for _, a := range r.Actions {
			if a.Type != elbtypes.ActionTypeEnumForward {
				continue
			}
			if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
				for _, g := range a.ForwardConfig.TargetGroups {
					weights[aws.ToString(g.TargetGroupArn)] += aws.ToInt32(g.Weight)
				}
			} else if a.TargetGroupArn != nil {
				weights[*a.TargetGroupArn] += 1
			}
		}
	}
	return weights, nil
}

// targetHealth counts the healthy targets of a target group, and all.
func targetHealth(ctx context.Context, c live, group string) (healthy, all int, err error) {
	out, err := c.elb.DescribeTargetHealth(ctx, &elbsdk.DescribeTargetHealthInput{TargetGroupArn: &group})
	if err != nil {
		return 0, 0, fmt.Errorf("describe target health of %s: %w", group, err)
	}
	for _, t := range out.TargetHealthDescriptions {
		all++
		if t.TargetHealth != nil && t.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
			healthy++
		}
	}
	return healthy, all, nil
}

// alarms reads the state of each named alarm, metric or composite.
func (o *Operator) alarms(ctx context.Context, c live, names []string) ([]Alarm, error) {
	out := make([]Alarm, 0, len(names))
	if len(names) == 0 {
		return out, nil
	}
	states := map[string]string{}
	// DescribeAlarms takes at most 100 names a call.
	for i := 0; i < len(names); i += 100 {
		batch := names[i:min(i+100, len(names))]
		p := cwsdk.NewDescribeAlarmsPaginator(c.cw, &cwsdk.DescribeAlarmsInput{AlarmNames: batch,
			AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("describe alarms %v: %w", batch, err)
			}
			for _, a := range page.MetricAlarms {
				states[aws.ToString(a.AlarmName)] = string(a.StateValue)
			}
			for _, a := range page.CompositeAlarms {
				states[aws.ToString(a.AlarmName)] = string(a.StateValue)
			}
		}
	}
	for _, n := range names {
		st, ok := states[n]
		if !ok {
			st = "MISSING"
		}
		out = append(out, Alarm{Name: n, State: st})
	}
	return out, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Follow takes a Snapshot of the execution arn every poll period, passing
// each to show, until the execution has ended; it returns the last.
func (o *Operator) Follow(ctx context.Context, arn string, show func(Snapshot)) (Snapshot, error) {
	for {
		s, err := o.Snapshot(ctx, arn)
		if err != nil {
			return s, err
		}
		show(s)
		if s.Ended() {
			return s, nil
		}
		if err := o.sleep(ctx); err != nil {
			return s, fmt.Errorf("follow %s: %w", arn, err)
		}
	}
}

// Newest returns the ARN of the newest execution deploying svc to env;
// with wait > 0 and none yet, it polls for one to start for up to wait.
// With wait 0 and none, the error wraps ErrUnknown.
func (o *Operator) Newest(ctx context.Context, svc, env string, wait time.Duration) (string, error) {
	deadline := o.now().Add(wait)
	for {
		arn, err := o.newest(ctx, svc, env, newestWindow)
		if err != nil {
			return "", err
		}
		if arn != "" {
			return arn, nil
		}
		if wait <= 0 {
			return "", fmt.Errorf("%w deployment: none of the newest %d executions deployed %s to %s (start one with slipway deploy, or wait for one with --timeout)",
				ErrUnknown, newestWindow, svc, env)
		}
		if !o.now().Before(deadline) {
			return "", fmt.Errorf("no deployment of %s to %s started within %v", svc, env, wait)
		}
		if err := o.sleep(ctx); err != nil {
			return "", err
		}
	}
}

// newestWindow is how many of the newest executions Newest looks through.
const newestWindow = 500

// newest returns the newest of the window newest executions that deploys
// svc to env, or "" (Newest and ResolveExecution share it). Executions Slipway starts are named
// <service>-<environment>-<hash> (trigger.ExecutionName), so only those
// with the prefix, and the few newest (a person may name an execution in
// the console), are described to read their input.
func (o *Operator) newest(ctx context.Context, svc, env string, window int) (string, error) {
	list, err := o.sfn.ListExecutions(ctx, o.StateMachineARN, "", window)
	if err != nil {
		return "", fmt.Errorf("find the newest deployment of %s to %s: %w", svc, env, err)
	}
	prefix := trigger.ExecutionNamePrefix(svc, env)
	for i, e := range list {
		if !strings.HasPrefix(e.Name, prefix) && i >= 5 {
			continue
		}
		d, err := o.sfn.DescribeExecution(ctx, e.ARN)
		if err != nil {
			return "", fmt.Errorf("find the newest deployment of %s to %s: %w", svc, env, err)
		}
		var in workflow.Request
		if json.Unmarshal([]byte(d.Input), &in) == nil && in.Service == svc && in.Environment == env {
			return e.ARN, nil
		}
	}
	return "", nil
}
