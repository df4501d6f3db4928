package ecs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/ecs"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
)

// timedELB is a fakeELB whose target groups have ALB's default settings:
// a health check every 30 s, healthy after 5, a 300 s deregistration delay.
type timedELB struct{ *fakeELB }

func (timedELB) HealthyAfter(string) time.Duration        { return 150 * time.Second }
func (timedELB) UnhealthyAfter(string) time.Duration      { return 60 * time.Second }
func (timedELB) DeregistrationDelay(string) time.Duration { return 300 * time.Second }

// TestRealisticTimings: with ecs.Realistic a Fargate task provisions for
// 20 s and pulls for 15 s, its target is healthy only after the target
// group's interval × healthy threshold, and a replaced task stays
// DEACTIVATING for the group's deregistration delay, so the deployment
// completes only once it has drained (issue 11, ECS: realistic task start
// time; target registration waits for the health check).
func TestRealisticTimings(t *testing.T) {
	w := newRealisticWorld(t)
	w.cluster("staging")
	v1 := w.webTaskDef(ecrURI + "web@sha256:aaa")
	createWeb(t, w, v1, 1, 100, 200, false, false)

	status := func() string {
		t.Helper()
		ts := w.tasks("staging", "web", types.DesiredStatusRunning)
		if len(ts) != 1 {
			t.Fatalf("got %d running tasks, want 1", len(ts))
		}
		return aws.ToString(ts[0].LastStatus)
	}
	at := func(want string) {
		t.Helper()
		if got := status(); got != want {
			t.Fatalf("at +%s got task %s, want %s", w.clock.Now().Sub(start), got, want)
		}
	}
	w.advance(19 * time.Second)
	at("PROVISIONING")
	w.advance(2 * time.Second) // 21 s
	at("PENDING")
	w.advance(13 * time.Second) // 34 s
	at("PENDING")
	w.advance(2 * time.Second) // 36 s
	at("RUNNING")
	if got := w.elb.count(tgBlue, "initial"); got != 1 {
		t.Fatalf("right after the task runs got %d initial targets, want 1", got)
	}
	w.advance(140 * time.Second) // 176 s: 141 s after registration
	if got := w.elb.count(tgBlue, "healthy"); got != 0 {
		t.Fatalf("141 s after registration got %d healthy targets, want 0 (30 s × 5)", got)
	}
	w.advance(10 * time.Second) // 186 s: 151 s after registration
	if got := w.elb.count(tgBlue, "healthy"); got != 1 {
		t.Fatalf("151 s after registration got %d healthy targets, want 1", got)
	}
	w.settle()

	// A new revision replaces the task: the old one drains for the
	// deregistration delay before it stops, and only then is the
	// deployment complete.
	v2 := w.webTaskDef(ecrURI + "web@sha256:bbb")
	if _, err := w.api.UpdateService(context.Background(), updateInput(v2)); err != nil {
		t.Fatal(err)
	}
	began := w.clock.Now()
	w.advance(35*time.Second + 150*time.Second + 10*time.Second) // the new task is healthy, the old one draining
	old := func() string {
		t.Helper()
		for _, tk := range w.tasks("staging", "web", types.DesiredStatusStopped) {
			if aws.ToString(tk.TaskDefinitionArn) == v1 {
				return aws.ToString(tk.LastStatus)
			}
		}
		return "none stopping"
	}
	if got := old(); got != "DEACTIVATING" {
		t.Fatalf("at +%s of the update got the old task %s, want DEACTIVATING", w.clock.Now().Sub(began), got)
	}
	if got := rollout(w); got != types.DeploymentRolloutStateInProgress {
		t.Fatalf("while the old task drains got rollout %s, want IN_PROGRESS", got)
	}
	w.advance(280 * time.Second)
	if got := old(); got != "DEACTIVATING" {
		t.Fatalf("at +%s of the update got the old task %s, want still DEACTIVATING (300 s delay)", w.clock.Now().Sub(began), got)
	}
	w.settle()
	if got := old(); got != "STOPPED" {
		t.Fatalf("after settling got the old task %s, want STOPPED", got)
	}
	if got := rollout(w); got != types.DeploymentRolloutStateCompleted {
		t.Errorf("after the drain got rollout %s, want COMPLETED", got)
	}
}

// TestRealisticUnhealthyVerdict: with ecs.Realistic a target that fails
// its health checks turns unhealthy after the group's interval × unhealthy
// threshold (30 s × 2), not before.
func TestRealisticUnhealthyVerdict(t *testing.T) {
	w := newRealisticWorld(t)
	w.cluster("staging")
	w.faults.SetImage("sha256:sick", faults.Behaviour{FailHealthChecks: true})
	createWeb(t, w, w.webTaskDef(ecrURI+"web@sha256:sick"), 1, 100, 200, true, false)
	w.advance(90 * time.Second) // RUNNING at 35 s, registered 55 s ago
	if got := w.elb.count(tgBlue, "initial"); got != 1 {
		t.Fatalf("55 s after registration got %d initial targets, want 1", got)
	}
	w.advance(10 * time.Second) // 65 s after registration
	if got := w.elb.count(tgBlue, "initial"); got != 0 {
		t.Errorf("65 s after registration got %d initial targets, want 0 (unhealthy after 30 s × 2)", got)
	}
	w.elb.mu.Lock()
	calls := strings.Join(w.elb.calls, "\n")
	w.elb.mu.Unlock()
	if !strings.Contains(calls, "unhealthy") {
		t.Errorf("target calls lack unhealthy:\n%s", calls)
	}
}

// newRealisticWorld is newWorld with ecs.Realistic timings and target
// groups with ALB's default settings.
func newRealisticWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, clock: clock.NewVirtual(start), elb: newFakeELB(tgBlue),
		names:  &fakeNames{instances: map[string]map[string]map[string]string{registryID: {}}},
		events: &recorder{}, faults: faults.New()}
	w.clock.Busy()
	w.svc = ecs.New(ecs.Config{Clock: w.clock, Timings: ecs.Realistic(), Events: w.events, Faults: w.faults,
		Targets: timedELB{w.elb}, Names: w.names})
	t.Cleanup(w.svc.Close)
	w.api = newClient(t, w.svc)
	return w
}

// rollout returns the rollout state of web's primary deployment.
func rollout(w *world) types.DeploymentRolloutState {
	w.t.Helper()
	for _, d := range w.service("staging", "web").Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return d.RolloutState
		}
	}
	w.t.Fatal("web has no primary deployment")
	return ""
}

var _ ecs.TargetTimings = timedELB{}
