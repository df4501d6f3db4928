package s3

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strings"
	"time"
)

// etagMatches reports whether an If-Match / If-None-Match header value
// matches etag: "*" matches any, otherwise one of the comma-separated
// (quoted or unquoted) tags.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		if t == "*" || strings.Trim(t, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

func preconditionFailed() error {
	return errorf(http.StatusPreconditionFailed, "PreconditionFailed", "at least one of the pre-conditions you specified did not hold")
}

func noSuchKey(key string) error {
	return errorf(http.StatusNotFound, "NoSuchKey", "the specified key %s does not exist", key)
}

func (s *Service) putObject(w http.ResponseWriter, r *http.Request, bucketName, key string) error {
	if len(key) > 1024 {
		return errorf(http.StatusBadRequest, "KeyTooLongError", "your key is longer than 1024 bytes")
	}
	data, trailers, err := readPayload(r)
	if err != nil {
		return err
	}
	sums, err := verifyChecksums(data, r.Header, trailers)
	if err != nil {
		return err
	}
	v := &version{
		Data:        data,
		ETag:        etagOf(data),
		ContentType: r.Header.Get("Content-Type"),
		Encoding:    contentEncoding(r.Header.Get("Content-Encoding")),
		Metadata:    userMetadata(r.Header),
		Checksums:   sums,
	}
	if v.ContentType == "" {
		v.ContentType = "binary/octet-stream"
	}

	s.mu.Lock()
	b, ok := s.buckets[bucketName]
	if !ok {
		s.mu.Unlock()
		return noSuchBucket(bucketName)
	}
	if err := checkWriteConditions(r, b.current(key), key); err != nil {
		s.mu.Unlock()
		return err
	}
	v.Modified = s.clock.Now().UTC().Truncate(time.Second)
	s.add(b, key, v)
	versioned := b.Versioning == "Enabled"
	notify, everVersioned, seq := b.EventBridge, b.Versioning != "", s.seq
	s.mu.Unlock()

	if notify {
		s.emitCreated(r.Context(), bucketName, key, v, everVersioned, seq, "PutObject")
	}
	w.Header().Set("ETag", v.ETag)
	if versioned {
		w.Header().Set("X-Amz-Version-Id", v.ID)
	}
	for alg, sum := range sums {
		w.Header().Set("X-Amz-Checksum-"+strings.ToUpper(alg), sum)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// checkWriteConditions evaluates a write's If-None-Match (only "*": the key
// must not exist) and If-Match (the current ETag) against cur, the current
// version of key or nil.
func checkWriteConditions(r *http.Request, cur *version, key string) error {
	if h := r.Header.Get("If-None-Match"); h != "" {
		if strings.TrimSpace(h) != "*" {
			return errorf(http.StatusNotImplemented, "NotImplemented", "If-None-Match on writes only accepts *")
		}
		if cur != nil {
			return preconditionFailed()
		}
	}
	if h := r.Header.Get("If-Match"); h != "" {
		if cur == nil {
			return noSuchKey(key)
		}
		if !etagMatches(h, cur.ETag) {
			return preconditionFailed()
		}
	}
	return nil
}

// contentEncoding drops aws-chunked, a transfer framing, from a
// Content-Encoding header.
func contentEncoding(h string) string {
	var keep []string
	for _, e := range strings.Split(h, ",") {
		if e = strings.TrimSpace(e); e != "" && e != "aws-chunked" {
			keep = append(keep, e)
		}
	}
	return strings.Join(keep, ",")
}

func userMetadata(h http.Header) map[string]string {
	var m map[string]string
	for name, values := range h {
		if k, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-meta-"); ok && len(values) > 0 {
			if m == nil {
				m = map[string]string{}
			}
			m[k] = values[0]
		}
	}
	return m
}

func (s *Service) getObject(w http.ResponseWriter, r *http.Request, bucketName, key string) error {
	q := r.URL.Query()
	s.mu.Lock()
	b, ok := s.buckets[bucketName]
	if !ok {
		s.mu.Unlock()
		return noSuchBucket(bucketName)
	}
	var v *version
	showVersion := b.Versioning != ""
	if q.Has("versionId") {
		id := q.Get("versionId")
		v = b.find(key, id)
		s.mu.Unlock()
		if v == nil {
			return errorf(http.StatusNotFound, "NoSuchVersion", "the specified version %s of key %s does not exist", id, key)
		}
		if v.DeleteMarker {
			w.Header().Set("X-Amz-Delete-Marker", "true")
			w.Header().Set("X-Amz-Version-Id", v.ID)
			w.Header().Set("Last-Modified", httpTime(v.Modified))
			return methodNotAllowed(r)
		}
		showVersion = true
	} else {
		v = b.latest(key)
		s.mu.Unlock()
		if v == nil {
			return noSuchKey(key)
		}
		if v.DeleteMarker {
			w.Header().Set("X-Amz-Delete-Marker", "true")
			w.Header().Set("X-Amz-Version-Id", v.ID)
			return noSuchKey(key)
		}
	}
	// Versions are immutable once stored, so v is read outside the lock.
	h := w.Header()
	h.Set("ETag", v.ETag)
	h.Set("Last-Modified", httpTime(v.Modified))
	h.Set("Content-Type", v.ContentType)
	h.Set("Accept-Ranges", "bytes")
	if v.Encoding != "" {
		h.Set("Content-Encoding", v.Encoding)
	}
	if showVersion {
		h.Set("X-Amz-Version-Id", v.ID)
	}
	for k, val := range v.Metadata {
		h.Set("X-Amz-Meta-"+k, val)
	}
	if err := checkReadConditions(r, v); err != nil {
		return err
	}
	if strings.EqualFold(r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") && r.Header.Get("Range") == "" {
		for alg, sum := range v.Checksums {
			h.Set("X-Amz-Checksum-"+strings.ToUpper(alg), sum)
		}
		if len(v.Checksums) > 0 {
			h.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
		}
	}
	// ServeContent answers Range requests; the conditions were evaluated
	// above in S3's terms, so it sees none of them.
	rr := r.Clone(r.Context())
	for _, c := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"} {
		rr.Header.Del(c)
	}
	http.ServeContent(w, rr, "", v.Modified, bytes.NewReader(v.Data))
	return nil
}

