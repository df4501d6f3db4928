// Package sts is the adapter over AWS STS: who the caller is, and the
// configuration that acts as an environment's role (roleArn) in another
// account.
package sts

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	sdk "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/slipwayhq/slipway/internal/awsapi"
)

// maxSessionName is the longest role session name STS accepts.
const maxSessionName = 64

// api lists the STS client methods the adapter uses.
type api interface {
	GetCallerIdentity(context.Context, *sdk.GetCallerIdentityInput, ...func(*sdk.Options)) (*sdk.GetCallerIdentityOutput, error)
}

// Client asks STS about the caller.
type Client struct {
	api api
}

// New returns a Client over api, normally an *sts.Client from the SDK.
func New(api api) *Client { return &Client{api: api} }

// CallerIdentity returns the account and the ARN of the principal whose
// credentials the client uses.
func (c *Client) CallerIdentity(ctx context.Context) (account, arn string, err error) {
	out, err := c.api.GetCallerIdentity(ctx, &sdk.GetCallerIdentityInput{})
	if err != nil {
		return "", "", awsapi.Classify("get caller identity", err)
	}
	return aws.ToString(out.Account), aws.ToString(out.Arn), nil
}

// AssumeRole returns a copy of cfg whose credentials are those of roleARN,
// assumed through STS with cfg's own credentials. Nothing is called until the
// first request; the credentials are then cached and renewed before they
// expire. session names the role session, as CloudTrail shows it (for example
// the deployment id); characters STS does not accept become '-' and it is cut
// to 64 characters.
func AssumeRole(cfg aws.Config, roleARN, session string) aws.Config {
	assumed := cfg.Copy()
	provider := stscreds.NewAssumeRoleProvider(sdk.NewFromConfig(cfg), roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = sessionName(session)
	})
	assumed.Credentials = aws.NewCredentialsCache(provider)
	return assumed
}

// sessionName makes s a valid role session name: 2 to 64 characters of
// letters, digits and +=,.@_-.
func sessionName(s string) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("+=,.@_-", r):
			return r
		}
		return '-'
	}, s)
	if len(name) < 2 {
		name = "slipway" + name
	}
	if len(name) > maxSessionName {
		name = name[:maxSessionName]
	}
	return name
}
