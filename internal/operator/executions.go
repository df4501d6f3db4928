package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfnsdk "github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/trigger"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Execution is one deployment as the deploy state machine runs it.
type Execution struct {
	ARN         string    `json:"execution"`
	Service     string    `json:"service"`
	Environment string    `json:"environment"`
	Image       string    `json:"image,omitempty"`
	State       string    `json:"state,omitempty"` // the state entered last
	Status      string    `json:"status"`          // RUNNING, SUCCEEDED, FAILED, …
	Started     time.Time `json:"started"`
	Stopped     time.Time `json:"stopped,omitzero"`
	Error       string    `json:"error,omitempty"`
}

// Deployed reports whether the execution ended in the Deployed state.
func (x Execution) Deployed() bool {
	return x.Status == string(sfntypes.ExecutionStatusSucceeded) && x.State == workflow.StateDeployed
}

// Deploy starts a deployment of req (a manual start: the documented
// execution input) and returns the ARN of the execution it started. Every
// call starts a fresh execution (trigger.RequestExecutionName), even for an
// image that ran before: a person's request is never answered with an older
// execution that asked for the same thing.
func (o *Operator) Deploy(ctx context.Context, req workflow.Request) (arn string, err error) {
	if req.Trigger.Kind == "" {
		req.Trigger = workflow.Trigger{Kind: workflow.TriggerManual, Actor: Actor()}
	}
	name, err := trigger.RequestExecutionName(req)
	if err != nil {
		return "", fmt.Errorf("deploy %s to %s: %w", req.Service, req.Environment, err)
	}
	arn, existed, err := o.sfn.StartExecution(ctx, o.StateMachineARN, name, req)
	if err != nil {
		return "", fmt.Errorf("deploy %s to %s: %w", req.Service, req.Environment, err)
	}
	if existed {
		// A fresh random name is never taken; if it is, this request
		// started nothing and must not pass the other execution off as its
		// own.
		return "", fmt.Errorf("deploy %s to %s: execution name %s is taken by %s: nothing started, try again",
			req.Service, req.Environment, name, arn)
	}
	return arn, nil
}

// Filter selects executions; empty fields match everything.
type Filter struct {
	Service, Environment string
	// Limit bounds the executions returned; 0 means 20.
	Limit int
}

// Status returns the running and recent executions of the deploy state
// machine that match f, newest first, each with the state it is in (or
// ended in).
func (o *Operator) Status(ctx context.Context, f Filter) ([]Execution, error) {
	if f.Limit <= 0 {
		f.Limit = 20
	}
	// Executions are filtered by their input, which needs one
	// DescribeExecution each: look at a bounded window of recent ones.
	list, err := o.sfn.ListExecutions(ctx, o.StateMachineARN, "", 5*f.Limit)
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	var out []Execution
	for _, e := range list {
		if len(out) == f.Limit {
			break
		}
		x, err := o.Describe(ctx, e.ARN)
		if err != nil {
			return nil, fmt.Errorf("status: %w", err)
		}
		if (f.Service != "" && x.Service != f.Service) || (f.Environment != "" && x.Environment != f.Environment) {
			continue
		}
		out = append(out, x)
	}
	return out, nil
}

// Describe returns one execution with its request and current state.
func (o *Operator) Describe(ctx context.Context, arn string) (Execution, error) {
	d, err := o.sfn.DescribeExecution(ctx, arn)
	if err != nil {
		return Execution{}, err
	}
	x := Execution{ARN: d.ARN, Status: d.Status, Started: d.StartDate, Stopped: d.StopDate, Error: d.Error}
	var in workflow.State
	if json.Unmarshal([]byte(d.Input), &in) == nil {
		x.Service, x.Environment, x.Image = in.Service, in.Environment, in.Image
	}
	var out workflow.State
	if d.Output != "" && json.Unmarshal([]byte(d.Output), &out) == nil && out.Plan.Image != "" {
		x.Image = out.Plan.Image
	}
	states, err := o.states(ctx, arn, true, 1)
	if err != nil {
		return Execution{}, err
	}
	if len(states) > 0 {
		x.State = states[0]
	}
	return x, nil
}

// states returns the names of the states the execution entered, oldest
// first (newest first when reverse), at most limit when limit > 0.
func (o *Operator) states(ctx context.Context, arn string, reverse bool, limit int) ([]string, error) {
	p := sfnsdk.NewGetExecutionHistoryPaginator(o.history, &sfnsdk.GetExecutionHistoryInput{
		ExecutionArn: &arn, ReverseOrder: reverse, IncludeExecutionData: aws.Bool(false)})
	var names []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read history of %s: %w", arn, err)
		}
		for _, e := range page.Events {
			if d := e.StateEnteredEventDetails; d != nil {
				names = append(names, aws.ToString(d.Name))
				if limit > 0 && len(names) == limit {
					return names, nil
				}
			}
		}
	}
	return names, nil
}

// Watch follows the execution arn, calling entered with each state as it
// is entered (those entered before the call included), until the
// execution ends; it returns the execution as it ended.
func (o *Operator) Watch(ctx context.Context, arn string, entered func(state string)) (Execution, error) {
	seen := 0
	for {
		// Read the status before the history, so the history read last
		// holds every state of an execution found ended.
		d, err := o.sfn.DescribeExecution(ctx, arn)
		if err != nil {
			return Execution{}, fmt.Errorf("watch %s: %w", arn, err)
		}
		names, err := o.states(ctx, arn, false, 0)
		if err != nil {
			return Execution{}, fmt.Errorf("watch %s: %w", arn, err)
		}
		for _, n := range names[min(seen, len(names)):] {
			entered(n)
		}
		seen = max(seen, len(names))
		if d.Status != string(sfntypes.ExecutionStatusRunning) {
			x, err := o.Describe(ctx, arn)
			if err != nil {
				return Execution{}, fmt.Errorf("watch %s: %w", arn, err)
			}
			return x, nil
		}
		if err := o.sleep(ctx); err != nil {
			return Execution{}, fmt.Errorf("watch %s: %w", arn, err)
		}
	}
}

// WaitForState polls the execution until it is in one of states (and
// returns nil), or has ended (and returns an error saying where). In
// AwaitApproval it waits until the approval is pending too: the wait's task
// records it a moment after the state is entered, and only then can
// `slipway approve` act on it.
func (o *Operator) WaitForState(ctx context.Context, arn string, states ...string) error {
	for {
		x, err := o.Describe(ctx, arn)
		if err != nil {
			return err
		}
		if contains(states, x.State) {
			ready, err := o.readyIn(ctx, x)
			if err != nil || ready {
				return err
			}
		}
		if x.Status != string(sfntypes.ExecutionStatusRunning) {
			return fmt.Errorf("execution %s ended %s in %s without reaching %v", arn, x.Status, x.State, states)
		}
		if err := o.sleep(ctx); err != nil {
			return fmt.Errorf("wait for %v: %w", states, err)
		}
	}
}

// readyIn reports whether x, in the state it entered last, can be acted
// on: in AwaitApproval, once its approval is pending; in any other state,
// at once.
func (o *Operator) readyIn(ctx context.Context, x Execution) (bool, error) {
	if x.State != workflow.StateAwaitApproval {
		return true, nil
	}
	a, err := o.store.Approval(ctx, x.Environment, x.Service)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read the approval of %s in %s: %w", x.Service, x.Environment, err)
	}
	return a.Execution == "" || a.Execution == x.ARN, nil
}
