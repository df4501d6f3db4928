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

	"github.com/slipwayhq/slipway/internal/handlers"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("ecr-push cannot start: load AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	h, err := handlers.ECRPush(os.Getenv, cfg, log)
	if err != nil {
		log.Error("ecr-push cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
