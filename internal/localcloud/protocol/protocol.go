// Package protocol holds the wire plumbing the local AWS endpoint's services
// share: the error type every handler returns, the handler interfaces for the
// JSON, query and CBOR protocols, the decoders and encoders those protocols
// need, and the EventBridge event sink services publish to.
//
// A service implements its operations once on Go structs; the core router in
// package localcloud decodes the request envelope, calls the handler and
// writes the response or error in the shape of the protocol the client used.
package protocol

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Account is the account id every local resource belongs to.
const Account = "000000000000"

// DefaultRegion is the region used when none is configured.
const DefaultRegion = "us-east-1"

// Error is an AWS-shaped error returned by a handler: Code is the error code a
// client branches on (ClusterNotFoundException, NoSuchKey, …), Status the
// HTTP status it is answered with.
type Error struct {
	Code    string
	Message string
	Status  int
	// Type is the error's shape name when it differs from Code, which
	// happens in query-compatible services: CloudWatch's query code
	// InvalidParameterValue is the shape InvalidParameterValueException.
	// JSON and CBOR responses name Type in __type (so the SDK builds the
	// typed error) and Code in the X-Amzn-Query-Error header (so the error
	// code stays the query one). Empty means Code.
	Type string
}

// Error returns "Code: Message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an Error with the given status and code and a formatted
// message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

// ShapeName returns the name of the error's shape: Type, or Code when Type
// is empty.
func (e *Error) ShapeName() string {
	if e.Type != "" {
		return e.Type
	}
	return e.Code
}

// Generic error codes shared by the services.
const (
	CodeValidation       = "ValidationException"
	CodeSerialization    = "SerializationException"
	CodeUnknownOperation = "UnknownOperationException"
	CodeThrottling       = "ThrottlingException"
	CodeInternalFailure  = "InternalFailure"
	// CodeQueryThrottling is the throttling code of the query services
	// (ELBv2, CloudWatch, STS).
	CodeQueryThrottling = "Throttling"
	// CodeInvalidAction is what query services answer for an unknown Action.
	CodeInvalidAction = "InvalidAction"
)

// Validationf returns a 400 ValidationException.
func Validationf(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, CodeValidation, format, args...)
}

// Serializationf returns a 400 SerializationException.
func Serializationf(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, CodeSerialization, format, args...)
}

// UnknownOperation returns the 400 UnknownOperationException for op.
func UnknownOperation(op string) *Error {
	return Errorf(http.StatusBadRequest, CodeUnknownOperation, "unknown operation %s", op)
}

// InternalFailure returns a 500 InternalFailure with a generic message; the
// cause is logged by the caller, not shown to the client.
func InternalFailure() *Error {
	return Errorf(http.StatusInternalServerError, CodeInternalFailure, "the request processing has failed because of an unknown error")
}

// JSONHandler serves an AWS JSON 1.0/1.1 service (ECS, ECR, EventBridge,
// Application Auto Scaling, Cloud Map, Step Functions). op is the part of
// X-Amz-Target after the '.'; the result is marshalled with encoding/json.
// An unknown op returns UnknownOperation(op).
type JSONHandler interface {
	ServeJSON(ctx context.Context, op string, body []byte) (any, error)
}

// JSONHandlerFunc adapts a function to JSONHandler.
type JSONHandlerFunc func(ctx context.Context, op string, body []byte) (any, error)

// ServeJSON calls f.
func (f JSONHandlerFunc) ServeJSON(ctx context.Context, op string, body []byte) (any, error) {
	return f(ctx, op, body)
}

// Event is an EventBridge event a service emits. The sink fills version, id,
// account, region and time.
type Event struct {
	Source     string
	DetailType string
	Resources  []string
	Detail     any
}

// EventSink receives the events services emit (the eventbridge package
// implements it). Delivery is best effort, as on AWS.
type EventSink interface {
	PutEvent(ctx context.Context, e Event)
}

// EventSinkFunc adapts a function to EventSink.
type EventSinkFunc func(ctx context.Context, e Event)

// PutEvent calls f.
func (f EventSinkFunc) PutEvent(ctx context.Context, e Event) { f(ctx, e) }

// DiscardEvents is an EventSink that drops every event.
type DiscardEvents struct{}

// PutEvent drops e.
func (DiscardEvents) PutEvent(context.Context, Event) {}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the id of the request being served.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the id of the request being served, or "" outside one.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

type accessKeyKey struct{}

// WithAccessKeyID returns ctx carrying the access key id the request was
// signed with.
func WithAccessKeyID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, accessKeyKey{}, id)
}

// AccessKeyID returns the access key id the request being served was signed
// with, or "" when it was not signed.
func AccessKeyID(ctx context.Context) string {
	id, _ := ctx.Value(accessKeyKey{}).(string)
	return id
}

// SigV4AccessKeyID extracts the access key id from a SigV4 Authorization
// header ("AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/s3/aws4_request, …")
// or a presigned URL's X-Amz-Credential value; "" when there is none.
func SigV4AccessKeyID(authorization, credentialParam string) string {
	cred := credentialParam
	if _, after, ok := strings.Cut(authorization, "Credential="); ok {
		cred = after
	}
	id, _, _ := strings.Cut(cred, "/")
	if i := strings.IndexAny(id, ", "); i >= 0 {
		id = id[:i]
	}
	return id
}
