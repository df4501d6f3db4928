package deploy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/awsapi/ecr"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

var (
	digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	tagPattern    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// imageHelp tells a person how to name an image.
const imageHelp = `give one in the request's "image": a tag (v1.4.2), a digest (sha256:…) or repository-uri@sha256:…`

// resolveImage turns the requested image into a pinned reference
// (repository-uri@sha256:digest): deployments never run a tag, which could
// move under them, and never a reference without a registry host, which
// ECS would pull from Docker Hub.
//   - empty: the image of the last successful deployment of the service to
//     the environment;
//   - registry-host/repository@sha256:…: used as it is;
//   - repository@sha256:… (no registry host): in that ECR repository;
//   - sha256:…: in the service's ECR repository;
//   - a tag: looked up in the service's ECR repository.
//
// at is the image's own time when the image is the one the service runs
// (its deployment's order); zero for a requested image, whose time is the
// request's.
func (e *Engine) resolveImage(ctx context.Context, st workflow.State, svc *spec.Service) (ref string, at time.Time, err error) {
	if strings.TrimSpace(st.Image) != "" {
		ref, err = e.resolveRef(ctx, st, svc)
		return ref, time.Time{}, err
	}
	last, err := e.lastDeployed(ctx, st)
	if err != nil {
		return "", time.Time{}, err
	}
	// A deployment recorded before push events named their registry has a
	// bare reference; it is resolved as a request's would be.
	ref, err = e.withRegistry(ctx, last.Image)
	return ref, last.Order().Image, err
}

// resolveRef is resolveImage for a requested image.
func (e *Engine) resolveRef(ctx context.Context, st workflow.State, svc *spec.Service) (string, error) {
	ref := strings.TrimSpace(st.Image)
	switch {
	case strings.Contains(ref, "@"):
		repo, digest, _ := strings.Cut(ref, "@")
		if repo == "" || !digestPattern.MatchString(digest) {
			return "", invalidImage(ref, "want repository-uri@sha256:<64 hex digits>")
		}
		return e.withRegistry(ctx, ref)
	case strings.HasPrefix(ref, "sha256:"):
		if !digestPattern.MatchString(ref) {
			return "", invalidImage(ref, "want sha256:<64 hex digits>")
		}
		uri, err := e.repositoryURI(ctx, svc)
		if err != nil {
			return "", err
		}
		return uri + "@" + ref, nil
	case !tagPattern.MatchString(ref):
		return "", invalidImage(ref, "not a tag, a digest or repository-uri@sha256:…")
	}
	uri, err := e.repositoryURI(ctx, svc)
	if err != nil {
		return "", err
	}
	digest, err := e.Images.ImageDigest(ctx, svc.Image.Repository, ref)
	if errors.Is(err, ecr.ErrNotFound) {
		return "", invalidImage(ref, fmt.Sprintf("tag not found in ECR repository %s", svc.Image.Repository))
	}
	if err != nil {
		return "", fmt.Errorf("resolve tag %s in %s: %w", ref, svc.Image.Repository, err)
	}
	return uri + "@" + digest, nil
}

// withRegistry returns ref (repository@sha256:…) with the registry host of
// its ECR repository when it names no registry host: ECS resolves such a
// reference on Docker Hub, where an image pushed to ECR never is. A
// reference with a host is returned as it is.
func (e *Engine) withRegistry(ctx context.Context, ref string) (string, error) {
	repo, digest, _ := strings.Cut(ref, "@")
	if hasRegistryHost(repo) {
		return ref, nil
	}
	uri, err := e.Images.RepositoryURI(ctx, repo)
	if errors.Is(err, ecr.ErrNotFound) {
		return "", invalidImage(ref, fmt.Sprintf("names no registry host and there is no ECR repository %s: "+
			"ECS would pull it from Docker Hub; give the repository URI (ACCOUNT.dkr.ecr.REGION.amazonaws.com/%s@%s)",
			repo, repo, digest))
	}
	if err != nil {
		return "", fmt.Errorf("look up ECR repository %s of image %s: %w", repo, ref, err)
	}
	return uri + "@" + digest, nil
}

// hasRegistryHost reports whether the repository part of an image reference
// starts with a registry host, as docker and containerd decide it: a first
// path component with a '.' or a ':', or localhost. Without one the image
// is on Docker Hub.
func hasRegistryHost(repo string) bool {
	first, _, ok := strings.Cut(repo, "/")
	return ok && (strings.ContainsAny(first, ".:") || first == "localhost")
}

func (e *Engine) repositoryURI(ctx context.Context, svc *spec.Service) (string, error) {
	if svc.Image.Repository == "" {
		return "", &workflow.InvalidInput{Problems: []string{
			svc.File + ": image.repository: required to resolve a tag or a digest; or give repository-uri@sha256:… in the request's \"image\""}}
	}
	uri, err := e.Images.RepositoryURI(ctx, svc.Image.Repository)
	if errors.Is(err, ecr.ErrNotFound) {
		return "", &workflow.InvalidInput{Problems: []string{
			fmt.Sprintf("%s: image.repository: ECR repository %s not found", svc.File, svc.Image.Repository)}}
	}
	if err != nil {
		return "", fmt.Errorf("look up ECR repository %s: %w", svc.Image.Repository, err)
	}
	return uri, nil
}

// lastDeployed is the history entry of the newest successful deployment.
func (e *Engine) lastDeployed(ctx context.Context, st workflow.State) (store.HistoryEntry, error) {
	entries, err := e.Store.History(ctx, st.Environment, st.Service, 50)
	if err != nil {
		return store.HistoryEntry{}, fmt.Errorf("read history of %s in %s: %w", st.Service, st.Environment, err)
	}
	if h, ok := store.LastDeployed(entries); ok {
		return h, nil
	}
	return store.HistoryEntry{}, &workflow.InvalidInput{Problems: []string{fmt.Sprintf(
		"image: none given and %s has never been deployed to %s; %s", st.Service, st.Environment, imageHelp)}}
}

func invalidImage(ref, reason string) error {
	return &workflow.InvalidInput{Problems: []string{fmt.Sprintf("image: %q: %s; %s", ref, reason, imageHelp)}}
}
