// Command fn is a test function for the Runtime API mode: it echoes its
// input and fails, panics, exits or hangs on request. With FAIL_INIT set it
// reports an init error instead of starting, as a runtime whose
// initialisation fails does.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Action string `json:"action"`
	Value  string `json:"value"`
}

type response struct {
	Echo     string `json:"echo"`
	Function string `json:"function"`
	Region   string `json:"region"`
	Custom   string `json:"custom"`
	ARN      string `json:"arn"`
	PID      int    `json:"pid"`
}

// RolloutError is a custom error type whose name the runtime reports.
type RolloutError struct{ Reason string }

func (e *RolloutError) Error() string { return "rollout failed: " + e.Reason }

func handle(ctx context.Context, req request) (response, error) {
	switch req.Action {
	case "fail":
		return response{}, &RolloutError{Reason: req.Value}
	case "panic":
		panic("boom: " + req.Value)
	case "exit":
		os.Exit(3)
	case "hang":
		time.Sleep(time.Minute)
	}
	lc, _ := lambdacontext.FromContext(ctx)
	return response{
		Echo: req.Value, Function: os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), Region: os.Getenv("AWS_REGION"),
		Custom: os.Getenv("CUSTOM"), ARN: lc.InvokedFunctionArn, PID: os.Getpid(),
	}, nil
}

func main() {
	if os.Getenv("FAIL_INIT") != "" {
		url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
		body := `{"errorType":"InitError","errorMessage":"missing setting"}`
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err == nil {
			resp.Body.Close()
		}
		fmt.Fprintln(os.Stderr, "init failed")
		os.Exit(1)
	}
	lambda.Start(handle)
}
