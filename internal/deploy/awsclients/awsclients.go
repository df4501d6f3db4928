// Package awsclients builds the deployment engine and its AWS-facing
// dependencies from an aws.Config: the internal/awsapi adapters, plus the
// few SDK-shaped steps internal/deploy leaves out because it imports no SDK
// package: reshaping the rendered ECS inputs for a slot, deleting a service,
// deregistering a scalable target and putting the spec's scaling policies.
package awsclients

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	asapi "github.com/slipwayhq/slipway/internal/awsapi/autoscaling"
	cwapi "github.com/slipwayhq/slipway/internal/awsapi/cloudwatch"
	ecrapi "github.com/slipwayhq/slipway/internal/awsapi/ecr"
	ecsapi "github.com/slipwayhq/slipway/internal/awsapi/ecs"
	elbapi "github.com/slipwayhq/slipway/internal/awsapi/elbv2"
	ebapi "github.com/slipwayhq/slipway/internal/awsapi/eventbridge"
	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	sfnapi "github.com/slipwayhq/slipway/internal/awsapi/sfn"
	"github.com/slipwayhq/slipway/internal/deploy"
	"github.com/slipwayhq/slipway/internal/store"
)

// Config is the configuration of functions/step, from its environment.
type Config struct {
	SpecBucket, StateBucket string
	// EventBus receives Slipway's events.
	EventBus string
	// Reconcile is how long a wait trusts events before re-checking.
	Reconcile time.Duration
	// KeepRevisions is how many task definition revisions cleanup keeps.
	KeepRevisions int
	// DefaultAlarms are watched in every deployment.
	DefaultAlarms []string
	// ApproverRoles are the role ARNs whose sessions may approve
	// (deploy.Settings.ApproverRoles); none leaves approvals unrestricted.
	ApproverRoles []string
}

// ConfigFromEnv reads Config from environment variables through getenv
// (os.Getenv): SLIPWAY_SPEC_BUCKET and SLIPWAY_STATE_BUCKET (required),
// SLIPWAY_EVENT_BUS (default "default"), SLIPWAY_RECONCILE_SECONDS (default
// 300), SLIPWAY_KEEP_REVISIONS (default 5), SLIPWAY_DEFAULT_ALARMS (alarm
// names separated by commas, default none) and SLIPWAY_APPROVER_ROLES (role
// ARNs separated by commas, default none).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{SpecBucket: getenv("SLIPWAY_SPEC_BUCKET"), StateBucket: getenv("SLIPWAY_STATE_BUCKET"),
		EventBus: getenv("SLIPWAY_EVENT_BUS")}
	for name, v := range map[string]string{"SLIPWAY_SPEC_BUCKET": c.SpecBucket, "SLIPWAY_STATE_BUCKET": c.StateBucket} {
		if v == "" {
			return c, fmt.Errorf("environment variable %s: required", name)
		}
	}
	if c.EventBus == "" {
		c.EventBus = "default"
	}
	reconcile, err := positive(getenv, "SLIPWAY_RECONCILE_SECONDS", 300)
	if err != nil {
		return c, err
	}
	c.Reconcile = time.Duration(reconcile) * time.Second
	if c.KeepRevisions, err = positive(getenv, "SLIPWAY_KEEP_REVISIONS", 5); err != nil {
		return c, err
	}
	for a := range strings.SplitSeq(getenv("SLIPWAY_DEFAULT_ALARMS"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.DefaultAlarms = append(c.DefaultAlarms, a)
		}
	}
	for r := range strings.SplitSeq(getenv("SLIPWAY_APPROVER_ROLES"), ",") {
		if r = strings.TrimSpace(r); r != "" {
			c.ApproverRoles = append(c.ApproverRoles, r)
		}
	}
	return c, nil
}

func positive(getenv func(string) string, name string, def int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("environment variable %s: %q is not a whole number of at least 1", name, v)
	}
	return n, nil
}

// NewEngine builds the engine over the AWS account and region of cfg; an
// environment with a roleArn is deployed through that role.
func NewEngine(cfg aws.Config, c Config, log *slog.Logger) *deploy.Engine {
	return &deploy.Engine{
		Store:   store.New(s3api.New(s3.NewFromConfig(cfg)), c.SpecBucket, c.StateBucket),
		Tasks:   sfnapi.New(sfn.NewFromConfig(cfg)),
		Events:  ebapi.NewOnBus(eventbridge.NewFromConfig(cfg), c.EventBus),
		Images:  ecrapi.New(ecr.NewFromConfig(cfg)),
		Clients: NewFactory(cfg).Clients,
		Log:     log,
		// The account comes from each execution's ARN: no STS call at start.
		Settings: deploy.Settings{Region: cfg.Region, Reconcile: c.Reconcile, KeepRevisions: c.KeepRevisions,
			DefaultAlarms: c.DefaultAlarms, ApproverRoles: c.ApproverRoles},
	}
}

// Factory builds the Clients of each environment once and keeps them.
type Factory struct {
	base aws.Config
	mu   sync.Mutex
	made map[string]deploy.Clients
}

// NewFactory returns a Factory over base, the configuration of the account
// Slipway runs in.
func NewFactory(base aws.Config) *Factory {
	return &Factory{base: base, made: map[string]deploy.Clients{}}
}

// Clients returns the clients of an environment: of the base account when
// roleARN is empty, else with credentials of the assumed role (refreshed
// before they expire).
func (f *Factory) Clients(_ context.Context, roleARN string) (deploy.Clients, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.made[roleARN]; ok {
		return c, nil
	}
	cfg := f.base
	if roleARN != "" {
		cfg = f.base.Copy()
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(f.base), roleARN,
			func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "slipway-deploy" })
		cfg.Credentials = aws.NewCredentialsCache(provider)
	}
	c := New(cfg)
	f.made[roleARN] = c
	return c, nil
}

// New returns the engine's AWS-facing interfaces over cfg.
func New(cfg aws.Config) deploy.Clients {
	ecsClient := ecs.NewFromConfig(cfg)
	scaling := applicationautoscaling.NewFromConfig(cfg)
	return deploy.Clients{
		Services: &Services{api: ecsapi.New(ecsClient), sdk: ecsClient},
		Traffic:  elbapi.New(elasticloadbalancingv2.NewFromConfig(cfg)),
		Alarms:   cwapi.New(cloudwatch.NewFromConfig(cfg)),
		Scaling:  &Scaling{Client: asapi.New(scaling), sdk: scaling},
	}
}
