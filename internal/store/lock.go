package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Only one deployment may change a service in an environment at a time: it
// holds the lock at locks/<env>/<service>.json. A deployment that finds the
// lock held waits in the queue at queue/<env>/<service>.json, which holds at
// most one entry: a newer deployment replaces (supersedes) an older one that
// has not started, so two quick pushes end with the newer image deployed.

// LockStage is how far the lock holder has got.
type LockStage string

// The lock stages. A holder that is preparing or awaiting approval may be
// superseded; one that is applying is never interrupted.
const (
	StagePreparing        LockStage = "preparing"
	StageAwaitingApproval LockStage = "awaiting-approval"
	StageApplying         LockStage = "applying"
	// StageRollbackFailed marks a lock kept after a failed rollback: the
	// service is in an unknown state, and no deployment may take the lock
	// until a person has checked the service and released it.
	StageRollbackFailed LockStage = "rollback-failed"
)

// LockRecord is the content of a lock.
type LockRecord struct {
	// Deployment and Execution identify the holder.
	Deployment string    `json:"deployment"`
	Execution  string    `json:"execution,omitempty"`
	Stage      LockStage `json:"stage"`
	// Token is the task token of the holder's current wait, if any.
	Token string `json:"token,omitempty"`
	// Image is the image the holder deploys.
	Image string `json:"image,omitempty"`
	// RequestedAt is when the holder's deployment was asked for
	// (workflow.Request.RequestedAt): an older request never takes the
	// lock from a newer one. Zero in a record written before it existed.
	RequestedAt time.Time `json:"requestedAt,omitzero"`
	// Pins are what the holder deploys, each part with its time: a newer
	// request that supersedes a holder that has not started applying takes
	// the parts in which the holder is newer (workflow.Pins.Join).
	Pins workflow.Pins `json:"pins,omitzero"`
	At   time.Time     `json:"at"`
}

// Order is the order of the holder's request (workflow.OrderOf).
func (r LockRecord) Order() workflow.Order { return workflow.OrderOf(r.Pins.Order, r.RequestedAt) }

func lockKey(env, svc string) string {
	return "locks/" + segment(env) + "/" + segment(svc) + ".json"
}

func queueKey(env, svc string) string {
	return "queue/" + segment(env) + "/" + segment(svc) + ".json"
}

// Lock reads the lock of (env, svc) and its ETag; ErrNotFound when it is
// free.
func (s *Store) Lock(ctx context.Context, env, svc string) (LockRecord, string, error) {
	op := fmt.Sprintf("read lock %s/%s", env, svc)
	if err := checkNames(op, "environment", env, "service", svc); err != nil {
		return LockRecord{}, "", err
	}
	var rec LockRecord
	etag, err := s.getJSON(ctx, op, lockKey(env, svc), &rec)
	if err != nil {
		return LockRecord{}, "", err
	}
	return rec, etag, nil
}

// AcquireLock takes the lock of (env, svc) for rec.Deployment if it is free
// (If-None-Match: *). It returns ErrConflict when another deployment holds
// it. Acquiring a lock the same deployment already holds succeeds without
// writing, so a retried Prepare is harmless.
func (s *Store) AcquireLock(ctx context.Context, env, svc string, rec LockRecord) error {
	op := fmt.Sprintf("acquire lock %s/%s for deployment %s", env, svc, rec.Deployment)
	if err := checkNames(op, "environment", env, "service", svc, "deployment", rec.Deployment); err != nil {
		return err
	}
	for range maxAttempts {
		_, err := s.putJSON(ctx, op, lockKey(env, svc), rec, s3api.Precondition{IfAbsent: true})
		if !errors.Is(err, ErrConflict) {
			return err
		}
		held, _, err := s.Lock(ctx, env, svc)
		switch {
		case errors.Is(err, ErrNotFound):
			continue // released between the two requests: try again
		case err != nil:
			return fmt.Errorf("%s: %w", op, err)
		case held.Deployment == rec.Deployment:
			return nil
		default:
			return fmt.Errorf("%s: held by deployment %s (%s): %w", op, held.Deployment, held.Stage, ErrConflict)
		}
	}
	return fmt.Errorf("%s: still changing after %d attempts: %w", op, maxAttempts, ErrConflict)
}

