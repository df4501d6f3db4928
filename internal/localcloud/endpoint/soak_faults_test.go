package endpoint_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// This file holds the faults the soak draws at random and the outcome each
// must give, and the test that keeps those outcomes in agreement with the
// fault matrix's table (docs/faults.md).

// soakServes is the image a service must run once a soak deployment and
// what it started have ended.
type soakServes int

const (
	// servesNew: the image pushed.
	servesNew soakServes = iota
	// servesPrevious: the image the service ran before the push.
	servesPrevious
	// servesNewer: the image of the newer push made during the deployment.
	servesNewer
)

// String says which image, for messages.
func (s soakServes) String() string {
	return [...]string{"the new image", "the previous image", "the newer push's image"}[s]
}

// soakKind is a fault the soak injects into one deployment, and the
// outcome it must give.
type soakKind struct {
	key string
	// matrix is the title of the fault matrix's column whose cells (rows
	// rolling and canary by weight, the soak's strategies) the outcome must
	// agree with; phased kinds name the column of each phase instead.
	matrix string
	// lbOnly: the fault needs a load balancer (ELBv2 faults).
	lbOnly bool
	// arm injects the faults before the push.
	arm func(s *soakRun, d *soakDeploy, add *faults.State)
	// onPush is how the pushed image behaves.
	onPush faults.Behaviour
	// at is the state in which act runs, once the deployment has been in
	// it (its first entry) for a simulated second; "" for no act.
	at  string
	act func(s *soakRun, d *soakDeploy)
	// after, if set, ends the fault once the batch's deployments have
	// ended.
	after func(s *soakRun, d *soakDeploy)
	// newerAtOnce: a newer image is pushed a simulated second after the
	// first.
	newerAtOnce bool
	// want are the outcomes the deployment may end with (one, unless the
	// comment of the kind says why timing allows two); newer what the
	// newer push's deployment must end with, when there is one.
	want, newer []workflow.Outcome
	serves      soakServes
	// visits are states the deployment's path must enter, newerVisits
	// those the newer push's must: they prove the fault took the path it
	// is about (CheckStable when events are lost, AwaitLock behind a
	// deployment that was applying).
	visits, newerVisits []string
	// errName, if set, is the error the history entry must record (the
	// rollback's reason).
	errName string
}

// phased reports whether the kind's fault is in one phase of functions/step,
// drawn per deployment, so that its matrix column depends on the phase.
func (k soakKind) phased() bool { return strings.Contains(k.matrix, "%s") }

// outcomesText joins outcomes with "|".
func outcomesText(os []workflow.Outcome) string {
	s := make([]string, len(os))
	for i, o := range os {
		s[i] = string(o)
	}
	return strings.Join(s, "|")
}

// soakPhases are the phases of functions/step every soak deployment of a
// strategy runs (the soak's rolling services bake once; its canaries shift
// to 50 %, bake, shift to 100 %, promote and clean up), so that a fault on
// one of them always fires.
var soakPhases = map[bool][]workflow.Phase{
	false: {workflow.PhasePrepare, workflow.PhaseApply, workflow.PhaseWatch, workflow.PhaseCheck, workflow.PhaseFinalize},
	true: {workflow.PhasePrepare, workflow.PhaseApply, workflow.PhaseWatch, workflow.PhaseCheck, workflow.PhaseShift,
		workflow.PhasePromote, workflow.PhaseCleanup, workflow.PhaseFinalize},
}

// phases are the phases a phased kind's fault may hit in a deployment of a
// service with a load balancer (lb) or without: those every such
// deployment runs, or, for a revision that crash-loops, rollback and
// record.
func (k soakKind) phases(lb bool) []workflow.Phase {
	if k.onPush.CrashOnStart {
		return []workflow.Phase{workflow.PhaseRollback, workflow.PhaseRecord}
	}
	return soakPhases[lb]
}

