package endpoint_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
)

// panics records the panics the router recovered from.
type panics struct {
	mu   sync.Mutex
	msgs []string
}

func (p *panics) Enabled(context.Context, slog.Level) bool { return true }

func (p *panics) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			b.WriteString(" " + a.String())
			return true
		})
		p.mu.Lock()
		p.msgs = append(p.msgs, b.String())
		p.mu.Unlock()
	}
	return nil
}

func (p *panics) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *panics) WithGroup(string) slog.Handler      { return p }

func (p *panics) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.msgs
	p.msgs = nil
	return m
}

// FuzzAssembled sends arbitrary operations and bodies to every JSON service
// of the assembled endpoint and arbitrary forms to the query services: no
// request may make a service panic.
func FuzzAssembled(f *testing.F) {
	rec := &panics{}
	e := endpoint.New(endpoint.Config{Logger: slog.New(rec)})
	f.Cleanup(func() { e.Close() })
	targets := []string{
		"AWSStepFunctions.", "AmazonEC2ContainerServiceV20141113.", "AmazonEC2ContainerRegistry_V20150921.",
		"AWSEvents.", "AnyScaleFrontendService.", "Route53AutoNaming_v20170314.", "GraniteServiceVersion20100801.",
	}
	f.Add(uint8(0), "StartExecution", []byte(`{"stateMachineArn":"arn:aws:states:us-east-1:000000000000:stateMachine:x"}`))
	f.Add(uint8(1), "CreateService", []byte(`{"serviceName":"s","taskDefinition":"t","desiredCount":-1}`))
	f.Add(uint8(2), "PutImage", []byte(`{"repositoryName":"r","imageManifest":"{}"}`))
	f.Add(uint8(3), "PutRule", []byte(`{"Name":"r","EventPattern":"{\"a\":[{\"numeric\":[\">\"]}]}"}`))
	f.Add(uint8(4), "RegisterScalableTarget", []byte(`{"ServiceNamespace":"ecs"}`))
	f.Add(uint8(5), "CreateService", []byte(`{"Name":"s","NamespaceId":"ns-1"}`))
	f.Add(uint8(6), "PutMetricAlarm", []byte(`{"AlarmName":"a","Metrics":[{"Id":"e","Expression":"SUM("}]}`))
	f.Add(uint8(7), "Action=CreateRule&Version=2015-12-01&Priority=x", []byte(nil))
	f.Add(uint8(8), "Action=PutMetricAlarm&Version=2010-08-01&Threshold=abc", []byte(nil))
	f.Fuzz(func(t *testing.T, service uint8, op string, body []byte) {
		var req *http.Request
		if int(service) < len(targets) {
			req = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			req.Header.Set("X-Amz-Target", targets[service]+op)
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		} else {
			req = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(op+"&"+string(body)))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		w := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.Server.ServeHTTP(w, req)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%d %q %q: no answer within 5 s", service, op, body)
		}
		if msgs := rec.take(); len(msgs) > 0 {
			t.Fatalf("%s %q %q: %s", targets[int(service)%len(targets)], op, body, strings.Join(msgs, "\n"))
		}
	})
}