// checkReadConditions evaluates If-Match, If-None-Match, If-Modified-Since
// and If-Unmodified-Since as S3 does for GetObject and HeadObject.
func checkReadConditions(r *http.Request, v *version) error {
	if h := r.Header.Get("If-Match"); h != "" && !etagMatches(h, v.ETag) {
		return preconditionFailed()
	}
	if h := r.Header.Get("If-Unmodified-Since"); h != "" && r.Header.Get("If-Match") == "" {
		if t, err := http.ParseTime(h); err == nil && v.Modified.After(t) {
			return preconditionFailed()
		}
	}
	notModified := errorf(http.StatusNotModified, "NotModified", "not modified")
	if h := r.Header.Get("If-None-Match"); h != "" {
		if etagMatches(h, v.ETag) {
			return notModified
		}
	} else if h := r.Header.Get("If-Modified-Since"); h != "" {
		if t, err := http.ParseTime(h); err == nil && !v.Modified.After(t) {
			return notModified
		}
	}
	return nil
}

// deletion is the outcome of deleting one key or version.
type deletion struct {
	VersionID    string // the version removed, or the delete marker created
	DeleteMarker bool   // a delete marker was created or removed
}

// deleteLocked deletes key (or one version of it) from b. Without a
// version id a versioned bucket gets a delete marker and an unversioned one
// loses the key. The caller holds s.mu.
func (s *Service) deleteLocked(b *bucket, key, versionID string, hasVersion bool) deletion {
	if hasVersion {
		vs := b.Objects[key]
		for i, v := range vs {
			if v.ID == versionID {
				b.Objects[key] = append(vs[:i:i], vs[i+1:]...)
				if len(b.Objects[key]) == 0 {
					delete(b.Objects, key)
				}
				return deletion{VersionID: v.ID, DeleteMarker: v.DeleteMarker}
			}
		}
		return deletion{VersionID: versionID}
	}
	if b.Versioning == "" {
		delete(b.Objects, key)
		return deletion{}
	}
	marker := &version{DeleteMarker: true, Modified: s.clock.Now().UTC().Truncate(time.Second)}
	s.add(b, key, marker)
	return deletion{VersionID: marker.ID, DeleteMarker: true}
}

func (s *Service) deleteObject(w http.ResponseWriter, r *http.Request, bucketName, key string) error {
	q := r.URL.Query()
	s.mu.Lock()
	b, ok := s.buckets[bucketName]
	if !ok {
		s.mu.Unlock()
		return noSuchBucket(bucketName)
	}
	if h := r.Header.Get("If-Match"); h != "" {
		cur := b.current(key)
		if cur == nil {
			s.mu.Unlock()
			return noSuchKey(key)
		}
		if !etagMatches(h, cur.ETag) {
			s.mu.Unlock()
			return preconditionFailed()
		}
	}
	d := s.deleteLocked(b, key, q.Get("versionId"), q.Has("versionId"))
	s.mu.Unlock()
	if d.DeleteMarker {
		w.Header().Set("X-Amz-Delete-Marker", "true")
	}
	if d.VersionID != "" {
		w.Header().Set("X-Amz-Version-Id", d.VersionID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Objects []struct {
		Key       string  `xml:"Key"`
		VersionID *string `xml:"VersionId"`
	} `xml:"Object"`
	Quiet bool `xml:"Quiet"`
}

type deleteResult struct {
	XMLName xml.Name       `xml:"DeleteResult"`
	Xmlns   string         `xml:"xmlns,attr"`
	Deleted []deletedEntry `xml:"Deleted"`
}

type deletedEntry struct {
	Key                   string `xml:"Key"`
	VersionID             string `xml:"VersionId,omitempty"`
	DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
	DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
}

// maxDeleteKeys is S3's limit of keys per DeleteObjects request.
const maxDeleteKeys = 1000

func (s *Service) deleteObjects(w http.ResponseWriter, r *http.Request, bucketName string) error {
	var req deleteRequest
	if err := readConfig(r, &req); err != nil {
		return err
	}
	if len(req.Objects) > maxDeleteKeys {
		return errorf(http.StatusBadRequest, "MalformedXML", "Delete: %d objects, at most %d allowed", len(req.Objects), maxDeleteKeys)
	}
	res := deleteResult{Xmlns: xmlns, Deleted: []deletedEntry{}}
	s.mu.Lock()
	b, ok := s.buckets[bucketName]
	if !ok {
		s.mu.Unlock()
		return noSuchBucket(bucketName)
	}
	for _, o := range req.Objects {
		var id string
		if o.VersionID != nil {
			id = *o.VersionID
		}
		d := s.deleteLocked(b, o.Key, id, o.VersionID != nil)
		e := deletedEntry{Key: o.Key}
		switch {
		case o.VersionID != nil:
			e.VersionID, e.DeleteMarker = *o.VersionID, d.DeleteMarker
		case d.DeleteMarker:
			e.DeleteMarker, e.DeleteMarkerVersionID = true, d.VersionID
		}
		if !req.Quiet {
			res.Deleted = append(res.Deleted, e)
		}
	}
	s.mu.Unlock()
	writeXML(w, http.StatusOK, res)
	return nil
}
