package elbv2

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// protocolCode reports whether err is the protocol error code, as the
// in-process calls return them.
func protocolCode(err error, code string) bool {
	var pe *protocol.Error
	return errors.As(err, &pe) && pe.Code == code
}

// TestShiftWeights: ECS's native deployments move a rule's traffic
// between two target groups; a tenth of a percent becomes weights out of
// 1000, a forward naming one target group gains the other, and unknown
// rules or target groups are errors.
func TestShiftWeights(t *testing.T) {
	s, c, _, _ := setup(t)
	w := build(t, c)
	ctx := context.Background()
	weights := func(rule string) map[string]int32 {
		t.Helper()
		out, err := c.DescribeRules(ctx, &sdk.DescribeRulesInput{RuleArns: []string{rule}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int32{}
		for _, g := range out.Rules[0].Actions[0].ForwardConfig.TargetGroups {
			got[aws.ToString(g.TargetGroupArn)] = aws.ToInt32(g.Weight)
		}
		return got
	}
	for _, tc := range []struct {
		percent     float64
		blue, green int32
	}{{10, 90, 10}, {12.5, 875, 125}, {0.1, 999, 1}, {100, 0, 100}, {0, 100, 0}} {
		if err := s.ShiftWeights(w.rule, w.blue, w.green, tc.percent); err != nil {
			t.Fatalf("shift %v%%: %v", tc.percent, err)
		}
		if diff := cmp.Diff(map[string]int32{w.blue: tc.blue, w.green: tc.green}, weights(w.rule)); diff != "" {
			t.Errorf("%v%% to green (-want +got):\n%s", tc.percent, diff)
		}
		got, err := s.Weights(w.rule)
		if err != nil || got[w.green] < tc.percent-0.05 || got[w.green] > tc.percent+0.05 {
			t.Errorf("Weights after %v%%: %v %v", tc.percent, got, err)
		}
	}
	// A rule forwarding to blue alone gains green.
	r, err := c.CreateRule(ctx, &sdk.CreateRuleInput{ListenerArn: &w.listener, Priority: aws.Int32(20),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/api/*"}}},
		Actions:    []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: &w.blue}}})
	if err != nil {
		t.Fatal(err)
	}
	single := aws.ToString(r.Rules[0].RuleArn)
	if exists, fwd := s.ForwardsTo(single, w.green); !exists || fwd {
		t.Errorf("ForwardsTo green before the shift: %v %v, want the rule and no forward", exists, fwd)
	}
	if err := s.ShiftWeights(single, w.blue, w.green, 30); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int32{w.blue: 70, w.green: 30}, weights(single)); diff != "" {
		t.Errorf("single forward after a shift (-want +got):\n%s", diff)
	}
	if err := s.ShiftWeights(w.rule+"0", w.blue, w.green, 5); !protocolCode(err, "RuleNotFound") {
		t.Errorf("unknown rule: got %v, want RuleNotFound", err)
	}
	if err := s.ShiftWeights(w.rule, w.blue, w.green+"0", 5); !protocolCode(err, "TargetGroupNotFound") {
		t.Errorf("unknown target group: got %v, want TargetGroupNotFound", err)
	}
	if exists, _ := s.ForwardsTo(w.rule+"0", w.blue); exists {
		t.Errorf("ForwardsTo an unknown rule: exists")
	}
}
