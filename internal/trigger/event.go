package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Sources and detail types of the events Slipway listens to.
const (
	SourceECR                = "aws.ecr"
	DetailTypeECRImageAction = "ECR Image Action"

	SourceS3                = "aws.s3"
	DetailTypeObjectCreated = "Object Created"

	SourceCloudWatch           = "aws.cloudwatch"
	DetailTypeAlarmStateChange = "CloudWatch Alarm State Change"

	SourceECS                    = "aws.ecs"
	DetailTypeECSDeploymentState = "ECS Deployment State Change"
	// DetailTypeECSHookState is what a lifecycle hook of an ECS-native
	// deployment announces (PAUSE hooks: HOOK_AWAITING_ACTION).
	DetailTypeECSHookState = "ECS Hook State Change"
)

// ECS hook event names (detail.eventName of an ECS Hook State Change).
const (
	ECSHookInProgress     = "HOOK_IN_PROGRESS"
	ECSHookAwaitingAction = "HOOK_AWAITING_ACTION"
	ECSHookSucceeded      = "HOOK_SUCCEEDED"
	ECSHookFailed         = "HOOK_FAILED"
	ECSHookTimedOut       = "HOOK_TIMED_OUT"
)

// Values of ECR Image Action details that ask for a deployment.
const (
	ECRActionPush    = "PUSH"
	ECRResultSuccess = "SUCCESS"
)

// Alarm states (state.value of an alarm state change).
const (
	AlarmStateOK               = "OK"
	AlarmStateAlarm            = "ALARM"
	AlarmStateInsufficientData = "INSUFFICIENT_DATA"
)

// ECS deployment event names (detail.eventName).
const (
	ECSDeploymentInProgress = "SERVICE_DEPLOYMENT_IN_PROGRESS"
	ECSDeploymentCompleted  = "SERVICE_DEPLOYMENT_COMPLETED"
	ECSDeploymentFailed     = "SERVICE_DEPLOYMENT_FAILED"
)

// Envelope is an event as EventBridge delivers it to a Lambda function: the
// envelope fields every event has and a detail whose shape depends on the
// source and detail type.
type Envelope[D any] struct {
	Version    string    `json:"version"`
	ID         string    `json:"id"`
	DetailType string    `json:"detail-type"`
	Source     string    `json:"source"`
	Account    string    `json:"account"`
	Time       time.Time `json:"time"`
	Region     string    `json:"region"`
	Resources  []string  `json:"resources"`
	Detail     D         `json:"detail"`
}

// ECRImageAction is the detail of an "ECR Image Action" event. ImageTag is
// empty for an untagged push; ImageDigest may be empty when the action failed.
type ECRImageAction struct {
	Result            string `json:"result"`
	RepositoryName    string `json:"repository-name"`
	ImageDigest       string `json:"image-digest,omitempty"`
	ActionType        string `json:"action-type"`
	ImageTag          string `json:"image-tag,omitempty"`
	ManifestMediaType string `json:"manifest-media-type,omitempty"`
	ArtifactMediaType string `json:"artifact-media-type,omitempty"`
}

// ObjectCreated is the detail of an S3 "Object Created" event delivered
// through EventBridge (the bucket has EventBridge notifications enabled).
type ObjectCreated struct {
	Version         string   `json:"version"`
	Bucket          S3Bucket `json:"bucket"`
	Object          S3Object `json:"object"`
	RequestID       string   `json:"request-id"`
	Requester       string   `json:"requester"`
	SourceIPAddress string   `json:"source-ip-address,omitempty"`
	Reason          string   `json:"reason,omitempty"`
}

// S3Bucket names the bucket of an S3 event.
type S3Bucket struct {
	Name string `json:"name"`
}

// S3Object describes the object of an S3 event. Key may be URL-encoded (see
// ParseSpecKey).
type S3Object struct {
	Key       string `json:"key"`
	Size      int64  `json:"size"`
	ETag      string `json:"etag,omitempty"`
	VersionID string `json:"version-id,omitempty"`
	Sequencer string `json:"sequencer,omitempty"`
}

// AlarmStateChange is the detail of a "CloudWatch Alarm State Change" event.
type AlarmStateChange struct {
	AlarmName string `json:"alarmName"`
	// Configuration is the alarm's metric configuration; Slipway does not
	// read it, so it is kept as delivered.
	Configuration json.RawMessage `json:"configuration,omitempty"`
	PreviousState AlarmState      `json:"previousState"`
	State         AlarmState      `json:"state"`
}

