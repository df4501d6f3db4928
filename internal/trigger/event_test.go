package trigger

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/events"
)

func sample(t testing.TB, name string) []byte {
	t.Helper()
	data, err := events.Files.ReadFile(name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return data
}

// edit returns the sample with change applied to its generic JSON form.
func edit(t testing.TB, name string, change func(doc map[string]any)) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(sample(t, name), &doc); err != nil {
		t.Fatal(err)
	}
	change(doc)
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func detail(doc map[string]any) map[string]any { return doc["detail"].(map[string]any) }

func TestParseECRImageAction(t *testing.T) {
	ev, err := ParseECRImageAction(sample(t, "ecr-push.json"))
	if err != nil {
		t.Fatalf("parse ecr-push.json: %v", err)
	}
	want := ECRImageAction{
		Result: "SUCCESS", RepositoryName: "web", ActionType: "PUSH", ImageTag: "v1.4.2",
		ImageDigest:       "sha256:3f1b9a2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8",
		ManifestMediaType: "application/vnd.oci.image.manifest.v1+json",
		ArtifactMediaType: "application/vnd.oci.image.config.v1+json",
	}
	if diff := cmp.Diff(want, ev.Detail); diff != "" {
		t.Errorf("detail (-want +got):\n%s", diff)
	}
	if ev.ID != "4f5ec4d5-4de4-7aad-a046-56d5cfe1df0e" {
		t.Errorf("got id %q, want the sample's", ev.ID)
	}

	untagged, err := ParseECRImageAction(sample(t, "ecr-push-untagged.json"))
	if err != nil {
		t.Fatalf("parse ecr-push-untagged.json: %v", err)
	}
	if untagged.Detail.ImageTag != "" {
		t.Errorf("got tag %q for an untagged push, want none", untagged.Detail.ImageTag)
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	type parser func([]byte) error
	ecr := func(b []byte) error { _, err := ParseECRImageAction(b); return err }
	s3 := func(b []byte) error { _, err := ParseObjectCreated(b); return err }
	alarm := func(b []byte) error { _, err := ParseAlarmStateChange(b); return err }
	ecs := func(b []byte) error { _, err := ParseECSDeploymentStateChange(b); return err }

	tests := map[string]struct {
		parse     parser
		data      []byte
		wantField string
		wantIn    string // part of the reason
	}{
		"not json":         {ecr, []byte(`{"version":`), "", "not an event"},
		"an array":         {ecr, []byte(`[]`), "", "not an event"},
		"null":             {ecr, []byte(`null`), "source", "missing"},
		"trailing data":    {ecr, append(sample(t, "ecr-push.json"), '}'), "", "after the JSON object"},
		"wrong source":     {ecr, sample(t, "s3-object-created-service.json"), "source", `"aws.s3", want "aws.ecr"`},
		"wrong detailtype": {ecr, edit(t, "ecr-push.json", func(d map[string]any) { d["detail-type"] = "ECR Image Scan" }), "detail-type", "want"},
		"no id":            {ecr, edit(t, "ecr-push.json", func(d map[string]any) { delete(d, "id") }), "id", "missing"},
		"no detail":        {ecr, edit(t, "ecr-push.json", func(d map[string]any) { delete(d, "detail") }), "detail", "missing"},
		"detail null":      {ecr, edit(t, "ecr-push.json", func(d map[string]any) { d["detail"] = nil }), "detail", "missing"},
		"detail string":    {ecr, edit(t, "ecr-push.json", func(d map[string]any) { d["detail"] = "x" }), "detail", "string"},
		"bad time":         {ecr, edit(t, "ecr-push.json", func(d map[string]any) { d["time"] = "yesterday" }), "", "RFC 3339"},
		"numeric tag":      {ecr, edit(t, "ecr-push.json", func(d map[string]any) { detail(d)["image-tag"] = 7 }), "detail.image-tag", "number"},
		"no repository":    {ecr, edit(t, "ecr-push.json", func(d map[string]any) { delete(detail(d), "repository-name") }), "detail.repository-name", "missing"},
		"bad repository":   {ecr, edit(t, "ecr-push.json", func(d map[string]any) { detail(d)["repository-name"] = "Web App" }), "detail.repository-name", "not an ECR repository name"},
		"no action":        {ecr, edit(t, "ecr-push.json", func(d map[string]any) { delete(detail(d), "action-type") }), "detail.action-type", "missing"},
		"no result":        {ecr, edit(t, "ecr-push.json", func(d map[string]any) { delete(detail(d), "result") }), "detail.result", "missing"},
		"bad tag":          {ecr, edit(t, "ecr-push.json", func(d map[string]any) { detail(d)["image-tag"] = "-v1" }), "detail.image-tag", "not an image tag"},
		"no digest":        {ecr, edit(t, "ecr-push.json", func(d map[string]any) { delete(detail(d), "image-digest") }), "detail.image-digest", "missing"},
		"short digest":     {ecr, edit(t, "ecr-push.json", func(d map[string]any) { detail(d)["image-digest"] = "sha256:abc" }), "detail.image-digest", "not a sha256 digest"},

		"s3 no bucket":  {s3, edit(t, "s3-object-created-service.json", func(d map[string]any) { delete(detail(d), "bucket") }), "detail.bucket.name", "missing"},
		"s3 no key":     {s3, edit(t, "s3-object-created-service.json", func(d map[string]any) { delete(detail(d)["object"].(map[string]any), "key") }), "detail.object.key", "missing"},
		"s3 no version": {s3, edit(t, "s3-object-created-service.json", func(d map[string]any) { delete(detail(d)["object"].(map[string]any), "version-id") }), "detail.object.version-id", "versioning"},
		"s3 size":       {s3, edit(t, "s3-object-created-service.json", func(d map[string]any) { detail(d)["object"].(map[string]any)["size"] = -1 }), "detail.object.size", "negative"},
		"s3 deleted":    {s3, edit(t, "s3-object-created-service.json", func(d map[string]any) { d["detail-type"] = "Object Deleted" }), "detail-type", "want"},

		"alarm no name":   {alarm, edit(t, "alarm-state-change.json", func(d map[string]any) { delete(detail(d), "alarmName") }), "detail.alarmName", "missing"},
		"alarm no state":  {alarm, edit(t, "alarm-state-change.json", func(d map[string]any) { delete(detail(d), "state") }), "detail.state.value", "missing"},
		"alarm bad state": {alarm, edit(t, "alarm-state-change.json", func(d map[string]any) { detail(d)["state"].(map[string]any)["value"] = "RED" }), "detail.state.value", "not OK, ALARM"},

		"ecs no name":       {ecs, edit(t, "ecs-deployment-failed.json", func(d map[string]any) { delete(detail(d), "eventName") }), "detail.eventName", "missing"},
		"ecs no deployment": {ecs, edit(t, "ecs-deployment-failed.json", func(d map[string]any) { delete(detail(d), "deploymentId") }), "detail.deploymentId", "missing"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.parse(tc.data)
			var m *MalformedEvent
			if !errors.As(err, &m) {
				t.Fatalf("got error %v, want a *MalformedEvent", err)
			}
			if m.Field != tc.wantField {
				t.Errorf("got field %q, want %q (%v)", m.Field, tc.wantField, err)
			}
			if !strings.Contains(m.Reason, tc.wantIn) {
				t.Errorf("got reason %q, want it to contain %q", m.Reason, tc.wantIn)
			}
			if m.DetailType == "" {
				t.Errorf("got no detail type in %v", err)
			}
		})
	}
}

func TestParseAcceptsWhatAWSMayAdd(t *testing.T) {
	// AWS adds fields to its events over time; none of them may make a valid
	// event malformed.
	data := edit(t, "ecr-push.json", func(d map[string]any) {
		d["replay-name"] = "replay-1"
		detail(d)["new-field"] = map[string]any{"x": 1}
	})
	if _, err := ParseECRImageAction(data); err != nil {
		t.Errorf("got %v, want extra fields accepted", err)
	}
	// A failed push carries no digest and is still a well-formed event.
	failed := edit(t, "ecr-push.json", func(d map[string]any) {
		detail(d)["result"] = "FAILURE"
		delete(detail(d), "image-digest")
	})
	if _, err := ParseECRImageAction(failed); err != nil {
		t.Errorf("failed push: got %v, want it parsed", err)
	}
	// An event name ECS may add later is for the handler to ignore.
	unknown := edit(t, "ecs-deployment-completed.json", func(d map[string]any) {
		detail(d)["eventName"] = "SERVICE_DEPLOYMENT_PAUSED"
	})
	if _, err := ParseECSDeploymentStateChange(unknown); err != nil {
		t.Errorf("unknown ECS event name: got %v, want it parsed", err)
	}
}

func TestParseAlarmAndECS(t *testing.T) {
	a, err := ParseAlarmStateChange(sample(t, "alarm-state-change.json"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Detail.AlarmName != "web-5xx" || a.Detail.State.Value != AlarmStateAlarm || a.Detail.PreviousState.Value != AlarmStateOK {
		t.Errorf("got alarm %s %s→%s, want web-5xx OK→ALARM", a.Detail.AlarmName, a.Detail.PreviousState.Value, a.Detail.State.Value)
	}
	if !strings.HasPrefix(a.Detail.State.Reason, "Threshold Crossed") {
		t.Errorf("got reason %q, want the state's reason", a.Detail.State.Reason)
	}
	e, err := ParseECSDeploymentStateChange(sample(t, "ecs-deployment-failed.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := ECSDeploymentStateChange{EventType: "ERROR", EventName: ECSDeploymentFailed, DeploymentID: "ecs-svc/4218301648853079204",
		UpdatedAt: "2026-11-25T16:43:11.655Z", Reason: "ECS deployment circuit breaker: tasks failed to start."}
	if diff := cmp.Diff(want, e.Detail); diff != "" {
		t.Errorf("detail (-want +got):\n%s", diff)
	}
}

func TestMalformedEventMessage(t *testing.T) {
	err := &MalformedEvent{DetailType: DetailTypeECRImageAction, ID: "abc", Field: "detail.image-digest", Reason: "missing"}
	want := "malformed ECR Image Action event abc: detail.image-digest: missing"
	if got := err.Error(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
