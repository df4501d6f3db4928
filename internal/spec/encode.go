package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"
)

// specEncoder is implemented by types whose spec form is not their Go
// structure (a duration is written "5m").
type specEncoder interface {
	encodeSpec() *node
}

var encoderType = reflect.TypeFor[specEncoder]()

// encode converts a Go value to a node tree with the spec's (the AWS APIs')
// camelCase field names. Zero values are left out, as the APIs treat an
// absent field and a zero one alike; encode returns nil for a zero value.
func encode(v reflect.Value) *node {
	if !v.IsValid() {
		return nil
	}
	if v.Type().Implements(encoderType) {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return nil
		}
		return v.Interface().(specEncoder).encodeSpec()
	}
	switch t := v.Type(); {
	case t == timeType:
		tm := v.Interface().(time.Time)
		if tm.IsZero() {
			return nil
		}
		return &node{kind: stringKind, value: tm.UTC().Format(time.RFC3339)}
	case t == rawType:
		if v.Len() == 0 {
			return nil
		}
		n, _ := fromJSON("", v.Bytes())
		return n
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		e := encode(v.Elem())
		if e == nil && v.Kind() == reflect.Pointer {
			// A pointer to a zero value is still a value the writer set
			// (desiredCount: 0, assignPublicIp: false).
			return zeroNode(v.Elem())
		}
		return e
	case reflect.Struct:
		n := &node{kind: mapKind}
		t := v.Type()
		for i := range t.NumField() {
			name := fieldName(t.Field(i))
			if name == "" {
				continue
			}
			if fv := encode(v.Field(i)); fv != nil {
				n.keys = append(n.keys, name)
				n.vals = append(n.vals, fv)
			}
		}
		if len(n.keys) == 0 {
			return nil
		}
		return n
	case reflect.Slice, reflect.Array:
		if v.Len() == 0 {
			return nil
		}
		n := &node{kind: listKind}
		empty := true
		for i := range v.Len() {
			item := encode(v.Index(i))
			if item == nil {
				item = zeroNode(v.Index(i))
			} else {
				empty = false
			}
			n.items = append(n.items, item)
		}
		if empty && v.Kind() == reflect.Array {
			return nil
		}
		return n
	case reflect.Map:
		if v.Len() == 0 {
			return nil
		}
		n := &node{kind: mapKind}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int {
			return cmpString(a.String(), b.String())
		})
		for _, k := range keys {
			item := encode(v.MapIndex(k))
			if item == nil {
				item = zeroNode(v.MapIndex(k))
			}
			n.keys = append(n.keys, k.String())
			n.vals = append(n.vals, item)
		}
		return n
	case reflect.String:
		if v.Len() == 0 {
			return nil
		}
		return &node{kind: stringKind, value: v.String()}
	case reflect.Bool:
		if !v.Bool() {
			return nil
		}
		return &node{kind: boolKind, value: "true"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() == 0 {
			return nil
		}
		return &node{kind: intKind, value: strconv.FormatInt(v.Int(), 10)}
	case reflect.Float32, reflect.Float64:
		if v.Float() == 0 {
			return nil
		}
		return &node{kind: floatKind, value: strconv.FormatFloat(v.Float(), 'g', -1, 64)}
	}
	return nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// zeroNode is the explicit form of a zero value: 0, false, "" or {}.
func zeroNode(v reflect.Value) *node {
	switch v.Kind() {
	case reflect.Bool:
		return &node{kind: boolKind, value: "false"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &node{kind: intKind, value: "0"}
	case reflect.Float32, reflect.Float64:
		return &node{kind: floatKind, value: "0"}
	case reflect.String:
		return &node{kind: stringKind, value: ""}
	case reflect.Struct, reflect.Map:
		return &node{kind: mapKind}
	case reflect.Slice, reflect.Array:
		return &node{kind: listKind}
	}
	return &node{kind: nullKind}
}

// MarshalAPI encodes v (an SDK input such as *ecs.RegisterTaskDefinitionInput,
// or a Slipway spec type) as indented JSON with the AWS APIs' camelCase field
// names, leaving out zero values: the form `aws ecs ... --cli-input-json`
// and the ECS API accept.
func MarshalAPI(v any) ([]byte, error) {
	n := encode(reflect.ValueOf(v))
	if n == nil {
		n = &node{kind: mapKind}
	}
	var b bytes.Buffer
	n.marshalJSON(&b)
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("indent %T: %w", v, err)
	}
	return out.Bytes(), nil
}
