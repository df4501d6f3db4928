package sqs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
	"github.com/slipwayhq/slipway/internal/localcloud/sqs"
)

// TestAWSCLI reads a failure queue as an operator would, with the stock aws
// CLI (v1 speaks SQS's JSON protocol too): send, receive, depth.
func TestAWSCLI(t *testing.T) {
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("no aws CLI on the PATH; make test installs Debian's awscli when apt is usable")
	}
	svc := sqs.New(sqs.Config{Region: "us-east-1", Clock: clock.NewVirtual(start)})
	router := localcloud.NewServer(localcloud.Options{})
	router.RegisterJSON("sqs", sqs.TargetPrefix, "1.0", svc)
	url := prototest.Serve(t, router)
	home := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "AWS_ACCESS_KEY_ID=AKIDLOCALCLI", "AWS_SECRET_ACCESS_KEY=local-secret",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_ENDPOINT_URL=" + url, "AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"), "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1"}
	for _, k := range []string{"PYENV_ROOT", "PYENV_VERSION", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	aws := func(v any, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		// aws-cli 1.45's SQS commands went to queue.amazonaws.com despite
		// AWS_ENDPOINT_URL, so the endpoint is an argument too.
		cmd := exec.CommandContext(ctx, bin, append(args, "--output", "json", "--endpoint-url", url)...)
		cmd.Env, cmd.Dir = env, home
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, errOut.String())
		}
		if v != nil {
			if err := json.Unmarshal(out.Bytes(), v); err != nil {
				t.Fatalf("aws %v: decode %q: %v", args, out.String(), err)
			}
		}
	}
	var created struct{ QueueUrl string }
	aws(&created, "sqs", "create-queue", "--queue-name", "failures")
	aws(nil, "sqs", "send-message", "--queue-url", created.QueueUrl, "--message-body", `{"lost":false}`)
	var attrs struct{ Attributes map[string]string }
	aws(&attrs, "sqs", "get-queue-attributes", "--queue-url", created.QueueUrl, "--attribute-names", "ApproximateNumberOfMessages")
	if got := attrs.Attributes["ApproximateNumberOfMessages"]; got != "1" {
		t.Errorf("got ApproximateNumberOfMessages %q, want 1", got)
	}
	var recv struct{ Messages []struct{ Body string } }
	aws(&recv, "sqs", "receive-message", "--queue-url", created.QueueUrl)
	if len(recv.Messages) != 1 || recv.Messages[0].Body != `{"lost":false}` {
		t.Errorf("got %+v, want the one message", recv.Messages)
	}
}
