// Package ecr simulates the Amazon ECR API (JSON 1.1) that Slipway, its CLI
// and a user's aws CLI session need: repositories, PutImage with digests
// computed from the manifest, BatchGetImage, DescribeImages, ListImages and
// BatchDeleteImage. A push emits the "ECR Image Action" event.
package ecr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// TargetPrefix is the X-Amz-Target prefix of ECR requests.
const TargetPrefix = "AmazonEC2ContainerRegistry_V20150921"

// defaultMediaType is the manifest media type assumed when neither the
// request nor the manifest names one.
const defaultMediaType = "application/vnd.docker.distribution.manifest.v2+json"

// Options configure a Service.
type Options struct {
	// Clock stamps repositories and pushes; nil uses the real clock.
	Clock clock.Clock
	// Region appears in ARNs and repository URIs; empty means
	// protocol.DefaultRegion.
	Region string
	// Events receives "ECR Image Action" events; nil discards them.
	Events protocol.EventSink
}

// Service is the simulated ECR, a protocol.JSONHandler.
type Service struct {
	clock  clock.Clock
	region string
	events protocol.EventSink

	mu    sync.Mutex
	repos map[string]*repository
}

// repository is the state of one repository.
type repository struct {
	Name         string            `json:"name"`
	Created      time.Time         `json:"created"`
	Mutability   string            `json:"mutability"`
	ScanOnPush   bool              `json:"scanOnPush,omitempty"`
	ResourceTags []Tag             `json:"resourceTags,omitempty"`
	Images       map[string]*image `json:"images"`    // by digest
	ImageTags    map[string]string `json:"imageTags"` // tag → digest
}

// image is one pushed manifest.
type image struct {
	Digest            string    `json:"digest"`
	Manifest          string    `json:"manifest"`
	MediaType         string    `json:"mediaType"`
	ArtifactMediaType string    `json:"artifactMediaType,omitempty"`
	Size              int64     `json:"size"`
	PushedAt          time.Time `json:"pushedAt"`
}

// New returns an ECR with no repositories.
func New(opts Options) *Service {
	s := &Service{clock: opts.Clock, region: opts.Region, events: opts.Events, repos: map[string]*repository{}}
	if s.clock == nil {
		s.clock = clock.Real()
	}
	if s.region == "" {
		s.region = protocol.DefaultRegion
	}
	if s.events == nil {
		s.events = protocol.DiscardEvents{}
	}
	return s
}

// ServeJSON dispatches one ECR operation.
func (s *Service) ServeJSON(ctx context.Context, op string, body []byte) (any, error) {
	switch op {
	case "CreateRepository":
		return s.createRepository(body)
	case "DescribeRepositories":
		return s.describeRepositories(body)
	case "DeleteRepository":
		return s.deleteRepository(body)
	case "PutImage":
		return s.putImage(ctx, body)
	case "BatchGetImage":
		return s.batchGetImage(body)
	case "DescribeImages":
		return s.describeImages(body)
	case "ListImages":
		return s.listImages(body)
	case "BatchDeleteImage":
		return s.batchDeleteImage(body)
	case "GetAuthorizationToken":
		return s.getAuthorizationToken(body)
	}
	return nil, protocol.UnknownOperation(op)
}

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// ImageIdentifier names an image by digest, tag or both.
type ImageIdentifier struct {
	ImageDigest string `json:"imageDigest,omitempty"`
	ImageTag    string `json:"imageTag,omitempty"`
}

// Repository is a repository as the API returns it.
type Repository struct {
	RepositoryArn              string                     `json:"repositoryArn"`
	RegistryID                 string                     `json:"registryId"`
	RepositoryName             string                     `json:"repositoryName"`
	RepositoryURI              string                     `json:"repositoryUri"`
	CreatedAt                  float64                    `json:"createdAt"`
	ImageTagMutability         string                     `json:"imageTagMutability"`
	ImageScanningConfiguration imageScanningConfiguration `json:"imageScanningConfiguration"`
	EncryptionConfiguration    encryptionConfiguration    `json:"encryptionConfiguration"`
}

type imageScanningConfiguration struct {
	ScanOnPush bool `json:"scanOnPush"`
}

type encryptionConfiguration struct {
	EncryptionType string `json:"encryptionType"`
	KmsKey         string `json:"kmsKey,omitempty"`
}

// Image is an image as BatchGetImage and PutImage return it.
type Image struct {
	RegistryID             string          `json:"registryId"`
	RepositoryName         string          `json:"repositoryName"`
	ImageID                ImageIdentifier `json:"imageId"`
	ImageManifest          string          `json:"imageManifest"`
	ImageManifestMediaType string          `json:"imageManifestMediaType"`
}

// ImageDetail is an image as DescribeImages returns it.
type ImageDetail struct {
	RegistryID             string   `json:"registryId"`
	RepositoryName         string   `json:"repositoryName"`
	ImageDigest            string   `json:"imageDigest"`
	ImageTags              []string `json:"imageTags,omitempty"`
	ImageSizeInBytes       int64    `json:"imageSizeInBytes"`
	ImagePushedAt          float64  `json:"imagePushedAt"`
	ImageManifestMediaType string   `json:"imageManifestMediaType"`
	ArtifactMediaType      string   `json:"artifactMediaType,omitempty"`
}

