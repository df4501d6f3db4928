// Command infra is Slipway's CDK app; cdk.json runs it (`make synth`,
// `make deploy`). Settings come from the context keys documented in
// docs/infra.md.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/slipwayhq/slipway/infra/stack"
)

func main() {
	os.Exit(run())
}

func run() int {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	settings, err := stack.FromContext(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) })
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	st, err := stack.New(app, settings)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	stacks := []awscdk.Stack{st.Stack}
	if settings.EventForwarder {
		fw, err := stack.NewForwarder(app, settings)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		stacks = append(stacks, fw.Stack)
	}
	asm := app.Synth(nil)
	var findings []string
	for _, s := range stacks {
		findings = append(findings, stack.Findings(asm, s)...)
	}
	if len(findings) > 0 {
		fmt.Fprintln(os.Stderr, "cdk-nag findings without a suppression (fix them, or suppress with a reason in infra/stack/nag.go):")
		for _, f := range findings {
			fmt.Fprintln(os.Stderr, "  "+f)
		}
		return 1
	}
	return 0
}
