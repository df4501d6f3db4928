// Package awsapi holds what the thin adapters in internal/awsapi/<service>
// share: reading the code and HTTP status of an SDK error, and classifying an
// error into the contract of internal/workflow (transient or not).
//
// Each sub-package wraps one aws-sdk-go-v2 client behind an unexported
// interface listing only the methods it calls, and speaks in domain terms.
package awsapi

import (
	"context"
	"errors"
	"fmt"
	"slices"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// transientCode reports whether code is one that AWS services return for a
// failure that passes on its own. Throttling: JSON services say
// ThrottlingException, query services Throttling, a few
// TooManyRequestsException or RequestLimitExceeded. Conflicts: a concurrent
// change to the same resource, which normally succeeds when tried again.
func transientCode(code string) bool {
	switch code {
	case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
		"ConflictException", "ConcurrentModificationException", "ConcurrentUpdateException":
		return true
	}
	return false
}

// Code returns the error code of the AWS API error in err's chain, or "" when
// there is none (a network failure, a canceled context, a local error).
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// HasCode reports whether err carries an AWS API error whose code is one of
// codes.
func HasCode(err error, codes ...string) bool {
	c := Code(err)
	return c != "" && slices.Contains(codes, c)
}

// StatusCode returns the HTTP status of the response that produced err, or 0
// when no response was received.
func StatusCode(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// IsTransient reports whether err may pass on its own: throttling (by code,
// or status 429), a 5xx response, a conflicting concurrent update, or a request that never reached
// the service (connection refused or reset). A canceled or expired context is
// not transient: the caller gave up.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if transientCode(Code(err)) {
		return true
	}
	if s := StatusCode(err); s == 429 || s >= 500 {
		return true
	}
	var se *smithyhttp.RequestSendError
	return errors.As(err, &se)
}

// Classify wraps err with op, the operation that was being done (for example
// "update service prod/web"). A transient error becomes a
// *workflow.Transient, which the state machine retries; any other error is
// returned wrapped, its chain intact for errors.Is and errors.As. Classify
// returns nil for a nil err.
func Classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if IsTransient(err) {
		return &workflow.Transient{Op: op, Err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}
