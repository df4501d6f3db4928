package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/operator"
	"github.com/slipwayhq/slipway/internal/report"
)

func newReportCommand() *cobra.Command {
	var (
		sf       stackFlags
		env, out string
	)
	c := &cobra.Command{
		Use:   "report EXECUTION|SERVICE --env ENV [-o FILE.svg|FILE.html]",
		Short: "Draw the timeline of one deployment as SVG or HTML",
		Long: `report draws one deployment over time: the traffic weight of each slot as a
step line, the desired tasks of each slot, the time each watched alarm was
in ALARM, and markers for approval, apply, each traffic shift, each bake,
promotion, rollback and the end, with their times.

It reads only what the deployment left behind — the execution's history in
Step Functions (each state's input and output), the plan and history entry
in the state bucket, and CloudWatch's alarm history — so it works after the
fact, on AWS as on slipway local. EXECUTION is an execution ARN; SERVICE
draws the newest deployment of that service in ENV.

The task counts are desired counts derived from the plan (the counts
before, the full count) and the phases' outputs (each shift's weight), not
sampled running counts: see docs/report.md.

-o FILE.svg writes a standalone SVG, -o FILE.html a page embedding it;
without -o the SVG goes to stdout.
` + operatorHelp,
		Example: `  slipway report web --env staging -o web.svg
  slipway report arn:aws:states:us-east-1:123456789012:execution:Slipway-deploy:web-staging-1a2b -o web.html`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("report needs one EXECUTION (an execution ARN) or SERVICE (see slipway report --help)")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			ref := args[0]
			if !strings.HasPrefix(ref, "arn:") {
				if err := requireEnv(c, env); err != nil {
					return err
				}
			}
			format, err := reportFormat(out)
			if err != nil {
				return err
			}
			op, err := sf.connect(c.Context())
			if err != nil {
				return err
			}
			t, warnings, err := buildReport(c.Context(), op, ref, env)
			if err != nil {
				return err
			}
			for _, w := range warnings {
				fmt.Fprintln(c.ErrOrStderr(), "warning:", w)
			}
			var buf bytes.Buffer
			if format == "html" {
				err = report.WriteHTML(&buf, t)
			} else {
				err = report.WriteSVG(&buf, t)
			}
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err := c.OutOrStdout().Write(buf.Bytes())
				return err
			}
			if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
				return fmt.Errorf("write %s: %w", out, err)
			}
			fmt.Fprintln(c.OutOrStdout(), out)
			return nil
		},
	}
	c.Flags().StringVar(&env, "env", "", "environment of SERVICE (required with SERVICE)")
	c.Flags().StringVarP(&out, "output-file", "o", "", "write to FILE.svg or FILE.html (default: SVG on stdout)")
	sf.add(c)
	completeSpecs(c, &sf, nil)
	return c
}

// reportFormat is svg or html, from the output file's extension.
func reportFormat(path string) (string, error) {
	if path == "" || path == "-" {
		return "svg", nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg":
		return "svg", nil
	case ".html", ".htm":
		return "html", nil
	}
	return "", usageErrorf("-o %s: want a file ending in .svg or .html", path)
}

// buildReport finds the execution ref names and builds its timeline. An
// unknown service, environment or execution is a usage error naming what
// exists.
func buildReport(ctx context.Context, op *operator.Operator, ref, env string) (*report.Timeline, []string, error) {
	if !strings.HasPrefix(ref, "arn:") {
		if err := op.CheckNames(ctx, ref, env); err != nil {
			return nil, nil, err
		}
	}
	arn, err := op.ResolveExecution(ctx, ref, env)
	if errors.Is(err, operator.ErrNoExecution) {
		return nil, nil, usageErrorf("%v", err)
	}
	if err != nil {
		return nil, nil, err
	}
	rec, err := op.Record(ctx, arn, time.Now())
	if errors.Is(err, operator.ErrNoExecution) {
		return nil, nil, usageErrorf("%v", err)
	}
	if err != nil {
		return nil, nil, err
	}
	t, err := report.Build(rec.Input)
	if err != nil {
		return nil, nil, err
	}
	return t, rec.Warnings, nil
}
