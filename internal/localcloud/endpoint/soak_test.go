package endpoint_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/slipwayhq/slipway/internal/asl"
	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
	"github.com/slipwayhq/slipway/internal/operator"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/synth"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// The soak of issue 14 item 3: deployments across 20 services, each push
// with a fault drawn at random (seeded; the seed is logged,
// SLIPWAY_SOAK_SEED sets it) from soakKinds: API throttling and 5xx
// (ECS, ELBv2, S3), Lambda throttles, timeouts and crashes of the step
// function, tasks that crash-loop or fail their health checks, an alarm
// in a bake, `slipway rollback` in flight, ECS events delayed, dropped or
// duplicated, and a newer push while the deployment runs. Each deployment
// must end with the outcome its fault gives (the one the fault matrix,
// docs/faults.md, observes), the service must run the image that outcome
// implies, and ECS, the listener rule, the history and the lock must
// agree. `go test` runs 100 deployments; SLIPWAY_SOAK sets another number
// (`make soak` runs 500). The end logs the outcomes per fault.

// soakServices is the size of the soak's world; soakBatch how many of its
// services deploy at once.
const soakServices, soakBatch = 20, 20

// soakCanaryEvery makes every fourth service of the soak's world a canary
// behind a listener rule, so that the rule's weights are checked too.
const soakCanaryEvery = 4

