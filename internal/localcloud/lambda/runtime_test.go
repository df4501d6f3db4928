package lambda

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/clock"
)

// buildFunction compiles testdata/fn, a function using aws-lambda-go, for
// the host, as `make build` compiles the real ones for Lambda.
func buildFunction(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Go binary; skipped with -short")
	}
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/fn")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build testdata/fn: %v\n%s", err, b)
	}
	return out
}

type fnResponse struct {
	Echo     string `json:"echo"`
	Function string `json:"function"`
	Region   string `json:"region"`
	Custom   string `json:"custom"`
	ARN      string `json:"arn"`
	PID      int    `json:"pid"`
}

func TestBinaryFunction(t *testing.T) {
	bin := buildFunction(t)
	s := New(Config{Clock: clock.Real(), Region: "eu-west-1", Timeout: 2 * time.Second})
	t.Cleanup(func() { s.Close() })
	if err := s.RegisterBinary("echo", bin, map[string]string{"CUSTOM": "from-env"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterBinary("broken", bin, map[string]string{"FAIL_INIT": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterBinary("missing", filepath.Join(t.TempDir(), "nope"), nil); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s)
	invoke := func(t *testing.T, fn, payload string) (*sdk.InvokeOutput, fnResponse) {
		t.Helper()
		out, err := c.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(payload)})
		if err != nil {
			t.Fatalf("Invoke %s: %v", fn, err)
		}
		var r fnResponse
		if out.FunctionError == nil {
			if err := json.Unmarshal(out.Payload, &r); err != nil {
				t.Fatalf("decode %s: %v", out.Payload, err)
			}
		}
		return out, r
	}
	fnError := func(t *testing.T, out *sdk.InvokeOutput) FunctionError {
		t.Helper()
		if got := aws.ToString(out.FunctionError); got != "Unhandled" {
			t.Fatalf("FunctionError: got %q, want Unhandled (payload %s)", got, out.Payload)
		}
		var fe FunctionError
		if err := json.Unmarshal(out.Payload, &fe); err != nil {
			t.Fatalf("decode %s: %v", out.Payload, err)
		}
		return fe
	}

	_, first := invoke(t, "echo", `{"value":"one"}`)
	want := fnResponse{Echo: "one", Function: "echo", Region: "eu-west-1", Custom: "from-env",
		ARN: "arn:aws:lambda:eu-west-1:000000000000:function:echo", PID: first.PID}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	_, second := invoke(t, "echo", `{"value":"two"}`)
	if second.PID != first.PID || second.Echo != "two" {
		t.Errorf("second invocation: got %+v, want the same process (pid %d) echoing two", second, first.PID)
	}

	t.Run("function error keeps the process", func(t *testing.T) {
		out, _ := invoke(t, "echo", `{"action":"fail","value":"canary"}`)
		fe := fnError(t, out)
		if fe.Type != "RolloutError" || fe.Message != "rollout failed: canary" {
			t.Errorf("got %s: %s, want RolloutError: rollout failed: canary", fe.Type, fe.Message)
		}
		if _, r := invoke(t, "echo", `{"value":"x"}`); r.PID != first.PID {
			t.Errorf("pid after a function error: got %d, want %d", r.PID, first.PID)
		}
	})
	t.Run("panic restarts the process", func(t *testing.T) {
		out, _ := invoke(t, "echo", `{"action":"panic","value":"spec"}`)
		fe := fnError(t, out)
		if fe.Type != "string" || fe.Message != "boom: spec" {
			t.Errorf("got %s: %s, want string: boom: spec", fe.Type, fe.Message)
		}
		if _, r := invoke(t, "echo", `{"value":"after"}`); r.PID == first.PID || r.Echo != "after" {
			t.Errorf("after a panic: got %+v, want a new process echoing after", r)
		}
	})
	t.Run("exit", func(t *testing.T) {
		out, _ := invoke(t, "echo", `{"action":"exit"}`)
		if fe := fnError(t, out); fe.Type != "Runtime.ExitError" {
			t.Errorf("got %s: %s, want Runtime.ExitError", fe.Type, fe.Message)
		}
		if _, r := invoke(t, "echo", `{"value":"again"}`); r.Echo != "again" {
			t.Errorf("after an exit: got %+v, want again", r)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		out, _ := invoke(t, "echo", `{"action":"hang"}`)
		if fe := fnError(t, out); fe.Type != "Sandbox.Timedout" {
			t.Errorf("got %s: %s, want Sandbox.Timedout", fe.Type, fe.Message)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("timeout took %v, want about 2s", d)
		}
		if _, r := invoke(t, "echo", `{"value":"alive"}`); r.Echo != "alive" {
			t.Errorf("after a timeout: got %+v, want alive", r)
		}
	})
	t.Run("init error", func(t *testing.T) {
		out, _ := invoke(t, "broken", `{}`)
		fe := fnError(t, out)
		if fe.Type != "InitError" || fe.Message != "missing setting" {
			t.Errorf("got %s: %s, want InitError: missing setting", fe.Type, fe.Message)
		}
	})
	t.Run("missing binary", func(t *testing.T) {
		out, _ := invoke(t, "missing", `{}`)
		if fe := fnError(t, out); fe.Type != "Runtime.InvalidEntrypoint" {
			t.Errorf("got %s: %s, want Runtime.InvalidEntrypoint", fe.Type, fe.Message)
		}
	})
	t.Run("concurrent invocations are serialized", func(t *testing.T) {
		done := make(chan fnResponse, 4)
		for i := range 4 {
			go func() {
				out, fnErr, err := s.Invoke(context.Background(), "echo", []byte(`{"value":"c`+string(rune('0'+i))+`"}`))
				if err != nil || fnErr != nil {
					t.Errorf("Invoke: %v %v", fnErr, err)
					done <- fnResponse{}
					return
				}
				var r fnResponse
				json.Unmarshal(out, &r)
				done <- r
			}()
		}
		seen := map[string]bool{}
		for range 4 {
			seen[(<-done).Echo] = true
		}
		if len(seen) != 4 {
			t.Errorf("got answers %v, want four distinct", seen)
		}
	})

	// Close stops the process.
	proc := findProcess(t, s, "echo")
	s.Close()
	select {
	case <-proc.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop the function's process")
	}
	if _, _, err := s.Invoke(t.Context(), "echo", nil); err == nil {
		t.Error("Invoke after Close: got no error")
	}
}

func findProcess(t *testing.T, s *Service, name string) *runtimeProcess {
	t.Helper()
	s.mu.Lock()
	fn := s.functions[name]
	s.mu.Unlock()
	fn.binary.procMu.Lock()
	defer fn.binary.procMu.Unlock()
	if fn.binary.proc == nil {
		t.Fatalf("function %s has no process", name)
	}
	return fn.binary.proc
}

func TestSnapshotRestore(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	if err := s.RegisterBinary("deploy", "/opt/build/deploy/bootstrap", map[string]string{"TABLE": "t"}); err != nil {
		t.Fatal(err)
	}
	s.Register("inproc", nil)
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := New(Config{})
	defer r.Close()
	if err := r.Restore(snap); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	again, err := r.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(snap), string(again)); diff != "" {
		t.Errorf("snapshot after restore (-want +got):\n%s", diff)
	}
	if _, err := r.resolve("deploy", ""); err != nil {
		t.Errorf("restored function: %v", err)
	}
	for name, bad := range map[string]string{
		"not json": `{`,
		"bad name": `{"binaries":[{"name":"a b","path":"/x"}]}`,
		"no path":  `{"binaries":[{"name":"ab"}]}`,
	} {
		if err := r.Restore([]byte(bad)); err == nil {
			t.Errorf("Restore %s: got no error", name)
		}
	}
}
