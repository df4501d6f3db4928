package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/workflow"
)

const stateMachine = "arn:aws:states:us-east-1:111122223333:stateMachine:slipway-deploy"

// reply is the fake endpoint's answer to one request.
type reply struct {
	status int    // 200 when zero
	body   string // JSON
}

func errorReply(status int, code string) reply {
	return reply{status: status, body: `{"__type":"com.amazonaws.swf.service.v2.model#` + code + `","message":"` + code + ` from the fake"}`}
}

// fake is a Step Functions endpoint speaking JSON 1.0. It records each
// request body with its operation under "operation", and answers each
// operation with its replies in order, the last one repeating.
type fake struct {
	t        *testing.T
	mu       sync.Mutex
	replies  map[string][]reply
	requests []map[string]any
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
	if !ok || r.Header.Get("Content-Type") != "application/x-amz-json-1.0" {
		f.t.Errorf("got target %q content type %q, want a JSON 1.0 Step Functions request",
			r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type"))
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.t.Errorf("request body: %v", err)
	}
	body["operation"] = op
	f.mu.Lock()
	f.requests = append(f.requests, body)
	rs := f.replies[op]
	var rep reply
	switch {
	case len(rs) == 0:
		f.t.Errorf("unexpected operation %s", op)
		rep = reply{status: 501}
	case len(rs) == 1:
		rep = rs[0]
	default:
		rep, f.replies[op] = rs[0], rs[1:]
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if rep.status != 0 {
		w.WriteHeader(rep.status)
	}
	io.WriteString(w, rep.body)
}

// newClient returns a Client whose real SDK client talks to a fake, without
// retries.
func newClient(t *testing.T, replies map[string][]reply) (*Client, *fake) {
	f := &fake{t: t, replies: replies}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return New(sdk.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	})), f
}

// check compares the requests f received with want, JSON objects that name
// their operation under "operation".
func (f *fake) check(t *testing.T, want ...string) {
	t.Helper()
	var w []map[string]any
	for _, s := range want {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("test JSON %q: %v", s, err)
		}
		w = append(w, m)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if diff := cmp.Diff(w, f.requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestStartExecution(t *testing.T) {
	tests := map[string]struct {
		reply     reply
		wantARN   string
		existed   bool
		transient bool
	}{
		"started": {
			reply:   reply{body: `{"executionArn":"arn:aws:states:us-east-1:111122223333:execution:slipway-deploy:web-prod-1","startDate":1764100000}`},
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
			f.check(t, string(want))
		})
	}
}

func TestSendTaskSuccess(t *testing.T) {
	c, f := newClient(t, map[string][]reply{"SendTaskSuccess": {{body: `{}`}}})
	err := c.SendTaskSuccess(context.Background(), "tok-1", workflow.Signal{Source: "ecs", Detail: "completed"})
	if err != nil {
		t.Fatal(err)
	}
	f.check(t, `{"operation":"SendTaskSuccess","taskToken":"tok-1","output":"{\"source\":\"ecs\",\"detail\":\"completed\"}"}`)
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
			c, f := newClient(t, map[string][]reply{"SendTaskFailure": {{body: `{}`}}})
			if err := c.SendTaskFailure(context.Background(), "tok-1", tc.cause); err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(map[string]any{"operation": "SendTaskFailure", "taskToken": "tok-1",
				"error": tc.wantError, "cause": tc.wantCause})
			f.check(t, string(want))
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
	c, f := newClient(t, map[string][]reply{"SendTaskHeartbeat": {{body: `{}`}}})
	if err := c.SendTaskHeartbeat(context.Background(), "tok-1"); err != nil {
		t.Fatal(err)
	}
	f.check(t, `{"operation":"SendTaskHeartbeat","taskToken":"tok-1"}`)
}

func TestDescribeExecution(t *testing.T) {
	arn := "arn:aws:states:us-east-1:111122223333:execution:slipway-deploy:web-prod-1"
	c, f := newClient(t, map[string][]reply{"DescribeExecution": {{body: `{"executionArn":"` + arn + `",
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
	f.check(t, `{"operation":"DescribeExecution","executionArn":"`+arn+`"}`)

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
		{body: `{"executions":[` + item(1) + `,` + item(2) + `],"nextToken":"p2"}`},
		{body: `{"executions":[` + item(3) + `]}`},
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
			f.check(t, tc.requests...)
		})
	}
}
