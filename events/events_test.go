package events

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"path"
	"strings"
	"testing"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/trigger"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// roundTrip decodes a payload into v, encodes v again and returns both the
// original and the re-encoded document as generic JSON, so they compare
// semantically (key order and spacing do not matter; values and types do).
func roundTrip(t *testing.T, data []byte, v any) (orig, again any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode into %T: %v", v, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	if err := json.Unmarshal(data, &orig); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &again); err != nil {
		t.Fatal(err)
	}
	return orig, again
}

// dropPaths removes the given dotted paths from a generic JSON object.
func dropPaths(doc any, paths []string) any {
	for _, p := range paths {
		parts := strings.Split(p, ".")
		m, _ := doc.(map[string]any)
		for _, part := range parts[:len(parts)-1] {
			m, _ = m[part].(map[string]any)
		}
		delete(m, parts[len(parts)-1])
	}
	return doc
}

// lookup returns the value at a dotted path of a generic JSON object.
func lookup(doc any, path string) any {
	for _, part := range strings.Split(path, ".") {
		m, _ := doc.(map[string]any)
		doc = m[part]
	}
	return doc
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	data, err := Files.ReadFile(name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return data
}

// TestRoundTripOwnTypes checks that the types of internal/trigger model every
// field of every sample event: decoding and re-encoding loses nothing.
func TestRoundTripOwnTypes(t *testing.T) {
	tests := map[string]func() any{
		"ecr-push.json":                      func() any { return new(trigger.Envelope[trigger.ECRImageAction]) },
		"ecr-push-untagged.json":             func() any { return new(trigger.Envelope[trigger.ECRImageAction]) },
		"s3-object-created-service.json":     func() any { return new(trigger.Envelope[trigger.ObjectCreated]) },
		"s3-object-created-environment.json": func() any { return new(trigger.Envelope[trigger.ObjectCreated]) },
		"alarm-state-change.json":            func() any { return new(trigger.Envelope[trigger.AlarmStateChange]) },
		"alarm-ok.json":                      func() any { return new(trigger.Envelope[trigger.AlarmStateChange]) },
		"ecs-deployment-in-progress.json":    func() any { return new(trigger.Envelope[trigger.ECSDeploymentStateChange]) },
		"ecs-deployment-completed.json":      func() any { return new(trigger.Envelope[trigger.ECSDeploymentStateChange]) },
		"ecs-deployment-failed.json":         func() any { return new(trigger.Envelope[trigger.ECSDeploymentStateChange]) },
		"ecs-service-deployment-state-change.json": func() any {
			return new(trigger.Envelope[trigger.ECSDeploymentStateChange])
		},
		"ecs-hook-state-change.json": func() any { return new(trigger.Envelope[trigger.ECSHookStateChange]) },
		"manual-start.json":          func() any { return new(workflow.Request) },
	}
	for name, newValue := range tests {
		t.Run(name, func(t *testing.T) {
			orig, again := roundTrip(t, read(t, name), newValue())
			if diff := cmp.Diff(orig, again); diff != "" {
				t.Errorf("round trip changed the payload (-file +re-encoded):\n%s", diff)
			}
		})
	}
}

// TestRoundTripLambdaTypes decodes the AWS events into aws-lambda-go's types,
// as a handler written against them would, and checks that only the fields
// those types do not model are lost.
func TestRoundTripLambdaTypes(t *testing.T) {
	tests := map[string]struct {
		newValue  func() any
		unmodeled []string // in the file, not in the type
		zeroAdded []string // not in the file, written by the type as ""
	}{
		"ecr-push.json": {
			newValue:  func() any { return new(lambdaevents.ECRImageActionEvent) },
			unmodeled: []string{"detail.manifest-media-type", "detail.artifact-media-type"},
		},
		"ecr-push-untagged.json": {
			newValue:  func() any { return new(lambdaevents.ECRImageActionEvent) },
			unmodeled: []string{"detail.manifest-media-type", "detail.artifact-media-type"},
			zeroAdded: []string{"detail.image-tag"},
		},
		"s3-object-created-service.json":           {newValue: func() any { return new(lambdaevents.EventBridgeEvent) }},
		"s3-object-created-environment.json":       {newValue: func() any { return new(lambdaevents.EventBridgeEvent) }},
		"alarm-state-change.json":                  {newValue: func() any { return new(lambdaevents.EventBridgeEvent) }},
		"alarm-ok.json":                            {newValue: func() any { return new(lambdaevents.EventBridgeEvent) }},
		"ecs-deployment-in-progress.json":          {newValue: func() any { return new(lambdaevents.EventBridgeEvent) }},
		"ecs-deployment-completed.json":            {newValue: func() any { return new(lambdaevents.EventBridgeEvent) }},
		"ecs-deployment-failed.json":               {newValue: func() any { return new(lambdaevents.EventBridgeEvent) }},
		"ecs-service-deployment-state-change.json": {newValue: func() any { return new(lambdaevents.EventBridgeEvent) }},
		"ecs-hook-state-change.json":               {newValue: func() any { return new(lambdaevents.EventBridgeEvent) }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			orig, again := roundTrip(t, read(t, name), tc.newValue())
			orig = dropPaths(orig, tc.unmodeled)
			for _, p := range tc.zeroAdded {
				if v := lookup(again, p); v != "" {
					t.Errorf("%s: got %v, want the type's zero value", p, v)
				}
			}
			again = dropPaths(again, tc.zeroAdded)
			if diff := cmp.Diff(orig, again); diff != "" {
				t.Errorf("round trip changed the payload (-file +re-encoded):\n%s", diff)
			}
		})
	}
}

