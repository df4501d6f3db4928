package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/synth"
)

// testSettings exercises every setting: a named spec bucket, a cluster by
// name and one by ARN, role patterns and ARNs, an assumable role, alarms and
// execution data in the logs.
func testSettings(assetDir string) Settings {
	s := Defaults()
	s.StackName = "Test"
	s.SpecBucketName = "acme-slipway-specs"
	s.Clusters = []string{"prod", "arn:aws:ecs:eu-west-1:111122223333:cluster/shared"}
	s.PassRoles = []string{"app-task-*", "arn:aws:iam::111122223333:role/exec"}
	s.InfrastructureRoles = []string{"ecs-infrastructure", "arn:aws:iam::111122223333:role/ecs-elb"}
	s.AssumeRoles = []string{"arn:aws:iam::444455556666:role/slipway-deployer"}
	s.DefaultAlarms = []string{"ecs-cpu-high", "web-5xx"}
	s.LogRetentionDays = 90
	s.ReconcileIntervalSeconds = 60
	s.AssetDir = assetDir
	s.LogExecutionData = true
	return s
}

// fixture is the stack synthesized once for all template tests (each
// synthesis costs seconds of jsii).
type fixture struct {
	st *Stack
	// fw is the event forwarder when the fixture is its template.
	fw *Forwarder
	// stack is the synthesized stack: st's, or the event forwarder's.
	stack    awscdk.Stack
	template assertions.Template
	doc      map[string]any
	raw      []byte
}

var synthesized = sync.OnceValues(func() (*fixture, error) {
	dir, err := os.MkdirTemp("", "slipway-infra-test-")
	if err != nil {
		return nil, err
	}
	// The process ends after the tests; jsii keeps the assets open until
	// then, so the directory is left to the OS temp cleaner.
	if err := PlaceholderAssets(dir + "/assets"); err != nil {
		return nil, err
	}
	raw, st, err := Synthesize(testSettings(dir+"/assets"), dir+"/cdk.out")
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	return &fixture{st: st, stack: st.Stack, template: assertions.Template_FromString(jsii.String(string(raw)), nil), doc: doc, raw: raw}, nil
})

func stackFixture(t *testing.T) *fixture {
	t.Helper()
	f, err := synthesized()
	if err != nil {
		t.Fatalf("synthesize: %v", err)
	}
	return f
}

// logicalID returns the logical ID of a construct's CloudFormation resource.
func (f *fixture) logicalID(c constructs.IConstruct) string {
	return *f.stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
}

func (f *fixture) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range f.doc["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			props, _ := res["Properties"].(map[string]any)
			out[id] = props
		}
	}
	return out
}

