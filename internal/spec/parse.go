package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"sort"
	"strings"
)

// Directory names below the spec root.
const (
	ServicesDir     = "services"
	EnvironmentsDir = "environments"
)

// specExtensions are the file extensions Load reads.
var specExtensions = []string{".yaml", ".yml", ".json"}

// ParseService decodes services/<name>.yaml strictly. The error, if any, is
// Problems. Parsing checks the shape only; call Validate for the rules.
func ParseService(file string, data []byte) (*Service, error) {
	root, problems := parseDocument(file, data)
	if root == nil {
		return nil, problems.err()
	}
	s := &Service{Name: nameOf(file), File: file}
	d := newDecoder()
	if root.kind != mapKind {
		d.problem(root, "", "got %s, want a mapping of fields (image, pipeline, taskDefinition, service, ...)", root.kind)
	} else {
		d.decodeStruct(root, reflect.ValueOf(s).Elem(), "")
	}
	problems = append(problems, d.problems...)
	if len(problems) > 0 {
		return nil, problems.err()
	}
	s.positions = d.positions
	return s, nil
}

// ParseEnvironment decodes environments/<name>.yaml strictly. The error, if
// any, is Problems.
func ParseEnvironment(file string, data []byte) (*Environment, error) {
	root, problems := parseDocument(file, data)
	if root == nil {
		return nil, problems.err()
	}
	e := &Environment{Name: nameOf(file), File: file}
	d := newDecoder()
	if root.kind != mapKind {
		d.problem(root, "", "got %s, want a mapping of fields (cluster, network, loadBalancers, ...)", root.kind)
	} else {
		d.decodeStruct(root, reflect.ValueOf(e).Elem(), "")
	}
	problems = append(problems, d.problems...)
	if len(problems) > 0 {
		return nil, problems.err()
	}
	e.positions = d.positions
	return e, nil
}

// nameOf is the spec name of a file: its base name without extension.
func nameOf(file string) string {
	base := path.Base(file)
	return strings.TrimSuffix(base, path.Ext(base))
}

// Set is every spec below one spec root.
type Set struct {
	Services     map[string]*Service
	Environments map[string]*Environment
}

// Load reads services/ and environments/ below the root of fsys. Files with
// other extensions are ignored; every problem in every file is returned
// (as Problems). A root with neither directory is an error.
func Load(fsys fs.FS) (*Set, error) {
	set := &Set{Services: map[string]*Service{}, Environments: map[string]*Environment{}}
	var problems Problems
	found := false
	for _, dir := range []string{ServicesDir, EnvironmentsDir} {
		entries, err := fs.ReadDir(fsys, dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", dir, err)
		}
		found = true
		sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
		for _, entry := range entries {
			if entry.IsDir() || !isSpecFile(entry.Name()) {
				continue
			}
			file := path.Join(dir, entry.Name())
			// A file over the limit is refused without reading it.
			if info, err := entry.Info(); err == nil && info.Size() > MaxFileSize {
				problems = append(problems, Problem{File: file, Line: 1, Column: 1, Reason: tooLargeReason(info.Size())})
				continue
			}
			data, err := fs.ReadFile(fsys, file)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", file, err)
			}
			name := nameOf(file)
			switch dir {
			case ServicesDir:
				if prev, ok := set.Services[name]; ok {
					problems = append(problems, Problem{File: file, Reason: fmt.Sprintf("service %q is also defined in %s; keep one file per service", name, prev.File)})
					continue
				}
				s, err := ParseService(file, data)
				if err != nil {
					problems = append(problems, asProblems(err)...)
					continue
				}
				set.Services[name] = s
			case EnvironmentsDir:
				if prev, ok := set.Environments[name]; ok {
					problems = append(problems, Problem{File: file, Reason: fmt.Sprintf("environment %q is also defined in %s; keep one file per environment", name, prev.File)})
					continue
				}
				e, err := ParseEnvironment(file, data)
				if err != nil {
					problems = append(problems, asProblems(err)...)
					continue
				}
				set.Environments[name] = e
			}
		}
	}
	if !found {
		return nil, Problems{{Reason: "no services/ or environments/ directory here; point at the spec root that holds them"}}
	}
	if len(problems) > 0 {
		return set, problems.err()
	}
	return set, nil
}

func isSpecFile(name string) bool {
	for _, ext := range specExtensions {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// asProblems returns err as Problems, wrapping any other error as one problem.
func asProblems(err error) Problems {
	var ps Problems
	if errors.As(err, &ps) {
		return ps
	}
	return Problems{{Reason: err.Error()}}
}
