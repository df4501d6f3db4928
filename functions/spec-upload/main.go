// Command spec-upload is the Lambda function that validates a spec uploaded
// to the spec bucket (S3 "Object Created" events through EventBridge): it
// rejects an invalid spec with every problem, or indexes it and deploys what
// it changes.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	ebapi "github.com/slipwayhq/slipway/internal/awsapi/eventbridge"
	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	sfnapi "github.com/slipwayhq/slipway/internal/awsapi/sfn"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/trigger"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := trigger.ConfigFromEnv(os.Getenv, trigger.EnvSpecBucket, trigger.EnvStateBucket, trigger.EnvStateMachineARN)
	if err != nil {
		log.Error("spec-upload cannot start", "error", err.Error())
		os.Exit(1)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("spec-upload cannot start: load AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	st := store.New(s3api.New(s3.NewFromConfig(awsCfg)), cfg.SpecBucket, cfg.StateBucket)
	events := ebapi.NewOnBus(eventbridge.NewFromConfig(awsCfg), cfg.EventBus)
	lambda.Start(trigger.NewSpecUpload(st, sfnapi.New(sfn.NewFromConfig(awsCfg)), events, cfg, log).Handle)
}
