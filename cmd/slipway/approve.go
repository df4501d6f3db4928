package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/operator"
)

func newApproveCommand() *cobra.Command {
	var (
		sf      stackFlags
		env, by string
	)
	c := &cobra.Command{
		Use:   "approve --env ENV SERVICE [--by NAME]",
		Short: "Approve the deployment of a service waiting for approval",
		Long: `approve lets the deployment of SERVICE waiting in AwaitApproval in ENV
continue to Apply. It fails when no approval is pending (none was asked for,
or it was already answered, timed out or superseded).
` + operatorHelp,
		Example: `  slipway approve --env prod web
  slipway approve --env prod --by alice web`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireEnv(c, env); err != nil {
				return err
			}
			op, err := sf.connect(c.Context())
			if err != nil {
				return err
			}
			a, err := op.Approve(c.Context(), env, args[0], by)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "approved deployment %s of %s to %s (%s); follow it with: slipway status --watch --env %s %s\n",
				a.Deployment, a.Service, a.Environment, orDash(a.Image), env, args[0])
			return nil
		},
	}
	c.Flags().StringVar(&env, "env", "", "environment (required)")
	c.Flags().StringVar(&by, "by", operator.Actor(), "who approves, for history")
	sf.add(c)
	return c
}

func newRejectCommand() *cobra.Command {
	var (
		sf              stackFlags
		env, by, reason string
	)
	c := &cobra.Command{
		Use:   "reject --env ENV SERVICE --reason TEXT",
		Short: "Reject the deployment of a service waiting for approval",
		Long: `reject ends the deployment of SERVICE waiting in AwaitApproval in ENV as
Rejected; nothing was changed, so nothing is rolled back. The reason is
kept in history.
` + operatorHelp,
		Example: `  slipway reject --env prod --reason "release freeze" web`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireEnv(c, env); err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return usageErrorf("%s needs --reason TEXT (kept in history)", c.CommandPath())
			}
			op, err := sf.connect(c.Context())
			if err != nil {
				return err
			}
			a, err := op.Reject(c.Context(), env, args[0], by, reason)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "rejected deployment %s of %s to %s (%s)\n", a.Deployment, a.Service, a.Environment, orDash(a.Image))
			return nil
		},
	}
	c.Flags().StringVar(&env, "env", "", "environment (required)")
	c.Flags().StringVar(&reason, "reason", "", "why (required)")
	c.Flags().StringVar(&by, "by", operator.Actor(), "who rejects, for history")
	sf.add(c)
	return c
}