// render prints a template value with intrinsics as ${Ref} and ${Id.Attr},
// so that expected policies read like ARNs.
func render(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if r, ok := v["Ref"].(string); ok {
			return "${" + r + "}"
		}
		if g, ok := v["Fn::GetAtt"].([]any); ok {
			return fmt.Sprintf("${%s.%s}", g[0], g[1])
		}
		if j, ok := v["Fn::Join"].([]any); ok {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, render(p))
			}
			return strings.Join(parts, j[0].(string))
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// grants flattens the policies attached to a role into action → sorted
// resources; an action with a condition is keyed "action if {condition}".
func (f *fixture) grants(t *testing.T, roleID string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range f.resources("AWS::IAM::Policy") {
		attached := false
		for _, r := range list(p["Roles"]) {
			if render(r) == "${"+roleID+"}" {
				attached = true
			}
		}
		if !attached {
			continue
		}
		doc := p["PolicyDocument"].(map[string]any)
		for _, s := range list(doc["Statement"]) {
			st := s.(map[string]any)
			if st["Effect"] != "Allow" {
				t.Errorf("role %s: statement with effect %v", roleID, st["Effect"])
			}
			for _, a := range list(st["Action"]) {
				key := a.(string)
				if c, ok := st["Condition"]; ok {
					key += " if " + render(c)
				}
				for _, r := range list(st["Resource"]) {
					out[key] = append(out[key], render(r))
				}
			}
		}
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}

func arnOf(service, resource string) string {
	return "arn:${AWS::Partition}:" + service + ":${AWS::Region}:${AWS::AccountId}:" + resource
}

func TestFunctionPolicies(t *testing.T) {
	f := stackFixture(t)
	fns := f.st.Functions
	spec := "${" + f.logicalID(f.st.Storage.SpecBucket) + ".Arn}"
	state := "${" + f.logicalID(f.st.Storage.StateBucket) + ".Arn}"
	machine := arnOf("states", "stateMachine:Test-deploy")
	bus := arnOf("events", "event-bus/default")
	specObjects := []string{spec + "/environments/*", spec + "/services/*"}
	logs := func(name string) map[string][]string {
		id := f.logicalID(f.st.Node().FindChild(jsii.String("Functions")).Node().FindChild(jsii.String(name + "Logs")))
		g := []string{"${" + id + ".Arn}"}
		return map[string][]string{"logs:CreateLogStream": g, "logs:PutLogEvents": g}
	}
	with := func(base map[string][]string, more map[string][]string) map[string][]string {
		out := map[string][]string{}
		for _, m := range []map[string][]string{base, more} {
			for k, v := range m {
				out[k] = append(out[k], v...)
				sort.Strings(out[k])
			}
		}
		return out
	}
	// Every function is traced with X-Ray, whose actions support no
	// resource-level permissions.
	tracing := map[string][]string{"xray:PutTelemetryRecords": {"*"}, "xray:PutTraceSegments": {"*"}}
	// An asynchronously invoked function may send to its on-failure
	// destination, and only to it.
	failures := func(q constructs.IConstruct) map[string][]string {
		arn := []string{"${" + f.logicalID(q) + ".Arn}"}
		return map[string][]string{"sqs:SendMessage": arn, "sqs:GetQueueAttributes": arn, "sqs:GetQueueUrl": arn}
	}
	tr := f.st.Triggers
	// Issue 12 item 6: each function's state-bucket grant covers only the
	// prefixes it uses; none deletes under history/.
	under := func(prefixes ...string) []string {
		var out []string
		for _, p := range prefixes {
			out = append(out, state+"/"+p+"*")
		}
		sort.Strings(out)
		return out
	}
	stepServices := []string{"arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/prod/*", "arn:aws:ecs:eu-west-1:111122223333:service/shared/*"}
	describeOnly := []string{"*"}
	tests := map[string]struct {
		fn   awsiam.IGrantable
		want map[string][]string
	}{
		"ecr-push": {fns.ECRPush.Role(), with(with(logs("ECRPush"), tracing), with(failures(tr.ECRPushFailures), map[string][]string{
			"s3:GetObject":          under("index/"),
			"s3:ListBucket":         {state},
			"states:StartExecution": {machine},
		}))},
		"spec-upload": {fns.SpecUpload.Role(), with(with(logs("SpecUpload"), tracing), with(failures(tr.SpecUploadFailures), map[string][]string{
			"s3:GetObject":          append(under("index/", "rejections/", "history/"), specObjects...),
			"s3:GetObjectVersion":   specObjects,
			"s3:PutObject":          under("index/", "rejections/"),
			"s3:ListBucket":         {spec, state},
			"states:StartExecution": {machine},
			"events:PutEvents":      {bus},
		}))},
		"signal": {fns.Signal.Role(), with(with(logs("Signal"), tracing), with(failures(tr.SignalFailures), map[string][]string{
			"s3:GetObject":             under("watches/"),
			"s3:DeleteObject":          under("watches/"),
			"s3:ListBucket":            {state},
			"states:SendTaskSuccess":   {machine},
			"states:SendTaskFailure":   {machine},
			"states:SendTaskHeartbeat": {machine},
		}))},
		"step": {fns.Step.Role(), with(with(logs("Step"), tracing), map[string][]string{
			"s3:GetObject":             append(under("locks/", "queue/", "watches/", "approvals/", "plans/", "history/"), specObjects...),
			"s3:GetObjectVersion":      specObjects,
			"s3:PutObject":             under("locks/", "queue/", "watches/", "approvals/", "plans/", "history/"),
			"s3:DeleteObject":          under("locks/", "queue/", "watches/", "approvals/"),
			"s3:ListBucket":            {spec, state},
			"states:StartExecution":    {machine},
			"states:ListExecutions":    {machine},
			"states:SendTaskSuccess":   {machine},
			"states:SendTaskFailure":   {machine},
			"states:SendTaskHeartbeat": {machine},
			"states:DescribeExecution": {arnOf("states", "execution:Test-deploy:*")},
			"events:PutEvents":         {bus},
			"ecs:CreateService":        stepServices,
			"ecs:UpdateService":        stepServices,
			"ecs:DeleteService":        stepServices,
			"ecs:DescribeServices":     stepServices,
			`ecs:ListTasks if {"ArnEquals":{"ecs:cluster":[{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":ecs:",{"Ref":"AWS::Region"},":",{"Ref":"AWS::AccountId"},":cluster/prod"]]},"arn:aws:ecs:eu-west-1:111122223333:cluster/shared"]}}`: describeOnly,
			"ecs:DescribeTasks":            {"arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task/prod/*", "arn:aws:ecs:eu-west-1:111122223333:task/shared/*"},
			"ecs:TagResource":              append([]string{arnOf("ecs", "task-definition/*")}, stepServices...),
			"ecs:RegisterTaskDefinition":   describeOnly,
			"ecs:DeregisterTaskDefinition": describeOnly,
			"ecs:ListTaskDefinitions":      describeOnly,
			`iam:PassRole if {"StringEquals":{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}`: {
				"arn:${AWS::Partition}:iam::${AWS::AccountId}:role/app-task-*", "arn:aws:iam::111122223333:role/exec"},
			// Kind ecs: the service deployments of the allowed clusters,
			// and the ELB infrastructure roles passed to ECS only.
			"ecs:ListServiceDeployments": stepServices,
			"ecs:DescribeServiceDeployments": {"arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service-deployment/prod/*",
				"arn:aws:ecs:eu-west-1:111122223333:service-deployment/shared/*"},
			"ecs:ContinueServiceDeployment": {"arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service-deployment/prod/*",
				"arn:aws:ecs:eu-west-1:111122223333:service-deployment/shared/*"},
			"ecs:StopServiceDeployment": {"arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service-deployment/prod/*",
				"arn:aws:ecs:eu-west-1:111122223333:service-deployment/shared/*"},
			`iam:PassRole if {"StringEquals":{"iam:PassedToService":"ecs.amazonaws.com"}}`: {
				"arn:${AWS::Partition}:iam::${AWS::AccountId}:role/ecs-infrastructure", "arn:aws:iam::111122223333:role/ecs-elb"},
			"sts:AssumeRole":                                   {"arn:aws:iam::444455556666:role/slipway-deployer"},
			"elasticloadbalancing:ModifyRule":                  {arnOf("elasticloadbalancing", "listener-rule/*")},
			"elasticloadbalancing:DescribeRules":               describeOnly,
			"elasticloadbalancing:DescribeTargetHealth":        describeOnly,
			"cloudwatch:DescribeAlarms":                        {arnOf("cloudwatch", "alarm:*")},
			"cloudwatch:PutMetricAlarm":                        {arnOf("cloudwatch", "alarm:TargetTracking-service/*")},
			"cloudwatch:DeleteAlarms":                          {arnOf("cloudwatch", "alarm:TargetTracking-service/*")},
			"application-autoscaling:RegisterScalableTarget":   {arnOf("application-autoscaling", "scalable-target/*")},
			"application-autoscaling:PutScalingPolicy":         {arnOf("application-autoscaling", "scalable-target/*")},
			"application-autoscaling:PutScheduledAction":       {arnOf("application-autoscaling", "scalable-target/*")},
			"application-autoscaling:DeregisterScalableTarget": {arnOf("application-autoscaling", "scalable-target/*")},
			"application-autoscaling:DescribeScalableTargets":  describeOnly,
			`iam:CreateServiceLinkedRole if {"StringLike":{"iam:AWSServiceName":"ecs.application-autoscaling.amazonaws.com"}}`: {
				"arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"},
			"servicediscovery:ListInstances": {arnOf("servicediscovery", "service/*")},
			"ecr:DescribeImages":             {arnOf("ecr", "repository/*")},
			"ecr:DescribeRepositories":       {arnOf("ecr", "repository/*")},
		})},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			role := tc.fn.GrantPrincipal().(awsiam.IRole)
			got := f.grants(t, f.logicalID(role))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("grants of %s (-want +got):\n%s", name, diff)
			}
		})
	}
}