// ReplaceLock rewrites the lock (a new stage or token, or a hand-over to a
// queued deployment) if it is still the version read with etag. It returns
// ErrConflict when the lock changed or was released since.
func (s *Store) ReplaceLock(ctx context.Context, env, svc string, rec LockRecord, etag string) error {
	op := fmt.Sprintf("replace lock %s/%s for deployment %s", env, svc, rec.Deployment)
	if err := checkNames(op, "environment", env, "service", svc, "deployment", rec.Deployment, "etag", etag); err != nil {
		return err
	}
	_, err := s.putJSON(ctx, op, lockKey(env, svc), rec, s3api.Precondition{IfMatch: etag})
	return err
}

// ReleaseLock frees the lock of (env, svc) if deployment holds it. Releasing
// a free lock, or one held by another deployment, succeeds: a retried
// release must not fail, and must never free a lock someone else took since.
//
// The lock is read, its holder compared, and deleted with If-Match on the
// ETag read (S3 conditional delete), so a lock replaced between the read and
// the delete is not deleted: the release reads it again.
func (s *Store) ReleaseLock(ctx context.Context, env, svc, deployment string) error {
	op := fmt.Sprintf("release lock %s/%s for deployment %s", env, svc, deployment)
	if err := checkNames(op, "environment", env, "service", svc, "deployment", deployment); err != nil {
		return err
	}
	return deleteIf(ctx, s, op, lockKey(env, svc), func(rec LockRecord) bool {
		return rec.Deployment == deployment
	})
}

// QueueEntry is a deployment waiting for the lock.
type QueueEntry struct {
	Deployment string `json:"deployment"`
	Execution  string `json:"execution,omitempty"`
	// Token is the task token of the waiting task; the lock holder completes
	// it when it hands over.
	Token string `json:"token,omitempty"`
	// RequestedAt is when the waiting deployment was asked for: of two
	// waiting, the newer request keeps the place.
	RequestedAt time.Time `json:"requestedAt,omitzero"`
	// Pins are what the waiting deployment deploys (workflow.Pins).
	Pins workflow.Pins `json:"pins,omitzero"`
	At   time.Time     `json:"at"`
}

// Order is the order of the waiting request (workflow.OrderOf).
func (q QueueEntry) Order() workflow.Order { return workflow.OrderOf(q.Pins.Order, q.RequestedAt) }

// ErrBehindWaiting is returned (wrapped) by Enqueue when the deployment
// already waiting is newer than the one enqueued in some part (its image
// or a spec) and older in another: neither may replace the other until the
// one enqueued has taken the newer parts (workflow.Pins.Join).
var ErrBehindWaiting = errors.New("a deployment newer in some part is waiting")

// ErrNewerWaiting is returned (wrapped) by Enqueue when the deployment
// already waiting was requested after the one enqueued, which therefore does
// not take its place.
var ErrNewerWaiting = errors.New("a newer deployment is waiting")

