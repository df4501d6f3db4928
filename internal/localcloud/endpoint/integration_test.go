package endpoint_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/synth"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// examples is the spec root the world is seeded from.
const examples = "../../../examples"

// start runs the endpoint with Slipway's stack and the example world on a
// virtual clock, and stops it when the test ends.
func start(t testing.TB) *endpoint.Running {
	t.Helper()
	return startWith(t, endpoint.Options{Config: endpoint.Config{Clock: clock.NewVirtual(time.Now())}})
}

// milestones are the states of a deployment's path that tell its story;
// the choice and bookkeeping states between them are left out.
var milestones = []string{
	workflow.StateApply, workflow.StateShiftTraffic, workflow.StateBake, workflow.StatePromote,
	workflow.StateDeployed, workflow.StateRollback, workflow.StateRolledBack, workflow.StateRejected,
	workflow.StateAwaitApproval, workflow.StateRollbackFailed, workflow.StateFailed,
}

// deploy pushes repo:tag and returns the deployment it starts in staging,
// once ended: its status and the milestones of its path, read from
// GetExecutionHistory.
func deploy(t *testing.T, r *endpoint.Running, repo, tag string, afterPush func(digest string)) (sfntypes.ExecutionStatus, []string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := sfn.NewFromConfig(r.AWS)
	before := listExecutions(ctx, t, c, r)
	digest, err := stack.PushImage(ctx, r.AWS, repo, tag)
	if err != nil {
		t.Fatal(err)
	}
	if afterPush != nil {
		afterPush(digest)
	}
	x := awaitNewest(ctx, t, r, c, before, repo+"-staging-", time.Minute)
	return x.Status, pathOf(t, c, aws.ToString(x.ExecutionArn)), digest
}

func countPrefix(execs []sfntypes.ExecutionListItem, prefix string) int {
	n := 0
	for _, x := range execs {
		if strings.HasPrefix(aws.ToString(x.Name), prefix) {
			n++
		}
	}
	return n
}

// weights returns the forward weights of web's staging listener rule,
// blue then green.
func weights(t *testing.T, r *endpoint.Running) [2]int32 {
	t.Helper()
	lb := r.Seeded.Set.Environments["staging"].LoadBalancers["web"]
	out, err := elb.NewFromConfig(r.AWS).DescribeRules(context.Background(), &elb.DescribeRulesInput{RuleArns: []string{lb.ListenerRuleArn}})
	if err != nil {
		t.Fatalf("DescribeRules %s: %v", lb.ListenerRuleArn, err)
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

// TestDemoScenarios plays the five scenarios of `slipway demo` in order on
// one endpoint and asserts each deployment's path.
func TestDemoScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("the scenarios synthesize the stack and run deployments (~20 s); -short skips them")
	}
	r := start(t)
	canary := []string{"Apply", "ShiftTraffic", "Bake", "ShiftTraffic", "Bake", "ShiftTraffic", "Bake", "Promote", "Deployed"}

	t.Run("1 canary of web:v2 succeeds", func(t *testing.T) {
		status, path, _ := deploy(t, r, "web", "v2", nil)
		if status != sfntypes.ExecutionStatusSucceeded {
			t.Errorf("got status %s, want SUCCEEDED", status)
		}
		if diff := cmp.Diff(canary, path); diff != "" {
			t.Errorf("path (-want +got):\n%s", diff)
		}
		// v1 ran in blue; v2 went to green and has all the traffic.
		if got, want := weights(t, r), [2]int32{0, 100}; got != want {
			t.Errorf("got weights blue/green %v, want %v", got, want)
		}
	})

	t.Run("2 faulty web:v3 rolls back on its alarm", func(t *testing.T) {
		faultyWebRollsBack(t, r)
	})

	t.Run("3 an invalid spec is rejected and nothing deploys", func(t *testing.T) {
		ctx := context.Background()
		c := sfn.NewFromConfig(r.AWS)
		before := listExecutions(ctx, t, c, r)
		s3c := s3.NewFromConfig(r.AWS)
		out, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(r.Deployed.SpecBucket), Key: aws.String("services/web.yaml"),
			Body: strings.NewReader("image: {repository: web}\npipeline: [staging]\nstrategy: {kind: canary, steps: [{weight: 150}]}\n")})
		if err != nil {
			t.Fatal(err)
		}
		st := stateStore(r)
		var rej store.Rejection
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			rej, err = st.Rejection(ctx, "services/web.yaml", aws.ToString(out.VersionId))
			if err == nil || !errors.Is(err, store.ErrNotFound) || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Fatalf("read the rejection: %v", err)
		}
		if !slices.ContainsFunc(rej.Problems, func(p string) bool { return strings.Contains(p, "strategy.steps[0].weight") }) {
			t.Errorf("got problems %q, want one about strategy.steps[0].weight", rej.Problems)
		}
		after := listExecutions(ctx, t, c, r)
		if len(after) != len(before) {
			t.Errorf("got %d executions after the rejected upload, want %d", len(after), len(before))
		}
	})

	t.Run("4 worker rolls", func(t *testing.T) {
		status, path, digest := deploy(t, r, "worker", "v2", nil)
		if status != sfntypes.ExecutionStatusSucceeded {
			t.Errorf("got status %s, want SUCCEEDED", status)
		}
		want := []string{"Apply", "ShiftTraffic", "Bake", "Promote", "Deployed"}
		if diff := cmp.Diff(want, path); diff != "" {
			t.Errorf("path (-want +got):\n%s", diff)
		}
		if image := serviceImage(t, r, "worker"); !strings.HasSuffix(image, "@"+digest) {
			t.Errorf("worker runs %s, want the v2 digest %s", image, digest)
		}
	})

	t.Run("5 agent rolls on every instance", func(t *testing.T) {
		status, path, digest := deploy(t, r, "agent", "v2", nil)
		if status != sfntypes.ExecutionStatusSucceeded {
			t.Errorf("got status %s, want SUCCEEDED", status)
		}
		want := []string{"Apply", "ShiftTraffic", "Bake", "Promote", "Deployed"}
		if diff := cmp.Diff(want, path); diff != "" {
			t.Errorf("path (-want +got):\n%s", diff)
		}
		ctx := context.Background()
		c := ecs.NewFromConfig(r.AWS)
		tasks, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("staging"), ServiceName: aws.String("agent")})
		if err != nil {
			t.Fatal(err)
		}
		desc, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("staging"), Tasks: tasks.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		hosts := map[string]bool{}
		for _, task := range desc.Tasks {
			if aws.ToString(task.LastStatus) == "RUNNING" && strings.HasSuffix(aws.ToString(task.Containers[0].Image), "@"+digest) {
				hosts[aws.ToString(task.ContainerInstanceArn)] = true
			}
		}
		if len(hosts) != 3 {
			t.Errorf("agent v2 runs on %d container instances, want all 3", len(hosts))
		}
	})
}

