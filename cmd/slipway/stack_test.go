package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
	"github.com/slipwayhq/slipway/internal/operator"
)

// testSpeed runs the local endpoint's simulated time this many times
// faster than wall time: prod's 4 h approval timeout lasts 48 s, long enough
// to answer it, while a 5 min bake lasts 1 s, long enough to halt it.
const testSpeed = 300

// awsEnv points the SDK's default configuration, which the CLI loads, at
// url with test credentials and nothing read from the user's files.
func awsEnv(t *testing.T, url, region string) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": url, "AWS_REGION": region,
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"SLIPWAY_STACK":               "", "SLIPWAY_SPEC_BUCKET": "", "SLIPWAY_STATE_BUCKET": "",
	} {
		t.Setenv(k, v)
	}
}

// startLocal runs the local endpoint in-process with Slipway's stack and
// the example world on a scaled clock, points the CLI at it, and returns it
// with an Operator over it for the test's own checks.
func startLocal(t *testing.T) (*endpoint.Running, *operator.Operator) {
	t.Helper()
	return startLocalWith(t, t.TempDir(), "")
}

// needsEndpoint skips a test that starts the local endpoint under -short.
func needsEndpoint(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the local endpoint; run without -short")
	}
}

// startLocalWith is startLocal deploying the template at path (empty:
// synthesized in-process) with work as the work directory.
func startLocalWith(t *testing.T, work, template string) (*endpoint.Running, *operator.Operator) {
	t.Helper()
	needsEndpoint(t)
	r, err := endpoint.Start(context.Background(), endpoint.Options{Addr: "127.0.0.1:0", Specs: os.DirFS("../../examples"),
		Template: template, WorkDir: work, Config: endpoint.Config{Clock: clock.Scaled(testSpeed), Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}})
	if err != nil {
		t.Fatalf("start the endpoint: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	awsEnv(t, r.URL, r.Region())
	op, err := operator.Connect(context.Background(), r.AWS, operator.Target{})
	if err != nil {
		t.Fatal(err)
	}
	// The step function runs in-process here and reports no environment, so
	// this also checks the fallback to the buckets' names.
	if op.SpecBucket != r.Deployed.SpecBucket || op.StateBucket != r.Deployed.StateBucket || op.StateMachineARN != r.Deployed.StateMachineARN {
		t.Fatalf("found stack: got %s %s %s, want %s %s %s", op.StateMachineARN, op.SpecBucket, op.StateBucket,
			r.Deployed.StateMachineARN, r.Deployed.SpecBucket, r.Deployed.StateBucket)
	}
	op.SetPollPeriod(20 * time.Millisecond)
	return r, op
}

// pushWeb pushes an image to the web repository for each tag and returns
// their digests by tag. Give tags outside web's patterns (v*, main-*): the
// push then starts nothing, and only the test's CLI calls deploy them.
func pushWeb(ctx context.Context, t *testing.T, r *endpoint.Running, tags ...string) map[string]string {
	t.Helper()
	digests := map[string]string{}
	for _, tag := range tags {
		d, err := stack.PushImage(ctx, r.AWS, "web", tag)
		if err != nil {
			t.Fatal(err)
		}
		digests[tag] = d
	}
	return digests
}

// result is what one CLI run printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the CLI with args (polling fast) and returns what it did.
func cli(args ...string) result {
	var out, errb bytes.Buffer
	if len(args) > 0 && !contains(args, "--help") && !(len(args) == 1 && args[0] == "index") {
		args = append(args, "--poll", "20ms")
	}
	code := run(args, &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// want fails the test unless r has the exit code and every substring.
func (r result) want(t *testing.T, code int, stdout ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code: got %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stdout {
		if !strings.Contains(r.stdout, s) {
			t.Fatalf("stdout: got\n%s\nwant it to contain %q (stderr: %s)", r.stdout, s, r.stderr)
		}
	}
}

// wantErr fails the test unless stderr holds every substring.
func (r result) wantErr(t *testing.T, stderr ...string) {
	t.Helper()
	for _, s := range stderr {
		if !strings.Contains(r.stderr, s) {
			t.Fatalf("stderr: got\n%s\nwant it to contain %q", r.stderr, s)
		}
	}
}

func TestOperatorUsage(t *testing.T) {
	// No endpoint: every case fails before the CLI talks to AWS, except
	// the last ones, which talk to a stub that has no Slipway stack.
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte(`{"stateMachines":[]}`))
	}))
	defer stub.Close()
	awsEnv(t, stub.URL, "us-east-1")
	tests := map[string]struct {
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		"deploy help":            {args: []string{"deploy", "--help"}, wantCode: exitOK, wantStdout: []string{"slipway deploy --env staging --image v1.4.2", "Exit codes: 0 ok, 1 the operation failed, 2 usage error."}},
		"status help":            {args: []string{"status", "--help"}, wantCode: exitOK, wantStdout: []string{"slipway status --env prod web --watch", "AWS_ENDPOINT_URL"}},
		"history help":           {args: []string{"history", "--help"}, wantCode: exitOK, wantStdout: []string{"slipway history --env prod web"}},
		"approve help":           {args: []string{"approve", "--help"}, wantCode: exitOK, wantStdout: []string{`slipway approve --env prod --note "checked the canary dashboards" --wait web`, "GetCallerIdentity"}},
		"reject help":            {args: []string{"reject", "--help"}, wantCode: exitOK, wantStdout: []string{`slipway reject --env prod --reason "release freeze" web`}},
		"rollback help":          {args: []string{"rollback", "--help"}, wantCode: exitOK, wantStdout: []string{"it is halted"}},
		"index rebuild help":     {args: []string{"index", "rebuild", "--help"}, wantCode: exitOK, wantStdout: []string{"slipway index rebuild"}},
		"deploy without env":     {args: []string{"deploy", "web"}, wantCode: exitUsage, wantStderr: []string{"slipway deploy needs --env ENV"}},
		"deploy without svc":     {args: []string{"deploy", "--env", "prod"}, wantCode: exitUsage, wantStderr: []string{"accepts 1 arg(s), received 0"}},
		"deploy bad strategy":    {args: []string{"deploy", "--env", "prod", "--strategy", "fast", "web"}, wantCode: exitUsage, wantStderr: []string{"--strategy fast: not a strategy"}},
		"deploy bad json":        {args: []string{"deploy", "--env", "prod", "--strategy", "{kind", "web"}, wantCode: exitUsage, wantStderr: []string{"not valid JSON"}},
		"deploy unknown flag":    {args: []string{"deploy", "--environment", "prod", "web"}, wantCode: exitUsage, wantStderr: []string{"unknown flag: --environment"}},
		"history without env":    {args: []string{"history", "web"}, wantCode: exitUsage, wantStderr: []string{"slipway history needs --env ENV"}},
		"history bad limit":      {args: []string{"history", "--env", "prod", "--limit", "-1", "web"}, wantCode: exitUsage, wantStderr: []string{"--limit -1"}},
		"approve two services":   {args: []string{"approve", "--env", "prod", "web", "worker"}, wantCode: exitUsage, wantStderr: []string{"accepts 1 arg(s), received 2"}},
		"approve --by":           {args: []string{"approve", "--env", "prod", "--by", "alice", "web"}, wantCode: exitUsage, wantStderr: []string{"--by is no longer accepted", "from STS", "--note TEXT"}},
		"reject --by":            {args: []string{"reject", "--env", "prod", "--by", "bob", "--reason", "x", "web"}, wantCode: exitUsage, wantStderr: []string{"--by is no longer accepted", "--reason TEXT"}},
		"rollback --by":          {args: []string{"rollback", "--env", "prod", "--by", "bob", "web"}, wantCode: exitUsage, wantStderr: []string{"--by is no longer accepted"}},
		"reject without reason":  {args: []string{"reject", "--env", "prod", "web"}, wantCode: exitUsage, wantStderr: []string{"slipway reject needs --reason TEXT"}},
		"rollback without env":   {args: []string{"rollback", "web"}, wantCode: exitUsage, wantStderr: []string{"slipway rollback needs --env ENV"}},
		"unlock help":            {args: []string{"unlock", "--help"}, wantCode: exitOK, wantStdout: []string{"slipway unlock --env prod web", "never released"}},
		"unlock without env":     {args: []string{"unlock", "web"}, wantCode: exitUsage, wantStderr: []string{"slipway unlock needs --env ENV"}},
		"status execution alone": {args: []string{"status", "--execution", "arn:x"}, wantCode: exitUsage, wantStderr: []string{"--execution needs --watch"}},
		"status bad limit":       {args: []string{"status", "--limit", "0"}, wantCode: exitUsage, wantStderr: []string{"--limit 0: must be positive"}},
		"index alone":            {args: []string{"index"}, wantCode: exitUsage, wantStderr: []string{"slipway index rebuild"}},
		"no stack":               {args: []string{"status"}, wantCode: exitFailed, wantStderr: []string{"find state machine Slipway-deploy", "stack not found", "check --stack"}},
		"no stack named":         {args: []string{"history", "--stack", "Deployer", "--env", "prod", "web"}, wantCode: exitFailed, wantStderr: []string{"Deployer-deploy"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r := cli(tt.args...)
			r.want(t, tt.wantCode, tt.wantStdout...)
			r.wantErr(t, tt.wantStderr...)
		})
	}
}
