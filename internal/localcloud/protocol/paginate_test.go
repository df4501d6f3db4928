package protocol

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPaginate(t *testing.T) {
	items := []int{0, 1, 2, 3, 4}
	plain := PageRules{DefaultSize: 2, MaxSize: 3}
	opaque := PageRules{DefaultSize: 2, MaxSize: 3, Opaque: true}
	clamp := PageRules{DefaultSize: 2, MaxSize: 3, Opaque: true, Clamp: true}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	ptr := func(n int32) *int32 { return &n }
	tests := map[string]struct {
		items     []int
		token     string
		max       *int32
		rules     PageRules
		want      []int
		wantNext  string
		wantToken bool // errors.Is(err, ErrBadNextToken)
		wantMax   bool // errors.Is(err, ErrBadMaxResults)
	}{
		"default size":             {items: items, rules: plain, want: []int{0, 1}, wantNext: "2"},
		"given size":               {items: items, max: ptr(3), rules: plain, want: []int{0, 1, 2}, wantNext: "3"},
		"plain token":              {items: items, token: "2", rules: plain, want: []int{2, 3}, wantNext: "4"},
		"last page":                {items: items, token: "4", rules: plain, want: []int{4}},
		"token at end":             {items: items, token: "5", rules: plain, want: []int{}},
		"empty list":               {items: nil, rules: plain, want: nil},
		"opaque token":             {items: items, token: enc("2"), rules: opaque, want: []int{2, 3}, wantNext: enc("4")},
		"opaque first page":        {items: items, rules: opaque, want: []int{0, 1}, wantNext: enc("2")},
		"token past end":           {items: items, token: "6", rules: plain, wantToken: true},
		"negative token":           {items: items, token: "-1", rules: plain, wantToken: true},
		"junk token":               {items: items, token: "x", rules: plain, wantToken: true},
		"plain digits when opaque": {items: items, token: "2!", rules: opaque, wantToken: true},
		"opaque past end":          {items: items, token: enc("6"), rules: opaque, wantToken: true},
		"clamped past end":         {items: items, token: enc("6"), rules: clamp, want: []int{}},
		"clamped negative":         {items: items, token: enc("-1"), rules: clamp, wantToken: true},
		"zero max":                 {items: items, max: ptr(0), rules: plain, wantMax: true},
		"max over limit":           {items: items, max: ptr(4), rules: plain, wantMax: true},
		"both bad":                 {items: items, token: "x", max: ptr(-1), rules: plain, wantToken: true, wantMax: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, next, err := Paginate(tc.items, tc.token, tc.max, tc.rules)
			if g := errors.Is(err, ErrBadNextToken); g != tc.wantToken {
				t.Errorf("errors.Is(%v, ErrBadNextToken) = %v, want %v", err, g, tc.wantToken)
			}
			if g := errors.Is(err, ErrBadMaxResults); g != tc.wantMax {
				t.Errorf("errors.Is(%v, ErrBadMaxResults) = %v, want %v", err, g, tc.wantMax)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("page (-want +got):\n%s", diff)
			}
			if next != tc.wantNext {
				t.Errorf("got next %q, want %q", next, tc.wantNext)
			}
		})
	}
}

func TestPaginateIntMaxResults(t *testing.T) {
	// A JSON int wider than int32 must not wrap into the accepted range.
	big := 1<<32 + 1
	if _, _, err := Paginate([]int{1, 2}, "", &big, PageRules{DefaultSize: 1, MaxSize: 10}); !errors.Is(err, ErrBadMaxResults) {
		t.Errorf("got %v, want ErrBadMaxResults", err)
	}
}
