package s3

import (
	"encoding/json"
	"fmt"
	"time"
)

// snapshot is the persisted form of the service's state.
type snapshot struct {
	Seq     uint64           `json:"seq"`
	Buckets []snapshotBucket `json:"buckets"`
}

type snapshotBucket struct {
	Name         string                `json:"name"`
	Created      time.Time             `json:"created"`
	Versioning   string                `json:"versioning,omitempty"`
	EventBridge  bool                  `json:"eventBridge,omitempty"`
	Notification []byte                `json:"notification,omitempty"`
	Objects      map[string][]*version `json:"objects"`
}

// Snapshot returns the service's state as JSON, for --state-dir.
func (s *Service) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := snapshot{Seq: s.seq, Buckets: []snapshotBucket{}}
	for _, b := range s.buckets {
		snap.Buckets = append(snap.Buckets, snapshotBucket{Name: b.Name, Created: b.Created, Versioning: b.Versioning,
			EventBridge: b.EventBridge, Notification: b.Notification, Objects: b.Objects})
	}
	out, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("snapshot s3: %w", err)
	}
	return out, nil
}

// Restore replaces the service's state with a Snapshot.
func (s *Service) Restore(data []byte) error {
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("restore s3: %w", err)
	}
	buckets := make(map[string]*bucket, len(snap.Buckets))
	for i, sb := range snap.Buckets {
		if !validBucketName(sb.Name) {
			return fmt.Errorf("restore s3: buckets[%d].name: %q is not a valid bucket name", i, sb.Name)
		}
		if _, dup := buckets[sb.Name]; dup {
			return fmt.Errorf("restore s3: buckets[%d].name: %s appears twice", i, sb.Name)
		}
		objects := sb.Objects
		if objects == nil {
			objects = map[string][]*version{}
		}
		for key, vs := range objects {
			for j, v := range vs {
				if v == nil {
					return fmt.Errorf("restore s3: buckets[%d].objects[%q][%d]: null version", i, key, j)
				}
				if !v.DeleteMarker && v.ETag != etagOf(v.Data) {
					return fmt.Errorf("restore s3: buckets[%d].objects[%q][%d].ETag: does not match the data", i, key, j)
				}
			}
		}
		buckets[sb.Name] = &bucket{Name: sb.Name, Created: sb.Created, Versioning: sb.Versioning,
			EventBridge: sb.EventBridge, Notification: sb.Notification, Objects: objects}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets = buckets
	s.seq = snap.Seq
	return nil
}
