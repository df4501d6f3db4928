package endpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/slipwayhq/slipway/internal/localcloud/faults"
)

// Control is a client of a running endpoint's control API
// (/_slipway/health and /_slipway/faults).
type Control struct {
	// URL is the endpoint's base URL.
	URL string
	// HTTP is the client used; http.DefaultClient if nil.
	HTTP *http.Client
}

func (c Control) do(ctx context.Context, method, path string, body any, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.URL, "/")+path, r)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// Healthy reports whether the endpoint answers its health check with 200.
func (c Control) Healthy(ctx context.Context) bool {
	return c.do(ctx, http.MethodGet, "/_slipway/health", nil, nil) == nil
}

// Faults returns the active faults.
func (c Control) Faults(ctx context.Context) (faults.State, error) {
	var st faults.State
	err := c.do(ctx, http.MethodGet, "/_slipway/faults", nil, &st)
	return st, err
}

// Apply adds faults and returns the resulting state.
func (c Control) Apply(ctx context.Context, add faults.State) (faults.State, error) {
	var st faults.State
	err := c.do(ctx, http.MethodPost, "/_slipway/faults", add, &st)
	return st, err
}

// Clear removes every fault.
func (c Control) Clear(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "/_slipway/faults", nil, nil)
}

// ResolveImage turns an image reference into the digest faults are keyed
// by: "sha256:…" and "…@sha256:…" are digests already; "repo:tag" is looked
// up in ECR.
func ResolveImage(ctx context.Context, cfg aws.Config, ref string) (string, error) {
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		ref = ref[i+1:]
	}
	if strings.HasPrefix(ref, "sha256:") {
		return ref, nil
	}
	repo, tag, ok := strings.Cut(ref, ":")
	if !ok || repo == "" || tag == "" {
		return "", fmt.Errorf("image %q: want repository:tag, sha256:<digest> or uri@sha256:<digest>", ref)
	}
	if i := strings.LastIndex(repo, "/"); i >= 0 && strings.Contains(repo[:i], ".dkr.ecr.") {
		repo = repo[i+1:]
	}
	out, err := ecr.NewFromConfig(cfg).DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo),
		ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String(tag)}}})
	if err != nil {
		return "", fmt.Errorf("resolve image %s: %w", ref, err)
	}
	if len(out.ImageDetails) == 0 {
		return "", fmt.Errorf("resolve image %s: not found in ECR", ref)
	}
	return aws.ToString(out.ImageDetails[0].ImageDigest), nil
}
