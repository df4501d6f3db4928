package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/demo"
)

func newDemoCommand() *cobra.Command {
	var (
		specs    string
		template string
		only     []int
		verbose  bool
		reportTo string
		clk      clockFlags
	)
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the end-to-end demonstration on a local endpoint",
		Long: `demo starts the local endpoint in-process with the example world and plays seven
scenarios through real AWS SDK clients, narrating each and checking its outcome:

  1. a push of web:v2 deploys by canary and succeeds
  2. a push of a faulty web:v3 raises 5xx, its alarm fires during a bake,
     and traffic returns to v2
  3. an invalid services/web.yaml is rejected with its errors; nothing deploys
  4. worker:v2 rolls
  5. agent:v2 (a DAEMON service) rolls on every container instance
  6. web moves to ECS's own canary (strategy kind ecs: one service, ECS shifts
     the traffic, Slipway gates each stage with PAUSE hooks); web:v4 succeeds
  7. a push of a faulty web:v5 on ECS's canary: its alarm fires while ECS
     shifts traffic, and the deployment is rolled back to v4

It ends by writing the timeline of scenario 2 (slipway report) to
demo-report.svg (--report) and printing its path. It exits non-zero when
any scenario fails. It needs nothing but this binary: the stack's template
and the example specs are built in.`,
		Example: `  slipway demo
  slipway demo --only 2 --virtual
  slipway demo --report /tmp/canary.svg
  slipway demo --specs ./examples --template cdk.out/Slipway.template.json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ck, err := clk.clock()
			if err != nil {
				return err
			}
			specFS, err := specRoot(c, specs, false)
			if err != nil {
				return err
			}
			level := slog.LevelError + 4 // quiet: the narration says what happens
			if verbose {
				level = slog.LevelInfo
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			_, err = demo.Run(ctx, demo.Options{Specs: specFS, Template: template, Clock: ck, Out: c.OutOrStdout(), Only: only, Report: reportTo,
				Logger: slog.New(slog.NewTextHandler(c.ErrOrStderr(), &slog.HandlerOptions{Level: level}))})
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			return nil
		},
	}
	c.Flags().StringVar(&specs, "specs", "", "spec root of the demo world (default: the examples built into slipway)")
	c.Flags().StringVar(&template, "template", "", "synthesized template to deploy, e.g. cdk.out/Slipway.template.json (default: the one built into slipway)")
	c.Flags().IntSliceVar(&only, "only", nil, "run only these scenarios (1-7)")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "log what the services and functions do")
	c.Flags().StringVar(&reportTo, "report", "demo-report.svg", "SVG file for the timeline of the rolled-back canary (empty: none)")
	clk.add(c, 60)
	return c
}
