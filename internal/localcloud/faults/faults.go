// Package faults is the registry of faults the local endpoint injects so that
// every rollback path can be rehearsed: per image digest (crash on start,
// failing health checks, 5xx rate, latency), throttled API operations,
// delayed, dropped, duplicated or reordered events, and failed or held
// Lambda invocations (throttled, timed out, crashed, held in flight until
// released). It is safe for concurrent use; the services consult it and the
// control API (/_slipway/faults) edits it.
package faults

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Behaviour is how the revision running an image behaves.
type Behaviour struct {
	// CrashOnStart makes tasks of the image stop before they are healthy.
	CrashOnStart bool `json:"crashOnStart,omitempty"`
	// FailHealthChecks makes targets of the image unhealthy.
	FailHealthChecks bool `json:"failHealthChecks,omitempty"`
	// ErrorRate is the share (0..1) of requests answered with a 5xx.
	ErrorRate float64 `json:"errorRate,omitempty"`
	// LatencyMs is the p99 latency added to responses, in milliseconds.
	LatencyMs int `json:"latencyMs,omitempty"`
}

// Throttle is a pending failure of a service operation: throttling, or
// with Error "internal" the service's 5xx.
type Throttle struct {
	// Service is the service name as the endpoint registers it ("ecs", "s3", …).
	Service string `json:"service"`
	// Operation is the operation name, or "*" for any operation.
	Operation string `json:"operation"`
	// Count is how many more calls fail.
	Count int `json:"count"`
	// Match, when set, limits the fault to requests that name it: the
	// request body (JSON, CBOR and query protocols) or the path and query
	// (REST protocols) contains it, e.g. a service or key name.
	Match string `json:"match,omitempty"`
	// Error is how the calls fail: "" or ErrorThrottling with the
	// service's throttling error (ThrottlingException, Throttling, S3
	// 503 SlowDown, Lambda 429 TooManyRequestsException), ErrorInternal
	// with its 5xx (ECS ServerException, S3 InternalError, …).
	Error string `json:"error,omitempty"`
}

// The kinds of API failure a Throttle injects.
const (
	ErrorThrottling = "throttling"
	ErrorInternal   = "internal"
)

// The faults an Invocation injects into a Lambda invocation.
const (
	// InvokeThrottle fails the Invoke call with 429
	// TooManyRequestsException; the function does not run.
	InvokeThrottle = "throttle"
	// InvokeTimeout runs the function, then reports that it timed out
	// (errorType Sandbox.Timedout): its work is done, its answer lost.
	InvokeTimeout = "timeout"
	// InvokeCrash reports that the runtime exited before the function
	// ran (errorType Runtime.ExitError).
	InvokeCrash = "crash"
	// InvokeHold holds the invocation in flight before the function runs,
	// until the hold is released (Registry.Release, or State.Release
	// through the control API): a test acts while a quick phase of a state
	// machine is in flight, then lets the phase do its work. It does not
	// fail the invocation.
	InvokeHold = "hold"
)

// Invocation is a pending fault of a Lambda function's invocations.
type Invocation struct {
	// Function is the function name.
	Function string `json:"function"`
	// Match, when set, limits the fault to invocations whose payload
	// contains every one of these strings.
	Match []string `json:"match,omitempty"`
	// Fault is InvokeThrottle, InvokeTimeout, InvokeCrash or InvokeHold.
	Fault string `json:"fault"`
	// Count is how many more invocations fail (or are held).
	Count int `json:"count"`
	// Hold names the invocations an InvokeHold fault holds, for Held and
	// Release; the function name when empty.
	Hold string `json:"hold,omitempty"`
}

// The faults an Event injects into EventBridge's delivery.
const (
	EventDrop      = "drop"
	EventDuplicate = "duplicate"
	EventDelay     = "delay"
	// EventReorder holds the next Count matching events back and, when
	// the last of them is emitted, delivers them all newest first: with
	// Count 2 an ECS deployment's COMPLETED arrives before its
	// IN_PROGRESS, as EventBridge, which does not keep order, may deliver
	// them.
	EventReorder = "reorder"
)

// Event is a pending fault of the events whose JSON contains every string
// of Match: dropped, delivered twice, delayed by DelayMs, or reordered.
type Event struct {
	Match   []string `json:"match"`
	Action  string   `json:"action"`
	DelayMs int64    `json:"delayMs,omitempty"`
	// Count is how many more matching events the fault applies to.
	Count int `json:"count"`
}