// resourceLevelExempt lists the actions granted on "*" because they support
// no resource-level permissions (Service Authorization Reference).
func resourceLevelExempt() map[string]bool {
	return map[string]bool{
		"ecs:RegisterTaskDefinition": true, "ecs:DeregisterTaskDefinition": true, "ecs:ListTaskDefinitions": true,
		// Its resource is a container instance, which Fargate tasks have
		// none of: scoped by the ecs:cluster condition instead.
		"ecs:ListTasks": true,
		// Every function: X-Ray tracing.
		"elasticloadbalancing:DescribeRules": true, "elasticloadbalancing:DescribeTargetHealth": true,
		"application-autoscaling:DescribeScalableTargets": true,
		// The state machine role: X-Ray and CloudWatch Logs delivery.
		"xray:PutTraceSegments": true, "xray:PutTelemetryRecords": true, "xray:GetSamplingRules": true,
		"xray:GetSamplingTargets": true, "logs:CreateLogDelivery": true, "logs:GetLogDelivery": true,
		"logs:UpdateLogDelivery": true, "logs:DeleteLogDelivery": true, "logs:ListLogDeliveries": true,
		"logs:PutResourcePolicy": true, "logs:DescribeResourcePolicies": true, "logs:DescribeLogGroups": true,
	}
}

func TestWildcardResourcesOnlyWhereRequired(t *testing.T) {
	f := stackFixture(t)
	exempt := resourceLevelExempt()
	for id, p := range f.resources("AWS::IAM::Policy") {
		doc := p["PolicyDocument"].(map[string]any)
		for _, s := range list(doc["Statement"]) {
			st := s.(map[string]any)
			star := false
			for _, r := range list(st["Resource"]) {
				star = star || r == "*"
			}
			for _, a := range list(st["Action"]) {
				action := a.(string)
				if action == "*" || strings.HasSuffix(action, ":*") {
					t.Errorf("%s: action %s grants a whole service", id, action)
				}
				if star && !exempt[action] {
					t.Errorf("%s: %s on Resource \"*\", but it supports resource-level permissions", id, action)
				}
			}
		}
	}
}

