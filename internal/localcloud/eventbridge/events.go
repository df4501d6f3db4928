package eventbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// Retry timing. AWS retries with exponential back-off and jitter without
// documenting the steps; the simulation doubles from firstRetryDelay up to
// maxRetryDelay, deterministically, so tests on the virtual clock are exact.
const (
	firstRetryDelay = time.Second
	maxRetryDelay   = 5 * time.Minute
)

// envelope is an event exactly as EventBridge delivers it.
type envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// DeadLetter is an event that could not be delivered to a target. On AWS it
// would be sent to DeadLetterArn; with no dead-letter queue configured
// (DeadLetterArn empty) AWS drops it, and the simulation keeps it here so a
// test or the operator can still see it.
type DeadLetter struct {
	RuleArn       string          `json:"ruleArn"`
	TargetID      string          `json:"targetId"`
	TargetArn     string          `json:"targetArn"`
	DeadLetterArn string          `json:"deadLetterArn,omitempty"`
	Event         json.RawMessage `json:"event"`
	// Attempts is how many times delivery was tried.
	Attempts     int       `json:"attempts"`
	ErrorCode    string    `json:"errorCode"`
	ErrorMessage string    `json:"errorMessage"`
	Time         time.Time `json:"time"`
}

// DeadLetters returns the events that could not be delivered, oldest first.
func (s *Service) DeadLetters() []DeadLetter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deadLetters)
}

type putEventsEntry struct {
	Source       string   `json:"Source"`
	DetailType   string   `json:"DetailType"`
	Detail       string   `json:"Detail"`
	Resources    []string `json:"Resources"`
	Time         *float64 `json:"Time"`
	EventBusName string   `json:"EventBusName"`
	TraceHeader  string   `json:"TraceHeader"`
}

type putEventsResultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

