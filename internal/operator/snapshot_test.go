package operator

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfnsdk "github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	sfnapi "github.com/slipwayhq/slipway/internal/awsapi/sfn"
	"github.com/slipwayhq/slipway/internal/workflow"
)

func TestTimedWait(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	canary := workflow.State{
		Plan:     workflow.Plan{Steps: []workflow.Step{{Weight: 10, BakeSeconds: 300}, {Weight: 100, BakeSeconds: 600}}},
		Progress: workflow.Progress{Step: 1, Weight: 10},
		Approval: workflow.Approval{Required: true, TimeoutSeconds: 3600},
	}
	tests := map[string]struct {
		events []entered
		doc    workflow.State
		now    time.Time
		want   *Wait
	}{
		"approval runs from its entry for the timeout": {
			events: []entered{{name: workflow.StatePrepare, at: at(0)}, {name: workflow.StateAwaitApproval, at: at(10)}},
			doc:    canary, now: at(610),
			want: &Wait{Kind: "approval", Started: at(10), Ends: at(3610), LeftSeconds: 3000},
		},
		// A bake longer than the reconcile interval loops through
		// CheckBake and BakeDoneYet: it started at the first Bake.
		"bake runs from the first Bake of the step": {
			events: []entered{{name: workflow.StateShiftTraffic, at: at(0)}, {name: workflow.StateBake, at: at(5)},
				{name: workflow.StateCheckBake, at: at(65)}, {name: workflow.StateBakeDoneYet, at: at(65)}, {name: workflow.StateBake, at: at(66)}},
			doc: canary, now: at(100),
			want: &Wait{Kind: "bake", Started: at(5), Ends: at(305), LeftSeconds: 205},
		},
		"time left never goes below zero": {
			events: []entered{{name: workflow.StateBake, at: at(5)}},
			doc:    canary, now: at(1000),
			want: &Wait{Kind: "bake", Started: at(5), Ends: at(305), LeftSeconds: 0},
		},
		"no wait while applying": {
			events: []entered{{name: workflow.StateApply, at: at(5)}},
			doc:    canary, now: at(10),
		},
		"no wait before any state": {doc: canary, now: at(10)},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := timedWait(tt.events, tt.doc, tt.now)
			switch {
			case got == nil && tt.want == nil:
			case got == nil || tt.want == nil || *got != *tt.want:
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPhaseOf(t *testing.T) {
	s := Snapshot{State: workflow.StateBake, Step: 1, Steps: 3, Weight: 10}
	doc := workflow.State{Wait: workflow.Wait{Alarms: []string{"a", "b"}}}
	if got, want := phaseOf(s, doc), "baking at 10% (step 1 of 3), watching 2 alarms"; got != want {
		t.Errorf("Bake: got %q, want %q", got, want)
	}
	for _, st := range []string{workflow.StatePrepare, workflow.StateAwaitApproval, workflow.StateRollback, workflow.StateRolledBack, workflow.StateDeployed} {
		if got := phaseOf(Snapshot{State: st}, doc); got == "" || got == st {
			t.Errorf("%s: got %q, want words", st, got)
		}
	}
}

// fakeExecutions is a deploy state machine whose one execution (web to
// staging) is listed from the appearAfter-th ListExecutions call on.
type fakeExecutions struct {
	calls, appearAfter int
}

const fakeARN = "arn:aws:states:us-east-1:000000000000:execution:Slipway-deploy:web-staging-1"

func (f *fakeExecutions) StartExecution(context.Context, *sfnsdk.StartExecutionInput, ...func(*sfnsdk.Options)) (*sfnsdk.StartExecutionOutput, error) {
	return nil, errors.New("not used")
}
func (f *fakeExecutions) DescribeExecution(_ context.Context, in *sfnsdk.DescribeExecutionInput, _ ...func(*sfnsdk.Options)) (*sfnsdk.DescribeExecutionOutput, error) {
	return &sfnsdk.DescribeExecutionOutput{ExecutionArn: in.ExecutionArn, Status: sfntypes.ExecutionStatusRunning,
		Input: aws.String(`{"service":"web","environment":"staging"}`), StartDate: aws.Time(time.Now())}, nil
}
func (f *fakeExecutions) ListExecutions(context.Context, *sfnsdk.ListExecutionsInput, ...func(*sfnsdk.Options)) (*sfnsdk.ListExecutionsOutput, error) {
	f.calls++
	out := &sfnsdk.ListExecutionsOutput{}
	if f.calls >= f.appearAfter {
		out.Executions = []sfntypes.ExecutionListItem{{ExecutionArn: aws.String(fakeARN), Name: aws.String("web-staging-1"),
			Status: sfntypes.ExecutionStatusRunning, StartDate: aws.Time(time.Now())}}
	}
	return out, nil
}
func (f *fakeExecutions) SendTaskSuccess(context.Context, *sfnsdk.SendTaskSuccessInput, ...func(*sfnsdk.Options)) (*sfnsdk.SendTaskSuccessOutput, error) {
	return nil, errors.New("not used")
}
func (f *fakeExecutions) SendTaskFailure(context.Context, *sfnsdk.SendTaskFailureInput, ...func(*sfnsdk.Options)) (*sfnsdk.SendTaskFailureOutput, error) {
	return nil, errors.New("not used")
}
func (f *fakeExecutions) SendTaskHeartbeat(context.Context, *sfnsdk.SendTaskHeartbeatInput, ...func(*sfnsdk.Options)) (*sfnsdk.SendTaskHeartbeatOutput, error) {
	return nil, errors.New("not used")
}
func (f *fakeExecutions) GetExecutionHistory(context.Context, *sfnsdk.GetExecutionHistoryInput, ...func(*sfnsdk.Options)) (*sfnsdk.GetExecutionHistoryOutput, error) {
	return &sfnsdk.GetExecutionHistoryOutput{}, nil
}

func TestNewestWaitsForADeployment(t *testing.T) {
	ctx := context.Background()
	newOp := func(f *fakeExecutions) *Operator {
		return &Operator{StateMachineARN: "arn:aws:states:us-east-1:000000000000:stateMachine:Slipway-deploy",
			sfn: sfnapi.New(f), history: f, pollPeriod: time.Millisecond}
	}
	// It starts on the third look: found while waiting.
	f := &fakeExecutions{appearAfter: 3}
	if arn, err := newOp(f).Newest(ctx, "web", "staging", time.Minute); err != nil || arn != fakeARN || f.calls != 3 {
		t.Errorf("waiting: got %q, %v after %d looks, want %s after 3", arn, err, f.calls, fakeARN)
	}
	// None, and no wait: unknown, a usage error for the CLI.
	if _, err := newOp(&fakeExecutions{appearAfter: 1 << 30}).Newest(ctx, "web", "staging", 0); !errors.Is(err, ErrUnknown) {
		t.Errorf("no wait: got %v, want ErrUnknown", err)
	}
	// None within the wait: a failure, not unknown.
	_, err := newOp(&fakeExecutions{appearAfter: 1 << 30}).Newest(ctx, "web", "staging", 20*time.Millisecond)
	if err == nil || errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "no deployment of web to staging started within 20ms") {
		t.Errorf("timed out: got %v", err)
	}
}

// pagedHistory serves events newest first (ReverseOrder) in pages of two,
// counting the events it returns.
type pagedHistory struct {
	events []sfntypes.HistoryEvent // oldest first
	served int
}

func (h *pagedHistory) GetExecutionHistory(_ context.Context, in *sfnsdk.GetExecutionHistoryInput, _ ...func(*sfnsdk.Options)) (*sfnsdk.GetExecutionHistoryOutput, error) {
	if !in.ReverseOrder {
		return nil, errors.New("want ReverseOrder")
	}
	list := slices.Clone(h.events)
	slices.Reverse(list)
	start := 0
	if in.NextToken != nil {
		start, _ = strconv.Atoi(*in.NextToken)
	}
	end := min(start+2, len(list))
	out := &sfnsdk.GetExecutionHistoryOutput{Events: list[start:end]}
	h.served += end - start
	if end < len(list) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (h *pagedHistory) enter(name string) {
	id := int64(len(h.events) + 1)
	h.events = append(h.events, sfntypes.HistoryEvent{Id: id, Type: sfntypes.HistoryEventTypeTaskStateEntered,
		Timestamp:                aws.Time(time.Unix(id, 0)),
		StateEnteredEventDetails: &sfntypes.StateEnteredEventDetails{Name: aws.String(name), Input: aws.String(`{"service":"` + name + `"}`)}})
}

// TestEnteredStatesReadsOnlyNewEvents: each look reads the events written
// since the last (history events never change), and still returns the
// whole path with the newest state's input.
func TestEnteredStatesReadsOnlyNewEvents(t *testing.T) {
	h := &pagedHistory{}
	o := &Operator{history: h}
	for _, n := range []string{"Prepare", "AfterPrepare", "Apply"} {
		h.enter(n)
	}
	look := func(wantServed int, want ...string) {
		t.Helper()
		h.served = 0
		got, newest, err := o.enteredStates(context.Background(), "arn")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range got {
			names = append(names, e.name)
		}
		last := got[len(got)-1]
		if !slices.Equal(names, want) || last.input != `{"service":"`+last.name+`"}` || got[0].input != "" ||
			!newest.Equal(time.Unix(int64(len(h.events)), 0)) {
			t.Errorf("got %v (newest input %q, %v), want %v with the newest's input", names, last.input, newest, want)
		}
		// The last page read may hold seen events too (up to a page).
		if h.served > wantServed+2 {
			t.Errorf("read %d events, want at most %d", h.served, wantServed+2)
		}
	}
	look(3, "Prepare", "AfterPrepare", "Apply")
	for _, n := range []string{"AwaitStable", "MoreSteps", "ShiftTraffic"} {
		h.enter(n)
	}
	look(3, "Prepare", "AfterPrepare", "Apply", "AwaitStable", "MoreSteps", "ShiftTraffic")
	look(0, "Prepare", "AfterPrepare", "Apply", "AwaitStable", "MoreSteps", "ShiftTraffic")
}
