package localcloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/ecr"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
	"github.com/slipwayhq/slipway/internal/localcloud/s3"
	"github.com/slipwayhq/slipway/internal/localcloud/sts"
)

// metricDatum and friends are the CloudWatch shapes the fake CBOR service
// decodes and encodes, as the cloudwatch package will.
type metricDatum struct {
	MetricName string
	Dimensions []struct{ Name, Value string }
	Timestamp  *time.Time
	Value      *float64
	Unit       string `cbor:",omitempty"`
}

type fakeCloudWatch struct {
	mu   sync.Mutex
	data []metricDatum
}

func (f *fakeCloudWatch) ServeCBOR(_ context.Context, op string, body []byte) ([]byte, error) {
	switch op {
	case "PutMetricData":
		var in struct {
			Namespace  string
			MetricData []metricDatum
		}
		if err := protocol.CBORUnmarshal(body, &in); err != nil {
			return nil, err
		}
		if in.Namespace == "" {
			e := protocol.Errorf(http.StatusBadRequest, "InvalidParameterValue", "Namespace: required")
			e.Type = "InvalidParameterValueException"
			return nil, e
		}
		f.mu.Lock()
		f.data = append(f.data, in.MetricData...)
		f.mu.Unlock()
		return nil, nil
	case "GetMetricData":
		f.mu.Lock()
		defer f.mu.Unlock()
		type result struct {
			Id         string
			Label      string
			Timestamps []time.Time
			Values     []float64
			StatusCode string
		}
		r := result{Id: "m1", Label: "all", StatusCode: "Complete"}
		for _, d := range f.data {
			r.Timestamps = append(r.Timestamps, *d.Timestamp)
			r.Values = append(r.Values, *d.Value)
		}
		return protocol.CBORMarshal(map[string]any{"MetricDataResults": []result{r}})
	case "Panic":
		panic("boom")
	}
	return nil, protocol.UnknownOperation(op)
}

type testEnv struct {
	server *Server
	url    string
	events *prototest.Events
	cw     *fakeCloudWatch
	logs   *bytes.Buffer
}

// newEnv composes a Server with the real S3, ECR and STS, a fake
// CloudWatch (CBOR and JSON 1.0), a fake Step Functions (JSON 1.0), a fake
// query service and a fake Lambda.
func newEnv(t testing.TB) *testEnv {
	t.Helper()
	env := &testEnv{events: &prototest.Events{}, cw: &fakeCloudWatch{}, logs: &bytes.Buffer{}}
	clk := clock.NewVirtual(time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC))
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: env.logs}, nil))
	srv := NewServer(Options{Logger: logger})
	s3svc := s3.New(s3.Options{Clock: clk, Events: env.events})
	// Operation and WriteError come from the handler itself.
	srv.RegisterS3(RESTService{Name: "s3", Handler: s3svc})
	srv.RegisterJSON("ecr", ecr.TargetPrefix, "1.1", ecr.New(ecr.Options{Clock: clk, Events: env.events}))
	srv.RegisterQuery("sts", sts.Version, sts.Namespace, sts.New(sts.Options{Clock: clk}))
	srv.RegisterCBOR("cloudwatch", "GraniteServiceVersion20100801", env.cw)
	srv.RegisterJSON("states", "AWSStepFunctions", "1.0", protocol.JSONHandlerFunc(func(_ context.Context, op string, body []byte) (any, error) {
		switch op {
		case "ListStateMachines":
			return map[string]any{"stateMachines": []any{}}, nil
		case "Panic":
			panic("boom")
		case "Fail":
			return nil, errors.New("database on fire")
		}
		return nil, protocol.UnknownOperation(op)
	}))
	srv.RegisterQuery("elasticloadbalancing", "2015-12-01", "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
		protocol.QueryHandlerFunc(func(_ context.Context, action string, params url.Values) (any, error) {
			if action == "Panic" {
				panic("boom")
			}
			return struct {
				Names []string `xml:"Names>member"`
			}{protocol.QueryList(params, "Names")}, nil
		}))
	srv.RegisterLambda(RESTService{Name: "lambda", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})})
	env.server, env.url = srv, prototest.Serve(t, srv)
	return env
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (e *testEnv) awsOptions() (aws.CredentialsProvider, *string) {
	return credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", ""), aws.String(e.url)
}

