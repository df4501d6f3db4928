package trigger

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// permutations returns every order of xs.
func permutations(xs []string) [][]string {
	if len(xs) <= 1 {
		return [][]string{slices.Clone(xs)}
	}
	var out [][]string
	for i := range xs {
		rest := append(slices.Clone(xs[:i]), xs[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]string{xs[i]}, p...))
		}
	}
	return out
}

// TestSpecUploadAnyOrder: the example specs uploaded one by one, each
// handled before the next arrives, in every one of the 120 possible orders
// (`aws s3 cp --recursive` promises none, and environments and services
// name each other): every file is accepted and the index lists every
// service, whatever the order.
func TestSpecUploadAnyOrder(t *testing.T) {
	root := os.DirFS("../../examples")
	var keys []string
	bodies := map[string][]byte{}
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if _, err := ParseSpecKey(p); err != nil {
			return nil // not a spec file (a README, say)
		}
		b, err := fs.ReadFile(root, p)
		keys, bodies[p] = append(keys, p), b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 4 {
		t.Fatalf("got %d example spec files, want the example world (3 services, 2 environments)", len(keys))
	}
	var wantServices []string
	for _, k := range keys {
		if ref, _ := ParseSpecKey(k); ref.Kind == SpecService {
			wantServices = append(wantServices, ref.Name)
		}
	}
	slices.Sort(wantServices)

	for _, order := range permutations(keys) {
		st := newFakeStore()
		r := newUploadRig(st)
		for _, k := range order {
			st.put(k, "v1", bodies[k])
			if err := r.h.Handle(context.Background(), objectEvent(t, k, "v1", len(bodies[k]))); err != nil {
				t.Fatalf("order %v: handle %s: %v", order, k, err)
			}
		}
		if len(st.rejections) > 0 {
			t.Errorf("order %v: got rejections, want none:\n%s", order, fmt.Sprint(st.rejections))
			continue
		}
		var got []string
		for name := range st.index.Entries {
			got = append(got, name)
		}
		slices.Sort(got)
		if diff := cmp.Diff(wantServices, got); diff != "" {
			t.Errorf("order %v: indexed services (-want +got):\n%s", order, diff)
		}
		for _, k := range keys {
			if st.accepted[k].Version != "v1" {
				t.Errorf("order %v: %s not recorded as accepted", order, k)
			}
		}
	}
}

// TestSpecUploadPendingReference: a service whose pipeline names an
// environment not uploaded yet is accepted, saying so in the log; the pair
// is validated when the environment arrives, and an environment that cannot
// run the service is then the upload rejected.
func TestSpecUploadPendingReference(t *testing.T) {
	ctx := context.Background()
	st := bucket(t)
	r := newUploadRig(st)
	body := strings.Replace(specFile(t, "services/web.yaml"), "pipeline: [staging, prod]", "pipeline: [staging, qa]", 1)
	st.put("services/web.yaml", "web-v2", []byte(body))
	if err := r.h.Handle(ctx, objectEvent(t, "services/web.yaml", "web-v2", len(body))); err != nil {
		t.Fatal(err)
	}
	if len(st.rejections) != 0 {
		t.Fatalf("got rejections %+v, want the service accepted while qa is not uploaded", st.rejections)
	}
	if got := st.index.Entries["web"].SpecVersion; got != "web-v2" {
		t.Errorf("got indexed web version %q, want web-v2", got)
	}
	rec := r.logs.find(t, "accepted with a reference to a file not uploaded yet: checked when it is")
	if p, _ := rec["pending"].(string); !strings.Contains(p, `environment "qa" does not exist`) {
		t.Errorf("got pending %q, want the missing environment named", p)
	}

	// qa arrives, but as a Fargate cluster without subnets: web cannot run
	// there, so qa (the upload that completes the pair) is rejected.
	qa := "cluster: qa\nlaunchType: FARGATE\n"
	st.put("environments/qa.yaml", "qa-v1", []byte(qa))
	if err := r.h.Handle(ctx, objectEvent(t, "environments/qa.yaml", "qa-v1", len(qa))); err != nil {
		t.Fatal(err)
	}
	if len(st.rejections) != 1 || st.rejections[0].Key != "environments/qa.yaml" {
		t.Fatalf("got rejections %+v, want environments/qa.yaml rejected for what it does to web", st.rejections)
	}
	if all := strings.Join(st.rejections[0].Problems, "\n"); !strings.Contains(all, "rendering web for environment qa") {
		t.Errorf("got problems\n%s\nwant the web × qa pairing named", all)
	}
}
