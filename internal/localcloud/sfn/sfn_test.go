package sfn_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
	localsfn "github.com/slipwayhq/slipway/internal/localcloud/sfn"
)

const role = "arn:aws:iam::000000000000:role/sfn"

// newClient serves svc behind the core router and returns a real SDK client
// talking to it over HTTP.
func newClient(t *testing.T, svc *localsfn.Service) *sfn.Client {
	t.Helper()
	srv := localcloud.NewServer(localcloud.Options{})
	srv.RegisterJSON("states", localsfn.TargetPrefix, "1.0", svc)
	return sfn.NewFromConfig(prototest.ConfigWithCredentials(prototest.Serve(t, srv), aws.AnonymousCredentials{}))
}

// lambdaFake answers "ok" with {"echo": payload} and fails "boom" with a
// function error named DeploymentFailed.
func lambdaFake(_ context.Context, fn string, payload []byte) ([]byte, bool, error) {
	switch {
	case strings.HasSuffix(fn, "boom"):
		return []byte(`{"errorType":"DeploymentFailed","errorMessage":"tasks did not start"}`), true, nil
	case strings.HasSuffix(fn, "ok"):
		return append(append([]byte(`{"echo":`), payload...), '}'), false, nil
	}
	return nil, false, errors.New("function not found")
}

const waitDef = `{"StartAt":"Hold","States":{"Hold":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
 "Parameters":{"FunctionName":"ok","Payload":{"token.$":"$$.Task.Token"}},"End":true}}}`

const lambdaDef = `{"StartAt":"Call","States":{
 "Call":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:000000000000:function:boom",
   "Catch":[{"ErrorEquals":["DeploymentFailed"],"ResultPath":"$.error","Next":"Recover"}],"End":true},
 "Recover":{"Type":"Pass","Next":"Done"},
 "Done":{"Type":"Succeed"}}}`

func create(t *testing.T, c *sfn.Client, name, def string) string {
	t.Helper()
	out, err := c.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
		Name: aws.String(name), Definition: aws.String(def), RoleArn: aws.String(role)})
	if err != nil {
		t.Fatalf("CreateStateMachine %s: %v", name, err)
	}
	return aws.ToString(out.StateMachineArn)
}

func wait(t *testing.T, c *sfn.Client, arn string) *sfn.DescribeExecutionOutput {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("DescribeExecution: %v", err)
		}
		if d.Status != types.ExecutionStatusRunning || time.Now().After(deadline) {
			return d
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStateMachineLifecycle(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, localsfn.New(localsfn.Config{Clock: clock.NewVirtual(time.Unix(1e9, 0))}))
	arn := create(t, c, "deploy", lambdaDef)
	if want := "arn:aws:states:us-east-1:000000000000:stateMachine:deploy"; arn != want {
		t.Errorf("got ARN %s, want %s", arn, want)
	}
	// Creating the same machine again is idempotent.
	if again := create(t, c, "deploy", lambdaDef); again != arn {
		t.Errorf("got ARN %s on re-create, want %s", again, arn)
	}
	_, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("deploy"), Definition: aws.String(waitDef), RoleArn: aws.String(role)})
	var exists *types.StateMachineAlreadyExists
	if !errors.As(err, &exists) {
		t.Errorf("got %v creating a different machine under a used name, want StateMachineAlreadyExists", err)
	}
	if _, err := c.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn), Definition: aws.String(waitDef)}); err != nil {
		t.Fatalf("UpdateStateMachine: %v", err)
	}
	d, err := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("DescribeStateMachine: %v", err)
	}
	if got := aws.ToString(d.Definition); got != waitDef {
		t.Errorf("got definition %s, want the updated one", got)
	}
	if d.Status != types.StateMachineStatusActive || d.Type != types.StateMachineTypeStandard {
		t.Errorf("got status %s type %s, want ACTIVE STANDARD", d.Status, d.Type)
	}
	create(t, c, "another", lambdaDef)
	l, err := c.ListStateMachines(ctx, &sfn.ListStateMachinesInput{MaxResults: 1})
	if err != nil {
		t.Fatalf("ListStateMachines: %v", err)
	}
	if len(l.StateMachines) != 1 || l.NextToken == nil {
		t.Fatalf("got %d machines and token %v, want one page of 1 with a token", len(l.StateMachines), l.NextToken)
	}
	l2, err := c.ListStateMachines(ctx, &sfn.ListStateMachinesInput{NextToken: l.NextToken})
	if err != nil {
		t.Fatalf("ListStateMachines page 2: %v", err)
	}
	names := []string{aws.ToString(l.StateMachines[0].Name), aws.ToString(l2.StateMachines[0].Name)}
	if diff := cmp.Diff([]string{"another", "deploy"}, names); diff != "" || l2.NextToken != nil {
		t.Errorf("pages (-want +got):\n%s token %v", diff, l2.NextToken)
	}
	if _, err := c.DeleteStateMachine(ctx, &sfn.DeleteStateMachineInput{StateMachineArn: aws.String(arn)}); err != nil {
		t.Fatalf("DeleteStateMachine: %v", err)
	}
	_, err = c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	var missing *types.StateMachineDoesNotExist
	if !errors.As(err, &missing) {
		t.Errorf("got %v after delete, want StateMachineDoesNotExist", err)
	}
}

