package cloudwatch

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// maxHistory bounds the history kept per alarm. CloudWatch keeps an
// alarm's history for two weeks; a local run never comes near this many
// items in that time.
const maxHistory = 1000

// History item types of DescribeAlarmHistory.
const (
	historyStateUpdate         = "StateUpdate"
	historyConfigurationUpdate = "ConfigurationUpdate"
)

// alarmHistoryItem is one entry of DescribeAlarmHistory.
type alarmHistoryItem struct {
	AlarmName       string
	AlarmType       string
	Timestamp       *time.Time
	HistoryItemType string
	HistorySummary  string
	HistoryData     string
}

type describeAlarmHistoryInput struct {
	AlarmName          string
	AlarmContributorId string `json:",omitempty"`
	AlarmTypes         []string
	HistoryItemType    string
	StartDate          *time.Time
	EndDate            *time.Time
	MaxRecords         int32
	NextToken          string
	ScanBy             string
}

type describeAlarmHistoryOutput struct {
	AlarmHistoryItems []alarmHistoryItem
	NextToken         string `json:",omitempty"`
}

// historyState is the oldState/newState of a StateUpdate's HistoryData.
type historyState struct {
	StateValue      string          `json:"stateValue"`
	StateReason     string          `json:"stateReason"`
	StateReasonData json.RawMessage `json:"stateReasonData,omitempty"`
}

// recordStateLocked adds the StateUpdate item of a transition, with the
// summary and HistoryData CloudWatch writes.
func (s *Service) recordStateLocked(name string, from, to historyState, now time.Time) {
	data, _ := json.Marshal(struct {
		Version  string       `json:"version"`
		OldState historyState `json:"oldState"`
		NewState historyState `json:"newState"`
	}{"1.0", from, to})
	s.recordLocked(alarmHistoryItem{AlarmName: name, AlarmType: "MetricAlarm", Timestamp: &now,
		HistoryItemType: historyStateUpdate, HistorySummary: fmt.Sprintf("Alarm updated from %s to %s", from.StateValue, to.StateValue),
		HistoryData: string(data)})
}

// recordConfigLocked adds the ConfigurationUpdate item of PutMetricAlarm.
func (s *Service) recordConfigLocked(name string, created bool, now time.Time) {
	kind, summary := "Update", fmt.Sprintf("Alarm %q updated", name)
	if created {
		kind, summary = "Create", fmt.Sprintf("Alarm %q created", name)
	}
	data, _ := json.Marshal(map[string]string{"version": "1.0", "type": kind})
	s.recordLocked(alarmHistoryItem{AlarmName: name, AlarmType: "MetricAlarm", Timestamp: &now,
		HistoryItemType: historyConfigurationUpdate, HistorySummary: summary, HistoryData: string(data)})
}

func (s *Service) recordLocked(it alarmHistoryItem) {
	if s.st.History == nil {
		s.st.History = map[string][]alarmHistoryItem{}
	}
	list := append(s.st.History[it.AlarmName], it)
	if len(list) > maxHistory {
		list = list[len(list)-maxHistory:]
	}
	s.st.History[it.AlarmName] = list
}

func rawJSON(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return nil
	}
	return json.RawMessage(s)
}

// describeAlarmHistory serves DescribeAlarmHistory: the state and
// configuration updates of metric alarms (also of alarms deleted since, as
// CloudWatch keeps them), newest first unless ScanBy is
// TimestampAscending. Alarm actions are not run locally, so there are no
// Action items; asking for them, or for contributor items, is refused as
// not modelled rather than answered with an empty list.
func (s *Service) describeAlarmHistory(_ context.Context, in *describeAlarmHistoryInput) (describeAlarmHistoryOutput, error) {
	switch in.HistoryItemType {
	case "", historyStateUpdate, historyConfigurationUpdate:
	case "Action", "AlarmContributorStateUpdate", "AlarmContributorAction":
		return describeAlarmHistoryOutput{}, invalidParameter("HistoryItemType %s is not modelled by the local endpoint yet.", in.HistoryItemType)
	default:
		return describeAlarmHistoryOutput{}, invalidParameter("The parameter HistoryItemType has an invalid value %s.", in.HistoryItemType)
	}
	if in.AlarmContributorId != "" {
		return describeAlarmHistoryOutput{}, invalidParameter("AlarmContributorId is not modelled by the local endpoint yet.")
	}
	metric := len(in.AlarmTypes) == 0
	for _, t := range in.AlarmTypes {
		switch t {
		case "MetricAlarm":
			metric = true
		case "CompositeAlarm":
		default:
			return describeAlarmHistoryOutput{}, invalidParameter("The parameter AlarmTypes has an invalid value %s.", t)
		}
	}
	descending := true
	switch in.ScanBy {
	case "", "TimestampDescending":
	case "TimestampAscending":
		descending = false
	default:
		return describeAlarmHistoryOutput{}, invalidParameter("The parameter ScanBy has an invalid value %s.", in.ScanBy)
	}
	maxRecords := int(in.MaxRecords)
	if maxRecords == 0 {
		maxRecords = 100
	}
	if maxRecords < 1 || maxRecords > 100 {
		return describeAlarmHistoryOutput{}, invalidParameter("The parameter MaxRecords must be between 1 and 100.")
	}
	offset := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 {
			return describeAlarmHistoryOutput{}, invalidNextToken()
		}
		offset = n
	}
	s.mu.Lock()
	var items []alarmHistoryItem
	if metric {
		for name, list := range s.st.History {
			if in.AlarmName != "" && name != in.AlarmName {
				continue
			}
			for _, it := range list {
				at := *it.Timestamp
				if in.HistoryItemType != "" && it.HistoryItemType != in.HistoryItemType ||
					in.StartDate != nil && at.Before(*in.StartDate) || in.EndDate != nil && at.After(*in.EndDate) {
					continue
				}
				items = append(items, it)
			}
		}
	}
	s.mu.Unlock()
	slices.SortStableFunc(items, func(a, b alarmHistoryItem) int {
		c := a.Timestamp.Compare(*b.Timestamp)
		if c == 0 {
			c = compareStrings(a.AlarmName, b.AlarmName)
		}
		if descending {
			return -c
		}
		return c
	})
	if offset > len(items) {
		return describeAlarmHistoryOutput{}, invalidNextToken()
	}
	out := describeAlarmHistoryOutput{AlarmHistoryItems: []alarmHistoryItem{}}
	items = items[offset:]
	if len(items) > maxRecords {
		items = items[:maxRecords]
		out.NextToken = strconv.Itoa(offset + maxRecords)
	}
	out.AlarmHistoryItems = append(out.AlarmHistoryItems, items...)
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