func TestStateMachineRoleInvokesOnlyStep(t *testing.T) {
	f := stackFixture(t)
	got := f.grants(t, f.logicalID(f.st.Deploy.StateMachine.Role()))
	step := "${" + f.logicalID(f.st.Functions.Step) + ".Arn}"
	if diff := cmp.Diff([]string{step, step + ":*"}, got["lambda:InvokeFunction"]); diff != "" {
		t.Errorf("lambda:InvokeFunction resources (-want +got):\n%s", diff)
	}
	for action := range got {
		if !strings.HasPrefix(action, "lambda:InvokeFunction") && !strings.HasPrefix(action, "xray:") && !strings.HasPrefix(action, "logs:") {
			t.Errorf("state machine role has %s, want only lambda:InvokeFunction, xray:* and logs delivery", action)
		}
	}
}

func TestBuckets(t *testing.T) {
	f := stackFixture(t)
	tmpl := f.template
	tmpl.ResourceCountIs(jsii.String("AWS::S3::Bucket"), jsii.Number(3))
	secure := map[string]any{
		"VersioningConfiguration": map[string]any{"Status": "Enabled"},
		"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
			map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}},
		}},
		"PublicAccessBlockConfiguration": map[string]any{
			"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
		},
	}
	like := func(extra map[string]any) *map[string]any {
		m := map[string]any{}
		for k, v := range secure {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return &map[string]any{"Properties": assertions.Match_ObjectLike(&m)}
	}
	spec := f.logicalID(f.st.Storage.SpecBucket)
	state := f.logicalID(f.st.Storage.StateBucket)
	logs := f.logicalID(f.st.Storage.AccessLogs)
	tests := map[string]struct {
		id   string
		want *map[string]any
	}{
		"spec": {spec, like(map[string]any{
			"BucketName": "acme-slipway-specs",
			"NotificationConfiguration": map[string]any{
				"EventBridgeConfiguration": map[string]any{"EventBridgeEnabled": true},
			},
			"LoggingConfiguration": map[string]any{"DestinationBucketName": map[string]any{"Ref": logs}, "LogFilePrefix": "spec/"},
		})},
		"state": {state, like(map[string]any{
			"LoggingConfiguration": map[string]any{"DestinationBucketName": map[string]any{"Ref": logs}, "LogFilePrefix": "state/"},
			"LifecycleConfiguration": map[string]any{"Rules": assertions.Match_ArrayWith(&[]any{
				map[string]any{"Id": "expire-plans", "Prefix": PlansPrefix, "ExpirationInDays": 90, "Status": "Enabled"},
				assertions.Match_ObjectLike(&map[string]any{"Id": "history-to-infrequent-access", "Prefix": HistoryPrefix}),
			})},
		})},
		"access logs": {logs, like(nil)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			found := tmpl.FindResources(jsii.String("AWS::S3::Bucket"), tc.want)
			if _, ok := (*found)[tc.id]; !ok {
				t.Errorf("bucket %s does not match %v", tc.id, *tc.want)
			}
			if tc.id != spec && f.resources("AWS::S3::Bucket")[tc.id]["NotificationConfiguration"] != nil {
				t.Errorf("bucket %s sends notifications; only the spec bucket should", tc.id)
			}
		})
	}
	// Every bucket denies requests without TLS.
	policies := f.resources("AWS::S3::BucketPolicy")
	if len(policies) != 3 {
		t.Errorf("got %d bucket policies, want 3", len(policies))
	}
	for id, p := range policies {
		denied := false
		for _, s := range list(p["PolicyDocument"].(map[string]any)["Statement"]) {
			st := s.(map[string]any)
			if st["Effect"] == "Deny" && render(st["Condition"]) == `{"Bool":{"aws:SecureTransport":"false"}}` {
				denied = true
			}
		}
		if !denied {
			t.Errorf("bucket policy %s does not deny non-TLS requests", id)
		}
	}
}

