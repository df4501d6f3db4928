package trigger

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const roleAccount = "210987654321"

// roleConfig is testConfig with a role in another account, as an
// environment's roleArn names it.
func roleConfig() Config {
	c := testConfig
	c.AssumeRoles = []string{"arn:aws:iam::" + roleAccount + ":role/slipway-deployer"}
	return c
}

func TestConfigFromEnvAssumeRoles(t *testing.T) {
	env := map[string]string{EnvAssumeRoles: " arn:aws:iam::111111111111:role/a,,arn:aws:iam::222222222222:role/b "}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"arn:aws:iam::111111111111:role/a", "arn:aws:iam::222222222222:role/b"}
	if diff := cmp.Diff(want, c.AssumeRoles); diff != "" {
		t.Errorf("assume roles (-want +got):\n%s", diff)
	}
}

func TestOrigin(t *testing.T) {
	tests := map[string]struct {
		cfg             Config
		account, region string
		want            bool
	}{
		"the stack's account and region":           {cfg: testConfig, account: "123456789012", region: "eu-west-1", want: true},
		"a role's account":                         {cfg: roleConfig(), account: roleAccount, region: "eu-west-1", want: true},
		"another account":                          {cfg: roleConfig(), account: "999999999999", region: "eu-west-1"},
		"a role's account before it is configured": {cfg: testConfig, account: roleAccount, region: "eu-west-1"},
		"another region":                           {cfg: roleConfig(), account: "123456789012", region: "us-east-1"},
		"a role's account in another region":       {cfg: roleConfig(), account: roleAccount, region: "us-east-1"},
		"no account":                               {cfg: testConfig, account: "", region: "eu-west-1"},
		"no region":                                {cfg: testConfig, account: "123456789012", region: ""},
		"stack unknown": {cfg: Config{AssumeRoles: roleConfig().AssumeRoles},
			account: roleAccount, region: ""},
		"stack ARN malformed": {cfg: Config{StateMachineARN: "deploy"}, account: "", region: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.cfg.Origin().Accepts(tc.account, tc.region); got != tc.want {
				t.Errorf("got %t, want %t (origin %+v)", got, tc.want, tc.cfg.Origin())
			}
		})
	}
}

// TestEventsFromElsewhereIgnored hands each trigger function its sample
// event from the stack's account, from a role's account, and from an
// account or region that is neither: only the last is ignored, with a log
// line naming its account, region and source.
func TestEventsFromElsewhereIgnored(t *testing.T) {
	// acted reports whether the handler acted on the event: started a
	// deployment, or completed a wait.
	type handler func(t *testing.T, cfg Config, event []byte) (acted bool, l *logs)
	ecrPush := func(t *testing.T, cfg Config, event []byte) (bool, *logs) {
		sfn := newFakeSFN()
		log, l := newLogger()
		if err := NewECRPush(indexed(webEntry), sfn, cfg, log).Handle(context.Background(), event); err != nil {
			t.Fatalf("Handle: %v", err)
		}
		return len(sfn.executions()) > 0, l
	}
	specUpload := func(t *testing.T, cfg Config, event []byte) (bool, *logs) {
		st := bucket(t)
		st.put("services/web.yaml", serviceEventVersion, []byte(specFile(t, "services/web.yaml")))
		r := newUploadRig(st)
		r.h.origin = cfg.Origin()
		if err := r.h.Handle(context.Background(), event); err != nil {
			t.Fatalf("Handle: %v", err)
		}
		return len(r.sfn.executions()) > 0 || len(st.rejections) > 0, r.logs
	}
	signal := func(t *testing.T, cfg Config, event []byte) (bool, *logs) {
		st := newFakeStore()
		st.watches = watches()
		sfn := newFakeSFN()
		log, l := newLogger()
		if err := NewSignal(st, sfn, cfg, log).Handle(context.Background(), event); err != nil {
			t.Fatalf("Handle: %v", err)
		}
		return len(sfn.sent) > 0, l
	}
	handlers := map[string]struct {
		sample string
		source string
		handle handler
	}{
		"ecr-push":                {"ecr-push.json", SourceECR, ecrPush},
		"spec-upload":             {"s3-object-created-service.json", SourceS3, specUpload},
		"signal alarm":            {"alarm-state-change.json", SourceCloudWatch, signal},
		"signal ECS deployment":   {"ecs-deployment-completed.json", SourceECS, signal},
		"signal ECS failed":       {"ecs-deployment-failed.json", SourceECS, signal},
		"spec-upload environment": {"s3-object-created-environment.json", SourceS3, specUpload},
	}
	origins := map[string]struct {
		account, region string
		accepted        bool
	}{
		"the stack's":     {"123456789012", "eu-west-1", true},
		"a role's":        {roleAccount, "eu-west-1", true},
		"another account": {"999999999999", "eu-west-1", false},
		"another region":  {"123456789012", "us-east-1", false},
	}
	for hname, h := range handlers {
		for oname, o := range origins {
			t.Run(hname+"/"+oname, func(t *testing.T) {
				event := edit(t, h.sample, func(d map[string]any) { d["account"], d["region"] = o.account, o.region })
				acted, l := h.handle(t, roleConfig(), event)
				if o.accepted {
					if !acted && hname != "spec-upload environment" {
						t.Errorf("an event from %s account was not acted on; logs:\n%s", oname, l.buf.String())
					}
					for _, r := range l.records(t) {
						if r["msg"] == ignoredMessage {
							t.Errorf("an event from %s account was ignored as foreign", oname)
						}
					}
					return
				}
				if acted {
					t.Errorf("an event from %s was acted on, want it ignored", oname)
				}
				line := l.find(t, ignoredMessage)
				want := map[string]any{"account": o.account, "region": o.region, "source": h.source}
				got := map[string]any{"account": line["account"], "region": line["region"], "source": line["source"]}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("log attributes (-want +got):\n%s", diff)
				}
			})
		}
	}
}
