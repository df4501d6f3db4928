package elbv2

import (
	"cmp"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Action types, as AWS names them.
const (
	typeForward  = "forward"
	typeOIDC     = "authenticate-oidc"
	typeCognito  = "authenticate-cognito"
	typeFixed    = "fixed-response"
	typeRedirect = "redirect"
	// typeJWT is an action type of the API the endpoint does not model yet.
	typeJWT = "jwt-validation"
)

// Defaults AWS fills in, and reports, for authenticate actions.
const (
	defaultSessionCookie  = "AWSELBAuthSessionCookie"
	defaultScope          = "openid"
	defaultSessionTimeout = 604800
	maxSessionTimeout     = 604800
	maxExtraParams        = 10
	defaultSSLPolicy      = "ELBSecurityPolicy-2016-08"
)

// configOf maps each action configuration to the one type it belongs to.
var configOf = []struct{ config, typ string }{
	{"ForwardConfig", typeForward},
	{"FixedResponseConfig", typeFixed},
	{"RedirectConfig", typeRedirect},
	{"AuthenticateOidcConfig", typeOIDC},
	{"AuthenticateCognitoConfig", typeCognito},
}

// unknownField returns the first parameter of p, in sorted order, that is
// neither one of known nor nested under one of them; "" when all are known.
func unknownField(p url.Values, known ...string) string {
	for _, k := range slices.Sorted(maps.Keys(p)) {
		if !slices.ContainsFunc(known, func(n string) bool { return k == n || strings.HasPrefix(k, n+".") }) {
			return k
		}
	}
	return ""
}

// checkKnown refuses a parameter the endpoint does not model, naming it
// (prefixed with at): accepting and dropping it would hide what AWS does
// with it.
func checkKnown(p url.Values, at string, known ...string) error {
	if k := unknownField(p, known...); k != "" {
		return validation("%s%s: not modelled by the local endpoint", at, k)
	}
	return nil
}

// parseActions reads the action list at name (Actions or DefaultActions),
// sorted by Order. Order is required when there is more than one action
// and must be unique.
func parseActions(p url.Values, name string) ([]action, error) {
	members := structs(p, name)
	out := make([]action, 0, len(members))
	seen := map[int32]bool{}
	for i, m := range members {
		field := name + ".member." + strconv.Itoa(i+1)
		if err := checkKnown(m, field+".", "Type", "Order", "TargetGroupArn", "ForwardConfig", "FixedResponseConfig",
			"RedirectConfig", "AuthenticateOidcConfig", "AuthenticateCognitoConfig"); err != nil {
			return nil, err
		}
		a := action{Type: m.Get("Type"), TargetGroupARN: m.Get("TargetGroupArn"), index: i + 1}
		switch a.Type {
		case "":
			return nil, validation("%s.Type: required", field)
		case typeForward, typeOIDC, typeCognito, typeFixed, typeRedirect:
		case typeJWT:
			return nil, validation("%s.Type: action type '%s' is not modelled by the local endpoint", field, a.Type)
		default:
			return nil, validation("%s.Type: '%s' is not one of forward, authenticate-oidc, authenticate-cognito, fixed-response, redirect, jwt-validation", field, a.Type)
		}
		order, ok, err := int32Param(m, "Order", 1, 50000)
		if err != nil {
			return nil, err
		}
		if !ok {
			if len(members) > 1 {
				return nil, validation("%s.Order: required when there is more than one action", field)
			}
			order = 1
		}
		if seen[order] {
			return nil, validation("%s.Order: %d is the order of another action; each action needs its own", field, order)
		}
		seen[order] = true
		a.Order = order
		for _, c := range configOf {
			if len(sub(m, c.config)) > 0 && a.Type != c.typ {
				return nil, validation("%s.%s: specify only when Type is %s, not %s", field, c.config, c.typ, a.Type)
			}
		}
		if a.TargetGroupARN != "" && a.Type != typeForward {
			return nil, validation("%s.TargetGroupArn: specify only when Type is forward, not %s", field, a.Type)
		}
		if err := parseConfig(m, field, &a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	slices.SortStableFunc(out, func(a, b action) int { return cmp.Compare(a.Order, b.Order) })
	return out, nil
}

// parseConfig reads the configuration of a's type from the action m.
func parseConfig(m url.Values, field string, a *action) error {
	switch a.Type {
	case typeForward:
		fc := sub(m, "ForwardConfig")
		if len(fc) == 0 {
			return nil
		}
		if err := checkKnown(fc, field+".ForwardConfig.", "TargetGroups", "TargetGroupStickinessConfig"); err != nil {
			return err
		}
		f := &forwardConfig{}
		for j, g := range structs(fc, "TargetGroups") {
			if err := checkKnown(g, fmt.Sprintf("%s.ForwardConfig.TargetGroups.member.%d.", field, j+1), "TargetGroupArn", "Weight"); err != nil {
				return err
			}
			w, ok, err := int32Param(g, "Weight", 0, maxWeight)
			if err != nil {
				return validation("%s.ForwardConfig.TargetGroups.member.%d.Weight: must be between 0 and %d", field, j+1, maxWeight)
			}
			if !ok {
				w = 1
			}
			f.TargetGroups = append(f.TargetGroups, weightedGroup{ARN: g.Get("TargetGroupArn"), Weight: w})
		}
		if sc := sub(fc, "TargetGroupStickinessConfig"); len(sc) > 0 {
			if err := checkKnown(sc, field+".ForwardConfig.TargetGroupStickinessConfig.", "Enabled", "DurationSeconds"); err != nil {
				return err
			}
			en, _, err := boolParam(sc, "Enabled")
			if err != nil {
				return err
			}
			d, _, err := int32Param(sc, "DurationSeconds", 1, 604800)
			if err != nil {
				return err
			}
			f.Stickiness = &stickiness{Enabled: en, DurationSeconds: d}
		}
		a.Forward = f
	case typeFixed:
		fr := sub(m, "FixedResponseConfig")
		if err := checkKnown(fr, field+".FixedResponseConfig.", "StatusCode", "ContentType", "MessageBody"); err != nil {
			return err
		}
		if len(fr) > 0 {
			a.FixedResponse = &fixedResponse{StatusCode: fr.Get("StatusCode"), ContentType: fr.Get("ContentType"), MessageBody: fr.Get("MessageBody")}
		}
	case typeRedirect:
		rd := sub(m, "RedirectConfig")
		if err := checkKnown(rd, field+".RedirectConfig.", "Protocol", "Port", "Host", "Path", "Query", "StatusCode"); err != nil {
			return err
		}
		if len(rd) > 0 {
			a.Redirect = &redirect{Protocol: rd.Get("Protocol"), Port: rd.Get("Port"), Host: rd.Get("Host"),
				Path: rd.Get("Path"), Query: rd.Get("Query"), StatusCode: rd.Get("StatusCode")}
		}
	case typeOIDC:
		return parseOIDC(sub(m, "AuthenticateOidcConfig"), field+".AuthenticateOidcConfig", a)
	case typeCognito:
		return parseCognito(sub(m, "AuthenticateCognitoConfig"), field+".AuthenticateCognitoConfig", a)
	}
	return nil
}

func parseOIDC(c url.Values, at string, a *action) error {
	if len(c) == 0 {
		return validation("%s: required for an authenticate-oidc action", at)
	}
	if err := checkKnown(c, at+".", "Issuer", "AuthorizationEndpoint", "TokenEndpoint", "UserInfoEndpoint", "ClientId",
		"ClientSecret", "UseExistingClientSecret", "SessionCookieName", "Scope", "SessionTimeout",
		"AuthenticationRequestExtraParams", "OnUnauthenticatedRequest"); err != nil {
		return err
	}
	o := &authOIDC{Issuer: c.Get("Issuer"), AuthorizationEndpoint: c.Get("AuthorizationEndpoint"), TokenEndpoint: c.Get("TokenEndpoint"),
		UserInfoEndpoint: c.Get("UserInfoEndpoint"), ClientID: c.Get("ClientId"), ClientSecret: c.Get("ClientSecret")}
	for _, f := range []struct{ name, v string }{{"Issuer", o.Issuer}, {"AuthorizationEndpoint", o.AuthorizationEndpoint},
		{"TokenEndpoint", o.TokenEndpoint}, {"UserInfoEndpoint", o.UserInfoEndpoint}, {"ClientId", o.ClientID}} {
		if f.v == "" {
			return validation("%s.%s: required", at, f.name)
		}
	}
	use, _, err := boolParam(c, "UseExistingClientSecret")
	if err != nil {
		return err
	}
	a.useExisting = use
	if o.authSession, err = parseSession(c, at); err != nil {
		return err
	}
	a.OIDC = o
	return nil
}

func parseCognito(c url.Values, at string, a *action) error {
	if len(c) == 0 {
		return validation("%s: required for an authenticate-cognito action", at)
	}
	if err := checkKnown(c, at+".", "UserPoolArn", "UserPoolClientId", "UserPoolDomain", "SessionCookieName", "Scope",
		"SessionTimeout", "AuthenticationRequestExtraParams", "OnUnauthenticatedRequest"); err != nil {
		return err
	}
	g := &authCognito{UserPoolARN: c.Get("UserPoolArn"), UserPoolClientID: c.Get("UserPoolClientId"), UserPoolDomain: c.Get("UserPoolDomain")}
	for _, f := range []struct{ name, v string }{{"UserPoolArn", g.UserPoolARN}, {"UserPoolClientId", g.UserPoolClientID}, {"UserPoolDomain", g.UserPoolDomain}} {
		if f.v == "" {
			return validation("%s.%s: required", at, f.name)
		}
	}
	var err error
	if g.authSession, err = parseSession(c, at); err != nil {
		return err
	}
	a.Cognito = g
	return nil
}

// parseSession reads the session settings of an authenticate action, with
// AWS's defaults for those not given.
func parseSession(c url.Values, at string) (authSession, error) {
	s := authSession{SessionCookieName: cmp.Or(c.Get("SessionCookieName"), defaultSessionCookie), Scope: cmp.Or(c.Get("Scope"), defaultScope),
		OnUnauthenticatedRequest: cmp.Or(c.Get("OnUnauthenticatedRequest"), "authenticate"), SessionTimeout: defaultSessionTimeout}
	if !slices.Contains([]string{"deny", "allow", "authenticate"}, s.OnUnauthenticatedRequest) {
		return s, validation("%s.OnUnauthenticatedRequest: '%s' is not one of deny, allow, authenticate", at, s.OnUnauthenticatedRequest)
	}
	if v := c.Get("SessionTimeout"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > maxSessionTimeout {
			return s, validation("%s.SessionTimeout: '%s' must be between 1 and %d seconds", at, v, maxSessionTimeout)
		}
		s.SessionTimeout = n
	}
	extra := sub(c, "AuthenticationRequestExtraParams")
	if err := checkKnown(extra, at+".AuthenticationRequestExtraParams.", "entry"); err != nil {
		return s, err
	}
	entries := structs(extra, "entry")
	if len(entries) > maxExtraParams {
		return s, validation("%s.AuthenticationRequestExtraParams: at most %d parameters, got %d", at, maxExtraParams, len(entries))
	}
	for j, e := range entries {
		if err := checkKnown(e, fmt.Sprintf("%s.AuthenticationRequestExtraParams.entry.%d.", at, j+1), "key", "value"); err != nil {
			return s, err
		}
		if e.Get("key") == "" {
			return s, validation("%s.AuthenticationRequestExtraParams.entry.%d.key: required", at, j+1)
		}
		if s.ExtraParams == nil {
			s.ExtraParams = map[string]string{}
		}
		s.ExtraParams[e.Get("key")] = e.Get("value")
	}
	return s, nil
}

// checkActionsLocked validates the actions of a rule (or the default
// actions) of listener l as AWS does: exactly one terminal action
// (forward, fixed-response or redirect), last by Order; at most one
// authenticate action, before it, and only on an HTTPS listener; forward
// actions naming 1 to 5 existing target groups with weights 0 to 999, none
// serving another load balancer. replaced is the action list being
// replaced (nil on create): an authenticate-oidc action with
// UseExistingClientSecret takes its client secret from there.
func (s *Service) checkActionsLocked(actions []action, l *listener, field string, replaced []action) error {
	if len(actions) == 0 {
		return validation("%s: at least one action is required", field)
	}
	terminal, auth := 0, 0
	for i := range actions {
		a := &actions[i]
		at := fmt.Sprintf("%s.member.%d", field, a.index)
		switch a.Type {
		case typeForward:
			terminal++
			if err := s.checkForwardLocked(a, l.LoadBalancerARN, at); err != nil {
				return err
			}
		case typeFixed:
			terminal++
			if a.FixedResponse == nil || a.FixedResponse.StatusCode == "" {
				return validation("%s.FixedResponseConfig.StatusCode: required for a fixed-response action", at)
			}
		case typeRedirect:
			terminal++
			if a.Redirect == nil || a.Redirect.StatusCode != "HTTP_301" && a.Redirect.StatusCode != "HTTP_302" {
				return validation("%s.RedirectConfig.StatusCode: must be HTTP_301 or HTTP_302", at)
			}
		case typeOIDC, typeCognito:
			auth++
			switch {
			case l.Protocol != "HTTPS":
				return protocol400("InvalidLoadBalancerAction", "%s: %s actions are supported only on HTTPS listeners, not %s", at, a.Type, l.Protocol)
			case auth > 1:
				return protocol400("InvalidLoadBalancerAction", "%s: a rule can have at most one authenticate action", at)
			case terminal > 0:
				return protocol400("InvalidLoadBalancerAction", "%s: the %s action must come before the forward, fixed-response or redirect action (lower Order)", at, a.Type)
			}
			if err := keepSecret(a, at, replaced); err != nil {
				return err
			}
		}
	}
	if terminal != 1 {
		return validation("%s: exactly one of forward, fixed-response and redirect must be specified", field)
	}
	if last := actions[len(actions)-1]; last.Type != typeForward && last.Type != typeFixed && last.Type != typeRedirect {
		return protocol400("InvalidLoadBalancerAction", "%s: the last action (highest Order) must be forward, fixed-response or redirect, not %s", field, last.Type)
	}
	return nil
}

// keepSecret resolves the client secret of an authenticate-oidc action: the
// one given, else with UseExistingClientSecret the one of the action list
// being replaced. It is required on create.
func keepSecret(a *action, at string, replaced []action) error {
	if a.Type != typeOIDC || a.OIDC.ClientSecret != "" {
		return nil
	}
	if !a.useExisting {
		return validation("%s.AuthenticateOidcConfig.ClientSecret: required unless UseExistingClientSecret is true when modifying a rule", at)
	}
	if replaced == nil {
		return validation("%s.AuthenticateOidcConfig.UseExistingClientSecret: only when modifying a rule or listener; give ClientSecret", at)
	}
	for _, r := range replaced {
		if r.OIDC != nil && r.OIDC.ClientSecret != "" {
			a.OIDC.ClientSecret = r.OIDC.ClientSecret
			return nil
		}
	}
	return validation("%s.AuthenticateOidcConfig.UseExistingClientSecret: the rule has no authenticate-oidc action whose client secret could be kept; give ClientSecret", at)
}

func (s *Service) checkForwardLocked(a *action, lbARN, at string) error {
	if a.Forward == nil {
		if a.TargetGroupARN == "" {
			return validation("%s: a forward action needs TargetGroupArn or ForwardConfig", at)
		}
		a.Forward = &forwardConfig{TargetGroups: []weightedGroup{{ARN: a.TargetGroupARN, Weight: 1}}}
	}
	groups := a.Forward.TargetGroups
	switch {
	case len(groups) == 0:
		return validation("%s.ForwardConfig.TargetGroups: at least one target group is required", at)
	case len(groups) > maxForwardGroups:
		return validation("%s.ForwardConfig.TargetGroups: a forward action can have at most %d target groups, got %d", at, maxForwardGroups, len(groups))
	case a.TargetGroupARN != "" && (len(groups) != 1 || groups[0].ARN != a.TargetGroupARN):
		return validation("%s: with both TargetGroupArn and ForwardConfig, ForwardConfig must name that one target group", at)
	}
	seen := map[string]bool{}
	for _, g := range groups {
		if g.ARN == "" {
			return validation("%s.ForwardConfig.TargetGroups: TargetGroupArn is required", at)
		}
		if seen[g.ARN] {
			return validation("%s.ForwardConfig.TargetGroups: target group '%s' is specified more than once", at, g.ARN)
		}
		seen[g.ARN] = true
		if _, ok := s.st.TargetGroups[g.ARN]; !ok {
			return protocol400("TargetGroupNotFound", "Target groups '%s' not found", g.ARN)
		}
		for _, other := range s.loadBalancersOfLocked(g.ARN) {
			if other != lbARN {
				return protocol400("TargetGroupAssociationLimit",
					"The following target groups cannot be associated with more than one load balancer: %s", g.ARN)
			}
		}
	}
	if len(groups) == 1 {
		a.TargetGroupARN = groups[0].ARN
	} else {
		a.TargetGroupARN = ""
	}
	return nil
}

// hasAuth reports whether actions include an authenticate action.
func hasAuth(actions []action) bool {
	return slices.ContainsFunc(actions, func(a action) bool { return a.Type == typeOIDC || a.Type == typeCognito })
}

func actionsXML(actions []action) []xmlAction {
	out := make([]xmlAction, 0, len(actions))
	for _, a := range actions {
		x := xmlAction{Type: a.Type, Order: a.Order, TargetGroupArn: a.TargetGroupARN}
		if f := a.Forward; f != nil {
			xf := &xmlForward{TargetGroupStickinessConfig: &xmlStickiness{}}
			for _, g := range f.TargetGroups {
				xf.TargetGroups = append(xf.TargetGroups, xmlTuple{TargetGroupArn: g.ARN, Weight: g.Weight})
			}
			if f.Stickiness != nil {
				xf.TargetGroupStickinessConfig = &xmlStickiness{Enabled: f.Stickiness.Enabled, DurationSeconds: f.Stickiness.DurationSeconds}
			}
			x.ForwardConfig = xf
		}
		if fr := a.FixedResponse; fr != nil {
			x.FixedResponseConfig = &xmlFixed{StatusCode: fr.StatusCode, ContentType: fr.ContentType, MessageBody: fr.MessageBody}
		}
		if rd := a.Redirect; rd != nil {
			x.RedirectConfig = &xmlRedirect{Protocol: rd.Protocol, Port: rd.Port, Host: rd.Host, Path: rd.Path, Query: rd.Query, StatusCode: rd.StatusCode}
		}
		if o := a.OIDC; o != nil {
			x.AuthenticateOidcConfig = &xmlOIDC{Issuer: o.Issuer, AuthorizationEndpoint: o.AuthorizationEndpoint, TokenEndpoint: o.TokenEndpoint,
				UserInfoEndpoint: o.UserInfoEndpoint, ClientId: o.ClientID, xmlSession: sessionXML(o.authSession)}
		}
		if g := a.Cognito; g != nil {
			x.AuthenticateCognitoConfig = &xmlCognito{UserPoolArn: g.UserPoolARN, UserPoolClientId: g.UserPoolClientID,
				UserPoolDomain: g.UserPoolDomain, xmlSession: sessionXML(g.authSession)}
		}
		out = append(out, x)
	}
	return out
}

func sessionXML(s authSession) xmlSession {
	x := xmlSession{SessionCookieName: s.SessionCookieName, Scope: s.Scope, SessionTimeout: s.SessionTimeout, OnUnauthenticatedRequest: s.OnUnauthenticatedRequest}
	if len(s.ExtraParams) > 0 {
		m := &xmlMap{}
		for _, k := range slices.Sorted(maps.Keys(s.ExtraParams)) {
			m.Entries = append(m.Entries, xmlEntry{Key: k, Value: s.ExtraParams[k]})
		}
		x.AuthenticationRequestExtraParams = m
	}
	return x
}
