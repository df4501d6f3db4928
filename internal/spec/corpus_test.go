package spec

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files and the expected errors of the invalid corpus")

// corpusDir holds broken specs. Each case is one file named
// <case>.service.<ext> or <case>.environment.<ext> that replaces the base
// service (services/app.yaml) or environment (environments/dev.yaml), and
// <case>.errors lists the exact problems it must produce, one per line.
const corpusDir = "testdata/invalid"

// baseFS returns the valid spec root every corpus case starts from.
func baseFS(t *testing.T) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, f := range []string{"services/app.yaml", "environments/dev.yaml"} {
		data, err := os.ReadFile(filepath.Join(corpusDir, "base", f))
		if err != nil {
			t.Fatal(err)
		}
		fsys[f] = &fstest.MapFile{Data: data}
	}
	return fsys
}

// loadAndValidate returns every problem Load and Set.Validate find.
func loadAndValidate(fsys fstest.MapFS) Problems {
	set, err := Load(fsys)
	if err != nil {
		return asProblems(err)
	}
	return set.Validate()
}

func TestCorpusBaseIsValid(t *testing.T) {
	if got := loadAndValidate(baseFS(t)); len(got) != 0 {
		t.Fatalf("got problems in the base specs, want none:\n%v", got)
	}
}

func TestInvalidCorpus(t *testing.T) {
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	cases := 0
	for _, e := range entries {
		name, kind, ext, ok := corpusCase(e.Name())
		if !ok {
			continue
		}
		cases++
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpusDir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			fsys := baseFS(t)
			if kind == "service" {
				delete(fsys, "services/app.yaml")
				fsys["services/app"+ext] = &fstest.MapFile{Data: data}
			} else {
				delete(fsys, "environments/dev.yaml")
				fsys["environments/dev"+ext] = &fstest.MapFile{Data: data}
			}
			got := strings.Join(loadAndValidate(fsys).Strings(), "\n") + "\n"
			errorsFile := filepath.Join(corpusDir, name+".errors")
			if *update {
				if err := os.WriteFile(errorsFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(errorsFile)
			if err != nil {
				t.Fatalf("read expected errors: %v (run go test -update to create it)", err)
			}
			if strings.TrimSpace(got) == "" {
				t.Fatalf("got no problems, want:\n%s", want)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("problems differ (-want +got):\n%s", diff)
			}
		})
	}
	if cases < 30 {
		t.Errorf("got %d corpus cases, want at least 30", cases)
	}
}

// corpusCase splits "<case>.<kind>.<ext>".
func corpusCase(file string) (name, kind, ext string, ok bool) {
	ext = filepath.Ext(file)
	if ext != ".yaml" && ext != ".json" {
		return "", "", "", false
	}
	rest := strings.TrimSuffix(file, ext)
	kind = filepath.Ext(rest)
	name = strings.TrimSuffix(rest, kind)
	kind = strings.TrimPrefix(kind, ".")
	if kind != "service" && kind != "environment" {
		return "", "", "", false
	}
	return name, kind, ext, true
}
