package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/infra/stack"
	"github.com/slipwayhq/slipway/internal/synth"
	"github.com/slipwayhq/slipway/internal/workflow"
)

var update = flag.Bool("update", false, "rewrite infra/testdata/deploy.asl.json from the synthesized template")

const goldenPath = "testdata/deploy.asl.json"

// goldenEnv places the resolved definition; the golden file and the local
// endpoint use the same placeholder account.
var goldenEnv = synth.Env{Region: "us-east-1", Account: "123456789012", StackName: "Slipway"}

const stepARN = "arn:aws:lambda:us-east-1:123456789012:function:Slipway-step"

// resolved synthesizes the stack with the settings cdk.json ships (default
// cluster) once, and resolves its state machine.
var resolved = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "slipway-asl-test-")
	if err != nil {
		return nil, err
	}
	if err := stack.PlaceholderAssets(filepath.Join(dir, "assets")); err != nil {
		return nil, err
	}
	s := stack.Defaults()
	s.Clusters = []string{"default"}
	s.AssetDir = filepath.Join(dir, "assets")
	raw, _, err := stack.Synthesize(s, filepath.Join(dir, "cdk.out"))
	if err != nil {
		return nil, err
	}
	st, err := synth.Resolve(raw, goldenEnv)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, st.StateMachines[0].Definition, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
})

type choiceRule struct {
	Variable           string       `json:"Variable"`
	BooleanEquals      *bool        `json:"BooleanEquals"`
	NumericGreaterThan *float64     `json:"NumericGreaterThan"`
	StringEquals       *string      `json:"StringEquals"`
	IsPresent          *bool        `json:"IsPresent"`
	And                []choiceRule `json:"And"`
	Or                 []choiceRule `json:"Or"`
	Next               string       `json:"Next"`
}

type catcher struct {
	ErrorEquals []string `json:"ErrorEquals"`
	ResultPath  string   `json:"ResultPath"`
	Next        string   `json:"Next"`
}

type retrier struct {
	ErrorEquals     []string `json:"ErrorEquals"`
	IntervalSeconds int      `json:"IntervalSeconds"`
	MaxAttempts     int      `json:"MaxAttempts"`
	BackoffRate     float64  `json:"BackoffRate"`
	MaxDelaySeconds int      `json:"MaxDelaySeconds"`
	JitterStrategy  string   `json:"JitterStrategy"`
}

type aslState struct {
	Type               string         `json:"Type"`
	Comment            string         `json:"Comment"`
	Next               string         `json:"Next"`
	End                bool           `json:"End"`
	Resource           string         `json:"Resource"`
	Parameters         map[string]any `json:"Parameters"`
	ResultPath         *string        `json:"ResultPath"`
	TimeoutSecondsPath string         `json:"TimeoutSecondsPath"`
	Retry              []retrier      `json:"Retry"`
	Catch              []catcher      `json:"Catch"`
	Choices            []choiceRule   `json:"Choices"`
	Default            string         `json:"Default"`
	Error              string         `json:"Error"`
	Cause              string         `json:"Cause"`
}

type definition struct {
	StartAt string              `json:"StartAt"`
	States  map[string]aslState `json:"States"`
}

func loadDefinition(t *testing.T) definition {
	t.Helper()
	b, err := resolved()
	if err != nil {
		t.Fatalf("synthesize and resolve: %v", err)
	}
	var d definition
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("decode definition: %v", err)
	}
	return d
}

func TestGoldenASL(t *testing.T) {
	got, err := resolved()
	if err != nil {
		t.Fatalf("synthesize and resolve: %v", err)
	}
	if *update {
		if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("read golden file (run go test ./infra -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s is stale; run go test ./infra -update and review the diff (-golden +synthesized):\n%s", goldenPath, diff)
	}
}

