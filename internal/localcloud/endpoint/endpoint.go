// Package endpoint assembles the local AWS endpoint: every simulated service
// registered on one localcloud.Server, with the links between services
// connected — ECS pulls images from ECR, registers targets in ELBv2 and
// instances in Cloud Map, CloudWatch generates ALB metrics from ELBv2's
// traffic shares, ECS's revisions and the faults, every service's events go
// to EventBridge, EventBridge and Step Functions call Lambda (and
// EventBridge Step Functions), and Lambda sends the records of failed
// asynchronous invocations to SQS.
//
// An Endpoint is what `slipway local`, `slipway demo` and the integration
// tests run; services are created empty and filled through the API (see
// package stack).
package endpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud"
	"github.com/slipwayhq/slipway/internal/localcloud/autoscaling"
	"github.com/slipwayhq/slipway/internal/localcloud/cloudwatch"
	"github.com/slipwayhq/slipway/internal/localcloud/ecr"
	"github.com/slipwayhq/slipway/internal/localcloud/ecs"
	"github.com/slipwayhq/slipway/internal/localcloud/elbv2"
	"github.com/slipwayhq/slipway/internal/localcloud/eventbridge"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/lambda"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/s3"
	"github.com/slipwayhq/slipway/internal/localcloud/servicediscovery"
	"github.com/slipwayhq/slipway/internal/localcloud/sfn"
	"github.com/slipwayhq/slipway/internal/localcloud/sqs"
	"github.com/slipwayhq/slipway/internal/localcloud/sts"
)

// Config configures an Endpoint.
type Config struct {
	// Region of every service; protocol.DefaultRegion if empty.
	Region string
	// Clock drives every simulation; the real clock if nil.
	Clock clock.Clock
	// Logger receives the services' logs; nil discards them.
	Logger *slog.Logger
	// BaselineRPS is the traffic one listener rule receives, for the ALB
	// metrics; CloudWatch's default if zero.
	BaselineRPS float64
	// Tasks is how long ECS tasks take to start, pass their target groups'
	// health checks and drain; the zero value is quick (tests, the demo),
	// ecs.Realistic() is what AWS takes.
	Tasks ecs.Timings
}

