package stack

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func lookupFrom(m map[string]any) func(string) any {
	return func(k string) any { return m[k] }
}

func TestFromContext(t *testing.T) {
	tests := map[string]struct {
		ctx  map[string]any
		want Settings
	}{
		"cdk.json values": {
			ctx: map[string]any{
				KeyStackName: "Deployer", KeySpecBucketName: "acme-specs",
				KeyClusters:  []any{"prod", "arn:aws:ecs:eu-west-1:111122223333:cluster/shared"},
				KeyPassRoles: []any{"app-*"}, KeyAssumeRoles: []any{"arn:aws:iam::444455556666:role/deployer"},
				KeyDefaultAlarms: []any{"cpu-high"}, KeyLogRetentionDays: float64(90),
				KeyReconcileInterval: float64(60), KeyAssetDir: "out", KeyLogExecutionData: true,
				KeyECRPushConcurrency: float64(2), KeySpecUploadConcurrency: "0", KeySignalConcurrency: float64(20),
				KeyEventForwarder: true,
			},
			want: Settings{StackName: "Deployer", SpecBucketName: "acme-specs",
				Clusters:  []string{"prod", "arn:aws:ecs:eu-west-1:111122223333:cluster/shared"},
				PassRoles: []string{"app-*"}, AssumeRoles: []string{"arn:aws:iam::444455556666:role/deployer"},
				DefaultAlarms: []string{"cpu-high"}, LogRetentionDays: 90, ReconcileIntervalSeconds: 60,
				AssetDir: "out", LogExecutionData: true,
				ECRPushConcurrency: 2, SpecUploadConcurrency: 0, SignalConcurrency: 20,
				EventForwarder: true},
		},
		"command-line strings": {
			ctx: map[string]any{
				KeyClusters: "a, b", KeyPassRoles: `["x","y"]`, KeyLogRetentionDays: "14",
				KeyReconcileInterval: "30", KeyLogExecutionData: "true",
			},
			want: func() Settings {
				s := Defaults()
				s.Clusters, s.PassRoles = []string{"a", "b"}, []string{"x", "y"}
				s.LogRetentionDays, s.ReconcileIntervalSeconds, s.LogExecutionData = 14, 30, true
				return s
			}(),
		},
		"defaults": {
			ctx: map[string]any{KeyClusters: []any{"default"}},
			want: func() Settings {
				s := Defaults()
				s.Clusters = []string{"default"}
				return s
			}(),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := FromContext(lookupFrom(tc.ctx))
			if err != nil {
				t.Fatalf("FromContext: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("settings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromContextReportsEveryProblem(t *testing.T) {
	_, err := FromContext(lookupFrom(map[string]any{
		KeyStackName:         "1bad",
		KeySpecBucketName:    "Upper_Case",
		KeyClusters:          []any{"*", "ok", "bad name"},
		KeyPassRoles:         []any{"*", "arn:aws:iam::1:role/x"},
		KeyAssumeRoles:       []any{"arn:aws:iam::444455556666:role/*"},
		KeyDefaultAlarms:     []any{""},
		KeyLogRetentionDays:  float64(10),
		KeyReconcileInterval: float64(5),
		KeyAssetDir:          " ",
		KeySignalConcurrency: float64(-1),
	}))
	var se *SettingsError
	if !errors.As(err, &se) {
		t.Fatalf("FromContext error = %v, want a *SettingsError", err)
	}
	want := []string{
		KeyStackName + `: "1bad"`,
		KeySpecBucketName + `: "Upper_Case"`,
		KeyClusters + `[0]: "*" would allow every cluster`,
		KeyClusters + `[2]: "bad name"`,
		KeyPassRoles + `[0]: "*" would allow passing every role`,
		KeyPassRoles + `[1]: "arn:aws:iam::1:role/x" is not an IAM role ARN`,
		KeyAssumeRoles + `[0]:`,
		KeyDefaultAlarms + `[0]:`,
		KeyLogRetentionDays + `: 10`,
		KeyReconcileInterval + `: 5`,
		KeyAssetDir + `: required`,
		KeySignalConcurrency + `: -1 is out of range`,
	}
	if len(se.Problems) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(se.Problems), len(want), strings.Join(se.Problems, "\n"))
	}
	for i, w := range want {
		if i < len(se.Problems) && !strings.HasPrefix(se.Problems[i], w) {
			t.Errorf("problem %d = %q, want prefix %q", i, se.Problems[i], w)
		}
	}
}

// TestWildcardsNeedLiteralPrefix: a pass-role or cluster pattern must start
// its starred segment with a literal prefix (issue 12 item 6); synthesis
// refuses it with the key and the value.
func TestWildcardsNeedLiteralPrefix(t *testing.T) {
	tests := map[string]struct {
		key   string
		value string
		ok    bool
	}{
		"role prefix":              {KeyPassRoles, "app-*", true},
		"role path prefix":         {KeyPassRoles, "team/app-*", true},
		"role ARN prefix":          {KeyPassRoles, "arn:aws:iam::111122223333:role/app-*", true},
		"role name":                {KeyPassRoles, "ecsTaskExecutionRole", true},
		"role star":                {KeyPassRoles, "*", false},
		"role double star":         {KeyPassRoles, "**", false},
		"role any path":            {KeyPassRoles, "*/*", false},
		"role path, no prefix":     {KeyPassRoles, "role/**", false},
		"role suffix only":         {KeyPassRoles, "*-task", false},
		"role ARN, path no prefix": {KeyPassRoles, "arn:aws:iam::111122223333:role/team/*", false},
		"infrastructure role":      {KeyInfrastructureRoles, "ecsInfrastructureRoleForLoadBalancers", true},
		"infrastructure role ARN":  {KeyInfrastructureRoles, "arn:aws:iam::111122223333:role/ecs-elb", true},
		"infrastructure role star": {KeyInfrastructureRoles, "*", false},
		"infrastructure not role":  {KeyInfrastructureRoles, "arn:aws:s3:::bucket", false},
		"cluster prefix":           {KeyClusters, "prod-*", true},
		"cluster inner star":       {KeyClusters, "prod-*-web", true},
		"cluster ARN prefix":       {KeyClusters, "arn:aws:ecs:eu-west-1:111122223333:cluster/prod-*", true},
		"cluster double star":      {KeyClusters, "**", false},
		"cluster suffix only":      {KeyClusters, "*-prod", false},
		"cluster ARN, no prefix":   {KeyClusters, "arn:aws:ecs:eu-west-1:111122223333:cluster/*", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := map[string]any{KeyClusters: []any{"default"}, tc.key: []any{tc.value}}
			_, err := FromContext(lookupFrom(ctx))
			if tc.ok {
				if err != nil {
					t.Errorf("got %v, want no error", err)
				}
				return
			}
			var se *SettingsError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *SettingsError", err)
			}
			if len(se.Problems) != 1 || !strings.HasPrefix(se.Problems[0], tc.key+"[0]: ") || !strings.Contains(se.Problems[0], `"`+tc.value+`"`) {
				t.Errorf("got %q, want one problem naming %s[0] and %q", se.Problems, tc.key, tc.value)
			}
		})
	}
	// Synthesis refuses it too, before building anything.
	s := Defaults()
	s.Clusters, s.PassRoles, s.AssetDir = []string{"default"}, []string{"role/**"}, t.TempDir()
	if _, _, err := Synthesize(s, t.TempDir()); err == nil || !strings.Contains(err.Error(), KeyPassRoles) || !strings.Contains(err.Error(), "role/**") {
		t.Errorf("Synthesize: got %v, want an error naming %s and role/**", err, KeyPassRoles)
	}
}

func TestFromContextRejectsWrongTypes(t *testing.T) {
	tests := map[string]struct {
		key  string
		val  any
		want string
	}{
		"string as number": {KeyStackName, float64(3), "got float64, want a string"},
		"list of numbers":  {KeyClusters, []any{float64(1)}, "[0]: got float64, want a string"},
		"bad number":       {KeyLogRetentionDays, "often", `got "often", want a whole number`},
		"fraction":         {KeyReconcileInterval, 1.5, "got 1.5, want a whole number"},
		"bad bool":         {KeyLogExecutionData, "maybe", `got "maybe", want true or false`},
		"forwarder string": {KeyEventForwarder, "yes please", `got "yes please", want true or false`},
		"forwarder number": {KeyEventForwarder, float64(1), "got float64, want a boolean"},
		"object as list":   {KeyPassRoles, map[string]any{}, "want a list of strings"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := map[string]any{KeyClusters: []any{"default"}, tc.key: tc.val}
			_, err := FromContext(lookupFrom(ctx))
			var se *SettingsError
			if !errors.As(err, &se) {
				t.Fatalf("error = %v, want a *SettingsError", err)
			}
			if !strings.Contains(se.Error(), tc.key) || !strings.Contains(se.Error(), tc.want) {
				t.Errorf("got %q, want it to name %s and say %q", se.Error(), tc.key, tc.want)
			}
		})
	}
}