// stateNames are every workflow.State* constant.
func stateNames() []string {
	return []string{
		workflow.StatePrepare, workflow.StateAfterPrepare, workflow.StateAwaitLock, workflow.StateAwaitApproval,
		workflow.StateApply, workflow.StateAwaitStable, workflow.StateCheckStable, workflow.StateStableYet,
		workflow.StateMoreSteps, workflow.StateShiftTraffic, workflow.StateBake, workflow.StateCheckBake, workflow.StateBakeDoneYet,
		workflow.StatePromote, workflow.StatePromotedYet, workflow.StateCleanup, workflow.StateFinalize, workflow.StateDeployed,
		workflow.StateRollback, workflow.StateAwaitRollbackStable, workflow.StateCheckRollbackStable,
		workflow.StateRollbackStableYet, workflow.StateRecordFailure, workflow.StateFailureKind,
		workflow.StateRolledBack, workflow.StateRejected, workflow.StateSuperseded, workflow.StateFailed,
		workflow.StateRecordRollbackFailed, workflow.StateRollbackFailed,
		workflow.StateCheckHook, workflow.StateHookReady, workflow.StateAwaitHook, workflow.StateContinueDeployment,
		workflow.StateAwaitHookApproval, workflow.StateRollbackWoken,
	}
}

func TestStateNamesAreTheWorkflowConstants(t *testing.T) {
	d := loadDefinition(t)
	var got []string
	for name := range d.States {
		got = append(got, name)
	}
	want := stateNames()
	sort.Strings(got)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("states (-workflow constants +definition):\n%s", diff)
	}
	if d.StartAt != workflow.StatePrepare {
		t.Errorf("StartAt = %s, want %s", d.StartAt, workflow.StatePrepare)
	}
}

// TestErrorNamesMatchWorkflow checks both directions of the error contract:
// every name ErrorEquals uses (other than States.*) is a workflow error type
// or one of the Lambda service errors workflow.ServiceErrorNames lists, and
// every one of those is used.
func TestErrorNamesMatchWorkflow(t *testing.T) {
	d := loadDefinition(t)
	known := append(workflow.ErrorNames(), workflow.ServiceErrorNames()...)
	used := map[string]bool{}
	for name, s := range d.States {
		var lists [][]string
		for _, r := range s.Retry {
			lists = append(lists, r.ErrorEquals)
		}
		for _, c := range s.Catch {
			lists = append(lists, c.ErrorEquals)
		}
		for _, l := range lists {
			for _, e := range l {
				if strings.HasPrefix(e, "States.") {
					continue
				}
				used[e] = true
				if !slices.Contains(known, e) {
					t.Errorf("%s matches %q, which is no workflow error type (workflow.ErrorNames: %v)", name, e, known)
				}
			}
		}
	}
	for _, e := range known {
		if !used[e] {
			t.Errorf("workflow error %s is matched by no Retry or Catch", e)
		}
	}
}

func isWait(name string) bool {
	switch name {
	case workflow.StateAwaitLock, workflow.StateAwaitApproval, workflow.StateAwaitStable, workflow.StateBake, workflow.StateAwaitRollbackStable,
		workflow.StateAwaitHook, workflow.StateAwaitHookApproval:
		return true
	}
	return false
}

