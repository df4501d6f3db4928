package endpoint_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"

	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
)

// serve runs a bare endpoint (no stack) and returns an SDK configuration
// for it.
func serve(t *testing.T) (*endpoint.Endpoint, string, aws.Config) {
	t.Helper()
	e := endpoint.New(endpoint.Config{})
	url, srv, err := e.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		e.Close()
	})
	return e, url, stack.AWSConfig(url, "us-east-1")
}

// TestThrottleFault throttles one ECS operation through the control API and
// sees the SDK get ThrottlingException for it, and only for it.
func TestThrottleFault(t *testing.T) {
	ctx := context.Background()
	_, url, cfg := serve(t)
	c := ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.RetryMaxAttempts = 1 })
	if _, err := (endpoint.Control{URL: url}).Apply(ctx, faults.State{Throttles: []faults.Throttle{{Service: "ecs", Operation: "ListClusters", Count: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{}); err != nil {
		t.Errorf("DescribeClusters: %v, want no throttling for another operation", err)
	}
	_, err := c.ListClusters(ctx, &ecs.ListClustersInput{})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ThrottlingException" {
		t.Errorf("got %v, want ThrottlingException", err)
	}
	if _, err := c.ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
		t.Errorf("second ListClusters: %v, want the throttle used up", err)
	}
}

// TestHealth answers 503 until the endpoint is marked ready.
func TestHealth(t *testing.T) {
	ctx := context.Background()
	e, url, _ := serve(t)
	control := endpoint.Control{URL: url}
	e.Server.SetReady(false)
	if control.Healthy(ctx) {
		t.Error("healthy before ready")
	}
	e.Server.SetReady(true)
	if !control.Healthy(ctx) {
		t.Error("not healthy once ready")
	}
}

// TestResolveImage resolves tags through ECR and takes digests as they are.
func TestResolveImage(t *testing.T) {
	ctx := context.Background()
	_, _, cfg := serve(t)
	if err := stack.CreateRepositories(ctx, cfg, []string{"web"}); err != nil {
		t.Fatal(err)
	}
	pushed, err := stack.PushImage(ctx, cfg, "web", "v7")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		ref, want string
		wantErr   bool
	}{
		"tag":                    {ref: "web:v7", want: pushed},
		"uri and tag":            {ref: "000000000000.dkr.ecr.us-east-1.amazonaws.com/web:v7", want: pushed},
		"digest":                 {ref: pushed, want: pushed},
		"uri with digest":        {ref: "web@" + pushed, want: pushed},
		"unknown tag":            {ref: "web:v8", wantErr: true},
		"unknown repo":           {ref: "api:v1", wantErr: true},
		"neither tag nor digest": {ref: "web", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := endpoint.ResolveImage(ctx, cfg, tc.ref)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("got %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
