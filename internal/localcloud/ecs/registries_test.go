package ecs_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestRegistriesChangeByDeployment (issue 11 item 11): as on AWS, an
// UpdateService that removes or adds serviceRegistries starts a deployment;
// its new tasks register as the service now says, and every task that
// registered is deregistered when it stops, whatever the service's
// registries are by then. Cloud Map never keeps an instance of a stopped
// task.
func TestRegistriesChangeByDeployment(t *testing.T) {
	w := newWorld(t)
	w.cluster("staging")
	td := w.webTaskDef(ecrURI + "web@sha256:one")
	ctx := context.Background()
	if _, err := w.api.CreateService(ctx, createInput(td, tgBlue, registry, 2)); err != nil {
		t.Fatal(err)
	}
	w.settle()
	running := func() []string {
		var ids []string
		for _, tk := range w.tasks("staging", "web", types.DesiredStatusRunning) {
			arn := aws.ToString(tk.TaskArn)
			ids = append(ids, arn[len(arn)-32:])
		}
		slices.Sort(ids)
		return ids
	}
	instances := func() []string {
		w.names.mu.Lock()
		defer w.names.mu.Unlock()
		return slices.Sorted(maps.Keys(w.names.instances[registryID]))
	}
	first := running()
	if got := instances(); len(first) != 2 || !slices.Equal(got, first) {
		t.Fatalf("registered: got instances %v, want the running tasks %v", got, first)
	}

	for _, step := range []struct {
		name       string
		registries []types.ServiceRegistry
		registered bool
	}{
		{name: "registries removed", registries: []types.ServiceRegistry{}},
		{name: "registries added", registries: []types.ServiceRegistry{{RegistryArn: aws.String(registry)}}, registered: true},
	} {
		before := running()
		out, err := w.api.UpdateService(ctx, &sdk.UpdateServiceInput{Cluster: aws.String("staging"), Service: aws.String("web"),
			ServiceRegistries: step.registries})
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if n := len(out.Service.Deployments); n != 2 {
			t.Errorf("%s: got %d deployments, want 2: the change starts one", step.name, n)
		}
		w.settle()
		after := running()
		if len(after) != 2 || slices.ContainsFunc(after, func(id string) bool { return slices.Contains(before, id) }) {
			t.Fatalf("%s: got running tasks %v, want 2 new ones replacing %v", step.name, after, before)
		}
		var want []string
		if step.registered {
			want = after
		}
		if got := instances(); !slices.Equal(got, want) {
			t.Errorf("%s: got instances %v, want %v", step.name, got, want)
		}
	}
}
