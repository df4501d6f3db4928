package s3_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdks3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	"github.com/slipwayhq/slipway/internal/awsapi/s3/s3test"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// newClient returns an adapter over a real SDK client talking to a fresh
// server with a versioned bucket "ver" and an unversioned bucket "plain".
func newClient(t *testing.T) (*s3api.Client, *s3test.Server) {
	t.Helper()
	srv := s3test.NewServer(t)
	srv.CreateBucket("ver", true)
	srv.CreateBucket("plain", false)
	return s3api.New(srv.Client()), srv
}

// errKind names the class of an error for table comparisons.
func errKind(err error) string {
	var tr *workflow.Transient
	switch {
	case err == nil:
		return ""
	case errors.Is(err, s3api.ErrNotFound):
		return "not-found"
	case errors.Is(err, s3api.ErrPreconditionFailed):
		return "precondition"
	case errors.Is(err, s3api.ErrNoSuchBucket):
		return "no-bucket"
	case errors.As(err, &tr):
		return "transient"
	}
	return "other"
}

func TestGet(t *testing.T) {
	tests := map[string]struct {
		bucket, key string
		version     string // "old" selects the first version written
		fault       *s3test.Fault
		wantBody    string
		wantErr     string
	}{
		"current version":   {bucket: "ver", key: "a/b.json", wantBody: "two"},
		"older version":     {bucket: "ver", key: "a/b.json", version: "old", wantBody: "one"},
		"unversioned":       {bucket: "plain", key: "a/b.json", wantBody: "two"},
		"odd key":           {bucket: "plain", key: "sp ace/per%cent+plus?q#h/ünï.json", wantBody: "odd"},
		"missing key":       {bucket: "ver", key: "nope", wantErr: "not-found"},
		"missing version":   {bucket: "ver", key: "a/b.json", version: "v999999", wantErr: "not-found"},
		"missing bucket":    {bucket: "gone", key: "a/b.json", wantErr: "no-bucket"},
		"slow down":         {bucket: "ver", key: "a/b.json", fault: &s3test.Fault{Status: 503, Code: "SlowDown"}, wantErr: "transient"},
		"internal error":    {bucket: "ver", key: "a/b.json", fault: &s3test.Fault{Status: 500, Code: "InternalError"}, wantErr: "transient"},
		"too many requests": {bucket: "ver", key: "a/b.json", fault: &s3test.Fault{Status: 429, Code: "TooManyRequests"}, wantErr: "transient"},
		"access denied":     {bucket: "ver", key: "a/b.json", fault: &s3test.Fault{Status: 403, Code: "AccessDenied"}, wantErr: "other"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, srv := newClient(t)
			ctx := context.Background()
			first, err := c.Put(ctx, "ver", "a/b.json", []byte("one"), "", s3api.Precondition{})
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range []string{"ver", "plain"} {
				if _, err := c.Put(ctx, b, "a/b.json", []byte("two"), "", s3api.Precondition{}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.Put(ctx, "plain", "sp ace/per%cent+plus?q#h/ünï.json", []byte("odd"), "", s3api.Precondition{}); err != nil {
				t.Fatal(err)
			}
			if tc.fault != nil {
				srv.Inject(*tc.fault)
			}
			version := tc.version
			if version == "old" {
				version = first.VersionID
			}
			got, err := c.Get(ctx, tc.bucket, tc.key, version)
			if k := errKind(err); k != tc.wantErr {
				t.Fatalf("got error %v (%q), want %q", err, k, tc.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tc.bucket) {
					t.Errorf("got error %q, want it to name bucket %s", err, tc.bucket)
				}
				return
			}
			if string(got.Body) != tc.wantBody {
				t.Errorf("got body %q, want %q", got.Body, tc.wantBody)
			}
			if got.ETag == "" {
				t.Errorf("got empty ETag")
			}
			if tc.bucket == "ver" && got.VersionID == "" {
				t.Errorf("got empty version id from a versioned bucket")
			}
			if version != "" && got.VersionID != version {
				t.Errorf("got version %q, want %q", got.VersionID, version)
			}
		})
	}
}

func TestPut(t *testing.T) {
	tests := map[string]struct {
		key        string
		cond       s3api.Precondition
		staleMatch bool // send an ETag that is not the current one
		fault      *s3test.Fault
		wantErr    string
		wantHeader map[string]string
		wantBody   string // content after the call
	}{
		"unconditional overwrite": {key: "exists", wantBody: "new"},
		"if absent, absent":       {key: "fresh", cond: s3api.Precondition{IfAbsent: true}, wantBody: "new", wantHeader: map[string]string{"If-None-Match": "*"}},
		"if absent, present":      {key: "exists", cond: s3api.Precondition{IfAbsent: true}, wantErr: "precondition", wantBody: "old"},
		"if match, current etag":  {key: "exists", cond: s3api.Precondition{IfMatch: "current"}, wantBody: "new"},
		"if match, stale etag":    {key: "exists", cond: s3api.Precondition{IfMatch: "current"}, staleMatch: true, wantErr: "precondition", wantBody: "old"},
		"if match, missing":       {key: "fresh", cond: s3api.Precondition{IfMatch: `"abc"`}, wantErr: "not-found"},
		"concurrent conditional write": {
			key: "exists", cond: s3api.Precondition{IfAbsent: true},
			fault:   &s3test.Fault{Method: http.MethodPut, Status: 409, Code: "ConditionalRequestConflict"},
			wantErr: "precondition", wantBody: "old",
		},
		"both conditions": {key: "exists", cond: s3api.Precondition{IfAbsent: true, IfMatch: `"abc"`}, wantErr: "other", wantBody: "old"},
		"throttled":       {key: "exists", fault: &s3test.Fault{Method: http.MethodPut, Status: 503, Code: "SlowDown"}, wantErr: "transient", wantBody: "old"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, srv := newClient(t)
			ctx := context.Background()
			old, err := c.Put(ctx, "ver", "exists", []byte("old"), "", s3api.Precondition{})
			if err != nil {
				t.Fatal(err)
			}
			cond := tc.cond
			if cond.IfMatch == "current" {
				cond.IfMatch = old.ETag
				if tc.staleMatch {
					cond.IfMatch = `"0123456789abcdef0123456789abcdef"`
				}
				tc.wantHeader = map[string]string{"If-Match": cond.IfMatch}
			}
			if tc.fault != nil {
				srv.Inject(*tc.fault)
			}
			got, err := c.Put(ctx, "ver", tc.key, []byte("new"), "application/json", cond)
			if k := errKind(err); k != tc.wantErr {
				t.Fatalf("got error %v (%q), want %q", err, k, tc.wantErr)
			}
			if err == nil {
				if got.VersionID == "" || got.ETag == "" || got.ETag == old.ETag {
					t.Errorf("got version %q etag %q, want a new version and etag", got.VersionID, got.ETag)
				}
				reqs := srv.Requests()
				last := reqs[len(reqs)-1]
				if ct := last.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("got Content-Type %q, want application/json", ct)
				}
				for h, want := range tc.wantHeader {
					if v := last.Header.Get(h); v != want {
						t.Errorf("got header %s %q, want %q", h, v, want)
					}
				}
			}
			body, ok := srv.Object("ver", tc.key)
			if tc.wantBody == "" {
				if ok {
					t.Errorf("got object %q, want none", body)
				}
				return
			}
			if string(body) != tc.wantBody {
				t.Errorf("got content %q, want %q", body, tc.wantBody)
			}
		})
	}
}

