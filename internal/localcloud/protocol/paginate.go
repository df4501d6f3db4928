package protocol

import (
	"encoding/base64"
	"errors"
	"strconv"
)

// ErrBadNextToken reports a nextToken that does not name a page of the list.
// Paginate returns it so that each service can answer with its own error
// code and message.
var ErrBadNextToken = errors.New("invalid next token")

// ErrBadMaxResults reports a maxResults outside 1..PageRules.MaxSize.
var ErrBadMaxResults = errors.New("invalid max results")

// PageRules are one API's pagination rules. Tokens are offsets into the
// list, which the services sort before paging.
type PageRules struct {
	// DefaultSize is the page size when maxResults is not given.
	DefaultSize int
	// MaxSize is the largest maxResults accepted; the smallest is 1.
	MaxSize int
	// Opaque tokens carry the offset base64url-encoded (no padding) rather
	// than as plain decimal digits.
	Opaque bool
	// Clamp makes an offset past the end of the list give an empty last
	// page rather than ErrBadNextToken.
	Clamp bool
}

// Paginate returns the page of items starting at the offset nextToken
// encodes (the start when empty) and the token of the next page, empty on
// the last page. A nil maxResults means r.DefaultSize.
//
// A bad nextToken gives ErrBadNextToken and a bad maxResults
// ErrBadMaxResults; when both are bad the error matches both (errors.Is), so
// that each caller reports the one its API checks first.
func Paginate[T any, N int | int32](items []T, nextToken string, maxResults *N, r PageRules) ([]T, string, error) {
	var errs []error
	size := r.DefaultSize
	if maxResults != nil {
		if n := int64(*maxResults); n < 1 || n > int64(r.MaxSize) {
			errs = append(errs, ErrBadMaxResults)
		} else {
			size = int(n)
		}
	}
	start, err := r.offset(nextToken, len(items))
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, "", errors.Join(errs...)
	}
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		next = r.token(end)
	}
	return items[start:end], next, nil
}

// offset decodes token into an offset into a list of n items.
func (r PageRules) offset(token string, n int) (int, error) {
	if token == "" {
		return 0, nil
	}
	digits := token
	if r.Opaque {
		b, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return 0, ErrBadNextToken
		}
		digits = string(b)
	}
	v, err := strconv.Atoi(digits)
	switch {
	case err != nil || v < 0:
		return 0, ErrBadNextToken
	case v > n && r.Clamp:
		return n, nil
	case v > n:
		return 0, ErrBadNextToken
	}
	return v, nil
}

// token encodes the offset of the next page.
func (r PageRules) token(offset int) string {
	s := strconv.Itoa(offset)
	if r.Opaque {
		return base64.RawURLEncoding.EncodeToString([]byte(s))
	}
	return s
}
