package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// DetailTypeSpecRejected is the detail type of the event published when an
// uploaded spec is rejected; its detail is a SpecRejected.
const DetailTypeSpecRejected = "Spec Rejected"

// SpecRejected is the detail of a "Spec Rejected" event.
type SpecRejected struct {
	Key      string   `json:"key"`
	Version  string   `json:"version"`
	Problems []string `json:"problems"`
}

// specStore is what the spec-upload handler reads and writes; *store.Store
// implements it.
type specStore interface {
	SpecObject(ctx context.Context, key, version string) (store.SpecObject, error)
	ListSpecs(ctx context.Context, prefix string) ([]string, error)
	Index(ctx context.Context) (store.Index, string, error)
	PutIndex(ctx context.Context, idx store.Index, etag string) error
	PutRejection(ctx context.Context, r store.Rejection) error
	Rejection(ctx context.Context, key, version string) (store.Rejection, error)
	AcceptedSpec(ctx context.Context, key string) (store.AcceptedSpec, error)
	PutAcceptedSpec(ctx context.Context, a store.AcceptedSpec) error
	History(ctx context.Context, env, svc string, limit int) ([]store.HistoryEntry, error)
}

// publisher publishes Slipway's own events; *eventbridge.Client implements it.
type publisher interface {
	Publish(ctx context.Context, detailType string, detail any) error
}

// indexAttempts bounds the read-modify-write loop on the index.
const indexAttempts = 5

// SpecUpload handles S3 "Object Created" events of the spec bucket. An
// uploaded spec is validated with the specs it works with; an invalid one is
// recorded as a rejection with every problem, announced as a "Spec
// Rejected" event, and nothing deploys. A valid service spec updates the
// repository index and deploys the service's current image with the new spec
// in the first environment of its pipeline. A valid environment spec deploys
// the services that use it, when the environment says deployOnChange.
type SpecUpload struct {
	store        specStore
	executions   executionStarter
	events       publisher
	specBucket   string
	stateMachine string
	origin       Origin
	log          *slog.Logger
	now          func() time.Time
}

// NewSpecUpload returns the handler. st is normally a *store.Store,
// executions an *sfn.Client, events an *eventbridge.Client.
func NewSpecUpload(st specStore, executions executionStarter, events publisher, cfg Config, log *slog.Logger) *SpecUpload {
	return &SpecUpload{store: st, executions: executions, events: events, specBucket: cfg.SpecBucket,
		stateMachine: cfg.StateMachineARN, origin: cfg.Origin(), log: log, now: time.Now}
}

// upload is one accepted Object Created event.
type upload struct {
	ref     SpecRef
	version string
	actor   string
	// at is the event's time: when the deployments it asks for were
	// requested (workflow.Request.RequestedAt).
	at  time.Time
	log *slog.Logger
}

// Handle processes one event. It returns an error only when retrying may
// help (S3, Step Functions or EventBridge failed); a malformed or irrelevant
// event is logged and dropped, an invalid spec is rejected.
func (h *SpecUpload) Handle(ctx context.Context, event json.RawMessage) error {
	ev, err := ParseObjectCreated(event)
	if err != nil {
		h.log.Warn("event dropped", "error", err.Error())
		return nil
	}
	if !fromOrigin(h.origin, h.log, ev) {
		return nil
	}
	d := ev.Detail
	log := h.log.With("event", ev.ID, "bucket", d.Bucket.Name, "object", d.Object.Key, "version", d.Object.VersionID)
	if d.Bucket.Name != h.specBucket {
		log.Info(fmt.Sprintf("object of bucket %s, not the spec bucket %s: ignored", d.Bucket.Name, h.specBucket))
		return nil
	}
	ref, err := ParseSpecKey(d.Object.Key)
	var notSpec *NotSpec
	switch {
	case errors.As(err, &notSpec):
		log.Info(notSpec.Error() + ": ignored")
		return nil
	case err != nil:
		log.Warn("event dropped", "error", err.Error())
		return nil
	}
	up := upload{ref: ref, version: d.Object.VersionID, actor: d.Requester, at: ev.Time,
		log: log.With("key", ref.Key, string(ref.Kind), ref.Name)}

	// A file over the limit is refused on the event's word, before it is
	// read; the read below checks again (the size S3 returns, the body).
	if d.Object.Size > store.MaxSpecSize {
		return h.reject(ctx, up, []string{tooLargeProblem(ref.Key, d.Object.Size)})
	}

	// Events arrive late and out of order: act only on the latest version.
	// An older upload's event must neither index nor deploy an older spec.
	latest, err := h.store.SpecObject(ctx, ref.Key, "")
	var tooLarge *s3api.TooLargeError
	switch {
	case errors.As(err, &tooLarge) && d.Object.Size > 0:
		// This version is within the limit (the event says so): the
		// latest is another, larger one, whose own event rejects it.
		up.log.Info(fmt.Sprintf("version %s superseded by a version over the size limit: ignored, the newer upload's event handles it", up.version))
		return nil
	case errors.As(err, &tooLarge):
		return h.reject(ctx, up, []string{tooLargeProblem(ref.Key, tooLarge.Size)})
	case errors.Is(err, store.ErrNotFound):
		return h.reject(ctx, up, []string{fmt.Sprintf("%s: deleted after version %s was uploaded; nothing deployed", ref.Key, up.version)})
	case err != nil:
		return fmt.Errorf("spec upload %s: %w", ref.Key, err)
	case latest.Version != up.version:
		up.log.Info(fmt.Sprintf("version %s superseded by %s: ignored, the newer upload's event handles it", up.version, latest.Version))
		return nil
	}

	if ref.Kind == SpecService {
		return h.service(ctx, up, latest.Body)
	}
	return h.environment(ctx, up, latest.Body)
}

