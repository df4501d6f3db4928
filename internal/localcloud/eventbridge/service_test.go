package eventbridge

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

var start = time.Date(2026, 11, 25, 14, 2, 11, 0, time.UTC)

// newClient serves s through the real router, registered as the endpoint
// registers EventBridge. The test also fails if a request's X-Amz-Target is
// not AWSEvents.<op> or if s answers an error that is not a
// *protocol.Error (which the router would hide as InternalFailure).
func newClient(t *testing.T, s *Service) *sdk.Client {
	t.Helper()
	router := localcloud.NewServer(localcloud.Options{})
	router.RegisterJSON("events", "AWSEvents", "1.1", protocol.JSONHandlerFunc(func(ctx context.Context, op string, body []byte) (any, error) {
		out, err := s.ServeJSON(ctx, op, body)
		var perr *protocol.Error
		if err != nil && !errors.As(err, &perr) {
			t.Errorf("%s: got error %T %v, want a *protocol.Error", op, err, err)
		}
		return out, err
	}))
	url := prototest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		if prefix, _, ok := strings.Cut(target, "."); !ok || prefix != "AWSEvents" {
			t.Errorf("X-Amz-Target: got %q, want AWSEvents.<op>", target)
		}
		router.ServeHTTP(w, r)
	}))
	return sdk.NewFromConfig(prototest.Config(url))
}

// call is one delivery a fake target received.
type call struct {
	Target  string
	Payload string
	At      time.Duration // clock time since start
}

// fakeTargets records deliveries; fail decides the error of each attempt.
type fakeTargets struct {
	clock clock.Clock
	mu    sync.Mutex
	calls []call
	fail  func(n int) error // n counts attempts from 1
}

func (f *fakeTargets) record(target string, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{Target: target, Payload: string(payload), At: f.clock.Now().Sub(start)})
	if f.fail != nil {
		return f.fail(len(f.calls))
	}
	return nil
}

func (f *fakeTargets) InvokeAsync(_ context.Context, name string, payload []byte) error {
	return f.record(name, payload)
}

func (f *fakeTargets) StartExecution(_ context.Context, arn string, input []byte) error {
	return f.record(arn, input)
}

func (f *fakeTargets) got() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func newWorld(t *testing.T) (*Service, *sdk.Client, *clock.Virtual, *fakeTargets) {
	t.Helper()
	v := clock.NewVirtual(start)
	f := &fakeTargets{clock: v}
	s := New(Config{Clock: v, Lambda: f})
	s.SetStepFunctions(f)
	t.Cleanup(func() { s.Close() })
	return s, newClient(t, s), v, f
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != code {
		t.Errorf("got error %v, want %s", err, code)
	}
}

const fnARN = "arn:aws:lambda:us-east-1:000000000000:function:ecr-push"
const smARN = "arn:aws:states:us-east-1:000000000000:stateMachine:deploy"

