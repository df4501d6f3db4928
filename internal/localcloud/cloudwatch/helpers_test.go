package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

var start = time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)

// router answers requests the way the core does: RPC v2 CBOR by path, JSON
// 1.0 by X-Amz-Target, query by form. It records the protocol of each
// request.
type router struct {
	t   *testing.T
	svc *Service

	mu        sync.Mutex
	protocols []string
}

func (rt *router) record(p string) {
	rt.mu.Lock()
	rt.protocols = append(rt.protocols, p)
	rt.mu.Unlock()
}

func (rt *router) seen() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]string(nil), rt.protocols...)
}

func errorOf(t *testing.T, err error) *protocol.Error {
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		t.Errorf("handler returned %T %v, want a *protocol.Error", err, err)
		return protocol.InternalFailure()
	}
	return pe
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ctx := r.Context()
	switch {
	case strings.HasPrefix(r.URL.Path, "/service/GraniteServiceVersion20100801/operation/"):
		rt.record("cbor")
		op := strings.TrimPrefix(r.URL.Path, "/service/GraniteServiceVersion20100801/operation/")
		out, err := rt.svc.ServeCBOR(ctx, op, body)
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.Header().Set("Content-Type", "application/cbor")
		if err != nil {
			pe := errorOf(rt.t, err)
			w.Header().Set("X-Amzn-Query-Error", pe.Code+";Sender")
			w.WriteHeader(pe.Status)
			w.Write(protocol.EncodeCBORError(pe))
			return
		}
		w.Write(out)
	case r.Header.Get("X-Amz-Target") != "":
		rt.record("json")
		_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		out, err := rt.svc.ServeJSON(ctx, op, body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if err != nil {
			pe := errorOf(rt.t, err)
			w.Header().Set("X-Amzn-Query-Error", pe.Code+";Sender")
			w.WriteHeader(pe.Status)
			json.NewEncoder(w).Encode(protocol.JSONError{Type: pe.Code, Message: pe.Message})
			return
		}
		json.NewEncoder(w).Encode(out)
	default:
		rt.record("query")
		params, _ := url.ParseQuery(string(body))
		action := params.Get("Action")
		out, err := rt.svc.ServeQuery(ctx, action, params)
		w.Header().Set("Content-Type", "text/xml")
		if err != nil {
			pe := errorOf(rt.t, err)
			w.WriteHeader(pe.Status)
			w.Write(protocol.EncodeQueryError(pe, "req-1"))
			return
		}
		b, err := protocol.EncodeQueryResponse(action, Namespace, "req-1", out)
		if err != nil {
			rt.t.Errorf("encode %s: %v", action, err)
		}
		w.Write(b)
	}
}

// events collects the events a Service emits. Like any consumer woken by a
// message on a virtual clock, it takes a hold on the clock for each event it
// queues; the test releases it with clk.Done after reacting.
type events struct {
	clk clock.Clock
	ch  chan protocol.Event
}

func (e *events) PutEvent(_ context.Context, ev protocol.Event) {
	e.clk.Busy()
	e.ch <- ev
}

// fixture is a Service on a virtual clock with an SDK client over HTTP.
type fixture struct {
	svc    *Service
	clk    *clock.Virtual
	client *sdk.Client
	router *router
	url    string
	events *events
	// emitted holds the events collected and not yet drained.
	emitted []protocol.Event
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	clk := clock.NewVirtual(start)
	ev := &events{clk: clk, ch: make(chan protocol.Event, 100)}
	cfg.Clock, cfg.Events = clk, ev
	svc := New(cfg)
	rt := &router{t: t, svc: svc}
	endpoint := prototest.Serve(t, rt)
	return &fixture{svc: svc, clk: clk, router: rt, url: endpoint, events: ev, client: sdk.NewFromConfig(prototest.Config(endpoint))}
}

// advance moves the virtual clock to t, running a Tick at every minute
// boundary on the way, as Run does.
func (f *fixture) advance(t *testing.T, to time.Time) {
	t.Helper()
	ctx := context.Background()
	f.clk.Busy()
	defer f.clk.Done()
	for {
		// Queued events hold the clock; release them before sleeping.
		f.collect()
		now := f.clk.Now()
		next := now.Truncate(time.Minute).Add(time.Minute)
		if next.After(to) {
			if to.After(now) {
				if err := f.clk.Sleep(ctx, to.Sub(now)); err != nil {
					t.Fatal(err)
				}
			}
			return
		}
		if err := f.clk.Sleep(ctx, next.Sub(now)); err != nil {
			t.Fatal(err)
		}
		f.svc.Tick(ctx)
		f.collect()
	}
}

// collect moves the queued events to f.emitted, releasing their holds.
func (f *fixture) collect() {
	for {
		select {
		case e := <-f.events.ch:
			f.clk.Done()
			f.emitted = append(f.emitted, e)
		default:
			return
		}
	}
}

// drain returns the events emitted since the last drain.
func (f *fixture) drain() []protocol.Event {
	f.collect()
	out := f.emitted
	f.emitted = nil
	return out
}
