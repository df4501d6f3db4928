package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/smithy-go/encoding/cbor"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi"
	"github.com/slipwayhq/slipway/internal/awsapi/awsapitest"
	"github.com/slipwayhq/slipway/internal/workflow"
)

const path = "/service/GraniteServiceVersion20100801/operation/DescribeAlarms"

// plain turns a decoded CBOR value into the Go values tests compare.
func plain(v cbor.Value) any {
	switch v := v.(type) {
	case cbor.String:
		return string(v)
	case cbor.Uint:
		return int64(v)
	case cbor.Bool:
		return bool(v)
	case cbor.List:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = plain(e)
		}
		return l
	case cbor.Map:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = plain(e)
		}
		return m
	}
	return fmt.Sprintf("%T", v)
}

// timestamp is how RPC v2 CBOR carries a time: tag 1 around epoch seconds.
func timestamp(t time.Time) cbor.Value {
	return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.UnixMilli()) / 1000)}
}

// alarm is one MetricAlarm or CompositeAlarm entry of a response.
func alarm(name, state, reason string, updated time.Time) cbor.Value {
	return cbor.Map{
		"AlarmName":                  cbor.String(name),
		"StateValue":                 cbor.String(state),
		"StateReason":                cbor.String(reason),
		"StateUpdatedTimestamp":      timestamp(updated),
		"StateTransitionedTimestamp": timestamp(updated.Add(-time.Minute)),
	}
}

// reply is the fake endpoint's answer: an HTTP status, extra headers and a
// CBOR body.
type reply struct {
	status int
	header map[string]string
	body   cbor.Map
}

// errorReply is an RPC v2 CBOR error; CloudWatch also sends the query error
// code in X-Amzn-Query-Error, which the SDK prefers.
func errorReply(status int, typ, queryCode string) reply {
	r := reply{status: status, body: cbor.Map{"__type": cbor.String(typ), "message": cbor.String("from the fake")}}
	if queryCode != "" {
		r.header = map[string]string{"X-Amzn-Query-Error": queryCode + ";Sender"}
	}
	return r
}

// fake is a CloudWatch endpoint speaking Smithy RPC v2 CBOR. It records each
// decoded request and answers with its replies in order, the last repeating.
type fake struct {
	t        *testing.T
	mu       sync.Mutex
	replies  []reply
	requests []any
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != path || r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" || r.Header.Get("Content-Type") != "application/cbor" {
		f.t.Errorf("got %s smithy-protocol %q content type %q, want an RPC v2 CBOR DescribeAlarms",
			r.URL.Path, r.Header.Get("Smithy-Protocol"), r.Header.Get("Content-Type"))
	}
	raw, _ := io.ReadAll(r.Body)
	v, err := cbor.Decode(raw)
	if err != nil {
		f.t.Errorf("decode request: %v", err)
	}
	f.mu.Lock()
	f.requests = append(f.requests, plain(v))
	rep := f.replies[0]
	if len(f.replies) > 1 {
		f.replies = f.replies[1:]
	}
	f.mu.Unlock()
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if rep.status != 0 {
		w.WriteHeader(rep.status)
	}
	w.Write(cbor.Encode(rep.body))
}

// seen returns the decoded requests f received.
func (f *fake) seen() []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// newClient returns a Client whose real SDK client talks to a fake answering
// with replies, without retries.
func newClient(t *testing.T, replies ...reply) (*Client, *fake) {
	f := &fake{t: t, replies: replies}
	return New(sdk.NewFromConfig(awsapitest.Serve(t, f))), f
}

// describe is the request AlarmStates sends for names.
func describe(nextToken string, names ...string) map[string]any {
	l := make([]any, len(names))
	for i, n := range names {
		l[i] = n
	}
	m := map[string]any{"AlarmNames": l, "AlarmTypes": []any{"MetricAlarm", "CompositeAlarm"}}
	if nextToken != "" {
		m["NextToken"] = nextToken
	}
	return m
}

