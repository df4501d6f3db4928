package awsapi

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// KeepConnections returns an HTTP client for the SDK that sends through
// next (the SDK's default client when nil) without letting the SDK's
// request body bring the connection down.
//
// The SDK closes the body of a request as soon as the response headers
// arrive, and its body, once closed, answers WriteTo with io.EOF. net/http
// reads the body once more after sending it, to check that nothing is left
// beyond Content-Length, and reaches for WriteTo to do so. When the
// response is faster than that last read — a local endpoint on a busy
// machine — net/http takes the io.EOF for a failed request write and
// closes the connection under the response still being read: the SDK then
// logs "failed to discard remaining HTTP response body … use of closed
// network connection", or fails the read and retries, and every such
// request costs a new connection. Handing net/http a body that offers only
// Read (and Close) avoids it: a closed body's Read says io.EOF, which is
// the end of the body, not an error.
func KeepConnections(next aws.HTTPClient) aws.HTTPClient {
	if next == nil {
		next = awshttp.NewBuildableClient()
	}
	return keepConnections{next: next}
}

type keepConnections struct{ next aws.HTTPClient }

// Do sends r with its body hidden behind readOnlyBody.
func (c keepConnections) Do(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return c.next.Do(r)
	}
	shallow := r.WithContext(r.Context())
	shallow.Body = readOnlyBody{r.Body}
	return c.next.Do(shallow)
}

// readOnlyBody hides every method of a request body but Read and Close
// (WriteTo in particular).
type readOnlyBody struct{ body io.ReadCloser }

func (b readOnlyBody) Read(p []byte) (int, error) { return b.body.Read(p) }
func (b readOnlyBody) Close() error               { return b.body.Close() }
