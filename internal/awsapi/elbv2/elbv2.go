// Package elbv2 is the adapter over Elastic Load Balancing v2: the weights of
// a listener rule's forward action, which move traffic between slots, and
// the health of a target group's targets.
package elbv2

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/slipwayhq/slipway/internal/awsapi"
)

// ErrNotFound means the rule or the target group does not exist.
var ErrNotFound = errors.New("not found")

// api lists the ELBv2 client methods the adapter uses.
type api interface {
	DescribeRules(context.Context, *sdk.DescribeRulesInput, ...func(*sdk.Options)) (*sdk.DescribeRulesOutput, error)
	ModifyRule(context.Context, *sdk.ModifyRuleInput, ...func(*sdk.Options)) (*sdk.ModifyRuleOutput, error)
	DescribeTargetHealth(context.Context, *sdk.DescribeTargetHealthInput, ...func(*sdk.Options)) (*sdk.DescribeTargetHealthOutput, error)
}

// Client reads and moves load balancer traffic.
type Client struct {
	api api
}

// New returns a Client over api, normally an *elasticloadbalancingv2.Client
// from the SDK.
func New(api api) *Client { return &Client{api: api} }

// TargetWeight is one target group of a weighted forward action. Weights are
// relative (0 to 999): each group gets weight/sum of the traffic.
type TargetWeight struct {
	TargetGroupARN string
	Weight         int32
}

// Target is one registered target and its health.
type Target struct {
	ID          string // instance id or IP address
	Port        int32
	State       string // initial, healthy, unhealthy, unused, draining, unavailable
	Reason      string // for example Target.FailedHealthChecks; empty when healthy
	Description string
}

// RuleWeights returns the target groups and weights of the forward action of
// the rule ruleARN. A forward action naming one target group without weights
// reads as that group with weight 1, as does a group whose weight is absent.
func (c *Client) RuleWeights(ctx context.Context, ruleARN string) ([]TargetWeight, error) {
	op := "describe rule " + ruleARN
	out, err := c.api.DescribeRules(ctx, &sdk.DescribeRulesInput{RuleArns: []string{ruleARN}})
	if err != nil {
		return nil, notFound(op, err, "RuleNotFound")
	}
	if len(out.Rules) == 0 {
		return nil, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	for _, a := range out.Rules[0].Actions {
		if a.Type != types.ActionTypeEnumForward {
			continue
		}
		if a.ForwardConfig == nil || len(a.ForwardConfig.TargetGroups) == 0 {
			return []TargetWeight{{TargetGroupARN: aws.ToString(a.TargetGroupArn), Weight: 1}}, nil
		}
		var ws []TargetWeight
		for _, tg := range a.ForwardConfig.TargetGroups {
			weight := int32(1)
			if tg.Weight != nil {
				weight = *tg.Weight
			}
			ws = append(ws, TargetWeight{TargetGroupARN: aws.ToString(tg.TargetGroupArn), Weight: weight})
		}
		return ws, nil
	}
	return nil, fmt.Errorf("%s: the rule has no forward action", op)
}

// SetRuleWeights replaces the actions of the rule ruleARN with one forward
// action splitting traffic by w. ModifyRule replaces the whole action list,
// so any other action of the rule is dropped.
func (c *Client) SetRuleWeights(ctx context.Context, ruleARN string, w []TargetWeight) error {
	tgs := make([]types.TargetGroupTuple, 0, len(w))
	for _, t := range w {
		tgs = append(tgs, types.TargetGroupTuple{TargetGroupArn: aws.String(t.TargetGroupARN), Weight: aws.Int32(t.Weight)})
	}
	_, err := c.api.ModifyRule(ctx, &sdk.ModifyRuleInput{
		RuleArn: &ruleARN,
		Actions: []types.Action{{
			Type:          types.ActionTypeEnumForward,
			ForwardConfig: &types.ForwardActionConfig{TargetGroups: tgs},
		}},
	})
	return notFound("modify rule "+ruleARN, err, "RuleNotFound", "TargetGroupNotFound")
}

// TargetHealth returns the targets registered in the target group
// targetGroupARN with their health.
func (c *Client) TargetHealth(ctx context.Context, targetGroupARN string) ([]Target, error) {
	out, err := c.api.DescribeTargetHealth(ctx, &sdk.DescribeTargetHealthInput{TargetGroupArn: &targetGroupARN})
	if err != nil {
		return nil, notFound("describe target health "+targetGroupARN, err, "TargetGroupNotFound")
	}
	var ts []Target
	for _, d := range out.TargetHealthDescriptions {
		t := Target{}
		if d.Target != nil {
			t.ID, t.Port = aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port)
		}
		if d.TargetHealth != nil {
			t.State, t.Reason = string(d.TargetHealth.State), string(d.TargetHealth.Reason)
			t.Description = aws.ToString(d.TargetHealth.Description)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// notFound wraps err with ErrNotFound when its code is one of codes, and
// classifies it otherwise; it returns nil for a nil err.
func notFound(op string, err error, codes ...string) error {
	if awsapi.HasCode(err, codes...) {
		return fmt.Errorf("%s: %w: %w", op, ErrNotFound, err)
	}
	return awsapi.Classify(op, err)
}
