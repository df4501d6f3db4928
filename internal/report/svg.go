package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"text/template"
	"time"
)

// Layout of the drawing, in SVG user units.
const (
	width     = 1000
	plotLeft  = 160
	plotRight = 970
	plotWidth = plotRight - plotLeft
	weightTop = 150
	weightH   = 150
	tasksTop  = 350
	tasksH    = 110
	alarmTop  = 500
	alarmRowH = 18
)

// slotColour is the colour of a slot's series.
func slotColour(slot string) string {
	switch slot {
	case "blue":
		return "#1f6feb"
	case "green":
		return "#2da44e"
	}
	return "#8250df"
}

// markerColour is the colour of a phase marker.
func markerColour(kind string) string {
	switch kind {
	case MarkApproval:
		return "#bf8700"
	case MarkShift:
		return "#0969da"
	case MarkBake:
		return "#8c959f"
	case MarkPromote:
		return "#1a7f37"
	case MarkRollback:
		return "#cf222e"
	case MarkEnd:
		return "#24292f"
	}
	return "#57606a"
}

// Panel attributes (data-*) let a reader map coordinates back to values:
// data-t0/data-t1 on the root are the times (Unix milliseconds) at x =
// plotLeft and plotRight; a panel's data-y0/data-ymax are the y of value 0
// and of data-max.

type svgData struct {
	T          *Timeline
	Width      int
	Height     int
	T0, T1     int64
	Title      string
	Subtitle   string
	ImageLine  string
	Left       int
	Right      int
	Panels     []svgPanel
	AlarmTop   int
	AlarmRows  []svgBand
	AlarmEnd   int
	Markers    []svgMarker
	Ticks      []svgTick
	AxisY      int
	ListTop    int
	MarkerList []string
}

type svgPanel struct {
	ID, Title  string
	Top, Y0    int
	Max        int
	Grid       []svgGrid
	Series     []svgSeries
	LegendY    int
	Legend     []svgLegend
	NoDataNote string
}

type svgLegend struct {
	Slot, Colour string
	Y            int
}

type svgGrid struct {
	Y     float64
	Label string
}

type svgSeries struct {
	Slot, Colour, Points, Class string
}

type svgBand struct {
	Alarm      string
	Y          int
	X, W       float64
	From, To   string
	Open       bool
	LabelY     int
	HasBand    bool
	OpenSuffix string
}

type svgMarker struct {
	Kind, Label, Colour, Time string
	X                         float64
	Top, Bottom               int
}

type svgTick struct {
	X     float64
	Label string
}

