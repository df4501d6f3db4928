// Package localcloud serves a local AWS endpoint: one http.Handler that
// routes each request by the wire protocol its client speaks (JSON 1.0/1.1 by
// X-Amz-Target, query by form Action and Version, Smithy RPC v2 CBOR by path,
// Lambda's REST path, S3 path-style for everything else) to the simulated
// services, plus the control API under /_slipway/.
//
// The services live in subpackages and know nothing of each other or of the
// router; a Server is composed by registering them. Authentication is not
// checked: any SigV4 signature from any credentials is accepted, so whoever
// reaches the endpoint controls it. It refuses what a web browser sends and
// requests whose Host is not the endpoint's (DNS rebinding): see guard.
package localcloud

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// maxRPCBody bounds the body of a JSON, query or CBOR request. AWS's own
// limits are lower (CloudWatch PutMetricData takes 1 MB).
const maxRPCBody = 8 << 20

// Options configure a Server.
type Options struct {
	// Logger receives request failures and recovered panics; nil discards.
	Logger *slog.Logger
	// Faults is consulted for throttled operations; nil creates an empty
	// registry, available from Server.Faults.
	Faults *faults.Registry
}

// Server is the local endpoint's router. Register services before serving;
// registering while serving is safe but meant for setup.
type Server struct {
	log    *slog.Logger
	faults *faults.Registry
	ready  atomic.Bool

	mu      sync.RWMutex
	json    map[string]jsonService  // by X-Amz-Target prefix
	query   map[string]queryService // by Version
	cbor    map[string]cborService  // by Smithy service name
	lambda  *RESTService
	s3      *RESTService
	control map[string]http.Handler // by path below /_slipway/
	hosts   []string                // accepted in Host besides the built-in ones (AllowHost)
}

type jsonService struct {
	name        string
	contentType string
	handler     protocol.JSONHandler
}

type queryService struct {
	name      string
	namespace string
	handler   protocol.QueryHandler
}

type cborService struct {
	name    string
	handler protocol.CBORHandler
}

// RESTService is a service answering its own HTTP requests (S3, Lambda).
type RESTService struct {
	// Name is the service name faults are keyed by ("s3", "lambda").
	Name string
	// Handler serves the requests.
	Handler http.Handler
	// Operation names the operation of a request, for throttling faults;
	// nil means every request is operation "*".
	Operation func(*http.Request) string
	// WriteError writes an error in the service's shape; nil writes the
	// REST-JSON shape.
	WriteError func(w http.ResponseWriter, r *http.Request, e *protocol.Error)
}

// OperationNamer is implemented by a REST handler that names the operation
// of a request; the router uses it when RESTService.Operation is nil.
type OperationNamer interface {
	OperationName(r *http.Request) string
}

// ProtocolErrorWriter is implemented by a REST handler that writes errors
// in its service's shape; the router uses it when RESTService.WriteError is
// nil.
type ProtocolErrorWriter interface {
	WriteProtocolError(w http.ResponseWriter, r *http.Request, e *protocol.Error)
}

// withDefaults fills Operation and WriteError from the handler when it
// provides them.
func (svc RESTService) withDefaults() RESTService {
	if svc.Operation == nil {
		if n, ok := svc.Handler.(OperationNamer); ok {
			svc.Operation = n.OperationName
		}
	}
	if svc.WriteError == nil {
		if ew, ok := svc.Handler.(ProtocolErrorWriter); ok {
			svc.WriteError = ew.WriteProtocolError
		}
	}
	return svc
}

