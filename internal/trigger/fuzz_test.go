package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// The fuzz targets check that no input makes a parser panic, that every
// rejection is a *MalformedEvent (so handlers log and drop it), and that
// whatever is accepted satisfies what the handlers rely on.

var allSamples = []string{
	"ecr-push.json", "ecr-push-untagged.json", "s3-object-created-service.json",
	"s3-object-created-environment.json", "alarm-state-change.json", "alarm-ok.json",
	"ecs-deployment-in-progress.json", "ecs-deployment-completed.json", "ecs-deployment-failed.json",
	"manual-start.json",
}

func seed(f *testing.F) {
	for _, name := range allSamples {
		f.Add(sample(f, name))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"source":"aws.ecr","detail-type":"ECR Image Action","id":"x","detail":{}}`))
}

func wantMalformed(t *testing.T, err error) {
	t.Helper()
	var m *MalformedEvent
	if !errors.As(err, &m) {
		t.Fatalf("got error %v (%T), want a *MalformedEvent", err, err)
	}
	if m.Reason == "" {
		t.Fatalf("got a *MalformedEvent without a reason: %v", err)
	}
}

func FuzzParseECRImageAction(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := ParseECRImageAction(data)
		if err != nil {
			wantMalformed(t, err)
			return
		}
		d := ev.Detail
		if ev.ID == "" || d.RepositoryName == "" || d.ActionType == "" || d.Result == "" {
			t.Fatalf("accepted an event missing a required field: %+v", ev)
		}
		if d.ActionType == ECRActionPush && d.Result == ECRResultSuccess && !imageDigest.MatchString(d.ImageDigest) {
			t.Fatalf("accepted a push with digest %q", d.ImageDigest)
		}
	})
}

func FuzzParseObjectCreated(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := ParseObjectCreated(data)
		if err != nil {
			wantMalformed(t, err)
			return
		}
		if ev.Detail.Bucket.Name == "" || ev.Detail.Object.Key == "" || ev.Detail.Object.VersionID == "" {
			t.Fatalf("accepted an event missing a required field: %+v", ev)
		}
	})
}

func FuzzParseAlarmStateChange(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := ParseAlarmStateChange(data)
		if err != nil {
			wantMalformed(t, err)
			return
		}
		if ev.Detail.AlarmName == "" || !validAlarmState(ev.Detail.State.Value) {
			t.Fatalf("accepted %+v", ev.Detail)
		}
	})
}

func FuzzParseECSDeploymentStateChange(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := ParseECSDeploymentStateChange(data)
		if err != nil {
			wantMalformed(t, err)
			return
		}
		if ev.Detail.EventName == "" || ev.Detail.DeploymentID == "" {
			t.Fatalf("accepted %+v", ev.Detail)
		}
	})
}

func FuzzParseSpecKey(f *testing.F) {
	for _, k := range []string{"services/web.yaml", "environments/prod.yml", "services/a%2Fb.json", "x", "services/.yaml", "environments/%zz"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ref, err := ParseSpecKey(raw)
		if err != nil {
			var ns *NotSpec
			if !errors.As(err, &ns) {
				wantMalformed(t, err)
			}
			return
		}
		prefix := ServicesPrefix
		if ref.Kind == SpecEnvironment {
			prefix = EnvironmentsPrefix
		}
		if !strings.HasPrefix(ref.Key, prefix) || ref.Name == "" || strings.Contains(ref.Name, "/") {
			t.Fatalf("ParseSpecKey(%q) = %+v", raw, ref)
		}
	})
}

func FuzzExecutionName(f *testing.F) {
	f.Add("web", "staging", "web@sha256:00", "v1", "e1")
	f.Add("", "", "", "", "")
	f.Add(strings.Repeat("é", 90), "prod", "", "", "")
	f.Fuzz(func(t *testing.T, svc, env, image, spec, envSpec string) {
		r := workflow.Request{Service: svc, Environment: env, Image: image, SpecVersion: spec, EnvironmentSpecVersion: envSpec}
		got := ExecutionName(r)
		if !validName.MatchString(got) {
			t.Fatalf("ExecutionName(%+v) = %q, not a valid execution name", r, got)
		}
		if again := ExecutionName(r); again != got {
			t.Fatalf("got %q then %q for one request", got, again)
		}
		r.SpecVersion += "x"
		if ExecutionName(r) == got {
			t.Fatalf("changing the spec version kept the name %q", got)
		}
	})
}

// FuzzHandlers feeds any payload to every handler with working fakes behind
// them: no input may panic, and none may return an error, since with
// nothing failing behind it a handler either acts or drops the event.
func FuzzHandlers(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		st := indexed(webEntry, workerEntry)
		st.loadSpecs(t)
		st.put("services/web.yaml", serviceEventVersion, sample(t, "manual-start.json"))
		st.put("environments/staging.yaml", environmentEventVersion, []byte("cluster: staging\n"))
		st.watches = watches()
		sfn := newFakeSFN()
		log, _ := newLogger()
		handlers := map[string]func(context.Context, json.RawMessage) error{
			"ecr-push":    NewECRPush(st, sfn, testConfig, log).Handle,
			"spec-upload": NewSpecUpload(st, sfn, &fakeEvents{}, testConfig, log).Handle,
			"signal":      NewSignal(st, sfn, testConfig, log).Handle,
		}
		for name, h := range handlers {
			if err := h(context.Background(), data); err != nil {
				t.Fatalf("%s: got %v, want nil", name, err)
			}
		}
	})
}

// FuzzSpecUploadBody uploads arbitrary spec content, as a service and as an
// environment: the upload is accepted or rejected, never a crash or an
// error.
func FuzzSpecUploadBody(f *testing.F) {
	for _, name := range []string{"services/web.yaml", "services/worker.yaml", "environments/staging.yaml", "environments/prod.yaml"} {
		b, err := os.ReadFile("testdata/specs/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("taskDefinition: {}\n"))
	cases := []struct {
		event        []byte
		key, version string
	}{
		{sample(f, "s3-object-created-service.json"), "services/web.yaml", serviceEventVersion},
		{sample(f, "s3-object-created-environment.json"), "environments/staging.yaml", environmentEventVersion},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, c := range cases {
			st := indexed(webEntry, workerEntry)
			st.loadSpecs(t)
			st.put(c.key, c.version, body)
			log, _ := newLogger()
			h := NewSpecUpload(st, newFakeSFN(), &fakeEvents{}, testConfig, log)
			if err := h.Handle(context.Background(), c.event); err != nil {
				t.Fatalf("%s: got %v, want nil", c.key, err)
			}
		}
	})
}