var svgTemplate = template.Must(template.New("svg").Funcs(template.FuncMap{"esc": escape}).Parse(
	`<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" font-family="Helvetica, Arial, sans-serif" font-size="12" data-t0="{{.T0}}" data-t1="{{.T1}}" data-left="{{.Left}}" data-right="{{.Right}}">
<title>{{esc .Title}}</title>
<rect class="background" x="0" y="0" width="{{.Width}}" height="{{.Height}}" fill="#ffffff"/>
<text x="{{.Left}}" y="28" font-size="18" font-weight="bold" fill="#24292f">{{esc .Title}}</text>
<text x="{{.Left}}" y="50" fill="#57606a">{{esc .Subtitle}}</text>
<text x="{{.Left}}" y="68" fill="#57606a" font-size="11">{{esc .ImageLine}}</text>
{{range .Panels}}<g class="panel" id="{{.ID}}" data-y0="{{.Y0}}" data-top="{{.Top}}" data-max="{{.Max}}">
<text x="{{$.Left}}" dx="-150" y="{{.LegendY}}" font-weight="bold" fill="#24292f">{{esc .Title}}</text>
{{range .Grid}}<line x1="{{$.Left}}" x2="{{$.Right}}" y1="{{printf "%.1f" .Y}}" y2="{{printf "%.1f" .Y}}" stroke="#d0d7de" stroke-width="1"/>
<text x="{{$.Left}}" dx="-6" y="{{printf "%.1f" .Y}}" dy="4" text-anchor="end" fill="#57606a">{{esc .Label}}</text>
{{end}}{{range .Series}}<polyline class="{{.Class}}" data-slot="{{esc .Slot}}" points="{{.Points}}" fill="none" stroke="{{.Colour}}" stroke-width="2.5"/>
{{end}}{{range .Legend}}<rect class="legend" x="{{$.Left}}" transform="translate(-150,0)" y="{{.Y}}" dy="-8" width="14" height="4" fill="{{.Colour}}"/><text x="{{$.Left}}" dx="-130" y="{{.Y}}" dy="5" fill="{{.Colour}}">{{esc .Slot}}</text>
{{end}}{{if .NoDataNote}}<text x="{{$.Left}}" y="{{.Y0}}" dy="-8" fill="#8c959f">{{esc .NoDataNote}}</text>
{{end}}</g>
{{end}}<g class="alarms" data-top="{{.AlarmTop}}">
<text x="{{.Left}}" dx="-150" y="{{.AlarmTop}}" dy="-8" font-weight="bold" fill="#24292f">Alarms in ALARM</text>
{{range .AlarmRows}}<text x="{{$.Left}}" dx="-6" y="{{.LabelY}}" text-anchor="end" fill="#57606a" font-size="10">{{esc .Alarm}}</text>
{{if .HasBand}}<rect class="alarm" data-alarm="{{esc .Alarm}}" data-from="{{.From}}" data-to="{{.To}}" x="{{printf "%.1f" .X}}" y="{{.Y}}" width="{{printf "%.1f" .W}}" height="14" fill="#cf222e" fill-opacity="0.35" stroke="#cf222e"><title>{{esc .Alarm}} in ALARM {{.From}} – {{.To}}{{.OpenSuffix}}</title></rect>
{{end}}{{end}}{{if not .AlarmRows}}<text x="{{.Left}}" y="{{.AlarmTop}}" dy="14" fill="#8c959f">none went into ALARM</text>
{{end}}</g>
<g class="markers">
{{range .Markers}}<g class="marker" data-kind="{{.Kind}}" data-at="{{.Time}}"><line x1="{{printf "%.1f" .X}}" x2="{{printf "%.1f" .X}}" y1="{{.Top}}" y2="{{.Bottom}}" stroke="{{.Colour}}" stroke-dasharray="4 3" stroke-width="1"/>
{{if .Label}}<text transform="translate({{printf "%.1f" .X}},{{.Top}}) rotate(-35)" dx="2" dy="-2" fill="{{.Colour}}" font-size="10">{{esc .Label}}</text>{{end}}</g>
{{end}}</g>
<g class="axis"><line x1="{{.Left}}" x2="{{.Right}}" y1="{{.AxisY}}" y2="{{.AxisY}}" stroke="#24292f"/>
{{range .Ticks}}<line x1="{{printf "%.1f" .X}}" x2="{{printf "%.1f" .X}}" y1="{{$.AxisY}}" y2="{{$.AxisY}}" stroke="#24292f"/><text x="{{printf "%.1f" .X}}" y="{{$.AxisY}}" dy="16" text-anchor="middle" fill="#57606a">{{esc .Label}}</text>
{{end}}</g>
<g class="marker-list">
{{range $i, $m := .MarkerList}}<text x="{{$.Left}}" y="{{$.ListY $i}}" fill="#24292f" font-size="11">{{esc $m}}</text>
{{end}}</g>
</svg>
`))

// ListY is the y of the i-th line of the marker list.
func (d *svgData) ListY(i int) int { return d.ListTop + 16*i }

func escape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// WriteSVG draws t as a standalone SVG document.
func WriteSVG(w io.Writer, t *Timeline) error {
	d := layout(t)
	if err := svgTemplate.Execute(w, d); err != nil {
		return fmt.Errorf("draw the timeline: %w", err)
	}
	return nil
}

