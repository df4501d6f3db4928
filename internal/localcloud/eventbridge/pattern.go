package eventbridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// maxNumeric is the magnitude limit EventBridge puts on the numbers a
// numeric filter compares against.
const maxNumeric = 5e9

// PatternError says why an event pattern is not valid and where in the
// pattern the problem is.
type PatternError struct {
	Path   string // field path in the pattern, "detail.state"; empty for the whole pattern
	Reason string
}

// Error lists what is wrong.
func (e *PatternError) Error() string {
	if e.Path == "" {
		return "Event pattern is not valid. Reason: " + e.Reason
	}
	return fmt.Sprintf("Event pattern is not valid. Reason: %s: %s", e.Path, e.Reason)
}

// Pattern is a parsed and validated EventBridge event pattern.
type Pattern struct {
	root *node
}

// node is one object level of a pattern: every field must match (AND) and
// every $or group must have one alternative that matches.
type node struct {
	keys   []string // sorted field names
	fields map[string]*field
	or     []*node // alternatives of a "$or" at this level; empty if none
}

// field is what a pattern asks of one field: a nested object, or a list of
// leaf matchers of which one must match.
type field struct {
	child    *node
	matchers []matcher
}

type matchKind int

const (
	kindExact matchKind = iota
	kindPrefix
	kindSuffix
	kindEqualsIgnoreCase
	kindAnythingBut
	kindNumeric
	kindExists
	kindWildcard
	kindCIDR
)

// matcher is one element of a leaf array.
type matcher struct {
	kind matchKind

	// kindExact: the value (string, float64, bool or nil).
	value any
	// kindPrefix, kindSuffix, kindEqualsIgnoreCase, kindWildcard: the text;
	// ignoreCase for prefix and suffix given as {"equals-ignore-case": …}.
	text       string
	ignoreCase bool
	// kindExists
	exists bool
	// kindNumeric: bounds; hasLow/hasHigh say whether each applies.
	low, high         float64
	hasLow, hasHigh   bool
	lowOpen, highOpen bool // strict comparison (> or <)
	// kindCIDR
	prefix netip.Prefix
	// kindAnythingBut: the excluded values, or the excluded shapes.
	butValues []any     // strings or float64s
	butKind   matchKind // kindExact for values; kindPrefix, kindSuffix, kindEqualsIgnoreCase, kindWildcard
	butTexts  []string
}

// ParsePattern parses and validates an event pattern. Its error is a
// *PatternError naming the problem.
func ParsePattern(text string) (*Pattern, error) {
	v, err := decodeOrdered([]byte(text))
	if err != nil {
		return nil, &PatternError{Reason: err.Error()}
	}
	obj, ok := v.(*object)
	if !ok {
		return nil, &PatternError{Reason: "the pattern must be a JSON object"}
	}
	if len(obj.keys) == 0 {
		return nil, &PatternError{Reason: "the pattern must have at least one field"}
	}
	n, err := parseNode(obj, "")
	if err != nil {
		return nil, err
	}
	return &Pattern{root: n}, nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func parseNode(obj *object, path string) (*node, error) {
	n := &node{fields: map[string]*field{}}
	for _, key := range obj.keys {
		val := obj.values[key]
		p := joinPath(path, key)
		if key == "$or" {
			alts, err := parseOr(val, p)
			if err != nil {
				return nil, err
			}
			n.or = alts
			continue
		}
		switch v := val.(type) {
		case *object:
			if len(v.keys) == 0 {
				return nil, &PatternError{Path: p, Reason: "an object must have at least one field"}
			}
			child, err := parseNode(v, p)
			if err != nil {
				return nil, err
			}
			n.fields[key] = &field{child: child}
		case []any:
			ms, err := parseLeaf(v, p)
			if err != nil {
				return nil, err
			}
			n.fields[key] = &field{matchers: ms}
		default:
			return nil, &PatternError{Path: p, Reason: "match value must be an array or an object, got " + describe(val)}
		}
		n.keys = append(n.keys, key)
	}
	slices.Sort(n.keys)
	return n, nil
}

func parseOr(val any, path string) ([]*node, error) {
	arr, ok := val.([]any)
	if !ok {
		return nil, &PatternError{Path: path, Reason: "$or must be an array of objects"}
	}
	if len(arr) < 2 {
		return nil, &PatternError{Path: path, Reason: "$or must have at least two alternatives"}
	}
	alts := make([]*node, 0, len(arr))
	for i, a := range arr {
		p := fmt.Sprintf("%s[%d]", path, i)
		obj, ok := a.(*object)
		if !ok || len(obj.keys) == 0 {
			return nil, &PatternError{Path: p, Reason: "each $or alternative must be a non-empty object"}
		}
		n, err := parseNode(obj, p)
		if err != nil {
			return nil, err
		}
		alts = append(alts, n)
	}
	return alts, nil
}

func parseLeaf(arr []any, path string) ([]matcher, error) {
	if len(arr) == 0 {
		return nil, &PatternError{Path: path, Reason: "empty arrays are not allowed"}
	}
	ms := make([]matcher, 0, len(arr))
	for i, el := range arr {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch v := el.(type) {
		case nil, bool, string:
			ms = append(ms, matcher{kind: kindExact, value: v})
		case json.Number:
			f, err := number(v, p)
			if err != nil {
				return nil, err
			}
			ms = append(ms, matcher{kind: kindExact, value: f})
		case *object:
			m, err := parseOperator(v, p)
			if err != nil {
				return nil, err
			}
			ms = append(ms, m)
		default:
			return nil, &PatternError{Path: p, Reason: "match value must be a string, number, boolean, null or an operator object, got " + describe(el)}
		}
	}
	return ms, nil
}

func number(n json.Number, path string) (float64, error) {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, &PatternError{Path: path, Reason: "number " + string(n) + " is out of range"}
	}
	return f, nil
}

