// Package elbv2 is the adapter over Elastic Load Balancing v2: the action
// list of a listener rule, whose forward weights move traffic between slots,
// and the health of a target group's targets.
package elbv2

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

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
// the rule ruleARN (see ForwardWeights).
func (c *Client) RuleWeights(ctx context.Context, ruleARN string) ([]TargetWeight, error) {
	actions, err := c.RuleActions(ctx, ruleARN)
	if err != nil {
		return nil, err
	}
	w, err := ForwardWeights(actions)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", ruleARN, err)
	}
	return w, nil
}

// RuleActions returns the whole action list of the rule ruleARN, ordered by
// Order, as DescribeRules returns it (so without the client secret of an
// authenticate-oidc action).
func (c *Client) RuleActions(ctx context.Context, ruleARN string) ([]Action, error) {
	op := "describe rule " + ruleARN
	out, err := c.api.DescribeRules(ctx, &sdk.DescribeRulesInput{RuleArns: []string{ruleARN}})
	if err != nil {
		return nil, notFound(op, err, "RuleNotFound")
	}
	if len(out.Rules) == 0 {
		return nil, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	actions := make([]Action, 0, len(out.Rules[0].Actions))
	for _, a := range out.Rules[0].Actions {
		actions = append(actions, fromSDK(a))
	}
	slices.SortStableFunc(actions, func(a, b Action) int { return cmp.Compare(a.Order, b.Order) })
	return actions, nil
}

// SetRuleWeights splits the traffic of the rule ruleARN by w. ModifyRule
// replaces the whole action list, so it reads the rule and writes it back
// with only the forward action's target groups changed: authenticate
// actions, every action's Order and the forward's stickiness stay as read.
// Nothing locks the rule between the read and the write; a change made by
// someone else in that moment is overwritten.
func (c *Client) SetRuleWeights(ctx context.Context, ruleARN string, w []TargetWeight) error {
	actions, err := c.RuleActions(ctx, ruleARN)
	if err != nil {
		return err
	}
	next, err := WithWeights(actions, w)
	if err != nil {
		return fmt.Errorf("rule %s: %w", ruleARN, err)
	}
	return c.SetRuleActions(ctx, ruleARN, next)
}

// SetRuleActions replaces the action list of the rule ruleARN with actions,
// for instance a list RuleActions captured earlier. An authenticate-oidc
// action is written with UseExistingClientSecret, AWS's way to keep the
// client secret DescribeRules does not return.
func (c *Client) SetRuleActions(ctx context.Context, ruleARN string, actions []Action) error {
	in := make([]types.Action, 0, len(actions))
	for _, a := range actions {
		in = append(in, toSDK(a))
	}
	_, err := c.api.ModifyRule(ctx, &sdk.ModifyRuleInput{RuleArn: &ruleARN, Actions: in})
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
