package s3

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

func crc32Of(data []byte) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], crc32.ChecksumIEEE(data))
	return base64.StdEncoding.EncodeToString(b[:])
}

// newTestClient serves svc the way the core router does (request id in the
// context, errors in S3's shape) and returns an SDK client for it. The
// request id is fixed so tests can assert the events that carry it.
func newTestClient(t *testing.T, svc *Service) *awss3.Client {
	t.Helper()
	url := prototest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amz-Request-Id", "test-request")
		svc.ServeHTTP(w, r.WithContext(protocol.WithRequestID(r.Context(), "test-request")))
	}))
	return awss3.NewFromConfig(prototest.Config(url), func(o *awss3.Options) { o.UsePathStyle = true })
}

func newService(events protocol.EventSink) *Service {
	return New(Options{Events: events, Clock: nil})
}

func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func mustCreate(t *testing.T, c *awss3.Client, name string) {
	t.Helper()
	if _, err := c.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}

func put(t *testing.T, c *awss3.Client, bucket, key, body string) *awss3.PutObjectOutput {
	t.Helper()
	out, err := c.PutObject(context.Background(), &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	return out
}

func get(t *testing.T, c *awss3.Client, in *awss3.GetObjectInput) (string, *awss3.GetObjectOutput, error) {
	t.Helper()
	out, err := c.GetObject(context.Background(), in)
	if err != nil {
		return "", nil, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), out, err
}

func TestBuckets(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, newService(nil))
	mustCreate(t, c, "specs")
	mustCreate(t, c, "artifacts")

	_, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("specs")})
	var owned *types.BucketAlreadyOwnedByYou
	if !errors.As(err, &owned) {
		t.Errorf("create twice: got %v, want BucketAlreadyOwnedByYou", err)
	}
	_, err = c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
	if got := prototest.ErrorCode(err); got != "InvalidBucketName" {
		t.Errorf("bad name: got %q (%v), want InvalidBucketName", got, err)
	}

	list, err := c.ListBuckets(ctx, &awss3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range list.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	if diff := cmp.Diff([]string{"artifacts", "specs"}, names); diff != "" {
		t.Errorf("ListBuckets mismatch (-want +got):\n%s", diff)
	}

	if _, err := c.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String("specs")}); err != nil {
		t.Errorf("head existing bucket: %v", err)
	}
	_, err = c.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String("missing")})
	var notFound *types.NotFound
	if !errors.As(err, &notFound) {
		t.Errorf("head missing bucket: got %v, want NotFound", err)
	}

	put(t, c, "specs", "a", "x")
	_, err = c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("specs")})
	if got := prototest.ErrorCode(err); got != "BucketNotEmpty" || httpStatus(err) != http.StatusConflict {
		t.Errorf("delete non-empty: got %q %d, want BucketNotEmpty 409", got, httpStatus(err))
	}
	if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("specs"), Key: aws.String("a")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("specs")}); err != nil {
		t.Errorf("delete empty bucket: %v", err)
	}
	_, err = c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("specs")})
	if prototest.ErrorCode(err) != "NoSuchBucket" {
		t.Errorf("delete deleted bucket: got %v, want NoSuchBucket", err)
	}
	loc, err := c.GetBucketLocation(ctx, &awss3.GetBucketLocationInput{Bucket: aws.String("artifacts")})
	if err != nil || loc.LocationConstraint != "" {
		t.Errorf("location: got %q, %v; want empty (us-east-1)", loc.LocationConstraint, err)
	}
}

