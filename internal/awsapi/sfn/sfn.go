// Package sfn is the adapter over AWS Step Functions: it starts deploy
// executions, completes the task tokens of waiting states, and reads
// executions back.
package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/slipwayhq/slipway/internal/awsapi"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// ErrTaskClosed means the task token no longer belongs to a waiting task: it
// was completed already, timed out, or its execution ended. Callers treat it
// as done, not as a failure: whatever they meant to say is no longer awaited.
var ErrTaskClosed = errors.New("task closed")

// ErrNotFound means the execution does not exist.
var ErrNotFound = errors.New("not found")

// Limits of SendTaskFailure's fields, in characters.
const (
	maxErrorLen = 256
	maxCauseLen = 32768
)

// api lists the Step Functions client methods the adapter uses.
type api interface {
	StartExecution(context.Context, *sdk.StartExecutionInput, ...func(*sdk.Options)) (*sdk.StartExecutionOutput, error)
	DescribeExecution(context.Context, *sdk.DescribeExecutionInput, ...func(*sdk.Options)) (*sdk.DescribeExecutionOutput, error)
	ListExecutions(context.Context, *sdk.ListExecutionsInput, ...func(*sdk.Options)) (*sdk.ListExecutionsOutput, error)
	SendTaskSuccess(context.Context, *sdk.SendTaskSuccessInput, ...func(*sdk.Options)) (*sdk.SendTaskSuccessOutput, error)
	SendTaskFailure(context.Context, *sdk.SendTaskFailureInput, ...func(*sdk.Options)) (*sdk.SendTaskFailureOutput, error)
	SendTaskHeartbeat(context.Context, *sdk.SendTaskHeartbeatInput, ...func(*sdk.Options)) (*sdk.SendTaskHeartbeatOutput, error)
}

// Client starts and completes Step Functions work.
type Client struct {
	api api
}

// New returns a Client over api, normally an *sfn.Client from the SDK.
func New(api api) *Client { return &Client{api: api} }

// Execution is one execution of a state machine. Input, Output, Error and
// Cause are only filled by DescribeExecution.
type Execution struct {
	ARN       string
	Name      string
	Status    string // RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE
	StartDate time.Time
	StopDate  time.Time // zero while running
	Input     string    // JSON
	Output    string    // JSON
	Error     string
	Cause     string
}

