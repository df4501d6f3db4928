package stack

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"
)

// TestApproverRoles proves issue 12 item 6 (the stack can restrict who
// approves): with slipway:approverRoleArns, the state bucket's policy denies
// writing approval records (approved/) to every principal but those roles,
// functions/step is told the roles and may read the records, and nothing
// else may write them. Without the key none of it is there. Synthesis also
// passes cdk-nag, so the new read grant is justified.
func TestApproverRoles(t *testing.T) {
	roles := []string{"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Release_0123", "arn:aws:iam::111122223333:role/Approver"}
	dir, err := os.MkdirTemp("", "slipway-infra-approvers-")
	if err != nil {
		t.Fatal(err)
	}
	if err := PlaceholderAssets(dir + "/assets"); err != nil {
		t.Fatal(err)
	}
	s := testSettings(dir + "/assets")
	s.ApproverRoles = roles
	raw, st, err := Synthesize(s, dir+"/cdk.out")
	if err != nil {
		t.Fatalf("synthesize: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	restricted := &fixture{st: st, stack: st.Stack, template: assertions.Template_FromString(jsii.String(string(raw)), nil), doc: doc, raw: raw}

	t.Run("bucket policy", func(t *testing.T) {
		state := restricted.logicalID(st.Storage.StateBucket)
		var got []string
		for _, p := range restricted.resources("AWS::S3::BucketPolicy") {
			if render(p["Bucket"]) != "${"+state+"}" {
				continue
			}
			for _, s := range list(p["PolicyDocument"].(map[string]any)["Statement"]) {
				m := s.(map[string]any)
				if m["Effect"] == "Deny" && render(m["Action"]) == "s3:PutObject" {
					got = append(got, render(m["Principal"])+" "+render(m["Resource"])+" "+render(m["Condition"]))
				}
			}
		}
		want := []string{`{"AWS":"*"} ${` + state + `.Arn}/approved/* {"ArnNotEquals":{"aws:PrincipalArn":["` + roles[0] +
			`","arn:aws:iam::111122223333:role/AWSReservedSSO_Release_0123","` + roles[1] + `"]}}`}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("state bucket Deny of s3:PutObject (-want +got):\n%s", diff)
		}
	})
	t.Run("step function", func(t *testing.T) {
		step := restricted.logicalID(st.Functions.Step)
		env := restricted.resources("AWS::Lambda::Function")[step]["Environment"].(map[string]any)["Variables"].(map[string]any)
		if got, want := env[EnvApproverRoles], strings.Join(roles, ","); got != want {
			t.Errorf("step %s: got %v, want %s", EnvApproverRoles, got, want)
		}
		state := restricted.logicalID(st.Storage.StateBucket)
		approved := "${" + state + ".Arn}/approved/*"
		if got := restricted.grants(t, restricted.logicalID(st.Functions.Step.Role())); !strings.Contains(strings.Join(got["s3:GetObject"], " "), approved) {
			t.Errorf("step s3:GetObject: got %v, want %s among them", got["s3:GetObject"], approved)
		}
		for name, fn := range map[string]string{"ecr-push": restricted.logicalID(st.Functions.ECRPush.Role()), "spec-upload": restricted.logicalID(st.Functions.SpecUpload.Role()),
			"signal": restricted.logicalID(st.Functions.Signal.Role()), "step": restricted.logicalID(st.Functions.Step.Role())} {
			for _, r := range restricted.grants(t, fn)["s3:PutObject"] {
				if r == approved {
					t.Errorf("%s may write approval records", name)
				}
			}
		}
	})
	t.Run("unrestricted", func(t *testing.T) {
		f := stackFixture(t)
		if strings.Contains(string(f.raw), "approved/") || strings.Contains(string(f.raw), EnvApproverRoles) {
			t.Errorf("a stack without %s mentions approved/ or %s", KeyApproverRoles, EnvApproverRoles)
		}
	})
}

// TestApproverRolesSettings: slipway:approverRoleArns is a list of exact
// role ARNs, from cdk.json or the command line; wildcards, other ARNs,
// duplicates and commas (the step function's separator) are refused with
// the key and index.
func TestApproverRolesSettings(t *testing.T) {
	const (
		approver = "arn:aws:iam::111122223333:role/Approver"
		sso      = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Release_0123"
	)
	tests := map[string]struct {
		value   any
		want    []string
		problem string
	}{
		"unset":             {},
		"cdk.json list":     {value: []any{approver, sso}, want: []string{approver, sso}},
		"command line":      {value: approver + "," + sso, want: []string{approver, sso}},
		"wildcard":          {value: []any{"arn:aws:iam::111122223333:role/Approver*"}, problem: KeyApproverRoles + `[0]: "arn:aws:iam::111122223333:role/Approver*" is not an IAM role ARN without wildcards`},
		"user":              {value: []any{approver, "arn:aws:iam::111122223333:user/alice"}, problem: KeyApproverRoles + `[1]: "arn:aws:iam::111122223333:user/alice" is not an IAM role ARN`},
		"session ARN":       {value: []any{"arn:aws:sts::111122223333:assumed-role/Approver/alice"}, problem: KeyApproverRoles + `[0]:`},
		"role name":         {value: []any{"Approver"}, problem: KeyApproverRoles + `[0]: "Approver" is not an IAM role ARN`},
		"twice":             {value: []any{approver, approver}, problem: KeyApproverRoles + `[1]: "` + approver + `" is listed twice`},
		"comma in the name": {value: []any{"arn:aws:iam::111122223333:role/a,b"}, problem: KeyApproverRoles + `[0]: "arn:aws:iam::111122223333:role/a,b" contains a comma`},
		"not a list":        {value: float64(1), problem: KeyApproverRoles + ":"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := map[string]any{KeyClusters: []any{"prod"}}
			if tc.value != nil {
				ctx[KeyApproverRoles] = tc.value
			}
			got, err := FromContext(lookupFrom(ctx))
			if tc.problem != "" {
				var se *SettingsError
				if !errors.As(err, &se) || len(se.Problems) != 1 || !strings.HasPrefix(se.Problems[0], tc.problem) {
					t.Fatalf("got %v, want one problem starting %q", err, tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got.ApproverRoles); diff != "" {
				t.Errorf("approver roles (-want +got):\n%s", diff)
			}
		})
	}
}
