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
	"github.com/slipwayhq/slipway/internal/operator"
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

// TestNativeApproval: prod asks for approval. A deployment of kind ecs
// asks at its POST_TEST_TRAFFIC_SHIFT hook, once the new revision runs and
// before production traffic moves: slipway reject (SendTaskFailure
// ApprovalRejected) rolls it back there (the first deployment, which
// created web, by deleting it), and slipway approve (SendTaskSuccess)
// lets ECS go on to Deployed.
func TestNativeApproval(t *testing.T) {
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
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := sfn.NewFromConfig(r.AWS)
	e := ecs.NewFromConfig(r.AWS)
	st := stateStore(r)
	strategies := map[string]string{
		"bluegreen": `{"kind": "ecs", "mode": "bluegreen", "finalBake": "2m", "alarms": ["web-prod-5xx"]}`,
		"canary":    `{"kind": "ecs", "mode": "canary", "canaryPercent": 10, "canaryBake": "2m", "alarms": ["web-prod-5xx"]}`,
		"linear":    `{"kind": "ecs", "mode": "linear", "stepPercent": 50, "stepBake": "1m", "alarms": ["web-prod-5xx"]}`,
	}
	// run deploys web to prod with mode, answers its approval with decide
	// and returns the execution's status and path.
	run := func(t *testing.T, name, mode string, decide func(token string) error) (sfntypes.ExecutionStatus, []string) {
		t.Helper()
		input := `{"service": "web", "environment": "prod", "image": "` + endpoint.InitialTag + `", "reason": "test", "strategy": ` + strategies[mode] + `}`
		x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(r.Deployed.StateMachineARN),
			Name: aws.String(name), Input: aws.String(input)})
		if err != nil {
			t.Fatalf("StartExecution %s: %v", input, err)
		}
		arn := aws.ToString(x.ExecutionArn)
		status := func() sfntypes.ExecutionStatus {
			d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
			if err != nil {
				t.Fatal(err)
			}
			return d.Status
		}
		for {
			a, err := st.Approval(ctx, "prod", "web")
			if err == nil && a.Execution == arn {
				if err := decide(a.Token); err != nil {
					t.Fatalf("answer the approval: %v", err)
				}
				break
			}
			if ctx.Err() != nil || status() != sfntypes.ExecutionStatusRunning {
				t.Fatalf("%s never awaited approval (path %v)", arn, statePath(t, c, arn))
			}
			time.Sleep(20 * time.Millisecond)
		}
		for s := status(); ; s = status() {
			if s != sfntypes.ExecutionStatusRunning {
				return s, statePath(t, c, arn)
			}
			if ctx.Err() != nil {
				t.Fatalf("%s did not end", arn)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	webActive := func() bool {
		out, err := e.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Services) == 1 && aws.ToString(out.Services[0].Status) == "ACTIVE"
	}
	reject := func(token string) error {
		_, err := c.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token),
			Error: aws.String("ApprovalRejected"), Cause: aws.String("rejected by test")})
		return err
	}
	approve := func(token string) error {
		_, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token),
			Output: aws.String(`{"source": "approval", "by": "arn:aws:sts::000000000000:assumed-role/approver/alice"}`)})
		return err
	}
	// check asserts the lock released, no approval pending and the history
	// entry of the execution named name. The seeded world's own promotion
	// of web from staging to prod may be superseded by a test's deployment
	// and record an entry of its own at any moment, so the entry is looked
	// for by execution, not taken as the newest.
	check := func(t *testing.T, name string, outcome workflow.Outcome, errorName string) {
		t.Helper()
		if rec, _, err := st.Lock(ctx, "prod", "web"); err == nil && rec.Deployment != "" {
			t.Errorf("lock prod/web held by %s", rec.Deployment)
		}
		if a, err := st.Approval(ctx, "prod", "web"); err == nil {
			t.Errorf("approval %+v still pending", a)
		}
		h, err := st.History(ctx, "prod", "web", 10)
		i := slices.IndexFunc(h, func(e store.HistoryEntry) bool { return strings.HasSuffix(e.Execution, ":"+name) })
		if err != nil || i < 0 || h[i].Outcome != outcome || h[i].Error != errorName {
			t.Errorf("history %+v (%v), want an entry of %s: %s %s", h, err, name, outcome, errorName)
		}
	}
	for _, mode := range []string{"bluegreen", "canary", "linear"} {
		t.Run(mode+"/rejected on the first deployment", func(t *testing.T) {
			status, path := run(t, "reject-"+mode, mode, reject)
			if status != sfntypes.ExecutionStatusFailed || path[len(path)-1] != workflow.StateRolledBack ||
				!slices.Contains(path, workflow.StateAwaitHookApproval) || !slices.Contains(path, workflow.StateRollback) {
				t.Fatalf("got %s (path %v), want FAILED through AwaitHookApproval and Rollback, ending RolledBack", status, path)
			}
			if webActive() {
				t.Errorf("prod runs web after the rejected deployment that created it")
			}
			check(t, "reject-"+mode, workflow.OutcomeRolledBack, "ApprovalRejected")
		})
	}
	t.Run("approved", func(t *testing.T) {
		status, path := run(t, "approve-canary", "canary", approve)
		if status != sfntypes.ExecutionStatusSucceeded || !slices.Contains(path, workflow.StateAwaitHookApproval) {
			t.Fatalf("got %s (path %v), want SUCCEEDED through AwaitHookApproval", status, path)
		}
		if !webActive() {
			t.Errorf("prod does not run web after the approved deployment")
		}
		check(t, "approve-canary", workflow.OutcomeDeployed, "")
	})
	t.Run("rejected rolls back to the running revision", func(t *testing.T) {
		before, err := e.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
		if err != nil || len(before.Services) != 1 {
			t.Fatalf("DescribeServices: %v", err)
		}
		status, path := run(t, "reject-update", "linear", reject)
		if status != sfntypes.ExecutionStatusFailed || path[len(path)-1] != workflow.StateRolledBack {
			t.Fatalf("got %s (path %v), want FAILED ending RolledBack", status, path)
		}
		after, err := e.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
		if err != nil || len(after.Services) != 1 || aws.ToString(after.Services[0].Status) != "ACTIVE" {
			t.Fatalf("DescribeServices: %v %+v", err, after)
		}
		if got, want := aws.ToString(after.Services[0].TaskDefinition), aws.ToString(before.Services[0].TaskDefinition); got != want {
			t.Errorf("prod runs %s after the rejection, want %s as before", got, want)
		}
		check(t, "reject-update", workflow.OutcomeRolledBack, "ApprovalRejected")
	})
	// `slipway reject` and `slipway rollback` (the operator's) at the hook:
	// both resolve it with ROLLBACK, and the execution ends RolledBack.
	op, err := operator.Connect(ctx, r.AWS, operator.Target{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("slipway reject at the hook", func(t *testing.T) {
		var snap operator.Snapshot
		status, path := run(t, "operator-reject", "canary", func(string) error {
			// What slipway watch shows while the hook awaits approval.
			a, err := st.Approval(ctx, "prod", "web")
			if err != nil {
				return err
			}
			if snap, err = op.Snapshot(ctx, a.Execution); err != nil {
				return err
			}
			_, err = op.Reject(ctx, "prod", "web", "test: not today")
			return err
		})
		n := snap.Native
		if n == nil {
			t.Fatalf("snapshot at the hook approval %+v has no native deployment", snap)
		}
		if n.Status != "IN_PROGRESS" || n.Stage != "POST_TEST_TRAFFIC_SHIFT" || !strings.HasPrefix(n.AwaitingHook, "ecs-pause-") ||
			!strings.HasPrefix(n.ServiceDeployment, "arn:aws:ecs:") {
			t.Errorf("native deployment in the snapshot %+v, want IN_PROGRESS at POST_TEST_TRAFFIC_SHIFT with its pause hook awaiting action", n)
		}
		groups := r.Seeded.Set.Environments["prod"].LoadBalancers["web"].TargetGroupArns
		if len(n.TargetGroups) != 2 || n.TargetGroups[0].TargetGroup != groups[0] || n.TargetGroups[1].TargetGroup != groups[1] ||
			n.TargetGroups[0].Weight+n.TargetGroups[1].Weight != 100 || min(n.TargetGroups[0].Weight, n.TargetGroups[1].Weight) != 0 {
			t.Errorf("target groups in the snapshot %+v, want %v with all production traffic on one (none shifted before approval)", n.TargetGroups, groups)
		}
		if len(snap.Slots) != 1 || snap.Slots[0].Service != "web" || snap.Slots[0].Weight != -1 || !snap.Slots[0].Exists {
			t.Errorf("slots in the snapshot %+v, want web's service alone, with no weight of its own", snap.Slots)
		}
		if w := snap.Wait; w == nil || w.Kind != "approval" || !w.Ends.After(w.Started) {
			t.Errorf("wait in the snapshot %+v, want the approval with its timeout", w)
		}
		if snap.Strategy != "ecs" || snap.LiveError != "" {
			t.Errorf("snapshot strategy %q, live error %q; want ecs and none", snap.Strategy, snap.LiveError)
		}
		if status != sfntypes.ExecutionStatusFailed || path[len(path)-1] != workflow.StateRolledBack ||
			!slices.Contains(path, workflow.StateAwaitHookApproval) || !slices.Contains(path, workflow.StateRollback) {
			t.Fatalf("got %s (path %v), want FAILED through AwaitHookApproval and Rollback, ending RolledBack", status, path)
		}
		check(t, "operator-reject", workflow.OutcomeRolledBack, "ApprovalRejected")
	})
	t.Run("slipway rollback at the hook", func(t *testing.T) {
		var rb operator.Rollback
		status, path := run(t, "operator-rollback", "bluegreen", func(string) error {
			var err error
			rb, err = op.Rollback(ctx, "prod", "web", "arn:aws:sts::000000000000:assumed-role/operator/bob", "test: roll back")
			return err
		})
		if !rb.Halted {
			t.Errorf("rollback %+v, want the deployment halted", rb)
		}
		if status != sfntypes.ExecutionStatusFailed || path[len(path)-1] != workflow.StateRolledBack ||
			!slices.Contains(path, workflow.StateAwaitHookApproval) || !slices.Contains(path, workflow.StateRollback) {
			t.Fatalf("got %s (path %v), want FAILED through AwaitHookApproval and Rollback, ending RolledBack", status, path)
		}
		list, err := e.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("web")})
		if err != nil || len(list.ServiceDeployments) == 0 {
			t.Fatalf("ListServiceDeployments: %v", err)
		}
		if got := list.ServiceDeployments[0].Status; got != ecstypes.ServiceDeploymentStatusRollbackSuccessful {
			t.Errorf("service deployment %s, want ROLLBACK_SUCCESSFUL", got)
		}
		check(t, "operator-rollback", workflow.OutcomeRolledBack, "Halted")
	})
	// Last, as it keeps the lock: a rejection whose rollback cannot bring
	// the running revision back (its image crashes now, its tasks were
	// stopped) ends ROLLBACK_FAILED at ECS, and the execution in
	// RollbackFailed with the lock kept, as a failed rollback of Slipway's
	// own strategies does.
	t.Run("rollback that cannot run the old revision fails", func(t *testing.T) {
		before, err := e.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
		if err != nil || len(before.Services) != 1 {
			t.Fatalf("DescribeServices: %v", err)
		}
		if len(before.Services[0].Deployments) != 1 {
			t.Fatalf("web runs %d deployments, want 1", len(before.Services[0].Deployments))
		}
		old := aws.ToString(before.Services[0].Deployments[0].Id)
		control := endpoint.Control{URL: r.URL}
		breakOld := func() error {
			list, err := e.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("web")})
			if err != nil {
				return err
			}
			out, err := e.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: list.TaskArns})
			if err != nil {
				return err
			}
			var stop []string
			for _, task := range out.Tasks {
				if aws.ToString(task.StartedBy) != old || aws.ToString(task.LastStatus) != "RUNNING" {
					continue
				}
				image := aws.ToString(task.Containers[0].Image)
				digest := aws.ToString(task.Containers[0].ImageDigest)
				if digest == "" {
					digest = image[strings.LastIndex(image, "@")+1:]
				}
				if _, err := control.Apply(ctx, faults.State{Images: map[string]faults.Behaviour{digest: {CrashOnStart: true}}}); err != nil {
					return err
				}
				stop = append(stop, aws.ToString(task.TaskArn))
			}
			if len(stop) == 0 {
				return fmt.Errorf("no task of %s runs", old)
			}
			for _, arn := range stop {
				if _, err := e.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("prod"), Task: aws.String(arn)}); err != nil {
					return err
				}
			}
			return nil
		}
		status, path := run(t, "reject-rollback-fails", "canary", func(token string) error {
			if err := breakOld(); err != nil {
				return err
			}
			return reject(token)
		})
		if status != sfntypes.ExecutionStatusFailed || path[len(path)-1] != workflow.StateRollbackFailed ||
			!slices.Contains(path, workflow.StateRecordRollbackFailed) || slices.Contains(path, workflow.StateRecordFailure) {
			t.Fatalf("got %s (path %v), want FAILED through RecordRollbackFailed, ending RollbackFailed", status, path)
		}
		list, err := e.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("web")})
		if err != nil || len(list.ServiceDeployments) == 0 {
			t.Fatalf("ListServiceDeployments: %v", err)
		}
		if got := list.ServiceDeployments[0].Status; got != ecstypes.ServiceDeploymentStatusRollbackFailed {
			t.Errorf("service deployment %s, want ROLLBACK_FAILED", got)
		}
		if lock, _, err := st.Lock(ctx, "prod", "web"); err != nil || lock.Stage != store.StageRollbackFailed {
			t.Errorf("lock: got %+v (%v), want it kept in stage %s", lock, err, store.StageRollbackFailed)
		}
		h, err := st.History(ctx, "prod", "web", 1)
		if err != nil || len(h) != 1 || h[0].Outcome != workflow.OutcomeRollbackFailed {
			t.Errorf("history %+v (%v), want %s", h, err, workflow.OutcomeRollbackFailed)
		}
	})
}
