package cloudwatch

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Metric math: the subset of CloudWatch's expression language the local
// endpoint evaluates, for GetMetricData and for alarms on an expression:
// numbers, the ids of other queries, + - * / with parentheses and unary
// minus, arrays [a, b], METRICS() (every MetricStat query), and the
// functions SUM, AVG, MIN, MAX (of an array: a time series of the
// per-timestamp results; of one time series: a scalar) and ABS.

// timeSeries maps a period's start to its value.
type timeSeries map[time.Time]float64

// mathValue is what an expression evaluates to: a scalar, a time series or
// an array of time series.
type mathValue struct {
	scalar *float64
	series timeSeries
	array  []timeSeries
}

// mathEnv resolves query ids while an expression is evaluated.
type mathEnv struct {
	stats    []string // ids of the MetricStat queries, in query order
	resolve  func(id string) (timeSeries, error)
	maxDepth int
}

type mathNode interface {
	eval(env *mathEnv, depth int) (mathValue, error)
}

type numberNode float64

type idNode string

type arrayNode []mathNode

type callNode struct {
	fn   string
	args []mathNode
}

type binaryNode struct {
	op          byte
	left, right mathNode
}

type negNode struct{ x mathNode }

// parseExpression parses an expression, reporting the first error with its
// position.
func parseExpression(s string) (mathNode, error) {
	if len(s) > maxExprLength {
		return nil, fmt.Errorf("longer than %d characters", maxExprLength)
	}
	p := &exprParser{src: s}
	p.next()
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if p.tok != "" {
		return nil, fmt.Errorf("unexpected %q at position %d", p.tok, p.pos)
	}
	return n, nil
}

type exprParser struct {
	src      string
	off, pos int
	tok      string
	isNum    bool
	isIdent  bool
}

// next reads the next token into p.tok ("" at the end).
func (p *exprParser) next() {
	for p.off < len(p.src) && unicode.IsSpace(rune(p.src[p.off])) {
		p.off++
	}
	p.pos, p.isNum, p.isIdent = p.off, false, false
	if p.off >= len(p.src) {
		p.tok = ""
		return
	}
	c := p.src[p.off]
	switch {
	case c >= '0' && c <= '9' || c == '.':
		end := p.off
		for end < len(p.src) && (p.src[end] >= '0' && p.src[end] <= '9' || p.src[end] == '.' || p.src[end] == 'e' || p.src[end] == 'E' ||
			(p.src[end] == '-' || p.src[end] == '+') && end > p.off && (p.src[end-1] == 'e' || p.src[end-1] == 'E')) {
			end++
		}
		p.tok, p.isNum, p.off = p.src[p.off:end], true, end
	case c == '_' || unicode.IsLetter(rune(c)):
		end := p.off
		for end < len(p.src) && (p.src[end] == '_' || unicode.IsLetter(rune(p.src[end])) || unicode.IsDigit(rune(p.src[end]))) {
			end++
		}
		p.tok, p.isIdent, p.off = p.src[p.off:end], true, end
	default:
		p.tok, p.off = string(c), p.off+1
	}
}

const (
	maxExprDepth  = 50
	maxExprLength = 2048 // as CloudWatch limits expressions
)

func (p *exprParser) expect(tok string) error {
	if p.tok != tok {
		return fmt.Errorf("expected %q at position %d, found %q", tok, p.pos, p.tok)
	}
	p.next()
	return nil
}

func (p *exprParser) expr(depth int) (mathNode, error) {
	if depth > maxExprDepth {
		return nil, fmt.Errorf("expression nested too deeply")
	}
	left, err := p.term(depth)
	for err == nil && (p.tok == "+" || p.tok == "-") {
		op := p.tok[0]
		p.next()
		var right mathNode
		right, err = p.term(depth)
		left = binaryNode{op, left, right}
	}
	return left, err
}

func (p *exprParser) term(depth int) (mathNode, error) {
	left, err := p.unary(depth)
	for err == nil && (p.tok == "*" || p.tok == "/") {
		op := p.tok[0]
		p.next()
		var right mathNode
		right, err = p.unary(depth)
		left = binaryNode{op, left, right}
	}
	return left, err
}

func (p *exprParser) unary(depth int) (mathNode, error) {
	if depth > maxExprDepth {
		return nil, fmt.Errorf("expression nested too deeply")
	}
	if p.tok == "-" {
		p.next()
		x, err := p.unary(depth + 1)
		return negNode{x}, err
	}
	return p.primary(depth)
}

