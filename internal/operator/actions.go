package operator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	sfnapi "github.com/slipwayhq/slipway/internal/awsapi/sfn"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/trigger"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// ErrNotPending means no deployment of the service waits for approval in
// the environment (none asked, or its wait ended: approved, rejected,
// timed out or superseded).
var ErrNotPending = errors.New("no approval is pending")

// ErrNothingToRollBack means no deployment is in progress and history holds
// no earlier successful image to go back to.
var ErrNothingToRollBack = errors.New("nothing to roll back to")

// ErrNoWait means a deployment is in progress but is not waiting on
// anything that can be halted within the time allowed.
var ErrNoWait = errors.New("deployment is not waiting")

// ErrNotLocked means no deployment holds the lock of the service in the
// environment: there is nothing to unlock.
var ErrNotLocked = errors.New("not locked")

// ErrInProgress means the lock holder's execution is still running: a
// lock in use is never released by hand.
var ErrInProgress = errors.New("deployment in progress")

// Approve lets the deployment of svc awaiting approval in env proceed. The
// approver recorded is the caller ARN from STS (Caller), with note, free
// text, next to it. It first records the approval in the state bucket
// (approved/<deployment>.json), which a stack with approver roles lets only
// those roles write and checks before Apply, then completes the task token.
// It returns the approval it completed, or an error wrapping ErrNotPending.
func (o *Operator) Approve(ctx context.Context, env, svc, note string) (store.PendingApproval, error) {
	a, err := o.pending(ctx, env, svc)
	if err != nil {
		return a, err
	}
	by, err := o.Caller(ctx)
	if err != nil {
		return a, fmt.Errorf("approve %s in %s: %w", svc, env, err)
	}
	rec := store.ApprovalRecord{Deployment: a.Deployment, Execution: a.Execution, Service: a.Service, Environment: a.Environment,
		By: by, Note: note, At: time.Now().UTC()}
	if err := o.store.PutApprovalRecord(ctx, rec); err != nil {
		return a, fmt.Errorf("approve %s in %s: %w (approving needs s3:PutObject on %s* in the state bucket; with slipway:approverRoleArns set, only those roles have it)",
			svc, env, err, store.ApprovedPrefix)
	}
	detail := "approved by " + by
	if note != "" {
		detail += ": " + note
	}
	err = o.sfn.SendTaskSuccess(ctx, a.Token, workflow.Signal{Source: "approval", By: by, Note: note, Detail: detail})
	if errors.Is(err, sfnapi.ErrTaskClosed) {
		return a, fmt.Errorf("approve %s in %s (deployment %s): %w: the approval is no longer pending (run slipway status)", svc, env, a.Deployment, ErrNotPending)
	}
	if err != nil {
		return a, fmt.Errorf("approve %s in %s: %w", svc, env, err)
	}
	return a, nil
}

// Reject refuses the deployment of svc awaiting approval in env; it ends
// Rejected with nothing changed. The rejecter recorded is the caller ARN
// from STS (Caller); reason is the caller's free text.
func (o *Operator) Reject(ctx context.Context, env, svc, reason string) (store.PendingApproval, error) {
	a, err := o.pending(ctx, env, svc)
	if err != nil {
		return a, err
	}
	by, err := o.Caller(ctx)
	if err != nil {
		return a, fmt.Errorf("reject %s in %s: %w", svc, env, err)
	}
	err = o.sfn.SendTaskFailure(ctx, a.Token, &workflow.ApprovalRejected{By: by, Reason: reason})
	if errors.Is(err, sfnapi.ErrTaskClosed) {
		return a, fmt.Errorf("reject %s in %s (deployment %s): %w: the approval is no longer pending (run slipway status)", svc, env, a.Deployment, ErrNotPending)
	}
	if err != nil {
		return a, fmt.Errorf("reject %s in %s: %w", svc, env, err)
	}
	return a, nil
}

func (o *Operator) pending(ctx context.Context, env, svc string) (store.PendingApproval, error) {
	a, err := o.store.Approval(ctx, env, svc)
	if errors.Is(err, store.ErrNotFound) {
		return a, fmt.Errorf("%s in %s: %w", svc, env, ErrNotPending)
	}
	if err != nil {
		return a, err
	}
	return a, nil
}

