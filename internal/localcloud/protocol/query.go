package protocol

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// QueryHandler serves an AWS query service (ELBv2, STS, CloudWatch for the aws
// CLI). The result is a struct with xml tags holding the contents of
// <{Action}Result>, or nil for actions without a result; the core wraps it in
// <{Action}Response>. An unknown action returns
// Errorf(400, CodeInvalidAction, …).
type QueryHandler interface {
	ServeQuery(ctx context.Context, action string, params url.Values) (any, error)
}

// QueryHandlerFunc adapts a function to QueryHandler.
type QueryHandlerFunc func(ctx context.Context, action string, params url.Values) (any, error)

// ServeQuery calls f.
func (f QueryHandlerFunc) ServeQuery(ctx context.Context, action string, params url.Values) (any, error) {
	return f(ctx, action, params)
}

// QueryList returns the values of a query list parameter in member order:
// for prefix "Names.member" the values of Names.member.1, Names.member.2, ….
// A prefix without ".member" also finds the ".member." form
// (QueryList(p, "Names") reads Names.member.N when there is no Names.N).
func QueryList(params url.Values, prefix string) []string {
	idx := memberIndexes(params, prefix, false)
	if len(idx) == 0 && !strings.HasSuffix(prefix, ".member") {
		prefix += ".member"
		idx = memberIndexes(params, prefix, false)
	}
	out := make([]string, 0, len(idx))
	for _, n := range idx {
		out = append(out, params.Get(prefix+"."+strconv.Itoa(n)))
	}
	return out
}

// QueryStructs returns the members of a query list of structures in member
// order, each as the parameters under its prefix with the prefix stripped:
// for prefix "Actions.member", Actions.member.1.Type=forward becomes
// {"Type": ["forward"]} in the first element. Nested lists stay encoded
// and can be read with QueryList or QueryStructs on the member. Like
// QueryList, a prefix without ".member" also finds the ".member." form.
func QueryStructs(params url.Values, prefix string) []url.Values {
	idx := memberIndexes(params, prefix, true)
	if len(idx) == 0 && !strings.HasSuffix(prefix, ".member") {
		prefix += ".member"
		idx = memberIndexes(params, prefix, true)
	}
	out := make([]url.Values, 0, len(idx))
	for _, n := range idx {
		p := prefix + "." + strconv.Itoa(n) + "."
		m := url.Values{}
		for k, v := range params {
			if rest, ok := strings.CutPrefix(k, p); ok && rest != "" {
				m[rest] = v
			}
		}
		out = append(out, m)
	}
	return out
}

// memberIndexes returns the sorted distinct member numbers N of keys
// prefix.N (nested=false) or prefix.N.<field> (nested=true).
func memberIndexes(params url.Values, prefix string, nested bool) []int {
	seen := map[int]bool{}
	for k := range params {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		num, field, hasField := strings.Cut(rest, ".")
		if hasField != nested || (nested && field == "") {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || num[0] == '0' {
			continue
		}
		seen[n] = true
	}
	idx := make([]int, 0, len(seen))
	for n := range seen {
		idx = append(idx, n)
	}
	sort.Ints(idx)
	return idx
}

// EncodeQueryResponse returns the XML body of a successful query response:
// <{action}Response xmlns="{namespace}"><{action}Result>…</{action}Result>
// <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></…>.
// A nil result omits the Result element.
func EncodeQueryResponse(action, namespace, requestID string, result any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	root := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: namespace}}}
	if err := enc.EncodeToken(root); err != nil {
		return nil, err
	}
	if result != nil {
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			return nil, err
		}
	}
	meta := struct {
		RequestID string `xml:"RequestId"`
	}{requestID}
	if err := enc.EncodeElement(meta, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}}); err != nil {
		return nil, err
	}
	if err := enc.EncodeToken(root.End()); err != nil {
		return nil, err
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// queryErrorResponse is the XML body of a query protocol error.
type queryErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

// EncodeQueryError returns the XML body of a query protocol error. Errors
// with a 5xx status are of type Receiver, the rest Sender.
func EncodeQueryError(e *Error, requestID string) []byte {
	var r queryErrorResponse
	r.Error.Type = "Sender"
	if e.Status >= 500 {
		r.Error.Type = "Receiver"
	}
	r.Error.Code = e.Code
	r.Error.Message = e.Message
	r.RequestID = requestID
	b, err := xml.Marshal(r)
	if err != nil {
		// Only strings are marshalled; this cannot fail.
		return []byte("<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code></Error></ErrorResponse>")
	}
	return append([]byte(xml.Header), b...)
}
