package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/operator"
	"github.com/slipwayhq/slipway/internal/workflow"
)

func newDeployCommand() *cobra.Command {
	var (
		sf                           stackFlags
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

With --wait it follows the deployment as status --watch does and exits 0
only when it ends Deployed. A deployment to an environment that requires
approval waits in AwaitApproval until slipway approve or reject.
` + operatorHelp,
		Example: `  slipway deploy --env staging --image v1.4.2 --reason hotfix web
  slipway deploy --env prod --image sha256:0123… --wait web
  slipway deploy --env staging --strategy rolling worker`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireEnv(c, env); err != nil {
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
			req := workflow.Request{Service: args[0], Environment: env, Image: image, Strategy: raw, Reason: reason}
			arn, err := op.Deploy(c.Context(), req)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), arn)
			fmt.Fprintf(c.ErrOrStderr(), "started a new deployment of %s to %s (%s): execution %s\n",
				req.Service, req.Environment, imageOrCurrent(image), executionName(arn))
			if !wait {
				return nil
			}
			return follow(c, op, arn)
		},
	}
	c.Flags().StringVar(&env, "env", "", "environment to deploy to (required)")
	c.Flags().StringVar(&image, "image", "", "image tag, digest (sha256:…) or full reference; default: the image running now")
	c.Flags().StringVar(&strategy, "strategy", "", "strategy override for this deployment: rolling, canary, bluegreen or a JSON object")
	c.Flags().StringVar(&reason, "reason", "", "why, shown in history and events")
	c.Flags().BoolVar(&wait, "wait", false, "follow the deployment until it ends; exit 0 only if Deployed")
	sf.add(c)
	completeSpecs(c, &sf, nil)
	return c
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

// follow prints each state the execution enters until it ends, then its
// outcome; it fails unless the execution ended Deployed.
func follow(c *cobra.Command, op *operator.Operator, arn string) error {
	out := c.OutOrStdout()
	x, err := op.Watch(c.Context(), arn, func(state string) { fmt.Fprintln(out, state) })
	if err != nil {
		return err
	}
	return outcome(out, x)
}

// outcome prints how x ended and fails unless it was deployed.
func outcome(out io.Writer, x operator.Execution) error {
	if x.Deployed() {
		fmt.Fprintf(out, "deployed %s to %s: %s\n", x.Service, x.Environment, x.Image)
		return nil
	}
	detail := x.Status
	if x.Error != "" {
		detail += " (" + x.Error + ")"
	}
	return fmt.Errorf("deployment of %s to %s ended in %s, %s: see slipway history --env %s %s",
		x.Service, x.Environment, x.State, detail, x.Environment, x.Service)
}
