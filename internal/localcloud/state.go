package localcloud

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
)

// Snapshotter is a service whose state persists across restarts
// (--state-dir): every service exposes it.
type Snapshotter interface {
	Snapshot() ([]byte, error)
	Restore(data []byte) error
}

// partNameRE keeps state file names plain.
var partNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// SaveState writes each part's snapshot to dir/<name>.json. Each file is
// written to a temporary file and renamed into place, so a crash leaves
// either the old or the new state of a part, never half of one.
func SaveState(dir string, parts map[string]Snapshotter) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	for _, name := range sortedNames(parts) {
		if !partNameRE.MatchString(name) {
			return fmt.Errorf("save state: part name %q: want lowercase letters, digits and hyphens", name)
		}
		data, err := parts[name].Snapshot()
		if err != nil {
			return fmt.Errorf("save state of %s: %w", name, err)
		}
		tmp, err := os.CreateTemp(dir, name+".json.tmp-*")
		if err != nil {
			return fmt.Errorf("save state of %s: %w", name, err)
		}
		_, werr := tmp.Write(data)
		cerr := tmp.Close()
		if err := errors.Join(werr, cerr); err != nil {
			_ = os.Remove(tmp.Name())
			return fmt.Errorf("save state of %s: %w", name, err)
		}
		if err := os.Rename(tmp.Name(), filepath.Join(dir, name+".json")); err != nil {
			_ = os.Remove(tmp.Name())
			return fmt.Errorf("save state of %s: %w", name, err)
		}
	}
	return nil
}

// LoadState restores each part from dir/<name>.json. A part without a file
// keeps its state (a first start, or a service added since); a file that
// does not restore is an error naming it.
func LoadState(dir string, parts map[string]Snapshotter) error {
	for _, name := range sortedNames(parts) {
		path := filepath.Join(dir, name+".json")
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("load state: %w", err)
		}
		if err := parts[name].Restore(data); err != nil {
			return fmt.Errorf("load state from %s: %w", path, err)
		}
	}
	return nil
}

func sortedNames(parts map[string]Snapshotter) []string {
	names := make([]string, 0, len(parts))
	for n := range parts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
