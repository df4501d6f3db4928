package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	sdk "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi/awsapitest"
	"github.com/slipwayhq/slipway/internal/workflow"
)

const stateMachine = "arn:aws:states:us-east-1:111122223333:stateMachine:slipway-deploy"

// reply is the fake endpoint's answer to one request.
type reply = awsapitest.Reply

func errorReply(status int, code string) reply {
	return awsapitest.JSONError(status, "com.amazonaws.swf.service.v2.model#"+code)
}

// newClient returns a Client whose real SDK client talks to a Step Functions
// endpoint speaking JSON 1.0, answering from replies, without retries.
func newClient(t *testing.T, replies map[string][]reply) (*Client, *awsapitest.JSONServer) {
	f, cfg := awsapitest.NewJSON(t, "AWSStepFunctions.", "1.0", replies)
	return New(sdk.NewFromConfig(cfg)), f
}

func TestStartExecution(t *testing.T) {
	tests := map[string]struct {
		reply     reply
		wantARN   string
		existed   bool
		transient bool
	}{
		"started": {
			reply:   reply{Body: `{"executionArn":"arn:aws:states:us-east-1:111122223333:execution:slipway-deploy:web-prod-1","startDate":1764100000}`},
			wantARN: "arn:aws:states:us-east-1:111122223333:execution:slipway-deploy:web-prod-1",
		},
		"already exists": {
			reply:   errorReply(400, "ExecutionAlreadyExists"),
			wantARN: "arn:aws:states:us-east-1:111122223333:execution:slipway-deploy:web-prod-1",
			existed: true,
		},
		"throttled":    {reply: errorReply(400, "ThrottlingException"), transient: true},
		"server error": {reply: errorReply(500, "InternalFailure"), transient: true},
		"no machine":   {reply: errorReply(400, "StateMachineDoesNotExist")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, f := newClient(t, map[string][]reply{"StartExecution": {tc.reply}})
			input := workflow.State{Request: workflow.Request{Service: "web", Environment: "prod", Image: "v1"}}
			arn, existed, err := c.StartExecution(context.Background(), stateMachine, "web-prod-1", input)
			if arn != tc.wantARN || existed != tc.existed {
				t.Errorf("got %q existed %v, want %q existed %v", arn, existed, tc.wantARN, tc.existed)
			}
			if (err != nil) != (tc.wantARN == "") {
				t.Errorf("got error %v, want error %v", err, tc.wantARN == "")
			}
			var tr *workflow.Transient
			if errors.As(err, &tr) != tc.transient {
				t.Errorf("got %v, want transient %v", err, tc.transient)
			}
			b, _ := json.Marshal(input)
			want, _ := json.Marshal(map[string]any{"operation": "StartExecution",
				"stateMachineArn": stateMachine, "name": "web-prod-1", "input": string(b)})
			f.Check(t, string(want))
		})
	}
}

func TestSendTaskSuccess(t *testing.T) {
	c, f := newClient(t, map[string][]reply{"SendTaskSuccess": {{Body: `{}`}}})
	err := c.SendTaskSuccess(context.Background(), "tok-1", workflow.Signal{Source: "ecs", Detail: "completed"})
	if err != nil {
		t.Fatal(err)
	}
	f.Check(t, `{"operation":"SendTaskSuccess","taskToken":"tok-1","output":"{\"source\":\"ecs\",\"detail\":\"completed\"}"}`)
}

func TestSendTaskFailure(t *testing.T) {
	long := strings.Repeat("é", maxCauseLen+10)
	tests := map[string]struct {
		cause     error
		wantError string
		wantCause string
	}{
		"workflow error wrapped": {
			cause:     fmt.Errorf("watch: %w", &workflow.AlarmFired{Alarm: "web-5xx", Reason: "threshold crossed"}),
			wantError: "AlarmFired",
			wantCause: "watch: alarm web-5xx in ALARM: threshold crossed",
		},
		"plain error": {cause: errors.New("boom"), wantError: "Error", wantCause: "boom"},
		"long cause":  {cause: errors.New(long), wantError: "Error", wantCause: long[:2*maxCauseLen]},
		"nil cause":   {wantError: "Error", wantCause: "no cause given"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, f := newClient(t, map[string][]reply{"SendTaskFailure": {{Body: `{}`}}})
			if err := c.SendTaskFailure(context.Background(), "tok-1", tc.cause); err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(map[string]any{"operation": "SendTaskFailure", "taskToken": "tok-1",
				"error": tc.wantError, "cause": tc.wantCause})
			f.Check(t, string(want))
		})
	}
}

