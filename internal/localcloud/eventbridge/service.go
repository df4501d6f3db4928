// Package eventbridge simulates Amazon EventBridge for the local endpoint: the
// default event bus, rules with event patterns (the full content-filtering
// language), targets with Input/InputPath, retry policies and dead-letter
// queues, PutEvents and TestEventPattern over the JSON 1.1 protocol
// (X-Amz-Target AWSEvents.*). It is also the protocol.EventSink the other
// simulated services publish their events to.
//
// Matching events are delivered to Lambda functions and Step Functions state
// machines asynchronously on the shared clock, as EventBridge does: Lambda
// targets are invoked with the asynchronous invocation type, so a function
// error is Lambda's to retry, while a failure to hand the event over
// (throttling, a 5xx) is retried under the target's RetryPolicy and then
// dead-lettered.
package eventbridge

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// Error codes EventBridge answers with.
const (
	CodeResourceNotFound    = "ResourceNotFoundException"
	CodeInvalidEventPattern = "InvalidEventPatternException"
	CodeLimitExceeded       = "LimitExceededException"
)

// Rule states. ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS matters only
// for CloudTrail events, which the local endpoint has none of: it matches
// like ENABLED.
const (
	stateEnabled           = "ENABLED"
	stateDisabled          = "DISABLED"
	stateEnabledCloudTrail = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
)

// defaultBus is the only event bus the local endpoint has.
const defaultBus = "default"

// Limits EventBridge enforces.
const (
	maxTargetsPerRule     = 5
	maxTargetsPerCall     = 10
	maxEntriesPerPutEvent = 10
	maxPutEventsBytes     = 256 * 1024
	maxRetryAttempts      = 185
	minEventAgeSeconds    = 60
	maxEventAgeSeconds    = 86400
	maxListLimit          = 100
	maxPatternLength      = 4096
)

// LambdaInvoker hands an event to a Lambda function with the asynchronous
// (Event) invocation type, as EventBridge does. name is the function ARN from
// the target. An error means the hand-over failed (function not found,
// throttled); a function error is not reported here. *lambda.Service
// implements it.
type LambdaInvoker interface {
	InvokeAsync(ctx context.Context, name string, payload []byte) error
}

// StateMachineStarter starts an execution of a Step Functions state machine.
// The sfn package implements it.
type StateMachineStarter interface {
	StartExecution(ctx context.Context, stateMachineARN string, input []byte) error
}

// Faults is the part of the fault registry EventBridge consults;
// *faults.Registry implements it.
type Faults interface {
	EventDelay() time.Duration
	ShouldDropEvent() bool
	// EventFault says whether the event (its JSON) is dropped, how many
	// copies of it are delivered and after what delay.
	EventFault(event []byte) (drop bool, copies int, delay time.Duration)
	// ReorderEvent says which events (JSON) go out now in place of the
	// event, in order: the event alone, none (held back), or events held
	// back before delivered after it.
	ReorderEvent(event []byte) [][]byte
}

// Config configures a Service.
type Config struct {
	// Region of the ARNs and of events; protocol.DefaultRegion if empty.
	Region string
	// Clock times delivery, retries and event timestamps; the real clock if nil.
	Clock clock.Clock
	// Faults delays or drops events; none if nil.
	Faults Faults
	// Lambda and StepFunctions are the targets events are delivered to.
	// They may also be set later with SetLambda and SetStepFunctions.
	Lambda        LambdaInvoker
	StepFunctions StateMachineStarter
	// Logger receives delivery decisions; slog.Default() if nil.
	Logger *slog.Logger
}

// Service is the simulated EventBridge. It is safe for concurrent use.
type Service struct {
	region string
	clock  clock.Clock
	faults Faults
	log    *slog.Logger

	// ctx ends when the service is closed, cancelling pending deliveries.
	ctx    context.Context
	cancel context.CancelFunc

	mu          sync.Mutex
	rules       map[string]*Rule // by name, on the default bus
	patterns    map[string]*Pattern
	lambda      LambdaInvoker
	sfn         StateMachineStarter
	deadLetters []DeadLetter
}

