package operator

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecssdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestSectionIgnoresWhatAWSFills: a registered revision equals the input
// it was registered from once what ECS adds is left out; a real change
// shows as a unified diff from live to desired.
func TestSectionIgnoresWhatAWSFills(t *testing.T) {
	desired := &ecssdk.RegisterTaskDefinitionInput{Family: aws.String("web"), Cpu: aws.String("256"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("repo/web@sha256:aa"),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}}}},
		Tags: []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("shop")}}}
	live := &ecstypes.TaskDefinition{Family: aws.String("web"), Cpu: aws.String("256"), Revision: 7,
		TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:000000000000:task-definition/web:7"), Status: ecstypes.TaskDefinitionStatusActive,
		Compatibilities:    []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		RequiresAttributes: []ecstypes.Attribute{{Name: aws.String("com.amazonaws.ecs.capability.docker-remote-api.1.18")}},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("repo/web@sha256:aa"), Essential: aws.Bool(true),
			Cpu: 0, PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(8080), Protocol: ecstypes.TransportProtocolTcp}}}}}
	tags := []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("shop")}, {Key: aws.String("slipway:deployment"), Value: aws.String("d1")}}
	sec, err := section("taskDefinition", desired, liveTaskDefinition(live, tags))
	if err != nil {
		t.Fatal(err)
	}
	if sec.Diff != "" {
		t.Errorf("got a difference for the same revision:\n%s", sec.Diff)
	}
	desired.Cpu = aws.String("512")
	sec, err = section("taskDefinition", desired, liveTaskDefinition(live, tags))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--- live/taskDefinition", "+++ desired/taskDefinition", `-  "cpu": "256",`, `+  "cpu": "512",`} {
		if !strings.Contains(sec.Diff, want) {
			t.Errorf("diff: got\n%s\nwant it to contain %q", sec.Diff, want)
		}
	}
	for _, filled := range []string{"revision", "taskDefinitionArn", "requiresAttributes", "compatibilities", "slipway:deployment", "essential"} {
		if strings.Contains(sec.Live, filled) {
			t.Errorf("live side: got %s in\n%s", filled, sec.Live)
		}
	}
}
