package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/trigger"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// DetailType is the EventBridge detail-type of every Slipway deployment
// event.
const DetailType = "Deployment State Change"

// Event is the detail of a Deployment State Change event.
type Event struct {
	Deployment  string `json:"deployment"`
	Execution   string `json:"execution"`
	Service     string `json:"service"`
	Environment string `json:"environment"`
	Image       string `json:"image,omitempty"`
	Strategy    string `json:"strategy,omitempty"`
	// Status is awaiting-approval, or the outcome once the deployment ended.
	Status  string           `json:"status"`
	Error   string           `json:"error,omitempty"`
	Cause   string           `json:"cause,omitempty"`
	Reason  string           `json:"reason,omitempty"`
	Trigger workflow.Trigger `json:"trigger,omitzero"`
	At      time.Time        `json:"at"`
}

// finalize records the success, releases the lock to the next deployment
// and starts the deployment of the same image to the next environment of
// the service's pipeline. A cleanup failure (at $.error) is recorded as a
// warning: the new revision is live and healthy.
func (e *Engine) finalize(ctx context.Context, st workflow.State) (workflow.State, error) {
	log := e.logger(st, workflow.PhaseFinalize)
	if err := e.dropWatch(ctx, st); err != nil {
		return st, err
	}
	p, c, err := e.loadPlan(ctx, st)
	if err != nil {
		return st, err
	}
	st.Outcome = workflow.OutcomeDeployed
	h := e.historyEntry(st)
	if st.Error != nil {
		h.Error, h.Cause = st.Error.Error, "cleanup did not finish (the deployment succeeded): "+st.Error.Cause
		log.Warn("cleanup failed; deployment recorded as deployed", "error", st.Error.Error, "cause", st.Error.Cause)
	}
	if live, err := readService(ctx, c, p.Rendered.Cluster, p.Target); err == nil {
		h.TaskDefinition = live.TaskDefinition
	}
	if err := e.Store.PutHistory(ctx, h); err != nil {
		return st, fmt.Errorf("record history: %w", err)
	}
	if err := e.publish(ctx, st, string(workflow.OutcomeDeployed), h.Error, h.Cause); err != nil {
		return st, err
	}
	if err := e.dropApproval(ctx, st); err != nil {
		return st, err
	}
	if err := e.releaseLock(ctx, st, workflow.PhaseFinalize); err != nil {
		return st, err
	}
	if err := e.promoteToNext(ctx, st, p.Pipeline); err != nil {
		return st, err
	}
	log.Info("deployed", "image", st.Plan.Image)
	return st, nil
}

// promoteToNext starts the deployment of st's image to the environment
// after st's in the pipeline. The request and the execution name come from
// internal/trigger, as for every other trigger: the name derives from what
// is deployed, so a retried Finalize (or a push of the same image) starts
// nothing new.
func (e *Engine) promoteToNext(ctx context.Context, st workflow.State, pipeline []string) error {
	next, ok := trigger.NextEnvironment(pipeline, st.Environment)
	if !ok {
		return nil
	}
	machine, err := stateMachineOf(st.Deployment.Execution)
	if err != nil {
		return err
	}
	req := trigger.PromotionRequest(st, next)
	arn, existed, err := e.Tasks.StartExecution(ctx, machine, trigger.ExecutionName(req), req)
	if err != nil {
		return fmt.Errorf("start deployment to %s: %w", next, err)
	}
	e.logger(st, workflow.PhaseFinalize).Info("promotion started", "next", next, "nextExecution", arn, "existed", existed)
	return nil
}

// stateMachineOf derives the state machine ARN from an execution ARN:
// arn:aws:states:region:account:execution:machine:name.
func stateMachineOf(execution string) (string, error) {
	parts := strings.Split(execution, ":")
	if len(parts) < 8 || parts[5] != "execution" {
		return "", &workflow.InvalidInput{Problems: []string{fmt.Sprintf("execution: %q is not a Step Functions execution ARN", execution)}}
	}
	return strings.Join(append(parts[:5:5], "stateMachine", parts[6]), ":"), nil
}

