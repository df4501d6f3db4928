package stack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// CreateRepositories creates the ECR repositories that do not exist yet.
func CreateRepositories(ctx context.Context, cfg aws.Config, names []string) error {
	c := ecr.NewFromConfig(cfg)
	for _, name := range names {
		_, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)})
		var exists *ecrtypes.RepositoryAlreadyExistsException
		if err != nil && !errors.As(err, &exists) {
			return fmt.Errorf("create repository %s: %w", name, err)
		}
	}
	return nil
}

// PushImage pushes repo:tag as `docker push` ends, with PutImage of an image
// manifest, and returns the image digest. The manifest is synthetic but
// well formed, distinct per repository and tag.
func PushImage(ctx context.Context, cfg aws.Config, repo, tag string) (string, error) {
	layer := sha256.Sum256([]byte(repo + ":" + tag))
	config := sha256.Sum256([]byte("config " + repo + ":" + tag))
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":1024,"digest":"sha256:%s"},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":4096,"digest":"sha256:%s"}]}`,
		hex.EncodeToString(config[:]), hex.EncodeToString(layer[:]))
	out, err := ecr.NewFromConfig(cfg).PutImage(ctx, &ecr.PutImageInput{
		RepositoryName: aws.String(repo), ImageTag: aws.String(tag), ImageManifest: aws.String(manifest),
		ImageManifestMediaType: aws.String("application/vnd.oci.image.manifest.v1+json"),
	})
	if err != nil {
		return "", fmt.Errorf("push %s:%s: %w", repo, tag, err)
	}
	return aws.ToString(out.Image.ImageId.ImageDigest), nil
}
