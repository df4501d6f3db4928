package trigger

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

func TestRebuildIndex(t *testing.T) {
	st := newFakeStore()
	st.loadSpecs(t)
	st.put("services/broken.yaml", "broken-v1", []byte("image: {repository: Broken}\npipeline: [staging]\n"))
	st.put("services/notes.txt", "n1", []byte("not a spec"))
	// A stale index: an entry for a service that no longer exists.
	st.index.Entries["gone"] = store.IndexEntry{Service: "gone", Repository: "gone", Tags: []string{"*"}}
	st.etag = 3

	idx, skipped, err := RebuildIndex(context.Background(), st)
	if err != nil {
		t.Fatalf("RebuildIndex: %v", err)
	}
	want := map[string]store.IndexEntry{
		"web":    {Service: "web", Repository: "web", Tags: []string{"v*", "main-*"}, Pipeline: []string{"staging", "prod"}, SpecVersion: "web-v1"},
		"worker": {Service: "worker", Repository: "worker", Tags: []string{"*"}, Pipeline: []string{"staging"}, SpecVersion: "worker-v1"},
	}
	if diff := cmp.Diff(want, idx.Entries); diff != "" {
		t.Errorf("index (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, st.index.Entries); diff != "" {
		t.Errorf("stored index (-want +got):\n%s", diff)
	}
	if len(skipped) != 1 || skipped[0].Key != "services/broken.yaml" || !strings.Contains(strings.Join(skipped[0].Problems, "\n"), "image.repository") {
		t.Errorf("got skipped %+v, want services/broken.yaml with its image.repository problem", skipped)
	}
}

func TestRebuildIndexConflicts(t *testing.T) {
	st := newFakeStore()
	st.loadSpecs(t)
	st.conflicts = 2
	if _, _, err := RebuildIndex(context.Background(), st); err != nil {
		t.Fatalf("got %v after two lost races, want success", err)
	}
	st.conflicts = 1000
	_, _, err := RebuildIndex(context.Background(), st)
	var tr *workflow.Transient
	if !errors.As(err, &tr) || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("got %v, want a *workflow.Transient wrapping store.ErrConflict", err)
	}
}
