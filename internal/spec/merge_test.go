package spec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMergePatchRFC7386 runs the examples of RFC 7386 Appendix A.
func TestMergePatchRFC7386(t *testing.T) {
	tests := map[string]struct{ target, patch, want string }{
		"replace value":         {`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		"add member":            {`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		"remove member":         {`{"a":"b"}`, `{"a":null}`, `{}`},
		"remove one of two":     {`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		"list to string":        {`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		"string to list":        {`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		"nested":                {`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		"lists are replaced":    {`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		"list patch":            {`["a","b"]`, `["c","d"]`, `["c","d"]`},
		"object to list":        {`{"a":"b"}`, `["c"]`, `["c"]`},
		"null patch":            {`{"a":"foo"}`, `null`, `null`},
		"string patch":          {`{"a":"foo"}`, `"bar"`, `"bar"`},
		"target null kept":      {`{"e":null}`, `{"a":1}`, `{"e":null,"a":1}`},
		"list target":           {`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		"null inside new value": {`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			target, _ := fromJSON("target", []byte(tc.target))
			patch, _ := fromJSON("patch", []byte(tc.patch))
			want, _ := fromJSON("want", []byte(tc.want))
			targetBefore := target.toAny()
			got := merge(target, patch)
			if diff := cmp.Diff(want.toAny(), got.toAny()); diff != "" {
				t.Errorf("merge(%s, %s) (-want +got):\n%s", tc.target, tc.patch, diff)
			}
			if diff := cmp.Diff(targetBefore, target.toAny()); diff != "" {
				t.Errorf("merge modified its target (-before +after):\n%s", diff)
			}
		})
	}
}
