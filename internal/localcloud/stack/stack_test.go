package stack

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/synth"
)

func TestParseRuleARN(t *testing.T) {
	tests := map[string]struct {
		arn     string
		want    ruleARN
		wantErr bool
	}{
		"example rule": {arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener-rule/app/staging/0123456789abcdef/0123456789abcdef/0000000000000001",
			want: ruleARN{lbName: "staging", lbID: "0123456789abcdef", listenerID: "0123456789abcdef", ruleID: "0000000000000001"}},
		"network load balancer": {arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener-rule/net/x/1/2/3", wantErr: true},
		"missing rule id":       {arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener-rule/app/x/1/2", wantErr: true},
		"empty part":            {arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener-rule/app/x//2/3", wantErr: true},
		"not an ARN":            {arn: "rule", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseRuleARN(tc.arn)
			if (err != nil) != tc.wantErr {
				t.Fatalf("got error %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestTargetGroupName(t *testing.T) {
	tests := map[string]struct {
		arn, want string
		wantErr   bool
	}{
		"example": {arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/staging-web-blue/0000000000000001", want: "staging-web-blue"},
		"no id":   {arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/staging-web-blue", wantErr: true},
		"other":   {arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/x/1", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := targetGroupName(tc.arn)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("got %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestClusters(t *testing.T) {
	got, err := Clusters(os.DirFS("../../../examples"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"prod", "staging"}, got); diff != "" {
		t.Errorf("clusters (-want +got):\n%s", diff)
	}
}

func TestHandlerRejects(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	tests := map[string]struct {
		fn   synth.Function
		want string
	}{
		"unknown kind":        {synth.Function{Name: "f", Kind: "other"}, `no Slipway function of kind "other"`},
		"function of no kind": {synth.Function{Name: "f"}, `no Slipway function of kind ""`},
		"ecr-push without its state machine": {synth.Function{Name: "push", Kind: synth.KindECRPush,
			Environment: map[string]string{"SLIPWAY_STATE_BUCKET": "state"}}, "SLIPWAY_STATE_MACHINE_ARN"},
		"step without buckets": {synth.Function{Name: "step", Kind: synth.KindStep}, "_BUCKET: required"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Handler(tc.fn, AWSConfig("http://127.0.0.1:1", "us-east-1"), log, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestTemplateFromMissingFile(t *testing.T) {
	if _, err := Template("no/such/template.json"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want a not-exist error", err)
	}
}