func TestFunctions(t *testing.T) {
	f := stackFixture(t)
	fns := f.resources("AWS::Lambda::Function")
	if len(fns) != 4 {
		t.Fatalf("got %d functions, want 4", len(fns))
	}
	machine := arnOf("states", "stateMachine:Test-deploy")
	common := map[string]string{
		EnvSpecBucket:      "${" + f.logicalID(f.st.Storage.SpecBucket) + "}",
		EnvStateBucket:     "${" + f.logicalID(f.st.Storage.StateBucket) + "}",
		EnvStateMachineARN: machine,
		EnvEventBus:        "default",
	}
	step := map[string]string{EnvReconcileInterval: "60", EnvDefaultAlarms: "ecs-cpu-high,web-5xx"}
	for k, v := range common {
		step[k] = v
	}
	// The trigger functions accept events of the assume roles' accounts
	// (issue 11 item 12); step reads nothing of them.
	triggers := map[string]string{EnvAssumeRoles: "arn:aws:iam::444455556666:role/slipway-deployer"}
	for k, v := range common {
		triggers[k] = v
	}
	tests := map[synth.FunctionKind]struct {
		id      string
		env     map[string]string
		memory  float64
		timeout float64
	}{
		synth.KindECRPush:    {f.logicalID(f.st.Functions.ECRPush), triggers, 256, 60},
		synth.KindSpecUpload: {f.logicalID(f.st.Functions.SpecUpload), triggers, 256, 60},
		synth.KindSignal:     {f.logicalID(f.st.Functions.Signal), triggers, 256, 60},
		synth.KindStep:       {f.logicalID(f.st.Functions.Step), step, 512, 300},
	}
	for kind, tc := range tests {
		t.Run(string(kind), func(t *testing.T) {
			p := fns[tc.id]
			if p == nil {
				t.Fatalf("no function %s", tc.id)
			}
			checks := map[string][2]any{
				"FunctionName":  {p["FunctionName"], "Test-" + string(kind)},
				"Runtime":       {p["Runtime"], "provided.al2023"},
				"Architectures": {render(p["Architectures"]), `["arm64"]`},
				"Handler":       {p["Handler"], "bootstrap"},
				"MemorySize":    {p["MemorySize"], tc.memory},
				"Timeout":       {p["Timeout"], tc.timeout},
				"LogFormat":     {render(p["LoggingConfig"].(map[string]any)["LogFormat"]), "JSON"},
			}
			for field, c := range checks {
				if c[0] != c[1] {
					t.Errorf("%s = %v, want %v", field, c[0], c[1])
				}
			}
			tagged := false
			for _, tg := range list(p["Tags"]) {
				m := tg.(map[string]any)
				tagged = tagged || (m["Key"] == synth.FunctionTag && m["Value"] == string(kind))
			}
			if !tagged {
				t.Errorf("tags %v lack %s=%s", p["Tags"], synth.FunctionTag, kind)
			}
			got := map[string]string{}
			for k, v := range p["Environment"].(map[string]any)["Variables"].(map[string]any) {
				got[k] = render(v)
			}
			if diff := cmp.Diff(tc.env, got); diff != "" {
				t.Errorf("environment (-want +got):\n%s", diff)
			}
		})
	}
	// Each function logs to its own group with the configured retention.
	f.template.ResourcePropertiesCountIs(jsii.String("AWS::Logs::LogGroup"), &map[string]any{
		"LogGroupName":    assertions.Match_StringLikeRegexp(jsii.String("^/aws/lambda/Test-")),
		"RetentionInDays": 90,
	}, jsii.Number(4))
	// No managed policies anywhere: every grant is in the roles' own policies.
	for id, r := range f.resources("AWS::IAM::Role") {
		if r["ManagedPolicyArns"] != nil {
			t.Errorf("role %s has managed policies %v", id, r["ManagedPolicyArns"])
		}
	}
}

