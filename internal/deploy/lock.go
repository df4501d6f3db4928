package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/slipwayhq/slipway/internal/awsapi/sfn"
	"github.com/slipwayhq/slipway/internal/store"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// lockAction is what a deployment does about the (environment, service)
// lock as it finds it.
type lockAction int

const (
	// lockAcquire: the lock is free; take it.
	lockAcquire lockAction = iota
	// lockOwn: this deployment holds it already (a retried or repeated Prepare).
	lockOwn
	// lockSupersede: the holder has not started applying, so nothing of it
	// is live yet; replace it, and fail its wait with Superseded.
	lockSupersede
	// lockQueue: the holder is applying; a running deployment is never
	// interrupted, so wait for it to hand the lock over.
	lockQueue
	// lockYield: the holder was requested after this deployment, which
	// must neither replace it nor run after it: this one ends Superseded.
	lockYield
)

// decideLock says what deployment me, of the given order, does about the
// lock held as rec (nil when free). The newer request wins: an older one
// yields to the holder whatever its stage (workflow.Order.Newer). Requests
// of the same order are ordered by arrival. One newer in some part and
// older in another has taken the holder's newer parts before (adopt) when
// the holder has not started applying, and supersedes it; it queues behind
// one that applies.
func decideLock(rec *store.LockRecord, me string, order workflow.Order) lockAction {
	switch {
	case rec == nil:
		return lockAcquire
	case rec.Deployment == me:
		return lockOwn
	case rec.Order().Newer(order):
		return lockYield
	case rec.Stage == store.StagePreparing || rec.Stage == store.StageAwaitingApproval:
		return lockSupersede
	default:
		return lockQueue
	}
}

// errAdopted is takeLock's answer when st took the newer parts of a
// request it met: Prepare renders again what it took, then decides.
var errAdopted = errors.New("took the newer parts of another request")

// adopt takes into st the parts in which a request it meets is newer
// (workflow.Pins.Join): the newest of what has begun changing the service
// (marked, newest/<env>/<service>.json; nil when none), the lock holder
// rec, and the deployment waiting in the queue. A request that is newer than st in every part it
// differs in is left alone: st yields to it. Images are taken only from a
// request that has not started applying, which st supersedes or replaces.
// It reports whether st changed; st's request then names what it took.
func (e *Engine) adopt(ctx context.Context, st *workflow.State, rec *store.LockRecord, marked *store.NewestRequest) (bool, error) {
	type source struct {
		who    string
		pins   workflow.Pins
		images bool
	}
	var sources []source
	if marked != nil && marked.Deployment != st.Deployment.ID {
		p := marked.Pins
		p.Order = marked.Order()
		sources = append(sources, source{"applied " + marked.Deployment, p, false})
	}
	if rec != nil && rec.Deployment != st.Deployment.ID {
		p := rec.Pins
		p.Order = rec.Order()
		pending := rec.Stage == store.StagePreparing || rec.Stage == store.StageAwaitingApproval
		sources = append(sources, source{"holder " + rec.Deployment, p, pending})
	}
	q, err := e.Store.Queued(ctx, st.Environment, st.Service)
	if err != nil {
		return false, fmt.Errorf("read lock queue %s/%s: %w", st.Environment, st.Service, err)
	}
	if q != nil && q.Deployment != st.Deployment.ID {
		p := q.Pins
		p.Order = q.Order()
		sources = append(sources, source{"queued " + q.Deployment, p, true})
	}
	changed := false
	for _, src := range sources {
		if src.pins.Order.Newer(st.Pins.Order) {
			continue
		}
		pins, taken := st.Pins.Join(src.pins, src.images)
		if taken == 0 {
			continue
		}
		e.logger(*st, workflow.PhasePrepare).Info("took the newer parts of another request",
			"from", src.who, "image", taken.Has(workflow.PartImage), "serviceSpec", taken.Has(workflow.PartServiceSpec),
			"environmentSpec", taken.Has(workflow.PartEnvironmentSpec), "deploys", pins.Image)
		st.Pins = pins
		st.Image, st.SpecVersion, st.EnvironmentSpecVersion = pins.Image, pins.SpecVersion, pins.EnvironmentSpecVersion
		changed = true
	}
	return changed, nil
}

