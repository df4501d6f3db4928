package trigger

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// Step Functions execution names: at most 80 characters; Slipway keeps to
// [A-Za-z0-9-_], which is also safe in CloudWatch Logs and the console URL.
const (
	maxExecutionName = 80
	nameHashLen      = 20 // hex digits of the hash: 80 bits
	maxNamePrefix    = maxExecutionName - 1 - nameHashLen
)

// ExecutionName names the execution an event starts for req. It is derived
// from what is deployed (service, environment, image; and the spec versions
// when no event asks for it, see below) and from the event that asks for it (the
// trigger's kind and source: the event id of a push, the S3 key and version of
// an upload, the deployment a promotion follows). The same event delivered
// twice therefore finds its execution already there (ExecutionAlreadyExists)
// and starts nothing new, while a new event starts a fresh execution even
// for an image that ran before: a push of the last good build rolls forward,
// a re-run deployment promotes again. Reason and actor are left out: they say
// why, not which event.
//
// A person's request is not an event: see RequestExecutionName.
//
// The name reads "<service>-<environment>-<hash>": characters outside
// [A-Za-z0-9-_] become '-', and the readable part is cut so the whole fits in
// 80 characters. The hash covers the full, unaltered fields, so neither the
// replacement nor the cut can make two requests share a name.
//
// An event's name leaves the spec versions out: the event decides them
// (the versions accepted when it is handled), so the same event delivered
// again after a spec upload would otherwise get a second name and start a
// second execution for one push. The request a first delivery started
// takes the newer specs itself when it meets them (workflow.Pins).
func ExecutionName(req workflow.Request) string {
	if req.Trigger.Source != "" {
		return hashName(req.Service, req.Environment, req.Image, string(req.Trigger.Kind), req.Trigger.Source)
	}
	return executionName(req, string(req.Trigger.Kind), req.Trigger.Source)
}

// RequestExecutionName names the execution a person's or the CLI's request
// starts (slipway deploy, slipway rollback): ExecutionName's form with a
// random nonce in the hash, so every request starts a fresh execution and
// is never answered with an older one that asked for the same thing. The
// SDK's retries of one StartExecution call reuse the name and the input,
// which Step Functions answers with the execution the first attempt started.
func RequestExecutionName(req workflow.Request) (string, error) {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", fmt.Errorf("execution name for %s in %s: %w", req.Service, req.Environment, err)
	}
	return executionName(req, "request", hex.EncodeToString(nonce[:])), nil
}

func executionName(req workflow.Request, extra ...string) string {
	return hashName(append([]string{req.Service, req.Environment, req.Image, req.SpecVersion, req.EnvironmentSpecVersion}, extra...)...)
}

// hashName is the name of fields, the first two being the service and
// the environment.
func hashName(fields ...string) string {
	h := sha256.New()
	for _, f := range fields {
		// Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	sum := hex.EncodeToString(h.Sum(nil))[:nameHashLen]

	return ExecutionNamePrefix(fields[0], fields[1]) + sum
}

// ExecutionNamePrefix is how the name of every execution deploying
// service to environment begins (the hash follows), to find a service's
// executions by name without reading each one's input.
func ExecutionNamePrefix(service, environment string) string {
	prefix := nameSafe(service) + "-" + nameSafe(environment)
	if len(prefix) > maxNamePrefix {
		prefix = prefix[:maxNamePrefix]
	}
	return prefix + "-"
}

// nameSafe replaces every character Step Functions names should not carry
// with '-'. The result is ASCII, so cutting it by bytes is safe.
func nameSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}
