package endpoint_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
)

// trafficWatch samples web's staging listener rule and the health of its
// target groups while a deployment runs. A sample reads the health of both
// groups, then the weights, then the health again; a weight above 0 on a
// group with no healthy target in both health reads is a violation (one
// read alone could straddle a change made between the calls).
type trafficWatch struct {
	mu         sync.Mutex
	violations []string
	weights    [][2]int32 // distinct weights seen, in order
	samples    int
	errs       []error
	stop       func()
}

// watchTraffic starts sampling; onChange, when not nil, is called (from the
// sampling goroutine) with each new distinct blue/green weights.
func watchTraffic(r *endpoint.Running, onChange func(blue, green int32)) *trafficWatch {
	lb := r.Seeded.Set.Environments["staging"].LoadBalancers["web"]
	c := elb.NewFromConfig(r.AWS)
	ctx := context.Background()
	healthy := func() (map[string]bool, error) {
		out := map[string]bool{}
		for _, g := range lb.TargetGroupArns {
			h, err := c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(g)})
			if err != nil {
				return nil, err
			}
			for _, d := range h.TargetHealthDescriptions {
				if d.TargetHealth != nil && d.TargetHealth.State == "healthy" {
					out[g] = true
				}
			}
		}
		return out, nil
	}
	w := &trafficWatch{}
	w.stop = pollEvery(2*time.Millisecond, func() {
		before, err := healthy()
		var rules *elb.DescribeRulesOutput
		if err == nil {
			rules, err = c.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{lb.ListenerRuleArn}})
		}
		var after map[string]bool
		if err == nil {
			after, err = healthy()
		}
		w.mu.Lock()
		if err != nil {
			w.errs = append(w.errs, err)
		} else {
			w.samples++
			var now [2]int32
			for _, a := range rules.Rules[0].Actions {
				if a.ForwardConfig == nil {
					continue
				}
				for _, tg := range a.ForwardConfig.TargetGroups {
					g, weight := aws.ToString(tg.TargetGroupArn), aws.ToInt32(tg.Weight)
					if i := slices.Index(lb.TargetGroupArns[:], g); i >= 0 {
						now[i] = weight
					}
					if weight > 0 && !before[g] && !after[g] {
						w.violations = append(w.violations, fmt.Sprintf("weight %d on %s, which has no healthy target", weight, g))
					}
				}
			}
			if n := len(w.weights); n == 0 || w.weights[n-1] != now {
				w.weights = append(w.weights, now)
				if onChange != nil {
					onChange(now[0], now[1])
				}
			}
		}
		w.mu.Unlock()
	})
	return w
}

func (w *trafficWatch) end(t *testing.T) [][2]int32 {
	t.Helper()
	w.stop()
	if len(w.errs) > 0 {
		t.Errorf("sampling the rule and its targets: %v", w.errs[0])
	}
	if w.samples < 2 {
		t.Errorf("got %d samples, want the deployment observed throughout", w.samples)
	}
	for _, v := range w.violations {
		t.Errorf("during the switch: %s", v)
	}
	return w.weights
}

// uploadSpec uploads the spec file key as a user would and returns the
// deployment of web to staging it starts (staging deploys on change), once
// ended: its status and milestones.
func uploadSpec(t *testing.T, r *endpoint.Running, key, doc string) (sfntypes.ExecutionStatus, []string) {
	t.Helper()
	x, c := uploadAndAwait(t, r, key, doc, "web-staging-", 2*time.Minute)
	// Promote runs again when it waited for the promoted slot's Cloud Map
	// registration (PromotedYet): one step of the story.
	path := slices.CompactFunc(pathOf(t, c, aws.ToString(x.ExecutionArn)), func(a, b string) bool {
		return a == b && a == "Promote"
	})
	return x.Status, path
}

