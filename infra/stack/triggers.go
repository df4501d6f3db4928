package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Triggers are the EventBridge rules that start and steer deployments, and
// where their events go when they cannot be handled. No event is lost
// silently, at either of its two hops:
//   - EventBridge retries delivering to the function and parks what it could
//     not deliver in the target's dead-letter queue (…DLQ);
//   - Lambda runs the function asynchronously, retries a failed invocation
//     twice, and sends the event with the error to the function's on-failure
//     destination (…Failures).
//
// Every queue is encrypted (SSE-SQS) and TLS-only, keeps messages 14 days for
// replay, and has an alarm that goes into ALARM as soon as it holds one.
type Triggers struct {
	constructs.Construct
	ECRPush    awsevents.Rule
	SpecUpload awsevents.Rule
	AlarmState awsevents.Rule
	ECSState   awsevents.Rule
	// ECSHook resumes a deployment of kind ecs when its PAUSE hook awaits
	// action.
	ECSHook awsevents.Rule
	// The EventBridge target dead-letter queues, one per target function.
	ECRPushDLQ    awssqs.Queue
	SpecUploadDLQ awssqs.Queue
	SignalDLQ     awssqs.Queue
	// The functions' on-failure destinations.
	ECRPushFailures    awssqs.Queue
	SpecUploadFailures awssqs.Queue
	SignalFailures     awssqs.Queue
	// Alarms holds the depth alarm of every queue above, by queue.
	Alarms map[awssqs.Queue]awscloudwatch.Alarm
}

// NewTriggers creates the rules, their targets, the queues that keep what
// could not be handled and their alarms (named <stackName>-<function>-…).
func NewTriggers(scope constructs.Construct, id, stackName string, fns *Functions, spec awss3.IBucket) *Triggers {
	c := constructs.NewConstruct(scope, jsii.String(id))
	t := &Triggers{Construct: c, Alarms: map[awssqs.Queue]awscloudwatch.Alarm{}}
	queue := func(qid, alarmName, what string) awssqs.Queue {
		q := deadLetterQueue(c, qid, what)
		t.Alarms[q] = depthAlarm(c, qid+"Alarm", q, alarmName, what)
		return q
	}
	for _, x := range []struct {
		id, kind string
		fn       awslambda.Function
		dlq      *awssqs.Queue
		fail     *awssqs.Queue
	}{
		{"ECRPush", "ecr-push", fns.ECRPush, &t.ECRPushDLQ, &t.ECRPushFailures},
		{"SpecUpload", "spec-upload", fns.SpecUpload, &t.SpecUploadDLQ, &t.SpecUploadFailures},
		{"Signal", "signal", fns.Signal, &t.SignalDLQ, &t.SignalFailures},
	} {
		kind := x.kind
		*x.dlq = queue(x.id+"DLQ", stackName+"-"+kind+"-undelivered",
			"events EventBridge could not deliver to the "+kind+" function")
		*x.fail = queue(x.id+"Failures", stackName+"-"+kind+"-failed",
			"events the "+kind+" function failed on after Lambda's retries")
		// Lambda's own retries of an asynchronous invocation that failed
		// (function error or timeout), then the on-failure destination. A
		// throttled invocation is retried by Lambda for up to MaxEventAge.
		x.fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
			OnFailure:     awslambdadestinations.NewSqsDestination(*x.fail),
			RetryAttempts: jsii.Number(2),
			MaxEventAge:   awscdk.Duration_Hours(jsii.Number(6)),
		})
	}

	t.ECRPush = rule(c, "ECRPushRule", "A successful image push to ECR starts deployments.", &awsevents.EventPattern{
		Source:     jsii.Strings("aws.ecr"),
		DetailType: jsii.Strings("ECR Image Action"),
		Detail: &map[string]any{
			"action-type": []string{"PUSH"},
			"result":      []string{"SUCCESS"},
		},
	}, fns.ECRPush, t.ECRPushDLQ)

	t.SpecUpload = rule(c, "SpecUploadRule", "A spec uploaded to the spec bucket is validated and may start deployments.", &awsevents.EventPattern{
		Source:     jsii.Strings("aws.s3"),
		DetailType: jsii.Strings("Object Created"),
		Detail: &map[string]any{
			"bucket": map[string]any{"name": []*string{spec.BucketName()}},
			"object": map[string]any{"key": []any{
				map[string]string{"prefix": "services/"},
				map[string]string{"prefix": "environments/"},
			}},
		},
	}, fns.SpecUpload, t.SpecUploadDLQ)

	// Neither rule filters on the account: events forwarded from the
	// accounts of the assume roles (Events.SourcePolicy) match them too.
	t.AlarmState = rule(c, "AlarmStateRule", "An alarm going into ALARM rolls back the deployments watching it.",
		alarmStatePattern(), fns.Signal, t.SignalDLQ)
	t.ECSState = rule(c, "ECSDeploymentRule", "An ECS deployment that completed or failed resumes the deployment waiting for it.",
		ecsDeploymentPattern(), fns.Signal, t.SignalDLQ)
	t.ECSHook = rule(c, "ECSHookRule", "A PAUSE hook of a native ECS deployment awaiting action resumes the deployment waiting for it (it bakes or continues).",
		ecsHookPattern(), fns.Signal, t.SignalDLQ)
	return t
}

