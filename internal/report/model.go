// Package report turns the record of one deployment — the events of its
// Step Functions execution (states entered and exited, with their inputs
// and outputs), the plan Prepare stored, the history entry and the alarm
// history — into a timeline: traffic weight and tasks per slot as step
// series, alarm state bands and phase markers, drawn as a standalone SVG
// (or an HTML page embedding it).
//
// It reads no AWS API: internal/operator gathers the record; Build and the
// renderers are pure, so they are tested with hand-made records.
package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// Event is one event of an execution's history, reduced to what the
// timeline reads: when, which state, its input (entered) or output
// (exited), or the error and cause of a failure.
type Event struct {
	At   time.Time
	Type string // the GetExecutionHistory event type, e.g. TaskStateEntered
	// State is the state's name, on StateEntered/StateExited events.
	State string
	// Input is the state's input (entered); Output its output (exited).
	Input, Output string
	// Error and Cause are set on failure events (TaskFailed,
	// LambdaFunctionFailed, ExecutionFailed, …).
	Error, Cause string
}

// Plan is the part of the plan Prepare stored (state bucket, plans/…) that
// the timeline reads: which slot services take part, how many tasks they
// ran before, and how many the new revision runs with all the traffic.
type Plan struct {
	Target      string `json:"target"`
	Other       string `json:"other"`
	TargetGroup string `json:"targetGroup"`
	OtherGroup  string `json:"otherGroup"`
	FullCount   int32  `json:"fullCount"`
	ByCount     bool   `json:"byCount"`
	// Rendered.RoleARN is the environment's role for another account:
	// its alarms are read with it.
	Rendered struct {
		RoleARN string
	} `json:"rendered"`
	Snapshot struct {
		Services []struct {
			Name         string `json:"name"`
			Exists       bool   `json:"exists"`
			DesiredCount int32  `json:"desiredCount"`
		} `json:"services"`
		Rules []struct {
			Weights []struct {
				TargetGroupArn string `json:"targetGroupArn"`
				Weight         int32  `json:"weight"`
			} `json:"weights"`
		} `json:"rules"`
	} `json:"snapshot"`
}

// AlarmTransition is one state change of a CloudWatch alarm (from
// DescribeAlarmHistory, or the alarm event that failed a wait).
type AlarmTransition struct {
	Alarm    string
	At       time.Time
	From, To string
}

// Input is the record of one deployment.
type Input struct {
	// Execution is the execution ARN; Status its status (SUCCEEDED, …).
	Execution, Status string
	// Start and Stop bound the execution; Stop is zero while it runs.
	Start, Stop time.Time
	// Events are the execution's history events, oldest first.
	Events []Event
	// Plan is the stored plan; nil when it could not be read (the counts
	// are then drawn from what the state documents say alone).
	Plan *Plan
	// Alarms are the alarm transitions known for the alarms the
	// deployment watched, in any order.
	Alarms []AlarmTransition
	// Outcome is the history entry's outcome, when recorded.
	Outcome string
	// Now ends the timeline of a running execution.
	Now time.Time
}

// Point is one step of a step series: Value holds from At until the next
// point.
type Point struct {
	At    time.Time `json:"at"`
	Value int       `json:"value"`
}

// Series is one slot's step series.
type Series struct {
	Slot   string  `json:"slot"`
	Points []Point `json:"points"`
}

// Band is a time an alarm was in ALARM. Open is true when it was still in
// ALARM at the end of the timeline.
type Band struct {
	Alarm string    `json:"alarm"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Open  bool      `json:"open,omitempty"`
}

// Marker kinds.
const (
	MarkApproval = "approval"
	MarkApply    = "apply"
	MarkShift    = "shift"
	MarkBake     = "bake"
	MarkPromote  = "promote"
	MarkRollback = "rollback"
	MarkEnd      = "end"
)

// Marker is a phase of the deployment beginning.
type Marker struct {
	At    time.Time `json:"at"`
	Kind  string    `json:"kind"`
	Label string    `json:"label"`
}

// Timeline is one deployment over time.
type Timeline struct {
	Execution   string    `json:"execution"`
	Service     string    `json:"service"`
	Environment string    `json:"environment"`
	Image       string    `json:"image,omitempty"`
	Strategy    string    `json:"strategy,omitempty"`
	Status      string    `json:"status"`
	Outcome     string    `json:"outcome,omitempty"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	// Weights is the traffic weight (percent) per slot; Tasks the desired
	// task count per slot, both derived from the phases' outputs and the
	// plan (see DeriveTasks).
	Weights []Series `json:"weights"`
	Tasks   []Series `json:"tasks"`
	Alarms  []Band   `json:"alarms"`
	Markers []Marker `json:"markers"`
	// Shifts are the weights the ShiftTraffic states set, in order.
	Shifts []int `json:"shifts"`
}

