package elbv2

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// TestTargetTimingsFollowTheTargetGroup: the time a new target stays
// initial is the group's HealthCheckIntervalSeconds ×
// HealthyThresholdCount (ALB defaults 30 s × 5), or × UnhealthyThresholdCount
// (2) for one that fails its checks, and the time a
// deregistered one drains is its deregistration_delay.timeout_seconds
// (default 300 s); ModifyTargetGroup and ModifyTargetGroupAttributes change
// them, as the ECS simulation then sees (issue 11, ECS: target
// registration waits for the health check's interval × healthy threshold).
func TestTargetTimingsFollowTheTargetGroup(t *testing.T) {
	s, c, _, _ := setup(t)
	w := build(t, c)
	ctx := context.Background()
	if got, want := s.HealthyAfter(w.green), 150*time.Second; got != want {
		t.Errorf("got healthy after %s by default, want %s", got, want)
	}
	if got, want := s.DeregistrationDelay(w.green), 300*time.Second; got != want {
		t.Errorf("got deregistration delay %s by default, want %s", got, want)
	}
	if got, want := s.UnhealthyAfter(w.green), 60*time.Second; got != want {
		t.Errorf("got unhealthy after %s by default, want %s", got, want)
	}
	if _, err := c.ModifyTargetGroup(ctx, &sdk.ModifyTargetGroupInput{TargetGroupArn: &w.green,
		HealthCheckIntervalSeconds: aws.Int32(10), HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModifyTargetGroupAttributes(ctx, &sdk.ModifyTargetGroupAttributesInput{TargetGroupArn: &w.green,
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("30")}}}); err != nil {
		t.Fatal(err)
	}
	if got, want := s.HealthyAfter(w.green), 20*time.Second; got != want {
		t.Errorf("got healthy after %s, want %s (10 s × 2)", got, want)
	}
	if got, want := s.UnhealthyAfter(w.green), 30*time.Second; got != want {
		t.Errorf("got unhealthy after %s, want %s (10 s × 3)", got, want)
	}
	if got, want := s.DeregistrationDelay(w.green), 30*time.Second; got != want {
		t.Errorf("got deregistration delay %s, want %s", got, want)
	}
	if got := s.HealthyAfter("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/nope/1"); got != 0 {
		t.Errorf("got healthy after %s for an unknown group, want 0", got)
	}
}
