package cloudwatch

import (
	"cmp"
	"context"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// retention is how long datapoints are kept; older ones are dropped at each
// tick so a long virtual run does not grow without bound.
const retention = 48 * time.Hour

// series is one metric: its identity and its datapoints in arrival order.
type series struct {
	Namespace  string
	MetricName string
	Dimensions []dimension // sorted by name
	Points     []point
}

// point is one published datapoint: a statistic set, with the individual
// values and their counts when the publisher gave them (percentiles need
// them).
type point struct {
	Time                       time.Time
	Unit                       string `json:",omitempty"`
	SampleCount, Sum, Min, Max float64
	Values, Counts             []float64 `json:",omitempty"`
}

func seriesKey(namespace, name string, dims []dimension) string {
	var b strings.Builder
	b.WriteString(namespace)
	b.WriteByte(0)
	b.WriteString(name)
	for _, d := range dims {
		b.WriteByte(0)
		b.WriteString(d.Name)
		b.WriteByte('=')
		b.WriteString(d.Value)
	}
	return b.String()
}

func sortedDims(dims []dimension) []dimension {
	out := slices.Clone(dims)
	slices.SortFunc(out, func(a, b dimension) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// addPointLocked appends p to the series named by namespace, name, dims.
func (s *Service) addPointLocked(namespace, name string, dims []dimension, p point) {
	dims = sortedDims(dims)
	k := seriesKey(namespace, name, dims)
	sr, ok := s.st.Series[k]
	if !ok {
		sr = &series{Namespace: namespace, MetricName: name, Dimensions: dims}
		s.st.Series[k] = sr
	}
	sr.Points = append(sr.Points, p)
}

// pruneLocked drops datapoints older than the retention.
func (s *Service) pruneLocked(now time.Time) {
	cutoff := now.Add(-retention)
	for k, sr := range s.st.Series {
		sr.Points = slices.DeleteFunc(sr.Points, func(p point) bool { return p.Time.Before(cutoff) })
		if len(sr.Points) == 0 {
			delete(s.st.Series, k)
		}
	}
}

func checkDimensions(dims []dimension, field string) error {
	if len(dims) > 30 {
		return invalidParameter("The collection %s must not have more than 30 members.", field)
	}
	seen := map[string]bool{}
	for i, d := range dims {
		if d.Name == "" || d.Value == "" {
			return invalidParameter("%s.member.%d: a dimension needs a Name and a Value", field, i+1)
		}
		if seen[d.Name] {
			return invalidParameter("%s: the dimension %s is given more than once", field, d.Name)
		}
		seen[d.Name] = true
	}
	return nil
}

func (s *Service) putMetricData(_ context.Context, in *putMetricDataInput) (empty, error) {
	if in.Namespace == "" {
		return empty{}, missingParameter("Namespace")
	}
	if strings.HasPrefix(in.Namespace, "AWS/") {
		return empty{}, invalidParameter("The value %s for parameter Namespace is invalid: the AWS/ namespaces are reserved for AWS services.", in.Namespace)
	}
	if len(in.MetricData) == 0 {
		return empty{}, missingParameter("MetricData")
	}
	now := s.cfg.Clock.Now().UTC()
	var points []point
	for i, d := range in.MetricData {
		field := "MetricData.member." + strconv.Itoa(i+1)
		if d.MetricName == "" {
			return empty{}, missingParameter(field + ".MetricName")
		}
		if err := checkDimensions(d.Dimensions, field+".Dimensions"); err != nil {
			return empty{}, err
		}
		p := point{Time: now, Unit: d.Unit}
		if d.Timestamp != nil {
			p.Time = d.Timestamp.UTC()
		}
		if p.Time.Before(now.Add(-14*24*time.Hour)) || p.Time.After(now.Add(2*time.Hour)) {
			return empty{}, invalidParameter("%s.Timestamp: must be within the last two weeks and at most two hours in the future", field)
		}
		given := 0
		switch {
		case d.Value != nil:
			given++
			v := *d.Value
			p.SampleCount, p.Sum, p.Min, p.Max, p.Values, p.Counts = 1, v, v, v, []float64{v}, []float64{1}
		case d.StatisticValues != nil:
			given++
			sv := d.StatisticValues
			if sv.SampleCount <= 0 || sv.Minimum > sv.Maximum {
				return empty{}, invalidParameter("%s.StatisticValues: SampleCount must be positive and Minimum at most Maximum", field)
			}
			p.SampleCount, p.Sum, p.Min, p.Max = sv.SampleCount, sv.Sum, sv.Minimum, sv.Maximum
		}
		if len(d.Values) > 0 {
			given++
			if len(d.Counts) > 0 && len(d.Counts) != len(d.Values) {
				return empty{}, invalidParameter("%s: Values and Counts must have the same length", field)
			}
			p.Values, p.Counts = slices.Clone(d.Values), slices.Clone(d.Counts)
			if len(p.Counts) == 0 {
				p.Counts = slices.Repeat([]float64{1}, len(p.Values))
			}
			p.SampleCount, p.Sum, p.Min, p.Max = 0, 0, math.Inf(1), math.Inf(-1)
			for j, v := range p.Values {
				p.SampleCount += p.Counts[j]
				p.Sum += v * p.Counts[j]
				p.Min, p.Max = min(p.Min, v), max(p.Max, v)
			}
		}
		if given != 1 {
			return empty{}, invalidCombination("%s: exactly one of Value, StatisticValues and Values must be given", field)
		}
		for _, v := range append([]float64{p.Sum, p.Min, p.Max}, p.Values...) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return empty{}, invalidParameter("%s: values must be finite numbers", field)
			}
		}
		points = append(points, p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, d := range in.MetricData {
		s.addPointLocked(in.Namespace, d.MetricName, d.Dimensions, points[i])
	}
	return empty{}, nil
}

// aggregate is the statistics of the datapoints of one period.
type aggregate struct {
	start                      time.Time
	sampleCount, sum, min, max float64
	values, counts             []float64
	exact                      bool // every point carried its values
	unit                       string
}

// stat returns the named statistic (Sum, Average, Minimum, Maximum,
// SampleCount, or a percentile pNN); ok is false when it cannot be computed.
func (a *aggregate) stat(name string) (float64, bool) {
	switch name {
	case "Sum":
		return a.sum, true
	case "Average":
		return a.sum / a.sampleCount, a.sampleCount > 0
	case "Minimum":
		return a.min, true
	case "Maximum":
		return a.max, true
	case "SampleCount":
		return a.sampleCount, true
	}
	p, ok := percentile(name)
	if !ok || !a.exact {
		return 0, false
	}
	return weightedPercentile(a.values, a.counts, p), true
}

var percentileRE = regexp.MustCompile(`^p(\d{1,2}(?:\.\d{1,2})?|100)$`)

// percentile parses an extended statistic pNN into NN.
func percentile(name string) (float64, bool) {
	m := percentileRE.FindStringSubmatch(name)
	if m == nil {
		return 0, false
	}
	p, err := strconv.ParseFloat(m[1], 64)
	return p, err == nil && p >= 0 && p <= 100
}

// weightedPercentile returns the smallest value at or below which p% of the
// samples fall (nearest rank).
func weightedPercentile(values, counts []float64, p float64) float64 {
	idx := make([]int, len(values))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(values[a], values[b]) })
	var total float64
	for _, c := range counts {
		total += c
	}
	rank := p / 100 * total
	var seen float64
	for _, i := range idx {
		seen += counts[i]
		if seen >= rank-1e-9 {
			return values[i]
		}
	}
	return values[idx[len(idx)-1]]
}

// periodStart aligns t to the start of its period, counted from the epoch,
// as CloudWatch aligns datapoints.
func periodStart(t time.Time, period time.Duration) time.Time {
	return t.Truncate(period)
}

// aggregateLocked groups the datapoints of the series matching namespace,
// name and exactly dims, with start <= time < end, into periods; the
// result is ordered by time.
func (s *Service) aggregateLocked(namespace, name string, dims []dimension, unit string, start, end time.Time, period time.Duration) []*aggregate {
	sr, ok := s.st.Series[seriesKey(namespace, name, sortedDims(dims))]
	if !ok {
		return nil
	}
	byStart := map[time.Time]*aggregate{}
	for _, p := range sr.Points {
		if p.Time.Before(start) || !p.Time.Before(end) || unit != "" && p.Unit != unit {
			continue
		}
		ps := periodStart(p.Time, period)
		a, ok := byStart[ps]
		if !ok {
			a = &aggregate{start: ps, min: math.Inf(1), max: math.Inf(-1), exact: true, unit: p.Unit}
			byStart[ps] = a
		}
		a.sampleCount += p.SampleCount
		a.sum += p.Sum
		a.min, a.max = min(a.min, p.Min), max(a.max, p.Max)
		switch {
		case len(p.Values) > 0:
			a.values = append(a.values, p.Values...)
			a.counts = append(a.counts, p.Counts...)
		case p.Min == p.Max:
			// A statistic set of equal values is as good as the values.
			a.values = append(a.values, p.Min)
			a.counts = append(a.counts, p.SampleCount)
		default:
			a.exact = false
		}
	}
	out := make([]*aggregate, 0, len(byStart))
	for _, a := range byStart {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *aggregate) int { return a.start.Compare(b.start) })
	return out
}