// TestTaskStates checks how every Task state calls functions/step: payload,
// result handling, retry and comment.
func TestTaskStates(t *testing.T) {
	d := loadDefinition(t)
	phases := map[string]workflow.Phase{
		workflow.StatePrepare: workflow.PhasePrepare, workflow.StateAwaitLock: workflow.PhaseWatch,
		workflow.StateAwaitApproval: workflow.PhaseApprove, workflow.StateApply: workflow.PhaseApply,
		workflow.StateAwaitStable: workflow.PhaseWatch, workflow.StateCheckStable: workflow.PhaseCheck,
		workflow.StateShiftTraffic: workflow.PhaseShift, workflow.StateBake: workflow.PhaseWatch,
		workflow.StateCheckBake: workflow.PhaseCheck, workflow.StatePromote: workflow.PhasePromote,
		workflow.StateCleanup: workflow.PhaseCleanup, workflow.StateFinalize: workflow.PhaseFinalize,
		workflow.StateRollback: workflow.PhaseRollback, workflow.StateAwaitRollbackStable: workflow.PhaseWatch,
		workflow.StateCheckRollbackStable: workflow.PhaseCheck, workflow.StateRecordFailure: workflow.PhaseRecord,
		workflow.StateRecordRollbackFailed: workflow.PhaseRecord,
		workflow.StateCheckHook:            workflow.PhaseCheck, workflow.StateAwaitHook: workflow.PhaseWatch,
		workflow.StateContinueDeployment: workflow.PhaseContinue, workflow.StateAwaitHookApproval: workflow.PhaseApprove,
	}
	attempts := map[string]int{workflow.StateApply: 25, workflow.StateRollback: 8, workflow.StateFinalize: 10,
		workflow.StateRecordFailure: 10, workflow.StateRecordRollbackFailed: 10}
	tasks := 0
	for name, s := range d.States {
		if s.Type == "Wait" {
			t.Errorf("%s is a Wait state; waits must be .waitForTaskToken tasks", name)
		}
		if s.Type != "Task" {
			continue
		}
		tasks++
		t.Run(name, func(t *testing.T) {
			phase, ok := phases[name]
			if !ok {
				t.Fatalf("unexpected Task state %s", name)
			}
			if len(s.Comment) < 20 {
				t.Errorf("Comment = %q, want one saying why the state exists", s.Comment)
			}
			payload := s.Parameters
			want := map[string]any{"phase": string(phase), "state.$": "$", "execution.$": "$$.Execution.Id"}
			if isWait(name) {
				if s.Resource != "arn:aws:states:::lambda:invoke.waitForTaskToken" || s.Parameters["FunctionName"] != stepARN {
					t.Errorf("Resource %s FunctionName %v, want the step function with .waitForTaskToken", s.Resource, s.Parameters["FunctionName"])
				}
				payload, _ = s.Parameters["Payload"].(map[string]any)
				want["taskToken.$"] = "$$.Task.Token"
				if s.ResultPath == nil || *s.ResultPath != "$.signal" || s.TimeoutSecondsPath != "$.wait.timeoutSeconds" {
					t.Errorf("ResultPath %v TimeoutSecondsPath %q, want $.signal and $.wait.timeoutSeconds", s.ResultPath, s.TimeoutSecondsPath)
				}
			} else {
				if s.Resource != stepARN {
					t.Errorf("Resource = %s, want %s (PayloadResponseOnly)", s.Resource, stepARN)
				}
				if s.ResultPath != nil && *s.ResultPath != "$" {
					t.Errorf("ResultPath = %s, want $ (the phase returns the whole state)", *s.ResultPath)
				}
			}
			if diff := cmp.Diff(want, payload); diff != "" {
				t.Errorf("payload (-want +got):\n%s", diff)
			}
			n := attempts[name]
			if n == 0 {
				n = 5
			}
			var transient []retrier
			for _, r := range s.Retry {
				if slices.Contains(r.ErrorEquals, "Transient") {
					transient = append(transient, r)
				}
			}
			wantRetry := []retrier{{ErrorEquals: []string{"Transient"}, IntervalSeconds: 2, MaxAttempts: n,
				BackoffRate: 2, MaxDelaySeconds: 60, JitterStrategy: "FULL"}}
			if diff := cmp.Diff(wantRetry, transient); diff != "" {
				t.Errorf("Transient retry (-want +got):\n%s", diff)
			}
			var service []retrier
			for _, r := range s.Retry {
				if !slices.Contains(r.ErrorEquals, "Transient") {
					service = append(service, r)
				}
			}
			// Issue 12 item 4: throttling and faults of the Lambda service
			// itself are retried on every Task state, with backoff and
			// jitter.
			wantService := []retrier{{ErrorEquals: []string{"Lambda.TooManyRequestsException", "Lambda.ServiceException",
				"Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.ClientExecutionTimeoutException", "Sandbox.Timedout",
				"Runtime.ExitError"},
				IntervalSeconds: 1, MaxAttempts: 6, BackoffRate: 2, MaxDelaySeconds: 60, JitterStrategy: "FULL"}}
			if diff := cmp.Diff(wantService, service); diff != "" {
				t.Errorf("retries other than Transient (-want +got):\n%s", diff)
			}
			for _, c := range s.Catch {
				if want := catchResultPath(name, c.ErrorEquals); c.ResultPath != want {
					t.Errorf("Catch %v stores at %s, want %s", c.ErrorEquals, c.ResultPath, want)
				}
			}
		})
	}
	if tasks != len(phases) {
		t.Errorf("got %d Task states, want %d", tasks, len(phases))
	}
}

