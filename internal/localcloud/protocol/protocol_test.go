package protocol

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestQueryList(t *testing.T) {
	tests := map[string]struct {
		params url.Values
		prefix string
		want   []string
	}{
		"member form": {
			params: url.Values{"Names.member.2": {"b"}, "Names.member.1": {"a"}, "Names.member.10": {"j"}},
			prefix: "Names.member",
			want:   []string{"a", "b", "j"},
		},
		"bare prefix finds member form": {
			params: url.Values{"Names.member.1": {"a"}},
			prefix: "Names",
			want:   []string{"a"},
		},
		"flat form": {
			params: url.Values{"Names.1": {"a"}, "Names.2": {"b"}},
			prefix: "Names",
			want:   []string{"a", "b"},
		},
		"junk indexes ignored": {
			params: url.Values{"Names.member.0": {"z"}, "Names.member.x": {"y"}, "Names.member.01": {"q"}, "Names.member.1.Field": {"f"}},
			prefix: "Names.member",
			want:   []string{},
		},
		"none": {params: url.Values{}, prefix: "Names", want: []string{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := QueryList(tc.params, tc.prefix)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("QueryList mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueryStructs(t *testing.T) {
	params := url.Values{
		"Actions.member.1.Type": {"forward"},
		"Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn": {"arn1"},
		"Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight":         {"90"},
		"Actions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn": {"arn2"},
		"Actions.member.2.Type": {"fixed-response"},
		"Other":                 {"x"},
	}
	got := QueryStructs(params, "Actions")
	want := []url.Values{
		{
			"Type": {"forward"},
			"ForwardConfig.TargetGroups.member.1.TargetGroupArn": {"arn1"},
			"ForwardConfig.TargetGroups.member.1.Weight":         {"90"},
			"ForwardConfig.TargetGroups.member.2.TargetGroupArn": {"arn2"},
		},
		{"Type": {"fixed-response"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("QueryStructs mismatch (-want +got):\n%s", diff)
	}
	tgs := QueryStructs(got[0], "ForwardConfig.TargetGroups.member")
	if len(tgs) != 2 || tgs[1].Get("TargetGroupArn") != "arn2" {
		t.Errorf("nested QueryStructs: got %v, want two members, the second arn2", tgs)
	}
}

func TestEncodeQueryResponse(t *testing.T) {
	type result struct {
		Account string `xml:"Account"`
	}
	b, err := EncodeQueryResponse("GetCallerIdentity", "https://sts.amazonaws.com/doc/2011-06-15/", "req-1", result{Account: Account})
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Account>000000000000</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`
	if got := string(b); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	errBody := string(EncodeQueryError(Errorf(400, "Throttling", "slow <down>"), "req-2"))
	for _, part := range []string{"<Type>Sender</Type>", "<Code>Throttling</Code>", "<Message>slow &lt;down&gt;</Message>", "<RequestId>req-2</RequestId>"} {
		if !strings.Contains(errBody, part) {
			t.Errorf("got error body %s, want it to contain %s", errBody, part)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	type in struct {
		Name  string `json:"repositoryName"`
		Count int    `json:"count"`
	}
	tests := map[string]struct {
		body    string
		want    in
		wantErr bool
	}{
		"ok":            {body: `{"repositoryName":"web","count":2,"extra":true}`, want: in{Name: "web", Count: 2}},
		"empty body":    {body: ``, want: in{}},
		"malformed":     {body: `{"repositoryName":`, wantErr: true},
		"wrong type":    {body: `{"count":"two"}`, wantErr: true},
		"trailing data": {body: `{} {}`, wantErr: true},
		"not an object": {body: `[1]`, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got in
			err := DecodeJSON([]byte(tc.body), &got)
			if tc.wantErr {
				var e *Error
				if !errors.As(err, &e) || e.Code != CodeSerialization || e.Status != 400 {
					t.Fatalf("got error %v, want a 400 SerializationException", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decoded mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEpochSeconds(t *testing.T) {
	got := EpochSeconds(time.Unix(1700000000, 250_000_000))
	if got != 1700000000.25 {
		t.Errorf("got %v, want 1700000000.25", got)
	}
}

func TestCBORRoundTrip(t *testing.T) {
	type dim struct {
		Name  string
		Value string
	}
	type datum struct {
		MetricName string
		Dimensions []dim
		Timestamp  *time.Time
		Value      *float64
		Values     []float64
		Count      int64
		Neg        int32
		Unit       string `json:",omitempty"`
		Raw        []byte
		Any        any
	}
	ts := time.Unix(1764000000, 500_000_000).UTC()
	v := 3.5
	in := datum{
		MetricName: "HTTPCode_Target_5XX_Count",
		Dimensions: []dim{{"TargetGroup", "targetgroup/web/abc"}},
		Timestamp:  &ts,
		Value:      &v,
		Values:     []float64{1, 2.5},
		Count:      1 << 40,
		Neg:        -42,
		Raw:        []byte{1, 2},
		Any:        map[string]any{"k": "v"},
	}
	b, err := CBORMarshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out datum
	if err := CBORUnmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip mismatch (-in +out):\n%s", diff)
	}
}

func TestCBORUnmarshalErrors(t *testing.T) {
	type target struct {
		N     int8
		S     string
		L     []string
		Stamp time.Time
	}
	tests := map[string]any{
		"int overflow":     map[string]any{"N": 1000},
		"string for int":   map[string]any{"N": "x"},
		"int for string":   map[string]any{"S": 1},
		"map for list":     map[string]any{"L": map[string]any{}},
		"fraction for int": map[string]any{"N": 1.5},
		"string for time":  map[string]any{"Stamp": "yesterday"},
		"list at top":      []any{1},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := CBORMarshal(in)
			if err != nil {
				t.Fatal(err)
			}
			var out target
			err = CBORUnmarshal(b, &out)
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeSerialization {
				t.Errorf("got %v, want SerializationException", err)
			}
		})
	}
	var out target
	if err := CBORUnmarshal([]byte{0xbf, 0x61}, &out); err == nil {
		t.Errorf("got nil error for truncated CBOR, want SerializationException")
	}
}

func FuzzCBORUnmarshal(f *testing.F) {
	seed, _ := CBORMarshal(map[string]any{"Namespace": "AWS/ApplicationELB", "MetricData": []any{map[string]any{"Value": 1.5}}})
	f.Add(seed)
	f.Add([]byte{0xbf, 0xff})
	f.Add([]byte{0x9f, 0x9f, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var out struct {
			Namespace  string
			MetricData []struct {
				Value     *float64
				Timestamp *time.Time
				Counts    []int
			}
			Rest map[string]any
		}
		_ = CBORUnmarshal(b, &out)
		var g any
		_ = CBORUnmarshal(b, &g)
	})
}

func FuzzQueryStructs(f *testing.F) {
	f.Add("Actions.member.1.Type=forward&Actions.member.2.Type=x&Names.member.1=a")
	f.Add("a.b.c=1&a.1.=2&a..1=3")
	f.Fuzz(func(t *testing.T, q string) {
		params, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		for k := range params {
			prefix, _, _ := strings.Cut(k, ".")
			for _, m := range QueryStructs(params, prefix) {
				_ = QueryList(m, "member")
			}
			_ = QueryList(params, prefix)
		}
	})
}

func TestJSONCBORBridge(t *testing.T) {
	in := `{"Namespace":"AWS/ApplicationELB","MetricData":[{"MetricName":"m","Timestamp":1764079320.5,"Value":-3,"Values":[1,2.5]}]}`
	b, err := JSONToCBOR([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Namespace  string
		MetricData []struct {
			MetricName string
			Timestamp  time.Time
			Value      float64
			Values     []float64
		}
	}
	if err := CBORUnmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Namespace != "AWS/ApplicationELB" || len(got.MetricData) != 1 || got.MetricData[0].Value != -3 ||
		!got.MetricData[0].Timestamp.Equal(time.Unix(1764079320, 500_000_000)) || !cmp.Equal(got.MetricData[0].Values, []float64{1, 2.5}) {
		t.Errorf("bridged request: got %+v", got)
	}
	out, err := CBORMarshal(map[string]any{"When": time.Unix(1764079320, 0), "Raw": []byte("hi")})
	if err != nil {
		t.Fatal(err)
	}
	j, err := CBORToJSON(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Raw":"aGk=","When":1764079320}`; string(j) != want {
		t.Errorf("bridged response: got %s, want %s", j, want)
	}
	if _, err := JSONToCBOR([]byte(`{"a":`)); err == nil {
		t.Errorf("malformed JSON: got nil error")
	}
}

func FuzzJSONToCBOR(f *testing.F) {
	f.Add(`{"Namespace":"n","MetricData":[{"Value":1e308,"Counts":[-1,2]}]}`)
	f.Add(`[[[[[[]]]]]]`)
	f.Fuzz(func(t *testing.T, in string) {
		b, err := JSONToCBOR([]byte(in))
		if err != nil {
			return
		}
		if _, err := CBORToJSON(b); err != nil {
			t.Errorf("CBOR made from JSON %q does not convert back: %v", in, err)
		}
	})
}
