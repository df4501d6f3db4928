package eventbridge

import (
	"errors"
	"strings"
	"testing"
)

// docEvent is the example event of the EventBridge content-filtering
// documentation, extended with the fields the operator examples refer to.
const docEvent = `{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "111122223333",
  "time": "2017-10-02T18:43:48Z",
  "region": "us-west-1",
  "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  "detail": {
    "instance-id": "i-1234567890abcdef0",
    "state": "terminated",
    "c-count": 5,
    "d-count": 3,
    "x-limit": 301.8,
    "source-ip": "10.0.0.123",
    "source-ipv6": "2001:db8::7",
    "FileName": "photos/cat.PNG",
    "FilePath": "/usr/lib/libc.so",
    "service": "EventBridge",
    "enabled": true,
    "lastName": "",
    "middleName": null,
    "tags": ["prod", "web"],
    "ports": [80, 443],
    "bucket": {"name": "specs"},
    "objects": [{"key": "a.yaml", "size": 10}, {"key": "b.json", "size": 2000}]
  }
}`

func TestPatternMatching(t *testing.T) {
	tests := map[string]struct {
		pattern string
		want    bool
	}{
		"exact source":                   {`{"source": ["aws.ec2"]}`, true},
		"exact source mismatch":          {`{"source": ["aws.s3"]}`, false},
		"one of several values":          {`{"source": ["aws.s3", "aws.ec2"]}`, true},
		"and across fields":              {`{"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]}`, true},
		"and fails on one field":         {`{"source": ["aws.ec2"], "detail-type": ["other"]}`, false},
		"nested field":                   {`{"detail": {"state": ["terminated"]}}`, true},
		"nested two levels":              {`{"detail": {"bucket": {"name": ["specs"]}}}`, true},
		"missing field":                  {`{"detail": {"nope": ["x"]}}`, false},
		"case sensitive exact":           {`{"detail": {"state": ["Terminated"]}}`, false},
		"exact number":                   {`{"detail": {"c-count": [5]}}`, true},
		"exact number by value":          {`{"detail": {"x-limit": [3.018e2]}}`, true},
		"number is not its string":       {`{"detail": {"c-count": ["5"]}}`, false},
		"string is not a number":         {`{"detail": {"state": [5]}}`, false},
		"exact boolean":                  {`{"detail": {"enabled": [true]}}`, true},
		"exact boolean mismatch":         {`{"detail": {"enabled": [false]}}`, false},
		"exact null":                     {`{"detail": {"middleName": [null]}}`, true},
		"null does not match missing":    {`{"detail": {"firstName": [null]}}`, false},
		"empty string":                   {`{"detail": {"lastName": [""]}}`, true},
		"array event field any element":  {`{"detail": {"tags": ["web"]}}`, true},
		"array event field no element":   {`{"detail": {"tags": ["dev"]}}`, false},
		"resources array":                {`{"resources": [{"prefix": "arn:aws:ec2:"}]}`, true},
		"array of numbers":               {`{"detail": {"ports": [443]}}`, true},
		"array of objects":               {`{"detail": {"objects": {"key": ["b.json"]}}}`, true},
		"array of objects same element":  {`{"detail": {"objects": {"key": ["a.yaml"], "size": [{"numeric": [">", 100]}]}}}`, false},
		"array of objects both match":    {`{"detail": {"objects": {"key": ["b.json"], "size": [{"numeric": [">", 100]}]}}}`, true},
		"prefix":                         {`{"time": [{"prefix": "2017-10-02"}]}`, true},
		"prefix mismatch":                {`{"time": [{"prefix": "2018"}]}`, false},
		"prefix ignore case":             {`{"detail": {"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}}`, true},
		"prefix is case sensitive":       {`{"detail": {"service": [{"prefix": "eventb"}]}}`, false},
		"prefix on number":               {`{"detail": {"c-count": [{"prefix": "5"}]}}`, false},
		"suffix":                         {`{"detail": {"FileName": [{"suffix": ".PNG"}]}}`, true},
		"suffix case sensitive":          {`{"detail": {"FileName": [{"suffix": ".png"}]}}`, false},
		"suffix ignore case":             {`{"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}}`, true},
		"equals ignore case":             {`{"detail": {"state": [{"equals-ignore-case": "TERMINATED"}]}}`, true},
		"equals ignore case mismatch":    {`{"detail": {"state": [{"equals-ignore-case": "running"}]}}`, false},
		"anything-but string":            {`{"detail": {"state": [{"anything-but": "initializing"}]}}`, true},
		"anything-but same string":       {`{"detail": {"state": [{"anything-but": "terminated"}]}}`, false},
		"anything-but number":            {`{"detail": {"c-count": [{"anything-but": 5}]}}`, false},
		"anything-but other number":      {`{"detail": {"c-count": [{"anything-but": 6}]}}`, true},
		"anything-but list":              {`{"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}}`, false},
		"anything-but list passes":       {`{"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}`, true},
		"anything-but number list":       {`{"detail": {"d-count": [{"anything-but": [1, 2, 3]}]}}`, false},
		"anything-but prefix":            {`{"region": [{"anything-but": {"prefix": "us-"}}]}`, false},
		"anything-but prefix passes":     {`{"region": [{"anything-but": {"prefix": "eu-"}}]}`, true},
		"anything-but suffix":            {`{"detail": {"FileName": [{"anything-but": {"suffix": ".PNG"}}]}}`, false},
		"anything-but ignore case":       {`{"detail": {"state": [{"anything-but": {"equals-ignore-case": "TERMINATED"}}]}}`, false},
		"anything-but ignore case list":  {`{"detail": {"state": [{"anything-but": {"equals-ignore-case": ["a", "b"]}}]}}`, true},
		"anything-but wildcard":          {`{"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}}`, false},
		"anything-but wildcard passes":   {`{"detail": {"FilePath": [{"anything-but": {"wildcard": "*/bin/*"}}]}}`, true},
		"anything-but missing field":     {`{"detail": {"nope": [{"anything-but": "x"}]}}`, false},
		"anything-but any array element": {`{"detail": {"tags": [{"anything-but": "prod"}]}}`, true},
		"numeric range":                  {`{"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"numeric": ["=", 3.018e2]}]}}`, true},
		"numeric open bound excludes":    {`{"detail": {"c-count": [{"numeric": [">", 5]}]}}`, false},
		"numeric closed bound includes":  {`{"detail": {"c-count": [{"numeric": [">=", 5]}]}}`, true},
		"numeric upper open":             {`{"detail": {"c-count": [{"numeric": ["<", 5]}]}}`, false},
		"numeric upper closed":           {`{"detail": {"c-count": [{"numeric": ["<=", 5]}]}}`, true},
		"numeric equals":                 {`{"detail": {"d-count": [{"numeric": ["=", 3]}]}}`, true},
		"numeric on string":              {`{"detail": {"state": [{"numeric": [">", 0]}]}}`, false},
		"numeric bounds reversed order":  {`{"detail": {"c-count": [{"numeric": ["<", 6, ">", 4]}]}}`, true},
		"exists true":                    {`{"detail": {"state": [{"exists": true}]}}`, true},
		"exists true missing":            {`{"detail": {"nope": [{"exists": true}]}}`, false},
		"exists false missing":           {`{"detail": {"nope": [{"exists": false}]}}`, true},
		"exists false present":           {`{"detail": {"state": [{"exists": false}]}}`, false},
		"exists false missing parent":    {`{"other": {"nope": [{"exists": false}]}}`, true},
		"exists true on object":          {`{"detail": {"bucket": [{"exists": true}]}}`, false},
		"exists true on null":            {`{"detail": {"middleName": [{"exists": true}]}}`, true},
		"wildcard":                       {`{"detail": {"FilePath": [{"wildcard": "/usr/*/lib*.so"}]}}`, true},
		"wildcard mismatch":              {`{"detail": {"FilePath": [{"wildcard": "/opt/*"}]}}`, false},
		"wildcard exact without star":    {`{"detail": {"state": [{"wildcard": "terminated"}]}}`, true},
		"wildcard escaped star":          {`{"detail": {"state": [{"wildcard": "term\\*"}]}}`, false},
		"wildcard suffix overlap":        {`{"detail": {"state": [{"wildcard": "ter*ted"}]}}`, true},
		"wildcard needs whole string":    {`{"detail": {"state": [{"wildcard": "ter*te"}]}}`, false},
		"cidr ipv4":                      {`{"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}`, true},
		"cidr ipv4 outside":              {`{"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}`, false},
		"cidr ipv6":                      {`{"detail": {"source-ipv6": [{"cidr": "2001:db8::/64"}]}}`, true},
		"cidr on non ip":                 {`{"detail": {"state": [{"cidr": "10.0.0.0/8"}]}}`, false},
		"or top level":                   {`{"$or": [{"source": ["aws.s3"]}, {"detail": {"state": ["terminated"]}}]}`, true},
		"or none match":                  {`{"$or": [{"source": ["aws.s3"]}, {"detail": {"state": ["running"]}}]}`, false},
		"or with and":                    {`{"source": ["aws.s3"], "$or": [{"region": ["us-west-1"]}, {"account": ["111122223333"]}]}`, false},
		"or nested":                      {`{"detail": {"$or": [{"c-count": [{"numeric": [">", 10]}]}, {"d-count": [{"numeric": ["<", 5]}]}]}}`, true},
		"mixed matchers in one array":    {`{"detail": {"state": [{"prefix": "run"}, "terminated"]}}`, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := ParsePattern(tc.pattern)
			if err != nil {
				t.Fatalf("ParsePattern(%s): %v", tc.pattern, err)
			}
			if got := p.MatchesJSON([]byte(docEvent)); got != tc.want {
				t.Errorf("match %s: got %v, want %v", tc.pattern, got, tc.want)
			}
		})
	}
}