// record records a deployment that did not succeed: history, event, and
// the lock released, except after a failed rollback, which keeps the lock
// so nothing deploys over a service in an unknown state until a person has
// looked.
func (e *Engine) record(ctx context.Context, st workflow.State) (workflow.State, error) {
	log := e.logger(st, workflow.PhaseRecord)
	if err := e.dropWatch(ctx, st); err != nil {
		return st, err
	}
	st.Outcome = outcomeOf(st)
	// A failure before anything changed is Failed, not RolledBack; a halt
	// (slipway rollback) stays RolledBack: the service is as it was, which
	// is what the person asked for.
	if st.Outcome == workflow.OutcomeRolledBack && st.Service != "" && st.Environment != "" &&
		(st.Error == nil || st.Error.Error != workflow.ErrorName((*workflow.Halted)(nil))) {
		applied, err := e.applied(ctx, st)
		if err != nil {
			return st, err
		}
		if !applied {
			st.Outcome = workflow.OutcomeFailed
		}
	}
	if st.Service == "" || st.Environment == "" {
		// A request naming no service or environment has no history, lock or
		// approval to record in: announcing the rejection is all there is.
		var f workflow.Failure
		if st.Error != nil {
			f = *st.Error
		}
		return st, e.publish(ctx, st, string(st.Outcome), f.Error, f.Cause)
	}
	h := e.historyEntry(st)
	if st.Outcome == workflow.OutcomeSuperseded {
		newest, err := e.newestKnown(ctx, st)
		if err != nil {
			return st, err
		}
		h.Newest = newest
	}
	switch {
	case st.Outcome == workflow.OutcomeRollbackFailed:
		h.Error, h.Cause = st.RollbackError.Error, rollbackFailedCause(st)
	case st.Error != nil:
		h.Error, h.Cause = st.Error.Error, st.Error.Cause
	}
	if err := e.Store.PutHistory(ctx, h); err != nil {
		return st, fmt.Errorf("record history: %w", err)
	}
	if err := e.publish(ctx, st, string(st.Outcome), h.Error, h.Cause); err != nil {
		return st, err
	}
	if err := e.dropApproval(ctx, st); err != nil {
		return st, err
	}
	if st.Outcome == workflow.OutcomeRollbackFailed {
		if err := e.keepLock(ctx, st); err != nil {
			return st, err
		}
		log.Error("rollback failed: lock kept until a person checks the service", "cause", h.Cause)
		return st, nil
	}
	if err := e.releaseLock(ctx, st, workflow.PhaseRecord); err != nil {
		return st, err
	}
	log.Info("recorded", "outcome", string(st.Outcome), "error", h.Error)
	return st, nil
}

// outcomeOf classifies how a failed deployment ended. The state machine
// keeps the failure being handled at $.error and a failure of the rollback
// itself at $.rollbackError, so neither hides the other.
func outcomeOf(st workflow.State) workflow.Outcome {
	if st.RollbackError != nil {
		return workflow.OutcomeRollbackFailed
	}
	if st.Error == nil {
		return workflow.OutcomeRolledBack
	}
	// A native deployment asks for approval at its hook, after Apply: a
	// rejection (or nobody in time) rolled the service deployment back.
	native := st.Native != nil && st.Native.ServiceDeployment != ""
	switch st.Error.Error {
	case workflow.ErrorName((*workflow.ApprovalRejected)(nil)):
		if native {
			return workflow.OutcomeRolledBack
		}
		return workflow.OutcomeRejected
	case workflow.ErrorName((*workflow.InvalidInput)(nil)):
		return workflow.OutcomeRejected
	case workflow.ErrorName((*workflow.Superseded)(nil)):
		return workflow.OutcomeSuperseded
	case statesTimeout:
		// The approval wait's timeout is caught at $.error (every other
		// wait's goes to $.timedOut): nobody approved in time.
		if st.Wait.Kind == workflow.WaitApproval && !native {
			return workflow.OutcomeRejected
		}
	}
	return workflow.OutcomeRolledBack
}