// History returns the newest limit history entries of svc in env.
func (o *Operator) History(ctx context.Context, env, svc string, limit int) ([]store.HistoryEntry, error) {
	return o.store.History(ctx, env, svc, limit)
}

// RebuildIndex rebuilds the repository index from the spec bucket.
func (o *Operator) RebuildIndex(ctx context.Context) (store.Index, []trigger.Skipped, error) {
	return trigger.RebuildIndex(ctx, o.store)
}

// Index returns the repository index as stored.
func (o *Operator) Index(ctx context.Context) (store.Index, error) {
	idx, _, err := o.store.Index(ctx)
	return idx, err
}

// Rollback is what a rollback did.
type Rollback struct {
	// Halted is true when a deployment in progress was halted (the state
	// machine rolls it back); false when a new deployment of an earlier
	// image was started.
	Halted bool
	// Joined is true when the deployment in progress was already rolling
	// back (or ending) on its own: nothing was sent to it, and following
	// its execution shows the rollback through.
	Joined bool
	// Deployment and Execution are the halted deployment, or the one
	// started.
	Deployment string
	Execution  string
	// Image is the image the started deployment deploys.
	Image string
	// From is the history entry of the image rolled back to.
	From *store.HistoryEntry
}

// haltAttempts bounds how many poll periods Rollback waits for a deployment
// in progress to reach a wait it can halt (it may be between waits, in
// Apply or a check).
const haltAttempts = 30

// Rollback puts svc in env back. If a deployment is in progress it is
// halted: its current wait fails with *workflow.Halted, so the state machine
// restores the snapshot taken before it. A deployment already rolling back
// is joined, not halted: halting its rollback wait would fail the rollback
// itself and keep the lock (RollbackFailed). A native deployment (kind ecs)
// waiting for approval at its lifecycle hook is halted through the pending
// approval's token: it has changed the service, and its rollback resolves
// the hook with ROLLBACK. Otherwise a deployment of the
// image of the last successful deployment before the current one is
// started, its image pinned.
func (o *Operator) Rollback(ctx context.Context, env, svc, by, reason string) (Rollback, error) {
	if reason == "" {
		reason = "slipway rollback"
	}
	for range haltAttempts {
		lock, _, err := o.store.Lock(ctx, env, svc)
		if errors.Is(err, store.ErrNotFound) {
			// A deployment that has just started holds no lock until its
			// Prepare takes it: wait for it, then halt it, rather than
			// answer that nothing is in progress and let it deploy.
			starting, err := o.starting(ctx, env, svc)
			if err != nil {
				return Rollback{}, fmt.Errorf("roll back %s in %s: %w", svc, env, err)
			}
			if starting == "" {
				return o.redeployPrevious(ctx, env, svc, by, reason)
			}
			if err := o.sleep(ctx); err != nil {
				return Rollback{}, fmt.Errorf("roll back %s in %s: %w", svc, env, err)
			}
			continue
		}
		if err != nil {
			return Rollback{}, fmt.Errorf("roll back %s in %s: %w", svc, env, err)
		}
		if lock.Execution != "" {
			d, err := o.sfn.DescribeExecution(ctx, lock.Execution)
			if err == nil && d.Status != string(sfntypes.ExecutionStatusRunning) {
				// A deployment that finished as the rollback began has
				// released its lock and ended since the lock was read:
				// only a lock its ended holder still holds is stale.
				again, _, err := o.store.Lock(ctx, env, svc)
				if errors.Is(err, store.ErrNotFound) || (err == nil && again.Deployment != lock.Deployment) {
					continue
				}
				return Rollback{}, fmt.Errorf("roll back %s in %s: the lock is held by execution %s, which ended %s: check the service by hand, then release the lock with slipway unlock --env %s %s",
					svc, env, lock.Execution, d.Status, env, svc)
			}
		}
		if lock.Stage == store.StageAwaitingApproval {
			// Nothing has changed yet: there is nothing to roll back, and
			// refusing the deployment is what reject is for.
			return Rollback{}, fmt.Errorf("roll back %s in %s: deployment %s is waiting for approval and has changed nothing: %w (refuse it with slipway reject --env %s --reason TEXT %s)",
				svc, env, lock.Deployment, ErrNothingToRollBack, env, svc)
		}
		token := lock.Token
		if w, err := o.store.WatchForDeployment(ctx, lock.Deployment); err == nil {
			token = w.Token
		} else if !errors.Is(err, store.ErrNotFound) {
			return Rollback{}, fmt.Errorf("roll back %s in %s: %w", svc, env, err)
		}
		if token == "" {
			// A native deployment (kind ecs) asks for its approval at a
			// lifecycle hook, after it changed the service: its wait
			// has no watch, its token is the pending approval's, and
			// halting it rolls back at the hook.
			if a, err := o.store.Approval(ctx, env, svc); err == nil && a.Deployment == lock.Deployment {
				token = a.Token
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				return Rollback{}, fmt.Errorf("roll back %s in %s: %w", svc, env, err)
			}
		}
		// The token is read before the state: a rollback wait's token is
		// recorded only once the rollback has begun, so a state read after
		// it that is not a rollback state means the token is not one.
		if lock.Execution != "" {
			joined, err := o.rollingBack(ctx, lock.Execution)
			if err != nil {
				return Rollback{}, fmt.Errorf("roll back %s in %s: %w", svc, env, err)
			}
			if joined {
				return Rollback{Joined: true, Deployment: lock.Deployment, Execution: lock.Execution}, nil
			}
		}
		if token != "" {
			err := o.sfn.SendTaskFailure(ctx, token, &workflow.Halted{By: by, Reason: reason})
			if err == nil {
				return Rollback{Halted: true, Deployment: lock.Deployment, Execution: lock.Execution}, nil
			}
			if !errors.Is(err, sfnapi.ErrTaskClosed) {
				return Rollback{}, fmt.Errorf("roll back %s in %s: halt deployment %s: %w", svc, env, lock.Deployment, err)
			}
			// The wait ended as we asked: look again for the next one.
		}
		if err := o.sleep(ctx); err != nil {
			return Rollback{}, fmt.Errorf("roll back %s in %s: %w", svc, env, err)
		}
	}
	return Rollback{}, fmt.Errorf("roll back %s in %s: %w: no wait to halt after %d tries; run slipway status and try again", svc, env, ErrNoWait, haltAttempts)
}

