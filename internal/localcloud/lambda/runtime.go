package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// Runtime API paths (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
const (
	runtimeAPIPrefix = "/2018-06-01/runtime/"
	maxErrorBody     = 1 << 20
)

// RegisterBinary makes the function name run the executable at path (a
// `build/<fn>/bootstrap`) behind the Lambda Runtime API. The process starts
// at the first invocation with the variables Lambda sets
// (AWS_LAMBDA_RUNTIME_API, _HANDLER, AWS_LAMBDA_FUNCTION_NAME, AWS_REGION, …)
// plus env, and not the host's environment, so a function cannot pick up
// real AWS credentials by accident. One invocation runs at a time; the
// process is restarted after it exits and stopped by Close.
func (s *Service) RegisterBinary(name, path string, env map[string]string) error {
	if !functionNameRE.MatchString(name) {
		return fmt.Errorf("register function %q: a name is 1 to 64 letters, digits, hyphens or underscores", name)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("register function %s: %w", name, err)
	}
	b := &binaryFunction{
		name: name, path: abs, env: maps.Clone(env), arn: s.FunctionARN(name),
		region: s.region, timeout: s.timeout, log: s.log.With("function", name),
	}
	return s.add(&function{name: name, binary: b})
}

// binaryFunction runs a bootstrap binary, one invocation at a time.
type binaryFunction struct {
	name, path, arn, region string
	env                     map[string]string
	timeout                 time.Duration
	log                     *slog.Logger

	mu sync.Mutex // held for a whole invocation, so one runs at a time

	procMu  sync.Mutex // guards proc and stopped
	proc    *runtimeProcess
	stopped bool
}

// runtimeProcess is one running bootstrap process and the Runtime API
// listener it talks to.
type runtimeProcess struct {
	cmd *exec.Cmd
	srv *http.Server

	next   chan *pendingInvocation // the invocation /next hands out
	exited chan struct{}           // closed when the process has exited
	exit   error                   // the process's exit status, set before exited closes

	mu        sync.Mutex
	current   *pendingInvocation
	initErr   *FunctionError
	initFail  chan struct{} // closed when the runtime reports an init error
	closeOnce sync.Once
}

type pendingInvocation struct {
	id       string
	payload  []byte
	deadline time.Time
	result   chan invocationResult // buffered: the Runtime API never blocks on it
}

type invocationResult struct {
	out   []byte
	fnErr *FunctionError
}

// errStopped is returned for invocations of a function stopped by Close.
var errStopped = protocol.Errorf(http.StatusServiceUnavailable, "ServiceException", "the function's process was stopped")

// stop kills the process if it runs, without waiting for an invocation in
// progress (which then fails); later invocations fail.
func (b *binaryFunction) stop() {
	b.procMu.Lock()
	b.stopped = true
	p := b.proc
	b.proc = nil
	b.procMu.Unlock()
	if p != nil {
		p.kill()
	}
}

// process returns the running process, starting one if there is none or
// the last one exited; started says whether it is new.
func (b *binaryFunction) process() (p *runtimeProcess, started bool, err error) {
	b.procMu.Lock()
	defer b.procMu.Unlock()
	if b.stopped {
		return nil, false, errStopped
	}
	if b.proc != nil {
		select {
		case <-b.proc.exited:
			b.proc = nil // a crashed runtime gets a cold start
		default:
			return b.proc, false, nil
		}
	}
	p, err = b.start()
	if err != nil {
		return nil, false, err
	}
	b.proc = p
	return p, true, nil
}

// discard kills p so that the next invocation starts a fresh process.
func (b *binaryFunction) discard(p *runtimeProcess) {
	b.procMu.Lock()
	if b.proc == p {
		b.proc = nil
	}
	b.procMu.Unlock()
	p.kill()
}

