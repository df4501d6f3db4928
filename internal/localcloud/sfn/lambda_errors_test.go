package sfn

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/slipwayhq/slipway/internal/asl"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// TestLambdaServiceErrorNames checks that a Lambda service error fails the
// task with the name Step Functions gives it, Lambda.<code>, which the
// state machine's Retry matches (Lambda.TooManyRequestsException).
func TestLambdaServiceErrorNames(t *testing.T) {
	invoke := lambdaAdapter(func(context.Context, string, []byte) ([]byte, bool, error) {
		return nil, false, protocol.Errorf(http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded.")
	})
	_, err := invoke(context.Background(), "step", nil)
	var te *asl.TaskError
	if !errors.As(err, &te) || te.Name != "Lambda.TooManyRequestsException" {
		t.Errorf("got %v, want a TaskError named Lambda.TooManyRequestsException", err)
	}
}