// soakKinds are the faults the soak draws: those of the fault matrix that
// make sense at random. A failed rollback is left to the matrix: it keeps
// the lock, and the service half rolled back, until a person has looked.
func soakKinds() []soakKind {
	deployed := []workflow.Outcome{workflow.OutcomeDeployed}
	rolledBack := []workflow.Outcome{workflow.OutcomeRolledBack}
	// api fails 1 to 3 calls of service that name the deployment's
	// service: three fail every attempt the SDK makes of one call, so the
	// engine's own retry of Transient errors runs too. (The matrix fails
	// six. More would cost the soak wall time, not coverage: the SDK's
	// retry backoff sleeps in wall time while the calling phase holds the
	// virtual clock, stalling every deployment meanwhile.)
	api := func(service, kind string, match func(d *soakDeploy) string) func(s *soakRun, d *soakDeploy, add *faults.State) {
		return func(s *soakRun, d *soakDeploy, add *faults.State) {
			add.Throttles = append(add.Throttles, faults.Throttle{Service: service, Operation: "*",
				Count: 1 + s.rng.IntN(3), Match: match(d), Error: kind})
		}
	}
	bySvc := func(d *soakDeploy) string { return d.svc }
	// A canary's ELBv2 calls name its target groups, env-svcNN-blue and
	// -green: "-svcNN-" is in no other service's.
	byGroup := func(d *soakDeploy) string { return "-" + d.svc + "-" }
	byKey := func(d *soakDeploy) string { return "/" + d.svc }
	// everyPhase fails n invocations of every phase of the deployment.
	everyPhase := func(fault string, n int) func(s *soakRun, d *soakDeploy, add *faults.State) {
		return func(s *soakRun, d *soakDeploy, add *faults.State) {
			for _, p := range append(slices.Clone(stepPhases), workflow.PhaseRollback, workflow.PhaseRecord) {
				add.Invocations = append(add.Invocations, faults.Invocation{Function: s.step, Fault: fault, Count: n,
					Match: []string{`"phase":"` + string(p) + `"`, d.mark()}})
			}
		}
	}
	// crashIn crashes the runtime once in the phase drawn for d.
	crashIn := func(s *soakRun, d *soakDeploy, add *faults.State) {
		add.Invocations = append(add.Invocations, faults.Invocation{Function: s.step, Fault: faults.InvokeCrash, Count: 1,
			Match: []string{`"phase":"` + string(d.phase) + `"`, d.mark()}})
	}
	events := func(action string, delayMs int64, also ...string) func(s *soakRun, d *soakDeploy, add *faults.State) {
		return func(s *soakRun, d *soakDeploy, add *faults.State) {
			add.Events = append(add.Events, faults.Event{Match: append([]string{d.svc}, also...), Action: action, DelayMs: delayMs, Count: 1000})
		}
	}
	crashLoop := faults.Behaviour{CrashOnStart: true}
	alarmFired := workflow.ErrorName((*workflow.AlarmFired)(nil))
	// A revision whose tasks never become healthy trips ECS's
	// deployment circuit breaker: the rollback records DeploymentFailed.
	failed := workflow.ErrorName((*workflow.DeploymentFailed)(nil))
	halted := workflow.ErrorName((*workflow.Halted)(nil))
	return []soakKind{
		{key: "none", matrix: "no fault", want: deployed, serves: servesNew},
		// Failed API calls are retried (the SDK's, then the engine's
		// Transient retry): the deployment goes on.
		{key: "ecs-throttle", matrix: "ECS ThrottlingException ×6", arm: api("ecs", faults.ErrorThrottling, bySvc), want: deployed, serves: servesNew},
		{key: "ecs-5xx", matrix: "ECS 500 ServerException ×6", arm: api("ecs", faults.ErrorInternal, bySvc), want: deployed, serves: servesNew},
		{key: "elb-throttle", matrix: "ELBv2 Throttling ×6", lbOnly: true, arm: api("elasticloadbalancing", faults.ErrorThrottling, byGroup),
			want: deployed, serves: servesNew},
		{key: "elb-5xx", matrix: "ELBv2 500 InternalFailure ×6", lbOnly: true, arm: api("elasticloadbalancing", faults.ErrorInternal, byGroup),
			want: deployed, serves: servesNew},
		{key: "s3-throttle", matrix: "S3 503 SlowDown ×6", arm: api("s3", faults.ErrorThrottling, byKey), want: deployed, serves: servesNew},
		{key: "s3-5xx", matrix: "S3 500 InternalError ×6", arm: api("s3", faults.ErrorInternal, byKey), want: deployed, serves: servesNew},
		// Step Functions retries the Lambda service's errors, and a
		// timed-out phase (its work done, its answer lost) runs again:
		// every phase is idempotent.
		{key: "lambda-throttle", matrix: "Lambda TooManyRequests ×2 in every phase", arm: everyPhase(faults.InvokeThrottle, 2),
			want: deployed, serves: servesNew},
		{key: "lambda-timeout", matrix: "Lambda timeout (after its work) once in every phase", arm: everyPhase(faults.InvokeTimeout, 1),
			want: deployed, serves: servesNew},
		{key: "lambda-crash", matrix: "Lambda crash once in %s", arm: crashIn, want: deployed, serves: servesNew},
		{key: "lambda-crash-rb", matrix: "Lambda crash once in %s (v2 crash-loops)", arm: crashIn, onPush: crashLoop,
			want: rolledBack, serves: servesPrevious, errName: failed},
		// A revision that cannot run rolls back to the one before.
		{key: "crash-loop", matrix: "v2 tasks crash-loop", onPush: crashLoop, want: rolledBack, serves: servesPrevious, errName: failed},
		{key: "unhealthy", matrix: "v2 fails health checks", onPush: faults.Behaviour{FailHealthChecks: true}, want: rolledBack,
			serves: servesPrevious, errName: failed},
		{key: "alarm-in-bake", matrix: "alarm in bake 1", at: workflow.StateBake, act: (*soakRun).alarm, after: (*soakRun).alarmOver, want: rolledBack, serves: servesPrevious,
			errName: alarmFired},
		// `slipway rollback` while the deployment runs halts it, and it
		// rolls back.
		{key: "operator-rollback-in-stable", matrix: "operator rollback during AwaitStable", at: workflow.StateAwaitStable,
			act: (*soakRun).operatorRollback, want: rolledBack, serves: servesPrevious, errName: halted},
		{key: "operator-rollback-in-bake", matrix: "operator rollback during bake 1", at: workflow.StateBake,
			act: (*soakRun).operatorRollback, want: rolledBack, serves: servesPrevious, errName: halted},
		// Lost or late ECS events are made up for by the reconcile
		// re-check; duplicates change nothing.
		{key: "events-delayed", matrix: "ECS events delayed 150 s (reconcile interval 120 s)", arm: events(faults.EventDelay, 150_000, "aws.ecs"),
			want: deployed, serves: servesNew, visits: []string{workflow.StateCheckStable}},
		{key: "events-dropped", matrix: "ECS events dropped", arm: events(faults.EventDrop, 0, "aws.ecs"),
			want: deployed, serves: servesNew, visits: []string{workflow.StateCheckStable}},
		{key: "events-twice", matrix: "every event delivered twice (push included)", arm: events(faults.EventDuplicate, 0),
			want: deployed, serves: servesNew},
		// A newer push while the deployment applies waits for its lock: the
		// running deployment is never interrupted, and the newest wins.
		{key: "newer-in-stable", matrix: "v3 pushed during AwaitStable", at: workflow.StateAwaitStable, act: (*soakRun).pushNewer,
			want: deployed, newer: deployed, serves: servesNewer, newerVisits: []string{workflow.StateAwaitLock}},
		{key: "newer-in-bake", matrix: "v3 pushed during bake 1", at: workflow.StateBake, act: (*soakRun).pushNewer,
			want: deployed, newer: deployed, serves: servesNewer, newerVisits: []string{workflow.StateAwaitLock}},
		// A newer push a second after the first, the first one's Apply
		// throttled four times (Lambda 429, retried by Step Functions after up to 1,
		// 2, 4 and 8 seconds, fully jittered) so that it is still preparing
		// when the newer one arrives. Which of the two the lock goes to is
		// timing, so the older one may end either way: if it holds the
		// lock, still preparing, the newer one supersedes it (Superseded);
		// if the newer one got the lock first, the older yields
		// (Superseded); if the jittered retries ran its Apply within the
		// second, the newer one queues behind it (Deployed, then replaced).
		// The newest wins in every case. The throttles match the service's
		// invocations, so the newer one's Apply may take some of them. The
		// matrix has no such column (newer_test.go covers the cases).
		{key: "newer-before-apply", newerAtOnce: true, arm: func(s *soakRun, d *soakDeploy, add *faults.State) {
			add.Invocations = append(add.Invocations, faults.Invocation{Function: s.step, Fault: faults.InvokeThrottle, Count: 4,
				Match: []string{`"phase":"` + string(workflow.PhaseApply) + `"`, d.mark()}})
		}, want: []workflow.Outcome{workflow.OutcomeSuperseded, workflow.OutcomeDeployed}, newer: deployed, serves: servesNewer},
	}
}

