package deploy

import (
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// A spec upload redeploys the image the service runs when it is handled;
// a push made before the upload whose event is still on its way has a
// newer image and an older spec. Ordered by one request time, the push was
// superseded by the upload and the service stayed on the older image
// (found by the event storm of issue 14 with service spec uploads). Ordered
// by part (workflow.Order), the newest image and the newest spec are both
// deployed, whichever request arrives first.

// orderWorld is a rolling service that runs v1, deployed by a push at
// base, with the requests a test makes of it.
type orderWorld struct {
	*world
	sc   strategyCase
	base time.Time
}

func newOrderWorld(t *testing.T) orderWorld {
	sc := strategyCases()["rolling"]
	w := newWorld(t)
	sc.before(w)
	o := orderWorld{world: w, sc: sc, base: w.now.Add(-time.Hour)}
	w.firstSpecAt = o.base.Add(-24 * time.Hour) // the specs were uploaded the day before
	first := newExecution(w, "exec-v1", o.push("v1", o.base))
	first.run()
	if first.state != workflow.StateDeployed {
		t.Fatalf("v1: got %s, want %s (path %v)", first.state, workflow.StateDeployed, first.path)
	}
	return o
}

// push is the request of a push of tag at.
func (o orderWorld) push(tag string, at time.Time) workflow.Request {
	o.image(o.sc.service, tag)
	r := request(o.sc, tag)
	r.Trigger = workflow.Trigger{Kind: workflow.TriggerECRPush, Source: "event-" + tag, Actor: "ecr"}
	r.RequestedAt = at
	// The service spec accepted when the push was handled: the first.
	r.SpecVersion = "v1"
	return r
}

// upload uploads the service spec again as version id, now, and returns
// the request of its event.
func (o orderWorld) upload(id string) workflow.Request {
	at := o.uploadSpec("services/"+o.sc.service+".yaml", id)
	r := request(o.sc, "")
	r.SpecVersion = id
	r.Trigger = workflow.Trigger{Kind: workflow.TriggerSpecUpload, Source: "services/web.yaml@" + id, Actor: "s3"}
	r.RequestedAt = at
	return r
}

// check asserts the end of x, and that ECS runs tag with spec version
// specVersion, as its newest history entry says.
func (o orderWorld) check(t *testing.T, x *execution, end, tag, specVersion string) {
	t.Helper()
	if x.state != end {
		t.Errorf("%s: got %s, want %s (path %v)", x.arn, x.state, end, x.path)
	}
	if got, want := o.view().Services[o.sc.service].Image, o.image(o.sc.service, tag); got != want {
		t.Errorf("ECS runs %s, want %s (%s)", got, want, tag)
	}
	if end != workflow.StateDeployed {
		return
	}
	h, err := o.historyOf(x.st.Deployment.ID)
	if err != nil {
		t.Fatal(err)
	}
	if h.Pins.SpecVersion != specVersion || h.Image != o.image(o.sc.service, tag) {
		t.Errorf("history of %s: deployed %s with spec %s, want %s with spec %s", x.arn, h.Image, h.Pins.SpecVersion,
			o.image(o.sc.service, tag), specVersion)
	}
}

// TestLatePushAfterSpecUpload: the push's event arrives after the upload's
// deployment ran: the push deploys its image with the uploaded spec; a
// push older still, arriving later, changes nothing.
func TestLatePushAfterSpecUpload(t *testing.T) {
	o := newOrderWorld(t)
	pushV2 := o.push("v2", o.base.Add(10*time.Minute)) // pushed before the upload, delivered after
	pushOld := o.push("v1b", o.base.Add(5*time.Minute))
	o.advance(time.Minute)
	upload := newExecution(o.world, "exec-upload", o.upload("s2"))
	upload.run()
	o.check(t, upload, workflow.StateDeployed, "v1", "s2")

	o.advance(time.Minute)
	late := newExecution(o.world, "exec-v2", pushV2)
	late.run()
	o.check(t, late, workflow.StateDeployed, "v2", "s2")

	o.advance(time.Minute)
	older := newExecution(o.world, "exec-v1b", pushOld)
	older.run()
	o.check(t, older, workflow.StateSuperseded, "v2", "")
}

// TestSpecUploadTakesAWaitingPush: a push waits for the lock while another
// deployment applies, and a spec upload arrives: the upload takes the
// waiting push's image (and replaces it), so the push's image is not lost
// to the older one the service runs.
func TestSpecUploadTakesAWaitingPush(t *testing.T) {
	o := newOrderWorld(t)
	running := newExecution(o.world, "exec-v2", o.push("v2", o.base.Add(10*time.Minute)))
	running.runUntil(workflow.StateAwaitStable)
	waiting := newExecution(o.world, "exec-v3", o.push("v3", o.base.Add(20*time.Minute)))
	waiting.runUntil(workflow.StateAwaitLock)
	o.advance(time.Minute)
	upload := newExecution(o.world, "exec-upload", o.upload("s2"))
	upload.runUntil(workflow.StateAwaitLock)
	waiting.run()
	running.run()
	upload.run()
	if running.state != workflow.StateDeployed {
		t.Errorf("v2: got %s, want %s (path %v)", running.state, workflow.StateDeployed, running.path)
	}
	o.check(t, waiting, workflow.StateSuperseded, "v3", "")
	o.check(t, upload, workflow.StateDeployed, "v3", "s2")
}

// TestPushTakesAWaitingSpecUpload: the other way round: the upload waits
// first, then a push arrives, made before the upload: the push takes the
// upload's spec and replaces it.
func TestPushTakesAWaitingSpecUpload(t *testing.T) {
	o := newOrderWorld(t)
	running := newExecution(o.world, "exec-v2", o.push("v2", o.base.Add(10*time.Minute)))
	running.runUntil(workflow.StateAwaitStable)
	pushV3 := o.push("v3", o.base.Add(20*time.Minute))
	o.advance(time.Minute)
	upload := newExecution(o.world, "exec-upload", o.upload("s2"))
	upload.runUntil(workflow.StateAwaitLock)
	late := newExecution(o.world, "exec-v3", pushV3)
	late.runUntil(workflow.StateAwaitLock)
	upload.run()
	running.run()
	late.run()
	o.check(t, upload, workflow.StateSuperseded, "v3", "")
	o.check(t, late, workflow.StateDeployed, "v3", "s2")
}

// TestSpecUploadSupersedesAPreparedPush: a push that has prepared but not
// started applying, and an upload that arrives then: the upload takes the
// push's image and supersedes it, so one deployment deploys both.
func TestSpecUploadSupersedesAPreparedPush(t *testing.T) {
	o := newOrderWorld(t)
	pending := newExecution(o.world, "exec-v2", o.push("v2", o.base.Add(10*time.Minute)))
	pending.runUntil(workflow.StateApply)
	o.advance(time.Minute)
	upload := newExecution(o.world, "exec-upload", o.upload("s2"))
	upload.run()
	pending.run()
	o.check(t, upload, workflow.StateDeployed, "v2", "s2")
	if pending.state != workflow.StateSuperseded {
		t.Errorf("the prepared push: got %s, want %s (path %v)", pending.state, workflow.StateSuperseded, pending.path)
	}
}

// TestPersonsSpecVersionWins: a person who deploys an older spec version
// by hand (the console's input, naming no image) chose it now: it is not
// replaced by the newer version an upload deployed before, and a push
// whose event arrives later, handled with the upload's version accepted,
// deploys its image with the person's spec.
func TestPersonsSpecVersionWins(t *testing.T) {
	o := newOrderWorld(t)
	o.advance(time.Minute)
	upload := newExecution(o.world, "exec-upload", o.upload("s2"))
	upload.run()
	o.check(t, upload, workflow.StateDeployed, "v1", "s2")

	o.advance(time.Minute)
	back := request(o.sc, "")
	back.SpecVersion = "v1"
	back.Trigger = workflow.Trigger{Kind: workflow.TriggerManual, Actor: "alice"}
	byHand := newExecution(o.world, "exec-by-hand", back)
	byHand.run()
	o.check(t, byHand, workflow.StateDeployed, "v1", "v1")

	o.advance(time.Minute)
	push := o.push("v2", o.base.Add(10*time.Minute))
	push.SpecVersion = "s2"
	late := newExecution(o.world, "exec-v2", push)
	late.run()
	o.check(t, late, workflow.StateDeployed, "v2", "v1")
}
