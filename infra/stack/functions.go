package stack

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/slipwayhq/slipway/internal/synth"
)

// Environment variables the functions are given: the names
// internal/trigger.ConfigFromEnv and internal/deploy/awsclients.ConfigFromEnv
// read. docs/infra.md lists which function gets which.
const (
	EnvSpecBucket        = "SLIPWAY_SPEC_BUCKET"
	EnvStateBucket       = "SLIPWAY_STATE_BUCKET"
	EnvStateMachineARN   = "SLIPWAY_STATE_MACHINE_ARN"
	EnvEventBus          = "SLIPWAY_EVENT_BUS"
	EnvReconcileInterval = "SLIPWAY_RECONCILE_SECONDS"
	EnvDefaultAlarms     = "SLIPWAY_DEFAULT_ALARMS"
	EnvAssumeRoles       = "SLIPWAY_ASSUME_ROLES"
)

// Functions holds the four Lambda functions, each with its own role and log
// group.
type Functions struct {
	constructs.Construct
	ECRPush    awslambda.Function
	SpecUpload awslambda.Function
	Signal     awslambda.Function
	Step       awslambda.Function
}

// FunctionsProps is what the functions need to know about the rest of the
// stack.
type FunctionsProps struct {
	Settings Settings
	Storage  *Storage
	Events   *Events
	// StateMachineARN is the deploy state machine's ARN, built from its fixed
	// name rather than taken from the resource (see NewStack for why).
	StateMachineARN *string
	// ExecutionsARN matches every execution of the deploy state machine.
	ExecutionsARN *string
}

// NewFunctions creates the functions from <AssetDir>/<fn>/bootstrap and
// grants each one what it calls and nothing more.
func NewFunctions(scope constructs.Construct, id string, p FunctionsProps) *Functions {
	c := constructs.NewConstruct(scope, jsii.String(id))
	f := &Functions{Construct: c}
	s := p.Settings
	common := map[string]*string{
		EnvSpecBucket:      p.Storage.SpecBucket.BucketName(),
		EnvStateBucket:     p.Storage.StateBucket.BucketName(),
		EnvStateMachineARN: p.StateMachineARN,
		EnvEventBus:        p.Events.Bus.EventBusName(),
	}

	// The trigger functions act on events of the assume roles' accounts
	// too (internal/trigger's Origin); without the list they would drop
	// every event forwarded from there.
	triggerEnv := map[string]*string{}
	for k, v := range common {
		triggerEnv[k] = v
	}
	if len(s.AssumeRoles) > 0 {
		triggerEnv[EnvAssumeRoles] = jsii.String(strings.Join(s.AssumeRoles, ","))
	}

	f.ECRPush = newFunction(c, s, synth.KindECRPush, "Starts a deployment for every service tracking a pushed image.",
		triggerEnv, 256, awscdk.Duration_Minutes(jsii.Number(1)), s.ECRPushConcurrency)
	f.SpecUpload = newFunction(c, s, synth.KindSpecUpload, "Validates uploaded specs, updates the image index and starts deployments.",
		triggerEnv, 256, awscdk.Duration_Minutes(jsii.Number(1)), s.SpecUploadConcurrency)
	f.Signal = newFunction(c, s, synth.KindSignal, "Completes waiting deployments on alarm and ECS deployment events.",
		triggerEnv, 256, awscdk.Duration_Minutes(jsii.Number(1)), s.SignalConcurrency)
	stepEnv := map[string]*string{
		EnvReconcileInterval: jsii.String(strconv.Itoa(s.ReconcileIntervalSeconds)),
		EnvDefaultAlarms:     jsii.String(strings.Join(s.DefaultAlarms, ",")),
	}
	for k, v := range common {
		stepEnv[k] = v
	}
	// The state machine invokes step synchronously and retries its
	// throttling: no reserved concurrency.
	f.Step = newFunction(c, s, synth.KindStep, "Runs one phase of the deploy state machine.",
		stepEnv, 512, awscdk.Duration_Minutes(jsii.Number(5)), 0)

	spec, state := p.Storage.SpecBucket, p.Storage.StateBucket
	specObjects := []*string{spec.ArnForObjects(jsii.String("services/*")), spec.ArnForObjects(jsii.String("environments/*"))}

	// Each function's state-bucket grant covers only the key prefixes
	// (internal/store) it reads or writes; none may delete under history/.
	// ListBucket goes with every GetObject: without it S3 answers a missing
	// key with 403 instead of 404, and the store could not tell "not there
	// yet" from "denied". It is granted on the bucket without an s3:prefix
	// condition, because that 404 check carries no prefix: it reveals key
	// names, never contents.

	// ecr-push: read the image index (index/repositories.json), start
	// executions.
	allow(f.ECRPush, []string{"s3:GetObject"}, stateObjects(state, StateIndexPrefix)...)
	allow(f.ECRPush, []string{"s3:ListBucket"}, state.BucketArn())
	allow(f.ECRPush, []string{"states:StartExecution"}, p.StateMachineARN)

	// spec-upload: read specs; keep the image index and the accepted
	// versions (index/) and the rejection records (rejections/); read the
	// history (history/) to find what an environment runs; announce
	// rejected specs, start executions.
	allow(f.SpecUpload, []string{"s3:GetObject", "s3:GetObjectVersion"}, specObjects...)
	allow(f.SpecUpload, []string{"s3:ListBucket"}, spec.BucketArn())
	allow(f.SpecUpload, []string{"s3:GetObject"}, stateObjects(state, StateIndexPrefix, StateRejectionsPrefix, HistoryPrefix)...)
	allow(f.SpecUpload, []string{"s3:PutObject"}, stateObjects(state, StateIndexPrefix, StateRejectionsPrefix)...)
	allow(f.SpecUpload, []string{"s3:ListBucket"}, state.BucketArn())
	allow(f.SpecUpload, []string{"states:StartExecution"}, p.StateMachineARN)
	p.Events.GrantPut(f.SpecUpload)

	// signal: find the waits an event completes (task tokens recorded under
	// watches/), complete them, drop the records.
	allow(f.Signal, []string{"s3:GetObject", "s3:DeleteObject"}, stateObjects(state, StateWatchesPrefix)...)
	allow(f.Signal, []string{"s3:ListBucket"}, state.BucketArn())
	allow(f.Signal, taskResponseActions(), p.StateMachineARN)

	grantStep(f.Step, p)
	return f
}

