// Package s3 is a thin adapter over the aws-sdk-go-v2 S3 client: whole-object
// reads and writes with the conditional headers Slipway's locks and indexes
// rely on, listing by prefix, and S3 errors mapped to the sentinels and
// workflow error types the rest of Slipway tests for.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdks3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// ErrNotFound means the object (or the requested version of it) does not exist.
var ErrNotFound = errors.New("not found")

// ErrPreconditionFailed means a conditional request's precondition did not
// hold: the object existed for If-None-Match "*", its ETag differed for
// If-Match, or a concurrent conditional write to the same key won.
var ErrPreconditionFailed = errors.New("precondition failed")

// ErrNoSuchBucket means the bucket does not exist; the error wrapping it
// names the bucket.
var ErrNoSuchBucket = errors.New("bucket does not exist")

// ErrTooLarge means the object is larger than the reader's limit; the
// error is a *TooLargeError naming the object, its size and the limit.
var ErrTooLarge = errors.New("object too large")

// DefaultMaxSize is the most Get reads, in bytes: every document Slipway
// keeps is far smaller, and a larger object, whoever wrote it, must not
// exhaust the memory of the function reading it.
const DefaultMaxSize = 16 << 20

// TooLargeError is returned for an object larger than the reader's limit.
type TooLargeError struct {
	// Location is the object, "s3://bucket/key" with its version if given.
	Location string
	// Size is the object's size; -1 when S3 did not say (no Content-Length)
	// and the body ran past Limit.
	Size int64
	// Limit is the most the reader accepts, in bytes.
	Limit int64
}

// Error says how large the object is and what the limit is.
func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("get %s: more than the limit of %d bytes", e.Location, e.Limit)
	}
	return fmt.Sprintf("get %s: %d bytes, more than the limit of %d bytes", e.Location, e.Size, e.Limit)
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// api lists the SDK S3 client methods the adapter uses.
type api interface {
	GetObject(context.Context, *sdks3.GetObjectInput, ...func(*sdks3.Options)) (*sdks3.GetObjectOutput, error)
	PutObject(context.Context, *sdks3.PutObjectInput, ...func(*sdks3.Options)) (*sdks3.PutObjectOutput, error)
	HeadObject(context.Context, *sdks3.HeadObjectInput, ...func(*sdks3.Options)) (*sdks3.HeadObjectOutput, error)
	DeleteObject(context.Context, *sdks3.DeleteObjectInput, ...func(*sdks3.Options)) (*sdks3.DeleteObjectOutput, error)
	ListObjectsV2(context.Context, *sdks3.ListObjectsV2Input, ...func(*sdks3.Options)) (*sdks3.ListObjectsV2Output, error)
}

// Client reads and writes S3 objects.
type Client struct {
	api api
}

// New returns a Client over an SDK S3 client (normally *s3.Client).
func New(api api) *Client {
	return &Client{api: api}
}

// Object is an object's content and identity.
type Object struct {
	Body []byte
	// VersionID is the S3 version id; empty when the bucket is not versioned.
	VersionID string
	// ETag is the entity tag as S3 returns it (quoted); pass it back
	// unchanged as a precondition.
	ETag string
	// LastModified is when this version was written (whole seconds, as
	// S3's Last-Modified header gives it); zero when a call returns none.
	LastModified time.Time
}

// Info describes an object without its content.
type Info struct {
	VersionID    string
	ETag         string
	Size         int64
	LastModified time.Time
}

// Precondition restricts a write. The zero value writes unconditionally.
type Precondition struct {
	// IfAbsent writes only if no object exists at the key (If-None-Match: *).
	IfAbsent bool
	// IfMatch writes only if the current object's ETag is this one.
	IfMatch string
}

// Get reads an object of at most DefaultMaxSize bytes; version "" reads
// the current version.
func (c *Client) Get(ctx context.Context, bucket, key, version string) (Object, error) {
	return c.GetMax(ctx, bucket, key, version, DefaultMaxSize)
}

// GetMax reads an object of at most limit bytes; version "" reads the
// current version. A larger object is a *TooLargeError (ErrTooLarge): its
// Content-Length is checked before the body is read, and the body is read
// through an io.LimitReader, so no more than limit+1 bytes are ever held
// whatever the response says.
func (c *Client) GetMax(ctx context.Context, bucket, key, version string, limit int64) (Object, error) {
	in := &sdks3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	loc := location(bucket, key, version)
	out, err := c.api.GetObject(ctx, in)
	if err != nil {
		return Object{}, classify("get "+loc, bucket, err)
	}
	defer out.Body.Close()
	if n := aws.ToInt64(out.ContentLength); n > limit {
		return Object{}, &TooLargeError{Location: loc, Size: n, Limit: limit}
	}
	body, err := io.ReadAll(io.LimitReader(out.Body, limit+1))
	if err != nil {
		return Object{}, &workflow.Transient{Op: "read body of " + loc, Err: err}
	}
	if int64(len(body)) > limit {
		return Object{}, &TooLargeError{Location: loc, Size: -1, Limit: limit}
	}
	return Object{Body: body, VersionID: aws.ToString(out.VersionId), ETag: aws.ToString(out.ETag),
		LastModified: aws.ToTime(out.LastModified)}, nil
}

