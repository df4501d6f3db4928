package deploy

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestSlotScalingCountsItsOwnTargetGroup (issue 11 item 11): an
// ALBRequestCountPerTarget policy of a canary's slot names the slot's own
// target group, whatever target group the spec's label names, in both
// slots as the primary moves from blue to green and back; a policy on
// another metric is put as the spec has it.
func TestSlotScalingCountsItsOwnTargetGroup(t *testing.T) {
	const (
		blueLabel  = "app/staging/0123456789abcdef/targetgroup/staging-web-blue/0000000000000001"
		greenLabel = "app/staging/0123456789abcdef/targetgroup/staging-web-green/0000000000000002"
	)
	sc := strategyCases()["canary by weights"]
	w := newWorld(t)
	sc.before(w)
	web := string(w.specs["services/web.yaml"])
	const cpu = `          predefinedMetricType: ECSServiceAverageCPUUtilization
`
	if !strings.Contains(web, cpu) {
		t.Fatal("services/web.yaml: no CPU policy to add the request count policy after")
	}
	w.specs["services/web.yaml"] = []byte(strings.Replace(web, cpu, cpu+`    - policyName: web-requests
      targetTrackingScalingPolicyConfiguration:
        targetValue: 500
        predefinedMetricSpecification:
          predefinedMetricType: ALBRequestCountPerTarget
          resourceLabel: `+blueLabel+`
`, 1))

	for _, step := range []struct {
		tag, slot, label string
	}{
		{tag: "v2", slot: "web--green", label: greenLabel},
		{tag: "v3", slot: "web--blue", label: blueLabel},
	} {
		w.image("web", step.tag)
		x := newExecution(w, "exec-"+step.tag, request(sc, step.tag))
		x.run()
		if x.state != workflow.StateDeployed {
			t.Fatalf("deploy %s: got %s, want %s (path %v, error %+v)", step.tag, x.state, workflow.StateDeployed, x.path, x.st.Error)
		}
		got := map[string]string{}
		for _, p := range w.policies["service/staging/"+step.slot].Policies {
			c := p.TargetTrackingScalingPolicyConfiguration
			got[p.PolicyName] = string(c.PredefinedMetricSpecification.PredefinedMetricType) + " " +
				aws.ToString(c.PredefinedMetricSpecification.ResourceLabel)
		}
		want := map[string]string{
			"web-cpu":      "ECSServiceAverageCPUUtilization ",
			"web-requests": "ALBRequestCountPerTarget " + step.label,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("deploy %s: policies of %s (-want +got):\n%s", step.tag, step.slot, diff)
		}
	}
}
