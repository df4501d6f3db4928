package workflow

import (
	"testing"
	"time"
)

func TestOrderNewer(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(time.Second), t0.Add(time.Minute)
	o := func(img, svc, env time.Time) Order { return Order{Image: img, ServiceSpec: svc, EnvironmentSpec: env} }
	tests := map[string]struct {
		a, b        Order
		newer       bool
		behind      Parts
		behindOther Parts
	}{
		"newer image":                 {a: o(t2, t0, t0), b: o(t1, t0, t0), newer: true, behindOther: PartImage},
		"equal":                       {a: o(t1, t1, t1), b: o(t1, t1, t1)},
		"newer spec, older image":     {a: o(t0, t2, t0), b: o(t1, t0, t0), behind: PartImage, behindOther: PartServiceSpec},
		"newer in every part":         {a: o(t2, t2, t2), b: o(t0, t1, t0), newer: true, behindOther: PartImage | PartServiceSpec | PartEnvironmentSpec},
		"older environment spec only": {a: o(t1, t1, t0), b: o(t1, t1, t1), behind: PartEnvironmentSpec},
		"unknown parts order nothing": {a: o(t2, time.Time{}, time.Time{}), b: o(time.Time{}, t1, t1)},
		"a known part decides":        {a: o(t2, time.Time{}, t0), b: o(t1, t1, t0), newer: true, behindOther: PartImage},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.a.Newer(tc.b); got != tc.newer {
				t.Errorf("Newer: got %v, want %v", got, tc.newer)
			}
			if tc.newer && tc.b.Newer(tc.a) {
				t.Error("both newer than the other")
			}
			if got := tc.a.Behind(tc.b); got != tc.behind {
				t.Errorf("a.Behind(b): got %b, want %b", got, tc.behind)
			}
			if got := tc.b.Behind(tc.a); got != tc.behindOther {
				t.Errorf("b.Behind(a): got %b, want %b", got, tc.behindOther)
			}
		})
	}
}

func TestPinsJoin(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(time.Second), t0.Add(time.Minute)
	push := Pins{Image: "repo@sha256:new", SpecVersion: "s1", EnvironmentSpecVersion: "e1", Order: Order{Image: t2, ServiceSpec: t0, EnvironmentSpec: t0}}
	upload := Pins{Image: "repo@sha256:old", SpecVersion: "s2", EnvironmentSpecVersion: "e1", Order: Order{Image: t1, ServiceSpec: t1, EnvironmentSpec: t0}}

	// The push takes the upload's newer service spec, keeps its image.
	got, taken := push.Join(upload, true)
	want := Pins{Image: "repo@sha256:new", SpecVersion: "s2", EnvironmentSpecVersion: "e1", Order: Order{Image: t2, ServiceSpec: t1, EnvironmentSpec: t0}}
	if got != want || taken != PartServiceSpec {
		t.Errorf("push joins upload: got %+v, %b; want %+v, %b", got, taken, want, PartServiceSpec)
	}
	// The upload takes a pending push's image.
	got, taken = upload.Join(push, true)
	want = Pins{Image: "repo@sha256:new", SpecVersion: "s2", EnvironmentSpecVersion: "e1", Order: Order{Image: t2, ServiceSpec: t1, EnvironmentSpec: t0}}
	if got != want || taken != PartImage {
		t.Errorf("upload joins a pending push: got %+v, %b; want %+v, %b", got, taken, want, PartImage)
	}
	// Of a push that has run, only the image's time: the image the service
	// runs is deployed ("").
	got, taken = upload.Join(push, false)
	want = Pins{SpecVersion: "s2", EnvironmentSpecVersion: "e1", Order: Order{Image: t2, ServiceSpec: t1, EnvironmentSpec: t0}}
	if got != want || taken != PartImage {
		t.Errorf("upload joins a push that ran: got %+v, %b; want %+v, %b", got, taken, want, PartImage)
	}
	// Nothing newer: nothing taken.
	if got, taken := push.Join(push, true); got != push || taken != 0 {
		t.Errorf("join with itself: got %+v, %b", got, taken)
	}
}
