package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/operator"
)

// TestDiffReportUsage: bad command lines fail with exit 2 before any AWS
// call; help shows an example.
func TestDiffReportUsage(t *testing.T) {
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected AWS call %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer stub.Close()
	awsEnv(t, stub.URL, "us-east-1")
	tests := map[string]struct {
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		"diff help":          {args: []string{"diff", "--help"}, wantCode: exitOK, wantStdout: []string{"slipway diff web --env staging", "NO_COLOR", "Exit codes: 0 no difference, 1 differences"}},
		"report help":        {args: []string{"report", "--help"}, wantCode: exitOK, wantStdout: []string{"slipway report web --env staging -o web.svg", "docs/report.md"}},
		"diff without env":   {args: []string{"diff", "web"}, wantCode: exitUsage, wantStderr: []string{"slipway diff needs --env ENV"}},
		"diff two services":  {args: []string{"diff", "--env", "prod", "web", "worker"}, wantCode: exitUsage, wantStderr: []string{"exactly one SERVICE"}},
		"diff bad output":    {args: []string{"diff", "--env", "prod", "--output", "yaml", "web"}, wantCode: exitUsage, wantStderr: []string{"--output yaml: want text or json"}},
		"diff bad dir":       {args: []string{"diff", "--env", "prod", "--dir", "nowhere", "web"}, wantCode: exitUsage, wantStderr: []string{"--dir nowhere is not a spec root"}},
		"report without env": {args: []string{"report", "web"}, wantCode: exitUsage, wantStderr: []string{"slipway report needs --env ENV"}},
		"report no ref":      {args: []string{"report"}, wantCode: exitUsage, wantStderr: []string{"report needs one EXECUTION"}},
		"report bad file":    {args: []string{"report", "--env", "prod", "-o", "web.png", "web"}, wantCode: exitUsage, wantStderr: []string{"-o web.png: want a file ending in .svg or .html"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r := cli(tt.args...)
			r.want(t, tt.wantCode, tt.wantStdout...)
			r.wantErr(t, tt.wantStderr...)
		})
	}
}

// TestPrintDiffColour: on a terminal removed lines are red, added green,
// hunks cyan; elsewhere (a pipe, NO_COLOR) there are no escape codes.
func TestPrintDiffColour(t *testing.T) {
	cmp := &operator.Comparison{Service: "web--blue", Sections: []operator.Section{{Name: "taskDefinition",
		Diff: "--- live/taskDefinition\n+++ desired/taskDefinition\n@@ -1,3 +1,3 @@\n {\n-  \"cpu\": \"256\"\n+  \"cpu\": \"512\"\n }\n"}}}
	var b bytes.Buffer
	printDiff(&b, cmp, true)
	for _, want := range []string{sgrRed + `-  "cpu": "256"` + sgrReset, sgrGreen + `+  "cpu": "512"` + sgrReset, sgrCyan + "@@ -1,3 +1,3 @@" + sgrReset, "\n {\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("coloured diff: got %q, want it to contain %q", b.String(), want)
		}
	}
	b.Reset()
	printDiff(&b, cmp, false)
	if b.String() != cmp.Sections[0].Diff {
		t.Errorf("plain diff: got %q, want the diff unchanged", b.String())
	}
	if useColour(&b) {
		t.Error("useColour: got true for a buffer, want false (not a terminal)")
	}
	t.Setenv("NO_COLOR", "")
	if useColour(nil) {
		t.Error("useColour: got true with NO_COLOR set, want false")
	}
	b.Reset()
	printDiff(&b, &operator.Comparison{Service: "web--blue"}, true)
	if b.String() != "no difference (live: web--blue)\n" {
		t.Errorf("no difference: got %q", b.String())
	}
}
