package operator

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	sfnsdk "github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

type fakeFunction struct {
	env map[string]string
	err error
}

func (f fakeFunction) GetFunctionConfiguration(_ context.Context, in *lambdasdk.GetFunctionConfigurationInput, _ ...func(*lambdasdk.Options)) (*lambdasdk.GetFunctionConfigurationOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	out := &lambdasdk.GetFunctionConfigurationOutput{FunctionName: in.FunctionName}
	if f.env != nil {
		out.Environment = &lambdatypes.EnvironmentResponse{Variables: f.env}
	}
	return out, nil
}

type fakeBuckets []string

func (f fakeBuckets) ListBuckets(context.Context, *s3sdk.ListBucketsInput, ...func(*s3sdk.Options)) (*s3sdk.ListBucketsOutput, error) {
	out := &s3sdk.ListBucketsOutput{}
	for _, n := range f {
		out.Buckets = append(out.Buckets, s3types.Bucket{Name: aws.String(n)})
	}
	return out, nil
}

func TestFindBuckets(t *testing.T) {
	cfn := fakeBuckets{"slipway-storagespecbucketb446a01d", "slipway-storagestatebucket1234", "slipway-storageaccesslogs99", "other-specbucket"}
	tests := map[string]struct {
		fn                  fakeFunction
		buckets             fakeBuckets
		stack               string
		wantSpec, wantState string
		wantErr             error
	}{
		"from the step function": {
			fn:      fakeFunction{env: map[string]string{"SLIPWAY_SPEC_BUCKET": "acme-specs", "SLIPWAY_STATE_BUCKET": "acme-state"}},
			buckets: cfn, stack: "Slipway", wantSpec: "acme-specs", wantState: "acme-state",
		},
		"function without environment": {
			fn: fakeFunction{}, buckets: cfn, stack: "Slipway",
			wantSpec: "slipway-storagespecbucketb446a01d", wantState: "slipway-storagestatebucket1234",
		},
		"no such function": {
			fn: fakeFunction{err: errors.New("ResourceNotFoundException")}, buckets: cfn, stack: "Slipway",
			wantSpec: "slipway-storagespecbucketb446a01d", wantState: "slipway-storagestatebucket1234",
		},
		"another stack's buckets": {
			fn: fakeFunction{}, buckets: cfn, stack: "Deployer", wantErr: ErrStackNotFound,
		},
		"two candidates": {
			fn: fakeFunction{}, buckets: append(fakeBuckets{"slipway-x-specbucket2"}, cfn...), stack: "Slipway", wantErr: ErrStackNotFound,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			spec, state, err := findBuckets(context.Background(), tt.fn, tt.buckets, tt.stack)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if spec != tt.wantSpec || state != tt.wantState {
				t.Errorf("got %s, %s, want %s, %s", spec, state, tt.wantSpec, tt.wantState)
			}
		})
	}
}

// fakeMachines pages its state machines two at a time.
type fakeMachines []string

func (f fakeMachines) ListStateMachines(_ context.Context, in *sfnsdk.ListStateMachinesInput, _ ...func(*sfnsdk.Options)) (*sfnsdk.ListStateMachinesOutput, error) {
	start := 0
	if in.NextToken != nil {
		start = int((*in.NextToken)[0] - '0')
	}
	out := &sfnsdk.ListStateMachinesOutput{}
	for i := start; i < len(f) && i < start+2; i++ {
		out.StateMachines = append(out.StateMachines, sfntypes.StateMachineListItem{
			Name: aws.String(f[i]), StateMachineArn: aws.String("arn:aws:states:us-east-1:000000000000:stateMachine:" + f[i])})
	}
	if start+2 < len(f) {
		out.NextToken = aws.String(string(rune('0' + start + 2)))
	}
	return out, nil
}

func TestFindStateMachine(t *testing.T) {
	machines := fakeMachines{"a", "b", "Other-deploy", "Slipway-deploy", "c"}
	arn, err := findStateMachine(context.Background(), machines, "Slipway")
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:states:us-east-1:000000000000:stateMachine:Slipway-deploy"; arn != want {
		t.Errorf("got %s, want %s", arn, want)
	}
	if _, err := findStateMachine(context.Background(), machines, "Deployer"); !errors.Is(err, ErrStackNotFound) {
		t.Errorf("got error %v, want %v", err, ErrStackNotFound)
	}
}

func TestExecutionDeployed(t *testing.T) {
	tests := map[string]struct {
		x    Execution
		want bool
	}{
		"deployed":    {Execution{Status: "SUCCEEDED", State: "Deployed"}, true},
		"superseded":  {Execution{Status: "SUCCEEDED", State: "Superseded"}, false},
		"rolled back": {Execution{Status: "FAILED", State: "RolledBack"}, false},
		"running":     {Execution{Status: "RUNNING", State: "Bake"}, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tt.x.Deployed(); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
