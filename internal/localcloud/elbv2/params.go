package elbv2

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// list returns the members of the query list name (name.member.1 …).
func list(p url.Values, name string) []string {
	return protocol.QueryList(p, name)
}

// structs returns the members of the query list of structures name, each
// with the prefix name.member.N. stripped.
func structs(p url.Values, name string) []url.Values {
	return protocol.QueryStructs(p, name)
}

// sub returns the parameters under prefix (prefix. stripped), for a nested
// structure such as ForwardConfig.
func sub(p url.Values, prefix string) url.Values {
	out := url.Values{}
	for k, v := range p {
		if rest, ok := strings.CutPrefix(k, prefix+"."); ok {
			out[rest] = v
		}
	}
	return out
}

// int32Param parses an optional integer parameter; ok is false when absent.
func int32Param(p url.Values, name string, lo, hi int64) (n int32, ok bool, err error) {
	v := p.Get(name)
	if v == "" {
		return 0, false, nil
	}
	i, perr := strconv.ParseInt(v, 10, 32)
	if perr != nil || i < lo || i > hi {
		return 0, false, validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have value between %d and %d", v, lowerFirst(name), lo, hi)
	}
	return int32(i), true, nil
}

func boolParam(p url.Values, name string) (b, ok bool, err error) {
	switch p.Get(name) {
	case "":
		return false, false, nil
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	return false, false, validation("Value '%s' at '%s' is not a boolean", p.Get(name), lowerFirst(name))
}

// conditionConfig returns the name of the structure carrying the values of
// a condition field AWS knows.
func conditionConfig(field string) (string, bool) {
	switch field {
	case "path-pattern":
		return "PathPatternConfig", true
	case "host-header":
		return "HostHeaderConfig", true
	case "http-header":
		return "HttpHeaderConfig", true
	case "http-request-method":
		return "HttpRequestMethodConfig", true
	case "query-string":
		return "QueryStringConfig", true
	case "source-ip":
		return "SourceIpConfig", true
	}
	return "", false
}

func parseConditions(p url.Values) ([]condition, error) {
	var out []condition
	for i, m := range structs(p, "Conditions") {
		field := "Conditions.member." + strconv.Itoa(i+1)
		c := condition{Field: m.Get("Field"), Values: list(m, "Values")}
		cfg, ok := conditionConfig(c.Field)
		if !ok {
			return nil, validation("%s.Field: '%s' is not one of path-pattern, host-header, http-header, http-request-method, query-string, source-ip", field, c.Field)
		}
		// Only the configuration of the condition's field, and nothing the
		// endpoint does not model (RegexValues, say), is accepted.
		if err := checkKnown(m, field+".", "Field", "Values", cfg); err != nil {
			return nil, err
		}
		sc := sub(m, cfg)
		known := []string{"Values"}
		if c.Field == "http-header" {
			known = append(known, "HttpHeaderName")
		}
		if err := checkKnown(sc, field+"."+cfg+".", known...); err != nil {
			return nil, err
		}
		switch c.Field {
		case "query-string":
			for _, kv := range structs(sc, "Values") {
				c.QueryPairs = append(c.QueryPairs, keyValue{Key: kv.Get("Key"), Value: kv.Get("Value")})
			}
		case "http-header":
			c.HeaderName = sc.Get("HttpHeaderName")
			if c.HeaderName == "" {
				return nil, validation("%s.HttpHeaderConfig.HttpHeaderName: required", field)
			}
			c.Values = append(c.Values, list(sc, "Values")...)
		default:
			c.Values = append(c.Values, list(sc, "Values")...)
		}
		if len(c.Values) == 0 && len(c.QueryPairs) == 0 {
			return nil, validation("%s: a condition needs at least one value", field)
		}
		out = append(out, c)
	}
	return out, nil
}

func parseTags(p url.Values) ([]tag, error) {
	var out []tag
	for i, m := range structs(p, "Tags") {
		if m.Get("Key") == "" {
			return nil, validation("Tags.member.%d.Key: required", i+1)
		}
		out = append(out, tag{Key: m.Get("Key"), Value: m.Get("Value")})
	}
	return out, nil
}
