package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newUnlockCommand() *cobra.Command {
	var (
		sf  stackFlags
		env string
	)
	c := &cobra.Command{
		Use:   "unlock --env ENV SERVICE",
		Short: "Release the lock a deployment that no longer runs kept on a service",
		Long: `unlock releases the lock on SERVICE in ENV held by a deployment whose
execution has ended: the lock kept after a failed rollback, or one left by
an execution stopped by hand. A deployment whose rollback failed keeps the
lock so that nothing deploys over a service in an unknown state; check the
service first (the history entry says what to compare with the snapshot),
then unlock it. The deployment waiting for the lock, if any, goes on.

A lock held by a running deployment is never released: halt that
deployment with slipway rollback.
` + operatorHelp,
		Example: `  slipway unlock --env prod web`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireEnv(c, env); err != nil {
				return err
			}
			op, err := sf.connect(c.Context())
			if err != nil {
				return err
			}
			u, err := op.Unlock(c.Context(), env, args[0])
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			fmt.Fprintf(out, "released the lock on %s in %s held by deployment %s (%s)\n", args[0], env, u.Lock.Deployment, u.Lock.Stage)
			if u.HandedTo != "" {
				fmt.Fprintf(out, "deployment %s was waiting for it and goes on\n", u.HandedTo)
			}
			return nil
		},
	}
	c.Flags().StringVar(&env, "env", "", "environment (required)")
	sf.add(c)
	completeSpecs(c, &sf, nil)
	return c
}