// applied reports whether st started changing the live service: Apply sets
// the lock to applying before its first change, and nothing but the end of
// the deployment takes it from there. A deployment that failed without
// getting that far (in Prepare, waiting for the lock or for approval, or in
// Apply before its first change) had nothing to roll back: it failed.
//
// A retried record finds the lock already released: the outcome is then
// the one the first attempt recorded in the history.
func (e *Engine) applied(ctx context.Context, st workflow.State) (bool, error) {
	rec, _, err := e.readLock(ctx, st)
	if err != nil {
		return false, err
	}
	if rec != nil && rec.Deployment == st.Deployment.ID {
		return rec.Stage != store.StagePreparing && rec.Stage != store.StageAwaitingApproval, nil
	}
	h, err := e.Store.History(ctx, st.Environment, st.Service, historyNewer)
	if err != nil {
		return false, fmt.Errorf("read history of %s in %s: %w", st.Service, st.Environment, err)
	}
	for _, x := range h {
		if x.Deployment == st.Deployment.ID {
			return x.Outcome != workflow.OutcomeFailed, nil
		}
	}
	return false, nil
}

// statesTimeout is the error name of a task that timed out.
const statesTimeout = "States.Timeout"

// rollbackFailedCause says what went wrong and what a person must check.
func rollbackFailedCause(st workflow.State) string {
	return fmt.Sprintf("rollback failed (%s: %s) after %s. The lock on %s/%s is kept: compare service %s in %s "+
		"(task definition, desired count, listener rule weights, auto scaling limits) with the snapshot in %s, "+
		"restore what differs, then release the lock",
		st.RollbackError.Error, st.RollbackError.Cause, causeOf(st.Error), st.Environment, st.Service,
		st.Service, st.Environment, st.Plan.Key)
}

// dropApproval deletes the pending approval of st, and only st's: a newer
// deployment may be waiting for its own.
func (e *Engine) dropApproval(ctx context.Context, st workflow.State) error {
	if !st.Approval.Required {
		return nil
	}
	a, err := e.Store.Approval(ctx, st.Environment, st.Service)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read approval: %w", err)
	}
	if a.Deployment != st.Deployment.ID {
		return nil
	}
	if err := e.Store.DeleteApproval(ctx, st.Environment, st.Service); err != nil {
		return fmt.Errorf("delete approval: %w", err)
	}
	return nil
}

func (e *Engine) historyEntry(st workflow.State) store.HistoryEntry {
	return store.HistoryEntry{
		Deployment: st.Deployment.ID, Execution: st.Deployment.Execution,
		Service: st.Service, Environment: st.Environment, Image: st.Plan.Image, Strategy: st.Plan.Strategy,
		Outcome: st.Outcome, Reason: st.Reason, Trigger: st.Trigger,
		StartedAt: st.Deployment.StartedAt, EndedAt: e.now(), RequestedAt: st.RequestedAt, Pins: st.Pins,
		ApprovedBy: st.Approval.By, ApprovalNote: st.Approval.Note,
	}
}

// publish sends a Deployment State Change event.
func (e *Engine) publish(ctx context.Context, st workflow.State, status, errName, cause string) error {
	ev := Event{Deployment: st.Deployment.ID, Execution: st.Deployment.Execution, Service: st.Service,
		Environment: st.Environment, Image: st.Plan.Image, Strategy: st.Plan.Strategy, Status: status,
		Error: errName, Cause: cause, Reason: st.Reason, Trigger: st.Trigger, At: e.now()}
	if err := e.Events.Publish(ctx, DetailType, ev); err != nil {
		return fmt.Errorf("publish %s event: %w", status, err)
	}
	return nil
}
