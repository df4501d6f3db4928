package endpoint_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/slipwayhq/slipway/internal/synth"
)

// TestFailedUploadEventLandsInItsQueue proves issue 12 item 4 ("no event is
// lost silently") on the local endpoint: when the spec-upload function
// fails on an upload's event every time, Lambda retries it twice, on the
// clock, and then sends AWS's invocation record to the function's on-failure
// queue, declared by the stack and read here with the SDK's SQS client. The
// record names the function and carries the original S3 event.
func TestFailedUploadEventLandsInItsQueue(t *testing.T) {
	skipIfShort(t, "synthesizes the stack")
	r := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	fn, ok := r.Deployed.Stack.Function(synth.KindSpecUpload)
	if !ok {
		t.Fatal("the stack has no spec-upload function")
	}
	// The queue the stack's EventInvokeConfig names, found the way an
	// operator would: by the queue's name.
	var queue string
	for _, q := range r.Deployed.Stack.Queues {
		if strings.HasPrefix(q.LogicalID, "TriggersSpecUploadFailures") {
			queue = q.Name
		}
	}
	if queue == "" {
		t.Fatalf("no spec-upload failure queue among %+v", r.Deployed.Stack.Queues)
	}
	c := awssqs.NewFromConfig(r.AWS)
	url, err := c.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(queue)})
	if err != nil {
		t.Fatalf("GetQueueUrl %s: %v", queue, err)
	}

	// Every attempt (the first and Lambda's two retries) fails.
	r.Lambda.FailInvocations(fn.Name, 3)
	const key = "services/web.yaml"
	body, err := os.ReadFile(examples + "/" + key)
	if err != nil {
		t.Fatal(err)
	}
	put, err := s3.NewFromConfig(r.AWS).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(r.Deployed.SpecBucket), Key: aws.String(key),
		Body: strings.NewReader(string(body) + "\n# touched\n")})
	if err != nil {
		t.Fatal(err)
	}

	var msgs []types.Message
	for deadline := time.Now().Add(time.Minute); len(msgs) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no record in %s a minute after the upload; Lambda's async failures: %+v", queue, r.Lambda.AsyncFailures())
		}
		out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: url.QueueUrl, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		msgs = out.Messages
	}
	if len(msgs) != 1 {
		t.Fatalf("got %d records, want 1", len(msgs))
	}
	var rec struct {
		RequestContext struct {
			FunctionArn            string `json:"functionArn"`
			Condition              string `json:"condition"`
			ApproximateInvokeCount int    `json:"approximateInvokeCount"`
		} `json:"requestContext"`
		RequestPayload struct {
			Source     string `json:"source"`
			DetailType string `json:"detail-type"`
			Detail     struct {
				Bucket struct {
					Name string `json:"name"`
				} `json:"bucket"`
				Object struct {
					Key       string `json:"key"`
					VersionID string `json:"version-id"`
				} `json:"object"`
			} `json:"detail"`
		} `json:"requestPayload"`
		ResponseContext struct {
			FunctionError string `json:"functionError"`
		} `json:"responseContext"`
		ResponsePayload struct {
			ErrorType string `json:"errorType"`
		} `json:"responsePayload"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &rec); err != nil {
		t.Fatalf("decode the record %s: %v", aws.ToString(msgs[0].Body), err)
	}
	if got, want := rec.RequestContext.FunctionArn, fn.ARN+":$LATEST"; got != want {
		t.Errorf("got functionArn %s, want %s", got, want)
	}
	if rec.RequestContext.Condition != "RetriesExhausted" || rec.RequestContext.ApproximateInvokeCount != 3 {
		t.Errorf("got condition %s after %d invocations, want RetriesExhausted after 3", rec.RequestContext.Condition, rec.RequestContext.ApproximateInvokeCount)
	}
	p := rec.RequestPayload
	if p.Source != "aws.s3" || p.DetailType != "Object Created" || p.Detail.Bucket.Name != r.Deployed.SpecBucket ||
		p.Detail.Object.Key != key || p.Detail.Object.VersionID != aws.ToString(put.VersionId) {
		t.Errorf("got request payload %+v, want the Object Created event of %s/%s version %s", p, r.Deployed.SpecBucket, key, aws.ToString(put.VersionId))
	}
	if rec.ResponseContext.FunctionError != "Unhandled" || rec.ResponsePayload.ErrorType != "InjectedFault" {
		t.Errorf("got functionError %q, errorType %q; want Unhandled, InjectedFault", rec.ResponseContext.FunctionError, rec.ResponsePayload.ErrorType)
	}
}
