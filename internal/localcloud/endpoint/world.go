package endpoint

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/store"
)

// InitialTag is the tag of the image seeded in every repository.
const InitialTag = "v1"

// DefaultSeedSpeed is the speed of a scaled clock while the world is
// seeded (see Options.SeedSpeed): a 2-minute bake takes 0.2 s.
const DefaultSeedSpeed = 600

// Options describe a running local endpoint.
type Options struct {
	Config
	// Addr is the listen address; "127.0.0.1:4566" if empty.
	Addr string
	// Template is the path of a synthesized template (cdk.out/
	// Slipway.template.json); empty deploys the committed template
	// embedded in the binary (stack.TemplateFile).
	Template string
	// WorkDir is no longer used: nothing is synthesized at run time.
	//
	// Deprecated: leave it empty.
	WorkDir string
	// Specs is the spec root seeded into the world (examples/); nil seeds
	// no world, only the stack.
	Specs fs.FS
	// StateDir restores the services' state at start when it holds some,
	// and saves it at Shutdown; empty keeps no state.
	StateDir string
	// Functions, when set, is a directory holding <kind>/bootstrap binaries
	// built for this machine, which the functions run behind the Lambda
	// Runtime API instead of in-process handlers.
	Functions string
	// SeedSpeed is how many times faster than wall time simulated time
	// runs while the world is seeded, when the clock's speed can change
	// (clock.Speeder, such as clock.Scaled): the initial deployments' task
	// starts, health checks and bakes take minutes of simulated time that
	// nobody watches. The clock returns to its own speed before the
	// endpoint reports healthy. Zero means DefaultSeedSpeed; a speed below
	// the clock's own is not used.
	SeedSpeed float64
	// SettleTimeout bounds, in wall time, the wait for the seed's initial
	// deployments; 2 minutes if zero.
	SettleTimeout time.Duration
}

// Running is a local endpoint serving HTTP with Slipway's stack deployed.
type Running struct {
	*Endpoint
	// URL is the endpoint's base URL.
	URL string
	// AWS is an SDK configuration for the endpoint.
	AWS aws.Config
	// Deployed is the deployed stack.
	Deployed *stack.Deployed
	// Seeded is the seeded world; nil without Options.Specs or when the
	// state was restored.
	Seeded *stack.Seeded
	// Restored reports that the state came from Options.StateDir.
	Restored bool

	srv      *http.Server
	stateDir string
}

// Start builds the endpoint, serves it, deploys Slipway's stack and seeds
// the demo world — or restores them from Options.StateDir — and only then
// reports healthy on GET /_slipway/health.
func Start(ctx context.Context, opts Options) (*Running, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:4566"
	}
	if opts.SettleTimeout == 0 {
		opts.SettleTimeout = 2 * time.Minute
	}
	e := New(opts.Config)
	e.Server.SetReady(false)
	r := &Running{Endpoint: e, stateDir: opts.StateDir}
	fail := func(err error) (*Running, error) {
		_ = r.Shutdown(context.Background())
		return nil, err
	}
	if opts.StateDir != "" {
		found, err := e.LoadState(opts.StateDir)
		if err != nil {
			return fail(err)
		}
		r.Restored = found
	}
	url, srv, err := e.Listen(opts.Addr)
	if err != nil {
		return fail(err)
	}
	r.URL, r.srv = url, srv
	r.AWS = stack.AWSConfig(url, e.Region())

	tpl, err := stack.Template(opts.Template)
	if err != nil {
		return fail(err)
	}
	target := stack.Target{AWS: r.AWS, Functions: e.Lambda, Binaries: opts.Functions, Logger: e.log, Now: e.clk.Now}
	if r.Restored {
		st, err := stack.Resolve(tpl, e.Region())
		if err != nil {
			return fail(err)
		}
		if r.Deployed, err = stack.RegisterFunctions(st, target); err != nil {
			return fail(err)
		}
		e.Server.SetReady(true)
		return r, nil
	}
	began := time.Now()
	if r.Deployed, err = stack.Deploy(ctx, tpl, e.Region(), target); err != nil {
		return fail(err)
	}
	e.log.Info("stack deployed", "wall", time.Since(began).Round(time.Millisecond))
	if opts.Specs != nil {
		restore := fastForward(e.clk, opts.SeedSpeed)
		err := r.seed(ctx, opts)
		restore()
		if err != nil {
			return fail(err)
		}
	}
	e.Server.SetReady(true)
	return r, nil
}

// fastForward runs clk at speed (DefaultSeedSpeed if zero) when it can
// change speed and runs slower, and returns what restores its own speed.
func fastForward(clk clock.Clock, speed float64) (restore func()) {
	if speed == 0 {
		speed = DefaultSeedSpeed
	}
	sp, ok := clk.(clock.Speeder)
	if !ok || sp.Speed() >= speed {
		return func() {}
	}
	own := sp.Speed()
	sp.SetSpeed(speed)
	return func() { sp.SetSpeed(own) }
}