func layout(t *Timeline) *svgData {
	// The axis runs a little past the end, so what happens at the end
	// (the rollback, a band opened by the alarm that ended it) shows.
	axisEnd := t.End.Add(t.End.Sub(t.Start) / 25)
	d := &svgData{T: t, Width: width, Left: plotLeft, Right: plotRight,
		T0: t.Start.UnixMilli(), T1: axisEnd.UnixMilli()}
	d.Title = fmt.Sprintf("%s in %s", orUnknown(t.Service), orUnknown(t.Environment))
	end := t.Outcome
	if end == "" {
		end = strings.ToLower(t.Status)
	}
	parts := []string{}
	if t.Strategy != "" {
		parts = append(parts, t.Strategy)
	}
	if t.Image != "" {
		d.ImageLine = "image " + t.Image
	}
	parts = append(parts, fmt.Sprintf("%s → %s (%s)", clockTime(t.Start), clockTime(t.End), t.End.Sub(t.Start).Round(time.Second)))
	if end != "" {
		parts = append(parts, end)
	}
	d.Subtitle = strings.Join(parts, " · ")

	x := func(at time.Time) float64 {
		span := axisEnd.Sub(t.Start)
		f := float64(at.Sub(t.Start)) / float64(span)
		f = min(max(f, 0), 1)
		return plotLeft + f*plotWidth
	}
	weights := svgPanel{ID: "weights", Title: "Traffic weight (%)", Top: weightTop, Y0: weightTop + weightH, Max: 100, LegendY: weightTop + 14}
	for _, v := range []int{0, 25, 50, 75, 100} {
		weights.Grid = append(weights.Grid, svgGrid{Y: yOf(v, 100, weightTop, weightH), Label: fmt.Sprint(v)})
	}
	weights.Series = series(t.Weights, "weight", 100, weightTop, weightH, x, axisEnd)
	if len(weights.Series) == 0 {
		weights.NoDataNote = "no traffic change recorded"
	}
	maxTasks := 1
	for _, s := range t.Tasks {
		for _, p := range s.Points {
			maxTasks = max(maxTasks, p.Value)
		}
	}
	tasks := svgPanel{ID: "tasks", Title: "Desired tasks", Top: tasksTop, Y0: tasksTop + tasksH, Max: maxTasks, LegendY: tasksTop + 14}
	for _, v := range gridSteps(maxTasks) {
		tasks.Grid = append(tasks.Grid, svgGrid{Y: yOf(v, maxTasks, tasksTop, tasksH), Label: fmt.Sprint(v)})
	}
	tasks.Series = series(t.Tasks, "tasks", maxTasks, tasksTop, tasksH, x, axisEnd)
	if len(tasks.Series) == 0 {
		tasks.NoDataNote = "task counts unknown (the plan could not be read)"
	}
	// Each panel names its slots under its title, in their colours.
	for _, p := range []*svgPanel{&weights, &tasks} {
		for i, s := range p.Series {
			p.Legend = append(p.Legend, svgLegend{Slot: s.Slot, Colour: s.Colour, Y: p.LegendY + 18*(i+1)})
		}
	}
	d.Panels = []svgPanel{weights, tasks}

	d.AlarmTop = alarmTop
	rows := map[string]int{}
	for _, b := range t.Alarms {
		row, ok := rows[b.Alarm]
		if !ok {
			row = len(rows)
			rows[b.Alarm] = row
		}
		y := alarmTop + row*alarmRowH
		band := svgBand{Alarm: b.Alarm, Y: y, LabelY: y + 11, X: x(b.From), HasBand: true,
			From: b.From.UTC().Format(time.RFC3339Nano), To: b.To.UTC().Format(time.RFC3339Nano), Open: b.Open}
		band.W = max(x(b.To)-band.X, 1)
		if b.Open {
			band.OpenSuffix = " (still in ALARM)"
		}
		d.AlarmRows = append(d.AlarmRows, band)
	}
	alarmBottom := alarmTop + max(len(rows), 1)*alarmRowH
	d.AxisY = alarmBottom + 10
	for _, m := range t.Markers {
		mk := svgMarker{Kind: m.Kind, Label: m.Label, Colour: markerColour(m.Kind),
			X: x(m.At), Top: weightTop, Bottom: d.AxisY, Time: m.At.UTC().Format(time.RFC3339Nano)}
		// Markers too close to read apart share the first one's label.
		for i := len(d.Markers) - 1; i >= 0; i-- {
			if prev := &d.Markers[i]; prev.Label != "" {
				if mk.X-prev.X < 9 {
					prev.Label += " · " + mk.Label
					mk.Label = ""
				}
				break
			}
		}
		d.Markers = append(d.Markers, mk)
	}
	for i := 0; i <= 6; i++ {
		at := t.Start.Add(time.Duration(float64(axisEnd.Sub(t.Start)) * float64(i) / 6))
		d.Ticks = append(d.Ticks, svgTick{X: x(at), Label: clockTime(at)})
	}
	d.ListTop = d.AxisY + 42
	for _, m := range t.Markers {
		d.MarkerList = append(d.MarkerList, fmt.Sprintf("%s  +%s  %s", clockTime(m.At), m.At.Sub(t.Start).Round(time.Second), m.Label))
	}
	for _, b := range t.Alarms {
		s := fmt.Sprintf("%s  +%s  %s in ALARM until %s", clockTime(b.From), b.From.Sub(t.Start).Round(time.Second), b.Alarm, clockTime(b.To))
		if b.Open {
			s = fmt.Sprintf("%s  +%s  %s in ALARM, still at the end", clockTime(b.From), b.From.Sub(t.Start).Round(time.Second), b.Alarm)
		}
		d.MarkerList = append(d.MarkerList, s)
	}
	d.Height = d.ListTop + 16*len(d.MarkerList) + 10
	return d
}

