package asl

import (
	"context"
	"fmt"
	"time"
)

// runAll runs fn for 0..n-1 on their own goroutines, at most limit at a
// time (0: no limit), and returns the outputs in index order. The first
// error cancels the others and is returned once they have stopped. The
// caller holds the clock; each goroutine holds its own and hands it back
// with its result.
func (t *thread) runAll(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) (any, *Error)) ([]any, *Error) {
	clk := t.x.eng.clk
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		i   int
		out any
		err *Error
	}
	results := make(chan result, n)
	outs := make([]any, n)
	if limit <= 0 || limit > n {
		limit = n
	}
	started, running := 0, 0
	launch := func() {
		i := started
		started++
		running++
		clk.Busy()
		go func() {
			out, err := fn(cctx, i)
			results <- result{i, out, err}
		}()
	}
	for started < limit {
		launch()
	}
	var first *Error
	for running > 0 {
		clk.Done()
		r := <-results // the goroutine's hold is now ours
		running--
		if r.err != nil && first == nil {
			first = r.err
			cancel()
		}
		outs[r.i] = r.out
		if first == nil && started < n {
			launch()
		}
	}
	if first != nil {
		if ctx.Err() != nil {
			return nil, aborted(ctx)
		}
		return nil, first
	}
	return outs, nil
}

// parallel runs one attempt of a Parallel state.
func (t *thread) parallel(ctx context.Context, s *state, raw any, entered time.Time, retries int) (any, *Error) {
	eff, err := effectiveInput(s, raw)
	if err != nil {
		return nil, err
	}
	ctxObj := t.stateContext(s, entered, retries, "")
	in := eff
	if s.parameters != nil {
		v, perr := s.parameters.eval(eff, ctxObj)
		if perr != nil {
			return nil, asError(perr)
		}
		in = v
	}
	t.x.record(t, "ParallelStateStarted", nil)
	start := t.prevEvent
	outs, berr := t.runAll(ctx, len(s.branches), 0, func(ctx context.Context, i int) (any, *Error) {
		b := &thread{x: t.x, prevEvent: start}
		return b.runMachine(ctx, s.branches[i], deepCopy(in))
	})
	switch {
	case berr != nil && berr.Name == errAborted:
		t.x.record(t, "ParallelStateAborted", nil)
		return nil, berr
	case berr != nil:
		t.x.record(t, "ParallelStateFailed", nil)
		return nil, berr
	}
	t.x.record(t, "ParallelStateSucceeded", nil)
	return t.finishResult(s, raw, outs, ctxObj)
}

// mapState runs one attempt of a Map state (inline mode).
func (t *thread) mapState(ctx context.Context, s *state, raw any, entered time.Time, retries int) (any, *Error) {
	eff, err := effectiveInput(s, raw)
	if err != nil {
		return nil, err
	}
	ctxObj := t.stateContext(s, entered, retries, "")
	itemsV := eff
	if s.itemsPath != nil {
		v, ok := s.itemsPath.get(eff, ctxObj)
		if !ok {
			return nil, newError(ErrRuntime, "ItemsPath %q of state %q matches nothing in the input", s.itemsPath, s.name)
		}
		itemsV = v
	}
	items, ok := itemsV.([]any)
	if !ok {
		return nil, newError(ErrRuntime, "the items of Map state %q must be a JSON array, got %s", s.name, mustString(itemsV))
	}
	limit := int(s.maxConcurrency)
	if s.maxConcurrencyPath != nil {
		v, ok := s.maxConcurrencyPath.get(eff, ctxObj)
		n, isInt := toInt(v)
		if !ok || !isInt || n < 0 {
			return nil, newError(ErrRuntime, "MaxConcurrencyPath %q of state %q must point to a non-negative integer", s.maxConcurrencyPath, s.name)
		}
		limit = int(n)
	}
	inputs := make([]any, len(items))
	for i, item := range items {
		inputs[i] = deepCopy(item)
		if s.itemSelector != nil {
			ictx := t.stateContext(s, entered, retries, "")
			ictx["Map"] = map[string]any{"Item": map[string]any{"Index": int64(i), "Value": item}}
			v, serr := s.itemSelector.eval(eff, ictx)
			if serr != nil {
				return nil, asError(serr)
			}
			inputs[i] = v
		}
	}
	t.x.record(t, "MapStateStarted", func(ev *Event) { ev.MapStateStarted = &MapStateStartedDetails{Length: len(items)} })
	start := t.prevEvent
	outs, merr := t.runAll(ctx, len(items), limit, func(ctx context.Context, i int) (any, *Error) {
		it := &thread{x: t.x, prevEvent: start}
		details := &MapIterationDetails{Name: s.name, Index: i}
		it.x.record(it, "MapIterationStarted", func(ev *Event) { ev.MapIterationStarted = details })
		out, err := it.runMachine(ctx, s.processor, inputs[i])
		switch {
		case err != nil && err.Name == errAborted:
			it.x.record(it, "MapIterationAborted", func(ev *Event) { ev.MapIterationAborted = details })
		case err != nil:
			it.x.record(it, "MapIterationFailed", func(ev *Event) { ev.MapIterationFailed = details })
		default:
			it.x.record(it, "MapIterationSucceeded", func(ev *Event) { ev.MapIterationSucceeded = details })
		}
		return out, err
	})
	switch {
	case merr != nil && merr.Name == errAborted:
		t.x.record(t, "MapStateAborted", nil)
		return nil, merr
	case merr != nil:
		t.x.record(t, "MapStateFailed", nil)
		return nil, merr
	}
	t.x.record(t, "MapStateSucceeded", nil)
	if err := checkSize(fmt.Sprintf("the result of Map state %q", s.name), outs); err != nil {
		return nil, err
	}
	return t.finishResult(s, raw, outs, ctxObj)
}
