package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Triggers are the EventBridge rules that start and steer deployments. Each
// target retries delivery and parks what it could not deliver in a dead-letter
// queue, so a lost event can be found and replayed.
type Triggers struct {
	constructs.Construct
	ECRPush    awsevents.Rule
	SpecUpload awsevents.Rule
	AlarmState awsevents.Rule
	ECSState   awsevents.Rule
	// DeadLetters holds one queue per target function.
	ECRPushDLQ    awssqs.Queue
	SpecUploadDLQ awssqs.Queue
	SignalDLQ     awssqs.Queue
}

// NewTriggers creates the rules and their targets.
func NewTriggers(scope constructs.Construct, id string, fns *Functions, spec awss3.IBucket) *Triggers {
	c := constructs.NewConstruct(scope, jsii.String(id))
	t := &Triggers{Construct: c}
	t.ECRPushDLQ = deadLetterQueue(c, "ECRPushDLQ")
	t.SpecUploadDLQ = deadLetterQueue(c, "SpecUploadDLQ")
	t.SignalDLQ = deadLetterQueue(c, "SignalDLQ")

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

	// Only transitions into ALARM matter: they fail the watches on that
	// alarm. OK and INSUFFICIENT_DATA need no action.
	t.AlarmState = rule(c, "AlarmStateRule", "An alarm going into ALARM rolls back the deployments watching it.", &awsevents.EventPattern{
		Source:     jsii.Strings("aws.cloudwatch"),
		DetailType: jsii.Strings("CloudWatch Alarm State Change"),
		Detail: &map[string]any{
			"state": map[string]any{"value": []string{"ALARM"}},
		},
	}, fns.Signal, t.SignalDLQ)

	// IN_PROGRESS says nothing a watch waits for; COMPLETED and FAILED
	// complete it.
	t.ECSState = rule(c, "ECSDeploymentRule", "An ECS deployment that completed or failed resumes the deployment waiting for it.", &awsevents.EventPattern{
		Source:     jsii.Strings("aws.ecs"),
		DetailType: jsii.Strings("ECS Deployment State Change"),
		Detail: &map[string]any{
			"eventName": []string{"SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED"},
		},
	}, fns.Signal, t.SignalDLQ)
	return t
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

// deadLetterQueue creates an encrypted, TLS-only queue that keeps
// undelivered events for 14 days (the SQS maximum).
func deadLetterQueue(scope constructs.Construct, id string) awssqs.Queue {
	q := awssqs.NewQueue(scope, jsii.String(id), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(q, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter queue of an EventBridge target."),
	}}, jsii.Bool(false))
	return q
}
