// Package handlers builds the handlers of Slipway's trigger functions
// (ecr-push, spec-upload, signal) from a function's environment and an AWS
// configuration. It is the wiring the thin mains in functions/ and the local
// endpoint's in-process functions share, so a function runs the same code in
// both places. (The step function's wiring is internal/deploy/awsclients;
// keeping it out of this package keeps the engine out of the trigger
// binaries.)
package handlers

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	ebapi "github.com/slipwayhq/slipway/internal/awsapi/eventbridge"
	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	sfnapi "github.com/slipwayhq/slipway/internal/awsapi/sfn"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/trigger"
)

// ECRPush builds the ecr-push handler: ECR pushes into deployments.
func ECRPush(getenv func(string) string, cfg aws.Config, log *slog.Logger) (*trigger.ECRPush, error) {
	c, err := trigger.ConfigFromEnv(getenv, trigger.EnvStateBucket, trigger.EnvStateMachineARN)
	if err != nil {
		return nil, err
	}
	return trigger.NewECRPush(newStore(cfg, c), executions(cfg), c, log), nil
}

// SpecUpload builds the spec-upload handler: uploaded specs validated,
// indexed, rejected or redeployed.
func SpecUpload(getenv func(string) string, cfg aws.Config, log *slog.Logger) (*trigger.SpecUpload, error) {
	c, err := trigger.ConfigFromEnv(getenv, trigger.EnvSpecBucket, trigger.EnvStateBucket, trigger.EnvStateMachineARN)
	if err != nil {
		return nil, err
	}
	events := ebapi.NewOnBus(eventbridge.NewFromConfig(cfg), c.EventBus)
	return trigger.NewSpecUpload(newStore(cfg, c), executions(cfg), events, c, log), nil
}

// Signal builds the signal handler: alarm and ECS events completing waits.
func Signal(getenv func(string) string, cfg aws.Config, log *slog.Logger) (*trigger.Signal, error) {
	c, err := trigger.ConfigFromEnv(getenv, trigger.EnvStateBucket, trigger.EnvStateMachineARN)
	if err != nil {
		return nil, err
	}
	return trigger.NewSignal(newStore(cfg, c), executions(cfg), c, log), nil
}

func newStore(cfg aws.Config, c trigger.Config) *store.Store {
	return store.New(s3api.New(s3.NewFromConfig(cfg)), c.SpecBucket, c.StateBucket)
}

func executions(cfg aws.Config) *sfnapi.Client { return sfnapi.New(sfn.NewFromConfig(cfg)) }
