package cloudwatch

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// alarm is a stored metric alarm: its configuration and state as the API
// shows them, and the id its metric carries in state-change events.
type alarm struct {
	Config   metricAlarm
	MetricID string
}

// comparison returns how a comparison operator reads in a reason and
// whether a value breaches the threshold under it.
func comparison(op string) (words string, breach func(v, threshold float64) bool, ok bool) {
	switch op {
	case "GreaterThanOrEqualToThreshold":
		return "greater than or equal to", func(v, t float64) bool { return v >= t }, true
	case "GreaterThanThreshold":
		return "greater than", func(v, t float64) bool { return v > t }, true
	case "LessThanThreshold":
		return "less than", func(v, t float64) bool { return v < t }, true
	case "LessThanOrEqualToThreshold":
		return "less than or equal to", func(v, t float64) bool { return v <= t }, true
	}
	return "", nil, false
}

// isBandComparison reports the operators comparing with an anomaly
// detection band, which the local endpoint does not model.
func isBandComparison(op string) bool {
	switch op {
	case "LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold":
		return true
	}
	return false
}

func isTreatment(t string) bool {
	switch t {
	case "missing", "notBreaching", "breaching", "ignore":
		return true
	}
	return false
}

func (s *Service) alarmARN(name string) string {
	return "arn:aws:cloudwatch:" + s.cfg.Region + ":" + protocol.Account + ":alarm:" + name
}

// evaluated is the metric an alarm watches, from either form of
// PutMetricAlarm (MetricName… or Metrics). For an alarm on an expression,
// expr is the id of the query it watches and period that of its metrics.
type evaluated struct {
	namespace, name, stat, unit string
	dims                        []dimension
	period                      time.Duration
	expr                        string
}

