// Command benchfig reads `go test -bench` output (plain or -json) on
// standard input or from -in, prints each known figure next to its target
// and what a user would pick instead, and writes them, with every
// benchmark's metrics, to -out (docs/bench/results.json). `make bench` runs it.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/slipwayhq/slipway/internal/benchfig"
)

func main() {
	in := flag.String("in", "", "go test -bench output to read (standard input if empty)")
	out := flag.String("out", "docs/bench/results.json", "where to write the figures")
	zips := flag.String("zips", "", "directory holding <fn>.zip and <fn>/bootstrap (build); empty leaves the zip sizes out")
	flag.Parse()
	if err := run(*in, *out, *zips); err != nil {
		fmt.Fprintln(os.Stderr, "benchfig:", err)
		os.Exit(1)
	}
}

func run(in, out, zips string) error {
	var r io.Reader = os.Stdin
	if in != "" {
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	parsed, err := benchfig.Parse(r)
	if err != nil {
		return err
	}
	benchfig.SortResults(parsed)
	var rows []benchfig.Row
	if zips != "" {
		if rows, err = benchfig.ZipRows(zips); err != nil {
			return err
		}
	}
	rows = append(rows, benchfig.Collect(parsed, benchfig.Known())...)
	if err := benchfig.Render(os.Stdout, rows); err != nil {
		return err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "<=" stays readable
	if err := enc.Encode(benchfig.Results{Figures: rows, Run: parsed}); err != nil {
		return err
	}
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}
