package spec

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a spec: where it is and why it is wrong.
type Problem struct {
	// File is the spec file, relative to the spec root ("services/web.yaml").
	File string
	// Path is the field path from the document root, in the spec's own
	// camelCase names ("service.networkConfiguration.awsvpcConfiguration.subnets").
	Path string
	// Reason says what is wrong and, where it helps, what to write instead.
	Reason string
	// Line and Column locate the field in File (1-based); zero when unknown.
	Line, Column int
	// Missing is the spec file ("environments/prod.yaml") whose absence
	// from the set is the whole of the problem: a reference to a service or
	// an environment that has no file. Empty for every other problem. An
	// upload may arrive before the file it names (`aws s3 cp --recursive`
	// uploads in any order), so the spec-upload trigger does not hold it
	// against the upload; the pair is validated when the file arrives.
	Missing string
}

// String formats the problem as "file:line:col: path: reason", leaving out
// the parts that are unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
			if p.Column > 0 {
				fmt.Fprintf(&b, ":%d", p.Column)
			}
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// Problems is every problem found in one or more specs. A non-empty Problems
// is the error returned by the parse, load and render functions.
type Problems []Problem

// Error lists the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Strings returns each problem formatted by Problem.String.
func (ps Problems) Strings() []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// sorted returns the problems ordered by file, line, column and path, with
// exact duplicates removed.
func (ps Problems) sorted() Problems {
	out := slices.Clone(ps)
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Reason, b.Reason),
		)
	})
	return slices.Compact(out)
}

// err returns the sorted problems as an error, or nil when there are none.
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps.sorted()
}