// NewServer returns a Server with no services registered, ready to report
// healthy.
func NewServer(opts Options) *Server {
	s := &Server{
		log:     opts.Logger,
		faults:  opts.Faults,
		json:    map[string]jsonService{},
		query:   map[string]queryService{},
		cbor:    map[string]cborService{},
		control: map[string]http.Handler{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.faults == nil {
		s.faults = faults.New()
	}
	s.ready.Store(true)
	return s
}

// Faults returns the fault registry the server consults.
func (s *Server) Faults() *faults.Registry { return s.faults }

// SetReady sets whether GET /_slipway/health answers 200 (ready) or 503.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// RegisterJSON serves the AWS JSON service whose X-Amz-Target values start
// with targetPrefix + "." (for example "AmazonEC2ContainerRegistry_V20150921").
// jsonVersion is "1.0" or "1.1"; name keys the service's faults.
func (s *Server) RegisterJSON(name, targetPrefix, jsonVersion string, h protocol.JSONHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.json[targetPrefix] = jsonService{name: name, contentType: "application/x-amz-json-" + jsonVersion, handler: h}
}

// RegisterQuery serves the query service of API version (form field
// Version, for example "2011-06-15"); namespace is the xmlns of its
// responses.
func (s *Server) RegisterQuery(name, version, namespace string, h protocol.QueryHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.query[version] = queryService{name: name, namespace: namespace, handler: h}
}

// RegisterCBOR serves the Smithy RPC v2 CBOR service named smithyService
// (for example "GraniteServiceVersion20100801") at
// /service/<smithyService>/operation/<Op>. Unless a JSON handler is
// registered for the target prefix smithyService, JSON 1.0 requests with
// X-Amz-Target smithyService.<Op> are bridged to the same handler.
func (s *Server) RegisterCBOR(name, smithyService string, h protocol.CBORHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cbor[smithyService] = cborService{name: name, handler: h}
}

// RegisterLambda serves /2015-03-31/functions/… with svc.
func (s *Server) RegisterLambda(svc RESTService) {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc = svc.withDefaults()
	s.lambda = &svc
}

// RegisterS3 serves every request no other route claims with svc, as AWS
// serves path-style S3 requests on the endpoint's root.
func (s *Server) RegisterS3(svc RESTService) {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc = svc.withDefaults()
	s.s3 = &svc
}

// HandleControl serves /_slipway/<name> (and paths below it) with h.
// "health" and "faults" are built in and cannot be replaced.
func (s *Server) HandleControl(name string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.control[strings.Trim(name, "/")] = h
}

// ServeHTTP routes one request. It never panics: a panicking handler is
// logged and answered with InternalFailure in the protocol's shape.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	rw := &responseWriter{ResponseWriter: w}
	rw.Header().Set("X-Amzn-RequestId", id)
	rw.Header().Set("X-Amz-Request-Id", id)
	ctx := protocol.WithRequestID(r.Context(), id)
	if key := protocol.SigV4AccessKeyID(r.Header.Get("Authorization"), r.URL.Query().Get("X-Amz-Credential")); key != "" {
		ctx = protocol.WithAccessKeyID(ctx, key)
	}
	r = r.WithContext(ctx)

	// fail is how the route in progress answers an error; a panic uses it.
	fail := func(e *protocol.Error) { writeJSONError(rw, "application/x-amz-json-1.1", e) }
	started := time.Now()
	defer func() {
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "target", r.Header.Get("X-Amz-Target"),
			"status", rw.status, "requestId", id, "duration", time.Since(started))
	}()
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("request handler panicked", "method", r.Method, "path", r.URL.Path, "requestId", id,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !rw.wrote {
				fail(protocol.InternalFailure())
			}
		}
	}()

	if !s.guard(rw, r) {
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/_slipway/"):
		s.serveControl(rw, r)
	case r.Header.Get("X-Amz-Target") != "":
		s.serveJSON(rw, r, &fail)
	case strings.HasPrefix(r.URL.Path, "/service/"):
		fail = func(e *protocol.Error) { writeCBORError(rw, e) }
		s.serveCBOR(rw, r)
	case r.URL.Path == "/2015-03-31/functions" || strings.HasPrefix(r.URL.Path, "/2015-03-31/functions/"):
		// The bare path is ListFunctions.
		s.mu.RLock()
		svc := s.lambda
		s.mu.RUnlock()
		s.serveREST(rw, r, svc, &fail)
	case isQuery(r):
		fail = func(e *protocol.Error) { writeQueryError(rw, e, id) }
		s.serveQuery(rw, r)
	default:
		s.mu.RLock()
		svc := s.s3
		s.mu.RUnlock()
		s.serveREST(rw, r, svc, &fail)
	}
}

