package synth_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/infra/stack"
	"github.com/slipwayhq/slipway/internal/synth"
)

// TestResolveSynthesizedStack resolves the template the CDK app really
// produces (settings as cdk.json ships them, spec bucket name generated).
func TestResolveSynthesizedStack(t *testing.T) {
	dir := t.TempDir()
	if err := stack.PlaceholderAssets(filepath.Join(dir, "assets")); err != nil {
		t.Fatal(err)
	}
	s := stack.Defaults()
	s.Clusters = []string{"default"}
	s.AssetDir = filepath.Join(dir, "assets")
	raw, _, err := stack.Synthesize(s, filepath.Join(dir, "cdk.out"))
	if err != nil {
		t.Fatalf("synthesize: %v", err)
	}
	env := synth.Env{Region: "eu-central-1", Account: "000000000000", StackName: "Slipway"}
	got, err := synth.Resolve(raw, env)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}

	if len(got.StateMachines) != 1 {
		t.Fatalf("got %d state machines, want 1", len(got.StateMachines))
	}
	sm := got.StateMachines[0]
	if sm.Name != "Slipway-deploy" || sm.ARN != "arn:aws:states:eu-central-1:000000000000:stateMachine:Slipway-deploy" || sm.Type != "STANDARD" {
		t.Errorf("state machine %s %s %s, want Slipway-deploy, its ARN, STANDARD", sm.Name, sm.ARN, sm.Type)
	}
	def := string(sm.Definition)
	for _, leftover := range []string{"Fn::", `"Ref"`, "${", "AWS::"} {
		if strings.Contains(def, leftover) {
			t.Errorf("resolved definition still contains %s", leftover)
		}
	}

	kinds := map[synth.FunctionKind]string{}
	for _, f := range got.Functions {
		kinds[f.Kind] = f.Name
		if f.Environment[stack.EnvStateMachineARN] != sm.ARN {
			t.Errorf("%s: %s = %s, want %s", f.Name, stack.EnvStateMachineARN, f.Environment[stack.EnvStateMachineARN], sm.ARN)
		}
	}
	wantKinds := map[synth.FunctionKind]string{
		synth.KindECRPush: "Slipway-ecr-push", synth.KindSpecUpload: "Slipway-spec-upload",
		synth.KindSignal: "Slipway-signal", synth.KindStep: "Slipway-step",
	}
	if diff := cmp.Diff(wantKinds, kinds); diff != "" {
		t.Errorf("function kinds (-want +got):\n%s", diff)
	}
	step, _ := got.Function(synth.KindStep)
	if !strings.Contains(def, `"Resource":"`+step.ARN+`"`) || !strings.Contains(def, `"FunctionName":"`+step.ARN+`"`) {
		t.Errorf("definition does not call %s both directly and with a task token", step.ARN)
	}

	var spec, state synth.Bucket
	for _, b := range got.Buckets {
		switch {
		case strings.Contains(b.LogicalID, "SpecBucket"):
			spec = b
		case strings.Contains(b.LogicalID, "StateBucket"):
			state = b
		}
	}
	if !spec.Versioned || !spec.EventBridge || !strings.HasPrefix(spec.Name, "slipway-storagespecbucket") {
		t.Errorf("spec bucket %+v, want a generated name, versioned, EventBridge on", spec)
	}
	if !state.Versioned || state.EventBridge {
		t.Errorf("state bucket %+v, want versioned, no EventBridge", state)
	}
	if step.Environment[stack.EnvSpecBucket] != spec.Name || step.Environment[stack.EnvStateBucket] != state.Name {
		t.Errorf("step environment %v does not name the buckets %s and %s", step.Environment, spec.Name, state.Name)
	}

	// ECR pushes, spec uploads, alarm changes, ECS deployment changes and
	// ECS hook changes (kind ecs).
	if len(got.Rules) != 5 {
		t.Fatalf("got %d rules, want 5", len(got.Rules))
	}
	dlqs := map[string]bool{}
	for _, q := range got.Queues {
		dlqs[q.ARN] = true
	}
	for _, r := range got.Rules {
		if len(r.Targets) != 1 {
			t.Errorf("rule %s has %d targets, want 1", r.Name, len(r.Targets))
			continue
		}
		tg := r.Targets[0]
		if _, ok := got.FunctionByARN(tg.ARN); !ok || !dlqs[tg.DeadLetterARN] || tg.MaxRetryAttempts == 0 {
			t.Errorf("rule %s target %+v, want one of the functions with a dead-letter queue and retries", r.Name, tg)
		}
		var pattern struct {
			Source []string `json:"source"`
			Detail struct {
				Bucket struct {
					Name []string `json:"name"`
				} `json:"bucket"`
			} `json:"detail"`
		}
		if err := json.Unmarshal(r.EventPattern, &pattern); err != nil {
			t.Errorf("rule %s pattern: %v", r.Name, err)
		}
		if pattern.Source[0] == "aws.s3" {
			if diff := cmp.Diff([]string{spec.Name}, pattern.Detail.Bucket.Name); diff != "" {
				t.Errorf("S3 rule bucket names (-want +got):\n%s", diff)
			}
			if f, _ := got.FunctionByARN(tg.ARN); f.Kind != synth.KindSpecUpload {
				t.Errorf("S3 rule targets %s, want spec-upload", f.Kind)
			}
		}
	}
}
