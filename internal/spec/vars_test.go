package spec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"SERVICE": "web", "ENVIRONMENT": "prod", "EMPTY": ""}
	tests := map[string]struct {
		in, want string
		missing  []string
		wantErr  bool
	}{
		"no variables":      {in: "plain", want: "plain"},
		"one":               {in: "${SERVICE}", want: "web"},
		"embedded":          {in: "/ecs/${SERVICE}/${ENVIRONMENT}", want: "/ecs/web/prod"},
		"empty value":       {in: "a${EMPTY}b", want: "ab"},
		"escaped":           {in: "$${SERVICE}", want: "${SERVICE}"},
		"escaped then real": {in: "$${X} ${SERVICE}", want: "${X} web"},
		"lone dollar":       {in: "$5 and $SERVICE", want: "$5 and $SERVICE"},
		"undefined":         {in: "${NOPE}-${NOPE}-${ALSO}", want: "--", missing: []string{"NOPE", "ALSO"}},
		"unterminated":      {in: "${SERVICE", wantErr: true},
		"bad name":          {in: "${1X}", wantErr: true},
		"empty name":        {in: "${}", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, missing, err := expand(tc.in, vars)
			if (err != nil) != tc.wantErr {
				t.Fatalf("expand(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if got != tc.want {
				t.Errorf("expand(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if diff := cmp.Diff(tc.missing, missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
		})
	}
}
