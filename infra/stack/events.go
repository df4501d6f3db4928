package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// EventSource is the source of the events Slipway puts on the bus, and
// DeploymentStateChange the detail type of the one every terminal state sends.
const (
	EventSource           = "slipway"
	DeploymentStateChange = "Deployment State Change"
)

// Events is where Slipway announces what it did: the account's default event
// bus, so that users can route `source: slipway` events like any AWS event.
type Events struct {
	constructs.Construct
	// Bus is the default event bus.
	Bus awsevents.IEventBus
}

// NewEvents refers to the default bus; it creates nothing.
func NewEvents(scope constructs.Construct, id string) *Events {
	c := constructs.NewConstruct(scope, jsii.String(id))
	return &Events{
		Construct: c,
		Bus:       awsevents.EventBus_FromEventBusName(c, jsii.String("DefaultBus"), jsii.String("default")),
	}
}

// GrantPut lets g put events on the bus (events:PutEvents on the bus ARN).
func (e *Events) GrantPut(g awsiam.IGrantable) {
	e.Bus.GrantPutEventsTo(g, nil)
}
