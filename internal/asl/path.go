package asl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ohler55/ojg/jp"
)

// jsonPath is a JSONPath as the States Language uses it: "$..." selects from the
// state's input, "$$..." from the context object. A Path that can select
// several nodes (wildcards, slices, filters, unions, descent) yields the
// array of every match; one that can select at most one node yields that
// node.
type jsonPath struct {
	raw      string
	context  bool
	expr     jp.Expr
	definite bool
}

// String returns the path as written.
func (p *jsonPath) String() string { return p.raw }

// parsePath parses a Path, which must start with "$".
func parsePath(s string) (*jsonPath, error) {
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("path %q must start with \"$\"", s)
	}
	p := &jsonPath{raw: s}
	expr := s
	if strings.HasPrefix(s, "$$") {
		p.context = true
		expr = s[1:]
	}
	x, err := parseJSONPath(expr)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", s, err)
	}
	p.expr = x
	p.definite = true
	for _, f := range x {
		switch f.(type) {
		case jp.Root, jp.At, jp.Child, jp.Nth, jp.Bracket:
		default:
			p.definite = false
		}
	}
	return p, nil
}

// parseJSONPath wraps jp.ParseString, which reports some syntax errors by
// panicking.
func parseJSONPath(s string) (x jp.Expr, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid JSONPath: %v", r)
		}
	}()
	return jp.ParseString(s)
}

// get evaluates the path against the input or the context object. found is
// false when a definite path matches nothing.
func (p *jsonPath) get(input, ctxObj any) (v any, found bool) {
	data := input
	if p.context {
		data = ctxObj
	}
	if len(p.expr) == 1 {
		return data, true
	}
	res := p.expr.Get(data)
	if p.definite {
		if len(res) == 0 {
			return nil, false
		}
		return res[0], true
	}
	if res == nil {
		res = []any{}
	}
	return res, true
}

// referencePath is a Reference Path: a Path limited to object fields and array
// indexes, so that it identifies exactly one node. ResultPath, Choice
// variables and the *jsonPath fields of Wait and Task states use it.
type referencePath struct {
	raw     string
	context bool
	segs    []refSeg
}

type refSeg struct {
	key     string
	index   int
	isIndex bool
}

// String returns the path as written.
func (p *referencePath) String() string { return p.raw }

// parseRefPath parses a Reference Path: "$" followed by ".name",
// "['name']" or "[index]" segments.
func parseRefPath(s string) (*referencePath, error) {
	p := &referencePath{raw: s}
	rest := s
	switch {
	case strings.HasPrefix(s, "$$"):
		p.context = true
		rest = s[2:]
	case strings.HasPrefix(s, "$"):
		rest = s[1:]
	default:
		return nil, fmt.Errorf("reference path %q must start with \"$\"", s)
	}
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, ".."):
			return nil, fmt.Errorf("reference path %q: descent \"..\" is not allowed", s)
		case rest[0] == '.':
			end := strings.IndexAny(rest[1:], ".[")
			if end < 0 {
				end = len(rest) - 1
			}
			name := rest[1 : 1+end]
			if name == "" {
				return nil, fmt.Errorf("reference path %q: empty field name", s)
			}
			if strings.ContainsAny(name, "*@,:?]()' ") {
				return nil, fmt.Errorf("reference path %q: field %q: operators are not allowed in a reference path", s, name)
			}
			p.segs = append(p.segs, refSeg{key: name})
			rest = rest[1+end:]
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("reference path %q: missing \"]\"", s)
			}
			inner := rest[1:end]
			if len(inner) >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[len(inner)-1] == inner[0] {
				p.segs = append(p.segs, refSeg{key: inner[1 : len(inner)-1]})
			} else {
				i, err := strconv.Atoi(inner)
				if err != nil || i < 0 {
					return nil, fmt.Errorf("reference path %q: %q: only a field name or a non-negative index is allowed in a reference path", s, inner)
				}
				p.segs = append(p.segs, refSeg{index: i, isIndex: true})
			}
			rest = rest[end+1:]
		default:
			return nil, fmt.Errorf("reference path %q: unexpected %q", s, rest)
		}
	}
	return p, nil
}

// get returns the node the path identifies in the input (or context object).
func (p *referencePath) get(input, ctxObj any) (any, bool) {
	v := input
	if p.context {
		v = ctxObj
	}
	for _, s := range p.segs {
		if s.isIndex {
			a, ok := v.([]any)
			if !ok || s.index >= len(a) {
				return nil, false
			}
			v = a[s.index]
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[s.key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// set returns a copy of doc with value placed where the path points,
// creating missing objects on the way, as ResultPath does. It fails with
// States.ResultPathMatchFailure when the path runs into a value that is not
// an object (or an array, for an index).
func (p *referencePath) set(doc, value any) (any, error) {
	if len(p.segs) == 0 {
		return value, nil
	}
	root := deepCopy(doc)
	if root == nil {
		root = map[string]any{}
	}
	cur := root
	for i, s := range p.segs {
		last := i == len(p.segs)-1
		if s.isIndex {
			a, ok := cur.([]any)
			if !ok || s.index >= len(a) {
				return nil, newError(ErrResultPathMatchFailure, "unable to apply ResultPath %q: no array element %d to write to", p.raw, s.index)
			}
			if last {
				a[s.index] = value
				return root, nil
			}
			cur = a[s.index]
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, newError(ErrResultPathMatchFailure, "unable to apply ResultPath %q: %q is not inside a JSON object", p.raw, s.key)
		}
		if last {
			m[s.key] = value
			return root, nil
		}
		next, ok := m[s.key]
		if !ok {
			next = map[string]any{}
			m[s.key] = next
		}
		cur = next
	}
	return root, nil
}
