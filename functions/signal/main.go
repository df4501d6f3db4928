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

	"github.com/slipwayhq/slipway/internal/handlers"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("signal cannot start: load AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	h, err := handlers.Signal(os.Getenv, cfg, log)
	if err != nil {
		log.Error("signal cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
