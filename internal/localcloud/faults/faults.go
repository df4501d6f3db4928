// Package faults is the registry of faults the local endpoint injects so that
// every rollback path can be rehearsed: per image digest (crash on start,
// failing health checks, 5xx rate, latency), throttled API operations, and
// delayed or dropped events. It is safe for concurrent use; the services
// consult it and the control API (/_slipway/faults) edits it.
package faults

import (
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

// Throttle is a pending throttle of a service operation.
type Throttle struct {
	// Service is the service name as the endpoint registers it ("ecs", "s3", …).
	Service string `json:"service"`
	// Operation is the operation name, or "*" for any operation.
	Operation string `json:"operation"`
	// Count is how many more calls are throttled.
	Count int `json:"count"`
}

// State is the whole registry as the control API shows and accepts it.
type State struct {
	Images       map[string]Behaviour `json:"images,omitempty"`
	Throttles    []Throttle           `json:"throttles,omitempty"`
	EventDelayMs int64                `json:"eventDelayMs,omitempty"`
	DropEvents   int                  `json:"dropEvents,omitempty"`
	// ServiceLoads is the CPU demand on ECS services, by "cluster/service":
	// in percent of one task's CPU (250 keeps two and a half tasks busy),
	// shared by the service's running tasks for its CPUUtilization metric.
	ServiceLoads map[string]float64 `json:"serviceLoads,omitempty"`
}

// Registry holds the active faults. The zero value is not usable; call New.
type Registry struct {
	mu        sync.Mutex
	images    map[string]Behaviour
	throttles map[throttleKey]int
	delay     time.Duration
	drop      int
	loads     map[string]float64
}

type throttleKey struct{ service, operation string }

// New returns an empty registry.
func New() *Registry {
	return &Registry{images: map[string]Behaviour{}, throttles: map[throttleKey]int{}, loads: map[string]float64{}}
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
	r.mu.Lock()
	defer r.mu.Unlock()
	k := throttleKey{service, operation}
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
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range []throttleKey{{service, operation}, {service, "*"}} {
		if n := r.throttles[k]; n > 0 {
			if n == 1 {
				delete(r.throttles, k)
			} else {
				r.throttles[k] = n - 1
			}
			return true
		}
	}
	return false
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
		s.Throttles = append(s.Throttles, Throttle{Service: k.service, Operation: k.operation, Count: n})
	}
	slices.SortFunc(s.Throttles, func(a, b Throttle) int {
		return strings.Compare(a.Service+"\x00"+a.Operation, b.Service+"\x00"+b.Operation)
	})
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
		r.Throttle(t.Service, t.Operation, t.Count)
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
}

// Reset clears every fault.
func (r *Registry) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.images = map[string]Behaviour{}
	r.throttles = map[throttleKey]int{}
	r.delay = 0
	r.drop = 0
	r.loads = map[string]float64{}
}
