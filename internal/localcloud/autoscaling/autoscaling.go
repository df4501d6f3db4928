// Package autoscaling simulates Application Auto Scaling for the local
// endpoint: scalable targets (with their suspended state), scaling policies
// (target tracking and step scaling) and scheduled actions.
//
// It stores what clients put and answers as AWS does, and registering an
// ECS service's target brings the service's desired count into the new
// [min, max] range (unless scaling in that direction is suspended), as AWS
// does. Run scales on the clock: a target tracking policy owns two
// CloudWatch alarms (AlarmHigh, AlarmLow) and, while one is in ALARM,
// resizes the service to ceil(current × metric / target) within [min, max],
// honouring cooldowns, DisableScaleIn and the suspended state; scheduled
// actions (at, rate, cron) set min and max at their time. Step scaling
// policies are stored but not evaluated.
package autoscaling

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// DesiredCounts is the part of ECS that scalable targets of the ecs
// namespace act on; *ecs.Service implements it. ClampDesiredCount brings the
// service's desired count into [lo, hi] and reports false when the service
// does not exist or is not ACTIVE.
type DesiredCounts interface {
	ClampDesiredCount(cluster, service string, lo, hi int32) bool
}

// Config configures a Service; ECS may be nil, and then ECS services are
// not checked or resized.
type Config struct {
	Region string
	Clock  clock.Clock
	ECS    DesiredCounts
	// ECSAPI reads services' desired counts (DescribeServices) for target
	// tracking; Monitoring holds the policies' alarms and metrics. Without
	// both, policies are stored but never evaluated.
	ECSAPI     protocol.JSONHandler
	Monitoring Monitoring
}

// Service is the simulated Application Auto Scaling. It implements
// protocol.JSONHandler. The zero value is not usable; use New.
type Service struct {
	region string
	clock  clock.Clock
	ecs    DesiredCounts
	// ecsAPI and monitoring are what target tracking reads and writes.
	ecsAPI     protocol.JSONHandler
	monitoring Monitoring

	mu sync.Mutex
	st state
}

type state struct {
	Seq     uint64    `json:"seq"`
	Targets []*target `json:"targets"`
}

type key struct {
	Namespace string `json:"serviceNamespace"`
	Resource  string `json:"resourceId"`
	Dimension string `json:"scalableDimension"`
}

type target struct {
	Key       key                `json:"key"`
	ARN       string             `json:"arn"`
	Min       int32              `json:"min"`
	Max       int32              `json:"max"`
	Role      string             `json:"roleArn"`
	Suspended suspendedState     `json:"suspendedState"`
	CreatedAt time.Time          `json:"createdAt"`
	Policies  []*policy          `json:"policies"`
	Scheduled []*scheduledAction `json:"scheduledActions"`
}

type suspendedState struct {
	In        bool `json:"DynamicScalingInSuspended"`
	Out       bool `json:"DynamicScalingOutSuspended"`
	Scheduled bool `json:"ScheduledScalingSuspended"`
}

type alarm struct {
	Name string `json:"AlarmName"`
	ARN  string `json:"AlarmARN"`
}

type policy struct {
	Name           string          `json:"name"`
	ARN            string          `json:"arn"`
	Type           string          `json:"type"`
	Step           json.RawMessage `json:"step,omitempty"`
	TargetTracking json.RawMessage `json:"targetTracking,omitempty"`
	Alarms         []alarm         `json:"alarms"`
	CreatedAt      time.Time       `json:"createdAt"`
	// LastOut and LastIn are when the policy last scaled out and in, for
	// its cooldowns.
	LastOut *time.Time `json:"lastOut,omitempty"`
	LastIn  *time.Time `json:"lastIn,omitempty"`
}

type scheduledAction struct {
	Name      string          `json:"name"`
	ARN       string          `json:"arn"`
	Schedule  string          `json:"schedule"`
	Timezone  string          `json:"timezone,omitempty"`
	Start     *float64        `json:"start,omitempty"`
	End       *float64        `json:"end,omitempty"`
	Action    json.RawMessage `json:"action,omitempty"`
	CreatedAt time.Time       `json:"createdAt"`
	// Next is the action's next run; nil when it has none left.
	Next *time.Time `json:"next,omitempty"`
}

