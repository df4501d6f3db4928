package lambda

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Limits of an asynchronous invocation configuration, as Lambda documents
// them.
const (
	maxEventAgeDefault = 6 * time.Hour
	minEventAge        = time.Minute
)

// EventInvokeConfig is a function's asynchronous invocation configuration
// (PutFunctionEventInvokeConfig, AWS::Lambda::EventInvokeConfig).
type EventInvokeConfig struct {
	// MaximumRetryAttempts is how many times a failed invocation is retried,
	// 0 to 2; nil is Lambda's default, 2.
	MaximumRetryAttempts *int
	// MaximumEventAge is how old an event may be when it is (re)tried, one
	// minute to six hours; zero is Lambda's default, six hours.
	MaximumEventAge time.Duration
	// OnFailure is the ARN of the destination of an invocation record when
	// every attempt failed or the event grew too old: an SQS queue (the
	// only destination modelled). Empty for none.
	OnFailure string
}

// QueueSender delivers a message to an SQS queue by ARN; the local SQS
// implements it.
type QueueSender interface {
	SendByARN(arn, body string) error
}

// SetQueues connects the SQS that receives on-failure records.
func (s *Service) SetQueues(q QueueSender) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queues = q
}

// PutEventInvokeConfig sets the asynchronous invocation configuration of
// the function name, replacing any, as PutFunctionEventInvokeConfig does.
func (s *Service) PutEventInvokeConfig(name string, cfg EventInvokeConfig) error {
	fn, err := s.resolve(name, "")
	if err != nil {
		return fmt.Errorf("put event invoke config of %s: %w", name, err)
	}
	if r := cfg.MaximumRetryAttempts; r != nil && (*r < 0 || *r > asyncRetries) {
		return fmt.Errorf("put event invoke config of %s: MaximumRetryAttempts %d: want 0 to %d", name, *r, asyncRetries)
	}
	if a := cfg.MaximumEventAge; a != 0 && (a < minEventAge || a > maxEventAgeDefault) {
		return fmt.Errorf("put event invoke config of %s: MaximumEventAgeInSeconds %d: want 60 to 21600", name, int(a.Seconds()))
	}
	if d := cfg.OnFailure; d != "" && !strings.HasPrefix(d, "arn:aws:sqs:") {
		return fmt.Errorf("put event invoke config of %s: on-failure destination %s: only SQS queues are modelled locally", name, d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.invokeConfigs == nil {
		s.invokeConfigs = map[string]EventInvokeConfig{}
	}
	s.invokeConfigs[fn.name] = cfg
	return nil
}

// FailInvocations makes the next n invocations of the function name, of any
// type, fail with a function error (type InjectedFault), as a bug in its
// code would; n <= 0 clears it. It is the fault that rehearses lost events.
func (s *Service) FailInvocations(name string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.injected == nil {
		s.injected = map[string]int{}
	}
	if n <= 0 {
		delete(s.injected, name)
		return
	}
	s.injected[name] = n
}

// injectedFault returns the function error of an injected failure of the
// function name, counting it, or nil.
func (s *Service) injectedFault(name string) *FunctionError {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.injected[name]
	if n <= 0 {
		return nil
	}
	if n == 1 {
		delete(s.injected, name)
	} else {
		s.injected[name] = n - 1
	}
	return &FunctionError{Type: "InjectedFault", Message: "the local endpoint failed this invocation of " + name + " (FailInvocations)"}
}

// asyncPolicy returns the retries, maximum event age and on-failure
// destination of the function name, with Lambda's defaults.
func (s *Service) asyncPolicy(name string) (retries int, maxAge time.Duration, onFailure string, q QueueSender) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := s.invokeConfigs[name]
	retries, maxAge = asyncRetries, maxEventAgeDefault
	if cfg.MaximumRetryAttempts != nil {
		retries = *cfg.MaximumRetryAttempts
	}
	if cfg.MaximumEventAge != 0 {
		maxAge = cfg.MaximumEventAge
	}
	return retries, maxAge, cfg.OnFailure, s.queues
}

// Conditions of an on-failure record.
const (
	conditionRetriesExhausted = "RetriesExhausted"
	conditionEventAgeExceeded = "EventAgeExceeded"
)

// failureRecord is the invocation record Lambda sends to an on-failure
// destination.
type failureRecord struct {
	Version         string          `json:"version"`
	Timestamp       string          `json:"timestamp"`
	RequestContext  requestContext  `json:"requestContext"`
	RequestPayload  json.RawMessage `json:"requestPayload"`
	ResponseContext responseContext `json:"responseContext"`
	ResponsePayload json.RawMessage `json:"responsePayload"`
}

type requestContext struct {
	RequestID              string `json:"requestId"`
	FunctionARN            string `json:"functionArn"`
	Condition              string `json:"condition"`
	ApproximateInvokeCount int    `json:"approximateInvokeCount"`
}

type responseContext struct {
	StatusCode      int    `json:"statusCode"`
	ExecutedVersion string `json:"executedVersion"`
	FunctionError   string `json:"functionError"`
}

// deliverFailure sends the on-failure record of an invocation of fn to its
// destination, if it has one. A record that cannot be delivered is logged,
// as Lambda counts it in DestinationDeliveryFailures.
func (s *Service) deliverFailure(fn *function, dest string, q QueueSender, payload []byte, attempts int, condition string, fnErr *FunctionError) {
	if dest == "" {
		return
	}
	rec := failureRecord{
		Version:   "1.0",
		Timestamp: s.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		RequestContext: requestContext{RequestID: uuid.NewString(), FunctionARN: s.FunctionARN(fn.name) + ":" + latest,
			Condition: condition, ApproximateInvokeCount: attempts},
		RequestPayload:  payload,
		ResponseContext: responseContext{StatusCode: 200, ExecutedVersion: latest, FunctionError: functionErrorUnhandled},
		ResponsePayload: fnErr.Payload(),
	}
	b, err := json.Marshal(rec)
	if err == nil && q == nil {
		err = fmt.Errorf("no SQS is connected")
	}
	if err == nil {
		err = q.SendByARN(dest, string(b))
	}
	if err != nil {
		s.log.Error("on-failure destination delivery failed (DestinationDeliveryFailures)", "function", fn.name, "destination", dest, "error", err)
	}
}
