// Package handlers builds the handler of each Slipway Lambda function from
// the function's environment and an AWS configuration. It is the wiring the
// thin mains in functions/ and the local endpoint's in-process functions
// share, so a function runs the same code in both places.
package handlers

import (
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	ebapi "github.com/slipwayhq/slipway/internal/awsapi/eventbridge"
	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	sfnapi "github.com/slipwayhq/slipway/internal/awsapi/sfn"
	"github.com/slipwayhq/slipway/internal/deploy"
	"github.com/slipwayhq/slipway/internal/deploy/awsclients"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/synth"
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
	c, err := trigger.ConfigFromEnv(getenv, trigger.EnvStateBucket)
	if err != nil {
		return nil, err
	}
	return trigger.NewSignal(newStore(cfg, c), executions(cfg), log), nil
}

// Step builds the engine every Task state of the deploy state machine calls.
func Step(getenv func(string) string, cfg aws.Config, log *slog.Logger) (*deploy.Engine, error) {
	c, err := awsclients.ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return awsclients.NewEngine(cfg, c, log), nil
}

// ForKind builds the handler of a function of the given kind, for callers
// that hold functions by kind (the local endpoint).
func ForKind(kind synth.FunctionKind, getenv func(string) string, cfg aws.Config, log *slog.Logger) (lambda.Handler, error) {
	switch kind {
	case synth.KindECRPush:
		h, err := ECRPush(getenv, cfg, log)
		return wrap(h, err, func() any { return h.Handle })
	case synth.KindSpecUpload:
		h, err := SpecUpload(getenv, cfg, log)
		return wrap(h, err, func() any { return h.Handle })
	case synth.KindSignal:
		h, err := Signal(getenv, cfg, log)
		return wrap(h, err, func() any { return h.Handle })
	case synth.KindStep:
		h, err := Step(getenv, cfg, log)
		return wrap(h, err, func() any { return h.Run })
	}
	return nil, fmt.Errorf("no Slipway function of kind %q (want %s, %s, %s or %s)",
		kind, synth.KindECRPush, synth.KindSpecUpload, synth.KindSignal, synth.KindStep)
}

func wrap[T any](h *T, err error, handle func() any) (lambda.Handler, error) {
	if err != nil {
		return nil, err
	}
	return lambda.NewHandler(handle()), nil
}

func newStore(cfg aws.Config, c trigger.Config) *store.Store {
	return store.New(s3api.New(s3.NewFromConfig(cfg)), c.SpecBucket, c.StateBucket)
}

func executions(cfg aws.Config) *sfnapi.Client { return sfnapi.New(sfn.NewFromConfig(cfg)) }
