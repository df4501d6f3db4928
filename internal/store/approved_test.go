package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestApprovalRecord: an approval record lives at approved/<deployment>.json
// (the prefix the stack's bucket policy guards, issue 12 item 6), reads back
// whole, is missing as ErrNotFound, and needs a deployment, an execution and
// an approver.
func TestApprovalRecord(t *testing.T) {
	ctx := context.Background()
	st, srv := newStore(t, true)
	rec := ApprovalRecord{Deployment: "d/1", Execution: "arn:x", Service: "web", Environment: "prod",
		By: "arn:aws:sts::111122223333:assumed-role/Approver/alice", Note: "ok", At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if _, err := st.ApprovalRecord(ctx, "d/1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before: got %v, want ErrNotFound", err)
	}
	if err := st.PutApprovalRecord(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"approved/d%2F1.json"}, srv.Keys(stateBucket)); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	got, err := st.ApprovalRecord(ctx, "d/1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rec, got); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	for name, r := range map[string]ApprovalRecord{
		"no deployment": {Execution: "arn:x", By: "b"},
		"no execution":  {Deployment: "d", By: "b"},
		"no approver":   {Deployment: "d", Execution: "arn:x"},
	} {
		t.Run(name, func(t *testing.T) {
			var invalid *workflow.InvalidInput
			if err := st.PutApprovalRecord(ctx, r); !errors.As(err, &invalid) {
				t.Errorf("got %v, want InvalidInput", err)
			}
		})
	}
}