// TestEverySampleIsCovered fails when a sample is added without a round trip.
func TestEverySampleIsCovered(t *testing.T) {
	names, err := fs.Glob(Files, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{
		"ecr-push.json": true, "ecr-push-untagged.json": true,
		"s3-object-created-service.json": true, "s3-object-created-environment.json": true,
		"alarm-state-change.json": true, "alarm-ok.json": true,
		"ecs-deployment-in-progress.json": true, "ecs-deployment-completed.json": true,
		"ecs-deployment-failed.json": true, "manual-start.json": true,
		"ecs-service-deployment-state-change.json": true, "ecs-hook-state-change.json": true,
	}
	for _, n := range names {
		if !covered[n] {
			t.Errorf("%s has no round-trip test", n)
		}
		delete(covered, n)
	}
	for n := range covered {
		t.Errorf("%s is tested but missing", n)
	}
}

// TestSamplesParse checks that each AWS sample passes its parser's edge
// validation and carries what the handlers act on.
func TestSamplesParse(t *testing.T) {
	tests := map[string]func([]byte) (any, error){
		"ecr-push.json":                      func(b []byte) (any, error) { return trigger.ParseECRImageAction(b) },
		"ecr-push-untagged.json":             func(b []byte) (any, error) { return trigger.ParseECRImageAction(b) },
		"s3-object-created-service.json":     func(b []byte) (any, error) { return trigger.ParseObjectCreated(b) },
		"s3-object-created-environment.json": func(b []byte) (any, error) { return trigger.ParseObjectCreated(b) },
		"alarm-state-change.json":            func(b []byte) (any, error) { return trigger.ParseAlarmStateChange(b) },
		"alarm-ok.json":                      func(b []byte) (any, error) { return trigger.ParseAlarmStateChange(b) },
		"ecs-deployment-in-progress.json":    func(b []byte) (any, error) { return trigger.ParseECSDeploymentStateChange(b) },
		"ecs-deployment-completed.json":      func(b []byte) (any, error) { return trigger.ParseECSDeploymentStateChange(b) },
		"ecs-deployment-failed.json":         func(b []byte) (any, error) { return trigger.ParseECSDeploymentStateChange(b) },
		"ecs-service-deployment-state-change.json": func(b []byte) (any, error) {
			return trigger.ParseECSDeploymentStateChange(b)
		},
		"ecs-hook-state-change.json": func(b []byte) (any, error) { return trigger.ParseECSHookStateChange(b) },
	}
	for name, parse := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := parse(read(t, name)); err != nil {
				t.Errorf("parse %s: %v", name, err)
			}
		})
	}
}

// TestManualStartIsARequest checks that the documented manual input holds
// only Request fields (strictly decoded) and names a service and environment.
func TestManualStartIsARequest(t *testing.T) {
	dec := json.NewDecoder(bytes.NewReader(read(t, "manual-start.json")))
	dec.DisallowUnknownFields()
	var req workflow.Request
	if err := dec.Decode(&req); err != nil {
		t.Fatalf("decode manual-start.json as a workflow.Request: %v", err)
	}
	want := workflow.Request{Service: "web", Environment: "staging", Image: "v1.4.2", Reason: "hotfix for checkout timeouts"}
	if diff := cmp.Diff(want, req); diff != "" {
		t.Errorf("manual start (-want +got):\n%s", diff)
	}
	// Pasted into the console, it is the whole execution input: a State.
	var st workflow.State
	if err := json.Unmarshal(read(t, "manual-start.json"), &st); err != nil {
		t.Fatalf("decode as a workflow.State: %v", err)
	}
	if diff := cmp.Diff(want, st.Request); diff != "" {
		t.Errorf("state request (-want +got):\n%s", diff)
	}
}

// TestSamplesAreNamedForTheirKind keeps file names and detail types in step.
func TestSamplesAreNamedForTheirKind(t *testing.T) {
	prefixes := map[string]string{
		"ecr-":   trigger.DetailTypeECRImageAction,
		"s3-":    trigger.DetailTypeObjectCreated,
		"alarm-": trigger.DetailTypeAlarmStateChange,
		"ecs-":   trigger.DetailTypeECSDeploymentState,
		// Lifecycle hooks of ECS-native deployments (see
		// internal/localcloud/ecs/deployments.go).
		"ecs-hook-": trigger.DetailTypeECSHookState,
	}
	names, _ := fs.Glob(Files, "*.json")
	for _, n := range names {
		// The longest prefix names the kind: ecs-hook- before ecs-.
		best := ""
		for p := range prefixes {
			if strings.HasPrefix(path.Base(n), p) && len(p) > len(best) {
				best = p
			}
		}
		if best == "" {
			continue
		}
		h, err := trigger.Header(read(t, n))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if want := prefixes[best]; h.DetailType != want {
			t.Errorf("%s: detail-type %q, want %q", n, h.DetailType, want)
		}
	}
}
