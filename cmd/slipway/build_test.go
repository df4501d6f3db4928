package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cdkModules are the module paths of the CDK and its jsii runtime: linking
// them makes the CLI a binary of 175 MB that synthesizes through Node.js.
var cdkModules = []string{"github.com/aws/aws-cdk-go/", "github.com/aws/jsii-runtime-go", "github.com/aws/constructs-go/"}

// TestCLILinksNoCDK fails when the CLI depends on the CDK, naming the chain
// of imports that brings it in. The local endpoint deploys the committed
// template (internal/localcloud/stack/template) instead of synthesizing.
func TestCLILinksNoCDK(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the CLI's dependencies; -short skips it")
	}
	out, err := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	imports := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		imports[p.ImportPath] = p.Imports
	}
	const self = "github.com/slipwayhq/slipway/cmd/slipway"
	if _, ok := imports[self]; !ok {
		t.Fatalf("go list -deps did not list %s", self)
	}
	for _, chain := range cdkChains(self, imports) {
		t.Errorf("the CLI links the CDK: %s", strings.Join(chain, " → "))
	}
}

// cdkChains returns, for every package of the CDK modules reachable from
// root whose importer is outside them, one shortest import chain from root.
func cdkChains(root string, imports map[string][]string) [][]string {
	isCDK := func(p string) bool {
		for _, m := range cdkModules {
			if strings.HasPrefix(p, m) || p == strings.TrimSuffix(m, "/") {
				return true
			}
		}
		return false
	}
	parent := map[string]string{root: ""}
	queue := []string{root}
	var chains [][]string
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, q := range imports[p] {
			if _, seen := parent[q]; seen {
				continue
			}
			parent[q] = p
			if isCDK(q) {
				var chain []string
				for x := q; x != ""; x = parent[x] {
					chain = append([]string{x}, chain...)
				}
				chains = append(chains, chain)
				continue // the CDK's own imports say nothing more
			}
			queue = append(queue, q)
		}
	}
	return chains
}

// TestCDKChains checks the chain finder on a made-up import graph, so that
// TestCLILinksNoCDK can fail.
func TestCDKChains(t *testing.T) {
	imports := map[string][]string{
		"cli":   {"local", "spec"},
		"local": {"stack"},
		"stack": {"github.com/aws/aws-cdk-go/awscdk/v2", "github.com/aws/jsii-runtime-go"},
		"spec":  {"fmt"},
	}
	got := cdkChains("cli", imports)
	want := "cli → local → stack → github.com/aws/aws-cdk-go/awscdk/v2|cli → local → stack → github.com/aws/jsii-runtime-go"
	var parts []string
	for _, c := range got {
		parts = append(parts, strings.Join(c, " → "))
	}
	if strings.Join(parts, "|") != want {
		t.Errorf("got %q, want %q", parts, want)
	}
	if got := cdkChains("spec", imports); len(got) != 0 {
		t.Errorf("got %v for a root that reaches no CDK package, want none", got)
	}
}

// buildCLI builds ./cmd/slipway with the default flags into a temporary
// directory and returns the binary's path.
func buildCLI(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "slipway")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// BenchmarkCLIBinary reports the size of the CLI built with the default
// flags (unstripped) as binary-MB; the target is at most 80.
func BenchmarkCLIBinary(b *testing.B) {
	if testing.Short() {
		b.Skip("builds the CLI; -short skips it")
	}
	var size int64
	for b.Loop() {
		bin := buildCLI(b)
		st, err := os.Stat(bin)
		if err != nil {
			b.Fatal(err)
		}
		size = st.Size()
	}
	b.ReportMetric(float64(size)/(1<<20), "binary-MB")
}

// BenchmarkLocalHealthy reports, as healthy-s, the wall time from starting
// `slipway local` in an empty directory until GET /_slipway/health answers
// 200; the target is at most 3.
func BenchmarkLocalHealthy(b *testing.B) {
	if testing.Short() {
		b.Skip("builds and runs the CLI; -short skips it")
	}
	bin := buildCLI(b)
	var total time.Duration
	n := 0
	for b.Loop() {
		total += localHealthy(b, bin)
		n++
	}
	b.ReportMetric(total.Seconds()/float64(n), "healthy-s")
}

// localHealthy starts bin's local endpoint on a free port in a fresh
// directory, waits for its health check to pass, stops it and returns how
// long it took to be healthy.
func localHealthy(b *testing.B, bin string) time.Duration {
	b.Helper()
	port, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "local", "--port", strconv.Itoa(port))
	cmd.Dir = b.TempDir()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d/_slipway/health", port)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(began)
			}
		}
		select {
		case <-ctx.Done():
			b.Fatalf("not healthy after 2 minutes:\n%s", stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// freePort returns a TCP port free on 127.0.0.1 at the time of the call.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
