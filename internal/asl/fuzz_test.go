package asl

import (
	"testing"
)

// fuzzDoc is the input the path and intrinsic fuzz targets evaluate
// against when the fuzzed document is not JSON.
const fuzzDoc = `{"a":{"b":[1,2,{"c":"x"}],"s":"hello world","n":3.5},"list":[3,1,3],"m":{"k":{"v":1}}}`

// fuzzInput decodes doc, or fuzzDoc when doc is not one JSON document.
func fuzzInput(doc []byte) any {
	if v, err := decodeJSON(doc); err == nil {
		return v
	}
	v, err := decodeJSON([]byte(fuzzDoc))
	if err != nil {
		panic(err)
	}
	return v
}

// FuzzJSONPath parses paths (InputPath, OutputPath, Parameters ".$"
// values) and evaluates them against a document: a bad path is an error,
// never a panic.
func FuzzJSONPath(f *testing.F) {
	for _, s := range []string{"$", "$.a.b[2].c", "$..c", "$.a.b[?(@ > 1)]", "$.a.b[-1:]", "$['a']['s']", "$$.Execution.Id",
		"$.list[*]", "$..[0]", "$.a.b[0:2:1]", "$[", "$.a..", "$.m.*.v"} {
		f.Add(s, []byte(fuzzDoc))
	}
	f.Fuzz(func(t *testing.T, path string, doc []byte) {
		p, err := parsePath(path)
		if err != nil {
			return
		}
		input := fuzzInput(doc)
		p.get(input, map[string]any{"Execution": map[string]any{"Id": "arn"}})
	})
}

// FuzzReferencePath parses Reference Paths (ResultPath, Choice variables)
// and reads and writes them in a document.
func FuzzReferencePath(f *testing.F) {
	for _, s := range []string{"$", "$.a.b[1]", "$['a']['new key']", "$.list[5]", "$$.State.Name", "$.a[", "$..a", "$.a.b[-1]"} {
		f.Add(s, []byte(fuzzDoc))
	}
	f.Fuzz(func(t *testing.T, path string, doc []byte) {
		p, err := parseRefPath(path)
		if err != nil {
			return
		}
		input := fuzzInput(doc)
		p.get(input, map[string]any{})
		out, err := p.set(deepCopy(input), "value")
		if err == nil && out == nil {
			t.Fatalf("set %q returned neither a document nor an error", path)
		}
	})
}

// FuzzIntrinsic parses intrinsic function calls and evaluates them: a bad
// call or argument is an error, never a panic, and no call builds an
// unbounded result (States.ArrayRange, States.StringSplit, States.Format).
func FuzzIntrinsic(f *testing.F) {
	for _, s := range []string{
		"States.Format('{} and {}', $.a.s, $.a.n)", "States.StringToJson('{\"x\":1}')", "States.JsonToString($.a)",
		"States.Array(1, 'two', $.a.b, States.UUID())", "States.ArrayPartition($.list, 2)", "States.ArrayContains($.list, 3)",
		"States.ArrayRange(1, 9, 2)", "States.ArrayRange(0, 1000000000, 1)", "States.ArrayGetItem($.list, 1)",
		"States.ArrayLength($.list)", "States.ArrayUnique($.list)", "States.Base64Encode($.a.s)", "States.Base64Decode('aGk=')",
		"States.Hash($.a.s, 'SHA-256')", "States.JsonMerge($.a, $.m, false)", "States.MathRandom(1, 10, 7)",
		"States.MathAdd($.a.n, -1)", "States.StringSplit($.a.s, ' ')", "States.Format('\\{\\}')", "States.Format(",
		"States.Array(States.Array(States.Array(States.Array(1))))",
	} {
		f.Add(s, []byte(fuzzDoc))
	}
	f.Fuzz(func(t *testing.T, expr string, doc []byte) {
		fn, err := parseIntrinsic(expr)
		if err != nil {
			return
		}
		// A JSON null is a value: only a panic (or the fuzzer's memory
		// limit) fails.
		_, _ = fn.eval(fuzzInput(doc), map[string]any{})
	})
}
