package operator

import (
	"context"
	"testing"

	sfnsdk "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/slipwayhq/slipway/internal/awsapi/awsapitest"
	sfnapi "github.com/slipwayhq/slipway/internal/awsapi/sfn"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestUnlockHandsOver: unlock releases a kept lock and hands it to the
// queued deployment, completing its wait when it has begun (a token) and
// sending nothing when it has not, as the engine's own hand-over does: the
// wait finds the lock free when it starts.
func TestUnlockHandsOver(t *testing.T) {
	tests := map[string]struct {
		token    string
		wantReqs int
	}{
		"waiting with a token":   {token: "tok-2", wantReqs: 1},
		"queued, wait not begun": {token: "", wantReqs: 0},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f, cfg := awsapitest.NewJSON(t, "AWSStepFunctions.", "1.0", map[string][]awsapitest.Reply{
				"SendTaskSuccess": {{Body: `{}`}},
			})
			st := store.New(memObjects{}, "specs", "state")
			if err := st.AcquireLock(ctx, "prod", "web", store.LockRecord{Deployment: "d-1", Stage: store.StageRollbackFailed}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Enqueue(ctx, "prod", "web", store.QueueEntry{Deployment: "d-2", Token: tt.token}); err != nil {
				t.Fatal(err)
			}
			op := &Operator{sfn: sfnapi.New(sfnsdk.NewFromConfig(cfg)), store: st}
			u, err := op.Unlock(ctx, "prod", "web")
			if err != nil {
				t.Fatalf("Unlock: %v", err)
			}
			if u.HandedTo != "d-2" || u.Lock.Deployment != "d-1" {
				t.Errorf("got %+v, want the lock of d-1 handed to d-2", u)
			}
			if reqs := f.Requests(); len(reqs) != tt.wantReqs || (tt.wantReqs == 1 && reqs[0].Body["taskToken"] != tt.token) {
				t.Errorf("got Step Functions requests %v, want %d SendTaskSuccess of %q", reqs, tt.wantReqs, tt.token)
			}
			if rec, _, err := st.Lock(ctx, "prod", "web"); err == nil {
				t.Errorf("got lock %+v after unlock, want none", rec)
			}
		})
	}
}

// TestReadyIn: an execution in AwaitApproval can be approved only once its
// own approval is pending; in any other state at once.
func TestReadyIn(t *testing.T) {
	ctx := context.Background()
	st := store.New(memObjects{}, "specs", "state")
	op := &Operator{store: st}
	x := Execution{ARN: "arn:new", Service: "web", Environment: "prod", State: workflow.StateAwaitApproval}
	check := func(name string, want bool) {
		t.Helper()
		got, err := op.readyIn(ctx, x)
		if err != nil || got != want {
			t.Errorf("%s: got %t (%v), want %t", name, got, err, want)
		}
	}
	check("no approval recorded yet", false)
	if err := st.PutApproval(ctx, store.PendingApproval{Deployment: "d-old", Execution: "arn:old", Token: "t", Service: "web", Environment: "prod"}); err != nil {
		t.Fatal(err)
	}
	check("an older deployment's approval", false)
	if err := st.PutApproval(ctx, store.PendingApproval{Deployment: "d-new", Execution: "arn:new", Token: "t", Service: "web", Environment: "prod"}); err != nil {
		t.Fatal(err)
	}
	check("its own approval", true)
	x.State = workflow.StateApply
	op.store = store.New(memObjects{}, "specs", "state")
	check("another state", true)
}
