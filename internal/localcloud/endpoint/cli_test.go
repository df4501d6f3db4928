package endpoint_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestAWSCLISession runs a short session of the stock aws CLI against the
// assembled endpoint, one or two commands per service, as a user would
// after exporting what `slipway local` prints.
func TestAWSCLISession(t *testing.T) {
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("no aws CLI on the PATH, so the aws CLI session is skipped (make test installs Debian's awscli when apt is usable)")
	}
	r := start(t)
	home := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"AWS_ENDPOINT_URL=" + r.URL, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true",
	}
	// Keep pyenv-style shims working: they need their root variables.
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PYENV") {
			env = append(env, kv)
		}
	}
	aws := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--output", "json")...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.Bytes()
	}
	decode := func(b []byte, v any) {
		t.Helper()
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
	}

	var caller struct{ Account string }
	decode(aws("sts", "get-caller-identity"), &caller)
	if caller.Account != "000000000000" {
		t.Errorf("sts get-caller-identity: got account %q, want 000000000000", caller.Account)
	}

	specs := filepath.Join(t.TempDir(), "note.txt")
	if err := os.WriteFile(specs, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	aws("s3api", "put-object", "--bucket", r.Deployed.StateBucket, "--key", "cli/note.txt", "--body", specs)
	var objects struct{ Contents []struct{ Key string } }
	decode(aws("s3api", "list-objects-v2", "--bucket", r.Deployed.StateBucket, "--prefix", "cli/"), &objects)
	if len(objects.Contents) != 1 || objects.Contents[0].Key != "cli/note.txt" {
		t.Errorf("s3api list-objects-v2: got %+v, want cli/note.txt", objects.Contents)
	}

	var repos struct {
		Repositories []struct{ RepositoryName string }
	}
	decode(aws("ecr", "describe-repositories"), &repos)
	var repoNames []string
	for _, r := range repos.Repositories {
		repoNames = append(repoNames, r.RepositoryName)
	}
	slices.Sort(repoNames)
	if !slices.Equal(repoNames, []string{"agent", "web", "worker"}) {
		t.Errorf("ecr describe-repositories: got %v, want agent, web, worker", repoNames)
	}

	var services struct {
		Services []struct {
			ServiceName  string
			RunningCount int
		}
	}
	decode(aws("ecs", "describe-services", "--cluster", "staging", "--services", "worker"), &services)
	if len(services.Services) != 1 || services.Services[0].RunningCount < 1 {
		t.Errorf("ecs describe-services: got %+v, want worker running", services.Services)
	}

	var groups struct {
		TargetGroups []struct{ TargetGroupArn string }
	}
	decode(aws("elbv2", "describe-target-groups"), &groups)
	wantTG := "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/staging-web-blue/0000000000000001"
	if !slices.ContainsFunc(groups.TargetGroups, func(g struct{ TargetGroupArn string }) bool { return g.TargetGroupArn == wantTG }) {
		t.Errorf("elbv2 describe-target-groups: got %+v, want %s among them", groups.TargetGroups, wantTG)
	}

	var alarms struct {
		MetricAlarms []struct{ AlarmName, StateValue string }
	}
	decode(aws("cloudwatch", "describe-alarms", "--alarm-names", "web-staging-5xx"), &alarms)
	if len(alarms.MetricAlarms) != 1 {
		t.Errorf("cloudwatch describe-alarms: got %+v, want web-staging-5xx", alarms.MetricAlarms)
	}

	var machines struct {
		StateMachines []struct{ StateMachineArn string }
	}
	decode(aws("stepfunctions", "list-state-machines"), &machines)
	if len(machines.StateMachines) != 1 || machines.StateMachines[0].StateMachineArn != r.Deployed.StateMachineARN {
		t.Errorf("stepfunctions list-state-machines: got %+v, want %s", machines.StateMachines, r.Deployed.StateMachineARN)
	}
	var execs struct {
		Executions []struct{ Name, Status string }
	}
	decode(aws("stepfunctions", "list-executions", "--state-machine-arn", r.Deployed.StateMachineARN, "--status-filter", "SUCCEEDED"), &execs)
	if len(execs.Executions) < 3 {
		t.Errorf("stepfunctions list-executions: got %d succeeded, want the 3 initial deployments", len(execs.Executions))
	}

	var rules struct{ Rules []struct{ Name string } }
	decode(aws("events", "list-rules"), &rules)
	if len(rules.Rules) != len(r.Deployed.Stack.Rules) {
		t.Errorf("events list-rules: got %d rules, want the %d of the template", len(rules.Rules), len(r.Deployed.Stack.Rules))
	}
}