func TestCreateStateMachineRejects(t *testing.T) {
	c := newClient(t, localsfn.New(localsfn.Config{}))
	tests := map[string]struct {
		name, def string
		check     func(error) bool
	}{
		"invalid definition": {"m", `{"StartAt":"Nowhere","States":{"A":{"Type":"Pass","End":true}}}`,
			func(err error) bool { var e *types.InvalidDefinition; return errors.As(err, &e) }},
		"not JSON": {"m", `{`, func(err error) bool { var e *types.InvalidDefinition; return errors.As(err, &e) }},
		"bad name": {"has space", lambdaDef, func(err error) bool { var e *types.InvalidName; return errors.As(err, &e) }},
		"name too long": {strings.Repeat("x", 81), lambdaDef,
			func(err error) bool { var e *types.InvalidName; return errors.As(err, &e) }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := c.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
				Name: aws.String(tc.name), Definition: aws.String(tc.def), RoleArn: aws.String(role)})
			if !tc.check(err) {
				t.Errorf("got %v, want the error of this case", err)
			}
		})
	}
}

func TestInvalidDefinitionNamesProblems(t *testing.T) {
	c := newClient(t, localsfn.New(localsfn.Config{}))
	_, err := c.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{Name: aws.String("m"),
		Definition: aws.String(`{"StartAt":"Nowhere","States":{"A":{"Type":"Pass","End":true}}}`), RoleArn: aws.String(role)})
	var e *types.InvalidDefinition
	if !errors.As(err, &e) || !strings.Contains(aws.ToString(e.Message), "Nowhere") {
		t.Errorf("got %v, want InvalidDefinition naming the missing state Nowhere", err)
	}
}

