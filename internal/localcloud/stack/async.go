package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/slipwayhq/slipway/internal/localcloud/lambda"
	"github.com/slipwayhq/slipway/internal/synth"
)

// rawResources are the template's resources as written, for the properties
// synth.Resolve does not carry: queue attributes and asynchronous invocation
// configurations.
type rawResources map[string]struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
}

func parseResources(template []byte) (rawResources, error) {
	var t struct {
		Resources rawResources `json:"Resources"`
	}
	if err := json.Unmarshal(template, &t); err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	return t.Resources, nil
}

// queueAttributes maps the AWS::SQS::Queue properties the local SQS models
// to its attribute names; QueueName is the queue's name (synth.Queue).
var queueAttributes = map[string]string{
	"MessageRetentionPeriod": "MessageRetentionPeriod", "VisibilityTimeout": "VisibilityTimeout",
	"SqsManagedSseEnabled": "SqsManagedSseEnabled", "KmsMasterKeyId": "KmsMasterKeyId",
	"KmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
}

// createQueues creates every queue of the template with its attributes, as
// CloudFormation would. A property the local SQS does not model is an error
// that names it, not an attribute silently dropped.
func createQueues(ctx context.Context, c *sqs.Client, queues []synth.Queue, res rawResources) error {
	for _, q := range queues {
		attrs := map[string]string{}
		props := res[q.LogicalID].Properties
		for _, k := range sortedKeys(props) {
			if k == "QueueName" {
				continue
			}
			name, ok := queueAttributes[k]
			if !ok {
				return fmt.Errorf("create queue %s: Resources.%s.Properties.%s is not modelled by the local SQS", q.Name, q.LogicalID, k)
			}
			v, err := literal(props[k])
			if err != nil {
				return fmt.Errorf("create queue %s: Resources.%s.Properties.%s: %w", q.Name, q.LogicalID, k, err)
			}
			attrs[name] = v
		}
		if _, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(q.Name), Attributes: attrs}); err != nil {
			return fmt.Errorf("create queue %s: %w", q.Name, err)
		}
	}
	return nil
}

// literal renders a scalar property as an SQS attribute value.
func literal(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("got %v, want a literal value (intrinsics are not resolved here)", v)
}

// asyncConfig is an AWS::Lambda::EventInvokeConfig for a function.
type asyncConfig struct {
	function string
	cfg      lambda.EventInvokeConfig
}

// eventInvokeConfigs reads every AWS::Lambda::EventInvokeConfig of the
// template: FunctionName a Ref to one of its functions, the OnFailure
// destination a Fn::GetAtt of one of its queues' Arn. OnSuccess
// destinations, qualifiers other than $LATEST and other intrinsics are
// refused by name.
func eventInvokeConfigs(st *synth.Stack, res rawResources) ([]asyncConfig, error) {
	fns := st.FunctionsByLogicalID()
	queues := map[string]string{}
	for _, q := range st.Queues {
		queues[q.LogicalID] = q.ARN
	}
	var out []asyncConfig
	for _, id := range sortedKeys(res) {
		if res[id].Type != "AWS::Lambda::EventInvokeConfig" {
			continue
		}
		path := "Resources." + id + ".Properties"
		props := res[id].Properties
		var c asyncConfig
		for _, k := range sortedKeys(props) {
			v := props[k]
			switch k {
			case "FunctionName":
				m, _ := v.(map[string]any)
				ref, _ := m["Ref"].(string)
				fn, ok := fns[ref]
				if !ok {
					return nil, fmt.Errorf("%s.FunctionName: got %v, want a Ref to a function of the template", path, v)
				}
				c.function = fn.Name
			case "Qualifier":
				if v != "$LATEST" {
					return nil, fmt.Errorf("%s.Qualifier: got %v, want $LATEST (the local Lambda has no versions or aliases)", path, v)
				}
			case "MaximumRetryAttempts":
				n, ok := v.(float64)
				if !ok {
					return nil, fmt.Errorf("%s.MaximumRetryAttempts: got %v, want a number", path, v)
				}
				c.cfg.MaximumRetryAttempts = aws.Int(int(n))
			case "MaximumEventAgeInSeconds":
				n, ok := v.(float64)
				if !ok {
					return nil, fmt.Errorf("%s.MaximumEventAgeInSeconds: got %v, want a number", path, v)
				}
				c.cfg.MaximumEventAge = time.Duration(n) * time.Second
			case "DestinationConfig":
				dc, _ := v.(map[string]any)
				for _, dk := range sortedKeys(dc) {
					if dk != "OnFailure" {
						return nil, fmt.Errorf("%s.DestinationConfig.%s is not modelled by the local Lambda", path, dk)
					}
				}
				arn, err := queueARN(dc["OnFailure"], queues)
				if err != nil {
					return nil, fmt.Errorf("%s.DestinationConfig.OnFailure.Destination: %w", path, err)
				}
				c.cfg.OnFailure = arn
			default:
				return nil, fmt.Errorf("%s.%s is not modelled by the local Lambda", path, k)
			}
		}
		if c.function == "" {
			return nil, fmt.Errorf("%s: no FunctionName", path)
		}
		out = append(out, c)
	}
	return out, nil
}

// queueARN resolves an OnFailure destination {"Destination": {"Fn::GetAtt":
// [queue, "Arn"]}} or a literal SQS ARN.
func queueARN(onFailure any, queues map[string]string) (string, error) {
	m, _ := onFailure.(map[string]any)
	dest := m["Destination"]
	if s, ok := dest.(string); ok {
		return s, nil
	}
	d, _ := dest.(map[string]any)
	ga, _ := d["Fn::GetAtt"].([]any)
	if len(ga) == 2 && ga[1] == "Arn" {
		if id, ok := ga[0].(string); ok && queues[id] != "" {
			return queues[id], nil
		}
	}
	return "", fmt.Errorf("got %v, want the Arn of a queue of the template", dest)
}

// configureAsync gives each function its asynchronous invocation
// configuration.
func configureAsync(fr FunctionRegistry, configs []asyncConfig) error {
	for _, c := range configs {
		if err := fr.PutEventInvokeConfig(c.function, c.cfg); err != nil {
			return fmt.Errorf("create event invoke config: %w", err)
		}
	}
	return nil
}