func TestAlarmStates(t *testing.T) {
	at := time.Date(2026, 11, 25, 21, 0, 0, 250e6, time.UTC)
	c, f := newClient(t,
		reply{body: cbor.Map{
			"MetricAlarms": cbor.List{alarm("web-5xx", "ALARM", "Threshold Crossed: 1 datapoint [12.0]", at)},
			"NextToken":    cbor.String("page2"),
		}},
		reply{body: cbor.Map{
			"MetricAlarms":    cbor.List{alarm("web-latency", "OK", "fine", at)},
			"CompositeAlarms": cbor.List{alarm("web-health", "INSUFFICIENT_DATA", "no data", at)},
		}},
	)
	got, err := c.AlarmStates(context.Background(), []string{"web-5xx", "web-latency", "web-health"})
	if err != nil {
		t.Fatal(err)
	}
	state := func(v, reason string) AlarmState {
		return AlarmState{Value: v, Reason: reason, Updated: at, Transitioned: at.Add(-time.Minute)}
	}
	want := map[string]AlarmState{
		"web-5xx":     state("ALARM", "Threshold Crossed: 1 datapoint [12.0]"),
		"web-latency": state("OK", "fine"),
		"web-health":  state("INSUFFICIENT_DATA", "no data"),
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(time.Time.Equal)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	names := []string{"web-5xx", "web-latency", "web-health"}
	if diff := cmp.Diff([]any{describe("", names...), describe("page2", names...)}, f.seen()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestAlarmStatesMissing(t *testing.T) {
	c, _ := newClient(t, reply{body: cbor.Map{"MetricAlarms": cbor.List{alarm("web-5xx", "OK", "", time.Unix(1, 0))}}})
	_, err := c.AlarmStates(context.Background(), []string{"web-5xx", "web-typo"})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "web-typo") || strings.Contains(err.Error(), "web-5xx") {
		t.Errorf("got %v, want ErrNotFound naming web-typo only", err)
	}
}

func TestAlarmStatesChunks(t *testing.T) {
	var names []string
	var alarms cbor.List
	for i := range 150 {
		names = append(names, fmt.Sprintf("a%03d", i))
		alarms = append(alarms, alarm(names[i], "OK", "", time.Unix(1, 0)))
	}
	c, f := newClient(t, reply{body: cbor.Map{"MetricAlarms": alarms[:100]}}, reply{body: cbor.Map{"MetricAlarms": alarms[100:]}})
	got, err := c.AlarmStates(context.Background(), names)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 150 {
		t.Errorf("got %d states, want 150", len(got))
	}
	if diff := cmp.Diff([]any{describe("", names[:100]...), describe("", names[100:]...)}, f.seen()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestAlarmStatesNone(t *testing.T) {
	c, f := newClient(t, reply{body: cbor.Map{}})
	got, err := c.AlarmStates(context.Background(), nil)
	if err != nil || len(got) != 0 {
		t.Errorf("got %v, %v, want no states and no error", got, err)
	}
	if len(f.seen()) != 0 {
		t.Errorf("got %d requests, want none", len(f.seen()))
	}
}

func TestAlarmStatesErrors(t *testing.T) {
	tests := map[string]struct {
		reply     reply
		transient bool
		code      string
	}{
		"throttled": {reply: errorReply(400, "com.amazonaws.cloudwatch#ThrottlingException", "Throttling"),
			transient: true, code: "Throttling"},
		"internal fault": {reply: errorReply(500, "com.amazonaws.cloudwatch#InternalServiceFault", "InternalServiceError"),
			transient: true, code: "InternalServiceError"},
		"invalid": {reply: errorReply(400, "com.amazonaws.cloudwatch#InvalidParameterValueException", ""),
			code: "InvalidParameterValueException"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, _ := newClient(t, tc.reply)
			_, err := c.AlarmStates(context.Background(), []string{"web-5xx"})
			var tr *workflow.Transient
			if errors.As(err, &tr) != tc.transient {
				t.Errorf("got %v, want transient %v", err, tc.transient)
			}
			if got := awsapi.Code(err); got != tc.code {
				t.Errorf("got code %q, want %q", got, tc.code)
			}
		})
	}
}