func TestStartExecutionNameRules(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, localsfn.New(localsfn.Config{Clock: clock.NewVirtual(time.Unix(1e9, 0)), Lambda: lambdaFake}))
	hold := create(t, c, "hold", waitDef)
	start := func(name, input string) (*sfn.StartExecutionOutput, error) {
		return c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(hold), Name: aws.String(name), Input: aws.String(input)})
	}
	first, err := start("run-1", `{"a":1}`)
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	if want := "arn:aws:states:us-east-1:000000000000:execution:hold:run-1"; aws.ToString(first.ExecutionArn) != want {
		t.Errorf("got execution ARN %s, want %s", aws.ToString(first.ExecutionArn), want)
	}
	same, err := start("run-1", `{"a":1}`)
	if err != nil {
		t.Fatalf("StartExecution with the same name and input while running: %v", err)
	}
	if !same.StartDate.Equal(aws.ToTime(first.StartDate)) || aws.ToString(same.ExecutionArn) != aws.ToString(first.ExecutionArn) {
		t.Errorf("got %v, want the running execution back", same)
	}
	var exists *types.ExecutionAlreadyExists
	if _, err := start("run-1", `{"a":2}`); !errors.As(err, &exists) {
		t.Errorf("got %v for a different input, want ExecutionAlreadyExists", err)
	}
	if _, err := c.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: first.ExecutionArn, Error: aws.String("Halted"), Cause: aws.String("by test")}); err != nil {
		t.Fatalf("StopExecution: %v", err)
	}
	if _, err := start("run-1", `{"a":1}`); !errors.As(err, &exists) {
		t.Errorf("got %v for a closed execution's name, want ExecutionAlreadyExists", err)
	}
	d := wait(t, c, aws.ToString(first.ExecutionArn))
	if d.Status != types.ExecutionStatusAborted || aws.ToString(d.Error) != "Halted" {
		t.Errorf("got status %s error %s, want ABORTED Halted", d.Status, aws.ToString(d.Error))
	}
	var badName *types.InvalidName
	if _, err := start("a/b", `{}`); !errors.As(err, &badName) {
		t.Errorf("got %v for name a/b, want InvalidName", err)
	}
	var badInput *types.InvalidExecutionInput
	if _, err := start("run-2", `{`); !errors.As(err, &badInput) {
		t.Errorf("got %v for input {, want InvalidExecutionInput", err)
	}
	gen, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(hold)})
	if err != nil {
		t.Fatalf("StartExecution without a name: %v", err)
	}
	if !strings.HasPrefix(aws.ToString(gen.ExecutionArn), "arn:aws:states:us-east-1:000000000000:execution:hold:") {
		t.Errorf("got generated ARN %s", aws.ToString(gen.ExecutionArn))
	}
	var noMachine *types.StateMachineDoesNotExist
	if _, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(hold + "x")}); !errors.As(err, &noMachine) {
		t.Errorf("got %v for an unknown machine, want StateMachineDoesNotExist", err)
	}
	var badARN *types.InvalidArn
	if _, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String("nope")}); !errors.As(err, &badARN) {
		t.Errorf("got %v for ARN nope, want InvalidArn", err)
	}
}

func TestLambdaErrorCaughtAndHistory(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, localsfn.New(localsfn.Config{Clock: clock.NewVirtual(time.Unix(1e9, 0)), Lambda: lambdaFake}))
	arn := create(t, c, "catch", lambdaDef)
	x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String("one")})
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	d := wait(t, c, aws.ToString(x.ExecutionArn))
	if d.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("got status %s (%s: %s), want SUCCEEDED", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	var out struct {
		Error struct{ Error, Cause string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
		t.Fatalf("output %s: %v", aws.ToString(d.Output), err)
	}
	if out.Error.Error != "DeploymentFailed" || !strings.Contains(out.Error.Cause, "tasks did not start") {
		t.Errorf("got caught error %+v, want DeploymentFailed with the error document as cause", out.Error)
	}

	var entered []string
	var ids []int64
	p := sfn.NewGetExecutionHistoryPaginator(c, &sfn.GetExecutionHistoryInput{ExecutionArn: x.ExecutionArn, MaxResults: 3})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("GetExecutionHistory: %v", err)
		}
		for _, e := range page.Events {
			ids = append(ids, e.Id)
			if e.StateEnteredEventDetails != nil {
				entered = append(entered, aws.ToString(e.StateEnteredEventDetails.Name))
			}
			if e.Timestamp == nil || e.Timestamp.Year() != 2001 {
				t.Errorf("event %d: got timestamp %v, want the virtual clock's 2001", e.Id, e.Timestamp)
			}
		}
	}
	if diff := cmp.Diff([]string{"Call", "Recover", "Done"}, entered); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	for i, id := range ids {
		if id != int64(i+1) {
			t.Fatalf("got event ids %v, want 1..n", ids)
		}
	}
	rev, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: x.ExecutionArn, ReverseOrder: true, MaxResults: 1})
	if err != nil {
		t.Fatalf("GetExecutionHistory reversed: %v", err)
	}
	if len(rev.Events) != 1 || rev.Events[0].Type != types.HistoryEventTypeExecutionSucceeded {
		t.Errorf("got %v, want the ExecutionSucceeded event first in reverse order", rev.Events)
	}
	var failed *types.LambdaFunctionFailedEventDetails
	full, _ := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: x.ExecutionArn})
	for _, e := range full.Events {
		if e.LambdaFunctionFailedEventDetails != nil {
			failed = e.LambdaFunctionFailedEventDetails
		}
	}
	if failed == nil || aws.ToString(failed.Error) != "DeploymentFailed" {
		t.Errorf("got LambdaFunctionFailed details %v, want error DeploymentFailed", failed)
	}
}

