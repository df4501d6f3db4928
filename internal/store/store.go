// Package store keeps Slipway's documents in S3: the specs users upload (spec
// bucket, versioned) and the state deployments share (state bucket): locks,
// the deployment queue, watches, pending approvals, plans, history, spec
// rejections and the repository index.
//
// Coordination relies on S3 conditional requests, never on reading then
// writing blindly: a lock is taken with If-None-Match "*", replaced and
// released with If-Match on the ETag that was read, so of two concurrent
// writers exactly one wins and the other gets ErrConflict.
//
// State keys are built from names that come from specs and events
// (environments, services, alarms, deployment ids); each name is escaped into
// one key segment (see segment), so no name can reach another's key or
// prefix.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// ErrNotFound means the document does not exist (or, for a lock, that the
// lock is free).
var ErrNotFound = errors.New("not found")

// ErrConflict means a conditional write lost: the document changed (or was
// created, or deleted) since it was read.
var ErrConflict = errors.New("conflict")

// ErrTooLarge means an object is larger than the store reads: a spec file
// over spec.MaxFileSize or a state document over s3api.DefaultMaxSize. The
// error is an *s3api.TooLargeError with the size and the limit.
var ErrTooLarge = s3api.ErrTooLarge

// maxAttempts bounds the read-compare-write loops that retry after losing a
// race to a concurrent writer.
const maxAttempts = 5

// objectStore lists the S3 adapter methods the store uses; *s3api.Client
// implements it.
type objectStore interface {
	GetMax(ctx context.Context, bucket, key, version string, limit int64) (s3api.Object, error)
	Put(ctx context.Context, bucket, key string, body []byte, contentType string, cond s3api.Precondition) (s3api.Object, error)
	Delete(ctx context.Context, bucket, key, ifMatch string) error
	List(ctx context.Context, bucket, prefix string, limit int) ([]string, error)
}

// Store reads and writes Slipway's documents.
type Store struct {
	s3          objectStore
	specBucket  string
	stateBucket string
}

// New returns a Store over the S3 adapter (normally an *s3api.Client).
func New(s3 objectStore, specBucket, stateBucket string) *Store {
	return &Store{s3: s3, specBucket: specBucket, stateBucket: stateBucket}
}

// translate turns the adapter's sentinels into the store's and prefixes op.
// Other errors (including *workflow.Transient) stay in the chain.
func translate(op string, err error) error {
	switch {
	case errors.Is(err, s3api.ErrNotFound):
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	case errors.Is(err, s3api.ErrPreconditionFailed):
		return fmt.Errorf("%s: %w", op, ErrConflict)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// getJSON reads a state document into v and returns its ETag.
func (s *Store) getJSON(ctx context.Context, op, key string, v any) (string, error) {
	obj, err := s.s3.GetMax(ctx, s.stateBucket, key, "", s3api.DefaultMaxSize)
	if err != nil {
		return "", translate(op, err)
	}
	if err := json.Unmarshal(obj.Body, v); err != nil {
		return "", fmt.Errorf("%s: decode s3://%s/%s: %w", op, s.stateBucket, key, err)
	}
	return obj.ETag, nil
}

// putJSON writes v as a state document under cond and returns the new ETag.
func (s *Store) putJSON(ctx context.Context, op, key string, v any, cond s3api.Precondition) (string, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("%s: encode: %w", op, err)
	}
	obj, err := s.s3.Put(ctx, s.stateBucket, key, body, "application/json", cond)
	if err != nil {
		if cond.IfMatch != "" && errors.Is(err, s3api.ErrNotFound) {
			// The document read was deleted since: the race is lost.
			return "", fmt.Errorf("%s: %w", op, ErrConflict)
		}
		return "", translate(op, err)
	}
	return obj.ETag, nil
}

// deleteState deletes a state document unconditionally; deleting a missing
// one succeeds.
func (s *Store) deleteState(ctx context.Context, op, key string) error {
	if err := s.s3.Delete(ctx, s.stateBucket, key, ""); err != nil {
		return translate(op, err)
	}
	return nil
}

// deleteIf deletes the state document at key only if owned reports that the
// current document is the one the caller means to delete. The read and the
// delete are joined by If-Match on the ETag read, so a document replaced in
// between is never deleted; the loop then reads it again. A missing document
// is success.
func deleteIf[T any](ctx context.Context, s *Store, op, key string, owned func(T) bool) error {
	for range maxAttempts {
		var doc T
		etag, err := s.getJSON(ctx, op, key, &doc)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !owned(doc) {
			return nil
		}
		err = s.s3.Delete(ctx, s.stateBucket, key, etag)
		switch {
		case err == nil, errors.Is(err, s3api.ErrNotFound):
			return nil
		case errors.Is(err, s3api.ErrPreconditionFailed):
			continue
		default:
			return translate(op, err)
		}
	}
	return fmt.Errorf("%s: still changing after %d attempts: %w", op, maxAttempts, ErrConflict)
}

// segment escapes name into one key segment. Letters, digits, '-', '_' and
// '.' are kept; every other byte (including '/' and '%') becomes %XX, so the
// mapping is injective and a segment never contains '/'. "." and ".." are
// escaped whole so no key has a relative path segment.
func segment(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	out := b.String()
	if out == "." || out == ".." {
		out = strings.ReplaceAll(out, ".", "%2E")
	}
	return out
}

// checkNames returns an *workflow.InvalidInput when a required name is
// empty. names alternates field and value.
func checkNames(op string, names ...string) error {
	var problems []string
	for i := 0; i+1 < len(names); i += 2 {
		if names[i+1] == "" {
			problems = append(problems, fmt.Sprintf("%s: %s: required", op, names[i]))
		}
	}
	if len(problems) > 0 {
		return &workflow.InvalidInput{Problems: problems}
	}
	return nil
}
