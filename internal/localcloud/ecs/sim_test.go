package ecs_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/ecs"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

// invariant records violations of a rule checked on every change.
type invariant struct {
	mu  sync.Mutex
	bad []string
}

func (i *invariant) failf(format string, args ...any) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.bad) < 5 {
		i.bad = append(i.bad, fmt.Sprintf(format, args...))
	}
}

func (i *invariant) report(t *testing.T) {
	t.Helper()
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, b := range i.bad {
		t.Error(b)
	}
}

func createWeb(t *testing.T, w *world, td string, desired, minPct, maxPct int32, breaker, rollback bool) {
	t.Helper()
	_, err := w.api.CreateService(context.Background(), &sdk.CreateServiceInput{
		Cluster: aws.String("staging"), ServiceName: aws.String("web"), TaskDefinition: &td,
		DesiredCount: aws.Int32(desired), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: network(),
		LoadBalancers:                 []types.LoadBalancer{{TargetGroupArn: aws.String(tgBlue), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}},
		ServiceRegistries:             []types.ServiceRegistry{{RegistryArn: aws.String(registry)}},
		HealthCheckGracePeriodSeconds: aws.Int32(30),
		DeploymentConfiguration: &types.DeploymentConfiguration{
			MinimumHealthyPercent: aws.Int32(minPct), MaximumPercent: aws.Int32(maxPct),
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: breaker, Rollback: rollback},
		},
	})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
}

