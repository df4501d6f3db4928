package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// brokenRoot writes a spec root whose only service has an unknown field.
func brokenRoot(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "services"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "services", "web.yaml"), []byte("image: {repository: web}\npipeline: [prod]\nreplicas: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRun(t *testing.T) {
	broken := brokenRoot(t)
	tests := map[string]struct {
		args       []string
		wantCode   int
		wantStdout []string // substrings
		wantStderr []string
	}{
		"help lists the commands": {
			args: []string{"--help"}, wantCode: exitOK,
			wantStdout: []string{"validate", "render", "Exit codes: 0 ok, 1 invalid spec or failed operation, 2 usage error."},
		},
		"validate help": {
			args: []string{"validate", "--help"}, wantCode: exitOK,
			wantStdout: []string{"slipway validate examples/"},
		},
		"validate examples": {
			args: []string{"validate", "../../examples"}, wantCode: exitOK,
			wantStdout: []string{"ok: 3 services, 2 environments"},
		},
		"validate one file": {
			args: []string{"validate", "../../examples/services/web.yaml", "../../examples/environments/prod.yaml"}, wantCode: exitOK,
			wantStdout: []string{"ok: 1 services, 1 environments"},
		},
		"validate invalid spec": {
			args: []string{"validate", broken}, wantCode: exitFailed,
			wantStdout: []string{filepath.ToSlash(filepath.Join(broken, "services/web.yaml")) + ":3:11: replicas: unknown field"},
			wantStderr: []string{"1 problem; fix it and run the command again"},
		},
		"validate without paths": {
			args: []string{"validate"}, wantCode: exitUsage,
			wantStderr: []string{"validate needs at least one PATH"},
		},
		"validate missing path": {
			args: []string{"validate", "no/such/dir"}, wantCode: exitUsage,
			wantStderr: []string{"no/such/dir: no such file or directory"},
		},
		"validate a directory that is not a root": {
			args: []string{"validate", "../../examples/services"}, wantCode: exitUsage,
			wantStderr: []string{"is not a spec root"},
		},
		"render with a strategy override": {
			args: []string{"render", "--env", "prod", "--dir", "../../examples", "--strategy", "rolling", "web"}, wantCode: exitOK,
			wantStdout: []string{`"kind": "rolling"`},
		},
		"render with a bad strategy override": {
			args: []string{"render", "--env", "prod", "--dir", "../../examples", "--strategy", `{"kind":"canary","steps":[{"weight":50}]}`, "web"}, wantCode: exitFailed,
			wantStderr: []string{"strategy.steps[0].weight: the last step must reach 100, not 50"},
		},
		"render from a directory that is not a root": {
			args: []string{"render", "--env", "prod", "--dir", "../../examples/services", "web"}, wantCode: exitUsage,
			wantStderr: []string{"is not a spec root"},
		},
		"validate a file outside services/": {
			args: []string{"validate", "main.go"}, wantCode: exitUsage,
			wantStderr: []string{"put the file in a services/ or environments/ directory"},
		},
		"render prod web": {
			args: []string{"render", "--env", "prod", "--dir", "../../examples", "web"}, wantCode: exitOK,
			wantStdout: []string{`"registerTaskDefinition"`, `"createService"`, `"family": "web-prod"`},
			wantStderr: []string{"no --image given; using the placeholder"},
		},
		"render with an image": {
			args: []string{"render", "--env", "staging", "--dir", "../../examples", "--image",
				"000000000000.dkr.ecr.us-east-1.amazonaws.com/worker@sha256:" + strings.Repeat("ab", 32), "worker"},
			wantCode:   exitOK,
			wantStdout: []string{"worker@sha256:abab"},
		},
		"render with a tag": {
			args: []string{"render", "--env", "prod", "--dir", "../../examples", "--image", "web:latest", "web"}, wantCode: exitFailed,
			wantStderr: []string{`image: "web:latest" is not a pinned image`},
		},
		"render an invalid root": {
			args: []string{"render", "--env", "prod", "--dir", broken, "web"}, wantCode: exitFailed,
			wantStderr: []string{"replicas: unknown field"},
		},
		"render without --env": {
			args: []string{"render", "--dir", "../../examples", "web"}, wantCode: exitUsage,
			wantStderr: []string{"render needs --env ENV"},
		},
		"render unknown environment": {
			args: []string{"render", "--env", "qa", "--dir", "../../examples", "web"}, wantCode: exitUsage,
			wantStderr: []string{`no environment "qa"`, "have: prod, staging"},
		},
		"render unknown service": {
			args: []string{"render", "--env", "prod", "--dir", "../../examples", "api"}, wantCode: exitUsage,
			wantStderr: []string{`no service "api"`, "have: agent, web, worker"},
		},
		"render two services": {
			args: []string{"render", "--env", "prod", "web", "worker"}, wantCode: exitUsage,
			wantStderr: []string{"exactly one SERVICE"},
		},
		"unknown flag": {
			args: []string{"render", "--environment", "prod", "web"}, wantCode: exitUsage,
			wantStderr: []string{"unknown flag: --environment", "see slipway render --help"},
		},
		"unknown command": {
			args: []string{"deploy-everything"}, wantCode: exitUsage,
			wantStderr: []string{`unknown command "deploy-everything"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit code: got %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, stdout.String(), stderr.String())
			}
			for _, want := range tc.wantStdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout: got\n%s\nwant it to contain %q", stdout.String(), want)
				}
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr: got\n%s\nwant it to contain %q", stderr.String(), want)
				}
			}
		})
	}
}

// TestRenderPrintsECSInputs checks the shape of render's output: JSON whose
// task definition and service inputs carry the fields ECS requires.
func TestRenderPrintsECSInputs(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"render", "--env", "prod", "--dir", "../../examples", "web"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit code: got %d, want 0; stderr:\n%s", code, stderr.String())
	}
	var out struct {
		RegisterTaskDefinition struct {
			Family               string `json:"family"`
			ContainerDefinitions []struct {
				Image string `json:"image"`
			} `json:"containerDefinitions"`
		} `json:"registerTaskDefinition"`
		CreateService struct {
			ServiceName  string `json:"serviceName"`
			Cluster      string `json:"cluster"`
			DesiredCount int    `json:"desiredCount"`
		} `json:"createService"`
		Strategy struct {
			Kind string `json:"kind"`
		} `json:"strategy"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if strings.Contains(stdout.String(), "${") {
		t.Errorf("output holds an unresolved variable:\n%s", stdout.String())
	}
	if got, want := out.RegisterTaskDefinition.ContainerDefinitions[0].Image, "000000000000.dkr.ecr.us-east-1.amazonaws.com/web@"+placeholderDigest; got != want {
		t.Errorf("image: got %q, want %q", got, want)
	}
	if got, want := out.CreateService.ServiceName+"/"+out.CreateService.Cluster, "web/prod"; got != want {
		t.Errorf("service/cluster: got %q, want %q", got, want)
	}
	if got, want := out.Strategy.Kind, "canary"; got != want {
		t.Errorf("strategy: got %q, want %q", got, want)
	}
}

// TestRenderBuiltInExamples runs render outside the repository: without
// --dir, and with no ./examples there, it renders the examples built into
// the binary and says so; a ./examples spec root there is still preferred,
// and a --dir that is not a spec root is still an error.
func TestRenderBuiltInExamples(t *testing.T) {
	want := runCLI("render", "--env", "prod", "--dir", "../../examples", "web")
	want.want(t, exitOK)
	repo, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())

	got := runCLI("render", "--env", "prod", "web")
	got.want(t, exitOK)
	got.wantErr(t, "./examples is not a spec root here; rendering the examples built into slipway")
	if got.stdout != want.stdout {
		t.Errorf("built-in examples rendered\n%s\nwant what ../../examples renders\n%s", got.stdout, want.stdout)
	}
	res := runCLI("render", "--env", "prod", "api")
	res.want(t, exitUsage)
	res.wantErr(t, `no service "api" in examples (built in)/services; have: agent, web, worker`)
	res = runCLI("render", "--env", "prod", "--dir", "examples", "web")
	res.want(t, exitUsage)
	res.wantErr(t, "--dir examples is not a spec root")
	if got, _ := complete(t, "render", "--env", "prod", ""); strings.Join(got, " ") != "agent web worker" {
		t.Errorf("render completes %q here, want the built-in examples' services", got)
	}

	// A ./examples spec root of one's own is read, without the note: it
	// has web only.
	for _, f := range []string{"services/web.yaml", "environments/prod.yaml"} {
		b, err := os.ReadFile(filepath.Join(repo, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join("examples", filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("examples", f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	own := runCLI("render", "--env", "prod", "web")
	own.want(t, exitOK)
	if strings.Contains(own.stderr, "built into slipway") || own.stdout != want.stdout {
		t.Errorf("render from ./examples: stderr %q, stdout equal to the repository's: %v", own.stderr, own.stdout == want.stdout)
	}
	res = runCLI("render", "--env", "prod", "worker")
	res.want(t, exitUsage)
	res.wantErr(t, `no service "worker" in examples/services; have: web`)
}
