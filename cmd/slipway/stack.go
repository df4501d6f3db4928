package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/awsapi"
	"github.com/slipwayhq/slipway/internal/operator"
	"github.com/slipwayhq/slipway/internal/trigger"
)

// Environment variables the operator commands read as flag defaults.
const (
	envStack = "SLIPWAY_STACK"
)

// operatorHelp ends the help of every operator command: how the stack is
// found, and the exit codes.
const operatorHelp = `
The stack is found with the AWS SDK's usual configuration (AWS_PROFILE,
AWS_REGION, …; AWS_ENDPOINT_URL=http://127.0.0.1:4566 talks to
slipway local): its state machine is <stack>-deploy, its buckets are read
from the environment of the <stack>-step function, unless given with
--spec-bucket/--state-bucket or SLIPWAY_SPEC_BUCKET/SLIPWAY_STATE_BUCKET.

Exit codes: 0 ok, 1 the operation failed, 2 usage error.`

// stackFlags are the flags every operator command shares.
type stackFlags struct {
	stack, specBucket, stateBucket string
	poll                           time.Duration
}

func (f *stackFlags) add(c *cobra.Command) {
	stack := os.Getenv(envStack)
	if stack == "" {
		stack = operator.DefaultStack
	}
	c.Flags().StringVar(&f.stack, "stack", stack, "name of the Slipway stack (env "+envStack+")")
	c.Flags().StringVar(&f.specBucket, "spec-bucket", os.Getenv(trigger.EnvSpecBucket), "spec bucket (env "+trigger.EnvSpecBucket+"; default: from the stack)")
	c.Flags().StringVar(&f.stateBucket, "state-bucket", os.Getenv(trigger.EnvStateBucket), "state bucket (env "+trigger.EnvStateBucket+"; default: from the stack)")
	c.Flags().DurationVar(&f.poll, "poll", time.Second, "how often to poll while following a deployment")
	_ = c.Flags().MarkHidden("poll")
}

// connect loads the SDK configuration and finds the stack.
func (f *stackFlags) connect(ctx context.Context) (*operator.Operator, error) {
	if f.poll <= 0 {
		return nil, usageErrorf("--poll %v: must be positive", f.poll)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, usageErrorf("no AWS region: set AWS_REGION (or a profile's region)")
	}
	cfg.HTTPClient = awsapi.KeepConnections(cfg.HTTPClient)
	op, err := operator.Connect(ctx, cfg, operator.Target{Stack: f.stack, SpecBucket: f.specBucket, StateBucket: f.stateBucket})
	if err != nil {
		return nil, err
	}
	op.SetPollPeriod(f.poll)
	return op, nil
}

// requireEnv checks the --env flag every per-service command needs.
func requireEnv(c *cobra.Command, env string) error {
	if strings.TrimSpace(env) == "" {
		return usageErrorf("%s needs --env ENV (the environment: a name under environments/)", c.CommandPath())
	}
	return nil
}

// strategyOverride turns --strategy (a name or a JSON object) into the
// request's raw strategy.
func strategyOverride(s string) (json.RawMessage, error) {
	if s == "" {
		return nil, nil
	}
	if strings.HasPrefix(strings.TrimSpace(s), "{") {
		if !json.Valid([]byte(s)) {
			return nil, usageErrorf("--strategy %s: not valid JSON (give a name such as rolling, or a JSON object)", s)
		}
		return json.RawMessage(s), nil
	}
	switch s {
	case "rolling", "canary", "bluegreen":
	default:
		return nil, usageErrorf("--strategy %s: not a strategy (want rolling, canary, bluegreen or a JSON object)", s)
	}
	b, _ := json.Marshal(s)
	return b, nil
}
