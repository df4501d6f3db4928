package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/workflow"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// doc is a state document with the fields the timeline reads.
func doc(t *testing.T, slot string, weight int, alarms ...string) string {
	t.Helper()
	st := workflow.State{Request: workflow.Request{Service: "web", Environment: "staging"},
		Plan: workflow.Plan{Key: "plans/d1.json", Strategy: "canary", Image: "repo/web@sha256:ab", Slot: slot,
			Steps: []workflow.Step{{Weight: 10, BakeSeconds: 300}, {Weight: 50, BakeSeconds: 600}, {Weight: 100, BakeSeconds: 600}}},
		Progress: workflow.Progress{Weight: weight, Step: map[int]int{10: 1, 50: 2, 100: 3}[weight]},
		Wait:     workflow.Wait{Alarms: alarms}}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

// rollbackRecord is a canary by task count to green (4 tasks in all) that
// shifts 10 % and 50 %, then rolls back when web-5xx fires.
func rollbackRecord(t *testing.T) Input {
	var p Plan
	if err := json.Unmarshal([]byte(`{"target":"web--green","other":"web--blue","fullCount":4,"byCount":true,
		"snapshot":{"services":[{"name":"web--blue","exists":true,"desiredCount":4},{"name":"web--green","exists":false}]}}`), &p); err != nil {
		t.Fatal(err)
	}
	return Input{
		Execution: "arn:aws:states:us-east-1:000000000000:execution:Slipway-deploy:web-staging-1", Status: "FAILED",
		Start: at(0), Stop: at(40), Plan: &p, Outcome: "rolled-back",
		Events: []Event{
			{At: at(0), Type: "TaskStateEntered", State: workflow.StatePrepare, Input: `{"service":"web","environment":"staging"}`},
			{At: at(1), Type: "TaskStateExited", State: workflow.StatePrepare, Output: doc(t, "green", 0)},
			{At: at(1), Type: "TaskStateEntered", State: workflow.StateApply, Input: doc(t, "green", 0)},
			{At: at(3), Type: "TaskStateExited", State: workflow.StateApply, Output: doc(t, "green", 0)},
			{At: at(5), Type: "TaskStateEntered", State: workflow.StateShiftTraffic, Input: doc(t, "green", 0)},
			{At: at(6), Type: "TaskStateExited", State: workflow.StateShiftTraffic, Output: doc(t, "green", 10)},
			{At: at(6), Type: "TaskStateEntered", State: workflow.StateBake, Input: doc(t, "green", 10, "web-5xx")},
			{At: at(8), Type: "TaskStateEntered", State: workflow.StateBake, Input: doc(t, "green", 10, "web-5xx")},
			{At: at(11), Type: "TaskStateEntered", State: workflow.StateShiftTraffic, Input: doc(t, "green", 10)},
			{At: at(12), Type: "TaskStateExited", State: workflow.StateShiftTraffic, Output: doc(t, "green", 50)},
			{At: at(12), Type: "TaskStateEntered", State: workflow.StateBake, Input: doc(t, "green", 50, "web-5xx")},
			{At: at(20), Type: "TaskFailed", Error: "AlarmFired", Cause: "alarm web-5xx in ALARM: Threshold Crossed"},
			{At: at(20), Type: "TaskStateEntered", State: workflow.StateRollback, Input: doc(t, "green", 50)},
			{At: at(22), Type: "TaskStateExited", State: workflow.StateRollback, Output: doc(t, "green", 50)},
			{At: at(40), Type: "FailStateEntered", State: workflow.StateRolledBack},
		},
	}
}

func TestBuildRollback(t *testing.T) {
	in := rollbackRecord(t)
	in.Alarms = []AlarmTransition{
		{Alarm: "web-5xx", At: at(-60), From: "INSUFFICIENT_DATA", To: "OK"},
		{Alarm: "web-5xx", At: at(18), From: "OK", To: "ALARM"},
		{Alarm: "web-5xx", At: at(30), From: "ALARM", To: "OK"},
	}
	tl, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	wantWeights := []Series{
		{Slot: "blue", Points: []Point{{at(1), 100}, {at(6), 90}, {at(12), 50}, {at(22), 100}}},
		{Slot: "green", Points: []Point{{at(1), 0}, {at(6), 10}, {at(12), 50}, {at(22), 0}}},
	}
	if d := cmp.Diff(wantWeights, tl.Weights); d != "" {
		t.Errorf("weights (-want +got):\n%s", d)
	}
	// By task count: green runs ceil(4 × w / 100), blue the rest.
	wantTasks := []Series{
		{Slot: "blue", Points: []Point{{at(1), 4}, {at(6), 3}, {at(12), 2}, {at(22), 4}}},
		{Slot: "green", Points: []Point{{at(1), 0}, {at(3), 1}, {at(12), 2}, {at(22), 0}}},
	}
	if d := cmp.Diff(wantTasks, tl.Tasks); d != "" {
		t.Errorf("tasks (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]Band{{Alarm: "web-5xx", From: at(18), To: at(30)}}, tl.Alarms); d != "" {
		t.Errorf("alarm bands (-want +got):\n%s", d)
	}
	var kinds []string
	for _, m := range tl.Markers {
		kinds = append(kinds, m.Kind+" "+m.Label)
	}
	want := []string{"apply apply", "shift shift 10%", "bake bake 5m0s", "shift shift 50%", "bake bake 10m0s", "rollback rollback", "end rolled back"}
	if d := cmp.Diff(want, kinds); d != "" {
		t.Errorf("markers (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int{10, 50}, tl.Shifts); d != "" {
		t.Errorf("shifts (-want +got):\n%s", d)
	}
	if tl.Service != "web" || tl.Environment != "staging" || tl.Strategy != "canary" || tl.Outcome != "rolled-back" {
		t.Errorf("got %s/%s %s %s, want web/staging canary rolled-back", tl.Service, tl.Environment, tl.Strategy, tl.Outcome)
	}
}

// TestBuildAlarmFromExecution: without alarm history (no permission, or
// older than CloudWatch keeps), the band starts at the alarm failure and
// is open to the end.
func TestBuildAlarmFromExecution(t *testing.T) {
	tl, err := Build(rollbackRecord(t))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]Band{{Alarm: "web-5xx", From: at(20), To: at(40), Open: true}}, tl.Alarms); d != "" {
		t.Errorf("alarm bands (-want +got):\n%s", d)
	}
	if got := AlarmNames(rollbackRecord(t).Events); !cmp.Equal(got, []string{"web-5xx"}) {
		t.Errorf("AlarmNames: got %v, want [web-5xx]", got)
	}
}

func TestBuildNeedsStart(t *testing.T) {
	if _, err := Build(Input{Execution: "x"}); err == nil {
		t.Error("got no error for a record without a start")
	}
}

// TestSVG: the drawing parses as XML, its weight line passes through the
// values of the timeline at their times, and the HTML page embeds it.
func TestSVG(t *testing.T) {
	in := rollbackRecord(t)
	in.Events[0].Input = `{"service":"<web & co>","environment":"staging"}` // escaped, not injected
	tl, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteSVG(&b, tl); err != nil {
		t.Fatal(err)
	}
	var svg struct {
		T0    int64   `xml:"data-t0,attr"`
		T1    int64   `xml:"data-t1,attr"`
		Left  float64 `xml:"data-left,attr"`
		Right float64 `xml:"data-right,attr"`
		Title string  `xml:"title"`
		G     []struct {
			ID    string  `xml:"id,attr"`
			Y0    float64 `xml:"data-y0,attr"`
			Top   float64 `xml:"data-top,attr"`
			Lines []struct {
				Slot   string `xml:"data-slot,attr"`
				Points string `xml:"points,attr"`
			} `xml:"polyline"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal(b.Bytes(), &svg); err != nil {
		t.Fatalf("parse: %v\n%s", err, b.String())
	}
	if !strings.Contains(svg.Title, "<web & co>") {
		t.Errorf("title: got %q, want the service name unescaped by the parser", svg.Title)
	}
	var green string
	var y0, top float64
	for _, g := range svg.G {
		for _, l := range g.Lines {
			if g.ID == "weights" && l.Slot == "green" {
				green, y0, top = l.Points, g.Y0, g.Top
			}
		}
	}
	yOf := func(w float64) float64 { return y0 - (y0-top)*w/100 }
	xOf := func(tm time.Time) float64 {
		return svg.Left + float64(tm.UnixMilli()-svg.T0)/float64(svg.T1-svg.T0)*(svg.Right-svg.Left)
	}
	// 10 % from minute 6: the point (x(6), y(10)) is on the line.
	want := []string{
		pt(xOf(at(6)), yOf(10)), pt(xOf(at(12)), yOf(50)), pt(xOf(at(22)), yOf(0)),
	}
	for _, w := range want {
		if !strings.Contains(green, w) {
			t.Errorf("green's weight line %q does not pass through %s", green, w)
		}
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, tl); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(page.String(), "<!DOCTYPE html>") || !strings.Contains(page.String(), b.String()) {
		t.Errorf("HTML page does not embed the SVG")
	}
}

func pt(x, y float64) string { return fmt.Sprintf("%.1f,%.1f", x, y) }

// TestBuildBlueGreenApproved: behind a load balancer the new slot comes up
// at full size with no traffic, takes it all at once, and the old slot is
// scaled to zero at cleanup; approval and promotion are marked.
func TestBuildBlueGreenApproved(t *testing.T) {
	var p Plan
	if err := json.Unmarshal([]byte(`{"target":"web--blue","other":"web--green","targetGroup":"tg-blue","otherGroup":"tg-green","fullCount":3,
		"snapshot":{"services":[{"name":"web--blue","exists":true,"desiredCount":0},{"name":"web--green","exists":true,"desiredCount":3}],
		"rules":[{"weights":[{"targetGroupArn":"tg-blue","weight":0},{"targetGroupArn":"tg-green","weight":1}]}]}}`), &p); err != nil {
		t.Fatal(err)
	}
	tl, err := Build(Input{Start: at(0), Stop: at(60), Plan: &p, Status: "SUCCEEDED", Events: []Event{
		{At: at(1), Type: "TaskStateExited", State: workflow.StatePrepare, Output: doc(t, "blue", 0)},
		{At: at(1), Type: "TaskStateEntered", State: workflow.StateAwaitApproval, Input: doc(t, "blue", 0)},
		{At: at(30), Type: "TaskStateEntered", State: workflow.StateApply, Input: doc(t, "blue", 0)},
		{At: at(31), Type: "TaskStateExited", State: workflow.StateApply, Output: doc(t, "blue", 0)},
		{At: at(35), Type: "TaskStateExited", State: workflow.StateShiftTraffic, Output: doc(t, "blue", 100)},
		{At: at(50), Type: "TaskStateEntered", State: workflow.StatePromote, Input: doc(t, "blue", 100)},
		{At: at(52), Type: "TaskStateExited", State: workflow.StateCleanup, Output: doc(t, "blue", 100)},
		{At: at(60), Type: "SucceedStateEntered", State: workflow.StateDeployed},
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantWeights := []Series{
		{Slot: "blue", Points: []Point{{at(1), 0}, {at(35), 100}}},
		{Slot: "green", Points: []Point{{at(1), 100}, {at(35), 0}}},
	}
	if d := cmp.Diff(wantWeights, tl.Weights); d != "" {
		t.Errorf("weights (-want +got):\n%s", d)
	}
	wantTasks := []Series{
		{Slot: "blue", Points: []Point{{at(1), 0}, {at(31), 3}}},
		{Slot: "green", Points: []Point{{at(1), 3}, {at(52), 0}}},
	}
	if d := cmp.Diff(wantTasks, tl.Tasks); d != "" {
		t.Errorf("tasks (-want +got):\n%s", d)
	}
	var kinds []string
	for _, m := range tl.Markers {
		kinds = append(kinds, m.Kind)
	}
	if d := cmp.Diff([]string{MarkApproval, MarkApply, MarkShift, MarkPromote, MarkEnd}, kinds); d != "" {
		t.Errorf("markers (-want +got):\n%s", d)
	}
}

// TestBuildRolling: one service carries all the traffic; its desired count
// moves from the snapshot's to the full count at apply.
func TestBuildRolling(t *testing.T) {
	var p Plan
	if err := json.Unmarshal([]byte(`{"target":"worker","fullCount":3,"snapshot":{"services":[{"name":"worker","exists":true,"desiredCount":2}]}}`), &p); err != nil {
		t.Fatal(err)
	}
	rolling := func(weight int) string {
		b, _ := json.Marshal(workflow.State{Request: workflow.Request{Service: "worker", Environment: "staging"},
			Plan: workflow.Plan{Strategy: "rolling", Steps: []workflow.Step{{Weight: 100, BakeSeconds: 60}}}, Progress: workflow.Progress{Weight: weight, Step: 1}})
		return string(b)
	}
	tl, err := Build(Input{Start: at(0), Stop: at(10), Plan: &p, Events: []Event{
		{At: at(1), Type: "TaskStateExited", State: workflow.StatePrepare, Output: rolling(0)},
		{At: at(2), Type: "TaskStateExited", State: workflow.StateApply, Output: rolling(0)},
		{At: at(4), Type: "TaskStateExited", State: workflow.StateShiftTraffic, Output: rolling(100)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]Series{{Slot: "service", Points: []Point{{at(1), 100}}}}, tl.Weights); d != "" {
		t.Errorf("weights (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]Series{{Slot: "service", Points: []Point{{at(1), 2}, {at(2), 3}}}}, tl.Tasks); d != "" {
		t.Errorf("tasks (-want +got):\n%s", d)
	}
}
