package elbv2

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// hostedZone returns the canonical hosted zone id of application load
// balancers in region; us-east-1's for regions not listed.
func hostedZone(region string) string {
	switch region {
	case "us-east-2":
		return "Z3AADJGX6KTTL2"
	case "us-west-1":
		return "Z368ELLRRE2KJ0"
	case "us-west-2":
		return "Z1H1FL5HABSF5"
	case "eu-west-1":
		return "Z32O12XQLNTSW2"
	case "eu-central-1":
		return "Z215JYRZR1TBD5"
	}
	return "Z35SXDOTRQ7X7K"
}

const localVPC = "vpc-0c0ffee0c0ffee000"

func (s *Service) createLoadBalancer(p url.Values) (any, error) {
	name, err := required(p, "Name")
	if err != nil {
		return nil, err
	}
	if err := checkName("Load balancer", name); err != nil {
		return nil, err
	}
	typ := cmp.Or(p.Get("Type"), "application")
	if typ != "application" && typ != "network" {
		return nil, validation("Load balancer type '%s' is not supported by the local endpoint (application, network)", typ)
	}
	scheme := cmp.Or(p.Get("Scheme"), "internet-facing")
	if scheme != "internet-facing" && scheme != "internal" {
		return nil, validation("Scheme '%s' must be internet-facing or internal", scheme)
	}
	tags, err := parseTags(p)
	if err != nil {
		return nil, err
	}
	for _, lb := range s.st.LoadBalancers {
		if lb.Name == name {
			// AWS answers a repeated create with the same settings with the
			// existing load balancer.
			if lb.Scheme != scheme || lb.Type != typ || !slices.Equal(lb.Subnets, list(p, "Subnets")) {
				return nil, protocol400("DuplicateLoadBalancerName", "A load balancer with the same name '%s' exists, but with different settings", name)
			}
			return struct {
				LoadBalancers []xmlLoadBalancer `xml:"LoadBalancers>member"`
			}{[]xmlLoadBalancer{s.lbXML(lb)}}, nil
		}
	}
	prefix := ""
	if scheme == "internal" {
		prefix = "internal-"
	}
	kind := "app"
	if typ == "network" {
		kind = "net"
	}
	lb := &loadBalancer{
		ARN:     s.arn("loadbalancer/" + kind + "/" + name + "/" + hexID(8)),
		Name:    name,
		DNSName: fmt.Sprintf("%s%s-%d.%s.elb.amazonaws.com", prefix, name, 1e9+rand.Int64N(9e9), s.region),
		Scheme:  scheme, Type: typ, VPCID: localVPC,
		IPAddressType:  cmp.Or(p.Get("IpAddressType"), "ipv4"),
		Subnets:        list(p, "Subnets"),
		SecurityGroups: list(p, "SecurityGroups"),
		Created:        s.clock.Now().UTC(),
	}
	s.st.LoadBalancers[lb.ARN] = lb
	if len(tags) > 0 {
		s.st.Tags[lb.ARN] = tags
	}
	return struct {
		LoadBalancers []xmlLoadBalancer `xml:"LoadBalancers>member"`
	}{[]xmlLoadBalancer{s.lbXML(lb)}}, nil
}

func (s *Service) lbXML(lb *loadBalancer) xmlLoadBalancer {
	x := xmlLoadBalancer{
		LoadBalancerArn: lb.ARN, DNSName: lb.DNSName, CanonicalHostedZoneId: hostedZone(s.region),
		CreatedTime: xmlTime(lb.Created), LoadBalancerName: lb.Name, Scheme: lb.Scheme, VpcId: lb.VPCID,
		Type: lb.Type, SecurityGroups: lb.SecurityGroups, IpAddressType: lb.IPAddressType,
	}
	x.State.Code = "active"
	for i, sn := range lb.Subnets {
		x.AvailabilityZones = append(x.AvailabilityZones, xmlAZ{ZoneName: s.region + string(rune('a'+i%6)), SubnetId: sn})
	}
	return x
}