func TestObjectsUnversioned(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, newService(nil))
	mustCreate(t, c, "bkt")

	out := put(t, c, "bkt", "dir/web.yaml", "hello")
	if got, want := aws.ToString(out.ETag), `"5d41402abc4b2a76b9719d911017c592"`; got != want {
		t.Errorf("ETag: got %s, want %s", got, want)
	}
	if out.VersionId != nil {
		t.Errorf("unversioned put: got version id %s, want none", aws.ToString(out.VersionId))
	}
	_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("v"),
		ContentType: aws.String("application/yaml"), Metadata: map[string]string{"owner": "team-a"}})
	if err != nil {
		t.Fatal(err)
	}
	body, got, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if body != "v" || aws.ToString(got.ContentType) != "application/yaml" || got.Metadata["owner"] != "team-a" {
		t.Errorf("get: got body %q type %q metadata %v, want v application/yaml owner=team-a", body, aws.ToString(got.ContentType), got.Metadata)
	}

	head, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/web.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(head.ContentLength) != 5 || aws.ToString(head.ETag) != aws.ToString(out.ETag) {
		t.Errorf("head: got length %d etag %s, want 5 %s", aws.ToInt64(head.ContentLength), aws.ToString(head.ETag), aws.ToString(out.ETag))
	}

	_, _, err = get(t, c, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("missing")})
	var noKey *types.NoSuchKey
	if !errors.As(err, &noKey) {
		t.Errorf("get missing: got %v, want NoSuchKey", err)
	}
	_, err = c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("missing")})
	var notFound *types.NotFound
	if !errors.As(err, &notFound) {
		t.Errorf("head missing: got %v, want NotFound", err)
	}
	_, _, err = get(t, c, &awss3.GetObjectInput{Bucket: aws.String("nope"), Key: aws.String("k")})
	if prototest.ErrorCode(err) != "NoSuchBucket" {
		t.Errorf("get from missing bucket: got %v, want NoSuchBucket", err)
	}
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("nope"), Key: aws.String("k"), Body: strings.NewReader("v")})
	if prototest.ErrorCode(err) != "NoSuchBucket" {
		t.Errorf("put to missing bucket: got %v, want NoSuchBucket", err)
	}

	// Range reads.
	body, _, err = get(t, c, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/web.yaml"), Range: aws.String("bytes=1-3")})
	if err != nil || body != "ell" {
		t.Errorf("range: got %q, %v; want ell", body, err)
	}

	// Overwrite, then delete: an unversioned bucket keeps one version.
	put(t, c, "bkt", "k", "v2")
	body, _, _ = get(t, c, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if body != "v2" {
		t.Errorf("after overwrite: got %q, want v2", body)
	}
	del, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil || aws.ToBool(del.DeleteMarker) {
		t.Errorf("delete: got marker %v, %v; want no marker", aws.ToBool(del.DeleteMarker), err)
	}
	if _, _, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")}); !errors.As(err, &noKey) {
		t.Errorf("get deleted: got %v, want NoSuchKey", err)
	}
	// Deleting a missing key succeeds, as on S3.
	if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")}); err != nil {
		t.Errorf("delete missing key: %v", err)
	}
}

func TestConditionalRequests(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, newService(nil))
	mustCreate(t, c, "bkt")
	first, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("lock"), Body: strings.NewReader("1"), IfNoneMatch: aws.String("*")})
	if err != nil {
		t.Fatalf("first create with If-None-Match: %v", err)
	}
	tests := map[string]struct {
		call       func() error
		wantCode   string
		wantStatus int
	}{
		"If-None-Match * on existing key": {
			call: func() error {
				_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("lock"), Body: strings.NewReader("2"), IfNoneMatch: aws.String("*")})
				return err
			},
			wantCode: "PreconditionFailed", wantStatus: 412,
		},
		"If-Match with a stale ETag": {
			call: func() error {
				_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("lock"), Body: strings.NewReader("2"), IfMatch: aws.String(`"0000"`)})
				return err
			},
			wantCode: "PreconditionFailed", wantStatus: 412,
		},
		"If-Match on a missing key": {
			call: func() error {
				_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("none"), Body: strings.NewReader("2"), IfMatch: first.ETag})
				return err
			},
			wantCode: "NoSuchKey", wantStatus: 404,
		},
		"conditional delete with a stale ETag": {
			call: func() error {
				_, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("lock"), IfMatch: aws.String(`"0000"`)})
				return err
			},
			wantCode: "PreconditionFailed", wantStatus: 412,
		},
		"conditional get with a stale ETag": {
			call: func() error {
				_, _, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("lock"), IfMatch: aws.String(`"0000"`)})
				return err
			},
			wantCode: "PreconditionFailed", wantStatus: 412,
		},
		"If-Match with the current ETag": {
			call: func() error {
				_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("other"), Body: strings.NewReader("x")})
				if err != nil {
					return err
				}
				_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("other"), Body: strings.NewReader("y"), IfMatch: aws.String(`"9dd4e461268c8034f5c8564e155c67a6"`)})
				return err
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.call()
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			if got := prototest.ErrorCode(err); got != tc.wantCode || httpStatus(err) != tc.wantStatus {
				t.Errorf("got %q %d (%v), want %s %d", got, httpStatus(err), err, tc.wantCode, tc.wantStatus)
			}
		})
	}
	// The failed writes left the first version in place; a matching
	// conditional delete removes it.
	body, _, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("lock")})
	if err != nil || body != "1" {
		t.Fatalf("after failed conditional writes: got %q, %v; want 1", body, err)
	}
	if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("lock"), IfMatch: first.ETag}); err != nil {
		t.Errorf("conditional delete with the current ETag: %v", err)
	}
	// If-None-Match on a read answers 304.
	put(t, c, "bkt", "cached", "c")
	_, _, err = get(t, c, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("cached"), IfNoneMatch: aws.String(`"4a8a08f09d37b73795649038408b5f33"`)})
	if httpStatus(err) != http.StatusNotModified {
		t.Errorf("If-None-Match read: got status %d (%v), want 304", httpStatus(err), err)
	}
}

