// Package demo runs Slipway's end-to-end demonstration against the local
// endpoint: it starts the endpoint in-process with the example world, then
// plays seven scenarios through real SDK clients over HTTP, exactly as a user
// would — push images, upload specs, inject a fault — and checks the outcome
// of each (execution path, listener weights, ECS state).
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
)

// Options configure a demo run.
type Options struct {
	// Specs is the spec root of the world (examples/).
	Specs fs.FS
	// Clock runs the simulation; a clock 60 times faster than wall time if
	// nil.
	Clock clock.Clock
	// Template is the path of a synthesized template; empty deploys the
	// committed one built into the binary.
	Template string
	// Out receives the narration.
	Out io.Writer
	// Logger receives the services' logs; nil discards them.
	Logger *slog.Logger
	// ScenarioTimeout bounds each scenario in wall time; 60 s if zero.
	ScenarioTimeout time.Duration
	// Only runs the scenarios with these numbers (1..7); all if empty.
	Only []int
	// Report is the SVG file the timeline of the rolled-back canary
	// (scenario 2) is written to at the end; none when empty.
	Report string
}

// Result is the outcome of one scenario.
type Result struct {
	Number int
	Name   string
	Err    error
	Wall   time.Duration
}

// Failed is returned by Run when scenarios failed.
type Failed struct{ Results []Result }

// Error names the failed scenarios.
func (f *Failed) Error() string {
	var names []string
	for _, r := range f.Results {
		if r.Err != nil {
			names = append(names, fmt.Sprintf("%d (%s)", r.Number, r.Name))
		}
	}
	return fmt.Sprintf("%d of %d scenarios failed: %s", len(names), len(f.Results), strings.Join(names, ", "))
}

// Run starts the endpoint, plays the scenarios and reports each outcome.
// It returns *Failed when any scenario failed.
func Run(ctx context.Context, opts Options) ([]Result, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Scaled(60)
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.ScenarioTimeout == 0 {
		opts.ScenarioTimeout = time.Minute
	}
	begin := time.Now()
	say := func(format string, args ...any) {
		fmt.Fprintf(opts.Out, "[%5.1fs] %s\n", time.Since(begin).Seconds(), fmt.Sprintf(format, args...))
	}
	say("starting the local endpoint: synthesizing and deploying Slipway's stack, seeding the example world…")
	r, err := endpoint.Start(ctx, endpoint.Options{Addr: "127.0.0.1:0", Template: opts.Template, Specs: opts.Specs,
		Config: endpoint.Config{Clock: opts.Clock, Logger: opts.Logger}})
	if err != nil {
		return nil, fmt.Errorf("start the local endpoint: %w", err)
	}
	defer func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Shutdown(shutdown)
	}()
	var services []string
	for name, svc := range r.Seeded.Set.Services {
		if len(svc.Pipeline) > 0 {
			services = append(services, name+" in "+svc.Pipeline[0])
		}
	}
	slices.Sort(services)
	say("endpoint ready at %s: clusters %s; alarms %s; %s running: %s",
		r.URL, strings.Join(r.Seeded.Clusters, ", "), strings.Join(r.Seeded.Alarms, ", "), endpoint.InitialTag, strings.Join(services, ", "))

	w := newWorld(r, say)
	scenarios := []struct {
		name string
		run  func(context.Context) error
	}{
		{"canary of web:v2 succeeds", w.canarySucceeds},
		{"faulty web:v3 is rolled back by its alarm", w.canaryRollsBack},
		{"an invalid services/web.yaml is rejected", w.invalidSpec},
		{"worker:v2 rolls", w.workerRolls},
		{"agent:v2 (DAEMON) rolls on every instance", w.agentRolls},
		{"web moves to ECS's own canary and web:v4 succeeds", w.nativeCanarySucceeds},
		{"faulty web:v5 on ECS's canary is rolled back by its alarm", w.nativeCanaryRollsBack},
	}
	var results []Result
	for i, sc := range scenarios {
		n := i + 1
		if len(opts.Only) > 0 && !slices.Contains(opts.Only, n) {
			continue
		}
		say("── scenario %d: %s", n, sc.name)
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, opts.ScenarioTimeout)
		err := sc.run(sctx)
		cancel()
		res := Result{Number: n, Name: sc.name, Err: err, Wall: time.Since(start)}
		results = append(results, res)
		if err != nil {
			say("✗ scenario %d FAILED after %.1fs: %v", n, res.Wall.Seconds(), err)
		} else {
			say("✓ scenario %d passed in %.1fs", n, res.Wall.Seconds())
		}
	}
	failed := slices.ContainsFunc(results, func(r Result) bool { return r.Err != nil })
	say("%d scenarios, %d failed, %.1fs in all", len(results), countFailed(results), time.Since(begin).Seconds())
	if opts.Report != "" && w.rolledBack != "" {
		path, err := w.writeReport(ctx, w.rolledBack, opts.Report, opts.Clock.Now())
		if err != nil {
			say("✗ timeline of the rolled-back canary not written: %v", err)
			failed = true
		} else {
			say("timeline of the rolled-back canary (slipway report): %s", path)
		}
	}
	if failed {
		return results, &Failed{Results: results}
	}
	return results, nil
}

