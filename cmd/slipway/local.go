package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/examples"
	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/ecs"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
)

// clockFlags are the --speed and --virtual flags of local and demo.
type clockFlags struct {
	speed   float64
	virtual bool
	cmd     *cobra.Command
}

func (f *clockFlags) add(c *cobra.Command, defaultSpeed float64) {
	c.Flags().Float64Var(&f.speed, "speed", defaultSpeed, "run simulated time N times faster than wall time (1: wall time)")
	c.Flags().BoolVar(&f.virtual, "virtual", false, "run on a virtual clock that jumps to the next timer whenever nothing is in flight (simulated time races ahead while idle: for scripted runs)")
	f.cmd = c
}

func (f *clockFlags) clock() (clock.Clock, error) {
	switch {
	case f.virtual && f.cmd.Flags().Changed("speed"):
		return nil, usageErrorf("--speed and --virtual choose two different clocks: give one of them")
	case f.virtual:
		return clock.NewVirtual(time.Now()), nil
	case f.speed <= 0:
		return nil, usageErrorf("--speed %v: must be positive", f.speed)
	}
	// A scaled clock even at wall speed: the world is seeded fast-forward
	// (endpoint.Options.SeedSpeed), which the real clock cannot do.
	return clock.Scaled(f.speed), nil
}

