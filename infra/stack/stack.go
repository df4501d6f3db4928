// Package stack is Slipway's CDK stack: the spec and state buckets, the four
// Lambda functions, the EventBridge rules that trigger them and the deploy
// state machine. infra/main.go synthesizes it; the tests and the local
// endpoint synthesize it in-process.
package stack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/slipwayhq/slipway/internal/synth"
)

// Stack is the whole of Slipway in one account and region.
type Stack struct {
	awscdk.Stack
	Storage   *Storage
	Events    *Events
	Functions *Functions
	Deploy    *DeployMachine
	Triggers  *Triggers
}

// StateMachineName is the deploy state machine's name in a stack named
// stackName.
func StateMachineName(stackName string) string { return stackName + "-deploy" }

// New adds the Slipway stack to app. The stack is environment-agnostic: the
// account and region come from the credentials at deploy time, so synthesis
// needs neither. cdk-nag's AwsSolutions checks run as an aspect; Findings
// reports what they found after synthesis.
func New(app constructs.Construct, s Settings) (*Stack, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := checkAssets(s.AssetDir); err != nil {
		return nil, err
	}
	st := &Stack{Stack: awscdk.NewStack(app, jsii.String(s.StackName), &awscdk.StackProps{
		StackName:   jsii.String(s.StackName),
		Description: jsii.String("Slipway: event-driven ECS deployments run by Step Functions."),
	})}

	// jsii knows the embedded awscdk.Stack, not the Go struct around it.
	scope := st.Stack
	// Feature flags are set on the stack, before it has children, so that
	// every app building it (cdk synth, the tests, the local endpoint) gets
	// the same template: server access logs delivered under a bucket policy
	// rather than an ACL, and merged IAM statements.
	for _, flag := range []string{"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", "@aws-cdk/aws-iam:minimizePolicies"} {
		scope.Node().SetContext(jsii.String(flag), true)
	}
	st.Storage = NewStorage(scope, "Storage", s.SpecBucketName)
	st.Events = NewEvents(scope, "Events", s.StackName, s.EventSourceAccounts())

	// The step function both is invoked by the state machine and calls it
	// (SendTaskSuccess from the watch phase, StartExecution for promotion).
	// Referring to the state machine resource from the function would make
	// a dependency cycle (function → state machine → function). The state
	// machine therefore gets a fixed name, and the functions' environment and
	// policies use the ARN built from that name, which refers to nothing.
	// TestStateMachineARNMatchesName checks that both agree.
	name := StateMachineName(s.StackName)
	machineARN := st.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("states"), Resource: jsii.String("stateMachine"),
		ResourceName: jsii.String(name), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	executionsARN := st.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("states"), Resource: jsii.String("execution"),
		ResourceName: jsii.String(name + ":*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	st.Functions = NewFunctions(scope, "Functions", FunctionsProps{
		Settings: s, Storage: st.Storage, Events: st.Events,
		StateMachineARN: machineARN, ExecutionsARN: executionsARN,
	})
	restrictApprovers(st, s.ApproverRoles)
	st.Deploy = NewDeployMachine(scope, "Deploy", DeployMachineProps{
		Name: name, Step: st.Functions.Step,
		LogRetentionDays: s.LogRetentionDays, LogExecutionData: s.LogExecutionData,
	})
	// The trigger functions call the state machine by its built ARN too; make
	// CloudFormation create it first so that they never start before it
	// exists. (functions/step cannot: the state machine depends on it.)
	for _, fn := range []constructs.IConstruct{st.Functions.ECRPush, st.Functions.SpecUpload, st.Functions.Signal} {
		fn.Node().AddDependency(st.Deploy.StateMachine)
	}
	st.Triggers = NewTriggers(scope, "Triggers", s.StackName, st.Functions, st.Storage.SpecBucket)

	// What a person needs after `cdk deploy`: where specs go, and what to
	// start or watch.
	for _, o := range []struct{ id, value, desc string }{
		{"SpecBucketName", *st.Storage.SpecBucket.BucketName(), "Upload services/<name>.yaml and environments/<name>.yaml here."},
		{"StateBucketName", *st.Storage.StateBucket.BucketName(), "Locks, history, plans and the image index."},
		{"StateMachineArn", *st.Deploy.StateMachine.StateMachineArn(), "Start a manual deployment here: {\"service\": …, \"environment\": …}."},
	} {
		awscdk.NewCfnOutput(scope, jsii.String(o.id), &awscdk.CfnOutputProps{Value: jsii.String(o.value), Description: jsii.String(o.desc)})
	}

	suppress(st)
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return st, nil
}

// checkAssets reports a missing build/<fn>/bootstrap up front, with the
// command that builds it, instead of the asset error CDK would raise.
func checkAssets(dir string) error {
	var missing []string
	for _, k := range synth.Kinds() {
		p := filepath.Join(dir, string(k), "bootstrap")
		if _, err := os.Stat(p); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("check function asset %s: %w", p, err)
			}
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("function assets missing: %s (run `make build`, or set %s)", strings.Join(missing, ", "), KeyAssetDir)
	}
	return nil
}

// Findings returns the cdk-nag findings (warnings and errors whose message
// starts with a rule id such as "AwsSolutions-IAM5") left unsuppressed in the
// synthesized stack (the Slipway stack or the event forwarder). Synthesis
// fails when there is any.
func Findings(asm cxapi.CloudAssembly, st awscdk.Stack) []string {
	var out []string
	art := asm.GetStackArtifact(st.ArtifactId())
	for _, m := range *art.Messages() {
		if m.Level != cxapi.SynthesisMessageLevel_ERROR && m.Level != cxapi.SynthesisMessageLevel_WARNING {
			continue
		}
		text := fmt.Sprint(m.Entry.Data)
		if p, ok := m.Entry.Data.(*string); ok && p != nil {
			text = *p
		}
		if strings.HasPrefix(text, "AwsSolutions-") {
			out = append(out, fmt.Sprintf("%s: %s", *m.Id, text))
		}
	}
	return out
}