// Endpoint is the assembled local AWS endpoint.
type Endpoint struct {
	// Server routes requests to the services; it is the http.Handler.
	Server *localcloud.Server
	// The services, for in-process seeding and inspection.
	Faults        *faults.Registry
	EventBridge   *eventbridge.Service
	Lambda        *lambda.Service
	StepFunctions *sfn.Service
	S3            *s3.Service
	ECR           *ecr.Service
	STS           *sts.Service
	ECS           *ecs.Service
	ELBv2         *elbv2.Service
	CloudWatch    *cloudwatch.Service
	AutoScaling   *autoscaling.Service
	CloudMap      *servicediscovery.Service
	SQS           *sqs.Service

	region string
	clk    clock.Clock
	log    *slog.Logger
	// stateful lists the services persisted by SaveState, by file name.
	stateful map[string]localcloud.Snapshotter

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// New builds every service and wires them; background work (alarm
// evaluation, metric generation) starts at once on cfg.Clock. Close stops it.
func New(cfg Config) *Endpoint {
	if cfg.Region == "" {
		cfg.Region = protocol.DefaultRegion
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	log := cfg.Logger
	e := &Endpoint{region: cfg.Region, clk: cfg.Clock, log: log, Faults: faults.New()}
	e.Server = localcloud.NewServer(localcloud.Options{Logger: log.With("component", "router"), Faults: e.Faults})

	e.EventBridge = eventbridge.New(eventbridge.Config{Region: cfg.Region, Clock: cfg.Clock, Faults: e.Faults, Logger: log.With("service", "events")})
	e.Lambda = lambda.New(lambda.Config{Region: cfg.Region, Clock: cfg.Clock, Faults: e.Faults, Logger: log.With("service", "lambda")})
	e.SQS = sqs.New(sqs.Config{Region: cfg.Region, Clock: cfg.Clock})
	e.Lambda.SetQueues(e.SQS)
	e.StepFunctions = sfn.New(sfn.Config{Region: cfg.Region, Clock: cfg.Clock, Lambda: invokeFromTask(e.Lambda), Logger: log.With("service", "states")})
	e.EventBridge.SetLambda(e.Lambda)
	e.EventBridge.SetStepFunctions(e.StepFunctions)

	e.S3 = s3.New(s3.Options{Clock: cfg.Clock, Region: cfg.Region, Events: e.EventBridge})
	e.ECR = ecr.New(ecr.Options{Clock: cfg.Clock, Region: cfg.Region, Events: e.EventBridge})
	e.STS = sts.New(sts.Options{Clock: cfg.Clock})
	e.ELBv2 = elbv2.New(elbv2.Config{Region: cfg.Region, Clock: cfg.Clock})
	e.CloudMap = servicediscovery.New(servicediscovery.Config{Region: cfg.Region, Clock: cfg.Clock})
	e.ECS = ecs.New(ecs.Config{Region: cfg.Region, Clock: cfg.Clock, Timings: cfg.Tasks, Events: e.EventBridge, Faults: e.Faults,
		Targets: targets{e.ELBv2}, Names: e.CloudMap, Images: e.ECR, Rules: e.ELBv2, Alarms: alarmReader{e},
		Hooks: hookInvoker{e.Lambda}, Logger: log.With("service", "ecs")})
	e.CloudWatch = cloudwatch.New(cloudwatch.Config{Region: cfg.Region, Clock: cfg.Clock, Events: alarmEvents{e},
		LoadBalancing: e.ELBv2, Revisions: e.ECS, Faults: e.Faults, BaselineRPS: cfg.BaselineRPS,
		Loads: e.Faults, ECS: e.ECS, Logger: log.With("service", "monitoring")})
	e.AutoScaling = autoscaling.New(autoscaling.Config{Region: cfg.Region, Clock: cfg.Clock, ECS: e.ECS, ECSAPI: e.ECS, Monitoring: e.CloudWatch})

	s := e.Server
	s.RegisterJSON("events", "AWSEvents", "1.1", e.EventBridge)
	s.RegisterJSON("states", sfn.TargetPrefix, "1.0", e.StepFunctions)
	s.RegisterJSON("ecs", "AmazonEC2ContainerServiceV20141113", "1.1", e.ECS)
	s.RegisterJSON("application-autoscaling", "AnyScaleFrontendService", "1.1", e.AutoScaling)
	s.RegisterJSON("servicediscovery", "Route53AutoNaming_v20170314", "1.1", e.CloudMap)
	s.RegisterJSON("ecr", "AmazonEC2ContainerRegistry_V20150921", "1.1", e.ECR)
	s.RegisterJSON("sqs", sqs.TargetPrefix, "1.0", e.SQS)
	s.RegisterQuery("sts", "2011-06-15", "https://sts.amazonaws.com/doc/2011-06-15/", e.STS)
	s.RegisterQuery("elasticloadbalancing", "2015-12-01", "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/", e.ELBv2)
	s.RegisterQuery("monitoring", "2010-08-01", "http://monitoring.amazonaws.com/doc/2010-08-01/", e.CloudWatch)
	s.RegisterCBOR("monitoring", "GraniteServiceVersion20100801", e.CloudWatch)
	s.RegisterLambda(localcloud.RESTService{Name: "lambda", Handler: e.Lambda})
	s.RegisterS3(localcloud.RESTService{Name: "s3", Handler: e.S3, Operation: e.S3.OperationName, WriteError: e.S3.WriteProtocolError})

	e.stateful = map[string]localcloud.Snapshotter{
		"events": e.EventBridge, "lambda": e.Lambda, "ecr": e.ECR, "states": e.StepFunctions, "s3": e.S3,
		"ecs": e.ECS, "elasticloadbalancing": e.ELBv2, "monitoring": e.CloudWatch,
		"application-autoscaling": e.AutoScaling, "servicediscovery": e.CloudMap, "sqs": e.SQS,
		// The time the state was saved at (see clockState).
		"clock": clockState{clk: cfg.Clock},
	}

	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if err := e.CloudWatch.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("cloudwatch stopped", "error", err)
		}
	}()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if err := e.AutoScaling.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("application auto scaling stopped", "error", err)
		}
	}()
	return e
}

// Region returns the endpoint's region.
func (e *Endpoint) Region() string { return e.region }

// Clock returns the clock the services run on.
func (e *Endpoint) Clock() clock.Clock { return e.clk }

// Close stops the background work of every service. It is safe to call
// more than once.
func (e *Endpoint) Close() error {
	var errs []error
	e.once.Do(func() {
		e.cancel()
		e.wg.Wait()
		e.ECS.Close()
		errs = append(errs, e.EventBridge.Close(), e.Lambda.Close())
	})
	return errors.Join(errs...)
}

// SaveState writes every service's snapshot to dir/<service>.json.
func (e *Endpoint) SaveState(dir string) error {
	return localcloud.SaveState(dir, e.stateful)
}

// LoadState restores every service whose snapshot is in dir. It reports
// whether any was found; a missing directory is no error.
func (e *Endpoint) LoadState(dir string) (bool, error) {
	found := false
	for name := range e.stateful {
		if _, err := os.Stat(filepath.Join(dir, name+".json")); err == nil {
			found = true
		}
	}
	if !found {
		return false, nil
	}
	if err := localcloud.LoadState(dir, e.stateful); err != nil {
		return true, err
	}
	return true, nil
}

