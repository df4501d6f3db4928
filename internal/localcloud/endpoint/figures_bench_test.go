package endpoint_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/slipwayhq/slipway/events"
	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/lambda"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
	"github.com/slipwayhq/slipway/internal/synth"
)

// The figures of issue 14 item 5 that need the assembled endpoint: how long
// an alarm takes to put the traffic back, how long the real bootstraps take
// to start under the Lambda Runtime API, and DescribeServices against moto
// for comparison with BenchmarkDescribeServices. `make bench` collects them
// (internal/benchfig).

// ruleWeights returns the forward weights of web's staging listener rule,
// blue then green.
func ruleWeights(tb testing.TB, r *endpoint.Running) [2]int32 {
	tb.Helper()
	lb := r.Seeded.Set.Environments["staging"].LoadBalancers["web"]
	out, err := elb.NewFromConfig(r.AWS).DescribeRules(context.Background(), &elb.DescribeRulesInput{RuleArns: []string{lb.ListenerRuleArn}})
	if err != nil {
		tb.Fatalf("DescribeRules %s: %v", lb.ListenerRuleArn, err)
	}
	var w [2]int32
	for _, tg := range out.Rules[0].Actions[0].ForwardConfig.TargetGroups {
		for i, arn := range lb.TargetGroupArns {
			if aws.ToString(tg.TargetGroupArn) == arn {
				w[i] = aws.ToInt32(tg.Weight)
			}
		}
	}
	return w
}

// inState reports whether the newest execution whose name has prefix is in
// the state named state now (entered it last).
func inState(tb testing.TB, c *sfn.Client, r *endpoint.Running, prefix, state string) bool {
	tb.Helper()
	ctx := context.Background()
	all, err := endpoint.ListExecutions(ctx, c, r.Deployed.StateMachineARN)
	if err != nil {
		tb.Fatal(err)
	}
	for _, x := range all {
		if !strings.HasPrefix(aws.ToString(x.Name), prefix) {
			continue
		}
		out, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: x.ExecutionArn, ReverseOrder: true})
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range out.Events {
			if d := e.StateEnteredEventDetails; d != nil {
				return aws.ToString(d.Name) == state
			}
		}
		return false
	}
	return false
}

// BenchmarkAlarmToTrafficRestored pushes a new web image, lets its canary
// move the first share of traffic and enter its bake, puts the bake's
// alarm into ALARM, and measures how long the listener rule takes to send
// all the traffic back: in wall time on the local endpoint
// (alarm-to-restored-s; the target is 2 s) and in simulated time
// (alarm-to-restored-sim-s: the waits the path itself takes, which the
// virtual clock skips). The clock is held and moved 100 ms at a time after
// the alarm, so the simulated figure has that resolution.
func BenchmarkAlarmToTrafficRestored(b *testing.B) {
	clk := clock.NewVirtual(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	r := startWith(b, endpoint.Options{SettleTimeout: 8 * time.Minute, Config: endpoint.Config{Clock: clk}})
	cw := cloudwatch.NewFromConfig(r.AWS)
	c := sfn.NewFromConfig(r.AWS)
	ctx := context.Background()
	const alarm, prefix = "web-staging-5xx", "web-staging-"
	setAlarm := func(v cwtypes.StateValue) {
		if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(alarm), StateValue: v,
			StateReason: aws.String("benchmark")}); err != nil {
			b.Fatalf("SetAlarmState %s %s: %v", alarm, v, err)
		}
	}
	sleep := func(d time.Duration) {
		if err := clk.Sleep(ctx, d); err != nil {
			b.Fatal(err)
		}
	}
	var wall, sim time.Duration
	for i := 0; i < b.N; i++ {
		before := ruleWeights(b, r)
		release := holdClock(clk)
		done := make(chan error, 1)
		go func() {
			_, err := stack.PushImage(ctx, r.AWS, "web", fmt.Sprintf("v%d", 100+i))
			done <- err
		}()
		for pushed := false; !pushed; {
			select {
			case err := <-done:
				if err != nil {
					b.Fatal(err)
				}
				pushed = true
			default:
				sleep(time.Second)
			}
		}
		for n := 0; ruleWeights(b, r) == before || !inState(b, c, r, prefix, "Bake"); n++ {
			if n > 3600 {
				b.Fatalf("the canary of web moved no traffic into a bake in an hour of simulated time")
			}
			sleep(time.Second)
		}
		setAlarm(cwtypes.StateValueAlarm)
		began, simBegan := time.Now(), clk.Now()
		for n := 0; ruleWeights(b, r) != before; n++ {
			if n > 36000 {
				b.Fatalf("traffic not restored to %v an hour of simulated time after the alarm", before)
			}
			sleep(100 * time.Millisecond)
		}
		wall += time.Since(began)
		sim += clk.Now().Sub(simBegan)
		release()
		if err := r.WaitExecutions(ctx, func(name string) bool { return strings.HasPrefix(name, prefix) }, 0, 5*time.Minute); err != nil {
			b.Fatal(err)
		}
		setAlarm(cwtypes.StateValueOk)
	}
	b.ReportMetric(wall.Seconds()/float64(b.N), "alarm-to-restored-s")
	b.ReportMetric(sim.Seconds()/float64(b.N), "alarm-to-restored-sim-s")
}