// taskResponseActions complete a .waitForTaskToken task. They are authorized
// on the state machine ARN (as CDK's grantTaskResponse does).
func taskResponseActions() []string {
	return []string{"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}
}

// grantStep gives functions/step what the phases call through
// internal/awsapi (the actions are exactly the adapters' SDK calls): ECS and
// its neighbours on the configured clusters, the buckets, this state
// machine, PassRole for the configured task roles and AssumeRole for other
// accounts.
func grantStep(fn awslambda.Function, p FunctionsProps) {
	s := p.Settings
	st := awscdk.Stack_Of(fn)
	spec, state := p.Storage.SpecBucket, p.Storage.StateBucket

	allow(fn, []string{"s3:GetObject", "s3:GetObjectVersion"},
		spec.ArnForObjects(jsii.String("services/*")), spec.ArnForObjects(jsii.String("environments/*")))
	allow(fn, []string{"s3:ListBucket"}, spec.BucketArn())
	// The phases keep locks, the lock queue, watches, approvals, plans and
	// history; they delete locks, queue entries, watches and approvals,
	// never history.
	written := []string{StateLocksPrefix, StateQueuePrefix, StateWatchesPrefix, StateApprovalsPrefix, PlansPrefix, HistoryPrefix}
	allow(fn, []string{"s3:GetObject", "s3:PutObject"}, stateObjects(state, written...)...)
	allow(fn, []string{"s3:DeleteObject"}, stateObjects(state, StateLocksPrefix, StateQueuePrefix, StateWatchesPrefix, StateApprovalsPrefix)...)
	allow(fn, []string{"s3:ListBucket"}, state.BucketArn())

	// Promotion starts the next environment's execution; the watch phase
	// completes its own token when the awaited condition already holds; a
	// newer deployment checks on the holder of the lock.
	allow(fn, append([]string{"states:StartExecution", "states:ListExecutions"}, taskResponseActions()...), p.StateMachineARN)
	allow(fn, []string{"states:DescribeExecution"}, p.ExecutionsARN)
	p.Events.GrantPut(fn)

	var services []*string
	for _, name := range s.Clusters {
		services = append(services, servicesARN(st, name))
	}
	allow(fn, []string{"ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:DescribeServices", "ecs:TagResource"}, services...)
	// Kind ecs follows and gates the service deployments ECS runs:
	// ListServiceDeployments is authorized on the service,
	// Describe/Continue/Stop on the service deployment.
	var serviceDeployments []*string
	for _, name := range s.Clusters {
		serviceDeployments = append(serviceDeployments, serviceDeploymentsARN(st, name))
	}
	allow(fn, []string{"ecs:ListServiceDeployments"}, services...)
	allow(fn, []string{"ecs:DescribeServiceDeployments", "ecs:ContinueServiceDeployment", "ecs:StopServiceDeployment"}, serviceDeployments...)
	if len(s.InfrastructureRoles) > 0 {
		// CreateService and UpdateService pass the ELB infrastructure
		// role of advancedConfiguration to ECS, and to nothing else.
		var roles []*string
		for _, r := range s.InfrastructureRoles {
			roles = append(roles, roleARN(st, r))
		}
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("iam:PassRole"),
			Resources: &roles,
			Conditions: &map[string]any{
				"StringEquals": map[string]any{"iam:PassedToService": "ecs.amazonaws.com"},
			},
		}))
	}
	// A step of a canary by count waits for its new tasks to be healthy
	// (ecs.Client.DeploymentTasks). ListTasks is scoped by the ecs:cluster
	// condition (its resource type is a container instance, which Fargate
	// tasks have none of); DescribeTasks by the clusters' task ARNs.
	var clusters, tasks []*string
	for _, name := range s.Clusters {
		clusters = append(clusters, clusterARN(st, name))
		tasks = append(tasks, tasksARN(st, name))
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("ecs:ListTasks"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"ArnEquals": map[string]any{"ecs:cluster": clusters}},
	}))
	allow(fn, []string{"ecs:DescribeTasks"}, tasks...)
	// Task definitions are regional, not per cluster. TagResource is needed
	// to register a task definition with tags.
	allow(fn, []string{"ecs:TagResource"}, arn(st, "ecs", "task-definition/*", true))
	// These task definition actions do not support resource-level
	// permissions.
	allow(fn, []string{"ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:ListTaskDefinitions"}, jsii.String("*"))

	if len(s.PassRoles) > 0 {
		var roles []*string
		for _, r := range s.PassRoles {
			roles = append(roles, roleARN(st, r))
		}
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("iam:PassRole"),
			Resources: &roles,
			Conditions: &map[string]any{
				"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"},
			},
		}))
	}
	if len(s.AssumeRoles) > 0 {
		allow(fn, []string{"sts:AssumeRole"}, *jsii.Strings(s.AssumeRoles...)...)
	}

	// Traffic shifts modify listener rules; Describe* calls support no
	// resource-level permissions.
	allow(fn, []string{"elasticloadbalancing:ModifyRule"}, arn(st, "elasticloadbalancing", "listener-rule/*", true))
	allow(fn, []string{"elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetHealth"}, jsii.String("*"))

	allow(fn, []string{"cloudwatch:DescribeAlarms"}, arn(st, "cloudwatch", "alarm:*", true))
	// Target tracking policies create and delete their own alarms in the
	// caller's name.
	allow(fn, []string{"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"}, arn(st, "cloudwatch", "alarm:TargetTracking-service/*", true))

	allow(fn, []string{"application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget",
		"application-autoscaling:PutScalingPolicy", "application-autoscaling:PutScheduledAction"},
		arn(st, "application-autoscaling", "scalable-target/*", true))
	allow(fn, []string{"application-autoscaling:DescribeScalableTargets"}, jsii.String("*"))
	// The first scalable ECS target in an account creates Application Auto
	// Scaling's service-linked role.
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("iam:CreateServiceLinkedRole"),
		Resources: jsii.Strings(*st.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("iam"), Region: jsii.String(""),
			Resource:     jsii.String("role"),
			ResourceName: jsii.String("aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"),
		})),
		Conditions: &map[string]any{
			"StringLike": map[string]any{"iam:AWSServiceName": "ecs.application-autoscaling.amazonaws.com"},
		},
	}))

	allow(fn, []string{"servicediscovery:ListInstances"}, arn(st, "servicediscovery", "service/*", true))
	allow(fn, []string{"ecr:DescribeImages", "ecr:DescribeRepositories"}, arn(st, "ecr", "repository/*", true))
}