// State is the whole registry as the control API shows and accepts it.
type State struct {
	Images       map[string]Behaviour `json:"images,omitempty"`
	Throttles    []Throttle           `json:"throttles,omitempty"`
	Invocations  []Invocation         `json:"invocations,omitempty"`
	Events       []Event              `json:"events,omitempty"`
	EventDelayMs int64                `json:"eventDelayMs,omitempty"`
	DropEvents   int                  `json:"dropEvents,omitempty"`
	// ServiceLoads is the CPU demand on ECS services, by "cluster/service":
	// in percent of one task's CPU (250 keeps two and a half tasks busy),
	// shared by the service's running tasks for its CPUUtilization metric.
	ServiceLoads map[string]float64 `json:"serviceLoads,omitempty"`
	// Held names the Lambda invocations an InvokeHold fault holds now
	// (as State reports them, once per invocation); Apply ignores it.
	Held []string `json:"held,omitempty"`
	// Release names the holds Apply releases (see Registry.Release); State
	// never sets it.
	Release []string `json:"release,omitempty"`
}

// Registry holds the active faults. The zero value is not usable; call New.
type Registry struct {
	mu        sync.Mutex
	images    map[string]Behaviour
	throttles map[throttleKey]int
	invokes   []Invocation
	events    []Event
	delay     time.Duration
	drop      int
	loads     map[string]float64
	// held are the invocations InvokeHold holds now.
	held []*heldInvocation
	// reordered are the events each pending EventReorder fault holds
	// back, by eventKey.
	reordered map[string][][]byte
}

// heldInvocation is an invocation held in flight.
type heldInvocation struct {
	name     string
	released chan struct{}
}

type throttleKey struct{ service, operation, match, error string }

// New returns an empty registry.
func New() *Registry {
	return &Registry{images: map[string]Behaviour{}, throttles: map[throttleKey]int{}, loads: map[string]float64{},
		reordered: map[string][][]byte{}}
}

// SetServiceLoad sets the CPU demand on an ECS service, in percent of one
// task's CPU; 0 clears it.
func (r *Registry) SetServiceLoad(cluster, service string, percent float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if percent <= 0 {
		delete(r.loads, cluster+"/"+service)
		return
	}
	r.loads[cluster+"/"+service] = percent
}

// ServiceLoads returns a copy of the CPU demands set by SetServiceLoad, by
// "cluster/service".
func (r *Registry) ServiceLoads() map[string]float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.loads)
}

// SetImage sets the behaviour of the image with the given digest
// ("sha256:…"); the zero Behaviour clears it.
func (r *Registry) SetImage(digest string, b Behaviour) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b == (Behaviour{}) {
		delete(r.images, digest)
		return
	}
	r.images[digest] = b
}

// ForImage returns the behaviour of an image given as "uri@sha256:…" or a
// bare digest; the zero Behaviour when none is set. An image referenced by
// tag only has no digest to match and gets the zero Behaviour.
func (r *Registry) ForImage(image string) Behaviour {
	digest := image
	if i := strings.LastIndex(image, "@"); i >= 0 {
		digest = image[i+1:]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.images[digest]
}

// Throttle makes the next n calls of service/operation fail with a
// throttling error; operation "*" matches any operation. n <= 0 clears it.
func (r *Registry) Throttle(service, operation string, n int) {
	r.setThrottle(Throttle{Service: service, Operation: operation, Count: n})
}

// setThrottle adds t, replacing the one with the same service, operation,
// match and error; a count <= 0 clears it.
func (r *Registry) setThrottle(t Throttle) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := throttleKey{t.Service, t.Operation, t.Match, t.Error}
	n := t.Count
	if n <= 0 {
		delete(r.throttles, k)
		return
	}
	r.throttles[k] = n
}

// ShouldThrottle reports whether this call of service/operation is to be
// throttled, and counts it against the pending throttle if so. An exact
// operation match is used before a "*" one.
func (r *Registry) ShouldThrottle(service, operation string) bool {
	return r.APIFault(service, operation, nil) == ErrorThrottling
}