func TestVersioning(t *testing.T) {
	ctx := context.Background()
	events := &prototest.Events{}
	c := newTestClient(t, newService(events))
	mustCreate(t, c, "specs")
	v, err := c.GetBucketVersioning(ctx, &awss3.GetBucketVersioningInput{Bucket: aws.String("specs")})
	if err != nil || v.Status != "" {
		t.Fatalf("versioning of a new bucket: got %q, %v; want empty", v.Status, err)
	}
	if _, err := c.PutBucketVersioning(ctx, &awss3.PutBucketVersioningInput{Bucket: aws.String("specs"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	v, err = c.GetBucketVersioning(ctx, &awss3.GetBucketVersioningInput{Bucket: aws.String("specs")})
	if err != nil || v.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning: got %q, %v; want Enabled", v.Status, err)
	}
	v1 := aws.ToString(put(t, c, "specs", "services/web.yaml", "one").VersionId)
	v2 := aws.ToString(put(t, c, "specs", "services/web.yaml", "two").VersionId)
	if v1 == "" || v2 == "" || v1 == v2 {
		t.Fatalf("version ids: got %q and %q, want two distinct ids", v1, v2)
	}
	body, out, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("specs"), Key: aws.String("services/web.yaml"), VersionId: aws.String(v1)})
	if err != nil || body != "one" || aws.ToString(out.VersionId) != v1 {
		t.Errorf("get v1: got %q %s, %v; want one %s", body, aws.ToString(out.VersionId), err, v1)
	}
	_, _, err = get(t, c, &awss3.GetObjectInput{Bucket: aws.String("specs"), Key: aws.String("services/web.yaml"), VersionId: aws.String("nope")})
	if got := prototest.ErrorCode(err); got != "NoSuchVersion" {
		t.Errorf("get unknown version: got %q (%v), want NoSuchVersion", got, err)
	}

	del, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("specs"), Key: aws.String("services/web.yaml")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) == "" {
		t.Fatalf("delete in versioned bucket: got marker %v id %q, %v; want a delete marker", aws.ToBool(del.DeleteMarker), aws.ToString(del.VersionId), err)
	}
	var noKey *types.NoSuchKey
	if _, _, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("specs"), Key: aws.String("services/web.yaml")}); !errors.As(err, &noKey) {
		t.Errorf("get behind a delete marker: got %v, want NoSuchKey", err)
	}
	if body, _, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("specs"), Key: aws.String("services/web.yaml"), VersionId: aws.String(v2)}); err != nil || body != "two" {
		t.Errorf("get v2 behind a delete marker: got %q, %v; want two", body, err)
	}

	list, err := c.ListObjectVersions(ctx, &awss3.ListObjectVersionsInput{Bucket: aws.String("specs")})
	if err != nil {
		t.Fatal(err)
	}
	var gotVersions []string
	for _, ov := range list.Versions {
		gotVersions = append(gotVersions, aws.ToString(ov.VersionId))
	}
	if diff := cmp.Diff([]string{v2, v1}, gotVersions); diff != "" {
		t.Errorf("versions newest first (-want +got):\n%s", diff)
	}
	if len(list.DeleteMarkers) != 1 || !aws.ToBool(list.DeleteMarkers[0].IsLatest) || aws.ToString(list.DeleteMarkers[0].VersionId) != aws.ToString(del.VersionId) {
		t.Errorf("delete markers: got %+v, want the one latest marker %s", list.DeleteMarkers, aws.ToString(del.VersionId))
	}

	// Paging through versions one at a time visits all three entries.
	var paged []string
	p := awss3.NewListObjectVersionsPaginator(c, &awss3.ListObjectVersionsInput{Bucket: aws.String("specs"), MaxKeys: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.DeleteMarkers {
			paged = append(paged, "marker:"+aws.ToString(m.VersionId))
		}
		for _, ov := range page.Versions {
			paged = append(paged, aws.ToString(ov.VersionId))
		}
	}
	if diff := cmp.Diff([]string{"marker:" + aws.ToString(del.VersionId), v2, v1}, paged); diff != "" {
		t.Errorf("paged versions (-want +got):\n%s", diff)
	}

	// Removing the marker restores v2.
	if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("specs"), Key: aws.String("services/web.yaml"), VersionId: del.VersionId}); err != nil {
		t.Fatal(err)
	}
	if body, _, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("specs"), Key: aws.String("services/web.yaml")}); err != nil || body != "two" {
		t.Errorf("after removing the marker: got %q, %v; want two", body, err)
	}

	// Suspended: puts write the null version.
	if _, err := c.PutBucketVersioning(ctx, &awss3.PutBucketVersioningInput{Bucket: aws.String("specs"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}}); err != nil {
		t.Fatal(err)
	}
	put(t, c, "specs", "services/web.yaml", "three")
	put(t, c, "specs", "services/web.yaml", "four")
	list, err = c.ListObjectVersions(ctx, &awss3.ListObjectVersionsInput{Bucket: aws.String("specs")})
	if err != nil {
		t.Fatal(err)
	}
	gotVersions = nil
	for _, ov := range list.Versions {
		gotVersions = append(gotVersions, aws.ToString(ov.VersionId))
	}
	if diff := cmp.Diff([]string{"null", v2, v1}, gotVersions); diff != "" {
		t.Errorf("suspended versions (-want +got):\n%s", diff)
	}
	if len(events.All()) != 0 {
		t.Errorf("got %d events without EventBridge enabled, want none", len(events.All()))
	}
}