// lockAttempts bounds the retries of a lost conditional write before the
// conflict is reported as transient (and retried by the state machine).
const lockAttempts = 3

// takeLock claims the lock for st in stage preparing, superseding a holder
// that has not started applying, or marks st queued behind one that has. A
// request older than the holder, than a deployment that has already run, or
// than the one waiting, ends Superseded: the newer request wins.
func (e *Engine) takeLock(ctx context.Context, st workflow.State, image string) (workflow.State, error) {
	log := e.logger(st, workflow.PhasePrepare)
	me := st.Deployment.ID
	mine := store.LockRecord{Deployment: me, Execution: st.Deployment.Execution,
		Stage: store.StagePreparing, Image: image, RequestedAt: st.RequestedAt, Pins: st.Pins, At: e.now()}
	for range lockAttempts {
		rec, etag, err := e.readLock(ctx, st)
		if err != nil {
			return st, err
		}
		marked, err := e.newestApplied(ctx, st)
		if err != nil {
			return st, err
		}
		if adopted, err := e.adopt(ctx, &st, rec, marked); err != nil || adopted {
			if err == nil {
				err = errAdopted
			}
			return st, err
		}
		action := decideLock(rec, me, st.Pins.Order)
		if action == lockAcquire || action == lockSupersede {
			// Free, or held by an older request: a newer one may have run
			// already and released the lock.
			if err := e.newerRan(ctx, st, marked); err != nil {
				return st, err
			}
		}
		switch action {
		case lockOwn:
			return e.lockHeld(st), nil
		case lockYield:
			log.Info("the lock holder was requested after this deployment: superseded",
				"holder", rec.Deployment, "holderRequestedAt", rec.RequestedAt, "requestedAt", st.RequestedAt)
			return st, &workflow.Superseded{By: rec.Deployment}
		case lockAcquire:
			err = e.Store.AcquireLock(ctx, st.Environment, st.Service, mine)
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				return st, fmt.Errorf("acquire lock %s/%s: %w", st.Environment, st.Service, err)
			}
			log.Info("lock acquired")
			return e.lockHeld(st), e.supersedeQueued(ctx, st)
		case lockSupersede:
			err = e.Store.ReplaceLock(ctx, st.Environment, st.Service, mine, etag)
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				return st, fmt.Errorf("take over lock %s/%s: %w", st.Environment, st.Service, err)
			}
			log.Info("superseding a deployment that has not started applying",
				"superseded", rec.Deployment, "stage", string(rec.Stage))
			if err := e.failToken(ctx, rec.Token, &workflow.Superseded{By: me}); err != nil {
				return st, err
			}
			return e.lockHeld(st), e.supersedeQueued(ctx, st)
		case lockQueue:
			status, gone, err := e.holderGone(ctx, st, rec)
			if err != nil {
				return st, err
			}
			if gone {
				if err := e.newerRan(ctx, st, marked); err != nil {
					return st, err
				}
				err = e.Store.ReplaceLock(ctx, st.Environment, st.Service, mine, etag)
				if errors.Is(err, store.ErrConflict) {
					continue
				}
				if err != nil {
					return st, fmt.Errorf("take over lock %s/%s: %w", st.Environment, st.Service, err)
				}
				log.Warn("lock holder ended without releasing the lock: taken over",
					"holder", rec.Deployment, "holderExecution", rec.Execution, "holderStatus", status)
				return e.lockHeld(st), e.supersedeQueued(ctx, st)
			}
			log.Info("lock held by a deployment that is applying: queued", "holder", rec.Deployment)
			st.Lock.Held, st.Lock.Queued = false, true
			st.Wait = workflow.Wait{Kind: workflow.WaitLock, TimeoutSeconds: e.reconcileSeconds()}
			return st, nil
		}
	}
	return st, &workflow.Transient{Op: fmt.Sprintf("lock %s/%s", st.Environment, st.Service),
		Err: fmt.Errorf("lost the conditional write %d times", lockAttempts)}
}

