package deploy

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/workflow"
)

func TestCountFor(t *testing.T) {
	tests := map[string]struct {
		full   int32
		weight int
		want   int32
	}{
		"zero weight":         {full: 4, weight: 0, want: 0},
		"rounds up":           {full: 4, weight: 10, want: 1},
		"exact":               {full: 4, weight: 50, want: 2},
		"all":                 {full: 4, weight: 100, want: 4},
		"one task, any share": {full: 1, weight: 1, want: 1},
		"no tasks":            {full: 0, weight: 50, want: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := countFor(tc.full, tc.weight); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func minutes(n int) spec.Duration { return spec.Duration{Duration: time.Duration(n) * time.Minute} }

func TestSteps(t *testing.T) {
	canary := spec.Strategy{Kind: kindCanary, Steps: []spec.Step{{Weight: 10, Bake: minutes(5)}, {Weight: 50, Bake: minutes(10)}, {Weight: 100}},
		FinalBake: minutes(15)}
	tests := map[string]struct {
		got  []workflow.Step
		want []workflow.Step
	}{
		"canary": {
			got:  canarySteps(canary, false),
			want: []workflow.Step{{Weight: 10, BakeSeconds: 300}, {Weight: 50, BakeSeconds: 600}, {Weight: 100, BakeSeconds: 900}},
		},
		"canary, steps short of 100": {
			got:  canarySteps(spec.Strategy{Steps: []spec.Step{{Weight: 20, Bake: minutes(1)}}, FinalBake: minutes(2)}, false),
			want: []workflow.Step{{Weight: 20, BakeSeconds: 60}, {Weight: 100, BakeSeconds: 120}},
		},
		"canary, first deployment": {
			got:  canarySteps(canary, true),
			want: []workflow.Step{{Weight: 100, BakeSeconds: 900}},
		},
		"blue/green, all at once": {
			got:  blueGreenSteps(spec.Strategy{Steps: []spec.Step{{Weight: 100}}, TerminationWait: minutes(5)}, false, false),
			want: []workflow.Step{{Weight: 100, BakeSeconds: 300}},
		},
		"blue/green, linear, verified": {
			got: blueGreenSteps(spec.Strategy{Steps: []spec.Step{{Weight: 25, Bake: minutes(1)}, {Weight: 100}},
				FinalBake: minutes(3), TerminationWait: minutes(10)}, false, true),
			want: []workflow.Step{{Weight: 0, BakeSeconds: 180}, {Weight: 25, BakeSeconds: 60}, {Weight: 100, BakeSeconds: 600}},
		},
		"rolling without a final bake": {got: rollingSteps(spec.Strategy{}), want: nil},
		"rolling with a final bake": {
			got:  rollingSteps(spec.Strategy{FinalBake: minutes(10)}),
			want: []workflow.Step{{Weight: 100, BakeSeconds: 600}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrimarySlot(t *testing.T) {
	up := func(n int32) ServiceState { return ServiceState{Exists: true, DesiredCount: n} }
	groups := [2]string{tgBlue, tgGreen}
	tests := map[string]struct {
		blue, green ServiceState
		weights     []elbv2.TargetWeight
		want        string
	}{
		"none":                     {want: ""},
		"only blue":                {blue: up(0), want: slotBlue},
		"only green":               {green: up(2), want: slotGreen},
		"weights say green":        {blue: up(4), green: up(4), weights: weights(0, 100), want: slotGreen},
		"weights beat task counts": {blue: up(4), green: up(1), weights: weights(10, 90), want: slotGreen},
		"no weights: more tasks":   {blue: up(0), green: up(3), want: slotGreen},
		"tie":                      {blue: up(2), green: up(2), weights: weights(50, 50), want: slotBlue},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := primarySlot(tc.blue, tc.green, groups, tc.weights); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStateMachineOf(t *testing.T) {
	got, err := stateMachineOf("arn:aws:states:eu-west-1:111122223333:execution:slipway-deploy:web-prod-0123")
	if err != nil || got != "arn:aws:states:eu-west-1:111122223333:stateMachine:slipway-deploy" {
		t.Errorf("got %q, %v, want the state machine ARN", got, err)
	}
	var ii *workflow.InvalidInput
	if _, err := stateMachineOf("exec-1"); !errors.As(err, &ii) {
		t.Errorf("got %v, want InvalidInput", err)
	}
}

func TestRegionAccount(t *testing.T) {
	const arn = "arn:aws:states:eu-west-1:444455556666:execution:deploy:x"
	tests := map[string]struct {
		settings            Settings
		execution           string
		wantRegion, wantAcc string
	}{
		"from the execution": {execution: arn, wantRegion: "eu-west-1", wantAcc: "444455556666"},
		"settings win":       {settings: Settings{Region: "us-east-1", AccountID: "111122223333"}, execution: arn, wantRegion: "us-east-1", wantAcc: "111122223333"},
		"no execution":       {settings: Settings{Region: "us-east-1"}, wantRegion: "us-east-1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := &Engine{Settings: tc.settings}
			region, acc := e.regionAccount(tc.execution)
			if region != tc.wantRegion || acc != tc.wantAcc {
				t.Errorf("got %q %q, want %q %q", region, acc, tc.wantRegion, tc.wantAcc)
			}
		})
	}
}
