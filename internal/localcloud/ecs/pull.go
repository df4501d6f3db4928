package ecs

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/localcloud/ecr"
)

// ImageRegistry is the part of ECR that ECS pulls from: *ecr.Service is one.
type ImageRegistry interface {
	// RegistryHost is the registry's host, ACCOUNT.dkr.ecr.REGION.amazonaws.com.
	RegistryHost() string
	// Pull returns an error when repository holds no image reference (a
	// sha256:… digest or a tag), wrapping ecr.ErrRepositoryNotFound when the
	// repository does not exist.
	Pull(repository, reference string) error
}

// ecrHost matches the host of any private ECR registry.
var ecrHost = regexp.MustCompile(`^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

// imageRef is a container image reference split as a container runtime
// splits it.
type imageRef struct {
	Host       string // registry host; docker.io when the reference names none
	Repository string // path in the registry (library/… for Docker Hub's official images)
	Reference  string // sha256:… or a tag (latest when none is given)
	Digest     bool
}

// parseImage splits image. The first path component is a registry host only
// when it contains '.' or ':' or is localhost; otherwise the image is on
// Docker Hub, as docker and containerd resolve it.
func parseImage(image string) imageRef {
	name, ref := image, "latest"
	digest := false
	if n, d, ok := strings.Cut(image, "@"); ok {
		name, ref, digest = n, d, true
	} else if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		name, ref = image[:i], image[i+1:]
	}
	host, path := "docker.io", name
	if first, rest, ok := strings.Cut(name, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		host, path = first, rest
	}
	switch host {
	case "index.docker.io", "registry-1.docker.io":
		host = "docker.io"
	}
	if host == "docker.io" && !strings.Contains(path, "/") {
		path = "library/" + path
	}
	return imageRef{Host: host, Repository: path, Reference: ref, Digest: digest}
}

// String is the fully qualified reference, as the pull error names it.
func (r imageRef) String() string {
	sep := ":"
	if r.Digest {
		sep = "@"
	}
	return r.Host + "/" + r.Repository + sep + r.Reference
}

// pullError returns why the container image cannot be pulled, in the words
// of the Fargate agent's CannotPullContainerError, or "" when it can. ECS
// pulls as AWS does, strict where the engine could be wrong:
//   - the local ECR's host (its repositoryUri): the repository must exist
//     and hold the digest or tag;
//   - another ECR registry (another account or region): no such registry
//     here, so nothing can be pulled from it;
//   - Docker Hub (no registry host, or docker.io): a tag is taken to be a
//     public image and pulled (nginx:1.27, the package tests' web:1); a
//     digest is never pulled, because the digests Slipway deploys are ECR's
//     and a bare REPOSITORY@sha256:… is the mistake of leaving out the
//     registry;
//   - any other host (public.ecr.aws, ghcr.io, quay.io…) is a public
//     registry this endpoint does not model: pulled.
//
// Without an ImageRegistry (a Service built without ECR) the local ECR's
// images are not checked.
func (s *Service) pullError(image string) string {
	ref := parseImage(image)
	var cause string
	switch {
	case ecrHost.MatchString(ref.Host) && s.images != nil && ref.Host == s.images.RegistryHost():
		err := s.images.Pull(ref.Repository, ref.Reference)
		if err == nil {
			return ""
		}
		if errors.Is(err, ecr.ErrRepositoryNotFound) {
			cause = "pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed"
		} else {
			cause = ref.String() + ": not found"
		}
	case ecrHost.MatchString(ref.Host) && s.images != nil:
		cause = "failed to do request: Head \"https://" + ref.Host + "/v2/" + ref.Repository + "/manifests/" + ref.Reference +
			"\": no such registry on this endpoint (" + s.images.RegistryHost() + " is the only ECR registry)"
	case ref.Host == "docker.io" && ref.Digest:
		cause = ref.String() + ": not found"
	default:
		return ""
	}
	return fmt.Sprintf("CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref %s: %s", ref, cause)
}

// pull pulls the images of task t at the end of its PENDING time. When one
// cannot be pulled the task never runs: it stops with TaskFailedToStart,
// the container's reason says why, and the failure counts against its
// deployment for the circuit breaker. It reports whether the pull failed.
func (s *Service) pull(now time.Time, c *cluster, t *task) bool {
	reason := ""
	for i := range t.Containers {
		ct := &t.Containers[i]
		if r := s.pullError(ct.Image); r != "" {
			ct.Reason = r
			if reason == "" {
				reason = r
			}
		}
	}
	if reason == "" {
		return false
	}
	t.DesiredStatus = "STOPPED"
	t.StoppingAt = now
	t.StopCode, t.StoppedReason, t.Failed = "TaskFailedToStart", reason, true
	if sv := c.Services[t.Service]; sv != nil {
		for _, d := range sv.Deployments {
			if d.ID == t.Deployment {
				d.FailedTasks++
				d.UpdatedAt = now
			}
		}
	}
	t.Version++
	s.taskEvent(now, c, t)
	t.Step, t.Next = stepStopped, now.Add(stopTime)
	return true
}
