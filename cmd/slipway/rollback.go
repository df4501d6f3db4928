package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/operator"
)

func newRollbackCommand() *cobra.Command {
	var (
		sf          stackFlags
		of          outputFlag
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

--wait follows the execution as slipway watch does (a live view on a
terminal, one timestamped line per change otherwise) and exits 0 when a
halted or joined deployment ends RolledBack, or the redeployed previous
image ends Deployed; 1 otherwise. --output json prints one RollbackStarted
object, or with --wait one object per change (JSON Lines, with what was
done on stderr); docs/cli.md lists the fields.
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
			if err := of.check(); err != nil {
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
			started := newRollbackStarted(r, args[0], env)
			switch {
			case !of.json():
				fmt.Fprintln(c.OutOrStdout(), started.text())
			case !wait:
				return writeJSON(c.OutOrStdout(), started)
			default:
				// stdout holds only the JSON Lines.
				fmt.Fprintln(c.ErrOrStderr(), started.text())
			}
			if !wait {
				return nil
			}
			g := toDeployed
			if r.Halted || r.Joined {
				g = toRolledBack
			}
			return followExecution(c, op, r.Execution, of, g)
		},
	}
	c.Flags().StringVar(&env, "env", "", "environment (required)")
	c.Flags().StringVar(&reason, "reason", "", "why, shown in history")
	by.add(c)
	c.Flags().BoolVar(&wait, "wait", false, "follow the rollback until it ends; exit 0 only if it rolled back (or redeployed)")
	of.add(c)
	sf.add(c)
	completeSpecs(c, &sf, nil)
	return c
}

// The actions of a rollback, in RollbackStarted's action field.
const (
	rollbackHalted     = "halted"
	rollbackJoined     = "joined"
	rollbackRedeployed = "redeployed"
)

// rollbackStarted is what rollback --output json prints without --wait:
// what was done, and the execution that does it.
type rollbackStarted struct {
	// Action is halted (a deployment in progress was halted and rolls
	// back), joined (it was already rolling back) or redeployed (a new
	// deployment of the previous image was started).
	Action string `json:"action"`
	// Execution is the ARN of the execution that rolls back: the halted or
	// joined one, or the one started.
	Execution   string `json:"execution"`
	Service     string `json:"service"`
	Environment string `json:"environment"`
	// Deployment is the halted or joined deployment's id, or the id of the
	// earlier deployment whose image is redeployed.
	Deployment string `json:"deployment"`
	// Image is the image redeployed; omitted when halted or joined.
	Image string `json:"image,omitempty"`
}

func newRollbackStarted(r operator.Rollback, svc, env string) rollbackStarted {
	s := rollbackStarted{Execution: r.Execution, Service: svc, Environment: env, Deployment: r.Deployment}
	switch {
	case r.Joined:
		s.Action = rollbackJoined
	case r.Halted:
		s.Action = rollbackHalted
	default:
		s.Action, s.Image = rollbackRedeployed, r.Image
		if r.From != nil {
			s.Deployment = r.From.Deployment
		}
	}
	return s
}

// text says what was done, in one line.
func (s rollbackStarted) text() string {
	switch s.Action {
	case rollbackJoined:
		return fmt.Sprintf("deployment %s of %s in %s is already rolling back; joined it: %s", s.Deployment, s.Service, s.Environment, s.Execution)
	case rollbackHalted:
		return fmt.Sprintf("halted deployment %s of %s in %s; it rolls back: %s", s.Deployment, s.Service, s.Environment, s.Execution)
	}
	return fmt.Sprintf("no deployment in progress; deploying the previous image %s (deployment %s): %s", s.Image, s.Deployment, s.Execution)
}
