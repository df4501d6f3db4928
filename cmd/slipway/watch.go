package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"
	"github.com/mattn/go-isatty"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/operator"
	"github.com/slipwayhq/slipway/internal/workflow"
)

func newWatchCommand() *cobra.Command {
	var (
		sf      stackFlags
		of      outputFlag
		env     string
		timeout time.Duration
	)
	c := &cobra.Command{
		Use:   "watch EXECUTION | watch --env ENV SERVICE",
		Short: "Follow a deployment live until it ends",
		Long: `watch follows one deployment until it ends: the state machine's phase, the
traffic weight of each slot (the listener rule's blue and green target
groups), running/desired tasks and healthy targets per slot, the state of
every alarm the deployment watches, and the time left in a bake or an
approval.

EXECUTION is an execution name or ARN of the deploy state machine. With
--env, the argument is a SERVICE and watch follows its newest deployment in
ENV; with --timeout it waits that long for one to start if there is none.

On a terminal the view is redrawn in place (NO_COLOR turns colour off);
otherwise each change is printed as one timestamped line. --output json
prints one JSON object per change (JSON Lines; fields in docs/cli.md).
Exit codes: 0 the deployment ended Deployed, 1 it rolled back, was
rejected or failed, 2 usage error (an unknown execution, service or
environment).
` + operatorHelp,
		Example: `  slipway watch --env staging web
  slipway watch --env prod --timeout 10m web
  slipway watch web-staging-20261202T050000-1a2b3c
  slipway watch --output json arn:aws:states:us-east-1:123456789012:execution:Slipway-deploy:web-prod-…`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := of.check(); err != nil {
				return err
			}
			if timeout < 0 {
				return usageErrorf("--timeout %v: must not be negative", timeout)
			}
			op, err := sf.connect(c.Context())
			if err != nil {
				return err
			}
			arn, err := watchTarget(c.Context(), op, args[0], env, timeout)
			if err != nil {
				return err
			}
			return watchExecution(c, op, arn, of)
		},
	}
	c.Flags().StringVar(&env, "env", "", "the argument is a service: follow its newest deployment in this environment")
	c.Flags().DurationVar(&timeout, "timeout", 0, "with --env: wait this long for a deployment to start when there is none")
	of.add(c)
	sf.add(c)
	return c
}

// watchTarget finds the execution to watch: arg names one, or with env,
// arg is a service whose newest deployment in env is followed.
func watchTarget(ctx context.Context, op *operator.Operator, arg, env string, timeout time.Duration) (string, error) {
	if env == "" || strings.HasPrefix(arg, "arn:") {
		if timeout > 0 {
			return "", usageErrorf("--timeout needs --env ENV and a SERVICE")
		}
		return op.ExecutionARN(ctx, arg)
	}
	if err := op.CheckNames(ctx, arg, env); err != nil {
		return "", err
	}
	return op.Newest(ctx, arg, env, timeout)
}

// watchExecution follows arn until it ends, drawing it as of asks and as
// the output allows (a live view on a terminal, lines otherwise), and fails
// unless it ended Deployed.
func watchExecution(c *cobra.Command, op *operator.Operator, arn string, of outputFlag) error {
	return followExecution(c, op, arn, of, toDeployed)
}

// followExecution is the one way a command follows an execution (deploy
// --wait, watch, status --watch, rollback --wait): it draws arn until it
// ends and succeeds only when it ended as g wants, so every command exits
// 0 on its goal and 1 on any other end.
func followExecution(c *cobra.Command, op *operator.Operator, arn string, of outputFlag, g goal) error {
	out := c.OutOrStdout()
	v := newView(out, of)
	last, err := op.Follow(c.Context(), arn, v.show)
	if err != nil {
		return err
	}
	if !g.reached(last) {
		return endedError(last)
	}
	if !of.json() {
		fmt.Fprintln(out, g.done(last))
	}
	return nil
}

// goal is how a followed execution must end for its command to succeed.
type goal struct {
	// reached reports whether the ended execution s is the goal.
	reached func(s operator.Snapshot) bool
	// done is the line the text output ends with when it is.
	done func(s operator.Snapshot) string
}

var (
	// toDeployed: the deployment ended Deployed (deploy, watch, status
	// --watch, a rollback that redeploys the previous image).
	toDeployed = goal{
		reached: operator.Snapshot.Deployed,
		done: func(s operator.Snapshot) string {
			return fmt.Sprintf("deployed %s to %s: %s", s.Service, s.Environment, s.Image)
		},
	}
	// toRolledBack: a deployment that rollback halted or joined ended
	// RolledBack, the service restored as it was before it.
	toRolledBack = goal{
		reached: func(s operator.Snapshot) bool { return s.Ended() && s.State == workflow.StateRolledBack },
		done: func(s operator.Snapshot) string {
			return fmt.Sprintf("rolled back %s in %s", s.Service, s.Environment)
		},
	}
)