func TestListObjectsV2(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, newService(nil))
	mustCreate(t, c, "bkt")
	for _, k := range []string{"services/web.yaml", "services/worker.yaml", "environments/prod.yaml", "environments/dev.yaml", "README", "space key"} {
		put(t, c, "bkt", k, k)
	}
	tests := map[string]struct {
		in           awss3.ListObjectsV2Input
		wantKeys     []string
		wantPrefixes []string
	}{
		"all": {
			wantKeys: []string{"README", "environments/dev.yaml", "environments/prod.yaml", "services/web.yaml", "services/worker.yaml", "space key"},
		},
		"prefix": {
			in:       awss3.ListObjectsV2Input{Prefix: aws.String("services/")},
			wantKeys: []string{"services/web.yaml", "services/worker.yaml"},
		},
		"delimiter": {
			in:           awss3.ListObjectsV2Input{Delimiter: aws.String("/")},
			wantKeys:     []string{"README", "space key"},
			wantPrefixes: []string{"environments/", "services/"},
		},
		"prefix and delimiter": {
			in:       awss3.ListObjectsV2Input{Prefix: aws.String("environments/"), Delimiter: aws.String("/")},
			wantKeys: []string{"environments/dev.yaml", "environments/prod.yaml"},
		},
		"start after": {
			in:       awss3.ListObjectsV2Input{StartAfter: aws.String("services/web.yaml")},
			wantKeys: []string{"services/worker.yaml", "space key"},
		},
		"url encoding": {
			in:       awss3.ListObjectsV2Input{Prefix: aws.String("space"), EncodingType: types.EncodingTypeUrl},
			wantKeys: []string{"space%20key"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := tc.in
			in.Bucket = aws.String("bkt")
			out, err := c.ListObjectsV2(ctx, &in)
			if err != nil {
				t.Fatal(err)
			}
			var keys, prefixes []string
			for _, o := range out.Contents {
				keys = append(keys, aws.ToString(o.Key))
			}
			for _, p := range out.CommonPrefixes {
				prefixes = append(prefixes, aws.ToString(p.Prefix))
			}
			if diff := cmp.Diff(tc.wantKeys, keys); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantPrefixes, prefixes); diff != "" {
				t.Errorf("common prefixes (-want +got):\n%s", diff)
			}
			if got, want := int(aws.ToInt32(out.KeyCount)), len(tc.wantKeys)+len(tc.wantPrefixes); got != want {
				t.Errorf("KeyCount: got %d, want %d", got, want)
			}
		})
	}

	// Pages of two with a delimiter: README, environments/ | services/, space key.
	var pages [][]string
	p := awss3.NewListObjectsV2Paginator(c, &awss3.ListObjectsV2Input{Bucket: aws.String("bkt"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var items []string
		for _, o := range page.Contents {
			items = append(items, aws.ToString(o.Key))
		}
		for _, cp := range page.CommonPrefixes {
			items = append(items, aws.ToString(cp.Prefix))
		}
		pages = append(pages, items)
	}
	if diff := cmp.Diff([][]string{{"README", "environments/"}, {"space key", "services/"}}, pages); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}

	zero, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("bkt"), MaxKeys: aws.Int32(0)})
	if err != nil || len(zero.Contents) != 0 || aws.ToBool(zero.IsTruncated) {
		t.Errorf("max-keys 0: got %d keys truncated %v, %v; want none, not truncated", len(zero.Contents), aws.ToBool(zero.IsTruncated), err)
	}

	// ListObjects (version 1) pages by marker.
	v1, err := c.ListObjects(ctx, &awss3.ListObjectsInput{Bucket: aws.String("bkt"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(v1.IsTruncated) || aws.ToString(v1.NextMarker) != "environments/" || len(v1.Contents) != 1 || len(v1.CommonPrefixes) != 1 {
		t.Errorf("ListObjects page 1: got truncated %v next %q %d keys %d prefixes, want true environments/ 1 1",
			aws.ToBool(v1.IsTruncated), aws.ToString(v1.NextMarker), len(v1.Contents), len(v1.CommonPrefixes))
	}
	v1, err = c.ListObjects(ctx, &awss3.ListObjectsInput{Bucket: aws.String("bkt"), Delimiter: aws.String("/"), Marker: v1.NextMarker})
	if err != nil || aws.ToBool(v1.IsTruncated) || len(v1.Contents) != 1 || len(v1.CommonPrefixes) != 1 {
		t.Errorf("ListObjects page 2: got %+v, %v; want space key and services/", v1, err)
	}

	_, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("bkt"), ContinuationToken: aws.String("!!!")})
	if got := prototest.ErrorCode(err); got != "InvalidArgument" {
		t.Errorf("bad continuation token: got %q (%v), want InvalidArgument", got, err)
	}
	_, err = c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("missing")})
	var noBucket *types.NoSuchBucket
	if !errors.As(err, &noBucket) {
		t.Errorf("list missing bucket: got %v, want NoSuchBucket", err)
	}
}

