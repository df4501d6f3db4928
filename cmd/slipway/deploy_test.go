package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/operator"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestOperatorCommandsEndToEnd drives every operator command against the
// local endpoint through the CLI's own SDK configuration
// (AWS_ENDPOINT_URL), one story on one endpoint: prod requires approval.
func TestOperatorCommandsEndToEnd(t *testing.T) {
	r, op := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Tags outside web's patterns (v*, main-*), so pushing them starts
	// nothing: only the CLI deploys them.
	digests := pushWeb(ctx, t, r, "rc2", "rc3", "rc4")
	// deployTo starts a deployment with the CLI and returns its ARN once
	// it waits in state.
	deployTo := func(t *testing.T, env, tag, state string) string {
		t.Helper()
		res := cli("deploy", "--env", env, "--image", tag, "--reason", "e2e "+tag, "web")
		res.want(t, exitOK, ":execution:Slipway-deploy:web-"+env+"-")
		arn := strings.TrimSpace(res.stdout)
		if err := op.WaitForState(ctx, arn, state); err != nil {
			t.Fatal(err)
		}
		return arn
	}

	t.Run("approve", func(t *testing.T) {
		arn := deployTo(t, "prod", "rc2", workflow.StateAwaitApproval)
		cli("status", "--env", "prod", "web").want(t, exitOK, "SERVICE", "web", "prod", "rc2", workflow.StateAwaitApproval, "RUNNING")
		// The same request again is a fresh deployment (issue 11 item 6),
		// never the first one passed off as it: the first has changed
		// nothing yet, so the new one supersedes it.
		again := cli("deploy", "--env", "prod", "--image", "rc2", "web")
		again.want(t, exitOK, ":execution:Slipway-deploy:web-prod-")
		again.wantErr(t, "started a new deployment of web to prod (image rc2): execution web-prod-")
		first := arn
		if arn = strings.TrimSpace(again.stdout); arn == first {
			t.Fatalf("the same request again printed the first execution %s, want a new one", first)
		}
		if err := op.WaitForState(ctx, first, workflow.StateSuperseded); err != nil {
			t.Fatal(err)
		}
		if err := op.WaitForState(ctx, arn, workflow.StateAwaitApproval); err != nil {
			t.Fatal(err)
		}

		// The approver is who STS says the caller is (issue 12 item 6):
		// approve as an SSO-style role session, whose ARN names the
		// person, and find that ARN whole in history.
		approver := assumeRoleEnv(ctx, t, r.AWS, "arn:aws:iam::"+localAccount+":role/AWSReservedSSO_Approver_0123456789abcdef", "alice@example.com")
		cli("approve", "--env", "prod", "--note", "canary dashboards green", "web").want(t, exitOK, "approved deployment", "status --watch --env prod web")
		// Without --execution, --watch follows the newest match: this one.
		res := cli("status", "--env", "prod", "--watch", "web")
		res.want(t, exitOK, workflow.StateAwaitApproval, workflow.StateApply, workflow.StateBake, workflow.StateDeployed, "deployed web to prod")
		res.wantErr(t, "watching "+arn)
		if !strings.Contains(res.stdout, digests["rc2"]) {
			t.Errorf("status --watch: got\n%s\nwant the pinned image %s", res.stdout, digests["rc2"])
		}
		x, err := op.Describe(ctx, arn)
		if err != nil {
			t.Fatal(err)
		}
		if !x.Deployed() {
			t.Errorf("execution: got %s in %s, want SUCCEEDED in Deployed", x.Status, x.State)
		}
		hist, err := op.History(ctx, "prod", "web", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 1 || hist[0].Execution != arn || hist[0].ApprovedBy != approver || hist[0].ApprovalNote != "canary dashboards green" {
			t.Errorf("history: got %+v, want the execution %s approved by %s with the note", hist, arn, approver)
		}
		// Answered already: nothing is pending.
		res = cli("approve", "--env", "prod", "web")
		res.want(t, exitFailed)
		res.wantErr(t, "no approval is pending")
	})

	t.Run("reject", func(t *testing.T) {
		arn := deployTo(t, "prod", "rc3", workflow.StateAwaitApproval)
		cli("reject", "--env", "prod", "--reason", "release freeze", "web").want(t, exitOK, "rejected deployment")
		res := cli("status", "--watch", "--execution", arn)
		res.want(t, exitFailed, workflow.StateRejected)
		res.wantErr(t, "ended in Rejected", "slipway history --env prod web")
		// The test's static credentials are the account's root on the
		// local endpoint, as GetCallerIdentity reports them.
		hist, err := op.History(ctx, "prod", "web", 1)
		if err != nil {
			t.Fatal(err)
		}
		if want := "rejected by arn:aws:iam::" + localAccount + ":root: release freeze"; len(hist) != 1 || hist[0].Cause != want {
			t.Errorf("history: got %+v, want cause %q", hist, want)
		}
		res = cli("reject", "--env", "prod", "--reason", "again", "web")
		res.want(t, exitFailed)
		res.wantErr(t, "no approval is pending")
	})

	t.Run("rollback during a bake", func(t *testing.T) {
		type waited struct{ res result }
		done := make(chan waited, 1)
		go func() {
			done <- waited{cli("deploy", "--env", "prod", "--image", "rc4", "--wait", "web")}
		}()
		x := waitFor(ctx, t, op, "prod", "rc4", workflow.StateAwaitApproval)
		cli("approve", "--env", "prod", "web").want(t, exitOK)
		if err := op.WaitForState(ctx, x.ARN, workflow.StateBake); err != nil {
			t.Fatal(err)
		}
		// rollback --wait follows the halted deployment as deploy --wait
		// does, and succeeds when it ends RolledBack.
		rb := cli("rollback", "--env", "prod", "--reason", "5xx after release", "--wait", "--output", "json", "web")
		rb.want(t, exitOK)
		rb.wantErr(t, "halted deployment", x.ARN)
		lines := decodeLines(t, rb.stdout)
		last := lines[len(lines)-1]
		if last.Execution != x.ARN || last.State != workflow.StateRolledBack || !last.Ended() {
			t.Fatalf("rollback --wait's last line: %s %s %s, want %s ended in RolledBack", last.Execution, last.Status, last.State, x.ARN)
		}
		var path []string
		for _, e := range last.Path {
			path = append(path, e.State)
		}
		inOrder(t, path, workflow.StateBake, workflow.StateRollback, workflow.StateRolledBack)
		select {
		case w := <-done:
			w.res.want(t, exitFailed, x.ARN, workflow.StateBake, workflow.StateRollback, workflow.StateRolledBack)
			w.res.wantErr(t, "ended in RolledBack")
		case <-ctx.Done():
			t.Fatal("deploy --wait did not end")
		}
		// Nothing in progress now, and prod has one successful deployment
		// only: there is nothing earlier to go back to.
		res := cli("rollback", "--env", "prod", "web")
		res.want(t, exitFailed)
		res.wantErr(t, "nothing to roll back to")
	})

	t.Run("history", func(t *testing.T) {
		cli("history", "--env", "prod", "web").want(t, exitOK, "OUTCOME", "rolled-back", "rejected", "deployed", "Halted", "ApprovalRejected")
		res := cli("history", "--env", "prod", "--json", "--limit", "3", "web")
		res.want(t, exitOK)
		var entries []store.HistoryEntry
		if err := json.Unmarshal([]byte(res.stdout), &entries); err != nil {
			t.Fatalf("history --json: %v\n%s", err, res.stdout)
		}
		var got []workflow.Outcome
		for _, e := range entries {
			got = append(got, e.Outcome)
		}
		want := []workflow.Outcome{workflow.OutcomeRolledBack, workflow.OutcomeRejected, workflow.OutcomeDeployed}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("history outcomes, newest first (-want +got):\n%s", diff)
		}
		// An unknown service is a usage error naming the services there are.
		res = cli("history", "--env", "prod", "nosuch")
		res.want(t, exitUsage)
		res.wantErr(t, `unknown service "nosuch"`, "agent, web, worker")
	})

	t.Run("rollback to the previous image", func(t *testing.T) {
		// Staging runs v1 (seeded); deploy rc2 there, then roll back.
		res := cli("deploy", "--env", "staging", "--image", "rc2", "--wait", "web")
		res.want(t, exitOK, workflow.StateDeployed)
		hist, err := op.History(ctx, "staging", "web", 0)
		if err != nil {
			t.Fatal(err)
		}
		var previous string
		for _, e := range hist[1:] {
			if e.Outcome == workflow.OutcomeDeployed && !strings.Contains(e.Image, digests["rc2"]) {
				previous = e.Image
				break
			}
		}
		if previous == "" {
			t.Fatalf("staging history has no deployment before rc2: %+v", hist)
		}
		res = cli("rollback", "--env", "staging", "--wait", "web")
		res.want(t, exitOK, "deploying the previous image "+previous, "deployed web to staging: "+previous)
		// The same plain lines as deploy --wait: states, traffic, alarms.
		inOrder(t, statesIn(res.stdout), workflow.StatePrepare, workflow.StateApply, workflow.StateShiftTraffic, workflow.StateDeployed)
		if !strings.Contains(res.stdout, "  traffic  ") || !strings.Contains(res.stdout, "  alarm    web-staging-5xx ") {
			t.Errorf("rollback --wait printed no traffic or alarm line:\n%s", res.stdout)
		}
		hist, err = op.History(ctx, "staging", "web", 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := hist[0]; got.Image != previous || got.Trigger.Kind != workflow.TriggerRollback || got.Outcome != workflow.OutcomeDeployed {
			t.Errorf("newest staging entry: got %s %s %s, want %s %s %s", got.Image, got.Trigger.Kind, got.Outcome,
				previous, workflow.TriggerRollback, workflow.OutcomeDeployed)
		}
	})

	t.Run("index rebuild", func(t *testing.T) {
		_, err := s3.NewFromConfig(r.AWS).DeleteObject(ctx, &s3.DeleteObjectInput{
			Bucket: aws.String(op.StateBucket), Key: aws.String("index/repositories.json")})
		if err != nil {
			t.Fatal(err)
		}
		idx, err := op.Index(ctx)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		if len(idx.Entries) != 0 {
			t.Fatalf("index after delete: got %d entries, want 0", len(idx.Entries))
		}
		cli("index", "rebuild").want(t, exitOK, "web: repository web, tags [v* main-*]", "index rebuilt: 3 services, 0 specs skipped")
		idx, err = op.Index(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for n := range idx.Entries {
			names = append(names, n)
		}
		if diff := cmp.Diff([]string{"agent", "web", "worker"}, names, cmpSorted); diff != "" {
			t.Errorf("rebuilt index (-want +got):\n%s", diff)
		}
	})
}

var cmpSorted = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

// waitFor returns the newest deployment of web to env with image tag, once
// it is in state.
func waitFor(ctx context.Context, t *testing.T, op *operator.Operator, env, tag, state string) operator.Execution {
	t.Helper()
	for {
		list, err := op.Status(ctx, operator.Filter{Service: "web", Environment: env, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range list {
			if x.State == state && strings.Contains(x.ARN, "web-"+env) && (x.Image == tag || strings.HasSuffix(x.Image, tag)) {
				return x
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no deployment of web:%s in %s reached %s: %+v", tag, env, state, list)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// localAccount is the local endpoint's account.
const localAccount = "000000000000"

// assumeRoleEnv assumes role as session through the endpoint's STS with
// cfg's credentials and makes the result the CLI's credentials for the rest
// of t; it returns the role session ARN STS reported.
func assumeRoleEnv(ctx context.Context, t *testing.T, cfg aws.Config, role, session string) string {
	t.Helper()
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: &role, RoleSessionName: &session})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	t.Setenv("AWS_ACCESS_KEY_ID", aws.ToString(c.AccessKeyId))
	t.Setenv("AWS_SECRET_ACCESS_KEY", aws.ToString(c.SecretAccessKey))
	t.Setenv("AWS_SESSION_TOKEN", aws.ToString(c.SessionToken))
	arn := aws.ToString(out.AssumedRoleUser.Arn)
	if want := "arn:aws:sts::" + localAccount + ":assumed-role/" + role[strings.LastIndex(role, "/")+1:] + "/" + session; arn != want {
		t.Fatalf("assumed role: got %s, want %s", arn, want)
	}
	return arn
}
