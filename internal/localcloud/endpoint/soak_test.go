package endpoint_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/synth"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// The soak of issue 14 item 3: deployments across 20 services, each push
// with a random fault (seeded; the seed is logged, SLIPWAY_SOAK_SEED sets
// it): none, an image whose tasks crash on start, ECS throttling or 5xx
// on the service's calls, or the step function throttled, timing out or
// crashing on one of its invocations. After each batch every deployment
// must have ended in a state consistent with ECS and the history. `go
// test` runs 100 deployments; SLIPWAY_SOAK sets another number (`make
// soak` runs 500).

// soakFault is the fault injected into one deployment.
type soakFault string

const (
	soakNone         soakFault = "none"
	soakCrash        soakFault = "crash-on-start"
	soakECSThrottle  soakFault = "ecs-throttling"
	soakECSInternal  soakFault = "ecs-5xx"
	soakStepThrottle soakFault = "step-throttled"
	soakStepTimeout  soakFault = "step-timeout"
	soakStepCrash    soakFault = "step-crash"
)

// soakServices is the size of the soak's world; soakBatch how many of its
// services deploy at once.
const soakServices, soakBatch = 20, 20

// soakCanaryEvery makes every fourth service of the soak's world a canary
// behind a listener rule, so that the rule's weights are checked too.
const soakCanaryEvery = 4

var soakFaults = []soakFault{soakNone, soakNone, soakCrash, soakECSThrottle, soakECSInternal, soakStepThrottle, soakStepTimeout, soakStepCrash}

