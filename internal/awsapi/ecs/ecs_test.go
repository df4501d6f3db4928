package ecs

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi"
	"github.com/slipwayhq/slipway/internal/awsapi/awsapitest"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// reply is the fake endpoint's answer to one request.
type reply = awsapitest.Reply

// request is one request the fake endpoint received: operation and body.
type request = awsapitest.Request

// errorReply is a JSON 1.1 error response.
func errorReply(status int, code string) reply { return awsapitest.JSONError(status, code) }

// newClient returns a Client whose real SDK client talks to an ECS endpoint
// speaking JSON 1.1, answering from replies, without retries so that error
// replies reach the adapter once.
func newClient(t *testing.T, replies map[string][]reply) (*Client, *awsapitest.JSONServer) {
	f, cfg := awsapitest.NewJSON(t, "AmazonEC2ContainerServiceV20141113.", "1.1", replies)
	return New(sdk.NewFromConfig(cfg)), f
}

// jsonMap decodes a JSON object written in a test.
func jsonMap(t *testing.T, s string) map[string]any {
	t.Helper()
	return awsapitest.Object(t, s)
}

// checkRequests compares what f received with want: operation and body.
func checkRequests(t *testing.T, f *awsapitest.JSONServer, want ...request) {
	t.Helper()
	if diff := cmp.Diff(want, f.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

const webService = `{"service":{
	"serviceName":"web","serviceArn":"arn:aws:ecs:us-east-1:111122223333:service/prod/web",
	"clusterArn":"arn:aws:ecs:us-east-1:111122223333:cluster/prod","status":"ACTIVE",
	"taskDefinition":"arn:aws:ecs:us-east-1:111122223333:task-definition/web:8",
	"desiredCount":3,"runningCount":2,"pendingCount":1,"schedulingStrategy":"REPLICA",
	"deployments":[
		{"id":"ecs-svc/2","status":"PRIMARY","taskDefinition":"arn:aws:ecs:us-east-1:111122223333:task-definition/web:8",
		 "rolloutState":"IN_PROGRESS","rolloutStateReason":"ECS deployment ecs-svc/2 in progress.",
		 "desiredCount":3,"runningCount":1,"pendingCount":1,"failedTasks":2,"createdAt":1764100000,"updatedAt":1764100060},
		{"id":"ecs-svc/1","status":"ACTIVE","taskDefinition":"arn:aws:ecs:us-east-1:111122223333:task-definition/web:7",
		 "rolloutState":"COMPLETED","desiredCount":1,"runningCount":1,"createdAt":1764000000,"updatedAt":1764000100}]}}`

var wantWeb = &Service{
	Name:           "web",
	ARN:            "arn:aws:ecs:us-east-1:111122223333:service/prod/web",
	Cluster:        "arn:aws:ecs:us-east-1:111122223333:cluster/prod",
	Status:         "ACTIVE",
	TaskDefinition: "arn:aws:ecs:us-east-1:111122223333:task-definition/web:8",
	DesiredCount:   3, RunningCount: 2, PendingCount: 1,
	Scheduling: "REPLICA",
	Deployments: []Deployment{{
		ID: "ecs-svc/2", Status: "PRIMARY", TaskDefinition: "arn:aws:ecs:us-east-1:111122223333:task-definition/web:8",
		RolloutState: "IN_PROGRESS", RolloutStateReason: "ECS deployment ecs-svc/2 in progress.",
		DesiredCount: 3, RunningCount: 1, PendingCount: 1, FailedTasks: 2,
		CreatedAt: time.Unix(1764100000, 0), UpdatedAt: time.Unix(1764100060, 0),
	}, {
		ID: "ecs-svc/1", Status: "ACTIVE", TaskDefinition: "arn:aws:ecs:us-east-1:111122223333:task-definition/web:7",
		RolloutState: "COMPLETED", DesiredCount: 1, RunningCount: 1,
		CreatedAt: time.Unix(1764000000, 0), UpdatedAt: time.Unix(1764000100, 0),
	}},
}

// describeReply turns an UpdateService-shaped reply into DescribeServices'.
func describeReply(service string) string {
	return `{"services":[` + strings.TrimSuffix(strings.TrimPrefix(service, `{"service":`), "}") + `],"failures":[]}`
}

func TestDescribeService(t *testing.T) {
	tests := map[string]struct {
		reply     reply
		want      *Service
		notFound  bool
		draining  bool
		transient bool
		code      string
	}{
		"active": {reply: reply{Body: describeReply(webService)}, want: wantWeb},
		"missing": {
			reply:    reply{Body: `{"services":[],"failures":[{"arn":"arn:aws:ecs:us-east-1:111122223333:service/prod/web","reason":"MISSING"}]}`},
			notFound: true,
		},
		"inactive": {
			reply:    reply{Body: strings.Replace(describeReply(webService), `"ACTIVE"`, `"INACTIVE"`, 1)},
			notFound: true,
		},
		// Deleted, its tasks still stopping: not there to update, and not
		// yet free to create again.
		"draining": {
			reply:    reply{Body: strings.Replace(describeReply(webService), `"ACTIVE"`, `"DRAINING"`, 1)},
			notFound: true, draining: true,
		},
		"cluster missing is not ErrNotFound": {reply: errorReply(400, "ClusterNotFoundException"), code: "ClusterNotFoundException"},
		"throttled":                          {reply: errorReply(400, "ThrottlingException"), transient: true, code: "ThrottlingException"},
		"server error":                       {reply: errorReply(500, "ServerException"), transient: true, code: "ServerException"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, f := newClient(t, map[string][]reply{"DescribeServices": {tc.reply}})
			got, err := c.DescribeService(context.Background(), "prod", "web")
			checkRequests(t, f, request{Op: "DescribeServices", Body: jsonMap(t, `{"cluster":"prod","services":["web"]}`)})
			if errors.Is(err, ErrNotFound) != tc.notFound {
				t.Errorf("got error %v, want ErrNotFound %v", err, tc.notFound)
			}
			if errors.Is(err, ErrDraining) != tc.draining {
				t.Errorf("got error %v, want ErrDraining %v", err, tc.draining)
			}
			var tr *workflow.Transient
			if errors.As(err, &tr) != tc.transient {
				t.Errorf("got error %v, want transient %v", err, tc.transient)
			}
			if got := awsapi.Code(err); got != tc.code {
				t.Errorf("got code %q, want %q", got, tc.code)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "describe service prod/web: ") {
				t.Errorf("got message %q, want it to start with the operation", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("service (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrimary(t *testing.T) {
	if got := wantWeb.Primary(); got == nil || got.ID != "ecs-svc/2" {
		t.Errorf("got primary %+v, want ecs-svc/2", got)
	}
	if got := (&Service{Deployments: []Deployment{{ID: "a", Status: "ACTIVE"}}}).Primary(); got != nil {
		t.Errorf("got primary %+v, want nil", got)
	}
}

func TestRegisterTaskDefinition(t *testing.T) {
	c, f := newClient(t, map[string][]reply{"RegisterTaskDefinition": {{Body: `{"taskDefinition":{
		"taskDefinitionArn":"arn:aws:ecs:us-east-1:111122223333:task-definition/web:9","family":"web","revision":9}}`}}})
	arn, err := c.RegisterTaskDefinition(context.Background(), &sdk.RegisterTaskDefinitionInput{
		Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("111122223333.dkr.ecr.us-east-1.amazonaws.com/web@sha256:abc"),
		}},
		Tags: []types.Tag{{Key: aws.String("slipway:deployment"), Value: aws.String("d-1")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:ecs:us-east-1:111122223333:task-definition/web:9"; arn != want {
		t.Errorf("got %q, want %q", arn, want)
	}
	checkRequests(t, f, request{Op: "RegisterTaskDefinition", Body: jsonMap(t, `{"family":"web",
		"containerDefinitions":[{"name":"app","image":"111122223333.dkr.ecr.us-east-1.amazonaws.com/web@sha256:abc"}],
		"tags":[{"key":"slipway:deployment","value":"d-1"}]}`)})
}

func TestRegisterTaskDefinitionInvalid(t *testing.T) {
	c, _ := newClient(t, map[string][]reply{"RegisterTaskDefinition": {errorReply(400, "ClientException")}})
	_, err := c.RegisterTaskDefinition(context.Background(), &sdk.RegisterTaskDefinitionInput{
		Family:               aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app")}},
	})
	var tr *workflow.Transient
	if err == nil || errors.As(err, &tr) || awsapi.Code(err) != "ClientException" {
		t.Errorf("got %v, want a ClientException that is not transient", err)
	}
}

func TestCreateService(t *testing.T) {
	c, f := newClient(t, map[string][]reply{"CreateService": {{Body: webService}}})
	got, err := c.CreateService(context.Background(), &sdk.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web:8"),
		DesiredCount: aws.Int32(3), LaunchType: types.LaunchTypeFargate, ClientToken: aws.String("d-1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantWeb, got); diff != "" {
		t.Errorf("service (-want +got):\n%s", diff)
	}
	checkRequests(t, f, request{Op: "CreateService", Body: jsonMap(t, `{"cluster":"prod","serviceName":"web",
		"taskDefinition":"web:8","desiredCount":3,"launchType":"FARGATE","clientToken":"d-1"}`)})
}

// fullCreateInput sets every field of CreateServiceInput, so that the tests
// notice a field the SDK adds and updateInput does not yet account for.
func fullCreateInput() *sdk.CreateServiceInput {
	return &sdk.CreateServiceInput{
		ServiceName:                 aws.String("web"),
		Cluster:                     aws.String("prod"),
		TaskDefinition:              aws.String("web:7"),
		AvailabilityZoneRebalancing: types.AvailabilityZoneRebalancingEnabled,
		CapacityProviderStrategy:    []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}},
		ClientToken:                 aws.String("token"),
		DeploymentConfiguration: &types.DeploymentConfiguration{
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
			MaximumPercent:           aws.Int32(200), MinimumHealthyPercent: aws.Int32(100),
		},
		DeploymentController:          &types.DeploymentController{Type: types.DeploymentControllerTypeEcs},
		DesiredCount:                  aws.Int32(4),
		EnableECSManagedTags:          true,
		EnableExecuteCommand:          true,
		GatewayConnectors:             []types.GatewayConnector{{}},
		HealthCheckGracePeriodSeconds: aws.Int32(30),
		LaunchType:                    types.LaunchTypeFargate,
		LoadBalancers: []types.LoadBalancer{{
			TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/1"),
			ContainerName:  aws.String("app"), ContainerPort: aws.Int32(8080),
		}},
		Monitoring: &types.MonitoringConfiguration{},
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: []string{"subnet-1"}, SecurityGroups: []string{"sg-1"},
		}},
		PlacementConstraints:        []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}},
		PlacementStrategy:           []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")}},
		PlatformVersion:             aws.String("1.4.0"),
		PropagateTags:               types.PropagateTagsService,
		Role:                        aws.String("ecsServiceRole"),
		SchedulingStrategy:          types.SchedulingStrategyReplica,
		ServiceConnectConfiguration: &types.ServiceConnectConfiguration{Enabled: true, Namespace: aws.String("prod")},
		ServiceRegistries:           []types.ServiceRegistry{{RegistryArn: aws.String("arn:aws:servicediscovery:us-east-1:111122223333:service/srv-1")}},
		Tags:                        []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}},
		VolumeConfigurations:        []types.ServiceVolumeConfiguration{{Name: aws.String("data")}},
		VpcLatticeConfigurations: []types.VpcLatticeConfiguration{{
			PortName: aws.String("http"), RoleArn: aws.String("arn:aws:iam::111122223333:role/lattice"),
			TargetGroupArn: aws.String("arn:aws:vpc-lattice:us-east-1:111122223333:targetgroup/tg-1"),
		}},
	}
}

// TestUpdateInputFields holds updateInput to its documentation: every
// CreateServiceInput field is either copied or listed as immutable, and every
// UpdateServiceInput field but ForceNewDeployment is filled.
func TestUpdateInputFields(t *testing.T) {
	immutable := map[string]bool{"ServiceName": true, "ClientToken": true, "LaunchType": true,
		"Role": true, "SchedulingStrategy": true, "Tags": true}
	from := fullCreateInput()
	in := updateInput(from, "web:9")

	fv := reflect.ValueOf(from).Elem()
	uv := reflect.ValueOf(in).Elem()
	for i := range fv.NumField() {
		name := fv.Type().Field(i).Name
		if !fv.Type().Field(i).IsExported() {
			continue
		}
		if fv.Field(i).IsZero() {
			t.Errorf("fullCreateInput leaves %s unset; set it and decide whether UpdateService takes it", name)
		}
		_, updatable := uv.Type().FieldByName(name)
		if updatable == immutable[name] {
			t.Errorf("CreateServiceInput.%s: got updatable %v, want the immutable list to say %v", name, updatable, !updatable)
		}
	}
	for i := range uv.NumField() {
		name := uv.Type().Field(i).Name
		if !uv.Type().Field(i).IsExported() {
			continue
		}
		if uv.Field(i).IsZero() != (name == "ForceNewDeployment") {
			t.Errorf("UpdateServiceInput.%s: got zero %v, want %v", name, uv.Field(i).IsZero(), name == "ForceNewDeployment")
		}
	}
	if got := aws.ToString(in.TaskDefinition); got != "web:9" {
		t.Errorf("got task definition %q, want web:9", got)
	}
	if got := aws.ToString(in.Service); got != "web" {
		t.Errorf("got service %q, want web", got)
	}
}

func TestUpdateService(t *testing.T) {
	c, f := newClient(t, map[string][]reply{"UpdateService": {{Body: webService}}})
	from := fullCreateInput()
	from.GatewayConnectors, from.Monitoring, from.VolumeConfigurations, from.VpcLatticeConfigurations = nil, nil, nil, nil
	from.ServiceConnectConfiguration = nil
	got, err := c.UpdateService(context.Background(), from, "arn:aws:ecs:us-east-1:111122223333:task-definition/web:8")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantWeb, got); diff != "" {
		t.Errorf("service (-want +got):\n%s", diff)
	}
	// No serviceName, clientToken, launchType, role, schedulingStrategy or tags.
	checkRequests(t, f, request{Op: "UpdateService", Body: jsonMap(t, `{
		"cluster":"prod","service":"web",
		"taskDefinition":"arn:aws:ecs:us-east-1:111122223333:task-definition/web:8",
		"availabilityZoneRebalancing":"ENABLED",
		"capacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":1}],
		"deploymentConfiguration":{"deploymentCircuitBreaker":{"enable":true,"rollback":true},"maximumPercent":200,"minimumHealthyPercent":100},
		"deploymentController":{"type":"ECS"},
		"desiredCount":4,
		"enableECSManagedTags":true,
		"enableExecuteCommand":true,
		"healthCheckGracePeriodSeconds":30,
		"loadBalancers":[{"targetGroupArn":"arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/1","containerName":"app","containerPort":8080}],
		"networkConfiguration":{"awsvpcConfiguration":{"subnets":["subnet-1"],"securityGroups":["sg-1"]}},
		"placementConstraints":[{"type":"distinctInstance"}],
		"placementStrategy":[{"type":"spread","field":"attribute:ecs.availability-zone"}],
		"platformVersion":"1.4.0",
		"propagateTags":"SERVICE",
		"serviceRegistries":[{"registryArn":"arn:aws:servicediscovery:us-east-1:111122223333:service/srv-1"}]}`)})
}

