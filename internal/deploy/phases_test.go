package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/trigger"
	"github.com/slipwayhq/slipway/internal/workflow"
)

func TestRunErrors(t *testing.T) {
	tests := map[string]struct {
		inv   workflow.Invocation
		fault error
		// want is the exact type Run must return (not wrapped).
		want error
	}{
		"unknown phase": {
			inv:  workflow.Invocation{Phase: "deploy"},
			want: &workflow.InvalidInput{},
		},
		"watch without a token": {
			inv:  workflow.Invocation{Phase: workflow.PhaseWatch, State: workflow.State{Wait: workflow.Wait{Kind: workflow.WaitStable}}},
			want: &workflow.InvalidInput{},
		},
		"transient error deep in a chain": {
			inv:   workflow.Invocation{Phase: workflow.PhasePrepare, State: workflow.State{Request: workflow.Request{Service: "web", Environment: "staging", Image: "v2"}}},
			fault: fmt.Errorf("describe: %w", &workflow.Transient{Op: "describe service", Err: errors.New("ThrottlingException")}),
			want:  &workflow.Transient{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.image("web", "v2")
			w.fail["DescribeService"] = tc.fault
			tc.inv.Execution = "arn:aws:states:us-east-1:111122223333:execution:deploy:x"
			_, err := w.engine().Run(context.Background(), tc.inv)
			if fmt.Sprintf("%T", err) != fmt.Sprintf("%T", tc.want) {
				t.Fatalf("got %T (%v), want %T unwrapped", err, err, tc.want)
			}
		})
	}
}