// service validates and accepts an uploaded service spec.
func (h *SpecUpload) service(ctx context.Context, up upload, body []byte) error {
	svc, err := spec.ParseService(up.ref.Key, body)
	if err != nil {
		return h.reject(ctx, up, problemStrings(err))
	}
	idx, _, err := h.store.Index(ctx)
	if err != nil {
		return fmt.Errorf("spec upload %s: %w", up.ref.Key, err)
	}
	set, versions, err := h.loadSet(ctx, idx, up.ref)
	if err != nil {
		return fmt.Errorf("spec upload %s: %w", up.ref.Key, err)
	}
	problems, pending := introduced(set, up.ref, svc)
	if len(problems) > 0 {
		return h.reject(ctx, up, problems)
	}
	up.logPending(pending)

	if err := h.updateIndex(ctx, IndexEntry(svc, up.version)); err != nil {
		return fmt.Errorf("spec upload %s: %w", up.ref.Key, err)
	}
	if err := h.accept(ctx, up); err != nil {
		return err
	}
	up.log.Info(fmt.Sprintf("service %s accepted: index updated", svc.Name), "service", svc.Name)

	if len(svc.Pipeline) == 0 {
		up.log.Info(fmt.Sprintf("service %s has no pipeline: nothing to deploy", svc.Name), "service", svc.Name)
		return nil
	}
	// Image empty: Prepare deploys the image the service runs now, with the
	// new spec and the environment it was validated with: the version
	// accepted last, not a later one that was rejected.
	return h.start(ctx, up, workflow.Request{
		Service:                svc.Name,
		Environment:            svc.Pipeline[0],
		SpecVersion:            up.version,
		EnvironmentSpecVersion: versions[EnvironmentsPrefix+svc.Pipeline[0]+".yaml"],
		Reason:                 fmt.Sprintf("spec %s updated", up.ref.Key),
	})
}

// environment validates an uploaded environment spec with every service that
// uses it and deploys them if the environment asks for it.
func (h *SpecUpload) environment(ctx context.Context, up upload, body []byte) error {
	env, err := spec.ParseEnvironment(up.ref.Key, body)
	if err != nil {
		return h.reject(ctx, up, problemStrings(err))
	}
	idx, _, err := h.store.Index(ctx)
	if err != nil {
		return fmt.Errorf("spec upload %s: %w", up.ref.Key, err)
	}
	set, _, err := h.loadSet(ctx, idx, up.ref)
	if err != nil {
		return fmt.Errorf("spec upload %s: %w", up.ref.Key, err)
	}
	problems, pending := introduced(set, up.ref, env)
	if len(problems) > 0 {
		return h.reject(ctx, up, problems)
	}
	up.logPending(pending)
	if err := h.accept(ctx, up); err != nil {
		return err
	}

	var users []store.IndexEntry
	for _, name := range slices.Sorted(maps.Keys(idx.Entries)) {
		e := idx.Entries[name]
		if _, ok := set.Services[name]; ok && slices.Contains(e.Pipeline, env.Name) {
			users = append(users, e)
		}
	}
	if !env.DeployOnChange {
		up.log.Info(fmt.Sprintf("environment %s accepted; deployOnChange is off: services not redeployed", env.Name),
			"environment", env.Name, "services", serviceNames(users))
		return nil
	}
	if len(users) == 0 {
		up.log.Info(fmt.Sprintf("environment %s accepted; no service deploys to it", env.Name), "environment", env.Name)
		return nil
	}
	var errs []error
	for _, e := range users {
		errs = append(errs, h.start(ctx, up, workflow.Request{
			Service:                e.Service,
			Environment:            env.Name,
			SpecVersion:            e.SpecVersion,
			EnvironmentSpecVersion: up.version,
			Reason:                 fmt.Sprintf("environment spec %s updated", up.ref.Key),
		}))
	}
	return errors.Join(errs...)
}

