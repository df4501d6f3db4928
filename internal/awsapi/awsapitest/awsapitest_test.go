package awsapitest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// post sends a JSON 1.1 request with target to url and returns the status,
// the X-Extra header and the body of the answer.
func post(t *testing.T, url, target, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Extra"), string(b)
}

func TestJSONServer(t *testing.T) {
	s, cfg := NewJSON(t, "Svc.", "1.1", map[string][]Reply{
		"Get": {{Body: `{"n":1}`}, {Status: 400, Header: map[string]string{"X-Extra": "yes"}, Body: `{"n":2}`}},
	})
	if cfg.Region != "us-east-1" || cfg.BaseEndpoint == nil || cfg.Retryer == nil {
		t.Fatalf("got config %+v, want region, endpoint and retryer set", cfg)
	}
	type answer struct {
		Status       int
		Header, Body string
	}
	var got []answer
	for i := range 3 {
		st, h, b := post(t, *cfg.BaseEndpoint, "Svc.Get", fmt.Sprintf(`{"i":%d}`, i))
		got = append(got, answer{st, h, b})
	}
	want := []answer{{200, "", `{"n":1}`}, {400, "yes", `{"n":2}`}, {400, "yes", `{"n":2}`}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	s.Check(t, `{"operation":"Get","i":0}`, `{"operation":"Get","i":1}`, `{"operation":"Get","i":2}`)
	if diff := cmp.Diff([]map[string]any{{"i": 0.0}, {"i": 1.0}, {"i": 2.0}}, s.Bodies()); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
}

// recorder is a testing.TB that keeps the failures reported to it.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func TestJSONServerUnexpected(t *testing.T) {
	tests := map[string]struct {
		target     string
		wantStatus int
		wantFails  int
	}{
		"unknown operation": {target: "Svc.Put", wantStatus: http.StatusNotImplemented, wantFails: 1},
		"other service":     {target: "Other.Get", wantStatus: http.StatusNotImplemented, wantFails: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := &recorder{TB: t}
			_, cfg := NewJSON(r, "Svc.", "1.1", map[string][]Reply{"Get": {{Body: `{}`}}})
			st, _, _ := post(t, *cfg.BaseEndpoint, tc.target, `{}`)
			if st != tc.wantStatus || len(r.failures) != tc.wantFails {
				t.Errorf("got status %d failures %q, want %d and %d failures", st, r.failures, tc.wantStatus, tc.wantFails)
			}
		})
	}
}
