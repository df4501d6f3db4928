package awsapi

import (
	"context"
	"errors"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// apiError builds the chain the SDK returns for an error response: an
// operation error around an HTTP response error around the API error.
func apiError(status int, code string) error {
	return &smithy.OperationError{
		ServiceID:     "ECS",
		OperationName: "UpdateService",
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err:      &smithy.GenericAPIError{Code: code, Message: "message for " + code},
			},
			RequestID: "req-1",
		},
	}
}

func TestClassify(t *testing.T) {
	tests := map[string]struct {
		err       error
		transient bool
	}{
		"ThrottlingException":             {err: apiError(400, "ThrottlingException"), transient: true},
		"Throttling":                      {err: apiError(400, "Throttling"), transient: true},
		"TooManyRequestsException":        {err: apiError(429, "TooManyRequestsException"), transient: true},
		"RequestLimitExceeded":            {err: apiError(400, "RequestLimitExceeded"), transient: true},
		"ConflictException":               {err: apiError(409, "ConflictException"), transient: true},
		"ConcurrentModificationException": {err: apiError(400, "ConcurrentModificationException"), transient: true},
		"ConcurrentUpdateException":       {err: apiError(400, "ConcurrentUpdateException"), transient: true},
		"500 ServerException":             {err: apiError(500, "ServerException"), transient: true},
		"503 unknown code":                {err: apiError(503, "ServiceUnavailable"), transient: true},
		"429 unknown code":                {err: apiError(429, "SlowDown"), transient: true},
		"connection refused":              {err: &smithyhttp.RequestSendError{Err: errors.New("connection refused")}, transient: true},
		"ClientException":                 {err: apiError(400, "ClientException")},
		"InvalidParameterException":       {err: apiError(400, "InvalidParameterException")},
		"AccessDeniedException":           {err: apiError(403, "AccessDeniedException")},
		"canceled context while sending":  {err: &smithyhttp.RequestSendError{Err: context.Canceled}},
		"deadline":                        {err: context.DeadlineExceeded},
		"plain error":                     {err: errors.New("boom")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Classify("update service prod/web", tc.err)
			if !errors.Is(got, tc.err) {
				t.Errorf("got %v, want it to wrap %v", got, tc.err)
			}
			var tr *workflow.Transient
			if errors.As(got, &tr) != tc.transient {
				t.Fatalf("got transient %v, want %v (%v)", !tc.transient, tc.transient, got)
			}
			if tc.transient && tr.Op != "update service prod/web" {
				t.Errorf("got op %q, want %q", tr.Op, "update service prod/web")
			}
			if want := "update service prod/web: " + tc.err.Error(); got.Error() != want {
				t.Errorf("got message %q, want %q", got.Error(), want)
			}
		})
	}
}

func TestClassifyNil(t *testing.T) {
	if got := Classify("op", nil); got != nil {
		t.Errorf("got %v, want nil", got)
	}
}

func TestCodeAndStatus(t *testing.T) {
	err := Classify("describe", apiError(400, "ServiceNotFoundException"))
	if got, want := Code(err), "ServiceNotFoundException"; got != want {
		t.Errorf("got code %q, want %q", got, want)
	}
	if got, want := StatusCode(err), 400; got != want {
		t.Errorf("got status %d, want %d", got, want)
	}
	if !HasCode(err, "ClusterNotFoundException", "ServiceNotFoundException") {
		t.Errorf("got HasCode false, want true")
	}
	if HasCode(errors.New("x"), "") {
		t.Errorf("got HasCode true for an error without code, want false")
	}
	if got := StatusCode(errors.New("x")); got != 0 {
		t.Errorf("got status %d, want 0", got)
	}
}
