package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/spec"
)

// Exit codes.
const (
	exitOK = 0
	// exitFailed: the specs are invalid, or the operation failed.
	exitFailed = 1
	// exitUsage: the command line itself is wrong.
	exitUsage = 2
)

// usageError is a command line the CLI cannot act on: a bad flag, a missing
// argument, a path that does not exist.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// invalidSpecError reports specs with problems; the problems have already
// been printed.
type invalidSpecError struct{ count int }

func (e *invalidSpecError) Error() string {
	if e.count == 1 {
		return "1 problem; fix it and run the command again"
	}
	return fmt.Sprintf("%d problems; fix them and run the command again", e.count)
}

// exitCode prints err (if any) and maps it to the exit code: a usage error
// (bad flag, argument or path) is 2; everything else — invalid specs, a
// failed operation — is 1.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errDiffers) {
		return exitFailed // the diff is the message
	}
	fmt.Fprintln(stderr, "slipway:", err)
	var usage *usageError
	if errors.As(err, &usage) {
		return exitUsage
	}
	return exitFailed
}

// usageArgs makes cobra's own argument errors (an unknown command, a wrong
// number of arguments) usage errors, on c and every command below it.
func usageArgs(c *cobra.Command) {
	// A command with subcommands and no Args of its own is left alone: cobra
	// then reports an unknown subcommand while finding the command (run
	// checks that).
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error {
			err := args(cmd, a)
			var usage *usageError
			if err == nil || errors.As(err, &usage) {
				return err
			}
			return usageErrorf("%v (see %s --help)", err, cmd.CommandPath())
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

// printProblems writes one problem per line, file names relative to root.
func printProblems(w io.Writer, root string, problems spec.Problems) {
	for _, p := range problems {
		if p.File != "" && root != "" {
			p.File = joinDisplay(root, p.File)
		}
		fmt.Fprintln(w, p.String())
	}
}