// endedError says how a deployment that did not end as wanted ended.
func endedError(s operator.Snapshot) error {
	detail := s.Status
	if s.Error != "" {
		detail += " (" + s.Error + ")"
	}
	return fmt.Errorf("deployment of %s to %s ended in %s, %s: see slipway history --env %s %s",
		s.Service, s.Environment, s.State, detail, s.Environment, s.Service)
}

// view draws snapshots: as JSON Lines, as a frame redrawn in place on a
// terminal, or as timestamped lines, one per change.
type view struct {
	out  io.Writer
	json bool
	// live is set on a terminal: term moves its cursor, drawn is the
	// number of lines of the frame on screen.
	live  bool
	fd    uintptr
	term  *termenv.Output
	style *lipgloss.Renderer
	drawn int
	// last holds the text last printed for each aspect (the state path,
	// traffic, each slot's tasks, each alarm, the wait), so only changes
	// are printed; seen counts the path entries printed.
	last map[string]string
	seen int
}

func newView(out io.Writer, of outputFlag) *view {
	v := &view{out: out, json: of.json(), last: map[string]string{}}
	if f, ok := out.(*os.File); ok && !v.json && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		v.live, v.fd = true, f.Fd()
		v.term = termenv.NewOutput(out)
		v.style = lipgloss.NewRenderer(out)
	}
	return v
}

// show draws one snapshot.
func (v *view) show(s operator.Snapshot) {
	switch {
	case v.live:
		frame := renderFrame(s, v.style)
		// A line wider than the terminal would wrap and take two rows,
		// and the next redraw would clear too few: cut lines to fit.
		if w, _, err := term.GetSize(v.fd); err == nil {
			frame = fitFrame(frame, w)
		}
		if v.drawn > 0 {
			// The cursor is on the line below the previous frame: clear
			// it and the frame's lines, ending on the frame's first line.
			v.term.ClearLines(v.drawn)
		}
		fmt.Fprint(v.out, frame)
		v.drawn = strings.Count(frame, "\n")
	case v.json:
		if changes := v.changes(s); len(changes) > 0 || s.Ended() {
			_ = writeJSON(v.out, s)
		}
	default:
		for _, l := range v.changes(s) {
			fmt.Fprintln(v.out, l)
		}
	}
}

// changes returns the plain lines for what changed since the last
// snapshot, and remembers the snapshot.
func (v *view) changes(s operator.Snapshot) []string {
	var lines []string
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	for i := min(v.seen, len(s.Path)); i < len(s.Path); i++ {
		e := s.Path[i]
		l := fmt.Sprintf("%s  state    %s", stamp(e.At), e.State)
		if i == len(s.Path)-1 {
			l += ": " + s.Phase
		}
		lines = append(lines, l)
	}
	v.seen = max(v.seen, len(s.Path))
	emit := func(key, text string) {
		if v.last[key] != text {
			v.last[key] = text
			lines = append(lines, fmt.Sprintf("%s  %s", stamp(s.At), text))
		}
	}
	if t := trafficText(s); t != "" {
		emit("traffic", "traffic  "+t)
	}
	for _, sl := range s.Slots {
		emit("tasks "+sl.Name, "tasks    "+sl.Name+": "+tasksText(sl))
	}
	if n := s.Native; n != nil {
		emit("ecs", "ecs      "+nativeText(n))
		if t := targetGroupsText(n); t != "" {
			emit("traffic tg", "traffic  "+t)
		}
	}
	for _, a := range s.Alarms {
		emit("alarm "+a.Name, "alarm    "+a.Name+" "+a.State)
	}
	if s.LiveError != "" {
		emit("live", "live     not shown: "+s.LiveError)
	}
	if w := s.Wait; w != nil {
		emit("wait", fmt.Sprintf("wait     %s until %s (%v)", w.Kind, stamp(w.Ends), w.Ends.Sub(w.Started)))
	}
	return lines
}

// trafficText is the weight of each slot: "blue 90% · green 10%"; empty
// without a load balancer.
func trafficText(s operator.Snapshot) string {
	var parts []string
	for _, sl := range s.Slots {
		if sl.Weight >= 0 {
			parts = append(parts, fmt.Sprintf("%s %d%%", sl.Name, sl.Weight))
		}
	}
	return strings.Join(parts, " · ")
}

// nativeText is an ECS service deployment's status and stage: "IN_PROGRESS
// at POST_TEST_TRAFFIC_SHIFT, hook ecs-pause-… awaits action".
func nativeText(n *operator.NativeDeployment) string {
	t := cmp.Or(n.Status, "status unknown")
	if n.Stage != "" {
		t += " at " + n.Stage
	}
	if n.AwaitingHook != "" {
		t += ", hook " + n.AwaitingHook + " awaits action"
	}
	return t
}

