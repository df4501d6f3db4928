package s3

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// xmlns is the namespace of S3's XML documents.
const xmlns = "http://s3.amazonaws.com/doc/2006-03-01/"

// maxConfigBody bounds bucket configuration documents.
const maxConfigBody = 1 << 20

// unsupported reports the bucket or object subresource of q this simulation
// does not serve, if any; such requests are answered with 501
// NotImplemented rather than mistaken for plain object or bucket requests.
func unsupported(q url.Values) (string, bool) {
	for _, sub := range []string{"acl", "policy", "tagging", "cors", "lifecycle", "encryption", "website", "logging",
		"replication", "ownershipControls", "publicAccessBlock", "restore", "select",
		"object-lock", "retention", "legal-hold", "accelerate", "analytics", "inventory", "metrics",
		"intelligent-tiering", "requestPayment", "torrent", "attributes", "policyStatus"} {
		if q.Has(sub) {
			return sub, true
		}
	}
	return "", false
}

// Operation names the S3 operation of a request, as the fault registry
// keys throttles ("PutObject", "ListObjectsV2", …).
func Operation(r *http.Request) string {
	bucketName, key := splitRequest(r)
	q := r.URL.Query()
	switch {
	case bucketName == "":
		return "ListBuckets"
	case key == "":
		switch {
		case q.Has("versioning"):
			return putOrGet(r, "BucketVersioning")
		case q.Has("notification"):
			return putOrGet(r, "BucketNotificationConfiguration")
		case q.Has("versions"):
			return "ListObjectVersions"
		case q.Has("location"):
			return "GetBucketLocation"
		case q.Has("delete"):
			return "DeleteObjects"
		}
		switch r.Method {
		case http.MethodPut:
			return "CreateBucket"
		case http.MethodHead:
			return "HeadBucket"
		case http.MethodDelete:
			return "DeleteBucket"
		}
		if q.Get("list-type") == "2" {
			return "ListObjectsV2"
		}
		return "ListObjects"
	}
	switch {
	case q.Has("uploads"):
		return "CreateMultipartUpload"
	case q.Has("uploadId") && r.Method == http.MethodPut:
		return "UploadPart"
	case q.Has("uploadId") && r.Method == http.MethodPost:
		return "CompleteMultipartUpload"
	case q.Has("uploadId") && r.Method == http.MethodDelete:
		return "AbortMultipartUpload"
	case q.Has("uploadId"):
		return "ListParts"
	}
	switch r.Method {
	case http.MethodPut:
		return "PutObject"
	case http.MethodHead:
		return "HeadObject"
	case http.MethodDelete:
		return "DeleteObject"
	}
	return "GetObject"
}

func putOrGet(r *http.Request, what string) string {
	if r.Method == http.MethodPut {
		return "Put" + what
	}
	return "Get" + what
}

// OperationName is Operation as a method, so a router finds it on the
// handler.
func (s *Service) OperationName(r *http.Request) string { return Operation(r) }

// WriteProtocolError is WriteError as a method, so a router answers its own
// errors for S3 (throttling, recovered panics) in S3's shape.
func (s *Service) WriteProtocolError(w http.ResponseWriter, r *http.Request, e *protocol.Error) {
	WriteError(w, r, e)
}

// splitRequest returns the bucket and key a request addresses: path style
// (/bucket/key), or virtual-hosted style for hosts under localhost
// (bucket.localhost:4566/key), which clients given an endpoint named
// localhost rather than 127.0.0.1 use.
func splitRequest(r *http.Request) (bucketName, key string) {
	if b := virtualHostBucket(r.Host); b != "" {
		return b, strings.TrimPrefix(r.URL.Path, "/")
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucketName, key, _ = strings.Cut(path, "/")
	return bucketName, key
}

// virtualHostBucket returns the bucket of a host "<bucket>.localhost[:port]",
// or "".
func virtualHostBucket(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	b, ok := strings.CutSuffix(strings.ToLower(host), ".localhost")
	if !ok {
		return ""
	}
	return b
}

// ServeHTTP serves one path-style S3 request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := s.serve(w, r); err != nil {
		var e *protocol.Error
		if !errors.As(err, &e) {
			e = protocol.InternalFailure()
			e.Code = "InternalError"
		}
		WriteError(w, r, e)
	}
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request) error {
	bucketName, key := splitRequest(r)
	q := r.URL.Query()
	if sub, ok := unsupported(q); ok {
		return protocol.Errorf(http.StatusNotImplemented, "NotImplemented", "the %s subresource is not supported by the local endpoint", sub)
	}
	if q.Has("x-id") && q.Get("x-id") == "CopyObject" || r.Header.Get("X-Amz-Copy-Source") != "" {
		return protocol.Errorf(http.StatusNotImplemented, "NotImplemented", "CopyObject is not supported by the local endpoint")
	}
	if bucketName == "" {
		if r.Method != http.MethodGet {
			return methodNotAllowed(r)
		}
		return s.listBuckets(w)
	}
	if key == "" {
		if q.Has("uploads") {
			return protocol.Errorf(http.StatusNotImplemented, "NotImplemented", "ListMultipartUploads is not supported by the local endpoint")
		}
		return s.serveBucket(w, r, bucketName, q)
	}
	if q.Has("uploads") || q.Has("uploadId") {
		return s.serveMultipart(w, r, bucketName, key)
	}
	switch r.Method {
	case http.MethodPut:
		return s.putObject(w, r, bucketName, key)
	case http.MethodGet, http.MethodHead:
		return s.getObject(w, r, bucketName, key)
	case http.MethodDelete:
		return s.deleteObject(w, r, bucketName, key)
	}
	return methodNotAllowed(r)
}