func serviceImage(t *testing.T, r *endpoint.Running, service string) string {
	t.Helper()
	ctx := context.Background()
	c := ecs.NewFromConfig(r.AWS)
	out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{service}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices %s: %v %v", service, out, err)
	}
	td, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: out.Services[0].TaskDefinition})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(td.TaskDefinition.ContainerDefinitions[0].Image)
}

// TestHealthAndRestart checks the health check, then that a restart with a
// state directory brings the deployed stack and world back without seeding.
func TestHealthAndRestart(t *testing.T) {
	skipIfShort(t, "synthesizes the stack")
	ctx := context.Background()
	dir := t.TempDir()
	state := dir + "/state"
	r, err := endpoint.Start(ctx, endpoint.Options{Addr: "127.0.0.1:0", Specs: os.DirFS(examples), StateDir: state,
		WorkDir: dir + "/work", Config: endpoint.Config{Clock: clock.Scaled(60)}})
	if err != nil {
		t.Fatal(err)
	}
	if !(endpoint.Control{URL: r.URL}).Healthy(ctx) {
		t.Error("not healthy after Start")
	}
	if r.Restored {
		t.Error("restored on a first start")
	}
	if err := r.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := endpoint.Start(ctx, endpoint.Options{Addr: "127.0.0.1:0", Specs: os.DirFS(examples), StateDir: state,
		WorkDir: dir + "/work", Config: endpoint.Config{Clock: clock.Scaled(60)}})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Shutdown(ctx)
	if !again.Restored {
		t.Error("not restored from the state directory")
	}
	// The restored world still deploys: functions are registered again.
	status, path, _ := deploy(t, again, "worker", "v2", nil)
	if status != sfntypes.ExecutionStatusSucceeded || !slices.Contains(path, "Deployed") {
		t.Errorf("got %s %v after the restart, want a successful deployment", status, path)
	}
}

// TestBinaryFunctions builds the real functions for this machine and runs
// them behind the Lambda Runtime API: the seed's deployments and a rolling
// deployment go through the same binaries AWS would run.
func TestBinaryFunctions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the four functions; -short skips it")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "bin")
	build := exec.Command("go", "build", "-o", out+"/", "./functions/...")
	build.Dir = "../../.."
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the functions: %v\n%s", err, b)
	}
	functions := filepath.Join(dir, "functions")
	for _, kind := range synth.Kinds() {
		if err := os.MkdirAll(filepath.Join(functions, string(kind)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(out, string(kind)), filepath.Join(functions, string(kind), "bootstrap")); err != nil {
			t.Fatal(err)
		}
	}
	r, err := endpoint.Start(context.Background(), endpoint.Options{Addr: "127.0.0.1:0", Specs: os.DirFS(examples),
		WorkDir: filepath.Join(dir, "work"), Functions: functions, Config: endpoint.Config{Clock: clock.NewVirtual(time.Now())}})
	if err != nil {
		t.Fatalf("start with binary functions: %v", err)
	}
	defer r.Shutdown(context.Background())
	status, path, digest := deploy(t, r, "worker", "v2", nil)
	if status != sfntypes.ExecutionStatusSucceeded || !slices.Contains(path, "Deployed") {
		t.Errorf("got %s %v, want a successful deployment", status, path)
	}
	if image := serviceImage(t, r, "worker"); !strings.HasSuffix(image, "@"+digest) {
		t.Errorf("worker runs %s, want %s", image, digest)
	}
}