func TestRollingUpdateRespectsMinAndMaxPercent(t *testing.T) {
	tests := map[string]struct{ desired, minPct, maxPct int32 }{
		"min 100 max 200": {4, 100, 200},
		"min 50 max 100":  {4, 50, 100},
		"min 50 max 150":  {3, 50, 150},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.cluster("staging")
			v1 := w.webTaskDef(ecrURI + "web@sha256:aaa")
			createWeb(t, w, v1, tc.desired, tc.minPct, tc.maxPct, true, false)
			w.settle()
			first := w.service("staging", "web")
			if len(first.Deployments) != 1 || first.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
				t.Fatalf("got deployments %+v, want one COMPLETED", first.Deployments)
			}
			if got := w.elb.count(tgBlue, "healthy"); got != int(tc.desired) {
				t.Fatalf("got %d healthy targets, want %d", got, tc.desired)
			}

			// From now on, check the bounds on every change.
			var inv invariant
			maxTotal := int(math.Floor(float64(tc.desired*tc.maxPct) / 100))
			minHealthy := int(math.Ceil(float64(tc.desired*tc.minPct) / 100))
			w.elb.check = func(groups map[string]map[string]string) {
				healthy := 0
				for _, s := range groups[tgBlue] {
					if s == "healthy" {
						healthy++
					}
				}
				if healthy < minHealthy {
					inv.failf("got %d healthy targets, want at least %d", healthy, minHealthy)
				}
			}
			live := map[string]bool{}
			var liveMu sync.Mutex
			w.events.onTask = func(d map[string]any) {
				liveMu.Lock()
				defer liveMu.Unlock()
				arn := d["taskArn"].(string)
				live[arn] = d["desiredStatus"] == "RUNNING" && d["lastStatus"] != "STOPPED"
				n := 0
				for _, up := range live {
					if up {
						n++
					}
				}
				if n > maxTotal {
					inv.failf("got %d tasks running or pending, want at most %d", n, maxTotal)
				}
			}
			for _, tk := range w.tasks("staging", "web", types.DesiredStatusRunning) {
				live[aws.ToString(tk.TaskArn)] = true
			}

			v2 := w.webTaskDef(ecrURI + "web@sha256:bbb")
			if _, err := w.api.UpdateService(context.Background(), &sdk.UpdateServiceInput{
				Cluster: aws.String("staging"), Service: aws.String("web"), TaskDefinition: &v2,
			}); err != nil {
				t.Fatal(err)
			}
			w.settle()
			inv.report(t)

			s := w.service("staging", "web")
			if len(s.Deployments) != 1 {
				t.Fatalf("got %d deployments, want 1 (the old one drained)", len(s.Deployments))
			}
			d := s.Deployments[0]
			got := []any{aws.ToString(d.TaskDefinition), d.RolloutState, d.RunningCount, s.RunningCount, s.PendingCount}
			want := []any{v2, types.DeploymentRolloutStateCompleted, tc.desired, tc.desired, int32(0)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("service after the update (-want +got):\n%s", diff)
			}
			if got := aws.ToString(d.RolloutStateReason); got != "ECS deployment "+aws.ToString(d.Id)+" completed." {
				t.Errorf("got rollout reason %q", got)
			}
			if got, want := aws.ToString(s.Events[0].Message), "(service web) has reached a steady state."; got != want {
				t.Errorf("got newest event %q, want %q", got, want)
			}
			for _, tk := range w.tasks("staging", "web", types.DesiredStatusRunning) {
				if aws.ToString(tk.TaskDefinitionArn) != v2 || aws.ToString(tk.LastStatus) != "RUNNING" {
					t.Errorf("got task %s %s, want %s RUNNING", aws.ToString(tk.TaskDefinitionArn), aws.ToString(tk.LastStatus), v2)
				}
			}
			if got := w.elb.count(tgBlue, "healthy"); got != int(tc.desired) {
				t.Errorf("got %d healthy targets, want %d", got, tc.desired)
			}
			if got := len(w.names.instances[registryID]); got != int(tc.desired) {
				t.Errorf("got %d Cloud Map instances, want %d", got, tc.desired)
			}
			wantEvents := []string{
				"SERVICE_DEPLOYMENT_IN_PROGRESS " + aws.ToString(first.Deployments[0].Id),
				"SERVICE_DEPLOYMENT_COMPLETED " + aws.ToString(first.Deployments[0].Id),
				"SERVICE_DEPLOYMENT_IN_PROGRESS " + aws.ToString(d.Id),
				"SERVICE_DEPLOYMENT_COMPLETED " + aws.ToString(d.Id),
			}
			if diff := cmp.Diff(wantEvents, w.events.deployments()); diff != "" {
				t.Errorf("deployment events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTaskLifecycleOnTheClock(t *testing.T) {
	w := newWorld(t)
	w.cluster("staging")
	v1 := w.webTaskDef(ecrURI + "web@sha256:aaa")
	var mu sync.Mutex
	seen := map[string][]string{} // task ARN → its states
	w.events.onTask = func(d map[string]any) {
		mu.Lock()
		defer mu.Unlock()
		arn := fmt.Sprint(d["taskArn"])
		seen[arn] = append(seen[arn], fmt.Sprint(d["lastStatus"]))
	}
	createWeb(t, w, v1, 1, 100, 200, false, false)
	if got := w.tasks("staging", "web", types.DesiredStatusRunning); len(got) != 1 || aws.ToString(got[0].LastStatus) != "PROVISIONING" {
		t.Fatalf("right after create got %+v, want one PROVISIONING task", got)
	}
	w.advance(2 * time.Second)
	if got := w.tasks("staging", "web", types.DesiredStatusRunning); aws.ToString(got[0].LastStatus) != "PENDING" {
		t.Fatalf("after 2s got %s, want PENDING", aws.ToString(got[0].LastStatus))
	}
	w.settle()
	tk := w.tasks("staging", "web", types.DesiredStatusRunning)[0]
	if _, err := w.api.StopTask(context.Background(), &sdk.StopTaskInput{Cluster: aws.String("staging"), Task: tk.TaskArn, Reason: aws.String("test")}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	stopped := w.tasks("staging", "web", types.DesiredStatusStopped)
	if len(stopped) != 1 || aws.ToString(stopped[0].LastStatus) != "STOPPED" || aws.ToString(stopped[0].StoppedReason) != "test" || stopped[0].StopCode != types.TaskStopCodeUserInitiated {
		t.Fatalf("got stopped tasks %+v, want the stopped one with reason test", stopped)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"PROVISIONING", "PENDING", "RUNNING", "DEACTIVATING", "STOPPING", "STOPPED"}
	if diff := cmp.Diff(want, seen[aws.ToString(tk.TaskArn)]); diff != "" {
		t.Errorf("task state changes of the first task (-want +got):\n%s", diff)
	}
	// The scheduler replaced the stopped task.
	if got := w.service("staging", "web").RunningCount; got != 1 {
		t.Errorf("got running count %d, want 1", got)
	}
}

func TestCircuitBreaker(t *testing.T) {
	tests := map[string]struct {
		rollback  bool
		fault     faults.Behaviour
		wantState types.DeploymentRolloutState // of the faulty deployment
		reason    string                       // stopped reason of its tasks
	}{
		"crash, no rollback": {
			fault: faults.Behaviour{CrashOnStart: true}, wantState: types.DeploymentRolloutStateFailed,
			reason: "Essential container in task exited",
		},
		"crash, rollback": {
			rollback: true, fault: faults.Behaviour{CrashOnStart: true},
			reason: "Essential container in task exited",
		},
		"failing health checks, no rollback": {
			fault: faults.Behaviour{FailHealthChecks: true}, wantState: types.DeploymentRolloutStateFailed,
			reason: "Task failed ELB health checks in (target-group " + tgBlue + ")",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.cluster("staging")
			v1 := w.webTaskDef(ecrURI + "web@sha256:good")
			createWeb(t, w, v1, 2, 100, 200, true, tc.rollback)
			w.settle()
			good := aws.ToString(w.service("staging", "web").Deployments[0].Id)

			w.faults.SetImage("sha256:bad", tc.fault)
			v2 := w.webTaskDef(ecrURI + "repo/web@sha256:bad")
			out, err := w.api.UpdateService(context.Background(), &sdk.UpdateServiceInput{
				Cluster: aws.String("staging"), Service: aws.String("web"), TaskDefinition: &v2,
			})
			if err != nil {
				t.Fatal(err)
			}
			bad := aws.ToString(out.Service.Deployments[0].Id)
			w.settle()

			s := w.service("staging", "web")
			var stopped int
			for _, tk := range w.tasks("staging", "web", types.DesiredStatusStopped) {
				if aws.ToString(tk.TaskDefinitionArn) == v2 {
					stopped++
					if got := aws.ToString(tk.StoppedReason); got != tc.reason {
						t.Errorf("got stopped reason %q, want %q", got, tc.reason)
					}
				}
			}
			if stopped < 3 {
				t.Errorf("got %d stopped tasks of the bad revision, want at least 3 (the threshold)", stopped)
			}
			if tc.rollback {
				p := s.Deployments[0]
				if len(s.Deployments) != 1 || aws.ToString(p.TaskDefinition) != v1 || p.RolloutState != types.DeploymentRolloutStateCompleted {
					t.Fatalf("got deployments %+v, want one COMPLETED on %s", s.Deployments, v1)
				}
				if got, want := aws.ToString(p.RolloutStateReason), "ECS deployment "+aws.ToString(p.Id)+" completed."; got != want {
					t.Errorf("got reason %q, want %q", got, want)
				}
				if aws.ToString(s.TaskDefinition) != v1 {
					t.Errorf("got service task definition %s, want %s", aws.ToString(s.TaskDefinition), v1)
				}
				want := []string{
					"SERVICE_DEPLOYMENT_IN_PROGRESS " + good, "SERVICE_DEPLOYMENT_COMPLETED " + good,
					"SERVICE_DEPLOYMENT_IN_PROGRESS " + bad, "SERVICE_DEPLOYMENT_FAILED " + bad,
					"SERVICE_DEPLOYMENT_IN_PROGRESS " + aws.ToString(p.Id), "SERVICE_DEPLOYMENT_COMPLETED " + aws.ToString(p.Id),
				}
				if diff := cmp.Diff(want, w.events.deployments()); diff != "" {
					t.Errorf("deployment events (-want +got):\n%s", diff)
				}
				msgs := eventMessages(s)
				if !strings.Contains(msgs, "(service web) rolling back to deployment "+good+".") {
					t.Errorf("service events lack the rollback:\n%s", msgs)
				}
				return
			}
			p := s.Deployments[0]
			got := []any{aws.ToString(p.Id), p.RolloutState, aws.ToString(p.RolloutStateReason), p.FailedTasks >= 3, len(s.Deployments)}
			want := []any{bad, tc.wantState, "ECS deployment circuit breaker: tasks failed to start.", true, 2}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("primary deployment (-want +got):\n%s", diff)
			}
			// The old revision keeps serving.
			if got := s.Deployments[1].RunningCount; got != 2 {
				t.Errorf("got %d tasks of the old deployment running, want 2", got)
			}
			wantEvents := []string{
				"SERVICE_DEPLOYMENT_IN_PROGRESS " + good, "SERVICE_DEPLOYMENT_COMPLETED " + good,
				"SERVICE_DEPLOYMENT_IN_PROGRESS " + bad, "SERVICE_DEPLOYMENT_FAILED " + bad,
			}
			if diff := cmp.Diff(wantEvents, w.events.deployments()); diff != "" {
				t.Errorf("deployment events (-want +got):\n%s", diff)
			}
		})
	}
}

func eventMessages(s types.Service) string {
	var b strings.Builder
	for _, e := range s.Events {
		b.WriteString(aws.ToString(e.Message) + "\n")
	}
	return b.String()
}

func TestFailureThresholdFollowsDesiredCount(t *testing.T) {
	// 10 desired → threshold 5: the deployment must see 5 failures.
	w := newWorld(t)
	w.cluster("staging")
	w.faults.SetImage("sha256:bad", faults.Behaviour{CrashOnStart: true})
	v1 := w.webTaskDef(ecrURI + "web@sha256:bad")
	createWeb(t, w, v1, 10, 100, 200, true, false)
	w.settle()
	p := w.service("staging", "web").Deployments[0]
	if p.RolloutState != types.DeploymentRolloutStateFailed || p.FailedTasks < 5 {
		t.Errorf("got %s with %d failed tasks, want FAILED after at least 5", p.RolloutState, p.FailedTasks)
	}
}

func TestHealthCheckFaultMarksTargetsUnhealthy(t *testing.T) {
	w := newWorld(t)
	w.cluster("staging")
	w.faults.SetImage("sha256:sick", faults.Behaviour{FailHealthChecks: true})
	v1 := w.webTaskDef(ecrURI + "web@sha256:sick")
	createWeb(t, w, v1, 1, 100, 200, true, false)
	// Running after 5s, unhealthy after the health check at 15s, still
	// inside the 30s grace period.
	w.advance(20 * time.Second)
	if got := w.elb.count(tgBlue, "unhealthy"); got != 1 {
		t.Fatalf("got %d unhealthy targets, want 1", got)
	}
	if got := w.tasks("staging", "web", types.DesiredStatusRunning); len(got) != 1 || aws.ToString(got[0].LastStatus) != "RUNNING" {
		t.Fatalf("got %+v, want the task still running inside the grace period", got)
	}
	w.settle()
	w.elb.mu.Lock()
	calls := strings.Join(w.elb.calls, "\n")
	w.elb.mu.Unlock()
	for _, want := range []string{"initial", "unhealthy", "draining", "deregister"} {
		if !strings.Contains(calls, want) {
			t.Errorf("target calls lack %q:\n%s", want, calls)
		}
	}
	s := w.service("staging", "web")
	if !strings.Contains(eventMessages(s), "failed ELB health checks in (target-group "+tgBlue+")") {
		t.Errorf("service events lack the health check failure:\n%s", eventMessages(s))
	}
	if s.Deployments[0].RolloutState != types.DeploymentRolloutStateFailed {
		t.Errorf("got %s, want FAILED", s.Deployments[0].RolloutState)
	}
}

func TestDaemonOnThreeInstances(t *testing.T) {
	w := newWorld(t)
	w.cluster("prod")
	for range 3 {
		if _, err := w.svc.AddContainerInstance("prod", 2048, 4096); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	agent := func(image string) string {
		out, err := w.api.RegisterTaskDefinition(ctx, &sdk.RegisterTaskDefinitionInput{
			Family: aws.String("agent"), NetworkMode: types.NetworkModeHost,
			RequiresCompatibilities: []types.Compatibility{types.CompatibilityEc2},
			ContainerDefinitions: []types.ContainerDefinition{{
				Name: aws.String("agent"), Image: aws.String(image), Cpu: 128, Memory: aws.Int32(256), MemoryReservation: aws.Int32(128),
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(9100)}},
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	v1 := agent(ecrURI + "agent@sha256:one")
	if _, err := w.api.CreateService(ctx, &sdk.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("agent"), TaskDefinition: &v1,
		SchedulingStrategy: types.SchedulingStrategyDaemon, LaunchType: types.LaunchTypeEc2,
		DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(100)},
	}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	perInstance := func() map[string]string {
		got := map[string]string{}
		for _, tk := range w.tasks("prod", "agent", types.DesiredStatusRunning) {
			if _, dup := got[aws.ToString(tk.ContainerInstanceArn)]; dup {
				t.Errorf("two tasks on %s", aws.ToString(tk.ContainerInstanceArn))
			}
			got[aws.ToString(tk.ContainerInstanceArn)] = aws.ToString(tk.TaskDefinitionArn)
		}
		return got
	}
	if got := perInstance(); len(got) != 3 {
		t.Fatalf("got tasks on %d instances, want 3", len(got))
	}
	s := w.service("prod", "agent")
	if s.DesiredCount != 3 || s.RunningCount != 3 || s.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
		t.Fatalf("got desired %d running %d %s, want 3 3 COMPLETED", s.DesiredCount, s.RunningCount, s.Deployments[0].RolloutState)
	}

	// Roll: at least ceil(3 × 50%) = 2 tasks keep running throughout.
	var inv invariant
	running := map[string]bool{}
	for _, tk := range w.tasks("prod", "agent", types.DesiredStatusRunning) {
		running[aws.ToString(tk.TaskArn)] = true
	}
	var mu sync.Mutex
	w.events.onTask = func(d map[string]any) {
		mu.Lock()
		defer mu.Unlock()
		running[d["taskArn"].(string)] = d["lastStatus"] == "RUNNING" && d["desiredStatus"] == "RUNNING"
		n := 0
		for _, up := range running {
			if up {
				n++
			}
		}
		if n < 2 {
			inv.failf("got %d running agent tasks, want at least 2 (%v %v %v)", n, d["taskArn"], d["lastStatus"], d["desiredStatus"])
		}
	}
	v2 := agent(ecrURI + "agent@sha256:two")
	if _, err := w.api.UpdateService(ctx, &sdk.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("agent"), TaskDefinition: &v2}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	inv.report(t)
	for inst, td := range perInstance() {
		if td != v2 {
			t.Errorf("instance %s runs %s, want %s", inst, td, v2)
		}
	}
	w.events.onTask = nil

	// A fourth instance gets its task.
	if _, err := w.svc.AddContainerInstance("prod", 2048, 4096); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if got := perInstance(); len(got) != 4 {
		t.Errorf("got tasks on %d instances, want 4", len(got))
	}
	if got := w.service("prod", "agent").DesiredCount; got != 4 {
		t.Errorf("got desired count %d, want 4", got)
	}
}

func TestEC2WithoutCapacity(t *testing.T) {
	w := newWorld(t)
	w.cluster("prod")
	ctx := context.Background()
	out, err := w.api.RegisterTaskDefinition(ctx, &sdk.RegisterTaskDefinitionInput{
		Family: aws.String("big"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("big"), Image: aws.String("big:1"), Cpu: 4096, Memory: aws.Int32(512),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.api.CreateService(ctx, &sdk.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("big"), TaskDefinition: out.TaskDefinition.TaskDefinitionArn,
		DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeEc2,
	}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	msgs := eventMessages(w.service("prod", "big"))
	if !strings.Contains(msgs, "No Container Instances were found in your cluster.") {
		t.Errorf("got events:\n%s\nwant one saying no container instance exists", msgs)
	}
	if _, err := w.svc.AddContainerInstance("prod", 2048, 4096); err != nil {
		t.Fatal(err)
	}
	w.settle()
	msgs = eventMessages(w.service("prod", "big"))
	if !strings.Contains(msgs, "has insufficient CPU units available.") {
		t.Errorf("got events:\n%s\nwant one saying the instance lacks CPU", msgs)
	}
	if _, err := w.svc.AddContainerInstance("prod", 8192, 16384); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if s := w.service("prod", "big"); s.RunningCount != 1 {
		t.Errorf("got running count %d, want 1 on the big instance", s.RunningCount)
	}
}

// TestDaemonOnOneInstanceProgresses: ceil(1 × 50%) leaves no task to stop,
// yet the deployment must replace the only one.
func TestDaemonOnOneInstanceProgresses(t *testing.T) {
	w := newWorld(t)
	w.cluster("prod")
	if _, err := w.svc.AddContainerInstance("prod", 1024, 1024); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	register := func(image string) string {
		out, err := w.api.RegisterTaskDefinition(ctx, &sdk.RegisterTaskDefinitionInput{
			Family: aws.String("agent"), NetworkMode: types.NetworkModeHost,
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("agent"), Image: aws.String(image), Memory: aws.Int32(256)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	v1 := register("agent:1")
	if _, err := w.api.CreateService(ctx, &sdk.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("agent"), TaskDefinition: &v1,
		SchedulingStrategy:      types.SchedulingStrategyDaemon,
		DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(100)},
	}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	v2 := register("agent:2")
	if _, err := w.api.UpdateService(ctx, &sdk.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("agent"), TaskDefinition: &v2}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	s := w.service("prod", "agent")
	if len(s.Deployments) != 1 || aws.ToString(s.Deployments[0].TaskDefinition) != v2 || s.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted || s.RunningCount != 1 {
		t.Errorf("got deployments %+v running %d, want %s COMPLETED running 1", s.Deployments, s.RunningCount, v2)
	}
}

func TestDrainingInstance(t *testing.T) {
	w := newWorld(t)
	w.cluster("prod")
	var arns []string
	for range 2 {
		arn, err := w.svc.AddContainerInstance("prod", 2048, 4096)
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, arn)
	}
	ctx := context.Background()
	out, err := w.api.RegisterTaskDefinition(ctx, &sdk.RegisterTaskDefinitionInput{
		Family: aws.String("api"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("api"), Image: aws.String("api:1"), Memory: aws.Int32(256),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80)}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.api.CreateService(ctx, &sdk.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("api"), TaskDefinition: out.TaskDefinition.TaskDefinitionArn,
		DesiredCount: aws.Int32(4), LaunchType: types.LaunchTypeEc2,
		DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(100)},
	}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	on := func() map[string]int {
		got := map[string]int{}
		for _, tk := range w.tasks("prod", "api", types.DesiredStatusRunning) {
			got[aws.ToString(tk.ContainerInstanceArn)]++
			if len(tk.Containers[0].NetworkBindings) != 1 || aws.ToInt32(tk.Containers[0].NetworkBindings[0].HostPort) < 32768 {
				t.Errorf("got bindings %+v, want one dynamic host port", tk.Containers[0].NetworkBindings)
			}
		}
		return got
	}
	if diff := cmp.Diff(map[string]int{arns[0]: 2, arns[1]: 2}, on()); diff != "" {
		t.Fatalf("tasks per instance, spread (-want +got):\n%s", diff)
	}
	if _, err := w.api.UpdateContainerInstancesState(ctx, &sdk.UpdateContainerInstancesStateInput{
		Cluster: aws.String("prod"), ContainerInstances: arns[:1], Status: types.ContainerInstanceStatusDraining,
	}); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if diff := cmp.Diff(map[string]int{arns[1]: 4}, on()); diff != "" {
		t.Errorf("tasks per instance after draining (-want +got):\n%s", diff)
	}
	_, err = w.api.DeregisterContainerInstance(ctx, &sdk.DeregisterContainerInstanceInput{Cluster: aws.String("prod"), ContainerInstance: &arns[1]})
	if got := prototest.ErrorCode(err); got != "InvalidParameterException" {
		t.Errorf("deregister an instance with tasks: got %q, want InvalidParameterException", got)
	}
	if _, err := w.api.DeregisterContainerInstance(ctx, &sdk.DeregisterContainerInstanceInput{Cluster: aws.String("prod"), ContainerInstance: &arns[0]}); err != nil {
		t.Fatal(err)
	}
	list, err := w.api.ListContainerInstances(ctx, &sdk.ListContainerInstancesInput{Cluster: aws.String("prod")})
	if err != nil || !slices.Equal(list.ContainerInstanceArns, arns[1:]) {
		t.Errorf("got instances %v (%v), want only %s", list.ContainerInstanceArns, err, arns[1])
	}
}

// TestScaledClock runs a deployment on a clock 600 times faster than wall
// time, as `slipway local --speed 600` would.
func TestScaledClock(t *testing.T) {
	svc := ecs.New(ecs.Config{Clock: clock.Scaled(600)})
	defer svc.Close()
	api := newClient(t, svc)
	ctx := context.Background()
	if _, err := api.CreateCluster(ctx, &sdk.CreateClusterInput{ClusterName: aws.String("staging")}); err != nil {
		t.Fatal(err)
	}
	td, err := api.RegisterTaskDefinition(ctx, &sdk.RegisterTaskDefinitionInput{Family: aws.String("w"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("w"), Image: aws.String("w:1")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.CreateService(ctx, &sdk.CreateServiceInput{Cluster: aws.String("staging"), ServiceName: aws.String("w"),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(2), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: network()}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := api.DescribeServices(ctx, &sdk.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"w"}})
		if err != nil {
			t.Fatal(err)
		}
		if s := out.Services[0]; s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted && s.RunningCount == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not steady after 5s of wall time (50 simulated minutes): %+v", out.Services[0].Deployments)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