func TestHead(t *testing.T) {
	c, _ := newClient(t)
	ctx := context.Background()
	put, err := c.Put(ctx, "ver", "k", []byte("12345"), "", s3api.Precondition{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Head(ctx, "ver", "k")
	if err != nil {
		t.Fatal(err)
	}
	if got.ETag != put.ETag || got.VersionID != put.VersionID || got.Size != 5 || got.LastModified.IsZero() {
		t.Errorf("got %+v, want etag %s version %s size 5 and a modification time", got, put.ETag, put.VersionID)
	}
	if _, err := c.Head(ctx, "ver", "missing"); !errors.Is(err, s3api.ErrNotFound) {
		t.Errorf("got error %v, want ErrNotFound", err)
	}
}

func TestDelete(t *testing.T) {
	tests := map[string]struct {
		bucket     string
		key        string
		ifMatch    string // "current" is replaced by the object's ETag
		wantErr    string
		wantExists bool
	}{
		"unconditional":               {bucket: "ver", key: "k"},
		"unconditional, unversioned":  {bucket: "plain", key: "k"},
		"unconditional, missing":      {bucket: "ver", key: "missing"},
		"if match, current":           {bucket: "ver", key: "k", ifMatch: "current"},
		"if match, stale":             {bucket: "ver", key: "k", ifMatch: `"0123456789abcdef0123456789abcdef"`, wantErr: "precondition", wantExists: true},
		"if match, missing":           {bucket: "ver", key: "missing", ifMatch: `"0123456789abcdef0123456789abcdef"`, wantErr: "not-found"},
		"if match, after a delete":    {bucket: "ver", key: "deleted", ifMatch: "current", wantErr: "not-found"},
		"if match, current, unversio": {bucket: "plain", key: "k", ifMatch: "current"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, srv := newClient(t)
			ctx := context.Background()
			put, err := c.Put(ctx, tc.bucket, "k", []byte("x"), "", s3api.Precondition{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Put(ctx, tc.bucket, "deleted", []byte("x"), "", s3api.Precondition{}); err != nil {
				t.Fatal(err)
			}
			if err := c.Delete(ctx, tc.bucket, "deleted", ""); err != nil {
				t.Fatal(err)
			}
			ifMatch := tc.ifMatch
			if ifMatch == "current" {
				ifMatch = put.ETag
			}
			err = c.Delete(ctx, tc.bucket, tc.key, ifMatch)
			if k := errKind(err); k != tc.wantErr {
				t.Fatalf("got error %v (%q), want %q", err, k, tc.wantErr)
			}
			if _, ok := srv.Object(tc.bucket, tc.key); ok != tc.wantExists {
				t.Errorf("got exists %t, want %t", ok, tc.wantExists)
			}
			if ifMatch != "" {
				reqs := srv.Requests()
				if got := reqs[len(reqs)-1].Header.Get("If-Match"); got != ifMatch {
					t.Errorf("got If-Match %q, want %q", got, ifMatch)
				}
			}
		})
	}
}

func TestList(t *testing.T) {
	keys := []string{"a/1", "a/2", "a/3", "a/4", "a/5", "ab/1", "b/1"}
	tests := map[string]struct {
		prefix   string
		limit    int
		pageSize int
		want     []string
	}{
		"one page":        {prefix: "a/", pageSize: 1000, want: keys[:5]},
		"several pages":   {prefix: "a/", pageSize: 2, want: keys[:5]},
		"limit":           {prefix: "a/", pageSize: 2, limit: 3, want: keys[:3]},
		"limit in a page": {prefix: "a/", pageSize: 1000, limit: 2, want: keys[:2]},
		"everything":      {pageSize: 3, want: keys},
		"no match":        {prefix: "c/", pageSize: 2, want: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, srv := newClient(t)
			ctx := context.Background()
			for _, k := range keys {
				if _, err := c.Put(ctx, "ver", k, []byte(k), "", s3api.Precondition{}); err != nil {
					t.Fatal(err)
				}
			}
			srv.SetPageSize(tc.pageSize)
			got, err := c.List(ctx, "ver", tc.prefix, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListErrors(t *testing.T) {
	c, srv := newClient(t)
	ctx := context.Background()
	if _, err := c.List(ctx, "gone", "", 0); !errors.Is(err, s3api.ErrNoSuchBucket) || !strings.Contains(err.Error(), `"gone"`) {
		t.Errorf("got error %v, want ErrNoSuchBucket naming the bucket", err)
	}
	srv.Inject(s3test.Fault{Method: http.MethodGet, Status: 503, Code: "SlowDown", Times: 1})
	var tr *workflow.Transient
	if _, err := c.List(ctx, "ver", "", 0); !errors.As(err, &tr) {
		t.Errorf("got error %v, want *workflow.Transient", err)
	}
	if _, err := c.List(ctx, "ver", "", 0); err != nil {
		t.Errorf("got error %v after the fault passed, want nil", err)
	}
}

// TestUnreachable checks that a connection failure is transient.
func TestUnreachable(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	url := hs.URL
	hs.Close()
	client := sdks3.NewFromConfig(aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
	}, func(o *sdks3.Options) {
		o.BaseEndpoint = aws.String(url)
		o.UsePathStyle = true
		o.Retryer = aws.NopRetryer{}
	})
	_, err := s3api.New(client).Get(context.Background(), "b", "k", "")
	var tr *workflow.Transient
	if !errors.As(err, &tr) {
		t.Errorf("got error %v, want *workflow.Transient", err)
	}
}

// hugeObjectServer serves every GET as an object of size bytes of zeros,
// generated as it is written, with or without a Content-Length.
func hugeObjectServer(t *testing.T, size int64, withLength bool) *sdks3.Client {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if withLength {
			w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		}
		w.Header().Set("ETag", `"e"`)
		w.WriteHeader(http.StatusOK)
		// The client hangs up early; the write error is expected.
		_, _ = io.Copy(w, io.LimitReader(zeros{}, size))
	}))
	t.Cleanup(hs.Close)
	return sdks3.NewFromConfig(aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
	}, func(o *sdks3.Options) {
		o.BaseEndpoint = aws.String(hs.URL)
		o.UsePathStyle = true
		o.Retryer = aws.NopRetryer{}
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestGetTooLarge reads objects larger than the reader's limit through the
// real SDK client: a 100 MiB object is refused by its Content-Length
// without reading the body, and one served without a length is cut off by
// the io.LimitReader one byte past the limit. Either way the memory held is
// bounded by the limit, not the object.
func TestGetTooLarge(t *testing.T) {
	const hundredMiB = 100 << 20
	tests := map[string]struct {
		size       int64
		withLength bool
		limit      int64 // 0 calls Get (DefaultMaxSize)
		want       *s3api.TooLargeError
		wantBody   int
	}{
		"100 MiB, Get": {size: hundredMiB, withLength: true,
			want: &s3api.TooLargeError{Location: "s3://b/k", Size: hundredMiB, Limit: s3api.DefaultMaxSize}},
		"100 MiB, 1 MiB limit": {size: hundredMiB, withLength: true, limit: 1 << 20,
			want: &s3api.TooLargeError{Location: "s3://b/k", Size: hundredMiB, Limit: 1 << 20}},
		"100 MiB without Content-Length": {size: hundredMiB, limit: 1 << 20,
			want: &s3api.TooLargeError{Location: "s3://b/k", Size: -1, Limit: 1 << 20}},
		"at the limit":                      {size: 1 << 20, withLength: true, limit: 1 << 20, wantBody: 1 << 20},
		"at the limit without length":       {size: 1 << 20, limit: 1 << 20, wantBody: 1 << 20},
		"one byte over without length":      {size: 1<<20 + 1, limit: 1 << 20, want: &s3api.TooLargeError{Location: "s3://b/k", Size: -1, Limit: 1 << 20}},
		"one byte over with Content-Length": {size: 1<<20 + 1, withLength: true, limit: 1 << 20, want: &s3api.TooLargeError{Location: "s3://b/k", Size: 1<<20 + 1, Limit: 1 << 20}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := s3api.New(hugeObjectServer(t, tc.size, tc.withLength))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var obj s3api.Object
			var err error
			if tc.limit == 0 {
				obj, err = c.Get(context.Background(), "b", "k", "")
			} else {
				obj, err = c.GetMax(context.Background(), "b", "k", "", tc.limit)
			}
			runtime.ReadMemStats(&after)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got error %v, want nil", err)
				}
				if len(obj.Body) != tc.wantBody {
					t.Errorf("got %d bytes, want %d", len(obj.Body), tc.wantBody)
				}
				return
			}
			var tooLarge *s3api.TooLargeError
			if !errors.As(err, &tooLarge) || !errors.Is(err, s3api.ErrTooLarge) {
				t.Fatalf("got error %v, want a *TooLargeError", err)
			}
			if diff := cmp.Diff(tc.want, tooLarge); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			limit := tc.limit
			if limit == 0 {
				limit = s3api.DefaultMaxSize
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 3*uint64(limit) {
				t.Errorf("allocated %d bytes reading a %d-byte object with a %d-byte limit, want about the limit", alloc, tc.size, tc.limit)
			}
		})
	}
}
