package demo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/slipwayhq/slipway/internal/operator"
	"github.com/slipwayhq/slipway/internal/report"
)

// writeReport draws the timeline of the execution arn, as `slipway
// report` does, into the SVG file path and returns its absolute path.
func (w *world) writeReport(ctx context.Context, arn, path string, now time.Time) (string, error) {
	op, err := operator.Connect(ctx, w.r.AWS, operator.Target{})
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	rec, err := op.Record(ctx, arn, now)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	for _, warning := range rec.Warnings {
		w.say("report: %s", warning)
	}
	t, err := report.Build(rec.Input)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	var b bytes.Buffer
	if err := report.WriteSVG(&b, t); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("report: write %s: %w", path, err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return path, nil
}
