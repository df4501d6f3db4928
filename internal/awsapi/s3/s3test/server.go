// Package s3test is an in-memory S3 for tests. It speaks the REST-XML,
// path-style protocol the SDK uses for the operations Slipway calls
// (GetObject, PutObject, HeadObject, DeleteObject, ListObjectsV2), including
// versioning and the conditional headers If-None-Match and If-Match, so tests
// run the real SDK client and exercise its request building and error
// parsing.
package s3test

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdks3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// AccessKey is the access key id of the credentials Client signs with; the
// server rejects requests signed with any other.
const AccessKey = "AKIDS3TEST"

// Server is an in-memory S3 behind an httptest server.
type Server struct {
	// URL is the endpoint, e.g. http://127.0.0.1:12345.
	URL string

	mu      sync.Mutex
	buckets map[string]*bucket
	faults  []*Fault
	hook    func(Request)
	log     []Request
	// pageSize bounds ListObjectsV2 pages below the client's max-keys.
	pageSize int
	clock    int64
}

// Request is what the server saw of one request.
type Request struct {
	Method string
	Bucket string
	Key    string
	Query  map[string][]string
	Header http.Header
}

// Fault makes matching requests fail with an S3 error instead of being
// served.
type Fault struct {
	// Method matches the HTTP method; "" matches any.
	Method string
	// Key matches the object key exactly; "" matches any.
	Key string
	// Status and Code are the HTTP status and S3 error code returned.
	Status int
	Code   string
	// Times is how many requests fail; 0 means every matching request.
	Times int
}

type bucket struct {
	versioned bool
	objects   map[string][]*version // oldest first
}

type version struct {
	id           string
	body         []byte
	etag         string
	contentType  string
	deleteMarker bool
	modified     time.Time
}

// NewServer starts a server that t closes when the test ends.
func NewServer(t testing.TB) *Server {
	s := &Server{buckets: map[string]*bucket{}, pageSize: 1000}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// Client returns a real SDK S3 client for the server: path style, static
// credentials, no retries (so a fault is seen once, as injected).
func (s *Server) Client() *sdks3.Client {
	cfg := aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider(AccessKey, "secret", ""),
	}
	return sdks3.NewFromConfig(cfg, func(o *sdks3.Options) {
		o.BaseEndpoint = aws.String(s.URL)
		o.UsePathStyle = true
		o.Retryer = aws.NopRetryer{}
	})
}

// CreateBucket makes an empty bucket, versioned or not.
func (s *Server) CreateBucket(name string, versioned bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets[name] = &bucket{versioned: versioned, objects: map[string][]*version{}}
}

// SetPageSize makes ListObjectsV2 return at most n keys a page.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// Inject adds a fault; faults are matched in the order added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// OnRequest sets a function called with each request before it is served,
// outside the server's lock, so it may change the server's content (to stage
// a race between a read and a conditional write).
func (s *Server) OnRequest(f func(Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = f
}

// Requests returns the requests served so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// Put stores an object directly, as another writer would, and returns its
// ETag.
func (s *Server) Put(bucketName, key string, body []byte) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		return "", fmt.Errorf("s3test: put %s/%s: no such bucket", bucketName, key)
	}
	return s.store(b, key, body, "").etag, nil
}

// Object returns the current content of an object and whether it exists.
func (s *Server) Object(bucketName, key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		return nil, false
	}
	v := b.current(key)
	if v == nil {
		return nil, false
	}
	return append([]byte(nil), v.body...), true
}

// Keys returns the keys of the objects that currently exist, sorted.
func (s *Server) Keys(bucketName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		return nil
	}
	return b.keys("")
}

func (b *bucket) current(key string) *version {
	vs := b.objects[key]
	if len(vs) == 0 || vs[len(vs)-1].deleteMarker {
		return nil
	}
	return vs[len(vs)-1]
}