// Enqueue makes e the deployment waiting for the lock of (env, svc). The
// newer request wins: an entry of another deployment already waiting is
// replaced and returned, so the caller can supersede it, unless that entry
// was requested after e (RequestedAt, both set), in which case it stays and
// is returned with an error wrapping ErrNewerWaiting, so the caller can
// supersede e instead. Requests of the same time, or of unknown time, are
// ordered by arrival: the last writer wins. Enqueuing the deployment already
// waiting updates its entry and returns nil.
func (s *Store) Enqueue(ctx context.Context, env, svc string, e QueueEntry) (*QueueEntry, error) {
	op := fmt.Sprintf("enqueue deployment %s for %s/%s", e.Deployment, env, svc)
	if err := checkNames(op, "environment", env, "service", svc, "deployment", e.Deployment); err != nil {
		return nil, err
	}
	key := queueKey(env, svc)
	for range maxAttempts {
		var old QueueEntry
		etag, err := s.getJSON(ctx, op, key, &old)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if etag != "" && old.Deployment != e.Deployment && old.Newer(e) {
			return &old, fmt.Errorf("%s: deployment %s, requested at %s, waits already: %w",
				op, old.Deployment, old.RequestedAt.UTC().Format(time.RFC3339Nano), ErrNewerWaiting)
		}
		if etag != "" && old.Deployment != e.Deployment && e.Order().Behind(old.Order()) != 0 {
			return &old, fmt.Errorf("%s: deployment %s waits already, newer in some part: %w",
				op, old.Deployment, ErrBehindWaiting)
		}
		_, err = s.putJSON(ctx, op, key, e, s3api.Precondition{IfMatch: etag, IfAbsent: etag == ""})
		switch {
		case errors.Is(err, ErrConflict):
			continue
		case err != nil:
			return nil, err
		case etag == "" || old.Deployment == e.Deployment:
			return nil, nil
		default:
			return &old, nil
		}
	}
	return nil, fmt.Errorf("%s: still changing after %d attempts: %w", op, maxAttempts, ErrConflict)
}

// Newer reports whether q is newer than other in some part and older in
// none (workflow.Order.Newer); false when their parts are all unknown.
func (q QueueEntry) Newer(other QueueEntry) bool {
	return q.Order().Newer(other.Order())
}

// Newer reports whether a request made at a came after one made at b; false
// when either is unknown (zero), so requests of unknown time keep the order
// in which they arrive.
func Newer(a, b time.Time) bool {
	return !a.IsZero() && !b.IsZero() && a.After(b)
}

// Queued returns the deployment waiting for the lock of (env, svc),
// without removing it, or nil when none waits.
func (s *Store) Queued(ctx context.Context, env, svc string) (*QueueEntry, error) {
	op := fmt.Sprintf("read the queue of %s/%s", env, svc)
	if err := checkNames(op, "environment", env, "service", svc); err != nil {
		return nil, err
	}
	var e QueueEntry
	_, err := s.getJSON(ctx, op, queueKey(env, svc), &e)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// Dequeue removes and returns the deployment waiting for the lock of
// (env, svc), or nil when none waits. Of two concurrent callers only one
// gets the entry.
func (s *Store) Dequeue(ctx context.Context, env, svc string) (*QueueEntry, error) {
	op := fmt.Sprintf("dequeue from %s/%s", env, svc)
	if err := checkNames(op, "environment", env, "service", svc); err != nil {
		return nil, err
	}
	key := queueKey(env, svc)
	for range maxAttempts {
		var e QueueEntry
		etag, err := s.getJSON(ctx, op, key, &e)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		err = s.s3.Delete(ctx, s.stateBucket, key, etag)
		switch {
		case err == nil:
			return &e, nil
		case errors.Is(err, s3api.ErrPreconditionFailed), errors.Is(err, s3api.ErrNotFound):
			continue // replaced or taken by someone else: look again
		default:
			return nil, translate(op, err)
		}
	}
	return nil, fmt.Errorf("%s: still changing after %d attempts: %w", op, maxAttempts, ErrConflict)
}

// Unqueue removes deployment's entry from the queue of (env, svc), if it is
// still the one waiting (a deployment that gives up waiting). Idempotent.
func (s *Store) Unqueue(ctx context.Context, env, svc, deployment string) error {
	op := fmt.Sprintf("unqueue deployment %s from %s/%s", deployment, env, svc)
	if err := checkNames(op, "environment", env, "service", svc, "deployment", deployment); err != nil {
		return err
	}
	return deleteIf(ctx, s, op, queueKey(env, svc), func(e QueueEntry) bool {
		return e.Deployment == deployment
	})
}
