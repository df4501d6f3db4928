package elbv2

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// FuzzServeQuery feeds arbitrary forms to every action, against a world with
// resources in it: the service must answer with a result or a
// *protocol.Error, never panic.
func FuzzServeQuery(f *testing.F) {
	f.Add("ModifyRule", "RuleArn=x&Actions.member.1.Type=forward&Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=y&Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight=5")
	f.Add("CreateRule", "ListenerArn=x&Priority=3&Conditions.member.1.Field=query-string&Conditions.member.1.QueryStringConfig.Values.member.1.Key=a")
	f.Add("CreateTargetGroup", "Name=a&Protocol=HTTP&Port=99999&VpcId=v")
	f.Add("SetRulePriorities", "RulePriorities.member.1.RuleArn=r&RulePriorities.member.1.Priority=0")
	f.Add("DescribeTargetHealth", "TargetGroupArn=t&Targets.member.1.Id=&Targets.member.2.Port=x")
	f.Add("CreateListener", "LoadBalancerArn=l&Port=80&DefaultActions.member.1.Type=redirect&DefaultActions.member.1.Order=0")
	f.Add("ModifyTargetGroupAttributes", "TargetGroupArn=t&Attributes.member.1.Key=slow_start.duration_seconds&Attributes.member.1.Value=29")
	f.Add("ModifyTargetGroup", "TargetGroupArn=t&HealthCheckEnabled=maybe&UnhealthyThresholdCount=11")
	for _, a := range []string{"CreateLoadBalancer", "DeleteLoadBalancer", "AddTags", "DescribeTags", "RegisterTargets", "DeregisterTargets", "ModifyListener", "DeleteRule"} {
		f.Add(a, "")
	}
	f.Fuzz(func(t *testing.T, action, form string) {
		params, err := url.ParseQuery(form)
		if err != nil {
			return
		}
		s := seeded(t)
		// Point the fuzzed ARNs at real resources some of the time.
		for k, vs := range params {
			for i, v := range vs {
				switch v {
				case "x":
					vs[i] = s.anyARN("listener")
				case "y", "t":
					vs[i] = s.anyARN("targetgroup")
				case "r":
					vs[i] = s.anyARN("rule")
				case "l":
					vs[i] = s.anyARN("loadbalancer")
				}
			}
			params[k] = vs
		}
		_, err = s.ServeQuery(context.Background(), action, params)
		var pe *protocol.Error
		if err != nil && !errors.As(err, &pe) {
			t.Errorf("got %T %v, want a *protocol.Error", err, err)
		}
	})
}

// seeded returns a Service holding a load balancer, two target groups, a
// listener and a weighted rule, built through ServeQuery.
func seeded(t *testing.T) *Service {
	s := New(Config{})
	call := func(action, form string) {
		p, _ := url.ParseQuery(form)
		if _, err := s.ServeQuery(context.Background(), action, p); err != nil {
			t.Fatalf("%s: %v", action, err)
		}
	}
	call("CreateLoadBalancer", "Name=lb")
	call("CreateTargetGroup", "Name=blue&Protocol=HTTP&Port=80&VpcId=v")
	call("CreateTargetGroup", "Name=green&Protocol=HTTP&Port=80&VpcId=v")
	call("CreateListener", "LoadBalancerArn="+url.QueryEscape(s.anyARN("loadbalancer"))+"&Port=80&DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn="+url.QueryEscape(s.anyARN("targetgroup")))
	call("CreateRule", "ListenerArn="+url.QueryEscape(s.anyARN("listener"))+"&Priority=1&Conditions.member.1.Field=path-pattern&Conditions.member.1.Values.member.1=/a"+
		"&Actions.member.1.Type=forward&Actions.member.1.TargetGroupArn="+url.QueryEscape(s.anyARN("targetgroup")))
	return s
}

// anyARN returns the first ARN of a resource of kind, or "" when none.
func (s *Service) anyARN(kind string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	switch kind {
	case "loadbalancer":
		for k := range s.st.LoadBalancers {
			keys = append(keys, k)
		}
	case "targetgroup":
		for k := range s.st.TargetGroups {
			keys = append(keys, k)
		}
	case "listener":
		for k := range s.st.Listeners {
			keys = append(keys, k)
		}
	case "rule":
		for k, r := range s.st.Rules {
			if !r.IsDefault {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}
