package trigger

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	"github.com/slipwayhq/slipway/internal/awsapi/s3/s3test"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// These tests run the handlers over the real store, itself over the real SDK
// S3 client and an in-memory S3, so the handlers and the store are checked
// against each other: version ids, the index's conditional writes, watches.

type realRig struct {
	srv    *s3test.Server
	store  *store.Store
	sfn    *fakeSFN
	events *fakeEvents
	logs   *logs
	upload *SpecUpload
	push   *ECRPush
	signal *Signal
}

func newRealRig(t *testing.T) *realRig {
	t.Helper()
	srv := s3test.NewServer(t)
	srv.CreateBucket(testConfig.SpecBucket, true)
	srv.CreateBucket(testConfig.StateBucket, false)
	r := &realRig{srv: srv, store: store.New(s3api.New(srv.Client()), testConfig.SpecBucket, testConfig.StateBucket),
		sfn: newFakeSFN(), events: &fakeEvents{}}
	log, logs := newLogger()
	r.logs = logs
	r.upload = NewSpecUpload(r.store, r.sfn, r.events, testConfig, log)
	r.push = NewECRPush(r.store, r.sfn, testConfig, log)
	r.signal = NewSignal(r.store, r.sfn, testConfig, log)
	return r
}

// putSpec uploads a spec as a user would and returns the Object Created
// event S3 sends for it.
func (r *realRig) putSpec(t *testing.T, key string, body []byte) []byte {
	t.Helper()
	if _, err := r.srv.Put(testConfig.SpecBucket, key, body); err != nil {
		t.Fatal(err)
	}
	obj, err := r.store.SpecObject(context.Background(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	return edit(t, "s3-object-created-service.json", func(d map[string]any) {
		o := detail(d)["object"].(map[string]any)
		o["key"] = key
		o["version-id"] = obj.Version
	})
}

func TestRealStoreSyncThenPush(t *testing.T) {
	ctx := context.Background()
	r := newRealRig(t)

	// `aws s3 sync` of the spec root: environments/ sorts before services/.
	var events [][]byte
	root := os.DirFS("testdata/specs")
	for _, dir := range []string{"environments", "services"} {
		entries, err := fs.ReadDir(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			body, err := fs.ReadFile(root, dir+"/"+e.Name())
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, r.putSpec(t, dir+"/"+e.Name(), body))
		}
	}
	for _, ev := range events {
		if err := r.upload.Handle(ctx, ev); err != nil {
			t.Fatalf("spec upload: %v", err)
		}
	}
	if len(r.events.events) != 0 {
		t.Fatalf("got rejections %+v, want none", r.events.events)
	}
	idx, _, err := r.store.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	web, err := r.store.ServiceSpec(ctx, "web", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := idx.Entries["web"].SpecVersion; got != web.Version || got == "" {
		t.Errorf("got indexed web version %q, want the uploaded %q", got, web.Version)
	}
	if n := len(r.sfn.executions()); n != 0 {
		t.Errorf("got %d executions after the first sync, want none: no service runs an image yet", n)
	}

	// A push of web deploys the pushed digest with the indexed spec version.
	if err := r.push.Handle(ctx, sample(t, "ecr-push.json")); err != nil {
		t.Fatal(err)
	}
	var pushed *workflow.Request
	for _, e := range r.sfn.executions() {
		if e.input.Trigger.Kind == workflow.TriggerECRPush {
			pushed = &e.input.Request
		}
	}
	if pushed == nil {
		t.Fatal("the push started no execution")
	}
	if pushed.SpecVersion != web.Version || pushed.Image != "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@"+pushedDigest || pushed.Environment != "staging" {
		t.Errorf("got %+v, want web@digest in staging with spec version %s", pushed, web.Version)
	}
}

func TestRealStoreRejectionIsRecorded(t *testing.T) {
	ctx := context.Background()
	r := newRealRig(t)
	for _, key := range []string{"environments/staging.yaml", "environments/prod.yaml"} {
		body, err := os.ReadFile("testdata/specs/" + key)
		if err != nil {
			t.Fatal(err)
		}
		r.putSpec(t, key, body)
	}
	body := strings.Replace(specFile(t, "services/web.yaml"), "pipeline: [staging, prod]", "pipeline: [staging, staging]", 1)
	ev := r.putSpec(t, "services/web.yaml", []byte(body))
	if err := r.upload.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	web, err := r.store.ServiceSpec(ctx, "web", "")
	if err != nil {
		t.Fatal(err)
	}
	rej, err := r.store.Rejection(ctx, "services/web.yaml", web.Version)
	if err != nil {
		t.Fatalf("read the rejection: %v", err)
	}
	if !slices.ContainsFunc(rej.Problems, func(p string) bool { return strings.Contains(p, "pipeline[1]") && strings.Contains(p, "listed twice") }) {
		t.Errorf("got problems %q, want the duplicate pipeline entry named", rej.Problems)
	}
	idx, _, err := r.store.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := idx.Entries["web"]; ok {
		t.Error("a rejected spec was indexed")
	}
	if r.sfn.calls != 0 {
		t.Errorf("got %d starts, want none", r.sfn.calls)
	}
}

func TestRealStoreSignal(t *testing.T) {
	ctx := context.Background()
	r := newRealRig(t)
	for _, w := range watches() {
		if err := r.store.PutWatch(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.signal.Handle(ctx, sample(t, "alarm-state-change.json")); err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for _, s := range r.sfn.sent {
		var af *workflow.AlarmFired
		if !errors.As(s.cause, &af) {
			t.Errorf("token %s: got %v, want AlarmFired", s.token, s.cause)
		}
		tokens = append(tokens, s.token)
	}
	slices.Sort(tokens)
	if diff := cmp.Diff([]string{"t-bake", "t-stable"}, tokens); diff != "" {
		t.Errorf("failed tokens (-want +got):\n%s", diff)
	}
	left, err := r.store.WatchesForAlarm(ctx, "web-5xx")
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("got %d watches left on web-5xx, want none", len(left))
	}
	// The ECS completion that follows finds no watch: the stable wait's
	// watch went with the alarm.
	if err := r.signal.Handle(ctx, sample(t, "ecs-deployment-completed.json")); err != nil {
		t.Fatal(err)
	}
	if len(r.sfn.sent) != 2 {
		t.Errorf("got %d results sent, want still 2", len(r.sfn.sent))
	}
}
