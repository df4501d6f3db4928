package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/internal/operator"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// errDiffers ends diff with exit code 1 when the rendered specs differ from
// what runs, as diff(1) does; the diff itself has been printed.
var errDiffers = errors.New("differs")

// diffJSON is what diff --output json prints: one object.
type diffJSON struct {
	Service     string             `json:"service"`
	Environment string             `json:"environment"`
	Image       string             `json:"image"`
	LiveService string             `json:"liveService,omitempty"`
	Changed     bool               `json:"changed"`
	Sections    []operator.Section `json:"sections"`
}

func newDiffCommand() *cobra.Command {
	var (
		sf              stackFlags
		of              outputFlag
		env, image, dir string
	)
	c := &cobra.Command{
		Use:   "diff SERVICE --env ENV [--image TAG|DIGEST|URI@sha256:DIGEST] [--dir DIR] [--output text|json]",
		Short: "Show what a deployment of SERVICE would change against what runs",
		Long: `diff renders SERVICE for ENV as a deployment would (the same renderer as
slipway render) and compares it with what runs: the task definition, the
service settings, auto scaling and the listener rule, as a unified diff from
live (---) to desired (+++). For canary and blue/green the live side is the
slot serving traffic.

Fields AWS fills in are not compared: ARNs, revision, status, registration
times, requiresAttributes, compatibilities, the defaults ECS adds (essential,
protocol tcp, hostPort), the tags Slipway adds and the circuit breaker the
engine sets.

The specs come from the spec bucket (what a deployment would read) or, with
--dir, from a local spec root. --image is resolved as slipway deploy
resolves it (a tag or a digest in the service's ECR repository, or a
pinned reference); without it the image of the last successful deployment
is used, so the diff shows spec changes only.

Colour is used on a terminal unless NO_COLOR is set. --output json prints
one object (its fields are listed in docs/cli.md).

Exit codes: 0 no difference, 1 differences (or the operation failed),
2 usage error.
` + operatorHelp,
		Example: `  slipway diff web --env staging
  slipway diff web --env prod --image v1.4.2
  slipway diff web --env staging --dir examples --output json`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("diff needs exactly one SERVICE name (see slipway diff --help)")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireEnv(c, env); err != nil {
				return err
			}
			if err := of.check(); err != nil {
				return err
			}
			if dir != "" && !isSpecRoot(dir) {
				return usageErrorf("--dir %s is not a spec root; point it at the directory holding services/ and environments/", dir)
			}
			op, err := sf.connect(c.Context())
			if err != nil {
				return err
			}
			return runDiff(c, op, args[0], env, image, dir, of)
		},
	}
	f := c.Flags()
	f.StringVar(&env, "env", "", "environment (required)")
	f.StringVar(&image, "image", "", "image to deploy: a tag, sha256:DIGEST or REPOSITORY-URI@sha256:DIGEST (default: the last deployed)")
	f.StringVar(&dir, "dir", "", "local spec root to render from (default: the spec bucket)")
	of.add(c)
	sf.add(c)
	completeSpecs(c, &sf, &dir)
	return c
}

func runDiff(c *cobra.Command, op *operator.Operator, name, envName, image, dir string, of outputFlag) error {
	ctx := c.Context()
	svc, env, err := diffSpecs(c, op, name, envName, dir)
	if err != nil {
		return err
	}
	if image == "" {
		if image, err = op.LastImage(ctx, envName, name); err != nil {
			return err
		}
		if image == "" {
			return usageErrorf("%s has no successful deployment in %s to compare with: give --image", name, envName)
		}
	} else {
		pinned, err := op.PinImage(ctx, svc, image)
		var invalid *workflow.InvalidInput
		if errors.As(err, &invalid) {
			return usageErrorf("--image %s: %s", image, strings.Join(invalid.Problems, "; "))
		}
		if err != nil {
			return err
		}
		image = pinned
	}
	account, _, err := op.Account(ctx)
	if err != nil {
		return err
	}
	in := spec.RenderInput{Image: image, DeploymentID: "diff", Region: op.Region(), AccountID: account}
	r, err := render(c, svc, env, in, dir)
	if err != nil {
		return err
	}
	// Render ${DEPLOYMENT_ID} as the running revision was rendered, so it
	// is no difference.
	if id, err := op.LiveDeployment(ctx, r); err != nil {
		return err
	} else if id != "" && id != in.DeploymentID {
		in.DeploymentID = id
		if r, err = render(c, svc, env, in, dir); err != nil {
			return err
		}
	}
	cmp, err := op.Compare(ctx, r)
	if err != nil {
		return err
	}
	out := c.OutOrStdout()
	if of.json() {
		if err := writeJSON(out, diffJSON{Service: name, Environment: envName, Image: image,
			LiveService: cmp.Service, Changed: cmp.Changed(), Sections: cmp.Sections}); err != nil {
			return err
		}
	} else {
		printDiff(out, cmp, useColour(out))
	}
	if cmp.Changed() {
		return errDiffers
	}
	return nil
}

