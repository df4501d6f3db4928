package cloudwatch

import (
	"encoding/xml"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// The query protocol's form of the operation structs: members named as the
// struct fields (json tag, else Go name), lists as Name.member.N, nested
// structures as Name.Field, timestamps in ISO 8601.

var timeType = reflect.TypeFor[time.Time]()

// maxQueryDepth bounds the nesting of the structures decoded.
const maxQueryDepth = 8

// fieldName returns the member name of a struct field and whether it is
// omitted when zero.
func fieldName(f reflect.StructField) (name string, omitEmpty bool) {
	tag := f.Tag.Get("json")
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name, strings.Contains(opts, "omitempty")
}

// decodeQuery fills the struct v points to from query parameters.
func decodeQuery(params url.Values, v any) error {
	return decodeStruct(params, "", reflect.ValueOf(v).Elem(), 0)
}

func decodeStruct(p url.Values, prefix string, dst reflect.Value, depth int) error {
	if depth > maxQueryDepth {
		return invalidParameter("parameters nested too deeply at %s", prefix)
	}
	t := dst.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _ := fieldName(f)
		if name == "-" {
			continue
		}
		if err := decodeValue(p, prefix+name, dst.Field(i), depth); err != nil {
			return err
		}
	}
	return nil
}

// present reports whether any parameter is key or lies under it.
func present(p url.Values, key string) bool {
	for k := range p {
		if k == key || strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

func decodeValue(p url.Values, key string, dst reflect.Value, depth int) error {
	if dst.Type() == timeType {
		s := p.Get(key)
		if s == "" {
			return nil
		}
		t, err := parseTimestamp(s)
		if err != nil {
			return invalidParameter("The value %s for parameter %s is not a valid ISO 8601 timestamp.", s, key)
		}
		dst.Set(reflect.ValueOf(t))
		return nil
	}
	switch dst.Kind() {
	case reflect.Pointer:
		if !present(p, key) {
			return nil
		}
		v := reflect.New(dst.Type().Elem())
		if err := decodeValue(p, key, v.Elem(), depth+1); err != nil {
			return err
		}
		dst.Set(v)
	case reflect.Struct:
		return decodeStruct(p, key+".", dst, depth+1)
	case reflect.Slice:
		elem := dst.Type().Elem()
		if elem.Kind() == reflect.Struct && elem != timeType {
			members := protocol.QueryStructs(p, key+".member")
			s := reflect.MakeSlice(dst.Type(), len(members), len(members))
			for i, m := range members {
				if err := decodeStruct(m, "", s.Index(i), depth+1); err != nil {
					return err
				}
			}
			if len(members) > 0 {
				dst.Set(s)
			}
			return nil
		}
		items := protocol.QueryList(p, key+".member")
		s := reflect.MakeSlice(dst.Type(), len(items), len(items))
		for i, item := range items {
			if err := setScalar(s.Index(i), item, key+".member."+strconv.Itoa(i+1)); err != nil {
				return err
			}
		}
		if len(items) > 0 {
			dst.Set(s)
		}
	case reflect.Map:
		// No CloudWatch input this service reads has a map.
	default:
		if v, ok := p[key]; ok && len(v) > 0 {
			return setScalar(dst, v[0], key)
		}
	}
	return nil
}

func setScalar(dst reflect.Value, s, key string) error {
	bad := func() error { return invalidParameter("The value %s for parameter %s is invalid.", s, key) }
	switch dst.Kind() {
	case reflect.String:
		dst.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return bad()
		}
		dst.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, dst.Type().Bits())
		if err != nil {
			return bad()
		}
		dst.SetInt(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return bad()
		}
		dst.SetFloat(f)
	default:
		if dst.Type() == timeType {
			t, err := parseTimestamp(s)
			if err != nil {
				return bad()
			}
			dst.Set(reflect.ValueOf(t))
			return nil
		}
		return bad()
	}
	return nil
}

// parseTimestamp reads ISO 8601 (what clients send) or epoch seconds.
func parseTimestamp(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.Abs(f) > 1e11 {
		return time.Time{}, strconv.ErrSyntax
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// queryResult writes an operation's output as the content of
// <{Action}Result>.
type queryResult struct{ v any }

// MarshalXML writes the fields of the output inside start.
func (r queryResult) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	if err := encodeFields(e, reflect.ValueOf(r.v)); err != nil {
		return err
	}
	return e.EncodeToken(start.End())
}

func encodeFields(e *xml.Encoder, v reflect.Value) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, omit := fieldName(f)
		fv := v.Field(i)
		if name == "-" || omit && fv.IsZero() {
			continue
		}
		if err := encodeValue(e, name, fv); err != nil {
			return err
		}
	}
	return nil
}

func encodeValue(e *xml.Encoder, name string, v reflect.Value) error {
	start := xml.StartElement{Name: xml.Name{Local: name}}
	if v.Type() == timeType {
		return e.EncodeElement(v.Interface().(time.Time).UTC().Format("2006-01-02T15:04:05.000Z"), start)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return encodeValue(e, name, v.Elem())
	case reflect.Struct:
		if err := e.EncodeToken(start); err != nil {
			return err
		}
		if err := encodeFields(e, v); err != nil {
			return err
		}
		return e.EncodeToken(start.End())
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		if err := e.EncodeToken(start); err != nil {
			return err
		}
		for i := range v.Len() {
			if err := encodeValue(e, "member", v.Index(i)); err != nil {
				return err
			}
		}
		return e.EncodeToken(start.End())
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		if err := e.EncodeToken(start); err != nil {
			return err
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			entry := xml.StartElement{Name: xml.Name{Local: "entry"}}
			if err := e.EncodeToken(entry); err != nil {
				return err
			}
			if err := encodeValue(e, "key", k); err != nil {
				return err
			}
			if err := encodeValue(e, "value", v.MapIndex(k)); err != nil {
				return err
			}
			if err := e.EncodeToken(entry.End()); err != nil {
				return err
			}
		}
		return e.EncodeToken(start.End())
	case reflect.String:
		return e.EncodeElement(v.String(), start)
	case reflect.Bool:
		return e.EncodeElement(strconv.FormatBool(v.Bool()), start)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return e.EncodeElement(strconv.FormatInt(v.Int(), 10), start)
	case reflect.Float32, reflect.Float64:
		return e.EncodeElement(strconv.FormatFloat(v.Float(), 'f', -1, 64), start)
	}
	return nil
}