// holderGone reports whether the execution holding the lock has ended
// without releasing it (stopped by hand, timed out, or failed in a phase
// with no way out), so that the lock would otherwise be held for ever. A
// deployment whose rollback failed keeps the lock on purpose, until a person
// has checked the service: its lock is never taken over.
func (e *Engine) holderGone(ctx context.Context, st workflow.State, rec *store.LockRecord) (status string, gone bool, err error) {
	if rec.Execution == "" || rec.Stage == store.StageRollbackFailed {
		return string(rec.Stage), false, nil
	}
	x, err := e.Tasks.DescribeExecution(ctx, rec.Execution)
	switch {
	case errors.Is(err, sfn.ErrNotFound):
		status = "gone"
	case err != nil:
		return "", false, fmt.Errorf("describe the lock holder's execution: %w", err)
	case x.Status == "RUNNING" || x.Status == "PENDING_REDRIVE":
		return x.Status, false, nil
	default:
		status = x.Status
	}
	history, err := e.Store.History(ctx, st.Environment, st.Service, 20)
	if err != nil {
		return "", false, fmt.Errorf("read history of %s in %s: %w", st.Service, st.Environment, err)
	}
	// A lock kept before its stage said so: its holder's history entry.
	for _, h := range history {
		if h.Deployment == rec.Deployment && h.Outcome == workflow.OutcomeRollbackFailed {
			return status, false, nil
		}
	}
	return status, true, nil
}

// keepLock marks the lock of st, whose rollback failed, as kept
// (StageRollbackFailed): however many deployments queue, are superseded or
// are recorded meanwhile, none takes it over until a person releases it
// (slipway unlock). A free lock is taken again, since the service is in an
// unknown state either way; a lock another deployment holds is left.
func (e *Engine) keepLock(ctx context.Context, st workflow.State) error {
	for range lockAttempts {
		rec, etag, err := e.readLock(ctx, st)
		if err != nil {
			return err
		}
		switch {
		case rec == nil:
			err = e.Store.AcquireLock(ctx, st.Environment, st.Service, store.LockRecord{
				Deployment: st.Deployment.ID, Execution: st.Deployment.Execution, Stage: store.StageRollbackFailed,
				Image: st.Plan.Image, RequestedAt: st.RequestedAt, Pins: st.Pins, At: e.now()})
		case rec.Deployment != st.Deployment.ID:
			e.logger(st, workflow.PhaseRecord).Warn("rollback failed, but another deployment holds the lock: left to it",
				"holder", rec.Deployment)
			return nil
		case rec.Stage == store.StageRollbackFailed:
			return nil
		default:
			rec.Stage, rec.Token, rec.At = store.StageRollbackFailed, "", e.now()
			err = e.Store.ReplaceLock(ctx, st.Environment, st.Service, *rec, etag)
		}
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("keep lock %s/%s after a failed rollback: %w", st.Environment, st.Service, err)
		}
		return nil
	}
	return &workflow.Transient{Op: fmt.Sprintf("lock %s/%s", st.Environment, st.Service),
		Err: fmt.Errorf("lost the conditional write %d times", lockAttempts)}
}

func (e *Engine) lockHeld(st workflow.State) workflow.State {
	st.Lock.Held, st.Lock.Queued = true, false
	return st
}

// readLock returns the lock record and its etag, nil when the lock is free.
func (e *Engine) readLock(ctx context.Context, st workflow.State) (*store.LockRecord, string, error) {
	rec, etag, err := e.Store.Lock(ctx, st.Environment, st.Service)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read lock %s/%s: %w", st.Environment, st.Service, err)
	}
	return &rec, etag, nil
}

// newestApplied reads the record of the newest request that began
// changing st's service (newest/<env>/<service>.json); nil when none has.
func (e *Engine) newestApplied(ctx context.Context, st workflow.State) (*store.NewestRequest, error) {
	marked, err := e.Store.NewestApplied(ctx, st.Environment, st.Service)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the newest request of %s in %s: %w", st.Service, st.Environment, err)
	}
	return &marked, nil
}

// historyNewer is how many of the latest history entries newerRan reads.
const historyNewer = 10

