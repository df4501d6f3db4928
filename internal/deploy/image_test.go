package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/awsapi/ecr"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// ecrURI is the registry host of the test world's ECR.
const ecrURI = "111122223333.dkr.ecr.us-east-1.amazonaws.com"

// knownRepositories is an ECR with only the named repositories.
type knownRepositories struct {
	ImageResolver
	names []string
}

func (k knownRepositories) RepositoryURI(ctx context.Context, repo string) (string, error) {
	if !slices.Contains(k.names, repo) {
		return "", fmt.Errorf("repository %s: %w", repo, ecr.ErrNotFound)
	}
	return k.ImageResolver.RepositoryURI(ctx, repo)
}

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
		"ECR repository URI":                 {image: ecrURI + "/web@" + digest, want: ecrURI + "/web@" + digest},
		"registry with a port":               {image: "registry:5000/web@" + digest, want: "registry:5000/web@" + digest},
		"localhost registry":                 {image: "localhost/web@" + digest, want: "localhost/web@" + digest},
		// Without a registry host ECS pulls from Docker Hub: resolved
		// through ECR or refused, never deployed as it is.
		"bare repository at a digest": {image: "web@" + digest, want: ecrURI + "/web@" + digest},
		"bare nested repository":      {image: "team/web@" + digest, want: ecrURI + "/team/web@" + digest},
		"bare repository not in ECR": {image: "api@" + digest,
			problem: `"api@` + digest + `": names no registry host and there is no ECR repository api`},
		"Docker Hub namespace": {image: "library/web@" + digest,
			problem: "give the repository URI (ACCOUNT.dkr.ecr.REGION.amazonaws.com/library/web@" + digest + ")"},
		"empty: last deployed image": {
			history: []store.HistoryEntry{
				{Service: "web", Environment: "staging", Outcome: workflow.OutcomeDeployed, Image: ecrURI + "/web@sha256:old"},
				{Service: "web", Environment: "staging", Outcome: workflow.OutcomeRolledBack, Image: ecrURI + "/web@sha256:bad"},
			},
			want: ecrURI + "/web@sha256:old",
		},
		"empty: last deployed bare image": {
			history: []store.HistoryEntry{{Service: "web", Environment: "staging", Outcome: workflow.OutcomeDeployed, Image: "web@sha256:old"}},
			want:    ecrURI + "/web@sha256:old",
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
			e.Images = knownRepositories{ImageResolver: e.Images, names: []string{"web", "team/web"}}
			st := workflow.State{Request: workflow.Request{Service: "web", Environment: "staging", Image: tc.image}}
			svc := &spec.Service{Name: "web", File: "services/web.yaml", Image: spec.ImageSource{Repository: "web"}}
			got, _, err := e.resolveImage(context.Background(), st, svc)
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