func TestSetters(t *testing.T) {
	tests := map[string]struct {
		call func(*Client) (*Service, error)
		want string
	}{
		"desired count": {
			call: func(c *Client) (*Service, error) { return c.SetDesiredCount(context.Background(), "prod", "web", 0) },
			want: `{"cluster":"prod","service":"web","desiredCount":0}`,
		},
		"task definition": {
			call: func(c *Client) (*Service, error) {
				return c.SetTaskDefinition(context.Background(), "prod", "web", "web:7")
			},
			want: `{"cluster":"prod","service":"web","taskDefinition":"web:7"}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, f := newClient(t, map[string][]reply{"UpdateService": {{Body: webService}}})
			got, err := tc.call(c)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "web" {
				t.Errorf("got service %q, want web", got.Name)
			}
			checkRequests(t, f, request{Op: "UpdateService", Body: jsonMap(t, tc.want)})
		})
	}
}

func TestUpdateServiceErrors(t *testing.T) {
	tests := map[string]struct {
		reply     reply
		notFound  bool
		transient bool
	}{
		"service missing":    {reply: errorReply(400, "ServiceNotFoundException"), notFound: true},
		"service not active": {reply: errorReply(400, "ServiceNotActiveException"), notFound: true},
		"throttled":          {reply: errorReply(400, "ThrottlingException"), transient: true},
		"server error":       {reply: errorReply(503, "ServerException"), transient: true},
		"invalid":            {reply: errorReply(400, "InvalidParameterException")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, _ := newClient(t, map[string][]reply{"UpdateService": {tc.reply}})
			_, err := c.SetDesiredCount(context.Background(), "prod", "web", 2)
			if err == nil {
				t.Fatal("got no error, want one")
			}
			if errors.Is(err, ErrNotFound) != tc.notFound {
				t.Errorf("got %v, want ErrNotFound %v", err, tc.notFound)
			}
			var tr *workflow.Transient
			if errors.As(err, &tr) != tc.transient {
				t.Errorf("got %v, want transient %v", err, tc.transient)
			}
			if !strings.HasPrefix(err.Error(), "update service prod/web: ") {
				t.Errorf("got message %q, want it to start with the operation", err)
			}
		})
	}
}

func TestTaskDefinitionRevisions(t *testing.T) {
	c, f := newClient(t, map[string][]reply{"ListTaskDefinitions": {
		{Body: `{"taskDefinitionArns":["arn:aws:ecs:us-east-1:111122223333:task-definition/web:1",
			"arn:aws:ecs:us-east-1:111122223333:task-definition/web-worker:1"],"nextToken":"page2"}`},
		{Body: `{"taskDefinitionArns":["arn:aws:ecs:us-east-1:111122223333:task-definition/web:3"]}`},
	}})
	got, err := c.TaskDefinitionRevisions(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"arn:aws:ecs:us-east-1:111122223333:task-definition/web:1",
		"arn:aws:ecs:us-east-1:111122223333:task-definition/web:3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("revisions (-want +got):\n%s", diff)
	}
	checkRequests(t, f,
		request{Op: "ListTaskDefinitions", Body: jsonMap(t, `{"familyPrefix":"web","status":"ACTIVE","sort":"ASC"}`)},
		request{Op: "ListTaskDefinitions", Body: jsonMap(t, `{"familyPrefix":"web","status":"ACTIVE","sort":"ASC","nextToken":"page2"}`)})
}

func TestDeregisterTaskDefinition(t *testing.T) {
	arn := "arn:aws:ecs:us-east-1:111122223333:task-definition/web:1"
	c, f := newClient(t, map[string][]reply{"DeregisterTaskDefinition": {{Body: `{"taskDefinition":{"status":"INACTIVE"}}`}}})
	if err := c.DeregisterTaskDefinition(context.Background(), arn); err != nil {
		t.Fatal(err)
	}
	checkRequests(t, f, request{Op: "DeregisterTaskDefinition", Body: map[string]any{"taskDefinition": arn}})

	c, _ = newClient(t, map[string][]reply{"DeregisterTaskDefinition": {errorReply(400, "ThrottlingException")}})
	var tr *workflow.Transient
	if err := c.DeregisterTaskDefinition(context.Background(), arn); !errors.As(err, &tr) {
		t.Errorf("got %v, want a transient error", err)
	}
}

func TestDeleteService(t *testing.T) {
	tests := map[string]struct {
		reply     reply
		wantErr   bool
		transient bool
	}{
		"deleted":        {reply: reply{Body: strings.Replace(webService, `"ACTIVE"`, `"DRAINING"`, 1)}},
		"missing":        {reply: errorReply(400, "ServiceNotFoundException")},
		"already gone":   {reply: errorReply(400, "ServiceNotActiveException")},
		"throttled":      {reply: errorReply(400, "ThrottlingException"), wantErr: true, transient: true},
		"cluster absent": {reply: errorReply(400, "ClusterNotFoundException"), wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, f := newClient(t, map[string][]reply{"DeleteService": {tc.reply}})
			err := c.DeleteService(context.Background(), "prod", "web--green")
			if (err != nil) != tc.wantErr {
				t.Errorf("got %v, want error %v", err, tc.wantErr)
			}
			var tr *workflow.Transient
			if errors.As(err, &tr) != tc.transient {
				t.Errorf("got %v, want transient %v", err, tc.transient)
			}
			checkRequests(t, f, request{Op: "DeleteService", Body: jsonMap(t, `{"cluster":"prod","service":"web--green","force":true}`)})
		})
	}
}
