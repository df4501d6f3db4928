package ecr

import (
	"encoding/json"
	"fmt"
)

// Snapshot returns the service's state as JSON, for --state-dir.
func (s *Service) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := json.Marshal(struct {
		Repositories map[string]*repository `json:"repositories"`
	}{s.repos})
	if err != nil {
		return nil, fmt.Errorf("snapshot ecr: %w", err)
	}
	return out, nil
}

// Restore replaces the service's state with a Snapshot, checking that every
// digest is the sha256 of its manifest and every tag names a stored image.
func (s *Service) Restore(data []byte) error {
	var snap struct {
		Repositories map[string]*repository `json:"repositories"`
	}
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("restore ecr: %w", err)
	}
	repos := map[string]*repository{}
	for name, r := range snap.Repositories {
		if r == nil || r.Name != name || validateName(name) != nil {
			return fmt.Errorf("restore ecr: repositories.%s: missing or misnamed repository", name)
		}
		if r.Images == nil {
			r.Images = map[string]*image{}
		}
		if r.ImageTags == nil {
			r.ImageTags = map[string]string{}
		}
		for digest, img := range r.Images {
			if img == nil || img.Digest != digest || sha256Digest([]byte(img.Manifest)) != digest {
				return fmt.Errorf("restore ecr: repositories.%s.images.%s: digest does not match the manifest", name, digest)
			}
		}
		for tag, digest := range r.ImageTags {
			if _, ok := r.Images[digest]; !ok {
				return fmt.Errorf("restore ecr: repositories.%s.imageTags.%s: no image %s", name, tag, digest)
			}
		}
		repos[name] = r
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos = repos
	return nil
}
