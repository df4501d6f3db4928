package deploy

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/awsapi/ecs"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// servicesByStatus is a ServiceAPI whose one service has a status, answered
// as the awsapi/ecs adapter answers it.
type servicesByStatus struct {
	ServiceAPI
	status string // ACTIVE, DRAINING, INACTIVE or "" (never created)
	calls  []string
}

func (s *servicesByStatus) DescribeService(_ context.Context, cluster, name string) (*ecs.Service, error) {
	switch s.status {
	case "ACTIVE":
		return &ecs.Service{Name: name, Status: "ACTIVE"}, nil
	case "DRAINING":
		return nil, fmt.Errorf("describe service %s/%s: %w: %w", cluster, name, ecs.ErrNotFound, ecs.ErrDraining)
	}
	return nil, fmt.Errorf("describe service %s/%s: %w", cluster, name, ecs.ErrNotFound)
}

func (s *servicesByStatus) CreateService(_ context.Context, _ *spec.Rendered, shape ServiceShape, _ string) (*ecs.Service, error) {
	s.calls = append(s.calls, "create "+shape.Name)
	return &ecs.Service{Name: shape.Name, Status: "ACTIVE"}, nil
}

func (s *servicesByStatus) UpdateService(_ context.Context, _ *spec.Rendered, shape ServiceShape, _ string) (*ecs.Service, error) {
	s.calls = append(s.calls, "update "+shape.Name)
	return &ecs.Service{Name: shape.Name, Status: "ACTIVE"}, nil
}

// TestCreateOrUpdateDeletedService checks issue 11 item 14: a DRAINING or
// INACTIVE service is not "existing". INACTIVE is created anew; DRAINING
// (ECS refuses the name until then) is a Transient error the state
// machine's Retry waits on, never an update of a dying service.
func TestCreateOrUpdateDeletedService(t *testing.T) {
	tests := map[string]struct {
		status    string
		want      []string
		transient bool
	}{
		"active: updated":              {status: "ACTIVE", want: []string{"update web"}},
		"never created: created":       {status: "", want: []string{"create web"}},
		"inactive: created anew":       {status: "INACTIVE", want: []string{"create web"}},
		"draining: retried, untouched": {status: "DRAINING", transient: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			svc := &servicesByStatus{status: tc.status}
			r := &spec.Rendered{Cluster: "staging"}
			_, err := createOrUpdate(context.Background(), Clients{Services: svc}, r, ServiceShape{Name: "web"}, "td:1")
			var tr *workflow.Transient
			if errors.As(err, &tr) != tc.transient || (err != nil && !tc.transient) {
				t.Errorf("got error %v, want transient %t", err, tc.transient)
			}
			if tc.transient && workflow.Named(err) != error(tr) {
				t.Errorf("got named error %T, want *workflow.Transient for the Retry to match", workflow.Named(err))
			}
			if diff := cmp.Diff(tc.want, svc.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}
