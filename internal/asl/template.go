package asl

import (
	"fmt"
	"sort"
	"strings"
)

// template is a payload template (Parameters, ResultSelector, ItemSelector):
// JSON in which a field whose name ends in ".$" takes the value of a Path or
// an intrinsic function, evaluated against the effective input.
type template struct {
	literal any
	fields  []templateField // for objects
	items   []*template     // for arrays
	kind    int
}

const (
	tmplLiteral = iota
	tmplObject
	tmplArray
)

type templateField struct {
	name  string
	value *template  // a plain field
	path  *jsonPath  // a "name.$" field holding a path
	fn    *intrinsic // a "name.$" field holding an intrinsic function
	raw   string
}

// compileTemplate checks a payload template and prepares it for evaluation;
// where locates it for error messages.
func compileTemplate(v any, where string) (*template, []string) {
	var problems []string
	t := compileNode(v, where, &problems)
	return t, problems
}

func compileNode(v any, where string, problems *[]string) *template {
	switch x := v.(type) {
	case map[string]any:
		t := &template{kind: tmplObject}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fieldWhere := where + "." + k
			if !strings.HasSuffix(k, ".$") {
				t.fields = append(t.fields, templateField{name: k, value: compileNode(x[k], fieldWhere, problems)})
				continue
			}
			name := strings.TrimSuffix(k, ".$")
			s, ok := x[k].(string)
			if !ok {
				*problems = append(*problems, fmt.Sprintf("%s: a field ending in \".$\" must hold a path or an intrinsic function string", fieldWhere))
				continue
			}
			f := templateField{name: name, raw: s}
			if strings.HasPrefix(s, "$") {
				p, err := parsePath(s)
				if err != nil {
					*problems = append(*problems, fmt.Sprintf("%s: %v", fieldWhere, err))
					continue
				}
				f.path = p
			} else {
				fn, err := parseIntrinsic(s)
				if err != nil {
					*problems = append(*problems, fmt.Sprintf("%s: %v", fieldWhere, err))
					continue
				}
				f.fn = fn
			}
			t.fields = append(t.fields, f)
		}
		return t
	case []any:
		t := &template{kind: tmplArray}
		for i, e := range x {
			t.items = append(t.items, compileNode(e, fmt.Sprintf("%s[%d]", where, i), problems))
		}
		return t
	default:
		return &template{kind: tmplLiteral, literal: v}
	}
}

// eval builds the payload from the input and the context object.
func (t *template) eval(input, ctxObj any) (any, error) {
	switch t.kind {
	case tmplObject:
		out := make(map[string]any, len(t.fields))
		for _, f := range t.fields {
			switch {
			case f.value != nil:
				v, err := f.value.eval(input, ctxObj)
				if err != nil {
					return nil, err
				}
				out[f.name] = v
			case f.path != nil:
				v, ok := f.path.get(input, ctxObj)
				if !ok {
					// AWS reports States.Runtime here, not the specification's
					// States.ParameterPathFailure, so no Retry or Catch handles it.
					return nil, newError(ErrRuntime, "the JSONPath %q specified for the field %q could not be found in the input", f.raw, f.name+".$")
				}
				out[f.name] = deepCopy(v)
			default:
				v, err := f.fn.eval(input, ctxObj)
				if err != nil {
					return nil, err
				}
				out[f.name] = v
			}
		}
		return out, nil
	case tmplArray:
		out := make([]any, len(t.items))
		for i, item := range t.items {
			v, err := item.eval(input, ctxObj)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	default:
		return deepCopy(t.literal), nil
	}
}