func parseOperator(obj *object, path string) (matcher, error) {
	if len(obj.keys) != 1 {
		return matcher{}, &PatternError{Path: path, Reason: fmt.Sprintf("an operator object must have exactly one key, got %d", len(obj.keys))}
	}
	op := obj.keys[0]
	val := obj.values[op]
	p := path + "." + op
	switch op {
	case "prefix", "suffix":
		kind := kindPrefix
		if op == "suffix" {
			kind = kindSuffix
		}
		text, ignoreCase, err := affix(val, p)
		if err != nil {
			return matcher{}, err
		}
		return matcher{kind: kind, text: text, ignoreCase: ignoreCase}, nil
	case "equals-ignore-case":
		s, ok := val.(string)
		if !ok {
			return matcher{}, &PatternError{Path: p, Reason: "equals-ignore-case must be a string, got " + describe(val)}
		}
		return matcher{kind: kindEqualsIgnoreCase, text: s}, nil
	case "wildcard":
		s, ok := val.(string)
		if !ok {
			return matcher{}, &PatternError{Path: p, Reason: "wildcard must be a string, got " + describe(val)}
		}
		if err := checkWildcard(s, p); err != nil {
			return matcher{}, err
		}
		return matcher{kind: kindWildcard, text: s}, nil
	case "exists":
		b, ok := val.(bool)
		if !ok {
			return matcher{}, &PatternError{Path: p, Reason: "exists must be true or false, got " + describe(val)}
		}
		return matcher{kind: kindExists, exists: b}, nil
	case "cidr":
		s, ok := val.(string)
		if !ok {
			return matcher{}, &PatternError{Path: p, Reason: "cidr must be a string, got " + describe(val)}
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return matcher{}, &PatternError{Path: p, Reason: fmt.Sprintf("%q is not a CIDR block", s)}
		}
		return matcher{kind: kindCIDR, prefix: pfx.Masked()}, nil
	case "numeric":
		return parseNumeric(val, p)
	case "anything-but":
		return parseAnythingBut(val, p)
	default:
		return matcher{}, &PatternError{Path: path, Reason: fmt.Sprintf("unrecognized match type %q", op)}
	}
}

// affix reads the argument of prefix or suffix: a string, or
// {"equals-ignore-case": string}.
func affix(val any, path string) (string, bool, error) {
	switch v := val.(type) {
	case string:
		return v, false, nil
	case *object:
		if len(v.keys) == 1 && v.keys[0] == "equals-ignore-case" {
			if s, ok := v.values["equals-ignore-case"].(string); ok {
				return s, true, nil
			}
		}
	}
	return "", false, &PatternError{Path: path, Reason: "value must be a string or {\"equals-ignore-case\": string}, got " + describe(val)}
}

