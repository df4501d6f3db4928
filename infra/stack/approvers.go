package stack

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
)

// EnvApproverRoles lists, comma-separated, the approver roles
// (slipway:approverRoleArns) for functions/step; internal/deploy/awsclients
// reads it.
const EnvApproverRoles = "SLIPWAY_APPROVER_ROLES"

// StateApprovedPrefix holds the approval records `slipway approve` writes
// (internal/store ApprovedPrefix): approved/<deployment>.json.
const StateApprovedPrefix = "approved/"

// restrictApprovers lets only the approver roles approve, when there are
// any. Step Functions cannot: states:SendTaskSuccess takes no resource-level
// permission (only Resource "*"), and a task is not told who completed its
// token. So the approval counts through its record instead: the state
// bucket's policy denies writing under approved/ to every principal but the
// approver roles (their sessions: aws:PrincipalArn is the role's ARN), and
// functions/step, given the roles, refuses in Apply an approval without a
// record by one of them (internal/deploy checkApprover). A Deny in the
// bucket policy holds whatever identity policies grant, to the stack's own
// function roles too.
func restrictApprovers(st *Stack, roles []string) {
	if len(roles) == 0 {
		return
	}
	state := st.Storage.StateBucket
	state.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OnlyApproverRolesRecordApprovals"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("s3:PutObject"),
		Resources:  &[]*string{state.ArnForObjects(jsii.String(StateApprovedPrefix + "*"))},
		Conditions: &map[string]any{
			"ArnNotEquals": map[string]any{"aws:PrincipalArn": principalARNs(roles)},
		},
	}))
	step := st.Functions.Step
	step.AddEnvironment(jsii.String(EnvApproverRoles), jsii.String(strings.Join(roles, ",")), nil)
	allow(step, []string{"s3:GetObject"}, state.ArnForObjects(jsii.String(StateApprovedPrefix+"*")))
	suppressWildcards(step, wildcard{`^Resource::<StorageStateBucket[0-9A-F]{8}\.Arn>\/approved\/\*$`,
		"Approval records (approved/, read only) are keyed by deployment id, known only at run time."})
}

// principalARNs are the values aws:PrincipalArn may take for sessions of
// roles: each role's ARN as given and, for a role with a path, also without
// it. The documentation gives the role's ARN; both forms name the same role,
// since a role name is unique in its account whatever its path.
func principalARNs(roles []string) []string {
	var out []string
	for _, r := range roles {
		out = append(out, r)
		prefix, name, ok := strings.Cut(r, ":role/")
		if !ok {
			continue
		}
		if i := strings.LastIndex(name, "/"); i >= 0 {
			out = append(out, prefix+":role/"+name[i+1:])
		}
	}
	return out
}
