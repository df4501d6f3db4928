// Package operator is what the operator commands of the slipway CLI do:
// start a deployment by hand, follow the deploy state machine's executions,
// approve or reject a pending deployment, halt one or roll back to the
// previous image, read history and rebuild the repository index.
//
// It talks to AWS only through SDK clients built from an aws.Config, so the
// same code drives a real stack and `slipway local` (AWS_ENDPOINT_URL).
package operator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwsdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	sfnsdk "github.com/aws/aws-sdk-go-v2/service/sfn"
	stssdk "github.com/aws/aws-sdk-go-v2/service/sts"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	sfnapi "github.com/slipwayhq/slipway/internal/awsapi/sfn"
	stsapi "github.com/slipwayhq/slipway/internal/awsapi/sts"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/trigger"
)

// DefaultStack is the stack name the CLI looks for when none is given.
const DefaultStack = "Slipway"

// ErrStackNotFound means the stack's state machine or buckets could not be
// found with the credentials and region in use.
var ErrStackNotFound = errors.New("stack not found")

// Target says which Slipway stack to operate. Empty buckets are found from
// the stack's step function (its SLIPWAY_SPEC_BUCKET and
// SLIPWAY_STATE_BUCKET), or else from the account's bucket names.
type Target struct {
	Stack       string
	SpecBucket  string
	StateBucket string
}

// Operator runs the operator commands against one stack.
type Operator struct {
	// StateMachineARN is the stack's deploy state machine.
	StateMachineARN string
	// SpecBucket and StateBucket are the stack's buckets.
	SpecBucket, StateBucket string

	sfn        *sfnapi.Client
	identity   identityAPI
	history    historyAPI
	store      *store.Store
	pollPeriod time.Duration
	// alarms reads alarm history for reports.
	alarmHistory alarmHistoryAPI
	// cfg builds the clients that read live services for diff and
	// Snapshot, by role for environments in other accounts (configFor).
	cfg aws.Config

	// The live state a Snapshot reads (with the caller's credentials, or
	// by role for environments in other accounts), the plans read by key,
	// and the clock (time.Now when nil).
	live  live
	roles map[string]live
	// mu guards roles, plans and histories: caches Snapshot fills.
	mu        sync.Mutex
	plans     map[string]planView
	histories map[string]*history
	clock     func() time.Time
}

// historyAPI is the Step Functions call the adapter does not wrap: the
// events of an execution, to tell which state it is in.
type historyAPI interface {
	GetExecutionHistory(context.Context, *sfnsdk.GetExecutionHistoryInput, ...func(*sfnsdk.Options)) (*sfnsdk.GetExecutionHistoryOutput, error)
}

// identityAPI says who the caller is: the principal of the credentials the
// Operator's clients sign with (an *sts.Client adapter).
type identityAPI interface {
	CallerIdentity(ctx context.Context) (account, arn string, err error)
}

// machineLister finds the deploy state machine by name.
type machineLister interface {
	ListStateMachines(context.Context, *sfnsdk.ListStateMachinesInput, ...func(*sfnsdk.Options)) (*sfnsdk.ListStateMachinesOutput, error)
}

// functionReader reads the step function's environment.
type functionReader interface {
	GetFunctionConfiguration(context.Context, *lambdasdk.GetFunctionConfigurationInput, ...func(*lambdasdk.Options)) (*lambdasdk.GetFunctionConfigurationOutput, error)
}

// bucketLister lists the account's buckets, the last resort to find the
// stack's buckets.
type bucketLister interface {
	ListBuckets(context.Context, *s3sdk.ListBucketsInput, ...func(*s3sdk.Options)) (*s3sdk.ListBucketsOutput, error)
}

