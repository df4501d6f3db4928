package elbv2

import (
	"net/url"
	"strconv"
	"time"
)

// defaultAttribute returns the default of a target group attribute the
// simulation knows, and whether it knows it.
func defaultAttribute(key string) (string, bool) {
	switch key {
	case "deregistration_delay.timeout_seconds":
		return "300", true
	case "stickiness.enabled":
		return "false", true
	case "stickiness.type":
		return "lb_cookie", true
	case "stickiness.lb_cookie.duration_seconds":
		return "86400", true
	case "slow_start.duration_seconds":
		return "0", true
	case "load_balancing.algorithm.type":
		return "round_robin", true
	}
	return "", false
}

// attributeKeys returns the keys of the attributes the simulation knows,
// sorted.
func attributeKeys() []string {
	return []string{"deregistration_delay.timeout_seconds", "load_balancing.algorithm.type", "slow_start.duration_seconds",
		"stickiness.enabled", "stickiness.lb_cookie.duration_seconds", "stickiness.type"}
}

type xmlAttribute struct{ Key, Value string }

// attributesXML returns every attribute of tg, set or default, by key.
func attributesXML(tg *targetGroup) []xmlAttribute {
	var out []xmlAttribute
	for _, k := range attributeKeys() {
		v, ok := tg.Attributes[k]
		if !ok {
			v, _ = defaultAttribute(k)
		}
		out = append(out, xmlAttribute{k, v})
	}
	return out
}

// deregistrationDelay is how long a deregistered target of tg drains.
func deregistrationDelay(tg *targetGroup) time.Duration {
	if v, ok := tg.Attributes["deregistration_delay.timeout_seconds"]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			return time.Duration(n) * time.Second
		}
	}
	return defaultDeregistrationDelay
}

func (s *Service) describeTargetGroupAttributes(p url.Values) (any, error) {
	arn, err := required(p, "TargetGroupArn")
	if err != nil {
		return nil, err
	}
	tg, ok := s.st.TargetGroups[arn]
	if !ok {
		return nil, tgNotFound()
	}
	return struct {
		Attributes []xmlAttribute `xml:"Attributes>member"`
	}{attributesXML(tg)}, nil
}

func (s *Service) modifyTargetGroupAttributes(p url.Values) (any, error) {
	arn, err := required(p, "TargetGroupArn")
	if err != nil {
		return nil, err
	}
	tg, ok := s.st.TargetGroups[arn]
	if !ok {
		return nil, tgNotFound()
	}
	set := map[string]string{}
	for i, m := range structs(p, "Attributes") {
		k, v := m.Get("Key"), m.Get("Value")
		if _, known := defaultAttribute(k); !known {
			return nil, validation("Attributes.member.%d.Key: target group attribute key '%s' is not recognized", i+1, k)
		}
		if err := checkAttribute(k, v); err != nil {
			return nil, err
		}
		set[k] = v
	}
	if len(set) == 0 {
		return nil, validation("Attributes: at least one attribute is required")
	}
	if tg.Attributes == nil {
		tg.Attributes = map[string]string{}
	}
	for k, v := range set {
		tg.Attributes[k] = v
	}
	return struct {
		Attributes []xmlAttribute `xml:"Attributes>member"`
	}{attributesXML(tg)}, nil
}

// checkAttribute validates an attribute value as AWS does.
func checkAttribute(key, value string) error {
	intIn := func(lo, hi int) error {
		n, err := strconv.Atoi(value)
		if err != nil || n < lo || n > hi {
			return validation("Target group attribute '%s' must be an integer from %d to %d, got '%s'", key, lo, hi, value)
		}
		return nil
	}
	switch key {
	case "deregistration_delay.timeout_seconds":
		return intIn(0, 3600)
	case "stickiness.lb_cookie.duration_seconds":
		return intIn(1, 604800)
	case "slow_start.duration_seconds":
		if value != "0" {
			return intIn(30, 900)
		}
	case "stickiness.enabled":
		if value != "true" && value != "false" {
			return validation("Target group attribute '%s' must be true or false, got '%s'", key, value)
		}
	case "stickiness.type":
		if value != "lb_cookie" && value != "app_cookie" {
			return validation("Target group attribute '%s' must be lb_cookie or app_cookie, got '%s'", key, value)
		}
	case "load_balancing.algorithm.type":
		if value != "round_robin" && value != "least_outstanding_requests" && value != "weighted_random" {
			return validation("Target group attribute '%s' must be round_robin, least_outstanding_requests or weighted_random, got '%s'", key, value)
		}
	}
	return nil
}

// modifyTargetGroup changes the health check settings of a target group.
func (s *Service) modifyTargetGroup(p url.Values) (any, error) {
	arn, err := required(p, "TargetGroupArn")
	if err != nil {
		return nil, err
	}
	tg, ok := s.st.TargetGroups[arn]
	if !ok {
		return nil, tgNotFound()
	}
	hc := tg.HealthCheck
	for name, dst := range map[string]*string{"HealthCheckProtocol": &hc.Protocol, "HealthCheckPort": &hc.Port, "HealthCheckPath": &hc.Path, "Matcher.HttpCode": &hc.Matcher} {
		if v := p.Get(name); v != "" {
			*dst = v
		}
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
	return struct {
		TargetGroups []xmlTargetGroup `xml:"TargetGroups>member"`
	}{[]xmlTargetGroup{s.tgXML(tg)}}, nil
}