// TestTaskClosed checks that every token call maps a token nobody waits on
// any more to ErrTaskClosed, and classifies other errors.
func TestTaskClosed(t *testing.T) {
	calls := map[string]func(*Client) error{
		"SendTaskSuccess": func(c *Client) error { return c.SendTaskSuccess(context.Background(), "tok", struct{}{}) },
		"SendTaskFailure": func(c *Client) error {
			return c.SendTaskFailure(context.Background(), "tok", &workflow.Halted{By: "alice"})
		},
		"SendTaskHeartbeat": func(c *Client) error { return c.SendTaskHeartbeat(context.Background(), "tok") },
	}
	replies := map[string]struct {
		reply     reply
		closed    bool
		transient bool
	}{
		"TaskDoesNotExist": {reply: errorReply(400, "TaskDoesNotExist"), closed: true},
		"InvalidToken":     {reply: errorReply(400, "InvalidToken"), closed: true},
		"TaskTimedOut":     {reply: errorReply(400, "TaskTimedOut"), closed: true},
		"Throttling":       {reply: errorReply(400, "ThrottlingException"), transient: true},
		"5xx":              {reply: errorReply(502, "ServiceUnavailable"), transient: true},
		"AccessDenied":     {reply: errorReply(400, "AccessDeniedException")},
	}
	for op, call := range calls {
		for name, tc := range replies {
			t.Run(op+"/"+name, func(t *testing.T) {
				c, _ := newClient(t, map[string][]reply{op: {tc.reply}})
				err := call(c)
				if err == nil {
					t.Fatal("got no error, want one")
				}
				if errors.Is(err, ErrTaskClosed) != tc.closed {
					t.Errorf("got %v, want ErrTaskClosed %v", err, tc.closed)
				}
				var tr *workflow.Transient
				if errors.As(err, &tr) != tc.transient {
					t.Errorf("got %v, want transient %v", err, tc.transient)
				}
			})
		}
	}
}

func TestSendTaskHeartbeat(t *testing.T) {
	c, f := newClient(t, map[string][]reply{"SendTaskHeartbeat": {{Body: `{}`}}})
	if err := c.SendTaskHeartbeat(context.Background(), "tok-1"); err != nil {
		t.Fatal(err)
	}
	f.Check(t, `{"operation":"SendTaskHeartbeat","taskToken":"tok-1"}`)
}

func TestDescribeExecution(t *testing.T) {
	arn := "arn:aws:states:us-east-1:111122223333:execution:slipway-deploy:web-prod-1"
	c, f := newClient(t, map[string][]reply{"DescribeExecution": {{Body: `{"executionArn":"` + arn + `",
		"stateMachineArn":"` + stateMachine + `","name":"web-prod-1","status":"FAILED",
		"startDate":1764100000,"stopDate":1764100600.5,"input":"{\"service\":\"web\"}",
		"error":"AlarmFired","cause":"alarm web-5xx in ALARM"}`}}})
	got, err := c.DescribeExecution(context.Background(), arn)
	if err != nil {
		t.Fatal(err)
	}
	want := &Execution{ARN: arn, Name: "web-prod-1", Status: "FAILED",
		StartDate: time.Unix(1764100000, 0), StopDate: time.Unix(1764100600, 5e8),
		Input: `{"service":"web"}`, Error: "AlarmFired", Cause: "alarm web-5xx in ALARM"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("execution (-want +got):\n%s", diff)
	}
	f.Check(t, `{"operation":"DescribeExecution","executionArn":"`+arn+`"}`)

	c, _ = newClient(t, map[string][]reply{"DescribeExecution": {errorReply(400, "ExecutionDoesNotExist")}})
	if _, err := c.DescribeExecution(context.Background(), arn); !errors.Is(err, ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}

func TestListExecutions(t *testing.T) {
	item := func(n int) string {
		return fmt.Sprintf(`{"executionArn":"arn:aws:states:us-east-1:111122223333:execution:slipway-deploy:e%d",
			"stateMachineArn":"%s","name":"e%d","status":"RUNNING","startDate":%d}`, n, stateMachine, n, 1764100000-n)
	}
	pages := []reply{
		{Body: `{"executions":[` + item(1) + `,` + item(2) + `],"nextToken":"p2"}`},
		{Body: `{"executions":[` + item(3) + `]}`},
	}
	exec := func(n int) Execution {
		return Execution{ARN: fmt.Sprintf("arn:aws:states:us-east-1:111122223333:execution:slipway-deploy:e%d", n),
			Name: fmt.Sprintf("e%d", n), Status: "RUNNING", StartDate: time.Unix(int64(1764100000-n), 0)}
	}
	first := `{"operation":"ListExecutions","stateMachineArn":"` + stateMachine + `","statusFilter":"RUNNING"}`
	second := `{"operation":"ListExecutions","stateMachineArn":"` + stateMachine + `","statusFilter":"RUNNING","nextToken":"p2"}`
	tests := map[string]struct {
		limit    int
		want     []Execution
		requests []string
	}{
		"all pages":       {limit: 0, want: []Execution{exec(1), exec(2), exec(3)}, requests: []string{first, second}},
		"limit in page 1": {limit: 1, want: []Execution{exec(1)}, requests: []string{first}},
		"limit in page 2": {limit: 3, want: []Execution{exec(1), exec(2), exec(3)}, requests: []string{first, second}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, f := newClient(t, map[string][]reply{"ListExecutions": append([]reply(nil), pages...)})
			got, err := c.ListExecutions(context.Background(), stateMachine, "RUNNING", tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("executions (-want +got):\n%s", diff)
			}
			f.Check(t, tc.requests...)
		})
	}
}
