// Package sts simulates the AWS STS query API that Slipway and the aws CLI
// use: GetCallerIdentity and AssumeRole. Credentials are never checked; an
// AssumeRole returns fresh fake temporary credentials, and calls signed with
// them are reported by GetCallerIdentity as the assumed role.
package sts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// Version is the API version of STS query requests.
const Version = "2011-06-15"

// Namespace is the xmlns of STS responses.
const Namespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// Options configure a Service.
type Options struct {
	// Clock sets credential expirations; nil uses the real clock.
	Clock clock.Clock
}

// Service is the simulated STS, a protocol.QueryHandler.
type Service struct {
	clock clock.Clock

	mu       sync.Mutex
	seq      int
	sessions map[string]session // by access key id
}

// session is an assumed-role session issued by AssumeRole.
type session struct {
	arn, userID string
}

// New returns an STS.
func New(opts Options) *Service {
	s := &Service{clock: opts.Clock, sessions: map[string]session{}}
	if s.clock == nil {
		s.clock = clock.Real()
	}
	return s
}

// ServeQuery dispatches one STS action.
func (s *Service) ServeQuery(ctx context.Context, action string, params url.Values) (any, error) {
	switch action {
	case "GetCallerIdentity":
		return s.getCallerIdentity(ctx), nil
	case "AssumeRole":
		return s.assumeRole(params)
	}
	return nil, protocol.Errorf(http.StatusBadRequest, protocol.CodeInvalidAction, "could not find operation %s for version %s", action, Version)
}

// CallerIdentity is the GetCallerIdentity result.
type CallerIdentity struct {
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
	Arn     string `xml:"Arn"`
}

func (s *Service) getCallerIdentity(ctx context.Context) CallerIdentity {
	if key := protocol.AccessKeyID(ctx); key != "" {
		s.mu.Lock()
		sess, ok := s.sessions[key]
		s.mu.Unlock()
		if ok {
			return CallerIdentity{UserID: sess.userID, Account: protocol.Account, Arn: sess.arn}
		}
	}
	return CallerIdentity{UserID: protocol.Account, Account: protocol.Account, Arn: "arn:aws:iam::" + protocol.Account + ":root"}
}

// AssumeRoleResult is the AssumeRole result.
type AssumeRoleResult struct {
	Credentials     Credentials     `xml:"Credentials"`
	AssumedRoleUser AssumedRoleUser `xml:"AssumedRoleUser"`
	SourceIdentity  string          `xml:"SourceIdentity,omitempty"`
}

// Credentials are temporary credentials.
type Credentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

// AssumedRoleUser identifies an assumed-role session.
type AssumedRoleUser struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string `xml:"Arn"`
}

var (
	roleArnRE     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$`)
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

func validationError(format string, args ...any) error {
	return protocol.Errorf(http.StatusBadRequest, "ValidationError", format, args...)
}

func (s *Service) assumeRole(params url.Values) (any, error) {
	roleArn, sessionName := params.Get("RoleArn"), params.Get("RoleSessionName")
	var problems []string
	m := roleArnRE.FindStringSubmatch(roleArn)
	if m == nil {
		problems = append(problems, fmt.Sprintf("Value '%s' at 'roleArn' failed to satisfy constraint: must be an IAM role ARN arn:aws:iam::<account>:role/<name>", roleArn))
	}
	if !sessionNameRE.MatchString(sessionName) {
		problems = append(problems, fmt.Sprintf("Value '%s' at 'roleSessionName' failed to satisfy constraint: 2 to 64 characters of [\\w+=,.@-]", sessionName))
	}
	duration := 3600
	if d := params.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > 43200 {
			problems = append(problems, fmt.Sprintf("Value '%s' at 'durationSeconds' failed to satisfy constraint: must be between 900 and 43200", d))
		}
		duration = n
	}
	if len(problems) > 0 {
		return nil, validationError("%d validation error(s) detected: %s", len(problems), strings.Join(problems, "; "))
	}
	account, roleName := m[1], m[3]

	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	seed := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%d", roleArn, sessionName, s.seq))
	h := strings.ToUpper(hex.EncodeToString(seed[:]))
	roleID := "AROA" + h[:17]
	res := AssumeRoleResult{
		Credentials: Credentials{
			AccessKeyID:     "ASIA" + h[17:33],
			SecretAccessKey: hex.EncodeToString(seed[:20]),
			SessionToken:    "slipway-local-session-" + hex.EncodeToString(seed[:]),
			Expiration:      s.clock.Now().UTC().Add(time.Duration(duration) * time.Second).Format(time.RFC3339),
		},
		AssumedRoleUser: AssumedRoleUser{
			AssumedRoleID: roleID + ":" + sessionName,
			Arn:           fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, roleName, sessionName),
		},
		SourceIdentity: params.Get("SourceIdentity"),
	}
	s.sessions[res.Credentials.AccessKeyID] = session{arn: res.AssumedRoleUser.Arn, userID: res.AssumedRoleUser.AssumedRoleID}
	return res, nil
}