func (b *bucket) keys(prefix string) []string {
	var keys []string
	for k := range b.objects {
		if strings.HasPrefix(k, prefix) && b.current(k) != nil {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// store adds a version (or replaces the only one in an unversioned bucket).
// The caller holds s.mu.
func (s *Server) store(b *bucket, key string, body []byte, contentType string) *version {
	s.clock++
	sum := md5.Sum(body)
	v := &version{
		body:        append([]byte(nil), body...),
		etag:        `"` + hex.EncodeToString(sum[:]) + `"`,
		contentType: contentType,
		modified:    time.Unix(1_700_000_000+s.clock, 0).UTC(),
	}
	if b.versioned {
		v.id = fmt.Sprintf("v%06d", s.clock)
		b.objects[key] = append(b.objects[key], v)
	} else {
		b.objects[key] = []*version{v}
	}
	return v
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucketName, key, _ := strings.Cut(path, "/")
	req := Request{Method: r.Method, Bucket: bucketName, Key: key, Query: r.URL.Query(), Header: r.Header.Clone()}

	s.mu.Lock()
	s.log = append(s.log, req)
	hook := s.hook
	s.mu.Unlock()
	if hook != nil {
		hook(req)
	}

	if !strings.Contains(r.Header.Get("Authorization"), "Credential="+AccessKey+"/") {
		writeError(w, r, http.StatusForbidden, "InvalidAccessKeyId", "request is not signed with "+AccessKey)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.fault(r.Method, key); f != nil {
		writeError(w, r, f.Status, f.Code, "injected fault")
		return
	}
	b := s.buckets[bucketName]
	if b == nil {
		writeError(w, r, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		return
	}
	switch {
	case key == "" && r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2":
		s.list(w, r, bucketName, b)
	case key == "":
		writeError(w, r, http.StatusNotImplemented, "NotImplemented", "bucket operation not simulated")
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		s.get(w, r, b, key)
	case r.Method == http.MethodPut:
		s.put(w, r, b, key)
	case r.Method == http.MethodDelete:
		s.delete(w, r, b, key)
	default:
		writeError(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method+" not allowed")
	}
}

// fault returns the first fault matching the request and counts it down.
func (s *Server) fault(method, key string) *Fault {
	for i, f := range s.faults {
		if (f.Method != "" && f.Method != method) || (f.Key != "" && f.Key != key) {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return f
	}
	return nil
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, b *bucket, key string) {
	var v *version
	if id := r.URL.Query().Get("versionId"); id != "" {
		for _, c := range b.objects[key] {
			if c.id == id {
				v = c
			}
		}
		if v == nil {
			writeError(w, r, http.StatusNotFound, "NoSuchVersion", "The specified version does not exist")
			return
		}
		if v.deleteMarker {
			w.Header().Set("x-amz-delete-marker", "true")
			writeError(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource")
			return
		}
	} else if v = b.current(key); v == nil {
		writeError(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist")
		return
	}
	h := w.Header()
	h.Set("ETag", v.etag)
	h.Set("Last-Modified", v.modified.Format(http.TimeFormat))
	h.Set("Content-Length", strconv.Itoa(len(v.body)))
	if v.contentType != "" {
		h.Set("Content-Type", v.contentType)
	}
	if v.id != "" {
		h.Set("x-amz-version-id", v.id)
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(v.body)
	}
}

func (s *Server) put(w http.ResponseWriter, r *http.Request, b *bucket, key string) {
	if strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") {
		writeError(w, r, http.StatusNotImplemented, "NotImplemented", "aws-chunked uploads are not simulated")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "IncompleteBody", err.Error())
		return
	}
	if want := r.Header.Get("X-Amz-Content-Sha256"); want != "" && !strings.HasPrefix(want, "UNSIGNED") && !strings.HasPrefix(want, "STREAMING") {
		if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != want {
			writeError(w, r, http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed")
			return
		}
	}
	if want := r.Header.Get("x-amz-checksum-crc32"); want != "" {
		sum := make([]byte, 4)
		binary.BigEndian.PutUint32(sum, crc32.ChecksumIEEE(body))
		if got := base64.StdEncoding.EncodeToString(sum); got != want {
			writeError(w, r, http.StatusBadRequest, "BadDigest", "CRC32 checksum mismatch")
			return
		}
	}
	cur := b.current(key)
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if inm != "*" {
			writeError(w, r, http.StatusNotImplemented, "NotImplemented", "If-None-Match supports only *")
			return
		}
		if cur != nil {
			writeError(w, r, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
			return
		}
	}
	if im := r.Header.Get("If-Match"); im != "" {
		if cur == nil {
			writeError(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist")
			return
		}
		if im != cur.etag {
			writeError(w, r, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
			return
		}
	}
	v := s.store(b, key, body, r.Header.Get("Content-Type"))
	w.Header().Set("ETag", v.etag)
	if v.id != "" {
		w.Header().Set("x-amz-version-id", v.id)
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, b *bucket, key string) {
	if r.URL.Query().Get("versionId") != "" {
		writeError(w, r, http.StatusNotImplemented, "NotImplemented", "deleting a version is not simulated")
		return
	}
	cur := b.current(key)
	if im := r.Header.Get("If-Match"); im != "" {
		if cur == nil {
			writeError(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist")
			return
		}
		if im != "*" && im != cur.etag {
			writeError(w, r, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
			return
		}
	}
	switch {
	case b.versioned && len(b.objects[key]) > 0:
		s.clock++
		m := &version{id: fmt.Sprintf("v%06d", s.clock), deleteMarker: true, modified: time.Unix(1_700_000_000+s.clock, 0).UTC()}
		b.objects[key] = append(b.objects[key], m)
		w.Header().Set("x-amz-delete-marker", "true")
		w.Header().Set("x-amz-version-id", m.id)
	case !b.versioned:
		delete(b.objects, key)
	}
	w.WriteHeader(http.StatusNoContent)
}

type listResult struct {
	XMLName               xml.Name   `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string     `xml:"Name"`
	Prefix                string     `xml:"Prefix"`
	KeyCount              int        `xml:"KeyCount"`
	MaxKeys               int        `xml:"MaxKeys"`
	IsTruncated           bool       `xml:"IsTruncated"`
	ContinuationToken     string     `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string     `xml:"NextContinuationToken,omitempty"`
	Contents              []listItem `xml:"Contents"`
}

type listItem struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int    `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, name string, b *bucket) {
	q := r.URL.Query()
	limit := 1000
	if mk := q.Get("max-keys"); mk != "" {
		n, err := strconv.Atoi(mk)
		if err != nil || n < 0 {
			writeError(w, r, http.StatusBadRequest, "InvalidArgument", "max-keys: "+mk)
			return
		}
		limit = n
	}
	limit = min(limit, s.pageSize)
	after := ""
	if tok := q.Get("continuation-token"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect")
			return
		}
		after = string(raw)
	}
	res := listResult{Name: name, Prefix: q.Get("prefix"), MaxKeys: limit, ContinuationToken: q.Get("continuation-token")}
	for _, k := range b.keys(res.Prefix) {
		if k <= after && after != "" {
			continue
		}
		if len(res.Contents) == limit {
			res.IsTruncated = true
			break
		}
		v := b.current(k)
		res.Contents = append(res.Contents, listItem{
			Key: k, LastModified: v.modified.Format(time.RFC3339), ETag: v.etag,
			Size: len(v.body), StorageClass: "STANDARD",
		})
	}
	res.KeyCount = len(res.Contents)
	if res.IsTruncated && len(res.Contents) > 0 {
		res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(res.Contents[len(res.Contents)-1].Key))
	}
	writeXML(w, http.StatusOK, res)
}

type errorBody struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource"`
	RequestID string   `xml:"RequestId"`
}

// writeError writes an S3 error; HEAD responses carry no body, as in S3.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("x-amz-request-id", "s3test")
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	writeXML(w, status, errorBody{Code: code, Message: msg, Resource: r.URL.Path, RequestID: "s3test"})
}

func writeXML(w http.ResponseWriter, status int, v any) {
	out, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	io.WriteString(w, xml.Header)
	w.Write(out)
}
