// Package benchfig collects the figures `make bench` prints: it reads the
// output of `go test -bench` (plain or -json), picks the figures a table of
// known figures names (a benchmark's metric, with its target and what a
// user would pick instead, measured in the same run where it can be), and
// renders them as a table and as docs/bench/results.json. A figure whose
// benchmark did not run says "not measured in this run"; a comparison whose
// benchmark skipped says why.
package benchfig

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Result is one benchmark's line of output.
type Result struct {
	// Package is the import path of the benchmark's package.
	Package string `json:"package"`
	// Name is the benchmark's name without the GOMAXPROCS suffix
	// ("BenchmarkFlowTransitions/rolling").
	Name string `json:"name"`
	// Iterations is b.N.
	Iterations int `json:"iterations"`
	// Metrics maps each unit ("ns/op", "events/s") to its value.
	Metrics map[string]float64 `json:"metrics"`
}

// Run is everything read from one `go test -bench` run.
type Run struct {
	Results []Result `json:"benchmarks"`
	// Skipped maps a skipped benchmark's name to the reason it gave.
	Skipped map[string]string `json:"skipped,omitempty"`
}

// procSuffix is the -GOMAXPROCS suffix go test appends to benchmark names.
var procSuffix = regexp.MustCompile(`-\d+$`)

// Parse reads go test output: plain text (`pkg:` lines name the package of
// the benchmark lines after them) or test2json events (-json), whose Output
// fields are read as plain text per package.
func Parse(r io.Reader) (*Run, error) {
	run := &Run{Skipped: map[string]string{}}
	plain := map[string]*strings.Builder{}
	var order []string
	text := func(pkg string) *strings.Builder {
		b, ok := plain[pkg]
		if !ok {
			b = &strings.Builder{}
			plain[pkg] = b
			order = append(order, pkg)
		}
		return b
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "{") {
			var ev struct{ Action, Package, Output string }
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				return nil, fmt.Errorf("line %d: a JSON line that is no test2json event: %w", n, err)
			}
			if ev.Action == "output" {
				text(ev.Package).WriteString(ev.Output)
			}
			continue
		}
		b := text("")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read benchmark output: %w", err)
	}
	for _, pkg := range order {
		parsePlain(run, pkg, plain[pkg].String())
	}
	return run, nil
}

// parsePlain adds the benchmark lines and skips of plain go test output.
func parsePlain(run *Run, pkg, out string) {
	lines := strings.Split(out, "\n")
	for i, line := range lines {
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "--- SKIP: "); ok && strings.HasPrefix(name, "Benchmark") {
			reason := ""
			if i+1 < len(lines) {
				reason = strings.TrimSpace(lines[i+1])
				// "file_test.go:12: reason"
				if _, after, ok := strings.Cut(reason, ": "); ok && strings.Contains(reason[:len(reason)-len(after)], ".go:") {
					reason = after
				}
			}
			run.Skipped[procSuffix.ReplaceAllString(strings.Fields(name)[0], "")] = reason
			continue
		}
		if r, ok := parseLine(line); ok {
			r.Package = pkg
			run.Results = append(run.Results, r)
		}
	}
}

// parseLine parses "BenchmarkX/sub-2  31  68377352 ns/op  56.57 cold-ms".
func parseLine(line string) (Result, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return Result{}, false
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		return Result{}, false
	}
	r := Result{Name: procSuffix.ReplaceAllString(f[0], ""), Iterations: n, Metrics: map[string]float64{}}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Result{}, false
		}
		r.Metrics[f[i+1]] = v
	}
	return r, true
}

// Source names one metric of one benchmark: Package is a suffix of the
// import path ("internal/deploy"), Bench the name without the GOMAXPROCS
// suffix, Metric the unit it reports.
type Source struct {
	Package, Bench, Metric string
	// Scale multiplies the value (a cost per transition, bytes to MB); 1
	// when zero.
	Scale float64
}

// find returns the source's value in run.
func (s Source) find(run *Run) (float64, bool) {
	for _, r := range run.Results {
		if r.Name == s.Bench && (s.Package == "" || strings.HasSuffix(r.Package, s.Package)) {
			if v, ok := r.Metrics[s.Metric]; ok {
				if s.Scale != 0 {
					v *= s.Scale
				}
				return v, true
			}
		}
	}
	return 0, false
}

// Target is a figure's goal: at most (Op "<=") or at least (">=") Value.
type Target struct {
	Op    string  `json:"op"`
	Value float64 `json:"value"`
}

// met reports whether v meets the target.
func (t Target) met(v float64) bool {
	if t.Op == ">=" {
		return v >= t.Value
	}
	return v <= t.Value
}

