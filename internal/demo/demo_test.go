package demo_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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
		t.Skip("starts the local endpoint and runs deployments; -short skips it")
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

// TestDemoWritesReport: the demo ends by drawing the rolled-back canary
// of scenario 2 as an SVG with its traffic steps and the alarm band, and
// prints where.
func TestDemoWritesReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the local endpoint and runs deployments; -short skips it")
	}
	var out bytes.Buffer
	path := filepath.Join(t.TempDir(), "demo-report.svg")
	if _, err := demo.Run(context.Background(), demo.Options{Specs: os.DirFS(examples), Out: &out, Only: []int{2},
		Report: path, Clock: clock.NewVirtual(time.Now())}); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "timeline of the rolled-back canary (slipway report): "+path) {
		t.Errorf("narration does not print the report's path %s:\n%s", path, out.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Class string `xml:"class,attr"`
			Lines []struct {
				Class string `xml:"class,attr"`
			} `xml:"polyline"`
			Rects []struct {
				Class string `xml:"class,attr"`
				Alarm string `xml:"data-alarm,attr"`
			} `xml:"rect"`
			Markers []struct {
				Kind string `xml:"data-kind,attr"`
			} `xml:"g"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var lines, kinds, alarms []string
	for _, g := range doc.Groups {
		for _, l := range g.Lines {
			lines = append(lines, l.Class)
		}
		for _, r := range g.Rects {
			if r.Class == "alarm" {
				alarms = append(alarms, r.Alarm)
			}
		}
		for _, m := range g.Markers {
			kinds = append(kinds, m.Kind)
		}
	}
	if !slices.Contains(lines, "weight") || !slices.Contains(lines, "tasks") || !slices.Contains(alarms, "web-staging-5xx") ||
		!slices.Contains(kinds, "shift") || !slices.Contains(kinds, "rollback") {
		t.Errorf("report: got series %v, alarms %v, markers %v; want weights, tasks, the 5xx band, a shift and the rollback\n%s\n%s", lines, alarms, kinds, out.String(), b)
	}
}