// isBasicStat reports the statistics that are not percentiles.
func isBasicStat(st string) bool {
	switch st {
	case "SampleCount", "Average", "Sum", "Minimum", "Maximum":
		return true
	}
	return false
}

func checkPeriod(period int32, field string) error {
	if period <= 0 || period < 60 && period != 1 && period != 5 && period != 10 && period != 20 && period != 30 || period >= 60 && period%60 != 0 {
		return invalidParameter("The parameter %s must be 1, 5, 10, 20, 30 or a multiple of 60.", field)
	}
	return nil
}

func (s *Service) getMetricStatistics(_ context.Context, in *getMetricStatisticsInput) (getMetricStatisticsOutput, error) {
	switch {
	case in.Namespace == "":
		return getMetricStatisticsOutput{}, missingParameter("Namespace")
	case in.MetricName == "":
		return getMetricStatisticsOutput{}, missingParameter("MetricName")
	case in.StartTime == nil:
		return getMetricStatisticsOutput{}, missingParameter("StartTime")
	case in.EndTime == nil:
		return getMetricStatisticsOutput{}, missingParameter("EndTime")
	case len(in.Statistics) == 0 && len(in.ExtendedStatistics) == 0:
		return getMetricStatisticsOutput{}, missingParameter("Statistics or ExtendedStatistics")
	case !in.StartTime.Before(*in.EndTime):
		return getMetricStatisticsOutput{}, invalidParameter("The parameter StartTime must be less than the parameter EndTime.")
	}
	if err := checkPeriod(in.Period, "Period"); err != nil {
		return getMetricStatisticsOutput{}, err
	}
	for _, st := range in.Statistics {
		if !isBasicStat(st) {
			return getMetricStatisticsOutput{}, invalidParameter("The parameter Statistics has an invalid value %s; valid values are SampleCount, Average, Sum, Minimum, Maximum.", st)
		}
	}
	for _, st := range in.ExtendedStatistics {
		if _, ok := percentile(st); !ok {
			return getMetricStatisticsOutput{}, invalidParameter("The parameter ExtendedStatistics has an invalid value %s; use a percentile such as p99.", st)
		}
	}
	if err := checkDimensions(in.Dimensions, "Dimensions"); err != nil {
		return getMetricStatisticsOutput{}, err
	}
	s.mu.Lock()
	aggs := s.aggregateLocked(in.Namespace, in.MetricName, in.Dimensions, in.Unit, *in.StartTime, *in.EndTime, time.Duration(in.Period)*time.Second)
	s.mu.Unlock()
	out := getMetricStatisticsOutput{Label: in.MetricName, Datapoints: []datapoint{}}
	for _, a := range aggs {
		d := datapoint{Timestamp: a.start, Unit: cmp.Or(a.unit, "None")}
		for _, st := range in.Statistics {
			v, _ := a.stat(st)
			switch st {
			case "SampleCount":
				d.SampleCount = &v
			case "Average":
				d.Average = &v
			case "Sum":
				d.Sum = &v
			case "Minimum":
				d.Minimum = &v
			case "Maximum":
				d.Maximum = &v
			}
		}
		for _, st := range in.ExtendedStatistics {
			if v, ok := a.stat(st); ok {
				if d.ExtendedStatistics == nil {
					d.ExtendedStatistics = map[string]float64{}
				}
				d.ExtendedStatistics[st] = v
			}
		}
		out.Datapoints = append(out.Datapoints, d)
	}
	return out, nil
}

