package cloudwatch

import (
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestAWSCLI drives the service with the stock aws CLI. botocore prefers
// JSON 1.0 among the protocols CloudWatch's model lists (smithy-rpc-v2-cbor,
// json, query), so that is what the CLI sends.
func TestAWSCLI(t *testing.T) {
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the aws CLI is not on the PATH; the CLI session cannot run here")
	}
	f := newFixture(t, Config{})
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--endpoint-url", f.url, "--region", "us-east-1", "--output", "json", "cloudwatch"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_PAGER=",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws cloudwatch %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("put-metric-alarm", "--alarm-name", "web-5xx", "--namespace", "AWS/ApplicationELB", "--metric-name", "HTTPCode_Target_5XX_Count",
		"--dimensions", "Name=TargetGroup,Value=targetgroup/web-green/943f017f100becff", "--statistic", "Sum", "--period", "60",
		"--evaluation-periods", "3", "--datapoints-to-alarm", "2", "--threshold", "5", "--comparison-operator", "GreaterThanThreshold",
		"--treat-missing-data", "notBreaching")
	run("set-alarm-state", "--alarm-name", "web-5xx", "--state-value", "ALARM", "--state-reason", "drill")
	var out struct {
		MetricAlarms []struct {
			AlarmName, StateValue, StateReason, TreatMissingData string
			Threshold                                            float64
			EvaluationPeriods, DatapointsToAlarm                 int
			// The CLI v1 prints timestamps as the wire carries them
			// (cli_timestamp_format none): epoch seconds for JSON.
			StateUpdatedTimestamp float64
			Dimensions            []struct{ Name, Value string }
		}
	}
	if err := json.Unmarshal([]byte(run("describe-alarms", "--alarm-names", "web-5xx")), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.MetricAlarms) != 1 {
		t.Fatalf("got %d alarms, want 1", len(out.MetricAlarms))
	}
	a := out.MetricAlarms[0]
	if a.StateValue != "ALARM" || a.StateReason != "drill" || a.Threshold != 5 || a.EvaluationPeriods != 3 || a.DatapointsToAlarm != 2 ||
		a.TreatMissingData != "notBreaching" || len(a.Dimensions) != 1 {
		t.Errorf("got %+v, want the alarm put, in ALARM for the drill", a)
	}
	if updated := time.UnixMilli(int64(a.StateUpdatedTimestamp * 1000)); !updated.Equal(start) {
		t.Errorf("got StateUpdatedTimestamp %v, want %v", updated, start)
	}
	// Timestamps travel both ways: the CLI sends them as epoch seconds.
	run("put-metric-data", "--namespace", "Shop", "--metric-name", "Orders", "--value", "7", "--timestamp", "2026-11-25T15:58:30Z")
	run("put-metric-data", "--namespace", "Shop", "--metric-name", "Orders", "--value", "5", "--timestamp", "2026-11-25T15:58:50Z")
	sum := run("get-metric-statistics", "--namespace", "Shop", "--metric-name", "Orders", "--start-time", "2026-11-25T15:50:00Z",
		"--end-time", "2026-11-25T16:00:00Z", "--period", "60", "--statistics", "Sum", "--query", "Datapoints[0].Sum", "--output", "text")
	if v, err := strconv.ParseFloat(strings.TrimSpace(sum), 64); err != nil || v != 12 {
		t.Errorf("get-metric-statistics: got %q, want 12", sum)
	}
	hist := run("describe-alarm-history", "--alarm-name", "web-5xx", "--history-item-type", "StateUpdate",
		"--start-date", "2020-01-01T00:00:00Z", "--query", "AlarmHistoryItems[0].HistorySummary", "--output", "text")
	if got := strings.TrimSpace(hist); got != "Alarm updated from INSUFFICIENT_DATA to ALARM" {
		t.Errorf("describe-alarm-history: got %q, want the drill's transition", got)
	}
	if got := strings.TrimSpace(run("describe-alarms", "--state-value", "OK", "--query", "length(MetricAlarms)")); got != "0" {
		t.Errorf("alarms in OK: got %s, want 0", got)
	}
	cmd := exec.Command(bin, "--endpoint-url", f.url, "--region", "us-east-1", "cloudwatch", "set-alarm-state", "--alarm-name", "nope",
		"--state-value", "OK", "--state-reason", "x")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	if msg, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(msg), "ResourceNotFound") {
		t.Errorf("set-alarm-state of a missing alarm: got %v %s, want ResourceNotFound", err, msg)
	}
	if diff := cmp.Diff([]string{"json"}, uniq(f.router.seen())); diff != "" {
		t.Errorf("protocols the CLI used (-want +got):\n%s", diff)
	}
}
