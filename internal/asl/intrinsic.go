package asl

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	mrand "math/rand/v2"
	"strconv"
	"strings"
)

// intrinsic is a parsed call of a States.* intrinsic function.
type intrinsic struct {
	name string
	args []intrinsicArg
}

type intrinsicArg struct {
	literal any
	raw     string // a string literal with \{ and \} kept, for States.Format
	isRaw   bool
	path    *jsonPath
	fn      *intrinsic
}

// intrinsicArity gives the minimum and maximum (-1: any) argument counts.
var intrinsicArity = map[string][2]int{
	"States.Format":         {1, -1},
	"States.StringToJson":   {1, 1},
	"States.JsonToString":   {1, 1},
	"States.Array":          {0, -1},
	"States.ArrayPartition": {2, 2},
	"States.ArrayContains":  {2, 2},
	"States.ArrayRange":     {3, 3},
	"States.ArrayGetItem":   {2, 2},
	"States.ArrayLength":    {1, 1},
	"States.ArrayUnique":    {1, 1},
	"States.Base64Encode":   {1, 1},
	"States.Base64Decode":   {1, 1},
	"States.Hash":           {2, 2},
	"States.JsonMerge":      {3, 3},
	"States.MathRandom":     {2, 3},
	"States.MathAdd":        {2, 2},
	"States.StringSplit":    {2, 2},
	"States.UUID":           {0, 0},
}

// maxIntrinsicDepth is how deeply intrinsic functions may nest.
const maxIntrinsicDepth = 10

// maxIntrinsicString is the longest string Base64Encode, Base64Decode and
// Hash accept.
const maxIntrinsicString = 10000

// parseIntrinsic parses an intrinsic function call such as
// "States.Format('{} {}', $.a, States.UUID())".
func parseIntrinsic(s string) (*intrinsic, error) {
	p := &intrinsicParser{s: s}
	fn, err := p.call(1)
	if err != nil {
		return nil, fmt.Errorf("intrinsic function %q: %w", s, err)
	}
	p.space()
	if p.pos != len(p.s) {
		return nil, fmt.Errorf("intrinsic function %q: unexpected %q after the call", s, p.s[p.pos:])
	}
	return fn, nil
}

type intrinsicParser struct {
	s   string
	pos int
}

func (p *intrinsicParser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *intrinsicParser) call(depth int) (*intrinsic, error) {
	if depth > maxIntrinsicDepth {
		return nil, fmt.Errorf("more than %d nested intrinsic functions", maxIntrinsicDepth)
	}
	open := strings.IndexByte(p.s[p.pos:], '(')
	if open < 0 {
		return nil, fmt.Errorf("not a path or an intrinsic function call")
	}
	name := strings.TrimSpace(p.s[p.pos : p.pos+open])
	arity, ok := intrinsicArity[name]
	if !ok {
		return nil, fmt.Errorf("unknown intrinsic function %q", name)
	}
	p.pos += open + 1
	fn := &intrinsic{name: name}
	p.space()
	if p.pos < len(p.s) && p.s[p.pos] == ')' {
		p.pos++
	} else {
		for {
			arg, err := p.arg(depth)
			if err != nil {
				return nil, err
			}
			fn.args = append(fn.args, arg)
			p.space()
			if p.pos >= len(p.s) {
				return nil, fmt.Errorf("%s: missing \")\"", name)
			}
			c := p.s[p.pos]
			p.pos++
			if c == ')' {
				break
			}
			if c != ',' {
				return nil, fmt.Errorf("%s: unexpected %q between arguments", name, c)
			}
		}
	}
	if n := len(fn.args); n < arity[0] || (arity[1] >= 0 && n > arity[1]) {
		return nil, fmt.Errorf("%s takes %s, got %d", name, arityText(arity), n)
	}
	return fn, nil
}

