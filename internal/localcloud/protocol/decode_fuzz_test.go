package protocol

import (
	"errors"
	"strings"
	"testing"
)

// FuzzCBORToJSON converts arbitrary bytes from CBOR (what the Go SDK's
// CloudWatch client sends) to JSON: an error, never a panic; what converts
// is JSON that converts back.
func FuzzCBORToJSON(f *testing.F) {
	for _, in := range []string{`{"Namespace":"n","MetricData":[{"Value":1.5}]}`, `[1,"a",null,true]`, `{"a":{"b":{"c":[]}}}`} {
		b, err := JSONToCBOR([]byte(in))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xbf, 0x61, 0x61, 0x9f, 0xff, 0xff}) // indefinite map and array
	f.Add([]byte{0x5f, 0x41, 0x00, 0xff})             // indefinite byte string
	f.Add([]byte{0xc1, 0x1a, 0x00, 0x00, 0x00, 0x01}) // epoch timestamp tag
	f.Add([]byte{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		j, err := CBORToJSON(in)
		if err != nil {
			return
		}
		if _, err := JSONToCBOR(j); err != nil {
			t.Errorf("JSON %s made from CBOR %x does not convert back: %v", j, in, err)
		}
	})
}

// FuzzDecodeJSON decodes arbitrary bodies into a request shape: either it
// decodes or it fails with a SerializationException, never a panic.
func FuzzDecodeJSON(f *testing.F) {
	for _, in := range []string{``, `{}`, `{"Name":"a","Count":3,"Tags":[{"Key":"k","Value":"v"}],"Nested":{"Deep":[1,2]}}`,
		`{"Count":"x"}`, `{"Name":1e999}`, `{} {}`, `[`, `null`} {
		f.Add([]byte(in))
	}
	type tag struct{ Key, Value string }
	type request struct {
		Name   string
		Count  *int32
		Tags   []tag
		Nested struct{ Deep []float64 }
		Any    map[string]any
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r request
		err := DecodeJSON(body, &r)
		var pe *Error
		if err != nil && (!errors.As(err, &pe) || pe.Code != CodeSerialization) {
			t.Fatalf("got %v, want a %s", err, CodeSerialization)
		}
	})
}

// FuzzSigV4AccessKeyID reads the access key id from arbitrary
// Authorization headers and X-Amz-Credential values: it never panics and
// never returns more than the credential holds.
func FuzzSigV4AccessKeyID(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abc", "")
	f.Add("", "AKID/20261125/us-east-1/s3/aws4_request")
	f.Add("Credential=", "")
	f.Add("AWS4-HMAC-SHA256 Credential=AKID,", "x/y")
	f.Fuzz(func(t *testing.T, authorization, credential string) {
		id := SigV4AccessKeyID(authorization, credential)
		if strings.ContainsAny(id, "/, ") {
			t.Errorf("SigV4AccessKeyID(%q, %q) = %q: holds a separator", authorization, credential, id)
		}
		if !strings.Contains(authorization, id) && !strings.Contains(credential, id) {
			t.Errorf("SigV4AccessKeyID(%q, %q) = %q: not in the input", authorization, credential, id)
		}
	})
}