func (a *metricAlarm) watched() evaluated {
	if len(a.Metrics) > 0 {
		var w evaluated
		for _, q := range a.Metrics {
			if q.ReturnData != nil && !*q.ReturnData {
				if q.MetricStat != nil && w.period == 0 {
					w.period = time.Duration(q.MetricStat.Period) * time.Second
				}
				continue
			}
			if ms := q.MetricStat; ms != nil {
				return evaluated{ms.Metric.Namespace, ms.Metric.MetricName, ms.Stat, ms.Unit, ms.Metric.Dimensions, time.Duration(ms.Period) * time.Second, ""}
			}
			w.expr = q.Id
		}
		return w
	}
	return evaluated{a.Namespace, a.MetricName, cmpOr(a.Statistic, a.ExtendedStatistic), a.Unit, a.Dimensions, time.Duration(a.Period) * time.Second, ""}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// validateAlarm checks a PutMetricAlarm request as CloudWatch does and fills
// the defaults.
func validateAlarm(a *metricAlarm) error {
	switch {
	case a.AlarmName == "":
		return missingParameter("AlarmName")
	case len(a.AlarmName) > 255:
		return invalidParameter("The parameter AlarmName must be at most 255 characters.")
	case a.EvaluationPeriods < 1:
		return missingParameter("EvaluationPeriods")
	case a.ComparisonOperator == "":
		return missingParameter("ComparisonOperator")
	case isBandComparison(a.ComparisonOperator):
		return invalidParameter("The ComparisonOperator %s needs an anomaly detection band, which the local endpoint does not support.", a.ComparisonOperator)
	case a.Threshold == nil:
		return missingParameter("Threshold")
	}
	if _, _, ok := comparison(a.ComparisonOperator); !ok {
		return invalidParameter("The parameter ComparisonOperator has an invalid value %s.", a.ComparisonOperator)
	}
	if a.TreatMissingData == "" {
		a.TreatMissingData = "missing"
	}
	if !isTreatment(a.TreatMissingData) {
		return invalidParameter("The parameter TreatMissingData must be one of missing, notBreaching, breaching, ignore.")
	}
	if a.DatapointsToAlarm == 0 {
		a.DatapointsToAlarm = a.EvaluationPeriods
	}
	if a.DatapointsToAlarm < 1 || a.DatapointsToAlarm > a.EvaluationPeriods {
		return invalidParameter("DatapointsToAlarm must be between 1 and EvaluationPeriods (%d).", a.EvaluationPeriods)
	}
	if a.ActionsEnabled == nil {
		t := true
		a.ActionsEnabled = &t
	}
	if len(a.Metrics) > 0 {
		if a.MetricName != "" || a.Namespace != "" || a.Statistic != "" || a.ExtendedStatistic != "" || len(a.Dimensions) > 0 || a.Period != 0 {
			return invalidCombination("Metrics cannot be combined with MetricName, Namespace, Statistic, ExtendedStatistic, Dimensions or Period.")
		}
		if err := checkQueries(a.Metrics, "Metrics"); err != nil {
			return err
		}
		returned, period := 0, int32(0)
		for i, q := range a.Metrics {
			if q.ReturnData == nil || *q.ReturnData {
				returned++
			}
			if q.MetricStat == nil {
				continue
			}
			if period != 0 && q.MetricStat.Period != period {
				return invalidParameter("Metrics.member.%d.MetricStat.Period: all the metrics of an alarm must have the same period", i+1)
			}
			period = q.MetricStat.Period
		}
		if period == 0 {
			return invalidParameter("Metrics: an alarm needs at least one MetricStat")
		}
		if returned != 1 {
			return invalidParameter("Exactly one element of the Metrics list must have ReturnData set to true.")
		}
		return checkEvaluationRange(a)
	}
	switch {
	case a.MetricName == "":
		return missingParameter("MetricName")
	case a.Namespace == "":
		return missingParameter("Namespace")
	case (a.Statistic == "") == (a.ExtendedStatistic == ""):
		return invalidCombination("Exactly one of Statistic and ExtendedStatistic must be specified.")
	case a.Statistic != "" && !isBasicStat(a.Statistic):
		return invalidParameter("The parameter Statistic has an invalid value %s.", a.Statistic)
	}
	if a.ExtendedStatistic != "" {
		if _, ok := percentile(a.ExtendedStatistic); !ok {
			return invalidParameter("The parameter ExtendedStatistic has an invalid value %s.", a.ExtendedStatistic)
		}
	}
	if err := checkPeriod(a.Period, "Period"); err != nil {
		return err
	}
	if err := checkDimensions(a.Dimensions, "Dimensions"); err != nil {
		return err
	}
	return checkEvaluationRange(a)
}

// checkEvaluationRange enforces CloudWatch's limit on how far back an alarm
// looks, which also bounds the work of each evaluation.
func checkEvaluationRange(a *metricAlarm) error {
	if int64(a.watched().period/time.Second)*int64(a.EvaluationPeriods) > 7*24*3600 {
		return invalidParameter("The product of EvaluationPeriods and Period must not exceed 604800 seconds (7 days).")
	}
	return nil
}

func (s *Service) putMetricAlarm(_ context.Context, in *metricAlarm) (empty, error) {
	// Only the configuration is taken from the request.
	cfg := *in
	cfg.AlarmArn, cfg.StateValue, cfg.StateReason, cfg.StateReasonData = "", "", "", ""
	cfg.StateUpdatedTimestamp, cfg.StateTransitionedTimestamp, cfg.AlarmConfigurationUpdatedTimestamp = nil, nil, nil
	if err := validateAlarm(&cfg); err != nil {
		return empty{}, err
	}
	cfg.Dimensions = sortedDims(cfg.Dimensions)
	cfg.Tags = nil
	now := s.cfg.Clock.Now().UTC()
	cfg.AlarmArn = s.alarmARN(cfg.AlarmName)
	cfg.AlarmConfigurationUpdatedTimestamp = &now
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.st.Alarms[cfg.AlarmName]; ok {
		// Updating an alarm replaces its configuration and keeps its state.
		cfg.StateValue, cfg.StateReason, cfg.StateReasonData = old.Config.StateValue, old.Config.StateReason, old.Config.StateReasonData
		cfg.StateUpdatedTimestamp, cfg.StateTransitionedTimestamp = old.Config.StateUpdatedTimestamp, old.Config.StateTransitionedTimestamp
		old.Config = cfg
		s.recordConfigLocked(cfg.AlarmName, false, now)
		return empty{}, nil
	}
	cfg.StateValue, cfg.StateReason = StateInsufficientData, "Unchecked: Initial alarm creation"
	cfg.StateUpdatedTimestamp, cfg.StateTransitionedTimestamp = &now, &now
	s.st.Alarms[cfg.AlarmName] = &alarm{Config: cfg, MetricID: uuid.NewString()}
	s.recordConfigLocked(cfg.AlarmName, true, now)
	return empty{}, nil
}

func (s *Service) describeAlarms(_ context.Context, in *describeAlarmsInput) (describeAlarmsOutput, error) {
	if len(in.AlarmNames) > 0 && in.AlarmNamePrefix != "" {
		return describeAlarmsOutput{}, invalidCombination("AlarmNames and AlarmNamePrefix cannot be used together.")
	}
	if len(in.AlarmNames) > 100 {
		return describeAlarmsOutput{}, invalidParameter("The collection AlarmNames must not have more than 100 members.")
	}
	if in.StateValue != "" && in.StateValue != StateOK && in.StateValue != StateAlarm && in.StateValue != StateInsufficientData {
		return describeAlarmsOutput{}, invalidParameter("The parameter StateValue must be OK, ALARM or INSUFFICIENT_DATA.")
	}
	metricAlarms := len(in.AlarmTypes) == 0
	for _, t := range in.AlarmTypes {
		switch t {
		case "MetricAlarm":
			metricAlarms = true
		case "CompositeAlarm":
			// No composite alarms exist locally: PutCompositeAlarm is not served.
		default:
			return describeAlarmsOutput{}, invalidParameter("The parameter AlarmTypes has an invalid value %s.", t)
		}
	}
	maxRecords := int(in.MaxRecords)
	if maxRecords == 0 {
		maxRecords = 50
	}
	if maxRecords < 1 || maxRecords > 100 {
		return describeAlarmsOutput{}, invalidParameter("The parameter MaxRecords must be between 1 and 100.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	if metricAlarms {
		for _, name := range sortedKeys(s.st.Alarms) {
			a := s.st.Alarms[name].Config
			if len(in.AlarmNames) > 0 && !slices.Contains(in.AlarmNames, name) ||
				!strings.HasPrefix(name, in.AlarmNamePrefix) ||
				in.StateValue != "" && a.StateValue != in.StateValue ||
				in.ActionPrefix != "" && !hasActionPrefix(&a, in.ActionPrefix) {
				continue
			}
			names = append(names, name)
		}
	}
	// The token is the name of the last alarm of the previous page.
	if in.NextToken != "" {
		i := slices.IndexFunc(names, func(n string) bool { return n > in.NextToken })
		if i < 0 {
			i = len(names)
		}
		names = names[i:]
	}
	out := describeAlarmsOutput{MetricAlarms: []metricAlarm{}}
	if len(names) > maxRecords {
		names = names[:maxRecords]
		out.NextToken = names[len(names)-1]
	}
	for _, n := range names {
		out.MetricAlarms = append(out.MetricAlarms, s.st.Alarms[n].Config)
	}
	return out, nil
}

func hasActionPrefix(a *metricAlarm, prefix string) bool {
	for _, l := range [][]string{a.AlarmActions, a.OKActions, a.InsufficientDataActions} {
		if slices.ContainsFunc(l, func(x string) bool { return strings.HasPrefix(x, prefix) }) {
			return true
		}
	}
	return false
}

func (s *Service) describeAlarmsForMetric(_ context.Context, in *describeAlarmsForMetricInput) (describeAlarmsForMetricOutput, error) {
	if in.MetricName == "" {
		return describeAlarmsForMetricOutput{}, missingParameter("MetricName")
	}
	if in.Namespace == "" {
		return describeAlarmsForMetricOutput{}, missingParameter("Namespace")
	}
	dims := sortedDims(in.Dimensions)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := describeAlarmsForMetricOutput{MetricAlarms: []metricAlarm{}}
	for _, name := range sortedKeys(s.st.Alarms) {
		a := s.st.Alarms[name].Config
		w := a.watched()
		if w.namespace != in.Namespace || w.name != in.MetricName ||
			in.Statistic != "" && w.stat != in.Statistic || in.ExtendedStatistic != "" && w.stat != in.ExtendedStatistic ||
			in.Period != 0 && w.period != time.Duration(in.Period)*time.Second || in.Unit != "" && w.unit != in.Unit ||
			len(in.Dimensions) > 0 && !slices.Equal(sortedDims(w.dims), dims) {
			continue
		}
		out.MetricAlarms = append(out.MetricAlarms, a)
	}
	return out, nil
}

func (s *Service) setAlarmState(ctx context.Context, in *setAlarmStateInput) (empty, error) {
	switch {
	case in.AlarmName == "":
		return empty{}, missingParameter("AlarmName")
	case in.StateReason == "":
		return empty{}, missingParameter("StateReason")
	case in.StateValue != StateOK && in.StateValue != StateAlarm && in.StateValue != StateInsufficientData:
		return empty{}, invalidParameter("The parameter StateValue must be OK, ALARM or INSUFFICIENT_DATA.")
	case in.StateReasonData != "" && !json.Valid([]byte(in.StateReasonData)):
		return empty{}, protocol.Errorf(400, "InvalidFormat", "StateReasonData is not valid JSON.")
	}
	s.mu.Lock()
	a, ok := s.st.Alarms[in.AlarmName]
	if !ok {
		s.mu.Unlock()
		return empty{}, notFound("Alarm %s not found", in.AlarmName)
	}
	ev := s.transitionLocked(a, in.StateValue, in.StateReason, in.StateReasonData, s.cfg.Clock.Now().UTC(), true)
	s.mu.Unlock()
	s.emit(ctx, ev)
	return empty{}, nil
}

func (s *Service) deleteAlarms(_ context.Context, in *alarmNamesInput) (empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range in.AlarmNames {
		if _, ok := s.st.Alarms[n]; !ok {
			return empty{}, notFound("Alarm %s not found", n)
		}
	}
	for _, n := range in.AlarmNames {
		delete(s.st.Alarms, n)
	}
	return empty{}, nil
}

func (s *Service) enableAlarmActions(_ context.Context, in *alarmNamesInput) (empty, error) {
	return empty{}, s.setActions(in.AlarmNames, true)
}

func (s *Service) disableAlarmActions(_ context.Context, in *alarmNamesInput) (empty, error) {
	return empty{}, s.setActions(in.AlarmNames, false)
}

func (s *Service) setActions(names []string, enabled bool) error {
	if len(names) == 0 {
		return missingParameter("AlarmNames")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		if a, ok := s.st.Alarms[n]; ok {
			a.Config.ActionsEnabled = &enabled
		}
	}
	return nil
}

// transitionLocked records a new state and returns the event to emit, nil
// when the value did not change. As on CloudWatch, an evaluation that keeps
// the value leaves the reason and timestamps as they were at the
// transition; SetAlarmState (explicit) always rewrites the reason and
// StateUpdatedTimestamp.
func (s *Service) transitionLocked(a *alarm, value, reason, reasonData string, now time.Time, explicit bool) *protocol.Event {
	c := &a.Config
	prev := eventState{Value: c.StateValue, Reason: c.StateReason, ReasonData: c.StateReasonData, Timestamp: eventTime(deref(c.StateUpdatedTimestamp))}
	if c.StateValue == value && !explicit {
		return nil
	}
	c.StateReason, c.StateReasonData = reason, reasonData
	c.StateUpdatedTimestamp = &now
	if c.StateValue == value {
		return nil
	}
	c.StateValue = value
	c.StateTransitionedTimestamp = &now
	s.recordStateLocked(c.AlarmName, historyState{StateValue: prev.Value, StateReason: prev.Reason, StateReasonData: rawJSON(prev.ReasonData)},
		historyState{StateValue: value, StateReason: reason, StateReasonData: rawJSON(reasonData)}, now)
	s.cfg.Logger.Info("alarm state changed", "alarm", c.AlarmName, "from", prev.Value, "to", value, "reason", reason)
	return &protocol.Event{
		Source:     "aws.cloudwatch",
		DetailType: "CloudWatch Alarm State Change",
		Resources:  []string{c.AlarmArn},
		Detail: alarmEventDetail{
			AlarmName:     c.AlarmName,
			State:         eventState{Value: value, Reason: reason, ReasonData: reasonData, Timestamp: eventTime(now)},
			PreviousState: prev,
			Configuration: eventConfiguration(a),
		},
	}
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func (s *Service) emit(ctx context.Context, events ...*protocol.Event) {
	for _, e := range events {
		if e != nil {
			s.cfg.Events.PutEvent(ctx, *e)
		}
	}
}

// The detail of a "CloudWatch Alarm State Change" event.
type alarmEventDetail struct {
	AlarmName     string      `json:"alarmName"`
	State         eventState  `json:"state"`
	PreviousState eventState  `json:"previousState"`
	Configuration eventConfig `json:"configuration"`
}

type eventState struct {
	Value      string `json:"value"`
	Reason     string `json:"reason"`
	ReasonData string `json:"reasonData,omitempty"`
	Timestamp  string `json:"timestamp"`
}

type eventConfig struct {
	Description string        `json:"description,omitempty"`
	Metrics     []eventMetric `json:"metrics"`
}

type eventMetric struct {
	ID         string           `json:"id"`
	MetricStat *eventMetricStat `json:"metricStat,omitempty"`
	Expression string           `json:"expression,omitempty"`
	Label      string           `json:"label,omitempty"`
	ReturnData bool             `json:"returnData"`
}

type eventMetricStat struct {
	Metric eventMetricRef `json:"metric"`
	Period int32          `json:"period"`
	Stat   string         `json:"stat"`
	Unit   string         `json:"unit,omitempty"`
}

type eventMetricRef struct {
	Dimensions map[string]string `json:"dimensions"`
	Name       string            `json:"name"`
	Namespace  string            `json:"namespace"`
}

func eventConfiguration(a *alarm) eventConfig {
	cfg := eventConfig{Description: a.Config.AlarmDescription}
	if len(a.Config.Metrics) > 0 {
		for _, q := range a.Config.Metrics {
			cfg.Metrics = append(cfg.Metrics, eventMetric{ID: q.Id, MetricStat: eventStat(q.MetricStat), Expression: q.Expression, Label: q.Label,
				ReturnData: q.ReturnData == nil || *q.ReturnData})
		}
		return cfg
	}
	w := a.Config.watched()
	cfg.Metrics = []eventMetric{{ID: a.MetricID, ReturnData: true, MetricStat: eventStat(&metricStat{
		Metric: metric{Namespace: w.namespace, MetricName: w.name, Dimensions: w.dims},
		Period: int32(w.period / time.Second), Stat: w.stat, Unit: w.unit,
	})}}
	return cfg
}

func eventStat(ms *metricStat) *eventMetricStat {
	if ms == nil {
		return nil
	}
	dims := map[string]string{}
	for _, d := range ms.Metric.Dimensions {
		dims[d.Name] = d.Value
	}
	return &eventMetricStat{Metric: eventMetricRef{Dimensions: dims, Name: ms.Metric.MetricName, Namespace: ms.Metric.Namespace}, Period: ms.Period, Stat: ms.Stat, Unit: ms.Unit}
}

// eventTime formats t as alarm events and reason data do.
func eventTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000-0700")
}

// javaDouble formats v as CloudWatch's reasons do (Java's Double.toString
// for everyday magnitudes): 37.0, 0.5.
func javaDouble(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e7 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

type jsonDouble float64

// MarshalJSON writes the number as javaDouble does.
func (d jsonDouble) MarshalJSON() ([]byte, error) { return []byte(javaDouble(float64(d))), nil }

// Evaluation.

// sample is the statistic of one period, or a missing one.
type sample struct {
	start       time.Time
	value       float64
	sampleCount float64
	present     bool
}

// lookbackExtra is how many periods beyond EvaluationPeriods the missing
// and ignore treatments look back to find datapoints, as CloudWatch
// retrieves more datapoints than it evaluates.
const lookbackExtra = 2

// evaluateLocked evaluates one alarm at now and returns the event of its
// state change, if any.
func (s *Service) evaluateLocked(a *alarm, now time.Time) *protocol.Event {
	value, reason, data, ok := s.decideLocked(&a.Config, now)
	if !ok {
		return nil
	}
	return s.transitionLocked(a, value, reason, data, now, false)
}

// decideLocked applies CloudWatch's rules to the alarm's recent periods;
// ok is false when the state is to be kept.
func (s *Service) decideLocked(c *metricAlarm, now time.Time) (value, reason, reasonData string, ok bool) {
	w := c.watched()
	if w.period <= 0 {
		return "", "", "", false
	}
	n, m := int(c.EvaluationPeriods), int(c.DatapointsToAlarm)
	if m == 0 {
		m = n
	}
	// The newest complete period ends at the start of the current one.
	end := periodStart(now, w.period)
	look := n
	if c.TreatMissingData == "missing" || c.TreatMissingData == "ignore" {
		look = n + lookbackExtra
	}
	begin := end.Add(-time.Duration(look) * w.period)
	byStart := s.periodValuesLocked(c, w, begin, end)
	var window []sample // newest first
	for i := 1; i <= look; i++ {
		st := end.Add(-time.Duration(i) * w.period)
		sm, ok := byStart[st]
		if !ok {
			sm = sample{start: st}
		}
		window = append(window, sm)
	}
	threshold := deref64(c.Threshold)
	words, breach, _ := comparison(c.ComparisonOperator)
	var evaluatedPts []sample
	breaching, total := 0, 0
	switch c.TreatMissingData {
	case "breaching", "notBreaching":
		for _, sm := range window[:n] {
			total++
			if sm.present {
				evaluatedPts = append(evaluatedPts, sm)
				if breach(sm.value, threshold) {
					breaching++
				}
			} else if c.TreatMissingData == "breaching" {
				breaching++
			}
		}
	default:
		for _, sm := range window {
			if sm.present && len(evaluatedPts) < n {
				evaluatedPts = append(evaluatedPts, sm)
				if breach(sm.value, threshold) {
					breaching++
				}
			}
		}
		total = len(evaluatedPts)
	}
	data := reasonDataJSON(c, w, now, threshold, evaluatedPts)
	if total == 0 {
		if c.TreatMissingData == "ignore" {
			return "", "", "", false
		}
		return StateInsufficientData, fmt.Sprintf("Insufficient Data: %d %s unknown.", n, plural(n, "datapoint was", "datapoints were")), data, true
	}
	need := m
	if c.TreatMissingData == "missing" {
		// With fewer datapoints than DatapointsToAlarm, all of them must breach.
		need = min(m, total)
	}
	switch {
	case breaching >= need:
		return StateAlarm, thresholdReason(c, words, breaching, total, evaluatedPts, true, m), data, true
	case c.TreatMissingData == "ignore" && total-breaching <= n-m:
		// Not enough datapoints either way: keep the state.
		return "", "", "", false
	}
	return StateOK, thresholdReason(c, words, total-breaching, total, evaluatedPts, false, n-m+1), data, true
}

// periodValuesLocked returns the alarm's value for each period in [begin,
// end) that has one: the statistic of its metric, or the result of its
// expression (an expression that cannot be evaluated has no values).
func (s *Service) periodValuesLocked(c *metricAlarm, w evaluated, begin, end time.Time) map[time.Time]sample {
	out := map[time.Time]sample{}
	if w.expr != "" {
		series, err := s.evalQueriesLocked(c.Metrics, begin, end)
		if err != nil {
			return out
		}
		for t, v := range series[w.expr] {
			out[t] = sample{start: t, value: v, present: true}
		}
		return out
	}
	for _, a := range s.aggregateLocked(w.namespace, w.name, w.dims, w.unit, begin, end, w.period) {
		sm := sample{start: a.start, sampleCount: a.sampleCount}
		sm.value, sm.present = a.stat(w.stat)
		out[a.start] = sm
	}
	return out
}

func deref64(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// thresholdReason is the StateReason of a threshold alarm, worded as
// CloudWatch words it.
func thresholdReason(c *metricAlarm, words string, count, total int, pts []sample, alarm bool, minimum int) string {
	var vals []string
	for _, p := range pts {
		vals = append(vals, javaDouble(p.value)+" ("+p.start.UTC().Format("02/01/06 15:04:05")+")")
	}
	verb := plural(count, "was", "were")
	if !alarm {
		verb += " not"
	}
	target := StateOK
	if alarm {
		target = StateAlarm
	}
	return fmt.Sprintf("Threshold Crossed: %d out of the last %d %s [%s] %s %s the threshold (%s) (minimum %d %s for %s -> %s transition).",
		count, total, plural(total, "datapoint", "datapoints"), strings.Join(vals, ", "), verb, words,
		javaDouble(deref64(c.Threshold)), minimum, plural(minimum, "datapoint", "datapoints"), c.StateValue, target)
}

type reasonData struct {
	Version             string           `json:"version"`
	QueryDate           string           `json:"queryDate"`
	StartDate           string           `json:"startDate,omitempty"`
	Statistic           string           `json:"statistic,omitempty"`
	ExtendedStatistic   string           `json:"extendedStatistic,omitempty"`
	Period              int              `json:"period"`
	RecentDatapoints    []jsonDouble     `json:"recentDatapoints"`
	Threshold           jsonDouble       `json:"threshold"`
	EvaluatedDatapoints []evaluatedPoint `json:"evaluatedDatapoints,omitempty"`
}

type evaluatedPoint struct {
	Timestamp   string      `json:"timestamp"`
	SampleCount *jsonDouble `json:"sampleCount,omitempty"` // absent for expressions
	Value       jsonDouble  `json:"value"`
}

func reasonDataJSON(c *metricAlarm, w evaluated, now time.Time, threshold float64, pts []sample) string {
	rd := reasonData{Version: "1.0", QueryDate: eventTime(now), Period: int(w.period / time.Second), Threshold: jsonDouble(threshold), RecentDatapoints: []jsonDouble{}}
	if _, ok := percentile(w.stat); ok {
		rd.ExtendedStatistic = w.stat
	} else {
		rd.Statistic = w.stat
	}
	// Oldest first, as CloudWatch lists them.
	for i := len(pts) - 1; i >= 0; i-- {
		p := pts[i]
		rd.RecentDatapoints = append(rd.RecentDatapoints, jsonDouble(p.value))
		ep := evaluatedPoint{Timestamp: eventTime(p.start), Value: jsonDouble(p.value)}
		if w.expr == "" {
			sc := jsonDouble(p.sampleCount)
			ep.SampleCount = &sc
		}
		rd.EvaluatedDatapoints = append(rd.EvaluatedDatapoints, ep)
	}
	if len(pts) > 0 {
		rd.StartDate = eventTime(pts[len(pts)-1].start)
	}
	b, err := json.Marshal(rd)
	if err != nil {
		return ""
	}
	return string(b)
}

// AlarmState returns the state (OK, ALARM, INSUFFICIENT_DATA) of the metric
// alarm name, and false when there is no such alarm. The ECS simulation
// reads it to roll back a native deployment whose
// deploymentConfiguration.alarms go to ALARM.
func (s *Service) AlarmState(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.Alarms[name]
	if !ok {
		return "", false
	}
	return a.Config.StateValue, true
}
