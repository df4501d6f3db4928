// Package awsapitest provides what the tests of the internal/awsapi adapters
// share: an SDK configuration pointed at a local test server, and a test
// server speaking the AWS JSON protocol that records each request and
// answers from a table per operation. Tests build the real SDK client on
// top, so request building and error decoding are exercised end to end.
package awsapitest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/go-cmp/cmp"
)

// Config returns the configuration of a client talking to the server at url:
// region us-east-1, static credentials AKIDTEST/secret and no retries, so
// that an error reply reaches the adapter exactly once.
func Config(url string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(url),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
}

// Serve starts a test server running h, closed when t's test ends, and
// returns Config for it.
func Serve(t testing.TB, h http.Handler) aws.Config {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return Config(srv.URL)
}

// Reply is a test server's answer to one request.
type Reply struct {
	Status int               // 200 when zero
	Header map[string]string // set on the response besides Content-Type
	Body   string
}

// JSONError is a JSON protocol error reply: __type names the error and
// message says it came from the test server.
func JSONError(status int, typ string) Reply {
	return Reply{Status: status, Body: `{"__type":"` + typ + `","message":"` + typ + ` from the fake"}`}
}

// Request is one request a JSONServer received.
type Request struct {
	Op   string         // the operation named by X-Amz-Target, without its prefix
	Body map[string]any // the decoded JSON body
}

// JSONServer is a service endpoint speaking the AWS JSON protocol (1.0 or
// 1.1). It checks that each request is a POST to / with the service's
// X-Amz-Target prefix and content type, records it, and answers each
// operation with its replies in order, the last one repeating. An operation
// without replies fails the test and gets 501.
type JSONServer struct {
	t           testing.TB
	prefix      string // X-Amz-Target prefix, as "AWSStepFunctions."
	contentType string
	mu          sync.Mutex
	replies     map[string][]Reply
	requests    []Request
}

// NewJSON starts a JSONServer for the service whose X-Amz-Target values
// start with prefix, speaking JSON version ("1.0" or "1.1"), answering from
// replies (keyed by operation name). It returns the server and Config for it.
func NewJSON(t testing.TB, prefix, version string, replies map[string][]Reply) (*JSONServer, aws.Config) {
	t.Helper()
	s := &JSONServer{t: t, prefix: prefix, contentType: "application/x-amz-json-" + version, replies: replies}
	return s, Serve(t, s)
}

// ServeHTTP records r and writes the next reply for its operation.
func (s *JSONServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target, ct := r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type")
	op, ok := strings.CutPrefix(target, s.prefix)
	if r.Method != http.MethodPost || r.URL.Path != "/" || !ok || ct != s.contentType {
		s.t.Errorf("got %s %s target %q content type %q, want a POST / with target %s… and content type %s",
			r.Method, r.URL.Path, target, ct, s.prefix, s.contentType)
	}
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		s.t.Errorf("request body %q: %v", raw, err)
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Op: op, Body: body})
	rs := s.replies[op]
	if len(rs) == 0 {
		s.mu.Unlock()
		s.t.Errorf("unexpected operation %s", op)
		w.WriteHeader(http.StatusNotImplemented)
		return
	}
	rep := rs[0]
	if len(rs) > 1 {
		s.replies[op] = rs[1:]
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", s.contentType)
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	if rep.Status != 0 {
		w.WriteHeader(rep.Status)
	}
	io.WriteString(w, rep.Body)
}

// Requests returns the requests s received, in order.
func (s *JSONServer) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Bodies returns the bodies of the requests s received, in order.
func (s *JSONServer) Bodies() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b []map[string]any
	for _, r := range s.requests {
		b = append(b, r.Body)
	}
	return b
}

// Check compares the requests s received with want: JSON objects, one per
// request in order, each holding the request body plus its operation under
// the key "operation".
func (s *JSONServer) Check(t testing.TB, want ...string) {
	t.Helper()
	var w, got []map[string]any
	for _, j := range want {
		w = append(w, Object(t, j))
	}
	for _, r := range s.Requests() {
		m := make(map[string]any, len(r.Body)+1)
		for k, v := range r.Body {
			m[k] = v
		}
		m["operation"] = r.Op
		got = append(got, m)
	}
	if diff := cmp.Diff(w, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// Object decodes a JSON object written in a test, failing the test when it
// is not one.
func Object(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("test JSON %q: %v", s, err)
	}
	return m
}