func (b *binaryFunction) invoke(ctx context.Context, payload []byte) ([]byte, *FunctionError, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := uuid.NewString()
	inv := &pendingInvocation{id: id, payload: payload, deadline: time.Now().Add(b.timeout), result: make(chan invocationResult, 1)}
	timer := time.NewTimer(b.timeout)
	defer timer.Stop()
	var p *runtimeProcess
	for {
		np, started, err := b.process()
		if errors.Is(err, errStopped) {
			return nil, nil, err
		}
		if err != nil {
			return nil, &FunctionError{Type: "Runtime.InvalidEntrypoint", Message: fmt.Sprintf("RequestId: %s Error: %v", id, err)}, nil
		}
		p = np
		select {
		case p.next <- inv:
		case <-p.initFail:
			return nil, p.initError(), nil
		case <-p.exited:
			// A process that exits before taking the invocation (one that
			// reported a panic and is shutting down) is replaced: the
			// invocation was never delivered, so a fresh process may take
			// it. A fresh one that exits at once has crashed on start.
			if started {
				return nil, b.exitError(p, id), nil
			}
			continue
		case <-timer.C:
			return nil, b.timedOut(p, id), nil
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		break
	}
	select {
	case res := <-inv.result:
		return res.out, res.fnErr, nil
	case <-p.exited:
		// The runtime may have reported the result just before exiting
		// (a panic reports its error, then the process exits).
		select {
		case res := <-inv.result:
			return res.out, res.fnErr, nil
		default:
		}
		return nil, b.exitError(p, id), nil
	case <-timer.C:
		return nil, b.timedOut(p, id), nil
	case <-ctx.Done():
		// The process is still working on it; stop it so the next
		// invocation does not receive a stale result.
		b.discard(p)
		return nil, nil, ctx.Err()
	}
}

func (b *binaryFunction) exitError(p *runtimeProcess, id string) *FunctionError {
	if e := p.initError(); e != nil {
		return e
	}
	return &FunctionError{Type: "Runtime.ExitError", Message: fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %v", id, p.exit)}
}

func (b *binaryFunction) timedOut(p *runtimeProcess, id string) *FunctionError {
	b.log.Warn("function timed out; stopping its process", "timeout", b.timeout)
	b.discard(p)
	return &FunctionError{Type: "Sandbox.Timedout", Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", id, b.timeout.Seconds())}
}

// start listens on a loopback port for the Runtime API and starts the
// bootstrap process pointed at it.
func (b *binaryFunction) start() (*runtimeProcess, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the runtime API: %w", err)
	}
	p := &runtimeProcess{
		next:     make(chan *pendingInvocation),
		exited:   make(chan struct{}),
		initFail: make(chan struct{}),
	}
	p.srv = &http.Server{Handler: p.handler(b.arn), ReadHeaderTimeout: 10 * time.Second}
	env := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          ln.Addr().String(),
		"_HANDLER":                        functionHandlerName,
		"AWS_LAMBDA_FUNCTION_NAME":        b.name,
		"AWS_LAMBDA_FUNCTION_VERSION":     latest,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(defaultMemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + b.name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      "local",
		"AWS_REGION":                      b.region,
		"AWS_DEFAULT_REGION":              b.region,
		"AWS_EXECUTION_ENV":               "AWS_Lambda_" + functionRuntime,
		"LAMBDA_TASK_ROOT":                filepath.Dir(b.path),
		"LAMBDA_RUNTIME_DIR":              filepath.Dir(b.path),
		"TZ":                              ":UTC",
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
	}
	maps.Copy(env, b.env)
	cmd := exec.Command(b.path)
	cmd.Dir = filepath.Dir(b.path)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &lineLogger{log: b.log}
	cmd.Stdout, cmd.Stderr = out, out
	// A child the function started may hold its output open; do not let
	// that keep Wait (and so Close) from returning.
	cmd.WaitDelay = 2 * time.Second
	go p.srv.Serve(ln)
	if err := cmd.Start(); err != nil {
		p.srv.Close()
		return nil, fmt.Errorf("start %s: %w", b.path, err)
	}
	p.cmd = cmd
	b.log.Info("started function process", "path", b.path, "pid", cmd.Process.Pid, "runtimeAPI", ln.Addr().String())
	go func() {
		p.exit = cmd.Wait()
		out.flush()
		close(p.exited)
		p.srv.Close()
	}()
	return p, nil
}

// kill stops the process and waits for it to exit.
func (p *runtimeProcess) kill() {
	p.closeOnce.Do(func() {
		if p.cmd.Process != nil {
			p.cmd.Process.Kill()
		}
	})
	<-p.exited
}

func (p *runtimeProcess) initError() *FunctionError {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.initErr
}

// handler serves the Runtime API for one process.
func (p *runtimeProcess) handler(arn string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, ok := strings.CutPrefix(r.URL.Path, runtimeAPIPrefix)
		switch {
		case ok && path == "invocation/next" && r.Method == http.MethodGet:
			p.serveNext(w, r, arn)
		case ok && path == "init/error" && r.Method == http.MethodPost:
			fe := readFunctionError(r)
			p.mu.Lock()
			if p.initErr == nil {
				p.initErr = fe
				close(p.initFail)
			}
			p.mu.Unlock()
			writeRuntimeStatus(w)
		case ok && strings.HasPrefix(path, "invocation/") && r.Method == http.MethodPost:
			id, what, _ := strings.Cut(strings.TrimPrefix(path, "invocation/"), "/")
			p.serveResult(w, r, id, what)
		default:
			writeRuntimeError(w, http.StatusNotFound, "InvalidRequest", "unknown runtime API call "+r.Method+" "+r.URL.Path)
		}
	})
}

