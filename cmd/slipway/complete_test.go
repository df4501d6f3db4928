package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// complete runs cobra's hidden completion request and returns the
// candidates it printed (without the directive line) and the directive.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(append([]string{"__complete"}, args...), &out, &errb); code != exitOK {
		t.Fatalf("__complete %v: exit %d, stderr %s", args, code, errb.String())
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
		t.Fatalf("__complete %v: got %q, want candidates then a :directive line", args, out.String())
	}
	return lines[:len(lines)-1], lines[len(lines)-1]
}

func TestCompleteFromDir(t *testing.T) {
	tests := map[string]struct {
		args []string
		want string
	}{
		"render service":      {args: []string{"render", "--dir", "../../examples", ""}, want: "agent web worker"},
		"render prefix":       {args: []string{"render", "--dir", "../../examples", "w"}, want: "web worker"},
		"render env":          {args: []string{"render", "--dir", "../../examples", "--env", ""}, want: "prod staging"},
		"render env prefix":   {args: []string{"render", "--dir", "../../examples", "web", "--env", "st"}, want: "staging"},
		"one service only":    {args: []string{"render", "--dir", "../../examples", "web", ""}, want: ""},
		"dir that is missing": {args: []string{"render", "--dir", "no/such/dir", ""}, want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, directive := complete(t, tc.args...)
			if strings.Join(got, " ") != tc.want {
				t.Errorf("got %q, want %q", strings.Join(got, " "), tc.want)
			}
			if want := ":" + strconv.Itoa(int(cobra.ShellCompDirectiveNoFileComp)); directive != want {
				t.Errorf("directive %s, want %s (no file names)", directive, want)
			}
		})
	}
}

// TestCompleteSilentWithoutStack checks that an operator command completes
// nothing, promptly and without a word on stdout, when no stack answers.
func TestCompleteSilentWithoutStack(t *testing.T) {
	awsEnv(t, "http://127.0.0.1:1", "us-east-1")
	began := time.Now()
	got, _ := complete(t, "status", "")
	if len(got) != 0 {
		t.Errorf("got %q, want no candidates", got)
	}
	if d := time.Since(began); d > completionTimeout+2*time.Second {
		t.Errorf("took %s, want at most the completion timeout (%s) and change", d, completionTimeout)
	}
}

// TestCompleteFromBucket completes services and environments from the
// spec bucket of a local endpoint, for every command that takes them.
func TestCompleteFromBucket(t *testing.T) {
	startLocal(t)
	for _, cmd := range []string{"status", "history", "deploy", "approve", "reject", "rollback", "unlock"} {
		t.Run(cmd, func(t *testing.T) {
			got, _ := complete(t, cmd, "")
			if strings.Join(got, " ") != "agent web worker" {
				t.Errorf("services: got %q, want agent web worker", got)
			}
			got, _ = complete(t, cmd, "--env", "p")
			if strings.Join(got, " ") != "prod" {
				t.Errorf("--env p: got %q, want prod", got)
			}
		})
	}
}

// TestCompletionScripts checks that bash, zsh and fish scripts are
// generated for slipway.
func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{"bash": "# bash completion V2 for slipway", "zsh": "#compdef slipway", "fish": "# fish completion for slipway"} {
		t.Run(shell, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run([]string{"completion", shell}, &out, &errb); code != exitOK {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			if !strings.Contains(out.String(), want) {
				t.Errorf("got %.80q…, want it to contain %q", out.String(), want)
			}
		})
	}
}

// TestEveryCommandHasAnExample walks the command tree: every command a
// user runs shows an Example in its --help.
func TestEveryCommandHasAnExample(t *testing.T) {
	root := newRootCommand()
	root.InitDefaultCompletionCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || (c.Parent() != nil && c.Parent().Name() == "completion") || c.Name() == "completion" {
			return
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s has no Example in its help", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