// Connect finds the stack t names with the SDK configuration cfg and returns
// an Operator for it.
func Connect(ctx context.Context, cfg aws.Config, t Target) (*Operator, error) {
	if t.Stack == "" {
		t.Stack = DefaultStack
	}
	sfnc := sfnsdk.NewFromConfig(cfg)
	// GetObject answers without a checksum from some S3-compatible
	// endpoints (slipway local); the SDK's note about it is noise here.
	s3c := s3sdk.NewFromConfig(cfg, func(o *s3sdk.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
	arn, err := findStateMachine(ctx, sfnc, t.Stack)
	if err != nil {
		return nil, err
	}
	if t.SpecBucket == "" || t.StateBucket == "" {
		spec, state, err := findBuckets(ctx, lambdasdk.NewFromConfig(cfg), s3c, t.Stack)
		if err != nil {
			return nil, err
		}
		if t.SpecBucket == "" {
			t.SpecBucket = spec
		}
		if t.StateBucket == "" {
			t.StateBucket = state
		}
	}
	return &Operator{
		StateMachineARN: arn, SpecBucket: t.SpecBucket, StateBucket: t.StateBucket,
		sfn: sfnapi.New(sfnc), history: sfnc,
		identity:     stsapi.New(stssdk.NewFromConfig(cfg)),
		store:        store.New(s3api.New(s3c), t.SpecBucket, t.StateBucket),
		pollPeriod:   time.Second,
		alarmHistory: cwsdk.NewFromConfig(cfg),
		cfg:          cfg,
		live:         newLive(cfg),
	}, nil
}

// SetPollPeriod sets how often Watch and the waits poll; one second by
// default.
func (o *Operator) SetPollPeriod(d time.Duration) {
	if d > 0 {
		o.pollPeriod = d
	}
}

// StateMachineName is the name of a stack's deploy state machine.
func StateMachineName(stack string) string { return stack + "-deploy" }

// StepFunctionName is the name of a stack's step function, whose
// environment names the buckets.
func StepFunctionName(stack string) string { return stack + "-step" }

func findStateMachine(ctx context.Context, c machineLister, stack string) (string, error) {
	name := StateMachineName(stack)
	p := sfnsdk.NewListStateMachinesPaginator(c, &sfnsdk.ListStateMachinesInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("find state machine %s: %w", name, err)
		}
		for _, m := range out.StateMachines {
			if aws.ToString(m.Name) == name {
				return aws.ToString(m.StateMachineArn), nil
			}
		}
	}
	return "", fmt.Errorf("find state machine %s: %w (check --stack, AWS_REGION and AWS_ENDPOINT_URL, or deploy the stack first)", name, ErrStackNotFound)
}

// findBuckets reads the buckets from the step function's environment; when
// the function does not report it (slipway local runs in-process handlers
// without one), it picks the account's buckets named by CloudFormation
// after the stack's SpecBucket and StateBucket resources.
func findBuckets(ctx context.Context, fn functionReader, s3c bucketLister, stack string) (spec, state string, err error) {
	name := StepFunctionName(stack)
	out, err := fn.GetFunctionConfiguration(ctx, &lambdasdk.GetFunctionConfigurationInput{FunctionName: &name})
	if err == nil && out.Environment != nil {
		env := out.Environment.Variables
		spec, state = env[trigger.EnvSpecBucket], env[trigger.EnvStateBucket]
		if spec != "" && state != "" {
			return spec, state, nil
		}
	}
	list, lerr := s3c.ListBuckets(ctx, &s3sdk.ListBucketsInput{})
	if lerr != nil {
		return "", "", fmt.Errorf("find the buckets of stack %s: %w (give --spec-bucket and --state-bucket)", stack, lerr)
	}
	prefix := strings.ToLower(stack) + "-"
	var specs, states []string
	for _, b := range list.Buckets {
		n := aws.ToString(b.Name)
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		switch {
		case strings.Contains(n, "specbucket"):
			specs = append(specs, n)
		case strings.Contains(n, "statebucket"):
			states = append(states, n)
		}
	}
	if spec == "" {
		if len(specs) != 1 {
			return "", "", fmt.Errorf("find the spec bucket of stack %s: %d candidates %v: %w (give --spec-bucket or %s)", stack, len(specs), specs, ErrStackNotFound, trigger.EnvSpecBucket)
		}
		spec = specs[0]
	}
	if state == "" {
		if len(states) != 1 {
			return "", "", fmt.Errorf("find the state bucket of stack %s: %d candidates %v: %w (give --state-bucket or %s)", stack, len(states), states, ErrStackNotFound, trigger.EnvStateBucket)
		}
		state = states[0]
	}
	return spec, state, nil
}

// Caller returns who the Operator acts as: the ARN STS's
// GetCallerIdentity reports for the credentials every call of the Operator
// signs with. For an assumed role it is the role session ARN
// (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION), kept whole: for an IAM
// Identity Center session, SESSION names the person. Approvals, rejections
// and halts record it, never a name the caller typed.
func (o *Operator) Caller(ctx context.Context) (string, error) {
	_, arn, err := o.identity.CallerIdentity(ctx)
	if err != nil {
		return "", fmt.Errorf("ask STS who the caller is: %w", err)
	}
	if arn == "" {
		return "", errors.New("ask STS who the caller is: GetCallerIdentity returned no ARN")
	}
	return arn, nil
}

// Actor names the person running the CLI, for the trigger of a deployment
// it starts: $USER, or "slipway-cli". It is what the caller says, not a
// verified identity (see Caller).
func Actor() string {
	for _, k := range []string{"USER", "USERNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "slipway-cli"
}

// sleep waits one poll period or until ctx ends.
func (o *Operator) sleep(ctx context.Context) error {
	t := time.NewTimer(o.pollPeriod)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// contains reports whether s is one of list.
func contains(list []string, s string) bool { return slices.Contains(list, s) }