// historyDepth is how many history entries are searched for the revision a
// service runs now.
const historyDepth = 50

// start starts one deployment asked for by the upload: the image the service
// runs now, with the new specs. A service never deployed to the environment
// runs no image yet, so there is nothing to redeploy: its first deployment
// comes from an image push (or a manual start naming an image).
func (h *SpecUpload) start(ctx context.Context, up upload, req workflow.Request) error {
	entries, err := h.store.History(ctx, req.Environment, req.Service, historyDepth)
	if err != nil {
		return fmt.Errorf("spec upload %s: %w", up.ref.Key, err)
	}
	if _, ok := store.LastDeployed(entries); !ok {
		up.log.Info(fmt.Sprintf("%s has never been deployed to %s: nothing to redeploy; push an image to deploy it",
			req.Service, req.Environment), "service", req.Service, "environment", req.Environment)
		return nil
	}
	req.Trigger = workflow.Trigger{Kind: workflow.TriggerSpecUpload, Source: up.ref.Key + "@" + up.version, Actor: up.actor}
	req.RequestedAt = up.at
	s, err := start(ctx, h.executions, h.stateMachine, req)
	if err != nil {
		return err
	}
	up.log.Info(s.message(), "service", req.Service, "environment", req.Environment, "execution", s.name, "arn", s.arn)
	return nil
}

// logPending logs each reference of the accepted upload to a file not
// uploaded yet (introduced's pending).
func (up upload) logPending(pending []string) {
	for _, p := range pending {
		up.log.Info("accepted with a reference to a file not uploaded yet: checked when it is", "pending", p)
	}
}

// accept records the uploaded version as the accepted one, which later
// uploads of other files are validated against.
func (h *SpecUpload) accept(ctx context.Context, up upload) error {
	a := store.AcceptedSpec{Key: up.ref.Key, Version: up.version, At: h.now().UTC()}
	if err := h.store.PutAcceptedSpec(ctx, a); err != nil {
		return fmt.Errorf("spec upload %s: %w", up.ref.Key, err)
	}
	return nil
}

// tooLargeProblem says that a spec file is over the size limit; size < 0
// is unknown.
func tooLargeProblem(key string, size int64) string {
	over := "more than"
	if size >= 0 {
		over = fmt.Sprintf("%d bytes, more than", size)
	}
	return fmt.Sprintf("%s: the file is %s the limit of %d bytes (1 MiB) per spec file; split it or move large values out of the spec; nothing deployed",
		key, over, store.MaxSpecSize)
}

// reject records the rejection of the uploaded version and announces it.
// Both writes are idempotent, so a retry after a failure repeats them safely.
func (h *SpecUpload) reject(ctx context.Context, up upload, problems []string) error {
	r := store.Rejection{Key: up.ref.Key, Version: up.version, Problems: problems, At: h.now().UTC()}
	if err := h.store.PutRejection(ctx, r); err != nil {
		return fmt.Errorf("reject %s version %s: %w", up.ref.Key, up.version, err)
	}
	detail := SpecRejected{Key: up.ref.Key, Version: up.version, Problems: problems}
	if err := h.events.Publish(ctx, DetailTypeSpecRejected, detail); err != nil {
		return fmt.Errorf("reject %s version %s: %w", up.ref.Key, up.version, err)
	}
	up.log.Warn(fmt.Sprintf("spec %s rejected: nothing deployed", up.ref.Key), "problems", problems)
	return nil
}

