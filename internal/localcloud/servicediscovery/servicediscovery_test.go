package servicediscovery_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"

	sdapi "github.com/slipwayhq/slipway/internal/awsapi/servicediscovery"
	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud"
	"github.com/slipwayhq/slipway/internal/localcloud/ecs"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
	"github.com/slipwayhq/slipway/internal/localcloud/servicediscovery"
)

// The ECS simulation registers tasks through this interface.
var _ ecs.InstanceRegistry = (*servicediscovery.Service)(nil)

const prefix = "Route53AutoNaming_v20170314"

// newClient serves h through the real router, registered as the endpoint
// registers Cloud Map.
func newClient(t *testing.T, h protocol.JSONHandler) *sdk.Client {
	router := localcloud.NewServer(localcloud.Options{})
	router.RegisterJSON("servicediscovery", prefix, "1.1", h)
	return sdk.NewFromConfig(prototest.Config(prototest.Serve(t, router)))
}

func TestNamespacesServicesInstances(t *testing.T) {
	svc := servicediscovery.New(servicediscovery.Config{Clock: clock.NewVirtual(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))})
	c := newClient(t, svc)
	ctx := context.Background()

	op, err := c.CreatePrivateDnsNamespace(ctx, &sdk.CreatePrivateDnsNamespaceInput{Name: aws.String("staging.local"), Vpc: aws.String("vpc-1")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetOperation(ctx, &sdk.GetOperationInput{OperationId: op.OperationId})
	if err != nil {
		t.Fatal(err)
	}
	if got.Operation.Status != types.OperationStatusSuccess || got.Operation.Type != types.OperationTypeCreateNamespace {
		t.Fatalf("got operation %+v, want a successful CREATE_NAMESPACE", got.Operation)
	}
	nsID := got.Operation.Targets["NAMESPACE"]
	if _, err := c.CreateHttpNamespace(ctx, &sdk.CreateHttpNamespaceInput{Name: aws.String("apps")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateHttpNamespace(ctx, &sdk.CreateHttpNamespaceInput{Name: aws.String("apps")})
	if got := prototest.ErrorCode(err); got != "NamespaceAlreadyExists" {
		t.Errorf("duplicate namespace: got %q, want NamespaceAlreadyExists", got)
	}
	list, err := c.ListNamespaces(ctx, &sdk.ListNamespacesInput{Filters: []types.NamespaceFilter{{Name: types.NamespaceFilterNameType, Values: []string{"DNS_PRIVATE"}}}})
	if err != nil || len(list.Namespaces) != 1 || aws.ToString(list.Namespaces[0].Id) != nsID {
		t.Fatalf("got %+v (%v), want the private namespace", list, err)
	}

	created, err := c.CreateService(ctx, &sdk.CreateServiceInput{
		Name: aws.String("web"), NamespaceId: &nsID,
		DnsConfig: &types.DnsConfig{DnsRecords: []types.DnsRecord{{Type: types.RecordTypeA, TTL: aws.Int64(10)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := aws.ToString(created.Service.Id)
	_, err = c.CreateService(ctx, &sdk.CreateServiceInput{Name: aws.String("web"), NamespaceId: &nsID})
	if got := prototest.ErrorCode(err); got != "ServiceAlreadyExists" {
		t.Errorf("duplicate service: got %q, want ServiceAlreadyExists", got)
	}
	_, err = c.CreateService(ctx, &sdk.CreateServiceInput{Name: aws.String("x"), NamespaceId: aws.String("ns-nope")})
	if got := prototest.ErrorCode(err); got != "NamespaceNotFound" {
		t.Errorf("service in a missing namespace: got %q, want NamespaceNotFound", got)
	}
	gs, err := c.GetService(ctx, &sdk.GetServiceInput{Id: &srv})
	if err != nil || aws.ToString(gs.Service.Name) != "web" || gs.Service.DnsConfig == nil || aws.ToInt64(gs.Service.DnsConfig.DnsRecords[0].TTL) != 10 {
		t.Fatalf("get service: %v %+v", err, gs)
	}
	ls, err := c.ListServices(ctx, &sdk.ListServicesInput{Filters: []types.ServiceFilter{{Name: types.ServiceFilterNameNamespaceId, Values: []string{nsID}}}})
	if err != nil || len(ls.Services) != 1 {
		t.Fatalf("list services: %v %+v", err, ls)
	}

	if _, err := c.RegisterInstance(ctx, &sdk.RegisterInstanceInput{ServiceId: &srv, InstanceId: aws.String("task-1"),
		Attributes: map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	// ECS registers through the Go interface.
	if err := svc.RegisterInstance(srv, "task-2", map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.2"}); err != nil {
		t.Fatal(err)
	}
	instances, err := sdapi.New(c).Instances(ctx, srv)
	if err != nil {
		t.Fatal(err)
	}
	want := []sdapi.Instance{
		{ID: "task-1", Attributes: map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.1"}},
		{ID: "task-2", Attributes: map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.2"}},
	}
	if diff := cmp.Diff(want, instances); diff != "" {
		t.Errorf("instances (-want +got):\n%s", diff)
	}
	if _, err := sdapi.New(c).Instances(ctx, "srv-nope"); !errors.Is(err, sdapi.ErrNotFound) {
		t.Errorf("instances of a missing service: got %v, want ErrNotFound", err)
	}
	if _, err := c.DeregisterInstance(ctx, &sdk.DeregisterInstanceInput{ServiceId: &srv, InstanceId: aws.String("task-1")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeregisterInstance(ctx, &sdk.DeregisterInstanceInput{ServiceId: &srv, InstanceId: aws.String("task-1")})
	if got := prototest.ErrorCode(err); got != "InstanceNotFound" {
		t.Errorf("deregister twice: got %q, want InstanceNotFound", got)
	}
	_, err = c.DeleteService(ctx, &sdk.DeleteServiceInput{Id: &srv})
	if got := prototest.ErrorCode(err); got != "ResourceInUse" {
		t.Errorf("delete a service with instances: got %q, want ResourceInUse", got)
	}

	// DiscoverInstances goes to a "data-" host prefix, which an IP address
	// endpoint cannot take; the client turns the prefix off.
	d, err := c.DiscoverInstances(ctx, &sdk.DiscoverInstancesInput{NamespaceName: aws.String("staging.local"), ServiceName: aws.String("web")},
		func(o *sdk.Options) { o.APIOptions = append(o.APIOptions, noHostPrefix) })
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Instances) != 1 || aws.ToString(d.Instances[0].InstanceId) != "task-2" || d.Instances[0].HealthStatus != types.HealthStatusHealthy {
		t.Errorf("got %+v, want task-2 HEALTHY", d.Instances)
	}

	snap, err := svc.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored := servicediscovery.New(servicediscovery.Config{})
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if !restored.ServiceExists(srv) {
		t.Error("the restored state lacks the service")
	}
	if err := restored.DeregisterInstance(srv, "task-2"); err != nil {
		t.Errorf("the restored state lacks the instance: %v", err)
	}
	if err := restored.Restore([]byte(`{"services":{"srv-x":null}}`)); err == nil {
		t.Error("restore of a null service: got no error")
	}
}

func TestSeeding(t *testing.T) {
	svc := servicediscovery.New(servicediscovery.Config{})
	ns, err := svc.AddNamespace("demo.local", "DNS_PRIVATE")
	if err != nil {
		t.Fatal(err)
	}
	arn, err := svc.AddService(ns, "web", "srv-web0000000000001")
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:servicediscovery:us-east-1:000000000000:service/srv-web0000000000001"; arn != want {
		t.Errorf("got %s, want %s", arn, want)
	}
	if !svc.ServiceExists("srv-web0000000000001") {
		t.Error("the seeded service does not exist")
	}
	if _, err := svc.AddService(ns, "api", "bad-id"); err == nil {
		t.Error("an id without srv- was accepted")
	}
	if _, err := svc.AddNamespace("x", "PUBLIC"); err == nil {
		t.Error("an unknown namespace kind was accepted")
	}
}

func FuzzServeJSON(f *testing.F) {
	ops := []string{"CreatePrivateDnsNamespace", "CreateHttpNamespace", "GetNamespace", "ListNamespaces", "GetOperation",
		"CreateService", "GetService", "ListServices", "DeleteService", "RegisterInstance", "DeregisterInstance",
		"ListInstances", "DiscoverInstances"}
	f.Add(uint8(1), []byte(`{"Name":"a"}`))
	f.Add(uint8(5), []byte(`{"Name":"s","DnsConfig":{"NamespaceId":"ns-x"}}`))
	f.Add(uint8(9), []byte(`{"ServiceId":"srv-1","InstanceId":"i","Attributes":{"a":"b"}}`))
	f.Add(uint8(3), []byte(`{"MaxResults":0,"NextToken":"x","Filters":[{"Name":"TYPE"}]}`))
	svc := servicediscovery.New(servicediscovery.Config{})
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		out, err := svc.ServeJSON(context.Background(), ops[int(op)%len(ops)], body)
		prototest.CheckJSONAnswer(t, out, err)
	})
}

// noHostPrefix turns off the endpoint host prefix of an operation.
func noHostPrefix(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("NoHostPrefix",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
		}), middleware.Before)
}