var queryIDRE = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

func (s *Service) getMetricData(_ context.Context, in *getMetricDataInput) (getMetricDataOutput, error) {
	switch {
	case len(in.MetricDataQueries) == 0:
		return getMetricDataOutput{}, missingParameter("MetricDataQueries")
	case in.StartTime == nil:
		return getMetricDataOutput{}, missingParameter("StartTime")
	case in.EndTime == nil:
		return getMetricDataOutput{}, missingParameter("EndTime")
	case !in.StartTime.Before(*in.EndTime):
		return getMetricDataOutput{}, invalidParameter("The parameter StartTime must be less than the parameter EndTime.")
	case in.ScanBy != "" && in.ScanBy != "TimestampDescending" && in.ScanBy != "TimestampAscending":
		return getMetricDataOutput{}, invalidParameter("The parameter ScanBy must be TimestampDescending or TimestampAscending.")
	case in.NextToken != "":
		return getMetricDataOutput{}, invalidNextToken()
	}
	if err := checkQueries(in.MetricDataQueries, "MetricDataQueries"); err != nil {
		return getMetricDataOutput{}, err
	}
	s.mu.Lock()
	series, err := s.evalQueriesLocked(in.MetricDataQueries, *in.StartTime, *in.EndTime)
	s.mu.Unlock()
	if err != nil {
		return getMetricDataOutput{}, err
	}
	out := getMetricDataOutput{MetricDataResults: []metricDataResult{}}
	for _, q := range in.MetricDataQueries {
		if q.ReturnData != nil && !*q.ReturnData {
			continue
		}
		label := q.Label
		if label == "" && q.MetricStat != nil {
			label = q.MetricStat.Metric.MetricName
		}
		r := metricDataResult{Id: q.Id, Label: cmp.Or(label, q.Id), StatusCode: "Complete", Timestamps: []time.Time{}, Values: []float64{}}
		times := slices.SortedFunc(maps.Keys(series[q.Id]), time.Time.Compare)
		if in.ScanBy != "TimestampAscending" {
			slices.Reverse(times)
		}
		for _, t := range times {
			r.Timestamps = append(r.Timestamps, t)
			r.Values = append(r.Values, series[q.Id][t])
		}
		if in.MaxDatapoints > 0 && len(r.Values) > int(in.MaxDatapoints) {
			r.Timestamps, r.Values, r.StatusCode = r.Timestamps[:in.MaxDatapoints], r.Values[:in.MaxDatapoints], "PartialData"
		}
		out.MetricDataResults = append(out.MetricDataResults, r)
	}
	return out, nil
}

