package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/examples"
	"github.com/slipwayhq/slipway/internal/spec"
)

// placeholderDigest is the clearly fake digest render uses without --image.
const placeholderDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"

// renderOptions are the render command's flags.
type renderOptions struct {
	env, image, dir, region, account, deploymentID, strategy string
}

// renderOutput is what render prints: the API inputs under the names of
// the calls they feed.
type renderOutput struct {
	Service                string                           `spec:"service"`
	Environment            string                           `spec:"environment"`
	Cluster                string                           `spec:"cluster"`
	RoleArn                string                           `spec:"roleArn"`
	Scheduling             string                           `spec:"scheduling"`
	RegisterTaskDefinition *ecs.RegisterTaskDefinitionInput `spec:"registerTaskDefinition"`
	CreateService          *ecs.CreateServiceInput          `spec:"createService"`
	AutoScaling            *spec.AutoScaling                `spec:"autoScaling"`
	Strategy               spec.Strategy                    `spec:"strategy"`
	LoadBalancer           *spec.LoadBalancer               `spec:"loadBalancer"`
	Alarms                 []string                         `spec:"alarms"`
	Approval               spec.Approval                    `spec:"approval"`
}

func newRenderCommand() *cobra.Command {
	var o renderOptions
	c := &cobra.Command{
		Use:   "render --env ENV [--image URI@sha256:DIGEST] [--dir DIR] SERVICE",
		Short: "Print the ECS API inputs a deployment of SERVICE to ENV would send",
		Long: `render resolves services/SERVICE.yaml for environments/ENV.yaml (variables,
environment defaults, overrides, strategy) and prints, as JSON with the ECS
API's field names, the RegisterTaskDefinition and CreateService inputs, the
auto scaling configuration and the resolved strategy.

Without --image a placeholder digest is used (and said so on stderr).
Without --dir the specs come from ./examples when it is a spec root (in the
repository), otherwise from the examples built into slipway (said so on
stderr).`,
		Example: `  slipway render --env prod web
  slipway render --env staging --dir examples --image 000000000000.dkr.ecr.us-east-1.amazonaws.com/web@sha256:<64 hex> web`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("render needs exactly one SERVICE name (see slipway render --help)")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return renderService(c, o, args[0])
		},
	}
	f := c.Flags()
	f.StringVar(&o.env, "env", "", "environment to render for (required)")
	f.StringVar(&o.image, "image", "", "pinned image, REPOSITORY-URI@sha256:DIGEST (default: a placeholder digest)")
	f.StringVar(&o.dir, "dir", "examples", "spec root holding services/ and environments/ (default: ./examples, or the built-in examples when there is none)")
	f.StringVar(&o.region, "region", "us-east-1", "value of ${REGION}")
	f.StringVar(&o.account, "account", "000000000000", "value of ${ACCOUNT_ID}")
	f.StringVar(&o.deploymentID, "deployment-id", "render", "value of ${DEPLOYMENT_ID}")
	f.StringVar(&o.strategy, "strategy", "", `strategy override for this deployment: a name or a JSON object`)
	completeSpecs(c, nil, &o.dir)
	return c
}

var accountPattern = regexp.MustCompile(`^[0-9]{12}$`)

func renderService(c *cobra.Command, o renderOptions, name string) error {
	if o.env == "" {
		return usageErrorf("render needs --env ENV: the environment to render for")
	}
	if !accountPattern.MatchString(o.account) {
		return usageErrorf("--account %q is not a 12-digit AWS account id", o.account)
	}
	root, where, err := renderRoot(c, o.dir)
	if err != nil {
		return err
	}
	set, err := spec.Load(root)
	var problems spec.Problems
	if errors.As(err, &problems) {
		printProblems(c.ErrOrStderr(), where, problems)
		return &invalidSpecError{count: len(problems)}
	}
	if err != nil {
		return fmt.Errorf("load %s: %w", where, err)
	}
	svc, ok := set.Services[name]
	if !ok {
		return usageErrorf("no service %q in %s/services; have: %s", name, where, names(set.Services))
	}
	env, ok := set.Environments[o.env]
	if !ok {
		return usageErrorf("no environment %q in %s/environments; have: %s", o.env, where, names(set.Environments))
	}
	in := spec.RenderInput{Image: o.image, DeploymentID: o.deploymentID, Region: o.region, AccountID: o.account}
	if in.Image == "" {
		in.Image = fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s@%s", o.account, o.region, svc.Image.Repository, placeholderDigest)
		fmt.Fprintf(c.ErrOrStderr(), "note: no --image given; using the placeholder %s (pass --image URI@sha256:DIGEST for a real one)\n", in.Image)
	}
	if o.strategy != "" {
		raw := []byte(o.strategy)
		if !json.Valid(raw) {
			raw, _ = json.Marshal(o.strategy)
		}
		in.Strategy = raw
	}
	r, err := spec.Render(svc, env, in)
	if errors.As(err, &problems) {
		printProblems(c.ErrOrStderr(), o.dir, problems)
		return &invalidSpecError{count: len(problems)}
	}
	if err != nil {
		return fmt.Errorf("render %s for %s: %w", name, o.env, err)
	}
	out, err := spec.MarshalAPI(renderOutput{
		Service: r.Service, Environment: r.Environment, Cluster: r.Cluster, RoleArn: r.RoleARN,
		Scheduling: r.Scheduling, RegisterTaskDefinition: r.TaskDefinition, CreateService: r.ServiceInput,
		AutoScaling: r.AutoScaling, Strategy: r.Strategy, LoadBalancer: r.LoadBalancer,
		Alarms: r.Alarms, Approval: r.Approval,
	})
	if err != nil {
		return fmt.Errorf("encode %s for %s: %w", name, o.env, err)
	}
	fmt.Fprintln(c.OutOrStdout(), string(out))
	return nil
}

// builtInExamples names the examples embedded in the binary in messages.
const builtInExamples = "examples (built in)"

// renderRoot is the spec root render reads and how messages name it: the
// directory --dir names, which must be a spec root; without --dir,
// ./examples when it is one (in the repository), otherwise the examples
// built into the binary, said so on stderr.
func renderRoot(c *cobra.Command, dir string) (fs.FS, string, error) {
	if isSpecRoot(dir) {
		return os.DirFS(dir), dir, nil
	}
	if c.Flags().Changed("dir") {
		return nil, "", usageErrorf("--dir %s is not a spec root; point it at the directory holding services/ and environments/", dir)
	}
	fmt.Fprintf(c.ErrOrStderr(), "note: ./%s is not a spec root here; rendering the examples built into slipway (pass --dir DIR for your own specs)\n", dir)
	return examples.FS(), builtInExamples, nil
}

func names[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) == 0 {
		return "none"
	}
	return strings.Join(keys, ", ")
}
