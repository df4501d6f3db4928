package trigger

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSpecKey(t *testing.T) {
	tests := map[string]struct {
		raw  string
		want SpecRef
	}{
		"service":          {"services/web.yaml", SpecRef{Kind: SpecService, Name: "web", Key: "services/web.yaml"}},
		"environment":      {"environments/prod.yml", SpecRef{Kind: SpecEnvironment, Name: "prod", Key: "environments/prod.yml"}},
		"json":             {"services/worker.json", SpecRef{Kind: SpecService, Name: "worker", Key: "services/worker.json"}},
		"url-encoded":      {"services/web%2Dv2.yaml", SpecRef{Kind: SpecService, Name: "web-v2", Key: "services/web-v2.yaml"}},
		"plus is a space":  {"services/my+web.yaml", SpecRef{Kind: SpecService, Name: "my web", Key: "services/my web.yaml"}},
		"encoded slash ok": {"environments%2Fstaging.yaml", SpecRef{Kind: SpecEnvironment, Name: "staging", Key: "environments/staging.yaml"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseSpecKey(tc.raw)
			if err != nil {
				t.Fatalf("ParseSpecKey(%q): %v", tc.raw, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSpecKeyIgnoresOtherObjects(t *testing.T) {
	for _, raw := range []string{
		"README.md", "servicesweb.yaml", "services/", "services/.yaml", "services/web.txt",
		"services/old/web.yaml", "environments/prod", "rejections/services/web.yaml/v1.json",
	} {
		t.Run(raw, func(t *testing.T) {
			_, err := ParseSpecKey(raw)
			var ns *NotSpec
			if !errors.As(err, &ns) {
				t.Fatalf("got %v, want a *NotSpec", err)
			}
			if ns.Reason == "" {
				t.Errorf("got no reason for %q", raw)
			}
		})
	}
}

func TestParseSpecKeyBadEncoding(t *testing.T) {
	_, err := ParseSpecKey("services/web%zz.yaml")
	var m *MalformedEvent
	if !errors.As(err, &m) {
		t.Fatalf("got %v, want a *MalformedEvent", err)
	}
	if m.Field != "detail.object.key" {
		t.Errorf("got field %q, want detail.object.key", m.Field)
	}
}