// diffSpecs reads the specs from dir, or from the spec bucket; an unknown
// service or environment is a usage error naming those that exist.
func diffSpecs(c *cobra.Command, op *operator.Operator, name, envName, dir string) (*spec.Service, *spec.Environment, error) {
	if dir == "" {
		if err := op.CheckNames(c.Context(), name, envName); err != nil {
			return nil, nil, err
		}
		svc, env, err := op.SpecFiles(c.Context(), name, envName)
		var problems spec.Problems
		if errors.As(err, &problems) {
			printProblems(c.ErrOrStderr(), "", problems)
			return nil, nil, &invalidSpecError{count: len(problems)}
		}
		return svc, env, err
	}
	set, err := spec.Load(os.DirFS(dir))
	var problems spec.Problems
	if errors.As(err, &problems) {
		printProblems(c.ErrOrStderr(), dir, problems)
		return nil, nil, &invalidSpecError{count: len(problems)}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", dir, err)
	}
	svc, ok := set.Services[name]
	if !ok {
		return nil, nil, usageErrorf("no service %q in %s/services; have: %s", name, dir, names(set.Services))
	}
	env, ok := set.Environments[envName]
	if !ok {
		return nil, nil, usageErrorf("no environment %q in %s/environments; have: %s", envName, dir, names(set.Environments))
	}
	return svc, env, nil
}

func render(c *cobra.Command, svc *spec.Service, env *spec.Environment, in spec.RenderInput, dir string) (*spec.Rendered, error) {
	r, err := spec.Render(svc, env, in)
	var problems spec.Problems
	if errors.As(err, &problems) {
		printProblems(c.ErrOrStderr(), dir, problems)
		return nil, &invalidSpecError{count: len(problems)}
	}
	if err != nil {
		return nil, fmt.Errorf("render %s for %s: %w", svc.Name, env.Name, err)
	}
	return r, nil
}

// useColour: colour only on a terminal, and never with NO_COLOR set
// (https://no-color.org).
func useColour(w io.Writer) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// ANSI SGR sequences for the diff.
const (
	sgrRed, sgrGreen, sgrCyan, sgrBold, sgrReset = "\x1b[31m", "\x1b[32m", "\x1b[36m", "\x1b[1m", "\x1b[0m"
)

func printDiff(w io.Writer, cmp *operator.Comparison, colour bool) {
	if !cmp.Changed() {
		live := cmp.Service
		if live == "" {
			live = "nothing running"
		}
		fmt.Fprintf(w, "no difference (live: %s)\n", live)
		return
	}
	for _, s := range cmp.Sections {
		for _, line := range strings.SplitAfter(s.Diff, "\n") {
			if line == "" {
				continue
			}
			if !colour {
				fmt.Fprint(w, line)
				continue
			}
			code := ""
			switch {
			case strings.HasPrefix(line, "---"), strings.HasPrefix(line, "+++"):
				code = sgrBold
			case strings.HasPrefix(line, "@@"):
				code = sgrCyan
			case strings.HasPrefix(line, "-"):
				code = sgrRed
			case strings.HasPrefix(line, "+"):
				code = sgrGreen
			}
			if code == "" {
				fmt.Fprint(w, line)
			} else {
				fmt.Fprint(w, code+strings.TrimSuffix(line, "\n")+sgrReset+"\n")
			}
		}
	}
}
