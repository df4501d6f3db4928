package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/operator"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// TestDiffAndReportEndToEnd: against the local endpoint with real canary
// deployments of web to staging, diff shows the image change before the
// deployment (exit 1) and nothing after it (exit 0); report draws the
// successful and the rolled-back deployment, and the SVG's series are
// those of the execution: the weight of the new slot at each step is the
// weight each ShiftTraffic set, and the alarm band spans the time
// CloudWatch's alarm history says the alarm was in ALARM.
func TestDiffAndReportEndToEnd(t *testing.T) {
	r, op := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	push := func(tag string) string {
		t.Helper()
		return localAccount + ".dkr.ecr." + r.Region() + ".amazonaws.com/web@" + pushWeb(ctx, t, r, tag)[tag]
	}
	deploy := func(tag string) operator.Execution {
		t.Helper()
		res := cli("deploy", "--env", "staging", "--image", tag, "web")
		res.want(t, exitOK, ":execution:Slipway-deploy:web-staging-")
		x, err := op.Watch(ctx, strings.TrimSpace(res.stdout), func(string) {})
		if err != nil {
			t.Fatal(err)
		}
		return x
	}

	// Bad input: one line naming what exists, exit 2.
	res := cli("diff", "nosuch", "--env", "staging")
	res.want(t, exitUsage)
	res.wantErr(t, `unknown service "nosuch"`, "has agent, web, worker")
	res = cli("report", "web", "--env", "qa")
	res.want(t, exitUsage)
	res.wantErr(t, `unknown environment "qa"`, "has prod, staging")
	cli("report", "web", "--env", "staging", "-o", "x.png").want(t, exitUsage)
	res = cli("report", "arn:aws:states:"+r.Region()+":"+localAccount+":execution:Slipway-deploy:web-staging-nope")
	res.want(t, exitUsage)
	res.wantErr(t, "no such execution", "slipway status")
	cli("diff", "web", "--env", "staging", "--output", "yaml").want(t, exitUsage)

	// The seeded world runs v1 of every service, deployed from these
	// specs: rolling, DAEMON and canary alike, nothing differs.
	for _, svc := range []string{"worker", "agent", "web"} {
		img, err := ecr.NewFromConfig(r.AWS).DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(svc),
			ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String(endpoint.InitialTag)}}})
		if err != nil || len(img.ImageDetails) != 1 {
			t.Fatalf("describe %s:%s: %v", svc, endpoint.InitialTag, err)
		}
		ref := localAccount + ".dkr.ecr." + r.Region() + ".amazonaws.com/" + svc + "@" + aws.ToString(img.ImageDetails[0].ImageDigest)
		cli("diff", svc, "--env", "staging", "--image", ref).want(t, exitOK, "no difference")
	}

	good := push("rc2")
	res = cli("diff", "web", "--env", "staging", "--image", good)
	res.want(t, exitFailed, "--- live/taskDefinition", "+++ desired/taskDefinition", "+      \"image\": \""+good+"\"")
	t.Logf("diff before the deployment:\n%s", res.stdout)
	if strings.Contains(res.stdout, "\x1b[") {
		t.Errorf("diff to a pipe: got colour codes in\n%s", res.stdout)
	}
	for _, field := range []string{"taskDefinitionArn", "revision", "registeredAt", "\"status\""} {
		if strings.Contains(res.stdout, field) {
			t.Errorf("diff: got the server-filled field %s in\n%s", field, res.stdout)
		}
	}
	res = cli("diff", "web", "--env", "staging", "--image", good, "--output", "json")
	res.want(t, exitFailed)
	var dj diffJSON
	if err := json.Unmarshal([]byte(res.stdout), &dj); err != nil || !dj.Changed || dj.LiveService == "" {
		t.Fatalf("diff --output json: got %s (%v), want changed with a live service", res.stdout, err)
	}

	x := deploy("rc2")
	if !x.Deployed() {
		t.Fatalf("deployment of rc2: got %s in %s, want Deployed", x.Status, x.State)
	}
	cli("diff", "web", "--env", "staging").want(t, exitOK, "no difference (live: web--")
	cli("diff", "web", "--env", "staging", "--image", good, "--dir", "../../examples").want(t, exitOK, "no difference")
	cli("diff", "web", "--env", "staging", "--image", "rc2").want(t, exitOK, "no difference") // a tag, resolved as deploy does
	res = cli("diff", "web", "--env", "staging", "--image", "nosuchtag")
	res.want(t, exitUsage)
	res.wantErr(t, "--image nosuchtag", "tag not found")

	dir := t.TempDir()
	okSVG := filepath.Join(dir, "ok.svg")
	cli("report", "web", "--env", "staging", "-o", okSVG).want(t, exitOK, okSVG)
	checkReport(ctx, t, r, okSVG, x.ARN)

	// The rollback: web:rc3 answers half its requests with 5xx.
	bad := push("rc3")
	digest := bad[strings.Index(bad, "@")+1:]
	control := endpoint.Control{URL: r.URL}
	if _, err := control.Apply(ctx, faults.State{Images: map[string]faults.Behaviour{digest: {ErrorRate: 0.5}}}); err != nil {
		t.Fatal(err)
	}
	x = deploy("rc3")
	if x.State != workflow.StateRolledBack {
		t.Fatalf("deployment of rc3: got %s in %s, want RolledBack", x.Status, x.State)
	}
	badSVG := filepath.Join(dir, "rollback.svg")
	cli("report", x.ARN, "-o", badSVG).want(t, exitOK)
	bands := checkReport(ctx, t, r, badSVG, x.ARN)
	if bands == 0 {
		t.Errorf("report of the rollback: got no alarm band, want the 5xx alarm's")
	}
	// After the rollback the live slot runs rc2 again: no difference.
	cli("diff", "web", "--env", "staging", "--image", good).want(t, exitOK, "no difference")

	page := filepath.Join(dir, "rollback.html")
	cli("report", x.ARN, "-o", page).want(t, exitOK)
	checkDraws(t, page)
}