func TestPatternInvalid(t *testing.T) {
	tests := map[string]struct {
		pattern string
		reason  string // a part of the error message
	}{
		"not json":                    {`{"source": [`, "malformed JSON"},
		"not an object":               {`["aws.ec2"]`, "must be a JSON object"},
		"empty pattern":               {`{}`, "at least one field"},
		"scalar field value":          {`{"source": "aws.ec2"}`, "source: match value must be an array or an object"},
		"empty array":                 {`{"source": []}`, "source: empty arrays"},
		"nested array":                {`{"source": [["a"]]}`, "source[0]"},
		"duplicate key":               {`{"source": ["a"], "source": ["b"]}`, `duplicate field "source"`},
		"unknown operator":            {`{"detail": {"state": [{"contains-ish": "x"}]}}`, `unrecognized match type "contains-ish"`},
		"two operators in one object": {`{"source": [{"prefix": "a", "suffix": "b"}]}`, "exactly one key"},
		"prefix number":               {`{"source": [{"prefix": 5}]}`, "source[0].prefix"},
		"prefix bad ignore case":      {`{"source": [{"prefix": {"equals-ignore-case": 1}}]}`, "source[0].prefix"},
		"suffix list":                 {`{"source": [{"suffix": ["a"]}]}`, "source[0].suffix"},
		"equals ignore case number":   {`{"source": [{"equals-ignore-case": 1}]}`, "equals-ignore-case must be a string"},
		"exists string":               {`{"source": [{"exists": "true"}]}`, "exists must be true or false"},
		"numeric not array":           {`{"n": [{"numeric": 5}]}`, "numeric must be an array"},
		"numeric odd length":          {`{"n": [{"numeric": [">", 5, "<"]}]}`, "numeric must be an array"},
		"numeric bad operator":        {`{"n": [{"numeric": ["!=", 5]}]}`, `unrecognized numeric operator "!="`},
		"numeric string value":        {`{"n": [{"numeric": [">", "5"]}]}`, "must be a number"},
		"numeric two lower bounds":    {`{"n": [{"numeric": [">", 1, ">=", 2]}]}`, "more than one lower bound"},
		"numeric empty range":         {`{"n": [{"numeric": [">", 10, "<", 5]}]}`, "lower bound must be below"},
		"numeric equals combined":     {`{"n": [{"numeric": ["=", 1, "<", 5]}]}`, `"=" cannot be combined`},
		"numeric out of range":        {`{"n": [{"numeric": [">", 6e9]}]}`, "outside -5.0e9..5.0e9"},
		"anything-but mixed list":     {`{"s": [{"anything-but": ["a", 1]}]}`, "only strings or only numbers"},
		"anything-but empty list":     {`{"s": [{"anything-but": []}]}`, "must not be empty"},
		"anything-but boolean":        {`{"s": [{"anything-but": true}]}`, "anything-but must be"},
		"anything-but numeric op":     {`{"s": [{"anything-but": {"numeric": [">", 1]}}]}`, `unsupported anything-but operator "numeric"`},
		"anything-but empty prefix":   {`{"s": [{"anything-but": {"prefix": ""}}]}`, "must not be empty"},
		"wildcard double star":        {`{"s": [{"wildcard": "a**b"}]}`, "consecutive wildcard"},
		"wildcard bad escape":         {`{"s": [{"wildcard": "a\\b"}]}`, "invalid escape"},
		"cidr invalid":                {`{"ip": [{"cidr": "10.0.0.0/33"}]}`, "is not a CIDR block"},
		"cidr not string":             {`{"ip": [{"cidr": 10}]}`, "cidr must be a string"},
		"or not array":                {`{"$or": {"a": ["b"]}}`, "$or must be an array"},
		"or one alternative":          {`{"$or": [{"a": ["b"]}]}`, "at least two alternatives"},
		"or scalar alternative":       {`{"$or": [{"a": ["b"]}, "c"]}`, "$or[1]"},
		"empty nested object":         {`{"detail": {}}`, "detail: an object must have at least one field"},
		"trailing data":               {`{"a": ["b"]} x`, "trailing data"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParsePattern(tc.pattern)
			var perr *PatternError
			if !errors.As(err, &perr) {
				t.Fatalf("ParsePattern(%s): got error %v, want a *PatternError", tc.pattern, err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("ParsePattern(%s): got %q, want it to contain %q", tc.pattern, err, tc.reason)
			}
		})
	}
}

