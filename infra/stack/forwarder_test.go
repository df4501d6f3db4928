package stack

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/events"
	"github.com/slipwayhq/slipway/internal/localcloud/eventbridge"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/synth"
	"github.com/slipwayhq/slipway/internal/trigger"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// roleAccount is the account of testSettings' assume role.
const roleAccount = "444455556666"

// forwarder is the event forwarder of testSettings, synthesized once.
var forwarder = sync.OnceValues(func() (*fixture, error) {
	dir, err := os.MkdirTemp("", "slipway-forwarder-test-")
	if err != nil {
		return nil, err
	}
	raw, fw, err := SynthesizeForwarder(testSettings(dir+"/assets"), dir+"/cdk.out")
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	return &fixture{stack: fw.Stack, template: assertions.Template_FromString(jsii.String(string(raw)), nil), doc: doc, raw: raw, fw: fw}, nil
})

func forwarderFixture(t *testing.T) *fixture {
	t.Helper()
	f, err := forwarder()
	if err != nil {
		t.Fatalf("synthesize the forwarder: %v", err)
	}
	return f
}

// busPolicyStatement returns the one statement the stack adds to the
// default bus's policy.
func busPolicyStatement(t *testing.T, f *fixture) map[string]any {
	t.Helper()
	policies := f.resources("AWS::Events::EventBusPolicy")
	if len(policies) != 1 {
		t.Fatalf("got %d event bus policies, want 1", len(policies))
	}
	for _, p := range policies {
		if p["EventBusName"] != "default" || p["StatementId"] != "Test-event-sources" {
			t.Errorf("policy on bus %v with statement id %v, want the default bus and Test-event-sources", p["EventBusName"], p["StatementId"])
		}
		return p["Statement"].(map[string]any)
	}
	return nil
}

