package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// decoder reads a node tree into Go values strictly: unknown fields, values
// of the wrong type and enum values the ECS API does not define are
// problems, each with the field path and the position of the offending text.
//
// Field names are the AWS APIs' camelCase names. The SDK's structs carry no
// tags, so a field's name is its Go name with the first letter lowered
// (Cpu → cpu, TaskRoleArn → taskRoleArn, EnableECSManagedTags →
// enableECSManagedTags); Slipway's own types may set `spec:"name"`.
type decoder struct {
	problems Problems
	// positions maps every decoded path to where its value was written.
	positions map[string]pos
}

func newDecoder() *decoder { return &decoder{positions: map[string]pos{}} }

// specDecoder is implemented by types that accept more than one shape
// (a strategy may be a name or an object; a duration is a string).
type specDecoder interface {
	decodeSpec(d *decoder, n *node, path string)
}

func (d *decoder) problem(n *node, path, format string, args ...any) {
	p := Problem{Path: path, Reason: fmt.Sprintf(format, args...)}
	if n != nil {
		p.File, p.Line, p.Column = n.pos.file, n.pos.line, n.pos.column
		if n.pos.path != "" {
			p.Path = n.pos.path
		}
	}
	d.problems = append(d.problems, p)
}

// fieldName is the spec name of a struct field, or "" when the field is not
// part of the spec.
func fieldName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	if tag, ok := f.Tag.Lookup("spec"); ok {
		if tag == "-" {
			return ""
		}
		return tag
	}
	r, size := utf8.DecodeRuneInString(f.Name)
	return string(unicode.ToLower(r)) + f.Name[size:]
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	rawType      = reflect.TypeFor[json.RawMessage]()
	decoderType  = reflect.TypeFor[specDecoder]()
	durationType = reflect.TypeFor[Duration]()
)

// decode reads n into v (which must be settable).
func (d *decoder) decode(n *node, v reflect.Value, path string) {
	if n == nil {
		return
	}
	d.positions[path] = n.pos
	if n.kind == nullKind {
		// null is the same as leaving the field out.
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(decoderType) {
		v.Addr().Interface().(specDecoder).decodeSpec(d, n, path)
		return
	}
	t := v.Type()
	switch {
	case t == timeType:
		if n.kind != stringKind {
			d.problem(n, path, "got %s, want a time such as 2026-01-02T15:04:05Z", n.kind)
			return
		}
		tm, err := time.Parse(time.RFC3339, n.value)
		if err != nil {
			d.problem(n, path, "%s is not a time; write RFC 3339, e.g. 2026-01-02T15:04:05Z", shown(n, path, "the value"))
			return
		}
		v.Set(reflect.ValueOf(tm))
		return
	case t == rawType:
		var b bytes.Buffer
		n.marshalJSON(&b)
		d.record(n, path)
		v.SetBytes(b.Bytes())
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		e := reflect.New(t.Elem())
		d.decode(n, e.Elem(), path)
		v.Set(e)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.kind != listKind {
			d.problem(n, path, "got %s, want a list", n.kind)
			return
		}
		s := reflect.MakeSlice(t, len(n.items), len(n.items))
		for i, item := range n.items {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Array:
		if n.kind != listKind {
			d.problem(n, path, "got %s, want a list", n.kind)
			return
		}
		if len(n.items) > t.Len() {
			d.problem(n, path, "got %d items, want at most %d", len(n.items), t.Len())
			return
		}
		for i, item := range n.items {
			d.decode(item, v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		if n.kind != mapKind {
			d.problem(n, path, "got %s, want a mapping", n.kind)
			return
		}
		if t.Key().Kind() != reflect.String {
			d.problem(n, path, "field not supported by slipway")
			return
		}
		m := reflect.MakeMapWithSize(t, len(n.keys))
		for i, k := range n.keys {
			e := reflect.New(t.Elem()).Elem()
			d.decode(n.vals[i], e, joinPath(path, k))
			m.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), e)
		}
		v.Set(m)
	case reflect.String:
		d.decodeString(n, v, path)
	case reflect.Bool:
		if n.kind != boolKind {
			d.problem(n, path, "got %s%s, want true or false", n.kind, quoteValue(n, path))
			return
		}
		v.SetBool(n.value == "true")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.kind != intKind {
			d.problem(n, path, "got %s%s, want an integer", n.kind, quoteValue(n, path))
			return
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(n.value, "_", ""), 0, t.Bits())
		if err != nil {
			d.problem(n, path, "%s is out of range for a %d-bit integer", shown(n, path, "the value"), t.Bits())
			return
		}
		v.SetInt(i)
	case reflect.Float32, reflect.Float64:
		if n.kind != intKind && n.kind != floatKind {
			d.problem(n, path, "got %s%s, want a number", n.kind, quoteValue(n, path))
			return
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.value, "_", ""), t.Bits())
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			d.problem(n, path, "%s is not a finite number", shown(n, path, "the value"))
			return
		}
		v.SetFloat(f)
	default:
		d.problem(n, path, "field not supported by slipway")
	}
}