// New returns an empty EventBridge with only the default bus.
func New(cfg Config) *Service {
	if cfg.Region == "" {
		cfg.Region = protocol.DefaultRegion
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{
		region:   cfg.Region,
		clock:    cfg.Clock,
		faults:   cfg.Faults,
		log:      cfg.Logger,
		ctx:      ctx,
		cancel:   cancel,
		rules:    map[string]*Rule{},
		patterns: map[string]*Pattern{},
		lambda:   cfg.Lambda,
		sfn:      cfg.StepFunctions,
	}
}

// SetLambda sets where Lambda targets are delivered.
func (s *Service) SetLambda(l LambdaInvoker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lambda = l
}

// SetStepFunctions sets where Step Functions targets are delivered.
func (s *Service) SetStepFunctions(sf StateMachineStarter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sfn = sf
}

// Close cancels pending deliveries and retries.
func (s *Service) Close() error {
	s.cancel()
	return nil
}

// Rule is a rule on the default bus, in the API's shape (it is also what
// Snapshot stores).
type Rule struct {
	Name               string   `json:"Name"`
	Arn                string   `json:"Arn"`
	EventBusName       string   `json:"EventBusName"`
	EventPattern       string   `json:"EventPattern,omitempty"`
	ScheduleExpression string   `json:"ScheduleExpression,omitempty"`
	State              string   `json:"State"`
	Description        string   `json:"Description,omitempty"`
	RoleArn            string   `json:"RoleArn,omitempty"`
	Targets            []Target `json:"Targets,omitempty"`
}

// Target is a rule target in the API's shape.
type Target struct {
	ID               string            `json:"Id"`
	Arn              string            `json:"Arn"`
	RoleArn          string            `json:"RoleArn,omitempty"`
	Input            string            `json:"Input,omitempty"`
	InputPath        string            `json:"InputPath,omitempty"`
	RetryPolicy      *RetryPolicy      `json:"RetryPolicy,omitempty"`
	DeadLetterConfig *DeadLetterConfig `json:"DeadLetterConfig,omitempty"`
	// InputTransformer is accepted only to reject it clearly: the local
	// endpoint does not implement input transformers.
	InputTransformer json.RawMessage `json:"InputTransformer,omitempty"`
}

// RetryPolicy is a target's retry policy.
type RetryPolicy struct {
	MaximumRetryAttempts     *int `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int `json:"MaximumEventAgeInSeconds,omitempty"`
}

// DeadLetterConfig names the queue undeliverable events go to.
type DeadLetterConfig struct {
	Arn string `json:"Arn,omitempty"`
}

// ServeJSON serves one EventBridge operation (protocol.JSONHandler).
func (s *Service) ServeJSON(ctx context.Context, op string, body []byte) (any, error) {
	switch op {
	case "PutRule":
		return s.putRule(body)
	case "DescribeRule":
		return s.describeRule(body)
	case "ListRules":
		return s.listRules(body)
	case "DeleteRule":
		return s.deleteRule(body)
	case "EnableRule":
		return s.setState(body, stateEnabled)
	case "DisableRule":
		return s.setState(body, stateDisabled)
	case "PutTargets":
		return s.putTargets(body)
	case "ListTargetsByRule":
		return s.listTargets(body)
	case "RemoveTargets":
		return s.removeTargets(body)
	case "PutEvents":
		return s.putEvents(ctx, body)
	case "TestEventPattern":
		return s.testEventPattern(body)
	case "DescribeEventBus":
		return s.describeEventBus(body)
	case "ListEventBuses":
		return s.listEventBuses(body)
	}
	return nil, protocol.UnknownOperation(op)
}

var nameRE = regexp.MustCompile(`^[\.\-_A-Za-z0-9]{1,64}$`)

// busName validates an EventBusName parameter (a name or an ARN) and
// returns the bus's name; only the default bus exists.
func (s *Service) busName(v string) (string, error) {
	switch v {
	case "", defaultBus, s.busARN():
		return defaultBus, nil
	}
	return "", protocol.Errorf(http.StatusBadRequest, CodeResourceNotFound, "Event bus %s does not exist.", v)
}

func (s *Service) busARN() string {
	return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", s.region, protocol.Account, defaultBus)
}

func (s *Service) ruleARN(name string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", s.region, protocol.Account, name)
}

// ruleLocked returns the named rule; s.mu must be held.
func (s *Service) ruleLocked(name string) (*Rule, error) {
	r, ok := s.rules[name]
	if !ok {
		return nil, protocol.Errorf(http.StatusBadRequest, CodeResourceNotFound, "Rule %s does not exist on EventBus %s.", name, defaultBus)
	}
	return r, nil
}

type ruleRef struct {
	Name         string `json:"Name"`
	EventBusName string `json:"EventBusName"`
}

func (s *Service) decodeRuleRef(body []byte) (ruleRef, error) {
	var in ruleRef
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return in, err
	}
	if in.Name == "" {
		return in, protocol.Validationf("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	if _, err := s.busName(in.EventBusName); err != nil {
		return in, err
	}
	return in, nil
}

func (s *Service) putRule(body []byte) (any, error) {
	var in struct {
		Name               string `json:"Name"`
		EventPattern       string `json:"EventPattern"`
		ScheduleExpression string `json:"ScheduleExpression"`
		State              string `json:"State"`
		Description        string `json:"Description"`
		RoleArn            string `json:"RoleArn"`
		EventBusName       string `json:"EventBusName"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if !nameRE.MatchString(in.Name) {
		return nil, protocol.Validationf("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length 1..64", in.Name)
	}
	if _, err := s.busName(in.EventBusName); err != nil {
		return nil, err
	}
	if in.ScheduleExpression != "" {
		return nil, protocol.Validationf("ScheduleExpression is not supported by the local endpoint; rule %s needs an EventPattern", in.Name)
	}
	if in.EventPattern == "" {
		return nil, protocol.Validationf("Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	if len(in.EventPattern) > maxPatternLength {
		return nil, protocol.Validationf("1 validation error detected: Value at 'eventPattern' failed to satisfy constraint: Member must have length less than or equal to %d", maxPatternLength)
	}
	pattern, err := ParsePattern(in.EventPattern)
	if err != nil {
		return nil, protocol.Errorf(http.StatusBadRequest, CodeInvalidEventPattern, "%s", err.Error())
	}
	switch in.State {
	case "":
		in.State = stateEnabled
	case stateEnabled, stateDisabled, stateEnabledCloudTrail:
	default:
		return nil, protocol.Validationf("1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]", in.State)
	}
	if len(in.Description) > 512 {
		return nil, protocol.Validationf("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 512")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rules[in.Name]
	if !ok {
		r = &Rule{Name: in.Name, Arn: s.ruleARN(in.Name), EventBusName: defaultBus}
		s.rules[in.Name] = r
	}
	r.EventPattern = in.EventPattern
	r.State = in.State
	r.Description = in.Description
	r.RoleArn = in.RoleArn
	s.patterns[in.Name] = pattern
	return struct {
		RuleArn string `json:"RuleArn"`
	}{r.Arn}, nil
}

// ruleOutput is a rule as DescribeRule and ListRules return it.
type ruleOutput struct {
	Name         string `json:"Name"`
	Arn          string `json:"Arn"`
	EventBusName string `json:"EventBusName"`
	EventPattern string `json:"EventPattern,omitempty"`
	State        string `json:"State"`
	Description  string `json:"Description,omitempty"`
	RoleArn      string `json:"RoleArn,omitempty"`
	CreatedBy    string `json:"CreatedBy,omitempty"`
}

func output(r *Rule) ruleOutput {
	return ruleOutput{Name: r.Name, Arn: r.Arn, EventBusName: r.EventBusName, EventPattern: r.EventPattern,
		State: r.State, Description: r.Description, RoleArn: r.RoleArn, CreatedBy: protocol.Account}
}

func (s *Service) describeRule(body []byte) (any, error) {
	in, err := s.decodeRuleRef(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.ruleLocked(in.Name)
	if err != nil {
		return nil, err
	}
	return output(r), nil
}

func (s *Service) listRules(body []byte) (any, error) {
	var in struct {
		NamePrefix   string `json:"NamePrefix"`
		EventBusName string `json:"EventBusName"`
		NextToken    string `json:"NextToken"`
		Limit        *int   `json:"Limit"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if _, err := s.busName(in.EventBusName); err != nil {
		return nil, err
	}
	limit := maxListLimit
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > maxListLimit {
			return nil, protocol.Validationf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100", *in.Limit)
		}
		limit = *in.Limit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.rules))
	for name := range s.rules {
		// NextToken is the name of the first rule of the next page.
		if strings.HasPrefix(name, in.NamePrefix) && name >= in.NextToken {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	out := struct {
		Rules     []ruleOutput `json:"Rules"`
		NextToken string       `json:"NextToken,omitempty"`
	}{Rules: []ruleOutput{}}
	for i, name := range names {
		if i == limit {
			out.NextToken = name
			break
		}
		out.Rules = append(out.Rules, output(s.rules[name]))
	}
	return out, nil
}

func (s *Service) deleteRule(body []byte) (any, error) {
	var in struct {
		ruleRef
		Force bool `json:"Force"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, protocol.Validationf("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	if _, err := s.busName(in.EventBusName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rules[in.Name]
	if !ok {
		// Deleting a rule that does not exist succeeds, as on AWS.
		return struct{}{}, nil
	}
	if len(r.Targets) > 0 {
		return nil, protocol.Validationf("Rule can't be deleted since it has targets.")
	}
	delete(s.rules, in.Name)
	delete(s.patterns, in.Name)
	return struct{}{}, nil
}

func (s *Service) setState(body []byte, state string) (any, error) {
	in, err := s.decodeRuleRef(body)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.ruleLocked(in.Name)
	if err != nil {
		return nil, err
	}
	r.State = state
	return struct{}{}, nil
}

type failedEntry struct {
	TargetID     string `json:"TargetId"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

type failedEntries struct {
	FailedEntryCount int           `json:"FailedEntryCount"`
	FailedEntries    []failedEntry `json:"FailedEntries"`
}

func (s *Service) putTargets(body []byte) (any, error) {
	var in struct {
		Rule         string   `json:"Rule"`
		EventBusName string   `json:"EventBusName"`
		Targets      []Target `json:"Targets"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.Rule == "" {
		return nil, protocol.Validationf("1 validation error detected: Value null at 'rule' failed to satisfy constraint: Member must not be null")
	}
	if _, err := s.busName(in.EventBusName); err != nil {
		return nil, err
	}
	if len(in.Targets) == 0 || len(in.Targets) > maxTargetsPerCall {
		return nil, protocol.Validationf("1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and %d", maxTargetsPerCall)
	}
	for i, t := range in.Targets {
		if err := validateTarget(t, i); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.ruleLocked(in.Rule)
	if err != nil {
		return nil, err
	}
	targets := slices.Clone(r.Targets)
	for _, t := range in.Targets {
		if i := slices.IndexFunc(targets, func(e Target) bool { return e.ID == t.ID }); i >= 0 {
			targets[i] = t
		} else {
			targets = append(targets, t)
		}
	}
	if len(targets) > maxTargetsPerRule {
		return nil, protocol.Errorf(http.StatusBadRequest, CodeLimitExceeded, "The requested resource exceeds the maximum number allowed.")
	}
	r.Targets = targets
	return failedEntries{FailedEntries: []failedEntry{}}, nil
}

// validateTarget checks the i-th target of a PutTargets request.
func validateTarget(t Target, i int) error {
	field := fmt.Sprintf("targets.%d.member", i+1)
	if !nameRE.MatchString(t.ID) {
		return protocol.Validationf("1 validation error detected: Value '%s' at '%s.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length 1..64", t.ID, field)
	}
	if !strings.HasPrefix(t.Arn, "arn:") {
		return protocol.Validationf("Parameter %s is not valid. Reason: Provided Arn is not in correct format.", t.Arn)
	}
	if len(t.InputTransformer) > 0 && string(t.InputTransformer) != "null" {
		return protocol.Validationf("target %s: InputTransformer is not supported by the local endpoint; use Input or InputPath", t.ID)
	}
	if t.Input != "" && t.InputPath != "" {
		return protocol.Validationf("Only one of Input, InputPath, or InputTransformer must be provided for target %s.", t.ID)
	}
	if t.Input != "" && !json.Valid([]byte(t.Input)) {
		return protocol.Validationf("Input for target %s is not valid JSON.", t.ID)
	}
	if t.InputPath != "" {
		if _, err := parseInputPath(t.InputPath); err != nil {
			return protocol.Validationf("InputPath for target %s is not valid: %v", t.ID, err)
		}
	}
	if rp := t.RetryPolicy; rp != nil {
		if n := rp.MaximumRetryAttempts; n != nil && (*n < 0 || *n > maxRetryAttempts) {
			return protocol.Validationf("1 validation error detected: Value '%d' at '%s.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: Member must have value between 0 and %d", *n, field, maxRetryAttempts)
		}
		if n := rp.MaximumEventAgeInSeconds; n != nil && (*n < minEventAgeSeconds || *n > maxEventAgeSeconds) {
			return protocol.Validationf("1 validation error detected: Value '%d' at '%s.retryPolicy.maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between %d and %d", *n, field, minEventAgeSeconds, maxEventAgeSeconds)
		}
	}
	if dl := t.DeadLetterConfig; dl != nil && dl.Arn != "" && !strings.HasPrefix(dl.Arn, "arn:aws:sqs:") {
		return protocol.Validationf("Parameter DeadLetterConfig.Arn %s is not valid: it must be an SQS queue ARN.", dl.Arn)
	}
	return nil
}

func (s *Service) listTargets(body []byte) (any, error) {
	var in struct {
		Rule         string `json:"Rule"`
		EventBusName string `json:"EventBusName"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.Rule == "" {
		return nil, protocol.Validationf("1 validation error detected: Value null at 'rule' failed to satisfy constraint: Member must not be null")
	}
	if _, err := s.busName(in.EventBusName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.ruleLocked(in.Rule)
	if err != nil {
		return nil, err
	}
	return struct {
		Targets []Target `json:"Targets"`
	}{append([]Target{}, r.Targets...)}, nil
}

func (s *Service) removeTargets(body []byte) (any, error) {
	var in struct {
		Rule         string   `json:"Rule"`
		EventBusName string   `json:"EventBusName"`
		IDs          []string `json:"Ids"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.Rule == "" || len(in.IDs) == 0 {
		return nil, protocol.Validationf("Rule and Ids are required.")
	}
	if _, err := s.busName(in.EventBusName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.ruleLocked(in.Rule)
	if err != nil {
		return nil, err
	}
	// Ids that are not targets of the rule are ignored, as on AWS.
	r.Targets = slices.DeleteFunc(slices.Clone(r.Targets), func(t Target) bool { return slices.Contains(in.IDs, t.ID) })
	return failedEntries{FailedEntries: []failedEntry{}}, nil
}

func (s *Service) testEventPattern(body []byte) (any, error) {
	var in struct {
		EventPattern string `json:"EventPattern"`
		Event        string `json:"Event"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.EventPattern == "" || in.Event == "" {
		return nil, protocol.Validationf("EventPattern and Event are required.")
	}
	pattern, err := ParsePattern(in.EventPattern)
	if err != nil {
		return nil, protocol.Errorf(http.StatusBadRequest, CodeInvalidEventPattern, "%s", err.Error())
	}
	event, err := decodeEvent([]byte(in.Event))
	if err != nil {
		return nil, protocol.Validationf("Parameter Event is not valid. Reason: %v", err)
	}
	obj, ok := event.(map[string]any)
	if !ok {
		return nil, protocol.Validationf("Parameter Event is not valid. Reason: the event must be a JSON object")
	}
	for _, f := range []string{"id", "account", "source", "time", "region", "resources", "detail-type"} {
		if _, ok := obj[f]; !ok {
			return nil, protocol.Validationf("Parameter Event is not valid. Reason: Provided Event must have mandatory field %s", f)
		}
	}
	return struct {
		Result bool `json:"Result"`
	}{pattern.Matches(event)}, nil
}

type eventBus struct {
	Name string `json:"Name"`
	Arn  string `json:"Arn"`
}

func (s *Service) describeEventBus(body []byte) (any, error) {
	var in struct {
		Name string `json:"Name"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if _, err := s.busName(in.Name); err != nil {
		return nil, err
	}
	return eventBus{Name: defaultBus, Arn: s.busARN()}, nil
}

func (s *Service) listEventBuses(body []byte) (any, error) {
	var in struct {
		NamePrefix string `json:"NamePrefix"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	out := struct {
		EventBuses []eventBus `json:"EventBuses"`
	}{EventBuses: []eventBus{}}
	if strings.HasPrefix(defaultBus, in.NamePrefix) {
		out.EventBuses = append(out.EventBuses, eventBus{Name: defaultBus, Arn: s.busARN()})
	}
	return out, nil
}