// config is the SDK configuration of the test clients: the endpoint's URL,
// the AKIDLOCAL key and no retries.
func (e *testEnv) config() aws.Config {
	creds, _ := e.awsOptions()
	return prototest.ConfigWithCredentials(e.url, creds)
}

func (e *testEnv) s3Client() *awss3.Client {
	return awss3.NewFromConfig(e.config(), func(o *awss3.Options) { o.UsePathStyle = true })
}

func (e *testEnv) ecrClient() *awsecr.Client { return awsecr.NewFromConfig(e.config()) }

func (e *testEnv) stsClient() *awssts.Client { return awssts.NewFromConfig(e.config()) }

func (e *testEnv) cloudwatchClient() *cloudwatch.Client { return cloudwatch.NewFromConfig(e.config()) }

// raw sends one request and returns status, headers and body.
func (e *testEnv) raw(t *testing.T, method, path string, headers map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	req := prototest.NewRequest(t, method, e.url+path, body)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return prototest.Do(t, req)
}

func TestSDKClientsThroughRouter(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t)

	s3c := env.s3Client()
	if _, err := s3c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("specs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("specs"), Key: aws.String("services/web.yaml"), Body: strings.NewReader("name: web\n")}); err != nil {
		t.Fatal(err)
	}
	obj, err := s3c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("specs"), Key: aws.String("services/web.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if string(body) != "name: web\n" {
		t.Errorf("S3 object: got %q, want the uploaded spec", body)
	}

	ecrc := env.ecrClient()
	repo, err := ecrc.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(repo.Repository.RepositoryUri), "000000000000.dkr.ecr.us-east-1.amazonaws.com/web"; got != want {
		t.Errorf("repositoryUri: got %s, want %s", got, want)
	}
	_, err = ecrc.DescribeRepositories(ctx, &awsecr.DescribeRepositoriesInput{RepositoryNames: []string{"nope"}})
	if got := prototest.ErrorCode(err); got != "RepositoryNotFoundException" {
		t.Errorf("ECR error through router: got %q (%v), want RepositoryNotFoundException", got, err)
	}

	id, err := env.stsClient().GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != protocol.Account {
		t.Errorf("STS account: got %s, want %s", aws.ToString(id.Account), protocol.Account)
	}
	_, err = env.stsClient().AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("nope"), RoleSessionName: aws.String("s1")})
	if got := prototest.ErrorCode(err); got != "ValidationError" {
		t.Errorf("STS error through router: got %q (%v), want ValidationError", got, err)
	}
}

func TestCloudWatchCBOR(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t)
	cw := env.cloudwatchClient()
	ts := time.Date(2026, 11, 25, 14, 1, 0, 0, time.UTC)
	_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
		Namespace: aws.String("AWS/ApplicationELB"),
		MetricData: []cwtypes.MetricDatum{{
			MetricName: aws.String("HTTPCode_Target_5XX_Count"),
			Dimensions: []cwtypes.Dimension{{Name: aws.String("TargetGroup"), Value: aws.String("targetgroup/web/abc")}},
			Timestamp:  aws.Time(ts),
			Value:      aws.Float64(7),
			Unit:       cwtypes.StandardUnitCount,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	env.cw.mu.Lock()
	got := env.cw.data
	env.cw.mu.Unlock()
	if len(got) != 1 || got[0].MetricName != "HTTPCode_Target_5XX_Count" || !got[0].Timestamp.Equal(ts) || *got[0].Value != 7 ||
		got[0].Unit != "Count" || len(got[0].Dimensions) != 1 || got[0].Dimensions[0].Value != "targetgroup/web/abc" {
		t.Errorf("decoded datum: got %+v, want the datum sent", got)
	}
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(ts), EndTime: aws.Time(ts.Add(time.Hour)),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("m1"), Expression: aws.String("x")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricDataResults) != 1 || !cmp.Equal(out.MetricDataResults[0].Values, []float64{7}) ||
		len(out.MetricDataResults[0].Timestamps) != 1 || !out.MetricDataResults[0].Timestamps[0].Equal(ts) {
		t.Errorf("GetMetricData: got %+v, want one value 7 at %v", out.MetricDataResults, ts)
	}
	_, err = cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(""), MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("x")}}})
	var invalid *cwtypes.InvalidParameterValueException
	if got := prototest.ErrorCode(err); got != "InvalidParameterValue" || !errors.As(err, &invalid) {
		t.Errorf("CBOR error: got %q (%v), want a typed InvalidParameterValueException with code InvalidParameterValue", got, err)
	}

	// The aws CLI speaks JSON 1.0 to the same service.
	status, hdr, body := env.raw(t, http.MethodPost, "/", map[string]string{
		"X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData", "Content-Type": "application/x-amz-json-1.0",
	}, `{"Namespace":"Custom","MetricData":[{"MetricName":"m","Timestamp":1764079320,"Value":1.5}]}`)
	if status != 200 || hdr.Get("Content-Type") != "application/x-amz-json-1.0" || body != "{}" {
		t.Errorf("JSON 1.0 PutMetricData: got %d %s %s, want 200 application/x-amz-json-1.0 {}", status, hdr.Get("Content-Type"), body)
	}
	status, _, body = env.raw(t, http.MethodPost, "/", map[string]string{
		"X-Amz-Target": "GraniteServiceVersion20100801.GetMetricData", "Content-Type": "application/x-amz-json-1.0",
	}, `{}`)
	var res struct {
		MetricDataResults []struct {
			Timestamps []float64
			Values     []float64
		}
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil || status != 200 {
		t.Fatalf("JSON 1.0 GetMetricData: got %d %s (%v)", status, body, err)
	}
	if diff := cmp.Diff([]float64{float64(ts.Unix()), 1764079320}, res.MetricDataResults[0].Timestamps); diff != "" {
		t.Errorf("bridged timestamps as epoch seconds (-want +got):\n%s", diff)
	}
}

