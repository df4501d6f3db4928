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
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// nativeModes are the strategies of kind ecs the flow tests deploy web
// with in staging, as the environment's override of web's strategy.
var nativeModes = map[string]string{
	"bluegreen": `{kind: ecs, mode: bluegreen, bake: 1m, finalBake: 2m, alarms: [web-staging-5xx]}`,
	"canary":    `{kind: ecs, mode: canary, canaryPercent: 10, canaryBake: 2m, finalBake: 2m, alarms: [web-staging-5xx]}`,
	"linear":    `{kind: ecs, mode: linear, stepPercent: 50, stepBake: 1m, finalBake: 2m, alarms: [web-staging-5xx]}`,
}

// stagingWith returns examples/environments/staging.yaml with web's
// strategy override replaced by strategy (a flow mapping).
func stagingWith(t *testing.T, strategy string) string {
	t.Helper()
	env, err := os.ReadFile(examples + "/environments/staging.yaml")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(env), "    strategy:\n      steps:")
	j := strings.Index(string(env), "        - weight: 100\n")
	if i < 0 || j < i {
		t.Fatalf("examples/environments/staging.yaml: want overrides.web.strategy.steps ending with weight 100")
	}
	j += len("        - weight: 100\n")
	return string(env[:i]) + "    strategy: " + strategy + "\n" + string(env[j:])
}

// flipped is the other target group's share.
func flipped(w [2]int32) [2]int32 { return [2]int32{w[1], w[0]} }

