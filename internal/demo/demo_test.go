package demo_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/demo"
)

const examples = "../../examples"

func TestDemoPasses(t *testing.T) {
	if testing.Short() {
		t.Skip("synthesizes the stack and runs every scenario; -short skips it")
	}
	var out bytes.Buffer
	results, err := demo.Run(context.Background(), demo.Options{Specs: os.DirFS(examples), Out: &out, Clock: clock.NewVirtual(time.Now())})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if len(results) != 7 {
		t.Errorf("got %d results, want 7", len(results))
	}
	for _, want := range []string{"✓ scenario 1", "✓ scenario 5", "✓ scenario 6", "✓ scenario 7", "7 scenarios, 0 failed", "rejected with",
		"ContinueDeployment with traffic"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("narration lacks %q:\n%s", want, out.String())
		}
	}
}

// TestDemoReportsFailure runs the worker scenario in a world without the
// worker service: it must fail, and Run must say so.
func TestDemoReportsFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("synthesizes the stack; -short skips it")
	}
	specs := fstest.MapFS{}
	err := fs.WalkDir(os.DirFS(examples), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == "services/worker.yaml" {
			return err
		}
		b, err := fs.ReadFile(os.DirFS(examples), path)
		specs[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	results, err := demo.Run(context.Background(), demo.Options{Specs: specs, Out: &out, Only: []int{4}, Clock: clock.NewVirtual(time.Now())})
	var failed *demo.Failed
	if !errors.As(err, &failed) {
		t.Fatalf("got %v, want *demo.Failed\n%s", err, out.String())
	}
	if len(results) != 1 || results[0].Number != 4 || results[0].Err == nil {
		t.Errorf("got results %+v, want scenario 4 failed", results)
	}
}
