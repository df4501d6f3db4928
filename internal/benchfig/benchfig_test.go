package benchfig

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const plainOutput = `goos: linux
goarch: amd64
pkg: github.com/slipwayhq/slipway/internal/deploy
cpu: Intel(R) Xeon(R) Processor
BenchmarkFlowTransitions/rolling-2           	       3	   5698580 ns/op	       196.0 polling-transitions/deployment	        19.00 transitions/deployment
BenchmarkFlowTransitions/canary-3-step-2     	       3	  36731477 ns/op	       446.0 polling-transitions/deployment	        40.00 transitions/deployment
PASS
pkg: github.com/slipwayhq/slipway/internal/localcloud/endpoint
BenchmarkDescribeServices-2   	    1000	   1000000 ns/op	      2000 req/s	  1234 B/op	  12 allocs/op
--- SKIP: BenchmarkDescribeServicesMoto
    figures_bench_test.go:217: moto_server is not on the PATH: the comparison with moto is skipped
pkg: github.com/slipwayhq/slipway/internal/localcloud/ecs
BenchmarkDescribeServices-2   	    1000	   1000000 ns/op	      9999 req/s
`

func TestParsePlain(t *testing.T) {
	run, err := Parse(strings.NewReader(plainOutput))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(run.Results), 4; got != want {
		t.Fatalf("got %d results, want %d: %+v", got, want, run.Results)
	}
	want := Result{Package: "github.com/slipwayhq/slipway/internal/localcloud/endpoint", Name: "BenchmarkDescribeServices",
		Iterations: 1000, Metrics: map[string]float64{"ns/op": 1e6, "req/s": 2000, "B/op": 1234, "allocs/op": 12}}
	if diff := cmp.Diff(want, run.Results[2]); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if got, want := run.Skipped["BenchmarkDescribeServicesMoto"], "moto_server is not on the PATH: the comparison with moto is skipped"; got != want {
		t.Errorf("skip reason: got %q, want %q", got, want)
	}
}

// TestParseJSON: test2json may split a benchmark line over two output
// events; the package comes from the events.
func TestParseJSON(t *testing.T) {
	var lines []string
	for _, out := range []string{"BenchmarkEventStorm-2   \t", "       1\t40000000000 ns/op\t   107.0 events/s\t  39.99 trigger-p50-ms\n"} {
		b, err := json.Marshal(map[string]string{"Action": "output", "Package": "github.com/slipwayhq/slipway/internal/localcloud/endpoint", "Output": out})
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	run, err := Parse(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Results) != 1 || run.Results[0].Metrics["events/s"] != 107 || run.Results[0].Name != "BenchmarkEventStorm" {
		t.Fatalf("got %+v, want BenchmarkEventStorm at 107 events/s", run.Results)
	}
	if _, err := Parse(strings.NewReader("{not json\n")); err == nil {
		t.Error("a broken JSON line: got no error")
	}
}

func TestCollect(t *testing.T) {
	run, err := Parse(strings.NewReader(plainOutput))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]Row{}
	for _, r := range Collect(run, Known()) {
		rows[r.Key] = r
	}
	rolling := rows["transitions-rolling"]
	if !rolling.Measured || *rolling.Value != 19 || !*rolling.Met || *rolling.Instead.Value != 196 {
		t.Errorf("rolling: got %+v (instead %+v), want 19 transitions, met, next to 196 polling", rolling, rolling.Instead)
	}
	if canary := rows["transitions-canary-3-step"]; *canary.Met {
		t.Errorf("canary: 40 transitions met the target of 33")
	}
	if cost := rows["cost-rolling"]; *cost.Value != 19*TransitionUSD || *cost.Instead.Value != 196*TransitionUSD {
		t.Errorf("cost: got %v next to %v, want %v next to %v", *cost.Value, *cost.Instead.Value, 19*TransitionUSD, 196*TransitionUSD)
	}
	// The endpoint's DescribeServices, not the ECS package's.
	ds := rows["describe-services"]
	if *ds.Value != 2000 || ds.Instead.Measured || !strings.Contains(ds.Instead.Note, "skipped: moto_server is not on the PATH") {
		t.Errorf("describe-services: got %v, instead %+v; want 2000 and the moto skip", *ds.Value, ds.Instead)
	}
	for _, key := range []string{"cli-binary", "local-healthy", "alarm-to-restored"} {
		if r := rows[key]; r.Measured || r.Note != NotMeasured {
			t.Errorf("%s: got measured %v note %q, want %q", key, r.Measured, r.Note, NotMeasured)
		}
	}
	var out strings.Builder
	if err := Render(&out, Collect(run, Known())); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"state transitions, rolling deployment", "<= 19 transitions ok", "<= 33 transitions MISSED",
		"a 15 s polling loop of the same deployment: 196 transitions", "slipway CLI binary", NotMeasured} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestZipRows(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("step.zip", 1<<20)
	write("step/bootstrap", 3<<20)
	write("big.zip", 6<<20)
	rows, err := ZipRows(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Key != "zip-big" || *rows[0].Met || !*rows[1].Met || *rows[1].Instead.Value != 3 {
		t.Errorf("got %+v, want big over 5 MB and step within, next to its 3 MB bootstrap", rows)
	}
	if _, err := ZipRows(t.TempDir()); err == nil {
		t.Error("no zips: got no error")
	}
}
