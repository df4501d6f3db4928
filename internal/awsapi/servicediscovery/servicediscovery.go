// Package servicediscovery is the adapter over AWS Cloud Map: the instances
// ECS registered in a service, to check that a deployment's tasks are
// discoverable.
package servicediscovery

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/servicediscovery"

	"github.com/slipwayhq/slipway/internal/awsapi"
)

// ErrNotFound means the Cloud Map service does not exist.
var ErrNotFound = errors.New("not found")

// api lists the Cloud Map client methods the adapter uses.
type api interface {
	ListInstances(context.Context, *sdk.ListInstancesInput, ...func(*sdk.Options)) (*sdk.ListInstancesOutput, error)
}

// Client reads Cloud Map services.
type Client struct {
	api api
}

// New returns a Client over api, normally a *servicediscovery.Client from the
// SDK.
func New(api api) *Client { return &Client{api: api} }

// Instance is one registered instance. For an ECS task, ID is the task id and
// Attributes hold AWS_INSTANCE_IPV4, AWS_INSTANCE_PORT, ECS_CLUSTER_NAME,
// ECS_SERVICE_NAME, ECS_TASK_DEFINITION_FAMILY and the like.
type Instance struct {
	ID         string
	Attributes map[string]string
}

// Instances returns every instance registered in the service serviceID
// (srv-…). It returns an error wrapping ErrNotFound when the service does not
// exist.
func (c *Client) Instances(ctx context.Context, serviceID string) ([]Instance, error) {
	op := "list instances of " + serviceID
	p := sdk.NewListInstancesPaginator(c.api, &sdk.ListInstancesInput{ServiceId: &serviceID})
	var list []Instance
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if awsapi.HasCode(err, "ServiceNotFound") {
			return nil, fmt.Errorf("%s: %w: %w", op, ErrNotFound, err)
		}
		if err != nil {
			return nil, awsapi.Classify(op, err)
		}
		for _, i := range out.Instances {
			list = append(list, Instance{ID: aws.ToString(i.Id), Attributes: i.Attributes})
		}
	}
	return list, nil
}