func TestRulesLifecycle(t *testing.T) {
	_, c, _, _ := newWorld(t)
	ctx := t.Context()
	for _, name := range []string{"ecr-push", "spec-upload", "alarm", "ecs-state"} {
		out, err := c.PutRule(ctx, &sdk.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(`{"source":["aws.ecr"]}`), Description: aws.String("d " + name)})
		if err != nil {
			t.Fatalf("PutRule %s: %v", name, err)
		}
		if got, want := aws.ToString(out.RuleArn), "arn:aws:events:us-east-1:000000000000:rule/"+name; got != want {
			t.Errorf("RuleArn: got %s, want %s", got, want)
		}
	}
	d, err := c.DescribeRule(ctx, &sdk.DescribeRuleInput{Name: aws.String("alarm")})
	if err != nil {
		t.Fatalf("DescribeRule: %v", err)
	}
	if d.State != types.RuleStateEnabled || aws.ToString(d.EventBusName) != "default" || aws.ToString(d.Description) != "d alarm" {
		t.Errorf("DescribeRule: got state %s bus %s description %s", d.State, aws.ToString(d.EventBusName), aws.ToString(d.Description))
	}
	if _, err := c.DisableRule(ctx, &sdk.DisableRuleInput{Name: aws.String("alarm")}); err != nil {
		t.Fatalf("DisableRule: %v", err)
	}
	if d, _ := c.DescribeRule(ctx, &sdk.DescribeRuleInput{Name: aws.String("alarm")}); d.State != types.RuleStateDisabled {
		t.Errorf("after DisableRule: got %s, want DISABLED", d.State)
	}
	if _, err := c.EnableRule(ctx, &sdk.EnableRuleInput{Name: aws.String("alarm"), EventBusName: aws.String("arn:aws:events:us-east-1:000000000000:event-bus/default")}); err != nil {
		t.Fatalf("EnableRule by bus ARN: %v", err)
	}

	// ListRules pages by Limit and filters by prefix.
	var names []string
	var token *string
	for pages := 0; ; pages++ {
		out, err := c.ListRules(ctx, &sdk.ListRulesInput{Limit: aws.Int32(3), NextToken: token})
		if err != nil {
			t.Fatalf("ListRules: %v", err)
		}
		for _, r := range out.Rules {
			names = append(names, aws.ToString(r.Name))
		}
		if token = out.NextToken; token == nil {
			break
		}
		if pages > 3 {
			t.Fatal("ListRules does not end")
		}
	}
	if diff := cmp.Diff([]string{"alarm", "ecr-push", "ecs-state", "spec-upload"}, names); diff != "" {
		t.Errorf("ListRules (-want +got):\n%s", diff)
	}
	pre, err := c.ListRules(ctx, &sdk.ListRulesInput{NamePrefix: aws.String("ec")})
	if err != nil || len(pre.Rules) != 2 {
		t.Errorf("ListRules prefix ec: got %d rules, %v, want 2", len(pre.Rules), err)
	}

	pt, err := c.PutTargets(ctx, &sdk.PutTargetsInput{Rule: aws.String("ecr-push"), Targets: []types.Target{
		{Id: aws.String("fn"), Arn: aws.String(fnARN), InputPath: aws.String("$.detail"),
			RetryPolicy:      &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(8), MaximumEventAgeInSeconds: aws.Int32(7200)},
			DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")}},
		{Id: aws.String("sm"), Arn: aws.String(smARN), Input: aws.String(`{"fixed":true}`)},
	}})
	if err != nil || pt.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v, %+v", err, pt)
	}
	lt, err := c.ListTargetsByRule(ctx, &sdk.ListTargetsByRuleInput{Rule: aws.String("ecr-push")})
	if err != nil {
		t.Fatalf("ListTargetsByRule: %v", err)
	}
	if len(lt.Targets) != 2 || aws.ToString(lt.Targets[0].InputPath) != "$.detail" ||
		aws.ToInt32(lt.Targets[0].RetryPolicy.MaximumRetryAttempts) != 8 || aws.ToString(lt.Targets[1].Input) != `{"fixed":true}` {
		t.Errorf("ListTargetsByRule: got %+v", lt.Targets)
	}
	_, err = c.DeleteRule(ctx, &sdk.DeleteRuleInput{Name: aws.String("ecr-push")})
	wantCode(t, err, "ValidationException")
	if _, err := c.RemoveTargets(ctx, &sdk.RemoveTargetsInput{Rule: aws.String("ecr-push"), Ids: []string{"fn", "sm"}}); err != nil {
		t.Fatalf("RemoveTargets: %v", err)
	}
	if _, err := c.DeleteRule(ctx, &sdk.DeleteRuleInput{Name: aws.String("ecr-push")}); err != nil {
		t.Fatalf("DeleteRule: %v", err)
	}
	var nf *types.ResourceNotFoundException
	if _, err := c.DescribeRule(ctx, &sdk.DescribeRuleInput{Name: aws.String("ecr-push")}); !errors.As(err, &nf) {
		t.Errorf("DescribeRule after delete: got %v, want ResourceNotFoundException", err)
	}
}

