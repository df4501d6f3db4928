package protocol

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// CBORHandler serves a Smithy RPC v2 CBOR service (CloudWatch from the Go
// SDK). op is the operation name from the path
// /service/<Service>/operation/<op>; the result is the CBOR-encoded output.
type CBORHandler interface {
	ServeCBOR(ctx context.Context, op string, body []byte) ([]byte, error)
}

// CBORHandlerFunc adapts a function to CBORHandler.
type CBORHandlerFunc func(ctx context.Context, op string, body []byte) ([]byte, error)

// ServeCBOR calls f.
func (f CBORHandlerFunc) ServeCBOR(ctx context.Context, op string, body []byte) ([]byte, error) {
	return f(ctx, op, body)
}

// CBORMarshal encodes v as CBOR. Structs become maps keyed by the field's
// `cbor` tag, else its `json` tag, else its Go name; nil pointers, slices,
// maps and interfaces are omitted from structs, as are zero values of fields
// tagged omitempty. time.Time becomes an epoch-seconds timestamp (tag 1),
// []byte a byte string.
func CBORMarshal(v any) ([]byte, error) {
	val, err := toCBOR(reflect.ValueOf(v), 0)
	if err != nil {
		return nil, err
	}
	return cbor.Encode(val), nil
}

// CBORUnmarshal decodes CBOR bytes into the value v points to, with the field
// naming of CBORMarshal (a struct field also matches a key that differs only
// in case). Unknown keys are ignored. Malformed CBOR or a value of the wrong
// type is a SerializationException. An empty body decodes as an empty map.
func CBORUnmarshal(b []byte, v any) (err error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("cbor unmarshal: need a non-nil pointer, got %T", v)
	}
	if len(b) == 0 {
		return nil
	}
	defer func() {
		// The smithy decoder is meant for well-formed service responses;
		// guard against it panicking on hostile input.
		if r := recover(); r != nil {
			err = Serializationf("malformed CBOR body: %v", r)
		}
	}()
	val, err := cbor.Decode(b)
	if err != nil {
		return Serializationf("malformed CBOR body: %v", err)
	}
	return fromCBOR(val, rv.Elem(), "")
}

// EncodeCBORError returns the CBOR body of an RPC v2 CBOR error; __type is
// the error's shape name.
func EncodeCBORError(e *Error) []byte {
	return cbor.Encode(cbor.Map{"__type": cbor.String(e.ShapeName()), "message": cbor.String(e.Message)})
}

// QueryErrorHeader returns the X-Amzn-Query-Error value of e for a
// query-compatible service: "<Code>;Sender", or ";Receiver" for a 5xx.
func QueryErrorHeader(e *Error) string {
	if e.Status >= 500 {
		return e.Code + ";Receiver"
	}
	return e.Code + ";Sender"
}

const maxCBORDepth = 64

var timeType = reflect.TypeOf(time.Time{})

func toCBOR(v reflect.Value, depth int) (cbor.Value, error) {
	if depth > maxCBORDepth {
		return nil, fmt.Errorf("cbor marshal: nesting deeper than %d", maxCBORDepth)
	}
	if !v.IsValid() {
		return &cbor.Nil{}, nil
	}
	if v.Type() == timeType {
		t := v.Interface().(time.Time)
		return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.UnixMilli()) / 1000)}, nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return &cbor.Nil{}, nil
		}
		return toCBOR(v.Elem(), depth+1)
	case reflect.Bool:
		return cbor.Bool(v.Bool()), nil
	case reflect.String:
		return cbor.String(v.String()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := v.Int()
		if n < 0 {
			return cbor.NegInt(uint64(-(n + 1)) + 1), nil
		}
		return cbor.Uint(uint64(n)), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return cbor.Uint(v.Uint()), nil
	case reflect.Float32:
		return cbor.Float32(float32(v.Float())), nil
	case reflect.Float64:
		return cbor.Float64(v.Float()), nil
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return cbor.Slice(append([]byte(nil), v.Bytes()...)), nil
		}
		l := make(cbor.List, 0, v.Len())
		for i := range v.Len() {
			e, err := toCBOR(v.Index(i), depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, e)
		}
		return l, nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("cbor marshal: map key type %s is not a string", v.Type().Key())
		}
		m := cbor.Map{}
		it := v.MapRange()
		for it.Next() {
			e, err := toCBOR(it.Value(), depth+1)
			if err != nil {
				return nil, err
			}
			m[it.Key().String()] = e
		}
		return m, nil
	case reflect.Struct:
		m := cbor.Map{}
		for _, f := range structFields(v.Type()) {
			fv := v.Field(f.index)
			if isNilish(fv) || (f.omitEmpty && fv.IsZero()) {
				continue
			}
			e, err := toCBOR(fv, depth+1)
			if err != nil {
				return nil, err
			}
			m[f.name] = e
		}
		return m, nil
	default:
		return nil, fmt.Errorf("cbor marshal: unsupported type %s", v.Type())
	}
}

