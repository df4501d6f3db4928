package cloudwatch

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// ALB metric names and namespace, as Elastic Load Balancing publishes them.
const (
	albNamespace       = "AWS/ApplicationELB"
	metricRequests     = "RequestCount"
	metricTarget5XX    = "HTTPCode_Target_5XX_Count"
	metricTarget2XX    = "HTTPCode_Target_2XX_Count"
	metricResponseTime = "TargetResponseTime"
	// metricRequestsPerTarget is RequestCount over the healthy targets, by
	// TargetGroup alone, as ELB publishes it for target tracking.
	metricRequestsPerTarget = "RequestCountPerTarget"
	// ecsNamespace and metricCPU are ECS's service CPU metric.
	ecsNamespace = "AWS/ECS"
	metricCPU    = "CPUUtilization"
	// baseResponseTime is the response time of a target without a latency
	// fault, in seconds.
	baseResponseTime = 0.02
	// slowShare is the share of requests that get a latency fault's extra
	// delay, so that p99 shows it in full and the average a little.
	slowShare = 0.02
)

// Run evaluates alarms (and generates the ALB metrics) at the start of
// every minute of the clock until ctx ends. It holds the clock busy while
// working, as internal/clock requires, and returns ctx.Err().
func (s *Service) Run(ctx context.Context) error {
	s.cfg.Clock.Busy()
	defer s.cfg.Clock.Done()
	for {
		now := s.cfg.Clock.Now()
		next := now.Truncate(time.Minute).Add(time.Minute)
		if err := s.cfg.Clock.Sleep(ctx, next.Sub(now)); err != nil {
			return err
		}
		s.Tick(ctx)
	}
}

// Tick does one minute's work at the clock's current time: it publishes the
// ALB metrics of the minute that just ended, then evaluates every alarm and
// emits the state changes. The caller holds the clock busy.
func (s *Service) Tick(ctx context.Context) {
	now := s.cfg.Clock.Now().UTC()
	minute := now.Truncate(time.Minute).Add(-time.Minute)
	pubs := s.albMetrics(minute)
	cpu := s.ecsMetrics(ctx, minute)
	s.mu.Lock()
	for _, p := range pubs {
		s.addPointLocked(albNamespace, p.name, p.dims, p.point)
	}
	for _, p := range cpu {
		s.addPointLocked(ecsNamespace, p.name, p.dims, p.point)
	}
	s.pruneLocked(now)
	var events []*protocol.Event
	for _, name := range sortedKeys(s.st.Alarms) {
		events = append(events, s.evaluateLocked(s.st.Alarms[name], now))
	}
	s.mu.Unlock()
	// Events go out without the lock: a consumer may call back into the
	// service (a trigger reading alarm states).
	s.emit(ctx, events...)
}

type publication struct {
	name  string
	dims  []dimension
	point point
}

// albMetrics computes the minute's ALB metrics of every target group that
// receives traffic and has healthy targets: RequestCount is the baseline
// rate times 60 times the group's traffic share; HTTPCode_Target_5XX_Count
// is the requests times the mean ErrorRate of the images behind its healthy
// targets, the rest HTTPCode_Target_2XX_Count (both published only when
// non-zero, as ELB does); TargetResponseTime
// carries a base response time plus the images' latency faults on a
// slowShare of the requests. It reads the other simulations without
// holding s.mu.
func (s *Service) albMetrics(minute time.Time) []publication {
	lb := s.cfg.LoadBalancing
	if lb == nil {
		return nil
	}
	var out []publication
	shares := lb.TrafficShares()
	// The images behind the targets, read once for the minute: a lookup
	// per target would scan every task for each.
	var revisions map[string]string
	if s.cfg.Revisions != nil && s.cfg.Faults != nil && len(shares) > 0 {
		revisions = s.cfg.Revisions.RevisionsOfTargets()
	}
	for _, tg := range sortedKeys(shares) {
		lbARN, ok := lb.LoadBalancerOf(tg)
		if !ok {
			continue
		}
		targets := lb.HealthyTargets(tg)
		if len(targets) == 0 {
			continue
		}
		requests := math.Round(s.cfg.BaselineRPS * 60 * shares[tg])
		if requests <= 0 {
			continue
		}
		var errRate, latency float64
		for _, id := range targets {
			b := s.behaviour(revisions, id)
			errRate += b.ErrorRate
			latency += float64(b.LatencyMs) / 1000
		}
		errRate /= float64(len(targets))
		latency /= float64(len(targets))
		dims := []dimension{{Name: "LoadBalancer", Value: lbDimension(lbARN)}, {Name: "TargetGroup", Value: tgDimension(tg)}}
		out = append(out, publication{metricRequests, dims, countPoint(minute, requests)})
		perTarget := requests / float64(len(targets))
		out = append(out, publication{metricRequestsPerTarget, []dimension{{Name: "TargetGroup", Value: tgDimension(tg)}},
			point{Time: minute, Unit: "Count", SampleCount: 1, Sum: perTarget, Min: perTarget, Max: perTarget}})
		errs := math.Round(requests * min(max(errRate, 0), 1))
		if errs > 0 {
			out = append(out, publication{metricTarget5XX, dims, countPoint(minute, errs)})
		}
		if ok := requests - errs; ok > 0 {
			out = append(out, publication{metricTarget2XX, dims, countPoint(minute, ok)})
		}
		rt := point{Time: minute, Unit: "Seconds", Values: []float64{baseResponseTime}, Counts: []float64{requests}}
		if latency > 0 {
			slow := math.Max(1, math.Round(requests*slowShare))
			rt.Values = append(rt.Values, baseResponseTime+latency)
			rt.Counts = []float64{requests - slow, slow}
		}
		rt.Min, rt.Max = rt.Values[0], rt.Values[len(rt.Values)-1]
		for i, v := range rt.Values {
			rt.SampleCount += rt.Counts[i]
			rt.Sum += v * rt.Counts[i]
		}
		out = append(out, publication{metricResponseTime, dims, rt})
	}
	return out
}