// Comparison is what a user would pick instead: measured by another
// benchmark of the same run (Source), or, when it cannot be, a stated
// value and the reason (Fixed with Note).
type Comparison struct {
	Title  string
	Source *Source
	Fixed  *float64
	Note   string
}

// Figure is one known figure.
type Figure struct {
	Key, Title, Unit string
	Source           Source
	Target           *Target
	Compare          *Comparison
}

// Row is one figure as measured in a run.
type Row struct {
	Key      string   `json:"key"`
	Title    string   `json:"title"`
	Unit     string   `json:"unit"`
	Measured bool     `json:"measured"`
	Value    *float64 `json:"value,omitempty"`
	Target   *Target  `json:"target,omitempty"`
	Met      *bool    `json:"met,omitempty"`
	// Instead is the comparison: what a user would pick instead.
	Instead *Instead `json:"instead,omitempty"`
	Note    string   `json:"note,omitempty"`
}

// Instead is a row's comparison as measured (or stated) in a run.
type Instead struct {
	Title    string   `json:"title"`
	Value    *float64 `json:"value,omitempty"`
	Measured bool     `json:"measured"`
	Note     string   `json:"note,omitempty"`
}

// NotMeasured is the note of a figure whose benchmark did not run.
const NotMeasured = "not measured in this run"

// Collect measures figures against run.
func Collect(run *Run, figures []Figure) []Row {
	rows := make([]Row, 0, len(figures))
	for _, f := range figures {
		row := Row{Key: f.Key, Title: f.Title, Unit: f.Unit, Target: f.Target}
		if v, ok := f.Source.find(run); ok {
			row.Measured, row.Value = true, &v
			if f.Target != nil {
				met := f.Target.met(v)
				row.Met = &met
			}
		} else {
			row.Note = NotMeasured
			if why, ok := run.Skipped[f.Source.Bench]; ok {
				row.Note += ": skipped: " + why
			}
		}
		if c := f.Compare; c != nil {
			in := &Instead{Title: c.Title, Note: c.Note}
			switch {
			case c.Source != nil:
				if v, ok := c.Source.find(run); ok {
					in.Value, in.Measured = &v, true
				} else if why, ok := run.Skipped[c.Source.Bench]; ok {
					in.Note = "skipped: " + why
				} else {
					in.Note = NotMeasured
				}
			case c.Fixed != nil:
				v := *c.Fixed
				in.Value = &v
			}
			row.Instead = in
		}
		rows = append(rows, row)
	}
	return rows
}

// Render writes rows as an aligned table: each figure, its target and
// whether it is met, and what a user would pick instead.
func Render(w io.Writer, rows []Row) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%-50s %-16s %-24s %s\n", "figure", "value", "target", "instead")
	for _, r := range rows {
		value := r.Note
		if r.Value != nil {
			value = format(*r.Value, r.Unit)
		}
		target := "-"
		if r.Target != nil {
			target = r.Target.Op + " " + format(r.Target.Value, r.Unit)
			if r.Met != nil {
				target += map[bool]string{true: " ok", false: " MISSED"}[*r.Met]
			}
		}
		instead := ""
		if in := r.Instead; in != nil {
			instead = in.Title
			if in.Value != nil {
				instead += ": " + format(*in.Value, r.Unit)
			}
			if in.Note != "" {
				instead += " (" + in.Note + ")"
			}
		}
		if r.Value == nil {
			fmt.Fprintf(&b, "%-50s %s; target %s\n", r.Title, value, target)
			continue
		}
		fmt.Fprintf(&b, "%-50s %-16s %-24s %s\n", r.Title, value, target, instead)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// format prints v with a precision that suits its size, then its unit.
func format(v float64, unit string) string {
	switch a := math.Abs(v); {
	case a == math.Trunc(a) && a < 1e6:
		return fmt.Sprintf("%.0f %s", v, unit)
	case a >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	case a >= 1:
		return fmt.Sprintf("%.2f %s", v, unit)
	default:
		return fmt.Sprintf("%.4g %s", v, unit)
	}
}

// Results is docs/bench/results.json.
type Results struct {
	Figures []Row `json:"figures"`
	*Run
}

// SortResults orders a run's results by package and name, so that the
// file changes only where the figures do.
func SortResults(run *Run) {
	sort.SliceStable(run.Results, func(i, j int) bool {
		a, b := run.Results[i], run.Results[j]
		if a.Package != b.Package {
			return a.Package < b.Package
		}
		return a.Name < b.Name
	})
}
