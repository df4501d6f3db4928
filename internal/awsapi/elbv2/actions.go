package elbv2

import (
	"errors"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Action types, as ELBv2 names them.
const (
	ActionForward             = "forward"
	ActionAuthenticateOIDC    = "authenticate-oidc"
	ActionAuthenticateCognito = "authenticate-cognito"
	ActionFixedResponse       = "fixed-response"
	ActionRedirect            = "redirect"
	ActionJWTValidation       = "jwt-validation"
)

// ErrNoForward means a rule's action list has no forward action, so it has
// no weights to read or change.
var ErrNoForward = errors.New("the rule has no forward action")

// Action is one action of a listener rule, as DescribeRules returns it. A
// rule's actions are kept whole because ModifyRule replaces the list: what
// a writer leaves out is gone, an authentication step included. Exactly one
// of the configurations is set, the one of Type. It is plain data so a
// deployment plan can store it.
type Action struct {
	Type string `json:"type"`
	// Order is the action's place in the list (1 to 50000); 0 when absent.
	Order int32 `json:"order,omitempty"`
	// TargetGroupARN is the forward action's single target group, when the
	// rule names it this way.
	TargetGroupARN      string               `json:"targetGroupArn,omitempty"`
	Forward             *Forward             `json:"forward,omitempty"`
	AuthenticateOIDC    *AuthenticateOIDC    `json:"authenticateOidc,omitempty"`
	AuthenticateCognito *AuthenticateCognito `json:"authenticateCognito,omitempty"`
	FixedResponse       *FixedResponse       `json:"fixedResponse,omitempty"`
	Redirect            *Redirect            `json:"redirect,omitempty"`
	JWTValidation       *JWTValidation       `json:"jwtValidation,omitempty"`
}

// Forward is the configuration of a forward action.
type Forward struct {
	TargetGroups []TargetWeight `json:"targetGroups"`
	// Stickiness is the target group stickiness; nil when not returned.
	Stickiness *Stickiness `json:"stickiness,omitempty"`
}

// Stickiness keeps a client on the target group it first reached.
type Stickiness struct {
	Enabled bool `json:"enabled"`
	// DurationSeconds is 0 when absent.
	DurationSeconds int32 `json:"durationSeconds,omitempty"`
}

// Session is what the two authenticate actions share.
type Session struct {
	SessionCookieName string `json:"sessionCookieName,omitempty"`
	Scope             string `json:"scope,omitempty"`
	// SessionTimeout is in seconds; 0 when absent.
	SessionTimeout int64             `json:"sessionTimeout,omitempty"`
	ExtraParams    map[string]string `json:"extraParams,omitempty"`
	// OnUnauthenticatedRequest is deny, allow or authenticate.
	OnUnauthenticatedRequest string `json:"onUnauthenticatedRequest,omitempty"`
}

// AuthenticateOIDC is the configuration of an authenticate-oidc action. It
// has no client secret: DescribeRules never returns it, and writing the
// action back keeps the rule's secret (UseExistingClientSecret).
type AuthenticateOIDC struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorizationEndpoint"`
	TokenEndpoint         string `json:"tokenEndpoint"`
	UserInfoEndpoint      string `json:"userInfoEndpoint"`
	ClientID              string `json:"clientId"`
	Session
}

// AuthenticateCognito is the configuration of an authenticate-cognito
// action.
type AuthenticateCognito struct {
	UserPoolARN      string `json:"userPoolArn"`
	UserPoolClientID string `json:"userPoolClientId"`
	UserPoolDomain   string `json:"userPoolDomain"`
	Session
}

// FixedResponse is the configuration of a fixed-response action.
type FixedResponse struct {
	StatusCode  string `json:"statusCode"`
	ContentType string `json:"contentType,omitempty"`
	MessageBody string `json:"messageBody,omitempty"`
}

// Redirect is the configuration of a redirect action.
type Redirect struct {
	Protocol   string `json:"protocol,omitempty"`
	Port       string `json:"port,omitempty"`
	Host       string `json:"host,omitempty"`
	Path       string `json:"path,omitempty"`
	Query      string `json:"query,omitempty"`
	StatusCode string `json:"statusCode"`
}

// JWTValidation is the configuration of a jwt-validation action.
type JWTValidation struct {
	Issuer           string  `json:"issuer"`
	JWKSEndpoint     string  `json:"jwksEndpoint"`
	AdditionalClaims []Claim `json:"additionalClaims,omitempty"`
}

// Claim is a claim a jwt-validation action checks besides the standard ones.
type Claim struct {
	Format string   `json:"format"`
	Name   string   `json:"name"`
	Values []string `json:"values,omitempty"`
}

// ForwardWeights returns the target groups and weights of the forward
// action in actions. A forward action naming one target group without
// ForwardConfig reads as that group with weight 1, as does a group whose
// weight is absent.
func ForwardWeights(actions []Action) ([]TargetWeight, error) {
	for _, a := range actions {
		if a.Type != ActionForward {
			continue
		}
		if a.Forward == nil || len(a.Forward.TargetGroups) == 0 {
			return []TargetWeight{{TargetGroupARN: a.TargetGroupARN, Weight: 1}}, nil
		}
		return slices.Clone(a.Forward.TargetGroups), nil
	}
	return nil, ErrNoForward
}

