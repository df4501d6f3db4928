package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// kind is the JSON data type of a node.
type kind int

const (
	nullKind kind = iota
	boolKind
	intKind
	floatKind
	stringKind
	mapKind
	listKind
)

func (k kind) String() string {
	return [...]string{"null", "a boolean", "an integer", "a number", "a string", "a mapping", "a list"}[k]
}

// pos is where a node came from.
type pos struct {
	file         string
	line, column int
	// path is the value's field path in its own file when that differs
	// from where it ends up (an environment's override of
	// taskDefinition.cpu is overrides.web.taskDefinition.cpu); empty
	// when they are the same.
	path string
}

// node is a JSON-shaped document tree that remembers, for every value, the
// file, line and column it came from. Specs are parsed into nodes, merge
// patches and variables operate on nodes, and the typed decoder reads nodes,
// so a problem found at any stage can point at the text that caused it.
type node struct {
	kind  kind
	value string // scalar text (bool, int, float, string)
	keys  []string
	vals  []*node // mapping values, in the order of keys
	items []*node // list items
	pos   pos
	// substituted is set on a string a variable was substituted into: its
	// text may be secret, so problems do not show it.
	substituted bool
}

// get returns the value of key in a mapping node, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != mapKind {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// set replaces or appends key in a mapping node.
func (n *node) set(key string, v *node) {
	for i, k := range n.keys {
		if k == key {
			n.vals[i] = v
			return
		}
	}
	n.keys = append(n.keys, key)
	n.vals = append(n.vals, v)
}

// del removes key from a mapping node.
func (n *node) del(key string) {
	for i, k := range n.keys {
		if k == key {
			n.keys = append(n.keys[:i:i], n.keys[i+1:]...)
			n.vals = append(n.vals[:i:i], n.vals[i+1:]...)
			return
		}
	}
}

// clone returns a deep copy.
func (n *node) clone() *node {
	if n == nil {
		return nil
	}
	c := *n
	c.keys = append([]string(nil), n.keys...)
	c.vals = make([]*node, len(n.vals))
	for i, v := range n.vals {
		c.vals[i] = v.clone()
	}
	c.items = make([]*node, len(n.items))
	for i, v := range n.items {
		c.items[i] = v.clone()
	}
	return &c
}

// maxNodes bounds the number of values in a document after alias
// expansion, so a small file cannot expand into an enormous tree.
const maxNodes = 200000

// MaxFileSize is the largest spec file Slipway reads, in bytes: both the
// file as written and the text it expands to once YAML aliases are
// expanded (every key and scalar value counted at its full length each time
// it appears). A larger file is refused with its position and the limit.
const MaxFileSize = 1 << 20

// parseDocument parses one YAML (or JSON) spec file into a node tree. A
// file larger than MaxFileSize is refused before it is parsed.
func parseDocument(file string, data []byte) (n *node, problems Problems) {
	if len(data) > MaxFileSize {
		return nil, Problems{{File: file, Line: 1, Column: 1, Reason: tooLargeReason(int64(len(data)))}}
	}
	return parseText(file, data)
}

// tooLargeReason says that a file of size bytes is over MaxFileSize.
func tooLargeReason(size int64) string {
	return fmt.Sprintf("the file is %d bytes, more than the limit of %d bytes (%s) per spec file; split the service or environment, or move large values out of the spec",
		size, MaxFileSize, sizeName(MaxFileSize))
}

// parseText parses YAML or JSON text into a node tree, bounding the tree
// alias expansion produces but not the size of the text itself (the text
// of an environment's override, re-read, is bounded by its file's).
func parseText(file string, data []byte) (n *node, problems Problems) {
	var doc yaml.Node
	if err := safeUnmarshal(data, &doc); err != nil {
		return nil, Problems{syntaxProblem(file, data, err)}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, Problems{{File: file, Line: 1, Column: 1, Reason: "the file is empty; write a mapping of fields"}}
	}
	if bytes.Contains(data, []byte("\n---")) {
		var docs yaml.Node
		dec := yaml.NewDecoder(bytes.NewReader(data))
		_ = dec.Decode(&docs)
		if err := dec.Decode(&docs); err == nil {
			return nil, Problems{{File: file, Line: docs.Line, Column: docs.Column, Reason: "more than one YAML document; put one spec in each file"}}
		}
	}
	c := converter{file: file}
	n = c.convert(doc.Content[0], 0)
	return n, c.problems
}

// safeUnmarshal is yaml.Unmarshal that turns a panic inside the YAML library
// into an error: no input may crash the caller.
func safeUnmarshal(data []byte, v *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return yaml.Unmarshal(data, v)
}

type converter struct {
	file  string
	count int
	// size is the number of bytes of keys and scalar values converted so
	// far, each alias counted again wherever it is used.
	size     int
	tooLarge bool
	// alias is the outermost alias being expanded, where a document that
	// grows too large is reported.
	alias    *yaml.Node
	problems Problems
}

