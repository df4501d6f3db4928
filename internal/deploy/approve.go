package deploy

import (
	"context"
	"fmt"

	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// approve starts the wait for a person: it stores the task token where
// `slipway approve/reject` finds it, records it on the lock (so a newer
// deployment superseding this one can end the wait), and announces it.
func (e *Engine) approve(ctx context.Context, st workflow.State, token string) (workflow.State, error) {
	a := store.PendingApproval{Deployment: st.Deployment.ID, Execution: st.Deployment.Execution, Token: token,
		Service: st.Service, Environment: st.Environment, Image: st.Plan.Image, At: e.now()}
	if err := e.Store.PutApproval(ctx, a); err != nil {
		return st, fmt.Errorf("store approval: %w", err)
	}
	if err := e.setLockStage(ctx, st, store.StageAwaitingApproval, token); err != nil {
		return st, err
	}
	if err := e.publish(ctx, st, "awaiting-approval", "", ""); err != nil {
		return st, err
	}
	e.logger(st, workflow.PhaseApprove).Info("awaiting approval", "image", st.Plan.Image,
		"timeoutSeconds", st.Wait.TimeoutSeconds)
	return st, nil
}