func TestTriggers(t *testing.T) {
	f := stackFixture(t)
	tr := f.st.Triggers
	fn := func(c constructs.IConstruct) string { return "${" + f.logicalID(c) + ".Arn}" }
	tests := map[string]struct {
		rule    constructs.IConstruct
		pattern string
		target  string
		dlq     constructs.IConstruct
	}{
		"ecr push": {tr.ECRPush,
			`{"detail":{"action-type":["PUSH"],"result":["SUCCESS"]},"detail-type":["ECR Image Action"],"source":["aws.ecr"]}`,
			fn(f.st.Functions.ECRPush), tr.ECRPushDLQ},
		"spec upload": {tr.SpecUpload,
			`{"detail":{"bucket":{"name":[{"Ref":"` + f.logicalID(f.st.Storage.SpecBucket) + `"}]},"object":{"key":[{"prefix":"services/"},{"prefix":"environments/"}]}},"detail-type":["Object Created"],"source":["aws.s3"]}`,
			fn(f.st.Functions.SpecUpload), tr.SpecUploadDLQ},
		"alarm": {tr.AlarmState,
			`{"detail":{"state":{"value":["ALARM"]}},"detail-type":["CloudWatch Alarm State Change"],"source":["aws.cloudwatch"]}`,
			fn(f.st.Functions.Signal), tr.SignalDLQ},
		"ecs deployment": {tr.ECSState,
			`{"detail":{"eventName":["SERVICE_DEPLOYMENT_COMPLETED","SERVICE_DEPLOYMENT_FAILED"]},"detail-type":["ECS Deployment State Change"],"source":["aws.ecs"]}`,
			fn(f.st.Functions.Signal), tr.SignalDLQ},
		"ecs hook": {tr.ECSHook,
			`{"detail":{"eventName":["HOOK_AWAITING_ACTION"]},"detail-type":["ECS Hook State Change"],"source":["aws.ecs"]}`,
			fn(f.st.Functions.Signal), tr.SignalDLQ},
	}
	rules := f.resources("AWS::Events::Rule")
	if len(rules) != len(tests) {
		t.Errorf("got %d rules, want %d", len(rules), len(tests))
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := rules[f.logicalID(tc.rule)]
			if p == nil {
				t.Fatalf("rule %s missing", name)
			}
			if got := render(p["EventPattern"]); got != tc.pattern {
				t.Errorf("pattern = %s, want %s", got, tc.pattern)
			}
			if p["State"] != "ENABLED" || p["EventBusName"] != nil {
				t.Errorf("state %v bus %v, want ENABLED on the default bus", p["State"], p["EventBusName"])
			}
			targets := list(p["Targets"])
			if len(targets) != 1 {
				t.Fatalf("got %d targets, want 1", len(targets))
			}
			tg := targets[0].(map[string]any)
			got := map[string]string{
				"Arn":   render(tg["Arn"]),
				"DLQ":   render(tg["DeadLetterConfig"].(map[string]any)["Arn"]),
				"Retry": render(tg["RetryPolicy"]),
			}
			want := map[string]string{
				"Arn":   tc.target,
				"DLQ":   fn(tc.dlq),
				"Retry": `{"MaximumEventAgeInSeconds":7200,"MaximumRetryAttempts":8}`,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("target (-want +got):\n%s", diff)
			}
		})
	}
	// The dead-letter queues (EventBridge targets' and the functions'
	// on-failure destinations): encrypted, kept 14 days, TLS only; the
	// targets' writable by EventBridge for these rules only.
	f.template.ResourcePropertiesCountIs(jsii.String("AWS::SQS::Queue"), &map[string]any{
		"SqsManagedSseEnabled": true, "MessageRetentionPeriod": 1209600,
	}, jsii.Number(6))
	if n := len(f.resources("AWS::SQS::Queue")); n != 6 {
		t.Errorf("got %d queues, want 6", n)
	}
	targetDLQs := map[string]bool{}
	for _, q := range []constructs.IConstruct{tr.ECRPushDLQ, tr.SpecUploadDLQ, tr.SignalDLQ} {
		targetDLQs[f.logicalID(q)] = true
	}
	policies := f.resources("AWS::SQS::QueuePolicy")
	if len(policies) != 6 {
		t.Errorf("got %d queue policies, want 6 (one per queue)", len(policies))
	}
	for id, p := range policies {
		if !targetDLQs[queueOf(p)] {
			if !deniesPlainHTTP(p) || len(list(p["PolicyDocument"].(map[string]any)["Statement"])) != 1 {
				t.Errorf("queue policy %s: %s, want only the TLS deny", id, render(p["PolicyDocument"]))
			}
			continue
		}
		var tls, events bool
		for _, s := range list(p["PolicyDocument"].(map[string]any)["Statement"]) {
			st := s.(map[string]any)
			cond := render(st["Condition"])
			tls = tls || (st["Effect"] == "Deny" && cond == `{"Bool":{"aws:SecureTransport":"false"}}`)
			if st["Effect"] == "Allow" {
				events = render(st["Principal"]) == `{"Service":"events.amazonaws.com"}` && strings.Contains(cond, "aws:SourceArn")
				if !events {
					t.Errorf("queue policy %s allows %s without a source rule", id, render(st["Principal"]))
				}
			}
		}
		if !tls || !events {
			t.Errorf("queue policy %s: TLS enforced %v, EventBridge allowed per rule %v; want both", id, tls, events)
		}
	}
	// EventBridge may invoke each trigger function, for its rules only.
	f.template.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Permission"), &map[string]any{
		"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com",
		"SourceArn": assertions.Match_AnyValue(),
	}, jsii.Number(5))
}

// queueOf returns the logical id of the (one) queue a queue policy is for.
func queueOf(p map[string]any) string {
	qs := list(p["Queues"])
	if len(qs) != 1 {
		return ""
	}
	r, _ := qs[0].(map[string]any)["Ref"].(string)
	return r
}

// deniesPlainHTTP reports whether a resource policy denies every request
// made without TLS.
func deniesPlainHTTP(p map[string]any) bool {
	for _, s := range list(p["PolicyDocument"].(map[string]any)["Statement"]) {
		st := s.(map[string]any)
		if st["Effect"] == "Deny" && render(st["Principal"]) == `{"AWS":"*"}` && render(st["Condition"]) == `{"Bool":{"aws:SecureTransport":"false"}}` {
			return true
		}
	}
	return false
}