// TestNativeFlows runs web through kind ecs on the endpoint, through the
// synthesized definition: each mode deploys (its first deployment moves
// web from rolling to ECS's own strategy with no moment without a healthy
// target taking traffic), then a release whose tasks crash is rolled back
// by ECS's circuit breaker, a release whose alarm fires while ECS shifts
// traffic is rolled back, and web goes back to rolling. It asserts the
// path of states, the production rule's weights, what ECS runs, the
// service deployments, the history and the lock.
func TestNativeFlows(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs a dozen deployments")
	r := start(t)
	e := ecs.NewFromConfig(r.AWS)
	ctx := context.Background()

	// web runs as canary slots in the example world: rolling first, so
	// that one service, web, takes the traffic.
	if status, path := uploadSpec(t, r, "environments/staging.yaml", stagingWith(t, "{kind: rolling}")); status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("switch web to rolling: got %s (path %v), want SUCCEEDED", status, path)
	}

	taskDefinition := func() string {
		out, err := e.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"web"}})
		if err != nil || len(out.Services) != 1 {
			t.Fatalf("DescribeServices web: %v %+v", err, out)
		}
		return aws.ToString(out.Services[0].TaskDefinition)
	}
	lastServiceDeployment := func() ecstypes.ServiceDeployment {
		list, err := e.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("staging"), Service: aws.String("web")})
		if err != nil || len(list.ServiceDeployments) == 0 {
			t.Fatalf("ListServiceDeployments web: %v %+v", err, list)
		}
		arn := list.ServiceDeployments[0].ServiceDeploymentArn
		out, err := e.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(arn)}})
		if err != nil || len(out.ServiceDeployments) != 1 {
			t.Fatalf("DescribeServiceDeployments %s: %v", aws.ToString(arn), err)
		}
		return out.ServiceDeployments[0]
	}
	lockFree := func(t *testing.T) {
		t.Helper()
		if rec, _, err := stateStore(r).Lock(ctx, "staging", "web"); err == nil && rec.Deployment != "" {
			t.Errorf("lock staging/web held by %s after the deployment", rec.Deployment)
		}
	}
	c := sfn.NewFromConfig(r.AWS)
	// nativePath checks the whole path of the newest deployment of web to
	// staging (the milestones hide the native states).
	nativePath := func(t *testing.T, _ []string, want ...string) []string {
		t.Helper()
		execs := listExecutions(ctx, t, c, r)
		i := slices.IndexFunc(execs, func(x sfntypes.ExecutionListItem) bool {
			return strings.HasPrefix(aws.ToString(x.Name), "web-staging-")
		})
		if i < 0 {
			t.Fatal("no deployment of web to staging")
		}
		path := statePath(t, c, aws.ToString(execs[i].ExecutionArn))
		t.Logf("path %v", path)
		for _, s := range want {
			if !slices.Contains(path, s) {
				t.Errorf("path %v lacks %s", path, s)
			}
		}
		for _, s := range []string{workflow.StateShiftTraffic, workflow.StatePromote} {
			if slices.Contains(path, s) {
				t.Errorf("path %v has %s: ECS shifts the traffic of kind ecs", path, s)
			}
		}
		return path
	}

	tag := 2
	next := func() string { tag++; return fmt.Sprintf("v%d", tag) }
	for _, mode := range []string{"bluegreen", "canary", "linear"} {
		t.Run(mode+"/succeeds", func(t *testing.T) {
			before := weights(t, r)
			// The spec change deploys web with the mode (staging deploys on
			// change); the first one also moves web off rolling.
			watch := watchTraffic(r, nil)
			status, path := uploadSpec(t, r, "environments/staging.yaml", stagingWith(t, nativeModes[mode]))
			seen := watch.end(t)
			if status != sfntypes.ExecutionStatusSucceeded {
				t.Fatalf("got %s (path %v), want SUCCEEDED", status, path)
			}
			nativePath(t, path, workflow.StateApply, workflow.StateCheckHook, workflow.StateHookReady, workflow.StateContinueDeployment,
				workflow.StateAwaitHook, workflow.StateBake, workflow.StateCheckBake, workflow.StateFinalize, workflow.StateDeployed)
			if got := weights(t, r); got != flipped(before) {
				t.Errorf("got weights %v, want %v: ECS moved all traffic to the other group (seen %v)", got, flipped(before), seen)
			}
			// And a release on top, started by a push.
			before = weights(t, r)
			status, path, _ = deploy(t, r, "web", next(), nil)
			if status != sfntypes.ExecutionStatusSucceeded {
				t.Fatalf("push: got %s (path %v), want SUCCEEDED", status, path)
			}
			if got := weights(t, r); got != flipped(before) {
				t.Errorf("push: got weights %v, want %v", got, flipped(before))
			}
			full := nativePath(t, path, workflow.StateContinueDeployment, workflow.StateDeployed)
			// One CONTINUE at POST_SCALE_UP, POST_TEST_TRAFFIC_SHIFT and
			// POST_PRODUCTION_TRAFFIC_SHIFT, and one at
			// PRE_PRODUCTION_TRAFFIC_SHIFT before each production step:
			// one for bluegreen, two for the canary and its rest, two for
			// linear steps of 50%.
			want := map[string]int{"bluegreen": 4, "canary": 5, "linear": 5}[mode]
			if got := countOf(full, workflow.StateContinueDeployment); got != want {
				t.Errorf("got %d ContinueDeployment, want %d", got, want)
			}
			sd := lastServiceDeployment()
			if sd.Status != ecstypes.ServiceDeploymentStatusSuccessful {
				t.Errorf("service deployment %s, want SUCCESSFUL", sd.Status)
			}
			lockFree(t)
		})

		t.Run(mode+"/circuit breaker rolls back", func(t *testing.T) {
			before, td := weights(t, r), taskDefinition()
			status, path, _ := deploy(t, r, "web", next(), faultOnPush(t, r, faults.Behaviour{CrashOnStart: true}))
			if status != sfntypes.ExecutionStatusFailed || path[len(path)-1] != workflow.StateRolledBack {
				t.Fatalf("got %s (path %v), want FAILED ending in RolledBack", status, path)
			}
			nativePath(t, path, workflow.StateRollback, workflow.StateRecordFailure, workflow.StateRolledBack)
			if got := weights(t, r); got != before {
				t.Errorf("got weights %v, want %v as before", got, before)
			}
			if got := taskDefinition(); got != td {
				t.Errorf("web runs %s, want %s as before", got, td)
			}
			sd := lastServiceDeployment()
			if sd.Status != ecstypes.ServiceDeploymentStatusRollbackSuccessful {
				t.Errorf("service deployment %s, want ROLLBACK_SUCCESSFUL", sd.Status)
			}
			lockFree(t)
		})

		t.Run(mode+"/alarm while traffic moves rolls back", func(t *testing.T) {
			before, td := weights(t, r), taskDefinition()
			cw := cloudwatch.NewFromConfig(r.AWS)
			var alarmErr error
			var once sync.Once
			watch := watchTraffic(r, func(blue, green int32) {
				if [2]int32{blue, green} == before {
					return
				}
				// The new revision has its first share: fire the alarm.
				once.Do(func() {
					_, alarmErr = cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-staging-5xx"),
						StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("test: 5xx on the new revision")})
				})
			})
			status, path, _ := deploy(t, r, "web", next(), nil)
			seen := watch.end(t)
			if alarmErr != nil {
				t.Fatalf("SetAlarmState: %v", alarmErr)
			}
			if status != sfntypes.ExecutionStatusFailed || path[len(path)-1] != workflow.StateRolledBack {
				t.Fatalf("got %s (path %v, weights %v), want FAILED ending in RolledBack", status, path, seen)
			}
			nativePath(t, path, workflow.StateRollback, workflow.StateRolledBack)
			if got := weights(t, r); got != before {
				t.Errorf("got weights %v (seen %v), want %v as before", got, seen, before)
			}
			if got := taskDefinition(); got != td {
				t.Errorf("web runs %s, want %s as before", got, td)
			}
			if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-staging-5xx"),
				StateValue: cwtypes.StateValueOk, StateReason: aws.String("test: resolved")}); err != nil {
				t.Fatal(err)
			}
			lockFree(t)
		})
	}

	// Back to rolling: ECS's last deployment may have left the traffic on
	// either group; the rolling service must take it over with no moment
	// without a healthy target, and ECS's strategy must be ROLLING again.
	t.Run("back to rolling", func(t *testing.T) {
		// Leave the traffic on the second group, where a rolling service
		// would not be by default.
		if weights(t, r) == [2]int32{100, 0} {
			if status, path, _ := deploy(t, r, "web", next(), nil); status != sfntypes.ExecutionStatusSucceeded {
				t.Fatalf("push: got %s (path %v), want SUCCEEDED", status, path)
			}
		}
		if got := weights(t, r); got != [2]int32{0, 100} {
			t.Fatalf("got weights %v before the switch, want [0 100]", got)
		}
		green := r.Seeded.Set.Environments["staging"].LoadBalancers["web"].TargetGroupArns[1]
		watch := watchTraffic(r, nil)
		status, path := uploadSpec(t, r, "environments/staging.yaml", stagingWith(t, "{kind: rolling}"))
		seen := watch.end(t)
		if status != sfntypes.ExecutionStatusSucceeded {
			execs := listExecutions(ctx, t, c, r)
			i := slices.IndexFunc(execs, func(x sfntypes.ExecutionListItem) bool {
				return strings.HasPrefix(aws.ToString(x.Name), "web-staging-")
			})
			in, _ := stateInput(t, c, aws.ToString(execs[i].ExecutionArn), workflow.StateRollback)
			t.Fatalf("got %s (path %v, cause %+v), want SUCCEEDED", status, path, in.Error)
		}
		out, err := e.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"web"}})
		if err != nil || len(out.Services) != 1 {
			t.Fatalf("DescribeServices web: %v", err)
		}
		svc := out.Services[0]
		if got := svc.DeploymentConfiguration.Strategy; got != ecstypes.DeploymentStrategyRolling && got != "" {
			t.Errorf("web's strategy is %s, want ROLLING", got)
		}
		for _, lb := range svc.LoadBalancers {
			if lb.AdvancedConfiguration != nil {
				t.Errorf("web keeps advancedConfiguration %+v, want none with rolling", lb.AdvancedConfiguration)
			}
		}
		if len(svc.LoadBalancers) != 1 || aws.ToString(svc.LoadBalancers[0].TargetGroupArn) != green {
			t.Errorf("web's load balancers %+v, want the green group the rule forwards to", svc.LoadBalancers)
		}
		if diff := cmp.Diff([][2]int32{{0, 100}}, seen); diff != "" {
			t.Errorf("weights seen (-want +got):\n%s", diff)
		}
		lockFree(t)
	})
}