// ecsHookPattern matches the hook events the signal function acts on:
// HOOK_AWAITING_ACTION, a PAUSE hook of a deployment of kind ecs waiting
// for ContinueServiceDeployment. The event forwarder forwards the same
// events.
func ecsHookPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings(ECSHookStateChange.Source),
		DetailType: jsii.Strings(ECSHookStateChange.DetailType),
		Detail: &map[string]any{
			"eventName": []string{"HOOK_AWAITING_ACTION"},
		},
	}
}

// alarmStatePattern matches the alarm events the signal function acts on.
// Only transitions into ALARM matter: they fail the watches on that alarm.
// OK and INSUFFICIENT_DATA need no action. The event forwarder forwards
// the same events.
func alarmStatePattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings(AlarmStateChange.Source),
		DetailType: jsii.Strings(AlarmStateChange.DetailType),
		Detail: &map[string]any{
			"state": map[string]any{"value": []string{"ALARM"}},
		},
	}
}

// ecsDeploymentPattern matches the ECS deployment events the signal
// function acts on. IN_PROGRESS says nothing a watch waits for; COMPLETED
// and FAILED complete it. The event forwarder forwards the same events.
func ecsDeploymentPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings(ECSDeploymentStateChange.Source),
		DetailType: jsii.Strings(ECSDeploymentStateChange.DetailType),
		Detail: &map[string]any{
			"eventName": []string{"SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED"},
		},
	}
}

// rule creates one rule on the default bus targeting fn.
func rule(scope constructs.Construct, id, description string, pattern *awsevents.EventPattern,
	fn awslambda.IFunction, dlq awssqs.IQueue) awsevents.Rule {
	r := awsevents.NewRule(scope, jsii.String(id), &awsevents.RuleProps{
		Description:  jsii.String(description),
		EventPattern: pattern,
	})
	r.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: dlq,
		// Throttled or failing invocations are retried for up to two hours;
		// the handlers are idempotent (execution names derive from what is
		// deployed), so a retry never deploys twice.
		RetryAttempts: jsii.Number(8),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(2)),
	}))
	return r
}

// deadLetterQueue creates an encrypted (SSE-SQS), TLS-only (a queue policy
// denies requests without aws:SecureTransport) queue that keeps what holds
// for 14 days (the SQS maximum). what says what it holds.
func deadLetterQueue(scope constructs.Construct, id, what string) awssqs.Queue {
	q := awssqs.NewQueue(scope, jsii.String(id), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(q, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself a dead-letter queue: it holds " + what + "."),
	}}, jsii.Bool(false))
	return q
}

// depthAlarm goes into ALARM as soon as q holds a message: an event was not
// handled and waits there to be looked at and replayed.
func depthAlarm(scope constructs.Construct, id string, q awssqs.Queue, name, what string) awscloudwatch.Alarm {
	return awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmName:        jsii.String(name),
		AlarmDescription: jsii.String("Slipway: the queue of " + what + " is not empty. Look at the messages, fix the cause and replay them."),
		Metric: q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period:    awscdk.Duration_Minutes(jsii.Number(5)),
			Statistic: jsii.String("Maximum"),
		}),
		Threshold:          jsii.Number(0),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
}