// checkQueries validates metric data queries (of GetMetricData or an
// alarm): unique ids, each either a MetricStat or an expression that parses.
func checkQueries(queries []metricDataQuery, field string) error {
	if len(queries) > 500 {
		return invalidParameter("The collection %s must not have more than 500 members.", field)
	}
	ids := map[string]bool{}
	refs := map[string][]string{}
	for i, q := range queries {
		at := field + ".member." + strconv.Itoa(i+1)
		if !queryIDRE.MatchString(q.Id) || ids[q.Id] {
			return invalidParameter("%s.Id: '%s' must be unique, start with a lower-case letter and hold only letters, digits and underscores", at, q.Id)
		}
		ids[q.Id] = true
		if (q.MetricStat == nil) == (q.Expression == "") {
			return invalidParameter("%s: exactly one of MetricStat and Expression must be given", at)
		}
		if q.Expression != "" {
			n, err := parseExpression(q.Expression)
			if err != nil {
				return invalidParameter("%s.Expression: %v", at, err)
			}
			refs[q.Id] = exprRefs(n)
			continue
		}
		ms := q.MetricStat
		if ms.Metric.Namespace == "" || ms.Metric.MetricName == "" {
			return missingParameter(at + ".MetricStat.Metric.Namespace and MetricName")
		}
		if err := checkPeriod(ms.Period, at+".MetricStat.Period"); err != nil {
			return err
		}
		if _, ok := percentile(ms.Stat); !ok && !isBasicStat(ms.Stat) {
			return invalidParameter("%s.MetricStat.Stat: '%s' is not a supported statistic", at, ms.Stat)
		}
		if err := checkDimensions(ms.Metric.Dimensions, at+".MetricStat.Metric.Dimensions"); err != nil {
			return err
		}
	}
	return checkRefs(refs, ids, field)
}