// buildBootstraps builds the real functions for this machine into
// dir/<kind>/bootstrap, as endpoint.Options.Functions expects them.
func buildBootstraps(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	out := filepath.Join(dir, "bin")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-tags", "lambda.norpc", "-o", out+"/", "./functions/...")
	build.Dir = "../../.."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("build the functions: %v\n%s", err, b)
	}
	functions := filepath.Join(dir, "functions")
	for _, kind := range synth.Kinds() {
		if err := os.MkdirAll(filepath.Join(functions, string(kind)), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.Rename(filepath.Join(out, string(kind)), filepath.Join(functions, string(kind), "bootstrap")); err != nil {
			tb.Fatal(err)
		}
	}
	return functions
}

// BenchmarkColdStart starts each real bootstrap (built for this machine
// as `make build` builds them for Lambda) under the local Lambda Runtime
// API with the environment the stack gives it, and measures its first
// invocation (cold-ms: process start, SDK configuration, the handler) and
// its second (warm-ms). The events are ones each handler reads and drops
// at once, so the figure is the start, not the work.
func BenchmarkColdStart(b *testing.B) {
	functions := buildBootstraps(b)
	// The endpoint's own functions are in-process handlers; the
	// bootstraps run in a Lambda service of their own, one per start.
	r := startWith(b, endpoint.Options{Config: endpoint.Config{Clock: clock.NewVirtual(time.Now())}})
	payload := func(name string) []byte {
		raw, err := events.Files.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		return raw
	}
	payloads := map[synth.FunctionKind][]byte{
		synth.KindECRPush:    payload("ecr-push-untagged.json"),
		synth.KindSpecUpload: payload("s3-object-created-service.json"),
		synth.KindSignal:     payload("alarm-ok.json"),
		synth.KindStep:       []byte(`{}`),
	}
	for _, kind := range synth.Kinds() {
		fn, ok := r.Deployed.Stack.Function(kind)
		if !ok {
			b.Fatalf("no %s function in the stack", kind)
		}
		env := map[string]string{"AWS_ENDPOINT_URL": r.URL, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
			"AWS_EC2_METADATA_DISABLED": "true"}
		for k, v := range fn.Environment {
			env[k] = v
		}
		b.Run(string(kind), func(b *testing.B) {
			var cold, warm time.Duration
			for i := 0; i < b.N; i++ {
				s := lambda.New(lambda.Config{Region: r.Region(), Clock: clock.Real(), Timeout: 30 * time.Second,
					Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
				if err := s.RegisterBinary(fn.Name, filepath.Join(functions, string(kind), "bootstrap"), env); err != nil {
					b.Fatal(err)
				}
				for j, total := range []*time.Duration{&cold, &warm} {
					began := time.Now()
					// A function error (step's empty input) still ran
					// the handler in a started process: it counts.
					if _, _, err := s.Invoke(context.Background(), fn.Name, payloads[kind]); err != nil {
						b.Fatalf("invocation %d of %s: %v", j+1, kind, err)
					}
					*total += time.Since(began)
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cold.Microseconds())/1000/float64(b.N), "cold-ms")
			b.ReportMetric(float64(warm.Microseconds())/1000/float64(b.N), "warm-ms")
		})
	}
}

// BenchmarkDescribeServicesMoto is BenchmarkDescribeServices against
// moto's server (`moto_server`), the local AWS a user would pick instead:
// the same call, the same client, two services of one cluster. It skips,
// saying so, when moto_server is not on the PATH.
func BenchmarkDescribeServicesMoto(b *testing.B) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		b.Skip("moto_server is not on the PATH (pip install 'moto[server]'): the comparison with moto is skipped")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		b.Fatalf("start moto_server: %v", err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	c := ecs.NewFromConfig(stack.AWSConfig(url, "us-east-1"))
	ctx := context.Background()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("staging")}); err == nil {
			break
		} else if time.Now().After(deadline) {
			b.Fatalf("moto_server on %s did not answer in a minute: %v", url, err)
		}
	}
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("app"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("app:1"), Memory: aws.Int32(512)}}})
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"worker", "agent"} {
		if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("staging"), ServiceName: aws.String(name),
			TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1)}); err != nil {
			b.Fatal(err)
		}
	}
	in := &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"worker", "agent"}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.DescribeServices(ctx, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