// newerRan returns Superseded when a deployment of st's service and
// environment newer than st (workflow.Order.Newer) has already run (it is
// in the history with any outcome but rejected): an older request arriving
// late, the lock free again, must not undo it. The same holds for a
// deployment started by the same event that has already changed the
// service: the trigger names an event's execution by the event, but an
// execution started with it by other means must not deploy its image a
// second time. marked is the newest request's record (newestApplied), which
// takeLock reads once per attempt for adopt and for this.
func (e *Engine) newerRan(ctx context.Context, st workflow.State, marked *store.NewestRequest) error {
	if st.RequestedAt.IsZero() {
		return nil
	}
	h, err := e.Store.History(ctx, st.Environment, st.Service, historyNewer)
	if err != nil {
		return fmt.Errorf("read history of %s in %s: %w", st.Service, st.Environment, err)
	}
	// The newest request that began changing the service, however far
	// down the history its entry is (or before it has one).
	if marked != nil {
		h = append([]store.HistoryEntry{{Deployment: marked.Deployment, RequestedAt: marked.RequestedAt,
			Trigger: marked.Trigger, Outcome: marked.Outcome, Pins: marked.Pins}}, h...)
	}
	for _, x := range h {
		if x.Deployment == st.Deployment.ID || x.Outcome == workflow.OutcomeRejected {
			continue
		}
		for _, n := range known(x) {
			if n.Deployment == st.Deployment.ID {
				continue
			}
			if n.Order().Newer(st.Pins.Order) {
				e.logger(st, workflow.PhasePrepare).Info("a deployment newer than this one has run: superseded",
					"newer", n.Deployment, "newerRequestedAt", n.RequestedAt, "outcome", string(n.Outcome),
					"requestedAt", st.RequestedAt)
				return &workflow.Superseded{By: n.Deployment}
			}
			if sameEvent(n.Trigger, st.Trigger) && changedService(n.Outcome) {
				e.logger(st, workflow.PhasePrepare).Info("the event that asked for this deployment has deployed already: superseded",
					"earlier", n.Deployment, "event", st.Trigger.Source, "outcome", string(n.Outcome))
				return &workflow.Superseded{By: n.Deployment}
			}
		}
	}
	return nil
}

// known returns the requests a history entry knows of: its own, and the
// newer one it recorded when it was superseded.
func known(x store.HistoryEntry) []store.NewestRequest {
	own := store.NewestRequest{Deployment: x.Deployment, RequestedAt: x.RequestedAt, Trigger: x.Trigger, Outcome: x.Outcome, Pins: x.Pins}
	if x.Newest == nil {
		return []store.NewestRequest{own}
	}
	return []store.NewestRequest{own, *x.Newest}
}

// newestKnown returns, for the history entry of st, superseded, the newest
// request the latest entries know of that is not older than st's (what
// superseded it), or nil: recorded with st's entry, it keeps that request
// within reach of newerRan however many late, older requests follow.
func (e *Engine) newestKnown(ctx context.Context, st workflow.State) (*store.NewestRequest, error) {
	if st.RequestedAt.IsZero() {
		return nil, nil
	}
	h, err := e.Store.History(ctx, st.Environment, st.Service, historyNewer)
	if err != nil {
		return nil, fmt.Errorf("read history of %s in %s: %w", st.Service, st.Environment, err)
	}
	var best *store.NewestRequest
	for _, x := range h {
		if x.Deployment == st.Deployment.ID || x.Outcome == workflow.OutcomeRejected {
			continue
		}
		for _, n := range known(x) {
			if n.Deployment == st.Deployment.ID || n.RequestedAt.IsZero() || st.Pins.Order.Newer(n.Order()) {
				continue
			}
			// The newest; of equal ones, one that changed the service.
			if best == nil || store.Newer(n.RequestedAt, best.RequestedAt) ||
				(n.RequestedAt.Equal(best.RequestedAt) && changedService(n.Outcome) && !changedService(best.Outcome)) {
				b := n
				best = &b
			}
		}
	}
	return best, nil
}

// sameEvent reports whether two triggers are one event (an ECR push or a
// spec upload) delivered twice; manual starts and promotions never are.
func sameEvent(a, b workflow.Trigger) bool {
	return a.Source != "" && a.Kind == b.Kind && a.Source == b.Source &&
		(a.Kind == workflow.TriggerECRPush || a.Kind == workflow.TriggerSpecUpload)
}

// changedService reports whether a deployment that ended with outcome o
// changed the service (deployed, or rolled back after applying).
func changedService(o workflow.Outcome) bool {
	return o == workflow.OutcomeDeployed || o == workflow.OutcomeRolledBack || o == workflow.OutcomeRollbackFailed
}