// TestPayloadDecodesAsInvocation checks that the payload keys are the JSON
// names of workflow.Invocation, by building the payload Step Functions would
// send and decoding it strictly.
func TestPayloadDecodesAsInvocation(t *testing.T) {
	d := loadDefinition(t)
	state := workflow.State{Request: workflow.Request{Service: "web", Environment: "prod"}}
	for _, name := range []string{workflow.StateApply, workflow.StateBake} {
		s := d.States[name]
		params := s.Parameters
		if isWait(name) {
			params = s.Parameters["Payload"].(map[string]any)
		}
		payload := map[string]any{}
		for k, v := range params {
			switch v {
			case "$":
				payload[strings.TrimSuffix(k, ".$")] = state
			case "$$.Execution.Id":
				payload[strings.TrimSuffix(k, ".$")] = "arn:aws:states:us-east-1:123456789012:execution:Slipway-deploy:x"
			case "$$.Task.Token":
				payload[strings.TrimSuffix(k, ".$")] = "token"
			default:
				payload[k] = v
			}
		}
		b, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var inv workflow.Invocation
		if err := dec.Decode(&inv); err != nil {
			t.Errorf("%s: payload %s does not decode as workflow.Invocation: %v", name, b, err)
			continue
		}
		if !inv.Phase.Valid() || inv.State.Service != "web" || inv.Execution == "" || (isWait(name) && inv.TaskToken != "token") {
			t.Errorf("%s: decoded %+v, want a valid phase, the state, the execution and (for waits) the token", name, inv)
		}
	}
}

// outcomeOf returns the state a Task state leads to on success (err "") or
// on an error that exhausted its retries; "" means the execution fails.
func outcomeOf(s aslState, err string) string {
	if err == "" {
		return s.Next
	}
	for _, c := range s.Catch {
		for _, e := range c.ErrorEquals {
			if e == err || (e == "States.ALL" && err != "") || (e == "States.TaskFailed" && !strings.HasPrefix(err, "States.")) {
				return c.Next
			}
		}
	}
	return ""
}