// behaviour returns the injected behaviour of the image serving target id,
// by revisions (RevisionsOfTargets).
func (s *Service) behaviour(revisions map[string]string, id string) faults.Behaviour {
	image, ok := revisions[id]
	if !ok || s.cfg.Faults == nil {
		return faults.Behaviour{}
	}
	return s.cfg.Faults.ForImage(image)
}

// countPoint is a count metric's datapoint: each request counts 1, so
// Minimum, Maximum and Average are 1 and Sum is the count, as ELB reports.
func countPoint(t time.Time, n float64) point {
	return point{Time: t, Unit: "Count", SampleCount: n, Sum: n, Min: 1, Max: 1}
}

// tgDimension is the TargetGroup dimension of a target group ARN:
// targetgroup/<name>/<id>.
func tgDimension(arn string) string {
	if i := strings.LastIndex(arn, ":"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// lbDimension is the LoadBalancer dimension of a load balancer ARN:
// app/<name>/<id>.
func lbDimension(arn string) string {
	if _, rest, ok := strings.Cut(arn, ":loadbalancer/"); ok {
		return rest
	}
	return arn
}

// ecsMetrics computes the minute's CPUUtilization of every ECS service with
// a CPU demand set (Config.Loads) and running tasks: the demand shared by
// the running tasks, at most 100%, by ClusterName and ServiceName. A service
// without running tasks publishes nothing, as ECS does. It reads ECS
// without holding s.mu.
func (s *Service) ecsMetrics(ctx context.Context, minute time.Time) []publication {
	if s.cfg.Loads == nil || s.cfg.ECS == nil {
		return nil
	}
	loads := s.cfg.Loads.ServiceLoads()
	var out []publication
	for _, k := range sortedKeys(loads) {
		cluster, service, _ := strings.Cut(k, "/")
		running := s.runningCount(ctx, cluster, service)
		if running <= 0 {
			continue
		}
		cpu := min(loads[k]/float64(running), 100)
		n := float64(running)
		dims := []dimension{{Name: "ClusterName", Value: cluster}, {Name: "ServiceName", Value: service}}
		out = append(out, publication{metricCPU, dims, point{Time: minute, Unit: "Percent", SampleCount: n, Sum: cpu * n, Min: cpu, Max: cpu}})
	}
	return out
}

// runningCount is an ECS service's runningCount, 0 when it cannot be read.
func (s *Service) runningCount(ctx context.Context, cluster, service string) int32 {
	body, err := json.Marshal(map[string]any{"cluster": cluster, "services": []string{service}})
	if err != nil {
		return 0
	}
	res, err := s.cfg.ECS.ServeJSON(ctx, "DescribeServices", body)
	if err != nil {
		return 0
	}
	b, err := json.Marshal(res)
	if err != nil {
		return 0
	}
	var out struct {
		Services []struct {
			Status       string `json:"status"`
			RunningCount int32  `json:"runningCount"`
		} `json:"services"`
	}
	if json.Unmarshal(b, &out) != nil || len(out.Services) != 1 || out.Services[0].Status != "ACTIVE" {
		return 0
	}
	return out.Services[0].RunningCount
}

// Average returns a basic statistic (stat: Average, Sum, …) of the latest
// one-minute period in [start, end) that has datapoints of the metric with
// exactly dims, or false when none has. Application Auto Scaling reads its
// policies' metrics with it.
func (s *Service) Average(namespace, name string, dims map[string]string, stat string, start, end time.Time) (float64, bool) {
	var ds []dimension
	for _, k := range sortedKeys(dims) {
		ds = append(ds, dimension{Name: k, Value: dims[k]})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	aggs := s.aggregateLocked(namespace, name, ds, "", start, end, time.Minute)
	if len(aggs) == 0 {
		return 0, false
	}
	return aggs[len(aggs)-1].stat(stat)
}