func TestDeleteObjects(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, newService(nil))
	mustCreate(t, c, "bkt")
	put(t, c, "bkt", "a", "1")
	put(t, c, "bkt", "c", "2")
	out, err := c.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: aws.String("bkt"), Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("a")}, {Key: aws.String("c")}, {Key: aws.String("never")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Deleted) != 3 {
		t.Errorf("got %d deleted entries, want 3", len(out.Deleted))
	}
	list, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("bkt")})
	if err != nil || len(list.Contents) != 0 {
		t.Errorf("after DeleteObjects: got %d objects, %v; want none", len(list.Contents), err)
	}
}

func TestObjectCreatedEvents(t *testing.T) {
	ctx := context.Background()
	events := &prototest.Events{}
	c := newTestClient(t, newService(events))
	mustCreate(t, c, "specs")
	if _, err := c.PutBucketVersioning(ctx, &awss3.PutBucketVersioningInput{Bucket: aws.String("specs"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	put(t, c, "specs", "before", "x")
	if _, err := c.PutBucketNotificationConfiguration(ctx, &awss3.PutBucketNotificationConfigurationInput{Bucket: aws.String("specs"),
		NotificationConfiguration: &types.NotificationConfiguration{EventBridgeConfiguration: &types.EventBridgeConfiguration{}}}); err != nil {
		t.Fatal(err)
	}
	cfg, err := c.GetBucketNotificationConfiguration(ctx, &awss3.GetBucketNotificationConfigurationInput{Bucket: aws.String("specs")})
	if err != nil || cfg.EventBridgeConfiguration == nil {
		t.Fatalf("notification configuration: got %+v, %v; want EventBridge on", cfg, err)
	}
	out := put(t, c, "specs", "services/web.yaml", "hello")
	got := events.All()
	want := []protocol.Event{{
		Source:     "aws.s3",
		DetailType: "Object Created",
		Resources:  []string{"arn:aws:s3:::specs"},
		Detail: map[string]any{
			"version": "0",
			"bucket":  map[string]any{"name": "specs"},
			"object": map[string]any{
				"key": "services/web.yaml", "size": 5, "etag": "5d41402abc4b2a76b9719d911017c592",
				"version-id": aws.ToString(out.VersionId), "sequencer": "000000000000000002",
			},
			"request-id":        "test-request",
			"requester":         "000000000000",
			"source-ip-address": "127.0.0.1",
			"reason":            "PutObject",
		},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	// Turning EventBridge off stops the events.
	if _, err := c.PutBucketNotificationConfiguration(ctx, &awss3.PutBucketNotificationConfigurationInput{Bucket: aws.String("specs"),
		NotificationConfiguration: &types.NotificationConfiguration{}}); err != nil {
		t.Fatal(err)
	}
	put(t, c, "specs", "after", "x")
	if n := len(events.All()); n != 1 {
		t.Errorf("got %d events after turning EventBridge off, want 1", n)
	}
}

func TestSnapshotRestore(t *testing.T) {
	ctx := context.Background()
	svc := newService(nil)
	c := newTestClient(t, svc)
	mustCreate(t, c, "specs")
	if _, err := c.PutBucketVersioning(ctx, &awss3.PutBucketVersioningInput{Bucket: aws.String("specs"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	v1 := put(t, c, "specs", "k", "one")
	put(t, c, "specs", "k", "two")
	snap, err := svc.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored := newService(nil)
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	c2 := newTestClient(t, restored)
	body, _, err := get(t, c2, &awss3.GetObjectInput{Bucket: aws.String("specs"), Key: aws.String("k"), VersionId: v1.VersionId})
	if err != nil || body != "one" {
		t.Errorf("restored v1: got %q, %v; want one", body, err)
	}
	// New versions after a restore get fresh ids.
	v3 := put(t, c2, "specs", "k", "three")
	if aws.ToString(v3.VersionId) == aws.ToString(v1.VersionId) {
		t.Errorf("version id reused after restore: %s", aws.ToString(v3.VersionId))
	}
	for name, bad := range map[string]string{
		"not JSON":      `{`,
		"bad name":      `{"buckets":[{"name":"Bad_Name"}]}`,
		"etag tampered": `{"buckets":[{"name":"abc","objects":{"k":[{"ID":"null","Data":"eA==","ETag":"\"0\""}]}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if err := newService(nil).Restore([]byte(bad)); err == nil {
				t.Errorf("got nil error, want a restore error")
			}
		})
	}
}

func TestChunkedUpload(t *testing.T) {
	svc := newService(nil)
	srv := httptest.NewServer(svc)
	defer srv.Close()
	do := func(method, path string, body string, headers map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if resp := do(http.MethodPut, "/bkt", "", nil); resp.StatusCode != 200 {
		t.Fatalf("create bucket: got %d, want 200", resp.StatusCode)
	}
	data := "hello, chunked world"
	sig := ";chunk-signature=" + strings.Repeat("0", 64)
	tests := map[string]struct {
		body       string
		headers    map[string]string
		wantStatus int
		wantBody   string
	}{
		"signed chunks": {
			body: "5" + sig + "\r\nhello\r\nf" + sig + "\r\n, chunked world\r\n0" + sig + "\r\n\r\n",
			headers: map[string]string{"X-Amz-Content-Sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
				"X-Amz-Decoded-Content-Length": "20", "Content-Encoding": "aws-chunked"},
			wantStatus: 200, wantBody: data,
		},
		"unsigned with a checksum trailer": {
			body: "14\r\n" + data + "\r\n0\r\nx-amz-checksum-crc32:" + crc32Of([]byte(data)) + "\r\n\r\n",
			headers: map[string]string{"X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
				"X-Amz-Trailer": "x-amz-checksum-crc32", "Content-Encoding": "aws-chunked"},
			wantStatus: 200, wantBody: data,
		},
		"wrong trailer checksum": {
			body:       "14\r\n" + data + "\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
			headers:    map[string]string{"X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
			wantStatus: 400,
		},
		"decoded length mismatch": {
			body:       "5\r\nhello\r\n0\r\n\r\n",
			headers:    map[string]string{"X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "X-Amz-Decoded-Content-Length": "6"},
			wantStatus: 400,
		},
		"bad chunk size": {
			body:       "zz\r\nhello\r\n0\r\n\r\n",
			headers:    map[string]string{"Content-Encoding": "aws-chunked"},
			wantStatus: 400,
		},
		"short chunk": {
			body:       "50\r\nhello",
			headers:    map[string]string{"Content-Encoding": "aws-chunked"},
			wantStatus: 400,
		},
		"unsigned payload": {
			body:       data,
			headers:    map[string]string{"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"},
			wantStatus: 200, wantBody: data,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp := do(http.MethodPut, "/bkt/obj", tc.body, tc.headers)
			if resp.StatusCode != tc.wantStatus {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("put: got %d %s, want %d", resp.StatusCode, b, tc.wantStatus)
			}
			if tc.wantStatus != 200 {
				return
			}
			got := do(http.MethodGet, "/bkt/obj", "", nil)
			b, _ := io.ReadAll(got.Body)
			if string(b) != tc.wantBody {
				t.Errorf("stored body: got %q, want %q", b, tc.wantBody)
			}
			if ce := got.Header.Get("Content-Encoding"); ce != "" {
				t.Errorf("stored Content-Encoding: got %q, want none (aws-chunked is framing)", ce)
			}
		})
	}
}

func TestUnsupportedAndMalformed(t *testing.T) {
	svc := newService(nil)
	srv := httptest.NewServer(svc)
	defer srv.Close()
	tests := map[string]struct {
		method, path, body string
		wantStatus         int
		wantCode           string
	}{
		"acl":                    {method: http.MethodGet, path: "/bkt?acl", wantStatus: 501, wantCode: "NotImplemented"},
		"list multipart uploads": {method: http.MethodGet, path: "/bkt?uploads", wantStatus: 501, wantCode: "NotImplemented"},
		"list parts":             {method: http.MethodGet, path: "/bkt/k?uploadId=x", wantStatus: 501, wantCode: "NotImplemented"},
		"part of unknown upload": {method: http.MethodPut, path: "/bkt/k?uploadId=x&partNumber=1", body: "x", wantStatus: 404, wantCode: "NoSuchUpload"},
		"part number zero":       {method: http.MethodPut, path: "/bkt/k?uploadId=x&partNumber=0", body: "x", wantStatus: 400, wantCode: "InvalidArgument"},
		"post object":            {method: http.MethodPost, path: "/bkt/k", wantStatus: 405, wantCode: "MethodNotAllowed"},
		"malformed versioning":   {method: http.MethodPut, path: "/bkt?versioning", body: "<Versioning", wantStatus: 400, wantCode: "MalformedXML"},
		"bad versioning status":  {method: http.MethodPut, path: "/bkt?versioning", body: "<VersioningConfiguration><Status>On</Status></VersioningConfiguration>", wantStatus: 400, wantCode: "MalformedXML"},
		"negative max-keys":      {method: http.MethodGet, path: "/bkt?list-type=2&max-keys=-1", wantStatus: 400, wantCode: "InvalidArgument"},
		"version marker alone":   {method: http.MethodGet, path: "/bkt?versions&version-id-marker=x", wantStatus: 400, wantCode: "InvalidArgument"},
		"malformed notification": {method: http.MethodPut, path: "/bkt?notification", body: "nope", wantStatus: 400, wantCode: "MalformedXML"},
		"delete root":            {method: http.MethodDelete, path: "/", wantStatus: 405, wantCode: "MethodNotAllowed"},
		"copy object":            {method: http.MethodPut, path: "/bkt/k?x-id=CopyObject", wantStatus: 501, wantCode: "NotImplemented"},
	}
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/bkt", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("create bucket: %v", err)
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			status, _, b := prototest.Do(t, prototest.NewRequest(t, tc.method, srv.URL+tc.path, tc.body))
			if status != tc.wantStatus || !strings.Contains(b, "<Code>"+tc.wantCode+"</Code>") {
				t.Errorf("got %d %s, want %d with code %s", status, b, tc.wantStatus, tc.wantCode)
			}
		})
	}
}

func FuzzDecodeChunked(f *testing.F) {
	f.Add([]byte("5;chunk-signature=00\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n"))
	f.Add([]byte("ffffffffffffffff\r\n"))
	f.Add([]byte("0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		req := httptest.NewRequest(http.MethodPut, "/bkt/k", bytes.NewReader(b))
		req.Header.Set("Content-Encoding", "aws-chunked")
		data, trailers, err := readPayload(req)
		if err == nil {
			_, _ = verifyChecksums(data, req.Header, trailers)
		}
	})
}

func FuzzServeHTTP(f *testing.F) {
	f.Add("GET", "/bkt?list-type=2&max-keys=3&continuation-token=YQ", "")
	f.Add("GET", "/bkt?versions&key-marker=a&version-id-marker=null", "")
	f.Add("POST", "/bkt/k?uploads", "")
	f.Add("POST", "/bkt/k?uploadId=x", "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>")
	f.Add("PUT", "/bkt/k", "data")
	f.Add("POST", "/bkt?delete", "<Delete><Object><Key>k</Key></Object></Delete>")
	f.Add("PUT", "/bkt?notification", "<NotificationConfiguration><EventBridgeConfiguration/></NotificationConfiguration>")
	f.Fuzz(func(t *testing.T, method, target, body string) {
		svc := newService(nil)
		svc.buckets["bkt"] = &bucket{Name: "bkt", Objects: map[string][]*version{"k": {{ID: "null", Data: []byte("x"), ETag: etagOf([]byte("x"))}}}}
		req, err := http.NewRequest(method, "http://local"+target, strings.NewReader(body))
		if err != nil || req.URL.Path == "" {
			return
		}
		svc.ServeHTTP(httptest.NewRecorder(), req)
	})
}

// TestSDKStreamingUpload sends an unseekable body over TLS, which the SDK
// frames as aws-chunked with a trailing CRC32 checksum, and reads it back
// with checksum validation on.
func TestSDKStreamingUpload(t *testing.T) {
	ctx := context.Background()
	var sawChunked bool
	svc := newService(nil)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
			sawChunked = true
		}
		svc.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c := awss3.New(awss3.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		UsePathStyle:     true,
		HTTPClient:       srv.Client(),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
	})
	mustCreate(t, c, "bkt")
	data := strings.Repeat("streamed spec line\n", 5000)
	_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("big.yaml"),
		Body: io.NopCloser(strings.NewReader(data)), ContentLength: aws.Int64(int64(len(data))), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatal(err)
	}
	if !sawChunked {
		t.Errorf("the SDK did not stream the upload; the aws-chunked path went untested")
	}
	body, out, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("big.yaml"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	if body != data {
		t.Errorf("read back %d bytes, want the %d uploaded", len(body), len(data))
	}
	if aws.ToString(out.ChecksumCRC32) == "" {
		t.Errorf("GetObject with checksum mode: got no CRC32, want the one uploaded")
	}
}

func TestVirtualHostedStyle(t *testing.T) {
	svc := newService(nil)
	srv := httptest.NewServer(svc)
	defer srv.Close()
	do := func(method, host, path, body string) (int, string) {
		t.Helper()
		req := prototest.NewRequest(t, method, srv.URL+path, body)
		req.Host = host
		status, _, b := prototest.Do(t, req)
		return status, b
	}
	if status, body := do(http.MethodPut, "specs.localhost:4566", "/", ""); status != 200 {
		t.Fatalf("create bucket virtual-hosted: got %d %s", status, body)
	}
	if status, body := do(http.MethodPut, "specs.localhost:4566", "/services/web.yaml", "spec"); status != 200 {
		t.Fatalf("put virtual-hosted: got %d %s", status, body)
	}
	if status, body := do(http.MethodGet, "127.0.0.1", "/specs/services/web.yaml", ""); status != 200 || body != "spec" {
		t.Errorf("get path style: got %d %q, want 200 spec", status, body)
	}
	req := httptest.NewRequest(http.MethodGet, "/services/web.yaml", nil)
	req.Host = "specs.localhost"
	if got := Operation(req); got != "GetObject" {
		t.Errorf("Operation of a virtual-hosted GET: got %s, want GetObject", got)
	}
}

func TestMultipartUpload(t *testing.T) {
	ctx := context.Background()
	events := &prototest.Events{}
	c := newTestClient(t, newService(events))
	mustCreate(t, c, "bkt")
	if _, err := c.PutBucketNotificationConfiguration(ctx, &awss3.PutBucketNotificationConfigurationInput{Bucket: aws.String("bkt"),
		NotificationConfiguration: &types.NotificationConfiguration{EventBridgeConfiguration: &types.EventBridgeConfiguration{}}}); err != nil {
		t.Fatal(err)
	}
	start := func(key string) string {
		t.Helper()
		out, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String(key), ContentType: aws.String("text/plain")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.UploadId)
	}
	uploadPart := func(key, id string, n int32, data []byte) string {
		t.Helper()
		out, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String(key), UploadId: aws.String(id),
			PartNumber: aws.Int32(n), Body: bytes.NewReader(data)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.ETag)
	}
	first := bytes.Repeat([]byte("a"), minPartSize)
	last := []byte("tail")
	id := start("big.bin")
	e1 := uploadPart("big.bin", id, 1, first)
	e2 := uploadPart("big.bin", id, 2, last)
	done, err := c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("big.bin"), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(e1)}, {PartNumber: aws.Int32(2), ETag: aws.String(e2)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(aws.ToString(done.ETag), `-2"`) {
		t.Errorf("multipart ETag: got %s, want the -2 suffix of a two-part upload", aws.ToString(done.ETag))
	}
	body, out, err := get(t, c, &awss3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("big.bin")})
	if err != nil {
		t.Fatal(err)
	}
	if body != string(first)+string(last) || aws.ToString(out.ContentType) != "text/plain" {
		t.Errorf("assembled object: got %d bytes of type %s, want %d of text/plain", len(body), aws.ToString(out.ContentType), len(first)+len(last))
	}
	if evs := events.All(); len(evs) != 1 || evs[0].Detail.(map[string]any)["reason"] != "CompleteMultipartUpload" {
		t.Errorf("events: got %+v, want one Object Created by CompleteMultipartUpload", evs)
	}
	// The upload is gone once completed.
	_, err = c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String("big.bin"), UploadId: aws.String(id), PartNumber: aws.Int32(3), Body: bytes.NewReader(last)})
	if got := prototest.ErrorCode(err); got != "NoSuchUpload" {
		t.Errorf("part after completion: got %q (%v), want NoSuchUpload", got, err)
	}

	complete := func(key, id string, parts ...types.CompletedPart) error {
		_, err := c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String(key), UploadId: aws.String(id),
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		return err
	}
	small := start("small")
	s1 := uploadPart("small", small, 1, last)
	s2 := uploadPart("small", small, 2, last)
	tests := map[string]struct {
		err  error
		want string
	}{
		"part too small": {err: complete("small", small, types.CompletedPart{PartNumber: aws.Int32(1), ETag: aws.String(s1)}, types.CompletedPart{PartNumber: aws.Int32(2), ETag: aws.String(s2)}), want: "EntityTooSmall"},
		"wrong ETag":     {err: complete("small", small, types.CompletedPart{PartNumber: aws.Int32(1), ETag: aws.String(`"00"`)}), want: "InvalidPart"},
		"missing part":   {err: complete("small", small, types.CompletedPart{PartNumber: aws.Int32(7), ETag: aws.String(s1)}), want: "InvalidPart"},
		"out of order":   {err: complete("small", small, types.CompletedPart{PartNumber: aws.Int32(2), ETag: aws.String(s2)}, types.CompletedPart{PartNumber: aws.Int32(1), ETag: aws.String(s1)}), want: "InvalidPartOrder"},
		"other key":      {err: complete("other", small, types.CompletedPart{PartNumber: aws.Int32(1), ETag: aws.String(s1)}), want: "NoSuchUpload"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := prototest.ErrorCode(tc.err); got != tc.want {
				t.Errorf("got %q (%v), want %s", got, tc.err, tc.want)
			}
		})
	}
	// A single last part may be small; If-None-Match guards the completion.
	_, err = c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("big.bin"), UploadId: aws.String(small), IfNoneMatch: aws.String("*"),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(s1)}}}})
	if got := prototest.ErrorCode(err); got != "NoSuchUpload" {
		t.Errorf("completing under another key: got %q, want NoSuchUpload", got)
	}
	if err := complete("small", small, types.CompletedPart{PartNumber: aws.Int32(2), ETag: aws.String(s2)}); err != nil {
		t.Errorf("single small last part: %v", err)
	}
	again := start("small")
	uploadPart("small", again, 1, last)
	_, err = c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("small"), UploadId: aws.String(again), IfNoneMatch: aws.String("*"),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(s1)}}}})
	if got := prototest.ErrorCode(err); got != "PreconditionFailed" {
		t.Errorf("If-None-Match completion over an existing key: got %q (%v), want PreconditionFailed", got, err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("small"), UploadId: aws.String(again)}); err != nil {
		t.Errorf("abort: %v", err)
	}
	_, err = c.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("small"), UploadId: aws.String(again)})
	if got := prototest.ErrorCode(err); got != "NoSuchUpload" {
		t.Errorf("abort twice: got %q (%v), want NoSuchUpload", got, err)
	}
}
