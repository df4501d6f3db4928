package endpoint_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
)

// BenchmarkDescribeServices measures DescribeServices through the SDK
// client over HTTP against the assembled endpoint, in requests per second.
func BenchmarkDescribeServices(b *testing.B) {
	r := start(b)
	c := ecs.NewFromConfig(r.AWS)
	in := &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"worker", "agent"}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.DescribeServices(context.Background(), in); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkCanary measures the wall time of one full canary of web (push,
// 50% bake 1m, 100%, final bake 2m, promote) on the virtual clock and on a
// clock 60 times faster than wall time.
func BenchmarkCanary(b *testing.B) {
	clocks := map[string]func() clock.Clock{
		"virtual":  func() clock.Clock { return clock.NewVirtual(time.Now()) },
		"scaled60": func() clock.Clock { return clock.Scaled(60) },
	}
	for name, newClock := range clocks {
		b.Run(name, func(b *testing.B) {
			r, err := endpoint.Start(context.Background(), endpoint.Options{Addr: "127.0.0.1:0", Specs: os.DirFS(examples),
				WorkDir: b.TempDir(), Config: endpoint.Config{Clock: newClock()}})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Shutdown(context.Background())
			c := sfn.NewFromConfig(r.AWS)
			ctx := context.Background()
			isWeb := func(name string) bool { return strings.HasPrefix(name, "web-staging-") }
			b.ResetTimer()
			for i := range b.N {
				before, err := endpoint.ListExecutions(ctx, c, r.Deployed.StateMachineARN)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := stack.PushImage(ctx, r.AWS, "web", fmt.Sprintf("v%d", i+2)); err != nil {
					b.Fatal(err)
				}
				if err := r.WaitExecutions(ctx, isWeb, countPrefix(before, "web-staging-")+1, time.Minute); err != nil {
					b.Fatal(err)
				}
				after, err := endpoint.ListExecutions(ctx, c, r.Deployed.StateMachineARN)
				if err != nil {
					b.Fatal(err)
				}
				i := slices.IndexFunc(after, func(x sfntypes.ExecutionListItem) bool { return isWeb(aws.ToString(x.Name)) })
				if after[i].Status != sfntypes.ExecutionStatusSucceeded {
					b.Fatalf("canary %s ended %s", aws.ToString(after[i].Name), after[i].Status)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/canary")
		})
	}
}
