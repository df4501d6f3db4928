package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// SlipwayAccountParameter is the forwarder template's one parameter: the
// 12-digit account of the Slipway stack whose default bus receives the
// events.
const SlipwayAccountParameter = "SlipwayAccountId"

// ForwarderStackName is the name of the event forwarder stack of a Slipway
// stack named stackName.
func ForwarderStackName(stackName string) string { return stackName + "EventForwarder" }

// Forwarder is the stack a deployer deploys in the account of each
// environment role (an environment's roleArn), in the Slipway stack's
// region: its rules send the alarm and ECS deployment events Slipway acts on
// to the Slipway account's default bus, where Events.SourcePolicy lets them
// in and the signal function takes them as it takes its own account's.
// Without it, a bake in that account notices an alarm only at its next
// re-check (the reconcile interval), and a wait for stability only when it
// re-reads the ECS deployment.
//
// The template needs no bootstrap and names no account: deploy
// cdk.out/<name>.template.json with CloudFormation (or a StackSet) in each
// target account, with SlipwayAccountId set.
type Forwarder struct {
	awscdk.Stack
	// SlipwayAccount is the SlipwayAccountId parameter.
	SlipwayAccount awscdk.CfnParameter
	// Bus is the Slipway account's default bus in this region.
	Bus awsevents.IEventBus
	// Role is what EventBridge assumes to put the events on Bus.
	Role awsiam.Role
	// AlarmState, ECSState and ECSHook forward the events of the rules of the
	// same names in Triggers, with the same patterns.
	AlarmState awsevents.Rule
	ECSState   awsevents.Rule
	ECSHook    awsevents.Rule
	// DLQ keeps what could not be put on Bus (the bus policy is missing,
	// say), and DLQAlarm goes into ALARM when it holds a message.
	DLQ      awssqs.Queue
	DLQAlarm awscloudwatch.Alarm
}

// NewForwarder adds the event forwarder stack (ForwarderStackName) to app.
// It checks s: the forwarder is only useful with assume roles, whose
// accounts Slipway accepts events from.
func NewForwarder(app constructs.Construct, s Settings) (*Forwarder, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(s.EventSourceAccounts()) == 0 {
		return nil, &SettingsError{Problems: []string{KeyAssumeRoles + ": names no role; the event forwarder is for the accounts of those roles"}}
	}
	name := ForwarderStackName(s.StackName)
	f := &Forwarder{Stack: awscdk.NewStack(app, jsii.String(name), &awscdk.StackProps{
		StackName: jsii.String(name),
		Description: jsii.String("Slipway event forwarder: sends this account's alarm and ECS deployment events " +
			"to the Slipway account's default event bus."),
		// No assets, and deployable with plain CloudFormation in accounts
		// that were never bootstrapped for CDK.
		Synthesizer: awscdk.NewBootstraplessSynthesizer(&awscdk.BootstraplessSynthesizerProps{}),
	})}
	scope := f.Stack
	f.SlipwayAccount = awscdk.NewCfnParameter(scope, jsii.String(SlipwayAccountParameter), &awscdk.CfnParameterProps{
		Type:                  jsii.String("String"),
		AllowedPattern:        jsii.String(`^\d{12}$`),
		ConstraintDescription: jsii.String("a 12-digit AWS account id"),
		Description: jsii.String("The account of the Slipway stack \"" + s.StackName +
			"\", deployed in this same region: its default event bus receives the events."),
	})
	f.Bus = awsevents.EventBus_FromEventBusArn(scope, jsii.String("SlipwayBus"), f.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("events"), Account: f.SlipwayAccount.ValueAsString(),
		Resource: jsii.String("event-bus"), ResourceName: jsii.String("default"),
		ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	}))
	// EventBridge assumes the role for this account's rules only.
	f.Role = awsiam.NewRole(scope, jsii.String("ForwardRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": f.Account()}},
		}),
		Description: jsii.String("Lets EventBridge put this account's alarm and ECS deployment events on Slipway's event bus."),
	})
	f.DLQ = deadLetterQueue(scope, "ForwardDLQ", "events EventBridge could not put on the Slipway account's event bus")
	f.DLQAlarm = depthAlarm(scope, "ForwardDLQAlarm", f.DLQ, name+"-undelivered",
		"events EventBridge could not put on the Slipway account's event bus (is the Slipway stack's bus policy in place for this account?)")
	forward := func(id, description string, pattern *awsevents.EventPattern) awsevents.Rule {
		r := awsevents.NewRule(scope, jsii.String(id), &awsevents.RuleProps{
			Description:  jsii.String(description),
			EventPattern: pattern,
		})
		r.AddTarget(awseventstargets.NewEventBus(f.Bus, &awseventstargets.EventBusProps{
			Role: f.Role, DeadLetterQueue: f.DLQ,
		}))
		return r
	}
	f.AlarmState = forward("AlarmStateRule", "Sends alarms going into ALARM to Slipway: they roll back the deployments watching them.",
		alarmStatePattern())
	f.ECSState = forward("ECSDeploymentRule", "Sends ECS deployments that completed or failed to Slipway: they resume the deployments waiting for them.",
		ecsDeploymentPattern())
	f.ECSHook = forward("ECSHookRule", "Sends PAUSE hooks of native ECS deployments awaiting action to Slipway: they resume the deployments waiting for them.",
		ecsHookPattern())
	awscdk.NewCfnOutput(scope, jsii.String("SlipwayEventBusArn"), &awscdk.CfnOutputProps{
		Value:       f.Bus.EventBusArn(),
		Description: jsii.String("Where this account's alarm and ECS deployment events go."),
	})
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return f, nil
}
