package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	sfnsdk "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipwayhq/slipway/internal/awsapi/awsapitest"
	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	sfnapi "github.com/slipwayhq/slipway/internal/awsapi/sfn"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// memObjects is an in-memory bucket store, enough for approvals.
type memObjects map[string][]byte

func (m memObjects) GetMax(_ context.Context, bucket, key, _ string, _ int64) (s3api.Object, error) {
	b, ok := m[bucket+"/"+key]
	if !ok {
		return s3api.Object{}, fmt.Errorf("get %s: %w", key, s3api.ErrNotFound)
	}
	return s3api.Object{Body: b, ETag: `"1"`}, nil
}

func (m memObjects) Put(_ context.Context, bucket, key string, body []byte, _ string, _ s3api.Precondition) (s3api.Object, error) {
	m[bucket+"/"+key] = body
	return s3api.Object{ETag: `"1"`}, nil
}

func (m memObjects) Delete(_ context.Context, bucket, key, _ string) error {
	delete(m, bucket+"/"+key)
	return nil
}

func (m memObjects) List(context.Context, string, string, int) ([]string, error) { return nil, nil }

// fakeIdentity is STS's GetCallerIdentity.
type fakeIdentity struct {
	arn string
	err error
}

func (f fakeIdentity) CallerIdentity(context.Context) (string, string, error) {
	return "111122223333", f.arn, f.err
}

const approverARN = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Approver_0123456789abcdef/alice@example.com"

// approvalRig is an Operator with a pending approval of web in prod, a
// Step Functions endpoint that accepts the token and an STS that answers
// id.
func approvalRig(t *testing.T, id fakeIdentity) (*Operator, *awsapitest.JSONServer, *store.Store) {
	t.Helper()
	f, cfg := awsapitest.NewJSON(t, "AWSStepFunctions.", "1.0", map[string][]awsapitest.Reply{
		"SendTaskSuccess": {{Body: `{}`}}, "SendTaskFailure": {{Body: `{}`}},
	})
	st := store.New(memObjects{}, "specs", "state")
	if err := st.PutApproval(context.Background(), store.PendingApproval{Deployment: "d-1", Execution: "arn:x", Token: "tok-1",
		Service: "web", Environment: "prod", Image: "web:v1"}); err != nil {
		t.Fatal(err)
	}
	return &Operator{sfn: sfnapi.New(sfnsdk.NewFromConfig(cfg)), store: st, identity: id}, f, st
}

// TestApproveRecordsCallerFromSTS proves issue 12 item 6: the approver an
// approval carries is the caller ARN STS reports, whole, with the note next
// to it; a failing STS stops the approval rather than send it unnamed.
func TestApproveRecordsCallerFromSTS(t *testing.T) {
	tests := map[string]struct {
		note       string
		id         fakeIdentity
		wantSignal *workflow.Signal
		wantErr    bool
	}{
		"identity from STS": {
			id:         fakeIdentity{arn: approverARN},
			wantSignal: &workflow.Signal{Source: "approval", By: approverARN, Detail: "approved by " + approverARN},
		},
		"note next to the identity": {
			note: "alice says: checked the dashboards", id: fakeIdentity{arn: approverARN},
			wantSignal: &workflow.Signal{Source: "approval", By: approverARN, Note: "alice says: checked the dashboards",
				Detail: "approved by " + approverARN + ": alice says: checked the dashboards"},
		},
		"STS fails":        {id: fakeIdentity{err: errors.New("ExpiredToken")}, wantErr: true},
		"STS names nobody": {id: fakeIdentity{}, wantErr: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			op, f, st := approvalRig(t, tt.id)
			_, err := op.Approve(context.Background(), "prod", "web", tt.note)
			if tt.wantErr {
				if err == nil {
					t.Fatal("got no error, want one")
				}
				if n := len(f.Requests()); n != 0 {
					t.Errorf("got %d Step Functions requests, want none", n)
				}
				if rec, err := st.ApprovalRecord(context.Background(), "d-1"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("approval record: got %+v (%v), want none", rec, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			reqs := f.Requests()
			if len(reqs) != 1 || reqs[0].Op != "SendTaskSuccess" || reqs[0].Body["taskToken"] != "tok-1" {
				t.Fatalf("got requests %v, want one SendTaskSuccess of tok-1", reqs)
			}
			var got workflow.Signal
			if err := json.Unmarshal([]byte(reqs[0].Body["output"].(string)), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(*tt.wantSignal, got); diff != "" {
				t.Errorf("signal (-want +got):\n%s", diff)
			}
			// The record the stack checks before Apply names the same
			// identity, for this deployment and execution.
			rec, err := st.ApprovalRecord(context.Background(), "d-1")
			if err != nil {
				t.Fatal(err)
			}
			want := store.ApprovalRecord{Deployment: "d-1", Execution: "arn:x", Service: "web", Environment: "prod", By: approverARN, Note: tt.note}
			if diff := cmp.Diff(want, rec, cmpopts.IgnoreFields(store.ApprovalRecord{}, "At")); diff != "" {
				t.Errorf("approval record (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRejectRecordsCallerFromSTS proves issue 12 item 6 for rejections: the
// rejecter is the caller ARN from STS; the reason is the caller's text.
func TestRejectRecordsCallerFromSTS(t *testing.T) {
	op, f, _ := approvalRig(t, fakeIdentity{arn: approverARN})
	if _, err := op.Reject(context.Background(), "prod", "web", "release freeze"); err != nil {
		t.Fatal(err)
	}
	reqs := f.Requests()
	if len(reqs) != 1 || reqs[0].Op != "SendTaskFailure" {
		t.Fatalf("got requests %v, want one SendTaskFailure", reqs)
	}
	want := map[string]any{"taskToken": "tok-1", "error": workflow.ErrorName((*workflow.ApprovalRejected)(nil)),
		"cause": (&workflow.ApprovalRejected{By: approverARN, Reason: "release freeze"}).Error()}
	if diff := cmp.Diff(want, reqs[0].Body); diff != "" {
		t.Errorf("SendTaskFailure (-want +got):\n%s", diff)
	}
}
