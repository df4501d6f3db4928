package endpoint_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/synth"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// The event storm of issue 14 item 2: ECR push, S3 spec upload, alarm and
// ECS deployment events for 50 services in 3 environments, each delivered
// up to five times, shuffled, and in waves (a wave is delivered after the
// deployments the waves before it started have ended: an event of a later
// wave arrives long after newer events were handled), replayed against the
// local endpoint through the trigger functions, as EventBridge invokes
// them. `go test` replays 1,000 deliveries; SLIPWAY_STORM sets another
// number (`make soak` replays 10,000).

// stormEnvironments are the environments of the generated worlds.
var stormEnvironments = []string{"dev", "staging", "prod"}

// writeWorld writes a spec world of n rolling services into a temporary
// directory and returns it: service svcNN (repository svcNN, tags v*)
// deploys to the one environment stormEnvironments[NN%3], with a
// one-minute final bake watching its alarm svcNN-<environment>-errors.
// When canaryEvery > 0, every canaryEvery-th service (svc00 first) is a
// canary behind a listener rule of its environment instead: 50% baked a
// minute, then 100%.
func writeWorld(t testing.TB, n, canaryEvery int) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"services", "environments"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, doc string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for e, env := range stormEnvironments {
		doc := fmt.Sprintf(`cluster: %s
launchType: FARGATE
network:
  subnets: [subnet-0a1b2c3d4e5f6%04d]
  securityGroups: [sg-0a1b2c3d4e5f6%04d]
  assignPublicIp: false
deployOnChange: false
`, env, e+1, e+1)
		lbs := ""
		for i := range n {
			if isCanary(i, canaryEvery) && stormEnvOf(i) == env {
				const arn = "arn:aws:elasticloadbalancing:us-east-1:000000000000:"
				lbs += fmt.Sprintf(`  %s:
    listenerRuleArn: %slistener-rule/app/%s/0123456789abcdef/0123456789abcdef/%016x
    targetGroupArns:
      - %stargetgroup/%s-%s-blue/%016x
      - %stargetgroup/%s-%s-green/%016x
    containerName: app
    containerPort: 8080
`, stormService(i), arn, env, i+1, arn, env, stormService(i), 2*i+1, arn, env, stormService(i), 2*i+2)
			}
		}
		if lbs != "" {
			doc += "loadBalancers:\n" + lbs
		}
		write("environments/"+env+".yaml", doc)
	}
	for i := range n {
		name := stormService(i)
		if isCanary(i, canaryEvery) {
			write("services/"+name+".yaml", fmt.Sprintf(`image:
  repository: %s
  tags: ["v*"]
pipeline: [%s]
taskDefinition:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "256"
  memory: "512"
  containerDefinitions:
    - name: app
      image: ${IMAGE}
      essential: true
      portMappings:
        - containerPort: 8080
          protocol: tcp
service:
  desiredCount: 1
strategy:
  kind: canary
  steps:
    - weight: 50
      bake: 1m
    - weight: 100
  alarms:
    - ${SERVICE}-${ENVIRONMENT}-errors
  stabilizationTimeout: 15m
`, name, stormEnvOf(i)))
			continue
		}
		write("services/"+name+".yaml", fmt.Sprintf(`image:
  repository: %s
  tags: ["v*"]
pipeline: [%s]
taskDefinition:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "256"
  memory: "512"
  containerDefinitions:
    - name: app
      image: ${IMAGE}
      essential: true
service:
  desiredCount: 1
strategy:
  kind: rolling
  finalBake: 1m
  alarms:
    - ${SERVICE}-${ENVIRONMENT}-errors
  stabilizationTimeout: 15m
`, name, stormEnvOf(i)))
	}
	return dir
}

func stormService(i int) string { return fmt.Sprintf("svc%02d", i) }

// isCanary reports whether service i of a world is a canary.
func isCanary(i, every int) bool { return every > 0 && i%every == 0 }

func stormEnvOf(i int) string { return stormEnvironments[i%len(stormEnvironments)] }

// stormEvent is one distinct event of the storm, delivered one to five
// times.
type stormEvent struct {
	id      string
	fn      synth.FunctionKind
	payload []byte
	// service is the service the event concerns; for a push, digest and
	// at are the image pushed and when.
	service, digest string
	at              time.Time
}

// stormResult is what a storm measured.
type stormResult struct {
	deliveries, distinct int
	// handling is the wall time spent delivering (the waits between waves
	// left out); latencies are the trigger handlers' invocation times.
	handling  time.Duration
	latencies []time.Duration
}