func arityText(a [2]int) string {
	switch {
	case a[1] < 0:
		return fmt.Sprintf("at least %d arguments", a[0])
	case a[0] == a[1]:
		return fmt.Sprintf("%d arguments", a[0])
	default:
		return fmt.Sprintf("%d to %d arguments", a[0], a[1])
	}
}

func (p *intrinsicParser) arg(depth int) (intrinsicArg, error) {
	p.space()
	if p.pos >= len(p.s) {
		return intrinsicArg{}, fmt.Errorf("missing argument")
	}
	rest := p.s[p.pos:]
	switch {
	case rest[0] == '\'':
		return p.stringLiteral()
	case rest[0] == '$':
		end := p.pathEnd()
		path, err := parsePath(strings.TrimSpace(p.s[p.pos:end]))
		if err != nil {
			return intrinsicArg{}, err
		}
		p.pos = end
		return intrinsicArg{path: path}, nil
	case strings.HasPrefix(rest, "States."):
		fn, err := p.call(depth + 1)
		if err != nil {
			return intrinsicArg{}, err
		}
		return intrinsicArg{fn: fn}, nil
	}
	end := p.pos
	for end < len(p.s) && p.s[end] != ',' && p.s[end] != ')' {
		end++
	}
	tok := strings.TrimSpace(p.s[p.pos:end])
	p.pos = end
	switch tok {
	case "true":
		return intrinsicArg{literal: true}, nil
	case "false":
		return intrinsicArg{literal: false}, nil
	case "null":
		return intrinsicArg{literal: nil}, nil
	}
	if i, err := strconv.ParseInt(tok, 10, 64); err == nil {
		return intrinsicArg{literal: i}, nil
	}
	if f, err := strconv.ParseFloat(tok, 64); err == nil {
		return intrinsicArg{literal: f}, nil
	}
	return intrinsicArg{}, fmt.Errorf("argument %q is not a string, number, boolean, null, path or intrinsic function", tok)
}

// pathEnd finds where a path argument ends: at a "," or ")" outside
// brackets, parentheses and quotes.
func (p *intrinsicParser) pathEnd() int {
	depth := 0
	var quote byte
	for i := p.pos; i < len(p.s); i++ {
		c := p.s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '[' || c == '(':
			depth++
		case c == ']' || (c == ')' && depth > 0):
			depth--
		case (c == ',' || c == ')') && depth == 0:
			return i
		}
	}
	return len(p.s)
}

// stringLiteral reads a single-quoted string; \' \\ \{ \} are escapes.
func (p *intrinsicParser) stringLiteral() (intrinsicArg, error) {
	var val, raw strings.Builder
	for i := p.pos + 1; i < len(p.s); i++ {
		c := p.s[i]
		switch c {
		case '\\':
			if i+1 >= len(p.s) {
				return intrinsicArg{}, fmt.Errorf("unterminated escape in string literal")
			}
			i++
			n := p.s[i]
			val.WriteByte(n)
			if n == '{' || n == '}' {
				raw.WriteByte('\\')
			}
			raw.WriteByte(n)
		case '\'':
			p.pos = i + 1
			return intrinsicArg{literal: val.String(), raw: raw.String(), isRaw: true}, nil
		default:
			val.WriteByte(c)
			raw.WriteByte(c)
		}
	}
	return intrinsicArg{}, fmt.Errorf("unterminated string literal")
}

func intrinsicError(name, format string, args ...any) *Error {
	return newError(ErrIntrinsicFailure, "%s: %s", name, fmt.Sprintf(format, args...))
}

