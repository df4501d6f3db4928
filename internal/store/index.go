package store

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
)

// indexKey is the state-bucket key of the repository index.
const indexKey = "index/repositories.json"

// IndexEntry says which ECR repository and tags a service tracks.
type IndexEntry struct {
	Service string `json:"service"`
	// Repository is the ECR repository name, as push events name it.
	Repository string `json:"repository"`
	// Tags are path.Match patterns; a push whose tag matches one deploys.
	Tags []string `json:"tags,omitempty"`
	// Pipeline is the service's environments in promotion order.
	Pipeline []string `json:"pipeline,omitempty"`
	// SpecVersion is the S3 version id of the spec the entry was built from.
	SpecVersion string `json:"specVersion,omitempty"`
}

// Index maps services to the repositories they track. It is rebuilt from
// the spec bucket (slipway index rebuild) and updated by spec uploads.
type Index struct {
	// Entries is keyed by service name.
	Entries map[string]IndexEntry `json:"entries"`
}

// Match returns the entries that track repository with a tag pattern
// matching tag, sorted by service. An empty tag (an untagged push) matches
// nothing, nor does an entry without patterns; a malformed pattern never
// matches.
func (idx Index) Match(repository, tag string) []IndexEntry {
	if tag == "" {
		return nil
	}
	var out []IndexEntry
	for _, e := range idx.Entries {
		if e.Repository != repository {
			continue
		}
		for _, p := range e.Tags {
			if ok, err := path.Match(p, tag); err == nil && ok {
				out = append(out, e)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

// Index reads the index and its ETag. Before the first write it returns an
// empty index and ETag "".
func (s *Store) Index(ctx context.Context) (Index, string, error) {
	var idx Index
	etag, err := s.getJSON(ctx, "read repository index", indexKey, &idx)
	if errors.Is(err, ErrNotFound) {
		return Index{Entries: map[string]IndexEntry{}}, "", nil
	}
	if err != nil {
		return Index{}, "", err
	}
	if idx.Entries == nil {
		idx.Entries = map[string]IndexEntry{}
	}
	return idx, etag, nil
}

// PutIndex writes the index if it is still the version read with etag (""
// meaning there was none). It returns ErrConflict when another writer got
// there first: read it again and reapply the change.
func (s *Store) PutIndex(ctx context.Context, idx Index, etag string) error {
	cond := s3api.Precondition{IfMatch: etag, IfAbsent: etag == ""}
	_, err := s.putJSON(ctx, "write repository index", indexKey, idx, cond)
	return err
}

// UpdateIndex applies change to the current index and writes it, reading
// and applying again when a concurrent writer wins, up to a few times.
func (s *Store) UpdateIndex(ctx context.Context, change func(*Index) error) error {
	for range maxAttempts {
		idx, etag, err := s.Index(ctx)
		if err != nil {
			return err
		}
		if err := change(&idx); err != nil {
			return fmt.Errorf("update repository index: %w", err)
		}
		err = s.PutIndex(ctx, idx, etag)
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("update repository index: still changing after %d attempts: %w", maxAttempts, ErrConflict)
}