// TestNativeApprovalRejected: prod asks for approval; a deployment of kind
// ecs waits for it before Apply, as every kind does, and a rejection ends
// it Rejected with nothing changed: no service, no service deployment, the
// lock released, the history saying so.
func TestNativeApprovalRejected(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs deployments")
	// Prod's approval wait (4 h) would be jumped to its timeout by a
	// virtual clock: a clock 200 times faster than wall time instead.
	r, err := endpoint.Start(context.Background(), endpoint.Options{Addr: "127.0.0.1:0", Specs: os.DirFS(examples),
		WorkDir: t.TempDir(), Config: endpoint.Config{Clock: clock.Scaled(200)}})
	if err != nil {
		t.Fatalf("start the endpoint: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := sfn.NewFromConfig(r.AWS)
	e := ecs.NewFromConfig(r.AWS)
	st := stateStore(r)
	for _, mode := range []string{"bluegreen", "canary", "linear"} {
		t.Run(mode, func(t *testing.T) {
			strategy := map[string]string{
				"bluegreen": `{"kind": "ecs", "mode": "bluegreen", "finalBake": "2m", "alarms": ["web-prod-5xx"]}`,
				"canary":    `{"kind": "ecs", "mode": "canary", "canaryPercent": 10, "canaryBake": "2m", "alarms": ["web-prod-5xx"]}`,
				"linear":    `{"kind": "ecs", "mode": "linear", "stepPercent": 50, "stepBake": "1m", "alarms": ["web-prod-5xx"]}`,
			}[mode]
			input := `{"service": "web", "environment": "prod", "image": "` + endpoint.InitialTag + `", "reason": "test", "strategy": ` + strategy + `}`
			x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(r.Deployed.StateMachineARN),
				Name: aws.String("native-" + mode), Input: aws.String(input)})
			if err != nil {
				t.Fatalf("StartExecution %s: %v", input, err)
			}
			arn := aws.ToString(x.ExecutionArn)
			var a store.PendingApproval
			for {
				a, err = st.Approval(ctx, "prod", "web")
				if err == nil && a.Execution == arn {
					break
				}
				if d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)}); ctx.Err() != nil ||
					err == nil && d.Status != sfntypes.ExecutionStatusRunning {
					t.Fatalf("%s never awaited approval (path %v)", arn, statePath(t, c, arn))
				}
				time.Sleep(20 * time.Millisecond)
			}
			// As slipway reject does.
			if _, err := c.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(a.Token),
				Error: aws.String("ApprovalRejected"), Cause: aws.String("rejected by test")}); err != nil {
				t.Fatalf("SendTaskFailure: %v", err)
			}
			var status sfntypes.ExecutionStatus
			for {
				d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
				if err != nil {
					t.Fatal(err)
				}
				if status = d.Status; status != sfntypes.ExecutionStatusRunning {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			path := statePath(t, c, arn)
			if status != sfntypes.ExecutionStatusFailed || path[len(path)-1] != workflow.StateRejected || slices.Contains(path, workflow.StateApply) ||
				!slices.Contains(path, workflow.StateAwaitApproval) {
				t.Fatalf("got %s (path %v), want FAILED through AwaitApproval, ending in Rejected before Apply", status, path)
			}
			out, err := e.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range out.Services {
				if aws.ToString(s.Status) == "ACTIVE" {
					t.Errorf("prod runs web (%s) after a rejected deployment", aws.ToString(s.TaskDefinition))
				}
			}
			if rec, _, err := st.Lock(ctx, "prod", "web"); err == nil && rec.Deployment != "" {
				t.Errorf("lock prod/web held by %s after the rejection", rec.Deployment)
			}
			h, err := st.History(ctx, "prod", "web", 1)
			if err != nil || len(h) != 1 || h[0].Outcome != workflow.OutcomeRejected || h[0].Error != "ApprovalRejected" {
				t.Errorf("history %+v (%v), want the rejection", h, err)
			}
		})
	}
}