// AlarmState is one state of an alarm. Timestamp is kept as a string:
// CloudWatch writes "2026-11-25T16:21:40.989+0000", which is not RFC 3339.
type AlarmState struct {
	Value      string `json:"value"`
	Reason     string `json:"reason"`
	ReasonData string `json:"reasonData,omitempty"`
	Timestamp  string `json:"timestamp"`
}

// ECSDeploymentStateChange is the detail of an "ECS Deployment State Change"
// event. The service's ARN is the envelope's first resource.
type ECSDeploymentStateChange struct {
	EventType    string `json:"eventType"`
	EventName    string `json:"eventName"`
	DeploymentID string `json:"deploymentId"`
	// UpdatedAt is kept as delivered: Slipway does not read it, and a
	// completion must not be dropped over a time format.
	UpdatedAt string `json:"updatedAt"`
	Reason    string `json:"reason"`
}

// ECSHookStateChange is the detail of an "ECS Hook State Change" event: a
// lifecycle hook of a service deployment of an ECS-native strategy. The
// service deployment's ARN is also the envelope's first resource.
type ECSHookStateChange struct {
	EventType string `json:"eventType"`
	EventName string `json:"eventName"`
	HookID    string `json:"hookId"`
	// HookType is PAUSE or AWS_LAMBDA.
	HookType string `json:"hookType"`
	// ExpiresAt and UpdatedAt are kept as delivered: Slipway reads the
	// hook's state from DescribeServiceDeployments, not from the event.
	ExpiresAt            string `json:"expiresAt,omitempty"`
	LifecycleStage       string `json:"lifecycleStage"`
	ClusterArn           string `json:"clusterArn"`
	ServiceArn           string `json:"serviceArn"`
	ServiceDeploymentArn string `json:"serviceDeploymentArn"`
	UpdatedAt            string `json:"updatedAt"`
}

// MalformedEvent says why a payload is not an event a handler can act on.
// Handlers log it and drop the event: retrying would not make it valid.
type MalformedEvent struct {
	// DetailType is the kind of event that was expected.
	DetailType string
	// ID is the event id, when the payload had one.
	ID string
	// Field is the path of the offending field ("detail.image-digest"), or
	// empty when the payload as a whole is wrong.
	Field string
	// Reason says what is wrong.
	Reason string
}