// svgDoc is the part of the report's SVG the checks read.
type svgDoc struct {
	T0    int64      `xml:"data-t0,attr"`
	T1    int64      `xml:"data-t1,attr"`
	Left  float64    `xml:"data-left,attr"`
	Right float64    `xml:"data-right,attr"`
	Gs    []svgGroup `xml:"g"`
}

type svgGroup struct {
	Class string  `xml:"class,attr"`
	ID    string  `xml:"id,attr"`
	Y0    float64 `xml:"data-y0,attr"`
	Top   float64 `xml:"data-top,attr"`
	Max   float64 `xml:"data-max,attr"`
	Lines []struct {
		Class  string `xml:"class,attr"`
		Slot   string `xml:"data-slot,attr"`
		Points string `xml:"points,attr"`
	} `xml:"polyline"`
	Rects []struct {
		Class string  `xml:"class,attr"`
		Alarm string  `xml:"data-alarm,attr"`
		From  string  `xml:"data-from,attr"`
		To    string  `xml:"data-to,attr"`
		X     float64 `xml:"x,attr"`
		W     float64 `xml:"width,attr"`
	} `xml:"rect"`
}

// checkReport parses the SVG at path and checks it against the execution
// arn and CloudWatch's alarm history; it returns the number of alarm bands.
func checkReport(ctx context.Context, t *testing.T, r *endpoint.Running, path, arn string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc svgDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	// What the execution did, from its history.
	hist, err := sfn.NewFromConfig(r.AWS).GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: &arn, MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	want := []int{0}
	slot := ""
	var start, end time.Time
	for i, e := range hist.Events {
		if i == 0 {
			start = aws.ToTime(e.Timestamp)
		}
		end = aws.ToTime(e.Timestamp)
		d := e.StateExitedEventDetails
		if d == nil {
			continue
		}
		var st workflow.State
		if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &st); err != nil {
			continue
		}
		if st.Plan.Slot != "" {
			slot = st.Plan.Slot
		}
		switch aws.ToString(d.Name) {
		case workflow.StateShiftTraffic:
			want = append(want, st.Progress.Weight)
		case workflow.StateRollback:
			want = append(want, 0)
		}
	}
	want = slices.Compact(want)
	// The timeline spans the execution as DescribeExecution reports it.
	d, err := sfn.NewFromConfig(r.AWS).DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: &arn})
	if err != nil {
		t.Fatal(err)
	}
	if s := aws.ToTime(d.StartDate); s.Before(start) {
		start = s
	}
	end = aws.ToTime(d.StopDate)
	var got []int
	bands := 0
	for _, g := range doc.Gs {
		if g.ID == "weights" {
			for _, l := range g.Lines {
				if l.Slot != slot {
					continue
				}
				for _, p := range strings.Fields(l.Points) {
					_, ys, _ := strings.Cut(p, ",")
					y, _ := strconv.ParseFloat(ys, 64)
					got = append(got, int((g.Y0-y)*g.Max/(g.Y0-g.Top)+0.5))
				}
			}
		}
		if g.Class == "alarms" {
			for _, rc := range g.Rects {
				if rc.Class != "alarm" {
					continue
				}
				bands++
				checkBand(ctx, t, r, doc, rc.Alarm, rc.From, rc.To, rc.X, rc.W, start, end)
			}
		}
	}
	// The derived task counts end where ECS's desired counts are now.
	for _, g := range doc.Gs {
		if g.ID != "tasks" {
			continue
		}
		for _, l := range g.Lines {
			pts := strings.Fields(l.Points)
			_, ys, _ := strings.Cut(pts[len(pts)-1], ",")
			y, _ := strconv.ParseFloat(ys, 64)
			drawn := int((g.Y0-y)*g.Max/(g.Y0-g.Top) + 0.5)
			out, err := ecs.NewFromConfig(r.AWS).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"web--" + l.Slot}})
			if err != nil || len(out.Services) != 1 {
				t.Fatalf("describe web--%s: %v", l.Slot, err)
			}
			if live := int(out.Services[0].DesiredCount); drawn != live {
				t.Errorf("%s: tasks of slot %s end at %d, want %d (ECS's desired count)", filepath.Base(path), l.Slot, drawn, live)
			}
		}
	}
	if got = slices.Compact(got); !slices.Equal(got, want) {
		t.Errorf("%s: weights of slot %s drawn %v, want %v (the execution's shifts)", filepath.Base(path), slot, got, want)
	}
	return bands
}

