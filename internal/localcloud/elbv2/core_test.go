package elbv2

import (
	"context"
	"testing"

	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/google/go-cmp/cmp"

	adapter "github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

// TestThroughCoreRouter serves the service from the endpoint's router,
// registered as the endpoint registers it, and drives it with the SDK and
// Slipway's adapter.
func TestThroughCoreRouter(t *testing.T) {
	s := New(Config{Clock: clock.NewVirtual(start)})
	router := localcloud.NewServer(localcloud.Options{})
	router.RegisterQuery("elasticloadbalancing", Version, Namespace, s)
	c := sdk.NewFromConfig(prototest.Config(prototest.Serve(t, router)))
	w := build(t, c)
	a := adapter.New(c)
	ctx := context.Background()
	if err := a.SetRuleWeights(ctx, w.rule, []adapter.TargetWeight{{TargetGroupARN: w.blue, Weight: 50}, {TargetGroupARN: w.green, Weight: 50}}); err != nil {
		t.Fatal(err)
	}
	got, err := a.RuleWeights(ctx, w.rule)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]adapter.TargetWeight{{TargetGroupARN: w.blue, Weight: 50}, {TargetGroupARN: w.green, Weight: 50}}, got); diff != "" {
		t.Errorf("weights (-want +got):\n%s", diff)
	}
	if _, err := c.DescribeTargetGroups(ctx, &sdk.DescribeTargetGroupsInput{Names: []string{"nope"}}); !hasCode(err, "TargetGroupNotFound") {
		t.Errorf("got %v, want TargetGroupNotFound", err)
	}
}
