package trigger

import (
	"errors"
	"fmt"
	"strings"
)

// Environment variables the trigger functions read.
const (
	EnvSpecBucket      = "SLIPWAY_SPEC_BUCKET"
	EnvStateBucket     = "SLIPWAY_STATE_BUCKET"
	EnvStateMachineARN = "SLIPWAY_STATE_MACHINE_ARN"
	EnvEventBus        = "SLIPWAY_EVENT_BUS"
	// EnvAssumeRoles lists, comma-separated, the role ARNs Slipway may
	// assume (the stack's slipway:assumeRoles, environments' roleArn): their
	// accounts are the other accounts events are accepted from.
	EnvAssumeRoles = "SLIPWAY_ASSUME_ROLES"
)

// DefaultEventBus is the bus Slipway publishes on when EnvEventBus is unset.
const DefaultEventBus = "default"

// Config is what the trigger functions need to know about the stack they
// belong to.
type Config struct {
	// SpecBucket holds services/ and environments/ (versioned).
	SpecBucket string
	// StateBucket holds locks, watches, the index, rejections and history.
	StateBucket string
	// StateMachineARN is the deploy state machine.
	StateMachineARN string
	// EventBus is where Slipway's own events go.
	EventBus string
	// AssumeRoles are the role ARNs Slipway may assume to deploy into other
	// accounts; events from their accounts are accepted (see Origin).
	AssumeRoles []string
}

// ConfigFromEnv reads the configuration with getenv (os.Getenv in a main).
// Each variable named in required must be set; the error names every one
// that is missing, so a misconfigured function fails at start with a message
// saying what to set.
func ConfigFromEnv(getenv func(string) string, required ...string) (Config, error) {
	c := Config{
		SpecBucket:      getenv(EnvSpecBucket),
		StateBucket:     getenv(EnvStateBucket),
		StateMachineARN: getenv(EnvStateMachineARN),
		EventBus:        getenv(EnvEventBus),
	}
	if c.EventBus == "" {
		c.EventBus = DefaultEventBus
	}
	for r := range strings.SplitSeq(getenv(EnvAssumeRoles), ",") {
		if r = strings.TrimSpace(r); r != "" {
			c.AssumeRoles = append(c.AssumeRoles, r)
		}
	}
	var errs []error
	for _, name := range required {
		switch name {
		case EnvSpecBucket, EnvStateBucket, EnvStateMachineARN, EnvEventBus:
		default:
			errs = append(errs, fmt.Errorf("%s is not a Slipway setting", name))
			continue
		}
		if getenv(name) == "" && name != EnvEventBus {
			errs = append(errs, fmt.Errorf("environment variable %s is not set", name))
		}
	}
	return c, errors.Join(errs...)
}