// checkRefs reports an expression naming an unknown id or depending on
// itself.
func checkRefs(refs map[string][]string, ids map[string]bool, field string) error {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var visit func(id string) error
	visit = func(id string) error {
		switch state[id] {
		case visiting:
			return invalidParameter("%s: the expression of %s depends on itself", field, id)
		case done:
			return nil
		}
		state[id] = visiting
		for _, r := range refs[id] {
			if !ids[r] {
				return invalidParameter("%s: the expression of %s names the unknown id %s", field, id, r)
			}
			if err := visit(r); err != nil {
				return err
			}
		}
		state[id] = done
		return nil
	}
	for _, id := range sortedKeys(refs) {
		if err := visit(id); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) listMetrics(_ context.Context, in *listMetricsInput) (listMetricsOutput, error) {
	if in.NextToken != "" {
		return listMetricsOutput{}, invalidNextToken()
	}
	if in.RecentlyActive != "" && in.RecentlyActive != "PT3H" {
		return listMetricsOutput{}, invalidParameter("The parameter RecentlyActive must be PT3H.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := s.cfg.Clock.Now().Add(-3 * time.Hour)
	out := listMetricsOutput{Metrics: []metric{}}
	for _, k := range sortedKeys(s.st.Series) {
		sr := s.st.Series[k]
		if in.Namespace != "" && sr.Namespace != in.Namespace || in.MetricName != "" && sr.MetricName != in.MetricName {
			continue
		}
		if !matchesFilters(sr.Dimensions, in.Dimensions) {
			continue
		}
		if in.RecentlyActive != "" && !slices.ContainsFunc(sr.Points, func(p point) bool { return !p.Time.Before(cutoff) }) {
			continue
		}
		out.Metrics = append(out.Metrics, metric{Namespace: sr.Namespace, MetricName: sr.MetricName, Dimensions: slices.Clone(sr.Dimensions)})
	}
	return out, nil
}

func matchesFilters(dims []dimension, filters []dimensionFilter) bool {
	for _, f := range filters {
		if !slices.ContainsFunc(dims, func(d dimension) bool { return d.Name == f.Name && (f.Value == nil || d.Value == *f.Value) }) {
			return false
		}
	}
	return true
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
