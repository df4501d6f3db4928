package synth

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var testEnv = Env{Region: "eu-west-1", Account: "123456789012", StackName: "small"}

func TestResolveSmallTemplate(t *testing.T) {
	b, err := os.ReadFile("testdata/small.template.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Resolve(b, testEnv)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	stepARN := "arn:aws:lambda:eu-west-1:123456789012:function:small-step"
	want := &Stack{
		StateMachines: []StateMachine{{
			LogicalID: "Machine", Name: "small-deploy", Type: "STANDARD",
			ARN: "arn:aws:states:eu-west-1:123456789012:stateMachine:small-deploy",
			Definition: json.RawMessage(`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"` + stepARN +
				`","Next":"B"},"B":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"` +
				stepARN + `:${Literal}","Payload":{"queue":"sqs.eu-west-1.amazonaws.com","bucket":"small-statebucket"}},"End":true}}}`),
		}},
		Functions: []Function{
			{
				LogicalID: "StepFn", Name: "small-step", ARN: stepARN, Kind: KindStep, TimeoutSeconds: 300,
				Environment: map[string]string{
					"STATE_BUCKET":      "small-statebucket",
					"STATE_MACHINE_ARN": "arn:aws:states:eu-west-1:123456789012:stateMachine:small-deploy",
					"STAGE":             "test",
				},
			},
			{LogicalID: "Unnamed", Name: "small-Unnamed", ARN: "arn:aws:lambda:eu-west-1:123456789012:function:small-Unnamed", TimeoutSeconds: 3},
		},
		Buckets: []Bucket{
			{LogicalID: "Named", Name: "my-specs", ARN: "arn:aws:s3:::my-specs"},
			{LogicalID: "StateBucket", Name: "small-statebucket", ARN: "arn:aws:s3:::small-statebucket", Versioned: true, EventBridge: true},
		},
		Queues: []Queue{{LogicalID: "DLQ", Name: "small-DLQ", ARN: "arn:aws:sqs:eu-west-1:123456789012:small-DLQ",
			URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/small-DLQ"}},
		Rules: []Rule{{
			LogicalID: "Upload", Name: "small-Upload", ARN: "arn:aws:events:eu-west-1:123456789012:rule/small-Upload",
			EventBus: "default", State: "ENABLED",
			EventPattern: json.RawMessage(`{"detail":{"bucket":{"name":["my-specs"]}},"source":["aws.s3"]}`),
			Targets: []Target{{ID: "T1", ARN: stepARN, DeadLetterARN: "arn:aws:sqs:eu-west-1:123456789012:small-DLQ",
				MaxRetryAttempts: 8, MaxEventAgeSeconds: 7200}},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Resolve mismatch (-want +got):\n%s", diff)
	}
	if f, ok := got.Function(KindStep); !ok || f.LogicalID != "StepFn" {
		t.Errorf("Function(step) = %v, %v, want StepFn", f.LogicalID, ok)
	}
	if f, ok := got.FunctionByARN(stepARN); !ok || f.Kind != KindStep {
		t.Errorf("FunctionByARN = %v, %v, want the step function", f.LogicalID, ok)
	}
	byID := got.FunctionsByLogicalID()
	if f := byID["StepFn"]; f.Name != "small-step" || f.Kind != KindStep || len(byID) != 2 {
		t.Errorf("FunctionsByLogicalID = %v, want StepFn → small-step (step) among 2", byID)
	}
	if _, ok := got.Function(KindSignal); ok {
		t.Error("Function(signal) found, want none")
	}
}

func TestResolvePartitionDefaultsAndChina(t *testing.T) {
	b, err := os.ReadFile("testdata/small.template.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Resolve(b, Env{Region: "cn-north-1", Account: "123456789012", Partition: "aws-cn", StackName: "small"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/small-DLQ"; got.Queues[0].URL != want {
		t.Errorf("queue URL = %s, want %s", got.Queues[0].URL, want)
	}
	if !strings.Contains(string(got.StateMachines[0].Definition), "arn:aws-cn:states:::lambda:invoke.waitForTaskToken") {
		t.Errorf("definition does not use the aws-cn partition: %s", got.StateMachines[0].Definition)
	}
}

// machine wraps a DefinitionString value in a one-state-machine template.
func machine(def string) string {
	return `{"Resources":{
		"Fn":{"Type":"AWS::Lambda::Function","Properties":{"FunctionName":"f"}},
		"B":{"Type":"AWS::S3::Bucket","Properties":{}},
		"M":{"Type":"AWS::StepFunctions::StateMachine","Properties":{"DefinitionString":` + def + `}}}}`
}

func TestResolveNamesUnsupported(t *testing.T) {
	tests := map[string]struct {
		template string
		path     string
		what     string
	}{
		"import value": {
			template: machine(`{"Fn::Join":["",["{",{"Fn::ImportValue":"x"},"}"]]}`),
			path:     "Resources.M.Properties.DefinitionString.Fn::Join[1][1]",
			what:     "Fn::ImportValue",
		},
		"condition": {
			template: machine(`{"Fn::If":["c","{}","{}"]}`),
			path:     "Resources.M.Properties.DefinitionString",
			what:     "Fn::If",
		},
		"attribute": {
			template: machine(`{"Fn::Join":["",["{\"x\":\"",{"Fn::GetAtt":["B","DomainName"]},"\"}"]]}`),
			path:     "Resources.M.Properties.DefinitionString.Fn::Join[1][1].Fn::GetAtt",
			what:     "Fn::GetAtt B.DomainName (AWS::S3::Bucket)",
		},
		"ssm parameter": {
			template: `{"Parameters":{"P":{"Type":"AWS::SSM::Parameter::Value<String>","Default":"/x"}},"Resources":{
				"Fn":{"Type":"AWS::Lambda::Function","Properties":{"Environment":{"Variables":{"P":{"Ref":"P"}}}}}}}`,
			path: "Resources.Fn.Properties.Environment.Variables.P.Ref",
			what: "Ref to parameter P of type AWS::SSM::Parameter::Value<String> (no local value)",
		},
		"pseudo parameter": {
			template: machine(`{"Fn::Sub":"{\"x\":\"${AWS::NotificationARNs}\"}"}`),
			path:     "Resources.M.Properties.DefinitionString.Fn::Sub",
			what:     "Ref AWS::NotificationARNs",
		},
		"ref to unnamed type": {
			template: `{"Resources":{"T":{"Type":"AWS::SNS::Topic","Properties":{}},
				"Fn":{"Type":"AWS::Lambda::Function","Properties":{"Environment":{"Variables":{"T":{"Ref":"T"}}}}}}}`,
			path: "Resources.T",
			what: "a name for a resource of type AWS::SNS::Topic",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Resolve([]byte(tc.template), testEnv)
			var u *UnsupportedError
			if !errors.As(err, &u) {
				t.Fatalf("Resolve error = %v, want an *UnsupportedError", err)
			}
			if u.Path != tc.path || u.What != tc.what {
				t.Errorf("got %s / %s, want %s / %s", u.Path, u.What, tc.path, tc.what)
			}
		})
	}
}

func TestResolveRejectsBadInput(t *testing.T) {
	tests := map[string]struct {
		template string
		env      Env
		want     string
	}{
		"not json":      {template: `{`, env: testEnv, want: "decode template"},
		"no resources":  {template: `{"Resources":{}}`, env: testEnv, want: "no Resources"},
		"no region":     {template: machine(`"{}"`), env: Env{Account: "1"}, want: "region and account are required"},
		"bad kind":      {template: `{"Resources":{"F":{"Type":"AWS::Lambda::Function","Properties":{"Tags":[{"Key":"slipway:function","Value":"deploy"}]}}}}`, env: testEnv, want: `Resources.F.Properties.Tags[0]: slipway:function is "deploy"`},
		"bad asl":       {template: machine(`"{not json"`), env: testEnv, want: "Resources.M.Properties: the resolved definition is not valid JSON"},
		"missing ref":   {template: machine(`{"Fn::Join":["",[{"Ref":"Nope"}]]}`), env: testEnv, want: "Ref to Nope: no such resource or parameter"},
		"bad join":      {template: machine(`{"Fn::Join":"x"}`), env: testEnv, want: "want [delimiter, [values]]"},
		"self name":     {template: `{"Resources":{"B":{"Type":"AWS::S3::Bucket","Properties":{"BucketName":{"Ref":"B"}}}}}`, env: testEnv, want: "refers to itself"},
		"select range":  {template: machine(`{"Fn::Select":[3,{"Fn::Split":[",","a,b"]}]}`), env: testEnv, want: "index 3 out of range"},
		"list in join":  {template: machine(`{"Fn::Join":["",[{"Fn::Split":[",","a,b"]}]]}`), env: testEnv, want: "want a string"},
		"no definition": {template: `{"Resources":{"M":{"Type":"AWS::StepFunctions::StateMachine","Properties":{}}}}`, env: testEnv, want: "DefinitionS3Location"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Resolve([]byte(tc.template), tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Resolve error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestResolveDefinitionObject(t *testing.T) {
	tmpl := `{"Resources":{
		"Fn":{"Type":"AWS::Lambda::Function","Properties":{"FunctionName":"f"}},
		"M":{"Type":"AWS::StepFunctions::StateMachine","Properties":{"StateMachineType":"EXPRESS",
			"Definition":{"StartAt":"A","States":{"A":{"Type":"Task","Resource":{"Fn::GetAtt":["Fn","Arn"]},"End":true}}}}}}}`
	got, err := Resolve([]byte(tmpl), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"StartAt":"A","States":{"A":{"End":true,"Resource":"arn:aws:lambda:eu-west-1:123456789012:function:f","Type":"Task"}}}`
	if string(got.StateMachines[0].Definition) != want {
		t.Errorf("definition = %s, want %s", got.StateMachines[0].Definition, want)
	}
	if got.StateMachines[0].Type != "EXPRESS" || got.StateMachines[0].Name != "small-M" {
		t.Errorf("got type %s name %s, want EXPRESS small-M", got.StateMachines[0].Type, got.StateMachines[0].Name)
	}
}