func (p *runtimeProcess) serveNext(w http.ResponseWriter, r *http.Request, arn string) {
	select {
	case inv := <-p.next:
		p.mu.Lock()
		p.current = inv
		p.mu.Unlock()
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", arn)
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-"+strings.ReplaceAll(inv.id, "-", "")[:8]+"-"+strings.ReplaceAll(inv.id, "-", "")[8:32]+";Sampled=0")
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(inv.payload)
	case <-r.Context().Done():
	}
}

func (p *runtimeProcess) serveResult(w http.ResponseWriter, r *http.Request, id, what string) {
	if what != "response" && what != "error" {
		writeRuntimeError(w, http.StatusNotFound, "InvalidRequest", "unknown runtime API call "+r.URL.Path)
		return
	}
	p.mu.Lock()
	inv := p.current
	if inv != nil && inv.id == id {
		p.current = nil
	}
	p.mu.Unlock()
	if inv == nil || inv.id != id {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	var res invocationResult
	if what == "error" {
		res.fnErr = readFunctionError(r)
	} else {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxSyncPayload+1))
		switch {
		case err != nil:
			res.fnErr = &FunctionError{Type: "Runtime.ResponseError", Message: err.Error()}
		case len(body) > maxSyncPayload:
			res.fnErr = &FunctionError{Type: "Function.ResponseSizeTooLarge", Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxSyncPayload)}
		default:
			res.out = body
		}
	}
	inv.result <- res
	writeRuntimeStatus(w)
}

// readFunctionError reads an error the runtime posts; a body that is not
// the documented JSON is reported with the type from the header.
func readFunctionError(r *http.Request) *FunctionError {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxErrorBody))
	fe := &FunctionError{}
	if err := json.Unmarshal(body, fe); err != nil || (fe.Type == "" && fe.Message == "") {
		fe = &FunctionError{Type: r.Header.Get("Lambda-Runtime-Function-Error-Type"), Message: string(body)}
	}
	if fe.Type == "" {
		fe.Type = r.Header.Get("Lambda-Runtime-Function-Error-Type")
	}
	return fe
}

func writeRuntimeStatus(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func writeRuntimeError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(FunctionError{Type: typ, Message: msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// lineLogger logs a process's output line by line.
type lineLogger struct {
	log *slog.Logger
	mu  sync.Mutex
	buf []byte
}

func (l *lineLogger) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			break
		}
		l.log.Info(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	return len(b), nil
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.log.Info(string(l.buf))
		l.buf = nil
	}
}
