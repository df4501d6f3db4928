package stack

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Context keys read from cdk.json (or `cdk synth -c key=value`). Each maps to
// one field of Settings.
const (
	KeyStackName      = "slipway:stackName"
	KeySpecBucketName = "slipway:specBucketName"
	KeyClusters       = "slipway:clusters"
	KeyPassRoles      = "slipway:passRoles"
	// KeyInfrastructureRoles are the ELB infrastructure roles of kind ecs.
	KeyInfrastructureRoles = "slipway:infrastructureRoles"
	KeyAssumeRoles         = "slipway:assumeRoles"
	KeyApproverRoles       = "slipway:approverRoleArns"
	KeyDefaultAlarms       = "slipway:defaultAlarms"
	KeyLogRetentionDays    = "slipway:logRetentionDays"
	KeyReconcileInterval   = "slipway:reconcileIntervalSeconds"
	KeyAssetDir            = "slipway:assetDir"
	KeyLogExecutionData    = "slipway:logExecutionData"
	// The reserved concurrency of the functions EventBridge invokes.
	KeyECRPushConcurrency    = "slipway:ecrPushConcurrency"
	KeySpecUploadConcurrency = "slipway:specUploadConcurrency"
	KeySignalConcurrency     = "slipway:signalConcurrency"
	// KeyEventForwarder adds the event forwarder stack (see NewForwarder)
	// to the app, to be deployed in the accounts of the assume roles.
	KeyEventForwarder = "slipway:eventForwarder"
)

// Settings is everything a deployer may choose about the stack. Build it with
// FromContext (or start from Defaults) and check it with Validate.
type Settings struct {
	// StackName is the CloudFormation stack name; it also prefixes the
	// function and state machine names.
	StackName string
	// SpecBucketName names the spec bucket; empty lets CloudFormation
	// generate a name.
	SpecBucketName string
	// Clusters are the ECS clusters Slipway may deploy to, as names in the
	// stack's account and region (a trailing or inner * is allowed) or as
	// cluster ARNs.
	Clusters []string
	// PassRoles are the task and execution roles Slipway may pass to ECS, as
	// role names in the stack's account (wildcards allowed, e.g. "app-*") or
	// as role ARNs.
	PassRoles []string
	// InfrastructureRoles are the IAM roles ECS assumes to change listener
	// rules in a deployment of kind ecs (an environment's
	// loadBalancers.<service>.infrastructureRoleArn), as role names or
	// ARNs like PassRoles. Slipway may pass them to ECS only
	// (iam:PassedToService ecs.amazonaws.com).
	InfrastructureRoles []string
	// AssumeRoles are role ARNs Slipway may assume to deploy into other
	// accounts (an environment's roleArn).
	AssumeRoles []string
	// ApproverRoles are the role ARNs (no wildcards) whose sessions may
	// approve deployments. When set, only they may write approval records
	// (approved/ in the state bucket), and an approval without one by them
	// ends the deployment Rejected; empty leaves approval to anyone allowed
	// states:SendTaskSuccess who can read the token (see docs/security.md).
	ApproverRoles []string
	// DefaultAlarms are CloudWatch alarm names watched in every deployment in
	// addition to the ones the specs name.
	DefaultAlarms []string
	// LogRetentionDays is how long function and state machine logs are kept;
	// one of the values CloudWatch Logs accepts.
	LogRetentionDays int
	// ReconcileIntervalSeconds is how long a wait for an event (ECS
	// deployment, lock hand-over) lasts before the state is re-checked, in
	// case the event was lost.
	ReconcileIntervalSeconds int
	// AssetDir holds <fn>/bootstrap for every function (`make build` writes
	// build/<fn>/bootstrap).
	AssetDir string
	// LogExecutionData includes execution input and output in the state
	// machine's logs. Off by default: the state document names images and
	// services, which some teams keep out of logs.
	LogExecutionData bool
	// ECRPushConcurrency, SpecUploadConcurrency and SignalConcurrency are
	// the reserved concurrency of the functions EventBridge invokes
	// asynchronously: each always has that many executions available, and
	// never more, so a burst of events neither starves the deploy step nor
	// is starved by other functions (what it cannot take yet is retried).
	// 0 reserves nothing (the function shares the account's unreserved
	// pool), for accounts whose concurrency limit is too low to reserve.
	ECRPushConcurrency    int
	SpecUploadConcurrency int
	SignalConcurrency     int
	// EventForwarder also synthesizes the event forwarder stack
	// (<StackName>EventForwarder), which a deployer deploys in every
	// account of an AssumeRoles role so that its alarm and ECS deployment
	// events reach Slipway. It needs at least one assume role.
	EventForwarder bool
}

