package main

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/localcloud"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestLocalAndDemoUsage(t *testing.T) {
	tests := map[string]struct {
		args       []string
		wantStderr string
	}{
		"speed not positive":       {[]string{"demo", "--speed", "0"}, "--speed 0: must be positive"},
		"speed and virtual":        {[]string{"local", "--speed", "2", "--virtual"}, "--speed and --virtual"},
		"missing spec root":        {[]string{"demo", "--specs", "no/such/dir"}, "--specs no/such/dir: not a directory"},
		"local missing spec root":  {[]string{"local", "--specs", "no/such/dir"}, "--specs no/such/dir: not a directory"},
		"empty spec root":          {[]string{"local", "--specs", ""}, "--specs: empty"},
		"specs and no world":       {[]string{"local", "--specs", "../../examples", "--no-world"}, "--specs and --no-world contradict"},
		"error rate out of range":  {[]string{"local", "fault", "error-rate", digest, "1.5"}, `RATE "1.5": want a number from 0 to 1`},
		"latency not a number":     {[]string{"local", "fault", "latency", digest, "soon"}, `MS "soon"`},
		"image neither tag nor id": {[]string{"local", "fault", "crash", "web"}, `image "web": want repository:tag`},
		"throttle count":           {[]string{"local", "fault", "throttle", "ecs", "--count", "0"}, "--count 0: must be at least 1"},
		"delay not a duration":     {[]string{"local", "fault", "delay-events", "later"}, `DURATION "later"`},
		"local takes no argument":  {[]string{"local", "extra"}, "unknown command"},
		"task pull not positive":   {[]string{"local", "--task-pull", "0s"}, "--task-pull 0s: must be positive"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr); code != exitUsage {
				t.Errorf("got exit code %d, want %d (stderr %s)", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("got stderr %q, want it to contain %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}

// TestLocalHelpWarns: `slipway local --help` says the endpoint has no
// authentication and what --listen 0.0.0.0 therefore means.
func TestLocalHelpWarns(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"local", "--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("got exit code %d, want 0 (stderr %s)", code, stderr.String())
	}
	for _, want := range []string{"It has no authentication", "--listen 0.0.0.0 gives full control to\nanyone on your network"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help does not say %q:\n%s", want, stdout.String())
		}
	}
}

// TestFaultCommands drives the control API of a server through the fault
// subcommands.
func TestFaultCommands(t *testing.T) {
	srv := localcloud.NewServer(localcloud.Options{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	steps := []struct {
		args []string
		want faults.State
	}{
		{[]string{"error-rate", "web@" + digest, "0.3"}, faults.State{Images: map[string]faults.Behaviour{digest: {ErrorRate: 0.3}}}},
		{[]string{"crash", digest}, faults.State{Images: map[string]faults.Behaviour{digest: {CrashOnStart: true}}}},
		{[]string{"throttle", "ecs", "UpdateService", "--count", "2"}, faults.State{
			Images:    map[string]faults.Behaviour{digest: {CrashOnStart: true}},
			Throttles: []faults.Throttle{{Service: "ecs", Operation: "UpdateService", Count: 2}}}},
		{[]string{"heal", digest}, faults.State{Throttles: []faults.Throttle{{Service: "ecs", Operation: "UpdateService", Count: 2}}}},
		{[]string{"delay-events", "30s"}, faults.State{EventDelayMs: 30000,
			Throttles: []faults.Throttle{{Service: "ecs", Operation: "UpdateService", Count: 2}}}},
		{[]string{"clear"}, faults.State{}},
	}
	for _, step := range steps {
		var stdout, stderr bytes.Buffer
		args := append([]string{"local", "fault", "--endpoint", hs.URL}, step.args...)
		if code := run(args, &stdout, &stderr); code != exitOK {
			t.Fatalf("%v: got exit code %d, stderr %s", step.args, code, stderr.String())
		}
		if diff := cmp.Diff(step.want, srv.Faults().State()); diff != "" {
			t.Errorf("%v: faults (-want +got):\n%s", step.args, diff)
		}
	}
}

// TestLocalServesAndStops runs the built command from an empty directory:
// it prints the exports,
// answers the health check once ready, serves the AWS APIs, and on SIGINT
// stops with exit code 0 after saving its state.
func TestLocalServesAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI and synthesizes the stack; -short skips it")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "slipway")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	state := filepath.Join(dir, "state")
	// From a directory that holds nothing: the template and the example
	// world come from the binary.
	cmd := exec.Command(bin, "local", "--port", "0", "--state-dir", state)
	cmd.Dir = t.TempDir()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("read the exports: %v\n%s", err, stderr.String())
	}
	fields := strings.Fields(line)
	if len(fields) < 2 || fields[0] != "export" || !strings.HasPrefix(fields[1], "AWS_ENDPOINT_URL=http://127.0.0.1:") {
		t.Fatalf("got %q, want export AWS_ENDPOINT_URL=http://127.0.0.1:…", line)
	}
	for _, want := range []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1"} {
		if !slices.Contains(fields, want) {
			t.Errorf("exports %q lack %s", line, want)
		}
	}
	url := strings.TrimPrefix(fields[1], "AWS_ENDPOINT_URL=")
	resp, err := http.Get(url + "/_slipway/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("health: got %s, want 200 once the exports are printed", resp.Status)
	}
	// The example world is seeded: the staging cluster runs the example
	// services.
	svcs, err := ecs.NewFromConfig(stack.AWSConfig(url, "us-east-1")).ListServices(context.Background(), &ecs.ListServicesInput{Cluster: aws.String("staging")})
	if err != nil {
		t.Fatalf("list the staging services: %v", err)
	}
	if !slices.ContainsFunc(svcs.ServiceArns, func(arn string) bool { return strings.HasSuffix(arn, "/staging/worker") }) {
		t.Errorf("staging services: got %v, want the example worker among them", svcs.ServiceArns)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(state, "states.json")); err != nil {
		t.Errorf("state not saved: %v", err)
	}
}
