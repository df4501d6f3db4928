package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
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

// Events is where Slipway announces what it did, and where events of other
// accounts arrive: the account's default event bus, so that users can route
// `source: slipway` events like any AWS event.
type Events struct {
	constructs.Construct
	// Bus is the default event bus.
	Bus awsevents.IEventBus
	// SourcePolicy lets the accounts of the assume roles put the events
	// Slipway acts on (Forwarded) on the bus: EventBridge delivers another
	// account's events only through a rule there whose target is this bus
	// and a bus policy here that allows it. Nil when no role is in another
	// account.
	SourcePolicy awsevents.CfnEventBusPolicy
}

// ForwardedEvent is a kind of event the event forwarder sends from an
// environment role's account to Slipway's bus.
type ForwardedEvent struct {
	Source     string
	DetailType string
}

// Forwarded are the events Slipway acts on that may come from another
// account: an alarm going into ALARM, and an ECS deployment completing or
// failing (internal/trigger's Signal). ECR pushes and spec uploads are not
// forwarded: images are indexed by repository name, so a push of a
// same-named repository in another account would start deployments.
var Forwarded = []ForwardedEvent{AlarmStateChange, ECSDeploymentStateChange, ECSHookStateChange}

// AlarmStateChange, ECSDeploymentStateChange and ECSHookStateChange (a
// PAUSE hook of kind ecs awaiting action) are the Forwarded kinds.
var (
	AlarmStateChange         = ForwardedEvent{Source: "aws.cloudwatch", DetailType: "CloudWatch Alarm State Change"}
	ECSDeploymentStateChange = ForwardedEvent{Source: "aws.ecs", DetailType: "ECS Deployment State Change"}
	ECSHookStateChange       = ForwardedEvent{Source: "aws.ecs", DetailType: "ECS Hook State Change"}
)

// NewEvents refers to the default bus and, when accounts (the accounts of
// the assume roles, see Settings.EventSourceAccounts) is not empty, adds the
// statement <stackName>-event-sources to its policy: those accounts, and no
// other, may put the Forwarded events on it.
func NewEvents(scope constructs.Construct, id, stackName string, accounts []string) *Events {
	c := constructs.NewConstruct(scope, jsii.String(id))
	e := &Events{
		Construct: c,
		Bus:       awsevents.EventBus_FromEventBusName(c, jsii.String("DefaultBus"), jsii.String("default")),
	}
	if len(accounts) == 0 {
		return e
	}
	st := awscdk.Stack_Of(c)
	var principals []*string
	for _, a := range accounts {
		principals = append(principals, st.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("iam"), Region: jsii.String(""), Account: jsii.String(a),
			Resource: jsii.String("root"), ArnFormat: awscdk.ArnFormat_NO_RESOURCE_NAME,
		}))
	}
	var sources, detailTypes []*string
	seen := map[string]bool{}
	for _, f := range Forwarded {
		if !seen[f.Source] {
			seen[f.Source] = true
			sources = append(sources, jsii.String(f.Source))
		}
		detailTypes = append(detailTypes, jsii.String(f.DetailType))
	}
	sid := stackName + "-event-sources"
	// The statement is written as plain JSON on the L1 resource: the
	// EventBusPolicy construct hands an iam.PolicyStatement to
	// CloudFormation, which jsii cannot render (its principals refer to
	// themselves).
	e.SourcePolicy = awsevents.NewCfnEventBusPolicy(c, jsii.String("SourcePolicy"), &awsevents.CfnEventBusPolicyProps{
		EventBusName: e.Bus.EventBusName(),
		StatementId:  jsii.String(sid),
		Statement: map[string]any{
			"Sid":       sid,
			"Effect":    "Allow",
			"Principal": map[string]any{"AWS": principals},
			"Action":    "events:PutEvents",
			"Resource":  e.Bus.EventBusArn(),
			// Only the events Slipway acts on: a principal of those
			// accounts cannot fill the bus with anything else.
			// ForAllValues: a PutEvents call may carry several entries.
			"Condition": map[string]any{
				"ForAllValues:StringEquals": map[string]any{
					"events:source":      sources,
					"events:detail-type": detailTypes,
				},
			},
		},
	})
	return e
}

// GrantPut lets g put events on the bus (events:PutEvents on the bus ARN).
func (e *Events) GrantPut(g awsiam.IGrantable) {
	e.Bus.GrantPutEventsTo(g, nil)
}
