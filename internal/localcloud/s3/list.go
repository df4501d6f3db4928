package s3

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// listParams are the listing parameters shared by the list operations.
type listParams struct {
	prefix, delimiter string
	maxKeys           int
	urlEncode         bool
}

func parseListParams(q url.Values) (listParams, error) {
	p := listParams{prefix: q.Get("prefix"), delimiter: q.Get("delimiter"), maxKeys: 1000}
	if mk := q.Get("max-keys"); mk != "" {
		n, err := strconv.Atoi(mk)
		if err != nil || n < 0 {
			return p, errorf(http.StatusBadRequest, "InvalidArgument", "max-keys: %q is not a non-negative integer", mk)
		}
		p.maxKeys = min(n, 1000)
	}
	switch et := q.Get("encoding-type"); et {
	case "":
	case "url":
		p.urlEncode = true
	default:
		return p, errorf(http.StatusBadRequest, "InvalidArgument", "encoding-type: %q is not url", et)
	}
	return p, nil
}

// encode applies encoding-type=url to a key or prefix in a listing.
func (p listParams) encode(s string) string {
	if !p.urlEncode {
		return s
	}
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// rollup returns the common prefix key falls under with the delimiter, or "".
func (p listParams) rollup(key string) string {
	if p.delimiter == "" {
		return ""
	}
	rest := key[len(p.prefix):]
	if i := strings.Index(rest, p.delimiter); i >= 0 {
		return p.prefix + rest[:i+len(p.delimiter)]
	}
	return ""
}

type objectEntry struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int    `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listV2Result struct {
	XMLName               xml.Name       `xml:"ListBucketResult"`
	Xmlns                 string         `xml:"xmlns,attr"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	KeyCount              int            `xml:"KeyCount"`
	IsTruncated           bool           `xml:"IsTruncated"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	Marker                *string        `xml:"Marker"`
	NextMarker            string         `xml:"NextMarker,omitempty"`
	Contents              []objectEntry  `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

// listObjects serves ListObjectsV2 (list-type=2) and ListObjects.
func (s *Service) listObjects(w http.ResponseWriter, r *http.Request, name string) error {
	q := r.URL.Query()
	p, err := parseListParams(q)
	if err != nil {
		return err
	}
	v2 := q.Get("list-type") == "2"
	// after is the key (or common prefix) the listing continues past.
	var after string
	res := listV2Result{Xmlns: xmlns, Name: name, Prefix: p.encode(p.prefix), Delimiter: p.encode(p.delimiter), MaxKeys: p.maxKeys}
	if p.urlEncode {
		res.EncodingType = "url"
	}
	if v2 {
		after = q.Get("start-after")
		res.StartAfter = p.encode(after)
		if tok := q.Get("continuation-token"); tok != "" {
			b, err := base64.RawURLEncoding.DecodeString(tok)
			if err != nil {
				return errorf(http.StatusBadRequest, "InvalidArgument", "the continuation token provided is incorrect")
			}
			after = string(b)
			res.ContinuationToken = tok
		}
	} else {
		after = q.Get("marker")
		marker := p.encode(after)
		res.Marker = &marker
	}

	s.mu.Lock()
	b, ok := s.buckets[name]
	if !ok {
		s.mu.Unlock()
		return noSuchBucket(name)
	}
	var last string
	seen := map[string]bool{}
	for _, key := range b.sortedKeys() {
		if !strings.HasPrefix(key, p.prefix) || key <= after {
			continue
		}
		cur := b.current(key)
		if cur == nil {
			continue
		}
		cp := p.rollup(key)
		if cp != "" && (seen[cp] || cp <= after) {
			continue
		}
		if res.KeyCount == p.maxKeys {
			// max-keys=0 asks for no keys, not for a page that never ends.
			res.IsTruncated = p.maxKeys > 0
			break
		}
		res.KeyCount++
		if cp != "" {
			seen[cp] = true
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: p.encode(cp)})
			last = cp
			continue
		}
		res.Contents = append(res.Contents, objectEntry{Key: p.encode(key), LastModified: isoTime(cur.Modified), ETag: cur.ETag, Size: len(cur.Data), StorageClass: "STANDARD"})
		last = key
	}
	s.mu.Unlock()
	if res.IsTruncated {
		if v2 {
			res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(last))
		} else if p.delimiter != "" {
			res.NextMarker = p.encode(last)
		}
	}
	if !v2 {
		res.KeyCount = 0
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

type versionEntry struct {
	XMLName      xml.Name
	Key          string `xml:"Key"`
	VersionID    string `xml:"VersionId"`
	IsLatest     bool   `xml:"IsLatest"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag,omitempty"`
	Size         *int   `xml:"Size"`
	StorageClass string `xml:"StorageClass,omitempty"`
	Owner        owner  `xml:"Owner"`
}

type listVersionsResult struct {
	XMLName             xml.Name       `xml:"ListVersionsResult"`
	Xmlns               string         `xml:"xmlns,attr"`
	Name                string         `xml:"Name"`
	Prefix              string         `xml:"Prefix"`
	KeyMarker           string         `xml:"KeyMarker"`
	VersionIDMarker     string         `xml:"VersionIdMarker"`
	NextKeyMarker       string         `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string         `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int            `xml:"MaxKeys"`
	Delimiter           string         `xml:"Delimiter,omitempty"`
	EncodingType        string         `xml:"EncodingType,omitempty"`
	IsTruncated         bool           `xml:"IsTruncated"`
	Entries             []versionEntry // Version and DeleteMarker elements, in listing order
	CommonPrefixes      []commonPrefix `xml:"CommonPrefixes"`
}

// listVersions serves ListObjectVersions: keys in order, each key's
// versions newest first, paged by key-marker and version-id-marker.
func (s *Service) listVersions(w http.ResponseWriter, r *http.Request, name string) error {
	q := r.URL.Query()
	p, err := parseListParams(q)
	if err != nil {
		return err
	}
	keyMarker, idMarker := q.Get("key-marker"), q.Get("version-id-marker")
	if idMarker != "" && keyMarker == "" {
		return errorf(http.StatusBadRequest, "InvalidArgument", "a version-id marker cannot be specified without a key marker")
	}
	res := listVersionsResult{Xmlns: xmlns, Name: name, Prefix: p.encode(p.prefix), KeyMarker: p.encode(keyMarker),
		VersionIDMarker: idMarker, MaxKeys: p.maxKeys, Delimiter: p.encode(p.delimiter)}
	if p.urlEncode {
		res.EncodingType = "url"
	}
	s.mu.Lock()
	b, ok := s.buckets[name]
	if !ok {
		s.mu.Unlock()
		return noSuchBucket(name)
	}
	count := 0
	seen := map[string]bool{}
	var lastKey, lastID string
keys:
	for _, key := range b.sortedKeys() {
		if !strings.HasPrefix(key, p.prefix) || key < keyMarker || (key == keyMarker && idMarker == "") {
			continue
		}
		if cp := p.rollup(key); cp != "" {
			if seen[cp] || (keyMarker != "" && cp <= keyMarker) {
				continue
			}
			if count == p.maxKeys {
				res.IsTruncated = p.maxKeys > 0
				break
			}
			count++
			seen[cp] = true
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: p.encode(cp)})
			lastKey, lastID = cp, ""
			continue
		}
		vs := b.Objects[key]
		skipping := key == keyMarker
		for i := len(vs) - 1; i >= 0; i-- {
			v := vs[i]
			if skipping {
				if v.ID == idMarker {
					skipping = false
				}
				continue
			}
			if count == p.maxKeys {
				res.IsTruncated = p.maxKeys > 0
				break keys
			}
			count++
			e := versionEntry{XMLName: xml.Name{Local: "Version"}, Key: p.encode(key), VersionID: v.ID, IsLatest: i == len(vs)-1,
				LastModified: isoTime(v.Modified), Owner: localOwner()}
			if v.DeleteMarker {
				e.XMLName.Local = "DeleteMarker"
			} else {
				size := len(v.Data)
				e.ETag, e.Size, e.StorageClass = v.ETag, &size, "STANDARD"
			}
			res.Entries = append(res.Entries, e)
			lastKey, lastID = key, v.ID
		}
	}
	s.mu.Unlock()
	if res.IsTruncated {
		res.NextKeyMarker, res.NextVersionIDMarker = p.encode(lastKey), lastID
	}
	writeXML(w, http.StatusOK, res)
	return nil
}
