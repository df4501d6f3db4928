package asl

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slipwayhq/slipway/internal/clock"
)

// conformanceCase is one case of testdata/conformance/*.json: a definition,
// its input, and either the expected output, the expected error, or the
// expected validation problem.
type conformanceCase struct {
	Name string `json:"name"`
	// Spec points to the part of the States Language specification or the
	// AWS documentation the case checks.
	Spec       string          `json:"spec"`
	Definition json.RawMessage `json:"definition"`
	Input      json.RawMessage `json:"input"`
	// Tasks scripts the task runner: for each resource, the responses of
	// successive calls (the last one repeats).
	Tasks map[string][]scriptedResponse `json:"tasks"`
	// Exactly one of Output, Error and Invalid is set.
	Output  json.RawMessage `json:"output"`
	Error   string          `json:"error"`
	Cause   string          `json:"cause"`   // a substring of the expected cause
	Invalid string          `json:"invalid"` // a substring of the expected validation problem
	// Path, if set, is the expected list of states entered.
	Path []string `json:"path"`
	// Calls, if set, is the expected parameters of each task call, in order.
	Calls []json.RawMessage `json:"calls"`
}

type scriptedResponse struct {
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
	Cause  string          `json:"cause"`
	// Sleep makes the call take this many seconds of clock time.
	Sleep int `json:"sleep"`
}

// scriptedRunner is a TaskRunner and LambdaInvoker answering from a script.
type scriptedRunner struct {
	clk    clock.Clock
	script map[string][]scriptedResponse
	mu     sync.Mutex
	n      map[string]int
	calls  []json.RawMessage
}

func (r *scriptedRunner) respond(ctx context.Context, resource string, params []byte) (json.RawMessage, error) {
	r.mu.Lock()
	r.calls = append(r.calls, json.RawMessage(params))
	list, ok := r.script[resource]
	if !ok || len(list) == 0 {
		r.mu.Unlock()
		return nil, errors.New("no scripted response for " + resource)
	}
	i := min(r.n[resource], len(list)-1)
	r.n[resource]++
	resp := list[i]
	r.mu.Unlock()
	if resp.Sleep > 0 {
		if err := r.clk.Sleep(ctx, time.Duration(resp.Sleep)*time.Second); err != nil {
			return nil, err
		}
	}
	if resp.Error != "" {
		return nil, &TaskError{Name: resp.Error, Cause: resp.Cause}
	}
	return resp.Result, nil
}

func (r *scriptedRunner) RunTask(ctx context.Context, call TaskCall) (json.RawMessage, error) {
	return r.respond(ctx, call.Resource, call.Parameters)
}

func (r *scriptedRunner) invokeLambda(ctx context.Context, fn string, payload []byte) ([]byte, error) {
	return r.respond(ctx, fn, payload)
}

func loadConformance(t *testing.T) map[string]conformanceCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "conformance", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance files: %v", err)
	}
	cases := map[string]conformanceCase{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		var list []conformanceCase
		if err := dec.Decode(&list); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, c := range list {
			key := strings.TrimSuffix(filepath.Base(f), ".json") + "/" + c.Name
			if _, dup := cases[key]; dup {
				t.Fatalf("%s: duplicate case %q", f, c.Name)
			}
			cases[key] = c
		}
	}
	return cases
}

func TestConformance(t *testing.T) {
	cases := loadConformance(t)
	if len(cases) < 100 {
		t.Errorf("got %d conformance cases, want at least 100", len(cases))
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			set := 0
			for _, b := range []bool{tc.Output != nil, tc.Error != "", tc.Invalid != ""} {
				if b {
					set++
				}
			}
			if set != 1 {
				t.Fatalf("case must set exactly one of output, error, invalid")
			}
			def, err := Parse(tc.Definition)
			if tc.Invalid != "" {
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("Parse: got %v, want a *ValidationError", err)
				}
				if !strings.Contains(ve.Error(), tc.Invalid) {
					t.Fatalf("Parse: got %v, want a problem containing %q", ve, tc.Invalid)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			v := clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			runner := &scriptedRunner{clk: v, script: tc.Tasks, n: map[string]int{}}
			eng := NewEngine(Config{Clock: v, Tasks: runner, Lambda: runner.invokeLambda})
			input := string(tc.Input)
			x, err := eng.Start(context.Background(), def, StartInput{Name: "conformance", Input: input})
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d, err := x.Wait(ctx)
			if err != nil {
				t.Fatalf("%v (history: %s)", err, historyTypes(x))
			}
			if tc.Error != "" {
				if d.Status != StatusFailed || d.Error != tc.Error {
					t.Fatalf("got status %s error %q (%s) output %s, want FAILED with %q", d.Status, d.Error, d.Cause, d.Output, tc.Error)
				}
				if !strings.Contains(d.Cause, tc.Cause) {
					t.Errorf("got cause %q, want it to contain %q", d.Cause, tc.Cause)
				}
			} else {
				if d.Status != StatusSucceeded {
					t.Fatalf("got status %s (%s: %s), want SUCCEEDED", d.Status, d.Error, d.Cause)
				}
				got, err := decodeJSON([]byte(d.Output))
				if err != nil {
					t.Fatalf("output %q: %v", d.Output, err)
				}
				want, err := decodeJSON(tc.Output)
				if err != nil {
					t.Fatalf("expected output: %v", err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("output (-want +got):\n%s", diff)
				}
			}
			if tc.Path != nil {
				if diff := cmp.Diff(tc.Path, x.Path()); diff != "" {
					t.Errorf("path (-want +got):\n%s", diff)
				}
			}
			if tc.Calls != nil {
				var got, want []any
				for _, c := range runner.calls {
					v, _ := decodeJSON(c)
					got = append(got, v)
				}
				for _, c := range tc.Calls {
					v, _ := decodeJSON(c)
					want = append(want, v)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("task calls (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func historyTypes(x *Execution) []string {
	var out []string
	for _, e := range x.History() {
		out = append(out, e.Type)
	}
	return out
}