// eval evaluates the call against the input and context object.
func (fn *intrinsic) eval(input, ctxObj any) (any, error) {
	args := make([]any, len(fn.args))
	for i, a := range fn.args {
		switch {
		case a.fn != nil:
			v, err := a.fn.eval(input, ctxObj)
			if err != nil {
				return nil, err
			}
			args[i] = v
		case a.path != nil:
			v, ok := a.path.get(input, ctxObj)
			if !ok {
				return nil, intrinsicError(fn.name, "the JSONPath %q could not be found in the input", a.path)
			}
			args[i] = v
		default:
			args[i] = a.literal
		}
	}
	switch fn.name {
	case "States.Format":
		tmpl, ok := args[0].(string)
		if !ok {
			return nil, intrinsicError(fn.name, "the template must be a string")
		}
		if fn.args[0].isRaw {
			tmpl = fn.args[0].raw
		}
		return format(tmpl, args[1:])
	case "States.StringToJson":
		s, ok := args[0].(string)
		if !ok {
			return nil, intrinsicError(fn.name, "the argument must be a string")
		}
		v, err := decodeJSON([]byte(s))
		if err != nil {
			return nil, intrinsicError(fn.name, "the argument is not JSON: %v", err)
		}
		return v, nil
	case "States.JsonToString":
		b, err := encodeJSON(args[0])
		if err != nil {
			return nil, intrinsicError(fn.name, "%v", err)
		}
		return string(b), nil
	case "States.Array":
		return deepCopy(args), nil
	case "States.ArrayPartition":
		a, ok1 := args[0].([]any)
		n, ok2 := toInt(args[1])
		if !ok1 || !ok2 || n <= 0 {
			return nil, intrinsicError(fn.name, "the arguments must be an array and a positive integer chunk size")
		}
		out := []any{}
		for i := 0; i < len(a); i += int(n) {
			out = append(out, deepCopy(a[i:min(i+int(n), len(a))]))
		}
		return out, nil
	case "States.ArrayContains":
		a, ok := args[0].([]any)
		if !ok {
			return nil, intrinsicError(fn.name, "the first argument must be an array")
		}
		for _, e := range a {
			if jsonEqual(e, args[1]) {
				return true, nil
			}
		}
		return false, nil
	case "States.ArrayRange":
		start, ok1 := toInt(args[0])
		end, ok2 := toInt(args[1])
		step, ok3 := toInt(args[2])
		if !ok1 || !ok2 || !ok3 || step == 0 {
			return nil, intrinsicError(fn.name, "the arguments must be integers and the step not zero")
		}
		out := []any{}
		for i := start; (step > 0 && i <= end) || (step < 0 && i >= end); i += step {
			if len(out) == 1000 {
				return nil, intrinsicError(fn.name, "the range has more than 1000 items")
			}
			out = append(out, i)
		}
		return out, nil
	case "States.ArrayGetItem":
		a, ok1 := args[0].([]any)
		i, ok2 := toInt(args[1])
		if !ok1 || !ok2 {
			return nil, intrinsicError(fn.name, "the arguments must be an array and an integer index")
		}
		if i < 0 || i >= int64(len(a)) {
			return nil, intrinsicError(fn.name, "index %d is out of range for an array of %d items", i, len(a))
		}
		return deepCopy(a[i]), nil
	case "States.ArrayLength":
		a, ok := args[0].([]any)
		if !ok {
			return nil, intrinsicError(fn.name, "the argument must be an array")
		}
		return int64(len(a)), nil
	case "States.ArrayUnique":
		a, ok := args[0].([]any)
		if !ok {
			return nil, intrinsicError(fn.name, "the argument must be an array")
		}
		out := []any{}
	next:
		for _, e := range a {
			for _, seen := range out {
				if jsonEqual(seen, e) {
					continue next
				}
			}
			out = append(out, deepCopy(e))
		}
		return out, nil
	case "States.Base64Encode":
		s, err := boundedString(fn.name, args[0])
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "States.Base64Decode":
		s, err := boundedString(fn.name, args[0])
		if err != nil {
			return nil, err
		}
		b, derr := base64.StdEncoding.DecodeString(s)
		if derr != nil {
			return nil, intrinsicError(fn.name, "the argument is not base64: %v", derr)
		}
		return string(b), nil
	case "States.Hash":
		s, err := boundedString(fn.name, args[0])
		if err != nil {
			return nil, err
		}
		alg, _ := args[1].(string)
		var h hash.Hash
		switch alg {
		case "MD5":
			h = md5.New()
		case "SHA-1":
			h = sha1.New()
		case "SHA-256":
			h = sha256.New()
		case "SHA-384":
			h = sha512.New384()
		case "SHA-512":
			h = sha512.New()
		default:
			return nil, intrinsicError(fn.name, "algorithm %v is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512", args[1])
		}
		h.Write([]byte(s))
		return hex.EncodeToString(h.Sum(nil)), nil
	case "States.JsonMerge":
		a, ok1 := args[0].(map[string]any)
		b, ok2 := args[1].(map[string]any)
		deep, ok3 := args[2].(bool)
		if !ok1 || !ok2 || !ok3 {
			return nil, intrinsicError(fn.name, "the arguments must be two objects and a boolean")
		}
		if deep {
			// As in AWS, which supports only the shallow mode.
			return nil, intrinsicError(fn.name, "only shallow merging is supported: the third argument must be false")
		}
		merged := deepCopy(a).(map[string]any)
		for k, v := range b {
			merged[k] = deepCopy(v)
		}
		return merged, nil
	case "States.MathRandom":
		start, ok1 := toInt(args[0])
		end, ok2 := toInt(args[1])
		if !ok1 || !ok2 || end <= start {
			return nil, intrinsicError(fn.name, "the arguments must be integers with start less than end")
		}
		var r *mrand.Rand
		if len(args) == 3 {
			seed, ok := toInt(args[2])
			if !ok {
				return nil, intrinsicError(fn.name, "the seed must be an integer")
			}
			r = mrand.New(mrand.NewPCG(uint64(seed), 0))
		} else {
			r = mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
		}
		return start + r.Int64N(end-start), nil
	case "States.MathAdd":
		a, ok1 := toInt(args[0])
		b, ok2 := toInt(args[1])
		if !ok1 || !ok2 {
			return nil, intrinsicError(fn.name, "the arguments must be integers")
		}
		return a + b, nil
	case "States.StringSplit":
		s, ok1 := args[0].(string)
		sep, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return nil, intrinsicError(fn.name, "the arguments must be strings")
		}
		out := []any{}
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(sep, r) }) {
			out = append(out, part)
		}
		return out, nil
	case "States.UUID":
		return newUUID(), nil
	}
	return nil, intrinsicError(fn.name, "unknown function")
}

