package endpoint_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// pushUntil pushes repo:tag with the clock held, then lets simulated time
// pass a second at a time until the deployment the push started has entered
// state; it returns holding the clock, with the execution's ARN and the
// image digest. afterPush runs once the push is done (to inject a fault).
func (s *stepped) pushUntil(repo, tag, state string, afterPush func(digest string)) (arn, digest string) {
	t := s.t
	t.Helper()
	prefix := repo + "-staging-"
	before := s.executions()
	s.hold()
	digest = s.push(repo, tag, afterPush)
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); s.sleep(time.Second) {
		if arn, ok := newestStarted(before, s.executions(), prefix); ok && slices.Contains(pathOf(t, s.sfn, arn), state) {
			return arn, digest
		}
	}
	t.Fatalf("the deployment of %s:%s did not reach %s", repo, tag, state)
	return "", ""
}

// service describes the ECS service name in staging.
func (s *stepped) service(name string) ecstypes.Service {
	s.t.Helper()
	return s.serviceIn("staging", name)
}

func (s *stepped) update(in *ecs.UpdateServiceInput) {
	s.t.Helper()
	in.Cluster = aws.String("staging")
	if _, err := s.ecs.UpdateService(context.Background(), in); err != nil {
		s.t.Fatalf("UpdateService %s: %v", aws.ToString(in.Service), err)
	}
}

// TestCountsReadWhenUsed: the service is scaled out (as auto scaling or a
// person would, during an incident) while a deployment bakes. Neither the
// deployment nor its rollback brings the count below the live one, though
// Prepare saw fewer tasks (issue 11 item 3).
func TestCountsReadWhenUsed(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs deployments")
	s := startStepped(t)
	control := endpoint.Control{URL: s.r.URL}

	// Staging runs web with auto scaling limits 1..2 and a desired count
	// of 1: the scale-outs below go to the maximum, 2.
	t.Run("a successful canary promotes at the live count", func(t *testing.T) {
		s.t = t
		arn, _ := s.pushUntil("web", "v2", workflow.StateBake, nil)
		if got := s.service("web--blue").DesiredCount; got != 1 {
			t.Fatalf("web--blue serves with %d tasks before the scale-out, want staging's 1", got)
		}
		s.update(&ecs.UpdateServiceInput{Service: aws.String("web--blue"), DesiredCount: aws.Int32(2)})
		status, path := s.finish(arn)
		if status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("got status %s (path %v), want SUCCEEDED", status, path)
		}
		if got := s.service("web--green").DesiredCount; got != 2 {
			t.Errorf("web--green has %d tasks after the promotion, want 2 (the live count, not Prepare's 1)", got)
		}
	})

	t.Run("a rollback keeps the scale-out", func(t *testing.T) {
		s.t = t
		// Scaled in before the deployment, so Prepare snapshots 1 task.
		s.update(&ecs.UpdateServiceInput{Service: aws.String("web--green"), DesiredCount: aws.Int32(1)})
		arn, _ := s.pushUntil("web", "v3", workflow.StateBake, func(digest string) {
			if _, err := control.Apply(context.Background(), faults.State{Images: map[string]faults.Behaviour{digest: {ErrorRate: 0.5}}}); err != nil {
				t.Errorf("inject fault: %v", err)
			}
		})
		s.update(&ecs.UpdateServiceInput{Service: aws.String("web--green"), DesiredCount: aws.Int32(2)})
		status, path := s.finish(arn)
		if status != sfntypes.ExecutionStatusFailed || !slices.Contains(path, workflow.StateRolledBack) {
			t.Fatalf("got status %s (path %v), want FAILED through RolledBack", status, path)
		}
		if got := s.service("web--green").DesiredCount; got != 2 {
			t.Errorf("web--green has %d tasks after the rollback, want 2 (the live count; the snapshot had 1)", got)
		}
		if got := s.service("web--blue").DesiredCount; got != 0 {
			t.Errorf("web--blue has %d tasks after the rollback, want 0 (it ran the bad revision)", got)
		}
	})
}

// TestRollbackRestoresServiceSettings: a deployment sets the spec's grace
// period and deployment configuration on a service a person had tuned; its
// rollback puts the person's values back exactly (issue 11 item 10).
func TestRollbackRestoresServiceSettings(t *testing.T) {
	skipIfShort(t, "synthesizes the stack and runs deployments")
	s := startStepped(t)
	control := endpoint.Control{URL: s.r.URL}
	// A first canary puts web:v2 on green; blue, idle now, is the next
	// canary's target. Tune it as a person would.
	arn, _ := s.pushUntil("web", "v2", workflow.StateBake, nil)
	if status, path := s.finish(arn); status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("web:v2: got status %s (path %v), want SUCCEEDED", status, path)
	}
	s.update(&ecs.UpdateServiceInput{Service: aws.String("web--blue"), HealthCheckGracePeriodSeconds: aws.Int32(120),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{MaximumPercent: aws.Int32(150), MinimumHealthyPercent: aws.Int32(50),
			DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: false}}})
	type settings struct {
		Grace  int32
		Config *ecstypes.DeploymentConfiguration
	}
	read := func() settings {
		sv := s.service("web--blue")
		return settings{Grace: aws.ToInt32(sv.HealthCheckGracePeriodSeconds), Config: sv.DeploymentConfiguration}
	}
	opts := cmpopts.IgnoreUnexported(ecstypes.DeploymentConfiguration{}, ecstypes.DeploymentCircuitBreaker{})
	before := read()

	arn, _ = s.pushUntil("web", "v3", workflow.StateBake, func(digest string) {
		if _, err := control.Apply(context.Background(), faults.State{Images: map[string]faults.Behaviour{digest: {ErrorRate: 0.5}}}); err != nil {
			t.Errorf("inject fault: %v", err)
		}
	})
	if cmp.Equal(before, read(), opts) {
		t.Fatalf("web--blue during the bake: got the tuned settings %+v, want the spec's", before)
	}
	status, path := s.finish(arn)
	if status != sfntypes.ExecutionStatusFailed || !slices.Contains(path, workflow.StateRolledBack) {
		t.Fatalf("got status %s (path %v), want FAILED through RolledBack", status, path)
	}
	if diff := cmp.Diff(before, read(), opts); diff != "" {
		t.Errorf("web--blue after the rollback (-before +after):\n%s", diff)
	}
}
