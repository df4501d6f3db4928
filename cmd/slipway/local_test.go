package main

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/localcloud"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestLocalAndDemoUsage(t *testing.T) {
	tests := map[string]struct {
		args       []string
		wantStderr string
	}{
		"speed not positive":       {[]string{"demo", "--speed", "0"}, "--speed 0: must be positive"},
		"speed and virtual":        {[]string{"local", "--speed", "2", "--virtual"}, "none of the others can be"},
		"missing spec root":        {[]string{"demo", "--specs", "no/such/dir"}, "--specs no/such/dir: not a directory"},
		"local missing spec root":  {[]string{"local", "--specs", "no/such/dir"}, "--specs no/such/dir: not a directory"},
		"error rate out of range":  {[]string{"local", "fault", "error-rate", digest, "1.5"}, `RATE "1.5": want a number from 0 to 1`},
		"latency not a number":     {[]string{"local", "fault", "latency", digest, "soon"}, `MS "soon"`},
		"image neither tag nor id": {[]string{"local", "fault", "crash", "web"}, `image "web": want repository:tag`},
		"throttle count":           {[]string{"local", "fault", "throttle", "ecs", "--count", "0"}, "--count 0: must be at least 1"},
		"delay not a duration":     {[]string{"local", "fault", "delay-events", "later"}, `DURATION "later"`},
		"local takes no argument":  {[]string{"local", "extra"}, "unknown command"},
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
