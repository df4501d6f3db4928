package endpoint_test

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
)

// dnsSeen is one observation of what DNS clients of web in staging get
// (Cloud Map's DiscoverInstances, by ECS service) beside the rule's
// weights at that moment.
type dnsSeen struct {
	slots       map[string]int
	blue, green int32
	err         error
}

// noHostPrefix turns off the "data-" endpoint host prefix of
// DiscoverInstances, which an IP address cannot take.
func noHostPrefix(o *sd.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("NoHostPrefix",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
			}), middleware.Before)
	})
}

// discoverWeb returns the healthy instances DNS clients of web in staging
// get, counted by the ECS service that registered them.
func discoverWeb(ctx context.Context, c *sd.Client) (map[string]int, error) {
	out, err := c.DiscoverInstances(ctx, &sd.DiscoverInstancesInput{NamespaceName: aws.String("local"), ServiceName: aws.String("web"),
		QueryParameters: map[string]string{"ECS_CLUSTER_NAME": "staging"}}, noHostPrefix)
	if err != nil {
		return nil, err
	}
	slots := map[string]int{}
	for _, i := range out.Instances {
		slots[i.Attributes["ECS_SERVICE_NAME"]]++
	}
	return slots, nil
}

// watchDNS polls DNS and the rule while a deployment runs.
func watchDNS(r *endpoint.Running) (stop func() []dnsSeen) {
	lb := r.Seeded.Set.Environments["staging"].LoadBalancers["web"]
	rules, names := elbv2.New(elb.NewFromConfig(r.AWS)), sd.NewFromConfig(r.AWS)
	var (
		mu   sync.Mutex
		seen []dnsSeen
	)
	end := pollEvery(2*time.Millisecond, func() {
		ctx := context.Background()
		var s dnsSeen
		actions, err := rules.RuleActions(ctx, lb.ListenerRuleArn)
		if err == nil {
			var tw []elbv2.TargetWeight
			if tw, err = elbv2.ForwardWeights(actions); err == nil {
				for _, w := range tw {
					switch w.TargetGroupARN {
					case lb.TargetGroupArns[0]:
						s.blue = w.Weight
					case lb.TargetGroupArns[1]:
						s.green = w.Weight
					}
				}
			}
		}
		if err == nil {
			s.slots, err = discoverWeb(ctx, names)
		}
		s.err = err
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
	})
	return func() []dnsSeen {
		end()
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

// TestCloudMapFollowsTraffic (issue 11 item 11): web runs a canary and
// registers in Cloud Map. While a canary of v2 shifts 10% then 50% of the
// traffic, DNS clients get only the tasks of the slot that served before
// (blue); after the promotion, only the new slot's; DNS is never without a
// task. A canary of v3 that its alarm rolls back never reaches DNS.
func TestCloudMapFollowsTraffic(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs two deployments")
	r := start(t)
	ctx := context.Background()
	names := sd.NewFromConfig(r.AWS)
	initial, err := discoverWeb(ctx, names)
	if err != nil {
		t.Fatalf("DiscoverInstances: %v", err)
	}
	if got := slices.Sorted(maps.Keys(initial)); !slices.Equal(got, []string{"web--blue"}) {
		t.Fatalf("before: DNS answers with %v, want web--blue (v1)", initial)
	}

	for _, step := range []struct {
		tag     string
		fault   bool
		status  sfntypes.ExecutionStatus
		serving string // the slot DNS answers with until promotion
		final   string
	}{
		{tag: "v2", status: sfntypes.ExecutionStatusSucceeded, serving: "web--blue", final: "web--green"},
		// Rolled back at its first step, 10%.
		{tag: "v3", fault: true, status: sfntypes.ExecutionStatusFailed, serving: "web--green", final: "web--green"},
	} {
		stop := watchDNS(r)
		status, path, _ := deploy(t, r, "web", step.tag, func(digest string) {
			if !step.fault {
				return
			}
			injectFault(t, r, digest, faults.Behaviour{ErrorRate: 0.5})
		})
		seen := stop()
		if status != step.status {
			t.Fatalf("web:%s: got status %s, want %s (path %v)", step.tag, status, step.status, path)
		}
		canaried := false
		for _, s := range seen {
			if s.err != nil {
				t.Errorf("web:%s: reading DNS or the rule: %v", step.tag, s.err)
				continue
			}
			if len(s.slots) == 0 {
				t.Errorf("web:%s: DNS answered with no task (weights %d/%d)", step.tag, s.blue, s.green)
			}
			newWeight := s.green
			if step.serving == "web--green" {
				newWeight = s.blue
			}
			canaried = canaried || (newWeight > 0 && newWeight < 100)
			if newWeight < 100 && !slices.Equal(slices.Sorted(maps.Keys(s.slots)), []string{step.serving}) {
				t.Errorf("web:%s at weights blue %d, green %d: DNS answers with %v, want only %s",
					step.tag, s.blue, s.green, s.slots, step.serving)
			}
		}
		if !canaried {
			t.Errorf("web:%s: never observed the new slot with part of the traffic (%d observations): the test saw nothing of the canary", step.tag, len(seen))
		}
		final, err := discoverWeb(ctx, names)
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Sorted(maps.Keys(final)); !slices.Equal(got, []string{step.final}) {
			t.Errorf("after web:%s: DNS answers with %v, want only %s", step.tag, final, step.final)
		}
	}
}