// eventsPerSecond is the rate the trigger path handled deliveries at.
func (r stormResult) eventsPerSecond() float64 {
	return float64(r.deliveries) / r.handling.Seconds()
}

// percentile returns the p-th percentile (0..100) of the handler latencies.
func (r stormResult) percentile(p float64) time.Duration {
	l := slices.Clone(r.latencies)
	slices.Sort(l)
	if len(l) == 0 {
		return 0
	}
	return l[min(len(l)-1, int(float64(len(l))*p/100))]
}

// stormSize is the number of deliveries: def, or SLIPWAY_STORM when set.
func stormSize(t testing.TB, def int) int {
	t.Helper()
	v := os.Getenv("SLIPWAY_STORM")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 100 {
		t.Fatalf("SLIPWAY_STORM=%q: want a number of events, at least 100", v)
	}
	return n
}

// TestEventStorm replays the storm and asserts that it deployed nothing
// twice, never an older image over a newer one, left every service on its
// newest image, every execution ended, and no lock or queue entry behind.
func TestEventStorm(t *testing.T) {
	skipIfShort(t, "replays an event storm against 50 services")
	res := runStorm(t, stormSize(t, 1000), 1)
	t.Logf("storm: %d deliveries of %d events handled in %v: %.0f events/s; trigger handler p50 %v, p99 %v",
		res.deliveries, res.distinct, res.handling.Round(time.Millisecond), res.eventsPerSecond(),
		res.percentile(50).Round(time.Microsecond), res.percentile(99).Round(time.Microsecond))
}

// BenchmarkEventStorm runs one storm of 1,000 deliveries (SLIPWAY_STORM
// to change it) and reports the rate the trigger path handled them at and
// the handler latencies: figures for `make bench`.
func BenchmarkEventStorm(b *testing.B) {
	var res stormResult
	for i := 0; i < b.N; i++ {
		res = runStorm(b, stormSize(b, 1000), uint64(i+1))
	}
	b.ReportMetric(res.eventsPerSecond(), "events/s")
	b.ReportMetric(float64(res.percentile(50).Microseconds())/1000, "trigger-p50-ms")
	b.ReportMetric(float64(res.percentile(99).Microseconds())/1000, "trigger-p99-ms")
}

// runStorm runs one storm of n deliveries, with the random choices of
// seed, and checks its outcome.
func runStorm(t testing.TB, n int, seed uint64) stormResult {
	t.Helper()
	const services, waves, workers = 50, 4, 8
	t.Logf("storm: %d deliveries, seed %d", n, seed)
	rng := rand.New(rand.NewPCG(seed, 14))
	clk := clock.NewVirtual(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	r := startWith(t, endpoint.Options{Specs: os.DirFS(writeWorld(t, services, 0)), SettleTimeout: 8 * time.Minute,
		Config: endpoint.Config{Clock: clk}})
	ctx := context.Background()

	// The storm delivers the ECR and S3 events itself: the rules that
	// deliver them are disabled, so a push or an upload below delivers
	// nothing by itself.
	eb := eventbridge.NewFromConfig(r.AWS)
	functions := map[synth.FunctionKind]string{}
	for _, k := range synth.Kinds() {
		if f, ok := r.Deployed.Stack.Function(k); ok {
			functions[k] = f.Name
		}
	}
	for _, rule := range r.Deployed.Stack.Rules {
		for _, target := range rule.Targets {
			for _, k := range []synth.FunctionKind{synth.KindECRPush, synth.KindSpecUpload} {
				if f, _ := r.Deployed.Stack.Function(k); target.ARN == f.ARN {
					if _, err := eb.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String(rule.Name)}); err != nil {
						t.Fatalf("disable rule %s: %v", rule.Name, err)
					}
				}
			}
		}
	}

	events := stormEvents(t, r, clk, rng, services, n)
	deliveries := stormDeliveries(rng, events, n, waves)

	lc := lambda.NewFromConfig(r.AWS)
	sc := sfn.NewFromConfig(r.AWS)
	res := stormResult{distinct: len(events)}
	var mu sync.Mutex
	for w, wave := range deliveries {
		began := time.Now()
		work := make(chan *stormEvent)
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ev := range work {
					d, err := invokeTrigger(ctx, lc, functions[ev.fn], ev.payload)
					mu.Lock()
					res.latencies = append(res.latencies, d)
					mu.Unlock()
					if err != nil {
						t.Errorf("deliver event %s to %s: %v", ev.id, ev.fn, err)
					}
				}
			}()
		}
		for _, ev := range wave {
			work <- ev
		}
		close(work)
		wg.Wait()
		res.handling += time.Since(began)
		res.deliveries += len(wave)
		// The next wave arrives once every deployment started so far has
		// ended: its events are late, some by hours of simulated time.
		if err := r.WaitExecutions(ctx, func(string) bool { return true }, 0, 5*time.Minute); err != nil {
			t.Fatalf("after wave %d: %v", w+1, err)
		}
	}
	checkStorm(t, r, sc, events)
	return res
}

