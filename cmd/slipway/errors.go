package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/slipwayhq/slipway/internal/spec"
)

// Exit codes.
const (
	exitOK      = 0
	exitInvalid = 1
	exitUsage   = 2
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

// exitCode prints err (if any) and maps it to the exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "slipway:", err)
	var invalid *invalidSpecError
	var problems spec.Problems
	if errors.As(err, &invalid) || errors.As(err, &problems) {
		return exitInvalid
	}
	// Everything else (cobra's unknown command or argument count, a path
	// that does not exist) is a usage error.
	return exitUsage
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