func TestPatternNonObjectEvent(t *testing.T) {
	p, err := ParsePattern(`{"source": [{"exists": false}]}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{`[]`, `"x"`, `not json`, ``} {
		if p.MatchesJSON([]byte(ev)) {
			t.Errorf("MatchesJSON(%q): got true, want false", ev)
		}
	}
}

func FuzzPattern(f *testing.F) {
	f.Add(`{"source": ["aws.ec2"], "detail": {"state": [{"anything-but": ["a", "b"]}]}}`, docEvent)
	f.Add(`{"$or": [{"a": [{"numeric": [">", 0, "<=", 5]}]}, {"b": [{"wildcard": "x*y\\*"}]}]}`, `{"a": 3, "b": "xzy*"}`)
	f.Add(`{"ip": [{"cidr": "10.0.0.0/8"}], "n": [{"exists": false}], "c": [{"prefix": {"equals-ignore-case": "A"}}]}`, `{"ip": ["10.1.1.1", 5], "c": "abc"}`)
	f.Fuzz(func(t *testing.T, pattern, event string) {
		p, err := ParsePattern(pattern)
		if err != nil {
			var perr *PatternError
			if !errors.As(err, &perr) {
				t.Fatalf("got error %T, want *PatternError", err)
			}
			return
		}
		first := p.MatchesJSON([]byte(event))
		if again := p.MatchesJSON([]byte(event)); again != first {
			t.Fatalf("matching is not deterministic: got %v then %v", first, again)
		}
	})
}
