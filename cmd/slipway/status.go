package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/operator"
)

func newStatusCommand() *cobra.Command {
	var (
		sf        stackFlags
		of        outputFlag
		env, exec string
		limit     int
		watch     bool
	)
	c := &cobra.Command{
		Use:   "status [--env ENV] [SERVICE] [--watch]",
		Short: "Show running and recent deployments",
		Long: `status lists the running and recent executions of the deploy state machine,
newest first: service, environment, image, the state it is in (or ended
in), when it started and its status.

With --watch it follows the newest matching deployment (the one named by
--execution, if given) as slipway watch does until it ends, and exits 0 if
it ended Deployed, 1 otherwise.

--output json prints the list as a JSON array of executions, or with
--watch one JSON object per change (JSON Lines); docs/cli.md lists the
fields.
` + operatorHelp,
		Example: `  slipway status
  slipway status --env prod web
  slipway status --env prod web --watch`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if limit <= 0 {
				return usageErrorf("--limit %d: must be positive", limit)
			}
			if exec != "" && !watch {
				return usageErrorf("--execution needs --watch")
			}
			if err := of.check(); err != nil {
				return err
			}
			op, err := sf.connect(c.Context())
			if err != nil {
				return err
			}
			f := operator.Filter{Environment: env, Limit: limit}
			if len(args) == 1 {
				f.Service = args[0]
			}
			if watch && exec != "" {
				arn, err := op.ExecutionARN(c.Context(), exec)
				if err != nil {
					return err
				}
				return watchExecution(c, op, arn, of)
			}
			if watch {
				f.Limit = 1
			}
			list, err := op.Status(c.Context(), f)
			if err != nil {
				return err
			}
			if len(list) == 0 && (f.Service != "" || f.Environment != "") {
				if err := op.CheckNames(c.Context(), f.Service, f.Environment); err != nil {
					return err
				}
			}
			if watch {
				if len(list) == 0 {
					return fmt.Errorf("no deployment%s to watch: start one with slipway deploy", describeFilter(f))
				}
				fmt.Fprintln(c.ErrOrStderr(), "watching", list[0].ARN)
				return watchExecution(c, op, list[0].ARN, of)
			}
			if of.json() {
				if list == nil {
					list = []operator.Execution{}
				}
				return writeJSON(c.OutOrStdout(), list)
			}
			if len(list) == 0 {
				fmt.Fprintf(c.OutOrStdout(), "no deployments%s\n", describeFilter(f))
				return nil
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERVICE\tENVIRONMENT\tIMAGE\tSTATE\tSTARTED\tSTATUS")
			for _, x := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", x.Service, x.Environment, orDash(x.Image), orDash(x.State),
					x.Started.UTC().Format(time.RFC3339), x.Status)
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVar(&env, "env", "", "only deployments to this environment")
	c.Flags().IntVar(&limit, "limit", 20, "show at most N deployments")
	c.Flags().BoolVar(&watch, "watch", false, "follow the newest matching deployment until it ends")
	c.Flags().StringVar(&exec, "execution", "", "with --watch: the execution (name or ARN) to follow")
	of.add(c)
	sf.add(c)
	completeSpecs(c, &sf, nil)
	return c
}

func describeFilter(f operator.Filter) string {
	s := ""
	if f.Service != "" {
		s += " of " + f.Service
	}
	if f.Environment != "" {
		s += " in " + f.Environment
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
