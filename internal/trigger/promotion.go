package trigger

import (
	"fmt"
	"time"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// NextEnvironment returns the environment after current in a service's
// pipeline (its promotion order), and false when current is the last one or
// not in the pipeline at all.
func NextEnvironment(pipeline []string, current string) (string, bool) {
	for i, env := range pipeline {
		if env == current {
			if i+1 < len(pipeline) {
				return pipeline[i+1], true
			}
			return "", false
		}
	}
	return "", false
}

// PromotionRequest is the request that promotes the deployment done, which
// succeeded, to the next environment: the same pinned image and the same
// service spec version, so what reaches the next environment is exactly what
// was tested; the next environment's own spec is its latest. Approval, if the
// next environment requires it, is decided by Prepare there.
func PromotionRequest(done workflow.State, next string) workflow.Request {
	image := done.Plan.Image
	if image == "" {
		image = done.Image
	}
	return workflow.Request{
		Service:     done.Service,
		Environment: next,
		Image:       image,
		SpecVersion: done.SpecVersion,
		// The promotion keeps the time of the image it promotes (which is
		// the request's own, unless the deployment redeployed an image of
		// an earlier request, as a spec upload does): a later request (a
		// newer image promoted, a person's deployment) in the next
		// environment is not undone by it, nor an image promoted later
		// that was pushed after this one.
		RequestedAt: promotedAt(done),
		Reason:      fmt.Sprintf("promoted from %s (deployment %s)", done.Environment, done.Deployment.ID),
		Trigger: workflow.Trigger{
			Kind:   workflow.TriggerPromotion,
			Source: done.Deployment.ID,
			Actor:  "slipway",
		},
	}
}

// promotedAt is when the image done deployed was asked for.
func promotedAt(done workflow.State) time.Time {
	if at := done.Pins.Order.Image; !at.IsZero() && (done.RequestedAt.IsZero() || at.Before(done.RequestedAt)) {
		return at
	}
	return done.RequestedAt
}
