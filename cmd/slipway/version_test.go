package main

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFormatVersion(t *testing.T) {
	tests := map[string]struct {
		bi   debug.BuildInfo
		want string
	}{
		"checkout, no VCS stamp": {bi: debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, want: "(devel)"},
		"no version at all":      {bi: debug.BuildInfo{}, want: "(devel)"},
		"go install module@version": {
			bi:   debug.BuildInfo{Main: debug.Module{Version: "v1.4.2"}},
			want: "v1.4.2",
		},
		"stamped build": {
			bi: debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261202045300-0123456789ab"}, Settings: []debug.BuildSetting{
				{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
				{Key: "vcs.time", Value: "2026-12-02T04:53:00Z"}, {Key: "vcs.modified", Value: "false"}}},
			want: "v0.0.0-20261202045300-0123456789ab (revision 0123456789ab, 2026-12-02T04:53:00Z)",
		},
		"modified checkout": {
			bi: debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}}},
			want: "(devel) (revision abc, modified)",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := formatVersion(&tc.bi); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestVersionFlag checks that --version prints this binary's version.
func TestVersionFlag(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--version"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errb.String())
	}
	want := "slipway version " + version() + "\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	if !strings.Contains(out.String(), "(devel)") && !strings.Contains(out.String(), "v") {
		t.Errorf("got %q, want a module version or (devel)", out.String())
	}
}
