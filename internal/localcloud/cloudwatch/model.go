// Package cloudwatch simulates Amazon CloudWatch for the local endpoint:
// metrics (PutMetricData, GetMetricData, GetMetricStatistics, ListMetrics),
// metric alarms evaluated on the shared clock every simulated minute with
// CloudWatch's missing-data rules, "CloudWatch Alarm State Change" events,
// and the Application Load Balancer metrics of every target group, generated
// from its share of the traffic and the faults of the image serving it.
//
// Every operation is implemented once on Go structs named as the API names
// its members, and served in the three encodings clients use: Smithy RPC v2
// CBOR (aws-sdk-go-v2), JSON 1.0 (the aws CLI v1, whose botocore prefers it)
// and query (Version 2010-08-01, older CLIs).
package cloudwatch

import (
	"time"
)

// Namespace is the XML namespace of CloudWatch query responses.
const Namespace = "http://monitoring.amazonaws.com/doc/2010-08-01/"

// Version is the API version CloudWatch query requests carry.
const Version = "2010-08-01"

// Alarm states.
const (
	StateOK               = "OK"
	StateAlarm            = "ALARM"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// The API's shapes, with the member names of the CloudWatch model (the
// protocol codecs take names from the json tags, else the Go field name).

type dimension struct {
	Name  string
	Value string
}

type dimensionFilter struct {
	Name  string
	Value *string `json:",omitempty"`
}

type metric struct {
	Namespace  string      `json:",omitempty"`
	MetricName string      `json:",omitempty"`
	Dimensions []dimension `json:",omitempty"`
}

type metricStat struct {
	Metric metric
	Period int32
	Stat   string
	Unit   string `json:",omitempty"`
}

type metricDataQuery struct {
	Id         string
	MetricStat *metricStat `json:",omitempty"`
	Expression string      `json:",omitempty"`
	Label      string      `json:",omitempty"`
	ReturnData *bool       `json:",omitempty"`
	Period     int32       `json:",omitempty"`
	AccountId  string      `json:",omitempty"`
}

type statisticSet struct {
	SampleCount, Sum, Minimum, Maximum float64
}

type metricDatum struct {
	MetricName        string
	Dimensions        []dimension
	Timestamp         *time.Time
	Value             *float64
	StatisticValues   *statisticSet
	Values            []float64
	Counts            []float64
	Unit              string
	StorageResolution int32
}

type putMetricDataInput struct {
	Namespace  string
	MetricData []metricDatum
}

type getMetricStatisticsInput struct {
	Namespace          string
	MetricName         string
	Dimensions         []dimension
	StartTime          *time.Time
	EndTime            *time.Time
	Period             int32
	Statistics         []string
	ExtendedStatistics []string
	Unit               string
}

type datapoint struct {
	Timestamp          time.Time
	SampleCount        *float64           `json:",omitempty"`
	Average            *float64           `json:",omitempty"`
	Sum                *float64           `json:",omitempty"`
	Minimum            *float64           `json:",omitempty"`
	Maximum            *float64           `json:",omitempty"`
	Unit               string             `json:",omitempty"`
	ExtendedStatistics map[string]float64 `json:",omitempty"`
}

type getMetricStatisticsOutput struct {
	Label      string
	Datapoints []datapoint
}

type getMetricDataInput struct {
	MetricDataQueries []metricDataQuery
	StartTime         *time.Time
	EndTime           *time.Time
	NextToken         string
	ScanBy            string
	MaxDatapoints     int32
}

type metricDataResult struct {
	Id         string
	Label      string
	Timestamps []time.Time
	Values     []float64
	StatusCode string
}

type getMetricDataOutput struct {
	MetricDataResults []metricDataResult
}

type listMetricsInput struct {
	Namespace      string
	MetricName     string
	Dimensions     []dimensionFilter
	RecentlyActive string
	NextToken      string
}

type listMetricsOutput struct {
	Metrics []metric
}

type tag struct {
	Key   string
	Value string
}

// metricAlarm is an alarm as PutMetricAlarm takes it and DescribeAlarms
// returns it; the service stores it as is.
type metricAlarm struct {
	AlarmName                          string
	AlarmArn                           string     `json:",omitempty"`
	AlarmDescription                   string     `json:",omitempty"`
	AlarmConfigurationUpdatedTimestamp *time.Time `json:",omitempty"`
	ActionsEnabled                     *bool      `json:",omitempty"`
	OKActions                          []string   `json:",omitempty"`
	AlarmActions                       []string   `json:",omitempty"`
	InsufficientDataActions            []string   `json:",omitempty"`
	StateValue                         string     `json:",omitempty"`
	StateReason                        string     `json:",omitempty"`
	StateReasonData                    string     `json:",omitempty"`
	StateUpdatedTimestamp              *time.Time `json:",omitempty"`
	StateTransitionedTimestamp         *time.Time `json:",omitempty"`
	MetricName                         string     `json:",omitempty"`
	Namespace                          string     `json:",omitempty"`
	Statistic                          string     `json:",omitempty"`
	ExtendedStatistic                  string     `json:",omitempty"`
	Dimensions                         []dimension
	Period                             int32             `json:",omitempty"`
	Unit                               string            `json:",omitempty"`
	EvaluationPeriods                  int32             `json:",omitempty"`
	DatapointsToAlarm                  int32             `json:",omitempty"`
	Threshold                          *float64          `json:",omitempty"`
	ComparisonOperator                 string            `json:",omitempty"`
	TreatMissingData                   string            `json:",omitempty"`
	EvaluateLowSampleCountPercentile   string            `json:",omitempty"`
	Metrics                            []metricDataQuery `json:",omitempty"`
	ThresholdMetricId                  string            `json:",omitempty"`
	Tags                               []tag             `json:",omitempty"` // input only
}

type describeAlarmsInput struct {
	AlarmNames      []string
	AlarmNamePrefix string
	AlarmTypes      []string
	StateValue      string
	ActionPrefix    string
	MaxRecords      int32
	NextToken       string
}

type describeAlarmsOutput struct {
	MetricAlarms    []metricAlarm
	CompositeAlarms []struct{}
	NextToken       string `json:",omitempty"`
}

type describeAlarmsForMetricInput struct {
	MetricName        string
	Namespace         string
	Statistic         string
	ExtendedStatistic string
	Dimensions        []dimension
	Period            int32
	Unit              string
}

type describeAlarmsForMetricOutput struct {
	MetricAlarms []metricAlarm
}

type setAlarmStateInput struct {
	AlarmName       string
	StateValue      string
	StateReason     string
	StateReasonData string
}

type alarmNamesInput struct {
	AlarmNames []string
}