// Error reads "malformed <detail type> event <id>: <field>: <reason>".
func (e *MalformedEvent) Error() string {
	s := "malformed " + e.DetailType + " event"
	if e.ID != "" {
		s += " " + e.ID
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Reason
}

// Origin is where the events the trigger functions act on may come from:
// the stack's region, in the stack's account or in the account of a role
// Slipway may assume (an environment's roleArn). EventBridge delivers events
// of other accounts to a bus whose policy lets them in, and an ECR push or an
// alarm there would otherwise start or stop deployments here.
type Origin struct {
	// Region is the stack's region; every environment deploys there.
	Region string
	// Accounts are the stack's account and the accounts of its roles.
	Accounts []string
}

// Origin returns where c's stack accepts events from: the region and
// account of its state machine ARN (arn:PARTITION:states:REGION:ACCOUNT:…)
// and the accounts of its AssumeRoles (arn:PARTITION:iam::ACCOUNT:role/…).
func (c Config) Origin() Origin {
	var o Origin
	if region, account, ok := arnRegionAccount(c.StateMachineARN); ok {
		o.Region = region
		o.Accounts = append(o.Accounts, account)
	}
	for _, r := range c.AssumeRoles {
		if _, account, ok := arnRegionAccount(r); ok && !slices.Contains(o.Accounts, account) {
			o.Accounts = append(o.Accounts, account)
		}
	}
	return o
}

// arnRegionAccount returns the region and account fields of an ARN; ok is
// false when arn is not one or names no account.
func arnRegionAccount(arn string) (region, account string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || parts[4] == "" {
		return "", "", false
	}
	return parts[3], parts[4], true
}

// Accepts reports whether an event of account and region comes from the
// stack or one of its roles' accounts, in the stack's region. Nothing is
// accepted when the stack's own account is unknown.
func (o Origin) Accepts(account, region string) bool {
	return region != "" && region == o.Region && slices.Contains(o.Accounts, account)
}

// ignoredMessage is the log message of an event from elsewhere.
const ignoredMessage = "event ignored: it comes from neither the stack's account nor an environment role's account in the stack's region"

// fromOrigin reports whether o accepts ev, and logs an event it does not
// accept (with its account, region and source), which the handler ignores.
func fromOrigin[D any](o Origin, log *slog.Logger, ev *Envelope[D]) bool {
	if o.Accepts(ev.Account, ev.Region) {
		return true
	}
	log.Warn(ignoredMessage, "event", ev.ID, "account", ev.Account, "region", ev.Region, "source", ev.Source,
		"accounts", o.Accounts, "stackRegion", o.Region)
	return false
}

// Header reads the envelope fields that say what kind of event data is,
// so one handler can route several kinds.
func Header(data []byte) (Envelope[json.RawMessage], error) {
	var env Envelope[json.RawMessage]
	if err := decode(data, &env); err != nil {
		return env, &MalformedEvent{DetailType: "EventBridge", Field: err.field, Reason: err.reason}
	}
	if env.Source == "" {
		return env, &MalformedEvent{DetailType: "EventBridge", ID: env.ID, Field: "source", Reason: "missing"}
	}
	if env.DetailType == "" {
		return env, &MalformedEvent{DetailType: "EventBridge", ID: env.ID, Field: "detail-type", Reason: "missing"}
	}
	return env, nil
}

// ParseECRImageAction parses and validates an "ECR Image Action" event. The
// digest is checked only for a successful push, the one action Slipway acts
// on; a tag, when present, must be a valid image tag.
func ParseECRImageAction(data []byte) (*Envelope[ECRImageAction], error) {
	ev, err := parse[ECRImageAction](data, SourceECR, DetailTypeECRImageAction)
	if err != nil {
		return nil, err
	}
	d := ev.Detail
	bad := func(field, reason string) error {
		return &MalformedEvent{DetailType: DetailTypeECRImageAction, ID: ev.ID, Field: "detail." + field, Reason: reason}
	}
	switch {
	case d.RepositoryName == "":
		return nil, bad("repository-name", "missing")
	case !repositoryName.MatchString(d.RepositoryName) || len(d.RepositoryName) > 256:
		return nil, bad("repository-name", fmt.Sprintf("%q is not an ECR repository name", d.RepositoryName))
	case d.ActionType == "":
		return nil, bad("action-type", "missing")
	case d.Result == "":
		return nil, bad("result", "missing")
	case d.ImageTag != "" && !imageTag.MatchString(d.ImageTag):
		return nil, bad("image-tag", fmt.Sprintf("%q is not an image tag", d.ImageTag))
	}
	if d.ActionType == ECRActionPush && d.Result == ECRResultSuccess {
		if d.ImageDigest == "" {
			return nil, bad("image-digest", "missing")
		}
		if !imageDigest.MatchString(d.ImageDigest) {
			return nil, bad("image-digest", fmt.Sprintf("%q is not a sha256 digest", d.ImageDigest))
		}
	}
	return ev, nil
}

// ParseObjectCreated parses and validates an S3 "Object Created" event. The
// version id is required: the spec bucket is versioned, and a deployment
// names the exact version it deploys.
func ParseObjectCreated(data []byte) (*Envelope[ObjectCreated], error) {
	ev, err := parse[ObjectCreated](data, SourceS3, DetailTypeObjectCreated)
	if err != nil {
		return nil, err
	}
	d := ev.Detail
	bad := func(field, reason string) error {
		return &MalformedEvent{DetailType: DetailTypeObjectCreated, ID: ev.ID, Field: "detail." + field, Reason: reason}
	}
	switch {
	case d.Bucket.Name == "":
		return nil, bad("bucket.name", "missing")
	case d.Object.Key == "":
		return nil, bad("object.key", "missing")
	case d.Object.VersionID == "":
		return nil, bad("object.version-id", "missing: the spec bucket must have versioning enabled")
	case d.Object.Size < 0:
		return nil, bad("object.size", fmt.Sprintf("%d is negative", d.Object.Size))
	}
	return ev, nil
}

// ParseAlarmStateChange parses and validates a "CloudWatch Alarm State
// Change" event.
func ParseAlarmStateChange(data []byte) (*Envelope[AlarmStateChange], error) {
	ev, err := parse[AlarmStateChange](data, SourceCloudWatch, DetailTypeAlarmStateChange)
	if err != nil {
		return nil, err
	}
	d := ev.Detail
	bad := func(field, reason string) error {
		return &MalformedEvent{DetailType: DetailTypeAlarmStateChange, ID: ev.ID, Field: "detail." + field, Reason: reason}
	}
	switch {
	case d.AlarmName == "":
		return nil, bad("alarmName", "missing")
	case d.State.Value == "":
		return nil, bad("state.value", "missing")
	case !validAlarmState(d.State.Value):
		return nil, bad("state.value", fmt.Sprintf("%q is not OK, ALARM or INSUFFICIENT_DATA", d.State.Value))
	}
	return ev, nil
}

// ParseECSDeploymentStateChange parses and validates an "ECS Deployment State
// Change" event. An event name Slipway does not know is not malformed (ECS
// may add some); the handler ignores it.
func ParseECSDeploymentStateChange(data []byte) (*Envelope[ECSDeploymentStateChange], error) {
	ev, err := parse[ECSDeploymentStateChange](data, SourceECS, DetailTypeECSDeploymentState)
	if err != nil {
		return nil, err
	}
	d := ev.Detail
	bad := func(field, reason string) error {
		return &MalformedEvent{DetailType: DetailTypeECSDeploymentState, ID: ev.ID, Field: "detail." + field, Reason: reason}
	}
	switch {
	case d.EventName == "":
		return nil, bad("eventName", "missing")
	case d.DeploymentID == "":
		return nil, bad("deploymentId", "missing")
	}
	return ev, nil
}

// ParseECSHookStateChange parses and validates an "ECS Hook State Change"
// event: it must name its event, its service deployment (an ECS service
// deployment ARN) and, awaiting action, its hook.
func ParseECSHookStateChange(data []byte) (*Envelope[ECSHookStateChange], error) {
	ev, err := parse[ECSHookStateChange](data, SourceECS, DetailTypeECSHookState)
	if err != nil {
		return nil, err
	}
	d := ev.Detail
	bad := func(field, reason string) error {
		return &MalformedEvent{DetailType: DetailTypeECSHookState, ID: ev.ID, Field: "detail." + field, Reason: reason}
	}
	switch {
	case d.EventName == "":
		return nil, bad("eventName", "missing")
	case d.ServiceDeploymentArn == "":
		return nil, bad("serviceDeploymentArn", "missing")
	case !strings.HasPrefix(d.ServiceDeploymentArn, "arn:") || !strings.Contains(d.ServiceDeploymentArn, ":service-deployment/"):
		return nil, bad("serviceDeploymentArn", fmt.Sprintf("%q is not an ECS service deployment ARN", d.ServiceDeploymentArn))
	case d.EventName == ECSHookAwaitingAction && d.HookID == "":
		return nil, bad("hookId", "missing")
	}
	return ev, nil
}

var (
	// repositoryName is ECR's repository name pattern.
	repositoryName = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	// imageTag is ECR's image tag rule: up to 300 characters, no leading
	// period or dash.
	imageTag    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}$`)
	imageDigest = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

func validAlarmState(v string) bool {
	return v == AlarmStateOK || v == AlarmStateAlarm || v == AlarmStateInsufficientData
}

// parse decodes data as an event of the given source and detail type and
// checks the envelope. Unknown fields are allowed: AWS adds fields to its
// events over time, and an event must not be dropped for that.
func parse[D any](data []byte, source, detailType string) (*Envelope[D], error) {
	head, err := Header(data)
	if err != nil {
		var m *MalformedEvent
		if errors.As(err, &m) {
			m.DetailType = detailType
		}
		return nil, err
	}
	bad := func(field, reason string) error {
		return &MalformedEvent{DetailType: detailType, ID: head.ID, Field: field, Reason: reason}
	}
	switch {
	case head.Source != source:
		return nil, bad("source", fmt.Sprintf("%q, want %q", head.Source, source))
	case head.DetailType != detailType:
		return nil, bad("detail-type", fmt.Sprintf("%q, want %q", head.DetailType, detailType))
	case head.ID == "":
		return nil, bad("id", "missing")
	case len(bytes.TrimSpace(head.Detail)) == 0 || bytes.Equal(bytes.TrimSpace(head.Detail), []byte("null")):
		return nil, bad("detail", "missing")
	}
	var ev Envelope[D]
	if err := decode(data, &ev); err != nil {
		return nil, bad(err.field, err.reason)
	}
	return &ev, nil
}

// decodeError is a JSON decoding failure with the path of the field at fault.
type decodeError struct{ field, reason string }

func decode(data []byte, v any) *decodeError {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return &decodeError{field: typeErr.Field, reason: fmt.Sprintf("%s where %s was expected", typeErr.Value, typeErr.Type)}
		}
		var timeErr *time.ParseError
		if errors.As(err, &timeErr) {
			return &decodeError{reason: "a time is not RFC 3339: " + timeErr.Error()}
		}
		return &decodeError{reason: "not an event: " + err.Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &decodeError{reason: "not an event: data after the JSON object"}
	}
	return nil
}
