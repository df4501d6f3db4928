package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"time"
)

// DecodeJSON decodes an AWS JSON request body into v. An empty body decodes as
// {}. Malformed JSON, a value of the wrong type or trailing data is a
// SerializationException; unknown fields are ignored, as AWS does. Missing
// required fields are the handler's to report.
func DecodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return Serializationf("field %s: expected %s, got JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
		}
		return Serializationf("malformed JSON body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Serializationf("malformed JSON body: data after the top-level value")
	}
	return nil
}

// EpochSeconds returns t as AWS JSON protocols send timestamps: seconds since
// the Unix epoch with a fractional part (millisecond precision).
func EpochSeconds(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}

// JSONError is the body of an AWS JSON protocol error.
type JSONError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}