// Unlocked is what Unlock released.
type Unlocked struct {
	// Lock is the lock as it was.
	Lock store.LockRecord
	// HandedTo is the deployment that was waiting for the lock and was
	// woken to take it; "" when none waited.
	HandedTo string
}

// Unlock releases the lock of svc in env that a deployment no longer
// running holds: the lock kept after a failed rollback (once a person has
// checked the service), or one left by an execution stopped by hand. The
// deployment waiting for the lock, if any, is woken to take it. A lock whose
// holder still runs is refused with ErrInProgress (halt it with Rollback).
func (o *Operator) Unlock(ctx context.Context, env, svc string) (Unlocked, error) {
	lock, _, err := o.store.Lock(ctx, env, svc)
	if errors.Is(err, store.ErrNotFound) {
		return Unlocked{}, fmt.Errorf("unlock %s in %s: %w", svc, env, ErrNotLocked)
	}
	if err != nil {
		return Unlocked{}, fmt.Errorf("unlock %s in %s: %w", svc, env, err)
	}
	if lock.Execution != "" {
		d, err := o.sfn.DescribeExecution(ctx, lock.Execution)
		switch {
		case errors.Is(err, sfnapi.ErrNotFound):
		case err != nil:
			return Unlocked{}, fmt.Errorf("unlock %s in %s: %w", svc, env, err)
		case d.Status == string(sfntypes.ExecutionStatusRunning) || d.Status == string(sfntypes.ExecutionStatusPendingRedrive):
			return Unlocked{}, fmt.Errorf("unlock %s in %s: deployment %s holds the lock and its execution %s is %s: %w (halt it with slipway rollback --env %s %s)",
				svc, env, lock.Deployment, lock.Execution, d.Status, ErrInProgress, env, svc)
		}
	}
	if err := o.store.ReleaseLock(ctx, env, svc, lock.Deployment); err != nil {
		return Unlocked{}, fmt.Errorf("unlock %s in %s: %w", svc, env, err)
	}
	u := Unlocked{Lock: lock}
	q, err := o.store.Dequeue(ctx, env, svc)
	if err != nil {
		return u, fmt.Errorf("unlock %s in %s: lock released; wake the waiting deployment: %w", svc, env, err)
	}
	if q == nil {
		return u, nil
	}
	u.HandedTo = q.Deployment
	if q.Token == "" {
		// Queued, but its wait has not begun: the wait finds the lock
		// free when it starts, as after the engine's own hand-over.
		return u, nil
	}
	err = o.sfn.SendTaskSuccess(ctx, q.Token, workflow.Signal{Source: "lock", Detail: "released by slipway unlock"})
	if err != nil && !errors.Is(err, sfnapi.ErrTaskClosed) {
		return u, fmt.Errorf("unlock %s in %s: lock released; wake deployment %s: %w", svc, env, q.Deployment, err)
	}
	return u, nil
}

