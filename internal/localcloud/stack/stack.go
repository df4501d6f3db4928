// Package stack deploys Slipway's own stack onto the local endpoint: it reads
// the synthesized CloudFormation template (the committed one embedded in
// the binary when no other is given), resolves it with synth.Resolve for the local account
// and region, and creates what it declares — buckets, functions, event rules,
// the state machine, queues and the functions' asynchronous invocation
// configurations — so that the local setup is the template, not a
// hand-made copy of it.
//
// Everything but the functions is created through real SDK clients over
// HTTP, as CloudFormation would call the APIs. Functions are registered as
// in-process handlers built from the same internal code the functions/*
// mains use, with SDK clients whose endpoint is the local one.
package stack

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/slipwayhq/slipway/internal/awsapi"
	"github.com/slipwayhq/slipway/internal/deploy/awsclients"
	"github.com/slipwayhq/slipway/internal/handlers"
	"github.com/slipwayhq/slipway/internal/localcloud/lambda"
	"github.com/slipwayhq/slipway/internal/synth"
)

// Account is the local account id.
const Account = "000000000000"

// AWSConfig returns an SDK configuration for the local endpoint at url: the
// region, static test credentials and the endpoint as every client's base.
func AWSConfig(url, region string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url),
		// A fast local endpoint answers before net/http has done with the
		// request body: see awsapi.KeepConnections.
		HTTPClient: awsapi.KeepConnections(nil),
	}
}

// TemplateFile is the committed template of Slipway's stack as the local
// endpoint deploys it, relative to this package: infrastack.Defaults() with
// the clusters the examples deploy to and placeholder function assets.
// TestEmbeddedTemplateFresh keeps it equal to what the CDK app synthesizes
// (`make local-template` rewrites it), so that the CLI deploys the real
// template without linking the CDK or needing Node.js.
const TemplateFile = "template/Slipway.template.json"

//go:embed template/Slipway.template.json
var embeddedTemplate []byte

// Template returns the CloudFormation template of Slipway's stack: the file
// at path when given (cdk.out/Slipway.template.json from `make synth`),
// otherwise the committed template (TemplateFile) embedded in the binary.
func Template(path string) ([]byte, error) {
	if path == "" {
		return embeddedTemplate, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	return b, nil
}

// FunctionRegistry registers Lambda functions: in-process handlers, or
// bootstrap binaries run behind the Lambda Runtime API. The local Lambda
// service implements it.
type FunctionRegistry interface {
	Register(name string, h awslambda.Handler) error
	RegisterBinary(name, path string, env map[string]string) error
	// PutEventInvokeConfig sets a function's asynchronous invocation
	// configuration (retries, event age, on-failure destination).
	PutEventInvokeConfig(name string, cfg lambda.EventInvokeConfig) error
}

// Target is where the stack is deployed.
type Target struct {
	// AWS is the SDK configuration of the local endpoint (see AWSConfig).
	AWS aws.Config
	// Functions receives the function handlers.
	Functions FunctionRegistry
	// Binaries, when set, is a directory holding <kind>/bootstrap for every
	// function kind (built for this machine): the functions then run those
	// binaries, as on AWS, instead of in-process handlers.
	Binaries string
	// Logger is handed to the functions; nil discards.
	Logger *slog.Logger
	// Now is the endpoint's clock, which the in-process step function's
	// engine reads (history, lock and approval times, its deadlines), so
	// that they agree with the simulations on a virtual or scaled clock;
	// nil is time.Now. Bootstrap binaries (Binaries) run on real time.
	Now func() time.Time
}

// Deployed names what Deploy created that callers need.
type Deployed struct {
	// Stack is the resolved template.
	Stack *synth.Stack
	// SpecBucket and StateBucket are the buckets the functions use.
	SpecBucket, StateBucket string
	// StateMachineARN is the deploy state machine.
	StateMachineARN string
	// DefaultAlarms are the alarms every deployment watches
	// (SLIPWAY_DEFAULT_ALARMS of the step function).
	DefaultAlarms []string
}

// Resolve resolves a template for the local account in region.
func Resolve(template []byte, region string) (*synth.Stack, error) {
	st, err := synth.Resolve(template, synth.Env{Region: region, Account: Account})
	if err != nil {
		return nil, fmt.Errorf("resolve template: %w", err)
	}
	return st, nil
}

// Deploy resolves template for region and creates its resources on the
// local endpoint. It fails on the first resource it cannot create, naming
// it.
func Deploy(ctx context.Context, template []byte, region string, t Target) (*Deployed, error) {
	st, err := Resolve(template, region)
	if err != nil {
		return nil, err
	}
	if err := createBuckets(ctx, s3.NewFromConfig(t.AWS), st.Buckets); err != nil {
		return nil, err
	}
	res, err := parseResources(template)
	if err != nil {
		return nil, err
	}
	if err := createQueues(ctx, sqs.NewFromConfig(t.AWS), st.Queues, res); err != nil {
		return nil, err
	}
	configs, err := eventInvokeConfigs(st, res)
	if err != nil {
		return nil, err
	}
	d, err := RegisterFunctions(st, t)
	if err != nil {
		return nil, err
	}
	// On AWS the configurations are resources of their own; a restart
	// restores them with the Lambda's state.
	if err := configureAsync(t.Functions, configs); err != nil {
		return nil, err
	}
	sfnc := sfn.NewFromConfig(t.AWS)
	for _, sm := range st.StateMachines {
		_, err := sfnc.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
			Name:       aws.String(sm.Name),
			Definition: aws.String(string(sm.Definition)),
			RoleArn:    aws.String("arn:aws:iam::" + Account + ":role/" + sm.Name),
			Type:       sfntypes.StateMachineType(sm.Type),
		})
		if err != nil {
			return nil, fmt.Errorf("create state machine %s: %w", sm.Name, err)
		}
	}
	if err := createRules(ctx, eventbridge.NewFromConfig(t.AWS), st.Rules); err != nil {
		return nil, err
	}
	return d, nil
}

