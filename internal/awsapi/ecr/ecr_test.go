package ecr

import (
	"context"
	"errors"
	"strings"
	"testing"

	sdk "github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/slipwayhq/slipway/internal/awsapi/awsapitest"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// reply is the fake endpoint's answer to one request.
type reply = awsapitest.Reply

// newClient returns a Client whose real SDK client talks to an ECR endpoint
// speaking JSON 1.1 that answers each operation with its one reply, without
// retries.
func newClient(t *testing.T, replies map[string]reply) (*Client, *awsapitest.JSONServer) {
	table := make(map[string][]reply, len(replies))
	for op, rep := range replies {
		table[op] = []reply{rep}
	}
	f, cfg := awsapitest.NewJSON(t, "AmazonEC2ContainerRegistry_V20150921.", "1.1", table)
	return New(sdk.NewFromConfig(cfg)), f
}

func TestImageDigest(t *testing.T) {
	tests := map[string]struct {
		reply     reply
		want      string
		notFound  bool
		transient bool
	}{
		"tagged": {reply: reply{Body: `{"imageDetails":[{"repositoryName":"web","imageDigest":"sha256:0123abcd",
			"imageTags":["v1.4.2","latest"],"imagePushedAt":1764100000}]}`}, want: "sha256:0123abcd"},
		"tag absent":        {reply: awsapitest.JSONError(400, "ImageNotFoundException"), notFound: true},
		"repository absent": {reply: awsapitest.JSONError(400, "RepositoryNotFoundException"), notFound: true},
		"empty answer":      {reply: reply{Body: `{"imageDetails":[]}`}, notFound: true},
		"throttled":         {reply: awsapitest.JSONError(400, "ThrottlingException"), transient: true},
		"server error":      {reply: awsapitest.JSONError(500, "ServerException"), transient: true},
		"denied":            {reply: awsapitest.JSONError(400, "AccessDeniedException")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, f := newClient(t, map[string]reply{"DescribeImages": tc.reply})
			got, err := c.ImageDigest(context.Background(), "web", "v1.4.2")
			f.Check(t, `{"operation":"DescribeImages","repositoryName":"web","imageIds":[{"imageTag":"v1.4.2"}]}`)
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
	c, f := newClient(t, map[string]reply{"DescribeRepositories": {Body: `{"repositories":[{
		"repositoryName":"web","repositoryUri":"111122223333.dkr.ecr.us-east-1.amazonaws.com/web",
		"repositoryArn":"arn:aws:ecr:us-east-1:111122223333:repository/web","registryId":"111122223333"}]}`}})
	got, err := c.RepositoryURI(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if want := "111122223333.dkr.ecr.us-east-1.amazonaws.com/web"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	f.Check(t, `{"operation":"DescribeRepositories","repositoryNames":["web"]}`)

	c, _ = newClient(t, map[string]reply{"DescribeRepositories": awsapitest.JSONError(400, "RepositoryNotFoundException")})
	if _, err := c.RepositoryURI(context.Background(), "web"); !errors.Is(err, ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}
