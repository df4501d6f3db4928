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

	"github.com/slipwayhq/slipway/internal/handlers"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("spec-upload cannot start: load AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	h, err := handlers.SpecUpload(os.Getenv, cfg, log)
	if err != nil {
		log.Error("spec-upload cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