// envInt reads a positive number from the environment variable name, or
// returns def when it is unset.
func envInt(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// TestSoak runs the soak and checks every deployment.
func TestSoak(t *testing.T) {
	skipIfShort(t, "runs 100 deployments with random faults")
	n := envInt(t, "SLIPWAY_SOAK", 100)
	seed := uint64(envInt(t, "SLIPWAY_SOAK_SEED", int(time.Now().UnixNano()%1_000_000)+1))
	t.Logf("soak: %d deployments, seed %d (SLIPWAY_SOAK_SEED=%d repeats it)", n, seed, seed)
	rng := rand.New(rand.NewPCG(seed, 3))

	clk := clock.NewVirtual(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	r := startWith(t, endpoint.Options{Specs: os.DirFS(writeWorld(t, soakServices, soakCanaryEvery)), SettleTimeout: 8 * time.Minute,
		Config: endpoint.Config{Clock: clk}})
	step, _ := r.Deployed.Stack.Function(synth.KindStep)
	control := endpoint.Control{URL: r.URL}
	c := sfn.NewFromConfig(r.AWS)
	ctx := context.Background()

	// running is the image each service runs: the seeded one, then the
	// last push that deployed.
	running := map[string]string{}
	for i := range soakServices {
		running[stormService(i)], _ = liveService(t, r, i)
	}
	outcomes := map[soakFault]map[workflow.Outcome]int{}
	tag := 1
	for done := 0; done < n; {
		type pushed struct {
			i                int
			svc, env, digest string
			fault            soakFault
		}
		var batch []pushed
		for _, i := range rng.Perm(soakServices)[:min(soakBatch, n-done)] {
			tag++
			p := pushed{i: i, svc: stormService(i), env: stormEnvOf(i), fault: soakFaults[rng.IntN(len(soakFaults))]}
			add := faults.State{}
			switch p.fault {
			case soakECSThrottle, soakECSInternal:
				kind := map[soakFault]string{soakECSThrottle: faults.ErrorThrottling, soakECSInternal: faults.ErrorInternal}[p.fault]
				add.Throttles = []faults.Throttle{{Service: "ecs", Operation: "*", Count: 1 + rng.IntN(3), Match: p.svc, Error: kind}}
			case soakStepThrottle, soakStepTimeout, soakStepCrash:
				kind := map[soakFault]string{soakStepThrottle: faults.InvokeThrottle, soakStepTimeout: faults.InvokeTimeout,
					soakStepCrash: faults.InvokeCrash}[p.fault]
				add.Invocations = []faults.Invocation{{Function: step.Name, Match: []string{`"` + p.svc + `"`}, Fault: kind, Count: 1}}
			}
			release := holdClock(clk)
			digest, err := stack.PushImage(ctx, r.AWS, p.svc, fmt.Sprintf("v%d", tag))
			if err == nil && p.fault == soakCrash {
				add.Images = map[string]faults.Behaviour{digest: {CrashOnStart: true}}
			}
			if err == nil && (len(add.Images) > 0 || len(add.Throttles) > 0 || len(add.Invocations) > 0) {
				_, err = control.Apply(ctx, add)
			}
			release()
			if err != nil {
				t.Fatal(err)
			}
			p.digest = digest
			batch = append(batch, p)
		}
		if err := r.WaitExecutions(ctx, func(string) bool { return true }, 0, 5*time.Minute); err != nil {
			t.Fatalf("after %d deployments: %v", done, err)
		}
		// A fault no call consumed (the deployment did not need that many
		// calls) must not spill over into the next batch.
		if err := control.Clear(ctx); err != nil {
			t.Fatal(err)
		}
		for _, p := range batch {
			x := executionOf(t, c, r, p.svc+"-"+p.env+"-", p.digest)
			out := soakCheck(t, r, x, p.i, p.digest, p.fault, running)
			if outcomes[p.fault] == nil {
				outcomes[p.fault] = map[workflow.Outcome]int{}
			}
			outcomes[p.fault][out]++
		}
		done += len(batch)
		if t.Failed() {
			t.Fatalf("stopped after %d deployments (seed %d)", done, seed)
		}
	}
	for _, f := range slices.Compact(slices.Clone(soakFaults)) {
		t.Logf("soak: fault %-15s outcomes %v", f, outcomes[f])
	}
}

// liveService returns the image that serves service i of the soak's world
// and the ECS service that runs it: the service itself for a rolling one;
// for a canary, the slot (<name>--blue or <name>--green) its listener rule
// sends the traffic to. It checks that a canary's rule sends all of it to
// one slot, and that the other slot runs nothing.
func liveService(t *testing.T, r *endpoint.Running, i int) (image, ecsService string) {
	t.Helper()
	svc, env := stormService(i), stormEnvOf(i)
	ecsService = svc
	if isCanary(i, soakCanaryEvery) {
		lb := r.Seeded.Set.Environments[env].LoadBalancers[svc]
		out, err := elb.NewFromConfig(r.AWS).DescribeRules(context.Background(), &elb.DescribeRulesInput{RuleArns: []string{lb.ListenerRuleArn}})
		if err != nil || len(out.Rules) != 1 {
			t.Fatalf("DescribeRules %s: %v", lb.ListenerRuleArn, err)
		}
		var w [2]int32
		for _, a := range out.Rules[0].Actions {
			if a.ForwardConfig == nil {
				continue
			}
			for _, tg := range a.ForwardConfig.TargetGroups {
				for k, arn := range lb.TargetGroupArns {
					if aws.ToString(tg.TargetGroupArn) == arn {
						w[k] = aws.ToInt32(tg.Weight)
					}
				}
			}
		}
		slots := [2]string{svc + "--blue", svc + "--green"}
		switch w {
		case [2]int32{100, 0}:
			ecsService = slots[0]
		case [2]int32{0, 100}:
			ecsService = slots[1]
		default:
			t.Errorf("%s/%s: the listener rule sends blue/green %v, want all to one slot", env, svc, w)
			return "", ""
		}
		idle := slots[0]
		if ecsService == slots[0] {
			idle = slots[1]
		}
		out2, err := ecs.NewFromConfig(r.AWS).DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(env), Services: []string{idle}})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range out2.Services {
			if aws.ToString(s.Status) == "ACTIVE" && (s.DesiredCount != 0 || s.RunningCount != 0) {
				t.Errorf("%s/%s: the idle slot %s runs %d of %d tasks, want none", env, svc, idle, s.RunningCount, s.DesiredCount)
			}
		}
	}
	return soakImage(t, r, ecsService, env), ecsService
}