// Build makes the timeline of in. It fails only when in holds no
// execution start.
func Build(in Input) (*Timeline, error) {
	t := &Timeline{Execution: in.Execution, Status: in.Status, Outcome: in.Outcome, Start: in.Start, End: in.Stop}
	if len(in.Events) > 0 && (t.Start.IsZero() || in.Events[0].At.Before(t.Start)) {
		t.Start = in.Events[0].At
	}
	if t.Start.IsZero() {
		return nil, fmt.Errorf("timeline of %s: no start time in the execution's history", in.Execution)
	}
	if t.End.IsZero() {
		t.End = in.Now
		if n := len(in.Events); n > 0 && in.Events[n-1].At.After(t.End) {
			t.End = in.Events[n-1].At
		}
	}
	if !t.End.After(t.Start) {
		t.End = t.Start.Add(time.Second)
	}
	b := builder{t: t, plan: in.Plan, weights: map[string]int{}, tasks: map[string]int{}}
	b.run(in.Events)
	b.alarms(in.Alarms, in.Events)
	return t, nil
}

// builder walks the events, keeping the current weights and task counts.
type builder struct {
	t    *Timeline
	plan *Plan
	// target and other are the slots of this deployment: "blue"/"green",
	// or the service's name for rolling (no other).
	target, other  string
	weights, tasks map[string]int
	steps          []workflow.Step
	sawBake        bool
}

func (b *builder) run(events []Event) {
	for _, e := range events {
		switch {
		case strings.HasSuffix(e.Type, "StateEntered"):
			b.entered(e)
		case strings.HasSuffix(e.Type, "StateExited"):
			b.exited(e)
		}
	}
}

// entered sets the phase markers.
func (b *builder) entered(e Event) {
	var st workflow.State
	_ = json.Unmarshal([]byte(e.Input), &st)
	b.learn(st)
	switch e.State {
	case workflow.StateAwaitApproval:
		b.mark(e.At, MarkApproval, "approval")
	case workflow.StateApply:
		b.mark(e.At, MarkApply, "apply")
	case workflow.StateShiftTraffic:
		b.sawBake = false
	case workflow.StateBake:
		if !b.sawBake {
			b.sawBake = true
			b.mark(e.At, MarkBake, fmt.Sprintf("bake %s", bakeOf(st)))
		}
	case workflow.StatePromote:
		b.mark(e.At, MarkPromote, "promote")
	case workflow.StateRollback:
		b.mark(e.At, MarkRollback, "rollback")
	case workflow.StateDeployed, workflow.StateRolledBack, workflow.StateRejected, workflow.StateFailed,
		workflow.StateSuperseded, workflow.StateRollbackFailed:
		b.mark(e.At, MarkEnd, endLabel(e.State))
	}
}

// endLabel names a terminal state in the drawing.
func endLabel(state string) string {
	switch state {
	case workflow.StateRolledBack:
		return "rolled back"
	case workflow.StateRollbackFailed:
		return "rollback failed"
	}
	return strings.ToLower(state)
}

// exited moves the series: the phases that change traffic or task counts
// say so in their output.
func (b *builder) exited(e Event) {
	var st workflow.State
	if json.Unmarshal([]byte(e.Output), &st) != nil {
		return
	}
	b.learn(st)
	switch e.State {
	case workflow.StatePrepare:
		b.before(e.At)
	case workflow.StateApply:
		b.applied(e.At)
	case workflow.StateShiftTraffic:
		w := st.Progress.Weight
		b.t.Shifts = append(b.t.Shifts, w)
		b.mark(e.At, MarkShift, fmt.Sprintf("shift %d%%", w))
		b.shifted(e.At, w)
	case workflow.StateCleanup:
		if b.other != "" {
			b.set(b.tasks, b.other, 0)
			b.point(e.At)
		}
	case workflow.StateRollback:
		b.before(e.At)
	}
}