// envInt reads a positive number from the environment variable name, or
// returns def when it is unset.
func envInt(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// soakWorld writes the storm's world of services with a container health
// check added to every task definition, so that a revision failing its
// health checks fails them on the rolling services too (without a check,
// ECS never finds a task unhealthy).
func soakWorld(t *testing.T) string {
	t.Helper()
	dir := writeWorld(t, soakServices, soakCanaryEvery)
	files, err := filepath.Glob(filepath.Join(dir, "services", "*.yaml"))
	if err != nil || len(files) != soakServices {
		t.Fatalf("the soak's world has %d services (%v), want %d", len(files), err, soakServices)
	}
	const essential = "      essential: true\n"
	for _, f := range files {
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(string(doc), essential) != 1 {
			t.Fatalf("%s: want one essential container to add a health check to", f)
		}
		doc = []byte(strings.Replace(string(doc), essential,
			essential+"      healthCheck:\n        command: [\"CMD-SHELL\", \"test -f /tmp/ready\"]\n", 1))
		if err := os.WriteFile(f, doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// soakRun is the soak as it runs.
type soakRun struct {
	t       *testing.T
	r       *endpoint.Running
	clk     *clock.Virtual
	rng     *rand.Rand
	control endpoint.Control
	op      *operator.Operator
	// step is the step function's name.
	step string
	tag  int
	// images is the image each execution deploys, by ARN; old the
	// executions of the world's seeding.
	images map[string]string
	old    map[string]bool
	// running is the image each service runs: the seeded one, then what
	// the soak's deployments left.
	running map[string]string
	// outcomes counts the outcomes per fault (the newer pushes' under
	// "<fault> (newer push)"), matched the outcomes that were expected.
	outcomes map[string]map[workflow.Outcome]int
	matched  map[string]int
	// errs counts the errors the history recorded, per fault.
	errs map[string]map[string]int
}

// soakDeploy is one deployment of the soak, and the newer push made during
// it, if its fault is one.
type soakDeploy struct {
	n        int // its number in the soak, from 1
	i        int // the service's number in the world
	svc, env string
	canary   bool
	kind     *soakKind
	// phase is the phase of functions/step a phased fault hits.
	phase workflow.Phase
	// prev is the image the service ran before.
	prev string
	// digest is the image pushed, newer the newer push's ("" for none).
	digest, newer string
	armed         faults.State
	// x and nx are the deployment's execution and the newer push's.
	x, nx *asl.Execution
	// seenIn and acted track the fault's act: the deployment was in
	// kind.at when last looked at; the act has happened.
	seenIn, acted bool
}

// mark is in every invocation of functions/step for the deployment's
// service: the execution name's prefix.
func (d *soakDeploy) mark() string { return ":" + d.svc + "-" + d.env + "-" }

// String names the deployment and its fault for messages.
func (d *soakDeploy) String() string {
	f := d.kind.key
	if d.phase != "" {
		f += " in " + string(d.phase)
	}
	return fmt.Sprintf("deployment %d (%s/%s, fault %s)", d.n, d.env, d.svc, f)
}

// TestSoak runs the soak and checks every deployment.
func TestSoak(t *testing.T) {
	skipIfShort(t, "runs 100 deployments with random faults")
	n := envInt(t, "SLIPWAY_SOAK", 100)
	seed := uint64(envInt(t, "SLIPWAY_SOAK_SEED", int(time.Now().UnixNano()%1_000_000)+1))
	t.Logf("soak: %d deployments, seed %d (SLIPWAY_SOAK_SEED=%d repeats it)", n, seed, seed)

	clk := clock.NewVirtual(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	r := startWith(t, endpoint.Options{Specs: os.DirFS(soakWorld(t)), SettleTimeout: 8 * time.Minute,
		Config: endpoint.Config{Clock: clk}})
	step, _ := r.Deployed.Stack.Function(synth.KindStep)
	s := &soakRun{t: t, r: r, clk: clk, rng: rand.New(rand.NewPCG(seed, 3)), control: endpoint.Control{URL: r.URL},
		step: step.Name, tag: 1, images: map[string]string{}, old: map[string]bool{}, running: map[string]string{},
		outcomes: map[string]map[workflow.Outcome]int{}, matched: map[string]int{}, errs: map[string]map[string]int{}}
	op, err := operator.Connect(context.Background(), r.AWS, operator.Target{})
	if err != nil {
		t.Fatal(err)
	}
	op.SetPollPeriod(10 * time.Millisecond)
	s.op = op
	for _, x := range r.StepFunctions.Engine().Executions() {
		s.old[x.ARN()] = true
	}
	for i := range soakServices {
		s.running[stormService(i)], _ = liveService(t, r, i)
	}
	kinds := soakKinds()
	ctx := context.Background()
	for done := 0; done < n; {
		var batch []*soakDeploy
		for _, i := range s.rng.Perm(soakServices)[:min(soakBatch, n-done)] {
			d := s.draw(kinds, i)
			d.n = done + len(batch) + 1
			batch = append(batch, d)
			s.start(d)
		}
		s.act(batch)
		if err := r.WaitExecutions(ctx, func(string) bool { return true }, 0, 5*time.Minute); err != nil {
			t.Fatalf("after %d deployments: %v", done, err)
		}
		// What the faults left pending tells whether they fired. A fault
		// no call consumed must not spill over into the next batch, nor an
		// alarm set off in a bake stay in ALARM.
		pending, err := s.control.Faults(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.control.Clear(ctx); err != nil {
			t.Fatal(err)
		}
		s.find(batch)
		for _, d := range batch {
			if d.kind.after != nil {
				d.kind.after(s, d)
			}
			s.check(d, pending)
		}
		done += len(batch)
		if t.Failed() {
			s.summary(kinds)
			t.Fatalf("stopped after %d deployments (seed %d)", done, seed)
		}
	}
	s.summary(kinds)
}

// draw draws the fault of a deployment of service i: a kind that applies to
// the service, and the phase of a phased one.
func (s *soakRun) draw(kinds []soakKind, i int) *soakDeploy {
	d := &soakDeploy{i: i, svc: stormService(i), env: stormEnvOf(i), canary: isCanary(i, soakCanaryEvery)}
	for d.kind == nil || (d.kind.lbOnly && !d.canary) {
		d.kind = &kinds[s.rng.IntN(len(kinds))]
	}
	if d.kind.phased() {
		ps := d.kind.phases(d.canary)
		d.phase = ps[s.rng.IntN(len(ps))]
	}
	d.prev = s.running[d.svc]
	return d
}

// start arms the deployment's faults and pushes its image (and, for a
// newer push at once, the newer one a simulated second later), holding
// the clock meanwhile.
func (s *soakRun) start(d *soakDeploy) {
	s.t.Helper()
	release := holdClock(s.clk)
	defer release()
	// The faults go in before the push: the deployment starts, and its
	// first phases run, as soon as the push event arrives, clock held or
	// not. Only the pushed image's behaviour waits for its digest; its
	// tasks cannot start before the clock moves.
	if d.kind.arm != nil {
		d.kind.arm(s, d, &d.armed)
		s.apply(d.armed)
	}
	d.digest = s.push(d)
	if d.kind.onPush != (faults.Behaviour{}) {
		d.armed.Images = map[string]faults.Behaviour{d.digest: d.kind.onPush}
		s.apply(faults.State{Images: d.armed.Images})
	}
	if d.kind.newerAtOnce {
		// A second apart, so the two requests' times order them.
		if err := s.clk.Sleep(context.Background(), time.Second); err != nil {
			s.t.Fatal(err)
		}
		d.newer = s.push(d)
	}
}

// apply adds faults to the endpoint's.
func (s *soakRun) apply(add faults.State) {
	s.t.Helper()
	if _, err := s.control.Apply(context.Background(), add); err != nil {
		s.t.Fatal(err)
	}
}

// push pushes the next tag to the deployment's repository and returns the
// image's digest. The caller holds the clock.
func (s *soakRun) push(d *soakDeploy) string {
	s.t.Helper()
	s.tag++
	digest, err := stack.PushImage(context.Background(), s.r.AWS, d.svc, fmt.Sprintf("v%d", s.tag))
	if err != nil {
		s.t.Fatalf("%s: push: %v", d, err)
	}
	return digest
}

// act runs the acts of the batch's faults (an alarm in a bake, a newer
// push), each once its deployment has been in the fault's state for a
// simulated second: it holds the clock and lets it move a second at a
// time, so that no deployment gets past the state unseen.
func (s *soakRun) act(batch []*soakDeploy) {
	s.t.Helper()
	var todo []*soakDeploy
	for _, d := range batch {
		if d.kind.act != nil {
			todo = append(todo, d)
		}
	}
	if len(todo) == 0 {
		return
	}
	release := holdClock(s.clk)
	defer release()
	for range 3600 {
		s.find(todo)
		todo = slices.DeleteFunc(todo, func(d *soakDeploy) bool {
			if d.x == nil {
				return false
			}
			path := d.x.Path()
			if d.x.Describe().Status != asl.StatusRunning {
				s.t.Errorf("%s: ended before its fault could act in %s; path %s", d, d.kind.at, strings.Join(path, " → "))
				return true
			}
			in := len(path) > 0 && path[len(path)-1] == d.kind.at && countOf(path, d.kind.at) == 1
			if in && d.seenIn {
				d.kind.act(s, d)
				d.acted = true
				return true
			}
			d.seenIn = in
			return false
		})
		if len(todo) == 0 {
			return
		}
		if err := s.clk.Sleep(context.Background(), time.Second); err != nil {
			s.t.Fatal(err)
		}
	}
	for _, d := range todo {
		s.t.Errorf("%s: not in %s within a simulated hour", d, d.kind.at)
	}
}

// alarm is the act of an alarm in a bake: the alarm the deployment's
// strategy watches goes into ALARM.
func (s *soakRun) alarm(d *soakDeploy) {
	s.setAlarm(d, cwtypes.StateValueAlarm, "soak: alarm in a bake")
}

// alarmOver sets the alarm back to OK once the batch has ended, so that the
// service's next deployment does not find it in ALARM.
func (s *soakRun) alarmOver(d *soakDeploy) {
	s.setAlarm(d, cwtypes.StateValueOk, "soak: the fault is over")
}

// setAlarm sets the state of the alarm the deployment's strategy watches.
func (s *soakRun) setAlarm(d *soakDeploy, state cwtypes.StateValue, reason string) {
	s.t.Helper()
	name := d.svc + "-" + d.env + "-errors"
	_, err := cloudwatch.NewFromConfig(s.r.AWS).SetAlarmState(context.Background(), &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String(name), StateValue: state, StateReason: aws.String(reason)})
	if err != nil {
		s.t.Fatalf("%s: SetAlarmState %s: %v", d, name, err)
	}
}

// pushNewer is the act of a newer push: the next tag is pushed while the
// deployment runs. The caller holds the clock.
func (s *soakRun) pushNewer(d *soakDeploy) { d.newer = s.push(d) }

// operatorRollback is the act of `slipway rollback` on the deployment's
// service while it runs: the deployment must be halted.
func (s *soakRun) operatorRollback(d *soakDeploy) {
	s.t.Helper()
	got, err := s.op.Rollback(context.Background(), d.env, d.svc, "soak", "soak: operator rollback")
	if err != nil {
		s.t.Errorf("%s: slipway rollback: %v", d, err)
		return
	}
	if !got.Halted {
		s.t.Errorf("%s: slipway rollback gave %+v, want the deployment halted", d, got)
	}
}

// find sets the executions of the deployments (and of their newer pushes)
// that have started.
func (s *soakRun) find(ds []*soakDeploy) {
	s.t.Helper()
	byDigest := map[string][]*asl.Execution{}
	for _, x := range s.r.StepFunctions.Engine().Executions() {
		arn := x.ARN()
		if s.old[arn] {
			continue
		}
		image, ok := s.images[arn]
		if !ok {
			var in workflow.State
			if err := json.Unmarshal([]byte(x.Describe().Input), &in); err != nil {
				s.t.Fatalf("input of %s: %v", arn, err)
			}
			image = in.Image
			s.images[arn] = image
		}
		_, digest, _ := strings.Cut(image, "@")
		byDigest[digest] = append(byDigest[digest], x)
	}
	one := func(d *soakDeploy, digest string) *asl.Execution {
		switch xs := byDigest[digest]; len(xs) {
		case 0:
			return nil
		case 1:
			return xs[0]
		default:
			s.t.Fatalf("%s: %d executions deploy %s, want one", d, len(xs), digest)
			return nil
		}
	}
	for _, d := range ds {
		d.x = one(d, d.digest)
		if d.newer != "" {
			d.nx = one(d, d.newer)
		}
	}
}

// fired reports whether the faults armed for d happened, as far as what
// is still pending tells: every API fault failed a call, an event fault
// hit an event, and a Lambda fault an invocation.
func fired(d *soakDeploy, pending faults.State) bool {
	for _, a := range d.armed.Throttles {
		if slices.ContainsFunc(pending.Throttles, func(p faults.Throttle) bool {
			return p.Service == a.Service && p.Operation == a.Operation && p.Match == a.Match && p.Error == a.Error && p.Count == a.Count
		}) {
			return false
		}
	}
	for _, a := range d.armed.Events {
		if slices.ContainsFunc(pending.Events, func(p faults.Event) bool {
			return slices.Equal(p.Match, a.Match) && p.Action == a.Action && p.Count == a.Count
		}) {
			return false
		}
	}
	used := 0
	for _, a := range d.armed.Invocations {
		if !slices.ContainsFunc(pending.Invocations, func(p faults.Invocation) bool {
			return p.Function == a.Function && p.Fault == a.Fault && slices.Equal(p.Match, a.Match) && p.Count == a.Count
		}) {
			used++
		}
	}
	return len(d.armed.Invocations) == 0 || used > 0
}

// check checks one soak deployment (and the newer push made during it)
// against the outcome its fault must give, then the service against ECS,
// the listener rule, the history and the lock, and updates running.
func (s *soakRun) check(d *soakDeploy, pending faults.State) {
	t := s.t
	t.Helper()
	k := d.kind
	ctx := context.Background()
	if d.x == nil || (d.newer != "" && d.nx == nil) {
		t.Errorf("%s: no execution deploys %s (or the newer push %s)", d, d.digest, d.newer)
		return
	}
	if k.act != nil && !d.acted {
		return // reported by act
	}
	if !fired(d, pending) {
		t.Errorf("%s: the fault never fired: armed %+v, still pending %+v", d, d.armed, pending)
	}
	st := stateStore(s.r)
	hist, err := st.History(ctx, d.env, d.svc, 50)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := s.outcome(d, d.x, hist, k.key, k.want, k.visits, k.errName)
	if !ok {
		return
	}
	want := d.prev
	switch k.serves {
	case servesNew:
		want = s.images[d.x.ARN()]
	case servesNewer:
		if _, ok := s.outcome(d, d.nx, hist, k.key+" (newer push)", k.newer, k.newerVisits, ""); !ok {
			return
		}
		want = s.images[d.nx.ARN()]
	}
	s.running[d.svc] = want
	// ECS runs what the outcome implies (behind all the traffic, for a
	// canary), with nothing else in flight, and the history agrees.
	got, live := liveService(t, s.r, d.i)
	if got != want {
		t.Errorf("%s (%s): ECS runs %s, want %s (%s)", d, h.Outcome, got, want, k.serves)
	}
	if last, ok := store.LastDeployed(hist); !ok || last.Image != want {
		t.Errorf("%s: the history's last deployed image is %s, want %s (%s)", d, last.Image, want, k.serves)
	}
	out, err := ecs.NewFromConfig(s.r.AWS).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(d.env), Services: []string{live}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices %s/%s: %v", d.env, live, err)
	}
	if sv := out.Services[0]; len(sv.Deployments) != 1 || sv.RunningCount != sv.DesiredCount {
		t.Errorf("%s: ECS service has %d deployments, %d of %d tasks running; want one deployment, all running",
			d, len(sv.Deployments), sv.RunningCount, sv.DesiredCount)
	}
	// The lock is free (kept only after a failed rollback, deliberately;
	// no fault of the soak's should give one).
	_, _, err = st.Lock(ctx, d.env, d.svc)
	switch {
	case h.Outcome == workflow.OutcomeRollbackFailed:
		if err != nil {
			t.Errorf("%s: the rollback failed but the lock is not kept: %v", d, err)
		}
	case !errors.Is(err, store.ErrNotFound):
		t.Errorf("%s (%s): lock of %s/%s not released (%v)", d, h.Outcome, d.env, d.svc, err)
	}
}

// outcome checks how the execution x of d ended against the outcomes want,
// the states it must have entered and the error it must have recorded,
// counts it under key, and returns its history entry; false when it has
// none.
func (s *soakRun) outcome(d *soakDeploy, x *asl.Execution, hist []store.HistoryEntry, key string, want []workflow.Outcome,
	visits []string, errName string) (store.HistoryEntry, bool) {
	t := s.t
	t.Helper()
	desc := x.Describe()
	path := x.Path()
	k := slices.IndexFunc(hist, func(h store.HistoryEntry) bool { return strings.HasSuffix(h.Execution, ":"+desc.Name) })
	if k < 0 {
		t.Errorf("%s: execution %s (%s) has no history entry; path %s", d, desc.Name, desc.Status, strings.Join(path, " → "))
		return store.HistoryEntry{}, false
	}
	h := hist[k]
	if s.outcomes[key] == nil {
		s.outcomes[key] = map[workflow.Outcome]int{}
	}
	s.outcomes[key][h.Outcome]++
	if h.Error != "" {
		if s.errs[key] == nil {
			s.errs[key] = map[string]int{}
		}
		s.errs[key][h.Error]++
	}
	var problems []string
	if !slices.Contains(want, h.Outcome) {
		problems = append(problems, "wrong outcome")
	}
	for _, v := range visits {
		if !slices.Contains(path, v) {
			problems = append(problems, "never entered "+v)
		}
	}
	if errName != "" && h.Error != errName {
		problems = append(problems, "recorded error "+h.Error+", want "+errName)
	}
	// The execution's end agrees with the outcome recorded.
	succeeded := desc.Status == asl.StatusSucceeded
	if ok := h.Outcome == workflow.OutcomeDeployed || h.Outcome == workflow.OutcomeSuperseded; succeeded != ok {
		problems = append(problems, fmt.Sprintf("execution %s but history says %s", desc.Status, h.Outcome))
	}
	if len(problems) > 0 {
		t.Errorf("%s, execution %s: expected %s, got %s (%s: %s): %s; path %s", d, desc.Name, outcomesText(want), h.Outcome,
			h.Error, h.Cause, strings.Join(problems, "; "), strings.Join(path, " → "))
		return h, true
	}
	s.matched[key]++
	return h, true
}

// summary logs the outcomes per fault, how many were the ones expected,
// and the errors recorded: "crash-loop  7: 7 rolled-back (7 expected:
// rolled-back); errors recorded: 7 DeploymentFailed".
func (s *soakRun) summary(kinds []soakKind) {
	for _, k := range kinds {
		for _, row := range []struct {
			key  string
			want []workflow.Outcome
		}{{k.key, k.want}, {k.key + " (newer push)", k.newer}} {
			got := s.outcomes[row.key]
			if len(got) == 0 {
				continue
			}
			total := 0
			var parts []string
			for _, o := range slices.Sorted(maps.Keys(got)) {
				total += got[o]
				parts = append(parts, fmt.Sprintf("%d %s", got[o], o))
			}
			var errs []string
			for _, e := range slices.Sorted(maps.Keys(s.errs[row.key])) {
				errs = append(errs, fmt.Sprintf("%d %s", s.errs[row.key][e], e))
			}
			line := fmt.Sprintf("soak: %-31s %3d: %s (%d expected: %s)", row.key, total, strings.Join(parts, ", "), s.matched[row.key], outcomesText(row.want))
			if len(errs) > 0 {
				line += "; errors recorded: " + strings.Join(errs, ", ")
			}
			s.t.Log(line)
		}
	}
}

// liveService returns the image that serves service i of the soak's world
// and the ECS service that runs it: the service itself for a rolling one;
// for a canary, the slot (<name>--blue or <name>--green) its listener rule
// sends the traffic to. It checks that a canary's rule sends all of it to
// one slot, and that the other slot runs nothing.
func liveService(t *testing.T, r *endpoint.Running, i int) (image, ecsService string) {
	t.Helper()
	svc, env := stormService(i), stormEnvOf(i)
	ecsService = svc
	if isCanary(i, soakCanaryEvery) {
		lb := r.Seeded.Set.Environments[env].LoadBalancers[svc]
		out, err := elb.NewFromConfig(r.AWS).DescribeRules(context.Background(), &elb.DescribeRulesInput{RuleArns: []string{lb.ListenerRuleArn}})
		if err != nil || len(out.Rules) != 1 {
			t.Fatalf("DescribeRules %s: %v", lb.ListenerRuleArn, err)
		}
		var w [2]int32
		for _, a := range out.Rules[0].Actions {
			if a.ForwardConfig == nil {
				continue
			}
			for _, tg := range a.ForwardConfig.TargetGroups {
				for k, arn := range lb.TargetGroupArns {
					if aws.ToString(tg.TargetGroupArn) == arn {
						w[k] = aws.ToInt32(tg.Weight)
					}
				}
			}
		}
		slots := [2]string{svc + "--blue", svc + "--green"}
		switch w {
		case [2]int32{100, 0}:
			ecsService = slots[0]
		case [2]int32{0, 100}:
			ecsService = slots[1]
		default:
			t.Errorf("%s/%s: the listener rule sends blue/green %v, want all to one slot", env, svc, w)
			return "", ""
		}
		idle := slots[0]
		if ecsService == slots[0] {
			idle = slots[1]
		}
		out2, err := ecs.NewFromConfig(r.AWS).DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(env), Services: []string{idle}})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range out2.Services {
			if aws.ToString(s.Status) == "ACTIVE" && (s.DesiredCount != 0 || s.RunningCount != 0) {
				t.Errorf("%s/%s: the idle slot %s runs %d of %d tasks, want none", env, svc, idle, s.RunningCount, s.DesiredCount)
			}
		}
	}
	return soakImage(t, r, ecsService, env), ecsService
}

// soakImage returns the image the ECS service svc in env runs.
func soakImage(t *testing.T, r *endpoint.Running, svc, env string) string {
	t.Helper()
	ec := ecs.NewFromConfig(r.AWS)
	ctx := context.Background()
	out, err := ec.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(env), Services: []string{svc}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices %s/%s: %v", env, svc, err)
	}
	td, err := ec.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: out.Services[0].TaskDefinition})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(td.TaskDefinition.ContainerDefinitions[0].Image)
}
