package stack

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	infrastack "github.com/slipwayhq/slipway/infra/stack"
)

var updateTemplate = flag.Bool("update-template", false, "rewrite "+TemplateFile+" from the CDK app")

// TestEmbeddedTemplateFresh synthesizes Slipway's stack in-process with the
// settings of the local endpoint and fails when the committed template,
// which the CLI embeds so that it links no CDK, differs from it.
func TestEmbeddedTemplateFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("synthesizes the stack through jsii (seconds); run without -short")
	}
	got, err := synthesizeLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if *updateTemplate {
		if err := os.WriteFile(TemplateFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(TemplateFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("internal/localcloud/stack/%s differs from what the CDK app synthesizes (infra/, internal/workflow or the examples' clusters changed): run `make local-template` and commit the file", TemplateFile)
	}
}

// TestSynthesisDeterministic checks that two syntheses in different
// directories give the same bytes, so that the freshness check compares
// like with like (placeholder assets hash the same everywhere).
func TestSynthesisDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("synthesizes the stack twice through jsii; run without -short")
	}
	a, err := synthesizeLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := synthesizeLocal(filepath.Join(t.TempDir(), "elsewhere"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two syntheses of the local stack differ: the committed template could never be fresh")
	}
}

// synthesizeLocal synthesizes the stack the local endpoint deploys:
// infrastack.Defaults() with the clusters of the examples and empty
// placeholder function assets, under workDir.
func synthesizeLocal(workDir string) ([]byte, error) {
	clusters, err := Clusters(os.DirFS("../../../examples"))
	if err != nil {
		return nil, err
	}
	assets := filepath.Join(workDir, "assets")
	if err := infrastack.PlaceholderAssets(assets); err != nil {
		return nil, err
	}
	s := infrastack.Defaults()
	s.Clusters = clusters
	s.AssetDir = assets
	raw, _, err := infrastack.Synthesize(s, filepath.Join(workDir, "cdk.out"))
	return raw, err
}
