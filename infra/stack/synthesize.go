package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/slipwayhq/slipway/internal/synth"
)

// Synthesize builds the stack for s in a fresh app writing to outDir and
// returns the CloudFormation template (JSON) and the stack. It fails on
// unsuppressed cdk-nag findings, as `cdk synth` does. It lets the tests and
// the local endpoint synthesize in-process, without the CDK CLI.
func Synthesize(s Settings, outDir string) ([]byte, *Stack, error) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outDir)})
	st, err := New(app, s)
	if err != nil {
		return nil, nil, err
	}
	asm := app.Synth(nil)
	if findings := Findings(asm, st); len(findings) > 0 {
		return nil, nil, fmt.Errorf("cdk-nag findings without a suppression:\n  %s", strings.Join(findings, "\n  "))
	}
	path := *asm.GetStackArtifact(st.ArtifactId()).TemplateFullPath()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read synthesized template: %w", err)
	}
	return b, st, nil
}

// PlaceholderAssets writes an empty <fn>/bootstrap for every function under
// dir, for synthesizing where the real binaries are not needed: template
// tests, and local runs whose handlers run in-process.
func PlaceholderAssets(dir string) error {
	for _, k := range synth.Kinds() {
		d := filepath.Join(dir, string(k))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create asset dir %s: %w", d, err)
		}
		if err := os.WriteFile(filepath.Join(d, "bootstrap"), nil, 0o755); err != nil {
			return fmt.Errorf("write placeholder %s/bootstrap: %w", d, err)
		}
	}
	return nil
}

// SynthesizeForwarder builds the event forwarder stack for s (see
// NewForwarder) in a fresh app writing to outDir and returns its template
// (JSON) and the stack. Like Synthesize, it fails on unsuppressed cdk-nag
// findings. The template is the file a deployer deploys in the accounts of
// the assume roles.
func SynthesizeForwarder(s Settings, outDir string) ([]byte, *Forwarder, error) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outDir)})
	fw, err := NewForwarder(app, s)
	if err != nil {
		return nil, nil, err
	}
	asm := app.Synth(nil)
	if findings := Findings(asm, fw.Stack); len(findings) > 0 {
		return nil, nil, fmt.Errorf("cdk-nag findings without a suppression:\n  %s", strings.Join(findings, "\n  "))
	}
	path := *asm.GetStackArtifact(fw.ArtifactId()).TemplateFullPath()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read synthesized forwarder template: %w", err)
	}
	return b, fw, nil
}
