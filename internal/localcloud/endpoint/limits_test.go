package endpoint_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// filler reads as an endless run of 'x', so a test can send 100 MB without
// holding it.
type filler struct{}

func (filler) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// echo is a function that answers with its payload.
type echo struct{}

// Invoke returns the payload.
func (echo) Invoke(_ context.Context, payload []byte) ([]byte, error) { return payload, nil }

// hundredMB is the size of the bodies TestOversizedBodiesRefused sends.
const hundredMB = 100 << 20

// body returns prefix, n bytes of 'x', then suffix.
func body(prefix string, n int64, suffix string) io.Reader {
	return io.MultiReader(strings.NewReader(prefix), io.LimitReader(filler{}, n), strings.NewReader(suffix))
}

// gzipBomb is 100 MB of JSON compressed to about 100 KB.
func gzipBomb(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(zw, body(`{"cluster":"`, hundredMB, `"}`)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestOversizedBodiesRefused sends a 100 MB body (and a gzip body that
// inflates to 100 MB) to each protocol of the endpoint: each is refused
// with a clear error, having read no more than its limit. The fuzz
// targets cannot reach these sizes.
func TestOversizedBodiesRefused(t *testing.T) {
	e, url, cfg := serve(t)
	if err := e.Lambda.Register("echo", echo{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(context.Background(),
		&s3.CreateBucketInput{Bucket: aws.String("big")}); err != nil {
		t.Fatal(err)
	}
	const sigv4 = "AWS4-HMAC-SHA256 Credential=test/20261125/us-east-1/x/aws4_request, SignedHeaders=host, Signature=0"
	tests := map[string]struct {
		method, path string
		header       map[string]string
		body         func() (io.Reader, int64)
		wantStatus   int
		wantText     string
		// maxAlloc bounds what the request may allocate in this process
		// (client and server); 0 leaves it unchecked.
		maxAlloc uint64
	}{
		"ECS JSON 1.1": {method: "POST", path: "/",
			header:     map[string]string{"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeClusters", "Content-Type": "application/x-amz-json-1.1"},
			body:       func() (io.Reader, int64) { return body(`{"clusters":["`, hundredMB, `"]}`), hundredMB + 17 },
			wantStatus: http.StatusRequestEntityTooLarge, wantText: "request body larger than 8388608 bytes", maxAlloc: 48 << 20},
		"ECS JSON 1.1, gzip bomb": {method: "POST", path: "/",
			header: map[string]string{"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeClusters", "Content-Type": "application/x-amz-json-1.1",
				"Content-Encoding": "gzip"},
			body: func() (io.Reader, int64) {
				b := gzipBomb(t)
				return bytes.NewReader(b), int64(len(b))
			},
			wantStatus: http.StatusRequestEntityTooLarge, wantText: "decompressed request body larger than 8388608 bytes"},
		"ELBv2 query": {method: "POST", path: "/",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body: func() (io.Reader, int64) {
				return body("Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.1=", hundredMB, ""), hundredMB + 62
			},
			wantStatus: http.StatusRequestEntityTooLarge, wantText: "larger than", maxAlloc: 48 << 20},
		"CloudWatch CBOR": {method: "POST", path: "/service/GraniteServiceVersion20100801/operation/GetMetricData",
			header:     map[string]string{"Smithy-Protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"},
			body:       func() (io.Reader, int64) { return body("", hundredMB, ""), hundredMB },
			wantStatus: http.StatusRequestEntityTooLarge, wantText: "larger than", maxAlloc: 48 << 20},
		"Lambda Invoke": {method: "POST", path: "/2015-03-31/functions/echo/invocations",
			body:       func() (io.Reader, int64) { return body(`{"a":"`, hundredMB, `"}`), hundredMB + 8 },
			wantStatus: http.StatusRequestEntityTooLarge, wantText: "RequestTooLargeException", maxAlloc: 48 << 20},
		"S3 PutObject": {method: "PUT", path: "/big/object",
			body:       func() (io.Reader, int64) { return body("", hundredMB, ""), hundredMB },
			wantStatus: http.StatusBadRequest, wantText: "EntityTooLarge"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r, n := tc.body()
			req, err := http.NewRequest(tc.method, url+tc.path, r)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = n
			req.Header.Set("Authorization", sigv4)
			req.Header.Set("X-Amz-Date", "20261125T090000Z")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s with a 100 MB body: %v (want a %d answer)", tc.method, tc.path, err, tc.wantStatus)
			}
			got, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			runtime.ReadMemStats(&after)
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(got)+resp.Header.Get("X-Amzn-Errortype"), tc.wantText) {
				t.Errorf("got %d %s, want %d saying %q", resp.StatusCode, got, tc.wantStatus, tc.wantText)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; tc.maxAlloc > 0 && alloc > tc.maxAlloc {
				t.Errorf("the request allocated %d MB, want at most %d MB (the limit, not the body)", alloc>>20, tc.maxAlloc>>20)
			}
		})
	}
}
