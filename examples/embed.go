// Package examples holds the example spec root — services/ and
// environments/ — that the docs describe and that `slipway local` and
// `slipway demo` seed when no other spec root is given. It is embedded in
// the binary so that the CLI runs the same world from any directory.
package examples

import (
	"embed"
	"io/fs"
)

//go:embed services/*.yaml environments/*.yaml
var files embed.FS

// FS returns the example spec root: services/<name>.yaml and
// environments/<name>.yaml.
func FS() fs.FS { return files }
