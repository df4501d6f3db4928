package trigger

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		EnvSpecBucket:      "specs",
		EnvStateBucket:     "state",
		EnvStateMachineARN: "arn:aws:states:eu-west-1:123456789012:stateMachine:deploy",
	}
	c, err := ConfigFromEnv(func(k string) string { return env[k] }, EnvSpecBucket, EnvStateBucket, EnvStateMachineARN, EnvEventBus)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{SpecBucket: "specs", StateBucket: "state", StateMachineARN: env[EnvStateMachineARN], EventBus: "default"}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestConfigFromEnvNamesEveryMissingVariable(t *testing.T) {
	_, err := ConfigFromEnv(func(string) string { return "" }, EnvStateBucket, EnvStateMachineARN, "SLIPWAY_TYPO")
	if err == nil {
		t.Fatal("got nil, want an error")
	}
	for _, want := range []string{EnvStateBucket + " is not set", EnvStateMachineARN + " is not set", "SLIPWAY_TYPO is not a Slipway setting"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got %q, want it to contain %q", err, want)
		}
	}
}