// checkBand checks one alarm band against CloudWatch's alarm history: it
// starts when the alarm went into ALARM (or at the deployment's start) and
// ends when it left (or at the deployment's end), and is drawn there.
func checkBand(ctx context.Context, t *testing.T, r *endpoint.Running, doc svgDoc, alarm, from, to string, x, w float64, start, end time.Time) {
	t.Helper()
	out, err := cloudwatch.NewFromConfig(r.AWS).DescribeAlarmHistory(ctx, &cloudwatch.DescribeAlarmHistoryInput{
		AlarmName: &alarm, HistoryItemType: cwtypes.HistoryItemTypeStateUpdate, ScanBy: cwtypes.ScanByTimestampAscending})
	if err != nil {
		t.Fatal(err)
	}
	var in, left time.Time
	for _, it := range out.AlarmHistoryItems {
		at := aws.ToTime(it.Timestamp)
		s := aws.ToString(it.HistorySummary)
		switch {
		case strings.HasSuffix(s, "to ALARM") && !at.After(end):
			in, left = at, time.Time{}
		case strings.HasPrefix(s, "Alarm updated from ALARM") && !in.IsZero() && left.IsZero():
			left = at
		}
	}
	if in.IsZero() {
		t.Fatalf("alarm %s: a band is drawn but CloudWatch's history has no ALARM", alarm)
	}
	wantFrom, wantTo := in, end
	if in.Before(start) {
		wantFrom = start
	}
	if !left.IsZero() && left.Before(end) {
		wantTo = left
	}
	gotFrom, err1 := time.Parse(time.RFC3339Nano, from)
	gotTo, err2 := time.Parse(time.RFC3339Nano, to)
	if err1 != nil || err2 != nil || !gotFrom.Equal(wantFrom) || !gotTo.Equal(wantTo) {
		t.Errorf("alarm %s band: got %s – %s, want %s – %s (CloudWatch's history within the execution)", alarm, from, to,
			wantFrom.Format(time.RFC3339Nano), wantTo.Format(time.RFC3339Nano))
	}
	// Drawn where the times are.
	xOf := func(at time.Time) float64 {
		return doc.Left + float64(at.UnixMilli()-doc.T0)/float64(doc.T1-doc.T0)*(doc.Right-doc.Left)
	}
	if d := x - xOf(wantFrom); d < -1 || d > 1 {
		t.Errorf("alarm %s band: drawn at x %.1f, want %.1f", alarm, x, xOf(wantFrom))
	}
	if d := x + w - xOf(wantTo); d < -1.5 || d > 1.5 {
		t.Errorf("alarm %s band: ends at x %.1f, want %.1f", alarm, x+w, xOf(wantTo))
	}
}

// chromium finds Debian's chromium (make browser installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on the PATH and `make browser` could not install it (it needs apt-get as root): the HTML report is not rendered in a browser")
	return ""
}

// checkDraws renders the HTML report in headless chromium: the DOM it
// builds holds the SVG with its series, and the screenshot is not blank.
func checkDraws(t *testing.T, page string) {
	t.Helper()
	bin := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	home := t.TempDir()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--user-data-dir=" + filepath.Join(home, "profile")}
	cmd := exec.CommandContext(ctx, bin, append(args, "--dump-dom", "file://"+page)...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"<svg", `class="weight"`, `class="tasks"`, `class="alarm"`, `class="marker"`} {
		if !strings.Contains(string(dom), want) {
			t.Errorf("chromium's DOM of the report: no %s in\n%.2000s", want, dom)
		}
	}
	shot := filepath.Join(home, "report.png")
	cmd = exec.CommandContext(ctx, bin, append(args, "--screenshot="+shot, "--window-size=1000,800", "file://"+page)...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	colours := map[[3]uint32]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}]++
		}
	}
	// The slots' blue and green lines and the alarm's red are drawn.
	if !hasColour(colours, 0x1f, 0x6f, 0xeb) || !hasColour(colours, 0x2d, 0xa4, 0x4e) || len(colours) < 20 {
		t.Errorf("screenshot: %d colours, blue line %v, green line %v; want the chart drawn", len(colours),
			hasColour(colours, 0x1f, 0x6f, 0xeb), hasColour(colours, 0x2d, 0xa4, 0x4e))
	}
}

// hasColour reports whether a colour near (r, g, b) covers a few pixels.
func hasColour(colours map[[3]uint32]int, r, g, b uint32) bool {
	n := 0
	for c, count := range colours {
		if near(c[0], r) && near(c[1], g) && near(c[2], b) {
			n += count
		}
	}
	return n >= 5
}

func near(a, b uint32) bool { return a+12 >= b && b+12 >= a }