// series draws step lines: each value holds until the next point, the last
// until end.
func series(list []Series, class string, maxV, top, h int, x func(time.Time) float64, end time.Time) []svgSeries {
	var out []svgSeries
	for _, s := range list {
		if len(s.Points) == 0 {
			continue
		}
		var pts []string
		for j, p := range s.Points {
			y := yOf(p.Value, maxV, top, h)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.At), y))
			next := end
			if j+1 < len(s.Points) {
				next = s.Points[j+1].At
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(next), y))
		}
		out = append(out, svgSeries{Slot: s.Slot, Class: class, Colour: slotColour(s.Slot),
			Points: strings.Join(pts, " ")})
	}
	return out
}

func yOf(v, maxV, top, h int) float64 {
	if maxV <= 0 {
		maxV = 1
	}
	return float64(top+h) - float64(v)*float64(h)/float64(maxV)
}

func gridSteps(maxV int) []int {
	step := max(1, (maxV+3)/4)
	var out []int
	for v := 0; v <= maxV; v += step {
		out = append(out, v)
	}
	if out[len(out)-1] != maxV {
		out = append(out, maxV)
	}
	return out
}

func clockTime(t time.Time) string { return t.UTC().Format("15:04:05") }

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// WriteHTML writes a page embedding the SVG of t, for a browser.
func WriteHTML(w io.Writer, t *Timeline) error {
	var svg bytes.Buffer
	if err := WriteSVG(&svg, t); err != nil {
		return err
	}
	title := fmt.Sprintf("Slipway deployment of %s in %s", orUnknown(t.Service), orUnknown(t.Environment))
	_, err := fmt.Fprintf(w, `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>%s</title>
<style>body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#24292f}code{font-size:12px}</style></head>
<body>
<h1>%s</h1>
<p><code>%s</code></p>
%s</body>
</html>
`, escape(title), escape(title), escape(t.Execution), svg.String())
	if err != nil {
		return fmt.Errorf("write the page: %w", err)
	}
	return nil
}