func newRequestID() string { return uuid.NewString() }

// responseWriter records whether the response has started, so a recovered
// panic answers only when nothing was written yet.
type responseWriter struct {
	http.ResponseWriter
	wrote  bool
	status int
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status = code
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status = http.StatusOK
	}
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the wrapper.
func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		w.wrote = true
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// asError turns a handler's error into the protocol error the client sees;
// anything that is not a *protocol.Error is an internal failure, logged.
func (s *Server) asError(r *http.Request, service, op string, err error) *protocol.Error {
	var e *protocol.Error
	if errors.As(err, &e) {
		if e.Status == 0 {
			c := *e
			c.Status = http.StatusBadRequest
			return &c
		}
		return e
	}
	s.log.Error("request failed", "service", service, "operation", op, "requestId", protocol.RequestID(r.Context()), "error", err)
	return protocol.InternalFailure()
}

// readBody reads an RPC request body, undoing the gzip Content-Encoding the
// SDKs apply to large requests of operations marked for request compression
// (CloudWatch PutMetricData).
func readBody(r *http.Request) ([]byte, *protocol.Error) {
	var body io.Reader = http.MaxBytesReader(nil, r.Body, maxRPCBody)
	for _, enc := range strings.Split(r.Header.Get("Content-Encoding"), ",") {
		switch strings.TrimSpace(enc) {
		case "", "identity":
		case "gzip":
			zr, err := gzip.NewReader(body)
			if err != nil {
				return nil, protocol.Serializationf("malformed gzip request body: %v", err)
			}
			defer zr.Close()
			// The decompressed size is bounded too.
			body = io.LimitReader(zr, maxRPCBody+1)
		default:
			return nil, protocol.Errorf(http.StatusUnsupportedMediaType, protocol.CodeSerialization, "unsupported Content-Encoding %q", enc)
		}
	}
	b, err := io.ReadAll(body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, protocol.Errorf(http.StatusRequestEntityTooLarge, protocol.CodeSerialization, "request body larger than %d bytes", maxRPCBody)
		}
		return nil, protocol.Serializationf("read request body: %v", err)
	}
	if len(b) > maxRPCBody {
		return nil, protocol.Errorf(http.StatusRequestEntityTooLarge, protocol.CodeSerialization, "decompressed request body larger than %d bytes", maxRPCBody)
	}
	return b, nil
}

