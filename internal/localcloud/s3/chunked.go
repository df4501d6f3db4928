package s3

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// crc64NVME is the reflected polynomial of CRC-64/NVME, the algorithm S3
// calls CRC64NVME.
const crc64NVME = 0x9a6c9329ac4bc9b5

// checksumHash returns the hash of an x-amz-checksum-<alg> header suffix.
func checksumHash(alg string) (hash.Hash, bool) {
	switch alg {
	case "crc32":
		return crc32.NewIEEE(), true
	case "crc32c":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli)), true
	case "crc64nvme":
		return crc64.New(crc64.MakeTable(crc64NVME)), true
	case "sha1":
		return sha1.New(), true
	case "sha256":
		return sha256.New(), true
	}
	return nil, false
}

// readPayload reads an object upload: a plain body, or an aws-chunked one
// (x-amz-content-sha256: STREAMING-…, or Content-Encoding aws-chunked) whose
// chunk framing is removed and whose trailing headers are returned. Chunk
// signatures are not checked, as no signature is. It enforces the object size
// limit and x-amz-decoded-content-length.
func readPayload(r *http.Request) (data []byte, trailers http.Header, err error) {
	chunked := strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-")
	for _, enc := range strings.Split(r.Header.Get("Content-Encoding"), ",") {
		if strings.TrimSpace(enc) == "aws-chunked" {
			chunked = true
		}
	}
	if !chunked {
		data, err = io.ReadAll(io.LimitReader(r.Body, maxObjectSize+1))
		if err != nil {
			return nil, nil, readErr(err)
		}
		if len(data) > maxObjectSize {
			return nil, nil, tooLarge()
		}
		return data, http.Header{}, nil
	}
	data, trailers, err = decodeChunked(bufio.NewReader(io.LimitReader(r.Body, 2*maxObjectSize)))
	if err != nil {
		return nil, nil, err
	}
	if dl := r.Header.Get("X-Amz-Decoded-Content-Length"); dl != "" {
		n, perr := strconv.Atoi(dl)
		if perr != nil || n != len(data) {
			return nil, nil, errorf(http.StatusBadRequest, "IncompleteBody", "x-amz-decoded-content-length %s does not match the %d bytes decoded", dl, len(data))
		}
	}
	return data, trailers, nil
}

func tooLarge() error {
	return errorf(http.StatusBadRequest, "EntityTooLarge", "your proposed upload exceeds the local endpoint's object size limit of %d bytes", maxObjectSize)
}

// decodeChunked decodes aws-chunked framing:
//
//	<hex size>[;chunk-signature=…]\r\n<data>\r\n … 0[;…]\r\n[<trailer>:<value>\r\n…]\r\n
func decodeChunked(br *bufio.Reader) ([]byte, http.Header, error) {
	malformed := func(format string, args ...any) error {
		return errorf(http.StatusBadRequest, "IncompleteBody", "malformed aws-chunked body: "+format, args...)
	}
	var data bytes.Buffer
	for {
		line, err := readLine(br)
		if err != nil {
			return nil, nil, malformed("chunk header: %v", err)
		}
		sizeText, _, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 16, 64)
		if err != nil || size < 0 {
			return nil, nil, malformed("chunk size %q", sizeText)
		}
		if size == 0 {
			break
		}
		if int64(data.Len())+size > maxObjectSize {
			return nil, nil, tooLarge()
		}
		if _, err := io.CopyN(&data, br, size); err != nil {
			return nil, nil, malformed("chunk of %d bytes: %v", size, err)
		}
		if end, err := readLine(br); err != nil || end != "" {
			return nil, nil, malformed("chunk of %d bytes not followed by CRLF", size)
		}
	}
	trailers := http.Header{}
	for {
		line, err := readLine(br)
		if errors.Is(err, io.EOF) || (err == nil && line == "") {
			break
		}
		if err != nil {
			return nil, nil, malformed("trailer: %v", err)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, nil, malformed("trailer %q", line)
		}
		trailers.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return data.Bytes(), trailers, nil
}

// readLine reads one CRLF- (or LF-) terminated line of at most 4 KiB.
func readLine(br *bufio.Reader) (string, error) {
	var line []byte
	for {
		part, isPrefix, err := br.ReadLine()
		if err != nil {
			return "", err
		}
		line = append(line, part...)
		if len(line) > 4096 {
			return "", errors.New("line longer than 4096 bytes")
		}
		if !isPrefix {
			return string(line), nil
		}
	}
}

// verifyChecksums checks Content-MD5 and every x-amz-checksum-<alg> given as
// a header or trailer against data, and returns the checksums to store.
func verifyChecksums(data []byte, headers, trailers http.Header) (map[string]string, error) {
	if want := headers.Get("Content-MD5"); want != "" {
		sum := md5.Sum(data)
		if base64.StdEncoding.EncodeToString(sum[:]) != want {
			return nil, errorf(http.StatusBadRequest, "BadDigest", "the Content-MD5 you specified did not match what we received")
		}
	}
	sums := map[string]string{}
	for _, h := range []http.Header{headers, trailers} {
		for name, values := range h {
			alg, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-checksum-")
			if !ok || alg == "mode" || alg == "type" || alg == "algorithm" || len(values) == 0 {
				continue
			}
			hh, known := checksumHash(alg)
			if !known {
				return nil, errorf(http.StatusBadRequest, "InvalidRequest", "unsupported checksum algorithm %s", alg)
			}
			hh.Write(data)
			got := base64.StdEncoding.EncodeToString(hh.Sum(nil))
			if got != values[0] {
				return nil, errorf(http.StatusBadRequest, "BadDigest", "the %s you specified did not match the calculated checksum", strings.ToUpper(alg))
			}
			sums[alg] = got
		}
	}
	return sums, nil
}
