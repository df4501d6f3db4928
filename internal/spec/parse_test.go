package spec

import (
	"encoding/json"
	"errors"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestProblemString(t *testing.T) {
	tests := map[string]struct {
		p    Problem
		want string
	}{
		"everything": {Problem{File: "services/web.yaml", Line: 12, Column: 5, Path: "service.desiredCount", Reason: "bad"}, "services/web.yaml:12:5: service.desiredCount: bad"},
		"no column":  {Problem{File: "services/web.yaml", Line: 12, Path: "a", Reason: "bad"}, "services/web.yaml:12: a: bad"},
		"no line":    {Problem{File: "services/web.yaml", Path: "a", Reason: "bad"}, "services/web.yaml: a: bad"},
		"no file":    {Problem{Path: "image", Reason: "bad"}, "image: bad"},
		"reason":     {Problem{Reason: "bad"}, "bad"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.p.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSyntaxErrorsHaveLineAndColumn checks that malformed YAML and JSON are
// reported where the text is wrong.
func TestSyntaxErrorsHaveLineAndColumn(t *testing.T) {
	tests := map[string]struct {
		data string
		want string
	}{
		"bad indentation": {"image:\n  repository: web\n   tags: [a]\n", "services/web.yaml:3:8: invalid YAML: mapping values are not allowed in this context"},
		"tab indentation": {"image:\n\trepository: web\n", "services/web.yaml:2:1: invalid YAML: found character that cannot start any token"},
		"unclosed quote":  {"pipeline: [prod]\nimage: {repository: \"web}\n", "services/web.yaml:2:21: invalid YAML: found unexpected end of stream"},
		// The list is reported where its unclosed content starts.
		"unclosed flow list": {"pipeline: [prod\nimage: {}\n", "services/web.yaml:1:12: invalid YAML: did not find expected ',' or ']'"},
		"json missing comma": {"{\n  \"pipeline\": [\"prod\"]\n  \"image\": {}\n}\n", `services/web.yaml:3:3: invalid JSON: invalid character '"' after object key:value pair`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseService("services/web.yaml", []byte(tc.data))
			var problems Problems
			if !errors.As(err, &problems) {
				t.Fatalf("got error %v, want Problems", err)
			}
			if diff := cmp.Diff([]string{tc.want}, problems.Strings()); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseStrategyForms(t *testing.T) {
	tests := map[string]struct {
		yaml string
		want Strategy
	}{
		"name":   {"strategy: bluegreen\n", Strategy{Kind: BlueGreen}},
		"object": {"strategy:\n  kind: canary\n  steps: [{weight: 20, bake: 90s}, {weight: 100}]\n  finalBake: 1h30m\n", Strategy{Kind: Canary, Steps: []Step{{20, Duration{90 * time.Second}}, {Weight: 100}}, FinalBake: Duration{90 * time.Minute}}},
		"absent": {"pipeline: [dev]\n", Strategy{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := ParseService("services/web.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, s.Strategy); diff != "" {
				t.Errorf("strategy (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDurationJSON(t *testing.T) {
	in := Strategy{Kind: Canary, FinalBake: Duration{5 * time.Minute}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Strategy
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if err := json.Unmarshal([]byte(`"soon"`), &out.FinalBake); err == nil {
		t.Errorf("got no error for \"soon\", want one")
	}
}

func TestLoad(t *testing.T) {
	env := []byte("cluster: dev\n")
	tests := map[string]struct {
		fsys         fstest.MapFS
		wantServices []string
		wantProblems []string
	}{
		"other files ignored": {
			fsys: fstest.MapFS{
				"environments/dev.yaml": {Data: env},
				"environments/README":   {Data: []byte("notes")},
				"services/old/x.yaml":   {Data: []byte("not: read")},
			},
		},
		"same name twice": {
			fsys: fstest.MapFS{
				"environments/dev.json": {Data: []byte(`{"cluster": "dev"}`)},
				"environments/dev.yaml": {Data: env},
			},
			wantProblems: []string{`environments/dev.yaml: environment "dev" is also defined in environments/dev.json; keep one file per environment`},
		},
		"no spec directories": {
			fsys:         fstest.MapFS{"web.yaml": {Data: env}},
			wantProblems: []string{"no services/ or environments/ directory here; point at the spec root that holds them"},
		},
		"every file's problems": {
			fsys: fstest.MapFS{
				"environments/a.yaml": {Data: []byte("cluster: [x]\n")},
				"environments/b.yaml": {Data: []byte("clusterName: x\n")},
			},
			wantProblems: []string{
				"environments/a.yaml:1:10: cluster: got a list, want a string",
				`environments/b.yaml:1:14: clusterName: unknown field; did you mean "cluster"?`,
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Load(tc.fsys)
			var got []string
			if err != nil {
				var problems Problems
				if !errors.As(err, &problems) {
					t.Fatalf("got error %v, want Problems", err)
				}
				got = problems.Strings()
			}
			if diff := cmp.Diff(tc.wantProblems, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
