package spec

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	aasschemas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/schemas"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecsschemas "github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
	smithy "github.com/aws/smithy-go"
)

// TestFieldNamesMatchAPI checks the naming rule (Go field name with the
// first letter lowered) against the member names of the AWS API models the
// SDK ships, for every field reachable from the spec's API-shaped types: a
// spec field is spelt exactly as in the ECS API documentation. Application
// Auto Scaling's API spells members in PascalCase; the spec writes them in
// camelCase like the rest of the file, so those are compared with the first
// letter lowered.
func TestFieldNamesMatchAPI(t *testing.T) {
	tests := map[string]struct {
		typ    reflect.Type
		schema *smithy.Schema
		pascal bool // the API spells members in PascalCase
	}{
		"RegisterTaskDefinition": {reflect.TypeFor[ecs.RegisterTaskDefinitionInput](), ecsschemas.RegisterTaskDefinitionRequest, false},
		"CreateService":          {reflect.TypeFor[ServiceDefinition](), ecsschemas.CreateServiceRequest, false},
		"RegisterScalableTarget": {reflect.TypeFor[struct{ MinCapacity, MaxCapacity int32 }](), aasschemas.RegisterScalableTargetRequest, true},
		"PutScalingPolicy":       {reflect.TypeFor[ScalingPolicy](), aasschemas.PutScalingPolicyRequest, true},
		"PutScheduledAction":     {reflect.TypeFor[ScheduledAction](), aasschemas.PutScheduledActionRequest, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			checked := 0
			checkNames(t, tc.typ, tc.schema, tc.pascal, name, map[reflect.Type]bool{}, &checked)
			if checked < 2 {
				t.Errorf("got %d fields checked, want the whole shape", checked)
			}
		})
	}
}

func checkNames(t *testing.T, typ reflect.Type, s *smithy.Schema, pascal bool, path string, seen map[reflect.Type]bool, checked *int) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch typ.Kind() {
	case reflect.Slice:
		if typ.Elem().Kind() == reflect.Uint8 {
			return
		}
		checkNames(t, typ.Elem(), s.ListMember(), pascal, path+"[]", seen, checked)
		return
	case reflect.Map:
		checkNames(t, typ.Elem(), s.MapValue(), pascal, path+"{}", seen, checked)
		return
	case reflect.Struct:
	default:
		return
	}
	if typ == reflect.TypeFor[time.Time]() || seen[typ] {
		return
	}
	seen[typ] = true
	for i := range typ.NumField() {
		f := typ.Field(i)
		name := fieldName(f)
		if name == "" {
			continue
		}
		member := name
		if pascal {
			member = strings.ToUpper(name[:1]) + name[1:]
		}
		m := s.Member(member)
		if m == nil {
			var have []string
			for k := range s.Members() {
				have = append(have, k)
			}
			slices.Sort(have)
			t.Errorf("%s: Go field %s is spelt %q, want one of the API's members %v", path, f.Name, name, have)
			continue
		}
		*checked++
		checkNames(t, f.Type, m, pascal, path+"."+name, seen, checked)
	}
}