func (p *exprParser) primary(depth int) (mathNode, error) {
	switch {
	case p.isNum:
		f, err := strconv.ParseFloat(p.tok, 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("invalid number %q at position %d", p.tok, p.pos)
		}
		p.next()
		return numberNode(f), nil
	case p.isIdent:
		name := p.tok
		p.next()
		if p.tok != "(" {
			return idNode(name), nil
		}
		p.next()
		args, err := p.list(")", depth)
		if err != nil {
			return nil, err
		}
		return callNode{strings.ToUpper(name), args}, nil
	case p.tok == "(":
		p.next()
		n, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		return n, p.expect(")")
	case p.tok == "[":
		p.next()
		args, err := p.list("]", depth)
		return arrayNode(args), err
	case p.tok == "":
		return nil, fmt.Errorf("unexpected end of the expression")
	}
	return nil, fmt.Errorf("unexpected %q at position %d", p.tok, p.pos)
}

// list reads comma-separated expressions up to the closing token.
func (p *exprParser) list(closing string, depth int) ([]mathNode, error) {
	var out []mathNode
	if p.tok == closing {
		p.next()
		return out, nil
	}
	for {
		n, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		if p.tok == "," {
			p.next()
			continue
		}
		return out, p.expect(closing)
	}
}

func (n numberNode) eval(*mathEnv, int) (mathValue, error) {
	f := float64(n)
	return mathValue{scalar: &f}, nil
}

func (n idNode) eval(env *mathEnv, _ int) (mathValue, error) {
	ts, err := env.resolve(string(n))
	return mathValue{series: ts}, err
}

func (n arrayNode) eval(env *mathEnv, depth int) (mathValue, error) {
	var out []timeSeries
	for _, e := range n {
		v, err := e.eval(env, depth+1)
		if err != nil {
			return mathValue{}, err
		}
		switch {
		case v.series != nil:
			out = append(out, v.series)
		case v.array != nil:
			out = append(out, v.array...)
		default:
			return mathValue{}, fmt.Errorf("an array holds time series, not scalars")
		}
	}
	return mathValue{array: out}, nil
}

func (n negNode) eval(env *mathEnv, depth int) (mathValue, error) {
	v, err := n.x.eval(env, depth+1)
	if err != nil {
		return mathValue{}, err
	}
	return mapValue(v, func(f float64) (float64, bool) { return -f, true }), nil
}

func (n callNode) eval(env *mathEnv, depth int) (mathValue, error) {
	if n.fn == "METRICS" {
		if len(n.args) != 0 {
			return mathValue{}, fmt.Errorf("METRICS with a filter is not supported")
		}
		out := []timeSeries{}
		for _, id := range env.stats {
			ts, err := env.resolve(id)
			if err != nil {
				return mathValue{}, err
			}
			out = append(out, ts)
		}
		return mathValue{array: out}, nil
	}
	if len(n.args) != 1 {
		return mathValue{}, fmt.Errorf("%s takes one argument", n.fn)
	}
	arg, err := n.args[0].eval(env, depth+1)
	if err != nil {
		return mathValue{}, err
	}
	if n.fn == "ABS" {
		return mapValue(arg, func(f float64) (float64, bool) { return math.Abs(f), true }), nil
	}
	reduce, ok := reducer(n.fn)
	if !ok {
		return mathValue{}, fmt.Errorf("unsupported function %s (SUM, AVG, MIN, MAX, ABS, METRICS are)", n.fn)
	}
	switch {
	case arg.scalar != nil:
		return arg, nil
	case arg.series != nil:
		if len(arg.series) == 0 {
			return mathValue{series: timeSeries{}}, nil // no data, no value
		}
		f := reduce(slices.Collect(maps.Values(arg.series)))
		return mathValue{scalar: &f}, nil
	}
	out := timeSeries{}
	for t := range unionTimes(arg.array) {
		var vals []float64
		for _, ts := range arg.array {
			if v, ok := ts[t]; ok {
				vals = append(vals, v)
			}
		}
		out[t] = reduce(vals)
	}
	return mathValue{series: out}, nil
}

// reducer returns the function that folds values for SUM, AVG, MIN, MAX.
func reducer(name string) (func([]float64) float64, bool) {
	switch name {
	case "SUM":
		return sum, true
	case "AVG":
		return func(v []float64) float64 { return sum(v) / float64(len(v)) }, true
	case "MIN":
		return slices.Min[[]float64], true
	case "MAX":
		return slices.Max[[]float64], true
	}
	return nil, false
}

func sum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

func unionTimes(arr []timeSeries) map[time.Time]bool {
	out := map[time.Time]bool{}
	for _, ts := range arr {
		for t := range ts {
			out[t] = true
		}
	}
	return out
}

