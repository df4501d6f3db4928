package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// JSONToCBOR re-encodes a JSON request body as CBOR, so that a service
// implemented as a CBORHandler also answers clients speaking JSON 1.0 to the
// same Smithy service (the aws CLI calls CloudWatch that way). Integral
// numbers become CBOR integers, others floats; timestamps, which JSON sends
// as epoch seconds, stay numbers (CBORUnmarshal accepts them for
// time.Time). Malformed JSON is a SerializationException.
func JSONToCBOR(body []byte) ([]byte, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, Serializationf("malformed JSON body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, Serializationf("malformed JSON body: data after the top-level value")
	}
	c, err := jsonValueToCBOR(v, 0)
	if err != nil {
		return nil, err
	}
	return cbor.Encode(c), nil
}

func jsonValueToCBOR(v any, depth int) (cbor.Value, error) {
	if depth > maxCBORDepth {
		return nil, Serializationf("JSON body nested deeper than %d", maxCBORDepth)
	}
	switch x := v.(type) {
	case nil:
		return &cbor.Nil{}, nil
	case bool:
		return cbor.Bool(x), nil
	case string:
		return cbor.String(x), nil
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			if n < 0 {
				return cbor.NegInt(uint64(-(n + 1)) + 1), nil
			}
			return cbor.Uint(uint64(n)), nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return nil, Serializationf("number %s out of range", x)
		}
		return cbor.Float64(f), nil
	case []any:
		l := make(cbor.List, len(x))
		for i, e := range x {
			c, err := jsonValueToCBOR(e, depth+1)
			if err != nil {
				return nil, err
			}
			l[i] = c
		}
		return l, nil
	case map[string]any:
		m := make(cbor.Map, len(x))
		for k, e := range x {
			c, err := jsonValueToCBOR(e, depth+1)
			if err != nil {
				return nil, err
			}
			m[k] = c
		}
		return m, nil
	}
	return nil, Serializationf("unsupported JSON value %T", v)
}

// CBORToJSON re-encodes a CBOR response body as JSON for a JSON 1.0 client:
// timestamps become epoch seconds, byte strings base64, as the JSON
// protocols send them. An empty body becomes {}.
func CBORToJSON(body []byte) (out []byte, err error) {
	if len(body) == 0 {
		return []byte("{}"), nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = Serializationf("malformed CBOR: %v", r)
		}
	}()
	val, err := cbor.Decode(body)
	if err != nil {
		return nil, Serializationf("malformed CBOR: %v", err)
	}
	g, err := generic(val, "", 0)
	if err != nil {
		return nil, err
	}
	return json.Marshal(jsonable(g))
}

// jsonable replaces times by epoch seconds and non-finite floats, which JSON
// cannot carry, by the strings the JSON protocols use for them.
func jsonable(v any) any {
	switch x := v.(type) {
	case time.Time:
		return EpochSeconds(x)
	case float64:
		switch {
		case math.IsNaN(x):
			return "NaN"
		case math.IsInf(x, 1):
			return "Infinity"
		case math.IsInf(x, -1):
			return "-Infinity"
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	}
	return v
}
