package eventbridge

import (
	"testing"
)

func TestTargetInput(t *testing.T) {
	event := []byte(`{"source":"aws.ecr","detail":{"repository-name":"web","tags":["a","b"],"n":1.5,"o":{"k":"v"}}}`)
	tests := map[string]struct {
		target  Target
		want    string
		wantErr bool
	}{
		"whole event":           {Target{}, string(event), false},
		"input verbatim":        {Target{Input: `{"x": 1}`}, `{"x": 1}`, false},
		"root":                  {Target{InputPath: "$"}, `{"detail":{"n":1.5,"o":{"k":"v"},"repository-name":"web","tags":["a","b"]},"source":"aws.ecr"}`, false},
		"object":                {Target{InputPath: "$.detail.o"}, `{"k":"v"}`, false},
		"hyphenated field":      {Target{InputPath: "$.detail.repository-name"}, `"web"`, false},
		"bracket field":         {Target{InputPath: "$['detail']['repository-name']"}, `"web"`, false},
		"array index":           {Target{InputPath: "$.detail.tags[1]"}, `"b"`, false},
		"number keeps its text": {Target{InputPath: "$.detail.n"}, `1.5`, false},
		"missing field":         {Target{InputPath: "$.detail.nope"}, `null`, false},
		"index out of range":    {Target{InputPath: "$.detail.tags[5]"}, `null`, false},
		"no dollar":             {Target{InputPath: "detail"}, "", true},
		"wildcard":              {Target{InputPath: "$.detail.*"}, "", true},
		"bad index":             {Target{InputPath: "$.detail.tags[x]"}, "", true},
		"unterminated":          {Target{InputPath: "$['detail"}, "", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := targetInput(tc.target, event)
			if (err != nil) != tc.wantErr {
				t.Fatalf("got error %v, want error %v", err, tc.wantErr)
			}
			if string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
