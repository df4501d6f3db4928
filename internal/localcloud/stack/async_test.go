package stack

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/localcloud/lambda"
	"github.com/slipwayhq/slipway/internal/synth"
)

// TestEventInvokeConfigs reads the template's asynchronous invocation
// configurations and refuses what the local Lambda does not model, naming
// the property.
func TestEventInvokeConfigs(t *testing.T) {
	st := &synth.Stack{
		Functions: []synth.Function{{LogicalID: "Fn", Name: "slipway-spec-upload"}},
		Queues:    []synth.Queue{{LogicalID: "Failures", Name: "slipway-Failures", ARN: "arn:aws:sqs:us-east-1:000000000000:slipway-Failures"}},
	}
	const base = `"FunctionName":{"Ref":"Fn"},"Qualifier":"$LATEST","MaximumRetryAttempts":2,"MaximumEventAgeInSeconds":21600`
	tests := map[string]struct {
		props   string
		want    []asyncConfig
		wantErr string // a substring of the error; empty for none
	}{
		"the stack's shape": {
			props: base + `,"DestinationConfig":{"OnFailure":{"Destination":{"Fn::GetAtt":["Failures","Arn"]}}}`,
			want: []asyncConfig{{function: "slipway-spec-upload", cfg: lambda.EventInvokeConfig{MaximumRetryAttempts: aws.Int(2),
				MaximumEventAge: 6 * time.Hour, OnFailure: "arn:aws:sqs:us-east-1:000000000000:slipway-Failures"}}},
		},
		"on success": {
			props:   base + `,"DestinationConfig":{"OnSuccess":{"Destination":"arn:aws:sqs:us-east-1:000000000000:x"}}`,
			wantErr: "DestinationConfig.OnSuccess is not modelled",
		},
		"an alias": {
			props:   `"FunctionName":{"Ref":"Fn"},"Qualifier":"live"`,
			wantErr: "Qualifier",
		},
		"an unknown queue": {
			props:   base + `,"DestinationConfig":{"OnFailure":{"Destination":{"Fn::GetAtt":["Other","Arn"]}}}`,
			wantErr: "OnFailure.Destination",
		},
		"a function outside the template": {
			props:   `"FunctionName":"elsewhere"`,
			wantErr: "FunctionName",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := parseResources([]byte(`{"Resources":{"Cfg":{"Type":"AWS::Lambda::EventInvokeConfig","Properties":{` + tc.props + `}}}}`))
			if err != nil {
				t.Fatal(err)
			}
			got, err := eventInvokeConfigs(st, res)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(asyncConfig{})); diff != "" {
				t.Errorf("configs (-want +got):\n%s", diff)
			}
		})
	}
}
