// Command signal is the Lambda function that ends waiting deployment tasks:
// a CloudWatch alarm going into ALARM fails the waits that watch it (the
// deployment rolls back), and an ECS deployment completing or failing ends
// the waits on that deployment.
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
	cfg, err := trigger.ConfigFromEnv(os.Getenv, trigger.EnvStateBucket)
	if err != nil {
		log.Error("signal cannot start", "error", err.Error())
		os.Exit(1)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("signal cannot start: load AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	st := store.New(s3api.New(s3.NewFromConfig(awsCfg)), cfg.SpecBucket, cfg.StateBucket)
	lambda.Start(trigger.NewSignal(st, sfnapi.New(sfn.NewFromConfig(awsCfg)), log).Handle)
}
