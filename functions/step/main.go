// Command step is the Lambda every Task state of the deploy state machine
// calls: it runs the phase named in the invocation (internal/deploy).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/slipwayhq/slipway/internal/deploy/awsclients"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	c, err := awsclients.ConfigFromEnv(os.Getenv)
	if err != nil {
		log.Error("step: bad configuration", "error", err.Error())
		os.Exit(1)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("step: load AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(awsclients.NewEngine(cfg, c, log).Run)
}