// learn takes the deployment's identity from a state document.
func (b *builder) learn(st workflow.State) {
	t := b.t
	if t.Service == "" {
		t.Service, t.Environment = st.Service, st.Environment
	}
	if st.Plan.Image != "" {
		t.Image = st.Plan.Image
	}
	if st.Plan.Strategy != "" {
		t.Strategy = st.Plan.Strategy
	}
	if len(st.Plan.Steps) > 0 {
		b.steps = st.Plan.Steps
	}
	if b.target == "" && st.Plan.Strategy != "" {
		switch st.Plan.Slot {
		case "":
			b.target = "service"
		case "blue":
			b.target, b.other = "blue", "green"
		default:
			b.target, b.other = st.Plan.Slot, "blue"
		}
	}
}

// slotOf maps an ECS service name of the plan to its slot.
func (b *builder) slotOf(name string) string {
	switch {
	case strings.HasSuffix(name, "--blue"):
		return "blue"
	case strings.HasSuffix(name, "--green"):
		return "green"
	}
	return "service"
}

// before sets the series to the state before the deployment, as the plan's
// snapshot recorded it: after Prepare, and again when Rollback restored it.
func (b *builder) before(at time.Time) {
	if b.target == "" {
		return
	}
	if b.other == "" {
		b.set(b.weights, b.target, 100)
		if p := b.plan; p != nil {
			for _, s := range p.Snapshot.Services {
				if s.Exists && b.slotOf(s.Name) == b.target {
					b.set(b.tasks, b.target, int(s.DesiredCount))
				}
			}
		}
		b.point(at)
		return
	}
	// Canary and blue/green: all traffic on the other slot unless the
	// snapshot of the rule says otherwise.
	b.set(b.weights, b.target, 0)
	b.set(b.weights, b.other, 100)
	if p := b.plan; p != nil {
		b.set(b.tasks, b.target, 0)
		b.set(b.tasks, b.other, 0)
		for _, s := range p.Snapshot.Services {
			if slot := b.slotOf(s.Name); s.Exists && slot != "service" {
				b.set(b.tasks, slot, int(s.DesiredCount))
			}
		}
		if len(p.Snapshot.Rules) > 0 {
			for _, w := range p.Snapshot.Rules[0].Weights {
				switch w.TargetGroupArn {
				case p.TargetGroup:
					b.set(b.weights, b.target, percent(w.Weight, p.Snapshot.Rules[0].Weights))
				case p.OtherGroup:
					b.set(b.weights, b.other, percent(w.Weight, p.Snapshot.Rules[0].Weights))
				}
			}
		}
	}
	b.point(at)
}

// percent is w as a share of the weights' sum, which ALB normalises.
func percent(w int32, all []struct {
	TargetGroupArn string `json:"targetGroupArn"`
	Weight         int32  `json:"weight"`
}) int {
	var sum int32
	for _, x := range all {
		sum += x.Weight
	}
	if sum == 0 {
		return 0
	}
	return int((w*100 + sum/2) / sum)
}

// applied: the target slot runs the new revision, with no traffic yet
// (slots) or all of it (rolling, whose traffic ECS moves).
func (b *builder) applied(at time.Time) {
	if b.target == "" {
		return
	}
	full := b.fullCount()
	if b.other == "" {
		b.set(b.weights, b.target, 100)
		if full >= 0 {
			b.set(b.tasks, b.target, full)
		}
		b.point(at)
		return
	}
	b.set(b.weights, b.target, 0)
	if full >= 0 {
		n := full
		if b.plan.ByCount && len(b.steps) > 0 {
			n = countFor(full, b.steps[0].Weight)
		}
		b.set(b.tasks, b.target, n)
	}
	b.point(at)
}

// shifted: weight w on the target slot. A canary by task count moves
// tasks instead: the new slot runs its share, the old slot the rest.
func (b *builder) shifted(at time.Time, w int) {
	if b.target == "" {
		return
	}
	if b.other == "" {
		b.set(b.weights, b.target, 100)
		b.point(at)
		return
	}
	b.set(b.weights, b.target, w)
	b.set(b.weights, b.other, 100-w)
	if full := b.fullCount(); full >= 0 && b.plan.ByCount {
		n := countFor(full, w)
		b.set(b.tasks, b.target, n)
		b.set(b.tasks, b.other, full-n)
	}
	b.point(at)
}

// fullCount is the plan's full count; -1 without a plan.
func (b *builder) fullCount() int {
	if b.plan == nil {
		return -1
	}
	return int(b.plan.FullCount)
}

// countFor is the number of tasks carrying weight percent of full, rounded
// up, as the engine sizes a canary by task count.
func countFor(full, weight int) int {
	switch {
	case weight <= 0:
		return 0
	case weight >= 100:
		return full
	}
	return (full*weight + 99) / 100
}

func (b *builder) set(m map[string]int, slot string, v int) { m[slot] = v }

