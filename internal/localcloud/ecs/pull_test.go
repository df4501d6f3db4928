package ecs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	ecsapi "github.com/slipwayhq/slipway/internal/awsapi/ecs"
	"github.com/slipwayhq/slipway/internal/localcloud/ecr"
	"github.com/slipwayhq/slipway/internal/localcloud/ecs"
)

// localECR is the host of the world's ECR, as its repositoryUri names it.
const localECR = "000000000000.dkr.ecr.us-east-1.amazonaws.com"

// newPullWorld is a world whose ECS pulls from a local ECR holding web:v1;
// it returns the digest of web:v1.
func newPullWorld(t *testing.T) (*world, string) {
	t.Helper()
	w := newWorld(t)
	w.svc.Close()
	registry := ecr.New(ecr.Options{Clock: w.clock})
	call := func(op, body string) map[string]any {
		out, err := registry.ServeJSON(context.Background(), op, []byte(body))
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		b, _ := json.Marshal(out)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return m
	}
	call("CreateRepository", `{"repositoryName":"web"}`)
	out := call("PutImage", `{"repositoryName":"web","imageTag":"v1","imageManifest":`+
		`"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"size\":1,\"digest\":\"sha256:aa\"},\"layers\":[]}"}`)
	digest := fmt.Sprint(out["image"].(map[string]any)["imageId"].(map[string]any)["imageDigest"])
	w.svc = ecs.New(ecs.Config{Clock: w.clock, Events: w.events, Faults: w.faults, Targets: w.elb, Names: w.names, Images: registry})
	t.Cleanup(w.svc.Close)
	w.api = newClient(t, w.svc)
	return w, digest
}