func TestTaskTokens(t *testing.T) {
	ctx := context.Background()
	svc := localsfn.New(localsfn.Config{Lambda: func(_ context.Context, _ string, payload []byte) ([]byte, bool, error) {
		return []byte(`null`), false, nil
	}})
	c := newClient(t, svc)
	arn := create(t, c, "hold", waitDef)
	x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	token := ""
	for deadline := time.Now().Add(5 * time.Second); token == "" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		h, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: x.ExecutionArn})
		if err != nil {
			t.Fatalf("GetExecutionHistory: %v", err)
		}
		for _, e := range h.Events {
			if e.TaskScheduledEventDetails != nil {
				var p struct {
					Payload struct{ Token string } `json:"Payload"`
				}
				if err := json.Unmarshal([]byte(aws.ToString(e.TaskScheduledEventDetails.Parameters)), &p); err != nil {
					t.Fatalf("parameters: %v", err)
				}
				token = p.Payload.Token
			}
		}
	}
	if token == "" {
		t.Fatal("no task token scheduled")
	}
	var invalid *types.InvalidToken
	if _, err := c.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String("not-a-token")}); !errors.As(err, &invalid) {
		t.Errorf("got %v for a malformed token, want InvalidToken", err)
	}
	if _, err := c.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String(token)}); err != nil {
		t.Errorf("SendTaskHeartbeat: %v", err)
	}
	if _, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(`{"approved":true}`)}); err != nil {
		t.Fatalf("SendTaskSuccess: %v", err)
	}
	var closed *types.TaskTimedOut
	if _, err := c.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token), Error: aws.String("X")}); !errors.As(err, &closed) {
		t.Errorf("got %v completing a closed token, want TaskTimedOut", err)
	}
	d := wait(t, c, aws.ToString(x.ExecutionArn))
	if d.Status != types.ExecutionStatusSucceeded || aws.ToString(d.Output) != `{"approved":true}` {
		t.Errorf("got %s %s, want SUCCEEDED {\"approved\":true}", d.Status, aws.ToString(d.Output))
	}
	l, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn), StatusFilter: types.ExecutionStatusSucceeded})
	if err != nil {
		t.Fatalf("ListExecutions: %v", err)
	}
	if len(l.Executions) != 1 || aws.ToString(l.Executions[0].ExecutionArn) != aws.ToString(x.ExecutionArn) {
		t.Errorf("got %v, want the one succeeded execution", l.Executions)
	}
	l, err = c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn), StatusFilter: types.ExecutionStatusRunning})
	if err != nil || len(l.Executions) != 0 {
		t.Errorf("got %v, %v for RUNNING, want none", l, err)
	}
}