func boundedString(name string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", intrinsicError(name, "the argument must be a string")
	}
	if len(s) > maxIntrinsicString {
		return "", intrinsicError(name, "the argument has more than %d characters", maxIntrinsicString)
	}
	return s, nil
}

// format fills each {} of tmpl with the next argument; \{ and \} are
// literal braces.
func format(tmpl string, args []any) (any, error) {
	var b strings.Builder
	n := 0
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		switch {
		case c == '\\' && i+1 < len(tmpl) && (tmpl[i+1] == '{' || tmpl[i+1] == '}' || tmpl[i+1] == '\\'):
			b.WriteByte(tmpl[i+1])
			i++
		case c == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}':
			if n >= len(args) {
				return nil, intrinsicError("States.Format", "the template has more {} than arguments (%d)", len(args))
			}
			switch v := args[n].(type) {
			case string:
				b.WriteString(v)
			case map[string]any, []any:
				return nil, intrinsicError("States.Format", "argument %d is an object or array; only strings, numbers, booleans and null can be formatted", n+2)
			default:
				b.WriteString(mustString(v))
			}
			n++
			i++
		default:
			b.WriteByte(c)
		}
	}
	if n != len(args) {
		return nil, intrinsicError("States.Format", "the template has %d {} for %d arguments", n, len(args))
	}
	return b.String(), nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
