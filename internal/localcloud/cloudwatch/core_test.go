package cloudwatch

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	adapter "github.com/slipwayhq/slipway/internal/awsapi/cloudwatch"
	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

// TestThroughCoreRouter serves the service from the endpoint's router,
// registered as the endpoint registers it, and calls it in each of its three
// encodings: the Go SDK (CBOR), the aws CLI (JSON 1.0, which the router
// bridges to CBOR) and a raw query request.
func TestThroughCoreRouter(t *testing.T) {
	svc := New(Config{Clock: clock.NewVirtual(start)})
	router := localcloud.NewServer(localcloud.Options{})
	router.RegisterQuery("monitoring", Version, Namespace, svc)
	router.RegisterCBOR("monitoring", "GraniteServiceVersion20100801", svc)
	endpoint := prototest.Serve(t, router)
	ctx := context.Background()
	c := sdk.NewFromConfig(prototest.Config(endpoint))

	putAlarm(t, c, alarmInput("web-5xx"))
	if _, err := c.SetAlarmState(ctx, &sdk.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: types.StateValueAlarm, StateReason: aws.String("drill")}); err != nil {
		t.Fatal(err)
	}
	states, err := adapter.New(c).AlarmStates(ctx, []string{"web-5xx"})
	if err != nil {
		t.Fatal(err)
	}
	if got := states["web-5xx"]; got.Value != "ALARM" || got.Reason != "drill" {
		t.Errorf("got %+v, want ALARM for the drill", got)
	}
	if _, err := c.DeleteAlarms(ctx, &sdk.DeleteAlarmsInput{AlarmNames: []string{"nope"}}); prototest.ErrorCode(err) != "ResourceNotFound" {
		t.Errorf("got %v, want ResourceNotFound", err)
	}

	form := url.Values{"Action": {"DescribeAlarms"}, "Version": {Version}, "AlarmNames.member.1": {"web-5xx"}}
	resp, err := http.Post(endpoint, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<StateValue>ALARM</StateValue>") ||
		!strings.Contains(string(body), `<DescribeAlarmsResponse xmlns="`+Namespace+`">`) {
		t.Errorf("query DescribeAlarms: got %d %s", resp.StatusCode, body)
	}

	resp, err = http.Post(endpoint+"/service/GraniteServiceVersion20100801/operation/DescribeAlarms", "application/cbor", strings.NewReader("\xbf\x61"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("malformed CBOR: got status %d, want 400", resp.StatusCode)
	}

	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the aws CLI is not on the PATH; the CLI part of this test cannot run here")
	}
	cmd := exec.Command(bin, "--endpoint-url", endpoint, "--region", "us-east-1", "--output", "text", "cloudwatch", "describe-alarms",
		"--alarm-names", "web-5xx", "--query", "MetricAlarms[0].StateValue")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ALARM" {
		t.Errorf("aws cloudwatch describe-alarms through the router: got %v %s, want ALARM", err, out)
	}
}
