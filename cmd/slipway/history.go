package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/store"
)

func newHistoryCommand() *cobra.Command {
	var (
		sf     stackFlags
		of     outputFlag
		env    string
		limit  int
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "history --env ENV SERVICE [--limit N] [--json]",
		Short: "Show how past deployments of a service ended",
		Long: `history lists the deployments of a service in an environment, newest first,
with their outcome (deployed, rolled-back, failed, rejected, superseded,
rollback-failed), image, start and end times, and the error that ended a
failed one. failed is a deployment that failed before it changed anything
(an AWS API unreachable, a missing cluster): there was nothing to roll back.
--output json (or --json) prints the entries as a JSON array, as the state
store keeps them; docs/cli.md lists the fields.
` + operatorHelp,
		Example: `  slipway history --env prod web
  slipway history --env staging --limit 5 --json worker`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireEnv(c, env); err != nil {
				return err
			}
			if limit < 0 {
				return usageErrorf("--limit %d: must be 0 (all) or more", limit)
			}
			if err := of.check(); err != nil {
				return err
			}
			asJSON = asJSON || of.json()
			op, err := sf.connect(c.Context())
			if err != nil {
				return err
			}
			entries, err := op.History(c.Context(), env, args[0], limit)
			if err != nil {
				return err
			}
			if len(entries) == 0 {
				// No history: say so, unless the names are wrong (a
				// service removed from the specs keeps its history).
				if err := op.CheckNames(c.Context(), args[0], env); err != nil {
					return err
				}
			}
			out := c.OutOrStdout()
			if asJSON {
				if entries == nil {
					entries = []store.HistoryEntry{}
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(entries)
			}
			if len(entries) == 0 {
				fmt.Fprintf(out, "no deployments of %s in %s yet\n", args[0], env)
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "STARTED\tOUTCOME\tIMAGE\tTRIGGER\tDEPLOYMENT\tDETAIL")
			for _, e := range entries {
				detail := e.Reason
				if e.Error != "" {
					detail = e.Error
					if e.Cause != "" {
						detail += ": " + e.Cause
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.StartedAt.UTC().Format(time.RFC3339), e.Outcome,
					orDash(e.Image), orDash(string(e.Trigger.Kind)), e.Deployment, orDash(oneLine(detail)))
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVar(&env, "env", "", "environment (required)")
	c.Flags().IntVar(&limit, "limit", 20, "show at most N entries (0: all)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (the same as --output json)")
	of.add(c)
	sf.add(c)
	completeSpecs(c, &sf, nil)
	return c
}

// oneLine keeps a table row on one line, cut to a readable length.
func oneLine(s string) string {
	r := []rune(s)
	for i, c := range r {
		if c == '\n' || c == '\t' {
			r[i] = ' '
		}
	}
	if len(r) > 120 {
		r = append(r[:119], '…')
	}
	return string(r)
}