func TestRequestErrors(t *testing.T) {
	_, c, _, _ := newWorld(t)
	ctx := t.Context()
	if _, err := c.PutRule(ctx, &sdk.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["a"]}`)}); err != nil {
		t.Fatal(err)
	}
	sixTargets := make([]types.Target, 6)
	for i := range sixTargets {
		sixTargets[i] = types.Target{Id: aws.String(string(rune('a' + i))), Arn: aws.String(fnARN)}
	}
	tests := map[string]struct {
		call func() error
		code string
	}{
		"invalid pattern": {func() error {
			_, err := c.PutRule(ctx, &sdk.PutRuleInput{Name: aws.String("bad"), EventPattern: aws.String(`{"source":"aws.ecr"}`)})
			return err
		}, "InvalidEventPatternException"},
		"pattern too long": {func() error {
			_, err := c.PutRule(ctx, &sdk.PutRuleInput{Name: aws.String("long"), EventPattern: aws.String(`{"source":["` + strings.Repeat("a", 4096) + `"]}`)})
			return err
		}, "ValidationException"},
		"no pattern": {func() error {
			_, err := c.PutRule(ctx, &sdk.PutRuleInput{Name: aws.String("bad")})
			return err
		}, "ValidationException"},
		"bad rule name": {func() error {
			_, err := c.PutRule(ctx, &sdk.PutRuleInput{Name: aws.String("has space"), EventPattern: aws.String(`{"a":["b"]}`)})
			return err
		}, "ValidationException"},
		"unknown bus": {func() error {
			_, err := c.PutRule(ctx, &sdk.PutRuleInput{Name: aws.String("x"), EventBusName: aws.String("custom"), EventPattern: aws.String(`{"a":["b"]}`)})
			return err
		}, "ResourceNotFoundException"},
		"targets of unknown rule": {func() error {
			_, err := c.PutTargets(ctx, &sdk.PutTargetsInput{Rule: aws.String("nope"), Targets: []types.Target{{Id: aws.String("a"), Arn: aws.String(fnARN)}}})
			return err
		}, "ResourceNotFoundException"},
		"too many targets": {func() error {
			_, err := c.PutTargets(ctx, &sdk.PutTargetsInput{Rule: aws.String("r"), Targets: sixTargets})
			return err
		}, "LimitExceededException"},
		"input and input path": {func() error {
			_, err := c.PutTargets(ctx, &sdk.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{{Id: aws.String("a"), Arn: aws.String(fnARN), Input: aws.String("{}"), InputPath: aws.String("$.detail")}}})
			return err
		}, "ValidationException"},
		"input not json": {func() error {
			_, err := c.PutTargets(ctx, &sdk.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{{Id: aws.String("a"), Arn: aws.String(fnARN), Input: aws.String("{nope")}}})
			return err
		}, "ValidationException"},
		"retry attempts out of range": {func() error {
			_, err := c.PutTargets(ctx, &sdk.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{{Id: aws.String("a"), Arn: aws.String(fnARN), RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(186)}}}})
			return err
		}, "ValidationException"},
		"event age out of range": {func() error {
			_, err := c.PutTargets(ctx, &sdk.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{{Id: aws.String("a"), Arn: aws.String(fnARN), RetryPolicy: &types.RetryPolicy{MaximumEventAgeInSeconds: aws.Int32(59)}}}})
			return err
		}, "ValidationException"},
		"input transformer": {func() error {
			_, err := c.PutTargets(ctx, &sdk.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{{Id: aws.String("a"), Arn: aws.String(fnARN), InputTransformer: &types.InputTransformer{InputTemplate: aws.String(`"x"`)}}}})
			return err
		}, "ValidationException"},
		"too many entries": {func() error {
			_, err := c.PutEvents(ctx, &sdk.PutEventsInput{Entries: make([]types.PutEventsRequestEntry, 11)})
			return err
		}, "ValidationException"},
		"test pattern invalid": {func() error {
			_, err := c.TestEventPattern(ctx, &sdk.TestEventPatternInput{EventPattern: aws.String(`{"a":[{"numeric":[">",1,">",2]}]}`), Event: aws.String(docEvent)})
			return err
		}, "InvalidEventPatternException"},
		"test event missing fields": {func() error {
			_, err := c.TestEventPattern(ctx, &sdk.TestEventPatternInput{EventPattern: aws.String(`{"a":["b"]}`), Event: aws.String(`{"source":"x"}`)})
			return err
		}, "ValidationException"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { wantCode(t, tc.call(), tc.code) })
	}
	var ip *types.InvalidEventPatternException
	_, err := c.PutRule(ctx, &sdk.PutRuleInput{Name: aws.String("bad"), EventPattern: aws.String(`{"detail":{"n":[{"numeric":[">",10,"<",5]}]}}`)})
	if !errors.As(err, &ip) || !strings.Contains(aws.ToString(ip.Message), "detail.n[0].numeric") {
		t.Errorf("PutRule with an empty range: got %v, want InvalidEventPatternException naming detail.n[0].numeric", err)
	}
}

func TestTestEventPattern(t *testing.T) {
	_, c, _, _ := newWorld(t)
	for pattern, want := range map[string]bool{
		`{"source":["aws.ec2"],"detail":{"state":["terminated"]}}`: true,
		`{"source":["aws.ec2"],"detail":{"state":["running"]}}`:    false,
	} {
		out, err := c.TestEventPattern(t.Context(), &sdk.TestEventPatternInput{EventPattern: aws.String(pattern), Event: aws.String(docEvent)})
		if err != nil {
			t.Fatalf("TestEventPattern: %v", err)
		}
		if out.Result != want {
			t.Errorf("TestEventPattern %s: got %v, want %v", pattern, out.Result, want)
		}
	}
}

func putRuleWithTarget(t *testing.T, c *sdk.Client, name, pattern string, target types.Target) {
	t.Helper()
	if _, err := c.PutRule(t.Context(), &sdk.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatalf("PutRule %s: %v", name, err)
	}
	if _, err := c.PutTargets(t.Context(), &sdk.PutTargetsInput{Rule: aws.String(name), Targets: []types.Target{target}}); err != nil {
		t.Fatalf("PutTargets %s: %v", name, err)
	}
}

func TestPutEventsDelivery(t *testing.T) {
	s, c, v, f := newWorld(t)
	ctx := t.Context()
	putRuleWithTarget(t, c, "ecr-push", `{"source":["aws.ecr"],"detail-type":["ECR Image Action"],"detail":{"action-type":["PUSH"],"result":["SUCCESS"]}}`,
		types.Target{Id: aws.String("fn"), Arn: aws.String(fnARN)})
	putRuleWithTarget(t, c, "detail-only", `{"source":["aws.ecr"]}`,
		types.Target{Id: aws.String("sm"), Arn: aws.String(smARN), InputPath: aws.String("$.detail.repository-name")})
	putRuleWithTarget(t, c, "fixed", `{"source":[{"prefix":"aws."}]}`,
		types.Target{Id: aws.String("sm"), Arn: aws.String(smARN), Input: aws.String(`{"fixed":1}`)})
	putRuleWithTarget(t, c, "disabled", `{"source":["aws.ecr"]}`, types.Target{Id: aws.String("fn"), Arn: aws.String(fnARN)})
	if _, err := c.DisableRule(ctx, &sdk.DisableRuleInput{Name: aws.String("disabled")}); err != nil {
		t.Fatal(err)
	}

	out, err := c.PutEvents(ctx, &sdk.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("aws.ecr"), DetailType: aws.String("ECR Image Action"), Resources: []string{"arn:aws:ecr:us-east-1:000000000000:repository/web"},
			Detail: aws.String(`{"action-type":"PUSH","result":"SUCCESS","repository-name":"web","image-tag":"v1"}`)},
		{Source: aws.String("aws.ecr"), DetailType: aws.String("x"), Detail: aws.String(`[1]`)},
		{DetailType: aws.String("x"), Detail: aws.String(`{}`)},
		{Source: aws.String("a"), Detail: aws.String(`{}`)},
		{Source: aws.String("a"), DetailType: aws.String("x")},
		{Source: aws.String("a"), DetailType: aws.String("x"), Detail: aws.String(`{}`), EventBusName: aws.String("other")},
	}})
	if err != nil {
		t.Fatalf("PutEvents: %v", err)
	}
	if out.FailedEntryCount != 5 {
		t.Errorf("FailedEntryCount: got %d, want 5", out.FailedEntryCount)
	}
	var codes []string
	for _, e := range out.Entries {
		codes = append(codes, aws.ToString(e.ErrorCode))
	}
	if diff := cmp.Diff([]string{"", "MalformedDetail", "InvalidArgument", "InvalidArgument", "InvalidArgument", "ResourceNotFoundException"}, codes); diff != "" {
		t.Errorf("entry error codes (-want +got):\n%s", diff)
	}
	id := aws.ToString(out.Entries[0].EventId)
	if id == "" {
		t.Fatal("no EventId for the valid entry")
	}
	if err := v.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	calls := f.got()
	if len(calls) != 3 {
		t.Fatalf("deliveries: got %d (%+v), want 3", len(calls), calls)
	}
	byRule := map[string]call{}
	for _, c := range calls {
		switch {
		case c.Target == fnARN:
			byRule["ecr-push"] = c
		case strings.HasPrefix(c.Payload, `"`):
			byRule["detail-only"] = c
		default:
			byRule["fixed"] = c
		}
	}
	var env map[string]any
	if err := json.Unmarshal([]byte(byRule["ecr-push"].Payload), &env); err != nil {
		t.Fatalf("decode delivered event: %v", err)
	}
	want := map[string]any{
		"version": "0", "id": id, "detail-type": "ECR Image Action", "source": "aws.ecr",
		"account": "000000000000", "time": "2026-11-25T14:02:11Z", "region": "us-east-1",
		"resources": []any{"arn:aws:ecr:us-east-1:000000000000:repository/web"},
		"detail":    map[string]any{"action-type": "PUSH", "result": "SUCCESS", "repository-name": "web", "image-tag": "v1"},
	}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Errorf("delivered event (-want +got):\n%s", diff)
	}
	if got := byRule["detail-only"].Payload; got != `"web"` {
		t.Errorf("InputPath payload: got %s, want \"web\"", got)
	}
	if got := byRule["fixed"].Payload; got != `{"fixed":1}` {
		t.Errorf("Input payload: got %s, want {\"fixed\":1}", got)
	}
	if len(s.DeadLetters()) != 0 {
		t.Errorf("dead letters: got %+v, want none", s.DeadLetters())
	}
}