// StartExecution starts an execution of stateMachineARN named name with input
// marshalled as JSON (pass json.RawMessage for an encoded document).
//
// Names are how duplicate triggers are absorbed: when an execution of that
// name exists already (ExecutionAlreadyExists), StartExecution returns its
// ARN, derived from stateMachineARN (which must therefore name the state
// machine itself, not a version or alias), with existed true and no error.
// Step Functions answers a repeated start with the same name and input while
// the first is still running with success; that case returns existed false.
func (c *Client) StartExecution(ctx context.Context, stateMachineARN, name string, input any) (arn string, existed bool, err error) {
	op := "start execution " + name
	b, err := json.Marshal(input)
	if err != nil {
		return "", false, fmt.Errorf("%s: encode input: %w", op, err)
	}
	out, err := c.api.StartExecution(ctx, &sdk.StartExecutionInput{
		StateMachineArn: &stateMachineARN,
		Name:            &name,
		Input:           aws.String(string(b)),
	})
	if awsapi.HasCode(err, "ExecutionAlreadyExists") {
		// arn:aws:states:region:account:stateMachine:deploy → …:execution:deploy:name
		return strings.Replace(stateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name, true, nil
	}
	if err != nil {
		return "", false, awsapi.Classify(op, err)
	}
	return aws.ToString(out.ExecutionArn), false, nil
}

// SendTaskSuccess completes the waiting task of token with output, marshalled
// as JSON. It returns an error wrapping ErrTaskClosed when the task is no
// longer waiting.
func (c *Client) SendTaskSuccess(ctx context.Context, token string, output any) error {
	b, err := json.Marshal(output)
	if err != nil {
		return fmt.Errorf("send task success: encode output: %w", err)
	}
	_, err = c.api.SendTaskSuccess(ctx, &sdk.SendTaskSuccessInput{TaskToken: &token, Output: aws.String(string(b))})
	return taskError("send task success", err)
}

// SendTaskFailure fails the waiting task of token with cause. The error name
// Catch clauses match is the workflow error type in cause's chain, or "Error"
// when there is none; the cause text is cause.Error(), cut to the 32 768
// characters Step Functions accepts. It returns an error wrapping
// ErrTaskClosed when the task is no longer waiting.
func (c *Client) SendTaskFailure(ctx context.Context, token string, cause error) error {
	if cause == nil {
		cause = errors.New("no cause given")
	}
	name := "Error"
	if named := workflow.Named(cause); named != nil {
		name = workflow.ErrorName(named)
	}
	_, err := c.api.SendTaskFailure(ctx, &sdk.SendTaskFailureInput{
		TaskToken: &token,
		Error:     aws.String(truncate(name, maxErrorLen)),
		Cause:     aws.String(truncate(cause.Error(), maxCauseLen)),
	})
	return taskError("send task failure "+name, err)
}

// SendTaskHeartbeat tells Step Functions the task of token is still being
// worked on. It returns an error wrapping ErrTaskClosed when the task is no
// longer waiting.
func (c *Client) SendTaskHeartbeat(ctx context.Context, token string) error {
	_, err := c.api.SendTaskHeartbeat(ctx, &sdk.SendTaskHeartbeatInput{TaskToken: &token})
	return taskError("send task heartbeat", err)
}

// DescribeExecution returns the execution arn, with its input and output. It
// returns an error wrapping ErrNotFound when there is no such execution.
func (c *Client) DescribeExecution(ctx context.Context, arn string) (*Execution, error) {
	op := "describe execution " + arn
	out, err := c.api.DescribeExecution(ctx, &sdk.DescribeExecutionInput{ExecutionArn: &arn})
	if awsapi.HasCode(err, "ExecutionDoesNotExist") {
		return nil, fmt.Errorf("%s: %w: %w", op, ErrNotFound, err)
	}
	if err != nil {
		return nil, awsapi.Classify(op, err)
	}
	return &Execution{
		ARN:       aws.ToString(out.ExecutionArn),
		Name:      aws.ToString(out.Name),
		Status:    string(out.Status),
		StartDate: aws.ToTime(out.StartDate),
		StopDate:  aws.ToTime(out.StopDate),
		Input:     aws.ToString(out.Input),
		Output:    aws.ToString(out.Output),
		Error:     aws.ToString(out.Error),
		Cause:     aws.ToString(out.Cause),
	}, nil
}

// ListExecutions returns the executions of stateMachineARN, newest first:
// all of them, or those in status when it is not empty, at most limit when
// limit is above zero.
func (c *Client) ListExecutions(ctx context.Context, stateMachineARN, status string, limit int) ([]Execution, error) {
	p := sdk.NewListExecutionsPaginator(c.api, &sdk.ListExecutionsInput{
		StateMachineArn: &stateMachineARN,
		StatusFilter:    types.ExecutionStatus(status),
	})
	var list []Execution
	for p.HasMorePages() && (limit <= 0 || len(list) < limit) {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, awsapi.Classify("list executions "+stateMachineARN, err)
		}
		for _, e := range out.Executions {
			list = append(list, Execution{
				ARN:       aws.ToString(e.ExecutionArn),
				Name:      aws.ToString(e.Name),
				Status:    string(e.Status),
				StartDate: aws.ToTime(e.StartDate),
				StopDate:  aws.ToTime(e.StopDate),
			})
		}
	}
	if limit > 0 && len(list) > limit {
		list = list[:limit]
	}
	return list, nil
}

// taskError maps the codes of a token that is no longer awaited to
// ErrTaskClosed and classifies the rest.
func taskError(op string, err error) error {
	if awsapi.HasCode(err, "TaskDoesNotExist", "InvalidToken", "TaskTimedOut") {
		return fmt.Errorf("%s: %w: %w", op, ErrTaskClosed, err)
	}
	return awsapi.Classify(op, err)
}

// truncate cuts s to at most n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