// matrixCells reads docs/faults.md: by section title ("rolling", …) and
// fault title, the cell's text.
func matrixCells(t *testing.T) map[string]map[string]string {
	t.Helper()
	doc, err := os.ReadFile(faultsDoc)
	if err != nil {
		t.Fatal(err)
	}
	cells := map[string]map[string]string{}
	section := ""
	for _, line := range strings.Split(string(doc), "\n") {
		if title, ok := strings.CutPrefix(line, "## "); ok {
			section = title
			cells[section] = map[string]string{}
			continue
		}
		parts := strings.Split(line, " | ")
		if section == "" || len(parts) != 2 || !strings.HasPrefix(line, "| ") || !strings.HasSuffix(line, " |") {
			continue
		}
		cells[section][strings.TrimPrefix(parts[0], "| ")] = strings.TrimSuffix(parts[1], " |")
	}
	return cells
}

// TestSoakAgreesWithMatrix checks that the outcome the soak wants of each
// fault is the one the fault matrix observes for the soak's strategies
// (rolling, and canary by weight): the same end of the deployment (and of
// v3's, for a newer push), through the same states.
func TestSoakAgreesWithMatrix(t *testing.T) {
	cells := matrixCells(t)
	rows := map[string]bool{"rolling": false, "canary by weight": true} // section → load-balanced
	for _, k := range soakKinds() {
		if k.matrix == "" {
			continue
		}
		for section, lb := range rows {
			if k.lbOnly && !lb {
				continue
			}
			titles := []string{k.matrix}
			if k.phased() {
				titles = nil
				for _, p := range k.phases(lb) {
					titles = append(titles, fmt.Sprintf(k.matrix, p))
				}
			}
			for _, title := range titles {
				cell, ok := cells[section][title]
				if !ok {
					t.Errorf("%s: docs/faults.md has no cell %q in section %q", k.key, title, section)
					continue
				}
				if strings.HasPrefix(cell, "n/a") {
					t.Errorf("%s: the soak draws it for %s, but the matrix says %s", k.key, section, cell)
					continue
				}
				if len(k.want) != 1 {
					t.Errorf("%s: a matrix column must give one outcome, the soak wants %s", k.key, outcomesText(k.want))
					continue
				}
				want := "v2 " + matrixEnd(k.want[0])
				if len(k.newer) == 1 {
					want += ", then v3 " + matrixEnd(k.newer[0])
				}
				if via := append(slices.Clone(k.visits), k.newerVisits...); len(via) > 0 {
					want += " (via " + strings.Join(via, ", ") + ")"
				}
				want += " · runs " + map[soakServes]string{servesNew: "v2", servesPrevious: "v1", servesNewer: "v3"}[k.serves] + "×"
				if !strings.HasPrefix(cell, want) {
					t.Errorf("%s in %s: the soak wants %q…, the matrix (%s) says %q", k.key, section, want, title, cell)
				}
			}
		}
	}
}

// matrixEnd is how the matrix's table names the terminal state of an
// outcome.
func matrixEnd(o workflow.Outcome) string {
	return map[workflow.Outcome]string{workflow.OutcomeDeployed: workflow.StateDeployed, workflow.OutcomeRolledBack: workflow.StateRolledBack,
		workflow.OutcomeSuperseded: workflow.StateSuperseded, workflow.OutcomeRollbackFailed: workflow.StateRollbackFailed}[o]
}
