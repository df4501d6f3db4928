package spec

import (
	"os"
	"testing"
)

// BenchmarkValidateExamples loads and validates the example application,
// rendering every (service, environment) pair: what `slipway validate
// examples/` and a spec upload cost.
func BenchmarkValidateExamples(b *testing.B) {
	fsys := os.DirFS("../../examples")
	for b.Loop() {
		set, err := Load(fsys)
		if err != nil {
			b.Fatal(err)
		}
		if problems := set.Validate(); len(problems) > 0 {
			b.Fatal(problems)
		}
	}
}

// BenchmarkRender renders web for prod: what Prepare pays per deployment.
func BenchmarkRender(b *testing.B) {
	set, err := Load(os.DirFS("../../examples"))
	if err != nil {
		b.Fatal(err)
	}
	svc, env := set.Services["web"], set.Environments["prod"]
	in := RenderInput{Image: testImage, DeploymentID: "d", Region: "us-east-1", AccountID: "000000000000"}
	for b.Loop() {
		if _, err := Render(svc, env, in); err != nil {
			b.Fatal(err)
		}
	}
}