// RegisterFunctions registers the handler of every function of the resolved
// stack, which is all a restart needs when the other resources were restored
// from saved state: handlers are code, not state.
func RegisterFunctions(st *synth.Stack, t Target) (*Deployed, error) {
	log := t.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Deployed{Stack: st}
	for _, fn := range st.Functions {
		if t.Binaries != "" {
			if err := registerBinary(fn, t); err != nil {
				return nil, err
			}
		} else {
			h, err := Handler(fn, t.AWS, log.With("function", fn.Name), t.Now)
			if err != nil {
				return nil, err
			}
			if err := t.Functions.Register(fn.Name, h); err != nil {
				return nil, fmt.Errorf("create function %s: %w", fn.Name, err)
			}
		}
		if fn.Kind == synth.KindStep {
			c, err := awsclients.ConfigFromEnv(envOf(fn))
			if err != nil {
				return nil, fmt.Errorf("function %s: %w", fn.Name, err)
			}
			d.SpecBucket, d.StateBucket, d.DefaultAlarms = c.SpecBucket, c.StateBucket, c.DefaultAlarms
		}
	}
	for _, sm := range st.StateMachines {
		d.StateMachineARN = sm.ARN
	}
	if d.SpecBucket == "" || d.StateMachineARN == "" {
		return nil, errors.New("deploy stack: the template declares no step function or no state machine")
	}
	return d, nil
}

// registerBinary registers the bootstrap binary of fn's kind with the
// function's environment, plus what points its SDK at the local endpoint.
func registerBinary(fn synth.Function, t Target) error {
	path := filepath.Join(t.Binaries, string(fn.Kind), "bootstrap")
	if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("create function %s: %s is not an executable file (build the functions for this machine)", fn.Name, path)
	}
	env := map[string]string{}
	for k, v := range fn.Environment {
		env[k] = v
	}
	env["AWS_ENDPOINT_URL"] = aws.ToString(t.AWS.BaseEndpoint)
	env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = "test", "test"
	env["AWS_EC2_METADATA_DISABLED"] = "true"
	if err := t.Functions.RegisterBinary(fn.Name, path, env); err != nil {
		return fmt.Errorf("create function %s: %w", fn.Name, err)
	}
	return nil
}

func envOf(fn synth.Function) func(string) string {
	return func(k string) string { return fn.Environment[k] }
}