func TestPutEventSink(t *testing.T) {
	s, c, v, f := newWorld(t)
	putRuleWithTarget(t, c, "alarm", `{"source":["aws.cloudwatch"],"detail":{"state":{"value":["ALARM"]}}}`,
		types.Target{Id: aws.String("fn"), Arn: aws.String(fnARN)})
	detail := map[string]any{"alarmName": "web-5xx", "state": map[string]any{"value": "ALARM"}}
	s.PutEvent(t.Context(), protocol.Event{Source: "aws.cloudwatch", DetailType: "CloudWatch Alarm State Change", Detail: detail})
	s.PutEvent(t.Context(), protocol.Event{Source: "aws.cloudwatch", DetailType: "CloudWatch Alarm State Change",
		Detail: map[string]any{"state": map[string]any{"value": "OK"}}})
	s.PutEvent(t.Context(), protocol.Event{Source: "aws.cloudwatch", DetailType: "bad", Detail: []int{1}})
	if err := v.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	calls := f.got()
	if len(calls) != 1 {
		t.Fatalf("deliveries: got %d, want 1", len(calls))
	}
	var env map[string]any
	if err := json.Unmarshal([]byte(calls[0].Payload), &env); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"version": "0", "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
		"account": "000000000000", "time": "2026-11-25T14:02:11Z", "region": "us-east-1",
		"resources": []any{}, "detail": map[string]any{"alarmName": "web-5xx", "state": map[string]any{"value": "ALARM"}},
	}
	if diff := cmp.Diff(want, env, cmpopts.IgnoreMapEntries(func(k string, _ any) bool { return k == "id" })); diff != "" {
		t.Errorf("delivered event (-want +got):\n%s", diff)
	}
	if id, _ := env["id"].(string); len(id) != 36 {
		t.Errorf("id: got %q, want a UUID", id)
	}
}