func (s *Service) describeLoadBalancers(p url.Values) (any, error) {
	arns, names := list(p, "LoadBalancerArns"), list(p, "Names")
	var out []xmlLoadBalancer
	for _, lb := range sortedByARN(s.st.LoadBalancers) {
		if (len(arns) == 0 || slices.Contains(arns, lb.ARN)) && (len(names) == 0 || slices.Contains(names, lb.Name)) {
			out = append(out, s.lbXML(lb))
		}
	}
	if len(out) < len(arns)+len(names) {
		return nil, lbNotFound()
	}
	return struct {
		LoadBalancers []xmlLoadBalancer `xml:"LoadBalancers>member"`
	}{out}, nil
}

func (s *Service) deleteLoadBalancer(p url.Values) (any, error) {
	arn, err := required(p, "LoadBalancerArn")
	if err != nil {
		return nil, err
	}
	// Deleting a load balancer that does not exist succeeds, as on AWS.
	for _, l := range s.st.Listeners {
		if l.LoadBalancerARN == arn {
			s.dropListenerLocked(l)
		}
	}
	delete(s.st.LoadBalancers, arn)
	delete(s.st.Tags, arn)
	return struct{}{}, nil
}

func (s *Service) createTargetGroup(p url.Values) (any, error) {
	name, err := required(p, "Name")
	if err != nil {
		return nil, err
	}
	if err := checkName("Target group", name); err != nil {
		return nil, err
	}
	tt := cmp.Or(p.Get("TargetType"), "instance")
	if !slices.Contains([]string{"instance", "ip", "lambda", "alb"}, tt) {
		return nil, validation("Target type '%s' must be one of instance, ip, lambda, alb", tt)
	}
	tg := &targetGroup{Name: name, TargetType: tt, Protocol: p.Get("Protocol"), VPCID: p.Get("VpcId")}
	port, hasPort, err := int32Param(p, "Port", 1, 65535)
	if err != nil {
		return nil, err
	}
	tg.Port = port
	if tt != "lambda" {
		switch {
		case tg.Protocol == "":
			return nil, validation("A protocol must be specified")
		case !hasPort:
			return nil, validation("A port must be specified")
		case tg.VPCID == "":
			return nil, validation("A VPC ID must be specified")
		}
	}
	hc := healthCheck{
		Enabled: true, Protocol: cmp.Or(p.Get("HealthCheckProtocol"), tg.Protocol, "HTTP"),
		Port: cmp.Or(p.Get("HealthCheckPort"), "traffic-port"), Path: cmp.Or(p.Get("HealthCheckPath"), "/"),
		Matcher: cmp.Or(p.Get("Matcher.HttpCode"), "200"), IntervalSeconds: 30, TimeoutSeconds: 5,
		HealthyThreshold: 5, UnhealthyThreshold: 2,
	}
	if en, ok, err := boolParam(p, "HealthCheckEnabled"); err != nil {
		return nil, err
	} else if ok {
		hc.Enabled = en
	}
	if err := healthCheckNumbers(p, &hc); err != nil {
		return nil, err
	}
	tg.HealthCheck = hc
	tags, err := parseTags(p)
	if err != nil {
		return nil, err
	}
	for _, old := range s.st.TargetGroups {
		if old.Name != name {
			continue
		}
		if old.Protocol != tg.Protocol || old.Port != tg.Port || old.VPCID != tg.VPCID || old.TargetType != tg.TargetType || old.HealthCheck != hc {
			return nil, protocol400("DuplicateTargetGroupName", "A target group with the same name '%s' exists, but with different settings", name)
		}
		return struct {
			TargetGroups []xmlTargetGroup `xml:"TargetGroups>member"`
		}{[]xmlTargetGroup{s.tgXML(old)}}, nil
	}
	tg.ARN = s.arn("targetgroup/" + name + "/" + hexID(8))
	tg.Created = s.clock.Now().UTC()
	s.st.TargetGroups[tg.ARN] = tg
	if len(tags) > 0 {
		s.st.Tags[tg.ARN] = tags
	}
	return struct {
		TargetGroups []xmlTargetGroup `xml:"TargetGroups>member"`
	}{[]xmlTargetGroup{s.tgXML(tg)}}, nil
}

