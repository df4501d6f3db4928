package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/spec"
)

func newValidateCommand() *cobra.Command {
	var of outputFlag
	c := &cobra.Command{
		Use:   "validate PATH...",
		Short: "Check service and environment specs and print every problem",
		Long: `validate checks spec files and spec roots. A directory must be a spec root
(holding services/ and/or environments/); its specs are also checked together:
pipeline environments exist, and every service renders for every environment
of its pipeline. A file is checked on its own; it must sit in a services/ or
environments/ directory.

Every problem is printed as file:line:column: field.path: reason. With
--output json the result is one JSON object: ok, the counts and the
problems (docs/cli.md lists the fields).`,
		Example: `  slipway validate examples/
  slipway validate examples/services/web.yaml
  slipway validate --output json examples/`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("validate needs at least one PATH: a spec root or spec files (see slipway validate --help)")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if err := of.check(); err != nil {
				return err
			}
			return validatePaths(c, args, of.json())
		},
	}
	of.add(c)
	return c
}

// validation is what validate --output json prints.
type validation struct {
	// OK is true when no problem was found.
	OK           bool `json:"ok"`
	Services     int  `json:"services"`
	Environments int  `json:"environments"`
	// Problems are every problem found, in the order printed as text.
	Problems []problemJSON `json:"problems"`
}

// problemJSON is one spec problem.
type problemJSON struct {
	// File is the spec file as given (or under the spec root given).
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	// Path is the field path in the spec's own camelCase names.
	Path   string `json:"path,omitempty"`
	Reason string `json:"reason"`
}

func validatePaths(c *cobra.Command, paths []string, asJSON bool) error {
	var services, environments, problemCount int
	result := validation{Problems: []problemJSON{}}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return usageErrorf("%s: no such file or directory; pass a spec root (with services/ and environments/) or spec files", p)
		}
		var problems spec.Problems
		root := p
		if info.IsDir() {
			if !isSpecRoot(p) {
				return usageErrorf("%s is not a spec root: it has no services/ or environments/ directory; pass the directory that holds them, or the spec files", p)
			}
			set, err := spec.Load(os.DirFS(p))
			var ps spec.Problems
			if err != nil && !errors.As(err, &ps) {
				return fmt.Errorf("load %s: %w", p, err)
			}
			problems = append(problems, ps...)
			if set != nil && len(ps) == 0 {
				problems = append(problems, set.Validate()...)
			}
			if set != nil {
				services += len(set.Services)
				environments += len(set.Environments)
			}
		} else {
			root = filepath.Dir(filepath.Dir(p))
			ps, isService, err := validateFile(p)
			if err != nil {
				return err
			}
			problems = ps
			if isService {
				services++
			} else {
				environments++
			}
		}
		if asJSON {
			for _, p := range problems {
				file := p.File
				if file != "" && root != "" {
					file = joinDisplay(root, file)
				}
				result.Problems = append(result.Problems, problemJSON{File: file, Line: p.Line, Column: p.Column, Path: p.Path, Reason: p.Reason})
			}
		} else {
			printProblems(c.OutOrStdout(), root, problems)
		}
		problemCount += len(problems)
	}
	if asJSON {
		result.OK, result.Services, result.Environments = problemCount == 0, services, environments
		if err := writeJSON(c.OutOrStdout(), result); err != nil {
			return err
		}
	}
	if problemCount > 0 {
		return &invalidSpecError{count: problemCount}
	}
	if !asJSON {
		fmt.Fprintf(c.OutOrStdout(), "ok: %d services, %d environments\n", services, environments)
	}
	return nil
}

// validateFile parses and validates one file, telling a service from an
// environment by its directory.
func validateFile(p string) (spec.Problems, bool, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", p, err)
	}
	kind := filepath.Base(filepath.Dir(p))
	name := filepath.ToSlash(filepath.Join(kind, filepath.Base(p)))
	switch kind {
	case spec.ServicesDir:
		s, err := spec.ParseService(name, data)
		if err != nil {
			return problemsOf(err), true, nil
		}
		return s.Validate(), true, nil
	case spec.EnvironmentsDir:
		e, err := spec.ParseEnvironment(name, data)
		if err != nil {
			return problemsOf(err), false, nil
		}
		return e.Validate(), false, nil
	}
	return nil, false, usageErrorf("%s: cannot tell a service from an environment; put the file in a services/ or environments/ directory", p)
}

func problemsOf(err error) spec.Problems {
	var ps spec.Problems
	if errors.As(err, &ps) {
		return ps
	}
	return spec.Problems{{Reason: err.Error()}}
}

// joinDisplay joins a spec root and a spec-relative file for display.
func joinDisplay(root, file string) string {
	if root == "." {
		return file
	}
	return filepath.ToSlash(filepath.Join(root, file))
}

// isSpecRoot reports whether dir holds services/ or environments/.
func isSpecRoot(dir string) bool {
	for _, sub := range []string{spec.ServicesDir, spec.EnvironmentsDir} {
		if info, err := os.Stat(filepath.Join(dir, sub)); err == nil && info.IsDir() {
			return true
		}
	}
	return false
}