// Defaults returns the settings used for every key the context leaves out.
// Clusters has no default: which clusters Slipway may touch is always a
// decision of the deployer.
func Defaults() Settings {
	return Settings{
		StackName:                "Slipway",
		LogRetentionDays:         30,
		ReconcileIntervalSeconds: 120,
		AssetDir:                 "build",
		ECRPushConcurrency:       5,
		SpecUploadConcurrency:    5,
		SignalConcurrency:        10,
	}
}

// SettingsError lists every problem found in the settings, each prefixed with
// the context key it concerns.
type SettingsError struct {
	Problems []string
}

// Error lists what is wrong.
func (e *SettingsError) Error() string {
	return "invalid settings: " + strings.Join(e.Problems, "; ")
}

// FromContext reads the settings from CDK context through lookup (usually
// app.Node().TryGetContext), applies Defaults for missing keys, and
// validates the result. Values given on the command line arrive as strings:
// lists may then be comma-separated and numbers and booleans are parsed.
func FromContext(lookup func(key string) any) (Settings, error) {
	s := Defaults()
	var problems []string
	str := func(key string, dst *string) {
		switch v := lookup(key).(type) {
		case nil:
		case string:
			*dst = v
		default:
			problems = append(problems, fmt.Sprintf("%s: got %T, want a string", key, v))
		}
	}
	list := func(key string, dst *[]string) {
		v, err := stringList(lookup(key))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", key, err))
			return
		}
		if v != nil {
			*dst = v
		}
	}
	num := func(key string, dst *int) {
		v, ok, err := integer(lookup(key))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", key, err))
			return
		}
		if ok {
			*dst = v
		}
	}
	str(KeyStackName, &s.StackName)
	str(KeySpecBucketName, &s.SpecBucketName)
	list(KeyClusters, &s.Clusters)
	list(KeyPassRoles, &s.PassRoles)
	list(KeyInfrastructureRoles, &s.InfrastructureRoles)
	list(KeyAssumeRoles, &s.AssumeRoles)
	list(KeyApproverRoles, &s.ApproverRoles)
	list(KeyDefaultAlarms, &s.DefaultAlarms)
	num(KeyLogRetentionDays, &s.LogRetentionDays)
	num(KeyReconcileInterval, &s.ReconcileIntervalSeconds)
	str(KeyAssetDir, &s.AssetDir)
	num(KeyECRPushConcurrency, &s.ECRPushConcurrency)
	num(KeySpecUploadConcurrency, &s.SpecUploadConcurrency)
	num(KeySignalConcurrency, &s.SignalConcurrency)
	flag := func(key string, dst *bool) {
		switch v := lookup(key).(type) {
		case nil:
		case bool:
			*dst = v
		case string:
			b, err := strconv.ParseBool(v)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: got %q, want true or false", key, v))
			}
			*dst = b
		default:
			problems = append(problems, fmt.Sprintf("%s: got %T, want a boolean", key, v))
		}
	}
	flag(KeyLogExecutionData, &s.LogExecutionData)
	flag(KeyEventForwarder, &s.EventForwarder)
	if len(problems) > 0 {
		return s, &SettingsError{Problems: problems}
	}
	return s, s.Validate()
}

