package trigger

import (
	"context"
	"fmt"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// executionStarter starts executions of the deploy state machine; the Step
// Functions adapter (*sfn.Client) implements it. existed is true when an
// execution of that name already exists (ExecutionAlreadyExists): the
// request was already started, which is success.
type executionStarter interface {
	StartExecution(ctx context.Context, stateMachineARN, name string, input any) (arn string, existed bool, err error)
}

// started is the outcome of starting one deployment.
type started struct {
	name, arn string
	existed   bool
}

// start starts the deployment req asks for. The input is a State holding
// only the request, as a manual start would; Prepare fills in the rest.
func start(ctx context.Context, api executionStarter, stateMachineARN string, req workflow.Request) (started, error) {
	name := ExecutionName(req)
	arn, existed, err := api.StartExecution(ctx, stateMachineARN, name, workflow.State{Request: req})
	if err != nil {
		return started{name: name}, fmt.Errorf("start execution %s for %s in %s: %w", name, req.Service, req.Environment, err)
	}
	return started{name: name, arn: arn, existed: existed}, nil
}

// message is the log message of a start: a duplicate is not a second
// deployment.
func (s started) message() string {
	if s.existed {
		return "deployment already started: duplicate event ignored"
	}
	return "deployment started"
}