func newLocalCommand() *cobra.Command {
	var (
		port     int
		listen   string
		stateDir string
		template string
		specs    string
		noWorld  bool
		binaries string
		clk      clockFlags
		verbose  bool
		tasks    = ecs.Realistic()
	)
	c := &cobra.Command{
		Use:   "local",
		Short: "Run a local AWS endpoint with Slipway deployed on it",
		Long: `local serves one HTTP endpoint that answers the AWS APIs Slipway uses (ECS, ECR,
S3, ELBv2, CloudWatch, Step Functions, Lambda, EventBridge, STS), deploys
Slipway's synthesized stack onto it and seeds the world of the example specs:
clusters, container instances, a load balancer with blue/green target groups,
alarms, ECR repositories with an initial image, and the specs themselves.

It needs nothing but this binary: the synthesized template of the stack and
the example specs are built in (--template and --specs name others), so it
runs from any directory and needs no Node.js (only ` + "`make synth`" + ` and
` + "`make deploy`" + ` run the CDK).

It listens on 127.0.0.1 only unless --listen names another address. Point
the AWS CLI or SDK at it with the printed exports.

It has no authentication: any credentials are accepted, and whoever can
reach it controls everything on it. --listen 0.0.0.0 gives full control to
anyone on your network. Against web pages, it refuses requests with a
browser Origin (or Sec-Fetch-Site) header, requests whose Host is not
localhost, a loopback address or the listen address on its port (DNS
rebinding), and control-API changes not sent as application/json.

GET /_slipway/health answers 200 once the stack is deployed and seeded (the
seed's initial deployments run fast-forward, then time runs at --speed). With
--state-dir the state is saved on exit and restored on the next start.

Simulated time runs 60 times faster than wall time unless --speed says
otherwise: a 10-minute bake takes 10 seconds.

Tasks take AWS's times: a Fargate task provisions for 20 s and pulls for 15 s
(--task-provisioning, --task-pull), its target is healthy after the target
group's health check interval × healthy threshold (30 s × 5 by default), and
a stopping task drains for the group's deregistration delay (300 s).`,
		Example: `  slipway local
  slipway local --speed 60 --state-dir .slipway-local
  slipway local --listen 0.0.0.0 --port 4567
  slipway local --specs ./my-specs --template cdk.out/Slipway.template.json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ck, err := clk.clock()
			if err != nil {
				return err
			}
			if tasks.Provisioning <= 0 {
				return usageErrorf("--task-provisioning %s: must be positive", tasks.Provisioning)
			}
			if tasks.Pull <= 0 {
				return usageErrorf("--task-pull %s: must be positive", tasks.Pull)
			}
			host := "127.0.0.1"
			if listen != "" {
				host = listen
			}
			addr := net.JoinHostPort(host, strconv.Itoa(port))
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			log := slog.New(slog.NewTextHandler(c.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			specFS, err := specRoot(c, specs, noWorld)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			fmt.Fprintf(c.ErrOrStderr(), "starting the local endpoint on %s (deploying the stack and seeding the world)…\n", addr)
			r, err := endpoint.Start(ctx, endpoint.Options{Addr: addr, Template: template, Specs: specFS, StateDir: stateDir,
				Functions: binaries, Config: endpoint.Config{Clock: ck, Logger: log, Tasks: tasks}})
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			fmt.Fprintf(out, "export AWS_ENDPOINT_URL=%s AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=%s AWS_DEFAULT_REGION=%s\n", r.URL, r.Region(), r.Region())
			if r.Restored {
				fmt.Fprintf(c.ErrOrStderr(), "state restored from %s\n", stateDir)
			}
			fmt.Fprintf(c.ErrOrStderr(), "ready: state machine %s, spec bucket %s; Ctrl-C stops\n", r.Deployed.StateMachineARN, r.Deployed.SpecBucket)
			<-ctx.Done()
			fmt.Fprintln(c.ErrOrStderr(), "stopping…")
			shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return r.Shutdown(shutdown)
		},
	}
	c.Flags().IntVar(&port, "port", 4566, "port to listen on")
	c.Flags().StringVar(&listen, "listen", "", "address to listen on instead of 127.0.0.1 (e.g. 0.0.0.0: reachable from other hosts, which then have full control: there is no authentication)")
	c.Flags().StringVar(&stateDir, "state-dir", "", "save the state here on exit and restore it on start")
	c.Flags().StringVar(&template, "template", "", "synthesized template to deploy, e.g. cdk.out/Slipway.template.json (default: the one built into slipway)")
	c.Flags().StringVar(&specs, "specs", "", "spec root to seed the world from (default: the examples built into slipway)")
	c.Flags().BoolVar(&noWorld, "no-world", false, "seed no world: deploy only the stack")
	c.Flags().StringVar(&binaries, "functions", "", "run the functions' bootstrap binaries from this directory (<kind>/bootstrap, built for this machine) behind the Lambda Runtime API instead of in-process")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "log what the services and functions do")
	// Tasks start, pass their target groups' health checks (interval ×
	// healthy threshold) and drain (deregistration delay) in AWS's times,
	// so that what survives here survives there.
	c.Flags().DurationVar(&tasks.Provisioning, "task-provisioning", ecs.RealisticProvisioning, "simulated time a Fargate task takes to provision (PROVISIONING → PENDING)")
	c.Flags().DurationVar(&tasks.Pull, "task-pull", ecs.RealisticPull, "simulated time a task takes to pull its image and start (PENDING → RUNNING)")
	// Bakes and waits of minutes pass in seconds by default, so the seeded
	// deployments end and rehearsals take moments.
	clk.add(c, 60)
	c.AddCommand(newFaultCommand())
	return c
}

// newFaultCommand is `slipway local fault …`: the control API's faults.
func newFaultCommand() *cobra.Command {
	var url string
	control := func() endpoint.Control { return endpoint.Control{URL: url} }
	digest := func(c *cobra.Command, ref string) (string, error) {
		d, err := endpoint.ResolveImage(c.Context(), stack.AWSConfig(url, regionFromEnv()), ref)
		if err != nil {
			return "", usageErrorf("%v", err)
		}
		return d, nil
	}
	show := func(c *cobra.Command, st faults.State) error {
		b, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(c.OutOrStdout(), string(b))
		return nil
	}
	image := func(use, short, example string, nArgs int, behaviour func(args []string) (faults.Behaviour, error)) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: cobra.ExactArgs(nArgs), Example: "  slipway local fault " + example,
			RunE: func(c *cobra.Command, args []string) error {
				b, err := behaviour(args)
				if err != nil {
					return err
				}
				d, err := digest(c, args[0])
				if err != nil {
					return err
				}
				st, err := control().Apply(c.Context(), faults.State{Images: map[string]faults.Behaviour{d: b}})
				if err != nil {
					return err
				}
				return show(c, st)
			},
		}
	}
	c := &cobra.Command{
		Use:   "fault",
		Short: "Inject faults into a running local endpoint",
		Long: `fault changes how the simulated world behaves, to rehearse every rollback path.
An IMAGE is repository:tag (resolved in the endpoint's ECR), sha256:<digest> or
uri@sha256:<digest>; the fault applies to every task running that image.
A SERVICE to throttle is one of: ecs, ecr, s3, elasticloadbalancing,
monitoring, states, events, lambda, application-autoscaling, servicediscovery,
sts.`,
		Example: `  slipway local fault error-rate web:v3 0.3
  slipway local fault crash worker:v2
  slipway local fault throttle ecs UpdateService --count 3
  slipway local fault clear`,
	}
	def := os.Getenv("AWS_ENDPOINT_URL")
	if def == "" {
		def = "http://127.0.0.1:4566"
	}
	c.PersistentFlags().StringVar(&url, "endpoint", def, "the local endpoint's URL")
	c.AddCommand(
		image("crash IMAGE", "Tasks of IMAGE exit right after starting", "crash worker:v2", 1, func([]string) (faults.Behaviour, error) {
			return faults.Behaviour{CrashOnStart: true}, nil
		}),
		image("unhealthy IMAGE", "Tasks of IMAGE fail their load balancer health checks", "unhealthy web:v3", 1, func([]string) (faults.Behaviour, error) {
			return faults.Behaviour{FailHealthChecks: true}, nil
		}),
		image("error-rate IMAGE RATE", "Tasks of IMAGE answer RATE (0..1) of requests with 5xx", "error-rate web:v3 0.3", 2, func(args []string) (faults.Behaviour, error) {
			r, err := strconv.ParseFloat(args[1], 64)
			if err != nil || r < 0 || r > 1 {
				return faults.Behaviour{}, usageErrorf("RATE %q: want a number from 0 to 1", args[1])
			}
			return faults.Behaviour{ErrorRate: r}, nil
		}),
		image("latency IMAGE MS", "Tasks of IMAGE answer MS milliseconds slower", "latency web:v3 800", 2, func(args []string) (faults.Behaviour, error) {
			ms, err := strconv.Atoi(args[1])
			if err != nil || ms < 0 {
				return faults.Behaviour{}, usageErrorf("MS %q: want a whole number of milliseconds", args[1])
			}
			return faults.Behaviour{LatencyMs: ms}, nil
		}),
		image("heal IMAGE", "Remove the faults of IMAGE", "heal web:v3", 1, func([]string) (faults.Behaviour, error) {
			return faults.Behaviour{}, nil
		}),
	)
	var count int
	throttle := &cobra.Command{
		Use: "throttle SERVICE [OPERATION]", Short: "Throttle the next calls of an API (OPERATION * or absent: every operation)",
		Args: cobra.RangeArgs(1, 2),
		Example: `  slipway local fault throttle ecs UpdateService --count 3
  slipway local fault throttle states`,
		RunE: func(c *cobra.Command, args []string) error {
			op := "*"
			if len(args) == 2 {
				op = args[1]
			}
			if count < 1 {
				return usageErrorf("--count %d: must be at least 1", count)
			}
			st, err := control().Apply(c.Context(), faults.State{Throttles: []faults.Throttle{{Service: args[0], Operation: op, Count: count}}})
			if err != nil {
				return err
			}
			return show(c, st)
		},
	}
	throttle.Flags().IntVar(&count, "count", 1, "how many calls are throttled")
	delay := &cobra.Command{
		Use: "delay-events DURATION", Short: "Deliver EventBridge events DURATION late (e.g. 30s)", Args: cobra.ExactArgs(1),
		Example: "  slipway local fault delay-events 30s",
		RunE: func(c *cobra.Command, args []string) error {
			d, err := time.ParseDuration(args[0])
			if err != nil || d <= 0 {
				return usageErrorf("DURATION %q: want a positive duration such as 30s", args[0])
			}
			st, err := control().Apply(c.Context(), faults.State{EventDelayMs: d.Milliseconds()})
			if err != nil {
				return err
			}
			return show(c, st)
		},
	}
	drop := &cobra.Command{
		Use: "drop-events N", Short: "Drop the next N EventBridge events", Args: cobra.ExactArgs(1),
		Example: "  slipway local fault drop-events 1",
		RunE: func(c *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 {
				return usageErrorf("N %q: want a whole number of at least 1", args[0])
			}
			st, err := control().Apply(c.Context(), faults.State{DropEvents: n})
			if err != nil {
				return err
			}
			return show(c, st)
		},
	}
	clear := &cobra.Command{
		Use: "clear", Short: "Remove every fault", Args: cobra.NoArgs, Example: "  slipway local fault clear",
		RunE: func(c *cobra.Command, _ []string) error { return control().Clear(c.Context()) },
	}
	list := &cobra.Command{
		Use: "show", Short: "Print the active faults", Args: cobra.NoArgs, Example: "  slipway local fault show",
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := control().Faults(c.Context())
			if err != nil {
				return err
			}
			return show(c, st)
		},
	}
	c.AddCommand(throttle, delay, drop, clear, list)
	return c
}

// specRoot is the spec root local and demo seed: the directory --specs
// names, or the examples built into the binary; nil with --no-world.
func specRoot(c *cobra.Command, dir string, none bool) (fs.FS, error) {
	switch {
	case none && dir != "":
		return nil, usageErrorf("--specs and --no-world contradict each other: give one of them")
	case none:
		return nil, nil
	case dir == "" && c.Flags().Changed("specs"):
		return nil, usageErrorf("--specs: empty; name a spec root directory (or drop the flag to seed the built-in examples)")
	case dir == "":
		return examples.FS(), nil
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, usageErrorf("--specs %s: not a directory", dir)
	}
	return os.DirFS(dir), nil
}

func regionFromEnv() string {
	if r := os.Getenv("AWS_REGION"); r != "" {
		return r
	}
	return "us-east-1"
}