// healthCheckNumbers reads the numeric health check parameters into hc.
func healthCheckNumbers(p url.Values, hc *healthCheck) error {
	for _, f := range []struct {
		name   string
		dst    *int32
		lo, hi int64
	}{
		{"HealthCheckIntervalSeconds", &hc.IntervalSeconds, 5, 300},
		{"HealthCheckTimeoutSeconds", &hc.TimeoutSeconds, 2, 120},
		{"HealthyThresholdCount", &hc.HealthyThreshold, 2, 10},
		{"UnhealthyThresholdCount", &hc.UnhealthyThreshold, 2, 10},
	} {
		v, ok, err := int32Param(p, f.name, f.lo, f.hi)
		if err != nil {
			return err
		}
		if ok {
			*f.dst = v
		}
	}
	return nil
}

func (s *Service) tgXML(tg *targetGroup) xmlTargetGroup {
	hc := tg.HealthCheck
	x := xmlTargetGroup{
		TargetGroupArn: tg.ARN, TargetGroupName: tg.Name, Protocol: tg.Protocol, Port: tg.Port, VpcId: tg.VPCID,
		HealthCheckProtocol: hc.Protocol, HealthCheckPort: hc.Port, HealthCheckEnabled: hc.Enabled,
		HealthCheckIntervalSeconds: hc.IntervalSeconds, HealthCheckTimeoutSeconds: hc.TimeoutSeconds,
		HealthyThresholdCount: hc.HealthyThreshold, UnhealthyThresholdCount: hc.UnhealthyThreshold,
		HealthCheckPath: hc.Path, LoadBalancerArns: s.loadBalancersOfLocked(tg.ARN), TargetType: tg.TargetType,
	}
	if tg.TargetType != "lambda" {
		x.Matcher = &struct{ HttpCode string }{hc.Matcher}
		x.IpAddressType = "ipv4"
	}
	return x
}

func (s *Service) describeTargetGroups(p url.Values) (any, error) {
	arns, names, lbARN := list(p, "TargetGroupArns"), list(p, "Names"), p.Get("LoadBalancerArn")
	if lbARN != "" {
		if _, ok := s.st.LoadBalancers[lbARN]; !ok {
			return nil, lbNotFound()
		}
	}
	var out []xmlTargetGroup
	for _, tg := range sortedByARN(s.st.TargetGroups) {
		if len(arns) > 0 && !slices.Contains(arns, tg.ARN) || len(names) > 0 && !slices.Contains(names, tg.Name) {
			continue
		}
		if lbARN != "" && !slices.Contains(s.loadBalancersOfLocked(tg.ARN), lbARN) {
			continue
		}
		out = append(out, s.tgXML(tg))
	}
	if len(out) < len(arns)+len(names) {
		return nil, tgNotFound()
	}
	return struct {
		TargetGroups []xmlTargetGroup `xml:"TargetGroups>member"`
	}{out}, nil
}

func (s *Service) deleteTargetGroup(p url.Values) (any, error) {
	arn, err := required(p, "TargetGroupArn")
	if err != nil {
		return nil, err
	}
	if len(s.loadBalancersOfLocked(arn)) > 0 {
		return nil, protocol400("ResourceInUse", "Target group '%s' is currently in use by a listener or a rule", arn)
	}
	delete(s.st.TargetGroups, arn)
	delete(s.st.Tags, arn)
	return struct{}{}, nil
}