func TestRoutingAndErrors(t *testing.T) {
	env := newEnv(t)
	json11 := map[string]string{"Content-Type": "application/x-amz-json-1.1"}
	withTarget := func(target string) map[string]string {
		return map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	cborHdr := map[string]string{"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor"}
	tests := map[string]struct {
		method, path string
		headers      map[string]string
		body         string
		wantStatus   int
		wantType     string // Content-Type
		wantInBody   []string
	}{
		"step functions is JSON 1.0": {
			method: http.MethodPost, path: "/", headers: withTarget("AWSStepFunctions.ListStateMachines"), body: "{}",
			wantStatus: 200, wantType: "application/x-amz-json-1.0", wantInBody: []string{`"stateMachines":[]`},
		},
		"ECR is JSON 1.1": {
			method: http.MethodPost, path: "/", headers: withTarget("AmazonEC2ContainerRegistry_V20150921.DescribeRepositories"), body: "{}",
			wantStatus: 200, wantType: "application/x-amz-json-1.1", wantInBody: []string{`"repositories":[]`},
		},
		"unknown target prefix": {
			method: http.MethodPost, path: "/", headers: withTarget("AmazonNothing_V1.DoIt"), body: "{}",
			wantStatus: 400, wantInBody: []string{`"__type":"UnknownOperationException"`},
		},
		"target without operation": {
			method: http.MethodPost, path: "/", headers: withTarget("AWSStepFunctions"), body: "{}",
			wantStatus: 400, wantInBody: []string{"UnknownOperationException"},
		},
		"unknown operation": {
			method: http.MethodPost, path: "/", headers: withTarget("AmazonEC2ContainerRegistry_V20150921.Nope"), body: "{}",
			wantStatus: 400, wantInBody: []string{"UnknownOperationException"},
		},
		"malformed JSON": {
			method: http.MethodPost, path: "/", headers: withTarget("AmazonEC2ContainerRegistry_V20150921.CreateRepository"), body: "{",
			wantStatus: 400, wantInBody: []string{"SerializationException"},
		},
		"JSON GET": {
			method: http.MethodGet, path: "/", headers: withTarget("AWSStepFunctions.ListStateMachines"),
			wantStatus: 405, wantInBody: []string{"SerializationException"},
		},
		"handler error is an internal failure": {
			method: http.MethodPost, path: "/", headers: withTarget("AWSStepFunctions.Fail"), body: "{}",
			wantStatus: 500, wantInBody: []string{"InternalFailure"},
		},
		"JSON handler panic": {
			method: http.MethodPost, path: "/", headers: withTarget("AWSStepFunctions.Panic"), body: "{}",
			wantStatus: 500, wantType: "application/x-amz-json-1.0", wantInBody: []string{"InternalFailure"},
		},
		"query list": {
			method: http.MethodPost, path: "/", headers: form, body: "Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.1=a&Names.member.2=b",
			wantStatus: 200, wantType: "text/xml",
			wantInBody: []string{`<DescribeLoadBalancersResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">`, "<Names><member>a</member><member>b</member></Names>", "<RequestId>"},
		},
		"query unknown version": {
			method: http.MethodPost, path: "/", headers: form, body: "Action=ListQueues&Version=2012-11-05",
			wantStatus: 400, wantInBody: []string{"<Code>InvalidAction</Code>", "<Type>Sender</Type>"},
		},
		"query without action": {
			method: http.MethodPost, path: "/", headers: form, body: "Version=2011-06-15",
			wantStatus: 400, wantInBody: []string{"<Code>MissingAction</Code>"},
		},
		"query malformed form": {
			method: http.MethodPost, path: "/", headers: form, body: "Action=%zz",
			wantStatus: 400, wantInBody: []string{"<Code>MalformedQueryString</Code>"},
		},
		"query unknown action": {
			method: http.MethodPost, path: "/", headers: form, body: "Action=GetSessionTokenX&Version=2011-06-15",
			wantStatus: 400, wantInBody: []string{"<Code>InvalidAction</Code>"},
		},
		"query by GET": {
			method: http.MethodGet, path: "/?Action=GetCallerIdentity&Version=2011-06-15",
			wantStatus: 200, wantInBody: []string{"<Account>000000000000</Account>"},
		},
		"query handler panic": {
			method: http.MethodPost, path: "/", headers: form, body: "Action=Panic&Version=2015-12-01",
			wantStatus: 500, wantType: "text/xml", wantInBody: []string{"<Code>InternalFailure</Code>", "<Type>Receiver</Type>"},
		},
		"CloudWatch JSON 1.0 error": {
			method: http.MethodPost, path: "/", headers: withTarget("GraniteServiceVersion20100801.PutMetricData"), body: `{"Namespace":""}`,
			wantStatus: 400, wantType: "application/x-amz-json-1.0", wantInBody: []string{`"__type":"InvalidParameterValueException"`},
		},
		"CloudWatch JSON 1.0 malformed": {
			method: http.MethodPost, path: "/", headers: withTarget("GraniteServiceVersion20100801.PutMetricData"), body: `{"Namespace":`,
			wantStatus: 400, wantInBody: []string{"SerializationException"},
		},
		"CBOR unknown service": {
			method: http.MethodPost, path: "/service/Nope/operation/Get", headers: cborHdr,
			wantStatus: 404, wantType: "application/cbor", wantInBody: []string{"UnknownOperationException"},
		},
		"CBOR unknown operation": {
			method: http.MethodPost, path: "/service/GraniteServiceVersion20100801/operation/Nope", headers: cborHdr,
			wantStatus: 400, wantInBody: []string{"UnknownOperationException"},
		},
		"CBOR malformed body": {
			method: http.MethodPost, path: "/service/GraniteServiceVersion20100801/operation/PutMetricData", headers: cborHdr, body: "\xbf\x61",
			wantStatus: 400, wantInBody: []string{"SerializationException"},
		},
		"CBOR handler panic": {
			method: http.MethodPost, path: "/service/GraniteServiceVersion20100801/operation/Panic", headers: cborHdr,
			wantStatus: 500, wantType: "application/cbor", wantInBody: []string{"InternalFailure"},
		},
		"lambda route": {
			method: http.MethodPost, path: "/2015-03-31/functions/build/invocations", headers: json11, body: "{}",
			wantStatus: 200, wantInBody: []string{`{"ok":true}`},
		},
		"lambda ListFunctions (the bare path)": {
			method: http.MethodGet, path: "/2015-03-31/functions",
			wantStatus: 200, wantInBody: []string{`{"ok":true}`},
		},
		"S3 fallback": {
			method: http.MethodGet, path: "/missing-bucket?list-type=2",
			wantStatus: 404, wantType: "application/xml", wantInBody: []string{"<Code>NoSuchBucket</Code>"},
		},
		"health": {
			method: http.MethodGet, path: "/_slipway/health", wantStatus: 200, wantInBody: []string{`{"ok":true}`},
		},
		"unknown control endpoint": {
			method: http.MethodGet, path: "/_slipway/nope", wantStatus: 404, wantInBody: []string{"no control endpoint"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			status, hdr, body := env.raw(t, tc.method, tc.path, tc.headers, tc.body)
			if status != tc.wantStatus {
				t.Errorf("status: got %d (%s), want %d", status, body, tc.wantStatus)
			}
			if tc.wantType != "" && hdr.Get("Content-Type") != tc.wantType {
				t.Errorf("Content-Type: got %s, want %s", hdr.Get("Content-Type"), tc.wantType)
			}
			for _, want := range tc.wantInBody {
				if !strings.Contains(body, want) {
					t.Errorf("body: got %s, want it to contain %s", body, want)
				}
			}
			if hdr.Get("X-Amzn-Requestid") == "" || hdr.Get("X-Amz-Request-Id") == "" {
				t.Errorf("request id headers: got %q and %q, want both set", hdr.Get("X-Amzn-Requestid"), hdr.Get("X-Amz-Request-Id"))
			}
		})
	}
	if !strings.Contains(env.logs.String(), "request handler panicked") || !strings.Contains(env.logs.String(), "database on fire") {
		t.Errorf("logs: got %s, want the panics and the internal error logged", env.logs.String())
	}
	// Still serving after the panics.
	if status, _, _ := env.raw(t, http.MethodGet, "/_slipway/health", nil, ""); status != 200 {
		t.Errorf("health after panics: got %d, want 200", status)
	}
	env.server.SetReady(false)
	if status, _, body := env.raw(t, http.MethodGet, "/_slipway/health", nil, ""); status != 503 || !strings.Contains(body, `"ok":false`) {
		t.Errorf("health when not ready: got %d %s, want 503 ok:false", status, body)
	}
}

func TestThrottlingPerProtocol(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t)
	f := env.server.Faults()
	f.Throttle("ecr", "DescribeRepositories", 1)
	f.Throttle("sts", "*", 1)
	f.Throttle("s3", "ListBuckets", 1)
	f.Throttle("cloudwatch", "PutMetricData", 1)
	f.Throttle("lambda", "*", 1)

	_, err := env.ecrClient().DescribeRepositories(ctx, &awsecr.DescribeRepositoriesInput{})
	if got := prototest.ErrorCode(err); got != "ThrottlingException" {
		t.Errorf("ECR: got %q (%v), want ThrottlingException", got, err)
	}
	if _, err := env.ecrClient().DescribeRepositories(ctx, &awsecr.DescribeRepositoriesInput{}); err != nil {
		t.Errorf("ECR after the throttle ran out: %v", err)
	}
	_, err = env.stsClient().GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if got := prototest.ErrorCode(err); got != "Throttling" {
		t.Errorf("STS: got %q (%v), want Throttling", got, err)
	}
	_, err = env.s3Client().ListBuckets(ctx, &awss3.ListBucketsInput{})
	if got := prototest.ErrorCode(err); got != "SlowDown" {
		t.Errorf("S3: got %q (%v), want SlowDown", got, err)
	}
	if _, err := env.s3Client().ListBuckets(ctx, &awss3.ListBucketsInput{}); err != nil {
		t.Errorf("S3 after the ListBuckets throttle ran out: %v", err)
	}
	_, err = env.cloudwatchClient().PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("n"), MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("m"), Value: aws.Float64(1), Timestamp: aws.Time(time.Now())}}})
	if got := prototest.ErrorCode(err); got != "ThrottlingException" {
		t.Errorf("CloudWatch: got %q (%v), want ThrottlingException", got, err)
	}
	status, hdr, _ := env.raw(t, http.MethodPost, "/2015-03-31/functions/f/invocations", nil, "{}")
	if status != http.StatusTooManyRequests || hdr.Get("X-Amzn-Errortype") != "TooManyRequestsException" {
		t.Errorf("Lambda: got %d %s, want 429 TooManyRequestsException", status, hdr.Get("X-Amzn-Errortype"))
	}
	// With the SDK's default retries a single throttle is absorbed.
	f.Throttle("ecr", "DescribeRepositories", 1)
	creds, ep := env.awsOptions()
	retrying := awsecr.New(awsecr.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: ep})
	if _, err := retrying.DescribeRepositories(ctx, &awsecr.DescribeRepositoriesInput{}); err != nil {
		t.Errorf("ECR with retries: %v", err)
	}
}