// WithWeights returns a copy of actions whose forward action splits traffic
// by w; every other action, every Order and the forward's stickiness are
// unchanged. The forward names its groups in ForwardConfig only, since
// TargetGroupArn may name just one.
func WithWeights(actions []Action, w []TargetWeight) ([]Action, error) {
	out := CloneActions(actions)
	for i := range out {
		a := &out[i]
		if a.Type != ActionForward {
			continue
		}
		f := Forward{}
		if a.Forward != nil {
			f = *a.Forward
		}
		f.TargetGroups = slices.Clone(w)
		a.Forward, a.TargetGroupARN = &f, ""
		return out, nil
	}
	return nil, ErrNoForward
}

// CloneActions returns a deep copy of actions.
func CloneActions(actions []Action) []Action {
	if actions == nil {
		return nil
	}
	out := make([]Action, len(actions))
	for i, a := range actions {
		if a.Forward != nil {
			f := *a.Forward
			f.TargetGroups = slices.Clone(f.TargetGroups)
			if f.Stickiness != nil {
				s := *f.Stickiness
				f.Stickiness = &s
			}
			a.Forward = &f
		}
		if a.AuthenticateOIDC != nil {
			o := *a.AuthenticateOIDC
			o.ExtraParams = maps.Clone(o.ExtraParams)
			a.AuthenticateOIDC = &o
		}
		if a.AuthenticateCognito != nil {
			g := *a.AuthenticateCognito
			g.ExtraParams = maps.Clone(g.ExtraParams)
			a.AuthenticateCognito = &g
		}
		if a.FixedResponse != nil {
			fr := *a.FixedResponse
			a.FixedResponse = &fr
		}
		if a.Redirect != nil {
			rd := *a.Redirect
			a.Redirect = &rd
		}
		if a.JWTValidation != nil {
			j := *a.JWTValidation
			j.AdditionalClaims = slices.Clone(j.AdditionalClaims)
			for k := range j.AdditionalClaims {
				j.AdditionalClaims[k].Values = slices.Clone(j.AdditionalClaims[k].Values)
			}
			a.JWTValidation = &j
		}
		out[i] = a
	}
	return out
}

// fromSDK converts an action DescribeRules returned.
func fromSDK(a types.Action) Action {
	out := Action{Type: string(a.Type), Order: aws.ToInt32(a.Order), TargetGroupARN: aws.ToString(a.TargetGroupArn)}
	if f := a.ForwardConfig; f != nil {
		fw := &Forward{}
		for _, tg := range f.TargetGroups {
			weight := int32(1)
			if tg.Weight != nil {
				weight = *tg.Weight
			}
			fw.TargetGroups = append(fw.TargetGroups, TargetWeight{TargetGroupARN: aws.ToString(tg.TargetGroupArn), Weight: weight})
		}
		if s := f.TargetGroupStickinessConfig; s != nil {
			fw.Stickiness = &Stickiness{Enabled: aws.ToBool(s.Enabled), DurationSeconds: aws.ToInt32(s.DurationSeconds)}
		}
		out.Forward = fw
	}
	if o := a.AuthenticateOidcConfig; o != nil {
		out.AuthenticateOIDC = &AuthenticateOIDC{Issuer: aws.ToString(o.Issuer), AuthorizationEndpoint: aws.ToString(o.AuthorizationEndpoint),
			TokenEndpoint: aws.ToString(o.TokenEndpoint), UserInfoEndpoint: aws.ToString(o.UserInfoEndpoint), ClientID: aws.ToString(o.ClientId),
			Session: Session{SessionCookieName: aws.ToString(o.SessionCookieName), Scope: aws.ToString(o.Scope), SessionTimeout: aws.ToInt64(o.SessionTimeout),
				ExtraParams: maps.Clone(o.AuthenticationRequestExtraParams), OnUnauthenticatedRequest: string(o.OnUnauthenticatedRequest)}}
	}
	if g := a.AuthenticateCognitoConfig; g != nil {
		out.AuthenticateCognito = &AuthenticateCognito{UserPoolARN: aws.ToString(g.UserPoolArn), UserPoolClientID: aws.ToString(g.UserPoolClientId),
			UserPoolDomain: aws.ToString(g.UserPoolDomain),
			Session: Session{SessionCookieName: aws.ToString(g.SessionCookieName), Scope: aws.ToString(g.Scope), SessionTimeout: aws.ToInt64(g.SessionTimeout),
				ExtraParams: maps.Clone(g.AuthenticationRequestExtraParams), OnUnauthenticatedRequest: string(g.OnUnauthenticatedRequest)}}
	}
	if fr := a.FixedResponseConfig; fr != nil {
		out.FixedResponse = &FixedResponse{StatusCode: aws.ToString(fr.StatusCode), ContentType: aws.ToString(fr.ContentType), MessageBody: aws.ToString(fr.MessageBody)}
	}
	if rd := a.RedirectConfig; rd != nil {
		out.Redirect = &Redirect{Protocol: aws.ToString(rd.Protocol), Port: aws.ToString(rd.Port), Host: aws.ToString(rd.Host),
			Path: aws.ToString(rd.Path), Query: aws.ToString(rd.Query), StatusCode: string(rd.StatusCode)}
	}
	if j := a.JwtValidationConfig; j != nil {
		jv := &JWTValidation{Issuer: aws.ToString(j.Issuer), JWKSEndpoint: aws.ToString(j.JwksEndpoint)}
		for _, c := range j.AdditionalClaims {
			jv.AdditionalClaims = append(jv.AdditionalClaims, Claim{Format: string(c.Format), Name: aws.ToString(c.Name), Values: slices.Clone(c.Values)})
		}
		out.JWTValidation = jv
	}
	return out
}

