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
	if err := run(log); err != nil {
		log.Error("step: cannot start", "error", err.Error())
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	ctx := context.Background()
	c, err := awsclients.ConfigFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	engine, err := awsclients.NewEngine(ctx, cfg, c, log)
	if err != nil {
		return err
	}
	lambda.Start(engine.Run)
	return nil
}
