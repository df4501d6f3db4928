package spec

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// seedFuzz adds the examples and the invalid corpus as seeds.
func seedFiles(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, pattern := range []string{"../../examples/*/*.yaml", "testdata/invalid/*.yaml", "testdata/invalid/*.json", "testdata/invalid/base/*/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			seeds = append(seeds, data)
		}
	}
	return seeds
}

// FuzzParse feeds arbitrary bytes to both parsers and, when a document
// parses, to Validate and MarshalAPI. Nothing may panic, and every error
// must be Problems.
func FuzzParse(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		svc, err := ParseService("services/fuzz.yaml", data)
		checkProblems(t, err)
		if svc != nil {
			_ = svc.Validate()
			if _, err := MarshalAPI(svc); err != nil {
				t.Errorf("MarshalAPI of a parsed service: %v", err)
			}
		}
		env, err := ParseEnvironment("environments/fuzz.yaml", data)
		checkProblems(t, err)
		if env != nil {
			_ = env.Validate()
		}
	})
}

// FuzzValidateRender loads a service and an environment from arbitrary
// bytes and validates and renders the pair.
func FuzzValidateRender(f *testing.F) {
	fsys := fstest.MapFS{}
	for _, name := range []string{"services/app.yaml", "environments/dev.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata/invalid/base", name))
		if err != nil {
			f.Fatal(err)
		}
		fsys[name] = &fstest.MapFile{Data: data}
	}
	f.Add(fsys["services/app.yaml"].Data, fsys["environments/dev.yaml"].Data, []byte(`"bluegreen"`))
	for _, s := range seedFiles(f) {
		f.Add(s, fsys["environments/dev.yaml"].Data, []byte(`{"kind":"canary","steps":[{"weight":100}]}`))
	}
	f.Fuzz(func(t *testing.T, service, environment, strategy []byte) {
		fsys := fstest.MapFS{
			"services/app.yaml":     &fstest.MapFile{Data: service},
			"environments/dev.yaml": &fstest.MapFile{Data: environment},
		}
		set, err := Load(fsys)
		checkProblems(t, err)
		if err != nil {
			return
		}
		_ = set.Validate()
		svc, env := set.Services["app"], set.Environments["dev"]
		_, err = Render(svc, env, RenderInput{Image: testImage, DeploymentID: "d", Region: "us-east-1", AccountID: "000000000000", Strategy: strategy})
		checkProblems(t, err)
	})
}

func checkProblems(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var problems Problems
	if !errors.As(err, &problems) || len(problems) == 0 {
		t.Fatalf("got error %T %v, want non-empty Problems", err, err)
	}
}
