package trigger

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/workflow"
)

func TestNextEnvironment(t *testing.T) {
	tests := map[string]struct {
		pipeline []string
		current  string
		want     string
		wantOK   bool
	}{
		"first to second": {[]string{"staging", "prod"}, "staging", "prod", true},
		"middle":          {[]string{"dev", "staging", "prod"}, "staging", "prod", true},
		"last":            {[]string{"staging", "prod"}, "prod", "", false},
		"not in pipeline": {[]string{"staging", "prod"}, "qa", "", false},
		"single":          {[]string{"prod"}, "prod", "", false},
		"empty":           {nil, "prod", "", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := NextEnvironment(tc.pipeline, tc.current)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("NextEnvironment(%v, %q) = %q, %v, want %q, %v", tc.pipeline, tc.current, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestPromotionRequest(t *testing.T) {
	pushedAt := time.Date(2026, 11, 25, 14, 2, 11, 0, time.UTC)
	done := workflow.State{
		Request: workflow.Request{
			Service: "web", Environment: "staging", Image: "web@sha256:aa", SpecVersion: "v7",
			EnvironmentSpecVersion: "e3", Strategy: []byte(`"rolling"`), Reason: "push",
			Trigger:     workflow.Trigger{Kind: workflow.TriggerECRPush, Source: "evt-1"},
			RequestedAt: pushedAt,
		},
		Deployment: workflow.Deployment{ID: "d-123"},
		Plan:       workflow.Plan{Image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:aa"},
	}
	got := PromotionRequest(done, "prod")
	want := workflow.Request{
		Service: "web", Environment: "prod",
		Image:       "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:aa",
		SpecVersion: "v7",
		Reason:      "promoted from staging (deployment d-123)",
		Trigger:     workflow.Trigger{Kind: workflow.TriggerPromotion, Source: "d-123", Actor: "slipway"},
		// The push's time travels on: a newer request in prod wins.
		RequestedAt: pushedAt,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// The promotion of one deployment always gets one execution name.
	if ExecutionName(got) != ExecutionName(PromotionRequest(done, "prod")) {
		t.Error("got two names for one promotion, want one")
	}

	// A spec upload's deployment redeployed an image pushed before it:
	// the promotion is timed by that image, not the upload, so an image
	// pushed in between and promoted later is not superseded by it.
	upload := done
	upload.Trigger = workflow.Trigger{Kind: workflow.TriggerSpecUpload, Source: "services/web.yaml@v7"}
	upload.RequestedAt = pushedAt.Add(time.Hour)
	upload.Pins.Order = workflow.Order{Image: pushedAt, ServiceSpec: pushedAt.Add(time.Hour), EnvironmentSpec: pushedAt}
	if got := PromotionRequest(upload, "prod").RequestedAt; !got.Equal(pushedAt) {
		t.Errorf("promotion of a spec upload's deployment: requested at %v, want the image's time %v", got, pushedAt)
	}
}
