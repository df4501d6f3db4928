package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/workflow"
)

const target = "AmazonEC2ContainerRegistry_V20150921."

// reply is the fake endpoint's answer to one request.
type reply struct {
	status int    // 200 when zero
	body   string // JSON
}

func errorReply(status int, code string) reply {
	return reply{status: status, body: `{"__type":"` + code + `","message":"` + code + ` from the fake"}`}
}

// fake is an ECR endpoint speaking JSON 1.1: it records each request body
// and answers every operation with the one reply it holds.
type fake struct {
	t        *testing.T
	mu       sync.Mutex
	replies  map[string]reply
	requests []map[string]any
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), target)
	if !ok || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		f.t.Errorf("got target %q content type %q, want a JSON 1.1 ECR request",
			r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type"))
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.t.Errorf("request body: %v", err)
	}
	body["operation"] = op // recorded beside the body to assert both at once
	f.mu.Lock()
	f.requests = append(f.requests, body)
	rep, ok := f.replies[op]
	f.mu.Unlock()
	if !ok {
		f.t.Errorf("unexpected operation %s", op)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if rep.status != 0 {
		w.WriteHeader(rep.status)
	}
	io.WriteString(w, rep.body)
}

// newClient returns a Client whose real SDK client talks to a fake answering
// with replies, without retries.
func newClient(t *testing.T, replies map[string]reply) (*Client, *fake) {
	f := &fake{t: t, replies: replies}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return New(sdk.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	})), f
}

func (f *fake) check(t *testing.T, want ...string) {
	t.Helper()
	var w []map[string]any
	for _, s := range want {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("test JSON %q: %v", s, err)
		}
		w = append(w, m)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if diff := cmp.Diff(w, f.requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestImageDigest(t *testing.T) {
	tests := map[string]struct {
		reply     reply
		want      string
		notFound  bool
		transient bool
	}{
		"tagged": {reply: reply{body: `{"imageDetails":[{"repositoryName":"web","imageDigest":"sha256:0123abcd",
			"imageTags":["v1.4.2","latest"],"imagePushedAt":1764100000}]}`}, want: "sha256:0123abcd"},
		"tag absent":        {reply: errorReply(400, "ImageNotFoundException"), notFound: true},
		"repository absent": {reply: errorReply(400, "RepositoryNotFoundException"), notFound: true},
		"empty answer":      {reply: reply{body: `{"imageDetails":[]}`}, notFound: true},
		"throttled":         {reply: errorReply(400, "ThrottlingException"), transient: true},
		"server error":      {reply: errorReply(500, "ServerException"), transient: true},
		"denied":            {reply: errorReply(400, "AccessDeniedException")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, f := newClient(t, map[string]reply{"DescribeImages": tc.reply})
			got, err := c.ImageDigest(context.Background(), "web", "v1.4.2")
			f.check(t, `{"operation":"DescribeImages","repositoryName":"web","imageIds":[{"imageTag":"v1.4.2"}]}`)
			if got != tc.want {
				t.Errorf("got digest %q, want %q", got, tc.want)
			}
			if (err != nil) != (tc.want == "") {
				t.Errorf("got error %v, want error %v", err, tc.want == "")
			}
			if errors.Is(err, ErrNotFound) != tc.notFound {
				t.Errorf("got %v, want ErrNotFound %v", err, tc.notFound)
			}
			var tr *workflow.Transient
			if errors.As(err, &tr) != tc.transient {
				t.Errorf("got %v, want transient %v", err, tc.transient)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "describe image web:v1.4.2: ") {
				t.Errorf("got message %q, want it to name the image", err)
			}
		})
	}
}

func TestRepositoryURI(t *testing.T) {
	c, f := newClient(t, map[string]reply{"DescribeRepositories": {body: `{"repositories":[{
		"repositoryName":"web","repositoryUri":"111122223333.dkr.ecr.us-east-1.amazonaws.com/web",
		"repositoryArn":"arn:aws:ecr:us-east-1:111122223333:repository/web","registryId":"111122223333"}]}`}})
	got, err := c.RepositoryURI(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if want := "111122223333.dkr.ecr.us-east-1.amazonaws.com/web"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	f.check(t, `{"operation":"DescribeRepositories","repositoryNames":["web"]}`)

	c, _ = newClient(t, map[string]reply{"DescribeRepositories": errorReply(400, "RepositoryNotFoundException")})
	if _, err := c.RepositoryURI(context.Background(), "web"); !errors.Is(err, ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}
