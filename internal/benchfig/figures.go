package benchfig

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// TransitionUSD is what Step Functions Standard charges per state
// transition: $0.025 per 1,000 (us-east-1; the free tier left out).
const TransitionUSD = 0.025 / 1000

// pollEvery is the wait of the polling loop the deployments are compared
// with: what a user writes instead of waiting for events.
const pollEvery = 15.0 // seconds

// Known returns the table of known figures: each benchmark metric `make
// bench` prints, its target (from the issues; none where none is set) and
// what a user would pick instead.
func Known() []Figure {
	const deploy, endpoint, cli = "internal/deploy", "internal/localcloud/endpoint", "cmd/slipway"
	polling := func(strategy string, scale float64) *Comparison {
		return &Comparison{Title: fmt.Sprintf("a %.0f s polling loop of the same deployment", pollEvery),
			Source: &Source{Package: deploy, Bench: "BenchmarkFlowTransitions/" + strategy, Metric: "polling-transitions/deployment", Scale: scale}}
	}
	atMost := func(v float64) *Target { return &Target{Op: "<=", Value: v} }
	var figs []Figure
	// Targets of issues 3, 6 and 12 (TestFlowCostShape holds them).
	for _, s := range []struct {
		name   string
		target *Target
	}{{"rolling", atMost(19)}, {"canary-3-step", atMost(33)}, {"bluegreen", nil}} {
		src := Source{Package: deploy, Bench: "BenchmarkFlowTransitions/" + s.name, Metric: "transitions/deployment"}
		figs = append(figs, Figure{Key: "transitions-" + s.name, Title: "state transitions, " + s.name + " deployment",
			Unit: "transitions", Source: src, Target: s.target, Compare: polling(s.name, 0)})
		cost := src
		cost.Scale = TransitionUSD
		figs = append(figs, Figure{Key: "cost-" + s.name, Title: "Step Functions cost, " + s.name + " deployment",
			Unit: "USD", Source: cost, Compare: polling(s.name, TransitionUSD)})
	}
	detect := pollEvery
	figs = append(figs,
		Figure{Key: "alarm-to-restored", Title: "alarm -> traffic restored (local, wall)", Unit: "s",
			Source: Source{Package: endpoint, Bench: "BenchmarkAlarmToTrafficRestored", Metric: "alarm-to-restored-s"}, Target: atMost(2),
			Compare: &Comparison{Title: "a 15 s polling loop notices the alarm", Fixed: &detect,
				Note: "worst case, by construction, before its rollback starts"}},
		Figure{Key: "alarm-to-restored-simulated", Title: "alarm -> traffic restored (simulated, 100 ms steps)", Unit: "s",
			Source: Source{Package: endpoint, Bench: "BenchmarkAlarmToTrafficRestored", Metric: "alarm-to-restored-sim-s"}},
		Figure{Key: "trigger-p50", Title: "trigger handler p50 (event storm)", Unit: "ms",
			Source: Source{Package: endpoint, Bench: "BenchmarkEventStorm", Metric: "trigger-p50-ms"}},
		Figure{Key: "trigger-p99", Title: "trigger handler p99 (event storm)", Unit: "ms",
			Source: Source{Package: endpoint, Bench: "BenchmarkEventStorm", Metric: "trigger-p99-ms"}},
		Figure{Key: "storm-events-per-second", Title: "events handled by the trigger path", Unit: "events/s",
			Source: Source{Package: endpoint, Bench: "BenchmarkEventStorm", Metric: "events/s"}},
		Figure{Key: "describe-services", Title: "local endpoint DescribeServices", Unit: "req/s",
			Source: Source{Package: endpoint, Bench: "BenchmarkDescribeServices", Metric: "req/s"},
			Compare: &Comparison{Title: "moto_server, same client and call",
				Source: &Source{Package: endpoint, Bench: "BenchmarkDescribeServicesMoto", Metric: "req/s"}}},
		Figure{Key: "cli-binary", Title: "slipway CLI binary", Unit: "MB",
			Source: Source{Package: cli, Bench: "BenchmarkCLIBinary", Metric: "binary-MB"}, Target: atMost(80)},
		Figure{Key: "local-healthy", Title: "slipway local until healthy", Unit: "s",
			Source: Source{Package: cli, Bench: "BenchmarkLocalHealthy", Metric: "healthy-s"}, Target: atMost(3)},
	)
	for _, kind := range []string{"ecr-push", "spec-upload", "signal", "step"} {
		bench := "BenchmarkColdStart/" + kind
		figs = append(figs, Figure{Key: "cold-start-" + kind, Title: "cold start, " + kind + " bootstrap (Runtime API)", Unit: "ms",
			Source:  Source{Package: endpoint, Bench: bench, Metric: "cold-ms"},
			Compare: &Comparison{Title: "the same function warm", Source: &Source{Package: endpoint, Bench: bench, Metric: "warm-ms"}}})
	}
	return figs
}

// ZipLimitMB is the target size of a Lambda package.
const ZipLimitMB = 5.0

// ZipRows returns a row per function packaged under dir as <fn>.zip next
// to <fn>/bootstrap (what `make build` and `make bench` leave in build/):
// the zip's size against its target, and the bootstrap's next to it.
func ZipRows(dir string) ([]Row, error) {
	zips, err := filepath.Glob(filepath.Join(dir, "*.zip"))
	if err != nil {
		return nil, err
	}
	slices.Sort(zips)
	var rows []Row
	for _, z := range zips {
		fn := filepath.Base(z[:len(z)-len(".zip")])
		zs, err := os.Stat(z)
		if err != nil {
			return nil, err
		}
		v := float64(zs.Size()) / (1 << 20)
		met := v <= ZipLimitMB
		row := Row{Key: "zip-" + fn, Title: "Lambda zip, " + fn, Unit: "MB", Measured: true, Value: &v,
			Target: &Target{Op: "<=", Value: ZipLimitMB}, Met: &met}
		if bs, err := os.Stat(filepath.Join(dir, fn, "bootstrap")); err == nil {
			u := float64(bs.Size()) / (1 << 20)
			row.Instead = &Instead{Title: "the bootstrap unzipped", Value: &u, Measured: true}
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no Lambda zips in %s (make bench packages build/<fn>.zip)", dir)
	}
	return rows, nil
}
