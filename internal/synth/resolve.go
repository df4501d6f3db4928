// Package synth reads the CloudFormation template that the CDK app (infra/)
// synthesizes and resolves what a run outside CloudFormation needs: the plain
// Amazon States Language of each state machine, with placeholder ARNs in a
// given region and account, and the functions, buckets, queues and event
// rules the template declares. The tests, the ASL interpreter and the local
// endpoint all use it, so what they run is what CloudFormation receives.
//
// Resolution covers the intrinsics the CDK app emits: Ref (resources,
// parameters with a plain default, AWS::Region, AWS::AccountId,
// AWS::Partition, AWS::URLSuffix, AWS::StackName, AWS::StackId,
// AWS::NoValue), Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and Fn::Split.
// Anything else is an *UnsupportedError naming the intrinsic and where it is.
package synth

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Env is where the resolved resources are placed.
type Env struct {
	Region  string
	Account string
	// Partition defaults to "aws".
	Partition string
	// StackName names generated resources (buckets, queues without a name)
	// and AWS::StackName; it defaults to "slipway".
	StackName string
}

// Stack is what a template declares, resolved.
type Stack struct {
	StateMachines []StateMachine
	Functions     []Function
	Buckets       []Bucket
	Queues        []Queue
	Rules         []Rule
}

// StateMachine is an AWS::StepFunctions::StateMachine.
type StateMachine struct {
	LogicalID string
	Name      string
	ARN       string
	// Type is STANDARD or EXPRESS.
	Type string
	// Definition is the plain ASL document: every intrinsic resolved.
	Definition json.RawMessage
}

// Function is an AWS::Lambda::Function.
type Function struct {
	LogicalID string
	Name      string
	ARN       string
	// Kind is the value of the FunctionTag tag; empty for a function that is
	// not one of Slipway's.
	Kind        FunctionKind
	Environment map[string]string
	// TimeoutSeconds is the function timeout (Lambda's default 3 when unset).
	TimeoutSeconds int
}

// Bucket is an AWS::S3::Bucket.
type Bucket struct {
	LogicalID string
	Name      string
	ARN       string
	Versioned bool
	// EventBridge is true when the bucket sends its events to EventBridge.
	EventBridge bool
}

// Queue is an AWS::SQS::Queue.
type Queue struct {
	LogicalID string
	Name      string
	ARN       string
	URL       string
}

// Rule is an AWS::Events::Rule.
type Rule struct {
	LogicalID string
	Name      string
	ARN       string
	// EventBus is the bus name ("default" unless the template says).
	EventBus string
	// State is ENABLED or DISABLED.
	State        string
	EventPattern json.RawMessage
	Targets      []Target
}

// Target is one target of a rule.
type Target struct {
	ID  string
	ARN string
	// DeadLetterARN is the ARN of the target's dead-letter queue, if any.
	DeadLetterARN string
	// MaxRetryAttempts and MaxEventAgeSeconds are the retry policy; zero
	// when the template leaves them to EventBridge's defaults.
	MaxRetryAttempts   int
	MaxEventAgeSeconds int
}

// Function returns the function of the given kind.
func (s *Stack) Function(kind FunctionKind) (Function, bool) {
	for _, f := range s.Functions {
		if f.Kind == kind {
			return f, true
		}
	}
	return Function{}, false
}

// FunctionsByLogicalID maps each function's logical ID to the function
// (its name and kind), for mapping what the template refers to onto local
// handlers.
func (s *Stack) FunctionsByLogicalID() map[string]Function {
	m := make(map[string]Function, len(s.Functions))
	for _, f := range s.Functions {
		m[f.LogicalID] = f
	}
	return m
}

// FunctionByARN returns the function with the given (placeholder) ARN.
func (s *Stack) FunctionByARN(arn string) (Function, bool) {
	for _, f := range s.Functions {
		if f.ARN == arn {
			return f, true
		}
	}
	return Function{}, false
}

// UnsupportedError is an intrinsic function, pseudo parameter or attribute
// the resolver cannot give a local value to.
type UnsupportedError struct {
	// Path locates it in the template, e.g.
	// Resources.Deploy.Properties.DefinitionString.Fn::Join[1][2].
	Path string
	// What names it: "Fn::ImportValue", "Fn::GetAtt Bucket.DomainName", ….
	What string
}

