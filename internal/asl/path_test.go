package asl

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRefPath(t *testing.T) {
	tests := map[string]struct {
		path    string
		want    []refSeg
		wantErr string
	}{
		"root":           {path: "$", want: nil},
		"dotted":         {path: "$.a.b", want: []refSeg{{key: "a"}, {key: "b"}}},
		"brackets":       {path: "$['a b'][2].c", want: []refSeg{{key: "a b"}, {index: 2, isIndex: true}, {key: "c"}}},
		"context":        {path: "$$.Task.Token", want: []refSeg{{key: "Task"}, {key: "Token"}}},
		"no dollar":      {path: "a.b", wantErr: "must start with"},
		"descent":        {path: "$..a", wantErr: "descent"},
		"wildcard":       {path: "$.a[*]", wantErr: "only a field name"},
		"filter":         {path: "$.a[?(@.x)]", wantErr: "only a field name"},
		"star field":     {path: "$.*", wantErr: "operators are not allowed"},
		"unclosed":       {path: "$.a[1", wantErr: "missing"},
		"empty field":    {path: "$.a.", wantErr: "empty field"},
		"negative index": {path: "$.a[-1]", wantErr: "non-negative index"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := parseRefPath(tc.path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, p.segs, cmp.AllowUnexported(refSeg{})); diff != "" {
				t.Errorf("segments (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseIntrinsicErrors(t *testing.T) {
	tests := map[string]struct {
		expr    string
		wantErr string
	}{
		"unterminated string": {"States.Format('abc)", "unterminated string"},
		"missing paren":       {"States.Array(1, 2", "missing"},
		"junk after":          {"States.UUID() x", "unexpected"},
		"bad argument":        {"States.Array(nope)", "is not a string, number"},
		"not a call":          {"hello", "not a path or an intrinsic"},
		"too deep": {strings.Repeat("States.Array(", 11) + strings.Repeat(")", 11),
			"more than 10 nested"},
		"bad path argument": {"States.Array($.a[)", "path"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := parseIntrinsic(tc.expr)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestIntrinsicArguments(t *testing.T) {
	fn, err := parseIntrinsic(`States.Array('a\'b', -1.5e2, $.x[0], $$.Execution.Name, null, false, States.Array())`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fn.eval(map[string]any{"x": []any{"first"}}, map[string]any{"Execution": map[string]any{"Name": "n"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"a'b", -150.0, "first", "n", nil, false, []any{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("arguments (-want +got):\n%s", diff)
	}
}
