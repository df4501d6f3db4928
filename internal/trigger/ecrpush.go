package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// indexReader reads the repository index; *store.Store implements it.
type indexReader interface {
	Index(ctx context.Context) (store.Index, string, error)
	// AcceptedSpec returns the version of a spec file last accepted, or
	// an error wrapping store.ErrNotFound when none is recorded.
	AcceptedSpec(ctx context.Context, key string) (store.AcceptedSpec, error)
}

// ECRPush handles "ECR Image Action" events: a successful, tagged push starts
// one deployment per service that tracks the repository with a matching tag
// pattern, in the first environment of the service's pipeline (later
// environments follow by promotion). The deployed image is
// ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY@sha256:…, the registry the
// event says the image was pushed to.
//
// Replays are harmless: the execution name derives from service,
// environment, digest, spec version and the event id, so the same push
// delivered again finds its execution already there. Two different pushes
// start two executions, even of one digest (a new tag on the last good build
// rolls forward to it); the engine's lock and queue then let the newer
// supersede the older before it applies, so they never interleave.
type ECRPush struct {
	index        indexReader
	executions   executionStarter
	stateMachine string
	origin       Origin
	log          *slog.Logger
}

// NewECRPush returns the handler. index is normally a *store.Store,
// executions an *sfn.Client.
func NewECRPush(index indexReader, executions executionStarter, cfg Config, log *slog.Logger) *ECRPush {
	return &ECRPush{index: index, executions: executions, stateMachine: cfg.StateMachineARN, origin: cfg.Origin(), log: log}
}

// Handle processes one event. It returns an error only when retrying may
// help (the index or Step Functions failed); a malformed or irrelevant event
// is logged and dropped.
func (h *ECRPush) Handle(ctx context.Context, event json.RawMessage) error {
	ev, err := ParseECRImageAction(event)
	if err != nil {
		h.log.Warn("event dropped", "error", err.Error())
		return nil
	}
	if !fromOrigin(h.origin, h.log, ev) {
		return nil
	}
	d := ev.Detail
	log := h.log.With("event", ev.ID, "repository", d.RepositoryName, "tag", d.ImageTag, "digest", d.ImageDigest)
	if d.ActionType != ECRActionPush || d.Result != ECRResultSuccess {
		log.Info(fmt.Sprintf("%s %s is not a successful push: ignored", d.ActionType, d.Result))
		return nil
	}
	if d.ImageTag == "" {
		log.Info("untagged push: ignored, services deploy pushes whose tag matches their patterns")
		return nil
	}

	registry, ok := registryHost(ev.Account, ev.Region)
	if !ok {
		log.Warn(fmt.Sprintf("event account %q and region %q name no ECR registry: ignored", ev.Account, ev.Region))
		return nil
	}

	idx, _, err := h.index.Index(ctx)
	if err != nil {
		return fmt.Errorf("push of %s:%s: %w", d.RepositoryName, d.ImageTag, err)
	}
	matches := idx.Match(d.RepositoryName, d.ImageTag)
	h.logIgnored(log, idx, d, matches)

	var errs []error
	envVersions := map[string]string{} // read once per environment
	for _, e := range matches {
		svcLog := log.With("service", e.Service)
		if len(e.Pipeline) == 0 {
			svcLog.Warn(fmt.Sprintf("service %s has no pipeline: nothing to deploy", e.Service))
			continue
		}
		// The environment as last accepted, not a later upload that was
		// rejected (for what it does to another service, say): a push
		// deploys only specs that passed validation together. "" (none
		// recorded: a bucket filled before accepted versions were
		// recorded, or by hand) deploys the latest.
		envVersion, ok := envVersions[e.Pipeline[0]]
		if !ok {
			envVersion, err = acceptedVersion(ctx, h.index, EnvironmentsPrefix+e.Pipeline[0]+".yaml")
			if err != nil {
				errs = append(errs, err)
				continue
			}
			envVersions[e.Pipeline[0]] = envVersion
		}
		req := workflow.Request{
			Service:                e.Service,
			Environment:            e.Pipeline[0],
			Image:                  registry + "/" + d.RepositoryName + "@" + d.ImageDigest,
			SpecVersion:            e.SpecVersion,
			EnvironmentSpecVersion: envVersion,
			Reason:                 fmt.Sprintf("pushed %s:%s", d.RepositoryName, d.ImageTag),
			Trigger:                workflow.Trigger{Kind: workflow.TriggerECRPush, Source: ev.ID, Actor: "ecr"},
			// The push's time orders it against other requests: pushes
			// delivered out of order still end with the newer image.
			RequestedAt: ev.Time,
		}
		s, err := start(ctx, h.executions, h.stateMachine, req)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		svcLog.Info(s.message(), "environment", req.Environment, "execution", s.name, "arn", s.arn)
	}
	return errors.Join(errs...)
}

// acceptedVersion returns the version of the spec file at key last
// accepted, or "" when none is recorded.
func acceptedVersion(ctx context.Context, r interface {
	AcceptedSpec(ctx context.Context, key string) (store.AcceptedSpec, error)
}, key string) (string, error) {
	a, err := r.AcceptedSpec(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return a.Version, err
}

// registryHost returns the host of the ECR registry of account in region,
// the registry an image was pushed to: ECS pulls a reference without a
// registry host from Docker Hub, so the deployed image must name it.
func registryHost(account, region string) (string, bool) {
	if !pushAccount.MatchString(account) || !pushRegion.MatchString(region) {
		return "", false
	}
	domain := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	return account + ".dkr.ecr." + region + "." + domain, true
}

var (
	pushAccount = regexp.MustCompile(`^[0-9]{12}$`)
	pushRegion  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// logIgnored says why each service that tracks the repository but did not
// match is not deployed, or that no service tracks it at all.
func (h *ECRPush) logIgnored(log *slog.Logger, idx store.Index, d ECRImageAction, matches []store.IndexEntry) {
	var tracking []store.IndexEntry
	for _, e := range idx.Entries {
		if e.Repository == d.RepositoryName {
			tracking = append(tracking, e)
		}
	}
	if len(tracking) == 0 {
		log.Info(fmt.Sprintf("no service tracks repository %s: ignored", d.RepositoryName))
		return
	}
	slices.SortFunc(tracking, func(a, b store.IndexEntry) int { return strings.Compare(a.Service, b.Service) })
	for _, e := range tracking {
		if slices.ContainsFunc(matches, func(m store.IndexEntry) bool { return m.Service == e.Service }) {
			continue
		}
		log.Info(fmt.Sprintf("tag %s matches no pattern of %s: ignored", d.ImageTag, e.Service),
			"service", e.Service, "patterns", e.Tags)
	}
}
