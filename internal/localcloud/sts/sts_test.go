package sts

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

var start = time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)

// newClient serves svc through the real router, registered as the endpoint
// registers STS, for a client signing with the given credentials.
func newClient(t *testing.T, svc *Service, key, secret, token string) *awssts.Client {
	t.Helper()
	router := localcloud.NewServer(localcloud.Options{})
	router.RegisterQuery("sts", "2011-06-15", Namespace, svc)
	url := prototest.Serve(t, router)
	return awssts.NewFromConfig(prototest.ConfigWithCredentials(url, credentials.NewStaticCredentialsProvider(key, secret, token)))
}

func TestGetCallerIdentityAndAssumeRole(t *testing.T) {
	ctx := context.Background()
	svc := New(Options{Clock: clock.NewVirtual(start)})
	c := newClient(t, svc, "AKIDEXAMPLE", "secret", "")
	id, err := c.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(id.Account), "000000000000"; got != want {
		t.Errorf("Account: got %s, want %s", got, want)
	}
	if got, want := aws.ToString(id.Arn), "arn:aws:iam::000000000000:root"; got != want {
		t.Errorf("Arn: got %s, want %s", got, want)
	}

	out, err := c.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/deployer"),
		RoleSessionName: aws.String("slipway"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(out.AssumedRoleUser.Arn), "arn:aws:sts::000000000000:assumed-role/deployer/slipway"; got != want {
		t.Errorf("assumed role arn: got %s, want %s", got, want)
	}
	if got, want := aws.ToTime(out.Credentials.Expiration), start.Add(15*time.Minute); !got.Equal(want) {
		t.Errorf("expiration: got %v, want %v", got, want)
	}
	if aws.ToString(out.Credentials.AccessKeyId) == "" || aws.ToString(out.Credentials.SecretAccessKey) == "" || aws.ToString(out.Credentials.SessionToken) == "" {
		t.Errorf("credentials: got %+v, want all parts set", out.Credentials)
	}

	// Calls signed with the temporary credentials are the assumed role.
	assumed := newClient(t, svc, aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
	id, err = assumed.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(id.Arn), aws.ToString(out.AssumedRoleUser.Arn); got != want {
		t.Errorf("caller with temporary credentials: got %s, want %s", got, want)
	}

	second, err := c.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/deployer"), RoleSessionName: aws.String("slipway")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(second.Credentials.AccessKeyId) == aws.ToString(out.Credentials.AccessKeyId) {
		t.Errorf("two AssumeRole calls returned the same access key %s", aws.ToString(second.Credentials.AccessKeyId))
	}
}

func TestAssumeRoleValidation(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, New(Options{}), "AKIDEXAMPLE", "secret", "")
	tests := map[string]awssts.AssumeRoleInput{
		"not a role arn":     {RoleArn: aws.String("arn:aws:iam::000000000000:user/someone"), RoleSessionName: aws.String("s1")},
		"short session name": {RoleArn: aws.String("arn:aws:iam::000000000000:role/deployer"), RoleSessionName: aws.String("s")},
		"bad session name":   {RoleArn: aws.String("arn:aws:iam::000000000000:role/deployer"), RoleSessionName: aws.String("has space")},
		"duration too short": {RoleArn: aws.String("arn:aws:iam::000000000000:role/deployer"), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(60)},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := c.AssumeRole(ctx, &in)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" {
				t.Errorf("got %v, want ValidationError", err)
			}
		})
	}
}

func TestUnknownAction(t *testing.T) {
	_, err := New(Options{}).ServeQuery(context.Background(), "GetSessionTokenX", url.Values{})
	var e *protocol.Error
	if !errors.As(err, &e) || e.Code != protocol.CodeInvalidAction {
		t.Errorf("got %v, want InvalidAction", err)
	}
}

func FuzzAssumeRole(f *testing.F) {
	f.Add("RoleArn=arn:aws:iam::000000000000:role/a/b/c&RoleSessionName=xy&DurationSeconds=900")
	f.Add("RoleArn=&DurationSeconds=-1")
	f.Fuzz(func(t *testing.T, q string) {
		params, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		_, _ = New(Options{}).ServeQuery(context.Background(), "AssumeRole", params)
	})
}