func TestSnapshotRestore(t *testing.T) {
	ctx := context.Background()
	svc := localsfn.New(localsfn.Config{Lambda: lambdaFake})
	c := newClient(t, svc)
	arn := create(t, c, "catch", lambdaDef)
	x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String("one")})
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	wait(t, c, aws.ToString(x.ExecutionArn))
	snap, err := svc.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	restored := localsfn.New(localsfn.Config{})
	if err := restored.Restore(snap); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	c2 := newClient(t, restored)
	d, err := c2.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: x.ExecutionArn})
	if err != nil {
		t.Fatalf("DescribeExecution after restore: %v", err)
	}
	if d.Status != types.ExecutionStatusSucceeded {
		t.Errorf("got %s after restore, want SUCCEEDED", d.Status)
	}
	h, err := c2.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: x.ExecutionArn})
	if err != nil || len(h.Events) == 0 {
		t.Errorf("got %v, %v history after restore, want the events", h, err)
	}
	var exists *types.ExecutionAlreadyExists
	if _, err := c2.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String("one")}); !errors.As(err, &exists) {
		t.Errorf("got %v reusing a restored execution's name, want ExecutionAlreadyExists", err)
	}
}

// TestSnapshotAbortsRunning saves a running execution as aborted: it cannot
// run on after a restart, and waiters must see it ended.
func TestSnapshotAbortsRunning(t *testing.T) {
	ctx := context.Background()
	svc := localsfn.New(localsfn.Config{Lambda: lambdaFake})
	c := newClient(t, svc)
	arn := create(t, c, "hold", waitDef)
	x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String("held")})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := svc.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored := localsfn.New(localsfn.Config{})
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	c2 := newClient(t, restored)
	d, err := c2.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: x.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != types.ExecutionStatusAborted || d.StopDate == nil {
		t.Errorf("got %s stopped %v, want ABORTED with a stop date", d.Status, d.StopDate)
	}
	h, err := c2.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: x.ExecutionArn, ReverseOrder: true, MaxResults: 1})
	if err != nil || len(h.Events) != 1 || h.Events[0].Type != types.HistoryEventTypeExecutionAborted {
		t.Errorf("got %v, %v; want ExecutionAborted last", h, err)
	}
}

func TestUnknownOperation(t *testing.T) {
	_, err := localsfn.New(localsfn.Config{}).ServeJSON(context.Background(), "Nope", nil)
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeUnknownOperation {
		t.Errorf("got %v, want UnknownOperationException", err)
	}
}

func FuzzServeJSON(f *testing.F) {
	f.Add("StartExecution", []byte(`{"stateMachineArn":"arn:aws:states:us-east-1:000000000000:stateMachine:x","name":"a"}`))
	f.Add("CreateStateMachine", []byte(`{"name":"x","definition":"{}","roleArn":"arn:x"}`))
	f.Add("GetExecutionHistory", []byte(`{"executionArn":"arn:aws:states:us-east-1:000000000000:execution:x:a","nextToken":"zz"}`))
	svc := localsfn.New(localsfn.Config{})
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		_, _ = svc.ServeJSON(context.Background(), op, body)
	})
}

func TestListExecutionsPages(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, localsfn.New(localsfn.Config{Clock: clock.NewVirtual(time.Unix(1e9, 0)), Lambda: lambdaFake}))
	arn := create(t, c, "catch", lambdaDef)
	for _, name := range []string{"a", "b", "c"} {
		x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		wait(t, c, aws.ToString(x.ExecutionArn))
	}
	var names []string
	p := sfn.NewListExecutionsPaginator(c, &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn), MaxResults: 2})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range page.Executions {
			names = append(names, aws.ToString(x.Name))
		}
	}
	// Most recently started first.
	if diff := cmp.Diff([]string{"c", "b", "a"}, names); diff != "" {
		t.Errorf("executions (-want +got):\n%s", diff)
	}
	var badToken *types.InvalidToken
	_, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn), NextToken: aws.String("not-a-token")})
	if !errors.As(err, &badToken) {
		t.Errorf("got %v for a bad nextToken, want InvalidToken", err)
	}
}

