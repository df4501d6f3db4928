package endpoint_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
	"github.com/slipwayhq/slipway/internal/workflow"
)

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

func startStepped(t *testing.T) *stepped {
	t.Helper()
	v := clock.NewVirtual(time.Now())
	r, err := endpoint.Start(context.Background(), endpoint.Options{Addr: "127.0.0.1:0", Specs: os.DirFS(examples),
		WorkDir: t.TempDir(), Config: endpoint.Config{Clock: v}, SettleTimeout: 8 * time.Minute})
	if err != nil {
		t.Fatalf("start the endpoint: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return &stepped{t: t, r: r, clock: v, ecs: ecs.NewFromConfig(r.AWS), sfn: sfn.NewFromConfig(r.AWS)}
}

// pushUntil pushes repo:tag with the clock held, then lets simulated time
// pass a second at a time until the deployment the push started has entered
// state; it returns holding the clock, with the execution's ARN and the
// image digest. afterPush runs once the push is done (to inject a fault).
func (s *stepped) pushUntil(repo, tag, state string, afterPush func(digest string)) (arn, digest string) {
	t := s.t
	t.Helper()
	ctx := context.Background()
	prefix := repo + "-staging-"
	before, err := endpoint.ListExecutions(ctx, s.sfn, s.r.Deployed.StateMachineARN)
	if err != nil {
		t.Fatal(err)
	}
	s.hold()
	type pushed struct {
		digest string
		err    error
	}
	done := make(chan pushed, 1)
	go func() {
		d, err := stack.PushImage(ctx, s.r.AWS, repo, tag)
		done <- pushed{d, err}
	}()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if digest == "" {
			select {
			case p := <-done:
				if p.err != nil {
					t.Fatalf("push %s:%s: %v", repo, tag, p.err)
				}
				digest = p.digest
				if afterPush != nil {
					afterPush(digest)
				}
			default:
			}
		}
		if digest != "" {
			after, err := endpoint.ListExecutions(ctx, s.sfn, s.r.Deployed.StateMachineARN)
			if err != nil {
				t.Fatal(err)
			}
			if countPrefix(after, prefix) > countPrefix(before, prefix) {
				i := slices.IndexFunc(after, func(x sfntypes.ExecutionListItem) bool { return strings.HasPrefix(aws.ToString(x.Name), prefix) })
				arn = aws.ToString(after[i].ExecutionArn)
				if slices.Contains(pathOf(t, s.sfn, arn), state) {
					return arn, digest
				}
			}
		}
		if err := s.clock.Sleep(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("the deployment of %s:%s did not reach %s", repo, tag, state)
	return "", ""
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

func (s *stepped) release() {
	if s.held {
		s.held = false
		s.clock.Done()
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

func (s *stepped) service(name string) ecstypes.Service {
	s.t.Helper()
	out, err := s.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		s.t.Fatalf("DescribeServices %s: %v %+v", name, err, out)
	}
	return out.Services[0]
}

func (s *stepped) update(in *ecs.UpdateServiceInput) {
	s.t.Helper()
	in.Cluster = aws.String("staging")
	if _, err := s.ecs.UpdateService(context.Background(), in); err != nil {
		s.t.Fatalf("UpdateService %s: %v", aws.ToString(in.Service), err)
	}
}

// TestCountsReadWhenUsed: the service is scaled out (as auto scaling or a
// person would, during an incident) while a deployment bakes. Neither the
// deployment nor its rollback brings the count below the live one, though
// Prepare saw fewer tasks (issue 11 item 3).
func TestCountsReadWhenUsed(t *testing.T) {
	if testing.Short() {
		t.Skip("synthesizes the stack and runs deployments; -short skips it")
	}
	s := startStepped(t)
	control := endpoint.Control{URL: s.r.URL}

	// Staging runs web with auto scaling limits 1..2 and a desired count
	// of 1: the scale-outs below go to the maximum, 2.
	t.Run("a successful canary promotes at the live count", func(t *testing.T) {
		s.t = t
		arn, _ := s.pushUntil("web", "v2", workflow.StateBake, nil)
		if got := s.service("web--blue").DesiredCount; got != 1 {
			t.Fatalf("web--blue serves with %d tasks before the scale-out, want staging's 1", got)
		}
		s.update(&ecs.UpdateServiceInput{Service: aws.String("web--blue"), DesiredCount: aws.Int32(2)})
		status, path := s.finish(arn)
		if status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("got status %s (path %v), want SUCCEEDED", status, path)
		}
		if got := s.service("web--green").DesiredCount; got != 2 {
			t.Errorf("web--green has %d tasks after the promotion, want 2 (the live count, not Prepare's 1)", got)
		}
	})

	t.Run("a rollback keeps the scale-out", func(t *testing.T) {
		s.t = t
		// Scaled in before the deployment, so Prepare snapshots 1 task.
		s.update(&ecs.UpdateServiceInput{Service: aws.String("web--green"), DesiredCount: aws.Int32(1)})
		arn, _ := s.pushUntil("web", "v3", workflow.StateBake, func(digest string) {
			if _, err := control.Apply(context.Background(), faults.State{Images: map[string]faults.Behaviour{digest: {ErrorRate: 0.5}}}); err != nil {
				t.Errorf("inject fault: %v", err)
			}
		})
		s.update(&ecs.UpdateServiceInput{Service: aws.String("web--green"), DesiredCount: aws.Int32(2)})
		status, path := s.finish(arn)
		if status != sfntypes.ExecutionStatusFailed || !slices.Contains(path, workflow.StateRolledBack) {
			t.Fatalf("got status %s (path %v), want FAILED through RolledBack", status, path)
		}
		if got := s.service("web--green").DesiredCount; got != 2 {
			t.Errorf("web--green has %d tasks after the rollback, want 2 (the live count; the snapshot had 1)", got)
		}
		if got := s.service("web--blue").DesiredCount; got != 0 {
			t.Errorf("web--blue has %d tasks after the rollback, want 0 (it ran the bad revision)", got)
		}
	})
}

// TestRollbackRestoresServiceSettings: a deployment sets the spec's grace
// period and deployment configuration on a service a person had tuned; its
// rollback puts the person's values back exactly (issue 11 item 10).
func TestRollbackRestoresServiceSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("synthesizes the stack and runs deployments; -short skips it")
	}
	s := startStepped(t)
	control := endpoint.Control{URL: s.r.URL}
	// A first canary puts web:v2 on green; blue, idle now, is the next
	// canary's target. Tune it as a person would.
	arn, _ := s.pushUntil("web", "v2", workflow.StateBake, nil)
	if status, path := s.finish(arn); status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("web:v2: got status %s (path %v), want SUCCEEDED", status, path)
	}
	s.update(&ecs.UpdateServiceInput{Service: aws.String("web--blue"), HealthCheckGracePeriodSeconds: aws.Int32(120),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{MaximumPercent: aws.Int32(150), MinimumHealthyPercent: aws.Int32(50),
			DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: false}}})
	type settings struct {
		Grace  int32
		Config *ecstypes.DeploymentConfiguration
	}
	read := func() settings {
		sv := s.service("web--blue")
		return settings{Grace: aws.ToInt32(sv.HealthCheckGracePeriodSeconds), Config: sv.DeploymentConfiguration}
	}
	opts := cmpopts.IgnoreUnexported(ecstypes.DeploymentConfiguration{}, ecstypes.DeploymentCircuitBreaker{})
	before := read()

	arn, _ = s.pushUntil("web", "v3", workflow.StateBake, func(digest string) {
		if _, err := control.Apply(context.Background(), faults.State{Images: map[string]faults.Behaviour{digest: {ErrorRate: 0.5}}}); err != nil {
			t.Errorf("inject fault: %v", err)
		}
	})
	if cmp.Equal(before, read(), opts) {
		t.Fatalf("web--blue during the bake: got the tuned settings %+v, want the spec's", before)
	}
	status, path := s.finish(arn)
	if status != sfntypes.ExecutionStatusFailed || !slices.Contains(path, workflow.StateRolledBack) {
		t.Fatalf("got status %s (path %v), want FAILED through RolledBack", status, path)
	}
	if diff := cmp.Diff(before, read(), opts); diff != "" {
		t.Errorf("web--blue after the rollback (-before +after):\n%s", diff)
	}
}
