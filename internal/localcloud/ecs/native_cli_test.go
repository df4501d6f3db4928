package ecs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// cliRun runs the stock aws CLI against the endpoint at url with throwaway
// credentials and an empty HOME, and returns its stdout, stderr and error.
// The test is skipped when the CLI is missing or does not know the
// service deployment operations (before botocore 1.35).
func cliRun(t *testing.T, url string) func(args ...string) (string, string, error) {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("no aws CLI on the PATH; the aws CLI session is skipped")
	}
	home := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"AWS_ACCESS_KEY_ID=AKIDLOCALCLI", "AWS_SECRET_ACCESS_KEY=local-secret",
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1", "AWS_ENDPOINT_URL=" + url,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1",
	}
	for _, k := range []string{"PYENV_ROOT", "PYENV_VERSION", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	run := func(args ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append(args, "--output", "json")...)
		cmd.Env, cmd.Dir = env, home
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	if _, errOut, err := run("ecs", "continue-service-deployment", "help"); err != nil && strings.Contains(errOut, "Invalid choice") {
		t.Skip("the aws CLI on the PATH does not know continue-service-deployment")
	}
	return run
}

// TestNativeCLIDeployment: the stock aws CLI lists and describes a native
// deployment paused at a PAUSE hook, continues it, describes its
// revisions, and gets ECS's error for stopping it once it has finished.
func TestNativeCLIDeployment(t *testing.T) {
	w := newNativeWorld(t)
	aws_ := cliRun(t, w.url)
	ok := func(v any, args ...string) {
		t.Helper()
		out, errOut, err := aws_(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
		}
		if v != nil {
			if err := json.Unmarshal([]byte(out), v); err != nil {
				t.Fatalf("aws %s: decode %q: %v", strings.Join(args, " "), out, err)
			}
		}
	}
	w.create(&types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(1),
		LifecycleHooks: []types.DeploymentLifecycleHook{{TargetType: types.DeploymentLifecycleHookTargetTypePause,
			LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostTestTrafficShift}}}})
	first := w.latest()
	if h := awaitHookOrNone(w, first); h != nil {
		ok(nil, "ecs", "continue-service-deployment", "--service-deployment-arn", first, "--hook-id", *h.HookId)
	}
	w.until("the first deployment succeeds", time.Hour, func() bool { return w.deployment(first).Status == types.ServiceDeploymentStatusSuccessful })
	arn := w.update(imageV2)
	awaitHook(w, arn)

	var list struct {
		ServiceDeployments []struct {
			ServiceDeploymentArn, Status, TargetServiceRevisionArn string
		} `json:"serviceDeployments"`
	}
	ok(&list, "ecs", "list-service-deployments", "--cluster", "prod", "--service", "web", "--status", "IN_PROGRESS")
	if len(list.ServiceDeployments) != 1 || list.ServiceDeployments[0].ServiceDeploymentArn != arn {
		t.Fatalf("list-service-deployments --status IN_PROGRESS: %+v, want only %s", list, arn)
	}
	var desc struct {
		ServiceDeployments []struct {
			Status               string `json:"status"`
			LifecycleStage       string `json:"lifecycleStage"`
			LifecycleHookDetails []struct {
				HookID        string `json:"hookId"`
				TargetType    string `json:"targetType"`
				Status        string `json:"status"`
				TimeoutAction string `json:"timeoutAction"`
				ExpiresAt     any    `json:"expiresAt"`
			} `json:"lifecycleHookDetails"`
			TargetServiceRevision struct {
				Arn string `json:"arn"`
			} `json:"targetServiceRevision"`
		} `json:"serviceDeployments"`
	}
	ok(&desc, "ecs", "describe-service-deployments", "--service-deployment-arns", arn)
	if len(desc.ServiceDeployments) != 1 {
		t.Fatalf("describe-service-deployments: %+v", desc)
	}
	sd := desc.ServiceDeployments[0]
	hooks := sd.LifecycleHookDetails
	if sd.Status != "IN_PROGRESS" || sd.LifecycleStage != "POST_TEST_TRAFFIC_SHIFT" || len(hooks) != 1 ||
		hooks[0].Status != "AWAITING_ACTION" || hooks[0].TargetType != "PAUSE" || hooks[0].TimeoutAction != "ROLLBACK" || hooks[0].ExpiresAt == nil {
		t.Fatalf("describe-service-deployments: %+v", sd)
	}
	var cont struct {
		ServiceDeploymentArn string `json:"serviceDeploymentArn"`
	}
	ok(&cont, "ecs", "continue-service-deployment", "--service-deployment-arn", arn, "--hook-id", hooks[0].HookID, "--action", "CONTINUE")
	if cont.ServiceDeploymentArn != arn {
		t.Errorf("continue-service-deployment answered %+v", cont)
	}
	w.until("the deployment succeeds", time.Hour, func() bool { return w.deployment(arn).Status == types.ServiceDeploymentStatusSuccessful })

	var revs struct {
		ServiceRevisions []struct {
			TaskDefinition  string `json:"taskDefinition"`
			ContainerImages []struct {
				Image string `json:"image"`
			} `json:"containerImages"`
		} `json:"serviceRevisions"`
	}
	ok(&revs, "ecs", "describe-service-revisions", "--service-revision-arns", sd.TargetServiceRevision.Arn)
	if len(revs.ServiceRevisions) != 1 || len(revs.ServiceRevisions[0].ContainerImages) != 1 || revs.ServiceRevisions[0].ContainerImages[0].Image != imageV2 {
		t.Errorf("describe-service-revisions: %+v, want the revision running %s", revs, imageV2)
	}
	out, errOut, err := aws_("ecs", "stop-service-deployment", "--service-deployment-arn", arn, "--stop-type", "ROLLBACK")
	if err == nil || !strings.Contains(errOut, "ConflictException") {
		t.Errorf("stop-service-deployment of a finished deployment: %v %s %s, want ConflictException", err, out, errOut)
	}
}