func checkWildcard(s, path string) error {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return &PatternError{Path: path, Reason: fmt.Sprintf("invalid escape at position %d of %q: only \\* and \\\\ are allowed", i, s)}
			}
			i++
		case '*':
			if i+1 < len(s) && s[i+1] == '*' {
				return &PatternError{Path: path, Reason: fmt.Sprintf("consecutive wildcard characters at position %d of %q", i, s)}
			}
		}
	}
	return nil
}

func parseNumeric(val any, path string) (matcher, error) {
	arr, ok := val.([]any)
	if !ok || len(arr) == 0 || len(arr)%2 != 0 || len(arr) > 4 {
		return matcher{}, &PatternError{Path: path, Reason: "numeric must be an array of one or two operator-value pairs"}
	}
	m := matcher{kind: kindNumeric}
	for i := 0; i < len(arr); i += 2 {
		op, ok := arr[i].(string)
		if !ok {
			return matcher{}, &PatternError{Path: path, Reason: fmt.Sprintf("element %d must be one of =, <, <=, >, >=, got %s", i, describe(arr[i]))}
		}
		n, ok := arr[i+1].(json.Number)
		if !ok {
			return matcher{}, &PatternError{Path: path, Reason: fmt.Sprintf("value after %q must be a number, got %s", op, describe(arr[i+1]))}
		}
		f, err := number(n, path)
		if err != nil {
			return matcher{}, err
		}
		if f < -maxNumeric || f > maxNumeric {
			return matcher{}, &PatternError{Path: path, Reason: fmt.Sprintf("value %s is outside -5.0e9..5.0e9", n)}
		}
		switch op {
		case "=":
			if len(arr) != 2 {
				return matcher{}, &PatternError{Path: path, Reason: "\"=\" cannot be combined with another comparison"}
			}
			m.low, m.high, m.hasLow, m.hasHigh = f, f, true, true
		case ">", ">=":
			if m.hasLow {
				return matcher{}, &PatternError{Path: path, Reason: "more than one lower bound"}
			}
			m.low, m.hasLow, m.lowOpen = f, true, op == ">"
		case "<", "<=":
			if m.hasHigh {
				return matcher{}, &PatternError{Path: path, Reason: "more than one upper bound"}
			}
			m.high, m.hasHigh, m.highOpen = f, true, op == "<"
		default:
			return matcher{}, &PatternError{Path: path, Reason: fmt.Sprintf("unrecognized numeric operator %q", op)}
		}
	}
	if m.hasLow && m.hasHigh && (m.low > m.high || (m.low == m.high && (m.lowOpen || m.highOpen))) {
		return matcher{}, &PatternError{Path: path, Reason: "the lower bound must be below the upper bound"}
	}
	return m, nil
}

func parseAnythingBut(val any, path string) (matcher, error) {
	m := matcher{kind: kindAnythingBut, butKind: kindExact}
	switch v := val.(type) {
	case string:
		m.butValues = []any{v}
	case json.Number:
		f, err := number(v, path)
		if err != nil {
			return matcher{}, err
		}
		m.butValues = []any{f}
	case []any:
		if len(v) == 0 {
			return matcher{}, &PatternError{Path: path, Reason: "anything-but list must not be empty"}
		}
		var strs, nums int
		for _, el := range v {
			switch e := el.(type) {
			case string:
				strs++
				m.butValues = append(m.butValues, e)
			case json.Number:
				nums++
				f, err := number(e, path)
				if err != nil {
					return matcher{}, err
				}
				m.butValues = append(m.butValues, f)
			default:
				return matcher{}, &PatternError{Path: path, Reason: "anything-but list may hold only strings or only numbers, got " + describe(el)}
			}
		}
		if strs > 0 && nums > 0 {
			return matcher{}, &PatternError{Path: path, Reason: "anything-but list may hold only strings or only numbers, not both"}
		}
	case *object:
		if len(v.keys) != 1 {
			return matcher{}, &PatternError{Path: path, Reason: "anything-but object must have exactly one of prefix, suffix, equals-ignore-case, wildcard"}
		}
		op := v.keys[0]
		p := path + "." + op
		switch op {
		case "prefix":
			m.butKind = kindPrefix
		case "suffix":
			m.butKind = kindSuffix
		case "equals-ignore-case":
			m.butKind = kindEqualsIgnoreCase
		case "wildcard":
			m.butKind = kindWildcard
		default:
			return matcher{}, &PatternError{Path: path, Reason: fmt.Sprintf("unsupported anything-but operator %q", op)}
		}
		texts, err := stringOrList(v.values[op], p)
		if err != nil {
			return matcher{}, err
		}
		for _, t := range texts {
			if m.butKind == kindWildcard {
				if err := checkWildcard(t, p); err != nil {
					return matcher{}, err
				}
			}
			if (m.butKind == kindPrefix || m.butKind == kindSuffix) && t == "" {
				return matcher{}, &PatternError{Path: p, Reason: "value must not be empty"}
			}
		}
		m.butTexts = texts
	default:
		return matcher{}, &PatternError{Path: path, Reason: "anything-but must be a string, a number, a list of them, or an operator object, got " + describe(val)}
	}
	return m, nil
}

