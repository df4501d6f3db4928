package trigger

import (
	"context"
	"errors"
	"fmt"

	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// IndexEntry is the index entry of an accepted service spec: the repository
// whose pushes deploy it, its tag patterns (none in the spec means every
// tag, which the index spells "*"), its pipeline, and the spec version pushes
// deploy with.
func IndexEntry(svc *spec.Service, version string) store.IndexEntry {
	tags := svc.Image.Tags
	if len(tags) == 0 {
		tags = []string{"*"}
	}
	return store.IndexEntry{Service: svc.Name, Repository: svc.Image.Repository, Tags: tags,
		Pipeline: svc.Pipeline, SpecVersion: version}
}

// Skipped is a service spec RebuildIndex left out of the index, and why.
type Skipped struct {
	Key      string
	Problems []string
}

// indexSource is what RebuildIndex reads and writes; *store.Store
// implements it.
type indexSource interface {
	SpecObject(ctx context.Context, key, version string) (store.SpecObject, error)
	ListSpecs(ctx context.Context, prefix string) ([]string, error)
	Index(ctx context.Context) (store.Index, string, error)
	PutIndex(ctx context.Context, idx store.Index, etag string) error
}

// RebuildIndex replaces the repository index with one built from the latest
// version of every service spec in the spec bucket (slipway index rebuild),
// for when the index was lost or specs were uploaded before the stack
// listened. A spec that does not parse or validate on its own is left out
// and returned in skipped; spec uploads keep the index current afterwards.
// The write is conditional on the index read, retried when another writer
// got there first.
func RebuildIndex(ctx context.Context, st indexSource) (idx store.Index, skipped []Skipped, err error) {
	keys, err := st.ListSpecs(ctx, ServicesPrefix)
	if err != nil {
		return store.Index{}, nil, fmt.Errorf("rebuild index: %w", err)
	}
	idx = store.Index{Entries: map[string]store.IndexEntry{}}
	for _, key := range keys {
		ref, err := ParseSpecKey(key)
		if err != nil {
			continue
		}
		obj, err := st.SpecObject(ctx, ref.Key, "")
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since it was listed
		}
		if err != nil {
			return store.Index{}, nil, fmt.Errorf("rebuild index: %w", err)
		}
		svc, err := spec.ParseService(ref.Key, obj.Body)
		if err != nil {
			skipped = append(skipped, Skipped{Key: ref.Key, Problems: problemStrings(err)})
			continue
		}
		if ps := svc.Validate(); len(ps) > 0 {
			skipped = append(skipped, Skipped{Key: ref.Key, Problems: ps.Strings()})
			continue
		}
		if prev, ok := idx.Entries[svc.Name]; ok {
			skipped = append(skipped, Skipped{Key: ref.Key, Problems: []string{
				fmt.Sprintf("%s: service %s is also defined by another file (version %s indexed)", ref.Key, svc.Name, prev.SpecVersion)}})
			continue
		}
		idx.Entries[svc.Name] = IndexEntry(svc, obj.Version)
	}
	for range indexAttempts {
		_, etag, err := st.Index(ctx)
		if err != nil {
			return store.Index{}, nil, fmt.Errorf("rebuild index: %w", err)
		}
		err = st.PutIndex(ctx, idx, etag)
		if err == nil {
			return idx, skipped, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return store.Index{}, nil, fmt.Errorf("rebuild index: %w", err)
		}
	}
	return store.Index{}, nil, &workflow.Transient{Op: "rebuild index",
		Err: fmt.Errorf("still changing after %d attempts: %w", indexAttempts, store.ErrConflict)}
}
