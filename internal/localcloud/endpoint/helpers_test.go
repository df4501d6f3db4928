package endpoint_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// This file holds the helpers the endpoint's integration tests share:
// starting the endpoint, reading an execution's path, and driving a
// deployment on a virtual clock the test holds.

// skipIfShort skips the test under -short, saying what it does (it
// synthesizes the stack and runs deployments: seconds, not milliseconds).
func skipIfShort(t testing.TB, does string) {
	t.Helper()
	if testing.Short() {
		t.Skip(does + "; -short skips it")
	}
}

// startWith runs the endpoint with Slipway's stack and the example world,
// with the options o (Addr, Specs and WorkDir filled in when empty), and
// stops it when the test ends.
func startWith(t testing.TB, o endpoint.Options) *endpoint.Running {
	t.Helper()
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Specs == nil {
		o.Specs = os.DirFS(examples)
	}
	if o.WorkDir == "" {
		o.WorkDir = t.TempDir()
	}
	r, err := endpoint.Start(context.Background(), o)
	if err != nil {
		t.Fatalf("start the endpoint: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return r
}

// eachEvent calls f with each event of the execution arn's history, oldest
// first, until f returns false.
func eachEvent(t *testing.T, c *sfn.Client, arn string, f func(e sfntypes.HistoryEvent) bool) {
	t.Helper()
	p := sfn.NewGetExecutionHistoryPaginator(c, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("GetExecutionHistory: %v", err)
		}
		for _, e := range page.Events {
			if !f(e) {
				return
			}
		}
	}
}

// enteredStates returns the states an execution entered, in order, keeping
// those keep says yes to (all of them when keep is nil).
func enteredStates(t *testing.T, c *sfn.Client, arn string, keep func(name string) bool) []string {
	t.Helper()
	var path []string
	eachEvent(t, c, arn, func(e sfntypes.HistoryEvent) bool {
		if d := e.StateEnteredEventDetails; d != nil && (keep == nil || keep(aws.ToString(d.Name))) {
			path = append(path, aws.ToString(d.Name))
		}
		return true
	})
	return path
}

// pathOf returns the milestones of an execution's path.
func pathOf(t *testing.T, c *sfn.Client, arn string) []string {
	t.Helper()
	return enteredStates(t, c, arn, func(name string) bool { return slices.Contains(milestones, name) })
}

// statePath returns every state an execution entered, in order.
func statePath(t *testing.T, c *sfn.Client, arn string) []string {
	t.Helper()
	return enteredStates(t, c, arn, nil)
}

// stateInput decodes the input of the first state named state the
// execution arn entered; it reports false if it entered none.
func stateInput(t *testing.T, c *sfn.Client, arn, state string) (workflow.State, bool) {
	t.Helper()
	var in workflow.State
	found := false
	eachEvent(t, c, arn, func(e sfntypes.HistoryEvent) bool {
		d := e.StateEnteredEventDetails
		if d == nil || aws.ToString(d.Name) != state {
			return true
		}
		if err := json.Unmarshal([]byte(aws.ToString(d.Input)), &in); err != nil {
			t.Fatalf("input of %s: %v", state, err)
		}
		found = true
		return false
	})
	return in, found
}

// listExecutions lists the executions of Slipway's state machine, newest
// first.
func listExecutions(ctx context.Context, t *testing.T, c *sfn.Client, r *endpoint.Running) []sfntypes.ExecutionListItem {
	t.Helper()
	all, err := endpoint.ListExecutions(ctx, c, r.Deployed.StateMachineARN)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// startManual starts the execution name deploying image to service in
// staging as the CLI does, with StartExecution and a manual trigger.
func startManual(ctx context.Context, t *testing.T, r *endpoint.Running, c *sfn.Client, name, service, image string) {
	t.Helper()
	input, err := json.Marshal(workflow.State{Request: workflow.Request{Service: service, Environment: "staging", Image: image,
		Reason: "test", Trigger: workflow.Trigger{Kind: workflow.TriggerManual, Actor: "test"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(r.Deployed.StateMachineARN),
		Name: aws.String(name), Input: aws.String(string(input))}); err != nil {
		t.Fatal(err)
	}
}

// stateStore returns the store over the spec and state buckets of the
// endpoint's stack: locks, history, rejections.
func stateStore(r *endpoint.Running) *store.Store {
	return store.New(s3api.New(s3.NewFromConfig(r.AWS)), r.Deployed.SpecBucket, r.Deployed.StateBucket)
}

// newestStarted returns the ARN of the newest execution in after whose
// name has prefix, if after holds more of those than before.
func newestStarted(before, after []sfntypes.ExecutionListItem, prefix string) (string, bool) {
	if countPrefix(after, prefix) <= countPrefix(before, prefix) {
		return "", false
	}
	// Newest first: the first match is the newest.
	i := slices.IndexFunc(after, func(x sfntypes.ExecutionListItem) bool { return strings.HasPrefix(aws.ToString(x.Name), prefix) })
	return aws.ToString(after[i].ExecutionArn), true
}

// awaitNewest waits, up to timeout, for one more execution whose name has
// prefix than before holds, and returns the newest of them (a success also
// starts the promotion to the next environment, which does not match).
func awaitNewest(ctx context.Context, t *testing.T, r *endpoint.Running, c *sfn.Client,
	before []sfntypes.ExecutionListItem, prefix string, timeout time.Duration) sfntypes.ExecutionListItem {
	t.Helper()
	if err := r.WaitExecutions(ctx, func(name string) bool { return strings.HasPrefix(name, prefix) },
		countPrefix(before, prefix)+1, timeout); err != nil {
		t.Fatal(err)
	}
	after := listExecutions(ctx, t, c, r)
	// Newest first: the first match is the execution awaited.
	i := slices.IndexFunc(after, func(x sfntypes.ExecutionListItem) bool { return strings.HasPrefix(aws.ToString(x.Name), prefix) })
	return after[i]
}

// uploadAndAwait uploads the spec file key as a user would and returns,
// with an SFN client, the execution whose name has prefix that the upload
// starts, once it has started (up to timeout) and listed as it was then.
func uploadAndAwait(t *testing.T, r *endpoint.Running, key, doc, prefix string, timeout time.Duration) (sfntypes.ExecutionListItem, *sfn.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := sfn.NewFromConfig(r.AWS)
	before := listExecutions(ctx, t, c, r)
	if _, err := s3.NewFromConfig(r.AWS).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(r.Deployed.SpecBucket),
		Key: aws.String(key), Body: strings.NewReader(doc)}); err != nil {
		t.Fatal(err)
	}
	return awaitNewest(ctx, t, r, c, before, prefix, timeout), c
}

// stagingTasks returns the tasks of service in staging, RUNNING or not; it
// fails the test if the service has none.
func stagingTasks(t *testing.T, r *endpoint.Running, service string) []ecstypes.Task {
	t.Helper()
	ctx := context.Background()
	c := ecs.NewFromConfig(r.AWS)
	list, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("staging"), ServiceName: aws.String(service)})
	if err != nil || len(list.TaskArns) == 0 {
		t.Fatalf("ListTasks %s: %v %v", service, list, err)
	}
	out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("staging"), Tasks: list.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	return out.Tasks
}