// supersedeQueued fails the wait of a deployment queued for the lock that is
// older than st, which now holds the lock: it must not run after it. A
// queued deployment requested after st is handed the lock instead, and st
// ends Superseded.
func (e *Engine) supersedeQueued(ctx context.Context, st workflow.State) error {
	q, err := e.Store.Dequeue(ctx, st.Environment, st.Service)
	if err != nil {
		return fmt.Errorf("read lock queue %s/%s: %w", st.Environment, st.Service, err)
	}
	if q == nil || q.Deployment == st.Deployment.ID {
		return nil
	}
	log := e.logger(st, workflow.PhasePrepare)
	newer := q.Order().Newer(st.Pins.Order)
	if newer || st.Pins.Order.Behind(q.Order()) != 0 {
		// Nothing is changed yet: give the lock back and wake the newer one,
		// which prepares again and takes it.
		if err := e.Store.ReleaseLock(ctx, st.Environment, st.Service, st.Deployment.ID); err != nil {
			return fmt.Errorf("release lock %s/%s: %w", st.Environment, st.Service, err)
		}
		if err := e.succeedToken(ctx, q.Token, workflow.Signal{Source: "lock",
			Detail: "handed over by older deployment " + st.Deployment.ID}); err != nil {
			return err
		}
		if !newer {
			// Newer in some part than this one, and older in another, it
			// came after this one took the newer parts of what it met:
			// prepare again, and take its parts while it prepares.
			log.Info("a queued deployment is newer in some part: lock handed over, preparing again", "to", q.Deployment)
			return &workflow.Transient{Op: fmt.Sprintf("lock %s/%s", st.Environment, st.Service),
				Err: fmt.Errorf("deployment %s, queued, is newer in some part: prepare again to take it", q.Deployment)}
		}
		log.Info("a queued deployment is newer than this one: lock handed over, superseded", "to", q.Deployment)
		return &workflow.Superseded{By: q.Deployment}
	}
	log.Info("superseding a queued deployment", "superseded", q.Deployment)
	return e.failToken(ctx, q.Token, &workflow.Superseded{By: st.Deployment.ID})
}

// setLockStage moves the lock held by st to stage (with the token of the
// wait it enters, if any). A lock now held by another deployment means st
// was superseded.
func (e *Engine) setLockStage(ctx context.Context, st workflow.State, stage store.LockStage, token string) error {
	for range lockAttempts {
		rec, etag, err := e.readLock(ctx, st)
		if err != nil {
			return err
		}
		if rec == nil {
			// Free: a newer deployment superseded this one and has already
			// finished, or a person released the lock. Only in the second
			// case may this one go on, holding the lock again.
			if by, err := e.finishedSince(ctx, st); err != nil || by != "" {
				if err != nil {
					return err
				}
				return &workflow.Superseded{By: by}
			}
			rec := store.LockRecord{Deployment: st.Deployment.ID, Execution: st.Deployment.Execution,
				Stage: stage, Token: token, Image: st.Plan.Image, RequestedAt: st.RequestedAt, Pins: st.Pins, At: e.now()}
			err = e.Store.AcquireLock(ctx, st.Environment, st.Service, rec)
		} else {
			if rec.Deployment != st.Deployment.ID {
				return &workflow.Superseded{By: rec.Deployment}
			}
			rec.Stage, rec.Token, rec.At = stage, token, e.now()
			err = e.Store.ReplaceLock(ctx, st.Environment, st.Service, *rec, etag)
		}
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("set lock %s/%s to %s: %w", st.Environment, st.Service, stage, err)
		}
		return nil
	}
	return &workflow.Transient{Op: fmt.Sprintf("lock %s/%s", st.Environment, st.Service),
		Err: fmt.Errorf("lost the conditional write %d times", lockAttempts)}
}

// finishedSince returns the newest deployment of st's service and
// environment that started after st and has already ended; "" when none.
func (e *Engine) finishedSince(ctx context.Context, st workflow.State) (string, error) {
	h, err := e.Store.History(ctx, st.Environment, st.Service, 1)
	if err != nil {
		return "", fmt.Errorf("read history of %s in %s: %w", st.Service, st.Environment, err)
	}
	if len(h) == 0 || h[0].Deployment == st.Deployment.ID || !h[0].StartedAt.After(st.Deployment.StartedAt) {
		return "", nil
	}
	return h[0].Deployment, nil
}