// grow adds n bytes to the converted size and reports whether the document
// is still within MaxFileSize; the first time it is not, it records the
// problem at the alias being expanded (or at y).
func (c *converter) grow(y *yaml.Node, n int) bool {
	c.size += n
	if c.size <= MaxFileSize {
		return true
	}
	if !c.tooLarge {
		c.tooLarge = true
		at := y
		if c.alias != nil {
			at = c.alias
		}
		c.problem(at, "the file expands to more than %d bytes (%s) once YAML aliases are expanded, the limit per spec file; use fewer aliases of large values", MaxFileSize, sizeName(MaxFileSize))
	}
	return false
}

// sizeName writes a byte count in KiB or MiB when it is a whole number of them.
func sizeName(n int) string {
	switch {
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func (c *converter) problem(y *yaml.Node, format string, args ...any) {
	c.problems = append(c.problems, Problem{File: c.file, Line: y.Line, Column: y.Column, Reason: fmt.Sprintf(format, args...)})
}

func (c *converter) convert(y *yaml.Node, depth int) *node {
	c.count++
	if c.tooLarge {
		return &node{kind: nullKind, pos: pos{file: c.file, line: y.Line, column: y.Column}}
	}
	if c.count > maxNodes || depth > 200 {
		if c.count == maxNodes+1 || depth == 201 {
			c.problem(y, "document too large or too deeply nested (aliases expand to more than %d values)", maxNodes)
		}
		return &node{kind: nullKind, pos: pos{file: c.file, line: y.Line, column: y.Column}}
	}
	p := pos{file: c.file, line: y.Line, column: y.Column}
	switch y.Kind {
	case yaml.AliasNode:
		if y.Alias == nil {
			return &node{kind: nullKind, pos: p}
		}
		if c.alias == nil {
			c.alias = y
			defer func() { c.alias = nil }()
		}
		n := c.convert(y.Alias, depth+1)
		n.pos = p
		return n
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return &node{kind: nullKind, pos: p}
		}
		return c.convert(y.Content[0], depth+1)
	case yaml.MappingNode:
		n := &node{kind: mapKind, pos: p}
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				c.problem(k, "mapping keys must be plain strings")
				continue
			}
			if k.Tag == "!!merge" {
				c.problem(k, "merge keys (<<) are not supported; repeat the fields or use an anchor for the whole value")
				continue
			}
			if n.get(k.Value) != nil {
				c.problem(k, "duplicate key %q", k.Value)
				continue
			}
			if !c.grow(k, len(k.Value)) {
				return n
			}
			n.keys = append(n.keys, k.Value)
			n.vals = append(n.vals, c.convert(v, depth+1))
		}
		return n
	case yaml.SequenceNode:
		n := &node{kind: listKind, pos: p, items: make([]*node, 0, len(y.Content))}
		for _, v := range y.Content {
			n.items = append(n.items, c.convert(v, depth+1))
		}
		return n
	case yaml.ScalarNode:
		if !c.grow(y, len(y.Value)) {
			return &node{kind: nullKind, pos: p}
		}
		n := &node{pos: p, value: y.Value}
		switch y.ShortTag() {
		case "!!null":
			n.kind = nullKind
		case "!!bool":
			n.kind = boolKind
			n.value = strings.ToLower(y.Value)
		case "!!int":
			n.kind = intKind
		case "!!float":
			n.kind = floatKind
		case "!!str", "!!timestamp":
			n.kind = stringKind
		default:
			c.problem(y, "unsupported YAML value of type %s; write a string, number, boolean, list or mapping", y.ShortTag())
			n.kind = nullKind
		}
		return n
	}
	c.problem(y, "unsupported YAML node")
	return &node{kind: nullKind, pos: p}
}

// syntaxProblem turns a YAML syntax error into a problem with a line and a
// column. The YAML library reports only a line, and for errors inside a
// block it is the line where the block starts; the offending line and column
// are found by parsing ever longer prefixes of the file until the same error
// appears.
func syntaxProblem(file string, data []byte, err error) Problem {
	if p, ok := jsonSyntaxProblem(file, data); ok {
		return p
	}
	line, msg := splitYAMLError(err)
	if l, c, ok := locateSyntaxError(data, line, msg); ok {
		return Problem{File: file, Line: l, Column: c, Reason: "invalid YAML: " + msg}
	}
	if line == 0 {
		line = 1
	}
	return Problem{File: file, Line: line, Column: firstColumn(data, line), Reason: "invalid YAML: " + msg}
}

