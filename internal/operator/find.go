package operator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/internal/awsapi"
	sfnapi "github.com/slipwayhq/slipway/internal/awsapi/sfn"
)

// ErrUnknown means a service, environment or execution named by the caller
// does not exist; the error's text names those that do.
var ErrUnknown = errors.New("unknown")

// Names returns the services and environments of the spec bucket, sorted
// (see Services and Environments).
func (o *Operator) Names(ctx context.Context) (services, environments []string, err error) {
	if services, err = o.Services(ctx); err != nil {
		return nil, nil, fmt.Errorf("list the specs of bucket %s: %w", o.SpecBucket, err)
	}
	if environments, err = o.Environments(ctx); err != nil {
		return nil, nil, fmt.Errorf("list the specs of bucket %s: %w", o.SpecBucket, err)
	}
	return services, environments, nil
}

// CheckNames returns an error wrapping ErrUnknown, naming what exists, when
// the spec bucket has no service svc or no environment env (an empty name
// is not checked). A caller who may not list the spec bucket is not
// stopped: nothing is checked (the deploy state machine rejects unknown
// names itself).
func (o *Operator) CheckNames(ctx context.Context, svc, env string) error {
	services, envs, err := o.Names(ctx)
	if err != nil {
		return nil
	}
	if svc != "" && !slices.Contains(services, svc) {
		return fmt.Errorf("%w service %q: the spec bucket %s has %s", ErrUnknown, svc, o.SpecBucket, listOrNone(services))
	}
	if env != "" && !slices.Contains(envs, env) {
		return fmt.Errorf("%w environment %q: the spec bucket %s has %s", ErrUnknown, env, o.SpecBucket, listOrNone(envs))
	}
	return nil
}

// ExecutionARN turns an execution name or ARN into the ARN of an execution
// of the deploy state machine that exists; otherwise it returns an error
// wrapping ErrUnknown that names the newest executions.
func (o *Operator) ExecutionARN(ctx context.Context, nameOrARN string) (string, error) {
	arn := nameOrARN
	if !strings.HasPrefix(arn, "arn:") {
		arn = strings.Replace(o.StateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + nameOrARN
	}
	_, err := o.sfn.DescribeExecution(ctx, arn)
	if err == nil {
		return arn, nil
	}
	if !errors.Is(err, sfnapi.ErrNotFound) && !awsapi.HasCode(err, "InvalidArn") {
		return "", err
	}
	list, lerr := o.sfn.ListExecutions(ctx, o.StateMachineARN, "", 5)
	if lerr != nil {
		return "", fmt.Errorf("%w execution %s (and listing executions failed: %v)", ErrUnknown, nameOrARN, lerr)
	}
	var names []string
	for _, x := range list {
		names = append(names, x.ARN[strings.LastIndex(x.ARN, ":")+1:])
	}
	machine := o.StateMachineARN[strings.LastIndex(o.StateMachineARN, ":")+1:]
	return "", fmt.Errorf("%w execution %s: the newest executions of %s are %s", ErrUnknown, nameOrARN, machine, listOrNone(names))
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