// Error lists what is wrong.
func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s: unsupported: %s", e.Path, e.What)
}

// Resolve parses a synthesized template (JSON) and resolves every state
// machine, function, bucket, queue and rule in it for env.
func Resolve(template []byte, env Env) (*Stack, error) {
	var t struct {
		Parameters map[string]struct {
			Type    string `json:"Type"`
			Default any    `json:"Default"`
		} `json:"Parameters"`
		Resources map[string]struct {
			Type       string         `json:"Type"`
			Properties map[string]any `json:"Properties"`
		} `json:"Resources"`
	}
	if err := json.Unmarshal(template, &t); err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	if len(t.Resources) == 0 {
		return nil, fmt.Errorf("decode template: no Resources")
	}
	if env.Region == "" || env.Account == "" {
		return nil, fmt.Errorf("resolve template: region and account are required")
	}
	if env.Partition == "" {
		env.Partition = "aws"
	}
	if env.StackName == "" {
		env.StackName = "slipway"
	}
	r := &resolver{env: env, resources: map[string]resource{}, params: map[string]parameter{},
		names: map[string]string{}, naming: map[string]bool{}}
	for id, p := range t.Parameters {
		r.params[id] = parameter{typ: p.Type, def: p.Default}
	}
	for id, res := range t.Resources {
		r.resources[id] = resource{typ: res.Type, props: res.Properties}
	}

	s := &Stack{}
	for _, id := range sortedKeys(r.resources) {
		res := r.resources[id]
		var err error
		switch res.typ {
		case "AWS::StepFunctions::StateMachine":
			err = r.stateMachine(s, id, res)
		case "AWS::Lambda::Function":
			err = r.function(s, id, res)
		case "AWS::S3::Bucket":
			err = r.bucket(s, id, res)
		case "AWS::SQS::Queue":
			err = r.queue(s, id)
		case "AWS::Events::Rule":
			err = r.rule(s, id, res)
		}
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

type resource struct {
	typ   string
	props map[string]any
}

type parameter struct {
	typ string
	def any
}

type resolver struct {
	env       Env
	resources map[string]resource
	params    map[string]parameter
	// names caches physical names; naming guards against a name that
	// refers to itself.
	names  map[string]string
	naming map[string]bool
}

// noValue stands for AWS::NoValue: the enclosing key or element is dropped.
type noValue struct{}

func (r *resolver) stateMachine(s *Stack, id string, res resource) error {
	path := "Resources." + id + ".Properties"
	name, err := r.name(id)
	if err != nil {
		return err
	}
	var def string
	switch {
	case res.props["DefinitionString"] != nil:
		v, err := r.resolveString(res.props["DefinitionString"], path+".DefinitionString")
		if err != nil {
			return err
		}
		def = v
	case res.props["Definition"] != nil:
		v, err := r.resolve(res.props["Definition"], path+".Definition")
		if err != nil {
			return err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("%s.Definition: encode: %w", path, err)
		}
		def = string(b)
	default:
		return &UnsupportedError{Path: path, What: "a state machine without Definition or DefinitionString (DefinitionS3Location)"}
	}
	if subs, ok := res.props["DefinitionSubstitutions"].(map[string]any); ok {
		for _, k := range sortedKeys(subs) {
			v, err := r.resolveString(subs[k], path+".DefinitionSubstitutions."+k)
			if err != nil {
				return err
			}
			def = strings.ReplaceAll(def, "${"+k+"}", v)
		}
	}
	if !json.Valid([]byte(def)) {
		return fmt.Errorf("%s: the resolved definition is not valid JSON", path)
	}
	typ, _ := res.props["StateMachineType"].(string)
	if typ == "" {
		typ = "STANDARD"
	}
	s.StateMachines = append(s.StateMachines, StateMachine{
		LogicalID: id, Name: name, ARN: r.arn("states", "stateMachine:"+name), Type: typ,
		Definition: json.RawMessage(def),
	})
	return nil
}

func (r *resolver) function(s *Stack, id string, res resource) error {
	path := "Resources." + id + ".Properties"
	name, err := r.name(id)
	if err != nil {
		return err
	}
	f := Function{LogicalID: id, Name: name, ARN: r.arn("lambda", "function:"+name), TimeoutSeconds: 3}
	if tags, ok := res.props["Tags"].([]any); ok {
		for i, t := range tags {
			tag, _ := t.(map[string]any)
			if tag["Key"] != FunctionTag {
				continue
			}
			v, err := r.resolveString(tag["Value"], fmt.Sprintf("%s.Tags[%d].Value", path, i))
			if err != nil {
				return err
			}
			if !FunctionKind(v).Valid() {
				return fmt.Errorf("%s.Tags[%d]: %s is %q, want one of %v", path, i, FunctionTag, v, Kinds())
			}
			f.Kind = FunctionKind(v)
		}
	}
	if env, ok := res.props["Environment"].(map[string]any); ok && env["Variables"] != nil {
		resolved, err := r.resolve(env["Variables"], path+".Environment.Variables")
		if err != nil {
			return err
		}
		vars, ok := resolved.(map[string]any)
		if !ok {
			return fmt.Errorf("%s.Environment.Variables: got %T, want an object", path, resolved)
		}
		f.Environment = map[string]string{}
		for _, k := range sortedKeys(vars) {
			v, err := scalarString(vars[k], path+".Environment.Variables."+k)
			if err != nil {
				return err
			}
			f.Environment[k] = v
		}
	}
	if t, ok := res.props["Timeout"]; ok {
		n, err := r.resolveInt(t, path+".Timeout")
		if err != nil {
			return err
		}
		f.TimeoutSeconds = n
	}
	s.Functions = append(s.Functions, f)
	return nil
}

func (r *resolver) bucket(s *Stack, id string, res resource) error {
	name, err := r.name(id)
	if err != nil {
		return err
	}
	b := Bucket{LogicalID: id, Name: name, ARN: r.s3ARN(name)}
	if v, ok := res.props["VersioningConfiguration"].(map[string]any); ok {
		b.Versioned = v["Status"] == "Enabled"
	}
	if n, ok := res.props["NotificationConfiguration"].(map[string]any); ok {
		if e, ok := n["EventBridgeConfiguration"].(map[string]any); ok {
			b.EventBridge = e["EventBridgeEnabled"] == true || e["EventBridgeEnabled"] == "true"
		}
	}
	s.Buckets = append(s.Buckets, b)
	return nil
}

func (r *resolver) queue(s *Stack, id string) error {
	name, err := r.name(id)
	if err != nil {
		return err
	}
	s.Queues = append(s.Queues, Queue{LogicalID: id, Name: name, ARN: r.arn("sqs", name), URL: r.queueURL(name)})
	return nil
}

func (r *resolver) rule(s *Stack, id string, res resource) error {
	path := "Resources." + id + ".Properties"
	name, err := r.name(id)
	if err != nil {
		return err
	}
	rule := Rule{LogicalID: id, Name: name, ARN: r.arn("events", "rule/"+name), EventBus: "default", State: "ENABLED"}
	if v, ok := res.props["EventBusName"]; ok {
		if rule.EventBus, err = r.resolveString(v, path+".EventBusName"); err != nil {
			return err
		}
	}
	if v, ok := res.props["State"]; ok {
		if rule.State, err = r.resolveString(v, path+".State"); err != nil {
			return err
		}
	}
	if p, ok := res.props["EventPattern"]; ok {
		v, err := r.resolve(p, path+".EventPattern")
		if err != nil {
			return err
		}
		if str, ok := v.(string); ok {
			if !json.Valid([]byte(str)) {
				return fmt.Errorf("%s.EventPattern: not valid JSON", path)
			}
			rule.EventPattern = json.RawMessage(str)
		} else if rule.EventPattern, err = json.Marshal(v); err != nil {
			return fmt.Errorf("%s.EventPattern: encode: %w", path, err)
		}
	}
	targets, _ := res.props["Targets"].([]any)
	for i, t := range targets {
		tp := fmt.Sprintf("%s.Targets[%d]", path, i)
		v, err := r.resolve(t, tp)
		if err != nil {
			return err
		}
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %T, want an object", tp, v)
		}
		var tg Target
		tg.ID, _ = m["Id"].(string)
		if tg.ARN, ok = m["Arn"].(string); !ok {
			return fmt.Errorf("%s.Arn: required", tp)
		}
		if dl, ok := m["DeadLetterConfig"].(map[string]any); ok {
			tg.DeadLetterARN, _ = dl["Arn"].(string)
		}
		if rp, ok := m["RetryPolicy"].(map[string]any); ok {
			for key, dst := range map[string]*int{
				"MaximumRetryAttempts":     &tg.MaxRetryAttempts,
				"MaximumEventAgeInSeconds": &tg.MaxEventAgeSeconds,
			} {
				if rp[key] == nil {
					continue
				}
				if *dst, err = r.resolveInt(rp[key], tp+".RetryPolicy."+key); err != nil {
					return err
				}
			}
		}
		rule.Targets = append(rule.Targets, tg)
	}
	s.Rules = append(s.Rules, rule)
	return nil
}

// nameProperty is the property holding a resource type's physical name, for
// the types the resolver can name.
func nameProperty(typ string) (string, bool) {
	switch typ {
	case "AWS::Lambda::Function":
		return "FunctionName", true
	case "AWS::S3::Bucket":
		return "BucketName", true
	case "AWS::StepFunctions::StateMachine":
		return "StateMachineName", true
	case "AWS::SQS::Queue":
		return "QueueName", true
	case "AWS::Events::Rule":
		return "Name", true
	case "AWS::IAM::Role":
		return "RoleName", true
	case "AWS::Logs::LogGroup":
		return "LogGroupName", true
	}
	return "", false
}

var nonBucketChars = regexp.MustCompile(`[^a-z0-9-]+`)

// name returns a resource's physical name: the name property when the
// template sets it, otherwise one generated from the stack name and logical
// ID (as CloudFormation does, minus the random suffix).
func (r *resolver) name(id string) (string, error) {
	if n, ok := r.names[id]; ok {
		return n, nil
	}
	res, ok := r.resources[id]
	if !ok {
		return "", fmt.Errorf("no resource %s in the template", id)
	}
	prop, ok := nameProperty(res.typ)
	if !ok {
		return "", &UnsupportedError{Path: "Resources." + id, What: "a name for a resource of type " + res.typ}
	}
	if r.naming[id] {
		return "", fmt.Errorf("Resources.%s.Properties.%s: refers to itself", id, prop)
	}
	r.naming[id] = true
	defer delete(r.naming, id)
	var name string
	if v, ok := res.props[prop]; ok {
		n, err := r.resolveString(v, "Resources."+id+".Properties."+prop)
		if err != nil {
			return "", err
		}
		name = n
	} else {
		name = r.env.StackName + "-" + id
		if res.typ == "AWS::S3::Bucket" {
			name = strings.Trim(nonBucketChars.ReplaceAllString(strings.ToLower(name), "-"), "-")
		}
		if len(name) > 63 {
			name = name[:63]
		}
	}
	r.names[id] = name
	return name, nil
}

func (r *resolver) arn(service, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", r.env.Partition, service, r.env.Region, r.env.Account, resource)
}

func (r *resolver) s3ARN(bucket string) string {
	return fmt.Sprintf("arn:%s:s3:::%s", r.env.Partition, bucket)
}

func (r *resolver) queueURL(name string) string {
	return fmt.Sprintf("https://sqs.%s.%s/%s/%s", r.env.Region, r.urlSuffix(), r.env.Account, name)
}

func (r *resolver) urlSuffix() string {
	if strings.HasPrefix(r.env.Region, "cn-") {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

// ref resolves {"Ref": name}.
func (r *resolver) ref(name, path string) (any, error) {
	switch name {
	case "AWS::Region":
		return r.env.Region, nil
	case "AWS::AccountId":
		return r.env.Account, nil
	case "AWS::Partition":
		return r.env.Partition, nil
	case "AWS::URLSuffix":
		return r.urlSuffix(), nil
	case "AWS::StackName":
		return r.env.StackName, nil
	case "AWS::StackId":
		return r.arn("cloudformation", "stack/"+r.env.StackName+"/00000000-0000-0000-0000-000000000000"), nil
	case "AWS::NoValue":
		return noValue{}, nil
	}
	if strings.HasPrefix(name, "AWS::") {
		return nil, &UnsupportedError{Path: path, What: "Ref " + name}
	}
	if p, ok := r.params[name]; ok {
		if strings.HasPrefix(p.typ, "AWS::SSM::") || p.def == nil {
			return nil, &UnsupportedError{Path: path, What: fmt.Sprintf("Ref to parameter %s of type %s (no local value)", name, p.typ)}
		}
		return p.def, nil
	}
	res, ok := r.resources[name]
	if !ok {
		return nil, fmt.Errorf("%s: Ref to %s: no such resource or parameter", path, name)
	}
	n, err := r.name(name)
	if err != nil {
		return nil, err
	}
	switch res.typ {
	case "AWS::Lambda::Function", "AWS::S3::Bucket", "AWS::Events::Rule", "AWS::IAM::Role", "AWS::Logs::LogGroup":
		return n, nil
	case "AWS::StepFunctions::StateMachine":
		return r.arn("states", "stateMachine:"+n), nil
	case "AWS::SQS::Queue":
		return r.queueURL(n), nil
	}
	return nil, &UnsupportedError{Path: path, What: fmt.Sprintf("Ref to %s (%s)", name, res.typ)}
}

// getAtt resolves {"Fn::GetAtt": [id, attr]}.
func (r *resolver) getAtt(id, attr, path string) (any, error) {
	res, ok := r.resources[id]
	if !ok {
		return nil, fmt.Errorf("%s: Fn::GetAtt %s.%s: no such resource", path, id, attr)
	}
	unsupported := &UnsupportedError{Path: path, What: fmt.Sprintf("Fn::GetAtt %s.%s (%s)", id, attr, res.typ)}
	if _, ok := nameProperty(res.typ); !ok {
		return nil, unsupported
	}
	n, err := r.name(id)
	if err != nil {
		return nil, err
	}
	switch res.typ + "." + attr {
	case "AWS::Lambda::Function.Arn":
		return r.arn("lambda", "function:"+n), nil
	case "AWS::S3::Bucket.Arn":
		return r.s3ARN(n), nil
	case "AWS::StepFunctions::StateMachine.Arn":
		return r.arn("states", "stateMachine:"+n), nil
	case "AWS::StepFunctions::StateMachine.Name", "AWS::SQS::Queue.QueueName":
		return n, nil
	case "AWS::SQS::Queue.Arn":
		return r.arn("sqs", n), nil
	case "AWS::SQS::Queue.QueueUrl":
		return r.queueURL(n), nil
	case "AWS::Events::Rule.Arn":
		return r.arn("events", "rule/"+n), nil
	case "AWS::IAM::Role.Arn":
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", r.env.Partition, r.env.Account, n), nil
	case "AWS::Logs::LogGroup.Arn":
		return r.arn("logs", "log-group:"+n+":*"), nil
	}
	return nil, unsupported
}

// resolve replaces every intrinsic in v.
func (r *resolver) resolve(v any, path string) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return r.intrinsic(k, arg, path)
				}
			}
		}
		out := make(map[string]any, len(v))
		for _, k := range sortedKeys(v) {
			x, err := r.resolve(v[k], path+"."+k)
			if err != nil {
				return nil, err
			}
			if _, drop := x.(noValue); !drop {
				out[k] = x
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(v))
		for i, e := range v {
			x, err := r.resolve(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			if _, drop := x.(noValue); !drop {
				out = append(out, x)
			}
		}
		return out, nil
	default:
		return v, nil
	}
}