// point appends the current values to every series whose value changed.
func (b *builder) point(at time.Time) {
	add := func(list *[]Series, m map[string]int) {
		for _, slot := range slotOrder(m) {
			v := m[slot]
			i := slices.IndexFunc(*list, func(s Series) bool { return s.Slot == slot })
			if i < 0 {
				*list = append(*list, Series{Slot: slot})
				i = len(*list) - 1
			}
			s := &(*list)[i]
			if n := len(s.Points); n > 0 && s.Points[n-1].Value == v {
				continue
			}
			if n := len(s.Points); n > 0 && s.Points[n-1].At.Equal(at) {
				s.Points[n-1].Value = v
				continue
			}
			s.Points = append(s.Points, Point{At: at, Value: v})
		}
	}
	add(&b.t.Weights, b.weights)
	add(&b.t.Tasks, b.tasks)
}

func slotOrder(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (b *builder) mark(at time.Time, kind, label string) {
	b.t.Markers = append(b.t.Markers, Marker{At: at, Kind: kind, Label: label})
}

func bakeOf(st workflow.State) string {
	i := st.Progress.Step - 1
	if i >= 0 && i < len(st.Plan.Steps) {
		return (time.Duration(st.Plan.Steps[i].BakeSeconds) * time.Second).String()
	}
	return ""
}

// alarms makes the ALARM bands: from the alarm history when there is one,
// else from the alarm failures in the execution's events (from the failure
// to the end of the timeline, marked open: when the alarm cleared is not
// in the execution's record).
func (b *builder) alarms(transitions []AlarmTransition, events []Event) {
	t := b.t
	byAlarm := map[string][]AlarmTransition{}
	for _, x := range transitions {
		byAlarm[x.Alarm] = append(byAlarm[x.Alarm], x)
	}
	names := make([]string, 0, len(byAlarm))
	for n := range byAlarm {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		list := byAlarm[n]
		slices.SortStableFunc(list, func(a, b AlarmTransition) int { return a.At.Compare(b.At) })
		var open *Band
		for _, x := range list {
			switch {
			case x.To == "ALARM" && open == nil:
				from := x.At
				if from.Before(t.Start) {
					from = t.Start
				}
				open = &Band{Alarm: n, From: from}
			case x.To != "ALARM" && open != nil:
				if x.At.After(t.Start) {
					open.To = minTime(x.At, t.End)
					t.Alarms = append(t.Alarms, *open)
				}
				open = nil
			}
			if x.From == "ALARM" && open == nil && x.To != "ALARM" && x.At.After(t.Start) && !hasBand(t.Alarms, n) {
				// In ALARM since before the history read: from the start.
				t.Alarms = append(t.Alarms, Band{Alarm: n, From: t.Start, To: minTime(x.At, t.End)})
			}
		}
		if open != nil && !open.From.After(t.End) {
			open.To, open.Open = t.End, true
			t.Alarms = append(t.Alarms, *open)
		}
	}
	for _, e := range events {
		if e.Error != "AlarmFired" {
			continue
		}
		name := alarmName(e.Cause)
		if name == "" || byAlarm[name] != nil || hasBand(t.Alarms, name) {
			continue
		}
		t.Alarms = append(t.Alarms, Band{Alarm: name, From: e.At, To: t.End, Open: true})
	}
}

func hasBand(bands []Band, name string) bool {
	return slices.ContainsFunc(bands, func(b Band) bool { return b.Alarm == name })
}

// alarmName reads the alarm's name from an AlarmFired cause, which is the
// error's message ("alarm NAME in ALARM: reason") or a JSON object with it.
func alarmName(cause string) string {
	var v struct{ ErrorMessage string }
	if json.Unmarshal([]byte(cause), &v) == nil && v.ErrorMessage != "" {
		cause = v.ErrorMessage
	}
	rest, ok := strings.CutPrefix(cause, "alarm ")
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(rest, " in ALARM")
	if !ok {
		return ""
	}
	return name
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// AlarmNames returns the alarms the deployment watched, read from the
// wait states' inputs and the alarm failures, sorted.
func AlarmNames(events []Event) []string {
	seen := map[string]bool{}
	for _, e := range events {
		if e.Input != "" && strings.Contains(e.Input, `"alarms"`) {
			var st workflow.State
			if json.Unmarshal([]byte(e.Input), &st) == nil {
				for _, a := range st.Wait.Alarms {
					seen[a] = true
				}
			}
		}
		if e.Error == "AlarmFired" {
			if n := alarmName(e.Cause); n != "" {
				seen[n] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
