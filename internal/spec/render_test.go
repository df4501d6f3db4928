package spec

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

const testImage = "000000000000.dkr.ecr.us-east-1.amazonaws.com/web@sha256:1111111111111111111111111111111111111111111111111111111111111111"

func loadExamples(t *testing.T) *Set {
	t.Helper()
	set, err := Load(os.DirFS("../../examples"))
	if err != nil {
		t.Fatalf("load examples: %v", err)
	}
	return set
}

func TestExamplesValidate(t *testing.T) {
	set := loadExamples(t)
	if got := len(set.Services); got != 3 {
		t.Errorf("got %d services, want 3", got)
	}
	if got := len(set.Environments); got != 2 {
		t.Errorf("got %d environments, want 2", got)
	}
	if problems := set.Validate(); len(problems) > 0 {
		t.Fatalf("got problems, want none:\n%v", problems)
	}
}

// TestRenderGolden renders every example service for every environment of
// its pipeline and compares the result with testdata/render/*.golden
// (rewritten by go test -update). A golden file no pair produces is stale.
func TestRenderGolden(t *testing.T) {
	set := loadExamples(t)
	produced := map[string]bool{}
	for _, svcName := range sortedKeys(set.Services) {
		svc := set.Services[svcName]
		for _, envName := range svc.Pipeline {
			name := svcName + "." + envName
			golden := filepath.Join("testdata", "render", name+".golden")
			produced[golden] = true
			t.Run(name, func(t *testing.T) {
				r, err := Render(svc, set.Environments[envName], RenderInput{
					Image: strings.Replace(testImage, "/web@", "/"+svc.Image.Repository+"@", 1), DeploymentID: "d-123",
					Region: "us-east-1", AccountID: "000000000000",
				})
				if err != nil {
					t.Fatalf("render: %v", err)
				}
				got, err := MarshalAPI(r)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, '\n')
				if strings.Contains(string(got), "${") {
					t.Errorf("rendered output still holds ${...}:\n%s", got)
				}
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("read golden: %v (run go test -update to create it)", err)
				}
				if diff := cmp.Diff(string(want), string(got)); diff != "" {
					t.Errorf("render differs from %s (-want +got); run go test -update if the change is intended:\n%s", golden, diff)
				}
			})
		}
	}
	files, err := filepath.Glob(filepath.Join("testdata", "render", "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !produced[f] {
			t.Errorf("stale golden file %s: no example renders it; delete it", f)
		}
	}
}