func TestOutcomeOf(t *testing.T) {
	tests := map[string]struct {
		st   workflow.State
		want workflow.Outcome
	}{
		"invalid input":    {st: workflow.State{Error: &workflow.Failure{Error: "InvalidInput"}}, want: workflow.OutcomeRejected},
		"rejected":         {st: workflow.State{Error: &workflow.Failure{Error: "ApprovalRejected"}}, want: workflow.OutcomeRejected},
		"approval expired": {st: workflow.State{Error: &workflow.Failure{Error: "States.Timeout"}, Wait: workflow.Wait{Kind: workflow.WaitApproval}}, want: workflow.OutcomeRejected},
		"other timeout":    {st: workflow.State{Error: &workflow.Failure{Error: "States.Timeout"}, Wait: workflow.Wait{Kind: workflow.WaitStable}}, want: workflow.OutcomeRolledBack},
		"superseded":       {st: workflow.State{Error: &workflow.Failure{Error: "Superseded"}}, want: workflow.OutcomeSuperseded},
		"alarm":            {st: workflow.State{Error: &workflow.Failure{Error: "AlarmFired"}}, want: workflow.OutcomeRolledBack},
		"lambda error":     {st: workflow.State{Error: &workflow.Failure{Error: "Lambda.ServiceException"}}, want: workflow.OutcomeRolledBack},
		"rollback failed":  {st: workflow.State{Error: &workflow.Failure{Error: "AlarmFired"}, RollbackError: &workflow.Failure{Error: "Error"}}, want: workflow.OutcomeRollbackFailed},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := outcomeOf(tc.st); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestRollbackIdempotent runs Rollback twice in the middle of a canary: the
// second run changes nothing and leaves the same state.
func TestRollbackIdempotent(t *testing.T) {
	for _, name := range []string{"rolling", "canary by weights", "canary by task count", "blue/green, linear, test listener"} {
		t.Run(name, func(t *testing.T) {
			sc := strategyCases()[name]
			w := newWorld(t)
			sc.before(w)
			before := w.view()
			w.image(sc.service, "v2")
			x := newExecution(w, "exec-1", request(sc, "v2"))
			x.runUntil(workflow.StateBake)
			x.st.Error = &workflow.Failure{Error: "Halted", Cause: "halted by tester"}

			first, err := x.call(workflow.PhaseRollback, "")
			if err != nil {
				t.Fatal(err)
			}
			afterFirst, changes := w.view(), w.changes()
			second, err := x.call(workflow.PhaseRollback, "")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(afterFirst, w.view()); diff != "" {
				t.Errorf("second rollback changed the live state (-first +second):\n%s", diff)
			}
			if n := w.changes() - changes; n != 0 {
				t.Errorf("second rollback made %d changes (%v), want 0", n, w.calls)
			}
			if diff := cmp.Diff(first.Wait, second.Wait); diff != "" {
				t.Errorf("second rollback waits for something else (-first +second):\n%s", diff)
			}
			if diff := cmp.Diff(before, afterFirst); diff != "" {
				t.Errorf("rollback did not restore the snapshot (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRollbackWeightsFirst: traffic leaves the new revision before any ECS
// service is touched.
func TestRollbackWeightsFirst(t *testing.T) {
	sc := strategyCases()["canary by weights"]
	w := newWorld(t)
	sc.before(w)
	w.image("web", "v2")
	x := newExecution(w, "exec-1", request(sc, "v2"))
	x.runUntil(workflow.StateBake)
	x.st.Error = &workflow.Failure{Error: "AlarmFired"}
	// With ECS refusing every change, only the weights can have moved.
	w.fail["SetTaskDefinition"] = errors.New("AccessDenied")
	if _, err := x.call(workflow.PhaseRollback, ""); err == nil {
		t.Fatal("got no error, want the ECS failure")
	}
	if diff := cmp.Diff(weights(100, 0), w.rules[ruleWeb]); diff != "" {
		t.Errorf("weights (-want +got):\n%s", diff)
	}
}

// TestWatchChecksOnce: the watch phase records the token, then completes or
// fails the wait at once when its outcome is already known.
func TestWatchChecksOnce(t *testing.T) {
	tests := map[string]struct {
		arrange     func(w *world, image string)
		wantErr     string // error name; "" for none
		wantSuccess bool   // the token was completed
	}{
		"still rolling out": {},
		"already complete":  {arrange: func(w *world, _ string) { w.advance(2 * time.Minute) }, wantSuccess: true},
		"already failed": {
			arrange: func(w *world, image string) { w.failing[image] = true; w.advance(2 * time.Minute) },
			wantErr: "DeploymentFailed",
		},
		"alarm already in ALARM": {arrange: func(w *world, _ string) { w.alarms["web-5xx"] = "ALARM" }, wantErr: "AlarmFired"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sc := strategyCases()["rolling"]
			w := newWorld(t)
			sc.before(w)
			image := w.image("web", "v2")
			x := newExecution(w, "exec-1", request(sc, "v2"))
			x.runUntil(workflow.StateApply)
			x.step()
			if tc.arrange != nil {
				tc.arrange(w, image)
			}
			_, err := x.call(workflow.PhaseWatch, "token-1")
			if got := errName(err); got != tc.wantErr {
				t.Fatalf("got error %q (%v), want %q", got, err, tc.wantErr)
			}
			if f, done := w.tokens["token-1"]; done != tc.wantSuccess || f != nil {
				t.Errorf("token: got done %t (%+v), want success %t", done, f, tc.wantSuccess)
			}
			watch, ok := w.watches[x.st.Deployment.ID]
			if !ok || watch.Token != "token-1" || watch.ECSDeployment != x.st.Wait.ECSDeployment || !slicesEqual(watch.Alarms, []string{"web-5xx", "staging-cpu"}) {
				t.Errorf("watch: got %+v (found %t), want token-1 on %s and the alarms", watch, ok, x.st.Wait.ECSDeployment)
			}
		})
	}
}

func errName(err error) string {
	if err == nil {
		return ""
	}
	return failureOf(err).Error
}

func slicesEqual(a, b []string) bool { return cmp.Equal(a, b) }

// TestCheckStable: after a timeout the check settles, waits again with a
// timeout that never passes the deadline, or gives up at the deadline.
func TestCheckStable(t *testing.T) {
	sc := strategyCases()["rolling"]
	w := newWorld(t)
	sc.before(w)
	image := w.image("web", "v2")
	w.hanging[image] = true
	x := newExecution(w, "exec-1", request(sc, "v2"))
	x.runUntil(workflow.StateApply)
	x.step()
	deadline := x.st.Wait.Deadline
	if got, want := deadline, w.now.Add(20*time.Minute); !got.Equal(want) {
		t.Fatalf("deadline: got %s, want %s", got, want)
	}
	w.now = deadline.Add(-90 * time.Second)
	st, err := x.call(workflow.PhaseCheck, "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Wait.Settled || st.Wait.TimeoutSeconds != 90 {
		t.Errorf("before the deadline: got %+v, want not settled, timeout 90", st.Wait)
	}
	w.now = deadline
	_, err = x.call(workflow.PhaseCheck, "")
	var to *workflow.StabilizationTimeout
	if !errors.As(err, &to) || !to.Deadline.Equal(deadline) || !strings.Contains(to.Detail, "IN_PROGRESS") {
		t.Errorf("at the deadline: got %v, want StabilizationTimeout saying where the rollout stands", err)
	}
}

// TestCheckAfterTimeout: a check reached by a wait's timeout clears
// $.timedOut and leaves $.error, the failure a rollback is handling, as it
// is; a bake's timeout is its normal end and leads to CheckBake.
func TestCheckAfterTimeout(t *testing.T) {
	tests := map[string]struct {
		arrange func(w *world, image string)
		check   string
		next    string
		error   string // at $.error before and after the check
	}{
		"bake":          {check: workflow.StateCheckBake, next: workflow.StateBakeDoneYet},
		"stable":        {arrange: func(w *world, image string) { w.hanging[image] = true }, check: workflow.StateCheckStable, next: workflow.StateStableYet},
		"rollback wait": {arrange: func(w *world, image string) { w.failing[image] = true }, check: workflow.StateCheckRollbackStable, next: workflow.StateRollbackStableYet, error: "DeploymentFailed"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sc := strategyCases()["rolling"]
			w := newWorld(t)
			sc.before(w)
			image := w.image("web", "v2")
			if tc.arrange != nil {
				tc.arrange(w, image)
			}
			x := newExecution(w, "exec-1", request(sc, "v2"))
			x.runUntil(tc.check)
			if x.state != tc.check || x.st.TimedOut == nil || x.st.TimedOut.Error != statesTimeout || failureName(x.st.Error) != tc.error {
				t.Fatalf("before the check: got state %s, timedOut %+v, error %+v; want %s after a timeout, error %q (path %v)",
					x.state, x.st.TimedOut, x.st.Error, tc.check, tc.error, x.path)
			}
			x.step()
			if x.state != tc.next || x.st.TimedOut != nil || failureName(x.st.Error) != tc.error {
				t.Errorf("after the check: got state %s, timedOut %+v, error %+v; want %s, no timeout, error %q",
					x.state, x.st.TimedOut, x.st.Error, tc.next, tc.error)
			}
		})
	}
}

func failureName(f *workflow.Failure) string {
	if f == nil {
		return ""
	}
	return f.Error
}

// TestApproval: a deployment to an environment that requires approval waits
// for a person; approved it deploys, rejected or expired it ends Rejected
// with nothing changed and the lock released.
func TestApproval(t *testing.T) {
	const approver = "arn:aws:sts::111122223333:assumed-role/Approver/alice"
	tests := map[string]struct {
		approver func(x *execution, token string)
		terminal string
		outcome  workflow.Outcome
		error    string
		// approvedBy and note are the approver and note history records
		// (issue 12 item 6).
		approvedBy, note string
	}{
		"approved": {
			approver: func(x *execution, token string) {
				if err := x.w.SendTaskSuccess(context.Background(), token, workflow.Signal{Source: "approval", By: approver, Note: "dashboards green"}); err != nil {
					x.w.t.Fatal(err)
				}
			},
			terminal: workflow.StateDeployed, outcome: workflow.OutcomeDeployed,
			approvedBy: approver, note: "dashboards green",
		},
		"rejected": {
			approver: func(x *execution, token string) {
				err := x.w.SendTaskFailure(context.Background(), token, &workflow.ApprovalRejected{By: "bob", Reason: "not today"})
				if err != nil {
					x.w.t.Fatal(err)
				}
			},
			terminal: workflow.StateRejected, outcome: workflow.OutcomeRejected, error: "ApprovalRejected",
		},
		"expired": {terminal: workflow.StateRejected, outcome: workflow.OutcomeRejected, error: "States.Timeout"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.cluster = "prod"
			w.addService("web--blue", "web-prod", w.image("web", "v1"), 2, false)
			w.rules["arn:aws:elasticloadbalancing:us-east-1:111122223333:listener-rule/app/prod/0123456789abcdef/0123456789abcdef/0000000000000003"] = []elbv2.TargetWeight{}
			before := w.view()
			image := w.image("web", "v2")
			x := newExecution(w, "exec-1", workflow.Request{Service: "web", Environment: "prod", Image: "v2"})
			x.approver = tc.approver
			x.runUntil(workflow.StateAwaitApproval)

			lock := w.locks["prod/web"].rec
			a, err := w.Approval(context.Background(), "prod", "web")
			if err != nil || a.Token != x.token || lock.Stage != store.StageAwaitingApproval || lock.Token != x.token {
				t.Fatalf("while waiting: approval %+v (%v), lock %+v; want both with token %s", a, err, lock, x.token)
			}
			if x.st.Wait.TimeoutSeconds != 3600 {
				t.Errorf("approval timeout: got %d, want 3600", x.st.Wait.TimeoutSeconds)
			}
			if n := len(w.events); n == 0 || w.events[n-1].Status != "awaiting-approval" {
				t.Errorf("got events %+v, want awaiting-approval last", w.events)
			}
			x.run()

			if x.state != tc.terminal {
				t.Fatalf("got %s, want %s (path %v)", x.state, tc.terminal, x.path)
			}
			h, err := w.historyOf(x.st.Deployment.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(outcome{Outcome: tc.outcome, Error: tc.error, Image: image}, outcome{Outcome: h.Outcome, Error: h.Error, Image: h.Image}); diff != "" {
				t.Errorf("history (-want +got):\n%s", diff)
			}
			if h.ApprovedBy != tc.approvedBy || h.ApprovalNote != tc.note {
				t.Errorf("history approver: got %q with note %q, want %q with note %q", h.ApprovedBy, h.ApprovalNote, tc.approvedBy, tc.note)
			}
			if tc.outcome != workflow.OutcomeDeployed {
				if diff := cmp.Diff(before, w.view()); diff != "" {
					t.Errorf("live state changed (-want +got):\n%s", diff)
				}
			}
			if len(w.locks) != 0 || len(w.approvals) != 0 {
				t.Errorf("got locks %+v, approvals %+v, want none", w.locks, w.approvals)
			}
		})
	}
}

// TestFinalizeStartsNextEnvironment: success in staging starts the same
// pinned image in prod, once, on the same state machine.
func TestFinalizeStartsNextEnvironment(t *testing.T) {
	sc := strategyCases()["canary by weights"]
	w := newWorld(t)
	sc.before(w)
	image := w.image("web", "v2")
	x := newExecution(w, "exec-1", request(sc, "v2"))
	x.run()
	if x.state != workflow.StateDeployed {
		t.Fatalf("got %s, want %s", x.state, workflow.StateDeployed)
	}
	// A retried Finalize must not start a second deployment.
	if _, err := x.call(workflow.PhaseFinalize, ""); err != nil {
		t.Fatal(err)
	}
	req := workflow.Request{Service: "web", Environment: "prod", Image: image, SpecVersion: "v1",
		Reason:  "promoted from staging (deployment " + x.st.Deployment.ID + ")",
		Trigger: workflow.Trigger{Kind: workflow.TriggerPromotion, Source: x.st.Deployment.ID, Actor: "slipway"},
		// The promoted request keeps its time: newer wins in prod too.
		RequestedAt: x.st.RequestedAt}
	if x.st.RequestedAt.IsZero() {
		t.Fatal("staging deployment: got no request time, want the execution's start")
	}
	want := []startedExecution{{
		machine: "arn:aws:states:us-east-1:111122223333:stateMachine:deploy",
		name:    trigger.ExecutionName(req),
		input:   req,
	}}
	if diff := cmp.Diff(want, w.executions, cmp.AllowUnexported(startedExecution{})); diff != "" {
		t.Errorf("started executions (-want +got):\n%s", diff)
	}
}

// TestCleanup: the old revisions beyond KeepRevisions are deregistered,
// never one a service runs; a cleanup failure is a warning on a deployment
// that succeeded.
func TestCleanup(t *testing.T) {
	tests := map[string]struct {
		fail      error
		wantError string
	}{
		"prunes":         {},
		"fails, warning": {fail: errors.New("AccessDenied"), wantError: "Error"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sc := strategyCases()["canary by weights"]
			w := newWorld(t)
			for i := range 4 {
				w.register("web-staging", w.image("web", fmt.Sprintf("v0.%d", i)))
			}
			sc.before(w)
			image := w.image("web", "v2")
			w.fail["DeregisterTaskDefinition"] = tc.fail
			x := newExecution(w, "exec-1", request(sc, "v2"))
			x.run()
			if x.state != workflow.StateDeployed {
				t.Fatalf("got %s, want %s (path %v)", x.state, workflow.StateDeployed, x.path)
			}
			h, err := w.historyOf(x.st.Deployment.ID)
			if err != nil {
				t.Fatal(err)
			}
			if h.Outcome != workflow.OutcomeDeployed || h.Error != tc.wantError {
				t.Errorf("history: got %s %q, want deployed %q", h.Outcome, h.Error, tc.wantError)
			}
			if tc.fail != nil {
				return
			}
			var images []string
			for _, arn := range w.revisions["web-staging"] {
				images = append(images, w.tdImage[arn])
			}
			// v0 and v1 are the slots' (in use), v2 is new; the four older are gone.
			wantImages := []string{w.image("web", "v1"), w.image("web", "v0"), image}
			if diff := cmp.Diff(wantImages, images); diff != "" {
				t.Errorf("revisions kept (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFirstDeployment: with no service yet, rolling creates it and canary
// creates the blue slot and moves all traffic at once; a failed first
// deployment removes what it created.
func TestFirstDeployment(t *testing.T) {
	tests := map[string]struct {
		service, strategy string
		failing           bool
		terminal          string
		want              func(w *world, image string) view
	}{
		"rolling": {
			service: "web", strategy: `{"kind": "rolling"}`, terminal: workflow.StateDeployed,
			want: func(w *world, image string) view {
				return view{Services: map[string]serviceView{"web": {Image: image, Desired: 2, Scaling: scaling(2, 10)}},
					Rules: map[string][]elbv2.TargetWeight{ruleWeb: weights(0, 100)}}
			},
		},
		"canary": {
			service: "web", terminal: workflow.StateDeployed,
			want: func(w *world, image string) view {
				return view{Services: map[string]serviceView{"web--blue": {Image: image, Desired: 2, Scaling: scaling(2, 10)}},
					Rules: map[string][]elbv2.TargetWeight{ruleWeb: weights(100, 0)}}
			},
		},
		"rolling, tasks failing": {
			service: "web", strategy: `{"kind": "rolling"}`, failing: true, terminal: workflow.StateRolledBack,
			want: func(w *world, image string) view {
				return view{Services: map[string]serviceView{}, Rules: map[string][]elbv2.TargetWeight{ruleWeb: weights(0, 100)}}
			},
		},
		"canary, tasks failing": {
			service: "web", failing: true, terminal: workflow.StateRolledBack,
			want: func(w *world, image string) view {
				return view{Services: map[string]serviceView{}, Rules: map[string][]elbv2.TargetWeight{ruleWeb: weights(0, 100)}}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.rules[ruleWeb] = weights(0, 100)
			image := w.image(tc.service, "v1")
			w.failing[image] = tc.failing
			x := newExecution(w, "exec-1", request(strategyCase{service: tc.service, strategy: tc.strategy}, "v1"))
			x.run()
			if x.state != tc.terminal {
				t.Fatalf("got %s, want %s (path %v, error %+v)", x.state, tc.terminal, x.path, x.st.Error)
			}
			if !x.st.Plan.Create {
				t.Errorf("plan.create: got false, want true")
			}
			if diff := cmp.Diff(tc.want(w, image), w.view()); diff != "" {
				t.Errorf("live state (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDefaultAlarms: the stack's default alarms are watched in every
// deployment, on top of the strategy's and the environment's.
func TestDefaultAlarms(t *testing.T) {
	sc := strategyCases()["rolling"]
	w := newWorld(t)
	sc.before(w)
	w.image("web", "v2")
	w.alarms["stack-cpu"] = "OK"
	x := newExecution(w, "exec-1", request(sc, "v2"))
	x.e.Settings.DefaultAlarms = []string{"stack-cpu", "web-5xx"}
	var watched []string
	x.onWait = func(x *execution) {
		if x.state == workflow.StateBake {
			watched = x.st.Wait.Alarms
			w.alarms["stack-cpu"] = "ALARM"
		}
	}
	x.run()
	if x.state != workflow.StateRolledBack || x.st.Error.Error != "AlarmFired" || !strings.Contains(x.st.Error.Cause, "stack-cpu") {
		t.Fatalf("got %s with %+v, want %s by alarm stack-cpu", x.state, x.st.Error, workflow.StateRolledBack)
	}
	if diff := cmp.Diff([]string{"web-5xx", "staging-cpu", "stack-cpu"}, watched); diff != "" {
		t.Errorf("alarms watched in the bake (-want +got):\n%s", diff)
	}
}
