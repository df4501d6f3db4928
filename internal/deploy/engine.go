// Package deploy is the deployment engine: the phases the deploy state machine
// calls (prepare, approve, apply, watch, check, shift, promote, cleanup,
// rollback, finalize, record, continue) and the strategies they carry out
// (rolling, canary by weights or by task count, blue/green, and ECS's own
// blue/green, canary and linear gated by PAUSE hooks: native.go).
//
// The engine imports no AWS SDK package. It declares the small interfaces it
// consumes next to the code that uses them; internal/deploy/awsclients builds
// the real implementations, and the tests use hand-written fakes.
package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// Engine runs the phases of one deployment. Its zero value is not usable;
// fill in every dependency. An Engine is safe for concurrent use when its
// dependencies are.
type Engine struct {
	// Store holds specs, locks, plans, watches, approvals and history.
	Store Store
	// Tasks completes task tokens and starts executions (Step Functions).
	Tasks TaskAPI
	// Events publishes Slipway events (EventBridge).
	Events EventPublisher
	// Images resolves tags to digests (ECR of the account Slipway runs in).
	Images ImageResolver
	// Clients returns the AWS-facing interfaces of an environment; roleARN is
	// the environment's roleArn, empty for the account Slipway runs in.
	Clients func(ctx context.Context, roleARN string) (Clients, error)
	// Log receives the decisions the engine makes.
	Log *slog.Logger
	// Settings tune the engine.
	Settings Settings
}

// Settings tune an Engine.
type Settings struct {
	// Region and AccountID are passed to the renderer (${REGION},
	// ${ACCOUNT_ID}); empty means those of the execution ARN.
	Region, AccountID string
	// Reconcile is how long a wait trusts events before re-checking.
	Reconcile time.Duration
	// KeepRevisions is how many task definition revisions cleanup keeps.
	KeepRevisions int
	// DefaultAlarms are watched in every deployment, on top of the
	// strategy's and the environment's.
	DefaultAlarms []string
	// ApproverRoles are the role ARNs that may approve deployments
	// (slipway:approverRoleArns). When set, an approval counts only with
	// its record (store.ApprovalRecord) by a session of one of them; the
	// stack lets only these roles write those records.
	ApproverRoles []string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Clients are the AWS-facing interfaces of one environment (its account and
// region, through its role when it has one).
type Clients struct {
	Services ServiceAPI
	Traffic  TrafficAPI
	Alarms   AlarmReader
	Scaling  ScalingAPI
}

// Run performs the phase inv asks for and returns the new state document.
// It is the handler of functions/step. A failure is returned as the workflow
// error found in its chain (see workflow.Named), because the Go type name is
// what the state machine's Catch and Retry clauses match and a wrapper would
// hide it; the full chain is logged here for that reason.
func (e *Engine) Run(ctx context.Context, inv workflow.Invocation) (workflow.State, error) {
	st, err := e.run(ctx, inv)
	if err == nil {
		return st, nil
	}
	named := workflow.Named(err)
	e.logger(inv.State, inv.Phase).Error("phase failed", "error", err.Error(),
		"errorName", errorName(named, err))
	if named != nil {
		return inv.State, named
	}
	return inv.State, err
}

func (e *Engine) run(ctx context.Context, inv workflow.Invocation) (workflow.State, error) {
	st, err := identify(inv)
	if err != nil {
		return inv.State, err
	}
	needsToken := inv.Phase == workflow.PhaseWatch || inv.Phase == workflow.PhaseApprove
	if needsToken && inv.TaskToken == "" {
		return st, &workflow.InvalidInput{Problems: []string{fmt.Sprintf("phase %s: taskToken: required", inv.Phase)}}
	}
	switch inv.Phase {
	case workflow.PhasePrepare:
		return e.prepare(ctx, st)
	case workflow.PhaseApprove:
		return e.approve(ctx, st, inv.TaskToken)
	case workflow.PhaseApply:
		return e.apply(ctx, st)
	case workflow.PhaseWatch:
		return e.watch(ctx, st, inv.TaskToken)
	case workflow.PhaseCheck:
		return e.check(ctx, st)
	case workflow.PhaseShift:
		return e.shift(ctx, st)
	case workflow.PhasePromote:
		return e.promote(ctx, st)
	case workflow.PhaseCleanup:
		return e.cleanup(ctx, st)
	case workflow.PhaseContinue:
		return e.continueNative(ctx, st)
	case workflow.PhaseRollback:
		return e.rollback(ctx, st)
	case workflow.PhaseFinalize:
		return e.finalize(ctx, st)
	case workflow.PhaseRecord:
		return e.record(ctx, st)
	}
	return st, &workflow.InvalidInput{Problems: []string{fmt.Sprintf("phase: unknown phase %q (want one of %v)", inv.Phase, workflow.Phases())}}
}

func errorName(named, err error) string {
	if named != nil {
		return workflow.ErrorName(named)
	}
	return workflow.ErrorName(err)
}

// deploymentID derives a short id from the execution ARN, so it is the same
// in every phase and in every retry, even in a Record reached before Prepare
// could store it in the state document.
func deploymentID(execution string) string {
	sum := sha256.Sum256([]byte(execution))
	return hex.EncodeToString(sum[:6])
}

func (e *Engine) now() time.Time {
	if e.Settings.Now != nil {
		return e.Settings.Now().UTC()
	}
	return time.Now().UTC()
}

func (e *Engine) reconcileSeconds() int {
	s := int(e.Settings.Reconcile / time.Second)
	return max(s, 1)
}

// logger returns the engine's logger with the attributes of st.
func (e *Engine) logger(st workflow.State, phase workflow.Phase) *slog.Logger {
	l := e.Log
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return l.With("deployment", st.Deployment.ID, "service", st.Service,
		"environment", st.Environment, "phase", string(phase), "execution", st.Deployment.Execution)
}

// timeoutSeconds is a wait's task timeout: d rounded up to whole seconds,
// at least 1 because Step Functions rejects 0.
func timeoutSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

func secondsOf(n int) time.Duration { return time.Duration(n) * time.Second }