// quoteValue shows a scalar's text in a message, after a space, or
// nothing for a mapping or list or a value that may be secret.
func quoteValue(n *node, path string) string {
	switch n.kind {
	case mapKind, listKind, nullKind:
		return ""
	}
	if sensitive(n, path) {
		return ""
	}
	return " " + shown(n, path, "")
}

// shown is a scalar's text, quoted and shortened, for a message, or
// instead when the value may be secret (see sensitive).
func shown(n *node, path, instead string) string {
	if sensitive(n, path) {
		return instead
	}
	v := n.value
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return strconv.Quote(v)
}

// sensitive reports whether a value may be a secret, so a problem with it
// names the field and the rule but not the value: a container's environment
// or secrets, a log driver's secret options, a variable, or any value a
// variable was substituted into. Problems end up in rejection records,
// events and logs.
func sensitive(n *node, path string) bool {
	if n != nil && n.substituted {
		return true
	}
	if n != nil && n.pos.path != "" {
		path = n.pos.path
	}
	for _, seg := range strings.Split(path, ".") {
		if i := strings.IndexByte(seg, '['); i >= 0 {
			seg = seg[:i]
		}
		switch seg {
		case "environment", "secrets", "secretOptions", "variables":
			return true
		}
	}
	return false
}

func (d *decoder) decodeString(n *node, v reflect.Value, path string) {
	switch n.kind {
	case stringKind, intKind, floatKind:
		// Numbers are accepted where the API wants a string ("cpu: 256").
	case boolKind:
		if sensitive(n, path) {
			d.problem(n, path, "got a boolean, want a string; quote it")
			return
		}
		d.problem(n, path, "got a boolean, want a string; quote it: \"%s\"", n.value)
		return
	default:
		d.problem(n, path, "got %s, want a string", n.kind)
		return
	}
	if allowed := enumValues(v.Type()); allowed != nil && !strings.Contains(n.value, "${") {
		found := false
		for _, a := range allowed {
			if a == n.value {
				found = true
				break
			}
		}
		if !found {
			d.problem(n, path, "%s is not one of %s", shown(n, path, "the value"), strings.Join(allowed, ", "))
			return
		}
	}
	v.SetString(n.value)
}

// enumValues returns the values of an SDK enum type (a string type with a
// Values method), or nil for any other type.
func enumValues(t reflect.Type) []string {
	if t.PkgPath() == "" {
		return nil
	}
	m, ok := t.MethodByName("Values")
	if !ok || m.Type.NumIn() != 1 || m.Type.NumOut() != 1 || m.Type.Out(0).Kind() != reflect.Slice {
		return nil
	}
	out := m.Func.Call([]reflect.Value{reflect.Zero(t)})[0]
	vals := make([]string, out.Len())
	for i := range vals {
		vals[i] = out.Index(i).String()
	}
	return vals
}

func (d *decoder) decodeStruct(n *node, v reflect.Value, path string) {
	d.positions[path] = n.pos
	if n.kind != mapKind {
		d.problem(n, path, "got %s%s, want a mapping", n.kind, quoteValue(n, path))
		return
	}
	t := v.Type()
	for i, key := range n.keys {
		f, ok := fieldByName(t, key)
		if !ok {
			d.problem(n.vals[i], joinPath(path, key), "unknown field%s", suggest(t, key))
			continue
		}
		d.decode(n.vals[i], v.FieldByIndex(f.Index), joinPath(path, key))
	}
}

func fieldByName(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if name := fieldName(f); name != "" && name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// suggest names the field the writer probably meant.
func suggest(t reflect.Type, key string) string {
	best, bestDist := "", 3
	for i := range t.NumField() {
		name := fieldName(t.Field(i))
		if name == "" {
			continue
		}
		if strings.EqualFold(name, key) {
			return fmt.Sprintf("; did you mean %q?", name)
		}
		lname, lkey := strings.ToLower(name), strings.ToLower(key)
		if len(name) >= 4 && (strings.HasPrefix(lkey, lname) || strings.HasPrefix(lname, lkey) && len(key) >= 4) {
			return fmt.Sprintf("; did you mean %q?", name)
		}
		if dist := editDistance(lname, lkey); dist < bestDist {
			best, bestDist = name, dist
		}
	}
	if best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// record notes the position of every value below n, for raw values that are
// decoded later (environment overrides).
func (d *decoder) record(n *node, path string) {
	d.positions[path] = n.pos
	for i, k := range n.keys {
		d.record(n.vals[i], joinPath(path, k))
	}
	for i, item := range n.items {
		d.record(item, fmt.Sprintf("%s[%d]", path, i))
	}
}