// holdClock holds clk: simulated time stands still until release, which
// does nothing after its first call.
func holdClock(clk *clock.Virtual) (release func()) {
	clk.Busy()
	held := true
	return func() {
		if held {
			held = false
			clk.Done()
		}
	}
}

// injectFault makes the tasks of the image digest behave as b.
func injectFault(t *testing.T, r *endpoint.Running, digest string, b faults.Behaviour) {
	t.Helper()
	control := endpoint.Control{URL: r.URL}
	if _, err := control.Apply(context.Background(), faults.State{Images: map[string]faults.Behaviour{digest: b}}); err != nil {
		t.Fatalf("inject fault: %v", err)
	}
}

// faultOnPush is an afterPush for deploy that makes the pushed image behave
// as b.
func faultOnPush(t *testing.T, r *endpoint.Running, b faults.Behaviour) func(digest string) {
	return func(digest string) {
		t.Helper()
		injectFault(t, r, digest, b)
	}
}

// faultyWebRollsBack deploys web:v3 with half its requests failing: the
// deployment rolls back on its alarm after the first bake, and the traffic
// is all on green (the v2 deployed before) again.
func faultyWebRollsBack(t *testing.T, r *endpoint.Running) {
	t.Helper()
	status, path, _ := deploy(t, r, "web", "v3", faultOnPush(t, r, faults.Behaviour{ErrorRate: 0.5}))
	if status != sfntypes.ExecutionStatusFailed {
		t.Errorf("got status %s, want FAILED", status)
	}
	want := []string{"Apply", "ShiftTraffic", "Bake", "Rollback", "RolledBack"}
	if diff := cmp.Diff(want, path); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	if got, want := weights(t, r), [2]int32{0, 100}; got != want {
		t.Errorf("got weights blue/green %v after the rollback, want %v (all on v2)", got, want)
	}
}