// TestNoEventLostSilently (issue 12 item 4): every function EventBridge
// invokes asynchronously sends what it failed on, after Lambda's retries, to
// its own encrypted, TLS-only queue; every queue that can hold an event
// (these and the EventBridge targets' DLQs) has an alarm on its depth; and
// each has the reserved concurrency the context sets.
func TestNoEventLostSilently(t *testing.T) {
	f := stackFixture(t)
	tr := f.st.Triggers
	configs := map[string]map[string]any{}
	for _, c := range f.resources("AWS::Lambda::EventInvokeConfig") {
		configs[render(c["FunctionName"])] = c
	}
	if len(configs) != 3 {
		t.Errorf("got %d EventInvokeConfigs, want 3 (one per asynchronously invoked function)", len(configs))
	}
	fns := f.resources("AWS::Lambda::Function")
	for name, tc := range map[string]struct {
		fn          constructs.IConstruct
		failures    constructs.IConstruct
		concurrency float64
	}{
		"ecr-push":    {f.st.Functions.ECRPush, tr.ECRPushFailures, 5},
		"spec-upload": {f.st.Functions.SpecUpload, tr.SpecUploadFailures, 5},
		"signal":      {f.st.Functions.Signal, tr.SignalFailures, 10},
	} {
		t.Run(name, func(t *testing.T) {
			id := f.logicalID(tc.fn)
			c := configs["${"+id+"}"]
			if c == nil {
				t.Fatalf("no EventInvokeConfig for %s", id)
			}
			got := map[string]string{
				"OnFailure":          render(c["DestinationConfig"].(map[string]any)["OnFailure"].(map[string]any)["Destination"]),
				"Retries":            render(c["MaximumRetryAttempts"]),
				"MaxEventAge":        render(c["MaximumEventAgeInSeconds"]),
				"Qualifier":          render(c["Qualifier"]),
				"Reserved":           render(fns[id]["ReservedConcurrentExecutions"]),
				"FailuresDeniesHTTP": fmt.Sprint(deniesPlainHTTP(queuePolicyOf(f, tc.failures))),
			}
			want := map[string]string{
				"OnFailure":          "${" + f.logicalID(tc.failures) + ".Arn}",
				"Retries":            "2",
				"MaxEventAge":        "21600",
				"Qualifier":          "$LATEST",
				"Reserved":           fmt.Sprint(tc.concurrency),
				"FailuresDeniesHTTP": "true",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("asynchronous invocation (-want +got):\n%s", diff)
			}
		})
	}
	if r := fns[f.logicalID(f.st.Functions.Step)]["ReservedConcurrentExecutions"]; r != nil {
		t.Errorf("step: ReservedConcurrentExecutions = %v, want none (the state machine invokes it synchronously)", r)
	}
	// One alarm per queue, in ALARM as soon as it holds a message.
	alarms := map[string]string{}
	for id, a := range f.resources("AWS::CloudWatch::Alarm") {
		dims := list(a["Dimensions"])
		if len(dims) != 1 {
			t.Errorf("alarm %s: dimensions %v, want QueueName only", id, render(a["Dimensions"]))
			continue
		}
		d := dims[0].(map[string]any)
		got := fmt.Sprintf("%v %v %v %v %v %v %v", a["Namespace"], a["MetricName"], d["Name"], a["ComparisonOperator"], a["Threshold"], a["EvaluationPeriods"], a["TreatMissingData"])
		if want := "AWS/SQS ApproximateNumberOfMessagesVisible QueueName GreaterThanThreshold 0 1 notBreaching"; got != want {
			t.Errorf("alarm %s: %s, want %s", id, got, want)
		}
		alarms[render(d["Value"])] = fmt.Sprint(a["AlarmName"])
	}
	for q, name := range map[constructs.IConstruct]string{
		tr.ECRPushDLQ: "Test-ecr-push-undelivered", tr.SpecUploadDLQ: "Test-spec-upload-undelivered", tr.SignalDLQ: "Test-signal-undelivered",
		tr.ECRPushFailures: "Test-ecr-push-failed", tr.SpecUploadFailures: "Test-spec-upload-failed", tr.SignalFailures: "Test-signal-failed",
	} {
		if got := alarms["${"+f.logicalID(q)+".QueueName}"]; got != name {
			t.Errorf("alarm on queue %s: got %q, want %q", f.logicalID(q), got, name)
		}
	}
	if len(alarms) != 6 {
		t.Errorf("got alarms on %d queues, want 6: %v", len(alarms), alarms)
	}
}

// queuePolicyOf returns the policy of queue q.
func queuePolicyOf(f *fixture, q constructs.IConstruct) map[string]any {
	for _, p := range f.resources("AWS::SQS::QueuePolicy") {
		if queueOf(p) == f.logicalID(q) {
			return p
		}
	}
	return map[string]any{"PolicyDocument": map[string]any{}}
}

// TestNothingDeletesHistory (issue 12 item 6): no role may delete, or
// delete versions of, objects under history/ of the state bucket, directly
// or through a pattern that covers it.
func TestNothingDeletesHistory(t *testing.T) {
	f := stackFixture(t)
	state := "${" + f.logicalID(f.st.Storage.StateBucket) + ".Arn}"
	for id, p := range f.resources("AWS::IAM::Policy") {
		for _, s := range list(p["PolicyDocument"].(map[string]any)["Statement"]) {
			st := s.(map[string]any)
			if st["Effect"] != "Allow" {
				continue
			}
			for _, a := range list(st["Action"]) {
				action := a.(string)
				if !strings.HasPrefix(action, "s3:Delete") && action != "s3:*" && action != "*" {
					continue
				}
				for _, r := range list(st["Resource"]) {
					res := render(r)
					if res == "*" || res == state+"/*" || strings.HasPrefix(res, state+"/history") || strings.HasPrefix(res, state+"/h*") {
						t.Errorf("%s: %s on %s covers history/", id, action, res)
					}
				}
			}
		}
	}
}