// stateObjects returns the object ARNs of the state bucket under each
// prefix.
func stateObjects(state awss3.IBucket, prefixes ...string) []*string {
	out := make([]*string, 0, len(prefixes))
	for _, p := range prefixes {
		out = append(out, state.ArnForObjects(jsii.String(p+"*")))
	}
	return out
}

// newFunction creates one function with its own role and log group, tagged
// with its kind, traced with X-Ray. reserved is its reserved concurrency; 0
// reserves none.
func newFunction(scope constructs.Construct, s Settings, kind synth.FunctionKind, description string,
	env map[string]*string, memoryMB float64, timeout awscdk.Duration, reserved int) awslambda.Function {
	id := constructID(string(kind))
	name := s.StackName + "-" + string(kind)
	role := awsiam.NewRole(scope, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Role of the Slipway " + string(kind) + " function."),
	})
	logs := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		LogGroupName: jsii.String("/aws/lambda/" + name),
		Retention:    retention(s.LogRetentionDays),
		// What the functions did is part of the deployments' audit trail:
		// deleting the stack keeps it, as it keeps the buckets.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	var concurrency *float64
	if reserved > 0 {
		concurrency = jsii.Number(reserved)
	}
	fn := awslambda.NewFunction(scope, jsii.String(id), &awslambda.FunctionProps{
		FunctionName:  jsii.String(name),
		Description:   jsii.String(description),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(filepath.Join(s.AssetDir, string(kind))), nil),
		Role:          role,
		LogGroup:      logs,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		MemorySize:    jsii.Number(memoryMB),
		Timeout:       timeout,
		Environment:   &env,
		Tracing:       awslambda.Tracing_ACTIVE,
		// nil (0 in the settings) reserves nothing.
		ReservedConcurrentExecutions: concurrency,
	})
	// Only the role's own policy grants write access to the log group; no
	// managed policy is attached.
	logs.GrantWrite(role)
	awscdk.Tags_Of(fn).Add(jsii.String(synth.FunctionTag), jsii.String(string(kind)), nil)
	return fn
}

