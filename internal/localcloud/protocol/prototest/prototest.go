// Package prototest holds the set-up shared by the local endpoint's tests:
// an HTTP test server for a handler, an aws.Config that points SDK clients
// at it, and an EventSink that records what services emit. It does not import the router, so the router's own tests
// can use it too; services' tests serve their handlers through the real
// router (localcloud.NewServer and its Register methods).
package prototest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// Serve starts a test HTTP server for h, closed when the test ends, and
// returns its URL.
func Serve(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Config returns the configuration of SDK clients talking to the endpoint
// at url: region us-east-1, static test credentials and no retries, so a
// failing request fails the test at once.
func Config(url string) aws.Config {
	return ConfigWithCredentials(url, credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""))
}

// ConfigWithCredentials is Config with the given credentials, for tests of
// what the endpoint does with the caller's access key.
func ConfigWithCredentials(url string, creds aws.CredentialsProvider) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  creds,
		BaseEndpoint: aws.String(url),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
}

// Events is a protocol.EventSink keeping the events it receives, safe for
// concurrent use. The zero value is ready.
type Events struct {
	mu     sync.Mutex
	events []protocol.Event
}

// PutEvent records e.
func (l *Events) PutEvent(_ context.Context, e protocol.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

// All returns a copy of the events received so far, oldest first.
func (l *Events) All() []protocol.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]protocol.Event(nil), l.events...)
}

// CheckJSONAnswer fails t at once unless a JSON handler's answer is one the
// router can send: an error that is a *protocol.Error, or a result that
// marshals to JSON. Fuzz targets call it on every answer.
func CheckJSONAnswer(t testing.TB, out any, err error) {
	t.Helper()
	if err != nil {
		var pe *protocol.Error
		if !errors.As(err, &pe) {
			t.Fatalf("got a non-AWS error %T %v", err, err)
		}
		return
	}
	if _, err := json.Marshal(out); err != nil {
		t.Fatalf("response does not marshal: %v", err)
	}
}

// ErrorCode returns the AWS error code of an SDK call's error, or "" when
// err carries none (nil, or not an API error).
func ErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// NewRequest returns a request of method to url with body, failing t at
// once if it cannot be built.
func NewRequest(t testing.TB, method, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// Do sends req with the default HTTP client and returns the response's
// status, header and body, failing t at once if it cannot be sent or read.
func Do(t testing.TB, req *http.Request) (int, http.Header, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}