func (s *Service) createListener(p url.Values) (any, error) {
	if err := checkKnown(p, "", "Action", "Version", "LoadBalancerArn", "Port", "Protocol", "DefaultActions", "Tags",
		"Certificates", "SslPolicy"); err != nil {
		return nil, err
	}
	lbARN, err := required(p, "LoadBalancerArn")
	if err != nil {
		return nil, err
	}
	lb, ok := s.st.LoadBalancers[lbARN]
	if !ok {
		return nil, lbNotFound()
	}
	port, ok, err := int32Param(p, "Port", 1, 65535)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, validation("A listener port must be specified")
	}
	proto := cmp.Or(p.Get("Protocol"), "HTTP")
	if !slices.Contains([]string{"HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP"}, proto) {
		return nil, validation("Listener protocol '%s' is not valid", proto)
	}
	for _, l := range s.st.Listeners {
		if l.LoadBalancerARN == lbARN && l.Port == port {
			return nil, protocol400("DuplicateListener", "A listener already exists on this port for this load balancer")
		}
	}
	lbPath := strings.TrimPrefix(lb.ARN, s.arn("loadbalancer/"))
	lid := hexID(8)
	l := &listener{ARN: s.arn("listener/" + lbPath + "/" + lid), LoadBalancerARN: lbARN, Protocol: proto, Port: port}
	if err := setTLS(p, l, nil); err != nil {
		return nil, err
	}
	actions, err := parseActions(p, "DefaultActions")
	if err != nil {
		return nil, err
	}
	if err := s.checkActionsLocked(actions, l, "DefaultActions", nil); err != nil {
		return nil, err
	}
	tags, err := parseTags(p)
	if err != nil {
		return nil, err
	}
	def := &rule{ARN: s.arn("listener-rule/" + lbPath + "/" + lid + "/" + hexID(8)), ListenerARN: l.ARN, IsDefault: true, Actions: actions}
	l.DefaultRuleARN = def.ARN
	s.st.Listeners[l.ARN] = l
	s.st.Rules[def.ARN] = def
	if len(tags) > 0 {
		s.st.Tags[l.ARN] = tags
	}
	return struct {
		Listeners []xmlListener `xml:"Listeners>member"`
	}{[]xmlListener{s.listenerXML(l)}}, nil
}

// setTLS sets the certificates and security policy of l from p, for the
// protocol l has: an HTTPS or TLS listener needs a certificate (given now,
// or kept from before), another protocol accepts none. old holds the
// certificates l had before a modify.
func setTLS(p url.Values, l *listener, old []string) error {
	var certs []string
	for i, c := range structs(p, "Certificates") {
		if err := checkKnown(c, fmt.Sprintf("Certificates.member.%d.", i+1), "CertificateArn"); err != nil {
			return err
		}
		if c.Get("CertificateArn") == "" {
			return validation("Certificates.member.%d.CertificateArn: required", i+1)
		}
		certs = append(certs, c.Get("CertificateArn"))
	}
	secure := l.Protocol == "HTTPS" || l.Protocol == "TLS"
	switch {
	case !secure && (len(certs) > 0 || p.Get("SslPolicy") != ""):
		return validation("Certificates and SslPolicy are only for HTTPS and TLS listeners, not %s", l.Protocol)
	case !secure:
		l.Certificates, l.SSLPolicy = nil, ""
		return nil
	case len(certs) == 0 && len(old) == 0:
		return validation("A certificate must be specified for %s listeners", l.Protocol)
	case len(certs) > 0:
		l.Certificates = certs
	default:
		l.Certificates = old
	}
	l.SSLPolicy = cmp.Or(p.Get("SslPolicy"), l.SSLPolicy, defaultSSLPolicy)
	return nil
}

func (s *Service) listenerXML(l *listener) xmlListener {
	x := xmlListener{ListenerArn: l.ARN, LoadBalancerArn: l.LoadBalancerARN, Port: l.Port, Protocol: l.Protocol, SslPolicy: l.SSLPolicy}
	for _, c := range l.Certificates {
		x.Certificates = append(x.Certificates, xmlCertificate{CertificateArn: c})
	}
	if def, ok := s.st.Rules[l.DefaultRuleARN]; ok {
		x.DefaultActions = actionsXML(def.Actions)
	}
	return x
}

func (s *Service) describeListeners(p url.Values) (any, error) {
	arns, lbARN := list(p, "ListenerArns"), p.Get("LoadBalancerArn")
	if len(arns) == 0 && lbARN == "" {
		return nil, validation("You must specify either listener ARNs or a load balancer ARN")
	}
	if lbARN != "" {
		if _, ok := s.st.LoadBalancers[lbARN]; !ok {
			return nil, lbNotFound()
		}
	}
	var out []xmlListener
	for _, l := range sortedByARN(s.st.Listeners) {
		if (len(arns) == 0 || slices.Contains(arns, l.ARN)) && (lbARN == "" || l.LoadBalancerARN == lbARN) {
			out = append(out, s.listenerXML(l))
		}
	}
	if len(out) < len(arns) {
		return nil, listenerNotFound()
	}
	return struct {
		Listeners []xmlListener `xml:"Listeners>member"`
	}{out}, nil
}