// New returns an empty Application Auto Scaling.
func New(cfg Config) *Service {
	if cfg.Region == "" {
		cfg.Region = protocol.DefaultRegion
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	return &Service{region: cfg.Region, clock: cfg.Clock, ecs: cfg.ECS, ecsAPI: cfg.ECSAPI, monitoring: cfg.Monitoring}
}

func validation(format string, args ...any) *protocol.Error {
	return protocol.Validationf(format, args...)
}

func notFound(format string, args ...any) *protocol.Error {
	return protocol.Errorf(http.StatusBadRequest, "ObjectNotFoundException", format, args...)
}

// ServeJSON serves one operation (the part of X-Amz-Target after
// "AnyScaleFrontendService.").
func (s *Service) ServeJSON(ctx context.Context, op string, body []byte) (any, error) {
	switch op {
	case "RegisterScalableTarget":
		return s.registerScalableTarget(body)
	case "DescribeScalableTargets":
		return handle(s, body, s.describeScalableTargets)
	case "DeregisterScalableTarget":
		return handle(s, body, s.deregisterScalableTarget)
	case "PutScalingPolicy":
		return handle(s, body, s.putScalingPolicy)
	case "DescribeScalingPolicies":
		return handle(s, body, s.describeScalingPolicies)
	case "DeleteScalingPolicy":
		return handle(s, body, s.deleteScalingPolicy)
	case "PutScheduledAction":
		return handle(s, body, s.putScheduledAction)
	case "DescribeScheduledActions":
		return handle(s, body, s.describeScheduledActions)
	case "DeleteScheduledAction":
		return handle(s, body, s.deleteScheduledAction)
	}
	return nil, protocol.UnknownOperation(op)
}

// handle decodes body and runs f with the state locked.
func handle[In any](s *Service, body []byte, f func(now time.Time, in *In) (any, error)) (any, error) {
	return protocol.Handle(body, &s.mu, s.clock.Now, f)
}

func (s *Service) id() string {
	s.st.Seq++
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], s.st.Seq)
	sum := sha256.Sum256(b[:])
	h := hex.EncodeToString(sum[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// keyIn is the identity of a scalable target as every request carries it.
type keyIn struct {
	ServiceNamespace  string `json:"ServiceNamespace"`
	ResourceID        string `json:"ResourceId"`
	ScalableDimension string `json:"ScalableDimension"`
}

func (k keyIn) key() key { return key{k.ServiceNamespace, k.ResourceID, k.ScalableDimension} }

func (k keyIn) validate() error {
	if k.ServiceNamespace == "" {
		return validation("1 validation error detected: Value null at 'serviceNamespace' failed to satisfy constraint: Member must not be null")
	}
	if k.ResourceID == "" {
		return validation("1 validation error detected: Value null at 'resourceId' failed to satisfy constraint: Member must not be null")
	}
	if k.ScalableDimension == "" {
		return validation("1 validation error detected: Value null at 'scalableDimension' failed to satisfy constraint: Member must not be null")
	}
	if k.ServiceNamespace == "ecs" {
		if k.ScalableDimension != "ecs:service:DesiredCount" {
			return validation("Unsupported scalable dimension '%s' for service namespace 'ecs'", k.ScalableDimension)
		}
		if _, _, ok := ecsService(k.ResourceID); !ok {
			return validation("Unsupported resource ID '%s': an ECS service is service/<cluster>/<service>", k.ResourceID)
		}
	}
	return nil
}

// ecsService splits service/<cluster>/<service>.
func ecsService(resourceID string) (cluster, service string, ok bool) {
	parts := strings.Split(resourceID, "/")
	if len(parts) != 3 || parts[0] != "service" || parts[1] == "" || parts[2] == "" {
		return "", "", false
	}
	return parts[1], parts[2], true
}

func (s *Service) targetLocked(k key) *target {
	for _, t := range s.st.Targets {
		if t.Key == k {
			return t
		}
	}
	return nil
}

func noTarget(k key) error {
	return notFound("No scalable target registered for service namespace: %s, resource ID: %s, scalable dimension: %s",
		k.Namespace, k.Resource, k.Dimension)
}

type registerIn struct {
	keyIn
	MinCapacity    *int32 `json:"MinCapacity"`
	MaxCapacity    *int32 `json:"MaxCapacity"`
	RoleARN        string `json:"RoleARN"`
	SuspendedState *struct {
		In        *bool `json:"DynamicScalingInSuspended"`
		Out       *bool `json:"DynamicScalingOutSuspended"`
		Scheduled *bool `json:"ScheduledScalingSuspended"`
	} `json:"SuspendedState"`
}

// registerScalableTarget registers or updates a target. ECS is called
// without the lock held: resizing a service emits events, and whatever
// consumes them may call back into this package.
func (s *Service) registerScalableTarget(body []byte) (any, error) {
	var in registerIn
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	next, err := s.nextTargetLocked(s.clock.Now(), &in)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	k := next.Key
	if k.Namespace == "ecs" && s.ecs != nil {
		// Bring the count into range, except in a direction whose dynamic
		// scaling is suspended.
		lo, hi := next.Min, next.Max
		if next.Suspended.Out {
			lo = 0
		}
		if next.Suspended.In {
			hi = math.MaxInt32
		}
		cluster, service, _ := ecsService(k.Resource)
		if !s.ecs.ClampDesiredCount(cluster, service, lo, hi) {
			return nil, validation("ECS service doesn't exist: %s", k.Resource)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.targetLocked(k); t != nil {
		// Keep what changed meanwhile besides the registration itself.
		next.ARN, next.CreatedAt, next.Policies, next.Scheduled = t.ARN, t.CreatedAt, t.Policies, t.Scheduled
		*t = next
	} else {
		next.ARN = "arn:aws:application-autoscaling:" + s.region + ":" + protocol.Account + ":scalable-target/" + strings.ReplaceAll(s.id(), "-", "")[:28]
		s.st.Targets = append(s.st.Targets, &next)
	}
	return map[string]string{"ScalableTargetARN": next.ARN}, nil
}

// nextTargetLocked returns the target as the registration in makes it.
func (s *Service) nextTargetLocked(now time.Time, in *registerIn) (target, error) {
	k := in.key()
	t := s.targetLocked(k)
	next := target{Key: k, CreatedAt: now}
	if t != nil {
		next = *t
	} else if in.MinCapacity == nil || in.MaxCapacity == nil {
		return next, validation("MinCapacity and MaxCapacity are required for registering a new scalable target")
	}
	if in.MinCapacity != nil {
		next.Min = *in.MinCapacity
	}
	if in.MaxCapacity != nil {
		next.Max = *in.MaxCapacity
	}
	if next.Min < 0 || next.Max < 0 {
		return next, validation("Capacity cannot be negative")
	}
	if next.Min > next.Max {
		return next, validation("Minimum capacity cannot be greater than maximum capacity")
	}
	if in.RoleARN != "" {
		next.Role = in.RoleARN
	}
	if next.Role == "" {
		next.Role = "arn:aws:iam::" + protocol.Account + ":role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"
	}
	if ss := in.SuspendedState; ss != nil {
		if ss.In != nil {
			next.Suspended.In = *ss.In
		}
		if ss.Out != nil {
			next.Suspended.Out = *ss.Out
		}
		if ss.Scheduled != nil {
			next.Suspended.Scheduled = *ss.Scheduled
		}
	}
	return next, nil
}

type describeIn struct {
	ServiceNamespace     string   `json:"ServiceNamespace"`
	ResourceIDs          []string `json:"ResourceIds"`
	ResourceID           string   `json:"ResourceId"`
	ScalableDimension    string   `json:"ScalableDimension"`
	PolicyNames          []string `json:"PolicyNames"`
	ScheduledActionNames []string `json:"ScheduledActionNames"`
	MaxResults           *int32   `json:"MaxResults"`
	NextToken            string   `json:"NextToken"`
}

// matching returns the targets the describe request selects.
func (s *Service) matching(in *describeIn) ([]*target, error) {
	if in.ServiceNamespace == "" {
		return nil, validation("1 validation error detected: Value null at 'serviceNamespace' failed to satisfy constraint: Member must not be null")
	}
	var out []*target
	for _, t := range s.st.Targets {
		if t.Key.Namespace != in.ServiceNamespace ||
			(len(in.ResourceIDs) > 0 && !slices.Contains(in.ResourceIDs, t.Key.Resource)) ||
			(in.ResourceID != "" && t.Key.Resource != in.ResourceID) ||
			(in.ScalableDimension != "" && t.Key.Dimension != in.ScalableDimension) {
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

type targetOut struct {
	ServiceNamespace  string         `json:"ServiceNamespace"`
	ResourceID        string         `json:"ResourceId"`
	ScalableDimension string         `json:"ScalableDimension"`
	MinCapacity       int32          `json:"MinCapacity"`
	MaxCapacity       int32          `json:"MaxCapacity"`
	RoleARN           string         `json:"RoleARN"`
	CreationTime      float64        `json:"CreationTime"`
	SuspendedState    suspendedState `json:"SuspendedState"`
	ScalableTargetARN string         `json:"ScalableTargetARN"`
}

func (s *Service) describeScalableTargets(now time.Time, in *describeIn) (any, error) {
	ts, err := s.matching(in)
	if err != nil {
		return nil, err
	}
	var out []targetOut
	for _, t := range ts {
		out = append(out, targetOut{
			ServiceNamespace: t.Key.Namespace, ResourceID: t.Key.Resource, ScalableDimension: t.Key.Dimension,
			MinCapacity: t.Min, MaxCapacity: t.Max, RoleARN: t.Role, CreationTime: protocol.EpochSeconds(t.CreatedAt),
			SuspendedState: t.Suspended, ScalableTargetARN: t.ARN,
		})
	}
	page, next, err := paginate(out, in.NextToken, in.MaxResults, 50)
	if err != nil {
		return nil, err
	}
	return struct {
		ScalableTargets []targetOut `json:"ScalableTargets"`
		NextToken       *string     `json:"NextToken,omitempty"`
	}{append([]targetOut{}, page...), next}, nil
}

func (s *Service) deregisterScalableTarget(now time.Time, in *keyIn) (any, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	k := in.key()
	i := slices.IndexFunc(s.st.Targets, func(t *target) bool { return t.Key == k })
	if i < 0 {
		return nil, noTarget(k)
	}
	// Its policies (and the alarms they own) and scheduled actions go
	// with it.
	for _, p := range s.st.Targets[i].Policies {
		if err := s.deleteAlarmsLocked(context.Background(), p.Alarms); err != nil {
			return nil, err
		}
	}
	s.st.Targets = slices.Delete(s.st.Targets, i, i+1)
	return struct{}{}, nil
}

type putPolicyIn struct {
	keyIn
	PolicyName     string          `json:"PolicyName"`
	PolicyType     string          `json:"PolicyType"`
	Step           json.RawMessage `json:"StepScalingPolicyConfiguration"`
	TargetTracking json.RawMessage `json:"TargetTrackingScalingPolicyConfiguration"`
}

// validName reports whether name is 1-256 printable characters without
// the ':', '/' and '|' that ARNs use as separators.
func validName(name string) bool {
	if name == "" || len(name) > 256 || strings.ContainsAny(name, ":/|") {
		return false
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func (s *Service) putScalingPolicy(now time.Time, in *putPolicyIn) (any, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	if !validName(in.PolicyName) {
		return nil, validation("PolicyName must be 1-256 printable characters without ':', '/' or '|'")
	}
	k := in.key()
	t := s.targetLocked(k)
	if t == nil {
		return nil, noTarget(k)
	}
	var watched *watchedMetric
	var tc *ttConfig
	kind := in.PolicyType
	if kind == "" {
		kind = "StepScaling"
	}
	hasStep, hasTT := len(in.Step) > 0 && string(in.Step) != "null", len(in.TargetTracking) > 0 && string(in.TargetTracking) != "null"
	switch kind {
	case "StepScaling":
		if !hasStep || hasTT {
			return nil, validation("StepScalingPolicyConfiguration must be provided (and only it) for a StepScaling policy")
		}
	case "TargetTrackingScaling":
		if !hasTT || hasStep {
			return nil, validation("TargetTrackingScalingPolicyConfiguration must be provided (and only it) for a TargetTrackingScaling policy")
		}
		var tt struct {
			TargetValue *float64 `json:"TargetValue"`
		}
		if err := json.Unmarshal(in.TargetTracking, &tt); err != nil || tt.TargetValue == nil {
			return nil, validation("TargetTrackingScalingPolicyConfiguration.TargetValue is required")
		}
		if k.Namespace == "ecs" {
			var c ttConfig
			if err := json.Unmarshal(in.TargetTracking, &c); err != nil {
				return nil, protocol.Serializationf("TargetTrackingScalingPolicyConfiguration: %v", err)
			}
			m, err := metricOf(k, &c)
			if err != nil {
				return nil, err
			}
			watched = &m
			tc = &c
		}
	default:
		return nil, validation("Unsupported policy type %s: use StepScaling or TargetTrackingScaling", kind)
	}
	p := &policy{Name: in.PolicyName, Type: kind, CreatedAt: now}
	if hasStep {
		p.Step = in.Step
	}
	if hasTT {
		p.TargetTracking = in.TargetTracking
	}
	if old := findPolicy(t, in.PolicyName); old != nil {
		p.ARN, p.CreatedAt = old.ARN, old.CreatedAt
		if old.Type == kind {
			p.Alarms, p.LastOut, p.LastIn = old.Alarms, old.LastOut, old.LastIn
		} else if err := s.deleteAlarmsLocked(context.Background(), old.Alarms); err != nil {
			return nil, err
		}
	} else {
		p.ARN = "arn:aws:autoscaling:" + s.region + ":" + protocol.Account + ":scalingPolicy:" + s.id() +
			":resource/" + k.Namespace + "/" + k.Resource + ":policyName/" + in.PolicyName
	}
	if kind == "TargetTrackingScaling" && p.Alarms == nil {
		// AWS creates (and owns) a high and a low alarm per target
		// tracking policy; their names and ARNs are returned here.
		for _, side := range []string{"AlarmHigh", "AlarmLow"} {
			name := "TargetTracking-" + k.Resource + "-" + side + "-" + s.id()
			p.Alarms = append(p.Alarms, alarm{Name: name, ARN: "arn:aws:cloudwatch:" + s.region + ":" + protocol.Account + ":alarm:" + name})
		}
	}
	if watched != nil {
		if err := s.putAlarmsLocked(context.Background(), p, *watched, tc); err != nil {
			return nil, err
		}
	}
	if p.Alarms == nil {
		p.Alarms = []alarm{}
	}
	t.Policies = slices.DeleteFunc(t.Policies, func(o *policy) bool { return o.Name == p.Name })
	t.Policies = append(t.Policies, p)
	return struct {
		PolicyARN string  `json:"PolicyARN"`
		Alarms    []alarm `json:"Alarms"`
	}{p.ARN, p.Alarms}, nil
}

func findPolicy(t *target, name string) *policy {
	for _, p := range t.Policies {
		if p.Name == name {
			return p
		}
	}
	return nil
}

type policyOut struct {
	PolicyARN         string          `json:"PolicyARN"`
	PolicyName        string          `json:"PolicyName"`
	ServiceNamespace  string          `json:"ServiceNamespace"`
	ResourceID        string          `json:"ResourceId"`
	ScalableDimension string          `json:"ScalableDimension"`
	PolicyType        string          `json:"PolicyType"`
	Step              json.RawMessage `json:"StepScalingPolicyConfiguration,omitempty"`
	TargetTracking    json.RawMessage `json:"TargetTrackingScalingPolicyConfiguration,omitempty"`
	Alarms            []alarm         `json:"Alarms"`
	CreationTime      float64         `json:"CreationTime"`
}

func (s *Service) describeScalingPolicies(now time.Time, in *describeIn) (any, error) {
	ts, err := s.matching(in)
	if err != nil {
		return nil, err
	}
	var out []policyOut
	for _, t := range ts {
		for _, p := range t.Policies {
			if len(in.PolicyNames) > 0 && !slices.Contains(in.PolicyNames, p.Name) {
				continue
			}
			out = append(out, policyOut{
				PolicyARN: p.ARN, PolicyName: p.Name, ServiceNamespace: t.Key.Namespace, ResourceID: t.Key.Resource,
				ScalableDimension: t.Key.Dimension, PolicyType: p.Type, Step: p.Step, TargetTracking: p.TargetTracking,
				Alarms: p.Alarms, CreationTime: protocol.EpochSeconds(p.CreatedAt),
			})
		}
	}
	page, next, err := paginate(out, in.NextToken, in.MaxResults, 10)
	if err != nil {
		return nil, err
	}
	return struct {
		ScalingPolicies []policyOut `json:"ScalingPolicies"`
		NextToken       *string     `json:"NextToken,omitempty"`
	}{append([]policyOut{}, page...), next}, nil
}

type deletePolicyIn struct {
	keyIn
	PolicyName          string `json:"PolicyName"`
	ScheduledActionName string `json:"ScheduledActionName"`
}

func (s *Service) deleteScalingPolicy(now time.Time, in *deletePolicyIn) (any, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	t := s.targetLocked(in.key())
	if t == nil || findPolicy(t, in.PolicyName) == nil {
		return nil, notFound("No scaling policy found for service namespace: %s, resource ID: %s, scalable dimension: %s, policy name: %s",
			in.ServiceNamespace, in.ResourceID, in.ScalableDimension, in.PolicyName)
	}
	// The alarms the policy owns go with it.
	if err := s.deleteAlarmsLocked(context.Background(), findPolicy(t, in.PolicyName).Alarms); err != nil {
		return nil, err
	}
	t.Policies = slices.DeleteFunc(t.Policies, func(p *policy) bool { return p.Name == in.PolicyName })
	return struct{}{}, nil
}

type putScheduledIn struct {
	keyIn
	ScheduledActionName  string          `json:"ScheduledActionName"`
	Schedule             string          `json:"Schedule"`
	Timezone             string          `json:"Timezone"`
	StartTime            *float64        `json:"StartTime"`
	EndTime              *float64        `json:"EndTime"`
	ScalableTargetAction json.RawMessage `json:"ScalableTargetAction"`
}

var schedulePattern = regexp.MustCompile(`^(at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\))$`)

func (s *Service) putScheduledAction(now time.Time, in *putScheduledIn) (any, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	if !validName(in.ScheduledActionName) {
		return nil, validation("ScheduledActionName must be 1-256 printable characters without ':', '/' or '|'")
	}
	if !schedulePattern.MatchString(in.Schedule) {
		return nil, validation("Schedule %q is not at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)", in.Schedule)
	}
	if in.Timezone != "" {
		if _, err := time.LoadLocation(in.Timezone); err != nil {
			return nil, validation("Timezone %q is not a valid IANA time zone", in.Timezone)
		}
	}
	if in.StartTime != nil && in.EndTime != nil && *in.EndTime < *in.StartTime {
		return nil, validation("EndTime must be after StartTime")
	}
	if len(in.ScalableTargetAction) > 0 && string(in.ScalableTargetAction) != "null" {
		var a struct{ MinCapacity, MaxCapacity *int32 }
		if err := json.Unmarshal(in.ScalableTargetAction, &a); err != nil {
			return nil, protocol.Serializationf("ScalableTargetAction: %v", err)
		}
		if a.MinCapacity != nil && a.MaxCapacity != nil && *a.MinCapacity > *a.MaxCapacity {
			return nil, validation("Minimum capacity cannot be greater than maximum capacity")
		}
	}
	k := in.key()
	t := s.targetLocked(k)
	if t == nil {
		return nil, noTarget(k)
	}
	a := &scheduledAction{Name: in.ScheduledActionName, Schedule: in.Schedule, Timezone: in.Timezone,
		Start: in.StartTime, End: in.EndTime, Action: in.ScalableTargetAction, CreatedAt: now}
	for _, old := range t.Scheduled {
		if old.Name == a.Name {
			a.ARN, a.CreatedAt = old.ARN, old.CreatedAt
		}
	}
	sch, err := parseSchedule(a.Schedule, a.Timezone, a.anchor())
	if err != nil {
		return nil, validation("Schedule %q: %v", in.Schedule, err)
	}
	if n, ok := sch.next(now); ok {
		a.Next = &n
	}
	if a.ARN == "" {
		a.ARN = "arn:aws:autoscaling:" + s.region + ":" + protocol.Account + ":scheduledAction:" + s.id() +
			":resource/" + k.Namespace + "/" + k.Resource + ":scheduledActionName/" + a.Name
	}
	t.Scheduled = slices.DeleteFunc(t.Scheduled, func(o *scheduledAction) bool { return o.Name == a.Name })
	t.Scheduled = append(t.Scheduled, a)
	return struct{}{}, nil
}

type scheduledOut struct {
	ScheduledActionName  string          `json:"ScheduledActionName"`
	ScheduledActionARN   string          `json:"ScheduledActionARN"`
	ServiceNamespace     string          `json:"ServiceNamespace"`
	Schedule             string          `json:"Schedule"`
	Timezone             string          `json:"Timezone,omitempty"`
	ResourceID           string          `json:"ResourceId"`
	ScalableDimension    string          `json:"ScalableDimension"`
	StartTime            *float64        `json:"StartTime,omitempty"`
	EndTime              *float64        `json:"EndTime,omitempty"`
	ScalableTargetAction json.RawMessage `json:"ScalableTargetAction,omitempty"`
	CreationTime         float64         `json:"CreationTime"`
}

func (s *Service) describeScheduledActions(now time.Time, in *describeIn) (any, error) {
	ts, err := s.matching(in)
	if err != nil {
		return nil, err
	}
	var out []scheduledOut
	for _, t := range ts {
		for _, a := range t.Scheduled {
			if len(in.ScheduledActionNames) > 0 && !slices.Contains(in.ScheduledActionNames, a.Name) {
				continue
			}
			out = append(out, scheduledOut{
				ScheduledActionName: a.Name, ScheduledActionARN: a.ARN, ServiceNamespace: t.Key.Namespace,
				Schedule: a.Schedule, Timezone: a.Timezone, ResourceID: t.Key.Resource, ScalableDimension: t.Key.Dimension,
				StartTime: a.Start, EndTime: a.End, ScalableTargetAction: a.Action, CreationTime: protocol.EpochSeconds(a.CreatedAt),
			})
		}
	}
	page, next, err := paginate(out, in.NextToken, in.MaxResults, 50)
	if err != nil {
		return nil, err
	}
	return struct {
		ScheduledActions []scheduledOut `json:"ScheduledActions"`
		NextToken        *string        `json:"NextToken,omitempty"`
	}{append([]scheduledOut{}, page...), next}, nil
}

func (s *Service) deleteScheduledAction(now time.Time, in *deletePolicyIn) (any, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	t := s.targetLocked(in.key())
	if t == nil || !slices.ContainsFunc(t.Scheduled, func(a *scheduledAction) bool { return a.Name == in.ScheduledActionName }) {
		return nil, notFound("No scheduled action found for service namespace: %s, resource ID: %s, scalable dimension: %s, scheduled action name: %s",
			in.ServiceNamespace, in.ResourceID, in.ScalableDimension, in.ScheduledActionName)
	}
	t.Scheduled = slices.DeleteFunc(t.Scheduled, func(a *scheduledAction) bool { return a.Name == in.ScheduledActionName })
	return struct{}{}, nil
}

// Snapshot returns the whole state as JSON.
func (s *Service) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := json.Marshal(&s.st)
	if err != nil {
		return nil, fmt.Errorf("snapshot autoscaling: %w", err)
	}
	return b, nil
}

// Restore replaces the state with one taken by Snapshot.
func (s *Service) Restore(b []byte) error {
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("restore autoscaling: %w", err)
	}
	if slices.Contains(st.Targets, nil) {
		return fmt.Errorf("restore autoscaling: targets: null entry")
	}
	// A state saved before scheduled actions ran has no next runs: they
	// count from now.
	now := s.clock.Now()
	for _, t := range st.Targets {
		for _, a := range t.Scheduled {
			if a == nil || a.Next != nil {
				continue
			}
			if sch, err := parseSchedule(a.Schedule, a.Timezone, a.anchor()); err == nil {
				if n, ok := sch.next(now); ok {
					a.Next = &n
				}
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = st
	return nil
}

// paginate returns the page of items starting at token (a plain offset) and
// the token of the next page: size items unless max (1..50) says otherwise.
// A bad token or max gets Application Auto Scaling's error; the token is
// checked first.
func paginate[T any](items []T, token string, max *int32, size int) ([]T, *string, error) {
	page, next, err := protocol.Paginate(items, token, max, protocol.PageRules{DefaultSize: size, MaxSize: 50})
	switch {
	case errors.Is(err, protocol.ErrBadNextToken):
		return nil, nil, validation("Invalid NextToken")
	case err != nil:
		return nil, nil, validation("MaxResults must be between 1 and 50")
	case next == "":
		return page, nil, nil
	}
	return page, &next, nil
}
