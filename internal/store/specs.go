package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Prefixes of the spec bucket.
const (
	ServicesPrefix     = "services/"
	EnvironmentsPrefix = "environments/"
)

// SpecObject is one version of a spec file.
type SpecObject struct {
	Key string
	// Version is the S3 version id; empty when the bucket is not versioned.
	Version string
	ETag    string
	Body    []byte
	// LastModified is when the version was uploaded: it orders spec
	// versions (workflow.Order). Zero when S3 gave none.
	LastModified time.Time
}

// ServiceSpec reads services/<name>.yaml; version "" reads the latest.
func (s *Store) ServiceSpec(ctx context.Context, name, version string) (SpecObject, error) {
	if err := checkSpecName("service", name); err != nil {
		return SpecObject{}, err
	}
	return s.SpecObject(ctx, ServicesPrefix+name+".yaml", version)
}

// EnvironmentSpec reads environments/<name>.yaml; version "" reads the
// latest.
func (s *Store) EnvironmentSpec(ctx context.Context, name, version string) (SpecObject, error) {
	if err := checkSpecName("environment", name); err != nil {
		return SpecObject{}, err
	}
	return s.SpecObject(ctx, EnvironmentsPrefix+name+".yaml", version)
}

// MaxSpecSize is the largest spec object the store reads, in bytes: the
// limit on a spec file (spec.MaxFileSize). The limit is enforced on the
// object's Content-Length before its body is read and on the body itself.
const MaxSpecSize = spec.MaxFileSize

// SpecObject reads the spec at key; version "" reads the latest. It returns
// ErrNotFound when the key or the version does not exist, and ErrTooLarge
// (an *s3api.TooLargeError) when it is larger than MaxSpecSize.
func (s *Store) SpecObject(ctx context.Context, key, version string) (SpecObject, error) {
	op := fmt.Sprintf("read spec %s", key)
	if version != "" {
		op += " version " + version
	}
	if key == "" {
		return SpecObject{}, &workflow.InvalidInput{Problems: []string{"read spec: key: required"}}
	}
	obj, err := s.s3.GetMax(ctx, s.specBucket, key, version, MaxSpecSize)
	if err != nil {
		return SpecObject{}, translate(op, err)
	}
	return SpecObject{Key: key, Version: obj.VersionID, ETag: obj.ETag, Body: obj.Body, LastModified: obj.LastModified}, nil
}

// ListSpecs returns the keys in the spec bucket under prefix (normally
// ServicesPrefix or EnvironmentsPrefix), sorted; "folder" keys ending in "/"
// are left out.
func (s *Store) ListSpecs(ctx context.Context, prefix string) ([]string, error) {
	keys, err := s.s3.List(ctx, s.specBucket, prefix, 0)
	if err != nil {
		return nil, translate("list specs under "+prefix, err)
	}
	out := keys[:0]
	for _, k := range keys {
		if !strings.HasSuffix(k, "/") {
			out = append(out, k)
		}
	}
	return out, nil
}

// checkSpecName rejects a name that cannot be the base name of a spec file.
// Spec names are not escaped: the key must be the file the user uploaded.
func checkSpecName(kind, name string) error {
	var reason string
	switch {
	case name == "":
		reason = "required"
	case name == "." || name == "..":
		reason = "must not be . or .."
	case strings.Contains(name, "/"):
		reason = "must not contain /"
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		reason = "must not contain control characters"
	default:
		return nil
	}
	return &workflow.InvalidInput{Problems: []string{fmt.Sprintf("%s name %q: %s", kind, name, reason)}}
}

// Rejection records why a spec version was rejected.
type Rejection struct {
	// Key and Version identify the spec object.
	Key     string `json:"key"`
	Version string `json:"version,omitempty"`
	// Problems lists every problem found (file, field path, reason).
	Problems []string  `json:"problems"`
	At       time.Time `json:"at"`
}

// rejectionKey is rejections/<key>/<version>.json, each segment of the spec
// key escaped; an unversioned spec is recorded under version "null", the id
// S3 gives objects written while versioning is off.
func rejectionKey(key, version string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = segment(p)
	}
	if version == "" {
		version = "null"
	}
	return "rejections/" + strings.Join(parts, "/") + "/" + segment(version) + ".json"
}

// PutRejection records a rejected spec version.
func (s *Store) PutRejection(ctx context.Context, r Rejection) error {
	op := fmt.Sprintf("record rejection of %s version %s", r.Key, r.Version)
	if err := checkNames(op, "key", r.Key); err != nil {
		return err
	}
	_, err := s.putJSON(ctx, op, rejectionKey(r.Key, r.Version), r, s3api.Precondition{})
	return err
}

// Rejection reads the rejection of a spec version; ErrNotFound when that
// version was not rejected.
func (s *Store) Rejection(ctx context.Context, key, version string) (Rejection, error) {
	op := fmt.Sprintf("read rejection of %s version %s", key, version)
	if err := checkNames(op, "key", key); err != nil {
		return Rejection{}, err
	}
	var r Rejection
	_, err := s.getJSON(ctx, op, rejectionKey(key, version), &r)
	return r, err
}

// AcceptedSpec records the version of a spec file that was last accepted:
// validated with the other files and taken into use. An upload is validated
// against the accepted versions of the other files, not their latest, so a
// rejected (or oversized) file never makes another file's upload fail.
type AcceptedSpec struct {
	// Key and Version identify the spec object.
	Key     string    `json:"key"`
	Version string    `json:"version"`
	At      time.Time `json:"at"`
}

// acceptedKey is index/accepted/<key>.json, each segment of the spec key
// escaped. It is under index/ with the repository index: both say what the
// spec uploads accepted.
func acceptedKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = segment(p)
	}
	return "index/accepted/" + strings.Join(parts, "/") + ".json"
}

// PutAcceptedSpec records a as the last accepted version of its key.
func (s *Store) PutAcceptedSpec(ctx context.Context, a AcceptedSpec) error {
	op := fmt.Sprintf("record acceptance of %s version %s", a.Key, a.Version)
	if err := checkNames(op, "key", a.Key, "version", a.Version); err != nil {
		return err
	}
	_, err := s.putJSON(ctx, op, acceptedKey(a.Key), a, s3api.Precondition{})
	return err
}

// AcceptedSpec returns the last accepted version of the spec at key;
// ErrNotFound when none was recorded.
func (s *Store) AcceptedSpec(ctx context.Context, key string) (AcceptedSpec, error) {
	op := "read accepted version of " + key
	if err := checkNames(op, "key", key); err != nil {
		return AcceptedSpec{}, err
	}
	var a AcceptedSpec
	_, err := s.getJSON(ctx, op, acceptedKey(key), &a)
	return a, err
}