// Handler builds the in-process handler of a Slipway function from its kind
// and environment, wired exactly as its main in functions/ wires it
// (internal/handlers for the triggers, internal/deploy/awsclients for step),
// with SDK clients built from cfg. The step function's engine reads the
// time from now (nil: time.Now).
func Handler(fn synth.Function, cfg aws.Config, log *slog.Logger, now func() time.Time) (awslambda.Handler, error) {
	getenv := envOf(fn)
	fail := func(err error) (awslambda.Handler, error) { return nil, fmt.Errorf("function %s: %w", fn.Name, err) }
	switch fn.Kind {
	case synth.KindECRPush:
		h, err := handlers.ECRPush(getenv, cfg, log)
		if err != nil {
			return fail(err)
		}
		return awslambda.NewHandler(h.Handle), nil
	case synth.KindSpecUpload:
		h, err := handlers.SpecUpload(getenv, cfg, log)
		if err != nil {
			return fail(err)
		}
		return awslambda.NewHandler(h.Handle), nil
	case synth.KindSignal:
		h, err := handlers.Signal(getenv, cfg, log)
		if err != nil {
			return fail(err)
		}
		return awslambda.NewHandler(h.Handle), nil
	case synth.KindStep:
		c, err := awsclients.ConfigFromEnv(getenv)
		if err != nil {
			return fail(err)
		}
		eng := awsclients.NewEngine(cfg, c, log)
		eng.Settings.Now = now
		return awslambda.NewHandler(eng.Run), nil
	}
	return fail(fmt.Errorf("no Slipway function of kind %q (want one of %v)", fn.Kind, synth.Kinds()))
}

func createBuckets(ctx context.Context, c *s3.Client, buckets []synth.Bucket) error {
	for _, b := range buckets {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b.Name)}); err != nil {
			return fmt.Errorf("create bucket %s: %w", b.Name, err)
		}
		if b.Versioned {
			_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b.Name),
				VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
			if err != nil {
				return fmt.Errorf("enable versioning of bucket %s: %w", b.Name, err)
			}
		}
		if b.EventBridge {
			_, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String(b.Name),
				NotificationConfiguration: &s3types.NotificationConfiguration{EventBridgeConfiguration: &s3types.EventBridgeConfiguration{}}})
			if err != nil {
				return fmt.Errorf("enable EventBridge notifications of bucket %s: %w", b.Name, err)
			}
		}
	}
	return nil
}

func createRules(ctx context.Context, c *eventbridge.Client, rules []synth.Rule) error {
	for _, r := range rules {
		in := &eventbridge.PutRuleInput{Name: aws.String(r.Name), EventPattern: aws.String(string(r.EventPattern))}
		if r.EventBus != "" && r.EventBus != "default" && !strings.HasSuffix(r.EventBus, ":event-bus/default") {
			return fmt.Errorf("create rule %s: event bus %s: only the default bus exists locally", r.Name, r.EventBus)
		}
		if r.State != "" {
			in.State = ebtypes.RuleState(r.State)
		}
		if _, err := c.PutRule(ctx, in); err != nil {
			return fmt.Errorf("create rule %s: %w", r.Name, err)
		}
		var targets []ebtypes.Target
		for _, t := range r.Targets {
			tt := ebtypes.Target{Id: aws.String(t.ID), Arn: aws.String(t.ARN)}
			if t.DeadLetterARN != "" {
				tt.DeadLetterConfig = &ebtypes.DeadLetterConfig{Arn: aws.String(t.DeadLetterARN)}
			}
			if t.MaxRetryAttempts > 0 || t.MaxEventAgeSeconds > 0 {
				tt.RetryPolicy = &ebtypes.RetryPolicy{}
				if t.MaxRetryAttempts > 0 {
					tt.RetryPolicy.MaximumRetryAttempts = aws.Int32(int32(t.MaxRetryAttempts))
				}
				if t.MaxEventAgeSeconds > 0 {
					tt.RetryPolicy.MaximumEventAgeInSeconds = aws.Int32(int32(t.MaxEventAgeSeconds))
				}
			}
			targets = append(targets, tt)
		}
		if len(targets) == 0 {
			continue
		}
		out, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(r.Name), Targets: targets})
		if err != nil {
			return fmt.Errorf("add targets of rule %s: %w", r.Name, err)
		}
		if out.FailedEntryCount > 0 {
			b, _ := json.Marshal(out.FailedEntries)
			return fmt.Errorf("add targets of rule %s: %s", r.Name, b)
		}
	}
	return nil
}
