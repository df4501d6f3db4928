package asl

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Definition is a parsed and validated state machine definition.
type Definition struct {
	// Comment is the definition's top-level Comment.
	Comment string
	// Timeout is the execution's TimeoutSeconds; zero means none.
	Timeout time.Duration
	top     *machine
}

// machine is a list of states with its start: the top level, a Parallel
// branch or a Map's item processor.
type machine struct {
	startAt string
	states  map[string]*state
}

// optPath is an InputPath, OutputPath or ItemsPath: absent means "$", JSON
// null means "no data" ({}).
type optPath struct {
	path   *jsonPath
	isNull bool
}

// state is one parsed state; which fields are set depends on its type.
type state struct {
	name, typ string
	next      string
	end       bool

	inputPath, outputPath optPath
	parameters            *template
	resultSelector        *template
	resultPath            *referencePath // nil with resultNull: discard the result
	resultNull            bool
	result                any
	hasResult             bool

	resource                   string
	timeout, heartbeat         int64
	timeoutPath, heartbeatPath *referencePath
	retry                      []*retrier
	catch                      []*catcher

	choices     []*choiceRule
	defaultNext string

	seconds       int64
	hasSeconds    bool
	secondsPath   *referencePath
	timestamp     time.Time
	hasTimestamp  bool
	timestampPath *referencePath

	errorName, cause     string
	errorPath, causePath *referencePath

	branches           []*machine
	processor          *machine
	itemsPath          *referencePath
	itemSelector       *template
	maxConcurrency     int64
	maxConcurrencyPath *referencePath
}

type retrier struct {
	errorEquals []string
	interval    time.Duration
	maxAttempts int
	backoffRate float64
	maxDelay    time.Duration
	jitterFull  bool
}

type catcher struct {
	errorEquals []string
	next        string
	resultPath  *referencePath
	resultNull  bool
}

// ValidationError lists every problem found in a definition, each with the
// path of the field at fault.
type ValidationError struct {
	Problems []string
}

// Error lists the problems, one per line.
func (e *ValidationError) Error() string {
	return "invalid state machine definition:\n  " + strings.Join(e.Problems, "\n  ")
}

// Parse parses and validates an Amazon States Language definition. A
// definition that is not valid yields a *ValidationError listing every
// problem. Definitions using the JSONata query language are rejected: only
// JSONPath is supported so far.
func Parse(data []byte) (*Definition, error) {
	raw, err := decodeJSON(data)
	if err != nil {
		return nil, &ValidationError{Problems: []string{fmt.Sprintf("definition is not JSON: %v", err)}}
	}
	p := &parser{}
	top, ok := raw.(map[string]any)
	if !ok {
		return nil, &ValidationError{Problems: []string{"definition must be a JSON object"}}
	}
	d := &Definition{}
	o := p.object(top, "", "Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage")
	d.Comment = o.str("Comment")
	o.queryLanguage()
	if v := o.str("Version"); v != "" && v != "1.0" {
		p.bad("Version", "must be \"1.0\"")
	}
	if o.has("TimeoutSeconds") {
		d.Timeout = time.Duration(o.positiveInt("TimeoutSeconds")) * time.Second
	}
	d.top = p.machine(top, "")
	if len(p.problems) > 0 {
		return nil, &ValidationError{Problems: p.problems}
	}
	return d, nil
}

type parser struct {
	problems []string
}

func (p *parser) bad(where, format string, args ...any) {
	p.problems = append(p.problems, where+": "+fmt.Sprintf(format, args...))
}

// object reads the fields of one JSON object, reporting unknown ones.
type object struct {
	p     *parser
	m     map[string]any
	where string
}

func join(where, field string) string {
	if where == "" {
		return field
	}
	return where + "." + field
}

func (p *parser) object(m map[string]any, where string, allowed ...string) *object {
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	var unknown []string
	for k := range m {
		if !ok[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		p.bad(join(where, k), "unknown field%s", unsupportedHint(k))
	}
	return &object{p: p, m: m, where: where}
}

// unsupportedHint explains fields that exist in AWS but are not supported.
func unsupportedHint(field string) string {
	switch field {
	case "Arguments", "Output", "Assign":
		return " (JSONata and workflow variables are not supported yet)"
	case "ItemReader", "ItemBatcher", "ResultWriter", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath",
		"ToleratedFailureCount", "ToleratedFailureCountPath", "Label":
		return " (distributed Map is not supported yet)"
	}
	return ""
}

func (o *object) has(k string) bool { _, ok := o.m[k]; return ok }

func (o *object) isNull(k string) bool { v, ok := o.m[k]; return ok && v == nil }

func (o *object) at(k string) string { return join(o.where, k) }

func (o *object) str(k string) string {
	v, ok := o.m[k]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		o.p.bad(o.at(k), "must be a string")
	}
	return s
}

