package store

import (
	"context"
	"fmt"
	"time"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
)

// ApprovedPrefix is where approvals are recorded, one document per
// deployment (approved/<deployment>.json). The stack lets only the approver
// roles (slipway:approverRoleArns) write under it, so a record there says
// an approver approved that deployment, whoever completed its task token.
const ApprovedPrefix = "approved/"

// ApprovalRecord is what `slipway approve` records before it completes the
// approval's task token.
type ApprovalRecord struct {
	Deployment  string `json:"deployment"`
	Execution   string `json:"execution"`
	Service     string `json:"service"`
	Environment string `json:"environment"`
	// By is the caller ARN STS reported to the approving CLI; Note its
	// free text.
	By   string `json:"by"`
	Note string `json:"note,omitempty"`
	// At is when the approval was recorded.
	At time.Time `json:"at"`
}

func approvedKey(deployment string) string {
	return ApprovedPrefix + segment(deployment) + ".json"
}

// PutApprovalRecord records that a.By approved deployment a.Deployment, at
// approved/<deployment>.json; a retry overwrites it.
func (s *Store) PutApprovalRecord(ctx context.Context, a ApprovalRecord) error {
	op := fmt.Sprintf("record the approval of deployment %s", a.Deployment)
	if err := checkNames(op, "deployment", a.Deployment, "execution", a.Execution, "by", a.By); err != nil {
		return err
	}
	_, err := s.putJSON(ctx, op, approvedKey(a.Deployment), a, s3api.Precondition{})
	return err
}

// ApprovalRecord reads the approval recorded for deployment; ErrNotFound
// when none was.
func (s *Store) ApprovalRecord(ctx context.Context, deployment string) (ApprovalRecord, error) {
	op := fmt.Sprintf("read the approval of deployment %s", deployment)
	if err := checkNames(op, "deployment", deployment); err != nil {
		return ApprovalRecord{}, err
	}
	var a ApprovalRecord
	_, err := s.getJSON(ctx, op, approvedKey(deployment), &a)
	return a, err
}
