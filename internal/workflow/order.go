package workflow

import "time"

// Order places a deployment among the other requests of its service and
// environment by what it deploys, one time for each part it is made of:
// the image, the service spec and the environment spec. One request time
// cannot order them: a spec upload redeploys the image the service runs
// when it is handled, so it is newer than a push whose event is still on
// its way only in its spec, and older in its image. Ordered by the upload
// alone, it would supersede that push and leave the service on the older
// image; ordered by the push alone, the push would undo the spec.
//
// Of two deployments, one whose every part is at least as new as the
// other's covers it; when neither covers the other, the one that goes on
// takes the newer parts of the other first (Adopt), so that what each asked
// for is deployed.
type Order struct {
	// Image is when the image was asked for: the push of a push, the
	// request of a person naming one, and for a deployment that redeploys
	// the image the service runs (a spec upload), that image's own time.
	Image time.Time `json:"image,omitzero"`
	// ServiceSpec and EnvironmentSpec are when the versions of the spec
	// files deployed were uploaded (their S3 LastModified).
	ServiceSpec     time.Time `json:"serviceSpec,omitzero"`
	EnvironmentSpec time.Time `json:"environmentSpec,omitzero"`
}

// OrderOf returns o with every unknown part set to requestedAt: a record
// written before orders were kept is ordered by its request time alone, as
// it was then.
func OrderOf(o Order, requestedAt time.Time) Order {
	if o.Image.IsZero() {
		o.Image = requestedAt
	}
	if o.ServiceSpec.IsZero() {
		o.ServiceSpec = requestedAt
	}
	if o.EnvironmentSpec.IsZero() {
		o.EnvironmentSpec = requestedAt
	}
	return o
}

// IsZero reports whether no part of o is known.
func (o Order) IsZero() bool {
	return o.Image.IsZero() && o.ServiceSpec.IsZero() && o.EnvironmentSpec.IsZero()
}

func (o Order) parts() [3]time.Time { return [3]time.Time{o.Image, o.ServiceSpec, o.EnvironmentSpec} }

// Newer reports whether o covers p and is newer in at least one part: p must
// not run after o. A part unknown on either side (zero) orders nothing, so
// two orders with no part known on both sides are never newer.
func (o Order) Newer(p Order) bool {
	a, b := o.parts(), p.parts()
	newer, known := false, false
	for i := range a {
		if a[i].IsZero() || b[i].IsZero() {
			continue
		}
		known = true
		if a[i].Before(b[i]) {
			return false
		}
		if a[i].After(b[i]) {
			newer = true
		}
	}
	return known && newer
}

// Behind returns the parts in which o is older than p.
func (o Order) Behind(p Order) Parts {
	a, b := o.parts(), p.parts()
	var out Parts
	for i := range a {
		if !a[i].IsZero() && !b[i].IsZero() && a[i].Before(b[i]) {
			out |= 1 << i
		}
	}
	return out
}

// Parts is a set of the parts of an Order.
type Parts uint8

// The parts of an order.
const (
	PartImage Parts = 1 << iota
	PartServiceSpec
	PartEnvironmentSpec
)

// Has reports whether part is in ps.
func (ps Parts) Has(part Parts) bool { return ps&part != 0 }

// Pins are what a deployment deploys, each part with its time: the image
// reference and the versions of the two spec files.
type Pins struct {
	// Image is the pinned image reference (repository-uri@sha256:…).
	Image string `json:"image,omitempty"`
	// SpecVersion and EnvironmentSpecVersion are S3 version ids.
	SpecVersion            string `json:"specVersion,omitempty"`
	EnvironmentSpecVersion string `json:"environmentSpecVersion,omitempty"`
	// Order is when each was asked for.
	Order Order `json:"order,omitzero"`
}

// Join returns p with every part of q that is newer than p's, and the parts
// taken. A part is taken with its pin: the image reference with the image's
// time, a spec version with its upload time. Images are taken only when
// images is true (q has not run: it is superseded, and its image must not
// be lost). Otherwise q has begun changing the service already: its image
// either runs now or failed and was rolled back, so p's image becomes ""
// (the image the service runs), and takes q's time, so that requests older
// than q stay superseded.
func (p Pins) Join(q Pins, images bool) (Pins, Parts) {
	behind := p.Order.Behind(q.Order)
	var taken Parts
	if behind.Has(PartImage) {
		p.Order.Image = q.Order.Image
		if images {
			p.Image = q.Image
		} else {
			p.Image = "" // the image the service runs
		}
		taken |= PartImage
	}
	if behind.Has(PartServiceSpec) {
		p.SpecVersion, p.Order.ServiceSpec = q.SpecVersion, q.Order.ServiceSpec
		taken |= PartServiceSpec
	}
	if behind.Has(PartEnvironmentSpec) {
		p.EnvironmentSpecVersion, p.Order.EnvironmentSpec = q.EnvironmentSpecVersion, q.Order.EnvironmentSpec
		taken |= PartEnvironmentSpec
	}
	return p, taken
}
