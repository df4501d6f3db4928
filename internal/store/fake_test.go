package store

import (
	"context"
	"errors"
	"testing"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
)

// contended is an object store where every conditional write loses and
// every object has just been deleted: the worst a store loop can meet.
type contended struct {
	puts, deletes int
}

func (c *contended) GetMax(context.Context, string, string, string, int64) (s3api.Object, error) {
	return s3api.Object{}, s3api.ErrNotFound
}

func (c *contended) Put(context.Context, string, string, []byte, string, s3api.Precondition) (s3api.Object, error) {
	c.puts++
	return s3api.Object{}, s3api.ErrPreconditionFailed
}

func (c *contended) Delete(context.Context, string, string, string) error {
	c.deletes++
	return s3api.ErrPreconditionFailed
}

func (c *contended) List(context.Context, string, string, int) ([]string, error) {
	return nil, nil
}

// TestBoundedRetries checks that the read-compare-write loops give up with
// ErrConflict after maxAttempts instead of spinning.
func TestBoundedRetries(t *testing.T) {
	ctx := context.Background()
	tests := map[string]func(*Store) error{
		"acquire lock": func(st *Store) error { return st.AcquireLock(ctx, "e", "s", LockRecord{Deployment: "d"}) },
		"enqueue":      func(st *Store) error { _, err := st.Enqueue(ctx, "e", "s", QueueEntry{Deployment: "d"}); return err },
		"update index": func(st *Store) error { return st.UpdateIndex(ctx, func(*Index) error { return nil }) },
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			fake := &contended{}
			err := call(New(fake, "specs", "state"))
			if !errors.Is(err, ErrConflict) {
				t.Errorf("got error %v, want ErrConflict", err)
			}
			if fake.puts != maxAttempts {
				t.Errorf("got %d writes, want %d", fake.puts, maxAttempts)
			}
		})
	}
}
