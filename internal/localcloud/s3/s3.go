// Package s3 simulates the part of Amazon S3 that Slipway and a user's aws
// CLI session need, over path-style REST-XML: buckets, versioning, objects
// with versions, ListObjectsV2 and ListObjectVersions, conditional writes
// and deletes, and "Object Created" events for buckets with EventBridge
// notifications turned on.
package s3

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// maxObjectSize bounds one object; objects are held in memory.
const maxObjectSize = 64 << 20

// Options configure a Service.
type Options struct {
	// Clock stamps objects and buckets; nil uses the real clock.
	Clock clock.Clock
	// Region is reported by HeadBucket and GetBucketLocation; empty means
	// protocol.DefaultRegion.
	Region string
	// Events receives "Object Created" events; nil discards them.
	Events protocol.EventSink
}

// Service is the simulated S3. It is an http.Handler for path-style
// requests; state is guarded by a mutex.
type Service struct {
	clock  clock.Clock
	region string
	events protocol.EventSink

	mu      sync.Mutex
	buckets map[string]*bucket
	uploads map[string]*upload // multipart uploads in progress, by id
	seq     uint64             // orders versions, uploads and event sequencers
}

// bucket is the state of one bucket.
type bucket struct {
	Name    string
	Created time.Time
	// Versioning is "" (never enabled), "Enabled" or "Suspended".
	Versioning string
	// EventBridge is on when the notification configuration has an
	// EventBridgeConfiguration.
	EventBridge bool
	// Notification is the notification configuration as last put.
	Notification []byte
	// Objects maps a key to its versions, oldest first.
	Objects map[string][]*version
}

// version is one version of an object, or a delete marker.
type version struct {
	ID           string
	Data         []byte
	ETag         string // quoted MD5 of Data
	Modified     time.Time
	ContentType  string
	Encoding     string
	Metadata     map[string]string
	Checksums    map[string]string // x-amz-checksum-<alg> → value
	DeleteMarker bool
}

// New returns an empty S3.
func New(opts Options) *Service {
	s := &Service{clock: opts.Clock, region: opts.Region, events: opts.Events, buckets: map[string]*bucket{}}
	if s.clock == nil {
		s.clock = clock.Real()
	}
	if s.region == "" {
		s.region = protocol.DefaultRegion
	}
	if s.events == nil {
		s.events = protocol.DiscardEvents{}
	}
	return s
}

// latest returns the newest version of key, nil when there is none.
func (b *bucket) latest(key string) *version {
	vs := b.Objects[key]
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}

// current returns the newest version of key unless it is a delete marker.
func (b *bucket) current(key string) *version {
	v := b.latest(key)
	if v == nil || v.DeleteMarker {
		return nil
	}
	return v
}

// find returns the version of key with the given id.
func (b *bucket) find(key, id string) *version {
	for _, v := range b.Objects[key] {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// add records v as the newest version of key. Outside an Enabled bucket the
// version is the "null" version, which replaces an earlier null version.
func (s *Service) add(b *bucket, key string, v *version) {
	s.seq++
	if b.Versioning == "Enabled" {
		v.ID = versionID(s.seq)
	} else {
		v.ID = "null"
		vs := b.Objects[key][:0:0]
		for _, old := range b.Objects[key] {
			if old.ID != "null" {
				vs = append(vs, old)
			}
		}
		b.Objects[key] = vs
	}
	b.Objects[key] = append(b.Objects[key], v)
}

// versionID derives a 32-character version id from a sequence number:
// unique, opaque-looking and stable across a snapshot.
func versionID(seq uint64) string {
	sum := md5.Sum(fmt.Appendf(nil, "slipway-version-%d", seq))
	return hex.EncodeToString(sum[:])
}

func etagOf(data []byte) string {
	sum := md5.Sum(data)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// sortedKeys returns the bucket's keys in byte order.
func (b *bucket) sortedKeys() []string {
	keys := make([]string, 0, len(b.Objects))
	for k, vs := range b.Objects {
		if len(vs) > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// emitCreated publishes the "Object Created" event of a put, as S3 sends it
// through EventBridge.
func (s *Service) emitCreated(ctx context.Context, bucketName, key string, v *version, versioned bool, sequencer uint64, reason string) {
	object := map[string]any{
		"key":       key,
		"size":      len(v.Data),
		"etag":      strings.Trim(v.ETag, `"`),
		"sequencer": fmt.Sprintf("%018X", sequencer),
	}
	if versioned {
		object["version-id"] = v.ID
	}
	s.events.PutEvent(context.WithoutCancel(ctx), protocol.Event{
		Source:     "aws.s3",
		DetailType: "Object Created",
		Resources:  []string{"arn:aws:s3:::" + bucketName},
		Detail: map[string]any{
			"version":           "0",
			"bucket":            map[string]any{"name": bucketName},
			"object":            object,
			"request-id":        protocol.RequestID(ctx),
			"requester":         protocol.Account,
			"source-ip-address": "127.0.0.1",
			"reason":            reason,
		},
	})
}