// TestInternalErrorsPerProtocol checks the 5xx an API fault injects in
// each protocol, and that a fault with a Match fails only the requests
// that name it.
func TestInternalErrorsPerProtocol(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t)
	f := env.server.Faults()
	f.Apply(faults.State{Throttles: []faults.Throttle{
		{Service: "ecr", Operation: "DescribeRepositories", Count: 1, Match: `"web"`, Error: faults.ErrorInternal},
		{Service: "sts", Operation: "*", Count: 1, Error: faults.ErrorInternal},
		{Service: "s3", Operation: "*", Count: 1, Match: "/web-bucket", Error: faults.ErrorInternal},
	}})
	_, err := env.ecrClient().DescribeRepositories(ctx, &awsecr.DescribeRepositoriesInput{RepositoryNames: []string{"worker"}})
	if got := prototest.ErrorCode(err); got == "InternalFailure" {
		t.Errorf("ECR naming another repository: got %q, want no injected fault", got)
	}
	_, err = env.ecrClient().DescribeRepositories(ctx, &awsecr.DescribeRepositoriesInput{RepositoryNames: []string{"web"}})
	if got := prototest.ErrorCode(err); got != "InternalFailure" {
		t.Errorf("ECR: got %q (%v), want InternalFailure", got, err)
	}
	_, err = env.stsClient().GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if got := prototest.ErrorCode(err); got != "InternalFailure" {
		t.Errorf("STS: got %q (%v), want InternalFailure", got, err)
	}
	if _, err := env.s3Client().ListBuckets(ctx, &awss3.ListBucketsInput{}); err != nil {
		t.Errorf("S3 ListBuckets, which names no matching key: %v", err)
	}
	_, err = env.s3Client().HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String("web-bucket")})
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusInternalServerError {
		t.Errorf("S3 HeadBucket web-bucket: got %v, want a 500", err)
	}
}

