package ecs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

// updated is what DescribeServices says of the fields UpdateService changes
// besides the task definition and count.
type updated struct {
	Subnets          []string
	LoadBalancers    int
	Registries       int
	LaunchType       types.LaunchType
	CapacityProvider []string
	MaxPercent       int32
	MinPercent       int32
	Breaker          bool
	Grace            int32
	ExecuteCommand   bool
	PropagateTags    types.PropagateTags
}

func describeUpdated(s types.Service) updated {
	u := updated{LoadBalancers: len(s.LoadBalancers), Registries: len(s.ServiceRegistries), LaunchType: s.LaunchType,
		Grace: aws.ToInt32(s.HealthCheckGracePeriodSeconds), ExecuteCommand: s.EnableExecuteCommand, PropagateTags: s.PropagateTags}
	if n := s.NetworkConfiguration; n != nil && n.AwsvpcConfiguration != nil {
		u.Subnets = n.AwsvpcConfiguration.Subnets
	}
	for _, p := range s.CapacityProviderStrategy {
		u.CapacityProvider = append(u.CapacityProvider, aws.ToString(p.CapacityProvider))
	}
	if dc := s.DeploymentConfiguration; dc != nil {
		u.MaxPercent, u.MinPercent = aws.ToInt32(dc.MaximumPercent), aws.ToInt32(dc.MinimumHealthyPercent)
		u.Breaker = dc.DeploymentCircuitBreaker != nil && dc.DeploymentCircuitBreaker.Enable
	}
	return u
}

// TestUpdateServiceFields: every field UpdateService accepts and the local
// endpoint models is applied and reported by DescribeServices; empty lists
// remove load balancers and registries, and an empty capacity provider
// strategy takes the service back to its launch type, as on AWS.
func TestUpdateServiceFields(t *testing.T) {
	w := newWorld(t)
	w.cluster("staging")
	ctx := context.Background()
	td := w.webTaskDef(ecrURI + "web:1")
	createWeb(t, w, td, 2, 100, 200, true, false)
	w.settle()

	steps := []struct {
		name   string
		in     sdk.UpdateServiceInput
		change func(u *updated)
	}{
		{"network", sdk.UpdateServiceInput{NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: []string{"subnet-2", "subnet-3"}}}}, func(u *updated) { u.Subnets = []string{"subnet-2", "subnet-3"} }},
		{"deployment configuration", sdk.UpdateServiceInput{DeploymentConfiguration: &types.DeploymentConfiguration{
			MaximumPercent: aws.Int32(150), MinimumHealthyPercent: aws.Int32(50),
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: false}}},
			func(u *updated) { u.MaxPercent, u.MinPercent, u.Breaker = 150, 50, false }},
		{"grace period", sdk.UpdateServiceInput{HealthCheckGracePeriodSeconds: aws.Int32(90)}, func(u *updated) { u.Grace = 90 }},
		{"execute command and tags", sdk.UpdateServiceInput{EnableExecuteCommand: aws.Bool(true), PropagateTags: types.PropagateTagsService},
			func(u *updated) { u.ExecuteCommand, u.PropagateTags = true, types.PropagateTagsService }},
		{"capacity providers", sdk.UpdateServiceInput{CapacityProviderStrategy: []types.CapacityProviderStrategyItem{
			{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}},
			func(u *updated) { u.LaunchType, u.CapacityProvider = "", []string{"FARGATE_SPOT"} }},
		{"back to the launch type", sdk.UpdateServiceInput{CapacityProviderStrategy: []types.CapacityProviderStrategyItem{}},
			func(u *updated) { u.LaunchType, u.CapacityProvider = types.LaunchTypeFargate, nil }},
		{"registries removed", sdk.UpdateServiceInput{ServiceRegistries: []types.ServiceRegistry{}}, func(u *updated) { u.Registries = 0 }},
		{"load balancers removed", sdk.UpdateServiceInput{LoadBalancers: []types.LoadBalancer{}}, func(u *updated) { u.LoadBalancers = 0 }},
	}
	want := describeUpdated(w.service("staging", "web"))
	for _, st := range steps {
		in := st.in
		in.Cluster, in.Service = aws.String("staging"), aws.String("web")
		if _, err := w.api.UpdateService(ctx, &in); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		w.settle()
		st.change(&want)
		if diff := cmp.Diff(want, describeUpdated(w.service("staging", "web")), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: described service (-want +got):\n%s", st.name, diff)
		}
	}
}