// APIFault reports how this call of service/operation is to fail — ""
// for not at all, ErrorThrottling or ErrorInternal — and counts it
// against the pending fault if it fails. request is what a Throttle's
// Match is looked for in. An exact operation match is used before a "*"
// one, and a fault with a Match before one without.
func (r *Registry) APIFault(service, operation string, request []byte) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]throttleKey, 0, len(r.throttles))
	for k := range r.throttles {
		if k.service == service && (k.operation == operation || k.operation == "*") &&
			(k.match == "" || (request != nil && bytes.Contains(request, []byte(k.match)))) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	slices.SortFunc(keys, func(a, b throttleKey) int {
		if (a.operation == "*") != (b.operation == "*") {
			if a.operation == "*" {
				return 1
			}
			return -1
		}
		if (a.match == "") != (b.match == "") {
			if a.match == "" {
				return 1
			}
			return -1
		}
		return strings.Compare(a.match+"\x00"+a.error, b.match+"\x00"+b.error)
	})
	k := keys[0]
	if n := r.throttles[k]; n == 1 {
		delete(r.throttles, k)
	} else {
		r.throttles[k] = n - 1
	}
	if k.error == "" {
		return ErrorThrottling
	}
	return k.error
}

// containsAll reports whether b contains every string of subs.
func containsAll(b []byte, subs []string) bool {
	for _, s := range subs {
		if !bytes.Contains(b, []byte(s)) {
			return false
		}
	}
	return true
}

// addInvocation adds a Lambda invocation fault; one with the same function,
// match and fault is replaced, and a count <= 0 clears it.
func (r *Registry) addInvocation(f Invocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.invokes = slices.DeleteFunc(r.invokes, func(x Invocation) bool {
		return x.Function == f.Function && x.Fault == f.Fault && slices.Equal(x.Match, f.Match)
	})
	if f.Count > 0 {
		r.invokes = append(r.invokes, f)
	}
}

// InvocationFault reports the fault (InvokeThrottle, InvokeTimeout,
// InvokeCrash, or "" for none) of this invocation of function with
// payload, and counts it against the pending fault. Holds are
// HoldInvocation's.
func (r *Registry) InvocationFault(function string, payload []byte) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, f := range r.invokes {
		if f.Function != function || f.Fault == InvokeHold || !containsAll(payload, f.Match) {
			continue
		}
		if f.Count <= 1 {
			r.invokes = slices.Delete(r.invokes, i, i+1)
		} else {
			r.invokes[i].Count--
		}
		return f.Fault
	}
	return ""
}

// HoldInvocation reports whether this invocation of function with payload
// is to be held (an InvokeHold fault matches it), and counts it against the
// fault. released is nil when it is not; otherwise it is closed once the
// hold is released (Release, Apply with State.Release, or Reset), and the
// invocation waits for it before the function runs. The invoker calls
// forget when it stops waiting, released or not.
func (r *Registry) HoldInvocation(function string, payload []byte) (released <-chan struct{}, forget func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, f := range r.invokes {
		if f.Function != function || f.Fault != InvokeHold || !containsAll(payload, f.Match) {
			continue
		}
		if f.Count <= 1 {
			r.invokes = slices.Delete(r.invokes, i, i+1)
		} else {
			r.invokes[i].Count--
		}
		h := &heldInvocation{name: f.Hold, released: make(chan struct{})}
		if h.name == "" {
			h.name = f.Function
		}
		r.held = append(r.held, h)
		return h.released, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.held = slices.DeleteFunc(r.held, func(x *heldInvocation) bool { return x == h })
		}
	}
	return nil, nil
}

// Held reports how many invocations are held under the name now.
func (r *Registry) Held(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, h := range r.held {
		if h.name == name {
			n++
		}
	}
	return n
}

// Release lets the invocations held under the name go on, and returns how
// many there were. A hold not yet taken (the fault still pending) is not
// affected.
func (r *Registry) Release(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	r.held = slices.DeleteFunc(r.held, func(h *heldInvocation) bool {
		if h.name != name {
			return false
		}
		close(h.released)
		n++
		return true
	})
	return n
}

// addEvent adds an event fault; one with the same match and action is
// replaced, and a count <= 0 clears it.
func (r *Registry) addEvent(f Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = slices.DeleteFunc(r.events, func(x Event) bool {
		return x.Action == f.Action && slices.Equal(x.Match, f.Match)
	})
	// A reorder fault replaced or cleared lets go of what it held: those
	// events are lost, as when the fault is reset.
	delete(r.reordered, eventKey(f))
	if f.Count > 0 {
		r.events = append(r.events, f)
	}
}

// eventKey identifies an event fault: its action and match.
func eventKey(f Event) string { return f.Action + "\x00" + strings.Join(f.Match, "\x00") }