// taskStates records the lastStatus of every task state change, by task ARN.
func taskStates(w *world) func() map[string][]string {
	var mu sync.Mutex
	seen := map[string][]string{}
	w.events.onTask = func(d map[string]any) {
		mu.Lock()
		defer mu.Unlock()
		arn := fmt.Sprint(d["taskArn"])
		if s := fmt.Sprint(d["lastStatus"]); len(seen[arn]) == 0 || seen[arn][len(seen[arn])-1] != s {
			seen[arn] = append(seen[arn], s)
		}
	}
	return func() map[string][]string {
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

// TestImagePullAsAWS runs one task per image: it runs when the image can be
// pulled as on AWS, and otherwise stops with CannotPullContainerError
// before it ever runs.
func TestImagePullAsAWS(t *testing.T) {
	const missing = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	tests := map[string]struct {
		image func(digest string) string
		want  string // the resolved reference in the stopped reason; empty: the task runs
		cause string
	}{
		"pushed digest in the local ECR": {image: func(d string) string { return localECR + "/web@" + d }},
		"pushed tag in the local ECR":    {image: func(string) string { return localECR + "/web:v1" }},
		"digest never pushed": {
			image: func(string) string { return localECR + "/web@" + missing },
			want:  localECR + "/web@" + missing, cause: "not found",
		},
		"tag never pushed": {
			image: func(string) string { return localECR + "/web:v2" },
			want:  localECR + "/web:v2", cause: "not found",
		},
		"repository that does not exist": {
			image: func(d string) string { return localECR + "/api@" + d },
			want:  localECR + "/api@", cause: "repository does not exist",
		},
		"another account's registry": {
			image: func(d string) string { return "111122223333.dkr.ecr.us-east-1.amazonaws.com/web@" + d },
			want:  "111122223333.dkr.ecr.us-east-1.amazonaws.com/web@", cause: "no such registry",
		},
		"bare repository at a digest: Docker Hub": {
			image: func(d string) string { return "web@" + d },
			want:  "docker.io/library/web@sha256:", cause: "not found",
		},
		"Docker Hub digest": {
			image: func(d string) string { return "docker.io/team/web@" + d },
			want:  "docker.io/team/web@sha256:", cause: "not found",
		},
		"Docker Hub public tag":     {image: func(string) string { return "nginx:1.27" }},
		"Docker Hub namespaced tag": {image: func(string) string { return "bitnami/nginx:1.27" }},
		"ECR Public":                {image: func(string) string { return "public.ecr.aws/nginx/nginx:1.27" }},
		"other public registry":     {image: func(d string) string { return "ghcr.io/team/web@" + d }},
		"registry with a port":      {image: func(string) string { return "localhost:5000/web:v1" }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w, digest := newPullWorld(t)
			states := taskStates(w)
			w.cluster("staging")
			td := w.webTaskDef(tc.image(digest))
			out, err := w.api.RunTask(context.Background(), &sdk.RunTaskInput{Cluster: aws.String("staging"), TaskDefinition: &td,
				LaunchType: types.LaunchTypeFargate, NetworkConfiguration: network()})
			if err != nil {
				t.Fatal(err)
			}
			w.settle()
			arn := aws.ToString(out.Tasks[0].TaskArn)
			d, err := w.api.DescribeTasks(context.Background(), &sdk.DescribeTasksInput{Cluster: aws.String("staging"), Tasks: []string{arn}})
			if err != nil || len(d.Tasks) != 1 {
				t.Fatalf("describe task: %v %+v", err, d)
			}
			tk := d.Tasks[0]
			if tc.want == "" {
				if got := aws.ToString(tk.LastStatus); got != "RUNNING" {
					t.Errorf("got %s (%s), want RUNNING", got, aws.ToString(tk.StoppedReason))
				}
				return
			}
			if diff := cmp.Diff([]string{"PROVISIONING", "PENDING", "STOPPED"}, states()[arn]); diff != "" {
				t.Errorf("task states (-want +got):\n%s", diff)
			}
			reason := aws.ToString(tk.StoppedReason)
			prefix := "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref " + tc.want
			if !strings.HasPrefix(reason, prefix) || !strings.Contains(reason, tc.cause) {
				t.Errorf("got stopped reason %q, want %q… naming %q", reason, prefix, tc.cause)
			}
			if tk.StopCode != types.TaskStopCodeTaskFailedToStart {
				t.Errorf("got stop code %s, want TaskFailedToStart", tk.StopCode)
			}
			if got := aws.ToString(tk.Containers[0].Reason); got != reason {
				t.Errorf("got container reason %q, want the task's", got)
			}
			if tk.StartedAt != nil || tk.Containers[0].ExitCode != nil {
				t.Errorf("got startedAt %v and exit code %v, want neither: the container never started", tk.StartedAt, tk.Containers[0].ExitCode)
			}
		})
	}
}

// TestUnpullableImageTripsCircuitBreaker deploys the mistake of issue 11
// item 0, a bare REPOSITORY@sha256:…: its tasks fail to start, the circuit
// breaker fails the deployment and the old revision keeps serving.
func TestUnpullableImageTripsCircuitBreaker(t *testing.T) {
	w, digest := newPullWorld(t)
	w.cluster("staging")
	createWeb(t, w, w.webTaskDef(localECR+"/web@"+digest), 2, 100, 200, true, false)
	w.settle()
	bad := w.webTaskDef("web@" + digest)
	out, err := w.api.UpdateService(context.Background(), updateInput(bad))
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Service.Deployments[0].Id)
	w.settle()

	s := w.service("staging", "web")
	p := s.Deployments[0]
	got := []any{aws.ToString(p.Id), p.RolloutState, aws.ToString(p.RolloutStateReason), p.FailedTasks >= 3, p.RunningCount}
	want := []any{id, types.DeploymentRolloutStateFailed, "ECS deployment circuit breaker: tasks failed to start.", true, int32(0)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("primary deployment (-want +got):\n%s", diff)
	}
	if got := s.Deployments[1].RunningCount; got != 2 {
		t.Errorf("got %d tasks of the old deployment running, want 2", got)
	}
	failed := 0
	for _, tk := range w.tasks("staging", "web", types.DesiredStatusStopped) {
		if aws.ToString(tk.TaskDefinitionArn) != bad {
			continue
		}
		failed++
		if tk.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(aws.ToString(tk.StoppedReason), "CannotPullContainerError: ") {
			t.Errorf("got stop code %s reason %q, want TaskFailedToStart with CannotPullContainerError", tk.StopCode, aws.ToString(tk.StoppedReason))
		}
	}
	if failed < 3 {
		t.Errorf("got %d stopped tasks of the bad revision, want at least 3 (the threshold)", failed)
	}
}