// toSDK converts an action for ModifyRule. Empty strings and zero numbers
// are left out, as they were absent when read.
func toSDK(a Action) types.Action {
	out := types.Action{Type: types.ActionTypeEnum(a.Type), TargetGroupArn: optString(a.TargetGroupARN)}
	if a.Order != 0 {
		out.Order = aws.Int32(a.Order)
	}
	if f := a.Forward; f != nil {
		fc := &types.ForwardActionConfig{}
		for _, tg := range f.TargetGroups {
			fc.TargetGroups = append(fc.TargetGroups, types.TargetGroupTuple{TargetGroupArn: aws.String(tg.TargetGroupARN), Weight: aws.Int32(tg.Weight)})
		}
		if s := f.Stickiness; s != nil {
			fc.TargetGroupStickinessConfig = &types.TargetGroupStickinessConfig{Enabled: aws.Bool(s.Enabled)}
			if s.DurationSeconds != 0 {
				fc.TargetGroupStickinessConfig.DurationSeconds = aws.Int32(s.DurationSeconds)
			}
		}
		out.ForwardConfig = fc
	}
	if o := a.AuthenticateOIDC; o != nil {
		out.AuthenticateOidcConfig = &types.AuthenticateOidcActionConfig{Issuer: aws.String(o.Issuer), AuthorizationEndpoint: aws.String(o.AuthorizationEndpoint),
			TokenEndpoint: aws.String(o.TokenEndpoint), UserInfoEndpoint: aws.String(o.UserInfoEndpoint), ClientId: aws.String(o.ClientID),
			// The secret is not in o (DescribeRules does not return it):
			// keep the rule's own.
			UseExistingClientSecret: aws.Bool(true),
			SessionCookieName:       optString(o.SessionCookieName), Scope: optString(o.Scope), SessionTimeout: optInt64(o.SessionTimeout),
			AuthenticationRequestExtraParams: maps.Clone(o.ExtraParams),
			OnUnauthenticatedRequest:         types.AuthenticateOidcActionConditionalBehaviorEnum(o.OnUnauthenticatedRequest)}
	}
	if g := a.AuthenticateCognito; g != nil {
		out.AuthenticateCognitoConfig = &types.AuthenticateCognitoActionConfig{UserPoolArn: aws.String(g.UserPoolARN),
			UserPoolClientId: aws.String(g.UserPoolClientID), UserPoolDomain: aws.String(g.UserPoolDomain),
			SessionCookieName: optString(g.SessionCookieName), Scope: optString(g.Scope), SessionTimeout: optInt64(g.SessionTimeout),
			AuthenticationRequestExtraParams: maps.Clone(g.ExtraParams),
			OnUnauthenticatedRequest:         types.AuthenticateCognitoActionConditionalBehaviorEnum(g.OnUnauthenticatedRequest)}
	}
	if fr := a.FixedResponse; fr != nil {
		out.FixedResponseConfig = &types.FixedResponseActionConfig{StatusCode: aws.String(fr.StatusCode), ContentType: optString(fr.ContentType),
			MessageBody: optString(fr.MessageBody)}
	}
	if rd := a.Redirect; rd != nil {
		out.RedirectConfig = &types.RedirectActionConfig{Protocol: optString(rd.Protocol), Port: optString(rd.Port), Host: optString(rd.Host),
			Path: optString(rd.Path), Query: optString(rd.Query), StatusCode: types.RedirectActionStatusCodeEnum(rd.StatusCode)}
	}
	if j := a.JWTValidation; j != nil {
		jc := &types.JwtValidationActionConfig{Issuer: aws.String(j.Issuer), JwksEndpoint: aws.String(j.JWKSEndpoint)}
		for _, c := range j.AdditionalClaims {
			jc.AdditionalClaims = append(jc.AdditionalClaims, types.JwtValidationActionAdditionalClaim{
				Format: types.JwtValidationActionAdditionalClaimFormatEnum(c.Format), Name: aws.String(c.Name), Values: slices.Clone(c.Values)})
		}
		out.JwtValidationConfig = jc
	}
	return out
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optInt64(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}