// ReorderEvent reports which events to emit now in place of event (its
// JSON), in order: event alone when no EventReorder fault matches it; none
// when a fault holds it back; and when it is the last a fault waits for,
// every event that fault held, newest (event) first. It counts event
// against the fault.
func (r *Registry) ReorderEvent(event []byte) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.events {
		f := &r.events[i]
		if f.Action != EventReorder || !containsAll(event, f.Match) {
			continue
		}
		k := eventKey(*f)
		held := append(r.reordered[k], bytes.Clone(event))
		if f.Count--; f.Count > 0 {
			r.reordered[k] = held
			return nil
		}
		r.events = slices.Delete(r.events, i, i+1)
		delete(r.reordered, k)
		slices.Reverse(held)
		return held
	}
	return [][]byte{event}
}

// EventFault reports what happens to the event (its JSON) being emitted:
// dropped, delivered copies times (1 normally, 2 when duplicated), after
// delay. It counts the event against each pending fault that applies.
func (r *Registry) EventFault(event []byte) (drop bool, copies int, delay time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	copies = 1
	for i := 0; i < len(r.events); i++ {
		f := &r.events[i]
		if f.Action == EventReorder || !containsAll(event, f.Match) {
			continue
		}
		switch f.Action {
		case EventDrop:
			drop = true
		case EventDuplicate:
			copies = 2
		case EventDelay:
			delay = max(delay, time.Duration(f.DelayMs)*time.Millisecond)
		}
		if f.Count--; f.Count <= 0 {
			r.events = slices.Delete(r.events, i, i+1)
			i--
		}
	}
	return drop, copies, delay
}

// DelayEvents delays every emitted event by d (0 for none).
func (r *Registry) DelayEvents(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = max(d, 0)
}

// DropEvents drops the next n emitted events.
func (r *Registry) DropEvents(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drop = max(n, 0)
}

// EventDelay returns the delay set by DelayEvents.
func (r *Registry) EventDelay() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.delay
}

// ShouldDropEvent reports whether the event being emitted is to be dropped,
// and counts it if so.
func (r *Registry) ShouldDropEvent() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.drop > 0 {
		r.drop--
		return true
	}
	return false
}

// State returns a copy of the active faults.
func (r *Registry) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := State{EventDelayMs: r.delay.Milliseconds(), DropEvents: r.drop}
	if len(r.images) > 0 {
		s.Images = make(map[string]Behaviour, len(r.images))
		for k, v := range r.images {
			s.Images[k] = v
		}
	}
	if len(r.loads) > 0 {
		s.ServiceLoads = maps.Clone(r.loads)
	}
	for k, n := range r.throttles {
		s.Throttles = append(s.Throttles, Throttle{Service: k.service, Operation: k.operation, Count: n, Match: k.match, Error: k.error})
	}
	slices.SortFunc(s.Throttles, func(a, b Throttle) int {
		return strings.Compare(a.Service+"\x00"+a.Operation+"\x00"+a.Match+"\x00"+a.Error,
			b.Service+"\x00"+b.Operation+"\x00"+b.Match+"\x00"+b.Error)
	})
	for _, f := range r.invokes {
		f.Match = slices.Clone(f.Match)
		s.Invocations = append(s.Invocations, f)
	}
	for _, f := range r.events {
		f.Match = slices.Clone(f.Match)
		s.Events = append(s.Events, f)
	}
	for _, h := range r.held {
		s.Held = append(s.Held, h.name)
	}
	slices.Sort(s.Held)
	return s
}

// Apply adds the faults in s to the registry: image behaviours and throttles
// replace those with the same key; a non-zero event delay or drop count
// replaces the current one.
func (r *Registry) Apply(s State) {
	for digest, b := range s.Images {
		r.SetImage(digest, b)
	}
	for _, t := range s.Throttles {
		if t.Error == ErrorThrottling {
			t.Error = ""
		}
		r.setThrottle(t)
	}
	for _, f := range s.Invocations {
		r.addInvocation(f)
	}
	for _, f := range s.Events {
		r.addEvent(f)
	}
	if s.EventDelayMs != 0 {
		r.DelayEvents(time.Duration(s.EventDelayMs) * time.Millisecond)
	}
	if s.DropEvents != 0 {
		r.DropEvents(s.DropEvents)
	}
	for k, v := range s.ServiceLoads {
		cluster, service, _ := strings.Cut(k, "/")
		r.SetServiceLoad(cluster, service, v)
	}
	for _, name := range s.Release {
		r.Release(name)
	}
}

// Reset clears every fault.
func (r *Registry) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.images = map[string]Behaviour{}
	r.throttles = map[throttleKey]int{}
	r.invokes = nil
	r.events = nil
	r.delay = 0
	r.drop = 0
	r.loads = map[string]float64{}
	for _, h := range r.held {
		close(h.released)
	}
	r.held = nil
	r.reordered = map[string][][]byte{}
}
