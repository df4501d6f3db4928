// Package eventbridge is the adapter over Amazon EventBridge: it publishes
// Slipway's own events (source "slipway") on the account's default bus or on
// a named one.
package eventbridge

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/slipwayhq/slipway/internal/awsapi"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Source is the source of every event Slipway publishes.
const Source = "slipway"

// api lists the EventBridge client methods the adapter uses.
type api interface {
	PutEvents(context.Context, *sdk.PutEventsInput, ...func(*sdk.Options)) (*sdk.PutEventsOutput, error)
}

// Client publishes events.
type Client struct {
	api api
	bus *string // nil for the default bus
}

// New returns a Client that publishes on the default bus over api, normally
// an *eventbridge.Client from the SDK.
func New(api api) *Client { return &Client{api: api} }

// NewOnBus returns a Client that publishes on the event bus named bus (a
// name or an ARN); "" or "default" mean the default bus.
func NewOnBus(api api, bus string) *Client {
	c := &Client{api: api}
	if bus != "" && bus != "default" {
		c.bus = &bus
	}
	return c
}

// Publish puts one event with detailType (for example "Deployment State
// Change") and detail, marshalled as JSON, on the client's bus.
func (c *Client) Publish(ctx context.Context, detailType string, detail any) error {
	op := "publish " + detailType
	b, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("%s: encode detail: %w", op, err)
	}
	out, err := c.api.PutEvents(ctx, &sdk.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source:       aws.String(Source),
		DetailType:   &detailType,
		Detail:       aws.String(string(b)),
		EventBusName: c.bus,
	}}})
	if err != nil {
		return awsapi.Classify(op, err)
	}
	if out.FailedEntryCount == 0 {
		return nil
	}
	// PutEvents answers 200 and reports a rejected entry in the entry itself.
	for _, e := range out.Entries {
		if e.ErrorCode == nil {
			continue
		}
		ae := &smithy.GenericAPIError{Code: aws.ToString(e.ErrorCode), Message: aws.ToString(e.ErrorMessage)}
		if ae.Code == "InternalFailure" { // documented as retryable, like throttling
			return &workflow.Transient{Op: op, Err: ae}
		}
		return awsapi.Classify(op, ae)
	}
	return fmt.Errorf("%s: %d entries failed", op, out.FailedEntryCount)
}
