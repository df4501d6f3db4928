package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/creack/pty"
	"github.com/muesli/termenv"

	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/operator"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// stateLine matches a plain state line: "<RFC 3339>  state    <State>…".
var stateLine = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  state    (\w+)`)

// statesIn returns the states of the plain lines in out, in order.
func statesIn(out string) []string {
	var states []string
	for _, m := range stateLine.FindAllStringSubmatch(out, -1) {
		states = append(states, m[1])
	}
	return states
}

// inOrder fails unless want appear in got in this order.
func inOrder(t *testing.T, got []string, want ...string) {
	t.Helper()
	i := 0
	for _, s := range got {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Fatalf("states %v: want %v in this order", got, want)
	}
}

// lastLine returns the last line of out holding marker.
func lastLine(out, marker string) string {
	var last string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, marker) {
			last = l
		}
	}
	return last
}

// decodeLines decodes each line of out as a Snapshot, rejecting fields
// docs/cli.md does not document (the struct is checked against the doc by
// TestCLIDocListsJSONFields).
func decodeLines(t *testing.T, out string) []operator.Snapshot {
	t.Helper()
	var list []operator.Snapshot
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var s operator.Snapshot
		if err := dec.Decode(&s); err != nil {
			t.Fatalf("JSON line %q: %v", sc.Text(), err)
		}
		list = append(list, s)
	}
	if len(list) == 0 {
		t.Fatalf("no JSON lines in %q", out)
	}
	return list
}

// TestWatchEndToEnd follows real canary deployments of web in staging on
// the local endpoint with deploy --wait and watch: one that succeeds and one
// whose 5xx alarm fires during a bake and rolls it back.
func TestWatchEndToEnd(t *testing.T) {
	r, op := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Tags outside web's patterns (v*, main-*): only the CLI deploys them.
	digests := pushWeb(ctx, t, r, "good1", "bad1")

	t.Run("deploy --wait succeeds", func(t *testing.T) {
		res := cli("deploy", "--env", "staging", "--image", "good1", "--wait", "web")
		res.want(t, exitOK, "deployed web to staging: ", digests["good1"])
		inOrder(t, statesIn(res.stdout), workflow.StatePrepare, workflow.StateApply, workflow.StateAwaitStable,
			workflow.StateShiftTraffic, workflow.StateBake, workflow.StatePromote, workflow.StateCleanup, workflow.StateDeployed)
		// One line per change: no state is printed twice in a row, and
		// nothing repeats between two state lines.
		lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
		for i := 1; i < len(lines); i++ {
			if lines[i] == lines[i-1] {
				t.Errorf("line %d repeats: %s", i, lines[i])
			}
		}
		// The new slot ends with all traffic, the old with none.
		traffic := lastLine(res.stdout, "  traffic  ")
		if !regexp.MustCompile(`traffic  (blue 100% · green 0%|blue 0% · green 100%)$`).MatchString(traffic) {
			t.Errorf("last traffic line %q, want 100/0\n%s", traffic, res.stdout)
		}
		for _, alarm := range []string{"web-staging-5xx", "web-staging-p99-latency", "staging-cluster-cpu-high"} {
			if !strings.Contains(res.stdout, "alarm    "+alarm+" ") {
				t.Errorf("no line for alarm %s:\n%s", alarm, res.stdout)
			}
		}
		if !strings.Contains(res.stdout, "  wait     bake until ") {
			t.Errorf("no bake wait line:\n%s", res.stdout)
		}
	})

	t.Run("watch SERVICE as JSON Lines", func(t *testing.T) {
		// The newest deployment of web in staging has ended: one line.
		res := cli("watch", "--env", "staging", "--output", "json", "web")
		res.want(t, exitOK)
		list := decodeLines(t, res.stdout)
		s := list[len(list)-1]
		if !s.Deployed() || !strings.HasSuffix(s.Image, digests["good1"]) || s.Strategy != "canary" {
			t.Fatalf("snapshot: got %s %s %s %s, want SUCCEEDED Deployed canary with %s", s.Status, s.State, s.Strategy, s.Image, digests["good1"])
		}
		var weights []int
		for _, sl := range s.Slots {
			weights = append(weights, sl.Weight)
			if sl.New && (sl.Weight != 100 || sl.Running == 0 || sl.Healthy != int(sl.Running)) {
				t.Errorf("new slot %+v: want 100%% of traffic and every running task healthy", sl)
			}
		}
		slices.Sort(weights)
		if !slices.Equal(weights, []int{0, 100}) || len(s.Alarms) != 3 {
			t.Errorf("slots %+v alarms %+v: want weights 0 and 100 and 3 alarms", s.Slots, s.Alarms)
		}
		if s.Path[0].State != workflow.StatePrepare || s.Path[len(s.Path)-1].State != workflow.StateDeployed {
			t.Errorf("path %v: want Prepare … Deployed", s.Path)
		}
	})

	var rolledBack string
	t.Run("deploy --wait --output json rolls back", func(t *testing.T) {
		control := endpoint.Control{URL: r.URL}
		if _, err := control.Apply(ctx, faults.State{Images: map[string]faults.Behaviour{digests["bad1"]: {ErrorRate: 0.5}}}); err != nil {
			t.Fatal(err)
		}
		res := cli("deploy", "--env", "staging", "--image", "bad1", "--wait", "--output", "json", "web")
		res.want(t, exitFailed)
		res.wantErr(t, "ended in RolledBack")
		list := decodeLines(t, res.stdout)
		last := list[len(list)-1]
		rolledBack = last.Execution
		if last.State != workflow.StateRolledBack || last.Status != "FAILED" || !last.Ended() {
			t.Fatalf("last line: %s %s, want FAILED in RolledBack", last.Status, last.State)
		}
		fired := false
		var states []string
		for _, s := range list {
			states = append(states, s.State)
			for _, a := range s.Alarms {
				fired = fired || (a.Name == "web-staging-5xx" && a.State == "ALARM")
			}
		}
		// The alarm is in ALARM for about one evaluation (a simulated
		// minute, 200 ms here) before the restored traffic clears it, so
		// a poll on a loaded machine may miss it: what decides is that
		// the alarm caused the rollback.
		hist, err := op.History(ctx, "staging", "web", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 1 || hist[0].Execution != rolledBack || !strings.Contains(hist[0].Cause, "web-staging-5xx in ALARM") {
			t.Errorf("history: got %+v, want the rollback caused by web-staging-5xx", hist)
		}
		t.Logf("a line showed web-staging-5xx in ALARM: %v (states %v)", fired, states)
		var path []string
		for _, e := range last.Path {
			path = append(path, e.State)
		}
		inOrder(t, path, workflow.StateShiftTraffic, workflow.StateBake, workflow.StateRollback, workflow.StateRolledBack)
		// Traffic is back where it was: the old slot has it all.
		for _, sl := range last.Slots {
			if want := map[bool]int{true: 0, false: 100}[sl.New]; sl.Weight != want {
				t.Errorf("slot %s (new %v) after the rollback: weight %d, want %d", sl.Name, sl.New, sl.Weight, want)
			}
		}
	})

	t.Run("watch EXECUTION of the rollback", func(t *testing.T) {
		if rolledBack == "" {
			t.Fatal("the rollback did not run")
		}
		// The alarm's state is read live, so it may have cleared by now:
		// only the path and traffic are checked here.
		res := cli("watch", executionName(rolledBack))
		res.want(t, exitFailed, "alarm    web-staging-5xx ")
		res.wantErr(t, "ended in RolledBack")
		inOrder(t, statesIn(res.stdout), workflow.StatePrepare, workflow.StateBake, workflow.StateRollback, workflow.StateRolledBack)
		if traffic := lastLine(res.stdout, "  traffic  "); !regexp.MustCompile(`(blue 100% · green 0%|blue 0% · green 100%)$`).MatchString(traffic) {
			t.Errorf("traffic after the rollback %q, want 100/0", traffic)
		}
	})

	t.Run("approval time left, then approved", func(t *testing.T) {
		// Approve only once the watcher has shown the approval wait.
		var out syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- run([]string{"deploy", "--env", "prod", "--image", "good1", "--wait", "--output", "json", "--poll", "20ms", "web"}, &out, io.Discard)
		}()
		for !regexp.MustCompile(`"state":"AwaitApproval","enteredAt"`).MatchString(out.String()) {
			select {
			case code := <-done:
				t.Fatalf("deploy --wait ended (%d) before it showed AwaitApproval:\n%s", code, out.String())
			case <-ctx.Done():
				t.Fatal("deploy --wait never showed AwaitApproval")
			case <-time.After(10 * time.Millisecond):
			}
		}
		// The approval is pending a moment after AwaitApproval is entered.
		x := waitFor(ctx, t, op, "prod", "good1", workflow.StateAwaitApproval)
		if err := op.WaitForState(ctx, x.ARN, workflow.StateAwaitApproval); err != nil {
			t.Fatal(err)
		}
		// approve --wait follows the deployment it approved to its end,
		// as deploy --wait does.
		approved := cli("approve", "--env", "prod", "--wait", "--output", "json", "web")
		approved.want(t, exitOK)
		approved.wantErr(t, "approved deployment")
		if got := decodeLines(t, approved.stdout); !got[len(got)-1].Deployed() || got[len(got)-1].Execution != x.ARN {
			t.Errorf("approve --wait's last line: %s %s %s, want %s Deployed", got[len(got)-1].Execution, got[len(got)-1].Status, got[len(got)-1].State, x.ARN)
		}
		var res result
		select {
		case res.code = <-done:
			res.stdout = out.String()
		case <-ctx.Done():
			t.Fatal("deploy --wait did not end")
		}
		res.want(t, exitOK)
		var approval *operator.Wait
		for _, s := range decodeLines(t, res.stdout) {
			if s.State == workflow.StateAwaitApproval && s.Wait != nil {
				approval = s.Wait
			}
		}
		// prod's approval timeout is 4h.
		if approval == nil || approval.Kind != "approval" || approval.Ends.Sub(approval.Started) != 4*time.Hour ||
			approval.LeftSeconds <= 0 || approval.LeftSeconds > 4*3600 {
			t.Errorf("approval wait: got %+v, want 4h from AwaitApproval with time left", approval)
		}
	})

	t.Run("rolling without a load balancer", func(t *testing.T) {
		res := cli("deploy", "--env", "staging", "--wait", "worker")
		res.want(t, exitOK, "deployed worker to staging", "  tasks    worker: ")
		inOrder(t, statesIn(res.stdout), workflow.StatePrepare, workflow.StateApply, workflow.StateAwaitStable, workflow.StateDeployed)
		if strings.Contains(res.stdout, "  traffic  ") {
			t.Errorf("a service without a load balancer printed traffic:\n%s", res.stdout)
		}
		list := decodeLines(t, cli("watch", "--env", "staging", "--output", "json", "worker").stdout)
		s := list[len(list)-1]
		if s.Strategy != "rolling" || len(s.Slots) != 1 || s.Slots[0].Name != "worker" || s.Slots[0].Weight != -1 || s.Slots[0].Running == 0 {
			t.Errorf("rolling snapshot: %s %+v, want one slot worker with tasks and no weight", s.Strategy, s.Slots)
		}
	})

	t.Run("live view on a terminal", func(t *testing.T) {
		ptm, tty, err := pty.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer ptm.Close()
		if err := pty.Setsize(ptm, &pty.Winsize{Rows: 40, Cols: 200}); err != nil {
			t.Fatal(err)
		}
		read := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(ptm) // ends with EIO once tty is closed
			read <- string(b)
		}()
		t.Setenv("NO_COLOR", "1")
		var errb bytes.Buffer
		code := run([]string{"deploy", "--env", "staging", "--wait", "--poll", "20ms", "worker"}, tty, &errb)
		tty.Close()
		var screen string
		select {
		case screen = <-read:
		case <-ctx.Done():
			t.Fatal("reading the terminal did not end")
		}
		screen = strings.ReplaceAll(screen, "\r\n", "\n")
		if code != exitOK {
			t.Fatalf("exit code %d, stderr %s\n%q", code, errb.String(), screen)
		}
		// Frames are redrawn in place (each clears the last), with no
		// plain lines, and NO_COLOR leaves only cursor movement.
		const clear = "\x1b[2K\x1b[1A\x1b[2K"
		frames := strings.Split(screen, clear)
		if len(frames) < 2 || strings.Contains(screen, "  state    ") || regexp.MustCompile(`\x1b\[[0-9;]*m`).MatchString(screen) {
			t.Fatalf("want frames redrawn in place without colour, got %d frames:\n%q", len(frames), screen)
		}
		last := frames[len(frames)-1]
		for _, want := range []string{"worker → staging (rolling)", "phase    Deployed: deployed", "worker   -", "deployed worker to staging"} {
			if !strings.Contains(last, want) {
				t.Errorf("last frame: want %q in\n%s", want, last)
			}
		}
	})

	t.Run("live state unreadable", func(t *testing.T) {
		// Every attempt of the SDK (3 with retries) at the alarms is
		// throttled: the deployment is still shown, and what is missing
		// is said.
		control := endpoint.Control{URL: r.URL}
		if _, err := control.Apply(ctx, faults.State{Throttles: []faults.Throttle{{Service: "monitoring", Operation: "DescribeAlarms", Count: 5}}}); err != nil {
			t.Fatal(err)
		}
		res := cli("watch", "--env", "staging", "--output", "json", "worker")
		if err := control.Clear(ctx); err != nil {
			t.Fatal(err)
		}
		res.want(t, exitOK)
		s := decodeLines(t, res.stdout)[0]
		if !s.Deployed() || len(s.Slots) != 1 || len(s.Alarms) != 0 || !strings.Contains(s.LiveError, "describe alarms") {
			t.Errorf("snapshot with alarms throttled: %s %s slots %d alarms %d liveError %q, want Deployed, the slot, no alarms and why",
				s.Status, s.State, len(s.Slots), len(s.Alarms), s.LiveError)
		}
	})

	t.Run("status and history as JSON", func(t *testing.T) {
		res := cli("status", "--env", "staging", "--output", "json", "web")
		res.want(t, exitOK)
		dec := json.NewDecoder(strings.NewReader(res.stdout))
		dec.DisallowUnknownFields()
		var list []operator.Execution
		if err := dec.Decode(&list); err != nil || len(list) < 2 || list[0].State != workflow.StateRolledBack {
			t.Fatalf("status --output json: %v %+v\n%s", err, list, res.stdout)
		}
		res = cli("history", "--env", "staging", "--output", "json", "--limit", "2", "web")
		res.want(t, exitOK, `"outcome": "rolled-back"`, `"outcome": "deployed"`)
	})

	t.Run("bad input", func(t *testing.T) {
		for name, tt := range map[string]struct {
			args   []string
			stderr []string
		}{
			"deploy unknown service":  {[]string{"deploy", "--env", "staging", "nosuch"}, []string{`unknown service "nosuch"`, "has agent, web, worker"}},
			"deploy unknown env":      {[]string{"deploy", "--env", "qa", "web"}, []string{`unknown environment "qa"`, "has prod, staging"}},
			"watch unknown env":       {[]string{"watch", "--env", "qa", "web"}, []string{`unknown environment "qa"`}},
			"watch unknown execution": {[]string{"watch", "web-staging-nosuch"}, []string{"unknown execution web-staging-nosuch", "newest executions of Slipway-deploy are ", "-staging-"}},
			"status unknown service":  {[]string{"status", "--env", "staging", "nosuch"}, []string{`unknown service "nosuch"`}},
			"history unknown service": {[]string{"history", "--env", "staging", "nosuch"}, []string{`unknown service "nosuch"`}},
		} {
			t.Run(name, func(t *testing.T) {
				res := cli(tt.args...)
				res.want(t, exitUsage)
				res.wantErr(t, tt.stderr...)
				if n := strings.Count(strings.TrimSpace(res.stderr), "\n"); n != 0 {
					t.Errorf("stderr has %d lines, want one:\n%s", n+1, res.stderr)
				}
			})
		}
	})
}

// TestWatchFrame renders the live view of a fixed snapshot without colour.
func TestWatchFrame(t *testing.T) {
	at := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	s := operator.Snapshot{
		At: at, Execution: "arn:aws:states:us-east-1:000000000000:execution:Slipway-deploy:web-staging-abc",
		Service: "web", Environment: "staging", Image: "000000000000.dkr.ecr.us-east-1.amazonaws.com/web@sha256:0123",
		Status: "RUNNING", State: workflow.StateBake, EnteredAt: at.Add(-time.Minute),
		Phase: "baking at 10% (step 1 of 3), watching 3 alarms", Strategy: "canary", Step: 1, Steps: 3, Weight: 10,
		Slots: []operator.Slot{
			{Name: "blue", Service: "web--blue", Primary: true, Weight: 90, Running: 2, Desired: 2, Healthy: 2, Targets: 2, Exists: true},
			{Name: "green", Service: "web--green", New: true, Weight: 10, Running: 1, Desired: 2, Pending: 1, Healthy: 1, Targets: 1, Exists: true},
		},
		Alarms: []operator.Alarm{{Name: "web-staging-5xx", State: "OK"}, {Name: "web-staging-p99-latency", State: "ALARM"}},
		Wait:   &operator.Wait{Kind: "bake", Started: at.Add(-time.Minute), Ends: at.Add(4 * time.Minute), LeftSeconds: 240},
	}
	var buf bytes.Buffer
	colourless := func(s operator.Snapshot) string {
		return renderFrame(s, lipgloss.NewRenderer(&buf, termenv.WithProfile(termenv.Ascii)))
	}
	got := colourless(s)
	want := `web → staging (canary)  web-staging-abc
phase    Bake: baking at 10% (step 1 of 3), watching 3 alarms
image    000000000000.dkr.ecr.us-east-1.amazonaws.com/web@sha256:0123
wait     bake: 4m0s left of 5m0s (until 05:04:00)
slot     weight                      running   desired pending healthy
blue     90%    ██████████████████░░ 2         2       0       2/2
green*   10%    ██░░░░░░░░░░░░░░░░░░ 1         2       1       1/1
alarm    OK                web-staging-5xx
alarm    ALARM             web-staging-p99-latency
`
	if got != want {
		t.Errorf("frame:\n%s\nwant:\n%s", got, want)
	}
	// Cut to a narrow terminal, no line wraps and none is lost.
	fit := fitFrame(colourless(s), 40)
	if n, m := strings.Count(fit, "\n"), strings.Count(want, "\n"); n != m {
		t.Errorf("fitted frame has %d lines, want %d:\n%s", n, m, fit)
	}
	for _, l := range strings.Split(fit, "\n") {
		if w := lipgloss.Width(l); w > 40 {
			t.Errorf("fitted line is %d cells wide, want at most 40: %q", w, l)
		}
	}
	// With colour, the same text is there, styled.
	var tty bytes.Buffer
	r := lipgloss.NewRenderer(&tty)
	r.SetColorProfile(termenv.ANSI)
	colour := renderFrame(s, r)
	if colour == got || !strings.Contains(colour, "\x1b[") {
		t.Errorf("the ANSI profile drew no colour:\n%q", colour)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestWatchFrameNoColor: on a terminal the frame is coloured unless
// NO_COLOR is set (https://no-color.org), as the live view's renderer
// reads the environment.
func TestWatchFrameNoColor(t *testing.T) {
	s := operator.Snapshot{Service: "web", Environment: "staging", Status: "SUCCEEDED", State: workflow.StateDeployed, Phase: "deployed",
		Alarms: []operator.Alarm{{Name: "web-staging-5xx", State: "OK"}}}
	t.Setenv("TERM", "xterm-256color")
	t.Setenv("CLICOLOR_FORCE", "")
	for _, noColor := range []string{"", "1"} {
		t.Setenv("NO_COLOR", noColor)
		var tty bytes.Buffer
		frame := renderFrame(s, lipgloss.NewRenderer(&tty, termenv.WithTTY(true)))
		if styled := strings.Contains(frame, "\x1b["); styled != (noColor == "") {
			t.Errorf("NO_COLOR=%q: styled %v, want %v:\n%q", noColor, styled, noColor == "", frame)
		}
	}
}

// TestWatchNative: a native deployment (kind ecs) shows ECS's service
// deployment (status, stage, the hook awaiting action) and the production
// rule's weight of each target group, named by target group as it has no
// slots, in the live frame and in the plain lines.
func TestWatchNative(t *testing.T) {
	at := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	s := operator.Snapshot{
		At: at, Execution: "arn:aws:states:us-east-1:000000000000:execution:Slipway-deploy:web-prod-abc",
		Service: "web", Environment: "prod", Status: "RUNNING", State: workflow.StateAwaitHookApproval, EnteredAt: at,
		Phase: "awaitinghookapproval", Strategy: "ecs",
		Native: &operator.NativeDeployment{ServiceDeployment: "arn:aws:ecs:us-east-1:000000000000:service-deployment/prod/web/abc",
			Status: "IN_PROGRESS", Stage: "POST_TEST_TRAFFIC_SHIFT", AwaitingHook: "ecs-pause-1",
			TargetGroups: []operator.TargetGroup{
				{TargetGroup: "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web-prod-blue/1", Name: "web-prod-blue", Weight: 90, Healthy: 2, Targets: 2},
				{TargetGroup: "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web-prod-green/2", Name: "web-prod-green", Weight: 10, Healthy: 2, Targets: 2},
			}},
	}
	var buf bytes.Buffer
	got := renderFrame(s, lipgloss.NewRenderer(&buf, termenv.WithProfile(termenv.Ascii)))
	want := `web → prod (ecs)  web-prod-abc
phase    AwaitHookApproval: awaitinghookapproval
ecs      IN_PROGRESS at POST_TEST_TRAFFIC_SHIFT, hook ecs-pause-1 awaits action
tg       90%    ██████████████████░░ 2/2 healthy  web-prod-blue
tg       10%    ██░░░░░░░░░░░░░░░░░░ 2/2 healthy  web-prod-green
`
	if got != want {
		t.Errorf("frame:\n%s\nwant:\n%s", got, want)
	}
	v := newView(&buf, outputFlag{})
	lines := strings.Join(v.changes(s), "\n")
	for _, l := range []string{"ecs      IN_PROGRESS at POST_TEST_TRAFFIC_SHIFT, hook ecs-pause-1 awaits action",
		"traffic  web-prod-blue 90% · web-prod-green 10%"} {
		if !strings.Contains(lines, l) {
			t.Errorf("plain lines lack %q:\n%s", l, lines)
		}
	}
}
