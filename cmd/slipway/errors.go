package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/awsapi"
	"github.com/slipwayhq/slipway/internal/operator"
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
// (bad flag, argument or path) or an unknown service, environment or
// execution is 2; everything else — invalid specs, a failed operation — is
// 1. An AWS error is followed by what to check.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errDiffers) {
		return exitFailed // the diff is the message
	}
	msg := err.Error()
	if hint := awsHint(err); hint != "" {
		msg += " — " + hint
	}
	fmt.Fprintln(stderr, "slipway:", msg)
	var usage *usageError
	if errors.As(err, &usage) || errors.Is(err, operator.ErrUnknown) {
		return exitUsage
	}
	return exitFailed
}

// awsHint says what to check for an error from AWS: the credentials, the
// permissions, the region and endpoint, or whether the stack is deployed.
// Empty when err is no such error or already says it.
func awsHint(err error) string {
	if errors.Is(err, operator.ErrStackNotFound) {
		return "" // its message names the flags and variables to check
	}
	var netErr *net.OpError
	var dnsErr *net.DNSError
	switch code := awsapi.Code(err); {
	case code == "UnrecognizedClientException" || code == "InvalidClientTokenId" || code == "InvalidSignatureException" ||
		code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId":
		return "check the credentials: AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and that they belong to the account in AWS_REGION"
	case code == "ExpiredToken" || code == "ExpiredTokenException" || code == "RequestExpired":
		return "the credentials have expired: log in again (aws sso login) or refresh AWS_SESSION_TOKEN"
	case strings.HasPrefix(code, "AccessDenied") || code == "UnauthorizedOperation" || code == "AuthorizationError":
		return "check the permissions of the caller (aws sts get-caller-identity) on the Slipway stack's state machine and buckets"
	case code == "StateMachineDoesNotExist" || code == "NoSuchBucket" || code == "ResourceNotFoundException":
		return "check --stack and AWS_REGION: the Slipway stack may not be deployed there (make deploy)"
	// Before the network: finding credentials may fail to reach IMDS.
	case strings.Contains(err.Error(), "get credentials:") || strings.Contains(err.Error(), "failed to refresh cached credentials") ||
		strings.Contains(err.Error(), "failed to retrieve credentials"):
		return "no AWS credentials found: set AWS_PROFILE (then aws sso login) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
	case errors.As(err, &dnsErr) || errors.As(err, &netErr):
		return "cannot reach AWS: check AWS_REGION and AWS_ENDPOINT_URL (for slipway local, is it running?)"
	}
	return ""
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
