package main

import (
	"encoding/json"
	"io"

	"github.com/spf13/cobra"
)

// The values of --output.
const (
	outputText = "text"
	outputJSON = "json"
)

// outputFlag is --output text|json, on every command whose result a
// script may read. The JSON shapes are documented in docs/cli.md.
type outputFlag struct{ format string }

func (f *outputFlag) add(c *cobra.Command) {
	c.Flags().StringVar(&f.format, "output", outputText, "output format: text or json (fields documented in docs/cli.md)")
}

// check rejects a format other than text and json as a usage error.
func (f *outputFlag) check() error {
	switch f.format {
	case outputText, outputJSON:
		return nil
	}
	return usageErrorf("--output %s: want text or json", f.format)
}

// json reports whether JSON was asked for.
func (f *outputFlag) json() bool { return f.format == outputJSON }

// writeJSON writes v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}
