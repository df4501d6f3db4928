package ecr

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

func (s *Service) createRepository(body []byte) (any, error) {
	var in struct {
		RepositoryName             string `json:"repositoryName"`
		ImageTagMutability         string `json:"imageTagMutability"`
		ImageScanningConfiguration *struct {
			ScanOnPush bool `json:"scanOnPush"`
		} `json:"imageScanningConfiguration"`
		Tags []Tag `json:"tags"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if err := validateName(in.RepositoryName); err != nil {
		return nil, err
	}
	switch in.ImageTagMutability {
	case "":
		in.ImageTagMutability = "MUTABLE"
	case "MUTABLE", "IMMUTABLE":
	default:
		return nil, invalidParameter("imageTagMutability: %q is not MUTABLE or IMMUTABLE", in.ImageTagMutability)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.repos[in.RepositoryName]; ok {
		return nil, protocol.Errorf(http.StatusBadRequest, "RepositoryAlreadyExistsException",
			"The repository with name '%s' already exists in the registry with id '%s'", in.RepositoryName, protocol.Account)
	}
	r := &repository{Name: in.RepositoryName, Created: s.clock.Now().UTC(), Mutability: in.ImageTagMutability,
		ResourceTags: in.Tags, Images: map[string]*image{}, ImageTags: map[string]string{}}
	if in.ImageScanningConfiguration != nil {
		r.ScanOnPush = in.ImageScanningConfiguration.ScanOnPush
	}
	s.repos[r.Name] = r
	return map[string]any{"repository": s.toAPI(r)}, nil
}

func (s *Service) describeRepositories(body []byte) (any, error) {
	var in struct {
		RepositoryNames []string `json:"repositoryNames"`
		MaxResults      int      `json:"maxResults"`
		NextToken       string   `json:"nextToken"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var repos []Repository
	if len(in.RepositoryNames) > 0 {
		if in.MaxResults != 0 || in.NextToken != "" {
			return nil, invalidParameter("maxResults and nextToken cannot be used with repositoryNames")
		}
		for _, n := range in.RepositoryNames {
			r, ok := s.repos[n]
			if !ok {
				return nil, repositoryNotFound(n)
			}
			repos = append(repos, s.toAPI(r))
		}
		return map[string]any{"repositories": repos}, nil
	}
	names := make([]string, 0, len(s.repos))
	for n := range s.repos {
		names = append(names, n)
	}
	sort.Strings(names)
	repoNames, next, err := page(names, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	repos = []Repository{}
	for _, n := range repoNames {
		repos = append(repos, s.toAPI(s.repos[n]))
	}
	out := map[string]any{"repositories": repos}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *Service) deleteRepository(body []byte) (any, error) {
	var in struct {
		RepositoryName string `json:"repositoryName"`
		Force          bool   `json:"force"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if err := validateName(in.RepositoryName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[in.RepositoryName]
	if !ok {
		return nil, repositoryNotFound(in.RepositoryName)
	}
	if len(r.Images) > 0 && !in.Force {
		return nil, protocol.Errorf(http.StatusBadRequest, "RepositoryNotEmptyException",
			"The repository with name '%s' in registry with id '%s' cannot be deleted because it still contains images", r.Name, protocol.Account)
	}
	delete(s.repos, r.Name)
	return map[string]any{"repository": s.toAPI(r)}, nil
}

func (s *Service) putImage(ctx context.Context, body []byte) (any, error) {
	var in struct {
		RepositoryName         string `json:"repositoryName"`
		ImageManifest          string `json:"imageManifest"`
		ImageManifestMediaType string `json:"imageManifestMediaType"`
		ImageTag               string `json:"imageTag"`
		ImageDigest            string `json:"imageDigest"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if err := validateName(in.RepositoryName); err != nil {
		return nil, err
	}
	if in.ImageManifest == "" {
		return nil, invalidParameter("imageManifest: required")
	}
	if len(in.ImageManifest) > 4<<20 {
		return nil, invalidParameter("imageManifest: larger than 4 MiB")
	}
	if in.ImageTag != "" && !tagRE.MatchString(in.ImageTag) {
		return nil, invalidParameter("imageTag: %q is not a valid tag", in.ImageTag)
	}
	mediaType, artifactType, size, err := manifestInfo(in.ImageManifest)
	if err != nil {
		return nil, invalidParameter("imageManifest: not a valid JSON manifest: %v", err)
	}
	if in.ImageManifestMediaType != "" {
		if mediaType != "" && mediaType != in.ImageManifestMediaType {
			return nil, invalidParameter("imageManifestMediaType: %s does not match the manifest's mediaType %s", in.ImageManifestMediaType, mediaType)
		}
		mediaType = in.ImageManifestMediaType
	}
	if mediaType == "" {
		mediaType = defaultMediaType
	}
	digest := sha256Digest([]byte(in.ImageManifest))
	if in.ImageDigest != "" && in.ImageDigest != digest {
		return nil, protocol.Errorf(http.StatusBadRequest, "ImageDigestDoesNotMatchException",
			"The provided image digest %s does not match the digest %s calculated for the manifest", in.ImageDigest, digest)
	}

	s.mu.Lock()
	r, ok := s.repos[in.RepositoryName]
	if !ok {
		s.mu.Unlock()
		return nil, repositoryNotFound(in.RepositoryName)
	}
	_, exists := r.Images[digest]
	tagged, tagExists := r.ImageTags[in.ImageTag]
	switch {
	case exists && (in.ImageTag == "" || (tagExists && tagged == digest)):
		s.mu.Unlock()
		return nil, protocol.Errorf(http.StatusBadRequest, "ImageAlreadyExistsException",
			"Image with digest '%s' and tag '%s' already exists in the repository with name '%s' in registry with id '%s'",
			digest, in.ImageTag, r.Name, protocol.Account)
	case in.ImageTag != "" && tagExists && r.Mutability == "IMMUTABLE":
		s.mu.Unlock()
		return nil, protocol.Errorf(http.StatusBadRequest, "ImageTagAlreadyExistsException",
			"The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable", in.ImageTag, r.Name)
	}
	if !exists {
		r.Images[digest] = &image{Digest: digest, Manifest: in.ImageManifest, MediaType: mediaType,
			ArtifactMediaType: artifactType, Size: size, PushedAt: s.clock.Now().UTC()}
	}
	img := r.Images[digest]
	if in.ImageTag != "" {
		// A mutable tag moves to the new digest; the image it left stays,
		// untagged if it has no other tag, as on ECR.
		r.ImageTags[in.ImageTag] = digest
	}
	s.mu.Unlock()

	detail := map[string]any{
		"result":              "SUCCESS",
		"repository-name":     in.RepositoryName,
		"image-digest":        digest,
		"action-type":         "PUSH",
		"manifest-media-type": img.MediaType,
	}
	if in.ImageTag != "" {
		detail["image-tag"] = in.ImageTag
	}
	if img.ArtifactMediaType != "" {
		detail["artifact-media-type"] = img.ArtifactMediaType
	}
	s.events.PutEvent(context.WithoutCancel(ctx), protocol.Event{Source: "aws.ecr", DetailType: "ECR Image Action", Resources: []string{}, Detail: detail})

	return map[string]any{"image": Image{RegistryID: protocol.Account, RepositoryName: in.RepositoryName,
		ImageID: ImageIdentifier{ImageDigest: digest, ImageTag: in.ImageTag}, ImageManifest: img.Manifest, ImageManifestMediaType: img.MediaType}}, nil
}

func (s *Service) batchGetImage(body []byte) (any, error) {
	var in struct {
		RepositoryName     string            `json:"repositoryName"`
		ImageIDs           []ImageIdentifier `json:"imageIds"`
		AcceptedMediaTypes []string          `json:"acceptedMediaTypes"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	images := []Image{}
	failures, err := s.eachImage(in.RepositoryName, in.ImageIDs, func(r *repository, id ImageIdentifier, img *image) *ImageFailure {
		if len(in.AcceptedMediaTypes) > 0 && !slices.Contains(in.AcceptedMediaTypes, img.MediaType) {
			return &ImageFailure{ImageID: id, FailureCode: "UnsupportedImageType",
				FailureReason: "The image manifest media type " + img.MediaType + " is not among the accepted media types"}
		}
		got := ImageIdentifier{ImageDigest: img.Digest, ImageTag: id.ImageTag}
		images = append(images, Image{RegistryID: protocol.Account, RepositoryName: r.Name, ImageID: got,
			ImageManifest: img.Manifest, ImageManifestMediaType: img.MediaType})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"images": images, "failures": failures}, nil
}

// eachImage checks a batch request's repository name and image ids, then,
// with the state locked, calls f for every id that names an image of the
// repository. Ids that name none, and those f refuses, are the failures.
func (s *Service) eachImage(name string, ids []ImageIdentifier, f func(r *repository, id ImageIdentifier, img *image) *ImageFailure) ([]ImageFailure, error) {
	if err := validateName(name); err != nil {
		return nil, err
	}
	if len(ids) == 0 || len(ids) > 100 {
		return nil, invalidParameter("imageIds: between 1 and 100 image ids required, got %d", len(ids))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[name]
	if !ok {
		return nil, repositoryNotFound(name)
	}
	failures := []ImageFailure{}
	for _, id := range ids {
		img, code, reason := r.resolve(id)
		if img == nil {
			failures = append(failures, ImageFailure{ImageID: id, FailureCode: code, FailureReason: reason})
			continue
		}
		if failure := f(r, id, img); failure != nil {
			failures = append(failures, *failure)
		}
	}
	return failures, nil
}

type tagFilter struct {
	TagStatus string `json:"tagStatus"`
}

func (f *tagFilter) validate() error {
	if f == nil {
		return nil
	}
	switch f.TagStatus {
	case "", "ANY", "TAGGED", "UNTAGGED":
		return nil
	}
	return invalidParameter("filter.tagStatus: %q is not TAGGED, UNTAGGED or ANY", f.TagStatus)
}

func (f *tagFilter) keep(tagged bool) bool {
	if f == nil {
		return true
	}
	switch f.TagStatus {
	case "TAGGED":
		return tagged
	case "UNTAGGED":
		return !tagged
	}
	return true
}

func (s *Service) detail(r *repository, img *image) ImageDetail {
	return ImageDetail{RegistryID: protocol.Account, RepositoryName: r.Name, ImageDigest: img.Digest, ImageTags: r.tagsOf(img.Digest),
		ImageSizeInBytes: img.Size, ImagePushedAt: protocol.EpochSeconds(img.PushedAt), ImageManifestMediaType: img.MediaType,
		ArtifactMediaType: img.ArtifactMediaType}
}

// sortedImages returns a repository's images, newest push first, then by
// digest.
func (r *repository) sortedImages() []*image {
	out := make([]*image, 0, len(r.Images))
	for _, img := range r.Images {
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].PushedAt.Equal(out[j].PushedAt) {
			return out[i].PushedAt.After(out[j].PushedAt)
		}
		return out[i].Digest < out[j].Digest
	})
	return out
}

func (s *Service) describeImages(body []byte) (any, error) {
	var in struct {
		RepositoryName string            `json:"repositoryName"`
		ImageIDs       []ImageIdentifier `json:"imageIds"`
		Filter         *tagFilter        `json:"filter"`
		MaxResults     int               `json:"maxResults"`
		NextToken      string            `json:"nextToken"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if err := validateName(in.RepositoryName); err != nil {
		return nil, err
	}
	if err := in.Filter.validate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[in.RepositoryName]
	if !ok {
		return nil, repositoryNotFound(in.RepositoryName)
	}
	details := []ImageDetail{}
	if len(in.ImageIDs) > 0 {
		if in.MaxResults != 0 || in.NextToken != "" {
			return nil, invalidParameter("maxResults and nextToken cannot be used with imageIds")
		}
		for _, id := range in.ImageIDs {
			img, code, reason := r.resolve(id)
			if img == nil {
				if code == "ImageNotFound" {
					return nil, protocol.Errorf(http.StatusBadRequest, "ImageNotFoundException",
						"The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'",
						id.ImageDigest, id.ImageTag, r.Name, protocol.Account)
				}
				return nil, invalidParameter("imageIds: %s", reason)
			}
			details = append(details, s.detail(r, img))
		}
		return map[string]any{"imageDetails": details}, nil
	}
	var all []*image
	for _, img := range r.sortedImages() {
		if in.Filter.keep(len(r.tagsOf(img.Digest)) > 0) {
			all = append(all, img)
		}
	}
	imgs, next, err := page(all, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	for _, img := range imgs {
		details = append(details, s.detail(r, img))
	}
	out := map[string]any{"imageDetails": details}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *Service) listImages(body []byte) (any, error) {
	var in struct {
		RepositoryName string     `json:"repositoryName"`
		Filter         *tagFilter `json:"filter"`
		MaxResults     int        `json:"maxResults"`
		NextToken      string     `json:"nextToken"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if err := validateName(in.RepositoryName); err != nil {
		return nil, err
	}
	if err := in.Filter.validate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[in.RepositoryName]
	if !ok {
		return nil, repositoryNotFound(in.RepositoryName)
	}
	// One identifier per tag, and one per untagged image.
	var ids []ImageIdentifier
	for _, img := range r.sortedImages() {
		tags := r.tagsOf(img.Digest)
		if len(tags) == 0 {
			if in.Filter.keep(false) {
				ids = append(ids, ImageIdentifier{ImageDigest: img.Digest})
			}
			continue
		}
		if in.Filter.keep(true) {
			for _, t := range tags {
				ids = append(ids, ImageIdentifier{ImageDigest: img.Digest, ImageTag: t})
			}
		}
	}
	idPage, next, err := page(ids, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"imageIds": append([]ImageIdentifier{}, idPage...)}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *Service) batchDeleteImage(body []byte) (any, error) {
	var in struct {
		RepositoryName string            `json:"repositoryName"`
		ImageIDs       []ImageIdentifier `json:"imageIds"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	deleted := []ImageIdentifier{}
	failures, err := s.eachImage(in.RepositoryName, in.ImageIDs, func(r *repository, id ImageIdentifier, img *image) *ImageFailure {
		if id.ImageTag != "" {
			// Deleting by tag removes the tag; the image goes with its last tag.
			delete(r.ImageTags, id.ImageTag)
			deleted = append(deleted, ImageIdentifier{ImageDigest: img.Digest, ImageTag: id.ImageTag})
			if len(r.tagsOf(img.Digest)) > 0 {
				return nil
			}
		} else {
			for _, t := range r.tagsOf(img.Digest) {
				delete(r.ImageTags, t)
				deleted = append(deleted, ImageIdentifier{ImageDigest: img.Digest, ImageTag: t})
			}
			if len(deleted) == 0 || deleted[len(deleted)-1].ImageDigest != img.Digest {
				deleted = append(deleted, ImageIdentifier{ImageDigest: img.Digest})
			}
		}
		delete(r.Images, img.Digest)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"imageIds": deleted, "failures": failures}, nil
}

// AuthorizationData is a registry login, as `aws ecr get-login-password`
// reads it.
type AuthorizationData struct {
	AuthorizationToken string  `json:"authorizationToken"`
	ExpiresAt          float64 `json:"expiresAt"`
	ProxyEndpoint      string  `json:"proxyEndpoint"`
}

// getAuthorizationToken returns a 12-hour login for the local registry:
// user AWS and a fixed password, since nothing checks it.
func (s *Service) getAuthorizationToken(body []byte) (any, error) {
	var in struct {
		RegistryIDs []string `json:"registryIds"`
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	for _, id := range in.RegistryIDs {
		if id != protocol.Account {
			return nil, invalidParameter("registryIds: %q is not the local registry %s", id, protocol.Account)
		}
	}
	token := base64.StdEncoding.EncodeToString([]byte("AWS:slipway-local"))
	return map[string]any{"authorizationData": []AuthorizationData{{
		AuthorizationToken: token,
		ExpiresAt:          protocol.EpochSeconds(s.clock.Now().Add(12 * time.Hour)),
		ProxyEndpoint:      fmt.Sprintf("https://%s.dkr.ecr.%s.amazonaws.com", protocol.Account, s.region),
	}}}, nil
}
