package cloudwatch

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// LoadBalancing is what the ALB metrics generator reads from the ELBv2
// simulation (the core wires *elbv2.Service in).
type LoadBalancing interface {
	// TrafficShares returns each target group's share of the traffic, by
	// target group ARN; a listener rule's traffic counts 1.0.
	TrafficShares() map[string]float64
	// LoadBalancerOf returns the ARN of the load balancer forwarding to the
	// target group.
	LoadBalancerOf(targetGroupARN string) (string, bool)
	// HealthyTargets returns the ids of the target group's healthy targets.
	HealthyTargets(targetGroupARN string) []string
}

// Revisions tells which image serves the task behind a target (the ECS
// simulation implements it).
type Revisions interface {
	// RevisionsOfTargets returns the image behind every target, by target
	// id, read at once.
	RevisionsOfTargets() map[string]string
}

// Behaviours returns the injected behaviour of an image (*faults.Registry).
type Behaviours interface {
	ForImage(image string) faults.Behaviour
}

// ServiceLoads returns the CPU demand on ECS services, by
// "cluster/service", in percent of one task's CPU (*faults.Registry).
type ServiceLoads interface {
	ServiceLoads() map[string]float64
}

// Config configures a Service. Only Clock is needed to serve the API; the
// ALB metrics generator runs when LoadBalancing is set.
type Config struct {
	// Region goes into alarm ARNs and events; us-east-1 when empty.
	Region string
	// Clock times metrics and drives alarm evaluation; real when nil.
	Clock clock.Clock
	// Events receives alarm state changes; dropped when nil.
	Events protocol.EventSink
	// LoadBalancing, Revisions and Faults feed the ALB metrics generator.
	LoadBalancing LoadBalancing
	Revisions     Revisions
	Faults        Behaviours
	// BaselineRPS is the requests per second one listener rule receives;
	// 100 when zero.
	BaselineRPS float64
	// Loads and ECS feed the ECS CPUUtilization generator: the CPU demand
	// set on a service is shared by its running tasks, read from ECS's
	// DescribeServices. Nil Loads publish no ECS metrics.
	Loads ServiceLoads
	ECS   protocol.JSONHandler
	// Logger logs alarm state changes; discarded when nil.
	Logger *slog.Logger
}

// Service is the CloudWatch simulation. It is safe for concurrent use.
type Service struct {
	cfg Config

	mu sync.Mutex
	st state
}

// state is everything the service keeps, in plain structs for Snapshot.
type state struct {
	Series map[string]*series // by seriesKey
	Alarms map[string]*alarm  // by name
	// History is DescribeAlarmHistory's record, by alarm name; it
	// outlives a deleted alarm, as on CloudWatch.
	History map[string][]alarmHistoryItem `json:",omitempty"`
}

// New returns an empty Service.
func New(cfg Config) *Service {
	if cfg.Region == "" {
		cfg.Region = protocol.DefaultRegion
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Events == nil {
		cfg.Events = protocol.DiscardEvents{}
	}
	if cfg.BaselineRPS <= 0 {
		cfg.BaselineRPS = 100
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, st: state{Series: map[string]*series{}, Alarms: map[string]*alarm{}}}
}

// Snapshot returns the metrics and alarms as JSON, for --state-dir.
func (s *Service) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := json.Marshal(s.st)
	if err != nil {
		return nil, fmt.Errorf("snapshot cloudwatch: %w", err)
	}
	return b, nil
}

// Restore replaces the metrics and alarms with a Snapshot's.
func (s *Service) Restore(b []byte) error {
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("restore cloudwatch: %w", err)
	}
	if st.Series == nil || st.Alarms == nil {
		return fmt.Errorf("restore cloudwatch: incomplete snapshot")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = st
	return nil
}

// operation runs one API operation; decode fills its input struct.
type operation func(ctx context.Context, decode func(any) error) (any, error)

// op adapts a typed operation to operation.
func op[I, O any](f func(context.Context, *I) (O, error)) operation {
	return func(ctx context.Context, decode func(any) error) (any, error) {
		var in I
		if err := decode(&in); err != nil {
			return nil, err
		}
		return f(ctx, &in)
	}
}

// empty is the output of operations that return nothing.
type empty struct{}

