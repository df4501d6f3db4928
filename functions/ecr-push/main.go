// Command ecr-push is the Lambda function that starts a deployment when an
// image is pushed to ECR: EventBridge delivers "ECR Image Action" events, and
// every service tracking the repository with a matching tag is deployed to
// the first environment of its pipeline.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	sfnapi "github.com/slipwayhq/slipway/internal/awsapi/sfn"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/trigger"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := trigger.ConfigFromEnv(os.Getenv, trigger.EnvStateBucket, trigger.EnvStateMachineARN)
	if err != nil {
		log.Error("ecr-push cannot start", "error", err.Error())
		os.Exit(1)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("ecr-push cannot start: load AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	st := store.New(s3api.New(s3.NewFromConfig(awsCfg)), cfg.SpecBucket, cfg.StateBucket)
	lambda.Start(trigger.NewECRPush(st, sfnapi.New(sfn.NewFromConfig(awsCfg)), cfg, log).Handle)
}