// updateIndex writes entry into the index. The index is shared by every
// upload, so the write is conditional on the version read (If-Match) and
// retried from a fresh read when another writer got there first.
func (h *SpecUpload) updateIndex(ctx context.Context, entry store.IndexEntry) error {
	for range indexAttempts {
		idx, etag, err := h.store.Index(ctx)
		if err != nil {
			return err
		}
		if idx.Entries == nil {
			idx.Entries = map[string]store.IndexEntry{}
		}
		idx.Entries[entry.Service] = entry
		err = h.store.PutIndex(ctx, idx, etag)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return &workflow.Transient{Op: "update repository index", Err: fmt.Errorf("still changing after %d attempts: %w", indexAttempts, store.ErrConflict)}
}

// loadSet reads the specs the uploaded one is validated with: every other
// file at the version last accepted (the index's version for a service,
// the recorded one for an environment), so a file that was rejected since
// plays no part. A file with no accepted version (uploaded before versions
// were recorded, or its event not handled yet) is read at its latest
// version unless that version was rejected. A file that is too large or no
// longer parses is left out too: its problems are its own, reported when it
// was uploaded. The uploaded file itself is left out; introduced adds it.
// versions maps each environment read at an accepted version to that
// version.
func (h *SpecUpload) loadSet(ctx context.Context, idx store.Index, uploaded SpecRef) (*spec.Set, map[string]string, error) {
	set := &spec.Set{Services: map[string]*spec.Service{}, Environments: map[string]*spec.Environment{}}
	versions := map[string]string{}
	for _, prefix := range []string{ServicesPrefix, EnvironmentsPrefix} {
		keys, err := h.store.ListSpecs(ctx, prefix)
		if err != nil {
			return nil, nil, err
		}
		for _, key := range keys {
			ref, err := ParseSpecKey(key)
			if err != nil || ref.Key == uploaded.Key || (ref.Kind == uploaded.Kind && ref.Name == uploaded.Name) {
				continue
			}
			version, err := h.acceptedVersion(ctx, idx, ref)
			if err != nil {
				return nil, nil, err
			}
			obj, err := h.store.SpecObject(ctx, ref.Key, version)
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrTooLarge) {
				continue
			}
			if err != nil {
				return nil, nil, err
			}
			if version == "" {
				_, err := h.store.Rejection(ctx, ref.Key, obj.Version)
				if err == nil {
					continue // the latest version was rejected and none accepted
				}
				if !errors.Is(err, store.ErrNotFound) {
					return nil, nil, err
				}
			}
			if ref.Kind == SpecService {
				if s, err := spec.ParseService(ref.Key, obj.Body); err == nil && len(s.Validate()) == 0 {
					set.Services[ref.Name] = s
				}
			} else if e, err := spec.ParseEnvironment(ref.Key, obj.Body); err == nil && len(e.Validate()) == 0 {
				set.Environments[ref.Name] = e
				if version != "" {
					versions[ref.Key] = version
				}
			}
		}
	}
	return set, versions, nil
}

// acceptedVersion is the version of the file at ref last accepted, or ""
// when none is recorded.
func (h *SpecUpload) acceptedVersion(ctx context.Context, idx store.Index, ref SpecRef) (string, error) {
	if e, ok := idx.Entries[ref.Name]; ok && ref.Kind == SpecService && e.SpecVersion != "" {
		return e.SpecVersion, nil
	}
	return acceptedVersion(ctx, h.store, ref.Key)
}

// introduced validates the set with the uploaded spec (doc) and without it,
// and returns the problems that appear only with it: the problems of the
// uploaded file and of every pairing it takes part in (a service rendered for
// the environments of its pipeline; an environment with every service that
// deploys to it). Problems elsewhere in the bucket are not the upload's and
// do not block it.
//
// A reference to a file the set lacks (a pipeline environment, a service an
// environment overrides) is pending, not a problem: files arrive in any
// order (`aws s3 cp --recursive`, events delivered out of order), and
// environments and services name each other, so whichever came first would
// otherwise be rejected and the other then refused for lack of it. The pair
// is validated when the missing file is uploaded, against this one.
func introduced(without *spec.Set, ref SpecRef, doc any) (problems, pending []string) {
	with := &spec.Set{Services: maps.Clone(without.Services), Environments: maps.Clone(without.Environments)}
	switch d := doc.(type) {
	case *spec.Service:
		with.Services[ref.Name] = d
	case *spec.Environment:
		with.Environments[ref.Name] = d
	}
	after, err := validate(with)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", ref.Key, err)}, nil
	}
	beforeList, err := validate(without)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", ref.Key, err)}, nil
	}
	before := map[string]bool{}
	for _, p := range beforeList {
		before[p.String()] = true
	}
	for _, p := range after {
		s := p.String()
		switch {
		case before[s]:
		case p.Missing != "":
			pending = append(pending, s)
		default:
			problems = append(problems, s)
		}
	}
	return problems, pending
}

// validate runs set.Validate. Specs are user input: should one trip a bug
// in validation, the upload is rejected saying so, instead of the function
// crashing on every retry with nothing recorded.
func validate(set *spec.Set) (problems spec.Problems, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot be validated: the validator failed (%v); please report this", r)
		}
	}()
	return set.Validate(), nil
}

// problemStrings lists the problems of a parse error.
func problemStrings(err error) []string {
	var ps spec.Problems
	if errors.As(err, &ps) {
		return ps.Strings()
	}
	return []string{err.Error()}
}

func serviceNames(entries []store.IndexEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Service
	}
	return out
}
