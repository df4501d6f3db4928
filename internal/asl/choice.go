package asl

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// choiceRule is one rule of a Choice state: a comparison of Variable with a
// literal or with another path's value, a type test, or And/Or/Not of
// nested rules. Only top-level rules have a Next.
type choiceRule struct {
	next     string
	and, or  []*choiceRule
	not      *choiceRule
	variable *jsonPath
	op       string // the comparison operator, without the Path suffix
	operand  any    // the literal operand
	opPath   *referencePath
	pattern  *regexp.Regexp // for StringMatches
}

// choiceOperators maps each comparison operator to the operand type its
// literal form takes. A "Path" variant exists for all but StringMatches and
// the Is* tests.
var choiceOperators = map[string]string{
	"StringEquals": "string", "StringLessThan": "string", "StringGreaterThan": "string",
	"StringLessThanEquals": "string", "StringGreaterThanEquals": "string", "StringMatches": "string",
	"NumericEquals": "number", "NumericLessThan": "number", "NumericGreaterThan": "number",
	"NumericLessThanEquals": "number", "NumericGreaterThanEquals": "number",
	"BooleanEquals":   "boolean",
	"TimestampEquals": "timestamp", "TimestampLessThan": "timestamp", "TimestampGreaterThan": "timestamp",
	"TimestampLessThanEquals": "timestamp", "TimestampGreaterThanEquals": "timestamp",
	"IsNull": "boolean", "IsPresent": "boolean", "IsNumeric": "boolean", "IsString": "boolean",
	"IsBoolean": "boolean", "IsTimestamp": "boolean",
}

// parseChoiceRule checks and compiles a rule; top says whether it is a
// member of Choices (which needs Next) rather than nested in And/Or/Not.
func parseChoiceRule(raw any, where string, top bool, problems *[]string) *choiceRule {
	bad := func(format string, args ...any) {
		*problems = append(*problems, where+": "+fmt.Sprintf(format, args...))
	}
	m, ok := raw.(map[string]any)
	if !ok {
		bad("a choice rule must be an object")
		return nil
	}
	r := &choiceRule{}
	if top {
		next, ok := m["Next"].(string)
		if !ok || next == "" {
			bad("Next: required string for a rule in Choices")
		}
		r.next = next
	} else if _, ok := m["Next"]; ok {
		bad("Next: only allowed on a top-level choice rule")
	}
	var ops []string
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "Next", "Comment", "Variable":
		case "And", "Or", "Not":
			ops = append(ops, k)
		default:
			base := strings.TrimSuffix(k, "Path")
			if _, known := choiceOperators[k]; known {
				ops = append(ops, k)
			} else if _, known := choiceOperators[base]; known && base != "StringMatches" && !strings.HasPrefix(base, "Is") {
				ops = append(ops, k)
			} else {
				bad("%s: unknown field", k)
			}
		}
	}
	if len(ops) != 1 {
		bad("a choice rule needs exactly one of And, Or, Not or a comparison operator, got %d", len(ops))
		return r
	}
	op := ops[0]
	switch op {
	case "And", "Or":
		list, ok := m[op].([]any)
		if !ok || len(list) == 0 {
			bad("%s: must be a non-empty array of choice rules", op)
			return r
		}
		for i, e := range list {
			sub := parseChoiceRule(e, fmt.Sprintf("%s.%s[%d]", where, op, i), false, problems)
			if op == "And" {
				r.and = append(r.and, sub)
			} else {
				r.or = append(r.or, sub)
			}
		}
		if _, ok := m["Variable"]; ok {
			bad("Variable: not allowed with %s", op)
		}
		return r
	case "Not":
		r.not = parseChoiceRule(m["Not"], where+".Not", false, problems)
		if _, ok := m["Variable"]; ok {
			bad("Variable: not allowed with Not")
		}
		return r
	}
	vs, ok := m["Variable"].(string)
	if !ok {
		bad("Variable: required string for %s", op)
		return r
	}
	p, err := parsePath(vs)
	if err != nil {
		bad("Variable: %v", err)
	}
	r.variable = p
	if _, literal := choiceOperators[op]; !literal {
		r.op = strings.TrimSuffix(op, "Path")
		s, ok := m[op].(string)
		if !ok {
			bad("%s: must be a reference path string", op)
			return r
		}
		rp, err := parseRefPath(s)
		if err != nil {
			bad("%s: %v", op, err)
		}
		r.opPath = rp
		return r
	}
	r.op = op
	r.operand = m[op]
	switch choiceOperators[op] {
	case "string":
		s, ok := r.operand.(string)
		if !ok {
			bad("%s: must be a string", op)
		} else if op == "StringMatches" {
			r.pattern = compileMatch(s)
		}
	case "number":
		if _, ok := toFloat(r.operand); !ok {
			bad("%s: must be a number", op)
		}
	case "boolean":
		if _, ok := r.operand.(bool); !ok {
			bad("%s: must be a boolean", op)
		}
	case "timestamp":
		s, _ := r.operand.(string)
		if _, ok := parseTimestamp(s); !ok {
			bad("%s: must be an RFC 3339 timestamp such as 2026-01-02T15:04:05Z", op)
		}
	}
	return r
}

