package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/operator"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// docFields reads docs/cli.md: for each "### Name" section, the fields of
// its table (the first cell, in backquotes).
func docFields(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "### "); ok {
			section = strings.TrimSpace(name)
			out[section] = []string{}
			continue
		}
		if section == "" || !strings.HasPrefix(line, "| `") {
			continue
		}
		cell := strings.TrimSpace(strings.Split(line, "|")[1])
		out[section] = append(out[section], strings.Trim(cell, "`"))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// jsonFields lists the JSON keys encoding/json writes for struct type v.
func jsonFields(v any) []string {
	var keys []string
	rt := reflect.TypeOf(v)
	for i := range rt.NumField() {
		f := rt.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" {
			keys = append(keys, jsonFields(reflect.Zero(f.Type).Interface())...)
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		keys = append(keys, tag)
	}
	return keys
}

// TestCLIDocListsJSONFields keeps docs/cli.md equal to what --output json
// writes: every documented object lists exactly its struct's JSON keys.
func TestCLIDocListsJSONFields(t *testing.T) {
	structs := map[string]any{
		"DeployStarted":    deployStarted{},
		"RollbackStarted":  rollbackStarted{},
		"Snapshot":         operator.Snapshot{},
		"Entered":          operator.Entered{},
		"Slot":             operator.Slot{},
		"Alarm":            operator.Alarm{},
		"NativeDeployment": operator.NativeDeployment{},
		"TargetGroup":      operator.TargetGroup{},
		"Wait":             operator.Wait{},
		"Execution":        operator.Execution{},
		"HistoryEntry":     store.HistoryEntry{},
		"Trigger":          workflow.Trigger{},
		"NewestRequest":    store.NewestRequest{},
		"Pins":             workflow.Pins{},
		"Order":            workflow.Order{},
		"Diff":             diffJSON{},
		"Section":          operator.Section{},
		"Validation":       validation{},
		"Problem":          problemJSON{},
	}
	// Every struct here must be documented, and every documented
	// object must be one of these.
	doc := docFields(t)
	for name := range structs {
		if _, ok := doc[name]; !ok {
			t.Errorf("docs/cli.md has no section ### %s", name)
		}
	}
	for name := range doc {
		if _, ok := structs[name]; !ok {
			t.Errorf("docs/cli.md documents ### %s, which no --output json struct here encodes", name)
		}
	}
	for name, v := range structs {
		if diff := cmp.Diff(jsonFields(v), doc[name]); diff != "" {
			t.Errorf("docs/cli.md's %s fields (-struct +doc):\n%s", name, diff)
		}
	}
}