func TestRouting(t *testing.T) {
	d := loadDefinition(t)
	const (
		ok      = ""
		timeout = "States.Timeout"
		lambda  = "Lambda.Unknown"
	)
	halts := []string{"AlarmFired", "DeploymentFailed", "StabilizationTimeout", "Halted", "Transient", lambda}
	type route struct {
		err  string
		want string
	}
	many := func(errs []string, want string) []route {
		var r []route
		for _, e := range errs {
			r = append(r, route{e, want})
		}
		return r
	}
	tests := map[string][]route{
		workflow.StatePrepare: append([]route{{ok, workflow.StateAfterPrepare}},
			many([]string{"InvalidInput", "Superseded", "Transient", lambda}, workflow.StateRecordFailure)...),
		workflow.StateAwaitLock: append([]route{{ok, workflow.StatePrepare}, {timeout, workflow.StatePrepare}},
			many([]string{"Superseded", "Transient", lambda}, workflow.StateRecordFailure)...),
		workflow.StateAwaitApproval: append([]route{{ok, workflow.StateApply}},
			many([]string{"ApprovalRejected", "Superseded", timeout, lambda}, workflow.StateRecordFailure)...),
		workflow.StateApply:        append([]route{{ok, workflow.StateAwaitStable}}, many(halts, workflow.StateRollback)...),
		workflow.StateAwaitStable:  append([]route{{ok, workflow.StateMoreSteps}, {timeout, workflow.StateCheckStable}}, many(halts, workflow.StateRollback)...),
		workflow.StateCheckStable:  append([]route{{ok, workflow.StateStableYet}}, many(halts, workflow.StateRollback)...),
		workflow.StateShiftTraffic: append([]route{{ok, workflow.StateBake}}, many(halts, workflow.StateRollback)...),
		workflow.StateBake:         append([]route{{ok, workflow.StateCheckBake}, {timeout, workflow.StateCheckBake}}, many(halts, workflow.StateRollback)...),
		workflow.StateCheckBake:    append([]route{{ok, workflow.StateBakeDoneYet}}, many(halts, workflow.StateRollback)...),
		workflow.StatePromote:      append([]route{{ok, workflow.StatePromotedYet}}, many(halts, workflow.StateRollback)...),
		workflow.StateCleanup:      append([]route{{ok, workflow.StateFinalize}}, many(halts, workflow.StateFinalize)...),
		// The deployment is live: a Finalize failure neither rolls back nor
		// fails the execution; it ends Deployed, what the service is.
		workflow.StateFinalize: append([]route{{ok, workflow.StateDeployed}}, many(halts, workflow.StateDeployed)...),
		workflow.StateRollback: append([]route{{ok, workflow.StateRollbackStableYet}}, many(halts, workflow.StateRecordRollbackFailed)...),
		workflow.StateAwaitRollbackStable: append([]route{{ok, workflow.StateRollbackWoken}, {timeout, workflow.StateCheckRollbackStable}},
			many(halts, workflow.StateRecordRollbackFailed)...),
		workflow.StateCheckRollbackStable: append([]route{{ok, workflow.StateRollbackStableYet}}, many(halts, workflow.StateRecordRollbackFailed)...),
		// Recording that exhausts its retries still ends in the terminal
		// state matching the service's fate (issue 12 item 4).
		workflow.StateRecordFailure:        {{ok, workflow.StateFailureKind}, {"Transient", workflow.StateFailureKind}, {lambda, workflow.StateFailureKind}},
		workflow.StateRecordRollbackFailed: {{ok, workflow.StateRollbackFailed}, {"Transient", workflow.StateRollbackFailed}, {lambda, workflow.StateRollbackFailed}},
	}
	for name, routes := range tests {
		t.Run(name, func(t *testing.T) {
			s, ok := d.States[name]
			if !ok {
				t.Fatalf("no state %s", name)
			}
			for _, r := range routes {
				if got := outcomeOf(s, r.err); got != r.want {
					t.Errorf("on %q: got %q, want %q", r.err, got, r.want)
				}
			}
		})
	}
}

// evalChoice returns the state a Choice state picks for doc.
func evalChoice(t *testing.T, s aslState, doc map[string]any) string {
	t.Helper()
	for _, c := range s.Choices {
		if evalRule(t, c, doc) {
			return c.Next
		}
	}
	return s.Default
}

// evalRule evaluates one choice rule; a comparison of a variable missing
// from doc fails the test, as it fails the execution (States.Runtime).
func evalRule(t *testing.T, c choiceRule, doc map[string]any) bool {
	t.Helper()
	switch {
	case c.And != nil:
		for _, r := range c.And {
			if !evalRule(t, r, doc) {
				return false
			}
		}
		return true
	case c.Or != nil:
		for _, r := range c.Or {
			if evalRule(t, r, doc) {
				return true
			}
		}
		return false
	}
	v, ok := lookup(doc, c.Variable)
	if c.IsPresent != nil {
		return ok == *c.IsPresent
	}
	if !ok {
		t.Fatalf("%s is not in the state document %v", c.Variable, doc)
	}
	switch {
	case c.BooleanEquals != nil:
		return v == *c.BooleanEquals
	case c.NumericGreaterThan != nil:
		n, ok := v.(float64)
		return ok && n > *c.NumericGreaterThan
	case c.StringEquals != nil:
		return v == *c.StringEquals
	}
	t.Fatalf("choice rule %+v uses an operator this test does not know", c)
	return false
}