// compileMatch turns a StringMatches pattern into a regular expression: "*"
// matches any run of characters, "\*" a literal star and "\\" a backslash.
func compileMatch(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern) && (pattern[i+1] == '*' || pattern[i+1] == '\\'):
			b.WriteString(regexp.QuoteMeta(string(pattern[i+1])))
			i++
		case c == '*':
			b.WriteString(`.*`)
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String()) // every metacharacter is quoted
}

// parseTimestamp parses a timestamp as Step Functions accepts it: RFC 3339
// with an upper-case T and Z.
func parseTimestamp(s string) (time.Time, bool) {
	if strings.ContainsAny(s, "tz ") {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// eval reports whether the rule matches the input.
func (r *choiceRule) eval(input, ctxObj any) (bool, error) {
	switch {
	case r.and != nil:
		for _, sub := range r.and {
			ok, err := sub.eval(input, ctxObj)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case r.or != nil:
		for _, sub := range r.or {
			ok, err := sub.eval(input, ctxObj)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case r.not != nil:
		ok, err := r.not.eval(input, ctxObj)
		return !ok, err
	}
	v, found := r.variable.get(input, ctxObj)
	if r.op == "IsPresent" {
		return found == r.operand.(bool), nil
	}
	if !found {
		return false, newError(ErrRuntime, "invalid path %q: the choice state's condition path references an invalid value", r.variable)
	}
	operand := r.operand
	if r.opPath != nil {
		o, ok := r.opPath.get(input, ctxObj)
		if !ok {
			return false, newError(ErrRuntime, "invalid path %q: the choice state's condition path references an invalid value", r.opPath)
		}
		operand = o
	}
	return compare(r.op, v, operand, r.pattern), nil
}

// compare applies a comparison operator; values of the wrong type never match.
func compare(op string, v, operand any, pattern *regexp.Regexp) bool {
	switch op {
	case "IsNull":
		return (v == nil) == operand.(bool)
	case "IsNumeric":
		_, ok := toFloat(v)
		return ok == operand.(bool)
	case "IsString":
		_, ok := v.(string)
		return ok == operand.(bool)
	case "IsBoolean":
		_, ok := v.(bool)
		return ok == operand.(bool)
	case "IsTimestamp":
		s, _ := v.(string)
		_, ok := parseTimestamp(s)
		return ok == operand.(bool)
	case "BooleanEquals":
		a, ok1 := v.(bool)
		b, ok2 := operand.(bool)
		return ok1 && ok2 && a == b
	case "StringMatches":
		s, ok := v.(string)
		return ok && pattern.MatchString(s)
	}
	switch choiceOperators[op] {
	case "string":
		a, ok1 := v.(string)
		b, ok2 := operand.(string)
		return ok1 && ok2 && ordered(op, strings.Compare(a, b))
	case "number":
		a, ok1 := toFloat(v)
		b, ok2 := toFloat(operand)
		if !ok1 || !ok2 {
			return false
		}
		c := 0
		if a < b {
			c = -1
		} else if a > b {
			c = 1
		}
		return ordered(op, c)
	case "timestamp":
		as, _ := v.(string)
		bs, _ := operand.(string)
		a, ok1 := parseTimestamp(as)
		b, ok2 := parseTimestamp(bs)
		return ok1 && ok2 && ordered(op, a.Compare(b))
	}
	return false
}

// ordered maps a three-way comparison result onto an operator's suffix.
func ordered(op string, c int) bool {
	switch {
	case strings.HasSuffix(op, "GreaterThanEquals"):
		return c >= 0
	case strings.HasSuffix(op, "LessThanEquals"):
		return c <= 0
	case strings.HasSuffix(op, "GreaterThan"):
		return c > 0
	case strings.HasSuffix(op, "LessThan"):
		return c < 0
	default:
		return c == 0
	}
}
