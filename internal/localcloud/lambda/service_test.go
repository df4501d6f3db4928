package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

// StabilizationError is a pointer error type; the runtime reports its
// element name.
type StabilizationError struct{ Service string }

func (e *StabilizationError) Error() string { return "service " + e.Service + " did not stabilize" }

// ValueError is a value error type.
type ValueError struct{}

func (ValueError) Error() string { return "bad value" }

type input struct {
	Name string `json:"name"`
}

func newService(t *testing.T, c clock.Clock) *Service {
	t.Helper()
	s := New(Config{Clock: c})
	t.Cleanup(func() { s.Close() })
	register := map[string]any{
		"greet": func(_ context.Context, in input) (map[string]string, error) {
			return map[string]string{"hello": in.Name}, nil
		},
		"whoami": func(ctx context.Context) (string, error) {
			lc, ok := lambdacontext.FromContext(ctx)
			if !ok || lc.AwsRequestID == "" {
				return "", errors.New("no lambda context")
			}
			return lc.InvokedFunctionArn, nil
		},
		"stabilize": func(context.Context, input) (string, error) {
			return "", &StabilizationError{Service: "web"}
		},
		"value":  func(context.Context) error { return ValueError{} },
		"crash":  func(context.Context) error { panic("nil spec") },
		"errval": func(context.Context) error { panic(errors.New("wrapped")) },
	}
	for name, fn := range register {
		if err := s.Register(name, awslambda.NewHandler(fn)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// newClient returns a real SDK client talking to the service through an
// HTTP server that hands the REST paths to it, as the core does. It does
// not use the real router: that routes only paths below
// /2015-03-31/functions/, so ListFunctions (GET /2015-03-31/functions)
// would not reach the service.
func newClient(t *testing.T, s *Service) *sdk.Client {
	t.Helper()
	return sdk.NewFromConfig(prototest.Config(prototest.Serve(t, s)))
}

func TestInvokeOverHTTP(t *testing.T) {
	s := newService(t, clock.Real())
	c := newClient(t, s)
	tests := map[string]struct {
		function string
		payload  string
		wantErr  string // X-Amz-Function-Error
		wantBody string
	}{
		"success":               {"greet", `{"name":"ops"}`, "", `{"hello":"ops"}`},
		"by arn":                {"arn:aws:lambda:us-east-1:000000000000:function:greet", `{"name":"a"}`, "", `{"hello":"a"}`},
		"by partial arn":        {"000000000000:function:greet", `{"name":"b"}`, "", `{"hello":"b"}`},
		"by arn with $LATEST":   {"arn:aws:lambda:us-east-1:000000000000:function:greet:$LATEST", `{}`, "", `{"hello":""}`},
		"empty payload":         {"greet", ``, "", `{"hello":""}`},
		"pointer error type":    {"stabilize", `{}`, "Unhandled", `{"errorType":"StabilizationError","errorMessage":"service web did not stabilize"}`},
		"lambda context":        {"whoami", `{}`, "", `"arn:aws:lambda:us-east-1:000000000000:function:whoami"`},
		"value error type":      {"value", `{}`, "Unhandled", `{"errorType":"ValueError","errorMessage":"bad value"}`},
		"input that won't bind": {"greet", `{"name":5}`, "Unhandled", `{"errorType":"UnmarshalTypeError","errorMessage":"json: cannot unmarshal number into Go struct field input.name of type string"}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := c.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(tc.function), Payload: []byte(tc.payload)})
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if out.StatusCode != 200 {
				t.Errorf("status: got %d, want 200", out.StatusCode)
			}
			if got := aws.ToString(out.FunctionError); got != tc.wantErr {
				t.Errorf("FunctionError: got %q, want %q", got, tc.wantErr)
			}
			if got := aws.ToString(out.ExecutedVersion); got != "$LATEST" {
				t.Errorf("ExecutedVersion: got %q, want $LATEST", got)
			}
			if diff := cmp.Diff(tc.wantBody, string(out.Payload)); diff != "" {
				t.Errorf("payload (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInvokePanic(t *testing.T) {
	s := newService(t, clock.Real())
	c := newClient(t, s)
	tests := map[string]struct {
		function, wantType, wantMessage string
	}{
		"string panic": {"crash", "string", "nil spec"},
		"error panic":  {"errval", "errorString", "wrapped"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := c.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(tc.function)})
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if got := aws.ToString(out.FunctionError); got != "Unhandled" {
				t.Errorf("FunctionError: got %q, want Unhandled", got)
			}
			var fe FunctionError
			if err := json.Unmarshal(out.Payload, &fe); err != nil {
				t.Fatalf("decode %s: %v", out.Payload, err)
			}
			if fe.Type != tc.wantType || fe.Message != tc.wantMessage {
				t.Errorf("error: got %s/%s, want %s/%s", fe.Type, fe.Message, tc.wantType, tc.wantMessage)
			}
			var frames []stackFrame
			if err := json.Unmarshal(fe.StackTrace, &frames); err != nil || len(frames) == 0 {
				t.Errorf("stackTrace: got %s (%v), want frames", fe.StackTrace, err)
			}
		})
	}
}

func TestInvokeErrors(t *testing.T) {
	s := newService(t, clock.Real())
	c := newClient(t, s)
	tests := map[string]struct {
		in   sdk.InvokeInput
		want any
	}{
		"unknown function":   {sdk.InvokeInput{FunctionName: aws.String("nope")}, &types.ResourceNotFoundException{}},
		"unknown by arn":     {sdk.InvokeInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:000000000000:function:nope")}, &types.ResourceNotFoundException{}},
		"version qualifier":  {sdk.InvokeInput{FunctionName: aws.String("greet"), Qualifier: aws.String("3")}, &types.ResourceNotFoundException{}},
		"payload not json":   {sdk.InvokeInput{FunctionName: aws.String("greet"), Payload: []byte("{nope")}, &types.InvalidRequestContentException{}},
		"invocation type":    {sdk.InvokeInput{FunctionName: aws.String("greet"), InvocationType: "Later"}, &types.InvalidParameterValueException{}},
		"qualifier mismatch": {sdk.InvokeInput{FunctionName: aws.String("greet:$LATEST"), Qualifier: aws.String("2")}, &types.InvalidParameterValueException{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := c.Invoke(t.Context(), &tc.in)
			if err == nil {
				t.Fatal("Invoke: got no error")
			}
			switch want := tc.want.(type) {
			case *types.ResourceNotFoundException:
				if !errors.As(err, &want) {
					t.Errorf("got %v, want ResourceNotFoundException", err)
				}
			case *types.InvalidRequestContentException:
				if !errors.As(err, &want) {
					t.Errorf("got %v, want InvalidRequestContentException", err)
				}
			case *types.InvalidParameterValueException:
				if !errors.As(err, &want) {
					t.Errorf("got %v, want InvalidParameterValueException", err)
				}
			}
		})
	}
}

func TestInvokeInProcess(t *testing.T) {
	s := newService(t, clock.Real())
	out, fnErr, err := s.Invoke(t.Context(), s.FunctionARN("greet"), []byte(`{"name":"sfn"}`))
	if err != nil || fnErr != nil {
		t.Fatalf("Invoke: got %v, %v", fnErr, err)
	}
	if got, want := string(out), `{"hello":"sfn"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	_, fnErr, err = s.Invoke(t.Context(), "stabilize", nil)
	if err != nil || fnErr == nil || fnErr.Type != "StabilizationError" {
		t.Errorf("Invoke stabilize: got %+v, %v, want a StabilizationError function error", fnErr, err)
	}
	_, _, err = s.Invoke(t.Context(), "nope", nil)
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Code != CodeResourceNotFound || perr.Status != 404 {
		t.Errorf("Invoke nope: got %v, want a 404 ResourceNotFoundException", err)
	}
	doc, isFnErr, err := s.InvokePayload(t.Context(), "value", nil)
	if err != nil || !isFnErr || string(doc) != `{"errorType":"ValueError","errorMessage":"bad value"}` {
		t.Errorf("InvokePayload value: got %s, %v, %v", doc, isFnErr, err)
	}
}

func TestDryRunAndEvent(t *testing.T) {
	v := clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := New(Config{Clock: v})
	t.Cleanup(func() { s.Close() })
	calls := make(chan string, 10)
	s.Register("record", awslambda.NewHandler(func(_ context.Context, in input) error {
		calls <- in.Name
		return nil
	}))
	c := newClient(t, s)
	out, err := c.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String("record"), InvocationType: types.InvocationTypeDryRun})
	if err != nil || out.StatusCode != 204 {
		t.Fatalf("DryRun: got %v, %v, want 204", out, err)
	}
	out, err = c.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String("record"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"name":"async"}`)})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("Event: got %v, %v, want 202", out, err)
	}
	if err := v.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-calls:
		if got != "async" {
			t.Errorf("got %q, want async", got)
		}
	default:
		t.Fatal("the asynchronous invocation did not run")
	}
	if len(calls) != 0 {
		t.Errorf("DryRun ran the function: %d extra calls", len(calls))
	}
}

func TestAsyncRetries(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := clock.NewVirtual(start)
	s := New(Config{Clock: v})
	t.Cleanup(func() { s.Close() })
	var at []time.Duration
	fail := true
	s.Register("flaky", awslambda.NewHandler(func(context.Context) error {
		at = append(at, v.Now().Sub(start))
		if fail {
			return &StabilizationError{Service: "web"}
		}
		return nil
	}))
	if err := s.InvokeAsync(t.Context(), "flaky", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := v.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Duration{0, time.Minute, 3 * time.Minute}, at); diff != "" {
		t.Errorf("attempt times (-want +got):\n%s", diff)
	}
	failures := s.AsyncFailures()
	if len(failures) != 1 || failures[0].Attempts != 3 || failures[0].Error.Type != "StabilizationError" {
		t.Fatalf("AsyncFailures: got %+v, want one after 3 attempts", failures)
	}

	// A retry that succeeds records nothing more.
	at, fail = nil, true
	s.Register("flaky", awslambda.NewHandler(func(context.Context) error {
		at = append(at, v.Now().Sub(start))
		if len(at) == 1 {
			return errors.New("once")
		}
		return nil
	}))
	if err := s.InvokeAsync(t.Context(), "flaky", nil); err != nil {
		t.Fatal(err)
	}
	if err := v.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(at) != 2 || len(s.AsyncFailures()) != 1 {
		t.Errorf("got %d attempts and %d failures, want 2 and 1", len(at), len(s.AsyncFailures()))
	}
	var perr *protocol.Error
	if err := s.InvokeAsync(t.Context(), "nope", nil); !errors.As(err, &perr) || perr.Code != CodeResourceNotFound {
		t.Errorf("InvokeAsync nope: got %v, want ResourceNotFoundException", err)
	}
}

func TestGetAndListFunctions(t *testing.T) {
	s := newService(t, clock.NewVirtual(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)))
	c := newClient(t, s)
	got, err := c.GetFunction(t.Context(), &sdk.GetFunctionInput{FunctionName: aws.String("greet")})
	if err != nil {
		t.Fatalf("GetFunction: %v", err)
	}
	cfg := got.Configuration
	if aws.ToString(cfg.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:greet" ||
		cfg.State != types.StateActive || aws.ToString(cfg.Version) != "$LATEST" ||
		aws.ToString(cfg.LastModified) != "2026-03-04T05:06:07.000+0000" {
		t.Errorf("GetFunction: got %+v", cfg)
	}
	gc, err := c.GetFunctionConfiguration(t.Context(), &sdk.GetFunctionConfigurationInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:000000000000:function:greet")})
	if err != nil || aws.ToString(gc.FunctionName) != "greet" || gc.Runtime != types.RuntimeProvidedal2023 {
		t.Errorf("GetFunctionConfiguration: got %+v, %v", gc, err)
	}
	var nf *types.ResourceNotFoundException
	if _, err := c.GetFunction(t.Context(), &sdk.GetFunctionInput{FunctionName: aws.String("nope")}); !errors.As(err, &nf) {
		t.Errorf("GetFunction nope: got %v, want ResourceNotFoundException", err)
	}
	var names []string
	p := sdk.NewListFunctionsPaginator(c, &sdk.ListFunctionsInput{MaxItems: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("ListFunctions: %v", err)
		}
		pages++
		for _, f := range page.Functions {
			names = append(names, aws.ToString(f.FunctionName))
		}
	}
	if diff := cmp.Diff([]string{"crash", "errval", "greet", "stabilize", "value", "whoami"}, names); diff != "" {
		t.Errorf("functions (-want +got):\n%s", diff)
	}
	if pages != 3 {
		t.Errorf("pages: got %d, want 3", pages)
	}
}

func TestRegisterRejectsBadNames(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	for _, name := range []string{"", "has space", "arn:aws:lambda:x", "a/b"} {
		if err := s.Register(name, awslambda.NewHandler(func() error { return nil })); err == nil {
			t.Errorf("Register(%q): got no error", name)
		}
	}
	if err := s.Register("ok", nil); err == nil {
		t.Error("Register with a nil handler: got no error")
	}
}

func FuzzServeHTTP(f *testing.F) {
	f.Add("POST", "/2015-03-31/functions/greet/invocations", "Event", []byte(`{"name":"x"}`))
	f.Add("GET", "/2015-03-31/functions/", "", []byte(nil))
	f.Add("GET", "/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:greet:$LATEST", "", []byte(nil))
	f.Fuzz(func(t *testing.T, method, path, typ string, body []byte) {
		s := New(Config{})
		defer s.Close()
		s.Register("greet", awslambda.NewHandler(func(context.Context, input) error { return nil }))
		req := httptest.NewRequest("GET", "/", nil)
		req.Method = method
		req.URL.Path = path
		req.Header.Set(headerInvocationType, typ)
		req.Body = readCloser(body)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s: got status %d", method, path, w.Code)
		}
	})
}