// modifyListener changes the port, protocol, certificates and default
// actions given; DefaultActions, when given, replace the whole list.
func (s *Service) modifyListener(p url.Values) (any, error) {
	if err := checkKnown(p, "", "Action", "Version", "ListenerArn", "Port", "Protocol", "DefaultActions",
		"Certificates", "SslPolicy"); err != nil {
		return nil, err
	}
	arn, err := required(p, "ListenerArn")
	if err != nil {
		return nil, err
	}
	l, ok := s.st.Listeners[arn]
	if !ok {
		return nil, listenerNotFound()
	}
	port, hasPort, err := int32Param(p, "Port", 1, 65535)
	if err != nil {
		return nil, err
	}
	next := *l
	if proto := p.Get("Protocol"); proto != "" {
		if !slices.Contains([]string{"HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP"}, proto) {
			return nil, validation("Listener protocol '%s' is not valid", proto)
		}
		next.Protocol = proto
	}
	if err := setTLS(p, &next, l.Certificates); err != nil {
		return nil, err
	}
	def := s.st.Rules[l.DefaultRuleARN]
	var actions []action
	if len(structs(p, "DefaultActions")) > 0 {
		if actions, err = parseActions(p, "DefaultActions"); err != nil {
			return nil, err
		}
		if err := s.checkActionsLocked(actions, &next, "DefaultActions", def.Actions); err != nil {
			return nil, err
		}
	}
	if next.Protocol != "HTTPS" {
		// The rules keep their actions: authenticate actions would be left
		// on a listener that cannot run them.
		for _, r := range s.st.Rules {
			if r.ListenerARN == l.ARN && hasAuth(r.Actions) && !(r.IsDefault && actions != nil) {
				return nil, protocol400("InvalidLoadBalancerAction", "Rule '%s' has an authenticate action, which needs an HTTPS listener", r.ARN)
			}
		}
	}
	if hasPort && port != l.Port {
		for _, o := range s.st.Listeners {
			if o.LoadBalancerARN == l.LoadBalancerARN && o.Port == port {
				return nil, protocol400("DuplicateListener", "A listener already exists on this port for this load balancer")
			}
		}
		next.Port = port
	}
	*l = next
	if actions != nil {
		def.Actions = actions
	}
	return struct {
		Listeners []xmlListener `xml:"Listeners>member"`
	}{[]xmlListener{s.listenerXML(l)}}, nil
}

func (s *Service) deleteListener(p url.Values) (any, error) {
	arn, err := required(p, "ListenerArn")
	if err != nil {
		return nil, err
	}
	l, ok := s.st.Listeners[arn]
	if !ok {
		return nil, listenerNotFound()
	}
	s.dropListenerLocked(l)
	return struct{}{}, nil
}

func (s *Service) dropListenerLocked(l *listener) {
	for arn, r := range s.st.Rules {
		if r.ListenerARN == l.ARN {
			delete(s.st.Rules, arn)
			delete(s.st.Tags, arn)
		}
	}
	delete(s.st.Listeners, l.ARN)
	delete(s.st.Tags, l.ARN)
}

