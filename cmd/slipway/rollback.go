package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/operator"
)

func newRollbackCommand() *cobra.Command {
	var (
		sf          stackFlags
		env, reason string
		by          removedBy
		wait        bool
	)
	c := &cobra.Command{
		Use:   "rollback --env ENV SERVICE [--reason TEXT] [--wait]",
		Short: "Halt a deployment in progress, or go back to the previous image",
		Long: `rollback puts SERVICE in ENV back to how it was.

If a deployment is in progress, it is halted: its current wait (stabilising,
baking) fails with Halted and the state machine restores the service exactly
as it was before that deployment. It ends RolledBack. A deployment already
rolling back on its own (an alarm fired) is joined, not halted: its rollback
goes on undisturbed, and --wait follows it.

Otherwise a new deployment of the image of the last successful deployment
before the current one is started (pinned by digest, with the latest specs).
It prints that execution's ARN; --wait follows it.
` + identityHelp + operatorHelp,
		Example: `  slipway rollback --env prod --reason "5xx after release" web
  slipway rollback --env staging --wait worker`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := by.check(c); err != nil {
				return err
			}
			if err := requireEnv(c, env); err != nil {
				return err
			}
			op, err := sf.connect(c.Context())
			if err != nil {
				return err
			}
			caller, err := op.Caller(c.Context())
			if err != nil {
				return fmt.Errorf("roll back %s in %s: %w", args[0], env, err)
			}
			r, err := op.Rollback(c.Context(), env, args[0], caller, reason)
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			switch {
			case r.Joined:
				fmt.Fprintf(out, "deployment %s of %s in %s is already rolling back; joined it: %s\n", r.Deployment, args[0], env, r.Execution)
			case r.Halted:
				fmt.Fprintf(out, "halted deployment %s of %s in %s; it rolls back: %s\n", r.Deployment, args[0], env, r.Execution)
			default:
				fmt.Fprintf(out, "no deployment in progress; deploying the previous image %s (deployment %s): %s\n", r.Image, r.From.Deployment, r.Execution)
			}
			if !wait {
				return nil
			}
			x, err := op.Watch(c.Context(), r.Execution, func(state string) { fmt.Fprintln(out, state) })
			if err != nil {
				return err
			}
			if r.Halted || r.Joined {
				return rolledBack(out, x)
			}
			return outcome(out, x)
		},
	}
	c.Flags().StringVar(&env, "env", "", "environment (required)")
	c.Flags().StringVar(&reason, "reason", "", "why, shown in history")
	by.add(c)
	c.Flags().BoolVar(&wait, "wait", false, "follow the rollback until it ends")
	sf.add(c)
	completeSpecs(c, &sf, nil)
	return c
}

// rolledBack reports how a halted deployment ended: RolledBack is success.
func rolledBack(out interface{ Write([]byte) (int, error) }, x operator.Execution) error {
	if x.State == "RolledBack" {
		fmt.Fprintf(out, "rolled back %s in %s\n", x.Service, x.Environment)
		return nil
	}
	return fmt.Errorf("halted deployment of %s to %s ended in %s (%s %s): check the service, see slipway history --env %s %s",
		x.Service, x.Environment, x.State, x.Status, x.Error, x.Environment, x.Service)
}
