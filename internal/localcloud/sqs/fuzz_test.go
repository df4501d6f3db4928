package sqs_test

import (
	"context"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
	"github.com/slipwayhq/slipway/internal/localcloud/sqs"
)

// FuzzServeJSON sends arbitrary bodies to every SQS operation: each answer
// is a value or an AWS error, never a panic or another kind of error.
func FuzzServeJSON(f *testing.F) {
	ops := []string{"CreateQueue", "GetQueueUrl", "GetQueueAttributes", "SendMessage", "ReceiveMessage", "DeleteMessage",
		"ListQueues", "PurgeQueue", "Unknown"}
	f.Add(uint8(0), []byte(`{"QueueName":"q","Attributes":{"VisibilityTimeout":"30","MessageRetentionPeriod":"60"}}`))
	f.Add(uint8(1), []byte(`{"QueueName":"q"}`))
	f.Add(uint8(2), []byte(`{"QueueUrl":"http://127.0.0.1/000000000000/q","AttributeNames":["All"]}`))
	f.Add(uint8(3), []byte(`{"QueueUrl":"http://127.0.0.1/000000000000/q","MessageBody":"hello"}`))
	f.Add(uint8(4), []byte(`{"QueueUrl":"http://127.0.0.1/000000000000/q","MaxNumberOfMessages":10,"WaitTimeSeconds":0}`))
	f.Add(uint8(5), []byte(`{"QueueUrl":"http://127.0.0.1/000000000000/q","ReceiptHandle":"x"}`))
	f.Add(uint8(6), []byte(`{"QueueNamePrefix":"q","MaxResults":1000}`))
	f.Add(uint8(7), []byte(`{"QueueUrl":""}`))
	f.Add(uint8(0), []byte(`{"QueueName":5}`))
	svc := sqs.New(sqs.Config{Clock: clock.NewVirtual(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))})
	// A queue the other operations can find.
	if _, err := svc.ServeJSON(context.Background(), "CreateQueue", []byte(`{"QueueName":"q"}`)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		out, err := svc.ServeJSON(context.Background(), ops[int(op)%len(ops)], body)
		prototest.CheckJSONAnswer(t, out, err)
	})
}