func TestFaultsControlAPI(t *testing.T) {
	env := newEnv(t)
	jsonType := map[string]string{"Content-Type": "application/json"}
	status, _, body := env.raw(t, http.MethodPost, "/_slipway/faults", jsonType,
		`{"images":{"sha256:abc":{"errorRate":0.5,"latencyMs":200}},"throttles":[{"service":"ecr","operation":"*","count":2}],"eventDelayMs":1000,"serviceLoads":{"staging/web":250}}`)
	if status != 200 {
		t.Fatalf("POST faults: got %d %s, want 200", status, body)
	}
	var st faults.State
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	want := faults.State{
		Images:       map[string]faults.Behaviour{"sha256:abc": {ErrorRate: 0.5, LatencyMs: 200}},
		Throttles:    []faults.Throttle{{Service: "ecr", Operation: "*", Count: 2}},
		EventDelayMs: 1000,
		ServiceLoads: map[string]float64{"staging/web": 250},
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("faults state (-want +got):\n%s", diff)
	}
	if got := env.server.Faults().ForImage("000000000000.dkr.ecr.us-east-1.amazonaws.com/web@sha256:abc"); got.ErrorRate != 0.5 {
		t.Errorf("registry after POST: got %+v, want errorRate 0.5", got)
	}
	_, _, body = env.raw(t, http.MethodGet, "/_slipway/faults", nil, "")
	if !strings.Contains(body, `"sha256:abc"`) {
		t.Errorf("GET faults: got %s, want the image fault", body)
	}
	for name, bad := range map[string]string{
		"unknown field":   `{"imagez":{}}`,
		"bad rate":        `{"images":{"sha256:a":{"errorRate":2}}}`,
		"not a digest":    `{"images":{"web:v1":{"crashOnStart":true}}}`,
		"throttle fields": `{"throttles":[{"count":1}]}`,
		"throttle error":  `{"throttles":[{"service":"ecs","operation":"*","count":1,"error":"boom"}]}`,
		"invocation":      `{"invocations":[{"function":"step","fault":"explode","count":1}]}`,
		"hold name":       `{"invocations":[{"function":"step","fault":"crash","count":1,"hold":"web"}]}`,
		"held":            `{"held":["web"]}`,
		"release name":    `{"release":[""]}`,
		"event action":    `{"events":[{"match":["web"],"action":"lose","count":1}]}`,
		"event match":     `{"events":[{"action":"drop","count":1}]}`,
		"delay without":   `{"events":[{"match":["web"],"action":"delay","count":1}]}`,
		"load key":        `{"serviceLoads":{"web":10}}`,
		"negative load":   `{"serviceLoads":{"staging/web":-1}}`,
		"not JSON":        `{`,
	} {
		t.Run(name, func(t *testing.T) {
			status, _, body := env.raw(t, http.MethodPost, "/_slipway/faults", jsonType, bad)
			if status != 400 || !strings.Contains(body, `"error"`) {
				t.Errorf("got %d %s, want 400 with an error", status, body)
			}
		})
	}
	status, _, body = env.raw(t, http.MethodDelete, "/_slipway/faults", jsonType, "")
	if status != 200 || strings.Contains(body, "sha256") {
		t.Errorf("DELETE faults: got %d %s, want 200 and no faults", status, body)
	}
	// A hold and a reorder are accepted; a hold is released by name.
	status, _, body = env.raw(t, http.MethodPost, "/_slipway/faults", jsonType,
		`{"invocations":[{"function":"step","fault":"hold","count":1,"hold":"web"}],"events":[{"match":["web"],"action":"reorder","count":2}]}`)
	if status != 200 || !strings.Contains(body, `"hold":"web"`) || !strings.Contains(body, `"reorder"`) {
		t.Errorf("POST a hold and a reorder: got %d %s, want 200 and both", status, body)
	}
	released, _ := env.server.Faults().HoldInvocation("step", []byte(`{}`))
	status, _, body = env.raw(t, http.MethodPost, "/_slipway/faults", jsonType, `{"release":["web"]}`)
	if status != 200 || strings.Contains(body, `"held"`) {
		t.Errorf("POST release: got %d %s, want 200 and nothing held", status, body)
	}
	select {
	case <-released:
	default:
		t.Error("POST release did not release the held invocation")
	}
	if status, _, _ := env.raw(t, http.MethodPatch, "/_slipway/faults", jsonType, ""); status != 405 {
		t.Errorf("PATCH faults: got %d, want 405", status)
	}
}