// jsonSyntaxProblem reports a syntax error in a JSON document, which
// encoding/json locates exactly. Documents that do not start like JSON are
// left to the YAML error.
func jsonSyntaxProblem(file string, data []byte) (Problem, bool) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' && trimmed[0] != '[' {
		return Problem{}, false
	}
	var v any
	err := json.Unmarshal(data, &v)
	var syntax *json.SyntaxError
	if !errors.As(err, &syntax) {
		return Problem{}, false
	}
	// Offset is the number of bytes read when the error was found, so the
	// offending byte is the one before it.
	off := max(int(syntax.Offset)-1, 0)
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return Problem{File: file, Line: line, Column: col, Reason: "invalid JSON: " + syntax.Error()}, true
}

// splitYAMLError splits "yaml: line 3: message" into 3 and "message".
func splitYAMLError(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if l, convErr := strconv.Atoi(num); convErr == nil {
				return l, tail
			}
		}
	}
	return 0, msg
}

// Locating a syntax error re-parses prefixes of the file, so it is bounded:
// files up to maxLocateSize bytes, lines from the one the library reports
// to maxLocateLines after it, and the first maxLocateColumns columns.
const (
	maxLocateSize    = 64 << 10
	maxLocateLines   = 20
	maxLocateColumns = 200
)

func locateSyntaxError(data []byte, reported int, msg string) (line, col int, ok bool) {
	if len(data) > maxLocateSize {
		return 0, 0, false
	}
	fails := func(end int) bool {
		var doc yaml.Node
		e := safeUnmarshal(data[:end], &doc)
		if e == nil {
			return false
		}
		_, m := splitYAMLError(e)
		return m == msg
	}
	// The library reports the line where the enclosing block starts, at or
	// before the offending one.
	reported = max(reported, 1)
	start := 0
	for line = 1; line < reported; line++ {
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			return 0, 0, false
		}
		start += i + 1
	}
	for ; start <= len(data) && line < reported+maxLocateLines; line++ {
		end := len(data)
		if i := bytes.IndexByte(data[start:], '\n'); i >= 0 {
			end = start + i
		}
		if fails(end) {
			// The first column whose prefix fails; once a prefix fails,
			// longer ones on the same line do too, so search by halves.
			lo, hi := 1, min(end-start, maxLocateColumns)
			if hi < 1 || !fails(start+hi) {
				return line, firstColumn(data, line), true
			}
			for lo < hi {
				mid := (lo + hi) / 2
				if fails(start + mid) {
					hi = mid
				} else {
					lo = mid + 1
				}
			}
			return line, lo, true
		}
		start = end + 1
	}
	return 0, 0, false
}

// firstColumn is the column of the first non-blank character of line.
func firstColumn(data []byte, line int) int {
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return 1
	}
	text := lines[line-1]
	return 1 + len(text) - len(bytes.TrimLeft(text, " \t"))
}

// merge applies an RFC 7386 JSON merge patch to target and returns the
// result. Neither argument is modified.
func merge(target, patch *node) *node {
	if patch == nil {
		return target.clone()
	}
	if patch.kind != mapKind {
		return patch.clone()
	}
	var out *node
	if target != nil && target.kind == mapKind {
		out = target.clone()
	} else {
		out = &node{kind: mapKind, pos: patch.pos}
	}
	for i, k := range patch.keys {
		v := patch.vals[i]
		if v.kind == nullKind {
			out.del(k)
			continue
		}
		out.set(k, merge(out.get(k), v))
	}
	return out
}

// fromJSON parses raw JSON (or YAML) text into a node without positions in
// any file; label names it in problems.
func fromJSON(label string, raw []byte) (*node, Problems) {
	return parseText(label, raw)
}

// toAny converts a node to the values encoding/json produces.
func (n *node) toAny() any {
	if n == nil {
		return nil
	}
	switch n.kind {
	case boolKind:
		return n.value == "true"
	case intKind:
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.value, "_", ""), 0, 64); err == nil {
			return i
		}
		return json.Number(n.value)
	case floatKind:
		f, err := strconv.ParseFloat(n.value, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return n.value
		}
		return f
	case stringKind:
		return n.value
	case mapKind:
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			m[k] = n.vals[i].toAny()
		}
		return m
	case listKind:
		l := make([]any, len(n.items))
		for i, v := range n.items {
			l[i] = v.toAny()
		}
		return l
	}
	return nil
}

// marshalJSON renders the node as JSON with the keys in document order.
func (n *node) marshalJSON(b *bytes.Buffer) {
	if n == nil {
		b.WriteString("null")
		return
	}
	switch n.kind {
	case mapKind:
		b.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			n.vals[i].marshalJSON(b)
		}
		b.WriteByte('}')
	case listKind:
		b.WriteByte('[')
		for i, v := range n.items {
			if i > 0 {
				b.WriteByte(',')
			}
			v.marshalJSON(b)
		}
		b.WriteByte(']')
	default:
		vb, err := json.Marshal(n.toAny())
		if err != nil {
			vb, _ = json.Marshal(n.value)
		}
		b.Write(vb)
	}
}
