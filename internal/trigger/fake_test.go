package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	sfnapi "github.com/slipwayhq/slipway/internal/awsapi/sfn"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// Hand-written fakes of the store, Step Functions and EventBridge, with just
// enough behaviour for the handlers: versioned specs, an index written with
// If-Match, watches, and executions whose names stay taken.

type specVersion struct {
	id   string
	body []byte
}

type fakeStore struct {
	mu         sync.Mutex
	specs      map[string][]specVersion // by key, oldest first
	index      store.Index
	etag       int
	rejections []store.Rejection
	accepted   map[string]store.AcceptedSpec // by key
	// acceptedReads counts AcceptedSpec calls, by key.
	acceptedReads map[string]int
	watches       []store.Watch
	history       map[string][]store.HistoryEntry // by "env/service", newest first

	// conflicts makes the next PutIndex calls lose to a concurrent writer,
	// which runs concurrent before the loss is reported.
	conflicts  int
	concurrent func(*store.Index)
	err        error // returned by every read when set
}

func newFakeStore() *fakeStore {
	return &fakeStore{specs: map[string][]specVersion{}, index: store.Index{Entries: map[string]store.IndexEntry{}}}
}

// deployed records a successful deployment of image, as Finalize would.
func (f *fakeStore) deployed(env, svc, image string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.history == nil {
		f.history = map[string][]store.HistoryEntry{}
	}
	k := env + "/" + svc
	e := store.HistoryEntry{Service: svc, Environment: env, Image: image, Outcome: workflow.OutcomeDeployed}
	f.history[k] = append([]store.HistoryEntry{e}, f.history[k]...)
}

// History returns the recorded deployments of svc in env, newest first.
func (f *fakeStore) History(_ context.Context, env, svc string, limit int) ([]store.HistoryEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	h := f.history[env+"/"+svc]
	if len(h) > limit {
		h = h[:limit]
	}
	return h, nil
}

// put adds a version of the spec at key.
func (f *fakeStore) put(key, version string, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.specs[key] = append(f.specs[key], specVersion{id: version, body: body})
}

func (f *fakeStore) SpecObject(_ context.Context, key, version string) (store.SpecObject, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return store.SpecObject{}, f.err
	}
	vs := f.specs[key]
	for i := len(vs) - 1; i >= 0; i-- {
		if version == "" || vs[i].id == version {
			return store.SpecObject{Key: key, Version: vs[i].id, ETag: "e-" + vs[i].id, Body: vs[i].body}, nil
		}
	}
	return store.SpecObject{}, fmt.Errorf("read spec %s version %s: %w", key, version, store.ErrNotFound)
}

func (f *fakeStore) ListSpecs(_ context.Context, prefix string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []string
	for k, vs := range f.specs {
		if strings.HasPrefix(k, prefix) && len(vs) > 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

func (f *fakeStore) Index(context.Context) (store.Index, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return store.Index{}, "", f.err
	}
	cp := store.Index{Entries: map[string]store.IndexEntry{}}
	for k, v := range f.index.Entries {
		cp.Entries[k] = v
	}
	etag := ""
	if f.etag > 0 {
		etag = fmt.Sprintf("etag-%d", f.etag)
	}
	return cp, etag, nil
}

func (f *fakeStore) PutIndex(_ context.Context, idx store.Index, etag string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conflicts > 0 {
		f.conflicts--
		if f.concurrent != nil {
			f.concurrent(&f.index)
		}
		f.etag++
	}
	current := ""
	if f.etag > 0 {
		current = fmt.Sprintf("etag-%d", f.etag)
	}
	if etag != current {
		return fmt.Errorf("write repository index: %w", store.ErrConflict)
	}
	f.index = idx
	f.etag++
	return nil
}

func (f *fakeStore) PutRejection(_ context.Context, r store.Rejection) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejections = append(f.rejections, r)
	return nil
}

func (f *fakeStore) WatchesForAlarm(_ context.Context, alarm string) ([]store.Watch, error) {
	return f.findWatches(func(w store.Watch) bool { return slices.Contains(w.Alarms, alarm) })
}

func (f *fakeStore) WatchesForECSDeployment(_ context.Context, id string) ([]store.Watch, error) {
	return f.findWatches(func(w store.Watch) bool { return w.ECSDeployment == id || w.ServiceDeployment == id })
}

func (f *fakeStore) findWatches(match func(store.Watch) bool) ([]store.Watch, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out []store.Watch
	for _, w := range f.watches {
		if match(w) {
			out = append(out, w)
		}
	}
	return out, nil
}

