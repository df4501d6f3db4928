package store

import (
	"context"
	"errors"
	"fmt"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
)

// The newest request that began changing a service in an environment is
// kept at newest/<env>/<service>.json. History is ordered by when
// deployments started, and Prepare reads only its latest entries, so a
// long deployment's entry can sit below many quickly superseded ones; this
// record keeps the newest request in reach of every later, older one.

func newestKey(env, svc string) string {
	return "newest/" + segment(env) + "/" + segment(svc) + ".json"
}

// NewestApplied returns the newest request that began changing (env, svc),
// or an error wrapping ErrNotFound when none is recorded.
func (s *Store) NewestApplied(ctx context.Context, env, svc string) (NewestRequest, error) {
	op := fmt.Sprintf("read the newest request of %s/%s", env, svc)
	if err := checkNames(op, "environment", env, "service", svc); err != nil {
		return NewestRequest{}, err
	}
	var rec NewestRequest
	_, err := s.getJSON(ctx, op, newestKey(env, svc), &rec)
	return rec, err
}

// MarkApplied records rec as a request that began changing (env, svc): the
// record keeps the newest request by its time, and of every part (image,
// service spec, environment spec) the newest pin any such request had
// (workflow.Pins.Join). Concurrent writers are ordered by conditional
// writes.
func (s *Store) MarkApplied(ctx context.Context, env, svc string, rec NewestRequest) error {
	op := fmt.Sprintf("record the newest request of %s/%s", env, svc)
	if err := checkNames(op, "environment", env, "service", svc); err != nil {
		return err
	}
	key := newestKey(env, svc)
	for range 5 {
		var cur NewestRequest
		etag, err := s.getJSON(ctx, op, key, &cur)
		cond := s3api.Precondition{IfMatch: etag}
		next := rec
		next.Pins.Order = rec.Order()
		switch {
		case errors.Is(err, ErrNotFound):
			cond = s3api.Precondition{IfAbsent: true}
		case err != nil:
			return err
		default:
			next = merged(cur, rec)
			if next == cur {
				return nil
			}
		}
		_, err = s.putJSON(ctx, op, key, next, cond)
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("%s: %w", op, ErrConflict)
}

// Merged is the record cur with rec added (MarkApplied's rule), for stores
// kept elsewhere (a test's fake).
func Merged(cur, rec NewestRequest) NewestRequest { return merged(cur, rec) }

// merged is the record cur with rec added: the newer request of the two,
// and the newest pin of each part.
func merged(cur, rec NewestRequest) NewestRequest {
	out := cur
	if Newer(rec.RequestedAt, cur.RequestedAt) {
		out.Deployment, out.RequestedAt, out.Trigger, out.Outcome = rec.Deployment, rec.RequestedAt, rec.Trigger, rec.Outcome
	}
	base := cur.Pins
	base.Order = cur.Order()
	add := rec.Pins
	add.Order = rec.Order()
	out.Pins, _ = base.Join(add, true)
	return out
}
