package handlers

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// env is what the CDK app sets on every function (infra/stack).
var env = map[string]string{
	"SLIPWAY_SPEC_BUCKET":       "specs",
	"SLIPWAY_STATE_BUCKET":      "state",
	"SLIPWAY_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:000000000000:stateMachine:Slipway-deploy",
	"SLIPWAY_EVENT_BUS":         "default",
}

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestEveryTriggerBuilds(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := aws.Config{Region: "us-east-1"}
	for name, build := range map[string]func() (any, error){
		"ecr-push":    func() (any, error) { return ECRPush(getenv(env), cfg, log) },
		"spec-upload": func() (any, error) { return SpecUpload(getenv(env), cfg, log) },
		"signal":      func() (any, error) { return Signal(getenv(env), cfg, log) },
	} {
		t.Run(name, func(t *testing.T) {
			if h, err := build(); err != nil || h == nil {
				t.Fatalf("got %v, %v; want a handler", h, err)
			}
		})
	}
}

func TestMissingConfigurationNamesTheVariable(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := aws.Config{Region: "us-east-1"}
	tests := map[string]struct {
		build   func(getenv func(string) string) error
		missing string
	}{
		"ecr-push needs the state machine":  {func(g func(string) string) error { _, err := ECRPush(g, cfg, log); return err }, "SLIPWAY_STATE_MACHINE_ARN"},
		"spec-upload needs the spec bucket": {func(g func(string) string) error { _, err := SpecUpload(g, cfg, log); return err }, "SLIPWAY_SPEC_BUCKET"},
		"signal needs the state bucket":     {func(g func(string) string) error { _, err := Signal(g, cfg, log); return err }, "SLIPWAY_STATE_BUCKET"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			partial := map[string]string{}
			for k, v := range env {
				if k != tc.missing {
					partial[k] = v
				}
			}
			if err := tc.build(getenv(partial)); err == nil || !strings.Contains(err.Error(), tc.missing) {
				t.Errorf("got error %v, want one naming %s", err, tc.missing)
			}
		})
	}
}
