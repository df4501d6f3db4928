package ecr

import (
	"errors"
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// ErrRepositoryNotFound and ErrImageNotFound say why Pull refused a
// reference.
var (
	ErrRepositoryNotFound = errors.New("repository does not exist")
	ErrImageNotFound      = errors.New("image not found")
)

// RegistryHost is the host of this registry as an image reference names
// it: ACCOUNT.dkr.ecr.REGION.amazonaws.com, the host of every repositoryUri.
func (s *Service) RegistryHost() string {
	return fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com", protocol.Account, s.region)
}

// Pull checks that reference (sha256:… or a tag) names an image pushed to
// repository, as a container runtime's pull from this registry would. It
// returns an error wrapping ErrRepositoryNotFound or ErrImageNotFound when
// the pull would fail.
func (s *Service) Pull(repository, reference string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[repository]
	if r == nil {
		return fmt.Errorf("%s: %w", repository, ErrRepositoryNotFound)
	}
	id, sep := ImageIdentifier{ImageTag: reference}, ":"
	if strings.HasPrefix(reference, "sha256:") {
		id, sep = ImageIdentifier{ImageDigest: reference}, "@"
	}
	if img, _, _ := r.resolve(id); img == nil {
		return fmt.Errorf("%s%s%s: %w", repository, sep, reference, ErrImageNotFound)
	}
	return nil
}
