package sts

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi/awsapitest"
	"github.com/slipwayhq/slipway/internal/workflow"
)

const role = "arn:aws:iam::222233334444:role/slipway-deploy"

// call is one request the fake STS received: the form and the access key
// that signed it.
type call struct {
	Form      url.Values
	AccessKey string
	Token     string // X-Amz-Security-Token
}

// fake is an STS endpoint speaking the query protocol: form-encoded
// requests, XML responses. It issues session credentials ASIATEST for
// AssumeRole and answers GetCallerIdentity with the identity of the key that
// signed the request, or with status and errBody when status is set.
type fake struct {
	t       *testing.T
	status  int
	errBody string
	mu      sync.Mutex
	calls   []call
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("parse form: %v", err)
	}
	// Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/region/sts/aws4_request, ...
	_, cred, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	key, _, _ := strings.Cut(cred, "/")
	f.mu.Lock()
	f.calls = append(f.calls, call{Form: r.PostForm, AccessKey: key, Token: r.Header.Get("X-Amz-Security-Token")})
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	if f.status != 0 {
		w.WriteHeader(f.status)
		io.WriteString(w, f.errBody)
		return
	}
	switch r.PostForm.Get("Action") {
	case "AssumeRole":
		io.WriteString(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
			<Credentials><AccessKeyId>ASIATEST</AccessKeyId><SecretAccessKey>session-secret</SecretAccessKey>
			<SessionToken>session-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>
			<AssumedRoleUser><Arn>arn:aws:sts::222233334444:assumed-role/slipway-deploy/d-1</Arn>
			<AssumedRoleId>AROATEST:d-1</AssumedRoleId></AssumedRoleUser></AssumeRoleResult>
			<ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></AssumeRoleResponse>`)
	case "GetCallerIdentity":
		account, arn := "111122223333", "arn:aws:iam::111122223333:user/ci"
		if key == "ASIATEST" {
			account, arn = "222233334444", "arn:aws:sts::222233334444:assumed-role/slipway-deploy/d-1"
		}
		io.WriteString(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>
			<Arn>`+arn+`</Arn><UserId>AIDATEST</UserId><Account>`+account+`</Account></GetCallerIdentityResult>
			<ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)
	default:
		f.t.Errorf("unexpected action %q", r.PostForm.Get("Action"))
	}
}

// seen returns the calls f received.
func (f *fake) seen() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// config returns the configuration of a caller with long-term key AKIDBASE
// talking to f, without retries.
func config(t *testing.T, f *fake) aws.Config {
	cfg := awsapitest.Serve(t, f)
	cfg.Credentials = credentials.NewStaticCredentialsProvider("AKIDBASE", "base-secret", "")
	return cfg
}

func TestCallerIdentity(t *testing.T) {
	f := &fake{t: t}
	account, arn, err := New(sdk.NewFromConfig(config(t, f))).CallerIdentity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if account != "111122223333" || arn != "arn:aws:iam::111122223333:user/ci" {
		t.Errorf("got %s %s, want 111122223333 arn:aws:iam::111122223333:user/ci", account, arn)
	}
	want := []call{{Form: url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}, AccessKey: "AKIDBASE"}}
	if diff := cmp.Diff(want, f.seen()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestAssumeRole(t *testing.T) {
	f := &fake{t: t}
	cfg := config(t, f)
	assumed := AssumeRole(cfg, role, "slipway deploy/web prod")
	c := New(sdk.NewFromConfig(assumed))
	for range 2 {
		account, arn, err := c.CallerIdentity(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if account != "222233334444" || !strings.HasPrefix(arn, "arn:aws:sts::222233334444:assumed-role/") {
			t.Errorf("got %s %s, want the assumed role in 222233334444", account, arn)
		}
	}
	// One AssumeRole signed by the base key, then both calls signed by the
	// session key: the credentials are cached.
	identity := call{Form: url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}},
		AccessKey: "ASIATEST", Token: "session-token"}
	want := []call{
		{Form: url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"},
			"RoleArn": {role}, "RoleSessionName": {"slipway-deploy-web-prod"},
			"DurationSeconds": {"900"}}, AccessKey: "AKIDBASE"}, // the SDK's default session length
		identity, identity,
	}
	if diff := cmp.Diff(want, f.seen()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if k, _ := cfg.Credentials.Retrieve(context.Background()); k.AccessKeyID != "AKIDBASE" {
		t.Errorf("got base key %s after AssumeRole, want AKIDBASE unchanged", k.AccessKeyID)
	}
}

func TestCallerIdentityErrors(t *testing.T) {
	tests := map[string]struct {
		status    int
		code      string
		transient bool
	}{
		"throttled":    {status: 400, code: "Throttling", transient: true},
		"server error": {status: 500, code: "InternalFailure", transient: true},
		"expired":      {status: 403, code: "ExpiredToken"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := &fake{t: t, status: tc.status, errBody: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">` +
				`<Error><Type>Sender</Type><Code>` + tc.code + `</Code><Message>from the fake</Message></Error>` +
				`<RequestId>r3</RequestId></ErrorResponse>`}
			_, _, err := New(sdk.NewFromConfig(config(t, f))).CallerIdentity(context.Background())
			if err == nil {
				t.Fatal("got no error, want one")
			}
			var tr *workflow.Transient
			if errors.As(err, &tr) != tc.transient {
				t.Errorf("got %v, want transient %v", err, tc.transient)
			}
		})
	}
}

func TestSessionName(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"valid":     {in: "d-20261125.web@prod", want: "d-20261125.web@prod"},
		"replaced":  {in: "web prod/1", want: "web-prod-1"},
		"too short": {in: "x", want: "slipwayx"},
		"empty":     {in: "", want: "slipway"},
		"too long":  {in: strings.Repeat("a", 70), want: strings.Repeat("a", 64)},
		"non-ascii": {in: "déploiement", want: "d-ploiement"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := sessionName(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
