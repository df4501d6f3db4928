package autoscaling

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// Monitoring is the part of CloudWatch target tracking uses
// (*cloudwatch.Service): ServeJSON for PutMetricAlarm, DescribeAlarms and
// DeleteAlarms on the alarms a policy owns, and Average to read the
// policy's metric.
type Monitoring interface {
	protocol.JSONHandler
	Average(namespace, name string, dims map[string]string, stat string, start, end time.Time) (float64, bool)
}

// Target tracking alarms, as Application Auto Scaling creates them: the
// high alarm breaches fast (3 one-minute datapoints), the low one slowly
// (15) and at 90% of the target value.
const (
	highPeriods    = 3
	lowPeriods     = 15
	lowShare       = 0.9
	defaultCooling = 300 * time.Second
	// tickOffset is where in each minute evaluation runs: after CloudWatch
	// has published the minute's metrics and evaluated its alarms (at :00).
	tickOffset = 30 * time.Second
)

// ttConfig is the part of a TargetTrackingScalingPolicyConfiguration that
// evaluation reads.
type ttConfig struct {
	TargetValue    float64 `json:"TargetValue"`
	DisableScaleIn bool    `json:"DisableScaleIn"`
	ScaleOut       *int32  `json:"ScaleOutCooldown"`
	ScaleIn        *int32  `json:"ScaleInCooldown"`
	Predefined     *struct {
		Type  string `json:"PredefinedMetricType"`
		Label string `json:"ResourceLabel"`
	} `json:"PredefinedMetricSpecification"`
	Customized *struct {
		Namespace  string `json:"Namespace"`
		MetricName string `json:"MetricName"`
		Statistic  string `json:"Statistic"`
		Dimensions []struct {
			Name  string `json:"Name"`
			Value string `json:"Value"`
		} `json:"Dimensions"`
		Metrics json.RawMessage `json:"Metrics"`
	} `json:"CustomizedMetricSpecification"`
}

// watchedMetric is the metric a target tracking policy tracks.
type watchedMetric struct {
	namespace, name, stat string
	dims                  map[string]string
}

func cooldown(s *int32) time.Duration {
	if s == nil {
		return defaultCooling
	}
	return time.Duration(*s) * time.Second
}

// metricOf returns the metric c tracks for the ECS service k names.
func metricOf(k key, c *ttConfig) (watchedMetric, error) {
	cluster, service, _ := ecsService(k.Resource)
	switch {
	case c.Predefined != nil:
		switch c.Predefined.Type {
		case "ECSServiceAverageCPUUtilization":
			return watchedMetric{"AWS/ECS", "CPUUtilization", "Average", map[string]string{"ClusterName": cluster, "ServiceName": service}}, nil
		case "ECSServiceAverageMemoryUtilization":
			return watchedMetric{"AWS/ECS", "MemoryUtilization", "Average", map[string]string{"ClusterName": cluster, "ServiceName": service}}, nil
		case "ALBRequestCountPerTarget":
			_, tg, ok := strings.Cut(c.Predefined.Label, "/targetgroup/")
			if !ok || !strings.HasPrefix(c.Predefined.Label, "app/") {
				return watchedMetric{}, validation("ResourceLabel %q is not app/<load-balancer>/<id>/targetgroup/<target-group>/<id>", c.Predefined.Label)
			}
			return watchedMetric{"AWS/ApplicationELB", "RequestCountPerTarget", "Sum", map[string]string{"TargetGroup": "targetgroup/" + tg}}, nil
		}
		return watchedMetric{}, validation("PredefinedMetricType %q is not valid for the ecs namespace", c.Predefined.Type)
	case c.Customized != nil:
		if len(c.Customized.Metrics) > 0 && string(c.Customized.Metrics) != "null" {
			return watchedMetric{}, validation("CustomizedMetricSpecification.Metrics (metric math) is not modelled by the local endpoint yet")
		}
		if c.Customized.Namespace == "" || c.Customized.MetricName == "" || c.Customized.Statistic == "" {
			return watchedMetric{}, validation("CustomizedMetricSpecification needs Namespace, MetricName and Statistic")
		}
		dims := map[string]string{}
		for _, d := range c.Customized.Dimensions {
			dims[d.Name] = d.Value
		}
		return watchedMetric{c.Customized.Namespace, c.Customized.MetricName, c.Customized.Statistic, dims}, nil
	}
	return watchedMetric{}, validation("TargetTrackingScalingPolicyConfiguration needs a PredefinedMetricSpecification or a CustomizedMetricSpecification")
}

