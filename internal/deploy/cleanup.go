package deploy

import (
	"context"
	"fmt"
	"slices"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// cleanup scales the old slot to zero (canary, blue/green), deletes the
// service of the strategy switched from (switch.go), and deregisters
// task definition revisions beyond the newest KeepRevisions, never one a
// service of this deployment runs. Its failure does not fail the
// deployment: the state machine records it as a warning.
func (e *Engine) cleanup(ctx context.Context, st workflow.State) (workflow.State, error) {
	p, c, err := e.loadPlan(ctx, st)
	if err != nil {
		return st, err
	}
	if p.Rendered.Strategy.Kind != kindRolling {
		if err := cleanupSlots(ctx, c, p); err != nil {
			return st, err
		}
	} else if err := deleteServices(ctx, c, p.Rendered.Cluster, p.Retire); err != nil {
		// Switched to rolling: the slots served until Promote.
		return st, err
	}
	family := ""
	if p.Rendered.TaskDefinition.Family != nil {
		family = *p.Rendered.TaskDefinition.Family
	}
	if family == "" || e.Settings.KeepRevisions <= 0 {
		return st, nil
	}
	revisions, err := c.Services.TaskDefinitionRevisions(ctx, family)
	if err != nil {
		return st, fmt.Errorf("list revisions of %s: %w", family, err)
	}
	inUse, err := e.taskDefinitionsInUse(ctx, c, p)
	if err != nil {
		return st, err
	}
	old := revisions[:max(len(revisions)-e.Settings.KeepRevisions, 0)]
	var pruned int
	for _, arn := range old {
		if slices.Contains(inUse, arn) {
			continue
		}
		if err := c.Services.DeregisterTaskDefinition(ctx, arn); err != nil {
			return st, fmt.Errorf("deregister task definition %s: %w", arn, err)
		}
		pruned++
	}
	e.logger(st, workflow.PhaseCleanup).Info("cleaned up", "family", family, "deregistered", pruned,
		"kept", len(revisions)-pruned)
	return st, nil
}

// taskDefinitionsInUse are the task definitions the services of p run now.
func (e *Engine) taskDefinitionsInUse(ctx context.Context, c Clients, p *plan) ([]string, error) {
	var arns []string
	for _, s := range p.Snapshot.Services {
		live, err := readService(ctx, c, s.Cluster, s.Name)
		if err != nil {
			return nil, err
		}
		if live.Exists {
			arns = append(arns, live.TaskDefinition)
		}
	}
	return arns, nil
}