func (s *Service) createRule(p url.Values) (any, error) {
	if err := checkKnown(p, "", "Action", "Version", "ListenerArn", "Priority", "Conditions", "Actions", "Tags"); err != nil {
		return nil, err
	}
	lARN, err := required(p, "ListenerArn")
	if err != nil {
		return nil, err
	}
	l, ok := s.st.Listeners[lARN]
	if !ok {
		return nil, listenerNotFound()
	}
	prio, ok, err := int32Param(p, "Priority", 1, 50000)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, validation("A rule priority must be specified")
	}
	for _, r := range s.st.Rules {
		if r.ListenerARN == lARN && r.Priority == int(prio) {
			return nil, protocol400("PriorityInUse", "Priority '%d' is currently in use", prio)
		}
	}
	conds, err := parseConditions(p)
	if err != nil {
		return nil, err
	}
	if len(conds) == 0 {
		return nil, validation("A rule needs at least one condition")
	}
	actions, err := parseActions(p, "Actions")
	if err != nil {
		return nil, err
	}
	if err := s.checkActionsLocked(actions, l, "Actions", nil); err != nil {
		return nil, err
	}
	tags, err := parseTags(p)
	if err != nil {
		return nil, err
	}
	base := strings.Replace(l.ARN, ":listener/", ":listener-rule/", 1)
	r := &rule{ARN: base + "/" + hexID(8), ListenerARN: lARN, Priority: int(prio), Conditions: conds, Actions: actions}
	s.st.Rules[r.ARN] = r
	if len(tags) > 0 {
		s.st.Tags[r.ARN] = tags
	}
	return struct {
		Rules []xmlRule `xml:"Rules>member"`
	}{[]xmlRule{ruleXML(r)}}, nil
}

func (s *Service) describeRules(p url.Values) (any, error) {
	arns, lARN := list(p, "RuleArns"), p.Get("ListenerArn")
	if len(arns) == 0 && lARN == "" {
		return nil, validation("You must specify either listener ARN or rule ARNs")
	}
	if lARN != "" {
		if _, ok := s.st.Listeners[lARN]; !ok {
			return nil, listenerNotFound()
		}
	}
	var rules []*rule
	for _, r := range s.st.Rules {
		if (len(arns) == 0 || slices.Contains(arns, r.ARN)) && (lARN == "" || r.ListenerARN == lARN) {
			rules = append(rules, r)
		}
	}
	if len(rules) < len(arns) {
		return nil, ruleNotFound()
	}
	sortRules(rules)
	out := make([]xmlRule, 0, len(rules))
	for _, r := range rules {
		out = append(out, ruleXML(r))
	}
	return struct {
		Rules []xmlRule `xml:"Rules>member"`
	}{out}, nil
}

// sortRules orders rules by listener, then priority with the default rule last.
func sortRules(rules []*rule) {
	slices.SortFunc(rules, func(a, b *rule) int {
		if c := strings.Compare(a.ListenerARN, b.ListenerARN); c != 0 {
			return c
		}
		if a.IsDefault != b.IsDefault {
			if a.IsDefault {
				return 1
			}
			return -1
		}
		return a.Priority - b.Priority
	})
}

// modifyRule replaces the conditions and the whole action list of a rule,
// as AWS does: actions not repeated are dropped. Conditions not given are
// kept, as are actions when none are given.
func (s *Service) modifyRule(p url.Values) (any, error) {
	if err := checkKnown(p, "", "Action", "Version", "RuleArn", "Conditions", "Actions"); err != nil {
		return nil, err
	}
	arn, err := required(p, "RuleArn")
	if err != nil {
		return nil, err
	}
	r, ok := s.st.Rules[arn]
	if !ok {
		return nil, ruleNotFound()
	}
	var conds []condition
	if len(structs(p, "Conditions")) > 0 {
		if r.IsDefault {
			return nil, protocol400("OperationNotPermitted", "Conditions cannot be set on a default rule")
		}
		if conds, err = parseConditions(p); err != nil {
			return nil, err
		}
	}
	var actions []action
	if len(structs(p, "Actions")) > 0 {
		if actions, err = parseActions(p, "Actions"); err != nil {
			return nil, err
		}
		if err := s.checkActionsLocked(actions, s.st.Listeners[r.ListenerARN], "Actions", r.Actions); err != nil {
			return nil, err
		}
	}
	if conds != nil {
		r.Conditions = conds
	}
	if actions != nil {
		r.Actions = actions
	}
	return struct {
		Rules []xmlRule `xml:"Rules>member"`
	}{[]xmlRule{ruleXML(r)}}, nil
}