// putAlarmsLocked creates or updates the two alarms a target tracking
// policy owns in CloudWatch.
func (s *Service) putAlarmsLocked(ctx context.Context, p *policy, m watchedMetric, c *ttConfig) error {
	if s.monitoring == nil {
		return nil
	}
	var dims []map[string]string
	for _, name := range sortedNames(m.dims) {
		dims = append(dims, map[string]string{"Name": name, "Value": m.dims[name]})
	}
	for i, a := range p.Alarms {
		op, threshold, periods := "GreaterThanThreshold", c.TargetValue, highPeriods
		if i == 1 {
			op, threshold, periods = "LessThanThreshold", c.TargetValue*lowShare, lowPeriods
		}
		in := map[string]any{
			"AlarmName": a.Name, "AlarmDescription": "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy " + p.ARN + ".",
			"AlarmActions": []string{p.ARN}, "Namespace": m.namespace, "MetricName": m.name, "Statistic": m.stat,
			"Dimensions": dims, "Period": 60, "EvaluationPeriods": periods, "DatapointsToAlarm": periods,
			"Threshold": threshold, "ComparisonOperator": op,
		}
		body, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode alarm %s: %w", a.Name, err)
		}
		if _, err := s.monitoring.ServeJSON(ctx, "PutMetricAlarm", body); err != nil {
			return fmt.Errorf("put alarm %s: %w", a.Name, err)
		}
	}
	return nil
}

// deleteAlarmsLocked deletes alarms a policy owned.
func (s *Service) deleteAlarmsLocked(ctx context.Context, alarms []alarm) error {
	if s.monitoring == nil || len(alarms) == 0 {
		return nil
	}
	var names []string
	for _, a := range alarms {
		names = append(names, a.Name)
	}
	body, err := json.Marshal(map[string]any{"AlarmNames": names})
	if err != nil {
		return fmt.Errorf("encode alarm names: %w", err)
	}
	if _, err := s.monitoring.ServeJSON(ctx, "DeleteAlarms", body); err != nil {
		return fmt.Errorf("delete alarms %v: %w", names, err)
	}
	return nil
}

// alarmStatesLocked returns the state of each named alarm that exists.
func (s *Service) alarmStatesLocked(ctx context.Context, names []string) map[string]string {
	out := map[string]string{}
	if s.monitoring == nil || len(names) == 0 {
		return out
	}
	body, err := json.Marshal(map[string]any{"AlarmNames": names})
	if err != nil {
		return out
	}
	res, err := s.monitoring.ServeJSON(ctx, "DescribeAlarms", body)
	if err != nil {
		return out
	}
	b, err := json.Marshal(res)
	if err != nil {
		return out
	}
	var got struct {
		MetricAlarms []struct {
			AlarmName  string
			StateValue string
		}
	}
	if json.Unmarshal(b, &got) != nil {
		return out
	}
	for _, a := range got.MetricAlarms {
		out[a.AlarmName] = a.StateValue
	}
	return out
}

// desiredCount reads an ECS service's desired count through the ECS API.
func (s *Service) desiredCount(ctx context.Context, cluster, service string) (int32, bool) {
	if s.ecsAPI == nil {
		return 0, false
	}
	body, err := json.Marshal(map[string]any{"cluster": cluster, "services": []string{service}})
	if err != nil {
		return 0, false
	}
	res, err := s.ecsAPI.ServeJSON(ctx, "DescribeServices", body)
	if err != nil {
		return 0, false
	}
	b, err := json.Marshal(res)
	if err != nil {
		return 0, false
	}
	var got struct {
		Services []struct {
			Status       string `json:"status"`
			DesiredCount int32  `json:"desiredCount"`
		} `json:"services"`
	}
	if json.Unmarshal(b, &got) != nil || len(got.Services) != 1 || got.Services[0].Status != "ACTIVE" {
		return 0, false
	}
	return got.Services[0].DesiredCount, true
}

// Run evaluates scheduled actions and target tracking policies every minute
// of the clock (at tickOffset past the minute) until ctx ends, holding the
// clock busy while working as internal/clock requires; it returns
// ctx.Err().
func (s *Service) Run(ctx context.Context) error {
	s.clock.Busy()
	defer s.clock.Done()
	for {
		now := s.clock.Now()
		next := now.Truncate(time.Minute).Add(tickOffset)
		if !next.After(now) {
			next = next.Add(time.Minute)
		}
		if err := s.clock.Sleep(ctx, next.Sub(now)); err != nil {
			return err
		}
		s.Tick(ctx)
	}
}

// clamp is a resize to apply to an ECS service once the lock is released.
type clamp struct {
	cluster, service string
	lo, hi           int32
}

// Tick does one evaluation at the clock's current time: scheduled actions
// that are due run (set the target's min and max, and bring the desired
// count into them), then each target tracking policy whose alarm is in
// ALARM scales its service out or in. The caller holds the clock busy.
func (s *Service) Tick(ctx context.Context) {
	now := s.clock.Now()
	s.mu.Lock()
	var clamps []clamp
	for _, t := range s.st.Targets {
		if t.Key.Namespace != "ecs" {
			continue
		}
		cluster, service, _ := ecsService(t.Key.Resource)
		if s.runScheduledLocked(t, now) {
			clamps = append(clamps, clamp{cluster, service, t.Min, t.Max})
		}
		if c, ok := s.trackLocked(ctx, t, now); ok {
			clamps = append(clamps, c)
		}
	}
	s.mu.Unlock()
	// ECS is called without the lock: resizing emits events, and whatever
	// consumes them may call back into this package.
	for _, c := range clamps {
		s.ecs.ClampDesiredCount(c.cluster, c.service, c.lo, c.hi)
	}
}

