package sqs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
	"github.com/slipwayhq/slipway/internal/localcloud/sqs"
)

var start = time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)

// newClient serves svc through the real router, registered as the endpoint
// registers SQS.
func newClient(t *testing.T, svc *sqs.Service) *awssqs.Client {
	t.Helper()
	router := localcloud.NewServer(localcloud.Options{})
	router.RegisterJSON("sqs", sqs.TargetPrefix, "1.0", svc)
	cfg := prototest.Config(prototest.Serve(t, router))
	cfg.Region = "eu-west-1"
	return awssqs.NewFromConfig(cfg)
}

func depth(t *testing.T, c *awssqs.Client, url string) map[string]string {
	t.Helper()
	out, err := c.GetQueueAttributes(context.Background(), &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Attributes
}

// TestMessageLifecycle sends, receives (the SDK checks the body's MD5),
// lets the visibility timeout pass so the message comes back, and deletes
// it.
func TestMessageLifecycle(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewVirtual(start)
	svc := sqs.New(sqs.Config{Region: "eu-west-1", Clock: clk})
	c := newClient(t, svc)
	created, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("dlq"),
		Attributes: map[string]string{"VisibilityTimeout": "10", "KmsMasterKeyId": "alias/aws/sqs"}})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(created.QueueUrl)
	if want := "https://sqs.eu-west-1.amazonaws.com/000000000000/dlq"; url != want {
		t.Errorf("got queue URL %s, want %s", url, want)
	}
	got, err := c.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String("dlq")})
	if err != nil || aws.ToString(got.QueueUrl) != url {
		t.Errorf("GetQueueUrl: got %v, %v, want %s", got, err, url)
	}
	attrs, err := c.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn, types.QueueAttributeNameKmsMasterKeyId}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"QueueArn": "arn:aws:sqs:eu-west-1:000000000000:dlq", "KmsMasterKeyId": "alias/aws/sqs"}, attrs.Attributes); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	if _, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	if d := depth(t, c, url); d["ApproximateNumberOfMessages"] != "1" {
		t.Errorf("after send: got %v, want 1 visible", d)
	}
	recv, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recv.Messages) != 1 || aws.ToString(recv.Messages[0].Body) != `{"a":1}` || recv.Messages[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("got %+v, want the one message received once", recv.Messages)
	}
	if d := depth(t, c, url); d["ApproximateNumberOfMessages"] != "0" || d["ApproximateNumberOfMessagesNotVisible"] != "1" {
		t.Errorf("while in flight: got %v, want 0 visible, 1 not visible", d)
	}
	clk.AdvanceTo(start.Add(11 * time.Second))
	again, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Messages) != 1 || again.Messages[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("after the visibility timeout: got %+v, want the message received a second time", again.Messages)
	}
	if _, err := c.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: again.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	clk.AdvanceTo(start.Add(time.Minute))
	if d := depth(t, c, url); d["ApproximateNumberOfMessages"] != "0" || d["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Errorf("after delete: got %v, want an empty queue", d)
	}
}

// TestSendByARN is how Lambda delivers an on-failure record.
func TestSendByARN(t *testing.T) {
	ctx := context.Background()
	svc := sqs.New(sqs.Config{Region: "eu-west-1", Clock: clock.NewVirtual(start)})
	c := newClient(t, svc)
	if _, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("fn-failures")}); err != nil {
		t.Fatal(err)
	}
	if err := svc.SendByARN("arn:aws:sqs:eu-west-1:000000000000:fn-failures", `{"x":true}`); err != nil {
		t.Fatal(err)
	}
	if err := svc.SendByARN("arn:aws:sqs:eu-west-1:000000000000:missing", `{}`); err == nil {
		t.Error("send to a missing queue: got no error, want one")
	}
	if diff := cmp.Diff(map[string]int{"fn-failures": 1}, svc.Depth()); diff != "" {
		t.Errorf("depth (-want +got):\n%s", diff)
	}
	list, err := c.ListQueues(ctx, &awssqs.ListQueuesInput{QueueNamePrefix: aws.String("fn-")})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"https://sqs.eu-west-1.amazonaws.com/000000000000/fn-failures"}, list.QueueUrls); diff != "" {
		t.Errorf("ListQueues (-want +got):\n%s", diff)
	}
	url := list.QueueUrls[0]
	if _, err := c.PurgeQueue(ctx, &awssqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatal(err)
	}
	var inProgress *types.PurgeQueueInProgress
	if _, err := c.PurgeQueue(ctx, &awssqs.PurgeQueueInput{QueueUrl: aws.String(url)}); !errors.As(err, &inProgress) {
		t.Errorf("second purge within 60 s: got %v, want PurgeQueueInProgress", err)
	}
	if d := svc.Depth()["fn-failures"]; d != 0 {
		t.Errorf("after purge: got depth %d, want 0", d)
	}
}

// TestErrors checks that what is missing or not modelled is refused with
// AWS's error shapes.
func TestErrors(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, sqs.New(sqs.Config{Region: "eu-west-1", Clock: clock.NewVirtual(start)}))
	if _, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("q")}); err != nil {
		t.Fatal(err)
	}
	const url = "https://sqs.eu-west-1.amazonaws.com/000000000000/q"
	tests := map[string]struct {
		call func() error
		code string
	}{
		"missing queue": {func() error {
			_, err := c.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String("nope")})
			return err
		}, "AWS.SimpleQueueService.NonExistentQueue"},
		"same name, other attributes": {func() error {
			_, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("q"), Attributes: map[string]string{"VisibilityTimeout": "5"}})
			return err
		}, "QueueAlreadyExists"},
		"unmodelled attribute": {func() error {
			_, err := c.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String("r"), Attributes: map[string]string{"RedrivePolicy": "{}"}})
			return err
		}, "InvalidAttributeName"},
		"long polling": {func() error {
			_, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
			return err
		}, "UnsupportedOperation"},
		"message attributes": {func() error {
			_, err := c.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"),
				MessageAttributes: map[string]types.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("v")}}})
			return err
		}, "UnsupportedOperation"},
		"bad receipt handle": {func() error {
			_, err := c.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("junk")})
			return err
		}, "ReceiptHandleIsInvalid"},
		"unmodelled operation": {func() error {
			_, err := c.SetQueueAttributes(ctx, &awssqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{"VisibilityTimeout": "1"}})
			return err
		}, "UnknownOperationException"},
	}
	// As on AWS, the typed error is the shape, the code the query one.
	var missing *types.QueueDoesNotExist
	if _, err := c.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String("nope")}); !errors.As(err, &missing) {
		t.Errorf("GetQueueUrl nope: got %v, want a *types.QueueDoesNotExist", err)
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var api smithy.APIError
			if err := tc.call(); !errors.As(err, &api) || api.ErrorCode() != tc.code {
				t.Errorf("got %v, want %s", err, tc.code)
			}
		})
	}
}

// TestSnapshot restores queues with their messages.
func TestSnapshot(t *testing.T) {
	clk := clock.NewVirtual(start)
	a := sqs.New(sqs.Config{Region: "eu-west-1", Clock: clk})
	c := newClient(t, a)
	if _, err := c.CreateQueue(context.Background(), &awssqs.CreateQueueInput{QueueName: aws.String("kept")}); err != nil {
		t.Fatal(err)
	}
	if err := a.SendByARN(a.ARN("kept"), "body"); err != nil {
		t.Fatal(err)
	}
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b := sqs.New(sqs.Config{Region: "eu-west-1", Clock: clk})
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"kept": 1}, b.Depth()); diff != "" {
		t.Errorf("restored depth (-want +got):\n%s", diff)
	}
}