func (f *fakeStore) DeleteWatch(_ context.Context, w store.Watch) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watches = slices.DeleteFunc(f.watches, func(x store.Watch) bool { return x.Token == w.Token })
	return nil
}

func (f *fakeStore) watchTokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, w := range f.watches {
		out = append(out, w.Token)
	}
	return out
}

// loadSpecs puts every file of testdata/specs into the store as version
// "<name>-v1".
func (f *fakeStore) loadSpecs(t *testing.T) {
	t.Helper()
	root := os.DirFS("testdata/specs")
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		ref, err := ParseSpecKey(p)
		if err != nil {
			return err
		}
		f.put(p, ref.Name+"-v1", body)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// execution is one StartExecution call.
type execution struct {
	stateMachine, name string
	input              workflow.State
}

type fakeSFN struct {
	mu      sync.Mutex
	created map[string]execution // executions by name: names stay taken
	calls   int
	failFor string // StartExecution fails for this service

	sent   []sentTask
	closed map[string]bool  // tokens whose task is closed
	broken map[string]error // tokens whose send fails
}

// sentTask is one SendTaskSuccess (output set) or SendTaskFailure (cause set).
type sentTask struct {
	token  string
	output any
	cause  error
}

func newFakeSFN() *fakeSFN {
	return &fakeSFN{created: map[string]execution{}, closed: map[string]bool{}, broken: map[string]error{}}
}

func (f *fakeSFN) StartExecution(_ context.Context, sm, name string, input any) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	// The input goes over the wire as JSON: decode it as Step Functions
	// would hand it to the first state.
	b, err := json.Marshal(input)
	if err != nil {
		return "", false, err
	}
	var st workflow.State
	if err := json.Unmarshal(b, &st); err != nil {
		return "", false, err
	}
	if f.failFor != "" && st.Service == f.failFor {
		return "", false, &workflow.Transient{Op: "StartExecution", Err: errors.New("ThrottlingException")}
	}
	arn := "arn:aws:states:eu-west-1:123456789012:execution:deploy:" + name
	if _, ok := f.created[name]; ok {
		return arn, true, nil
	}
	f.created[name] = execution{stateMachine: sm, name: name, input: st}
	return arn, false, nil
}

func (f *fakeSFN) executions() []execution {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []execution
	for _, e := range f.created {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b execution) int {
		return strings.Compare(a.input.Service+"/"+a.input.Environment, b.input.Service+"/"+b.input.Environment)
	})
	return out
}

func (f *fakeSFN) send(token string, output any, cause error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.broken[token]; err != nil {
		return err
	}
	if f.closed[token] {
		return fmt.Errorf("send task result: %w", sfnapi.ErrTaskClosed)
	}
	f.sent = append(f.sent, sentTask{token: token, output: output, cause: cause})
	f.closed[token] = true
	return nil
}

func (f *fakeSFN) SendTaskSuccess(_ context.Context, token string, output any) error {
	return f.send(token, output, nil)
}

func (f *fakeSFN) SendTaskFailure(_ context.Context, token string, cause error) error {
	return f.send(token, nil, cause)
}

type published struct {
	detailType string
	detail     any
}

type fakeEvents struct {
	events []published
	err    error
}

func (f *fakeEvents) Publish(_ context.Context, detailType string, detail any) error {
	if f.err != nil {
		return f.err
	}
	f.events = append(f.events, published{detailType, detail})
	return nil
}

// logs captures a handler's JSON log lines.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func newLogger() (*slog.Logger, *logs) {
	l := &logs{}
	return slog.New(slog.NewJSONHandler(l, nil)), l
}

// records returns every log record as a map.
func (l *logs) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(l.buf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// find returns the first record whose message contains msg, failing the test
// when there is none.
func (l *logs) find(t *testing.T, msg string) map[string]any {
	t.Helper()
	for _, r := range l.records(t) {
		if s, _ := r["msg"].(string); strings.Contains(s, msg) {
			return r
		}
	}
	t.Fatalf("no log line contains %q; got:\n%s", msg, l.buf.String())
	return nil
}

var testConfig = Config{
	SpecBucket:      "slipway-specs-123456789012-eu-west-1",
	StateBucket:     "slipway-state-123456789012-eu-west-1",
	StateMachineARN: "arn:aws:states:eu-west-1:123456789012:stateMachine:deploy",
	EventBus:        DefaultEventBus,
}
