package deploy

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestApprovalByApproverRole proves issue 12 item 6 (the stack restricts who
// approves): with approver roles set, completing the approval token is not
// enough. Only an approval recorded for this deployment by a session of an
// approver role lets Apply run, and history names the record's approver,
// not what the signal claims; any other approval ends Rejected with nothing
// changed, the lock and the pending approval released.
func TestApprovalByApproverRole(t *testing.T) {
	const (
		approverRole = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Approver_0123"
		approver     = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Approver_0123/alice@example.com"
		developer    = "arn:aws:sts::111122223333:assumed-role/Developer/mallory"
	)
	tests := map[string]struct {
		// record is the approval record written before the token is
		// completed; nil writes none. Its Deployment and Execution are
		// the execution's unless set.
		record     *store.ApprovalRecord
		signalBy   string
		terminal   string
		outcome    workflow.Outcome
		approvedBy string
		cause      string
	}{
		"recorded by an approver": {
			record: &store.ApprovalRecord{By: approver, Note: "dashboards green"}, signalBy: approver,
			terminal: workflow.StateDeployed, outcome: workflow.OutcomeDeployed, approvedBy: approver,
		},
		"signal claims an approver, record names the real one": {
			record: &store.ApprovalRecord{By: approver}, signalBy: "someone-else",
			terminal: workflow.StateDeployed, outcome: workflow.OutcomeDeployed, approvedBy: approver,
		},
		"token completed without a record": {
			signalBy: approver, terminal: workflow.StateRejected, outcome: workflow.OutcomeRejected,
			cause: "no approval of deployment",
		},
		"record by a session of another role": {
			record: &store.ApprovalRecord{By: developer}, signalBy: developer,
			terminal: workflow.StateRejected, outcome: workflow.OutcomeRejected, cause: "not a session of an approver role",
		},
		"record of another execution": {
			record: &store.ApprovalRecord{By: approver, Execution: "arn:aws:states:us-east-1:111122223333:execution:deploy:older"}, signalBy: approver,
			terminal: workflow.StateRejected, outcome: workflow.OutcomeRejected, cause: "not this one",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.cluster = "prod"
			w.addService("web--blue", "web-prod", w.image("web", "v1"), 2, false)
			w.rules["arn:aws:elasticloadbalancing:us-east-1:111122223333:listener-rule/app/prod/0123456789abcdef/0123456789abcdef/0000000000000003"] = []elbv2.TargetWeight{}
			before := w.view()
			w.image("web", "v2")
			x := newExecution(w, "exec-1", workflow.Request{Service: "web", Environment: "prod", Image: "v2"})
			x.e.Settings.ApproverRoles = []string{"arn:aws:iam::111122223333:role/Deployer", approverRole}
			x.approver = func(x *execution, token string) {
				if tc.record != nil {
					r := *tc.record
					r.Service, r.Environment = "web", "prod"
					if r.Deployment == "" {
						r.Deployment = x.st.Deployment.ID
					}
					if r.Execution == "" {
						r.Execution = x.st.Deployment.Execution
					}
					if x.w.approved == nil {
						x.w.approved = map[string]store.ApprovalRecord{}
					}
					x.w.approved[r.Deployment] = r
				}
				if err := x.w.SendTaskSuccess(context.Background(), token, workflow.Signal{Source: "approval", By: tc.signalBy}); err != nil {
					x.w.t.Fatal(err)
				}
			}
			x.run()

			if x.state != tc.terminal {
				t.Fatalf("got %s, want %s (path %v)", x.state, tc.terminal, x.path)
			}
			h, err := w.historyOf(x.st.Deployment.ID)
			if err != nil {
				t.Fatal(err)
			}
			if h.Outcome != tc.outcome || h.ApprovedBy != tc.approvedBy {
				t.Errorf("history: got %s approved by %q, want %s approved by %q", h.Outcome, h.ApprovedBy, tc.outcome, tc.approvedBy)
			}
			if tc.outcome == workflow.OutcomeDeployed {
				return
			}
			if h.Error != "ApprovalRejected" || !strings.Contains(h.Cause, tc.cause) {
				t.Errorf("history: got error %s cause %q, want ApprovalRejected with %q", h.Error, h.Cause, tc.cause)
			}
			if diff := cmp.Diff(before, w.view()); diff != "" {
				t.Errorf("live state changed (-want +got):\n%s", diff)
			}
			if len(w.locks) != 0 || len(w.approvals) != 0 {
				t.Errorf("got locks %+v, approvals %+v, want none", w.locks, w.approvals)
			}
		})
	}
}

func TestSessionOfRole(t *testing.T) {
	roles := []string{"arn:aws:iam::111122223333:role/Approver", "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Release_abc"}
	tests := map[string]struct {
		arn  string
		want bool
	}{
		"session of a role":             {arn: "arn:aws:sts::111122223333:assumed-role/Approver/alice", want: true},
		"session of a role with path":   {arn: "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Release_abc/bob@example.com", want: true},
		"another role":                  {arn: "arn:aws:sts::111122223333:assumed-role/Developer/alice"},
		"same role name, other account": {arn: "arn:aws:sts::444455556666:assumed-role/Approver/alice"},
		"other partition":               {arn: "arn:aws-cn:sts::111122223333:assumed-role/Approver/alice"},
		"the role itself":               {arn: "arn:aws:iam::111122223333:role/Approver"},
		"an IAM user":                   {arn: "arn:aws:iam::111122223333:user/Approver"},
		"root":                          {arn: "arn:aws:iam::111122223333:root"},
		"no session":                    {arn: "arn:aws:sts::111122223333:assumed-role/Approver"},
		"a name prefix":                 {arn: "arn:aws:sts::111122223333:assumed-role/Approver2/alice"},
		"empty":                         {},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := sessionOfRole(tt.arn, roles); got != tt.want {
				t.Errorf("sessionOfRole(%q): got %t, want %t", tt.arn, got, tt.want)
			}
		})
	}
}