// starting returns the ARN of a running execution that deploys svc to env
// while no deployment holds its lock: one preparing, or queued and about to
// prepare again; "" when there is none.
func (o *Operator) starting(ctx context.Context, env, svc string) (string, error) {
	running, err := o.sfn.ListExecutions(ctx, o.StateMachineARN, string(sfntypes.ExecutionStatusRunning), 0)
	if err != nil {
		return "", err
	}
	prefix := trigger.ExecutionNamePrefix(svc, env)
	for _, x := range running {
		if !strings.HasPrefix(x.Name, prefix) {
			continue
		}
		// The prefix is cut for long names and "-" joins its parts: the
		// input says which service and environment it deploys.
		d, err := o.Describe(ctx, x.ARN)
		if err != nil {
			return "", err
		}
		if d.Service == svc && d.Environment == env && d.Status == string(sfntypes.ExecutionStatusRunning) {
			return x.ARN, nil
		}
	}
	return "", nil
}

// ending are the states of a deployment that is rolling back or recording
// how it ended: a rollback joins it rather than halting anything.
var ending = []string{
	workflow.StateRollback, workflow.StateAwaitRollbackStable, workflow.StateCheckRollbackStable,
	workflow.StateRollbackStableYet, workflow.StateRollbackWoken, workflow.StateRecordFailure, workflow.StateFailureKind,
	workflow.StateRecordRollbackFailed,
}

// rollingBack reports whether the execution arn is rolling back or ending.
func (o *Operator) rollingBack(ctx context.Context, arn string) (bool, error) {
	states, err := o.states(ctx, arn, true, 1)
	if err != nil || len(states) == 0 {
		return false, err
	}
	return contains(ending, states[0]), nil
}

// redeployPrevious starts a deployment of the image deployed before the
// current one.
func (o *Operator) redeployPrevious(ctx context.Context, env, svc, by, reason string) (Rollback, error) {
	hist, err := o.store.History(ctx, env, svc, 0)
	if err != nil {
		return Rollback{}, fmt.Errorf("roll back %s in %s: %w", svc, env, err)
	}
	var current *store.HistoryEntry
	for i := range hist {
		e := &hist[i]
		if e.Outcome != workflow.OutcomeDeployed || e.Image == "" {
			continue
		}
		if current == nil {
			current = e
			continue
		}
		if e.Image == current.Image {
			continue
		}
		req := workflow.Request{Service: svc, Environment: env, Image: e.Image, Reason: reason,
			Trigger: workflow.Trigger{Kind: workflow.TriggerRollback, Source: e.Deployment, Actor: by}}
		arn, err := o.Deploy(ctx, req)
		if err != nil {
			return Rollback{}, fmt.Errorf("roll back %s in %s: %w", svc, env, err)
		}
		return Rollback{Execution: arn, Image: e.Image, From: e}, nil
	}
	if current == nil {
		return Rollback{}, fmt.Errorf("roll back %s in %s: %w: no deployment in progress and none in history succeeded", svc, env, ErrNothingToRollBack)
	}
	return Rollback{}, fmt.Errorf("roll back %s in %s: %w: no deployment in progress and no successful deployment before %s (%s)", svc, env, ErrNothingToRollBack, current.Deployment, current.Image)
}
