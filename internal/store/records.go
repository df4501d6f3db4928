package store

import (
	"context"
	"fmt"
	"math"
	"time"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// PendingApproval is a deployment waiting for a person to approve or reject
// it (slipway approve/reject).
type PendingApproval struct {
	Deployment  string `json:"deployment"`
	Execution   string `json:"execution,omitempty"`
	Token       string `json:"token"`
	Service     string `json:"service"`
	Environment string `json:"environment"`
	Image       string `json:"image,omitempty"`
	// At is when approval was requested.
	At time.Time `json:"at"`
}

func approvalKey(env, svc string) string {
	return "approvals/" + segment(env) + "/" + segment(svc) + ".json"
}

// PutApproval records a pending approval at approvals/<env>/<service>.json.
func (s *Store) PutApproval(ctx context.Context, a PendingApproval) error {
	op := fmt.Sprintf("record approval request %s/%s for deployment %s", a.Environment, a.Service, a.Deployment)
	if err := checkNames(op, "environment", a.Environment, "service", a.Service, "deployment", a.Deployment, "token", a.Token); err != nil {
		return err
	}
	_, err := s.putJSON(ctx, op, approvalKey(a.Environment, a.Service), a, s3api.Precondition{})
	return err
}

// Approval reads the pending approval of (env, svc); ErrNotFound when none
// is pending.
func (s *Store) Approval(ctx context.Context, env, svc string) (PendingApproval, error) {
	op := fmt.Sprintf("read approval request %s/%s", env, svc)
	if err := checkNames(op, "environment", env, "service", svc); err != nil {
		return PendingApproval{}, err
	}
	var a PendingApproval
	_, err := s.getJSON(ctx, op, approvalKey(env, svc), &a)
	return a, err
}

// DeleteApproval removes the pending approval of (env, svc). Idempotent.
func (s *Store) DeleteApproval(ctx context.Context, env, svc string) error {
	op := fmt.Sprintf("delete approval request %s/%s", env, svc)
	if err := checkNames(op, "environment", env, "service", svc); err != nil {
		return err
	}
	return s.deleteState(ctx, op, approvalKey(env, svc))
}

// PutPlan stores v as JSON at plans/<deployment>.json and returns the key,
// which travels in the state document instead of the plan.
func (s *Store) PutPlan(ctx context.Context, deployment string, v any) (string, error) {
	op := fmt.Sprintf("store plan of deployment %s", deployment)
	if err := checkNames(op, "deployment", deployment); err != nil {
		return "", err
	}
	key := "plans/" + segment(deployment) + ".json"
	if _, err := s.putJSON(ctx, op, key, v, s3api.Precondition{}); err != nil {
		return "", err
	}
	return key, nil
}

// Plan decodes the plan stored at key into v; ErrNotFound when missing.
func (s *Store) Plan(ctx context.Context, key string, v any) error {
	op := fmt.Sprintf("read plan %s", key)
	if err := checkNames(op, "key", key); err != nil {
		return err
	}
	_, err := s.getJSON(ctx, op, key, v)
	return err
}

// HistoryEntry records how one deployment ended.
type HistoryEntry struct {
	Deployment  string           `json:"deployment"`
	Execution   string           `json:"execution,omitempty"`
	Service     string           `json:"service"`
	Environment string           `json:"environment"`
	Image       string           `json:"image,omitempty"`
	Strategy    string           `json:"strategy,omitempty"`
	Outcome     workflow.Outcome `json:"outcome"`
	// Error and Cause are the failure, if any; Reason is the request's.
	Error   string           `json:"error,omitempty"`
	Cause   string           `json:"cause,omitempty"`
	Reason  string           `json:"reason,omitempty"`
	Trigger workflow.Trigger `json:"trigger,omitzero"`
	// StartedAt orders history; EndedAt is when the outcome was recorded.
	StartedAt      time.Time `json:"startedAt"`
	EndedAt        time.Time `json:"endedAt,omitzero"`
	TaskDefinition string    `json:"taskDefinition,omitempty"`
	// RequestedAt is when the deployment was asked for
	// (workflow.Request.RequestedAt): a request older than one already
	// recorded never runs after it.
	RequestedAt time.Time `json:"requestedAt,omitzero"`
	// Pins are what the deployment deployed, each part with its time
	// (workflow.Pins): the spec versions, and the order that later requests
	// are compared with.
	Pins workflow.Pins `json:"pins,omitzero"`
	// ApprovedBy is who approved the deployment, when it needed approval
	// and got it: the caller ARN STS reported to the approving CLI.
	// ApprovalNote is the approver's free-text note.
	ApprovedBy   string `json:"approvedBy,omitempty"`
	ApprovalNote string `json:"approvalNote,omitempty"`
	// Newest is the newest request of the service and environment known
	// when a superseded deployment was recorded (what superseded it, or
	// what that one knew in turn). Prepare reads only the latest entries;
	// late, older requests recorded one after another would otherwise
	// push the newer deployment out of them.
	Newest *NewestRequest `json:"newest,omitempty"`
}

// Order is the order of the entry's request (workflow.OrderOf).
func (e HistoryEntry) Order() workflow.Order { return workflow.OrderOf(e.Pins.Order, e.RequestedAt) }

// NewestRequest is the newest request a history entry knows of, and, in
// the record at newest/<env>/<service>.json, the newest of every part
// (image, service spec, environment spec) that began changing the service.
type NewestRequest struct {
	Deployment  string           `json:"deployment"`
	RequestedAt time.Time        `json:"requestedAt"`
	Trigger     workflow.Trigger `json:"trigger,omitzero"`
	Outcome     workflow.Outcome `json:"outcome"`
	// Pins are the newest parts known, each with its time; the parts may
	// come from different deployments (workflow.Pins.Join).
	Pins workflow.Pins `json:"pins,omitzero"`
}

// Order is the order of the request (workflow.OrderOf).
func (n NewestRequest) Order() workflow.Order { return workflow.OrderOf(n.Pins.Order, n.RequestedAt) }

func historyPrefix(env, svc string) string {
	return "history/" + segment(env) + "/" + segment(svc) + "/"
}

// historyKey orders entries newest first: S3 lists keys in ascending order,
// so the key starts with MaxInt64 minus the start time in nanoseconds,
// zero-padded to a fixed width. The start time (not the end) is used because
// it does not change when a Record phase is retried: the retry overwrites the
// same entry.
func historyKey(e HistoryEntry, at time.Time) string {
	return fmt.Sprintf("%s%019d-%s.json", historyPrefix(e.Environment, e.Service), math.MaxInt64-at.UnixNano(), segment(e.Deployment))
}

// PutHistory records e under history/<env>/<service>/. Its time is
// StartedAt, or EndedAt when StartedAt is zero.
func (s *Store) PutHistory(ctx context.Context, e HistoryEntry) error {
	op := fmt.Sprintf("record history of deployment %s (%s/%s)", e.Deployment, e.Environment, e.Service)
	if err := checkNames(op, "environment", e.Environment, "service", e.Service, "deployment", e.Deployment); err != nil {
		return err
	}
	at := e.StartedAt
	if at.IsZero() {
		at = e.EndedAt
	}
	if at.IsZero() || at.Year() < 1970 || at.Year() > 2200 {
		return &workflow.InvalidInput{Problems: []string{fmt.Sprintf("%s: startedAt: %s is not a deployment time", op, at.Format(time.RFC3339))}}
	}
	_, err := s.putJSON(ctx, op, historyKey(e, at), e, s3api.Precondition{})
	return err
}

// History returns the newest limit entries of (env, svc), newest first;
// limit <= 0 returns them all.
func (s *Store) History(ctx context.Context, env, svc string, limit int) ([]HistoryEntry, error) {
	op := fmt.Sprintf("read history of %s/%s", env, svc)
	if err := checkNames(op, "environment", env, "service", svc); err != nil {
		return nil, err
	}
	keys, err := s.s3.List(ctx, s.stateBucket, historyPrefix(env, svc), limit)
	if err != nil {
		return nil, translate(op, err)
	}
	out := make([]HistoryEntry, 0, len(keys))
	for _, k := range keys {
		var e HistoryEntry
		if _, err := s.getJSON(ctx, op, k, &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// LastDeployed returns the entry of entries whose deployment succeeded last
// (the latest EndedAt; of equal ones, the first in entries, which History
// gives newest first): the revision a service runs when no deployment is
// in flight. History is ordered by start, and a deployment that started
// first may end last (it waited for the lock), so the first successful
// entry is not always the one that runs. ok is false when there is none.
func LastDeployed(entries []HistoryEntry) (e HistoryEntry, ok bool) {
	for _, h := range entries {
		if h.Outcome == workflow.OutcomeDeployed && h.Image != "" && (!ok || h.EndedAt.After(e.EndedAt)) {
			e, ok = h, true
		}
	}
	return e, ok
}

// compile-time check that the adapter satisfies the store's interface.
var _ objectStore = (*s3api.Client)(nil)