func TestHistoryWithoutExecutionData(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, localsfn.New(localsfn.Config{Clock: clock.NewVirtual(time.Unix(1e9, 0)), Lambda: lambdaFake}))
	arn := create(t, c, "catch", lambdaDef)
	x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(`{"secret":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, c, aws.ToString(x.ExecutionArn))
	h, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: x.ExecutionArn, IncludeExecutionData: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range h.Events {
		if d := e.ExecutionStartedEventDetails; d != nil && strings.Contains(aws.ToString(d.Input), "secret") {
			t.Errorf("event %d carries the input %s", e.Id, aws.ToString(d.Input))
		}
		if d := e.StateEnteredEventDetails; d != nil && strings.Contains(aws.ToString(d.Input), "secret") {
			t.Errorf("event %d carries the state input %s", e.Id, aws.ToString(d.Input))
		}
	}
}

func TestStartExecutionForEventBridge(t *testing.T) {
	svc := localsfn.New(localsfn.Config{Clock: clock.NewVirtual(time.Unix(1e9, 0)), Lambda: lambdaFake})
	c := newClient(t, svc)
	arn := create(t, c, "catch", lambdaDef)
	if err := svc.StartExecution(context.Background(), arn, []byte(`{"detail":{}}`)); err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	if err := svc.StartExecution(context.Background(), arn+"-missing", nil); err == nil {
		t.Error("got no error starting an unknown state machine")
	}
	l, err := c.ListExecutions(context.Background(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn)})
	if err != nil || len(l.Executions) != 1 {
		t.Errorf("got %v, %v; want the one execution EventBridge started", l, err)
	}
}

// TestPathMissingAtRunTimeIsStatesRuntime drives each payload field whose
// path can miss at run time through the real SDK: the execution fails with
// States.Runtime, as on AWS, and neither a Retry nor a Catch on States.ALL
// handles it (DESIGN.md section 6).
func TestPathMissingAtRunTimeIsStatesRuntime(t *testing.T) {
	tests := map[string]struct {
		field     string // the field of the task state, as JSON
		wantCalls int    // Lambda calls: one if the path is read after the call
	}{
		"InputPath":      {field: `"InputPath":"$.missing"`, wantCalls: 0},
		"Parameters":     {field: `"Parameters":{"v.$":"$.missing"}`, wantCalls: 0},
		"ResultSelector": {field: `"ResultSelector":{"v.$":"$.missing"}`, wantCalls: 1},
		"OutputPath":     {field: `"OutputPath":"$.missing"`, wantCalls: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var mu sync.Mutex
			calls := 0
			counting := func(ctx context.Context, fn string, payload []byte) ([]byte, bool, error) {
				mu.Lock()
				calls++
				mu.Unlock()
				return lambdaFake(ctx, fn, payload)
			}
			c := newClient(t, localsfn.New(localsfn.Config{Clock: clock.NewVirtual(time.Unix(1e9, 0)), Lambda: counting}))
			def := `{"StartAt":"Call","States":{
 "Call":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:000000000000:function:ok",` + tc.field + `,
   "Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":1,"MaxAttempts":3}],
   "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}],"End":true},
 "Caught":{"Type":"Succeed"}}}`
			arn := create(t, c, "runtime-"+strings.ToLower(name), def)
			x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(`{"a":1}`)})
			if err != nil {
				t.Fatalf("StartExecution: %v", err)
			}
			d := wait(t, c, aws.ToString(x.ExecutionArn))
			if d.Status != types.ExecutionStatusFailed || aws.ToString(d.Error) != "States.Runtime" {
				t.Fatalf("got status %s error %q (%s), want FAILED with States.Runtime", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
			}
			if !strings.Contains(aws.ToString(d.Cause), "$.missing") {
				t.Errorf("got cause %q, want it to name the path $.missing", aws.ToString(d.Cause))
			}
			mu.Lock()
			defer mu.Unlock()
			if calls != tc.wantCalls {
				t.Errorf("got %d Lambda calls, want %d (a retry would call again)", calls, tc.wantCalls)
			}
		})
	}
}