// enqueue records the token of st's lock wait. It replaces (and supersedes)
// an older queued deployment, and completes the wait at once when the lock
// was released in the meantime, since no holder is left to hand it over. A
// deployment requested after st that waits already keeps its place: st's
// wait fails with Superseded.
func (e *Engine) enqueue(ctx context.Context, st workflow.State, token string) error {
	replaced, err := e.Store.Enqueue(ctx, st.Environment, st.Service, store.QueueEntry{
		Deployment: st.Deployment.ID, Execution: st.Deployment.Execution, Token: token,
		RequestedAt: st.RequestedAt, Pins: st.Pins, At: e.now()})
	if errors.Is(err, store.ErrBehindWaiting) && replaced != nil {
		// Neither may replace the other: prepare again, which takes the
		// newer parts of the one waiting, then queues in its place.
		e.logger(st, workflow.PhaseWatch).Info("a deployment newer in some part waits already: preparing again to take it",
			"waiting", replaced.Deployment)
		return e.succeedToken(ctx, token, workflow.Signal{Source: "lock", Detail: "prepare again: " + replaced.Deployment +
			" waits, newer in some part"})
	}
	if errors.Is(err, store.ErrNewerWaiting) && replaced != nil {
		e.logger(st, workflow.PhaseWatch).Info("a deployment requested after this one waits already: superseded",
			"waiting", replaced.Deployment)
		return e.failToken(ctx, token, &workflow.Superseded{By: replaced.Deployment})
	}
	if err != nil {
		return fmt.Errorf("queue for lock %s/%s: %w", st.Environment, st.Service, err)
	}
	if replaced != nil && replaced.Deployment != st.Deployment.ID {
		e.logger(st, workflow.PhaseWatch).Info("superseding a queued deployment", "superseded", replaced.Deployment)
		if err := e.failToken(ctx, replaced.Token, &workflow.Superseded{By: st.Deployment.ID}); err != nil {
			return err
		}
	}
	rec, _, err := e.readLock(ctx, st)
	if err != nil {
		return err
	}
	if rec == nil {
		return e.succeedToken(ctx, token, workflow.Signal{Source: "lock", Detail: "lock free"})
	}
	return nil
}

// releaseLock releases the lock when st holds it, or finds it free, and
// hands it to the queued deployment, whose wait ends so that it prepares
// again. A lock held by another deployment (which superseded st) is left.
func (e *Engine) releaseLock(ctx context.Context, st workflow.State, phase workflow.Phase) error {
	rec, _, err := e.readLock(ctx, st)
	if err != nil {
		return err
	}
	if rec != nil && rec.Deployment != st.Deployment.ID {
		return nil
	}
	if rec != nil {
		if err := e.Store.ReleaseLock(ctx, st.Environment, st.Service, st.Deployment.ID); err != nil {
			return fmt.Errorf("release lock %s/%s: %w", st.Environment, st.Service, err)
		}
	}
	q, err := e.Store.Dequeue(ctx, st.Environment, st.Service)
	if err != nil {
		return fmt.Errorf("read lock queue %s/%s: %w", st.Environment, st.Service, err)
	}
	if q == nil || q.Deployment == st.Deployment.ID {
		return nil
	}
	e.logger(st, phase).Info("lock handed over", "to", q.Deployment)
	return e.succeedToken(ctx, q.Token, workflow.Signal{Source: "lock",
		Detail: "released by deployment " + st.Deployment.ID})
}

// failToken fails a waiting task; a token already closed is not an error.
func (e *Engine) failToken(ctx context.Context, token string, cause error) error {
	if token == "" {
		return nil
	}
	err := e.Tasks.SendTaskFailure(ctx, token, cause)
	if err != nil && !errors.Is(err, sfn.ErrTaskClosed) {
		return fmt.Errorf("fail task (%v): %w", cause, err)
	}
	return nil
}

// succeedToken completes a waiting task; a token already closed is not an
// error.
func (e *Engine) succeedToken(ctx context.Context, token string, sig workflow.Signal) error {
	if token == "" {
		return nil
	}
	err := e.Tasks.SendTaskSuccess(ctx, token, sig)
	if err != nil && !errors.Is(err, sfn.ErrTaskClosed) {
		return fmt.Errorf("complete task (%s): %w", sig.Detail, err)
	}
	return nil
}