// TestEventSourceAccounts (issue 11 item 12): the accounts whose events the
// bus policy admits are those of the assume roles, once each, in order, and
// the forwarder needs at least one.
func TestEventSourceAccounts(t *testing.T) {
	tests := map[string]struct {
		roles []string
		want  []string
	}{
		"none": {},
		"one":  {roles: []string{"arn:aws:iam::444455556666:role/deployer"}, want: []string{"444455556666"}},
		"two roles, one account, other partition": {
			roles: []string{
				"arn:aws:iam::444455556666:role/b", "arn:aws-cn:iam::111122223333:role/team/a",
				"arn:aws:iam::444455556666:role/a",
			},
			want: []string{"111122223333", "444455556666"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := Defaults()
			s.AssumeRoles = tc.roles
			if diff := cmp.Diff(tc.want, s.EventSourceAccounts()); diff != "" {
				t.Errorf("accounts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventForwarderNeedsAssumeRoles(t *testing.T) {
	tests := map[string]struct {
		ctx     map[string]any
		problem string
	}{
		"no roles": {ctx: map[string]any{KeyEventForwarder: "true"},
			problem: KeyEventForwarder + ": true, but " + KeyAssumeRoles + " names no role"},
		"a role": {ctx: map[string]any{KeyEventForwarder: "true", KeyAssumeRoles: "arn:aws:iam::444455556666:role/deployer"}},
		"off":    {ctx: map[string]any{KeyEventForwarder: false}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.ctx[KeyClusters] = []any{"default"}
			_, err := FromContext(lookupFrom(tc.ctx))
			if tc.problem == "" {
				if err != nil {
					t.Errorf("got %v, want no error", err)
				}
				return
			}
			var se *SettingsError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *SettingsError", err)
			}
			if len(se.Problems) != 1 || !strings.HasPrefix(se.Problems[0], tc.problem) {
				t.Errorf("got %q, want one problem starting %q", se.Problems, tc.problem)
			}
		})
	}
}

func TestNewRequiresAssets(t *testing.T) {
	s := Defaults()
	s.Clusters = []string{"default"}
	s.AssetDir = t.TempDir()
	_, _, err := Synthesize(s, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "step/bootstrap") || !strings.Contains(err.Error(), "make build") {
		t.Errorf("Synthesize without assets: got %v, want an error naming step/bootstrap and make build", err)
	}
}

func TestConstructID(t *testing.T) {
	for in, want := range map[string]string{"ecr-push": "ECRPush", "spec-upload": "SpecUpload", "step": "Step"} {
		if got := constructID(in); got != want {
			t.Errorf("constructID(%s) = %s, want %s", in, got, want)
		}
	}
}