// seed creates the world, uploads the specs and deploys the initial image
// of every service, waiting for those deployments to end.
func (r *Running) seed(ctx context.Context, opts Options) error {
	began := time.Now()
	seeded, err := stack.Seed(ctx, r.AWS, r.Deployed, stack.World{Specs: opts.Specs, Instances: r.ECS, LoadBalancers: r.ELBv2, CloudMap: r.CloudMap})
	if err != nil {
		return err
	}
	r.log.Info("world created and specs uploaded", "wall", time.Since(began).Round(time.Millisecond))
	r.Seeded = seeded
	var repos []string
	for _, name := range sortedNames(seeded.Set.Services) {
		if repo := seeded.Set.Services[name].Image.Repository; repo != "" && !slices.Contains(repos, repo) {
			repos = append(repos, repo)
		}
	}
	if err := stack.CreateRepositories(ctx, r.AWS, repos); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	// The spec-upload function indexes each service spec (and deploys
	// nothing: no service was ever deployed); the initial pushes below find
	// the services through that index, so wait for it.
	if err := r.waitIndexed(ctx, seeded.Set, opts.SettleTimeout); err != nil {
		return fmt.Errorf("seed: spec uploads: %w", err)
	}
	r.log.Info("specs indexed", "wall", time.Since(began).Round(time.Millisecond))
	first := firstStage(seeded.Set)
	before, err := ListExecutions(ctx, sfn.NewFromConfig(r.AWS), r.Deployed.StateMachineARN)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	started := 0
	for _, x := range before {
		if first(aws.ToString(x.Name)) {
			started++
		}
	}
	for _, repo := range repos {
		if _, err := stack.PushImage(ctx, r.AWS, repo, InitialTag); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	// Promotions to later environments may wait for approval: only the
	// first environment of each pipeline is waited for.
	if err := r.WaitExecutions(ctx, first, started+len(repos), opts.SettleTimeout); err != nil {
		return fmt.Errorf("seed: initial deployments: %w", err)
	}
	r.log.Info("initial deployments ended", "wall", time.Since(began).Round(time.Millisecond))
	return nil
}

// waitIndexed waits, at most timeout of wall time, until the spec index in
// the state bucket lists every service of set.
func (r *Running) waitIndexed(ctx context.Context, set *spec.Set, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st := store.New(s3api.New(s3.NewFromConfig(r.AWS)), r.Deployed.SpecBucket, r.Deployed.StateBucket)
	for {
		idx, _, err := st.Index(ctx)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("read the spec index: %w", err)
		}
		var missing []string
		for _, name := range sortedNames(set.Services) {
			if _, ok := idx.Entries[name]; !ok {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the spec index to list %s: %w", strings.Join(missing, ", "), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// firstStage matches the execution names of deployments to the first
// environment of a service's pipeline: "<service>-<environment>-<id>".
func firstStage(set *spec.Set) func(name string) bool {
	var prefixes []string
	for name, svc := range set.Services {
		if len(svc.Pipeline) > 0 {
			prefixes = append(prefixes, name+"-"+svc.Pipeline[0]+"-")
		}
	}
	return func(name string) bool {
		return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) })
	}
}

func sortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// WaitExecutions waits, at most timeout of wall time, until the deploy
// state machine has at least n executions whose names match and none of
// them is running.
func (r *Running) WaitExecutions(ctx context.Context, match func(name string) bool, n int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := sfn.NewFromConfig(r.AWS)
	for {
		all, err := ListExecutions(ctx, c, r.Deployed.StateMachineARN)
		if err != nil {
			return err
		}
		var execs []sfntypes.ExecutionListItem
		for _, x := range all {
			if match(aws.ToString(x.Name)) {
				execs = append(execs, x)
			}
		}
		var running []string
		for _, x := range execs {
			if x.Status == sfntypes.ExecutionStatusRunning {
				running = append(running, aws.ToString(x.Name))
			}
		}
		if len(execs) >= n && len(running) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %d executions to end (%d started, still running: %s): %w",
				n, len(execs), strings.Join(running, ", "), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ListExecutions lists every execution of a state machine, newest first.
func ListExecutions(ctx context.Context, c *sfn.Client, machineARN string) ([]sfntypes.ExecutionListItem, error) {
	var out []sfntypes.ExecutionListItem
	p := sfn.NewListExecutionsPaginator(c, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machineARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list executions: %w", err)
		}
		out = append(out, page.Executions...)
	}
	return out, nil
}

// Shutdown stops serving, saves the state when a state directory was
// given, and stops the services.
func (r *Running) Shutdown(ctx context.Context) error {
	var errs []error
	if r.srv != nil {
		// Shutdown waits seconds for connections opened but not yet used
		// (the SDK clients' pools); a quarter second is enough for the
		// requests in flight, then the rest are closed.
		sctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		err := r.srv.Shutdown(sctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			err = r.srv.Close()
		}
		errs = append(errs, err)
	}
	if r.stateDir != "" && r.Deployed != nil {
		errs = append(errs, r.SaveState(r.stateDir))
	}
	errs = append(errs, r.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("shut down the local endpoint: %w", err)
	}
	return nil
}