// allow adds one Allow statement to fn's role.
func allow(fn awslambda.Function, actions []string, resources ...*string) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: &resources,
	}))
}

// arn builds an ARN in the stack's partition, region (when regional) and
// account, e.g. arn(st, "ecs", "task-definition/*", true).
func arn(st awscdk.Stack, service, resource string, regional bool) *string {
	c := &awscdk.ArnComponents{Service: jsii.String(service), Resource: jsii.String(resource),
		ArnFormat: awscdk.ArnFormat_NO_RESOURCE_NAME}
	if !regional {
		c.Region = jsii.String("")
	}
	return st.FormatArn(c)
}

// servicesARN returns the pattern matching the services of a configured
// cluster (a name in the stack's account and region, or a cluster ARN).
func servicesARN(st awscdk.Stack, cluster string) *string {
	if i := strings.Index(cluster, ":cluster/"); strings.HasPrefix(cluster, "arn:") && i > 0 {
		return jsii.String(fmt.Sprintf("%s:service/%s/*", cluster[:i], cluster[i+len(":cluster/"):]))
	}
	return arn(st, "ecs", "service/"+cluster+"/*", true)
}

// serviceDeploymentsARN returns the ARN pattern of every service deployment
// of a configured cluster (a name or a cluster ARN).
func serviceDeploymentsARN(st awscdk.Stack, cluster string) *string {
	if i := strings.Index(cluster, ":cluster/"); strings.HasPrefix(cluster, "arn:") && i > 0 {
		return jsii.String(fmt.Sprintf("%s:service-deployment/%s/*", cluster[:i], cluster[i+len(":cluster/"):]))
	}
	return arn(st, "ecs", "service-deployment/"+cluster+"/*", true)
}

