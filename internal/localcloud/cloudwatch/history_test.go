package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
)

// TestDescribeAlarmHistory: each state change is a StateUpdate item with
// CloudWatch's summary and HistoryData; creation a ConfigurationUpdate;
// filters, ScanBy and paging work as on CloudWatch, and item types the
// endpoint does not record are refused, not answered empty.
func TestDescribeAlarmHistory(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	c := f.client
	putAlarm(t, c, alarmInput("web-5xx"))
	putAlarm(t, c, alarmInput("worker-5xx"))
	set := func(at time.Duration, name string, v types.StateValue) {
		t.Helper()
		f.clk.AdvanceTo(start.Add(at)) // no evaluation ticks: only these changes
		if _, err := c.SetAlarmState(ctx, &sdk.SetAlarmStateInput{AlarmName: aws.String(name), StateValue: v, StateReason: aws.String("test " + string(v))}); err != nil {
			t.Fatal(err)
		}
	}
	set(2*time.Minute, "web-5xx", types.StateValueAlarm)
	set(5*time.Minute, "web-5xx", types.StateValueOk)
	set(6*time.Minute, "worker-5xx", types.StateValueAlarm)

	out, err := c.DescribeAlarmHistory(ctx, &sdk.DescribeAlarmHistoryInput{AlarmName: aws.String("web-5xx"), HistoryItemType: types.HistoryItemTypeStateUpdate})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range out.AlarmHistoryItems {
		var data struct {
			OldState, NewState struct{ StateValue string }
		}
		if err := json.Unmarshal([]byte(aws.ToString(it.HistoryData)), &data); err != nil {
			t.Fatalf("HistoryData %q: %v", aws.ToString(it.HistoryData), err)
		}
		got = append(got, aws.ToTime(it.Timestamp).Sub(start).String()+" "+aws.ToString(it.HistorySummary)+" "+data.OldState.StateValue+">"+data.NewState.StateValue)
	}
	want := []string{"5m0s Alarm updated from ALARM to OK ALARM>OK", "2m0s Alarm updated from INSUFFICIENT_DATA to ALARM INSUFFICIENT_DATA>ALARM"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %q, want %q (newest first)", got, want)
	}

	all, err := c.DescribeAlarmHistory(ctx, &sdk.DescribeAlarmHistoryInput{ScanBy: types.ScanByTimestampAscending,
		StartDate: aws.Time(start.Add(time.Minute)), MaxRecords: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(all.AlarmHistoryItems); n != 2 || aws.ToString(all.NextToken) == "" || !aws.ToTime(all.AlarmHistoryItems[0].Timestamp).Equal(start.Add(2*time.Minute)) {
		t.Fatalf("got %d items from %v, token %q; want 2 from 2m and a token", n, all.AlarmHistoryItems, aws.ToString(all.NextToken))
	}
	rest, err := c.DescribeAlarmHistory(ctx, &sdk.DescribeAlarmHistoryInput{ScanBy: types.ScanByTimestampAscending,
		StartDate: aws.Time(start.Add(time.Minute)), MaxRecords: aws.Int32(2), NextToken: all.NextToken})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rest.AlarmHistoryItems); n != 1 || aws.ToString(rest.AlarmHistoryItems[0].AlarmName) != "worker-5xx" || rest.NextToken != nil {
		t.Errorf("got %d items, token %v on the second page; want worker-5xx's ALARM only", n, rest.NextToken)
	}

	created, err := c.DescribeAlarmHistory(ctx, &sdk.DescribeAlarmHistoryInput{AlarmName: aws.String("web-5xx"), HistoryItemType: types.HistoryItemTypeConfigurationUpdate})
	if err != nil {
		t.Fatal(err)
	}
	if len(created.AlarmHistoryItems) != 1 || aws.ToString(created.AlarmHistoryItems[0].HistorySummary) != `Alarm "web-5xx" created` {
		t.Errorf("got %+v, want the creation", created.AlarmHistoryItems)
	}

	for name, in := range map[string]*sdk.DescribeAlarmHistoryInput{
		"actions":     {HistoryItemType: types.HistoryItemTypeAction},
		"max records": {MaxRecords: aws.Int32(101)},
		"scan by":     {ScanBy: "Sideways"},
		"token":       {NextToken: aws.String("x")},
	} {
		var ae smithy.APIError
		if _, err := c.DescribeAlarmHistory(ctx, in); !errors.As(err, &ae) {
			t.Errorf("%s: got %v, want an API error", name, err)
		} else if code := ae.ErrorCode(); code != "InvalidParameterValue" && code != "InvalidNextToken" {
			t.Errorf("%s: got code %s, want InvalidParameterValue or InvalidNextToken", name, code)
		}
	}
}