// pollEvery calls sample in its own goroutine, then again every interval,
// until stop; stop returns once the sample in progress has ended.
func pollEvery(interval time.Duration, sample func()) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			sample()
			select {
			case <-quit:
				return
			case <-time.After(interval):
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// stepped is the endpoint on a virtual clock the test can stop: while the
// test holds the clock, simulated time stands still, so it can act on the
// world at a chosen state of a deployment (a bake) before the deployment
// moves on.
type stepped struct {
	t     *testing.T
	r     *endpoint.Running
	clock *clock.Virtual
	held  bool // the test holds the clock
	ecs   *ecs.Client
	sfn   *sfn.Client
}

// startStepped runs the endpoint on a virtual clock the test can stop.
func startStepped(t *testing.T) *stepped {
	t.Helper()
	return startSteppedWith(t, endpoint.Config{})
}

// startSteppedWith is startStepped with the configuration cfg (its Clock
// is set here).
func startSteppedWith(t *testing.T, cfg endpoint.Config) *stepped {
	t.Helper()
	v := clock.NewVirtual(time.Now())
	cfg.Clock = v
	// The seeding waits in wall time: allow for a loaded machine.
	r := startWith(t, endpoint.Options{Config: cfg, SettleTimeout: 8 * time.Minute})
	return &stepped{t: t, r: r, clock: v, ecs: ecs.NewFromConfig(r.AWS), sfn: sfn.NewFromConfig(r.AWS)}
}

// hold stops simulated time until release; a test that fails while
// holding it releases it when it ends, so the next test is not stuck.
func (s *stepped) hold() {
	if !s.held {
		s.held = true
		s.clock.Busy()
		s.t.Cleanup(s.release)
	}
}

// release lets simulated time pass again, if the test holds the clock.
func (s *stepped) release() {
	if s.held {
		s.held = false
		s.clock.Done()
	}
}

// sleep lets d of simulated time pass while the test holds the clock.
func (s *stepped) sleep(d time.Duration) {
	s.t.Helper()
	if err := s.clock.Sleep(context.Background(), d); err != nil {
		s.t.Fatal(err)
	}
}

// executions lists the executions of Slipway's state machine, newest first.
func (s *stepped) executions() []sfntypes.ExecutionListItem {
	s.t.Helper()
	return listExecutions(context.Background(), s.t, s.sfn, s.r)
}

// push pushes repo:tag while the test holds the clock: the push runs in
// its own goroutine and the clock moves a second at a time until it is
// done. afterPush, if not nil, runs with the digest once it is.
func (s *stepped) push(repo, tag string, afterPush func(digest string)) string {
	t := s.t
	t.Helper()
	type pushed struct {
		digest string
		err    error
	}
	done := make(chan pushed, 1)
	go func() {
		d, err := stack.PushImage(context.Background(), s.r.AWS, repo, tag)
		done <- pushed{d, err}
	}()
	for {
		select {
		case p := <-done:
			if p.err != nil {
				t.Fatalf("push %s:%s: %v", repo, tag, p.err)
			}
			if afterPush != nil {
				afterPush(p.digest)
			}
			return p.digest
		default:
		}
		s.sleep(time.Second)
	}
}

// finish releases the clock and waits for the execution to end.
func (s *stepped) finish(arn string) (sfntypes.ExecutionStatus, []string) {
	t := s.t
	t.Helper()
	s.release()
	ctx := context.Background()
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out, err := s.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != sfntypes.ExecutionStatusRunning {
			return out.Status, pathOf(t, s.sfn, arn)
		}
	}
	t.Fatalf("execution %s did not end", arn)
	return "", nil
}

// rollbackCause returns the failure the execution arn rolled back for
// ($.error as its Rollback state was entered), or nil.
func (s *stepped) rollbackCause(arn string) *workflow.Failure {
	s.t.Helper()
	in, _ := stateInput(s.t, s.sfn, arn, workflow.StateRollback)
	return in.Error
}

// serviceIn describes the ECS service name in cluster.
func (s *stepped) serviceIn(cluster, name string) ecstypes.Service {
	s.t.Helper()
	out, err := s.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		s.t.Fatalf("DescribeServices %s: %v %+v", name, err, out)
	}
	return out.Services[0]
}
