package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

func TestResolveImage(t *testing.T) {
	const digest = "sha256:00000000000000000000000000000000000000000000000000000000000000aa"
	tests := map[string]struct {
		image   string
		history []store.HistoryEntry
		want    string
		// problem is a part of the InvalidInput problem; "" means no error.
		problem string
	}{
		"tag":                                {image: "v2", want: "@sha256:"},
		"digest in the service's repository": {image: digest, want: "111122223333.dkr.ecr.us-east-1.amazonaws.com/web@" + digest},
		"full reference":                     {image: "registry.example.com/web@" + digest, want: "registry.example.com/web@" + digest},
		"empty: last deployed image": {
			history: []store.HistoryEntry{
				{Service: "web", Environment: "staging", Outcome: workflow.OutcomeDeployed, Image: "web@sha256:old"},
				{Service: "web", Environment: "staging", Outcome: workflow.OutcomeRolledBack, Image: "web@sha256:bad"},
			},
			want: "web@sha256:old",
		},
		"empty, never deployed":  {problem: "has never been deployed to staging"},
		"empty, only rollbacks":  {history: []store.HistoryEntry{{Service: "web", Environment: "staging", Outcome: workflow.OutcomeRolledBack, Image: "web@sha256:bad"}}, problem: `"image"`},
		"unknown tag":            {image: "v9", problem: "tag not found in ECR repository web"},
		"short digest":           {image: "sha256:abc", problem: "want sha256:<64 hex digits>"},
		"reference, bad digest":  {image: "web@sha256:xyz", problem: "want repository-uri@sha256:<64 hex digits>"},
		"not a tag":              {image: "web:v2 latest", problem: "not a tag, a digest or repository-uri@sha256"},
		"tag of another service": {image: "other/web:v2", problem: "not a tag"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			pushed := w.image("web", "v2")
			w.history = tc.history
			e := w.engine()
			st := workflow.State{Request: workflow.Request{Service: "web", Environment: "staging", Image: tc.image}}
			svc := &spec.Service{Name: "web", File: "services/web.yaml", Image: spec.ImageSource{Repository: "web"}}
			got, err := e.resolveImage(context.Background(), st, svc)
			if tc.problem != "" {
				var ii *workflow.InvalidInput
				if !errors.As(err, &ii) || !strings.Contains(ii.Error(), tc.problem) {
					t.Fatalf("got %v, want InvalidInput containing %q", err, tc.problem)
				}
				if !strings.Contains(ii.Error(), "repository-uri@sha256") {
					t.Errorf("got %q, want it to say how to give an image", ii.Error())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.image == "v2" {
				tc.want = pushed
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
