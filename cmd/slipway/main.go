// Command slipway is the Slipway CLI: check and render specs, run the local
// AWS endpoint and the demo, and start, follow, approve and roll back
// deployments on AWS or on the local endpoint.
package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI with args and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	// cobra adds the completion command and its hidden __complete
	// request command only when it executes; add the first now (after
	// SetOut: it writes the scripts where the root writes at this point) so
	// that Find knows it, and let shell completion requests through.
	root.InitDefaultCompletionCmd(args...)
	isCompletion := len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd)
	if _, _, err := root.Find(args); err != nil && !isCompletion {
		// An unknown command: cobra's message, as a usage error.
		return exitCode(usageErrorf("%v (see slipway --help)", err), stderr)
	}
	return exitCode(root.Execute(), stderr)
}

// newRootCommand builds the command tree. Each command lives in its own
// file as new<Name>Command.
func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "slipway",
		Short: "Deploy Amazon ECS services with canary, blue/green and rolling strategies",
		Long: `Slipway deploys Amazon ECS services when an image is pushed, a spec changes,
or someone asks. Specs live in a spec root laid out as:

  services/<name>.yaml       what to run and how to roll it out
  environments/<name>.yaml   where it runs and how deployments there behave

Exit codes: 0 ok, 1 invalid spec or failed operation, 2 usage error.

Shell completion (services and environments from --dir or the spec bucket):
  source <(slipway completion bash)      # zsh: slipway completion zsh, fish: slipway completion fish`,
		Example: `  slipway validate examples/
  slipway local
  slipway deploy --env staging --image v2 web
  slipway --version`,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v (see %s --help)", err, c.CommandPath())
	})
	root.AddCommand(newValidateCommand(), newRenderCommand(), newLocalCommand(), newDemoCommand())
	root.AddCommand(newDeployCommand(), newStatusCommand(), newHistoryCommand(), newApproveCommand(),
		newRejectCommand(), newRollbackCommand(), newUnlockCommand(), newIndexCommand())
	root.AddCommand(newWatchCommand(), newDiffCommand(), newReportCommand())
	usageArgs(root)
	return root
}