// runScheduledLocked runs t's due scheduled actions and reports whether its
// range changed. A run that falls outside the action's StartTime..EndTime,
// or while scheduled scaling is suspended, is skipped (not postponed).
func (s *Service) runScheduledLocked(t *target, now time.Time) bool {
	changed := false
	for _, a := range t.Scheduled {
		if a.Next == nil || a.Next.After(now) {
			continue
		}
		due := *a.Next
		a.Next = nil
		if sch, err := parseSchedule(a.Schedule, a.Timezone, a.anchor()); err == nil {
			if n, ok := sch.next(now); ok {
				a.Next = &n
			}
		}
		if t.Suspended.Scheduled || (a.Start != nil && due.Before(epoch(*a.Start))) || (a.End != nil && due.After(epoch(*a.End))) {
			continue
		}
		var act struct{ MinCapacity, MaxCapacity *int32 }
		if len(a.Action) > 0 && json.Unmarshal(a.Action, &act) != nil {
			continue
		}
		lo, hi := t.Min, t.Max
		if act.MinCapacity != nil {
			lo = *act.MinCapacity
		}
		if act.MaxCapacity != nil {
			hi = *act.MaxCapacity
		}
		if lo > hi {
			// AWS fails such a run and leaves the target as it was.
			continue
		}
		t.Min, t.Max = lo, hi
		changed = true
	}
	return changed
}

func epoch(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// anchor is where a rate() schedule counts from: StartTime, or the time
// the action was put.
func (a *scheduledAction) anchor() time.Time {
	if a.Start != nil {
		return epoch(*a.Start)
	}
	return a.CreatedAt
}

// trackLocked evaluates t's target tracking policies. A policy whose high
// alarm is in ALARM asks for ceil(current × metric / target) tasks; the
// largest ask wins, within max, unless scaling out is suspended or the
// policy is cooling down from its last scale-out. Scaling in needs every
// policy's low alarm in ALARM (so no policy is left over its target), none
// with DisableScaleIn, and no policy cooling down.
func (s *Service) trackLocked(ctx context.Context, t *target, now time.Time) (clamp, bool) {
	cluster, service, _ := ecsService(t.Key.Resource)
	var tracking []*policy
	var names []string
	for _, p := range t.Policies {
		if p.Type == "TargetTrackingScaling" && len(p.Alarms) == 2 {
			tracking = append(tracking, p)
			names = append(names, p.Alarms[0].Name, p.Alarms[1].Name)
		}
	}
	if len(tracking) == 0 || (t.Suspended.Out && t.Suspended.In) {
		return clamp{}, false
	}
	cur, ok := s.desiredCount(ctx, cluster, service)
	if !ok {
		return clamp{}, false
	}
	states := s.alarmStatesLocked(ctx, names)
	var out, in int32 = -1, -1
	var outBy []*policy
	allIn := true
	for _, p := range tracking {
		var c ttConfig
		if json.Unmarshal(p.TargetTracking, &c) != nil || c.TargetValue <= 0 {
			allIn = false
			continue
		}
		m, err := metricOf(t.Key, &c)
		if err != nil {
			allIn = false
			continue
		}
		v, ok := s.monitoring.Average(m.namespace, m.name, m.dims, m.stat, now.Add(-highPeriods*time.Minute), now)
		if !ok {
			allIn = false
			continue
		}
		want := int32(math.Ceil(float64(max(cur, 1)) * v / c.TargetValue))
		cooled := p.LastOut == nil || !now.Before(p.LastOut.Add(cooldown(c.ScaleOut)))
		if states[p.Alarms[0].Name] == "ALARM" && want > cur && cooled {
			out = max(out, want)
			outBy = append(outBy, p)
		}
		inCooled := (p.LastIn == nil || !now.Before(p.LastIn.Add(cooldown(c.ScaleIn)))) && cooled
		if c.DisableScaleIn || states[p.Alarms[1].Name] != "ALARM" || want >= cur || !inCooled {
			allIn = false
			continue
		}
		in = max(in, want)
	}
	switch {
	case out > cur && !t.Suspended.Out:
		n := min(out, t.Max)
		if n <= cur {
			return clamp{}, false
		}
		for _, p := range outBy {
			p.LastOut = &now
		}
		return clamp{cluster, service, n, t.Max}, true
	case allIn && in >= 0 && !t.Suspended.In:
		n := max(in, t.Min)
		if n >= cur {
			return clamp{}, false
		}
		for _, p := range tracking {
			p.LastIn = &now
		}
		return clamp{cluster, service, 0, n}, true
	}
	return clamp{}, false
}

func sortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
