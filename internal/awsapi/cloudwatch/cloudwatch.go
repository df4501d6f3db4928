// Package cloudwatch is the adapter over Amazon CloudWatch: the state of the
// alarms a deployment watches.
package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/slipwayhq/slipway/internal/awsapi"
)

// ErrNotFound means a named alarm does not exist.
var ErrNotFound = errors.New("not found")

// maxNames is how many alarm names one DescribeAlarms request may carry.
const maxNames = 100

// api lists the CloudWatch client methods the adapter uses.
type api interface {
	DescribeAlarms(context.Context, *sdk.DescribeAlarmsInput, ...func(*sdk.Options)) (*sdk.DescribeAlarmsOutput, error)
}

// Client reads alarms.
type Client struct {
	api api
}

// New returns a Client over api, normally a *cloudwatch.Client from the SDK.
func New(api api) *Client { return &Client{api: api} }

// AlarmState is the state of one alarm.
type AlarmState struct {
	Value  string // OK, ALARM or INSUFFICIENT_DATA
	Reason string
	// Updated is when the state or its reason last changed.
	Updated time.Time
	// Transitioned is when the alarm last moved to Value.
	Transitioned time.Time
}

// AlarmStates returns the state of each alarm in names, metric or composite,
// keyed by name. An alarm that does not exist is an error naming it, wrapping
// ErrNotFound: a deployment must not pass a check because an alarm is
// misspelled.
func (c *Client) AlarmStates(ctx context.Context, names []string) (map[string]AlarmState, error) {
	states := make(map[string]AlarmState, len(names))
	for chunk := range slices.Chunk(names, maxNames) {
		p := sdk.NewDescribeAlarmsPaginator(c.api, &sdk.DescribeAlarmsInput{
			AlarmNames: chunk,
			// Without AlarmTypes, DescribeAlarms returns metric alarms only.
			AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm, types.AlarmTypeCompositeAlarm},
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, awsapi.Classify("describe alarms "+strings.Join(chunk, ", "), err)
			}
			for _, a := range out.MetricAlarms {
				states[aws.ToString(a.AlarmName)] = AlarmState{
					Value: string(a.StateValue), Reason: aws.ToString(a.StateReason),
					Updated: aws.ToTime(a.StateUpdatedTimestamp), Transitioned: aws.ToTime(a.StateTransitionedTimestamp),
				}
			}
			for _, a := range out.CompositeAlarms {
				states[aws.ToString(a.AlarmName)] = AlarmState{
					Value: string(a.StateValue), Reason: aws.ToString(a.StateReason),
					Updated: aws.ToTime(a.StateUpdatedTimestamp), Transitioned: aws.ToTime(a.StateTransitionedTimestamp),
				}
			}
		}
	}
	var missing []string
	for _, n := range names {
		if _, ok := states[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("alarms %s: %w", strings.Join(missing, ", "), ErrNotFound)
	}
	return states, nil
}