// TestDeletedServiceDrainsThenFreesItsName follows DeleteService as on AWS:
// ACTIVE → DRAINING while the tasks stop → INACTIVE, still describable; the
// name cannot be reused while the old service is ACTIVE or DRAINING.
func TestDeletedServiceDrainsThenFreesItsName(t *testing.T) {
	w := newWorld(t)
	w.cluster("staging")
	ctx := context.Background()
	td := w.webTaskDef(ecrURI + "web@sha256:aaa")
	in := createInput(td, tgBlue, registry, 2)
	if _, err := w.api.CreateService(ctx, in); err != nil {
		t.Fatal(err)
	}
	w.settle()
	wantCode := func(err error, code, msg string) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != code || ae.ErrorMessage() != msg {
			t.Errorf("got %v, want %s: %s", err, code, msg)
		}
	}
	_, err := w.api.CreateService(ctx, in)
	wantCode(err, "InvalidParameterException", "Creation of service was not idempotent.")

	del, err := w.api.DeleteService(ctx, &sdk.DeleteServiceInput{Cluster: aws.String("staging"), Service: aws.String("web"), Force: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(del.Service.Status); got != "DRAINING" {
		t.Fatalf("got status %s after DeleteService, want DRAINING", got)
	}
	_, err = w.api.CreateService(ctx, in)
	wantCode(err, "InvalidParameterException", "Unable to Start a service that is still Draining.")
	list, err := w.api.ListServices(ctx, &sdk.ListServicesInput{Cluster: aws.String("staging")})
	if err != nil || len(list.ServiceArns) != 0 {
		t.Errorf("got services %v (%v) while DRAINING, want none listed", list.ServiceArns, err)
	}
	if got := aws.ToString(w.service("staging", "web").Status); got != "DRAINING" {
		t.Errorf("got status %s while the tasks stop, want DRAINING", got)
	}
	// The engine's adapter: not existing, and not yet free (ErrDraining).
	adapter := ecsapi.New(w.api)
	if _, err := adapter.DescribeService(ctx, "staging", "web"); !errors.Is(err, ecsapi.ErrNotFound) || !errors.Is(err, ecsapi.ErrDraining) {
		t.Errorf("adapter while DRAINING: got %v, want ErrNotFound and ErrDraining", err)
	}

	w.settle()
	s := w.service("staging", "web")
	if got := aws.ToString(s.Status); got != "INACTIVE" || s.RunningCount != 0 {
		t.Fatalf("got %s with %d running after the tasks stopped, want INACTIVE with 0", got, s.RunningCount)
	}
	if _, err := adapter.DescribeService(ctx, "staging", "web"); !errors.Is(err, ecsapi.ErrNotFound) || errors.Is(err, ecsapi.ErrDraining) {
		t.Errorf("adapter once INACTIVE: got %v, want ErrNotFound only", err)
	}
	created, err := w.api.CreateService(ctx, in)
	if err != nil {
		t.Fatalf("create the service again once INACTIVE: %v", err)
	}
	if got := aws.ToString(created.Service.Status); got != "ACTIVE" {
		t.Errorf("got status %s for the new service, want ACTIVE", got)
	}
	w.settle()
	if got := w.service("staging", "web").RunningCount; got != 2 {
		t.Errorf("got %d tasks of the new service running, want 2", got)
	}
}