func throttled(int) error {
	return protocol.Errorf(http.StatusTooManyRequests, "TooManyRequestsException", "Rate exceeded")
}

func TestDeliveryRetries(t *testing.T) {
	dlq := "arn:aws:sqs:us-east-1:000000000000:dlq"
	tests := map[string]struct {
		fail         func(n int) error
		retry        *types.RetryPolicy
		wantAt       []time.Duration
		wantDeadCode string // "" when delivered
		wantAttempts int
	}{
		"succeeds after throttling": {
			fail:   func(n int) error { return map[bool]error{true: throttled(n)}[n < 3] },
			wantAt: []time.Duration{0, time.Second, 3 * time.Second},
		},
		"retries exhausted": {
			fail:         throttled,
			retry:        &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(3)},
			wantAt:       []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second},
			wantDeadCode: "TooManyRequestsException", wantAttempts: 4,
		},
		"server errors are retried": {
			fail:         func(int) error { return protocol.InternalFailure() },
			retry:        &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(1)},
			wantAt:       []time.Duration{0, time.Second},
			wantDeadCode: "InternalFailure", wantAttempts: 2,
		},
		"not found is not retried": {
			fail: func(int) error {
				return protocol.Errorf(http.StatusNotFound, "ResourceNotFoundException", "Function not found")
			},
			wantAt:       []time.Duration{0},
			wantDeadCode: "ResourceNotFoundException", wantAttempts: 1,
		},
		"event age bounds retries": {
			fail:  throttled,
			retry: &types.RetryPolicy{MaximumEventAgeInSeconds: aws.Int32(60)},
			// 0, 1, 3, 7, 15, 31 s; the next retry at 63 s is past the age.
			wantAt:       []time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second, 15 * time.Second, 31 * time.Second},
			wantDeadCode: "TooManyRequestsException", wantAttempts: 6,
		},
		"zero retries": {
			fail:         throttled,
			retry:        &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(0)},
			wantAt:       []time.Duration{0},
			wantDeadCode: "TooManyRequestsException", wantAttempts: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, c, v, f := newWorld(t)
			f.fail = tc.fail
			putRuleWithTarget(t, c, "r", `{"source":["app"]}`, types.Target{Id: aws.String("fn"), Arn: aws.String(fnARN),
				RetryPolicy: tc.retry, DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlq)}})
			if _, err := c.PutEvents(t.Context(), &sdk.PutEventsInput{Entries: []types.PutEventsRequestEntry{
				{Source: aws.String("app"), DetailType: aws.String("t"), Detail: aws.String(`{}`)}}}); err != nil {
				t.Fatal(err)
			}
			if err := v.WaitIdle(t.Context()); err != nil {
				t.Fatal(err)
			}
			var at []time.Duration
			for _, c := range f.got() {
				at = append(at, c.At)
			}
			if diff := cmp.Diff(tc.wantAt, at); diff != "" {
				t.Errorf("attempt times (-want +got):\n%s", diff)
			}
			dead := s.DeadLetters()
			if tc.wantDeadCode == "" {
				if len(dead) != 0 {
					t.Errorf("dead letters: got %+v, want none", dead)
				}
				return
			}
			if len(dead) != 1 {
				t.Fatalf("dead letters: got %d, want 1", len(dead))
			}
			d := dead[0]
			if d.ErrorCode != tc.wantDeadCode || d.Attempts != tc.wantAttempts || d.DeadLetterArn != dlq ||
				d.TargetArn != fnARN || d.RuleArn != "arn:aws:events:us-east-1:000000000000:rule/r" {
				t.Errorf("dead letter: got %+v, want code %s after %d attempts to %s", d, tc.wantDeadCode, tc.wantAttempts, dlq)
			}
			if !json.Valid(d.Event) || !strings.Contains(string(d.Event), `"source":"app"`) {
				t.Errorf("dead-lettered event: got %s", d.Event)
			}
		})
	}
}