// stringList accepts a JSON list of strings, or a comma-separated string as
// given with -c on the command line. It returns nil for a missing key.
func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		if strings.HasPrefix(strings.TrimSpace(v), "[") {
			var out []string
			if err := json.Unmarshal([]byte(v), &out); err != nil {
				return nil, fmt.Errorf("decode list %q: %w", v, err)
			}
			return out, nil
		}
		out := []string{}
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out, nil
	case []any:
		out := make([]string, 0, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("[%d]: got %T, want a string", i, e)
			}
			out = append(out, s)
		}
		return out, nil
	case []string:
		return v, nil
	default:
		return nil, fmt.Errorf("got %T, want a list of strings", v)
	}
}

// integer accepts a JSON number or a decimal string.
func integer(v any) (int, bool, error) {
	switch v := v.(type) {
	case nil:
		return 0, false, nil
	case float64:
		if v != float64(int(v)) {
			return 0, false, fmt.Errorf("got %v, want a whole number", v)
		}
		return int(v), true, nil
	case int:
		return v, true, nil
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return 0, false, fmt.Errorf("got %q, want a whole number", v)
		}
		return n, true, nil
	default:
		return 0, false, fmt.Errorf("got %T, want a number", v)
	}
}

var (
	stackNameRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,47}$`)
	bucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	clusterRE    = regexp.MustCompile(`^[A-Za-z0-9_*-]{1,255}$`)
	clusterARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster/[A-Za-z0-9_*-]{1,255}$`)
	roleNameRE   = regexp.MustCompile(`^[A-Za-z0-9+=,.@_/*-]{1,512}$`)
	roleARNRE    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/*-]{1,512}$`)
	alarmNameRE  = regexp.MustCompile(`^[^\x00-\x1f]{1,255}$`)
)

// Validate reports every problem with s at once.
func (s Settings) Validate() error {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if !stackNameRE.MatchString(s.StackName) {
		add("%s: %q is not a stack name (a letter, then up to 47 letters, digits or hyphens)", KeyStackName, s.StackName)
	}
	if s.SpecBucketName != "" && (!bucketNameRE.MatchString(s.SpecBucketName) || strings.Contains(s.SpecBucketName, "..")) {
		add("%s: %q is not an S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)", KeySpecBucketName, s.SpecBucketName)
	}
	if len(s.Clusters) == 0 {
		add("%s: required: the ECS clusters Slipway may deploy to", KeyClusters)
	}
	for i, c := range s.Clusters {
		switch {
		case c == "*":
			add("%s[%d]: \"*\" would allow every cluster; name the clusters (a prefix such as \"prod-*\" is fine)", KeyClusters, i)
		case !clusterRE.MatchString(c) && !clusterARNRE.MatchString(c):
			add("%s[%d]: %q is neither a cluster name nor a cluster ARN", KeyClusters, i, c)
		case !literalPrefix(c, ":cluster/"):
			add("%s[%d]: %q has no literal prefix before its first \"*\": it would match clusters nobody named; start the pattern with a name prefix (such as \"prod-*\")", KeyClusters, i, c)
		}
	}
	passable := func(key string, roles []string) {
		for i, r := range roles {
			if r == "*" || strings.HasSuffix(r, ":role/*") {
				add("%s[%d]: %q would allow passing every role; name the roles or a prefix", key, i, r)
			} else if !literalPrefix(r, ":role/") {
				add("%s[%d]: %q has no literal prefix before its first \"*\" in the role name: it would allow passing roles nobody named; start the pattern with a name prefix (such as \"app-*\" or \"team/app-*\")", key, i, r)
			} else if strings.HasPrefix(r, "arn:") {
				if !roleARNRE.MatchString(r) {
					add("%s[%d]: %q is not an IAM role ARN", key, i, r)
				}
			} else if !roleNameRE.MatchString(r) {
				add("%s[%d]: %q is not an IAM role name", key, i, r)
			}
		}
	}
	passable(KeyPassRoles, s.PassRoles)
	passable(KeyInfrastructureRoles, s.InfrastructureRoles)
	for i, r := range s.AssumeRoles {
		if !roleARNRE.MatchString(r) || strings.Contains(r, "*") {
			add("%s[%d]: %q is not an IAM role ARN without wildcards", KeyAssumeRoles, i, r)
		}
	}
	for i, r := range s.ApproverRoles {
		switch {
		case !roleARNRE.MatchString(r) || strings.Contains(r, "*"):
			add("%s[%d]: %q is not an IAM role ARN without wildcards: name each approver role exactly", KeyApproverRoles, i, r)
		case strings.Contains(r, ","):
			add("%s[%d]: %q contains a comma, which separates the roles in the step function's environment", KeyApproverRoles, i, r)
		case slices.Contains(s.ApproverRoles[:i], r):
			add("%s[%d]: %q is listed twice", KeyApproverRoles, i, r)
		}
	}
	for i, a := range s.DefaultAlarms {
		if !alarmNameRE.MatchString(a) {
			add("%s[%d]: %q is not an alarm name (1-255 printable characters)", KeyDefaultAlarms, i, a)
		}
	}
	if _, ok := retentionDays(s.LogRetentionDays); !ok {
		add("%s: %d is not a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)", KeyLogRetentionDays, s.LogRetentionDays)
	}
	if s.ReconcileIntervalSeconds < 10 || s.ReconcileIntervalSeconds > 3600 {
		add("%s: %d is out of range (10 to 3600 seconds)", KeyReconcileInterval, s.ReconcileIntervalSeconds)
	}
	if strings.TrimSpace(s.AssetDir) == "" {
		add("%s: required", KeyAssetDir)
	}
	for _, c := range []struct {
		key string
		n   int
	}{{KeyECRPushConcurrency, s.ECRPushConcurrency}, {KeySpecUploadConcurrency, s.SpecUploadConcurrency}, {KeySignalConcurrency, s.SignalConcurrency}} {
		if c.n < 0 || c.n > 1000 {
			add("%s: %d is out of range (0 to reserve nothing, or 1 to 1000)", c.key, c.n)
		}
	}
	if s.EventForwarder && len(s.EventSourceAccounts()) == 0 {
		add("%s: true, but %s names no role: the forwarder is deployed in the accounts of those roles, and Slipway accepts events from no other account", KeyEventForwarder, KeyAssumeRoles)
	}
	if len(p) > 0 {
		return &SettingsError{Problems: p}
	}
	return nil
}

// EventSourceAccounts returns the accounts of the AssumeRoles, sorted and
// without duplicates: the other accounts whose events Slipway acts on (the
// trigger functions accept events from them) and may receive on its event
// bus (the bus policy lets them put alarm and ECS deployment events there).
// They may include the stack's own account, which synthesis cannot know.
func (s Settings) EventSourceAccounts() []string {
	var out []string
	for _, r := range s.AssumeRoles {
		if !roleARNRE.MatchString(r) {
			continue
		}
		// arn:PARTITION:iam::ACCOUNT:role/NAME
		if account := strings.Split(r, ":")[4]; !slices.Contains(out, account) {
			out = append(out, account)
		}
	}
	slices.Sort(out)
	return out
}

// literalPrefix reports whether the name in a cluster or role pattern (the
// part after marker, such as ":role/", in an ARN; the whole value
// otherwise) has a literal prefix before any "*": the path segment holding
// the first "*" must start with at least one character that is not "*".
// "prod-*" and "team/app-*" have one; "*", "**", "*/*", "role/**" and
// "*-prod" do not: they match names nobody chose.
func literalPrefix(v, marker string) bool {
	if i := strings.Index(v, marker); strings.HasPrefix(v, "arn:") && i >= 0 {
		v = v[i+len(marker):]
	}
	star := strings.Index(v, "*")
	if star < 0 {
		return true
	}
	segment := v[strings.LastIndex(v[:star], "/")+1 : star]
	return segment != ""
}