func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request, fail *func(*protocol.Error)) {
	target := r.Header.Get("X-Amz-Target")
	prefix, op, ok := strings.Cut(target, ".")
	s.mu.RLock()
	svc, isJSON := s.json[prefix]
	bridged, isCBOR := s.cbor[prefix]
	s.mu.RUnlock()
	contentType := "application/x-amz-json-1.1"
	switch {
	case isJSON:
		contentType = svc.contentType
	case isCBOR:
		contentType = "application/x-amz-json-1.0"
	}
	*fail = func(e *protocol.Error) {
		// The CBOR services are query-compatible (CloudWatch), and so is
		// a JSON service whose error has a query code besides its shape
		// (SQS: QueueDoesNotExist is AWS.SimpleQueueService.NonExistentQueue).
		if (!isJSON && isCBOR) || (e.Type != "" && e.Type != e.Code) {
			w.Header().Set("X-Amzn-Query-Error", protocol.QueryErrorHeader(e))
		}
		writeJSONError(w, contentType, e)
	}
	if !ok || op == "" || (!isJSON && !isCBOR) {
		(*fail)(protocol.Errorf(http.StatusBadRequest, protocol.CodeUnknownOperation, "unknown operation %q", target))
		return
	}
	if r.Method != http.MethodPost {
		(*fail)(protocol.Errorf(http.StatusMethodNotAllowed, protocol.CodeSerialization, "%s requests must be POST, got %s", target, r.Method))
		return
	}
	name := svc.name
	if !isJSON {
		name = bridged.name
	}
	body, perr := readBody(r)
	if perr != nil {
		(*fail)(perr)
		return
	}
	if e := jsonFault(name, s.faults.APIFault(name, op, body)); e != nil {
		(*fail)(e)
		return
	}
	var out []byte
	if isJSON {
		res, err := svc.handler.ServeJSON(r.Context(), op, body)
		if err != nil {
			(*fail)(s.asError(r, name, op, err))
			return
		}
		if res == nil {
			res = struct{}{}
		}
		b, err := json.Marshal(res)
		if err != nil {
			(*fail)(s.asError(r, name, op, fmt.Errorf("marshal %s response: %w", op, err)))
			return
		}
		out = b
	} else {
		in, err := protocol.JSONToCBOR(body)
		if err != nil {
			(*fail)(s.asError(r, name, op, err))
			return
		}
		res, err := bridged.handler.ServeCBOR(r.Context(), op, in)
		if err != nil {
			(*fail)(s.asError(r, name, op, err))
			return
		}
		if out, err = protocol.CBORToJSON(res); err != nil {
			(*fail)(s.asError(r, name, op, fmt.Errorf("bridge %s response to JSON: %w", op, err)))
			return
		}
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

func writeJSONError(w http.ResponseWriter, contentType string, e *protocol.Error) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-Errortype", e.ShapeName())
	w.WriteHeader(e.Status)
	b, _ := json.Marshal(protocol.JSONError{Type: e.ShapeName(), Message: e.Message})
	_, _ = w.Write(b)
}

func (s *Server) serveCBOR(w http.ResponseWriter, r *http.Request) {
	fail := func(e *protocol.Error) { writeCBORError(w, e) }
	rest := strings.TrimPrefix(r.URL.Path, "/service/")
	service, op, ok := strings.Cut(rest, "/operation/")
	s.mu.RLock()
	svc, known := s.cbor[service]
	s.mu.RUnlock()
	if !ok || op == "" || strings.Contains(op, "/") || !known {
		fail(protocol.Errorf(http.StatusNotFound, protocol.CodeUnknownOperation, "unknown operation %s", r.URL.Path))
		return
	}
	if r.Method != http.MethodPost {
		fail(protocol.Errorf(http.StatusMethodNotAllowed, protocol.CodeSerialization, "RPC v2 CBOR requests must be POST, got %s", r.Method))
		return
	}
	body, perr := readBody(r)
	if perr != nil {
		fail(perr)
		return
	}
	if e := jsonFault(svc.name, s.faults.APIFault(svc.name, op, body)); e != nil {
		fail(e)
		return
	}
	out, err := svc.handler.ServeCBOR(r.Context(), op, body)
	if err != nil {
		fail(s.asError(r, svc.name, op, err))
		return
	}
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// writeCBORError writes an RPC v2 CBOR error. The CBOR services are
// query-compatible, so the query code travels in X-Amzn-Query-Error.
func writeCBORError(w http.ResponseWriter, e *protocol.Error) {
	w.Header().Set("X-Amzn-Query-Error", protocol.QueryErrorHeader(e))
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.WriteHeader(e.Status)
	_, _ = w.Write(protocol.EncodeCBORError(e))
}

// isQuery reports whether r is a query-protocol request: a form POST to the
// root, or a GET of the root with Action in the URL.
func isQuery(r *http.Request) bool {
	if r.URL.Path != "/" && r.URL.Path != "" {
		return false
	}
	if r.Method == http.MethodPost {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		return mt == "application/x-www-form-urlencoded"
	}
	return r.Method == http.MethodGet && r.URL.Query().Has("Action")
}

func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request) {
	id := protocol.RequestID(r.Context())
	fail := func(e *protocol.Error) { writeQueryError(w, e, id) }
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		body, perr := readBody(r)
		if perr != nil {
			fail(perr)
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			fail(protocol.Errorf(http.StatusBadRequest, "MalformedQueryString", "malformed form body: %v", err))
			return
		}
		for k, v := range form {
			params[k] = v
		}
	}
	action, version := params.Get("Action"), params.Get("Version")
	if action == "" {
		fail(protocol.Errorf(http.StatusBadRequest, "MissingAction", "the request must contain the parameter Action"))
		return
	}
	s.mu.RLock()
	svc, ok := s.query[version]
	s.mu.RUnlock()
	if !ok {
		fail(protocol.Errorf(http.StatusBadRequest, protocol.CodeInvalidAction, "no service answers Action %s of API version %q", action, version))
		return
	}
	switch s.faults.APIFault(svc.name, action, []byte(params.Encode())) {
	case faults.ErrorThrottling:
		fail(protocol.Errorf(http.StatusBadRequest, protocol.CodeQueryThrottling, "Rate exceeded"))
		return
	case faults.ErrorInternal:
		fail(protocol.Errorf(http.StatusInternalServerError, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure."))
		return
	}
	res, err := svc.handler.ServeQuery(r.Context(), action, params)
	if err != nil {
		fail(s.asError(r, svc.name, action, err))
		return
	}
	out, err := protocol.EncodeQueryResponse(action, svc.namespace, id, res)
	if err != nil {
		fail(s.asError(r, svc.name, action, fmt.Errorf("encode %s response: %w", action, err)))
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

func writeQueryError(w http.ResponseWriter, e *protocol.Error, requestID string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.Status)
	_, _ = w.Write(protocol.EncodeQueryError(e, requestID))
}

func (s *Server) serveREST(w http.ResponseWriter, r *http.Request, svc *RESTService, fail *func(*protocol.Error)) {
	writeErr := func(e *protocol.Error) { writeRESTJSONError(w, e) }
	if svc != nil && svc.WriteError != nil {
		writeErr = func(e *protocol.Error) { svc.WriteError(w, r, e) }
	}
	*fail = writeErr
	if svc == nil {
		writeErr(protocol.Errorf(http.StatusNotFound, protocol.CodeUnknownOperation, "no service answers %s %s", r.Method, r.URL.Path))
		return
	}
	op := "*"
	if svc.Operation != nil {
		op = svc.Operation(r)
	}
	switch s.faults.APIFault(svc.Name, op, []byte(r.URL.RequestURI())) {
	case faults.ErrorThrottling:
		writeErr(restThrottle(svc.Name))
		return
	case faults.ErrorInternal:
		writeErr(restInternal(svc.Name))
		return
	}
	svc.Handler.ServeHTTP(w, r)
}

// restThrottle is the throttling error of a REST service: S3's SlowDown,
// Lambda's TooManyRequestsException.
func restThrottle(service string) *protocol.Error {
	if service == "s3" {
		return protocol.Errorf(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	}
	return protocol.Errorf(http.StatusTooManyRequests, "TooManyRequestsException", "Rate exceeded")
}

// restInternal is the 5xx of a REST service: S3's 500 InternalError,
// Lambda's 500 ServiceException.
func restInternal(service string) *protocol.Error {
	if service == "s3" {
		return protocol.Errorf(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	}
	return protocol.Errorf(http.StatusInternalServerError, "ServiceException", "The AWS Lambda service encountered an internal error.")
}

// jsonFault is the error of a JSON or CBOR service for an injected API
// fault (see faults.Registry.APIFault), or nil for none: throttling is
// ThrottlingException (400); a 5xx is ECS's ServerException (500), or the
// InternalFailure (500) every other AWS JSON service returns.
func jsonFault(service, fault string) *protocol.Error {
	switch fault {
	case faults.ErrorThrottling:
		return protocol.Errorf(http.StatusBadRequest, protocol.CodeThrottling, "Rate exceeded")
	case faults.ErrorInternal:
		if service == "ecs" {
			return protocol.Errorf(http.StatusInternalServerError, "ServerException", "Service Unavailable. Please try again later.")
		}
		return protocol.Errorf(http.StatusInternalServerError, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.")
	}
	return nil
}

// writeRESTJSONError writes an error as REST-JSON services (Lambda) do.
func writeRESTJSONError(w http.ResponseWriter, e *protocol.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", e.Code)
	w.WriteHeader(e.Status)
	b, _ := json.Marshal(struct {
		Type    string `json:"Type"`
		Message string `json:"message"`
	}{"User", e.Message})
	_, _ = w.Write(b)
}