func (s *Service) putEvents(ctx context.Context, body []byte) (any, error) {
	var in struct {
		Entries []putEventsEntry `json:"Entries"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if len(in.Entries) == 0 || len(in.Entries) > maxEntriesPerPutEvent {
		return nil, protocol.Validationf("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and %d", maxEntriesPerPutEvent)
	}
	size := 0
	for _, e := range in.Entries {
		size += entrySize(e)
	}
	if size > maxPutEventsBytes {
		return nil, protocol.Validationf("Total size of the entries in the request is over the limit.")
	}
	out := struct {
		FailedEntryCount int                    `json:"FailedEntryCount"`
		Entries          []putEventsResultEntry `json:"Entries"`
	}{Entries: make([]putEventsResultEntry, 0, len(in.Entries))}
	for _, e := range in.Entries {
		env, code, msg := s.entryEnvelope(e)
		if code != "" {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, putEventsResultEntry{ErrorCode: code, ErrorMessage: msg})
			continue
		}
		s.publish(ctx, env)
		out.Entries = append(out.Entries, putEventsResultEntry{EventID: env.ID})
	}
	return out, nil
}

// entrySize follows AWS's accounting of a PutEvents entry's size.
func entrySize(e putEventsEntry) int {
	n := len(e.Source) + len(e.DetailType) + len(e.Detail)
	for _, r := range e.Resources {
		n += len(r)
	}
	if e.Time != nil {
		n += 14
	}
	return n
}

// entryEnvelope validates one PutEvents entry and builds its event, or
// returns the per-entry error code and message AWS reports for it.
func (s *Service) entryEnvelope(e putEventsEntry) (envelope, string, string) {
	if _, err := s.busName(e.EventBusName); err != nil {
		var perr *protocol.Error
		errors.As(err, &perr)
		return envelope{}, perr.Code, perr.Message
	}
	if e.Source == "" {
		return envelope{}, "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."
	}
	if e.DetailType == "" {
		return envelope{}, "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."
	}
	if e.Detail == "" {
		return envelope{}, "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."
	}
	detail, err := decodeEvent([]byte(e.Detail))
	if _, isObject := detail.(map[string]any); err != nil || !isObject {
		return envelope{}, "MalformedDetail", "Detail is malformed."
	}
	for _, r := range e.Resources {
		if r == "" {
			return envelope{}, "InvalidArgument", "Parameter Resources is not valid. Reason: a resource must not be empty."
		}
	}
	t := s.clock.Now()
	if e.Time != nil {
		sec := int64(*e.Time)
		t = time.Unix(sec, int64((*e.Time-float64(sec))*1e9))
	}
	return s.newEnvelope(e.Source, e.DetailType, e.Resources, json.RawMessage(e.Detail), t), "", ""
}

func (s *Service) newEnvelope(source, detailType string, resources []string, detail json.RawMessage, t time.Time) envelope {
	if resources == nil {
		resources = []string{}
	}
	return envelope{
		Version:    "0",
		ID:         uuid.NewString(),
		DetailType: detailType,
		Source:     source,
		Account:    protocol.Account,
		Time:       t.UTC().Format("2006-01-02T15:04:05Z"),
		Region:     s.region,
		Resources:  resources,
		Detail:     detail,
	}
}

// PutEvent publishes an event emitted by another simulated service
// (protocol.EventSink). A detail that does not marshal to a JSON object is a
// bug in the emitting service; it is logged and the event dropped.
func (s *Service) PutEvent(ctx context.Context, e protocol.Event) {
	detail := []byte("{}")
	if e.Detail != nil {
		b, err := json.Marshal(e.Detail)
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(b)), "{") {
			s.log.Error("dropping event with a detail that is not a JSON object",
				"source", e.Source, "detailType", e.DetailType, "error", err)
			return
		}
		detail = b
	}
	s.publish(ctx, s.newEnvelope(e.Source, e.DetailType, slices.Clone(e.Resources), detail, s.clock.Now()))
}

// delivery is one event on its way to one target.
type delivery struct {
	rule     string
	ruleArn  string
	target   Target
	event    []byte
	received time.Time
}

// publish matches an event against the enabled rules and starts delivery
// to each matching rule's targets. It returns before delivery happens, as
// PutEvents does; faults may drop or delay the event.
func (s *Service) publish(_ context.Context, env envelope) {
	if s.faults != nil && s.faults.ShouldDropEvent() {
		s.log.Info("dropping event by fault injection", "source", env.Source, "detailType", env.DetailType, "id", env.ID)
		return
	}
	event, err := json.Marshal(env)
	if err != nil {
		s.log.Error("marshal event", "id", env.ID, "error", err)
		return
	}
	batch := [][]byte{event}
	if s.faults != nil {
		// EventBridge does not keep the order of events: a fault may hold
		// this one back, or deliver it before events held back earlier.
		if batch = s.faults.ReorderEvent(event); len(batch) != 1 || !bytes.Equal(batch[0], event) {
			s.log.Info("reordering events by fault injection", "source", env.Source, "detailType", env.DetailType, "id", env.ID, "delivered", len(batch))
		}
	}
	for i, event := range batch {
		s.route(event, time.Duration(i)*reorderGap)
	}
}

// reorderGap separates the deliveries of events a reorder fault releases
// together, so that each is handled before the next arrives (on a virtual
// clock, surely: time moves only once the first one's handling is done).
const reorderGap = time.Second

// route matches an event (its JSON) against the enabled rules and starts
// delivery to each matching rule's targets gap later, under the faults
// that drop, duplicate or delay it.
func (s *Service) route(event []byte, gap time.Duration) {
	copies, extraDelay := 1, time.Duration(0)
	if s.faults != nil {
		var drop bool
		if drop, copies, extraDelay = s.faults.EventFault(event); drop {
			s.log.Info("dropping event by fault injection", "event", string(event))
			return
		}
	}
	decoded, err := decodeEvent(event)
	if err != nil {
		s.log.Error("decode event", "error", err)
		return
	}
	now := s.clock.Now()
	var deliveries []delivery
	s.mu.Lock()
	names := make([]string, 0, len(s.rules))
	for name := range s.rules {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		r := s.rules[name]
		if r.State == stateDisabled || !s.patterns[name].Matches(decoded) {
			continue
		}
		for _, t := range r.Targets {
			deliveries = append(deliveries, delivery{rule: r.Name, ruleArn: r.Arn, target: t, event: event, received: now})
		}
	}
	s.mu.Unlock()
	delay := extraDelay + gap
	if s.faults != nil {
		delay = max(delay, s.faults.EventDelay())
	}
	// A duplicated event is delivered again, as EventBridge's
	// at-least-once delivery may.
	if copies > 1 {
		deliveries = append(deliveries, deliveries...)
	}
	for _, d := range deliveries {
		// The hold taken here travels to the delivery goroutine, so a
		// virtual clock does not move before delivery has started.
		s.clock.Busy()
		go func() {
			defer s.clock.Done()
			if delay > 0 && s.clock.Sleep(s.ctx, delay) != nil {
				return
			}
			s.deliver(d)
		}()
	}
}

// deliver invokes a target, retrying failures under its RetryPolicy, and
// dead-letters the event when retries run out or the failure is not
// retryable. The caller holds the clock busy.
func (s *Service) deliver(d delivery) {
	retries, maxAge := maxRetryAttempts, maxEventAgeSeconds*time.Second
	if rp := d.target.RetryPolicy; rp != nil {
		if rp.MaximumRetryAttempts != nil {
			retries = *rp.MaximumRetryAttempts
		}
		if rp.MaximumEventAgeInSeconds != nil {
			maxAge = time.Duration(*rp.MaximumEventAgeInSeconds) * time.Second
		}
	}
	log := s.log.With("rule", d.rule, "target", d.target.ID)
	input, err := targetInput(d.target, d.event)
	if err != nil {
		s.deadLetter(d, 0, "InvalidInput", err.Error())
		return
	}
	backoff := firstRetryDelay
	for attempt := 1; ; attempt++ {
		err := s.invoke(d.target.Arn, input)
		if err == nil {
			log.Debug("delivered event", "attempts", attempt)
			return
		}
		code, retryable := classify(err)
		switch {
		case !retryable:
			log.Warn("event delivery failed, not retryable", "error", err)
			s.deadLetter(d, attempt, code, err.Error())
			return
		case attempt > retries:
			log.Warn("event delivery failed, retries exhausted", "attempts", attempt, "error", err)
			s.deadLetter(d, attempt, code, err.Error())
			return
		case s.clock.Now().Add(backoff).Sub(d.received) > maxAge:
			log.Warn("event delivery failed, event too old to retry", "attempts", attempt, "error", err)
			s.deadLetter(d, attempt, code, err.Error())
			return
		}
		if s.clock.Sleep(s.ctx, backoff) != nil {
			return
		}
		backoff = min(2*backoff, maxRetryDelay)
	}
}

// invoke hands the input to the target named by arn.
func (s *Service) invoke(arn string, input []byte) error {
	s.mu.Lock()
	lambda, sfn := s.lambda, s.sfn
	s.mu.Unlock()
	switch {
	case strings.HasPrefix(arn, "arn:aws:lambda:") && strings.Contains(arn, ":function:"):
		if lambda == nil {
			return protocol.Errorf(http.StatusInternalServerError, protocol.CodeInternalFailure, "no Lambda service is wired to the local EventBridge")
		}
		return lambda.InvokeAsync(s.ctx, arn, input)
	case strings.HasPrefix(arn, "arn:aws:states:") && strings.Contains(arn, ":stateMachine:"):
		if sfn == nil {
			return protocol.Errorf(http.StatusInternalServerError, protocol.CodeInternalFailure, "no Step Functions service is wired to the local EventBridge")
		}
		return sfn.StartExecution(s.ctx, arn, input)
	}
	return protocol.Errorf(http.StatusBadRequest, "UnsupportedTarget", "target %s is of a type the local endpoint does not deliver to (only Lambda functions and Step Functions state machines)", arn)
}

// classify returns the error code to record and whether EventBridge would
// retry: throttling and server errors are retried, other client errors
// (a missing function, bad permissions) are not.
func classify(err error) (string, bool) {
	var perr *protocol.Error
	if !errors.As(err, &perr) {
		return protocol.CodeInternalFailure, true
	}
	switch {
	case perr.Status == http.StatusTooManyRequests, perr.Status >= 500,
		perr.Code == protocol.CodeThrottling, perr.Code == "TooManyRequestsException":
		return perr.Code, true
	}
	return perr.Code, false
}

func (s *Service) deadLetter(d delivery, attempts int, code, msg string) {
	dl := DeadLetter{
		RuleArn: d.ruleArn, TargetID: d.target.ID, TargetArn: d.target.Arn,
		Event: d.event, Attempts: attempts, ErrorCode: code, ErrorMessage: msg, Time: s.clock.Now(),
	}
	if d.target.DeadLetterConfig != nil {
		dl.DeadLetterArn = d.target.DeadLetterConfig.Arn
	}
	s.mu.Lock()
	s.deadLetters = append(s.deadLetters, dl)
	s.mu.Unlock()
}

// pathStep is one step of an InputPath: a field name or an array index.
type pathStep struct {
	field string
	index int
	isIdx bool
}

// parseInputPath parses a target's InputPath, a JSONPath into the event:
// "$" followed by .field, ['field'] or [index] steps. Field names may hold
// any character but . and [, so "$.detail.repository-name" works as on AWS.
func parseInputPath(path string) ([]pathStep, error) {
	rest, ok := strings.CutPrefix(path, "$")
	if !ok {
		return nil, fmt.Errorf("%q must start with $", path)
	}
	var steps []pathStep
	for rest != "" {
		switch {
		case rest[0] == '.':
			end := strings.IndexAny(rest[1:], ".[")
			if end < 0 {
				end = len(rest) - 1
			}
			name := rest[1 : 1+end]
			if name == "" || name == "*" {
				return nil, fmt.Errorf("%q: empty or wildcard field name", path)
			}
			steps = append(steps, pathStep{field: name})
			rest = rest[1+end:]
		case strings.HasPrefix(rest, "['"):
			end := strings.Index(rest, "']")
			if end < 0 {
				return nil, fmt.Errorf("%q: unterminated ['…']", path)
			}
			steps = append(steps, pathStep{field: rest[2:end]})
			rest = rest[end+2:]
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("%q: unterminated [", path)
			}
			n, err := strconv.Atoi(rest[1:end])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%q: %q is not an array index", path, rest[1:end])
			}
			steps = append(steps, pathStep{index: n, isIdx: true})
			rest = rest[end+1:]
		default:
			return nil, fmt.Errorf("%q: unexpected %q", path, rest[:1])
		}
	}
	return steps, nil
}

// selectPath returns the value steps lead to in v.
func selectPath(v any, steps []pathStep) (any, bool) {
	for _, st := range steps {
		if st.isIdx {
			arr, ok := v.([]any)
			if !ok || st.index >= len(arr) {
				return nil, false
			}
			v = arr[st.index]
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[st.field]; !ok {
			return nil, false
		}
	}
	return v, true
}

// targetInput is what a target receives: its Input verbatim, the part of
// the event its InputPath selects (null when nothing matches), or the whole
// event.
func targetInput(t Target, event []byte) ([]byte, error) {
	switch {
	case t.Input != "":
		return []byte(t.Input), nil
	case t.InputPath != "":
		steps, err := parseInputPath(t.InputPath)
		if err != nil {
			return nil, fmt.Errorf("input path: %w", err)
		}
		data, err := decodeEvent(event)
		if err != nil {
			return nil, fmt.Errorf("decode event: %w", err)
		}
		got, ok := selectPath(data, steps)
		if !ok {
			return []byte("null"), nil
		}
		b, err := json.Marshal(got)
		if err != nil {
			return nil, fmt.Errorf("input path %s: %w", t.InputPath, err)
		}
		return b, nil
	}
	return event, nil
}
