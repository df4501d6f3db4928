package cloudwatch

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
)

// fakeECS answers DescribeServices with the running counts it holds, by
// "cluster/service".
type fakeECS map[string]int32

func (f fakeECS) ServeJSON(_ context.Context, op string, body []byte) (any, error) {
	var in struct {
		Cluster  string   `json:"cluster"`
		Services []string `json:"services"`
	}
	if err := json.Unmarshal(body, &in); err != nil || op != "DescribeServices" {
		return nil, err
	}
	out := map[string][]map[string]any{"services": {}}
	for _, name := range in.Services {
		if n, ok := f[in.Cluster+"/"+name]; ok {
			out["services"] = append(out["services"], map[string]any{"status": "ACTIVE", "runningCount": n})
		}
	}
	return out, nil
}

// TestECSCPUUtilization: a service's CPU demand is shared by its running
// tasks, capped at 100%; a service with no running task publishes nothing.
func TestECSCPUUtilization(t *testing.T) {
	tests := map[string]struct {
		load    float64
		running int32
		want    float64
		none    bool
	}{
		"shared":     {load: 150, running: 3, want: 50},
		"capped":     {load: 500, running: 2, want: 100},
		"no tasks":   {load: 150, running: 0, none: true},
		"light load": {load: 10, running: 4, want: 2.5},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			clk := clock.NewVirtual(start)
			reg := faults.New()
			reg.SetServiceLoad("staging", "web", tc.load)
			cw := New(Config{Clock: clk, Loads: reg, ECS: fakeECS{"staging/web": tc.running}})
			ctx := context.Background()
			clk.Busy()
			if err := clk.Sleep(ctx, time.Minute); err != nil {
				t.Fatal(err)
			}
			cw.Tick(ctx)
			clk.Done()
			got, ok := cw.Average("AWS/ECS", "CPUUtilization", map[string]string{"ClusterName": "staging", "ServiceName": "web"}, "Average", start, clk.Now())
			if tc.none {
				if ok {
					t.Errorf("got CPUUtilization %v, want none without running tasks", got)
				}
				return
			}
			if !ok || got != tc.want {
				t.Errorf("got CPUUtilization %v (%v), want %v", got, ok, tc.want)
			}
		})
	}
}
