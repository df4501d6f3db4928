package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// identityHelp says, in the help of approve, reject and rollback, whom
// history names.
const identityHelp = `
History names who did it as STS sees them: the ARN GetCallerIdentity returns
for the credentials in use (for a role, the whole session ARN
arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION), never a name typed on the
command line.
`

func newApproveCommand() *cobra.Command {
	var (
		sf        stackFlags
		of        outputFlag
		env, note string
		by        removedBy
		wait      bool
	)
	c := &cobra.Command{
		Use:   "approve --env ENV SERVICE [--note TEXT] [--wait]",
		Short: "Approve the deployment of a service waiting for approval",
		Long: `approve lets the deployment of SERVICE waiting in AwaitApproval in ENV
continue to Apply. It fails when no approval is pending (none was asked for,
or it was already answered, timed out or superseded).
` + identityHelp + `--note adds free text next to it.

--wait follows the approved deployment as slipway watch does (a live view
on a terminal, one timestamped line per change otherwise; --output json:
one Snapshot per line, fields in docs/cli.md) and exits 0 only when it
ends Deployed, 1 otherwise.
` + operatorHelp,
		Example: `  slipway approve --env prod web
  slipway approve --env prod --note "checked the canary dashboards" --wait web`,
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
			if of.json() && !wait {
				return usageErrorf("--output json goes with --wait: approve prints one line otherwise")
			}
			op, err := sf.connect(c.Context())
			if err != nil {
				return err
			}
			a, err := op.Approve(c.Context(), env, args[0], note)
			if err != nil {
				return err
			}
			msg := c.OutOrStdout()
			if of.json() {
				msg = c.ErrOrStderr() // stdout holds only the JSON Lines
			}
			if !wait {
				fmt.Fprintf(msg, "approved deployment %s of %s to %s (%s); follow it with: slipway status --watch --env %s %s\n",
					a.Deployment, a.Service, a.Environment, orDash(a.Image), env, args[0])
				return nil
			}
			fmt.Fprintf(msg, "approved deployment %s of %s to %s (%s)\n", a.Deployment, a.Service, a.Environment, orDash(a.Image))
			arn := a.Execution
			if arn == "" {
				if arn, err = op.Newest(c.Context(), args[0], env, 0); err != nil {
					return err
				}
			}
			return watchExecution(c, op, arn, of)
		},
	}
	c.Flags().StringVar(&env, "env", "", "environment (required)")
	c.Flags().StringVar(&note, "note", "", "free text kept in history next to the approver's identity")
	c.Flags().BoolVar(&wait, "wait", false, "follow the approved deployment until it ends; exit 0 only if Deployed")
	of.add(c)
	by.add(c)
	sf.add(c)
	completeSpecs(c, &sf, nil)
	return c
}

func newRejectCommand() *cobra.Command {
	var (
		sf          stackFlags
		env, reason string
		by          removedBy
	)
	c := &cobra.Command{
		Use:   "reject --env ENV SERVICE --reason TEXT",
		Short: "Reject the deployment of a service waiting for approval",
		Long: `reject ends the deployment of SERVICE waiting in AwaitApproval in ENV as
Rejected; nothing was changed, so nothing is rolled back. The reason is
kept in history.
` + identityHelp + operatorHelp,
		Example: `  slipway reject --env prod --reason "release freeze" web`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := by.check(c); err != nil {
				return err
			}
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
			a, err := op.Reject(c.Context(), env, args[0], reason)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "rejected deployment %s of %s to %s (%s)\n", a.Deployment, a.Service, a.Environment, orDash(a.Image))
			return nil
		},
	}
	c.Flags().StringVar(&env, "env", "", "environment (required)")
	c.Flags().StringVar(&reason, "reason", "", "why (required)")
	by.add(c)
	sf.add(c)
	completeSpecs(c, &sf, nil)
	return c
}

// removedBy is the --by flag approve, reject and rollback used to take: a
// name for history that nobody checked. It is hidden and refused with a
// usage error saying what replaced it, so a script still passing it fails
// loudly instead of recording a name it no longer controls.
type removedBy struct{ value string }

func (b *removedBy) add(c *cobra.Command) {
	c.Flags().StringVar(&b.value, "by", "", "removed: history records the caller's identity from STS")
	_ = c.Flags().MarkHidden("by")
}

// check refuses --by when it was given.
func (b *removedBy) check(c *cobra.Command) error {
	if !c.Flags().Changed("by") {
		return nil
	}
	hint := "--note TEXT"
	if c.Flags().Lookup("note") == nil {
		hint = "--reason TEXT"
	}
	return usageErrorf("%s: --by is no longer accepted: history records who you are from STS (the caller ARN of your credentials); put free text in %s", c.CommandPath(), hint)
}
