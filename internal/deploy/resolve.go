package deploy

import (
	"context"
	"strings"

	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// ResolveImage pins ref (a tag, sha256:…, repository@sha256:… or
// repository-uri@sha256:…) as Prepare does for a deployment of svc, with
// images looking up the service's ECR repository; `slipway diff` uses it
// so that it compares exactly what a deployment would run. An empty ref is
// invalid input here (a deployment would take the last deployed image).
func ResolveImage(ctx context.Context, images ImageResolver, svc *spec.Service, ref string) (string, error) {
	if strings.TrimSpace(ref) == "" {
		return "", invalidImage(ref, imageHelp)
	}
	e := &Engine{Images: images}
	return e.resolveRef(ctx, workflow.State{Request: workflow.Request{Image: ref}}, svc)
}
