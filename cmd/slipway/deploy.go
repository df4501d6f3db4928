package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/workflow"
)

func newDeployCommand() *cobra.Command {
	var (
		sf                           stackFlags
		of                           outputFlag
		env, image, strategy, reason string
		wait                         bool
	)
	c := &cobra.Command{
		Use:   "deploy --env ENV [--image TAG|DIGEST] [--strategy NAME|JSON] [--reason TEXT] [--wait] SERVICE",
		Short: "Start a deployment of a service to an environment",
		Long: `deploy starts the deploy state machine by hand with the documented manual
input ({"service", "environment", "image", "strategy", "reason"}) and prints
the ARN of the execution it started. Without --image the service's current
image is deployed again with the latest specs. Every deploy starts a fresh
execution, also for an image that ran before (roll forward to the last good
build, re-run after a rejection or a rollback): the lock lets a newer
deployment supersede an older one that has not started applying, or queue
behind one that has.

With --wait it follows the deployment as slipway watch does — a live view
on a terminal, one timestamped line per change otherwise — and exits 0 only
when it ends Deployed, 1 when it rolls back, is rejected or fails. A
deployment to an environment that requires approval waits in AwaitApproval
until slipway approve or reject. --output json prints the started
deployment as one JSON object, or with --wait one object per change (JSON
Lines); docs/cli.md lists the fields. An unknown service or environment is
a usage error (exit 2) naming those the spec bucket has.
` + operatorHelp,
		Example: `  slipway deploy --env staging --image v1.4.2 --reason hotfix web
  slipway deploy --env prod --image sha256:0123… --wait web
  slipway deploy --env staging --strategy rolling worker`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireEnv(c, env); err != nil {
				return err
			}
			if err := of.check(); err != nil {
				return err
			}
			raw, err := strategyOverride(strategy)
			if err != nil {
				return err
			}
			op, err := sf.connect(c.Context())
			if err != nil {
				return err
			}
			if err := op.CheckNames(c.Context(), args[0], env); err != nil {
				return err
			}
			req := workflow.Request{Service: args[0], Environment: env, Image: image, Strategy: raw, Reason: reason}
			arn, err := op.Deploy(c.Context(), req)
			if err != nil {
				return err
			}
			switch {
			case !of.json():
				fmt.Fprintln(c.OutOrStdout(), arn)
			case !wait:
				if err := writeJSON(c.OutOrStdout(), deployStarted{Execution: arn, Service: req.Service, Environment: req.Environment, Image: image}); err != nil {
					return err
				}
			}
			fmt.Fprintf(c.ErrOrStderr(), "started a new deployment of %s to %s (%s): execution %s\n",
				req.Service, req.Environment, imageOrCurrent(image), executionName(arn))
			if !wait {
				return nil
			}
			return watchExecution(c, op, arn, of)
		},
	}
	c.Flags().StringVar(&env, "env", "", "environment to deploy to (required)")
	c.Flags().StringVar(&image, "image", "", "image tag, digest (sha256:…) or full reference; default: the image running now")
	c.Flags().StringVar(&strategy, "strategy", "", "strategy override for this deployment: rolling, canary, bluegreen or a JSON object")
	c.Flags().StringVar(&reason, "reason", "", "why, shown in history and events")
	c.Flags().BoolVar(&wait, "wait", false, "follow the deployment until it ends; exit 0 only if Deployed")
	of.add(c)
	sf.add(c)
	completeSpecs(c, &sf, nil)
	return c
}

// deployStarted is what deploy --output json prints without --wait.
type deployStarted struct {
	// Execution is the ARN of the execution started.
	Execution   string `json:"execution"`
	Service     string `json:"service"`
	Environment string `json:"environment"`
	// Image is the image asked for; empty for the image running now.
	Image string `json:"image,omitempty"`
}

// imageOrCurrent says which image a request deploys.
func imageOrCurrent(image string) string {
	if image == "" {
		return "the image running now"
	}
	return "image " + image
}

// executionName is the last field of an execution ARN
// (arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME).
func executionName(arn string) string {
	return arn[strings.LastIndex(arn, ":")+1:]
}
