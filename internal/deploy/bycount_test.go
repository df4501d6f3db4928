package deploy

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// scaleStep is one desired count set without a deployment, with how many
// tasks the new slot (worker--green) ran just before it.
type scaleStep struct {
	Service    string
	Count      int32
	NewRunning int32
}

func scaleSteps(w *world) []scaleStep {
	var out []scaleStep
	for _, s := range w.scales {
		out = append(out, scaleStep{Service: s.Service, Count: s.Count, NewRunning: s.Running["worker--green"]})
	}
	return out
}

// scaleInWhenNewTasksRun: the first part of a bake of a canary by count.
// Bake waits (the fakes send no event: a scale-up has none), CheckBake
// finds the new tasks running, scales the old slot in, and BakeDoneYet
// goes back to Bake for the step's bake proper.
func scaleInWhenNewTasksRun() []string {
	return []string{workflow.StateBake, workflow.StateCheckBake, workflow.StateBakeDoneYet}
}

// TestCanaryByCountScalesInOnceNewTasksRun: each step of a canary without
// a load balancer scales the new slot up, waits until its new tasks run,
// and only then scales the old slot in and bakes, so the running tasks
// never drop below the four that ran before (issue 11 item 9). Before,
// the old slot was scaled in at once, while the new tasks provisioned.
func TestCanaryByCountScalesInOnceNewTasksRun(t *testing.T) {
	def := loadDefinition(t)
	sc := strategyCases()["canary by task count"]
	w := newWorld(t)
	sc.before(w)
	image := w.image(sc.service, "v2")
	minRunning := int32(-1)
	x := runDefinition(t, def, w, request(sc, "v2"), func(workflow.Invocation) {
		n := w.services["worker--blue"].running
		if g := w.services["worker--green"]; g != nil {
			n += g.running
		}
		if minRunning < 0 || n < minRunning {
			minRunning = n
		}
	})
	// Steps of 25% (1 task, which Apply's AwaitStable waited for, so
	// the old slot is scaled in at once), 50% and 100%, baking 5, 5 and
	// 10 minutes (one, one and two wakes of the 5-minute interval).
	want := slices.Concat(prepared(), appliedAndStable(),
		trafficSteps(1),
		[]string{workflow.StateShiftTraffic}, scaleInWhenNewTasksRun(), trafficSteps(1)[1:],
		[]string{workflow.StateShiftTraffic}, scaleInWhenNewTasksRun(), trafficSteps(2)[1:],
		promoted())
	if diff := cmp.Diff(want, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	// New up, wait, old in: each scale-in of worker--blue comes after
	// worker--green runs the tasks that replace it.
	wantScales := []scaleStep{
		{Service: "worker--green", Count: 1, NewRunning: 1},
		{Service: "worker--blue", Count: 3, NewRunning: 1},
		{Service: "worker--green", Count: 2, NewRunning: 1},
		{Service: "worker--blue", Count: 2, NewRunning: 2},
		{Service: "worker--green", Count: 4, NewRunning: 2},
		{Service: "worker--blue", Count: 0, NewRunning: 4},
		// Promote (the new slot at full size) and Cleanup.
		{Service: "worker--green", Count: 4, NewRunning: 4},
		{Service: "worker--blue", Count: 0, NewRunning: 4},
	}
	if diff := cmp.Diff(wantScales, scaleSteps(w)); diff != "" {
		t.Errorf("counts set, in order (-want +got):\n%s", diff)
	}
	if minRunning < 4 {
		t.Errorf("got %d tasks running at the least, want at least 4 throughout", minRunning)
	}
	if diff := cmp.Diff(sc.after(w, image), w.view()); diff != "" {
		t.Errorf("live state (-want +got):\n%s", diff)
	}
}

// TestCanaryByCountNewTasksFail: the new tasks of the 50% step fail to
// start (failed tasks at the circuit breaker's threshold) or never start
// (not running by the stabilization timeout). The deployment rolls back
// with the old slot never scaled in below its count of the step before,
// and the rollback waits for the restored old tasks to run before it
// records success (issue 11 item 9).
func TestCanaryByCountNewTasksFail(t *testing.T) {
	def := loadDefinition(t)
	// the wait for the 50% step's new tasks, each wake of which finds
	// them not running; the rollback, restoring worker--blue from 3 to 4
	// tasks: a count, no ECS deployment, yet it waits for them to run.
	notUp := []string{workflow.StateBake, workflow.StateCheckBake, workflow.StateBakeDoneYet}
	tests := map[string]struct {
		// starting changes worker--green as its new tasks of the 50%
		// step start
		starting func(s *fakeService)
		path     []string
		error    string
	}{
		"failed tasks at the circuit breaker's threshold": {
			starting: func(s *fakeService) { s.down, s.failed = 1, failureThreshold(s.desired) },
			path: slices.Concat([]string{workflow.StateShiftTraffic, workflow.StateBake, workflow.StateCheckBake},
				rolledBack(), recorded(workflow.StateRolledBack)),
			error: "DeploymentFailed",
		},
		"never running": {
			starting: func(s *fakeService) { s.down = 1 },
			// 20 minutes of stabilization timeout, checked every 5.
			path: slices.Concat([]string{workflow.StateShiftTraffic}, notUp, notUp, notUp,
				[]string{workflow.StateBake, workflow.StateCheckBake},
				rolledBack(), recorded(workflow.StateRolledBack)),
			error: "StabilizationTimeout",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sc := strategyCases()["canary by task count"]
			w := newWorld(t)
			sc.before(w)
			before := w.view()
			image := w.image(sc.service, "v2")
			x := runDefinition(t, def, w, request(sc, "v2"), func(inv workflow.Invocation) {
				// Bake's watch of the 50% step: the new tasks start.
				if inv.Phase == workflow.PhaseWatch && inv.State.Wait.Kind == workflow.WaitBake && inv.State.Progress.Weight == 50 {
					tc.starting(w.services["worker--green"])
					w.settle()
				}
			})
			want := slices.Concat(prepared(), appliedAndStable(), trafficSteps(1), tc.path)
			if diff := cmp.Diff(want, x.Path()); diff != "" {
				t.Errorf("path (-want +got):\n%s", diff)
			}
			for _, s := range w.scales {
				if s.Service == "worker--blue" && s.Count < 3 {
					t.Errorf("worker--blue scaled in to %d, want never below 3 (its count before the failed step)", s.Count)
				}
			}
			// Restored, and the restored tasks run: the rollback
			// waited for them.
			if diff := cmp.Diff(before, w.view()); diff != "" {
				t.Errorf("live state (-want +got):\n%s", diff)
			}
			if got := w.services["worker--blue"].running; got != 4 {
				t.Errorf("worker--blue: got %d tasks running when the rollback ended, want 4", got)
			}
			h, err := w.historyOf(deploymentID(x.ARN()))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(outcome{Outcome: workflow.OutcomeRolledBack, Error: tc.error, Image: image},
				outcome{Outcome: h.Outcome, Error: h.Error, Image: h.Image}); diff != "" {
				t.Errorf("history (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCanaryByCountWaitsForHealthyTasks: with a container health check in
// the task definition, a step's new tasks must be HEALTHY, not only
// RUNNING, before the old slot is scaled in (issue 11 item 9). Here the
// 50% step's tasks run with no health verdict yet at the first check, so
// the old slot keeps its tasks one interval more.
func TestCanaryByCountWaitsForHealthyTasks(t *testing.T) {
	def := loadDefinition(t)
	sc := strategyCases()["canary by task count"]
	w := newWorld(t)
	const essential = "      essential: true\n"
	doc := string(w.specs["services/worker.yaml"])
	if !strings.Contains(doc, essential) {
		t.Fatalf("services/worker.yaml: want a container with %q", essential)
	}
	w.specs["services/worker.yaml"] = []byte(strings.Replace(doc, essential,
		essential+"      healthCheck:\n        command: [\"CMD-SHELL\", \"curl -f http://localhost:8080/health\"]\n", 1))
	sc.before(w)
	w.image(sc.service, "v2")
	var checks int
	x := runDefinition(t, def, w, request(sc, "v2"), func(inv workflow.Invocation) {
		if inv.State.Wait.ScaleIn == nil || inv.State.Progress.Weight != 50 {
			return
		}
		green := w.services["worker--green"]
		switch inv.Phase {
		case workflow.PhaseWatch:
			if checks == 0 {
				// The health checks of the 50% step's tasks have no
				// verdict yet.
				green.unknownHealth = 2
			}
		case workflow.PhaseCheck:
			// They pass once the first check has looked.
			checks++
			green.unknownHealth = 0
		}
	})
	want := slices.Concat(prepared(), appliedAndStable(),
		trafficSteps(1),
		[]string{workflow.StateShiftTraffic}, scaleInWhenNewTasksRun(), scaleInWhenNewTasksRun(), trafficSteps(1)[1:],
		[]string{workflow.StateShiftTraffic}, scaleInWhenNewTasksRun(), trafficSteps(2)[1:],
		promoted())
	if diff := cmp.Diff(want, x.Path()); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	if checks != 2 {
		t.Errorf("got %d checks waiting for the 50%% step's new tasks, want 2", checks)
	}
}
