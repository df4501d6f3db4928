package handlers

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/slipwayhq/slipway/internal/synth"
)

// env is what the CDK app sets on every function (infra/stack).
var env = map[string]string{
	"SLIPWAY_SPEC_BUCKET":       "specs",
	"SLIPWAY_STATE_BUCKET":      "state",
	"SLIPWAY_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:000000000000:stateMachine:Slipway-deploy",
	"SLIPWAY_EVENT_BUS":         "default",
}

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestForKindBuildsEveryFunction(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, kind := range synth.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			h, err := ForKind(kind, getenv(env), aws.Config{Region: "us-east-1"}, log)
			if err != nil {
				t.Fatalf("ForKind(%s): %v", kind, err)
			}
			// A payload that is not an event of the function's kind must be
			// answered (dropped or refused), never crash the handler.
			_, _ = h.Invoke(context.Background(), []byte(`{"unexpected": true}`))
		})
	}
}

func TestMissingConfigurationNamesTheVariable(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := map[string]struct {
		kind    synth.FunctionKind
		missing string
	}{
		"ecr-push needs the state machine":  {synth.KindECRPush, "SLIPWAY_STATE_MACHINE_ARN"},
		"spec-upload needs the spec bucket": {synth.KindSpecUpload, "SLIPWAY_SPEC_BUCKET"},
		"signal needs the state bucket":     {synth.KindSignal, "SLIPWAY_STATE_BUCKET"},
		"step needs the state bucket":       {synth.KindStep, "SLIPWAY_STATE_BUCKET"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			partial := map[string]string{}
			for k, v := range env {
				if k != tc.missing {
					partial[k] = v
				}
			}
			_, err := ForKind(tc.kind, getenv(partial), aws.Config{Region: "us-east-1"}, log)
			if err == nil || !strings.Contains(err.Error(), tc.missing) {
				t.Errorf("got error %v, want one naming %s", err, tc.missing)
			}
		})
	}
	if _, err := ForKind("other", getenv(env), aws.Config{}, log); err == nil || !strings.Contains(err.Error(), `"other"`) {
		t.Errorf("got error %v for an unknown kind, want one naming it", err)
	}
}
