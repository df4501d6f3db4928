package trigger

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// SpecKind says whether a spec file describes a service or an environment.
type SpecKind string

// The kinds of spec file.
const (
	SpecService     SpecKind = "service"
	SpecEnvironment SpecKind = "environment"
)

// Prefixes of the spec bucket.
const (
	ServicesPrefix     = "services/"
	EnvironmentsPrefix = "environments/"
)

// SpecRef identifies a spec file of the spec bucket.
type SpecRef struct {
	Kind SpecKind
	// Name is the service or environment name: the file name without its
	// extension.
	Name string
	// Key is the decoded object key.
	Key string
}

// NotSpec explains why an object key is not a spec file Slipway reads. An
// upload of such an object is ignored.
type NotSpec struct {
	Key    string
	Reason string
}

// Error reads "<key>: not a spec file: <reason>".
func (e *NotSpec) Error() string { return fmt.Sprintf("%s: not a spec file: %s", e.Key, e.Reason) }

// ParseSpecKey classifies an object key of the spec bucket as delivered in
// an S3 event. Keys in S3 event notifications are URL-encoded ("red
// flower.yaml" arrives as "red+flower.yaml"), so the key is decoded first; a
// key that cannot be decoded is a *MalformedEvent, any other key that is not
// services/<name>.yaml or environments/<name>.yaml (or .yml, .json) is a
// *NotSpec.
func ParseSpecKey(raw string) (SpecRef, error) {
	key, err := url.QueryUnescape(raw)
	if err != nil {
		return SpecRef{}, &MalformedEvent{DetailType: DetailTypeObjectCreated, Field: "detail.object.key",
			Reason: fmt.Sprintf("%q is not URL-encoded correctly: %v", raw, err)}
	}
	var kind SpecKind
	var rest string
	switch {
	case strings.HasPrefix(key, ServicesPrefix):
		kind, rest = SpecService, strings.TrimPrefix(key, ServicesPrefix)
	case strings.HasPrefix(key, EnvironmentsPrefix):
		kind, rest = SpecEnvironment, strings.TrimPrefix(key, EnvironmentsPrefix)
	default:
		return SpecRef{}, &NotSpec{Key: key, Reason: "outside services/ and environments/"}
	}
	if strings.Contains(rest, "/") {
		return SpecRef{}, &NotSpec{Key: key, Reason: "in a subfolder; specs live directly under " + string(kind) + "s/"}
	}
	ext := path.Ext(rest)
	switch ext {
	case ".yaml", ".yml", ".json":
	default:
		return SpecRef{}, &NotSpec{Key: key, Reason: "not a .yaml, .yml or .json file"}
	}
	name := strings.TrimSuffix(rest, ext)
	if name == "" || strings.HasPrefix(name, ".") {
		return SpecRef{}, &NotSpec{Key: key, Reason: "no name before the extension"}
	}
	return SpecRef{Kind: kind, Name: name, Key: key}, nil
}
