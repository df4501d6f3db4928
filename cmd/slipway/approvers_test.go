package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	infrastack "github.com/slipwayhq/slipway/infra/stack"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestApproverRolesEndToEnd proves issue 12 item 6 end to end, on a stack
// synthesized with slipway:approverRoleArns: `slipway approve` from a
// principal that is not an approver role completes the token, yet the
// deployment ends Rejected with nothing deployed; from a session of the
// approver role it deploys, and history names that session. (The local S3
// does not enforce bucket policies, so the other half of the control, the
// Deny on approved/ for everyone else, is proved by the template test
// infra/stack TestApproverRoles.)
func TestApproverRolesEndToEnd(t *testing.T) {
	needsEndpoint(t) // before synthesizing
	role := "arn:aws:iam::" + localAccount + ":role/Approver"
	specs := os.DirFS("../../examples")
	work := t.TempDir()
	clusters, err := stack.Clusters(specs)
	if err != nil {
		t.Fatal(err)
	}
	s := infrastack.Defaults()
	s.Clusters, s.AssetDir, s.ApproverRoles = clusters, filepath.Join(work, "assets"), []string{role}
	if err := infrastack.PlaceholderAssets(s.AssetDir); err != nil {
		t.Fatal(err)
	}
	tpl, _, err := infrastack.Synthesize(s, filepath.Join(work, "cdk.out"))
	if err != nil {
		t.Fatal(err)
	}
	tplPath := filepath.Join(work, "Slipway.template.json")
	if err := os.WriteFile(tplPath, tpl, 0o600); err != nil {
		t.Fatal(err)
	}
	r, op := startLocalWith(t, work, tplPath)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pushWeb(ctx, t, r, "rc5", "rc6")
	deployTo := func(t *testing.T, tag string) string {
		t.Helper()
		res := cli("deploy", "--env", "prod", "--image", tag, "web")
		res.want(t, exitOK, ":execution:Slipway-deploy:web-prod-")
		arn := strings.TrimSpace(res.stdout)
		if err := op.WaitForState(ctx, arn, workflow.StateAwaitApproval); err != nil {
			t.Fatal(err)
		}
		return arn
	}

	t.Run("not an approver", func(t *testing.T) {
		arn := deployTo(t, "rc5")
		// The test's own credentials: the account's root, not the role.
		cli("approve", "--env", "prod", "web").want(t, exitOK, "approved deployment")
		res := cli("status", "--watch", "--execution", arn)
		res.want(t, exitFailed, workflow.StateApply, workflow.StateRejected)
		hist, err := op.History(ctx, "prod", "web", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 1 || hist[0].Execution != arn || hist[0].Outcome != workflow.OutcomeRejected || hist[0].ApprovedBy != "" ||
			!strings.Contains(hist[0].Cause, "approval refused") || !strings.Contains(hist[0].Cause, "not a session of an approver role") {
			t.Errorf("history: got %+v, want %s rejected: approval refused, not a session of an approver role", hist, arn)
		}
	})
	t.Run("approver role", func(t *testing.T) {
		arn := deployTo(t, "rc6")
		approver := assumeRoleEnv(ctx, t, r.AWS, role, "alice@example.com")
		cli("approve", "--env", "prod", "--note", "release 6", "web").want(t, exitOK, "approved deployment")
		cli("status", "--watch", "--execution", arn).want(t, exitOK, workflow.StateDeployed)
		hist, err := op.History(ctx, "prod", "web", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 1 || hist[0].Execution != arn || hist[0].Outcome != workflow.OutcomeDeployed || hist[0].ApprovedBy != approver || hist[0].ApprovalNote != "release 6" {
			t.Errorf("history: got %+v, want %s deployed, approved by %s with its note", hist, arn, approver)
		}
	})
}