func countFailed(rs []Result) int {
	n := 0
	for _, r := range rs {
		if r.Err != nil {
			n++
		}
	}
	return n
}

// execution is one finished execution as the demo checks it.
type execution struct {
	ARN    string
	Status sfntypes.ExecutionStatus
	Error  string
	Cause  string
	Path   []string
	// Failures are the errors of the failed tasks, in order.
	Failures []string
}

// describe summarizes an execution for a failed check.
func (x execution) describe() string {
	s := fmt.Sprintf("%s %s; path %s", x.Status, x.Error, strings.Join(x.Path, " → "))
	if len(x.Failures) > 0 {
		s += "; task failures: " + strings.Join(x.Failures, "; ")
	}
	return s
}

// newExecution waits for an execution whose name starts with prefix and
// that is not in known, and returns its ARN.
func (w *world) newExecution(ctx context.Context, prefix string, known map[string]bool) (string, error) {
	for {
		execs, err := endpoint.ListExecutions(ctx, w.sfn, w.r.Deployed.StateMachineARN)
		if err != nil {
			return "", err
		}
		for _, x := range execs {
			arn := aws.ToString(x.ExecutionArn)
			if strings.HasPrefix(aws.ToString(x.Name), prefix) && !known[arn] {
				return arn, nil
			}
		}
		if err := pause(ctx); err != nil {
			return "", fmt.Errorf("wait for a deployment %s…: %w", prefix, err)
		}
	}
}

// knownExecutions returns the ARNs of the executions that exist now.
func (w *world) knownExecutions(ctx context.Context) (map[string]bool, error) {
	execs, err := endpoint.ListExecutions(ctx, w.sfn, w.r.Deployed.StateMachineARN)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, x := range execs {
		known[aws.ToString(x.ExecutionArn)] = true
	}
	return known, nil
}

// follow narrates an execution's states as they are entered, calling
// onState for each, until it ends; it returns the path and outcome.
func (w *world) follow(ctx context.Context, arn string, onState func(name string)) (execution, error) {
	seen := 0
	var path, failures []string
	for {
		d, err := w.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			return execution{}, fmt.Errorf("describe execution: %w", err)
		}
		var events []sfntypes.HistoryEvent
		p := sfn.NewGetExecutionHistoryPaginator(w.sfn, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return execution{}, fmt.Errorf("execution history: %w", err)
			}
			events = append(events, page.Events...)
		}
		for _, ev := range events[seen:] {
			if f := ev.LambdaFunctionFailedEventDetails; f != nil {
				failures = append(failures, aws.ToString(f.Error)+": "+aws.ToString(f.Cause))
			}
			if f := ev.TaskFailedEventDetails; f != nil {
				failures = append(failures, aws.ToString(f.Error)+": "+aws.ToString(f.Cause))
			}
			if ev.StateEnteredEventDetails != nil {
				name := aws.ToString(ev.StateEnteredEventDetails.Name)
				path = append(path, name)
				if onState != nil {
					onState(name)
				}
			}
		}
		seen = len(events)
		if d.Status != sfntypes.ExecutionStatusRunning {
			return execution{ARN: arn, Status: d.Status, Error: aws.ToString(d.Error), Cause: aws.ToString(d.Cause), Path: path, Failures: failures}, nil
		}
		if err := pause(ctx); err != nil {
			return execution{}, fmt.Errorf("wait for execution %s (at %s): %w", arn, last(path), err)
		}
	}
}

func last(path []string) string {
	if len(path) == 0 {
		return "start"
	}
	return path[len(path)-1]
}

func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(20 * time.Millisecond):
		return nil
	}
}

// errorf is a scenario's failed check.
func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// errNoService means an ECS service does not exist (or is not ACTIVE).
var errNoService = errors.New("no such service")