func (s *Service) deleteRule(p url.Values) (any, error) {
	arn, err := required(p, "RuleArn")
	if err != nil {
		return nil, err
	}
	r, ok := s.st.Rules[arn]
	if !ok {
		return nil, ruleNotFound()
	}
	if r.IsDefault {
		return nil, protocol400("OperationNotPermitted", "Default rule '%s' cannot be deleted", arn)
	}
	delete(s.st.Rules, arn)
	delete(s.st.Tags, arn)
	return struct{}{}, nil
}

func (s *Service) setRulePriorities(p url.Values) (any, error) {
	type change struct {
		r    *rule
		prio int
	}
	var changes []change
	for i, m := range structs(p, "RulePriorities") {
		r, ok := s.st.Rules[m.Get("RuleArn")]
		if !ok {
			return nil, ruleNotFound()
		}
		if r.IsDefault {
			return nil, protocol400("OperationNotPermitted", "The priority of a default rule cannot be changed")
		}
		prio, ok, err := int32Param(m, "Priority", 1, 50000)
		if err != nil || !ok {
			return nil, validation("RulePriorities.member.%d.Priority: must be between 1 and 50000", i+1)
		}
		changes = append(changes, change{r, int(prio)})
	}
	// Check the end state for clashes before changing anything.
	final := map[string]int{}
	for _, r := range s.st.Rules {
		if !r.IsDefault {
			final[r.ARN] = r.Priority
		}
	}
	for _, c := range changes {
		final[c.r.ARN] = c.prio
	}
	seen := map[string]bool{}
	for arn, prio := range final {
		key := s.st.Rules[arn].ListenerARN + "#" + strconv.Itoa(prio)
		if seen[key] {
			return nil, protocol400("PriorityInUse", "Priority '%d' is currently in use", prio)
		}
		seen[key] = true
	}
	var out []xmlRule
	for _, c := range changes {
		c.r.Priority = c.prio
		out = append(out, ruleXML(c.r))
	}
	return struct {
		Rules []xmlRule `xml:"Rules>member"`
	}{out}, nil
}

// loadBalancersOfLocked returns the load balancers whose listeners forward
// to the target group arn.
func (s *Service) loadBalancersOfLocked(arn string) []string {
	var out []string
	for _, r := range s.st.Rules {
		l, ok := s.st.Listeners[r.ListenerARN]
		if !ok || slices.Contains(out, l.LoadBalancerARN) {
			continue
		}
		for _, a := range r.Actions {
			if a.Forward != nil && slices.ContainsFunc(a.Forward.TargetGroups, func(g weightedGroup) bool { return g.ARN == arn }) {
				out = append(out, l.LoadBalancerARN)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

func ruleXML(r *rule) xmlRule {
	x := xmlRule{RuleArn: r.ARN, Priority: strconv.Itoa(r.Priority), IsDefault: r.IsDefault, Actions: actionsXML(r.Actions)}
	if r.IsDefault {
		x.Priority = "default"
	}
	for _, c := range r.Conditions {
		xc := xmlCondition{Field: c.Field}
		switch c.Field {
		case "path-pattern":
			xc.Values, xc.PathPatternConfig = c.Values, &xmlValues{c.Values}
		case "host-header":
			xc.Values, xc.HostHeaderConfig = c.Values, &xmlValues{c.Values}
		case "http-request-method":
			xc.HttpRequestMethodConfig = &xmlValues{c.Values}
		case "source-ip":
			xc.SourceIpConfig = &xmlValues{c.Values}
		case "http-header":
			xc.HttpHeaderConfig = &xmlHeader{HttpHeaderName: c.HeaderName, Values: c.Values}
		case "query-string":
			q := &xmlQuery{}
			for _, kv := range c.QueryPairs {
				q.Values = append(q.Values, xmlKeyValue{Key: kv.Key, Value: kv.Value})
			}
			xc.QueryStringConfig = q
		}
		x.Conditions = append(x.Conditions, xc)
	}
	return x
}

// protocol400 is a client error with an ELBv2 code.
func protocol400(code, format string, args ...any) error {
	return protocol.Errorf(400, code, format, args...)
}

// sortedByARN returns the values of m ordered by key, for stable listings.
func sortedByARN[T any](m map[string]T) []T {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]T, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}
