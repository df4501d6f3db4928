package deploy

import (
	"context"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// racingStore runs before once, the first time PutApproval is called, then
// writes: a newer deployment acting between the lock write and the
// approval record.
type racingStore struct {
	Store
	before func()
}

func (s *racingStore) PutApproval(ctx context.Context, a store.PendingApproval) error {
	if f := s.before; f != nil {
		s.before = nil
		f()
	}
	return s.Store.PutApproval(ctx, a)
}

// TestApprovalRecordOnlyUnderLock (issue 11 item 15): the approval record,
// per service and environment, is written only by the deployment holding
// the lock. A deployment superseded before its approval wait, or while it
// starts it, leaves no record that `slipway approve` would act on, and the
// newer deployment's record is the one there: approving it deploys the
// newer image.
func TestApprovalRecordOnlyUnderLock(t *testing.T) {
	tests := map[string]struct {
		// race runs the newer deployment between the older one's lock
		// write and its approval record; otherwise it runs before the
		// older one starts its wait.
		race bool
	}{
		"superseded before its wait":          {},
		"superseded while it starts its wait": {race: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.cluster = "prod"
			w.addService("web--blue", "web-prod", w.image("web", "v1"), 2, false)
			w.rules["arn:aws:elasticloadbalancing:us-east-1:111122223333:listener-rule/app/prod/0123456789abcdef/0123456789abcdef/0000000000000003"] = []elbv2.TargetWeight{}
			w.image("web", "v2")
			newer := w.image("web", "v3")
			t0 := w.now
			older := newExecution(w, "exec-older", workflow.Request{Service: "web", Environment: "prod", Image: "v2", RequestedAt: t0})
			next := newExecution(w, "exec-newer", workflow.Request{Service: "web", Environment: "prod", Image: "v3", RequestedAt: t0.Add(time.Second)})
			next.approver = func(x *execution, _ string) {
				// What `slipway approve` does: the token of the record.
				a, err := w.Approval(context.Background(), "prod", "web")
				if err != nil {
					t.Fatalf("approving the newer deployment: %v", err)
				}
				if err := w.SendTaskSuccess(context.Background(), a.Token, workflow.Signal{Source: "approval", By: "alice"}); err != nil {
					t.Fatal(err)
				}
			}

			older.step() // Prepare: lock held, approval required
			older.step() // AfterPrepare
			if older.state != workflow.StateAwaitApproval {
				t.Fatalf("older: got state %s, want %s (path %v)", older.state, workflow.StateAwaitApproval, older.path)
			}
			if tc.race {
				older.e.Store = &racingStore{Store: w, before: func() { next.runUntil(workflow.StateAwaitApproval) }}
			} else {
				next.runUntil(workflow.StateAwaitApproval)
			}
			older.run()

			if older.state != workflow.StateSuperseded {
				t.Fatalf("older: got %s, want %s (path %v, error %+v)", older.state, workflow.StateSuperseded, older.path, older.st.Error)
			}
			if next.state != workflow.StateAwaitApproval || next.token == "" {
				t.Fatalf("newer: got state %s, token %q; want its approval wait started", next.state, next.token)
			}
			a, err := w.Approval(context.Background(), "prod", "web")
			if err != nil || a.Deployment != deploymentID(next.arn) || a.Token != next.token || a.Image != newer {
				t.Fatalf("approval record: got %+v (%v), want the newer deployment's %s with token %s and image %s",
					a, err, deploymentID(next.arn), next.token, newer)
			}
			next.run()
			if next.state != workflow.StateDeployed {
				t.Fatalf("newer: got %s, want %s (path %v, error %+v)", next.state, workflow.StateDeployed, next.path, next.st.Error)
			}
			if h, err := w.historyOf(deploymentID(next.arn)); err != nil || h.Outcome != workflow.OutcomeDeployed || h.Image != newer {
				t.Errorf("newer's history: got %+v (%v), want %s deployed", h, err, newer)
			}
			if len(w.approvals) != 0 || len(w.locks) != 0 {
				t.Errorf("got approvals %+v, locks %+v; want none", w.approvals, w.locks)
			}
		})
	}
}