// ImageFailure reports an image a batch operation could not act on.
type ImageFailure struct {
	ImageID       ImageIdentifier `json:"imageId"`
	FailureCode   string          `json:"failureCode"`
	FailureReason string          `json:"failureReason"`
}

func invalidParameter(format string, args ...any) error {
	return protocol.Errorf(http.StatusBadRequest, "InvalidParameterException", format, args...)
}

func repositoryNotFound(name string) error {
	return protocol.Errorf(http.StatusBadRequest, "RepositoryNotFoundException",
		"The repository with name '%s' does not exist in the registry with id '%s'", name, protocol.Account)
}

// repositoryNameRE is ECR's repository name pattern.
var repositoryNameRE = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

// tagRE bounds image tags as the registry does.
var tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}$`)

// digestRE is a sha256 image digest.
var digestRE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

func validateName(name string) error {
	if name == "" {
		return invalidParameter("repositoryName: required")
	}
	if len(name) < 2 || len(name) > 256 || !repositoryNameRE.MatchString(name) {
		return invalidParameter("repositoryName: %q must be 2 to 256 lowercase letters, digits and . _ - / separators", name)
	}
	return nil
}

func (s *Service) toAPI(r *repository) Repository {
	return Repository{
		RepositoryArn:              fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", s.region, protocol.Account, r.Name),
		RegistryID:                 protocol.Account,
		RepositoryName:             r.Name,
		RepositoryURI:              s.RegistryHost() + "/" + r.Name,
		CreatedAt:                  protocol.EpochSeconds(r.Created),
		ImageTagMutability:         r.Mutability,
		ImageScanningConfiguration: imageScanningConfiguration{ScanOnPush: r.ScanOnPush},
		EncryptionConfiguration:    encryptionConfiguration{EncryptionType: "AES256"},
	}
}

// tagsOf returns the tags pointing at digest, sorted.
func (r *repository) tagsOf(digest string) []string {
	var tags []string
	for t, d := range r.ImageTags {
		if d == digest {
			tags = append(tags, t)
		}
	}
	sort.Strings(tags)
	return tags
}

// resolve finds the image an identifier names.
func (r *repository) resolve(id ImageIdentifier) (*image, string, string) {
	if id.ImageTag != "" {
		d, ok := r.ImageTags[id.ImageTag]
		if !ok {
			return nil, "ImageNotFound", fmt.Sprintf("Requested image not found: tag %s", id.ImageTag)
		}
		if id.ImageDigest != "" && id.ImageDigest != d {
			return nil, "ImageTagDoesNotMatchDigest", fmt.Sprintf("Invalid image tag and digest combination: tag %s is on %s", id.ImageTag, d)
		}
		return r.Images[d], "", ""
	}
	if id.ImageDigest == "" {
		return nil, "MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null"
	}
	if !digestRE.MatchString(id.ImageDigest) {
		return nil, "InvalidImageDigest", fmt.Sprintf("Invalid parameter: %s is not a sha256 digest", id.ImageDigest)
	}
	img, ok := r.Images[id.ImageDigest]
	if !ok {
		return nil, "ImageNotFound", fmt.Sprintf("Requested image not found: digest %s", id.ImageDigest)
	}
	return img, "", ""
}

// page returns the page of items starting at the offset nextToken encodes
// (base64url; past the end gives an empty page) and the token of the next
// page: 100 items unless maxResults (1..1000; 0 means unset) says otherwise.
// maxResults is checked before the token, each with ECR's error.
func page[T any](items []T, maxResults int, nextToken string) ([]T, string, error) {
	var max *int
	if maxResults != 0 {
		max = &maxResults
	}
	p, next, err := protocol.Paginate(items, nextToken, max, protocol.PageRules{DefaultSize: 100, MaxSize: 1000, Opaque: true, Clamp: true})
	switch {
	case errors.Is(err, protocol.ErrBadMaxResults):
		return nil, "", invalidParameter("maxResults: %d is outside 1..1000", maxResults)
	case err != nil:
		return nil, "", invalidParameter("nextToken: invalid pagination token")
	}
	return p, next, nil
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// manifestInfo reads what the registry reports from a manifest: its media
// type, the config's media type, and the image size (config plus layers).
func manifestInfo(manifest string) (mediaType, artifactType string, size int64, err error) {
	var m struct {
		MediaType string `json:"mediaType"`
		Config    struct {
			MediaType string `json:"mediaType"`
			Size      int64  `json:"size"`
		} `json:"config"`
		Layers []struct {
			Size int64 `json:"size"`
		} `json:"layers"`
	}
	if err := json.Unmarshal([]byte(manifest), &m); err != nil {
		return "", "", 0, err
	}
	size = m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	if size == 0 {
		size = int64(len(manifest))
	}
	return m.MediaType, m.Config.MediaType, size, nil
}
