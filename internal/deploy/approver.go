package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// checkApprover records who approved st, when it waited for approval, and
// refuses the approval when the stack restricts approvers and it does not
// come from one of them. It runs first in Apply, before anything changes.
//
// Step Functions does not tell a task who completed its token, and IAM
// cannot scope states:SendTaskSuccess to one state machine's tokens (the
// action takes only Resource "*"). So with Settings.ApproverRoles set, the
// approval counts only with its record (approved/<deployment>.json, which
// the stack's bucket policy lets only the approver roles write) for this
// deployment and execution, by a session of an approver role; the approver
// history names is the record's. Otherwise the approval ends the deployment
// Rejected with nothing changed: the signal's own By is what its sender
// says.
func (e *Engine) checkApprover(ctx context.Context, st *workflow.State) error {
	if st.Signal == nil || st.Signal.Source != "approval" {
		return nil
	}
	st.Approval.By, st.Approval.Note = st.Signal.By, st.Signal.Note
	roles := e.Settings.ApproverRoles
	if len(roles) == 0 {
		return nil
	}
	refuse := func(format string, args ...any) error {
		reason := fmt.Sprintf(format, args...)
		e.logger(*st, workflow.PhaseApply).Warn("approval refused", "signalBy", st.Signal.By, "reason", reason)
		return &workflow.ApprovalRejected{By: st.Signal.By, Reason: "approval refused: " + reason}
	}
	rec, err := e.Store.ApprovalRecord(ctx, st.Deployment.ID)
	if errors.Is(err, store.ErrNotFound) {
		return refuse("no approval of deployment %s is recorded in %s: approvals count only from the approver roles, which slipway approve records", st.Deployment.ID, store.ApprovedPrefix)
	}
	if err != nil {
		return fmt.Errorf("read the approval record: %w", err)
	}
	if rec.Deployment != st.Deployment.ID || rec.Execution != st.Deployment.Execution {
		return refuse("the approval recorded is of deployment %s (execution %s), not this one", rec.Deployment, rec.Execution)
	}
	if !sessionOfRole(rec.By, roles) {
		return refuse("the approval recorded names %s, not a session of an approver role", rec.By)
	}
	st.Approval.By, st.Approval.Note = rec.By, rec.Note
	return nil
}

// sessionOfRole reports whether arn, as STS's GetCallerIdentity returns it,
// is a session of one of roles: arn:P:sts::A:assumed-role/NAME/SESSION for
// arn:P:iam::A:role/PATH/NAME (a session ARN carries the role's name, not
// its path).
func sessionOfRole(arn string, roles []string) bool {
	partition, rest, ok := strings.Cut(strings.TrimPrefix(arn, "arn:"), ":sts::")
	if !ok || !strings.HasPrefix(arn, "arn:") {
		return false
	}
	account, rest, ok := strings.Cut(rest, ":assumed-role/")
	if !ok {
		return false
	}
	name, session, ok := strings.Cut(rest, "/")
	if !ok || name == "" || session == "" {
		return false
	}
	for _, r := range roles {
		rp, rrest, ok := strings.Cut(strings.TrimPrefix(r, "arn:"), ":iam::")
		if !ok || rp != partition {
			continue
		}
		ra, path, ok := strings.Cut(rrest, ":role/")
		if !ok || ra != account {
			continue
		}
		if path[strings.LastIndex(path, "/")+1:] == name {
			return true
		}
	}
	return false
}
