package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	"github.com/slipwayhq/slipway/internal/awsapi/s3/s3test"
	"github.com/slipwayhq/slipway/internal/workflow"
)

const (
	specBucket  = "specs"
	stateBucket = "state"
)

// newStore returns a Store over the real SDK client and an in-memory S3 with
// a versioned spec bucket and a state bucket, versioned or not.
func newStore(t *testing.T, versionedState bool) (*Store, *s3test.Server) {
	t.Helper()
	srv := s3test.NewServer(t)
	srv.CreateBucket(specBucket, true)
	srv.CreateBucket(stateBucket, versionedState)
	return New(s3api.New(srv.Client()), specBucket, stateBucket), srv
}

func mustPut(t *testing.T, srv *s3test.Server, bucket, key, body string) string {
	t.Helper()
	etag, err := srv.Put(bucket, key, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return etag
}

func TestSegment(t *testing.T) {
	tests := map[string]struct {
		name string
		want string
	}{
		"plain":        {name: "web-api_v2.1", want: "web-api_v2.1"},
		"slash":        {name: "prod/eu", want: "prod%2Feu"},
		"percent":      {name: "50%", want: "50%25"},
		"space":        {name: "a b", want: "a%20b"},
		"dot":          {name: ".", want: "%2E"},
		"dot dot":      {name: "..", want: "%2E%2E"},
		"dots inside":  {name: "a..b", want: "a..b"},
		"unicode":      {name: "ü", want: "%C3%BC"},
		"question":     {name: "a?b#c", want: "a%3Fb%23c"},
		"already esc.": {name: "prod%2Feu", want: "prod%252Feu"},
		"empty":        {name: "", want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := segment(tc.name); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestOddNames checks that names with separators and escapes round-trip and
// never reach another name's key.
func TestOddNames(t *testing.T) {
	st, srv := newStore(t, false)
	ctx := context.Background()
	pairs := [][2]string{{"prod/eu", "web"}, {"prod", "eu/web"}, {"..", "web"}, {"prod%2Feu", "web"}, {"a b", "ü?#"}}
	for i, p := range pairs {
		rec := LockRecord{Deployment: fmt.Sprintf("d%d", i), Stage: StagePreparing}
		if err := st.AcquireLock(ctx, p[0], p[1], rec); err != nil {
			t.Fatalf("acquire %q/%q: %v", p[0], p[1], err)
		}
	}
	for i, p := range pairs {
		got, _, err := st.Lock(ctx, p[0], p[1])
		if err != nil {
			t.Fatalf("lock %q/%q: %v", p[0], p[1], err)
		}
		if want := fmt.Sprintf("d%d", i); got.Deployment != want {
			t.Errorf("lock %q/%q: got deployment %s, want %s", p[0], p[1], got.Deployment, want)
		}
	}
	wantKeys := []string{
		"locks/%2E%2E/web.json",
		"locks/a%20b/%C3%BC%3F%23.json",
		"locks/prod%252Feu/web.json",
		"locks/prod%2Feu/web.json",
		"locks/prod/eu%2Fweb.json",
	}
	if diff := cmp.Diff(wantKeys, srv.Keys(stateBucket)); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}

func TestSpecs(t *testing.T) {
	st, srv := newStore(t, false)
	ctx := context.Background()
	mustPut(t, srv, specBucket, "services/web.yaml", "v1")
	mustPut(t, srv, specBucket, "services/web.yaml", "v2")
	mustPut(t, srv, specBucket, "services/my svc+1.yaml", "odd")
	mustPut(t, srv, specBucket, "services/", "")
	mustPut(t, srv, specBucket, "environments/staging.yaml", "env")
	latest, err := st.ServiceSpec(ctx, "web", "")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := st.ListSpecs(ctx, ServicesPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"services/my svc+1.yaml", "services/web.yaml"}, keys); diff != "" {
		t.Errorf("ListSpecs (-want +got):\n%s", diff)
	}
	// The first version of services/web.yaml is the one before latest.
	first := fmt.Sprintf("v%06d", mustVersionNumber(t, latest.Version)-1)

	tests := map[string]struct {
		get      func() (SpecObject, error)
		wantBody string
		wantKey  string
		wantErr  error
		invalid  bool
	}{
		"latest service":      {get: func() (SpecObject, error) { return st.ServiceSpec(ctx, "web", "") }, wantBody: "v2", wantKey: "services/web.yaml"},
		"service by version":  {get: func() (SpecObject, error) { return st.ServiceSpec(ctx, "web", first) }, wantBody: "v1", wantKey: "services/web.yaml"},
		"odd service name":    {get: func() (SpecObject, error) { return st.ServiceSpec(ctx, "my svc+1", "") }, wantBody: "odd", wantKey: "services/my svc+1.yaml"},
		"environment":         {get: func() (SpecObject, error) { return st.EnvironmentSpec(ctx, "staging", "") }, wantBody: "env", wantKey: "environments/staging.yaml"},
		"by key":              {get: func() (SpecObject, error) { return st.SpecObject(ctx, "environments/staging.yaml", "") }, wantBody: "env", wantKey: "environments/staging.yaml"},
		"missing service":     {get: func() (SpecObject, error) { return st.ServiceSpec(ctx, "api", "") }, wantErr: ErrNotFound},
		"missing version":     {get: func() (SpecObject, error) { return st.ServiceSpec(ctx, "web", "v999999") }, wantErr: ErrNotFound},
		"missing environment": {get: func() (SpecObject, error) { return st.EnvironmentSpec(ctx, "prod", "") }, wantErr: ErrNotFound},
		"name with slash":     {get: func() (SpecObject, error) { return st.ServiceSpec(ctx, "../web", "") }, invalid: true},
		"empty name":          {get: func() (SpecObject, error) { return st.EnvironmentSpec(ctx, "", "") }, invalid: true},
		"dot dot":             {get: func() (SpecObject, error) { return st.EnvironmentSpec(ctx, "..", "") }, invalid: true},
		"control character":   {get: func() (SpecObject, error) { return st.ServiceSpec(ctx, "we\nb", "") }, invalid: true},
		"empty key":           {get: func() (SpecObject, error) { return st.SpecObject(ctx, "", "") }, invalid: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tc.get()
			var inv *workflow.InvalidInput
			switch {
			case tc.invalid:
				if !errors.As(err, &inv) {
					t.Fatalf("got error %v, want *workflow.InvalidInput", err)
				}
				return
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got error %v, want %v", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), "read spec") {
					t.Errorf("got error %q, want it to say what was done", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if string(got.Body) != tc.wantBody || got.Key != tc.wantKey || got.Version == "" || got.ETag == "" {
				t.Errorf("got %+v (body %q), want key %s, body %q, a version and an ETag", got, got.Body, tc.wantKey, tc.wantBody)
			}
		})
	}
}

func mustVersionNumber(t *testing.T, v string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscanf(v, "v%d", &n); err != nil {
		t.Fatalf("version %q: %v", v, err)
	}
	return n
}

func TestRejection(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		key, version string
		wantKey      string
	}{
		"versioned":   {key: "services/web.yaml", version: "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", wantKey: "rejections/services/web.yaml/3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY.json"},
		"unversioned": {key: "services/web.yaml", wantKey: "rejections/services/web.yaml/null.json"},
		"odd key":     {key: "environments/../a b.yaml", version: "v/1", wantKey: "rejections/environments/%2E%2E/a%20b.yaml/v%2F1.json"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st, srv := newStore(t, false)
			ctx := context.Background()
			r := Rejection{Key: tc.key, Version: tc.version, Problems: []string{"services/web.yaml: service.cluster: required", "second"}, At: at}
			if _, err := st.Rejection(ctx, tc.key, tc.version); !errors.Is(err, ErrNotFound) {
				t.Fatalf("got error %v before recording, want ErrNotFound", err)
			}
			if err := st.PutRejection(ctx, r); err != nil {
				t.Fatal(err)
			}
			got, err := st.Rejection(ctx, tc.key, tc.version)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(r, got); diff != "" {
				t.Errorf("rejection (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{tc.wantKey}, srv.Keys(stateBucket)); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIndex(t *testing.T) {
	st, srv := newStore(t, true)
	ctx := context.Background()

	idx, etag, err := st.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if etag != "" || idx.Entries == nil || len(idx.Entries) != 0 {
		t.Fatalf("got index %+v etag %q before any write, want an empty index and no etag", idx, etag)
	}
	idx.Entries["web"] = IndexEntry{Service: "web", Repository: "web", Tags: []string{"v*"}, Pipeline: []string{"staging", "prod"}, SpecVersion: "v1"}
	if err := st.PutIndex(ctx, idx, ""); err != nil {
		t.Fatal(err)
	}
	if err := st.PutIndex(ctx, idx, ""); !errors.Is(err, ErrConflict) {
		t.Errorf("creating the index twice: got error %v, want ErrConflict", err)
	}

	// Two writers read the same version; only the first write lands.
	a, etagA, err := st.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, etagB, err := st.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.Entries["api"] = IndexEntry{Service: "api", Repository: "api", Tags: []string{"*"}}
	b.Entries["worker"] = IndexEntry{Service: "worker", Repository: "worker", Tags: []string{"*"}}
	if err := st.PutIndex(ctx, a, etagA); err != nil {
		t.Fatal(err)
	}
	if err := st.PutIndex(ctx, b, etagB); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale write: got error %v, want ErrConflict", err)
	}
	got, _, err := st.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("index (-want +got):\n%s", diff)
	}

	// The index deleted under a writer is a conflict too.
	_, etag, err = st.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.s3.Delete(ctx, stateBucket, indexKey, ""); err != nil {
		t.Fatal(err)
	}
	if err := st.PutIndex(ctx, got, etag); !errors.Is(err, ErrConflict) {
		t.Errorf("write after delete: got error %v, want ErrConflict", err)
	}

	// A conditional-write conflict reported by S3 (409) is a conflict.
	srv.Inject(s3test.Fault{Method: http.MethodPut, Key: indexKey, Status: http.StatusConflict, Code: "ConditionalRequestConflict", Times: 1})
	if err := st.PutIndex(ctx, got, ""); !errors.Is(err, ErrConflict) {
		t.Errorf("409: got error %v, want ErrConflict", err)
	}
}

func TestUpdateIndexConcurrent(t *testing.T) {
	st, _ := newStore(t, false)
	ctx := context.Background()
	const writers = 3
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			svc := fmt.Sprintf("svc%d", i)
			errs[i] = st.UpdateIndex(ctx, func(idx *Index) error {
				idx.Entries[svc] = IndexEntry{Service: svc, Repository: svc, Tags: []string{"*"}}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	idx, _, err := st.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Entries) != writers {
		t.Errorf("got %d entries, want %d (a write was lost): %v", len(idx.Entries), writers, idx.Entries)
	}
	stop := errors.New("no change")
	if err := st.UpdateIndex(ctx, func(*Index) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("got error %v, want the change's error", err)
	}
}

func TestIndexMatch(t *testing.T) {
	idx := Index{Entries: map[string]IndexEntry{
		"web":     {Service: "web", Repository: "shop", Tags: []string{"v*", "release-[0-9]*"}},
		"admin":   {Service: "admin", Repository: "shop", Tags: []string{"*"}},
		"exact":   {Service: "exact", Repository: "shop", Tags: []string{"stable"}},
		"broken":  {Service: "broken", Repository: "shop", Tags: []string{"[", "v1.\\"}},
		"nopats":  {Service: "nopats", Repository: "shop"},
		"other":   {Service: "other", Repository: "other", Tags: []string{"*"}},
		"nested":  {Service: "nested", Repository: "team/app", Tags: []string{"*"}},
		"charset": {Service: "charset", Repository: "shop", Tags: []string{"[^a-z]*"}},
	}}
	tests := map[string]struct {
		repository, tag string
		want            []string
	}{
		"prefix pattern":    {repository: "shop", tag: "v1.2.3", want: []string{"admin", "web"}},
		"class pattern":     {repository: "shop", tag: "release-7", want: []string{"admin", "web"}},
		"exact tag":         {repository: "shop", tag: "stable", want: []string{"admin", "exact"}},
		"only star":         {repository: "shop", tag: "latest", want: []string{"admin"}},
		"negated class":     {repository: "shop", tag: "1.0", want: []string{"admin", "charset"}},
		"untagged push":     {repository: "shop", tag: "", want: nil},
		"other repository":  {repository: "other", tag: "v1", want: []string{"other"}},
		"nested repository": {repository: "team/app", tag: "v1", want: []string{"nested"}},
		"unknown":           {repository: "nope", tag: "v1", want: nil},
		"malformed only":    {repository: "shop", tag: "[", want: []string{"admin", "charset"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, e := range idx.Match(tc.repository, tc.tag) {
				got = append(got, e.Service)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("services (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzIndexMatch checks that no pattern or tag makes Match panic.
func FuzzIndexMatch(f *testing.F) {
	f.Add("v*", "v1")
	f.Add("[", "x")
	f.Add("\\", "")
	f.Add("[a-", "a")
	f.Fuzz(func(t *testing.T, pattern, tag string) {
		idx := Index{Entries: map[string]IndexEntry{"s": {Service: "s", Repository: "r", Tags: []string{pattern}}}}
		idx.Match("r", tag)
	})
}

// TestSpecTooLarge checks that a spec object larger than MaxSpecSize is
// refused with ErrTooLarge and its size, through the real SDK client, and
// that a state document larger than s3api.DefaultMaxSize is refused too.
func TestSpecTooLarge(t *testing.T) {
	st, srv := newStore(t, false)
	ctx := context.Background()
	mustPut(t, srv, specBucket, "services/at-limit.yaml", strings.Repeat("#", MaxSpecSize))
	mustPut(t, srv, specBucket, "services/big.yaml", strings.Repeat("#", MaxSpecSize+1))
	mustPut(t, srv, stateBucket, "index/repositories.json", `{"entries":{}}`+strings.Repeat(" ", s3api.DefaultMaxSize))

	if obj, err := st.ServiceSpec(ctx, "at-limit", ""); err != nil || len(obj.Body) != MaxSpecSize {
		t.Errorf("got %d bytes and error %v at the limit, want %d bytes", len(obj.Body), err, MaxSpecSize)
	}
	_, err := st.ServiceSpec(ctx, "big", "")
	var tooLarge *s3api.TooLargeError
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &tooLarge) {
		t.Fatalf("got error %v, want ErrTooLarge", err)
	}
	if tooLarge.Size != MaxSpecSize+1 || tooLarge.Limit != MaxSpecSize {
		t.Errorf("got size %d and limit %d, want %d and %d", tooLarge.Size, tooLarge.Limit, MaxSpecSize+1, MaxSpecSize)
	}
	if _, _, err := st.Index(ctx); !errors.Is(err, ErrTooLarge) {
		t.Errorf("got error %v reading an oversized index, want ErrTooLarge", err)
	}
}

func TestAcceptedSpec(t *testing.T) {
	st, srv := newStore(t, false)
	ctx := context.Background()
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	if _, err := st.AcceptedSpec(ctx, "environments/prod eu.yaml"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("got error %v before recording, want ErrNotFound", err)
	}
	for _, v := range []string{"v1", "v2"} {
		if err := st.PutAcceptedSpec(ctx, AcceptedSpec{Key: "environments/prod eu.yaml", Version: v, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.AcceptedSpec(ctx, "environments/prod eu.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(AcceptedSpec{Key: "environments/prod eu.yaml", Version: "v2", At: at}, got); diff != "" {
		t.Errorf("accepted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"index/accepted/environments/prod%20eu.yaml.json"}, srv.Keys(stateBucket)); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	var inv *workflow.InvalidInput
	if err := st.PutAcceptedSpec(ctx, AcceptedSpec{Key: "environments/prod.yaml"}); !errors.As(err, &inv) {
		t.Errorf("got error %v without a version, want *workflow.InvalidInput", err)
	}
}
