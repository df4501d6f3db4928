package s3

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// minPartSize is S3's smallest part, except for the last one.
const minPartSize = 5 << 20

// maxPartNumber is S3's highest part number.
const maxPartNumber = 10000

// upload is a multipart upload in progress. Uploads live in memory only;
// they do not survive a restart.
type upload struct {
	ID          string
	Bucket, Key string
	ContentType string
	Metadata    map[string]string
	Initiated   time.Time
	Parts       map[int]*part
	size        int
}

// part is one uploaded part.
type part struct {
	Data []byte
	ETag string // quoted MD5 of Data
}

func noSuchUpload(id string) error {
	return errorf(http.StatusNotFound, "NoSuchUpload", "the specified multipart upload %s does not exist; it may have been aborted or completed", id)
}

type initiateResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	Xmlns    string   `xml:"xmlns,attr"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

func (s *Service) createMultipartUpload(w http.ResponseWriter, r *http.Request, bucketName, key string) error {
	if len(key) > 1024 {
		return errorf(http.StatusBadRequest, "KeyTooLongError", "your key is longer than 1024 bytes")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[bucketName]; !ok {
		return noSuchBucket(bucketName)
	}
	s.seq++
	sum := md5.Sum(fmt.Appendf(nil, "slipway-upload-%d", s.seq))
	u := &upload{ID: hex.EncodeToString(sum[:]), Bucket: bucketName, Key: key, ContentType: r.Header.Get("Content-Type"),
		Metadata: userMetadata(r.Header), Initiated: s.clock.Now().UTC(), Parts: map[int]*part{}}
	if u.ContentType == "" {
		u.ContentType = "binary/octet-stream"
	}
	if s.uploads == nil {
		s.uploads = map[string]*upload{}
	}
	s.uploads[u.ID] = u
	writeXML(w, http.StatusOK, initiateResult{Xmlns: xmlns, Bucket: bucketName, Key: key, UploadID: u.ID})
	return nil
}

// findUpload returns the upload with the given id for bucket/key. The
// caller holds s.mu.
func (s *Service) findUpload(bucketName, key, id string) (*upload, error) {
	if _, ok := s.buckets[bucketName]; !ok {
		return nil, noSuchBucket(bucketName)
	}
	u, ok := s.uploads[id]
	if !ok || u.Bucket != bucketName || u.Key != key {
		return nil, noSuchUpload(id)
	}
	return u, nil
}

func (s *Service) uploadPart(w http.ResponseWriter, r *http.Request, bucketName, key string) error {
	q := r.URL.Query()
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > maxPartNumber {
		return errorf(http.StatusBadRequest, "InvalidArgument", "partNumber: %q must be an integer between 1 and %d", q.Get("partNumber"), maxPartNumber)
	}
	data, trailers, err := readPayload(r)
	if err != nil {
		return err
	}
	sums, err := verifyChecksums(data, r.Header, trailers)
	if err != nil {
		return err
	}
	p := &part{Data: data, ETag: etagOf(data)}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.findUpload(bucketName, key, q.Get("uploadId"))
	if err != nil {
		return err
	}
	newSize := u.size + len(data)
	if old, ok := u.Parts[n]; ok {
		newSize -= len(old.Data)
	}
	if newSize > maxObjectSize {
		return tooLarge()
	}
	u.Parts[n], u.size = p, newSize
	w.Header().Set("ETag", p.ETag)
	for alg, sum := range sums {
		w.Header().Set("X-Amz-Checksum-"+strings.ToUpper(alg), sum)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

type completeRequest struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

type completeResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	Xmlns    string   `xml:"xmlns,attr"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

func (s *Service) completeMultipartUpload(w http.ResponseWriter, r *http.Request, bucketName, key string) error {
	var req completeRequest
	if err := readConfig(r, &req); err != nil {
		return err
	}
	if len(req.Parts) == 0 {
		return errorf(http.StatusBadRequest, "MalformedXML", "CompleteMultipartUpload: at least one Part is required")
	}
	id := r.URL.Query().Get("uploadId")
	s.mu.Lock()
	u, err := s.findUpload(bucketName, key, id)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	var (
		data []byte
		md5s []byte
	)
	for i, rp := range req.Parts {
		if i > 0 && rp.PartNumber <= req.Parts[i-1].PartNumber {
			s.mu.Unlock()
			return errorf(http.StatusBadRequest, "InvalidPartOrder", "the list of parts was not in ascending order: part %d follows part %d", rp.PartNumber, req.Parts[i-1].PartNumber)
		}
	}
	for i, rp := range req.Parts {
		p, ok := u.Parts[rp.PartNumber]
		if !ok || strings.Trim(rp.ETag, `"`) != strings.Trim(p.ETag, `"`) {
			s.mu.Unlock()
			return errorf(http.StatusBadRequest, "InvalidPart", "part %d was not uploaded or its ETag %s does not match", rp.PartNumber, rp.ETag)
		}
		if i < len(req.Parts)-1 && len(p.Data) < minPartSize {
			s.mu.Unlock()
			return errorf(http.StatusBadRequest, "EntityTooSmall", "part %d is %d bytes; every part but the last must be at least %d", rp.PartNumber, len(p.Data), minPartSize)
		}
		data = append(data, p.Data...)
		sum, _ := hex.DecodeString(strings.Trim(p.ETag, `"`))
		md5s = append(md5s, sum...)
	}
	b := s.buckets[bucketName]
	if err := checkWriteConditions(r, b.current(key), key); err != nil {
		s.mu.Unlock()
		return err
	}
	total := md5.Sum(md5s)
	v := &version{Data: data, ETag: fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(total[:]), len(req.Parts)),
		ContentType: u.ContentType, Metadata: u.Metadata, Modified: s.clock.Now().UTC().Truncate(time.Second)}
	s.add(b, key, v)
	delete(s.uploads, id)
	versioned := b.Versioning == "Enabled"
	notify, everVersioned, seq := b.EventBridge, b.Versioning != "", s.seq
	s.mu.Unlock()

	if notify {
		s.emitCreated(r.Context(), bucketName, key, v, everVersioned, seq, "CompleteMultipartUpload")
	}
	if versioned {
		w.Header().Set("X-Amz-Version-Id", v.ID)
	}
	writeXML(w, http.StatusOK, completeResult{Xmlns: xmlns, Location: "/" + bucketName + "/" + key, Bucket: bucketName, Key: key, ETag: v.ETag})
	return nil
}

func (s *Service) abortMultipartUpload(w http.ResponseWriter, r *http.Request, bucketName, key string) error {
	id := r.URL.Query().Get("uploadId")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.findUpload(bucketName, key, id); err != nil {
		return err
	}
	delete(s.uploads, id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
