package asl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// MaxPayloadSize is the largest state input, output or task result, in
// bytes (256 KiB), beyond which an execution fails with
// States.DataLimitExceeded.
const MaxPayloadSize = 256 * 1024

// decodeJSON parses one JSON document into generic values, with numbers as
// int64 when integral and float64 otherwise.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return normalize(v), nil
}

// normalize replaces json.Number values by int64 or float64, recursively.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	default:
		return v
	}
}

// encodeJSON serializes v compactly without HTML escaping, as Step
// Functions does.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// mustString serializes a value known to be JSON-encodable (every value this
// package builds is); on the impossible failure it returns the Go syntax.
func mustString(v any) string {
	b, err := encodeJSON(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

// deepCopy returns a copy of v sharing no maps or slices with it, so a state
// can modify its data without touching its input.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	default:
		return v
	}
}

// checkSize fails with States.DataLimitExceeded when v serializes to more
// than MaxPayloadSize bytes.
func checkSize(what string, v any) *Error {
	b, err := encodeJSON(v)
	if err != nil {
		return newError(ErrRuntime, "%s is not JSON: %v", what, err)
	}
	return sizeOK(what, string(b))
}

// sizeOK is checkSize for an already serialized value.
func sizeOK(what, serialized string) *Error {
	if len(serialized) > MaxPayloadSize {
		return newError(ErrDataLimitExceeded, "%s has %d bytes, more than the %d allowed", what, len(serialized), MaxPayloadSize)
	}
	return nil
}

// toFloat returns the numeric value of v and whether it is a number.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}

// toInt returns v as an integer if it is an integral number.
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	}
	return 0, false
}

// jsonEqual reports whether two generic JSON values are equal, comparing
// numbers by value.
func jsonEqual(a, b any) bool {
	if fa, ok := toFloat(a); ok {
		fb, ok := toFloat(b)
		return ok && fa == fb
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}