// Listen serves the endpoint on addr ("127.0.0.1:4566"; port 0 picks a free
// one) in the background and returns its base URL and the server, which the
// caller shuts down.
func (e *Endpoint) Listen(addr string) (url string, srv *http.Server, err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	// Requests name the endpoint by its listen address too (Host check).
	if host, _, err := net.SplitHostPort(addr); err == nil {
		e.Server.AllowHost(host)
	}
	srv = &http.Server{Handler: e.Server, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("endpoint stopped serving", "error", err)
		}
	}()
	return "http://" + l.Addr().String(), srv, nil
}

// targets adapts ELBv2 to the target registry ECS drives: the two packages
// declare their own Target types.
type targets struct{ elb *elbv2.Service }

// RegisterTargets registers the targets of ECS tasks in the target group.
func (t targets) RegisterTargets(arn string, ts []ecs.Target) {
	out := make([]elbv2.Target, len(ts))
	for i, x := range ts {
		out[i] = elbv2.Target{ID: x.ID, Port: x.Port}
	}
	t.elb.RegisterTargets(arn, out)
}

// DeregisterTargets removes targets from the target group.
func (t targets) DeregisterTargets(arn string, ids []string) { t.elb.DeregisterTargets(arn, ids) }

// SetTargetHealth reports a target's health as its task's health implies.
func (t targets) SetTargetHealth(arn, id, state, reason string) {
	t.elb.SetTargetHealth(arn, id, state, reason)
}

// TargetGroupExists reports whether the target group exists.
func (t targets) TargetGroupExists(arn string) bool { return t.elb.TargetGroupExists(arn) }

// HealthyAfter is how long a new target of the group stays initial.
func (t targets) HealthyAfter(arn string) time.Duration { return t.elb.HealthyAfter(arn) }

// UnhealthyAfter is how long a new target failing its checks stays initial.
func (t targets) UnhealthyAfter(arn string) time.Duration { return t.elb.UnhealthyAfter(arn) }

// DeregistrationDelay is how long a deregistered target of the group drains.
func (t targets) DeregistrationDelay(arn string) time.Duration { return t.elb.DeregistrationDelay(arn) }

// alarmReader lets ECS read the state of the alarms of a native
// deployment. CloudWatch is made after ECS (it reads ECS's tasks), so the
// endpoint is asked for it when an alarm is read.
type alarmReader struct{ e *Endpoint }

// AlarmState returns the state of the CloudWatch alarm name.
func (a alarmReader) AlarmState(name string) (string, bool) {
	if a.e.CloudWatch == nil {
		return "", false
	}
	return a.e.CloudWatch.AlarmState(name)
}

// alarmEvents sends CloudWatch's alarm state changes to EventBridge, and
// tells ECS, whose native deployments roll back on the alarms of their
// deploymentConfiguration as they change (ECS watches them itself, not
// through EventBridge).
type alarmEvents struct{ e *Endpoint }

// PutEvent delivers the CloudWatch event ev.
func (a alarmEvents) PutEvent(ctx context.Context, ev protocol.Event) {
	a.e.EventBridge.PutEvent(ctx, ev)
	if ev.DetailType != "CloudWatch Alarm State Change" || a.e.ECS == nil {
		return
	}
	b, err := json.Marshal(ev.Detail)
	if err != nil {
		return
	}
	var d struct {
		AlarmName string `json:"alarmName"`
		State     struct {
			Value string `json:"value"`
		} `json:"state"`
	}
	if json.Unmarshal(b, &d) == nil {
		a.e.ECS.AlarmChanged(d.AlarmName, d.State.Value)
	}
}

// invokeFromTask invokes a function for a Task state of the local Step
// Functions, whose engine holds the clock busy while the Task waits for the
// invocation (lambda.ClockHeld).
func invokeFromTask(l *lambda.Service) func(ctx context.Context, name string, payload []byte) ([]byte, bool, error) {
	return func(ctx context.Context, name string, payload []byte) ([]byte, bool, error) {
		return l.InvokePayload(lambda.ClockHeld(ctx), name, payload)
	}
}

// hookInvoker invokes the local Lambda function of an AWS_LAMBDA lifecycle
// hook of a native ECS deployment.
type hookInvoker struct{ l *lambda.Service }

// InvokeHook invokes the function synchronously; a function error is an
// error, which fails the hook as on AWS.
func (h hookInvoker) InvokeHook(ctx context.Context, arn string, payload []byte) ([]byte, error) {
	out, fnErr, err := h.l.InvokePayload(ctx, arn, payload)
	if err != nil {
		return nil, err
	}
	if fnErr {
		return nil, fmt.Errorf("function error: %s", out)
	}
	return out, nil
}
