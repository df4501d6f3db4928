package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// approve starts the wait for a person: it records the task token on the
// lock (so a newer deployment superseding this one can end the wait),
// stores it where `slipway approve/reject` finds it, and announces it.
//
// The lock comes first: setLockStage fails with Superseded when a newer
// deployment holds the lock, and then no approval record is written, since
// the record is per service and environment and would replace the newer
// deployment's own. A newer deployment may still take the lock between the
// two writes; the lock is read again after the record is written, and a
// record left by a superseded deployment is removed.
func (e *Engine) approve(ctx context.Context, st workflow.State, token string) (workflow.State, error) {
	if st.Native != nil {
		return e.approveAtHook(ctx, st, token)
	}
	if err := e.setLockStage(ctx, st, store.StageAwaitingApproval, token); err != nil {
		return st, err
	}
	a := store.PendingApproval{Deployment: st.Deployment.ID, Execution: st.Deployment.Execution, Token: token,
		Service: st.Service, Environment: st.Environment, Image: st.Plan.Image, At: e.now()}
	if err := e.Store.PutApproval(ctx, a); err != nil {
		return st, fmt.Errorf("store approval: %w", err)
	}
	rec, _, err := e.readLock(ctx, st)
	if err != nil {
		return st, err
	}
	if rec == nil || rec.Deployment != st.Deployment.ID || rec.Token != token {
		return st, e.unpublishApproval(ctx, st, rec)
	}
	if err := e.publish(ctx, st, "awaiting-approval", "", ""); err != nil {
		return st, err
	}
	e.logger(st, workflow.PhaseApprove).Info("awaiting approval", "image", st.Plan.Image,
		"timeoutSeconds", st.Wait.TimeoutSeconds)
	return st, nil
}

// unpublishApproval takes back the approval record of st, superseded by the
// holder of the lock rec (nil when the lock is free) while it wrote it. The
// record may have replaced the holder's own: when the holder is awaiting
// approval its record is written again from the lock, so that `slipway
// approve` finds the newer deployment, not this one. It returns the
// Superseded error that ends st.
func (e *Engine) unpublishApproval(ctx context.Context, st workflow.State, rec *store.LockRecord) error {
	if rec == nil {
		if err := e.dropApproval(ctx, st); err != nil {
			return err
		}
		return &workflow.Superseded{}
	}
	superseded := &workflow.Superseded{By: rec.Deployment}
	a, err := e.Store.Approval(ctx, st.Environment, st.Service)
	if errors.Is(err, store.ErrNotFound) || (err == nil && a.Deployment != st.Deployment.ID) {
		return superseded
	}
	if err != nil {
		return fmt.Errorf("read approval: %w", err)
	}
	if rec.Stage != store.StageAwaitingApproval || rec.Token == "" {
		if err := e.Store.DeleteApproval(ctx, st.Environment, st.Service); err != nil {
			return fmt.Errorf("delete approval: %w", err)
		}
		return superseded
	}
	holder := store.PendingApproval{Deployment: rec.Deployment, Execution: rec.Execution, Token: rec.Token,
		Service: st.Service, Environment: st.Environment, Image: rec.Image, At: rec.At}
	if err := e.Store.PutApproval(ctx, holder); err != nil {
		return fmt.Errorf("restore approval of %s: %w", rec.Deployment, err)
	}
	return superseded
}