// TestValidateJSON checks validate --output json on valid and invalid
// specs: one object, decoded with the documented fields only.
func TestValidateJSON(t *testing.T) {
	decode := func(t *testing.T, out string) validation {
		t.Helper()
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		var v validation
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("validate --output json: %v\n%s", err, out)
		}
		if dec.More() {
			t.Fatalf("validate --output json printed more than one object:\n%s", out)
		}
		return v
	}
	res := runCLI("validate", "--output", "json", "../../examples")
	res.want(t, exitOK)
	if v := decode(t, res.stdout); !v.OK || v.Services != 3 || v.Environments != 2 || len(v.Problems) != 0 {
		t.Errorf("examples: got %+v, want ok with 3 services, 2 environments", v)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/services", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/services/web.yaml", []byte("image:\n  repository: web\nbogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res = runCLI("validate", "--output", "json", dir+"/services/web.yaml")
	res.want(t, exitFailed)
	v := decode(t, res.stdout)
	if v.OK || len(v.Problems) == 0 {
		t.Fatalf("invalid spec: got %+v, want problems", v)
	}
	found := false
	for _, p := range v.Problems {
		found = found || (p.Path == "bogus" && p.Line == 3 && strings.HasSuffix(p.File, "services/web.yaml"))
	}
	if !found {
		t.Errorf("problems %+v: want one for bogus at line 3 of services/web.yaml", v.Problems)
	}
	runCLI("validate", "--output", "yaml", "../../examples").want(t, exitUsage)
}

// runCLI runs the CLI with args as given (cli adds --poll, which only the
// operator commands take).
func runCLI(args ...string) result {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func TestWatchAndOutputUsage(t *testing.T) {
	// No endpoint: each case fails (or answers) before the CLI talks to AWS.
	awsEnv(t, "http://127.0.0.1:1", "us-east-1")
	tests := map[string]struct {
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		"watch help":                {args: []string{"watch", "--help"}, wantCode: exitOK, wantStdout: []string{"slipway watch --env staging web", "NO_COLOR", "JSON Lines"}},
		"watch without arg":         {args: []string{"watch"}, wantCode: exitUsage, wantStderr: []string{"accepts 1 arg(s), received 0"}},
		"watch bad output":          {args: []string{"watch", "--output", "yaml", "x"}, wantCode: exitUsage, wantStderr: []string{"--output yaml: want text or json"}},
		"watch negative wait":       {args: []string{"watch", "--env", "prod", "--timeout", "-1s", "web"}, wantCode: exitUsage, wantStderr: []string{"--timeout -1s"}},
		"deploy bad output":         {args: []string{"deploy", "--env", "prod", "--output", "xml", "web"}, wantCode: exitUsage, wantStderr: []string{"--output xml"}},
		"status bad output":         {args: []string{"status", "--output", "table"}, wantCode: exitUsage, wantStderr: []string{"--output table"}},
		"history bad output":        {args: []string{"history", "--env", "prod", "--output", "csv", "web"}, wantCode: exitUsage, wantStderr: []string{"--output csv"}},
		"approve json without wait": {args: []string{"approve", "--env", "prod", "--output", "json", "web"}, wantCode: exitUsage, wantStderr: []string{"--output json goes with --wait"}},
		"rollback bad output":       {args: []string{"rollback", "--env", "prod", "--output", "yaml", "web"}, wantCode: exitUsage, wantStderr: []string{"--output yaml: want text or json"}},
		"unreachable endpoint":      {args: []string{"status"}, wantCode: exitFailed, wantStderr: []string{"check AWS_REGION and AWS_ENDPOINT_URL"}},
		"deploy help mentions":      {args: []string{"deploy", "--help"}, wantCode: exitOK, wantStdout: []string{"--output", "exit 2"}},
		"status help json list":     {args: []string{"status", "--help"}, wantCode: exitOK, wantStdout: []string{"JSON array of executions"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r := cli(tt.args...)
			r.want(t, tt.wantCode, tt.wantStdout...)
			r.wantErr(t, tt.wantStderr...)
		})
	}
}

func TestAWSHint(t *testing.T) {
	tests := map[string]struct {
		err  error
		want string
	}{
		"expired":     {fmt.Errorf("status: %w", &smithy.GenericAPIError{Code: "ExpiredTokenException"}), "the credentials have expired"},
		"bad key":     {&smithy.GenericAPIError{Code: "UnrecognizedClientException"}, "check the credentials"},
		"denied":      {&smithy.GenericAPIError{Code: "AccessDeniedException"}, "check the permissions"},
		"no machine":  {&smithy.GenericAPIError{Code: "StateMachineDoesNotExist"}, "may not be deployed"},
		"unreachable": {fmt.Errorf("x: %w", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), "cannot reach AWS"},
		"no creds":    {errors.New("failed to retrieve credentials: no providers"), "no AWS credentials found"},
		"no creds, IMDS unreachable": {fmt.Errorf("list: get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found, %w",
			&net.OpError{Op: "dial", Err: errors.New("connection refused")}), "no AWS credentials found"},
		"stack hinted": {fmt.Errorf("find: %w", operator.ErrStackNotFound), ""},
		"other":        {errors.New("boom"), ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := awsHint(tt.err)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("awsHint(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
