package s3

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

// localOwner is the owner of every bucket and object.
func localOwner() owner { return owner{ID: protocol.Account, DisplayName: "slipway-local"} }

type listBucketsResult struct {
	XMLName xml.Name      `xml:"ListAllMyBucketsResult"`
	Xmlns   string        `xml:"xmlns,attr"`
	Owner   owner         `xml:"Owner"`
	Buckets []bucketEntry `xml:"Buckets>Bucket"`
}

type bucketEntry struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
}

func (s *Service) listBuckets(w http.ResponseWriter) error {
	s.mu.Lock()
	res := listBucketsResult{Xmlns: xmlns, Owner: localOwner(), Buckets: []bucketEntry{}}
	for _, b := range s.buckets {
		res.Buckets = append(res.Buckets, bucketEntry{Name: b.Name, CreationDate: isoTime(b.Created)})
	}
	s.mu.Unlock()
	slices.SortFunc(res.Buckets, func(a, b bucketEntry) int { return strings.Compare(a.Name, b.Name) })
	writeXML(w, http.StatusOK, res)
	return nil
}

func (s *Service) createBucket(w http.ResponseWriter, r *http.Request, name string) error {
	if !validBucketName(name) {
		return invalidBucketName(name)
	}
	// The body, when present, is a CreateBucketConfiguration; the location
	// it names is accepted whatever it is, since there is one region here.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxConfigBody+1))
	if err != nil {
		return readErr(err)
	}
	if len(bytes.TrimSpace(body)) > 0 {
		var cfg struct {
			XMLName xml.Name `xml:"CreateBucketConfiguration"`
		}
		if err := xml.Unmarshal(body, &cfg); err != nil {
			return malformedXML(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[name]; ok {
		return errorf(http.StatusConflict, "BucketAlreadyOwnedByYou", "your previous request to create the named bucket %s succeeded and you already own it", name)
	}
	s.buckets[name] = &bucket{Name: name, Created: s.clock.Now().UTC(), Objects: map[string][]*version{}}
	w.Header().Set("Location", "/"+name)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) headBucket(w http.ResponseWriter, name string) error {
	s.mu.Lock()
	_, ok := s.buckets[name]
	s.mu.Unlock()
	if !ok {
		return noSuchBucket(name)
	}
	w.Header().Set("X-Amz-Bucket-Region", s.region)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) deleteBucket(w http.ResponseWriter, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[name]
	if !ok {
		return noSuchBucket(name)
	}
	for _, vs := range b.Objects {
		if len(vs) > 0 {
			return errorf(http.StatusConflict, "BucketNotEmpty", "the bucket %s you tried to delete is not empty; versions and delete markers count too", name)
		}
	}
	delete(s.buckets, name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type versioningConfiguration struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	Xmlns     string   `xml:"xmlns,attr,omitempty"`
	Status    string   `xml:"Status,omitempty"`
	MfaDelete string   `xml:"MfaDelete,omitempty"`
}

func (s *Service) putVersioning(w http.ResponseWriter, r *http.Request, name string) error {
	var cfg versioningConfiguration
	if err := readConfig(r, &cfg); err != nil {
		return err
	}
	if cfg.Status != "Enabled" && cfg.Status != "Suspended" {
		return errorf(http.StatusBadRequest, "MalformedXML", "VersioningConfiguration.Status: %q is not Enabled or Suspended", cfg.Status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[name]
	if !ok {
		return noSuchBucket(name)
	}
	b.Versioning = cfg.Status
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) getVersioning(w http.ResponseWriter, name string) error {
	s.mu.Lock()
	b, ok := s.buckets[name]
	var status string
	if ok {
		status = b.Versioning
	}
	s.mu.Unlock()
	if !ok {
		return noSuchBucket(name)
	}
	writeXML(w, http.StatusOK, versioningConfiguration{Xmlns: xmlns, Status: status})
	return nil
}

// notificationConfiguration reads what matters of a bucket's notification
// configuration: whether EventBridge is on. Topic, queue and Lambda
// configurations are kept as given but not delivered.
type notificationConfiguration struct {
	XMLName     xml.Name  `xml:"NotificationConfiguration"`
	EventBridge *struct{} `xml:"EventBridgeConfiguration"`
}

const emptyNotification = `<NotificationConfiguration xmlns="` + xmlns + `"></NotificationConfiguration>`

func (s *Service) putNotification(w http.ResponseWriter, r *http.Request, name string) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxConfigBody+1))
	if err != nil {
		return readErr(err)
	}
	if len(body) > maxConfigBody {
		return errorf(http.StatusBadRequest, "MalformedXML", "configuration larger than %d bytes", maxConfigBody)
	}
	var cfg notificationConfiguration
	if err := xml.Unmarshal(body, &cfg); err != nil {
		return malformedXML(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[name]
	if !ok {
		return noSuchBucket(name)
	}
	b.EventBridge = cfg.EventBridge != nil
	b.Notification = body
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) getNotification(w http.ResponseWriter, name string) error {
	s.mu.Lock()
	b, ok := s.buckets[name]
	var body []byte
	if ok {
		body = b.Notification
	}
	s.mu.Unlock()
	if !ok {
		return noSuchBucket(name)
	}
	if len(body) == 0 {
		body = []byte(emptyNotification)
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

func (s *Service) getLocation(w http.ResponseWriter, name string) error {
	s.mu.Lock()
	_, ok := s.buckets[name]
	s.mu.Unlock()
	if !ok {
		return noSuchBucket(name)
	}
	loc := s.region
	if loc == "us-east-1" {
		// S3 reports the original region as an empty constraint.
		loc = ""
	}
	writeXML(w, http.StatusOK, struct {
		XMLName xml.Name `xml:"LocationConstraint"`
		Xmlns   string   `xml:"xmlns,attr"`
		Value   string   `xml:",chardata"`
	}{Xmlns: xmlns, Value: loc})
	return nil
}