func stringOrList(val any, path string) ([]string, error) {
	switch v := val.(type) {
	case string:
		return []string{v}, nil
	case []any:
		if len(v) == 0 {
			return nil, &PatternError{Path: path, Reason: "list must not be empty"}
		}
		out := make([]string, 0, len(v))
		for _, el := range v {
			s, ok := el.(string)
			if !ok {
				return nil, &PatternError{Path: path, Reason: "list may hold only strings, got " + describe(el)}
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, &PatternError{Path: path, Reason: "value must be a string or a list of strings, got " + describe(val)}
}

func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case string:
		return strconv.Quote(v)
	case json.Number:
		return string(v)
	case []any:
		return "an array"
	case *object:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// MatchesJSON reports whether the JSON event matches the pattern. An event
// that is not a JSON object matches nothing.
func (p *Pattern) MatchesJSON(event []byte) bool {
	v, err := decodeEvent(event)
	if err != nil {
		return false
	}
	return p.Matches(v)
}

// Matches reports whether an event, decoded with json.Decoder.UseNumber
// (objects as map[string]any), matches the pattern.
func (p *Pattern) Matches(event any) bool {
	if _, ok := event.(map[string]any); !ok {
		return false
	}
	return matchNode(p.root, event, true)
}

func decodeEvent(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

// matchNode matches an object level. present is false when the event has
// no value here at all; only exists:false fields can match then. An array
// of objects matches when one of its elements matches as a whole.
func matchNode(n *node, v any, present bool) bool {
	if arr, ok := v.([]any); ok && present {
		for _, el := range arr {
			if matchNode(n, el, true) {
				return true
			}
		}
		return false
	}
	obj, _ := v.(map[string]any)
	if !present {
		obj = nil
	}
	for _, k := range n.keys {
		f := n.fields[k]
		fv, ok := obj[k]
		if f.child != nil {
			if !matchNode(f.child, fv, ok) {
				return false
			}
			continue
		}
		if !matchLeaf(f.matchers, fv, ok) {
			return false
		}
	}
	if len(n.or) > 0 {
		for _, alt := range n.or {
			if matchNode(alt, v, present) {
				return true
			}
		}
		return false
	}
	return true
}

func matchLeaf(ms []matcher, v any, present bool) bool {
	// Only leaf values count as existing: a missing field, an empty array
	// or an object here does not.
	var values []any
	switch x := v.(type) {
	case []any:
		for _, el := range x {
			switch el.(type) {
			case []any, map[string]any:
			default:
				values = append(values, el)
			}
		}
	case map[string]any:
	default:
		if present {
			values = []any{v}
		}
	}
	for i := range ms {
		m := &ms[i]
		if m.kind == kindExists {
			if m.exists == (len(values) > 0) {
				return true
			}
			continue
		}
		for _, val := range values {
			if m.match(val) {
				return true
			}
		}
	}
	return false
}

// match matches one scalar event value (string, json.Number, bool or nil).
func (m *matcher) match(v any) bool {
	switch m.kind {
	case kindExact:
		return equalValue(m.value, v)
	case kindPrefix, kindSuffix, kindEqualsIgnoreCase, kindWildcard:
		s, ok := v.(string)
		return ok && textMatch(m.kind, m.text, m.ignoreCase, s)
	case kindNumeric:
		f, ok := eventNumber(v)
		if !ok {
			return false
		}
		if m.hasLow && (f < m.low || (m.lowOpen && f == m.low)) {
			return false
		}
		if m.hasHigh && (f > m.high || (m.highOpen && f == m.high)) {
			return false
		}
		return true
	case kindCIDR:
		s, ok := v.(string)
		if !ok {
			return false
		}
		addr, err := netip.ParseAddr(s)
		return err == nil && m.prefix.Contains(addr.Unmap())
	case kindAnythingBut:
		if m.butKind == kindExact {
			for _, b := range m.butValues {
				if equalValue(b, v) {
					return false
				}
			}
			return true
		}
		s, ok := v.(string)
		if !ok {
			return true
		}
		for _, t := range m.butTexts {
			if textMatch(m.butKind, t, m.butKind == kindEqualsIgnoreCase, s) {
				return false
			}
		}
		return true
	}
	return false
}

func textMatch(kind matchKind, text string, ignoreCase bool, s string) bool {
	switch kind {
	case kindPrefix:
		if ignoreCase {
			return strings.HasPrefix(strings.ToLower(s), strings.ToLower(text))
		}
		return strings.HasPrefix(s, text)
	case kindSuffix:
		if ignoreCase {
			return strings.HasSuffix(strings.ToLower(s), strings.ToLower(text))
		}
		return strings.HasSuffix(s, text)
	case kindEqualsIgnoreCase:
		return strings.EqualFold(s, text)
	case kindWildcard:
		return wildcardMatch(text, s)
	}
	return false
}

// wildcardMatch matches s against a validated wildcard pattern where *
// stands for any run of characters and \* and \\ for themselves.
func wildcardMatch(pattern, s string) bool {
	// Split the pattern into literal segments around unescaped stars.
	var segs []string
	var cur strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern):
			cur.WriteByte(pattern[i+1])
			i++
		case c == '*':
			segs = append(segs, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	segs = append(segs, cur.String())
	if len(segs) == 1 {
		return s == segs[0]
	}
	if !strings.HasPrefix(s, segs[0]) {
		return false
	}
	s = s[len(segs[0]):]
	last := segs[len(segs)-1]
	for _, seg := range segs[1 : len(segs)-1] {
		i := strings.Index(s, seg)
		if i < 0 {
			return false
		}
		s = s[i+len(seg):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}

func eventNumber(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return f, err == nil
}

// equalValue compares a pattern value (string, float64, bool, nil) with an
// event value; numbers compare by value, so 300 matches 3e2.
func equalValue(p, v any) bool {
	switch pv := p.(type) {
	case nil:
		return v == nil
	case bool:
		b, ok := v.(bool)
		return ok && b == pv
	case string:
		s, ok := v.(string)
		return ok && s == pv
	case float64:
		f, ok := eventNumber(v)
		return ok && f == pv
	}
	return false
}

// object is a JSON object that keeps its key order and rejects duplicate
// keys, which a plain map would silently merge.
type object struct {
	keys   []string
	values map[string]any
}

// decodeOrdered decodes one JSON value into nil, bool, string, json.Number,
// []any and *object.
func decodeOrdered(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	v, err := decodeValue(d, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

// maxDepth bounds nesting so a hostile pattern cannot exhaust the stack.
const maxDepth = 100

func decodeValue(d *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("the pattern is nested too deeply")
	}
	tok, err := d.Token()
	if err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := &object{values: map[string]any{}}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, fmt.Errorf("malformed JSON: %w", err)
				}
				key, ok := kt.(string)
				if !ok {
					return nil, errors.New("malformed JSON: object key is not a string")
				}
				if _, dup := obj.values[key]; dup {
					return nil, fmt.Errorf("duplicate field %q", key)
				}
				v, err := decodeValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				obj.keys = append(obj.keys, key)
				obj.values[key] = v
			}
			if _, err := d.Token(); err != nil {
				return nil, fmt.Errorf("malformed JSON: %w", err)
			}
			return obj, nil
		case '[':
			arr := []any{}
			for d.More() {
				v, err := decodeValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := d.Token(); err != nil {
				return nil, fmt.Errorf("malformed JSON: %w", err)
			}
			return arr, nil
		}
		return nil, fmt.Errorf("malformed JSON: unexpected %v", t)
	default:
		return t, nil
	}
}
