package localcloud

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/slipwayhq/slipway/internal/localcloud/faults"
)

// maxControlBody bounds a control API request body.
const maxControlBody = 1 << 20

// serveControl answers /_slipway/…: health, faults, and what HandleControl
// added.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if !jsonBody(w, r) {
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, "/_slipway/")
	name, _, _ := strings.Cut(rest, "/")
	switch name {
	case "health":
		s.serveHealth(w, r)
		return
	case "faults":
		s.serveFaults(w, r)
		return
	}
	s.mu.RLock()
	h, ok := s.control[name]
	s.mu.RUnlock()
	if !ok {
		writeControlError(w, http.StatusNotFound, fmt.Sprintf("no control endpoint %s", r.URL.Path))
		return
	}
	h.ServeHTTP(w, r)
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeControlError(w, http.StatusMethodNotAllowed, "health answers GET")
		return
	}
	status := http.StatusOK
	if !s.ready.Load() {
		status = http.StatusServiceUnavailable
	}
	writeControlJSON(w, status, map[string]bool{"ok": status == http.StatusOK})
}

// serveFaults shows (GET), adds (POST, a faults.State) or clears (DELETE)
// the active faults; every answer is the resulting state.
func (s *Server) serveFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodDelete:
		s.faults.Reset()
	case http.MethodPost, http.MethodPut:
		st, err := decodeFaults(r.Body)
		if err != nil {
			writeControlError(w, http.StatusBadRequest, err.Error())
			return
		}
		s.faults.Apply(st)
	default:
		writeControlError(w, http.StatusMethodNotAllowed, "faults answers GET, POST and DELETE")
		return
	}
	writeControlJSON(w, http.StatusOK, s.faults.State())
}

// decodeFaults reads and validates a faults.State, naming the field at
// fault in its error.
func decodeFaults(body io.Reader) (faults.State, error) {
	var st faults.State
	b, err := io.ReadAll(io.LimitReader(body, maxControlBody+1))
	if err != nil {
		return st, fmt.Errorf("read faults: %w", err)
	}
	if len(b) > maxControlBody {
		return st, fmt.Errorf("faults: body larger than %d bytes", maxControlBody)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return st, fmt.Errorf("faults: %w", err)
	}
	var problems []string
	digests := make([]string, 0, len(st.Images))
	for d := range st.Images {
		digests = append(digests, d)
	}
	sort.Strings(digests)
	for _, digest := range digests {
		b := st.Images[digest]
		if !strings.HasPrefix(digest, "sha256:") {
			problems = append(problems, fmt.Sprintf("images.%s: key must be an image digest sha256:…", digest))
		}
		if b.ErrorRate < 0 || b.ErrorRate > 1 {
			problems = append(problems, fmt.Sprintf("images.%s.errorRate: %v is outside 0..1", digest, b.ErrorRate))
		}
		if b.LatencyMs < 0 {
			problems = append(problems, fmt.Sprintf("images.%s.latencyMs: %d is negative", digest, b.LatencyMs))
		}
	}
	for i, t := range st.Throttles {
		if t.Service == "" {
			problems = append(problems, fmt.Sprintf("throttles[%d].service: required", i))
		}
		if t.Operation == "" {
			problems = append(problems, fmt.Sprintf("throttles[%d].operation: required (\"*\" for any)", i))
		}
		if t.Count < 0 {
			problems = append(problems, fmt.Sprintf("throttles[%d].count: %d is negative", i, t.Count))
		}
		if t.Error != "" && t.Error != faults.ErrorThrottling && t.Error != faults.ErrorInternal {
			problems = append(problems, fmt.Sprintf("throttles[%d].error: %q is not %q or %q", i, t.Error, faults.ErrorThrottling, faults.ErrorInternal))
		}
	}
	for i, f := range st.Invocations {
		if f.Function == "" {
			problems = append(problems, fmt.Sprintf("invocations[%d].function: required", i))
		}
		if f.Fault != faults.InvokeThrottle && f.Fault != faults.InvokeTimeout && f.Fault != faults.InvokeCrash && f.Fault != faults.InvokeHold {
			problems = append(problems, fmt.Sprintf("invocations[%d].fault: %q is not %q, %q, %q or %q", i, f.Fault,
				faults.InvokeThrottle, faults.InvokeTimeout, faults.InvokeCrash, faults.InvokeHold))
		}
		if f.Hold != "" && f.Fault != faults.InvokeHold {
			problems = append(problems, fmt.Sprintf("invocations[%d].hold: names a hold, only for fault %q", i, faults.InvokeHold))
		}
		if f.Count < 0 {
			problems = append(problems, fmt.Sprintf("invocations[%d].count: %d is negative", i, f.Count))
		}
	}
	for i, f := range st.Events {
		if len(f.Match) == 0 {
			problems = append(problems, fmt.Sprintf("events[%d].match: required (a string the events contain)", i))
		}
		if f.Action != faults.EventDrop && f.Action != faults.EventDuplicate && f.Action != faults.EventDelay && f.Action != faults.EventReorder {
			problems = append(problems, fmt.Sprintf("events[%d].action: %q is not %q, %q, %q or %q", i, f.Action,
				faults.EventDrop, faults.EventDuplicate, faults.EventDelay, faults.EventReorder))
		}
		if (f.Action == faults.EventDelay) != (f.DelayMs > 0) {
			problems = append(problems, fmt.Sprintf("events[%d].delayMs: must be positive for action %q, and only for it", i, faults.EventDelay))
		}
		if f.Count < 0 {
			problems = append(problems, fmt.Sprintf("events[%d].count: %d is negative", i, f.Count))
		}
	}
	if len(st.Held) > 0 {
		problems = append(problems, "held: reported by the endpoint, not set (release a hold with release)")
	}
	for i, name := range st.Release {
		if name == "" {
			problems = append(problems, fmt.Sprintf("release[%d]: the name of a hold is required", i))
		}
	}
	if st.EventDelayMs < 0 {
		problems = append(problems, fmt.Sprintf("eventDelayMs: %d is negative", st.EventDelayMs))
	}
	if st.DropEvents < 0 {
		problems = append(problems, fmt.Sprintf("dropEvents: %d is negative", st.DropEvents))
	}
	for _, k := range slices.Sorted(maps.Keys(st.ServiceLoads)) {
		if c, sv, ok := strings.Cut(k, "/"); !ok || c == "" || sv == "" || strings.Contains(sv, "/") {
			problems = append(problems, fmt.Sprintf("serviceLoads.%s: key must be cluster/service", k))
		}
		if st.ServiceLoads[k] < 0 {
			problems = append(problems, fmt.Sprintf("serviceLoads.%s: %v is negative", k, st.ServiceLoads[k]))
		}
	}
	if len(problems) > 0 {
		return st, errors.New("faults: " + strings.Join(problems, "; "))
	}
	return st, nil
}

func writeControlJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeControlError(w http.ResponseWriter, status int, msg string) {
	writeControlJSON(w, status, map[string]string{"error": msg})
}
