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

// BenchmarkBombs loads and validates each committed bomb (testdata/bombs):
// a 66 KB environment whose YAML aliases expand to 72 MB, and a 266 KB
// service whose variable expands to a 256 MiB string. Both must be
// refused in milliseconds; -benchmem shows the memory each costs.
func BenchmarkBombs(b *testing.B) {
	for _, name := range []string{"aliases", "variables"} {
		b.Run(name, func(b *testing.B) {
			fsys := os.DirFS("testdata/bombs/" + name)
			b.ReportAllocs()
			for b.Loop() {
				set, err := Load(fsys)
				if err == nil {
					err = set.Validate().err()
				}
				if err == nil {
					b.Fatal("bomb accepted, want it refused")
				}
			}
		})
	}
}