func (o *object) requiredStr(k string) string {
	if !o.has(k) {
		o.p.bad(o.at(k), "required")
		return ""
	}
	s := o.str(k)
	if s == "" && o.has(k) {
		if _, isStr := o.m[k].(string); isStr {
			o.p.bad(o.at(k), "must not be empty")
		}
	}
	return s
}

func (o *object) boolean(k string) bool {
	v, ok := o.m[k]
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		o.p.bad(o.at(k), "must be a boolean")
	}
	return b
}

func (o *object) integer(k string, min int64) int64 {
	v, ok := o.m[k]
	if !ok {
		return 0
	}
	i, ok := v.(int64)
	if !ok || i < min {
		o.p.bad(o.at(k), "must be an integer of at least %d", min)
		return 0
	}
	return i
}

func (o *object) positiveInt(k string) int64 { return o.integer(k, 1) }

func (o *object) path(k string) optPath {
	if !o.has(k) {
		return optPath{}
	}
	if o.isNull(k) {
		return optPath{isNull: true}
	}
	s := o.str(k)
	p, err := parsePath(s)
	if err != nil {
		o.p.bad(o.at(k), "%v", err)
	}
	return optPath{path: p}
}

func (o *object) refPath(k string) *referencePath {
	if !o.has(k) {
		return nil
	}
	s := o.str(k)
	p, err := parseRefPath(s)
	if err != nil {
		o.p.bad(o.at(k), "%v", err)
	}
	return p
}

func (o *object) template(k string) *template {
	v, ok := o.m[k]
	if !ok {
		return nil
	}
	if _, isObj := v.(map[string]any); !isObj && k != "Parameters" {
		o.p.bad(o.at(k), "must be a JSON object")
		return nil
	}
	t, problems := compileTemplate(v, o.at(k))
	o.p.problems = append(o.p.problems, problems...)
	return t
}

func (o *object) queryLanguage() {
	if !o.has("QueryLanguage") {
		return
	}
	switch ql := o.str("QueryLanguage"); ql {
	case "JSONPath":
	case "JSONata":
		o.p.bad(o.at("QueryLanguage"), "JSONata is not supported yet; use JSONPath (the default)")
	default:
		o.p.bad(o.at("QueryLanguage"), "must be JSONPath or JSONata, got %q", ql)
	}
}

// machine parses StartAt and States of the top level, a branch or a Map
// item processor.
func (p *parser) machine(m map[string]any, where string) *machine {
	mc := &machine{states: map[string]*state{}}
	o := &object{p: p, m: m, where: where}
	mc.startAt = o.requiredStr("StartAt")
	statesRaw, ok := m["States"].(map[string]any)
	if !ok || len(statesRaw) == 0 {
		p.bad(join(where, "States"), "required non-empty object")
		return mc
	}
	names := make([]string, 0, len(statesRaw))
	for name := range statesRaw {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		swhere := join(where, "States."+name)
		if len(name) > 80 {
			p.bad(swhere, "state names must be at most 80 characters")
		}
		sm, ok := statesRaw[name].(map[string]any)
		if !ok {
			p.bad(swhere, "a state must be a JSON object")
			continue
		}
		mc.states[name] = p.state(name, sm, swhere)
	}
	if mc.startAt != "" && mc.states[mc.startAt] == nil {
		p.bad(join(where, "StartAt"), "state %q does not exist", mc.startAt)
	}
	p.checkTransitions(mc, where, names)
	return mc
}

