package lambda

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipwayhq/slipway/internal/clock"
)

// fakeQueues records what is sent to each queue ARN.
type fakeQueues struct {
	mu   sync.Mutex
	sent map[string][]string
}

func (f *fakeQueues) SendByARN(arn, body string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sent == nil {
		f.sent = map[string][]string{}
	}
	f.sent[arn] = append(f.sent[arn], body)
	return nil
}

// TestOnFailureDestination checks that an asynchronous invocation that
// fails every attempt sends Lambda's invocation record to its on-failure
// queue, honouring MaximumRetryAttempts and MaximumEventAge.
func TestOnFailureDestination(t *testing.T) {
	const dlq = "arn:aws:sqs:us-east-1:000000000000:failures"
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		cfg       EventInvokeConfig
		fail      int // injected failures
		wantCalls []time.Duration
		want      *failureRecord // nil: nothing sent
	}{
		"retries exhausted": {
			cfg: EventInvokeConfig{MaximumRetryAttempts: ptr(2), OnFailure: dlq}, fail: 3,
			wantCalls: []time.Duration{0, time.Minute, 3 * time.Minute},
			want: &failureRecord{Version: "1.0", Timestamp: "2026-01-01T00:03:00.000Z",
				RequestContext:  requestContext{FunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:job:$LATEST", Condition: "RetriesExhausted", ApproximateInvokeCount: 3},
				RequestPayload:  json.RawMessage(`{"id":7}`),
				ResponseContext: responseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: "Unhandled"},
				ResponsePayload: json.RawMessage(`{"errorType":"InjectedFault","errorMessage":"the local endpoint failed this invocation of job (FailInvocations)"}`)},
		},
		"no retries": {
			cfg: EventInvokeConfig{MaximumRetryAttempts: ptr(0), OnFailure: dlq}, fail: 1,
			wantCalls: []time.Duration{0},
			want: &failureRecord{Version: "1.0", Timestamp: "2026-01-01T00:00:00.000Z",
				RequestContext:  requestContext{FunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:job:$LATEST", Condition: "RetriesExhausted", ApproximateInvokeCount: 1},
				RequestPayload:  json.RawMessage(`{"id":7}`),
				ResponseContext: responseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: "Unhandled"},
				ResponsePayload: json.RawMessage(`{"errorType":"InjectedFault","errorMessage":"the local endpoint failed this invocation of job (FailInvocations)"}`)},
		},
		"event too old to retry": {
			cfg: EventInvokeConfig{MaximumEventAge: 2 * time.Minute, OnFailure: dlq}, fail: 3,
			wantCalls: []time.Duration{0, time.Minute},
			want: &failureRecord{Version: "1.0", Timestamp: "2026-01-01T00:01:00.000Z",
				RequestContext:  requestContext{FunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:job:$LATEST", Condition: "EventAgeExceeded", ApproximateInvokeCount: 2},
				RequestPayload:  json.RawMessage(`{"id":7}`),
				ResponseContext: responseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: "Unhandled"},
				ResponsePayload: json.RawMessage(`{"errorType":"InjectedFault","errorMessage":"the local endpoint failed this invocation of job (FailInvocations)"}`)},
		},
		"a retry succeeds": {
			cfg: EventInvokeConfig{OnFailure: dlq}, fail: 1,
			wantCalls: []time.Duration{0, time.Minute},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := clock.NewVirtual(start)
			s := New(Config{Clock: v})
			t.Cleanup(func() { s.Close() })
			q := &fakeQueues{}
			s.SetQueues(q)
			var calls []time.Duration
			if err := s.Register("job", awslambda.NewHandler(func(context.Context) error {
				calls = append(calls, v.Now().Sub(start))
				return nil
			})); err != nil {
				t.Fatal(err)
			}
			if err := s.PutEventInvokeConfig("job", tc.cfg); err != nil {
				t.Fatal(err)
			}
			// The injected failures do not reach the handler.
			s.FailInvocations("job", tc.fail)
			if err := s.InvokeAsync(t.Context(), "job", []byte(`{"id":7}`)); err != nil {
				t.Fatal(err)
			}
			if err := v.WaitIdle(t.Context()); err != nil {
				t.Fatal(err)
			}
			succeeded := len(calls)
			if got := len(tc.wantCalls) - tc.fail; got > 0 && succeeded != got {
				t.Errorf("got %d successful attempts, want %d", succeeded, got)
			}
			sent := q.sent[dlq]
			if tc.want == nil {
				if len(sent) != 0 {
					t.Errorf("got %d records sent, want none", len(sent))
				}
				return
			}
			if len(sent) != 1 {
				t.Fatalf("got %d records sent, want 1", len(sent))
			}
			var got failureRecord
			if err := json.Unmarshal([]byte(sent[0]), &got); err != nil {
				t.Fatal(err)
			}
			if got.RequestContext.RequestID == "" {
				t.Error("got an empty requestId, want one")
			}
			if diff := cmp.Diff(*tc.want, got, cmpopts.IgnoreFields(requestContext{}, "RequestID"),
				cmp.Transformer("json", func(r json.RawMessage) string { return string(r) })); diff != "" {
				t.Errorf("record (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPutEventInvokeConfigRejects checks the configuration's limits and that
// a destination other than SQS is refused as not modelled.
func TestPutEventInvokeConfigRejects(t *testing.T) {
	s := New(Config{Clock: clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	t.Cleanup(func() { s.Close() })
	if err := s.Register("job", awslambda.NewHandler(func(context.Context) error { return nil })); err != nil {
		t.Fatal(err)
	}
	tests := map[string]EventInvokeConfig{
		"too many retries":   {MaximumRetryAttempts: ptr(3)},
		"event age too low":  {MaximumEventAge: 30 * time.Second},
		"SNS destination":    {OnFailure: "arn:aws:sns:us-east-1:000000000000:topic"},
		"unknown function":   {},
		"event age too high": {MaximumEventAge: 7 * time.Hour},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			fn := "job"
			if name == "unknown function" {
				fn = "nope"
			}
			if err := s.PutEventInvokeConfig(fn, cfg); err == nil {
				t.Errorf("got no error, want one")
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestInvokeConfigSnapshot checks that a restart keeps a function's
// on-failure destination: the configuration is state, not code.
func TestInvokeConfigSnapshot(t *testing.T) {
	v := clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	a := New(Config{Clock: v})
	t.Cleanup(func() { a.Close() })
	h := awslambda.NewHandler(func(context.Context) error { return nil })
	if err := a.Register("job", h); err != nil {
		t.Fatal(err)
	}
	const dlq = "arn:aws:sqs:us-east-1:000000000000:failures"
	if err := a.PutEventInvokeConfig("job", EventInvokeConfig{MaximumRetryAttempts: ptr(0), OnFailure: dlq}); err != nil {
		t.Fatal(err)
	}
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b := New(Config{Clock: v})
	t.Cleanup(func() { b.Close() })
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if err := b.Register("job", h); err != nil {
		t.Fatal(err)
	}
	q := &fakeQueues{}
	b.SetQueues(q)
	b.FailInvocations("job", 1)
	if err := b.InvokeAsync(t.Context(), "job", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := v.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := len(q.sent[dlq]); got != 1 {
		t.Errorf("got %d records after the restart, want 1 (no retries, then the destination)", got)
	}
}