// Put writes an object, subject to cond, and returns the new version's
// identity (Body is nil).
func (c *Client) Put(ctx context.Context, bucket, key string, body []byte, contentType string, cond Precondition) (Object, error) {
	if cond.IfAbsent && cond.IfMatch != "" {
		return Object{}, fmt.Errorf("put %s: IfAbsent and IfMatch are exclusive", location(bucket, key, ""))
	}
	in := &sdks3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	if cond.IfAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	if cond.IfMatch != "" {
		in.IfMatch = aws.String(cond.IfMatch)
	}
	out, err := c.api.PutObject(ctx, in)
	if err != nil {
		return Object{}, classify("put "+location(bucket, key, ""), bucket, err)
	}
	return Object{VersionID: aws.ToString(out.VersionId), ETag: aws.ToString(out.ETag)}, nil
}

// Head describes the current version of an object.
func (c *Client) Head(ctx context.Context, bucket, key string) (Info, error) {
	out, err := c.api.HeadObject(ctx, &sdks3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return Info{}, classify("head "+location(bucket, key, ""), bucket, err)
	}
	return Info{
		VersionID:    aws.ToString(out.VersionId),
		ETag:         aws.ToString(out.ETag),
		Size:         aws.ToInt64(out.ContentLength),
		LastModified: aws.ToTime(out.LastModified),
	}, nil
}

// Delete deletes the current version of an object (in a versioned bucket it
// adds a delete marker). With ifMatch "" the delete is unconditional and
// deleting a missing object succeeds. With ifMatch set, S3 deletes only if the
// current ETag matches: ErrPreconditionFailed when it differs, ErrNotFound
// when the object is gone.
func (c *Client) Delete(ctx context.Context, bucket, key, ifMatch string) error {
	in := &sdks3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if ifMatch != "" {
		in.IfMatch = aws.String(ifMatch)
	}
	if _, err := c.api.DeleteObject(ctx, in); err != nil {
		return classify("delete "+location(bucket, key, ""), bucket, err)
	}
	return nil
}

// List returns the keys under prefix in S3's order (ascending UTF-8 bytes),
// following continuation tokens. limit > 0 stops after that many keys.
func (c *Client) List(ctx context.Context, bucket, prefix string, limit int) ([]string, error) {
	in := &sdks3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	if limit > 0 && limit < 1000 {
		in.MaxKeys = aws.Int32(int32(limit))
	}
	var keys []string
	pages := sdks3.NewListObjectsV2Paginator(c.api, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, classify("list "+location(bucket, prefix, ""), bucket, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
			if limit > 0 && len(keys) == limit {
				return keys, nil
			}
		}
	}
	return keys, nil
}

// location names an object for error messages.
func location(bucket, key, version string) string {
	s := "s3://" + bucket + "/" + key
	if version != "" {
		s += "?versionId=" + version
	}
	return s
}

// classify maps an SDK error to the adapter's sentinels, to a
// *workflow.Transient for throttling and server errors, or wraps it as is.
func classify(op, bucket string, err error) error {
	code := ""
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	status := 0
	var respErr interface{ HTTPStatusCode() int }
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	switch {
	case code == "NoSuchBucket":
		return fmt.Errorf("%s: bucket %q: %w", op, bucket, ErrNoSuchBucket)
	case code == "NoSuchKey" || code == "NoSuchVersion" || code == "NotFound" || status == 404:
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	case code == "PreconditionFailed" || code == "ConditionalRequestConflict" || status == 412:
		return fmt.Errorf("%s: %w", op, ErrPreconditionFailed)
	case isThrottle(code) || status == 429 || status >= 500:
		return &workflow.Transient{Op: op, Err: err}
	case status == 409:
		// Other 409s on objects (OperationAborted: a conflicting operation in
		// progress) pass when retried.
		return &workflow.Transient{Op: op, Err: err}
	}
	var netErr net.Error
	if status == 0 && errors.As(err, &netErr) && !isCanceled(err) {
		// No HTTP response at all: the connection failed or timed out
		// after the SDK's own retries.
		return &workflow.Transient{Op: op, Err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// isThrottle reports whether an S3 error code asks the caller to slow down.
func isThrottle(code string) bool {
	switch code {
	case "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded",
		"TooManyRequests", "RequestThrottled", "ServiceUnavailable", "InternalError":
		return true
	}
	return strings.HasSuffix(code, "Throttled")
}

// isCanceled reports whether err comes from the caller's context.
func isCanceled(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