func lookup(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for _, k := range strings.Split(strings.TrimPrefix(path, "$."), ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func stateDoc(t *testing.T, s workflow.State) map[string]any {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestChoices evaluates the Choice states on real workflow.State documents,
// so a path that does not match the Go field's JSON name fails here.
func TestChoices(t *testing.T) {
	d := loadDefinition(t)
	tests := map[string]struct {
		choice string
		state  workflow.State
		want   string
	}{
		"lock queued":          {workflow.StateAfterPrepare, workflow.State{Lock: workflow.Lock{Queued: true}, Approval: workflow.Approval{Required: true}}, workflow.StateAwaitLock},
		"approval":             {workflow.StateAfterPrepare, workflow.State{Approval: workflow.Approval{Required: true}}, workflow.StateAwaitApproval},
		"apply":                {workflow.StateAfterPrepare, workflow.State{}, workflow.StateApply},
		"stable":               {workflow.StateStableYet, workflow.State{Wait: workflow.Wait{Settled: true}}, workflow.StateMoreSteps},
		"not stable":           {workflow.StateStableYet, workflow.State{}, workflow.StateAwaitStable},
		"steps remain":         {workflow.StateMoreSteps, workflow.State{Progress: workflow.Progress{Remaining: 2}}, workflow.StateShiftTraffic},
		"no steps":             {workflow.StateMoreSteps, workflow.State{}, workflow.StatePromote},
		"promoted, registered": {workflow.StateMoreSteps, workflow.State{Progress: workflow.Progress{Weight: 100}}, workflow.StateCleanup},
		"promoted":             {workflow.StatePromotedYet, workflow.State{Wait: workflow.Wait{Settled: true}}, workflow.StateCleanup},
		"registering":          {workflow.StatePromotedYet, workflow.State{Wait: workflow.Wait{Kind: workflow.WaitStable}}, workflow.StateAwaitStable},
		"restored":             {workflow.StateRollbackStableYet, workflow.State{Wait: workflow.Wait{Settled: true}}, workflow.StateRecordFailure},
		"restoring":            {workflow.StateRollbackStableYet, workflow.State{}, workflow.StateAwaitRollbackStable},
		"woken":                {workflow.StateRollbackWoken, workflow.State{}, workflow.StateRecordFailure},
		"native woken":         {workflow.StateRollbackWoken, workflow.State{Native: &workflow.Native{}}, workflow.StateCheckRollbackStable},
		"superseded":           {workflow.StateFailureKind, workflow.State{Outcome: workflow.OutcomeSuperseded}, workflow.StateSuperseded},
		"rejected":             {workflow.StateFailureKind, workflow.State{Outcome: workflow.OutcomeRejected}, workflow.StateRejected},
		"rolled back":          {workflow.StateFailureKind, workflow.State{Outcome: workflow.OutcomeRolledBack}, workflow.StateRolledBack},
		"failed unchanged":     {workflow.StateFailureKind, workflow.State{Outcome: workflow.OutcomeFailed, Error: &workflow.Failure{Error: "Transient"}}, workflow.StateFailed},
		"outcome not set yet":  {workflow.StateFailureKind, workflow.State{}, workflow.StateRolledBack},
		// RecordFailure failed after its retries ($.bookkeepingError):
		// $.outcome is unset and the failure being recorded decides.
		"unrecorded supersession": {workflow.StateFailureKind, workflow.State{Error: &workflow.Failure{Error: "Superseded"},
			BookkeepingError: &workflow.Failure{Error: "Transient"}}, workflow.StateSuperseded},
		"unrecorded invalid input": {workflow.StateFailureKind, workflow.State{Error: &workflow.Failure{Error: "InvalidInput"},
			BookkeepingError: &workflow.Failure{Error: "Transient"}}, workflow.StateRejected},
		"unrecorded rejection": {workflow.StateFailureKind, workflow.State{Error: &workflow.Failure{Error: "ApprovalRejected"},
			BookkeepingError: &workflow.Failure{Error: "Transient"}}, workflow.StateRejected},
		"unrecorded approval timeout": {workflow.StateFailureKind, workflow.State{Error: &workflow.Failure{Error: "States.Timeout"},
			Wait: workflow.Wait{Kind: workflow.WaitApproval}, BookkeepingError: &workflow.Failure{Error: "Transient"}}, workflow.StateRejected},
		"unrecorded stabilisation timeout": {workflow.StateFailureKind, workflow.State{Error: &workflow.Failure{Error: "States.Timeout"},
			Wait: workflow.Wait{Kind: workflow.WaitStable}, BookkeepingError: &workflow.Failure{Error: "Transient"}}, workflow.StateRolledBack},
		"unrecorded alarm": {workflow.StateFailureKind, workflow.State{Error: &workflow.Failure{Error: "AlarmFired"},
			BookkeepingError: &workflow.Failure{Error: "Transient"}}, workflow.StateRolledBack},
		"bake not over": {workflow.StateBakeDoneYet, workflow.State{Wait: workflow.Wait{Kind: workflow.WaitBake},
			Progress: workflow.Progress{Remaining: 2}}, workflow.StateBake},
		"bake over, steps remain": {workflow.StateBakeDoneYet, workflow.State{Wait: workflow.Wait{Kind: workflow.WaitBake, Settled: true},
			Progress: workflow.Progress{Remaining: 2}}, workflow.StateShiftTraffic},
		"bake over, no steps": {workflow.StateBakeDoneYet, workflow.State{Wait: workflow.Wait{Kind: workflow.WaitBake, Settled: true}}, workflow.StatePromote},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := d.States[tc.choice]
			if s.Type != "Choice" {
				t.Fatalf("%s is a %s, want a Choice", tc.choice, s.Type)
			}
			if got := evalChoice(t, s, stateDoc(t, tc.state)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestTerminalStates(t *testing.T) {
	d := loadDefinition(t)
	tests := map[string]struct {
		typ, err string
	}{
		workflow.StateDeployed:       {"Succeed", ""},
		workflow.StateSuperseded:     {"Succeed", ""},
		workflow.StateRejected:       {"Fail", workflow.ErrDeploymentRejected},
		workflow.StateRolledBack:     {"Fail", workflow.ErrDeploymentRolledBack},
		workflow.StateFailed:         {"Fail", workflow.ErrDeploymentNotApplied},
		workflow.StateRollbackFailed: {"Fail", workflow.ErrRollbackFailed},
	}
	for name, tc := range tests {
		s := d.States[name]
		if s.Type != tc.typ || s.Error != tc.err {
			t.Errorf("%s: %s with error %q, want %s with %q", name, s.Type, s.Error, tc.typ, tc.err)
		}
		if s.Type == "Fail" && s.Cause == "" {
			t.Errorf("%s: no Cause", name)
		}
	}
	if c := d.States[workflow.StateRollbackFailed].Cause; !strings.Contains(c, "a person must check") || !strings.Contains(c, "lock is kept") {
		t.Errorf("RollbackFailed cause %q must say a person must check the service and that the lock is kept", c)
	}
}

// scenario drives a walk through the definition: what each wait receives
// and what the check phases find.
type scenario struct {
	steps int
	// bakeSeconds is the bake time; no event ends a bake: it wakes every
	// reconcile interval (reconcileSeconds) until it is over.
	bakeSeconds int
	// lostStableEvents is how many times AwaitStable times out (its ECS
	// event was lost) before the check finds the service stable.
	lostStableEvents int
}

// walk follows the happy path of sc through d and returns the states
// entered; len(path) is the number of state transitions Step Functions
// bills.
func walk(t *testing.T, d definition, sc scenario) []string {
	t.Helper()
	st := workflow.State{}
	lost := sc.lostStableEvents
	const reconcileSeconds = 120
	baked := 0
	var path []string
	name := d.StartAt
	for len(path) < 10000 {
		path = append(path, name)
		s := d.States[name]
		switch s.Type {
		case "Succeed", "Fail":
			return path
		case "Choice":
			name = evalChoice(t, s, stateDoc(t, st))
			continue
		}
		outcome := ""
		switch name {
		case workflow.StateApply:
			st.Progress.Remaining = sc.steps
		case workflow.StateAwaitStable:
			st.Wait = workflow.Wait{Kind: workflow.WaitStable, TimeoutSeconds: 120}
			if lost > 0 {
				lost--
				outcome = "States.Timeout"
			}
		case workflow.StateCheckStable:
			st.Wait.Settled = lost == 0
		case workflow.StateShiftTraffic:
			st.Progress.Remaining--
			st.Progress.Step++
			st.Wait = workflow.Wait{Kind: workflow.WaitBake, TimeoutSeconds: min(reconcileSeconds, sc.bakeSeconds)}
			baked = 0
		case workflow.StateBake:
			outcome = "States.Timeout"
			baked += st.Wait.TimeoutSeconds
		case workflow.StateCheckBake:
			st.Wait.Settled = baked >= sc.bakeSeconds
			st.Wait.TimeoutSeconds = min(reconcileSeconds, sc.bakeSeconds-baked)
		case workflow.StatePromote:
			// No Cloud Map registration to wait for.
			st.Wait = workflow.Wait{Settled: true}
		}
		name = outcomeOf(s, outcome)
		if name == "" {
			t.Fatalf("path %v ends without a terminal state", path)
		}
	}
	t.Fatalf("path does not end: %v", path)
	return nil
}

// TestHappyPathTransitions measures the definition's cost shape: the state
// transitions of a successful deployment. A bake up to the reconcile
// interval (120 s here) costs nothing extra; a longer one costs three
// transitions (Bake, CheckBake, BakeDoneYet) per further interval, the price
// of re-reading the alarms in case an alarm event was lost (issue 12 item
// 4). A 24-hour bake is 720 intervals: 2157 extra transitions per step,
// about $0.05 at $0.025 per 1000.
func TestHappyPathTransitions(t *testing.T) {
	d := loadDefinition(t)
	tests := map[string]struct {
		sc   scenario
		want int
		max  int
	}{
		// Each counts PromotedYet, the Choice after Promote that waits for
		// a promoted slot's Cloud Map registration when there is one.
		"rolling":                            {scenario{}, 10, 15},
		"rolling, one lost ECS event":        {scenario{lostStableEvents: 1}, 12, 15},
		"rolling, two lost ECS events":       {scenario{lostStableEvents: 2}, 15, 15},
		"canary 3 steps, 2 min bakes":        {scenario{steps: 3, bakeSeconds: 120}, 22, 30},
		"canary 3 steps, 5 min bakes":        {scenario{steps: 3, bakeSeconds: 300}, 22 + 3*2*3, 40},
		"canary 3 steps, 24 h bakes":         {scenario{steps: 3, bakeSeconds: 86400}, 22 + 3*719*3, 22 + 3*720*3},
		"canary 3 steps, one lost ECS event": {scenario{steps: 3, bakeSeconds: 600, lostStableEvents: 1}, 24 + 3*4*3, 60},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := walk(t, d, tc.sc)
			if got := len(path); got != tc.want || got > tc.max {
				t.Errorf("got %d transitions, want %d (at most %d): %v", got, tc.want, tc.max, path)
			}
			if last := path[len(path)-1]; last != workflow.StateDeployed {
				t.Errorf("ends in %s, want %s", last, workflow.StateDeployed)
			}
		})
	}
}

// catchResultPath is where a Catch of state must store its error: a wait's
// timeout (other than the approval's, which rejects) at $.timedOut so it
// never hides the failure being handled; a failure of the rollback itself at
// $.rollbackError, beside the one that caused the rollback; a failure of a
// bookkeeping state at $.bookkeepingError, beside the one being recorded;
// anything else at $.error.
func catchResultPath(state string, errs []string) string {
	switch {
	case slices.Equal(errs, []string{"States.Timeout"}) && state != workflow.StateAwaitApproval && state != workflow.StateAwaitHookApproval:
		return "$.timedOut"
	case state == workflow.StateRollback || state == workflow.StateAwaitRollbackStable || state == workflow.StateCheckRollbackStable:
		return "$.rollbackError"
	case state == workflow.StateFinalize || state == workflow.StateRecordFailure || state == workflow.StateRecordRollbackFailed:
		return "$.bookkeepingError"
	}
	return "$.error"
}