func TestRender(t *testing.T) {
	tests := map[string]struct {
		service, env string // YAML bodies
		in           RenderInput
		check        func(t *testing.T, r *Rendered)
	}{
		"defaults filled": {
			check: func(t *testing.T, r *Rendered) {
				if got, want := *r.TaskDefinition.Family, "app-dev"; got != want {
					t.Errorf("family: got %q, want %q", got, want)
				}
				if got, want := *r.ServiceInput.DesiredCount, int32(2); got != want {
					t.Errorf("desiredCount: got %d, want %d", got, want)
				}
				if got, want := r.ServiceInput.LaunchType, types.LaunchTypeFargate; got != want {
					t.Errorf("launchType: got %q, want %q", got, want)
				}
				cb := r.ServiceInput.DeploymentConfiguration.DeploymentCircuitBreaker
				if cb == nil || !cb.Enable || !cb.Rollback {
					t.Errorf("circuit breaker: got %+v, want enabled with rollback", cb)
				}
				if got, want := r.ServiceInput.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp, types.AssignPublicIpDisabled; got != want {
					t.Errorf("assignPublicIp: got %q, want %q", got, want)
				}
				if got, want := *r.ServiceInput.LoadBalancers[0].TargetGroupArn, "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/dev-app-blue/1"; got != want {
					t.Errorf("target group: got %q, want %q", got, want)
				}
				if got, want := r.Strategy.StabilizationTimeout.Duration, DefaultStabilizationTimeout; got != want {
					t.Errorf("stabilizationTimeout: got %v, want %v", got, want)
				}
				tags := map[string]string{}
				for _, tag := range r.TaskDefinition.Tags {
					tags[*tag.Key] = *tag.Value
				}
				if diff := cmp.Diff(map[string]string{TagService: "app", TagEnvironment: "dev", TagDeployment: "d-1"}, tags); diff != "" {
					t.Errorf("tags (-want +got):\n%s", diff)
				}
				if got, want := r.Scheduling, "REPLICA"; got != want {
					t.Errorf("scheduling: got %q, want %q", got, want)
				}
			},
		},
		"deployment strategy name replaces canary": {
			in: RenderInput{Strategy: json.RawMessage(`"rolling"`)},
			check: func(t *testing.T, r *Rendered) {
				if diff := cmp.Diff(Strategy{Kind: Rolling, StabilizationTimeout: Duration{DefaultStabilizationTimeout}}, r.Strategy); diff != "" {
					t.Errorf("strategy (-want +got):\n%s", diff)
				}
			},
		},
		"deployment strategy object merges into same kind": {
			in: RenderInput{Strategy: json.RawMessage(`{"finalBake":"1h","alarms":["a"]}`)},
			check: func(t *testing.T, r *Rendered) {
				want := Strategy{Kind: Canary, Steps: []Step{{10, Duration{time.Minute}}, {Weight: 100}}, FinalBake: Duration{time.Hour},
					Alarms: []string{"a"}, StabilizationTimeout: Duration{DefaultStabilizationTimeout}}
				if diff := cmp.Diff(want, r.Strategy); diff != "" {
					t.Errorf("strategy (-want +got):\n%s", diff)
				}
			},
		},
		"environment strategy of another kind replaces": {
			env: "strategy: {kind: bluegreen, terminationWait: 1m}\n",
			check: func(t *testing.T, r *Rendered) {
				want := Strategy{Kind: BlueGreen, Steps: []Step{{Weight: 100}}, TerminationWait: Duration{time.Minute}, StabilizationTimeout: Duration{DefaultStabilizationTimeout}}
				if diff := cmp.Diff(want, r.Strategy); diff != "" {
					t.Errorf("strategy (-want +got):\n%s", diff)
				}
			},
		},
		"override null deletes and variables resolve": {
			env: "variables: {LEVEL: debug}\noverrides:\n  app:\n    service: {desiredCount: null}\n    taskDefinition:\n      family: ${SERVICE}-${LEVEL}\n",
			check: func(t *testing.T, r *Rendered) {
				if got, want := *r.ServiceInput.DesiredCount, int32(1); got != want {
					t.Errorf("desiredCount: got %d, want %d (the default once the override deletes it)", got, want)
				}
				if got, want := *r.TaskDefinition.Family, "app-debug"; got != want {
					t.Errorf("family: got %q, want %q", got, want)
				}
			},
		},
		"environment variables win": {
			service: "variables: {LEVEL: info}\n",
			env:     "variables: {LEVEL: debug}\noverrides:\n  app:\n    taskDefinition:\n      family: x-${LEVEL}\n",
			check: func(t *testing.T, r *Rendered) {
				if got, want := *r.TaskDefinition.Family, "x-debug"; got != want {
					t.Errorf("family: got %q, want %q", got, want)
				}
			},
		},
		"alarms are merged without duplicates": {
			service: "strategy: {kind: canary, steps: [{weight: 100}], alarms: [a, b]}\n",
			env:     "alarms: [b, c]\napproval: {required: true}\n",
			check: func(t *testing.T, r *Rendered) {
				if diff := cmp.Diff([]string{"a", "b", "c"}, r.Alarms); diff != "" {
					t.Errorf("alarms (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(Approval{Required: true, Timeout: Duration{DefaultApprovalTimeout}}, r.Approval); diff != "" {
					t.Errorf("approval (-want +got):\n%s", diff)
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			svc, env := corpusPair(t, tc.service, tc.env)
			in := tc.in
			in.Image, in.DeploymentID, in.Region, in.AccountID = testImage, "d-1", "us-east-1", "000000000000"
			r, err := Render(svc, env, in)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			tc.check(t, r)
		})
	}
}

func TestRenderProblems(t *testing.T) {
	tests := map[string]struct {
		service, env string
		in           RenderInput
		want         []string
	}{
		"tag instead of digest": {
			in:   RenderInput{Image: "web:v1"},
			want: []string{`image: "web:v1" is not a pinned image; want repository-uri@sha256:<64 hex digits>`},
		},
		"variable needs the region": {
			service: "variables:\n  LOGS: /ecs/${REGION}\n",
			in:      RenderInput{Image: testImage},
			want:    []string{"services/app.yaml:23:9: variables.LOGS: " + undefinedReason("REGION")},
		},
		"bad deployment strategy": {
			in:   RenderInput{Image: testImage, Strategy: json.RawMessage(`{"kind":"linear"}`)},
			want: []string{`strategy.kind: "linear" is not one of rolling, canary, bluegreen, ecs`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			svc, env := corpusPair(t, tc.service, tc.env)
			_, err := Render(svc, env, tc.in)
			var problems Problems
			if !errors.As(err, &problems) {
				t.Fatalf("got error %v, want Problems", err)
			}
			if diff := cmp.Diff(tc.want, problems.Strings()); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// corpusPair parses the corpus base service and environment, each with
// extra YAML appended (later keys replace the base's top-level ones).
func corpusPair(t *testing.T, serviceExtra, envExtra string) (*Service, *Environment) {
	t.Helper()
	fsys := baseFS(t)
	svcData := replaceTopLevel(string(fsys["services/app.yaml"].Data), serviceExtra)
	envData := replaceTopLevel(string(fsys["environments/dev.yaml"].Data), envExtra)
	svc, err := ParseService("services/app.yaml", []byte(svcData))
	if err != nil {
		t.Fatalf("parse service: %v", err)
	}
	env, err := ParseEnvironment("environments/dev.yaml", []byte(envData))
	if err != nil {
		t.Fatalf("parse environment: %v", err)
	}
	return svc, env
}

// replaceTopLevel drops the top-level keys of base that extra sets and
// appends extra.
func replaceTopLevel(base, extra string) string {
	keys := map[string]bool{}
	for _, line := range strings.Split(extra, "\n") {
		if k, _, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
			keys[k] = true
		}
	}
	var out []string
	skipping := false
	for _, line := range strings.Split(base, "\n") {
		if line != "" && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#") {
			k, _, _ := strings.Cut(line, ":")
			skipping = keys[k]
		}
		if !skipping {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n") + "\n" + extra
}

// TestRenderedJSONRoundTrip checks that a Rendered survives encoding/json,
// as it does when the engine stores a plan in the state bucket.
func TestRenderedJSONRoundTrip(t *testing.T) {
	set := loadExamples(t)
	r, err := Render(set.Services["web"], set.Environments["prod"], RenderInput{Image: testImage, DeploymentID: "d", Region: "us-east-1", AccountID: "000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Rendered
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	want, err := MarshalAPI(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := MarshalAPI(&back)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// TestRenderSpecsBuiltInCode renders specs that were never parsed: no
// positions, overrides given as raw JSON.
func TestRenderSpecsBuiltInCode(t *testing.T) {
	name, image, mem := "api", "${IMAGE}", int32(256)
	svc := &Service{
		Name: "api", File: "services/api.yaml",
		Image:    ImageSource{Repository: "api"},
		Pipeline: []string{"dev"},
		TaskDefinition: &ecs.RegisterTaskDefinitionInput{
			ContainerDefinitions: []types.ContainerDefinition{{Name: &name, Image: &image, Memory: &mem}},
		},
	}
	env := &Environment{
		Name: "dev", File: "environments/dev.yaml", Cluster: "dev", LaunchType: "EC2",
		Overrides: map[string]json.RawMessage{"api": json.RawMessage(`{"service": {"desiredCount": 3}, "strategy": "rolling"}`)},
	}
	if problems := svc.Validate(); len(problems) > 0 {
		t.Fatalf("service problems: %v", problems)
	}
	if problems := env.Validate(); len(problems) > 0 {
		t.Fatalf("environment problems: %v", problems)
	}
	r, err := Render(svc, env, RenderInput{Image: testImage})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if got, want := *r.ServiceInput.DesiredCount, int32(3); got != want {
		t.Errorf("desiredCount: got %d, want %d", got, want)
	}
	if got, want := *r.TaskDefinition.ContainerDefinitions[0].Image, testImage; got != want {
		t.Errorf("image: got %q, want %q", got, want)
	}
	if got, want := r.ServiceInput.LaunchType, types.LaunchTypeEc2; got != want {
		t.Errorf("launchType: got %q, want %q", got, want)
	}
	env.Overrides["api"] = json.RawMessage(`{"service": {"desiredCount": "x"}}`)
	_, err = Render(svc, env, RenderInput{Image: testImage})
	var problems Problems
	if !errors.As(err, &problems) {
		t.Fatalf("got %v, want Problems", err)
	}
	if diff := cmp.Diff([]string{`environments/dev.yaml: overrides.api.service.desiredCount: got a string "x", want an integer`}, problems.Strings()); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestRenderFargateCompatibility(t *testing.T) {
	svc, env := corpusPair(t, "", "")
	svc.TaskDefinition.RequiresCompatibilities = nil // runs on FARGATE through the environment's launch type
	r, err := Render(svc, env, RenderInput{Image: testImage})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if diff := cmp.Diff([]types.Compatibility{types.CompatibilityFargate}, r.TaskDefinition.RequiresCompatibilities); diff != "" {
		t.Errorf("requiresCompatibilities (-want +got):\n%s", diff)
	}
}