// TestUpdateServiceRefusesUnmodelled: a field UpdateService accepts on AWS
// that the local endpoint does not model is refused by name, and the
// service is left as it was, rather than the field being dropped.
func TestUpdateServiceRefusesUnmodelled(t *testing.T) {
	w := newWorld(t)
	w.cluster("staging")
	ctx := context.Background()
	td := w.webTaskDef(ecrURI + "web:1")
	createWeb(t, w, td, 2, 100, 200, true, false)
	w.settle()
	before := describeUpdated(w.service("staging", "web"))
	tests := map[string]struct {
		in    sdk.UpdateServiceInput
		field string
	}{
		"availability zone rebalancing": {sdk.UpdateServiceInput{AvailabilityZoneRebalancing: types.AvailabilityZoneRebalancingEnabled}, "availabilityZoneRebalancing"},
		"service connect": {sdk.UpdateServiceInput{ServiceConnectConfiguration: &types.ServiceConnectConfiguration{Enabled: true}},
			"serviceConnectConfiguration"},
		"volumes": {sdk.UpdateServiceInput{VolumeConfigurations: []types.ServiceVolumeConfiguration{{Name: aws.String("data")}}},
			"volumeConfigurations"},
		"vpc lattice": {sdk.UpdateServiceInput{VpcLatticeConfigurations: []types.VpcLatticeConfiguration{{
			PortName: aws.String("http"), RoleArn: aws.String("arn:aws:iam::000000000000:role/lattice"),
			TargetGroupArn: aws.String(tgBlue)}}}, "vpcLatticeConfigurations"},
		"deployment alarms": {sdk.UpdateServiceInput{DeploymentConfiguration: &types.DeploymentConfiguration{
			Alarms: &types.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true}}}, "deploymentConfiguration.alarms"},
		"bake time": {sdk.UpdateServiceInput{DeploymentConfiguration: &types.DeploymentConfiguration{BakeTimeInMinutes: aws.Int32(5)}},
			"deploymentConfiguration.bakeTimeInMinutes"},
		"native blue/green": {sdk.UpdateServiceInput{DeploymentConfiguration: &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen}},
			"BLUE_GREEN"},
		// Native blue/green is modelled, but not with ROLLING.
		"load balancer advanced configuration with ROLLING": {sdk.UpdateServiceInput{LoadBalancers: []types.LoadBalancer{{
			TargetGroupArn: aws.String(tgBlue), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080),
			AdvancedConfiguration: &types.AdvancedConfiguration{AlternateTargetGroupArn: aws.String(tgBlue)}}}},
			"loadBalancers.advancedConfiguration"},
		"early success criteria": {sdk.UpdateServiceInput{DeploymentConfiguration: &types.DeploymentConfiguration{
			EarlySuccessCriteria: &types.DeploymentEarlySuccessCriteria{}}}, "deploymentConfiguration.earlySuccessCriteria"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := tc.in
			in.Cluster, in.Service = aws.String("staging"), aws.String("web")
			in.HealthCheckGracePeriodSeconds = aws.Int32(77)
			_, err := w.api.UpdateService(ctx, &in)
			if got := prototest.ErrorCode(err); got != "InvalidParameterException" || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("got %q %v, want InvalidParameterException naming %s", got, err, tc.field)
			}
			if diff := cmp.Diff(before, describeUpdated(w.service("staging", "web")), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("a refused update changed the service (-before +after):\n%s", diff)
			}
		})
	}
}