func (r *resolver) intrinsic(fn string, arg any, path string) (any, error) {
	p := path + "." + fn
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("%s: got %T, want a name", p, arg)
		}
		return r.ref(name, p)
	case "Fn::GetAtt":
		var id, attr string
		switch a := arg.(type) {
		case string:
			id, attr, _ = strings.Cut(a, ".")
		case []any:
			if len(a) == 2 {
				id, _ = a[0].(string)
				attr, _ = a[1].(string)
			}
		}
		if id == "" || attr == "" {
			return nil, fmt.Errorf("%s: want [logicalId, attribute], got %v", p, arg)
		}
		return r.getAtt(id, attr, p)
	case "Fn::Join":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, fmt.Errorf("%s: want [delimiter, [values]], got %v", p, arg)
		}
		delim, ok := a[0].(string)
		if !ok {
			return nil, fmt.Errorf("%s[0]: want a string delimiter", p)
		}
		list, err := r.resolve(a[1], p+"[1]")
		if err != nil {
			return nil, err
		}
		parts, ok := list.([]any)
		if !ok {
			return nil, fmt.Errorf("%s[1]: got %T, want a list", p, list)
		}
		strs := make([]string, len(parts))
		for i, x := range parts {
			s, err := scalarString(x, fmt.Sprintf("%s[1][%d]", p, i))
			if err != nil {
				return nil, err
			}
			strs[i] = s
		}
		return strings.Join(strs, delim), nil
	case "Fn::Sub":
		return r.sub(arg, p)
	case "Fn::Select":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, fmt.Errorf("%s: want [index, list], got %v", p, arg)
		}
		idx, err := r.resolveInt(a[0], p+"[0]")
		if err != nil {
			return nil, err
		}
		list, err := r.resolve(a[1], p+"[1]")
		if err != nil {
			return nil, err
		}
		l, ok := list.([]any)
		if !ok || idx < 0 || idx >= len(l) {
			return nil, fmt.Errorf("%s: index %d out of range", p, idx)
		}
		return l[idx], nil
	case "Fn::Split":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, fmt.Errorf("%s: want [delimiter, string], got %v", p, arg)
		}
		delim, ok := a[0].(string)
		if !ok {
			return nil, fmt.Errorf("%s[0]: want a string delimiter", p)
		}
		s, err := r.resolveString(a[1], p+"[1]")
		if err != nil {
			return nil, err
		}
		var out []any
		for _, x := range strings.Split(s, delim) {
			out = append(out, x)
		}
		return out, nil
	}
	return nil, &UnsupportedError{Path: path, What: fn}
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// sub resolves Fn::Sub in its two forms: "template" and ["template", {vars}].
func (r *resolver) sub(arg any, path string) (any, error) {
	var tmpl string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		tmpl = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("%s: want [template, {variables}], got %v", path, arg)
		}
		s, ok := a[0].(string)
		m, ok2 := a[1].(map[string]any)
		if !ok || !ok2 {
			return nil, fmt.Errorf("%s: want [template, {variables}], got %v", path, arg)
		}
		tmpl = s
		for k, v := range m {
			x, err := r.resolve(v, path+"[1]."+k)
			if err != nil {
				return nil, err
			}
			vars[k] = x
		}
	default:
		return nil, fmt.Errorf("%s: got %T, want a string or [template, {variables}]", path, arg)
	}
	var firstErr error
	out := subVar.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		var v any
		var err error
		if x, ok := vars[name]; ok {
			v = x
		} else if id, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			v, err = r.getAtt(id, attr, path)
		} else {
			v, err = r.ref(name, path)
		}
		if err == nil {
			var s string
			s, err = scalarString(v, path+" ${"+name+"}")
			if err == nil {
				return s
			}
		}
		if firstErr == nil {
			firstErr = err
		}
		return m
	})
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

func (r *resolver) resolveString(v any, path string) (string, error) {
	x, err := r.resolve(v, path)
	if err != nil {
		return "", err
	}
	return scalarString(x, path)
}

func (r *resolver) resolveInt(v any, path string) (int, error) {
	x, err := r.resolve(v, path)
	if err != nil {
		return 0, err
	}
	switch n := x.(type) {
	case float64:
		if n == float64(int(n)) {
			return int(n), nil
		}
	case string:
		if i, err := strconv.Atoi(n); err == nil {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%s: got %v, want a whole number", path, x)
}

// scalarString renders a resolved scalar as CloudFormation would in a string
// context.
func scalarString(v any, path string) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", fmt.Errorf("%s: got %T, want a string", path, v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