// serviceStatuses returns the status of each named ECS service of staging
// ("MISSING" when ECS does not know it) and, for an ACTIVE one, whether it
// runs its desired count.
func serviceStatuses(t *testing.T, r *endpoint.Running, names ...string) map[string]string {
	t.Helper()
	out, err := ecs.NewFromConfig(r.AWS).DescribeServices(context.Background(), &ecs.DescribeServicesInput{
		Cluster: aws.String("staging"), Services: names})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, n := range names {
		got[n] = "MISSING"
	}
	for _, s := range out.Services {
		st := aws.ToString(s.Status)
		if st == "DRAINING" {
			// Deleted; its tasks are stopping. For the test it is gone.
			st = "INACTIVE"
		}
		if st == "ACTIVE" && (s.DesiredCount == 0 || s.RunningCount != s.DesiredCount) {
			st = fmt.Sprintf("ACTIVE %d of %d running", s.RunningCount, s.DesiredCount)
		}
		got[aws.ToString(s.ServiceName)] = st
	}
	for n, st := range got {
		if st == "MISSING" {
			got[n] = "INACTIVE"
		}
	}
	return got
}

// TestSwitchStrategy (issue 11 item 2): switching web's strategy in
// staging by uploading the spec, canary → rolling → canary (each direction
// also rolled back before promotion, by an alarm or a failed rollout), takes the live model over:
// at no sampled moment does a weight above 0 point at a target group with
// no healthy target, traffic moves only once the new model is stable, and
// at the end ECS runs the new model only.
func TestSwitchStrategy(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs five deployments")
	// The staging override gives web's canary its steps; switching staging
	// to rolling is an override too (steps apply to canary and bluegreen
	// only), so the environment file is what a user uploads.
	canaryEnv, err := os.ReadFile(examples + "/environments/staging.yaml")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(canaryEnv), "    strategy:\n      steps:")
	j := strings.Index(string(canaryEnv), "        - weight: 100\n")
	if i < 0 || j < i {
		t.Fatalf("examples/environments/staging.yaml: want overrides.web.strategy.steps ending with weight 100")
	}
	j += len("        - weight: 100\n")
	rollingEnv := string(canaryEnv[:i]) + "    strategy:\n      kind: rolling\n      steps: null\n" + string(canaryEnv[j:])
	r := start(t)

	// web runs v1 in blue; a canary of v2 puts it in green with all the
	// traffic, so the switch to rolling, whose service is behind the first
	// (blue) group, has traffic to move.
	status, path, v2 := deploy(t, r, "web", "v2", nil)
	if status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("canary of v2: got %s (path %v), want SUCCEEDED", status, path)
	}
	if got, want := weights(t, r), [2]int32{0, 100}; got != want {
		t.Fatalf("got weights %v after the canary, want %v", got, want)
	}

	t.Run("canary to rolling", func(t *testing.T) {
		watch := watchTraffic(r, nil)
		status, path := uploadSpec(t, r, "environments/staging.yaml", rollingEnv)
		seen := watch.end(t)
		if status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("got %s (path %v), want SUCCEEDED", status, path)
		}
		// Rolling in staging has no final bake: ECS's rollout is the wait.
		if diff := cmp.Diff([]string{"Apply", "Promote", "Deployed"}, path); diff != "" {
			t.Errorf("path (-want +got):\n%s", diff)
		}
		// All on green (the slot) until web is stable behind blue, then all
		// on blue at once.
		if diff := cmp.Diff([][2]int32{{0, 100}, {100, 0}}, seen); diff != "" {
			t.Errorf("weights blue/green seen, in order (-want +got):\n%s", diff)
		}
		want := map[string]string{"web": "ACTIVE", "web--blue": "INACTIVE", "web--green": "INACTIVE"}
		if diff := cmp.Diff(want, serviceStatuses(t, r, "web", "web--blue", "web--green")); diff != "" {
			t.Errorf("ECS services of web (-want +got):\n%s", diff)
		}
	})

	t.Run("rolling to canary rolls back on an alarm", func(t *testing.T) {
		cw := cloudwatch.NewFromConfig(r.AWS)
		var alarmErr error
		var once sync.Once
		watch := watchTraffic(r, func(_, green int32) {
			if green == 0 {
				return
			}
			// The new slot has its first share: fire the canary's alarm.
			once.Do(func() {
				_, alarmErr = cw.SetAlarmState(context.Background(), &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-staging-5xx"),
					StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("test: 5xx during the switch")})
			})
		})
		status, path := uploadSpec(t, r, "environments/staging.yaml", string(canaryEnv))
		seen := watch.end(t)
		if alarmErr != nil {
			t.Fatalf("SetAlarmState: %v", alarmErr)
		}
		if status != sfntypes.ExecutionStatusFailed || len(path) == 0 || path[len(path)-1] != "RolledBack" {
			t.Fatalf("got %s (path %v), want FAILED ending in RolledBack", status, path)
		}
		// 10% moved to the new slot (50% too when the alarm's event came
		// after the next step), then all back to web.
		ok := len(seen) >= 3 && seen[0] == [2]int32{100, 0} && seen[1] == [2]int32{90, 10} && seen[len(seen)-1] == [2]int32{100, 0}
		for _, w := range seen[min(2, len(seen)):max(len(seen)-1, 2)] {
			ok = ok && w == [2]int32{50, 50}
		}
		if !ok {
			t.Errorf("got weights blue/green %v, want [100 0], [90 10], maybe [50 50], then [100 0]", seen)
		}
		want := map[string]string{"web": "ACTIVE", "web--blue": "INACTIVE", "web--green": "INACTIVE"}
		if diff := cmp.Diff(want, serviceStatuses(t, r, "web", "web--blue", "web--green")); diff != "" {
			t.Errorf("ECS services of web (-want +got):\n%s", diff)
		}
		if _, err := cw.SetAlarmState(context.Background(), &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-staging-5xx"),
			StateValue: cwtypes.StateValueOk, StateReason: aws.String("test: resolved")}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("rolling to canary", func(t *testing.T) {
		watch := watchTraffic(r, nil)
		status, path := uploadSpec(t, r, "environments/staging.yaml", string(canaryEnv))
		seen := watch.end(t)
		if status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("got %s (path %v), want SUCCEEDED", status, path)
		}
		// The canary's steps from the plain service: not a first
		// deployment's single step.
		want := []string{"Apply", "ShiftTraffic", "Bake", "ShiftTraffic", "Bake", "ShiftTraffic", "Bake", "Promote", "Deployed"}
		if diff := cmp.Diff(want, path); diff != "" {
			t.Errorf("path (-want +got):\n%s", diff)
		}
		// web is behind blue, so the new slot is green.
		if diff := cmp.Diff([][2]int32{{100, 0}, {90, 10}, {50, 50}, {0, 100}}, seen); diff != "" {
			t.Errorf("weights blue/green seen, in order (-want +got):\n%s", diff)
		}
		wantECS := map[string]string{"web": "INACTIVE", "web--blue": "INACTIVE", "web--green": "ACTIVE"}
		if diff := cmp.Diff(wantECS, serviceStatuses(t, r, "web", "web--blue", "web--green")); diff != "" {
			t.Errorf("ECS services of web (-want +got):\n%s", diff)
		}
	})

	t.Run("canary to rolling rolls back when the plain service cannot start", func(t *testing.T) {
		// New tasks of the image crash before they are healthy: the plain
		// service's rollout fails (circuit breaker) before anything moved;
		// the slot's running tasks are not new and keep serving.
		injectFault(t, r, v2, faults.Behaviour{CrashOnStart: true})
		defer func() {
			if _, err := (endpoint.Control{URL: r.URL}).Apply(context.Background(), faults.State{}); err != nil {
				t.Errorf("clear faults: %v", err)
			}
		}()
		watch := watchTraffic(r, nil)
		status, path := uploadSpec(t, r, "environments/staging.yaml", rollingEnv)
		seen := watch.end(t)
		if status != sfntypes.ExecutionStatusFailed || len(path) == 0 || path[len(path)-1] != "RolledBack" {
			t.Fatalf("got %s (path %v), want FAILED ending in RolledBack", status, path)
		}
		if diff := cmp.Diff([][2]int32{{0, 100}}, seen); diff != "" {
			t.Errorf("weights blue/green seen, in order (-want +got):\n%s", diff)
		}
		want := map[string]string{"web": "INACTIVE", "web--blue": "INACTIVE", "web--green": "ACTIVE"}
		if diff := cmp.Diff(want, serviceStatuses(t, r, "web", "web--blue", "web--green")); diff != "" {
			t.Errorf("ECS services of web (-want +got):\n%s", diff)
		}
	})
}
