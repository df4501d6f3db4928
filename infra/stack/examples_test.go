package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/slipwayhq/slipway/internal/spec"
)

// TestShippedContextCoversExamples checks that the README's AWS path works
// as written: the settings cdk.json ships let Slipway deploy every example
// service to every environment of its pipeline — the example clusters are
// among slipway:clusters and the task and execution roles the example task
// definitions name are among slipway:passRoles (and an environment's
// roleArn among slipway:assumeRoles). On failure it says which
// context keys to set.
func TestShippedContextCoversExamples(t *testing.T) {
	s := shippedSettings(t)
	set, err := spec.Load(os.DirFS("../../examples"))
	if err != nil {
		t.Fatal(err)
	}
	for _, problem := range uncovered(s, set) {
		t.Error(problem)
	}
}

// TestUncoveredNamesTheKeys checks the messages of uncovered on settings
// that miss a cluster and a role.
func TestUncoveredNamesTheKeys(t *testing.T) {
	set, err := spec.Load(os.DirFS("../../examples"))
	if err != nil {
		t.Fatal(err)
	}
	s := Defaults()
	s.Clusters = []string{"staging", "default"}
	s.PassRoles = []string{"web-*", "worker-execution", "arn:aws:iam::123456789012:role/agent-execution"}
	s.InfrastructureRoles = []string{"arn:aws:iam::000000000000:role/ecsInfrastructureRoleForLoadBalancers"}
	got := uncovered(s, set)
	want := []string{
		`cdk.json context "slipway:clusters" lacks cluster "prod" (environments/prod.yaml): add "prod"`,
		`cdk.json context "slipway:passRoles" lacks role "worker-task" (services/worker.yaml taskRoleArn): add "worker-task"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// shippedSettings reads the settings from the context of ../../cdk.json.
func shippedSettings(t *testing.T) Settings {
	t.Helper()
	b, err := os.ReadFile("../../cdk.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	s, err := FromContext(func(k string) any { return doc.Context[k] })
	if err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	return s
}

// exampleAccount stands for the deployer's account when rendering.
const exampleAccount = "123456789012"

// uncovered renders every service of set for every environment of its
// pipeline and lists, as the context key to change, each cluster not in
// s.Clusters and each role to pass not in s.PassRoles.
func uncovered(s Settings, set *spec.Set) []string {
	var out []string
	add := func(p string) {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	for _, envName := range sortedKeys(set.Environments) {
		env := set.Environments[envName]
		if !slices.ContainsFunc(s.Clusters, func(p string) bool { return globMatch(p, env.Cluster) }) {
			add(fmt.Sprintf("cdk.json context %q lacks cluster %q (%s): add %q", KeyClusters, env.Cluster, env.File, env.Cluster))
		}
		for _, svcName := range sortedKeys(env.LoadBalancers) {
			// Environments name resources of their own account, so a role
			// name setting matches the role of that name in any account.
			role := env.LoadBalancers[svcName].InfrastructureRoleARN
			short := role[strings.Index(role, ":role/")+len(":role/"):]
			if role == "" || slices.ContainsFunc(s.InfrastructureRoles, func(p string) bool {
				return strings.HasPrefix(p, "arn:") && globMatch(p, role) || globMatch(p, short)
			}) {
				continue
			}
			add(fmt.Sprintf("cdk.json context %q lacks role %q (%s loadBalancers.%s.infrastructureRoleArn): add %q",
				KeyInfrastructureRoles, short, env.File, svcName, short))
		}
	}
	for _, name := range sortedKeys(set.Services) {
		svc := set.Services[name]
		for _, envName := range svc.Pipeline {
			env := set.Environments[envName]
			r, err := spec.Render(svc, env, spec.RenderInput{Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/x@sha256:" + strings.Repeat("0", 64),
				DeploymentID: "check", Region: "us-east-1", AccountID: exampleAccount})
			if err != nil {
				add(fmt.Sprintf("render %s for %s: %v", name, envName, err))
				continue
			}
			if r.RoleARN != "" && !slices.Contains(s.AssumeRoles, r.RoleARN) {
				add(fmt.Sprintf("cdk.json context %q lacks role %q (%s roleArn): add it", KeyAssumeRoles, r.RoleARN, env.File))
			}
			for field, arn := range map[string]*string{"executionRoleArn": r.TaskDefinition.ExecutionRoleArn, "taskRoleArn": r.TaskDefinition.TaskRoleArn} {
				role := aws.ToString(arn)
				if role == "" || slices.ContainsFunc(s.PassRoles, func(p string) bool { return roleMatches(p, role) }) {
					continue
				}
				short := role[strings.Index(role, ":role/")+len(":role/"):]
				add(fmt.Sprintf("cdk.json context %q lacks role %q (%s %s): add %q", KeyPassRoles, short, svc.File, field, short))
			}
		}
	}
	slices.Sort(out)
	return out
}

// roleMatches reports whether the pass-role setting p (a role name pattern
// or a role ARN) allows passing the role ARN role, as the iam:PassRole
// statement the stack writes would.
func roleMatches(p, role string) bool {
	if strings.HasPrefix(p, "arn:") {
		return globMatch(p, role)
	}
	return globMatch("arn:aws:iam::"+exampleAccount+":role/"+p, role)
}

// globMatch matches IAM-style patterns: * is any run of characters.
func globMatch(pattern, s string) bool {
	ok, err := path.Match(strings.ReplaceAll(pattern, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00"))
	return err == nil && ok
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