// targetGroupsText is the production rule's weight of each target group of
// a native deployment: "web-blue 90% · web-green 10%".
func targetGroupsText(n *operator.NativeDeployment) string {
	var parts []string
	for _, g := range n.TargetGroups {
		parts = append(parts, fmt.Sprintf("%s %d%%", g.Name, g.Weight))
	}
	return strings.Join(parts, " · ")
}

// tasksText is a slot's tasks and targets: "2/2 running, 0 pending, 2/2
// healthy".
func tasksText(sl operator.Slot) string {
	if !sl.Exists {
		return "no service"
	}
	t := fmt.Sprintf("%d/%d running, %d pending", sl.Running, sl.Desired, sl.Pending)
	if sl.Weight >= 0 {
		t += fmt.Sprintf(", %d/%d healthy", sl.Healthy, sl.Targets)
	}
	return t
}

// fitFrame cuts each line of frame to width cells (ANSI-aware), so no
// line wraps; a width of 0 or less leaves it whole.
func fitFrame(frame string, width int) string {
	if width <= 0 {
		return frame
	}
	lines := strings.Split(strings.TrimSuffix(frame, "\n"), "\n")
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, width, "…")
	}
	return strings.Join(lines, "\n") + "\n"
}

// renderFrame draws the live view of s, styled by r (plain text when r's
// profile is Ascii: no terminal, or NO_COLOR).
func renderFrame(s operator.Snapshot, r *lipgloss.Renderer) string {
	bold := r.NewStyle().Bold(true)
	faint := r.NewStyle().Faint(true)
	green := r.NewStyle().Foreground(lipgloss.Color("2"))
	red := r.NewStyle().Foreground(lipgloss.Color("1")).Bold(true)
	yellow := r.NewStyle().Foreground(lipgloss.Color("3"))
	var b strings.Builder
	line := func(label, text string) {
		fmt.Fprintf(&b, "%s %s\n", bold.Render(fmt.Sprintf("%-8s", label)), text)
	}
	title := fmt.Sprintf("%s → %s", s.Service, s.Environment)
	if s.Strategy != "" {
		title += " (" + s.Strategy + ")"
	}
	fmt.Fprintf(&b, "%s  %s\n", bold.Render(title), faint.Render(executionName(s.Execution)))
	phase := s.State + ": " + s.Phase
	switch {
	case s.Deployed():
		phase = green.Render(phase)
	case s.Ended():
		phase = red.Render(phase)
	}
	line("phase", phase)
	if s.Image != "" {
		line("image", s.Image)
	}
	if w := s.Wait; w != nil {
		line("wait", fmt.Sprintf("%s: %s left of %s (until %s)", w.Kind, w.Left(), w.Ends.Sub(w.Started), w.Ends.UTC().Format(time.TimeOnly)))
	}
	if len(s.Slots) > 0 {
		fmt.Fprintln(&b, bold.Render(fmt.Sprintf("%-8s %-6s %-20s %-9s %-7s %-7s %s", "slot", "weight", "", "running", "desired", "pending", "healthy")))
		for _, sl := range s.Slots {
			name := sl.Name
			if sl.New && len(s.Slots) > 1 {
				name += "*"
			}
			weight, bar, healthy := "-", "", "-"
			if sl.Weight >= 0 {
				weight = fmt.Sprintf("%d%%", sl.Weight)
				n := (sl.Weight + 2) / 5
				bar = green.Render(strings.Repeat("█", n)) + faint.Render(strings.Repeat("░", 20-n))
				healthy = fmt.Sprintf("%d/%d", sl.Healthy, sl.Targets)
			} else {
				bar = strings.Repeat(" ", 20)
			}
			running := fmt.Sprintf("%-9s", fmt.Sprint(sl.Running))
			if sl.Running < sl.Desired {
				running = yellow.Render(running)
			}
			fmt.Fprintf(&b, "%-8s %-6s %s %s %-7d %-7d %s\n", name, weight, bar, running, sl.Desired, sl.Pending, healthy)
		}
	}
	if n := s.Native; n != nil {
		line("ecs", nativeText(n))
		for _, g := range n.TargetGroups {
			bar := green.Render(strings.Repeat("█", (g.Weight+2)/5)) + faint.Render(strings.Repeat("░", 20-(g.Weight+2)/5))
			line("tg", fmt.Sprintf("%-6s %s %d/%d healthy  %s", fmt.Sprintf("%d%%", g.Weight), bar, g.Healthy, g.Targets, g.Name))
		}
	}
	for _, a := range s.Alarms {
		st := fmt.Sprintf("%-17s", a.State)
		switch a.State {
		case "OK":
			st = green.Render(st)
		case "ALARM":
			st = red.Render(st)
		default:
			st = yellow.Render(st)
		}
		line("alarm", st+" "+a.Name)
	}
	if s.Error != "" {
		line("error", red.Render(s.Error))
	}
	if s.LiveError != "" {
		line("live", yellow.Render("not shown: "+s.LiveError))
	}
	return b.String()
}