// soakImage returns the image the ECS service svc in env runs.
func soakImage(t *testing.T, r *endpoint.Running, svc, env string) string {
	t.Helper()
	ec := ecs.NewFromConfig(r.AWS)
	ctx := context.Background()
	out, err := ec.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(env), Services: []string{svc}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices %s/%s: %v", env, svc, err)
	}
	td, err := ec.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: out.Services[0].TaskDefinition})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(td.TaskDefinition.ContainerDefinitions[0].Image)
}

// soakCheck checks one soak deployment against ECS and the history, and
// updates running; it returns the deployment's outcome.
func soakCheck(t *testing.T, r *endpoint.Running, x *sfn.DescribeExecutionOutput, i int, digest string,
	fault soakFault, running map[string]string) workflow.Outcome {
	t.Helper()
	svc, env := stormService(i), stormEnvOf(i)
	ctx := context.Background()
	name := aws.ToString(x.Name)
	var in workflow.State
	if err := json.Unmarshal([]byte(aws.ToString(x.Input)), &in); err != nil {
		t.Fatal(err)
	}
	st := stateStore(r)
	hist, err := st.History(ctx, env, svc, 50)
	if err != nil {
		t.Fatal(err)
	}
	k := slices.IndexFunc(hist, func(h store.HistoryEntry) bool { return strings.HasSuffix(h.Execution, ":"+name) })
	if k < 0 {
		t.Errorf("%s (fault %s): no history entry", name, fault)
		return ""
	}
	h := hist[k]
	// The execution's end agrees with the outcome recorded.
	succeeded := x.Status == sfntypes.ExecutionStatusSucceeded
	if okOutcome := h.Outcome == workflow.OutcomeDeployed || h.Outcome == workflow.OutcomeSuperseded; succeeded != okOutcome {
		t.Errorf("%s (fault %s): execution %s but history says %s", name, fault, x.Status, h.Outcome)
	}
	switch fault {
	case soakNone:
		if h.Outcome != workflow.OutcomeDeployed {
			t.Errorf("%s (no fault): got %s, want %s (%s: %s)", name, h.Outcome, workflow.OutcomeDeployed, h.Error, h.Cause)
		}
	case soakCrash:
		if h.Outcome == workflow.OutcomeDeployed {
			t.Errorf("%s: an image whose tasks crash on start ended %s", name, h.Outcome)
		}
	}
	if h.Outcome == workflow.OutcomeDeployed {
		running[svc] = h.Image
	}
	// ECS runs what the history says runs (behind all the traffic, for a
	// canary), with nothing else in flight.
	got, live := liveService(t, r, i)
	if got != running[svc] {
		t.Errorf("%s (fault %s, %s): ECS runs %s, want %s", name, fault, h.Outcome, got, running[svc])
	}
	if last, ok := store.LastDeployed(hist); !ok || last.Image != running[svc] {
		t.Errorf("%s (fault %s): the history's last deployed image is %s, want %s", name, fault, last.Image, running[svc])
	}
	out, err := ecs.NewFromConfig(r.AWS).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(env), Services: []string{live}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices %s/%s: %v", env, live, err)
	}
	s := out.Services[0]
	if len(s.Deployments) != 1 || s.RunningCount != s.DesiredCount {
		t.Errorf("%s (fault %s): ECS service has %d deployments, %d of %d tasks running; want one deployment, all running",
			name, fault, len(s.Deployments), s.RunningCount, s.DesiredCount)
	}
	// The lock is free (kept only after a failed rollback, deliberately).
	_, _, err = st.Lock(ctx, env, svc)
	switch {
	case h.Outcome == workflow.OutcomeRollbackFailed:
		if err != nil {
			t.Errorf("%s: the rollback failed but the lock is not kept: %v", name, err)
		}
	case !errors.Is(err, store.ErrNotFound):
		t.Errorf("%s (fault %s, %s): lock of %s/%s not released (%v)", name, fault, h.Outcome, env, svc, err)
	}
	return h.Outcome
}