// mapValue applies f to every value; a false ok drops the point.
func mapValue(v mathValue, f func(float64) (float64, bool)) mathValue {
	apply := func(ts timeSeries) timeSeries {
		out := timeSeries{}
		for t, x := range ts {
			if y, ok := f(x); ok {
				out[t] = y
			}
		}
		return out
	}
	switch {
	case v.scalar != nil:
		y, _ := f(*v.scalar)
		return mathValue{scalar: &y}
	case v.series != nil:
		return mathValue{series: apply(v.series)}
	}
	out := make([]timeSeries, len(v.array))
	for i, ts := range v.array {
		out[i] = apply(ts)
	}
	return mathValue{array: out}
}

func (n binaryNode) eval(env *mathEnv, depth int) (mathValue, error) {
	l, err := n.left.eval(env, depth+1)
	if err != nil {
		return mathValue{}, err
	}
	r, err := n.right.eval(env, depth+1)
	if err != nil {
		return mathValue{}, err
	}
	op := func(a, b float64) (float64, bool) {
		switch n.op {
		case '+':
			return a + b, true
		case '-':
			return a - b, true
		case '*':
			return a * b, true
		}
		if b == 0 {
			return 0, false // CloudWatch drops the points it cannot divide
		}
		return a / b, true
	}
	switch {
	case l.scalar != nil && r.scalar != nil:
		v, ok := op(*l.scalar, *r.scalar)
		if !ok {
			return mathValue{}, fmt.Errorf("division by zero")
		}
		return mathValue{scalar: &v}, nil
	case r.scalar != nil:
		return mapValue(l, func(a float64) (float64, bool) { return op(a, *r.scalar) }), nil
	case l.scalar != nil:
		return mapValue(r, func(b float64) (float64, bool) { return op(*l.scalar, b) }), nil
	case l.series != nil && r.series != nil:
		out := timeSeries{}
		for t, a := range l.series {
			if b, ok := r.series[t]; ok {
				if v, ok := op(a, b); ok {
					out[t] = v
				}
			}
		}
		return mathValue{series: out}, nil
	}
	return mathValue{}, fmt.Errorf("arithmetic between arrays of time series is not supported")
}

// evalQueriesLocked computes the time series of every query (MetricStat
// queries aggregated over [start, end), expressions evaluated on them). An
// expression naming a missing id, a cycle or a malformed expression is an
// InvalidParameterValue naming the query.
func (s *Service) evalQueriesLocked(queries []metricDataQuery, start, end time.Time) (map[string]timeSeries, error) {
	byID := map[string]*metricDataQuery{}
	env := &mathEnv{}
	for i := range queries {
		q := &queries[i]
		byID[q.Id] = q
		if q.MetricStat != nil {
			env.stats = append(env.stats, q.Id)
		}
	}
	done := map[string]timeSeries{}
	visiting := map[string]bool{}
	env.resolve = func(id string) (timeSeries, error) {
		if ts, ok := done[id]; ok {
			return ts, nil
		}
		q, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("unknown metric id %s", id)
		}
		if visiting[id] {
			return nil, fmt.Errorf("the expression of %s refers to itself", id)
		}
		visiting[id] = true
		defer delete(visiting, id)
		ts := timeSeries{}
		if ms := q.MetricStat; ms != nil {
			for _, a := range s.aggregateLocked(ms.Metric.Namespace, ms.Metric.MetricName, ms.Metric.Dimensions, ms.Unit, start, end, time.Duration(ms.Period)*time.Second) {
				if v, ok := a.stat(ms.Stat); ok {
					ts[a.start] = v
				}
			}
		} else {
			n, err := parseExpression(q.Expression)
			if err != nil {
				return nil, fmt.Errorf("expression of %s: %w", id, err)
			}
			v, err := n.eval(env, 0)
			if err != nil {
				return nil, fmt.Errorf("expression of %s: %w", id, err)
			}
			if v.series == nil {
				return nil, fmt.Errorf("the expression of %s must return a single time series", id)
			}
			ts = v.series
		}
		done[id] = ts
		return ts, nil
	}
	out := map[string]timeSeries{}
	for _, q := range queries {
		ts, err := env.resolve(q.Id)
		if err != nil {
			return nil, invalidParameter("MetricDataQueries: %v", err)
		}
		out[q.Id] = ts
	}
	return out, nil
}

// exprRefs returns the query ids an expression names; METRICS() names
// every MetricStat query, which cannot form a cycle.
func exprRefs(n mathNode) []string {
	switch x := n.(type) {
	case idNode:
		return []string{string(x)}
	case arrayNode:
		var out []string
		for _, e := range x {
			out = append(out, exprRefs(e)...)
		}
		return out
	case callNode:
		var out []string
		for _, e := range x.args {
			out = append(out, exprRefs(e)...)
		}
		return out
	case binaryNode:
		return append(exprRefs(x.left), exprRefs(x.right)...)
	case negNode:
		return exprRefs(x.x)
	}
	return nil
}