// invokeTrigger invokes the function name with the event payload as
// EventBridge does, and returns how long the invocation took. A function
// error is retried, as Lambda retries an asynchronous invocation twice.
func invokeTrigger(ctx context.Context, c *lambda.Client, name string, payload []byte) (time.Duration, error) {
	var errs []error
	for range 3 {
		began := time.Now()
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: payload})
		took := time.Since(began)
		switch {
		case err != nil:
			errs = append(errs, err)
		case out.FunctionError != nil:
			errs = append(errs, fmt.Errorf("function error %s: %s", aws.ToString(out.FunctionError), out.Payload))
		default:
			return took, nil
		}
	}
	return 0, errors.Join(errs...)
}

// stormEvents makes the distinct events of a storm of n deliveries (about
// n/3 events, delivered three times on average): pushes of a new image of
// each service, a few rounds of them two simulated seconds apart (events
// carry whole seconds), uploads of each service spec, alarm state changes
// to OK of each service's alarm, and ECS deployment events for the
// deployments of the seeding.
func stormEvents(t testing.TB, r *endpoint.Running, clk *clock.Virtual, rng *rand.Rand, services, n int) []*stormEvent {
	t.Helper()
	ctx := context.Background()
	distinct := max(n/3, 4*services)
	pushes := distinct * 6 / 10 / services
	if pushes < 1 {
		pushes = 1
	}
	envelope := func(source, detailType string, at time.Time, resources []string, detail any) (string, []byte) {
		id := fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff,
			rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff)
		b, err := json.Marshal(map[string]any{"version": "0", "id": id, "detail-type": detailType, "source": source,
			"account": stack.Account, "time": at.UTC().Format(time.RFC3339), "region": r.Region(),
			"resources": resources, "detail": detail})
		if err != nil {
			t.Fatal(err)
		}
		return id, b
	}
	var events []*stormEvent
	release := holdClock(clk)
	defer release()
	s3c := s3.NewFromConfig(r.AWS)
	// upload uploads each spec of keys again, with a comment more (a new
	// version, the same meaning), and makes its Object Created event.
	upload := func(keys []string) {
		for _, key := range keys {
			got, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.Deployed.SpecBucket), Key: aws.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(got.Body)
			got.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			doc := string(body) + "# storm\n"
			put, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(r.Deployed.SpecBucket), Key: aws.String(key),
				Body: strings.NewReader(doc)})
			if err != nil {
				t.Fatal(err)
			}
			_, b := envelope("aws.s3", "Object Created", clk.Now(), []string{"arn:aws:s3:::" + r.Deployed.SpecBucket}, map[string]any{
				"version": "0", "bucket": map[string]any{"name": r.Deployed.SpecBucket},
				"object": map[string]any{"key": key, "size": len(doc), "etag": strings.Trim(aws.ToString(put.ETag), `"`),
					"version-id": aws.ToString(put.VersionId), "sequencer": fmt.Sprintf("%018X", len(events)+1)},
				"request-id": "STORM", "requester": stack.Account, "reason": "PutObject"})
			events = append(events, &stormEvent{fn: synth.KindSpecUpload, payload: b})
		}
	}
	for round := range pushes {
		for i := range services {
			svc := stormService(i)
			tag := fmt.Sprintf("v%d", round+2)
			digest, err := stack.PushImage(ctx, r.AWS, svc, tag)
			if err != nil {
				t.Fatal(err)
			}
			at := clk.Now().Truncate(time.Second)
			id, b := envelope("aws.ecr", "ECR Image Action", at, nil, map[string]any{
				"result": "SUCCESS", "repository-name": svc, "image-digest": digest, "action-type": "PUSH",
				"image-tag": tag, "manifest-media-type": "application/vnd.oci.image.manifest.v1+json"})
			events = append(events, &stormEvent{id: id, fn: synth.KindECRPush, payload: b, service: svc, digest: digest, at: at})
		}
		if err := clk.Sleep(ctx, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		// Halfway through the pushes, each service spec is uploaded again:
		// it redeploys the service with the image it runs when the upload
		// is handled, which may be older than a push made before the upload
		// whose event is still on its way, and newer than one made after.
		// The engine orders images by push and specs by upload
		// (workflow.Order), so both the newest image and the newest spec
		// must end up deployed.
		if round == pushes/2 {
			var keys []string
			for i := range services {
				keys = append(keys, "services/"+stormService(i)+".yaml")
			}
			upload(keys)
			if err := clk.Sleep(ctx, 2*time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Then each environment spec again (deployOnChange is off: validated
	// and accepted, nothing deployed).
	var keys []string
	for range services / len(stormEnvironments) {
		for _, env := range stormEnvironments {
			keys = append(keys, "environments/"+env+".yaml")
		}
	}
	upload(keys)
	ec := ecs.NewFromConfig(r.AWS)
	for i := range services {
		svc, env := stormService(i), stormEnvOf(i)
		alarm := svc + "-" + env + "-errors"
		_, b := envelope("aws.cloudwatch", "CloudWatch Alarm State Change", clk.Now(),
			[]string{fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", r.Region(), stack.Account, alarm)}, map[string]any{
				"alarmName":     alarm,
				"previousState": map[string]any{"value": "INSUFFICIENT_DATA", "reason": "storm"},
				"state":         map[string]any{"value": "OK", "reason": "storm"}})
		events = append(events, &stormEvent{fn: synth.KindSignal, payload: b, service: svc})
		out, err := ec.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(env), Services: []string{svc}})
		if err != nil || len(out.Services) != 1 {
			t.Fatalf("DescribeServices %s/%s: %v", env, svc, err)
		}
		for _, d := range out.Services[0].Deployments {
			for _, name := range []string{"SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED"} {
				_, b := envelope("aws.ecs", "ECS Deployment State Change", clk.Now(), []string{aws.ToString(out.Services[0].ServiceArn)},
					map[string]any{"eventType": "INFO", "eventName": name, "deploymentId": aws.ToString(d.Id),
						"updatedAt": clk.Now().UTC().Format(time.RFC3339Nano), "reason": "storm"})
				events = append(events, &stormEvent{fn: synth.KindSignal, payload: b, service: svc})
			}
		}
	}
	return events
}

// stormDeliveries delivers each event one to five times (every event at
// least once, n deliveries in all when there are enough) and spreads the
// deliveries over waves in random order.
func stormDeliveries(rng *rand.Rand, events []*stormEvent, n, waves int) [][]*stormEvent {
	var all []*stormEvent
	for _, ev := range events {
		all = append(all, ev)
	}
	for len(all) < n {
		extra := false
		for _, ev := range events {
			if len(all) >= n {
				break
			}
			if k := 1 + rng.IntN(5); countOfEvent(all, ev) < k {
				all = append(all, ev)
				extra = true
			}
		}
		if !extra {
			break
		}
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	out := make([][]*stormEvent, waves)
	for i, ev := range all {
		out[i*waves/len(all)] = append(out[i*waves/len(all)], ev)
	}
	return out
}

func countOfEvent(all []*stormEvent, ev *stormEvent) int {
	n := 0
	for _, x := range all {
		if x == ev {
			n++
		}
	}
	return n
}

// checkStorm checks the end state of a storm: one execution per push (and
// per service it concerns), every execution ended as Deployed or
// Superseded, the deployments of each service in the order of their
// pushes, every service on its newest image, no lock or queue entry left.
func checkStorm(t testing.TB, r *endpoint.Running, c *sfn.Client, events []*stormEvent) {
	t.Helper()
	ctx := context.Background()
	newest := map[string]*stormEvent{}
	pushes := map[string]*stormEvent{}
	for _, ev := range events {
		if ev.fn != synth.KindECRPush {
			continue
		}
		pushes[ev.id] = ev
		if cur := newest[ev.service]; cur == nil || ev.at.After(cur.at) {
			newest[ev.service] = ev
		}
	}

	// One execution per push event, each ended.
	started := map[string]int{}
	all, err := endpoint.ListExecutions(ctx, c, r.Deployed.StateMachineARN)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range all {
		out, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: x.ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status == sfntypes.ExecutionStatusRunning {
			t.Errorf("execution %s still running", aws.ToString(x.Name))
		}
		var in workflow.State
		if err := json.Unmarshal([]byte(aws.ToString(out.Input)), &in); err != nil {
			t.Fatalf("input of %s: %v", aws.ToString(x.Name), err)
		}
		ev, ok := pushes[in.Request.Trigger.Source]
		if !ok {
			continue // a deployment of the seeding
		}
		started[ev.id]++
		if out.Status != sfntypes.ExecutionStatusSucceeded {
			t.Errorf("execution %s (push %s of %s) ended %s, want SUCCEEDED (Deployed or Superseded): nothing failed",
				aws.ToString(x.Name), ev.digest, ev.service, out.Status)
		}
	}
	// One execution per push, however often it is delivered, and whatever
	// spec uploads were accepted between its deliveries (the name of an
	// event's execution leaves the spec versions out).
	for id, ev := range pushes {
		if started[id] != 1 {
			t.Errorf("push %s of %s (event %s) started %d executions, want 1", ev.digest, ev.service, id, started[id])
		}
	}

	st := stateStore(r)
	ec := ecs.NewFromConfig(r.AWS)
	s3c := s3.NewFromConfig(r.AWS)
	for i := range len(newest) {
		svc, env := stormService(i), stormEnvOf(i)
		// The history: no event deployed twice, and the deployments that
		// changed the service in the order of their requests.
		hist, err := st.History(ctx, env, svc, 0)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		var deployed []store.HistoryEntry
		for _, h := range hist {
			if h.Outcome == workflow.OutcomeDeployed {
				seen[h.Trigger.Source]++
				deployed = append(deployed, h)
			}
		}
		for source, k := range seen {
			if k > 1 {
				t.Errorf("%s/%s: event %s deployed %d times, want once; history, newest first:\n%s", env, svc, source, k, historyLines(hist))
			}
		}
		// Images in the order of their pushes, specs in the order of their
		// uploads: a spec upload redeploys an older image than a push it
		// is newer than, so one request time cannot order them.
		slices.SortFunc(deployed, func(a, b store.HistoryEntry) int { return a.EndedAt.Compare(b.EndedAt) })
		for j := 1; j < len(deployed); j++ {
			a, b := deployed[j-1].Order(), deployed[j].Order()
			if b.Behind(a) != 0 {
				t.Errorf("%s/%s: %s (%s, order %+v) deployed after %s (%s, order %+v): older over newer",
					env, svc, deployed[j].Image, deployed[j].Trigger.Kind, b, deployed[j-1].Image, deployed[j-1].Trigger.Kind, a)
			}
		}
		// ECS runs the newest push.
		want := newest[svc]
		out, err := ec.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(env), Services: []string{svc}})
		if err != nil || len(out.Services) != 1 {
			t.Fatalf("DescribeServices %s/%s: %v", env, svc, err)
		}
		td, err := ec.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: out.Services[0].TaskDefinition})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(td.TaskDefinition.ContainerDefinitions[0].Image); !strings.HasSuffix(got, "@"+want.digest) {
			t.Errorf("%s/%s runs %s, want its newest push %s", env, svc, got, want.digest)
		}
		if len(deployed) == 0 || !strings.HasSuffix(deployed[len(deployed)-1].Image, "@"+want.digest) {
			t.Errorf("%s/%s: the last deployment in the history is not the newest push %s; history, newest first:\n%s",
				env, svc, want.digest, historyLines(hist))
		}
		// ECS runs the newest service spec too: the storm uploaded each
		// once more, halfway through the pushes.
		head, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(r.Deployed.SpecBucket),
			Key: aws.String("services/" + svc + ".yaml")})
		if err != nil {
			t.Fatal(err)
		}
		if latest := aws.ToString(head.VersionId); len(deployed) == 0 || deployed[len(deployed)-1].Pins.SpecVersion != latest {
			t.Errorf("%s/%s: the last deployment did not deploy the newest service spec version %s; history, newest first:\n%s",
				env, svc, latest, historyLines(hist))
		}
	}
	// No lock and no queue entry left.
	for _, prefix := range []string{"locks/", "queue/"} {
		out, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(r.Deployed.StateBucket), Prefix: aws.String(prefix)})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			t.Errorf("left behind: %s", aws.ToString(o.Key))
		}
	}
}

// historyLines formats history entries one a line, for a failure message.
func historyLines(hist []store.HistoryEntry) string {
	var b strings.Builder
	for _, h := range hist {
		fmt.Fprintf(&b, "  %s %s spec %s requested %s ended %s %s %s execution %s\n", h.Outcome, h.Image[strings.LastIndex(h.Image, "@")+1:],
			h.Pins.SpecVersion, h.RequestedAt.Format(time.TimeOnly), h.EndedAt.Format(time.TimeOnly), h.Trigger.Kind, h.Trigger.Source, h.Execution)
	}
	return b.String()
}