// TestEventSourcePolicy (issue 11 item 12): the default bus lets the
// accounts of the assume roles, and no other, put the events Slipway acts
// on; without that statement EventBridge drops what their forwarders send.
func TestEventSourcePolicy(t *testing.T) {
	st := busPolicyStatement(t, stackFixture(t))
	var principals []string
	for _, p := range list(st["Principal"].(map[string]any)["AWS"]) {
		principals = append(principals, render(p))
	}
	got := map[string]any{
		"Sid":       st["Sid"],
		"Effect":    st["Effect"],
		"Action":    render(st["Action"]),
		"Resource":  render(st["Resource"]),
		"Principal": principals,
		"Condition": render(st["Condition"]),
	}
	want := map[string]any{
		"Sid":       "Test-event-sources",
		"Effect":    "Allow",
		"Action":    "events:PutEvents",
		"Resource":  arnOf("events", "event-bus/default"),
		"Principal": []string{"arn:${AWS::Partition}:iam::" + roleAccount + ":root"},
		"Condition": `{"ForAllValues:StringEquals":{"events:detail-type":["CloudWatch Alarm State Change","ECS Deployment State Change","ECS Hook State Change"],"events:source":["aws.cloudwatch","aws.ecs"]}}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bus policy statement (-want +got):\n%s", diff)
	}
}

// TestEventSourcePolicyAccounts: one statement names every role account
// once; with no role there is no statement (the bus keeps its policy).
func TestEventSourcePolicyAccounts(t *testing.T) {
	tests := map[string]struct {
		accounts []string
		want     int
	}{
		"no role account": {want: 0},
		"two accounts":    {accounts: []string{"111122223333", "444455556666"}, want: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
			st := awscdk.NewStack(app, jsii.String("S"), nil)
			// A template needs a resource, whether or not there is a policy.
			awscdk.NewCfnResource(st, jsii.String("Placeholder"), &awscdk.CfnResourceProps{Type: jsii.String("AWS::CloudFormation::WaitConditionHandle")})
			e := NewEvents(st, "Events", "S", tc.accounts)
			tmpl := assertions.Template_FromStack(st, nil)
			tmpl.ResourceCountIs(jsii.String("AWS::Events::EventBusPolicy"), jsii.Number(tc.want))
			if (e.SourcePolicy != nil) != (tc.want > 0) {
				t.Errorf("SourcePolicy set %t, want %t", e.SourcePolicy != nil, tc.want > 0)
			}
			if tc.want == 0 {
				return
			}
			var principals []any
			for _, a := range tc.accounts {
				principals = append(principals, map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":iam::" + a + ":root"}}})
			}
			tmpl.HasResourceProperties(jsii.String("AWS::Events::EventBusPolicy"), &map[string]any{
				"Statement": assertions.Match_ObjectLike(&map[string]any{"Principal": map[string]any{"AWS": principals}}),
			})
		})
	}
}

// TestForwarder (issue 11 item 12): the template deployed in a role's
// account forwards exactly what the Slipway stack's signal rules match to
// the Slipway account's default bus, through a role EventBridge assumes for
// that account only, keeping what it cannot deliver.
func TestForwarder(t *testing.T) {
	fw, main := forwarderFixture(t), stackFixture(t)
	bus := "arn:${AWS::Partition}:events:${AWS::Region}:${" + SlipwayAccountParameter + "}:event-bus/default"

	// One parameter, the Slipway account; nothing of CDK's bootstrap (no
	// BootstrapVersion parameter, no check rule), so plain CloudFormation
	// deploys it in an account never bootstrapped.
	params := fw.doc["Parameters"].(map[string]any)
	if len(params) != 1 {
		t.Errorf("parameters %v, want only %s", slices.Sorted(maps.Keys(params)), SlipwayAccountParameter)
	}
	p, _ := params[SlipwayAccountParameter].(map[string]any)
	if p["Type"] != "String" || p["AllowedPattern"] != `^\d{12}$` {
		t.Errorf("parameter %s = %v, want a String with AllowedPattern ^\\d{12}$", SlipwayAccountParameter, p)
	}
	if fw.doc["Rules"] != nil {
		t.Errorf("template has Rules %v, want none (no bootstrap check)", fw.doc["Rules"])
	}

	// The same patterns as the Slipway stack's signal rules.
	role := "${" + fw.logicalID(fw.fw.Role) + ".Arn}"
	dlq := "${" + fw.logicalID(fw.fw.DLQ) + ".Arn}"
	rules := fw.resources("AWS::Events::Rule")
	if len(rules) != 3 {
		t.Errorf("got %d rules, want 3", len(rules))
	}
	for name, pair := range map[string][2]constructs.IConstruct{
		"alarm":          {fw.fw.AlarmState, main.st.Triggers.AlarmState},
		"ecs deployment": {fw.fw.ECSState, main.st.Triggers.ECSState},
		"ecs hook":       {fw.fw.ECSHook, main.st.Triggers.ECSHook},
	} {
		t.Run(name, func(t *testing.T) {
			r := rules[fw.logicalID(pair[0])]
			if r == nil {
				t.Fatalf("rule %s missing", name)
			}
			want := render(main.resources("AWS::Events::Rule")[main.logicalID(pair[1])]["EventPattern"])
			if got := render(r["EventPattern"]); got != want {
				t.Errorf("pattern = %s, want the Slipway stack's %s", got, want)
			}
			if r["State"] != "ENABLED" || r["EventBusName"] != nil {
				t.Errorf("state %v bus %v, want ENABLED on the default bus", r["State"], r["EventBusName"])
			}
			targets := list(r["Targets"])
			if len(targets) != 1 {
				t.Fatalf("got %d targets, want 1", len(targets))
			}
			tg := targets[0].(map[string]any)
			got := map[string]string{"Arn": render(tg["Arn"]), "RoleArn": render(tg["RoleArn"]),
				"DLQ": render(tg["DeadLetterConfig"].(map[string]any)["Arn"])}
			if diff := cmp.Diff(map[string]string{"Arn": bus, "RoleArn": role, "DLQ": dlq}, got); diff != "" {
				t.Errorf("target (-want +got):\n%s", diff)
			}
		})
	}

	// The role: assumed by EventBridge for this account's rules, allowed to
	// put events on the Slipway bus and nothing else.
	roleID := fw.logicalID(fw.fw.Role)
	trust := fw.resources("AWS::IAM::Role")[roleID]["AssumeRolePolicyDocument"].(map[string]any)
	wantTrust := `[{"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":{"Ref":"AWS::AccountId"}}},"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"}}]`
	if got := render(trust["Statement"]); got != wantTrust {
		t.Errorf("trust policy = %s, want %s", got, wantTrust)
	}
	if diff := cmp.Diff(map[string][]string{"events:PutEvents": {bus}}, fw.grants(t, roleID)); diff != "" {
		t.Errorf("role grants (-want +got):\n%s", diff)
	}
	if n := len(fw.resources("AWS::IAM::Role")); n != 1 {
		t.Errorf("got %d roles, want 1 shared by both rules", n)
	}

	// What cannot be delivered waits in an encrypted queue, with an alarm.
	fw.template.ResourcePropertiesCountIs(jsii.String("AWS::SQS::Queue"), &map[string]any{
		"SqsManagedSseEnabled": true, "MessageRetentionPeriod": 1209600,
	}, jsii.Number(1))
	fw.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
		"AlarmName": "TestEventForwarder-undelivered", "Threshold": 0,
	})
	for id, qp := range fw.resources("AWS::SQS::QueuePolicy") {
		var tls, events bool
		for _, s := range list(qp["PolicyDocument"].(map[string]any)["Statement"]) {
			st := s.(map[string]any)
			tls = tls || (st["Effect"] == "Deny" && render(st["Condition"]) == `{"Bool":{"aws:SecureTransport":"false"}}`)
			events = events || (st["Effect"] == "Allow" && render(st["Principal"]) == `{"Service":"events.amazonaws.com"}`)
		}
		if !tls || !events {
			t.Errorf("queue policy %s: TLS enforced %t, EventBridge allowed %t; want both", id, tls, events)
		}
	}

	// cdk-nag ran on it, and accepted it without a suppression.
	ann := assertions.Annotations_FromStack(fw.fw.Stack)
	for _, find := range []func(*string, any) *[]*cxapi.SynthesisMessage{ann.FindError, ann.FindWarning} {
		for _, m := range *find(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
			t.Errorf("unsuppressed: %s %v", *m.Id, m.Entry.Data)
		}
	}
}

func TestForwarderNeedsAssumeRoles(t *testing.T) {
	s := testSettings(t.TempDir())
	s.AssumeRoles = nil
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	_, err := NewForwarder(app, s)
	var se *SettingsError
	if !errors.As(err, &se) || len(se.Problems) != 1 || !strings.HasPrefix(se.Problems[0], KeyAssumeRoles) {
		t.Errorf("got %v, want a *SettingsError naming %s", err, KeyAssumeRoles)
	}
}

// watches is the watch store of TestRoleAccountEventsReachSignal: one
// deployment baking on alarm web-5xx and waiting for ECS deployment
// ecs-svc/4218301648853079204 to be stable.
type watches struct{ deleted []string }

var (
	bakeWatch   = store.Watch{Token: "bake-token", Deployment: "d1", Kind: workflow.WaitBake, Alarms: []string{"web-5xx"}}
	stableWatch = store.Watch{Token: "stable-token", Deployment: "d1", Kind: workflow.WaitStable, ECSDeployment: "ecs-svc/4218301648853079204"}
	hookWatch   = store.Watch{Token: "hook-token", Deployment: "d2", Kind: workflow.WaitHook,
		ServiceDeployment: "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/Qm3xT8vLpR2aN7cYk4WdE"}
)

func (w *watches) WatchesForAlarm(_ context.Context, alarm string) ([]store.Watch, error) {
	if alarm == "web-5xx" {
		return []store.Watch{bakeWatch}, nil
	}
	return nil, nil
}

func (w *watches) WatchesForECSDeployment(_ context.Context, id string) ([]store.Watch, error) {
	if id == stableWatch.ECSDeployment {
		return []store.Watch{stableWatch}, nil
	}
	if id == hookWatch.ServiceDeployment {
		return []store.Watch{hookWatch}, nil
	}
	return nil, nil
}

func (w *watches) DeleteWatch(_ context.Context, x store.Watch) error {
	w.deleted = append(w.deleted, x.Token)
	return nil
}

// sentTasks records the task tokens completed, as "success <token>" or
// "failure <token>".
type sentTasks struct{ sent []string }

func (s *sentTasks) SendTaskSuccess(_ context.Context, token string, _ any) error {
	s.sent = append(s.sent, "success "+token)
	return nil
}

func (s *sentTasks) SendTaskFailure(_ context.Context, token string, _ error) error {
	s.sent = append(s.sent, "failure "+token)
	return nil
}

// TestRoleAccountEventsReachSignal (issue 11 item 12): an alarm going into
// ALARM, or an ECS deployment completing, in an environment role's account
// travels the whole way: the forwarder's rule there matches it, the bus
// policy here admits its account, source and detail type, the Slipway
// stack's rule matches it (no account filter), and the signal function, as
// the template configures it, completes the waiting task at once. An event
// from an account that is no role's is refused on the way in.
func TestRoleAccountEventsReachSignal(t *testing.T) {
	fw, main := forwarderFixture(t), stackFixture(t)
	const region, stackAccount = "eu-west-1", "123456789012"
	resolved, err := synth.Resolve(main.raw, synth.Env{Region: region, Account: stackAccount})
	if err != nil {
		t.Fatalf("resolve the template: %v", err)
	}
	signalFn, ok := resolved.Function(synth.KindSignal)
	if !ok {
		t.Fatal("no signal function in the template")
	}
	cfg, err := trigger.ConfigFromEnv(func(k string) string { return signalFn.Environment[k] },
		trigger.EnvStateBucket, trigger.EnvStateMachineARN)
	if err != nil {
		t.Fatalf("the signal function's environment: %v", err)
	}
	policy := busPolicyStatement(t, main)
	admits := func(account, source, detailType string) bool {
		principal := "arn:${AWS::Partition}:iam::" + account + ":root"
		var principals []string
		for _, p := range list(policy["Principal"].(map[string]any)["AWS"]) {
			principals = append(principals, render(p))
		}
		cond := policy["Condition"].(map[string]any)["ForAllValues:StringEquals"].(map[string]any)
		return slices.Contains(principals, principal) &&
			slices.Contains(list(cond["events:source"]), any(source)) &&
			slices.Contains(list(cond["events:detail-type"]), any(detailType))
	}
	pattern := func(f *fixture, c constructs.IConstruct) *eventbridge.Pattern {
		b, err := json.Marshal(f.resources("AWS::Events::Rule")[f.logicalID(c)]["EventPattern"])
		if err != nil {
			t.Fatal(err)
		}
		p, err := eventbridge.ParsePattern(string(b))
		if err != nil {
			t.Fatalf("pattern %s: %v", b, err)
		}
		return p
	}

	tests := map[string]struct {
		sample  string
		account string
		there   constructs.IConstruct // the forwarder's rule
		here    constructs.IConstruct // the Slipway stack's rule
		want    []string
	}{
		"alarm in a role's account fails the bake": {"alarm-state-change.json", roleAccount,
			fw.fw.AlarmState, main.st.Triggers.AlarmState, []string{"failure bake-token"}},
		"ECS deployment in a role's account ends the wait": {"ecs-deployment-completed.json", roleAccount,
			fw.fw.ECSState, main.st.Triggers.ECSState, []string{"success stable-token"}},
		"ECS hook in a role's account ends the wait": {"ecs-hook-state-change.json", roleAccount,
			fw.fw.ECSHook, main.st.Triggers.ECSHook, []string{"success hook-token"}},
		"alarm in another account": {"alarm-state-change.json", "999999999999",
			fw.fw.AlarmState, main.st.Triggers.AlarmState, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := events.Files.ReadFile(tc.sample)
			if err != nil {
				t.Fatal(err)
			}
			var ev map[string]any
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			ev["account"], ev["region"] = tc.account, region
			event, _ := json.Marshal(ev)

			if !pattern(fw, tc.there).MatchesJSON(event) {
				t.Errorf("the forwarder's rule does not match %s", event)
			}
			admitted := admits(tc.account, ev["source"].(string), ev["detail-type"].(string))
			if admitted != (tc.want != nil) {
				t.Errorf("bus policy admits an event of %s: %t, want %t", tc.account, admitted, tc.want != nil)
			}
			if !pattern(main, tc.here).MatchesJSON(event) {
				t.Errorf("the Slipway stack's rule does not match %s", event)
			}
			w, s := &watches{}, &sentTasks{}
			if err := trigger.NewSignal(w, s, cfg, slog.New(slog.DiscardHandler)).Handle(context.Background(), event); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if diff := cmp.Diff(tc.want, s.sent); diff != "" {
				t.Errorf("tasks completed (-want +got):\n%s", diff)
			}
		})
	}
}