func (s *Service) operations() map[string]operation {
	return map[string]operation{
		"PutMetricData":           op(s.putMetricData),
		"GetMetricData":           op(s.getMetricData),
		"GetMetricStatistics":     op(s.getMetricStatistics),
		"ListMetrics":             op(s.listMetrics),
		"PutMetricAlarm":          op(s.putMetricAlarm),
		"DescribeAlarms":          op(s.describeAlarms),
		"DescribeAlarmHistory":    op(s.describeAlarmHistory),
		"DescribeAlarmsForMetric": op(s.describeAlarmsForMetric),
		"SetAlarmState":           op(s.setAlarmState),
		"DeleteAlarms":            op(s.deleteAlarms),
		"EnableAlarmActions":      op(s.enableAlarmActions),
		"DisableAlarmActions":     op(s.disableAlarmActions),
	}
}

// ServeCBOR serves an operation in Smithy RPC v2 CBOR, as aws-sdk-go-v2
// calls CloudWatch. A gzip-compressed body (PutMetricData compresses large
// requests) is inflated first.
func (s *Service) ServeCBOR(ctx context.Context, opName string, body []byte) ([]byte, error) {
	o, ok := s.operations()[opName]
	if !ok {
		return nil, protocol.UnknownOperation(opName)
	}
	body, err := gunzip(body)
	if err != nil {
		return nil, err
	}
	out, err := o(ctx, func(v any) error { return protocol.CBORUnmarshal(body, v) })
	if err != nil {
		return nil, err
	}
	b, err := protocol.CBORMarshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode %s output: %w", opName, err)
	}
	return b, nil
}

// ServeJSON serves an operation in JSON 1.0 (X-Amz-Target
// GraniteServiceVersion20100801.<op>), as the aws CLI calls CloudWatch.
func (s *Service) ServeJSON(ctx context.Context, opName string, body []byte) (any, error) {
	body, err := gunzip(body)
	if err != nil {
		return nil, err
	}
	in, err := protocol.JSONToCBOR(body)
	if err != nil {
		return nil, err
	}
	out, err := s.ServeCBOR(ctx, opName, in)
	if err != nil {
		return nil, err
	}
	j, err := protocol.CBORToJSON(out)
	if err != nil {
		return nil, fmt.Errorf("encode %s output: %w", opName, err)
	}
	return json.RawMessage(j), nil
}

// ServeQuery serves an operation in the query protocol (Version 2010-08-01).
func (s *Service) ServeQuery(ctx context.Context, action string, params url.Values) (any, error) {
	o, ok := s.operations()[action]
	if !ok {
		return nil, protocol.Errorf(400, protocol.CodeInvalidAction, "The action %s is not valid for this web service.", action)
	}
	out, err := o(ctx, func(v any) error { return decodeQuery(params, v) })
	if err != nil {
		return nil, err
	}
	if _, ok := out.(empty); ok {
		return nil, nil
	}
	return queryResult{out}, nil
}

// gunzip inflates b when it starts with the gzip magic number, which neither
// a CBOR map nor JSON can start with.
func gunzip(b []byte) ([]byte, error) {
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return b, nil
	}
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, protocol.Serializationf("malformed gzip body: %v", err)
	}
	out, err := io.ReadAll(io.LimitReader(r, 8<<20))
	if err != nil {
		return nil, protocol.Serializationf("malformed gzip body: %v", err)
	}
	return out, nil
}

// Errors as CloudWatch reports them (the query error codes, which the SDK
// and the CLI report for every protocol).

func invalidParameter(format string, args ...any) error {
	return protocol.Errorf(400, "InvalidParameterValue", format, args...)
}

func missingParameter(name string) error {
	return protocol.Errorf(400, "MissingParameter", "The parameter %s is required.", name)
}

func invalidCombination(format string, args ...any) error {
	return protocol.Errorf(400, "InvalidParameterCombination", format, args...)
}

func notFound(format string, args ...any) error {
	return protocol.Errorf(404, "ResourceNotFound", format, args...)
}

// invalidNextToken answers a NextToken the service never issued: it returns
// every result in one page, except DescribeAlarms.
func invalidNextToken() error {
	return protocol.Errorf(400, "InvalidNextToken", "The service returned no NextToken to continue from.")
}