func TestDeliveryFaultsAndTargets(t *testing.T) {
	v := clock.NewVirtual(start)
	f := &fakeTargets{clock: v}
	ff := faults.New()
	ff.DelayEvents(90 * time.Second)
	ff.DropEvents(1)
	s := New(Config{Clock: v, Faults: ff, Lambda: f})
	t.Cleanup(func() { s.Close() })
	c := newClient(t, s)
	putRuleWithTarget(t, c, "r", `{"source":["app"]}`, types.Target{Id: aws.String("fn"), Arn: aws.String(fnARN)})
	putRuleWithTarget(t, c, "q", `{"source":["queue"]}`, types.Target{Id: aws.String("sqs"), Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:q")})
	putRuleWithTarget(t, c, "sm", `{"source":["sm"]}`, types.Target{Id: aws.String("sm"), Arn: aws.String(smARN)})
	for _, src := range []string{"app", "app", "queue", "sm"} {
		out, err := c.PutEvents(t.Context(), &sdk.PutEventsInput{Entries: []types.PutEventsRequestEntry{
			{Source: aws.String(src), DetailType: aws.String("t"), Detail: aws.String(`{}`)}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v %+v", err, out)
		}
	}
	if err := v.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The first event was dropped, the second delivered after the delay.
	calls := f.got()
	if len(calls) != 1 || calls[0].At != 90*time.Second {
		t.Errorf("deliveries: got %+v, want one at 90s", calls)
	}
	// Unsupported targets and an unwired Step Functions dead-letter at once.
	codes := map[string]string{}
	for _, d := range s.DeadLetters() {
		codes[d.TargetID] = d.ErrorCode
	}
	if diff := cmp.Diff(map[string]string{"sqs": "UnsupportedTarget", "sm": "InternalFailure"}, codes); diff != "" {
		t.Errorf("dead letters by target (-want +got):\n%s", diff)
	}
}

func TestSnapshotRestore(t *testing.T) {
	s, c, _, _ := newWorld(t)
	putRuleWithTarget(t, c, "a", `{"source":["x"]}`, types.Target{Id: aws.String("fn"), Arn: aws.String(fnARN),
		RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(2)}, DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:d")}})
	putRuleWithTarget(t, c, "b", `{"detail":{"n":[{"numeric":[">",1]}]}}`, types.Target{Id: aws.String("sm"), Arn: aws.String(smARN), InputPath: aws.String("$.detail")})
	if _, err := c.DisableRule(t.Context(), &sdk.DisableRuleInput{Name: aws.String("b")}); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r, rc, v, f := newWorld(t)
	if err := r.Restore(snap); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	again, err := r.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(snap), string(again)); diff != "" {
		t.Errorf("snapshot after restore (-want +got):\n%s", diff)
	}
	// The restored rules work.
	if _, err := rc.PutEvents(t.Context(), &sdk.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("x"), DetailType: aws.String("t"), Detail: aws.String(`{"n":5}`)}}}); err != nil {
		t.Fatal(err)
	}
	if err := v.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if calls := f.got(); len(calls) != 1 || calls[0].Target != fnARN {
		t.Errorf("deliveries after restore: got %+v, want one to %s", calls, fnARN)
	}
	for name, bad := range map[string]string{
		"not json":        `{`,
		"bad pattern":     `{"rules":[{"Name":"a","State":"ENABLED","EventPattern":"{}"}]}`,
		"bad state":       `{"rules":[{"Name":"a","State":"ON","EventPattern":"{\"a\":[1]}"}]}`,
		"duplicate rules": `{"rules":[{"Name":"a","State":"ENABLED","EventPattern":"{\"a\":[1]}"},{"Name":"a","State":"ENABLED","EventPattern":"{\"a\":[1]}"}]}`,
		"bad target":      `{"rules":[{"Name":"a","State":"ENABLED","EventPattern":"{\"a\":[1]}","Targets":[{"Id":"","Arn":"x"}]}]}`,
	} {
		if err := r.Restore([]byte(bad)); err == nil {
			t.Errorf("Restore %s: got no error", name)
		}
	}
	if again2, _ := r.Snapshot(); string(again2) != string(snap) {
		t.Error("a failed Restore changed the state")
	}
}

func TestEventBuses(t *testing.T) {
	_, c, _, _ := newWorld(t)
	d, err := c.DescribeEventBus(t.Context(), &sdk.DescribeEventBusInput{})
	if err != nil {
		t.Fatalf("DescribeEventBus: %v", err)
	}
	if aws.ToString(d.Name) != "default" || aws.ToString(d.Arn) != "arn:aws:events:us-east-1:000000000000:event-bus/default" {
		t.Errorf("DescribeEventBus: got %s %s", aws.ToString(d.Name), aws.ToString(d.Arn))
	}
	var nf *types.ResourceNotFoundException
	if _, err := c.DescribeEventBus(t.Context(), &sdk.DescribeEventBusInput{Name: aws.String("custom")}); !errors.As(err, &nf) {
		t.Errorf("DescribeEventBus custom: got %v, want ResourceNotFoundException", err)
	}
	for prefix, want := range map[string]int{"": 1, "def": 1, "x": 0} {
		l, err := c.ListEventBuses(t.Context(), &sdk.ListEventBusesInput{NamePrefix: aws.String(prefix)})
		if err != nil || len(l.EventBuses) != want {
			t.Errorf("ListEventBuses %q: got %d buses, %v, want %d", prefix, len(l.EventBuses), err, want)
		}
	}
}

func TestUnknownOperation(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	_, err := s.ServeJSON(t.Context(), "CreateEventBus", []byte(`{}`))
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Code != protocol.CodeUnknownOperation {
		t.Errorf("got %v, want UnknownOperationException", err)
	}
}

func FuzzServeJSON(f *testing.F) {
	for _, seed := range [][2]string{
		{"PutRule", `{"Name":"r","EventPattern":"{\"source\":[\"a\"]}"}`},
		{"PutTargets", `{"Rule":"r","Targets":[{"Id":"a","Arn":"arn:aws:lambda:us-east-1:000000000000:function:f","InputPath":"$.detail"}]}`},
		{"PutEvents", `{"Entries":[{"Source":"a","DetailType":"b","Detail":"{}"}]}`},
		{"TestEventPattern", `{"EventPattern":"{\"a\":[1]}","Event":"{}"}`},
		{"ListRules", `{"Limit":1}`},
		{"DeleteRule", `{"Name":"r","Force":true}`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, op, body string) {
		v := clock.NewVirtual(start)
		tg := &fakeTargets{clock: v}
		s := New(Config{Clock: v, Lambda: tg})
		defer s.Close()
		s.ServeJSON(context.Background(), "PutRule", []byte(`{"Name":"r","EventPattern":"{\"source\":[\"a\"]}"}`))
		s.ServeJSON(context.Background(), "PutTargets", []byte(`{"Rule":"r","Targets":[{"Id":"a","Arn":"arn:aws:lambda:us-east-1:000000000000:function:f"}]}`))
		_, err := s.ServeJSON(context.Background(), op, []byte(body))
		if err != nil {
			var perr *protocol.Error
			if !errors.As(err, &perr) {
				t.Fatalf("%s: got error %T, want a *protocol.Error", op, err)
			}
		}
		if err := v.WaitIdle(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