// checkTransitions reports transitions to missing states and states that
// cannot be reached from StartAt.
func (p *parser) checkTransitions(mc *machine, where string, names []string) {
	reached := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		s := mc.states[name]
		if s == nil || reached[name] {
			return
		}
		reached[name] = true
		for _, n := range s.targets() {
			visit(n)
		}
	}
	visit(mc.startAt)
	for _, name := range names {
		s := mc.states[name]
		if s == nil {
			continue
		}
		for _, n := range s.targets() {
			if mc.states[n] == nil {
				p.bad(join(where, "States."+name), "transition to state %q, which does not exist", n)
			}
		}
		if mc.states[mc.startAt] != nil && !reached[name] {
			p.bad(join(where, "States."+name), "state is not reachable from StartAt")
		}
	}
}

// targets lists the states a state can transition to.
func (s *state) targets() []string {
	var t []string
	if s.next != "" {
		t = append(t, s.next)
	}
	for _, c := range s.choices {
		if c != nil && c.next != "" {
			t = append(t, c.next)
		}
	}
	if s.defaultNext != "" {
		t = append(t, s.defaultNext)
	}
	for _, c := range s.catch {
		if c.next != "" {
			t = append(t, c.next)
		}
	}
	return t
}

var stateFields = map[string][]string{
	"Pass":     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "Result"},
	"Task":     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Retry", "Catch", "Credentials"},
	"Choice":   {"InputPath", "OutputPath", "Choices", "Default"},
	"Wait":     {"Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
	"Succeed":  {"InputPath", "OutputPath"},
	"Fail":     {"Error", "ErrorPath", "Cause", "CausePath"},
	"Parallel": {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Branches", "Retry", "Catch"},
	"Map":      {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "ItemProcessor", "Iterator", "ItemsPath", "ItemSelector", "MaxConcurrency", "MaxConcurrencyPath", "Retry", "Catch"},
}

func (p *parser) state(name string, m map[string]any, where string) *state {
	s := &state{name: name}
	typ, _ := m["Type"].(string)
	allowed, ok := stateFields[typ]
	if !ok {
		p.bad(join(where, "Type"), "must be one of Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map; got %v", m["Type"])
		return s
	}
	s.typ = typ
	o := p.object(m, where, append([]string{"Type", "Comment", "QueryLanguage"}, allowed...)...)
	o.str("Comment")
	o.queryLanguage()

	// Transitions.
	s.next = o.str("Next")
	s.end = o.boolean("End")
	switch typ {
	case "Choice", "Succeed", "Fail":
	default:
		if (s.next == "") == !s.end {
			p.bad(where, "exactly one of Next or \"End\": true is required")
		}
	}

	s.inputPath = o.path("InputPath")
	s.outputPath = o.path("OutputPath")
	if o.has("ResultPath") {
		if o.isNull("ResultPath") {
			s.resultNull = true
		} else {
			s.resultPath = o.refPath("ResultPath")
		}
	}
	s.parameters = o.template("Parameters")
	s.resultSelector = o.template("ResultSelector")

	switch typ {
	case "Pass":
		s.result, s.hasResult = m["Result"]
	case "Task":
		s.resource = o.requiredStr("Resource")
		p.timeouts(s, o)
		s.retry = p.retriers(o)
		s.catch = p.catchers(o)
	case "Choice":
		list, ok := m["Choices"].([]any)
		if !ok || len(list) == 0 {
			p.bad(o.at("Choices"), "required non-empty array of choice rules")
		}
		for i, r := range list {
			s.choices = append(s.choices, parseChoiceRule(r, fmt.Sprintf("%s[%d]", o.at("Choices"), i), true, &p.problems))
		}
		s.defaultNext = o.str("Default")
	case "Wait":
		n := 0
		for _, k := range []string{"Seconds", "SecondsPath", "Timestamp", "TimestampPath"} {
			if o.has(k) {
				n++
			}
		}
		if n != 1 {
			p.bad(where, "exactly one of Seconds, SecondsPath, Timestamp or TimestampPath is required")
		}
		if o.has("Seconds") {
			s.seconds, s.hasSeconds = o.integer("Seconds", 0), true
		}
		s.secondsPath = o.refPath("SecondsPath")
		if o.has("Timestamp") {
			ts, ok := parseTimestamp(o.str("Timestamp"))
			if !ok {
				p.bad(o.at("Timestamp"), "must be an RFC 3339 timestamp such as 2026-01-02T15:04:05Z")
			}
			s.timestamp, s.hasTimestamp = ts, true
		}
		s.timestampPath = o.refPath("TimestampPath")
	case "Fail":
		s.errorName, s.errorPath = o.str("Error"), o.refPath("ErrorPath")
		s.cause, s.causePath = o.str("Cause"), o.refPath("CausePath")
		if o.has("Error") && o.has("ErrorPath") {
			p.bad(where, "Error and ErrorPath are mutually exclusive")
		}
		if o.has("Cause") && o.has("CausePath") {
			p.bad(where, "Cause and CausePath are mutually exclusive")
		}
	case "Parallel":
		list, ok := m["Branches"].([]any)
		if !ok || len(list) == 0 {
			p.bad(o.at("Branches"), "required non-empty array")
		}
		for i, b := range list {
			bwhere := fmt.Sprintf("%s[%d]", o.at("Branches"), i)
			bm, ok := b.(map[string]any)
			if !ok {
				p.bad(bwhere, "a branch must be a JSON object")
				continue
			}
			p.object(bm, bwhere, "StartAt", "States", "Comment")
			s.branches = append(s.branches, p.machine(bm, bwhere))
		}
		s.retry = p.retriers(o)
		s.catch = p.catchers(o)
	case "Map":
		p.mapFields(s, o)
	}
	return s
}

func (p *parser) mapFields(s *state, o *object) {
	key := "ItemProcessor"
	switch {
	case o.has("ItemProcessor") && o.has("Iterator"):
		p.bad(o.where, "ItemProcessor and Iterator are mutually exclusive")
	case o.has("Iterator"):
		key = "Iterator"
	case !o.has("ItemProcessor"):
		p.bad(o.at("ItemProcessor"), "required")
	}
	if pm, ok := o.m[key].(map[string]any); ok {
		po := p.object(pm, o.at(key), "StartAt", "States", "Comment", "ProcessorConfig")
		if pc, ok := pm["ProcessorConfig"].(map[string]any); ok {
			co := p.object(pc, po.at("ProcessorConfig"), "Mode", "ExecutionType")
			if mode := co.str("Mode"); mode != "" && mode != "INLINE" {
				p.bad(co.at("Mode"), "only INLINE is supported (distributed Map is not supported yet), got %q", mode)
			}
		}
		s.processor = p.machine(pm, o.at(key))
	} else if o.has(key) {
		p.bad(o.at(key), "must be a JSON object")
	}
	s.itemsPath = o.refPath("ItemsPath") // a Reference Path, as the specification requires
	s.itemSelector = o.template("ItemSelector")
	if s.itemSelector != nil && s.parameters != nil {
		p.bad(o.where, "ItemSelector and Parameters are mutually exclusive")
	}
	if s.itemSelector == nil {
		// In a Map state the older Parameters field plays ItemSelector's
		// role; the state's input goes to the items unchanged.
		s.itemSelector, s.parameters = s.parameters, nil
	}
	s.maxConcurrency = o.integer("MaxConcurrency", 0)
	s.maxConcurrencyPath = o.refPath("MaxConcurrencyPath")
	if o.has("MaxConcurrency") && o.has("MaxConcurrencyPath") {
		p.bad(o.where, "MaxConcurrency and MaxConcurrencyPath are mutually exclusive")
	}
	s.retry = p.retriers(o)
	s.catch = p.catchers(o)
}

func (p *parser) timeouts(s *state, o *object) {
	s.timeout = o.positiveInt("TimeoutSeconds")
	s.timeoutPath = o.refPath("TimeoutSecondsPath")
	s.heartbeat = o.positiveInt("HeartbeatSeconds")
	s.heartbeatPath = o.refPath("HeartbeatSecondsPath")
	if o.has("TimeoutSeconds") && o.has("TimeoutSecondsPath") {
		p.bad(o.where, "TimeoutSeconds and TimeoutSecondsPath are mutually exclusive")
	}
	if o.has("HeartbeatSeconds") && o.has("HeartbeatSecondsPath") {
		p.bad(o.where, "HeartbeatSeconds and HeartbeatSecondsPath are mutually exclusive")
	}
	if s.timeout > 0 && s.heartbeat > 0 && s.heartbeat >= s.timeout {
		p.bad(o.at("HeartbeatSeconds"), "must be smaller than TimeoutSeconds")
	}
}

func (p *parser) errorEquals(m map[string]any, where string, last bool) []string {
	list, ok := m["ErrorEquals"].([]any)
	if !ok || len(list) == 0 {
		p.bad(join(where, "ErrorEquals"), "required non-empty array of error names")
		return nil
	}
	var names []string
	for i, e := range list {
		s, ok := e.(string)
		if !ok || s == "" {
			p.bad(fmt.Sprintf("%s[%d]", join(where, "ErrorEquals"), i), "must be a non-empty string")
			continue
		}
		names = append(names, s)
		if s == ErrALL && (len(list) != 1 || !last) {
			p.bad(join(where, "ErrorEquals"), "States.ALL must appear alone, in the last retrier or catcher")
		}
	}
	return names
}

func (p *parser) retriers(o *object) []*retrier {
	v, ok := o.m["Retry"]
	if !ok {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		p.bad(o.at("Retry"), "must be an array of retriers")
		return nil
	}
	var out []*retrier
	for i, e := range list {
		where := fmt.Sprintf("%s[%d]", o.at("Retry"), i)
		m, ok := e.(map[string]any)
		if !ok {
			p.bad(where, "a retrier must be a JSON object")
			continue
		}
		ro := p.object(m, where, "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment")
		r := &retrier{errorEquals: p.errorEquals(m, where, i == len(list)-1), interval: time.Second, maxAttempts: 3, backoffRate: 2}
		if ro.has("IntervalSeconds") {
			r.interval = time.Duration(ro.positiveInt("IntervalSeconds")) * time.Second
		}
		if ro.has("MaxAttempts") {
			r.maxAttempts = int(ro.integer("MaxAttempts", 0))
		}
		if ro.has("BackoffRate") {
			f, ok := toFloat(m["BackoffRate"])
			if !ok || f < 1 {
				p.bad(ro.at("BackoffRate"), "must be a number of at least 1.0")
			}
			r.backoffRate = f
		}
		if ro.has("MaxDelaySeconds") {
			r.maxDelay = time.Duration(ro.positiveInt("MaxDelaySeconds")) * time.Second
		}
		switch j := ro.str("JitterStrategy"); j {
		case "", "NONE":
		case "FULL":
			r.jitterFull = true
		default:
			p.bad(ro.at("JitterStrategy"), "must be FULL or NONE, got %q", j)
		}
		out = append(out, r)
	}
	return out
}

func (p *parser) catchers(o *object) []*catcher {
	v, ok := o.m["Catch"]
	if !ok {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		p.bad(o.at("Catch"), "must be an array of catchers")
		return nil
	}
	var out []*catcher
	for i, e := range list {
		where := fmt.Sprintf("%s[%d]", o.at("Catch"), i)
		m, ok := e.(map[string]any)
		if !ok {
			p.bad(where, "a catcher must be a JSON object")
			continue
		}
		co := p.object(m, where, "ErrorEquals", "Next", "ResultPath", "Comment")
		c := &catcher{errorEquals: p.errorEquals(m, where, i == len(list)-1), next: co.requiredStr("Next")}
		if co.isNull("ResultPath") {
			c.resultNull = true
		} else {
			c.resultPath = co.refPath("ResultPath")
		}
		out = append(out, c)
	}
	return out
}

// StateNames returns the names of every state, nested ones included, sorted.
func (d *Definition) StateNames() []string {
	var names []string
	d.walk(func(s *state) { names = append(names, s.name) })
	sort.Strings(names)
	return names
}

// ErrorNames returns, sorted and without duplicates, every error name the
// definition refers to: in Retry and Catch ErrorEquals and in Fail states'
// Error fields. A test can check them against the errors the tasks raise.
func (d *Definition) ErrorNames() []string {
	seen := map[string]bool{}
	d.walk(func(s *state) {
		for _, r := range s.retry {
			for _, e := range r.errorEquals {
				seen[e] = true
			}
		}
		for _, c := range s.catch {
			for _, e := range c.errorEquals {
				seen[e] = true
			}
		}
		if s.errorName != "" {
			seen[s.errorName] = true
		}
	})
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// walk calls fn for every state, descending into branches and processors.
func (d *Definition) walk(fn func(*state)) {
	var visit func(m *machine)
	visit = func(m *machine) {
		if m == nil {
			return
		}
		for _, s := range m.states {
			fn(s)
			for _, b := range s.branches {
				visit(b)
			}
			visit(s.processor)
		}
	}
	visit(d.top)
}