func (s *Service) serveMultipart(w http.ResponseWriter, r *http.Request, bucketName, key string) error {
	q := r.URL.Query()
	switch {
	case q.Has("uploads") && r.Method == http.MethodPost:
		return s.createMultipartUpload(w, r, bucketName, key)
	case q.Has("uploadId") && r.Method == http.MethodPut:
		return s.uploadPart(w, r, bucketName, key)
	case q.Has("uploadId") && r.Method == http.MethodPost:
		return s.completeMultipartUpload(w, r, bucketName, key)
	case q.Has("uploadId") && r.Method == http.MethodDelete:
		return s.abortMultipartUpload(w, r, bucketName, key)
	case q.Has("uploadId") && r.Method == http.MethodGet:
		return protocol.Errorf(http.StatusNotImplemented, "NotImplemented", "ListParts is not supported by the local endpoint")
	}
	return methodNotAllowed(r)
}

func (s *Service) serveBucket(w http.ResponseWriter, r *http.Request, name string, q map[string][]string) error {
	has := func(k string) bool { _, ok := q[k]; return ok }
	switch {
	case has("versioning"):
		switch r.Method {
		case http.MethodPut:
			return s.putVersioning(w, r, name)
		case http.MethodGet:
			return s.getVersioning(w, name)
		}
	case has("notification"):
		switch r.Method {
		case http.MethodPut:
			return s.putNotification(w, r, name)
		case http.MethodGet:
			return s.getNotification(w, name)
		}
	case has("location"):
		if r.Method == http.MethodGet {
			return s.getLocation(w, name)
		}
	case has("versions"):
		if r.Method == http.MethodGet {
			return s.listVersions(w, r, name)
		}
	case has("delete"):
		if r.Method == http.MethodPost {
			return s.deleteObjects(w, r, name)
		}
	default:
		switch r.Method {
		case http.MethodPut:
			return s.createBucket(w, r, name)
		case http.MethodHead:
			return s.headBucket(w, name)
		case http.MethodDelete:
			return s.deleteBucket(w, name)
		case http.MethodGet:
			return s.listObjects(w, r, name)
		}
	}
	return methodNotAllowed(r)
}

func methodNotAllowed(r *http.Request) error {
	return protocol.Errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "the specified method %s is not allowed against this resource", r.Method)
}

// errorBody is S3's XML error document.
type errorBody struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
	HostID    string   `xml:"HostId"`
}

// WriteError writes e as S3 does: an XML Error document, or no body at all
// for HEAD requests.
func WriteError(w http.ResponseWriter, r *http.Request, e *protocol.Error) {
	if r.Method == http.MethodHead || e.Status == http.StatusNotModified {
		w.WriteHeader(e.Status)
		return
	}
	id := protocol.RequestID(r.Context())
	writeXML(w, e.Status, errorBody{Code: e.Code, Message: e.Message, Resource: r.URL.Path, RequestID: id, HostID: id})
}

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte("<Error><Code>InternalError</Code><Message>encode response</Message></Error>")
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(xml.Header)+len(b)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(b)
}

func noSuchBucket(name string) error {
	return protocol.Errorf(http.StatusNotFound, "NoSuchBucket", "the specified bucket %s does not exist", name)
}

// bucketNameRE is S3's general purpose bucket naming rule.
var bucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func validBucketName(name string) bool {
	return bucketNameRE.MatchString(name) && !strings.Contains(name, "..") && !strings.Contains(name, ".-") && !strings.Contains(name, "-.")
}

// readConfig reads a small XML configuration body.
func readConfig(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxConfigBody+1))
	if err != nil {
		return protocol.Errorf(http.StatusBadRequest, "IncompleteBody", "read request body: %v", err)
	}
	if len(b) > maxConfigBody {
		return protocol.Errorf(http.StatusBadRequest, "MalformedXML", "configuration larger than %d bytes", maxConfigBody)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return protocol.Errorf(http.StatusBadRequest, "MissingRequestBodyError", "request body is empty")
	}
	if err := xml.Unmarshal(b, v); err != nil {
		return protocol.Errorf(http.StatusBadRequest, "MalformedXML", "the XML you provided was not well-formed or did not validate against our published schema: %v", err)
	}
	return nil
}

func httpTime(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func errorf(status int, code, format string, args ...any) error {
	return protocol.Errorf(status, code, format, args...)
}

func invalidBucketName(name string) error {
	return errorf(http.StatusBadRequest, "InvalidBucketName", "the specified bucket %q is not valid: 3 to 63 lowercase letters, digits, dots and hyphens", name)
}

func malformedXML(err error) error {
	return errorf(http.StatusBadRequest, "MalformedXML", "the XML you provided was not well-formed or did not validate against our published schema: %v", err)
}

func readErr(err error) error {
	return errorf(http.StatusBadRequest, "IncompleteBody", "read request body: %v", err)
}
