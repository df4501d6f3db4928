package localcloud

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

// TestGuardHost sends requests over a real connection with the Host header
// a client would send: the endpoint's own names pass, a name of a web page
// rebound to 127.0.0.1 (DNS rebinding) or another port does not.
func TestGuardHost(t *testing.T) {
	env := newEnv(t)
	env.server.AllowHost("devbox.lan")
	u, err := url.Parse(env.url)
	if err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		host string
		want int
	}{
		"the URL's host":              {host: u.Host, want: http.StatusOK},
		"localhost":                   {host: "localhost:" + port, want: http.StatusOK},
		"LOCALHOST.":                  {host: "LOCALHOST.:" + port, want: http.StatusOK},
		"a name under .localhost":     {host: "s3.localhost:" + port, want: http.StatusOK},
		"IPv6 loopback":               {host: "[::1]:" + port, want: http.StatusOK},
		"another loopback address":    {host: "127.0.0.2:" + port, want: http.StatusOK},
		"a host added with AllowHost": {host: "devbox.lan:" + port, want: http.StatusOK},
		"DNS rebinding":               {host: "attacker.example:" + port, want: http.StatusForbidden},
		"rebinding without a port":    {host: "attacker.example", want: http.StatusForbidden},
		"localhost on another port":   {host: "localhost:1", want: http.StatusForbidden},
		"localhost without the port":  {host: "localhost", want: http.StatusForbidden},
		"a LAN address not listened":  {host: "192.168.1.20:" + port, want: http.StatusForbidden},
		"0.0.0.0":                     {host: "0.0.0.0:" + port, want: http.StatusForbidden},
		"a name ending like local":    {host: "evil-localhost:" + port, want: http.StatusForbidden},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req := prototest.NewRequest(t, http.MethodGet, env.url+"/_slipway/health", "")
			req.Host = tc.host
			status, _, body := prototest.Do(t, req)
			if status != tc.want {
				t.Fatalf("Host %s: got %d %s, want %d", tc.host, status, body, tc.want)
			}
			if tc.want == http.StatusForbidden && !strings.Contains(body, "DNS rebinding") {
				t.Errorf("got %s, want a message that explains the refusal", body)
			}
		})
	}

	// An AWS API request is guarded as the control API is.
	req := prototest.NewRequest(t, http.MethodPost, env.url+"/", "Action=GetCallerIdentity&Version=2011-06-15")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "attacker.example:" + port
	if status, _, body := prototest.Do(t, req); status != http.StatusForbidden {
		t.Errorf("STS through a rebound name: got %d %s, want 403", status, body)
	}
}

// TestGuardBrowser refuses what only browsers send: an Origin (every
// cross-site fetch or form post, and preflights) or a Sec-Fetch-Site other
// than none (a URL the user typed).
func TestGuardBrowser(t *testing.T) {
	env := newEnv(t)
	tests := map[string]struct {
		method, path string
		headers      map[string]string
		body         string
		want         int
	}{
		"a cross-site form post to an AWS API": {method: http.MethodPost, path: "/",
			headers: map[string]string{"Origin": "https://attacker.example", "Content-Type": "application/x-www-form-urlencoded"},
			body:    "Action=GetCallerIdentity&Version=2011-06-15", want: http.StatusForbidden},
		"a cross-site fetch of the control API": {method: http.MethodPost, path: "/_slipway/faults",
			headers: map[string]string{"Origin": "https://attacker.example", "Content-Type": "application/json"},
			body:    `{"dropEvents": 5}`, want: http.StatusForbidden},
		"a preflight": {method: http.MethodOptions, path: "/_slipway/faults",
			headers: map[string]string{"Origin": "https://attacker.example", "Access-Control-Request-Method": "DELETE"},
			want:    http.StatusForbidden},
		"a sandboxed page (Origin null)": {method: http.MethodGet, path: "/_slipway/faults",
			headers: map[string]string{"Origin": "null"}, want: http.StatusForbidden},
		"an image tag's GET query request": {method: http.MethodGet, path: "/?Action=GetCallerIdentity&Version=2011-06-15",
			headers: map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}, want: http.StatusForbidden},
		"a page the endpoint served itself": {method: http.MethodGet, path: "/_slipway/faults",
			headers: map[string]string{"Sec-Fetch-Site": "same-origin"}, want: http.StatusForbidden},
		"a URL typed in the browser": {method: http.MethodGet, path: "/_slipway/health",
			headers: map[string]string{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"}, want: http.StatusOK},
		"curl": {method: http.MethodGet, path: "/_slipway/health", want: http.StatusOK},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			status, _, body := env.raw(t, tc.method, tc.path, tc.headers, tc.body)
			if status != tc.want {
				t.Fatalf("got %d %s, want %d", status, body, tc.want)
			}
			if tc.want == http.StatusForbidden && !strings.Contains(body, "no authentication") {
				t.Errorf("got %s, want a message that says the endpoint has no authentication", body)
			}
		})
	}
	if st := env.server.Faults().State(); st.DropEvents != 0 {
		t.Errorf("a refused request changed the faults: %+v", st)
	}
}

// TestControlContentType: the control API changes nothing unless the
// request says it sends JSON, which no web form or "simple" cross-site
// request can.
func TestControlContentType(t *testing.T) {
	env := newEnv(t)
	tests := map[string]struct {
		method, contentType, body string
		want                      int
	}{
		"text/plain":          {method: http.MethodPost, contentType: "text/plain", body: `{"dropEvents": 5}`, want: http.StatusUnsupportedMediaType},
		"a form":              {method: http.MethodPost, contentType: "application/x-www-form-urlencoded", body: `{"dropEvents": 5}`, want: http.StatusUnsupportedMediaType},
		"none":                {method: http.MethodPost, body: `{"dropEvents": 5}`, want: http.StatusUnsupportedMediaType},
		"DELETE without one":  {method: http.MethodDelete, want: http.StatusUnsupportedMediaType},
		"JSON with a charset": {method: http.MethodPost, contentType: "application/json; charset=utf-8", body: `{"dropEvents": 5}`, want: http.StatusOK},
		"GET needs none":      {method: http.MethodGet, want: http.StatusOK},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			env.server.Faults().Reset()
			headers := map[string]string{}
			if tc.contentType != "" {
				headers["Content-Type"] = tc.contentType
			}
			status, _, body := env.raw(t, tc.method, "/_slipway/faults", headers, tc.body)
			if status != tc.want {
				t.Fatalf("got %d %s, want %d", status, body, tc.want)
			}
			if tc.want == http.StatusUnsupportedMediaType {
				if !strings.Contains(body, "application/json") {
					t.Errorf("got %s, want a message naming application/json", body)
				}
				if st := env.server.Faults().State(); st.DropEvents != 0 {
					t.Errorf("a refused request changed the faults: %+v", st)
				}
			}
		})
	}
}

// TestGuardLetsTheSDKThrough: the stock SDK, pointed at the endpoint's URL,
// sends nothing the guard refuses.
func TestGuardLetsTheSDKThrough(t *testing.T) {
	env := newEnv(t)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		u := strings.Replace(env.url, "127.0.0.1", host, 1)
		c := awss3.NewFromConfig(prototest.Config(u), func(o *awss3.Options) { o.UsePathStyle = true })
		if _, err := c.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String("guarded-" + host)}); err != nil {
			t.Errorf("CreateBucket through %s: %v", u, err)
		}
	}
}
