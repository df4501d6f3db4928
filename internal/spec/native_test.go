package spec

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// TestNativeStrategyRenders checks that a valid strategy of kind ecs loads,
// validates and renders with its fields and the environment's
// infrastructure role, for each mode.
func TestNativeStrategyRenders(t *testing.T) {
	tests := map[string]struct {
		strategy string
		want     Strategy
	}{
		"bluegreen": {"{kind: ecs, mode: bluegreen, bake: 10m, finalBake: 2m}",
			Strategy{Kind: ECS, Mode: ModeBlueGreen, Bake: Duration{10 * time.Minute}, FinalBake: Duration{2 * time.Minute}}},
		"canary": {"{kind: ecs, mode: canary, canaryPercent: 12.5, canaryBake: 5m}",
			Strategy{Kind: ECS, Mode: ModeCanary, CanaryPercent: 12.5, CanaryBake: Duration{5 * time.Minute}}},
		"linear": {"{kind: ecs, mode: linear, stepPercent: 25, stepBake: 1m, bake: 0}",
			Strategy{Kind: ECS, Mode: ModeLinear, StepPercent: 25, StepBake: Duration{time.Minute}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fsys := baseFS(t)
			svc := string(fsys["services/app.yaml"].Data)
			i := strings.Index(svc, "strategy:")
			fsys["services/app.yaml"] = &fstest.MapFile{Data: []byte(svc[:i] + "strategy: " + tc.strategy + "\n")}
			set, err := Load(fsys)
			if err != nil {
				t.Fatal(err)
			}
			if ps := set.Validate(); len(ps) > 0 {
				t.Fatalf("got problems %v, want none", ps)
			}
			r, err := Render(set.Services["app"], set.Environments["dev"], validationInput(set.Services["app"]))
			if err != nil {
				t.Fatal(err)
			}
			got := r.Strategy
			got.StabilizationTimeout = Duration{}
			if got.Kind != tc.want.Kind || got.Mode != tc.want.Mode || got.CanaryPercent != tc.want.CanaryPercent ||
				got.CanaryBake != tc.want.CanaryBake || got.StepPercent != tc.want.StepPercent || got.StepBake != tc.want.StepBake ||
				got.Bake != tc.want.Bake || got.FinalBake != tc.want.FinalBake || len(got.Steps) != 0 {
				t.Errorf("got strategy %+v, want %+v", got, tc.want)
			}
			if r.LoadBalancer == nil || r.LoadBalancer.InfrastructureRoleARN != "arn:aws:iam::000000000000:role/ecs-infra" {
				t.Errorf("got load balancer %+v, want the infrastructure role of environments/dev.yaml", r.LoadBalancer)
			}
		})
	}
}
