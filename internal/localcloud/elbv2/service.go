package elbv2

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sync"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// Config configures a Service.
type Config struct {
	// Region goes into ARNs and DNS names; us-east-1 when empty.
	Region string
	// Clock stamps creation times and drives health checks and draining;
	// the real clock when nil.
	Clock clock.Clock
}

// Service is the ELBv2 simulation. It is safe for concurrent use.
type Service struct {
	region string
	clock  clock.Clock

	mu sync.Mutex
	st state
}

// New returns an empty Service.
func New(cfg Config) *Service {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	return &Service{region: cfg.Region, clock: cfg.Clock, st: newState()}
}

func newState() state {
	return state{
		LoadBalancers: map[string]*loadBalancer{},
		TargetGroups:  map[string]*targetGroup{},
		Listeners:     map[string]*listener{},
		Rules:         map[string]*rule{},
		Tags:          map[string][]tag{},
	}
}

// Snapshot returns the whole state as JSON, for --state-dir.
func (s *Service) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := json.Marshal(s.st)
	if err != nil {
		return nil, fmt.Errorf("snapshot elbv2: %w", err)
	}
	return b, nil
}

// Restore replaces the state with one Snapshot returned.
func (s *Service) Restore(b []byte) error {
	st := newState()
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("restore elbv2: %w", err)
	}
	for _, m := range []bool{st.LoadBalancers == nil, st.TargetGroups == nil, st.Listeners == nil, st.Rules == nil, st.Tags == nil} {
		if m {
			return fmt.Errorf("restore elbv2: incomplete snapshot")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = st
	return nil
}

// handlers maps each action to its implementation; every one runs with s.mu held.
func (s *Service) handlers() map[string]func(url.Values) (any, error) {
	return map[string]func(url.Values) (any, error){
		"CreateLoadBalancer":    s.createLoadBalancer,
		"DescribeLoadBalancers": s.describeLoadBalancers,
		"DeleteLoadBalancer":    s.deleteLoadBalancer,
		"CreateTargetGroup":     s.createTargetGroup,
		"DescribeTargetGroups":  s.describeTargetGroups,
		"DeleteTargetGroup":     s.deleteTargetGroup,
		"ModifyTargetGroup":     s.modifyTargetGroup,

		"DescribeTargetGroupAttributes": s.describeTargetGroupAttributes,
		"ModifyTargetGroupAttributes":   s.modifyTargetGroupAttributes,
		"CreateListener":                s.createListener,
		"DescribeListeners":             s.describeListeners,
		"ModifyListener":                s.modifyListener,
		"DeleteListener":                s.deleteListener,
		"CreateRule":                    s.createRule,
		"DescribeRules":                 s.describeRules,
		"ModifyRule":                    s.modifyRule,
		"DeleteRule":                    s.deleteRule,
		"SetRulePriorities":             s.setRulePriorities,
		"RegisterTargets":               s.registerTargets,
		"DeregisterTargets":             s.deregisterTargets,
		"DescribeTargetHealth":          s.describeTargetHealth,
		"AddTags":                       s.addTags,
		"RemoveTags":                    s.removeTags,
		"DescribeTags":                  s.describeTags,
	}
}

// ServeQuery runs one query-protocol action. The result is the content of
// <{Action}Result>; errors are *protocol.Error with AWS's codes.
func (s *Service) ServeQuery(_ context.Context, action string, params url.Values) (any, error) {
	h, ok := s.handlers()[action]
	if !ok {
		return nil, protocol.Errorf(400, "InvalidAction", "The action %s is not valid for this web service.", action)
	}
	if v := params.Get("Version"); v != "" && v != Version {
		return nil, protocol.Errorf(400, "InvalidAction", "The action %s is not valid for version %s.", action, v)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDrainedLocked()
	return h(params)
}

// Errors as ELBv2 reports them.

func validation(format string, args ...any) error {
	return protocol.Errorf(400, "ValidationError", format, args...)
}

func tgNotFound() error {
	return protocol.Errorf(400, "TargetGroupNotFound", "One or more target groups not found")
}

func lbNotFound() error {
	return protocol.Errorf(400, "LoadBalancerNotFound", "One or more load balancers not found")
}

func listenerNotFound() error {
	return protocol.Errorf(400, "ListenerNotFound", "One or more listeners not found")
}

func ruleNotFound() error {
	return protocol.Errorf(400, "RuleNotFound", "One or more rules not found")
}

// required returns the parameter name or a ValidationError naming it.
func required(p url.Values, name string) (string, error) {
	v := p.Get(name)
	if v == "" {
		return "", validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(name))
	}
	return v, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	if b[0] >= 'A' && b[0] <= 'Z' {
		b[0] += 'a' - 'A'
	}
	return string(b)
}

// hexID returns n random bytes as hex, the shape of the ids in ELBv2 ARNs.
func hexID(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}

func (s *Service) arn(resource string) string {
	return "arn:aws:elasticloadbalancing:" + s.region + ":" + account + ":" + resource
}

// nameRE is what AWS accepts for load balancer and target group names.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$`)

func checkName(kind, name string) error {
	if !nameRE.MatchString(name) {
		return validation("%s name '%s' must be 1 to 32 alphanumeric characters or hyphens, and must not begin or end with a hyphen", kind, name)
	}
	if len(name) > 9 && name[:9] == "internal-" {
		return validation("%s name '%s' cannot begin with 'internal-'", kind, name)
	}
	return nil
}