func isNilish(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
		return v.IsNil()
	}
	return false
}

type fieldInfo struct {
	name      string
	index     int
	omitEmpty bool
}

func structFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, ok := f.Tag.Lookup("cbor")
		if !ok {
			tag, ok = f.Tag.Lookup("json")
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" && opts == "" {
			continue
		}
		if !ok || name == "" {
			name = f.Name
		}
		out = append(out, fieldInfo{name: name, index: i, omitEmpty: strings.Contains(opts, "omitempty")})
	}
	return out
}

func fromCBOR(val cbor.Value, dst reflect.Value, path string) error {
	if len(path) > 4096 {
		return Serializationf("CBOR body nested too deeply")
	}
	switch val.(type) {
	case *cbor.Nil, *cbor.Undefined:
		dst.SetZero()
		return nil
	}
	if tag, ok := val.(*cbor.Tag); ok {
		if tag.ID == 1 && (dst.Type() == timeType || dst.Kind() == reflect.Interface ||
			(dst.Kind() == reflect.Pointer && dst.Type().Elem() == timeType)) {
			t, err := epochTime(tag.Value, path)
			if err != nil {
				return err
			}
			return assign(dst, reflect.ValueOf(t), path)
		}
		return fromCBOR(tag.Value, dst, path)
	}
	if dst.Kind() == reflect.Pointer {
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		return fromCBOR(val, dst.Elem(), path)
	}
	if dst.Type() == timeType {
		t, err := epochTime(val, path)
		if err != nil {
			return err
		}
		dst.Set(reflect.ValueOf(t))
		return nil
	}
	if dst.Kind() == reflect.Interface {
		g, err := generic(val, path, 0)
		if err != nil {
			return err
		}
		return assign(dst, reflect.ValueOf(g), path)
	}
	switch x := val.(type) {
	case cbor.Bool:
		if dst.Kind() != reflect.Bool {
			return mismatch(path, "boolean", dst)
		}
		dst.SetBool(bool(x))
	case cbor.String:
		if dst.Kind() != reflect.String {
			return mismatch(path, "text string", dst)
		}
		dst.SetString(string(x))
	case cbor.Slice:
		if dst.Kind() != reflect.Slice || dst.Type().Elem().Kind() != reflect.Uint8 {
			return mismatch(path, "byte string", dst)
		}
		dst.SetBytes(append([]byte(nil), x...))
	case cbor.Uint, cbor.NegInt, cbor.Float32, cbor.Float64:
		return setNumber(x, dst, path)
	case cbor.List:
		switch dst.Kind() {
		case reflect.Slice:
			s := reflect.MakeSlice(dst.Type(), len(x), len(x))
			for i, e := range x {
				if err := fromCBOR(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			dst.Set(s)
		default:
			return mismatch(path, "list", dst)
		}
	case cbor.Map:
		switch dst.Kind() {
		case reflect.Map:
			if dst.Type().Key().Kind() != reflect.String {
				return mismatch(path, "map", dst)
			}
			m := reflect.MakeMapWithSize(dst.Type(), len(x))
			for k, e := range x {
				ev := reflect.New(dst.Type().Elem()).Elem()
				if err := fromCBOR(e, ev, path+"."+k); err != nil {
					return err
				}
				m.SetMapIndex(reflect.ValueOf(k).Convert(dst.Type().Key()), ev)
			}
			dst.Set(m)
		case reflect.Struct:
			fields := structFields(dst.Type())
			for k, e := range x {
				f, ok := findField(fields, k)
				if !ok {
					continue
				}
				if err := fromCBOR(e, dst.Field(f.index), joinPath(path, k)); err != nil {
					return err
				}
			}
		default:
			return mismatch(path, "map", dst)
		}
	default:
		return mismatch(path, fmt.Sprintf("%T", val), dst)
	}
	return nil
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func findField(fields []fieldInfo, key string) (fieldInfo, bool) {
	for _, f := range fields {
		if f.name == key {
			return f, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return f, true
		}
	}
	return fieldInfo{}, false
}

func assign(dst, v reflect.Value, path string) error {
	if dst.Kind() == reflect.Pointer {
		p := reflect.New(dst.Type().Elem())
		if !v.Type().AssignableTo(p.Elem().Type()) {
			return mismatch(path, v.Type().String(), dst)
		}
		p.Elem().Set(v)
		dst.Set(p)
		return nil
	}
	if !v.Type().AssignableTo(dst.Type()) {
		return mismatch(path, v.Type().String(), dst)
	}
	dst.Set(v)
	return nil
}

func mismatch(path, got string, dst reflect.Value) error {
	if path == "" {
		path = "body"
	}
	return Serializationf("%s: expected %s, got CBOR %s", path, dst.Type(), got)
}

func epochTime(val cbor.Value, path string) (time.Time, error) {
	var f float64
	switch x := val.(type) {
	case cbor.Uint:
		f = float64(x)
	case cbor.NegInt:
		f = -float64(x)
	case cbor.Float32:
		f = float64(x)
	case cbor.Float64:
		f = float64(x)
	default:
		return time.Time{}, Serializationf("%s: timestamp must be a number, got CBOR %T", path, val)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
		return time.Time{}, Serializationf("%s: timestamp %v out of range", path, f)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
}

func setNumber(val cbor.Value, dst reflect.Value, path string) error {
	var (
		f       float64
		u       uint64
		neg     bool
		integer = true
	)
	switch x := val.(type) {
	case cbor.Uint:
		u, f = uint64(x), float64(x)
	case cbor.NegInt:
		// NegInt(n) is -n; NegInt(0) stands for -2^64.
		neg, u, f = true, uint64(x), -float64(x)
		if x == 0 {
			f = -math.Pow(2, 64)
		}
	case cbor.Float32:
		f, integer = float64(x), false
	case cbor.Float64:
		f, integer = float64(x), false
	}
	switch dst.Kind() {
	case reflect.Float32, reflect.Float64:
		dst.SetFloat(f)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var n int64
		switch {
		case !integer:
			if f != math.Trunc(f) || math.Abs(f) > 1<<62 {
				return Serializationf("%s: %v is not an integer", path, f)
			}
			n = int64(f)
		case neg:
			if u == 0 || u > 1<<63 {
				return Serializationf("%s: integer out of range", path)
			}
			n = -int64(u-1) - 1
		default:
			if u > math.MaxInt64 {
				return Serializationf("%s: integer out of range", path)
			}
			n = int64(u)
		}
		if dst.OverflowInt(n) {
			return Serializationf("%s: %d out of range for %s", path, n, dst.Type())
		}
		dst.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if neg || !integer && (f < 0 || f != math.Trunc(f) || f > 1<<63) {
			return Serializationf("%s: %v is not an unsigned integer", path, f)
		}
		if !integer {
			u = uint64(f)
		}
		if dst.OverflowUint(u) {
			return Serializationf("%s: %d out of range for %s", path, u, dst.Type())
		}
		dst.SetUint(u)
	default:
		return mismatch(path, "number", dst)
	}
	return nil
}

// generic converts a CBOR value to plain Go: map[string]any, []any, string,
// []byte, bool, float64, time.Time (tag 1) or nil.
func generic(val cbor.Value, path string, depth int) (any, error) {
	if depth > maxCBORDepth {
		return nil, Serializationf("CBOR body nested too deeply")
	}
	switch x := val.(type) {
	case cbor.Uint:
		return float64(x), nil
	case cbor.NegInt:
		return -float64(x), nil
	case cbor.Float32:
		return float64(x), nil
	case cbor.Float64:
		return float64(x), nil
	case cbor.String:
		return string(x), nil
	case cbor.Slice:
		return []byte(x), nil
	case cbor.Bool:
		return bool(x), nil
	case *cbor.Nil, *cbor.Undefined:
		return nil, nil
	case *cbor.Tag:
		if x.ID == 1 {
			return epochTime(x.Value, path)
		}
		return generic(x.Value, path, depth+1)
	case cbor.List:
		out := make([]any, len(x))
		for i, e := range x {
			g, err := generic(e, path, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = g
		}
		return out, nil
	case cbor.Map:
		out := make(map[string]any, len(x))
		for k, e := range x {
			g, err := generic(e, path, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = g
		}
		return out, nil
	}
	return nil, Serializationf("%s: unsupported CBOR value %T", path, val)
}
