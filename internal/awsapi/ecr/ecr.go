// Package ecr is the adapter over the Amazon ECR API: it resolves an image
// tag to the digest a deployment pins, and a repository name to its URI.
package ecr

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/slipwayhq/slipway/internal/awsapi"
)

// ErrNotFound means the repository, or the tag in it, does not exist.
var ErrNotFound = errors.New("not found")

// api lists the ECR client methods the adapter uses.
type api interface {
	DescribeImages(context.Context, *sdk.DescribeImagesInput, ...func(*sdk.Options)) (*sdk.DescribeImagesOutput, error)
	DescribeRepositories(context.Context, *sdk.DescribeRepositoriesInput, ...func(*sdk.Options)) (*sdk.DescribeRepositoriesOutput, error)
}

// Client reads images and repositories of the account's private registry.
type Client struct {
	api api
}

// New returns a Client over api, normally an *ecr.Client from the SDK.
func New(api api) *Client { return &Client{api: api} }

// ImageDigest returns the digest ("sha256:…") that tag points to in
// repository now. It returns an error wrapping ErrNotFound when the tag or
// the repository does not exist.
func (c *Client) ImageDigest(ctx context.Context, repository, tag string) (string, error) {
	op := fmt.Sprintf("describe image %s:%s", repository, tag)
	out, err := c.api.DescribeImages(ctx, &sdk.DescribeImagesInput{
		RepositoryName: &repository,
		ImageIds:       []types.ImageIdentifier{{ImageTag: &tag}},
	})
	if err != nil {
		return "", notFound(op, err, "ImageNotFoundException", "RepositoryNotFoundException")
	}
	for _, d := range out.ImageDetails {
		if digest := aws.ToString(d.ImageDigest); digest != "" {
			return digest, nil
		}
	}
	return "", fmt.Errorf("%s: %w", op, ErrNotFound)
}

// RepositoryURI returns the URI of repository, for example
// 111122223333.dkr.ecr.us-east-1.amazonaws.com/web. It returns an error
// wrapping ErrNotFound when the repository does not exist.
func (c *Client) RepositoryURI(ctx context.Context, repository string) (string, error) {
	op := "describe repository " + repository
	out, err := c.api.DescribeRepositories(ctx, &sdk.DescribeRepositoriesInput{RepositoryNames: []string{repository}})
	if err != nil {
		return "", notFound(op, err, "RepositoryNotFoundException")
	}
	for _, r := range out.Repositories {
		if aws.ToString(r.RepositoryName) == repository {
			return aws.ToString(r.RepositoryUri), nil
		}
	}
	return "", fmt.Errorf("%s: %w", op, ErrNotFound)
}

// notFound wraps err with ErrNotFound when its code is one of codes, and
// classifies it otherwise.
func notFound(op string, err error, codes ...string) error {
	if awsapi.HasCode(err, codes...) {
		return fmt.Errorf("%s: %w: %w", op, ErrNotFound, err)
	}
	return awsapi.Classify(op, err)
}