func TestEventsThroughRouter(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t)
	if _, err := env.ecrClient().CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.ecrClient().PutImage(ctx, &awsecr.PutImageInput{RepositoryName: aws.String("web"), ImageManifest: aws.String(`{"schemaVersion":2}`), ImageTag: aws.String("v1")}); err != nil {
		t.Fatal(err)
	}
	evs := env.events.All()
	if len(evs) != 1 || evs[0].DetailType != "ECR Image Action" {
		t.Fatalf("events: got %+v, want one ECR Image Action", evs)
	}
}

func TestHandleControl(t *testing.T) {
	env := newEnv(t)
	env.server.HandleControl("clock", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "tick "+r.URL.Path)
	}))
	if status, _, body := env.raw(t, http.MethodGet, "/_slipway/clock/advance", nil, ""); status != 200 || body != "tick /_slipway/clock/advance" {
		t.Errorf("added control endpoint: got %d %q", status, body)
	}
}

func FuzzRouter(f *testing.F) {
	f.Add("POST", "/", "AmazonEC2ContainerRegistry_V20150921.PutImage", "application/x-amz-json-1.1", `{"repositoryName":"web","imageManifest":"{}"}`)
	f.Add("POST", "/", "", "application/x-www-form-urlencoded", "Action=AssumeRole&Version=2011-06-15&RoleArn=x")
	f.Add("POST", "/service/GraniteServiceVersion20100801/operation/PutMetricData", "", "application/cbor", "\xbf\x69Namespace\x61x\xff")
	f.Add("PUT", "/bucket/key?versionId=1", "", "", "data")
	f.Add("POST", "/_slipway/faults", "", "application/json", `{"throttles":[{"service":"s3","operation":"*","count":1}]}`)
	f.Add("GET", "/bucket?versions&max-keys=1", "", "", "")
	env := newEnv(f)
	f.Fuzz(func(t *testing.T, method, path, target, contentType, body string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		u, err := url.ParseRequestURI(path)
		if err != nil || !validMethod(method) {
			return
		}
		req.Method, req.URL, req.RequestURI = method, u, path
		req.Body = io.NopCloser(strings.NewReader(body))
		if target != "" {
			req.Header.Set("X-Amz-Target", target)
		}
		req.Header.Set("Content-Type", contentType)
		env.logs.Reset()
		rec := httptest.NewRecorder()
		env.server.ServeHTTP(rec, req)
		if rec.Code == 0 {
			t.Errorf("no status written for %s %s", method, path)
		}
		// The router recovers panics; only the fakes' deliberate ones are
		// acceptable.
		if logs := env.logs.String(); strings.Contains(logs, "panicked") && !strings.Contains(logs, "panic=boom") {
			t.Errorf("%s %s: a handler panicked: %s", method, path, logs)
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