// TestObservability (issue 12 item 8): every function is traced with
// X-Ray, and every log group outlives the stack with the configured
// retention.
func TestObservability(t *testing.T) {
	f := stackFixture(t)
	for id, p := range f.resources("AWS::Lambda::Function") {
		if got := render(p["TracingConfig"]); got != `{"Mode":"Active"}` {
			t.Errorf("%s: TracingConfig %s, want Active", id, got)
		}
	}
	groups := 0
	for id, r := range f.doc["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::Logs::LogGroup" {
			continue
		}
		groups++
		props := res["Properties"].(map[string]any)
		if res["DeletionPolicy"] != "Retain" || res["UpdateReplacePolicy"] != "Retain" || props["RetentionInDays"] != float64(90) {
			t.Errorf("log group %s: DeletionPolicy %v, UpdateReplacePolicy %v, retention %v; want Retain, Retain, 90 days",
				id, res["DeletionPolicy"], res["UpdateReplacePolicy"], props["RetentionInDays"])
		}
	}
	if groups != 5 {
		t.Errorf("got %d log groups, want 5 (four functions, the state machine)", groups)
	}
}

func TestStateMachineResource(t *testing.T) {
	f := stackFixture(t)
	logs := f.logicalID(f.st.Deploy.Logs)
	f.template.HasResourceProperties(jsii.String("AWS::StepFunctions::StateMachine"), &map[string]any{
		"StateMachineName":     StateMachineName("Test"),
		"StateMachineType":     "STANDARD",
		"TracingConfiguration": map[string]any{"Enabled": true},
		"LoggingConfiguration": map[string]any{
			"Level":                "ALL",
			"IncludeExecutionData": true,
			"Destinations": []any{map[string]any{"CloudWatchLogsLogGroup": map[string]any{
				"LogGroupArn": map[string]any{"Fn::GetAtt": []any{logs, "Arn"}},
			}}},
		},
	})
	f.template.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), &map[string]any{
		"LogGroupName": "/aws/vendedlogs/states/Test-deploy", "RetentionInDays": 90,
	})
}

// TestOutputs checks what a person reads after cdk deploy: where specs go
// and which state machine to start.
func TestOutputs(t *testing.T) {
	f := stackFixture(t)
	for id, value := range map[string]any{
		"SpecBucketName":  map[string]any{"Ref": f.logicalID(f.st.Storage.SpecBucket)},
		"StateBucketName": map[string]any{"Ref": f.logicalID(f.st.Storage.StateBucket)},
		"StateMachineArn": map[string]any{"Ref": f.logicalID(f.st.Deploy.StateMachine)},
	} {
		f.template.HasOutput(jsii.String(id), &map[string]any{"Value": value})
	}
}

// TestStateMachineARNMatchesName checks the cycle-breaking ARN: the one the
// functions are given and granted must be the state machine's real ARN.
func TestStateMachineARNMatchesName(t *testing.T) {
	f := stackFixture(t)
	res, err := synth.Resolve(f.raw, synth.Env{Region: "eu-west-1", Account: "123456789012"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.StateMachines) != 1 {
		t.Fatalf("got %d state machines, want 1", len(res.StateMachines))
	}
	want := res.StateMachines[0].ARN
	for _, fn := range res.Functions {
		if got := fn.Environment[EnvStateMachineARN]; got != want {
			t.Errorf("%s: %s = %s, want %s", fn.Kind, EnvStateMachineARN, got, want)
		}
	}
}

func TestNoUnsuppressedNagFindings(t *testing.T) {
	f := stackFixture(t)
	// Synthesize already fails on findings; check the annotations the
	// tests' own way too, and that every suppression has a reason.
	ann := assertions.Annotations_FromStack(f.st.Stack)
	for _, find := range []func(*string, any) *[]*cxapi.SynthesisMessage{ann.FindError, ann.FindWarning} {
		if got := find(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))); len(*got) > 0 {
			for _, m := range *got {
				t.Errorf("unsuppressed: %s %v", *m.Id, m.Entry.Data)
			}
		}
	}
	for id, r := range f.doc["Resources"].(map[string]any) {
		meta, _ := r.(map[string]any)["Metadata"].(map[string]any)
		nag, _ := meta["cdk_nag"].(map[string]any)
		for _, s := range list(nag["rules_to_suppress"]) {
			if s == nil {
				continue
			}
			m := s.(map[string]any)
			if reason, _ := m["reason"].(string); len(reason) < 20 {
				t.Errorf("%s: suppression of %v has no real reason: %q", id, m["id"], reason)
			}
		}
	}
}

// TestNewWildcardFailsSynth shows that nag really gates synthesis: a
// wildcard nobody has justified is reported.
func TestNewWildcardFailsSynth(t *testing.T) {
	dir := t.TempDir()
	if err := PlaceholderAssets(dir); err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	st, err := New(app, testSettings(dir))
	if err != nil {
		t.Fatal(err)
	}
	// Resource::* itself is accepted on the function roles for X-Ray;
	// TestWildcardResourcesOnlyWhereRequired keeps it to the exempt actions.
	st.Functions.Signal.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("sqs:SendMessage"), Resources: jsii.Strings("arn:aws:sqs:eu-west-1:111122223333:*"),
	}))
	findings := Findings(app.Synth(nil), st)
	if len(findings) != 1 || !strings.Contains(findings[0], "SignalRole") || !strings.Contains(findings[0], "AwsSolutions-IAM5[Resource::arn:aws:sqs:eu-west-1:111122223333:*]") {
		t.Errorf("findings = %v, want one IAM5 on the new wildcard of the signal role", findings)
	}
}