// clusterARN returns the ARN of a configured cluster: itself when it is an
// ARN, else the cluster of that name in the stack's account and region.
func clusterARN(st awscdk.Stack, cluster string) *string {
	if strings.HasPrefix(cluster, "arn:") {
		return jsii.String(cluster)
	}
	return arn(st, "ecs", "cluster/"+cluster, true)
}

// tasksARN returns the ARN pattern of the tasks of a configured cluster.
func tasksARN(st awscdk.Stack, cluster string) *string {
	if i := strings.Index(cluster, ":cluster/"); strings.HasPrefix(cluster, "arn:") && i > 0 {
		return jsii.String(fmt.Sprintf("%s:task/%s/*", cluster[:i], cluster[i+len(":cluster/"):]))
	}
	return arn(st, "ecs", "task/"+cluster+"/*", true)
}

// roleARN returns a configured role as an ARN: a name (or name pattern) is a
// role in the stack's account.
func roleARN(st awscdk.Stack, role string) *string {
	if strings.HasPrefix(role, "arn:") {
		return jsii.String(role)
	}
	return arn(st, "iam", "role/"+role, false)
}

// constructID turns a function kind ("spec-upload") into a construct id
// ("SpecUpload").
func constructID(kind string) string {
	var b strings.Builder
	for _, part := range strings.Split(kind, "-") {
		if part == "ecr" {
			b.WriteString("ECR")
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// retention maps a number of days to the CDK enum; Validate has checked that
// days is one of the values CloudWatch Logs accepts.
func retention(days int) awslogs.RetentionDays {
	r, _ := retentionDays(days)
	return r
}

// retentionDays maps the retention periods CloudWatch Logs accepts to the CDK
// enum; ok is false for any other value.
func retentionDays(days int) (r awslogs.RetentionDays, ok bool) {
	switch days {
	case 1:
		return awslogs.RetentionDays_ONE_DAY, true
	case 3:
		return awslogs.RetentionDays_THREE_DAYS, true
	case 5:
		return awslogs.RetentionDays_FIVE_DAYS, true
	case 7:
		return awslogs.RetentionDays_ONE_WEEK, true
	case 14:
		return awslogs.RetentionDays_TWO_WEEKS, true
	case 30:
		return awslogs.RetentionDays_ONE_MONTH, true
	case 60:
		return awslogs.RetentionDays_TWO_MONTHS, true
	case 90:
		return awslogs.RetentionDays_THREE_MONTHS, true
	case 120:
		return awslogs.RetentionDays_FOUR_MONTHS, true
	case 150:
		return awslogs.RetentionDays_FIVE_MONTHS, true
	case 180:
		return awslogs.RetentionDays_SIX_MONTHS, true
	case 365:
		return awslogs.RetentionDays_ONE_YEAR, true
	case 400:
		return awslogs.RetentionDays_THIRTEEN_MONTHS, true
	case 545:
		return awslogs.RetentionDays_EIGHTEEN_MONTHS, true
	case 731:
		return awslogs.RetentionDays_TWO_YEARS, true
	case 1096:
		return awslogs.RetentionDays_THREE_YEARS, true
	case 1827:
		return awslogs.RetentionDays_FIVE_YEARS, true
	case 2192:
		return awslogs.RetentionDays_SIX_YEARS, true
	case 2557:
		return awslogs.RetentionDays_SEVEN_YEARS, true
	case 2922:
		return awslogs.RetentionDays_EIGHT_YEARS, true
	case 3288:
		return awslogs.RetentionDays_NINE_YEARS, true
	case 3653:
		return awslogs.RetentionDays_TEN_YEARS, true
	}
	return "", false
}
