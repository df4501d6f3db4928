package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	"github.com/slipwayhq/slipway/internal/workflow"
)

// A watch is stored once per deployment and once under each thing that can
// complete it, so functions/signal finds every watch on an alarm or an ECS
// deployment with one List:
//
//	watches/deployment/<deployment>.json
//	watches/alarm/<alarm>/<deployment>.json      one per alarm
//	watches/ecs/<ecs deployment id>/<deployment>.json
//
// Every copy holds the whole Watch. A deployment waits for one thing at a
// time, so a new watch of a deployment replaces its previous one.

// Watch is what a waiting task waits for.
type Watch struct {
	// Token is the task token to complete.
	Token      string            `json:"token"`
	Deployment string            `json:"deployment"`
	Execution  string            `json:"execution,omitempty"`
	Kind       workflow.WaitKind `json:"kind"`
	// Environment and Service name the deployment's target.
	Environment string `json:"environment"`
	Service     string `json:"service"`
	// Cluster, ECSService and ECSDeployment identify the ECS deployment
	// watched, if any.
	Cluster       string `json:"cluster,omitempty"`
	ECSService    string `json:"ecsService,omitempty"`
	ECSDeployment string `json:"ecsDeployment,omitempty"`
	// ServiceDeployment is the ECS service deployment ARN a native
	// deployment's wait watches: its hook events name it, not the ECS
	// deployment id. Indexed beside ECSDeployment.
	ServiceDeployment string `json:"serviceDeployment,omitempty"`
	// Alarms are the alarm names watched.
	Alarms []string `json:"alarms,omitempty"`
	// Deadline is when the wait is given up.
	Deadline time.Time `json:"deadline,omitzero"`
}

const (
	watchByDeployment = "watches/deployment/"
	watchByAlarm      = "watches/alarm/"
	watchByECS        = "watches/ecs/"
)

func alarmPrefix(alarm string) string { return watchByAlarm + segment(alarm) + "/" }
func ecsPrefix(id string) string      { return watchByECS + segment(id) + "/" }

// watchKeys returns the primary key of w, then its index keys.
func watchKeys(w Watch) []string {
	file := segment(w.Deployment) + ".json"
	keys := []string{watchByDeployment + file}
	for _, a := range w.Alarms {
		k := alarmPrefix(a) + file
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	if w.ECSDeployment != "" {
		keys = append(keys, ecsPrefix(w.ECSDeployment)+file)
	}
	if w.ServiceDeployment != "" {
		keys = append(keys, ecsPrefix(w.ServiceDeployment)+file)
	}
	return keys
}

// PutWatch records w under its deployment, each of its alarms and its ECS
// deployment. Index entries of the deployment's previous watch that w does
// not share are removed.
func (s *Store) PutWatch(ctx context.Context, w Watch) error {
	op := fmt.Sprintf("record watch of deployment %s", w.Deployment)
	if err := checkNames(op, "deployment", w.Deployment, "token", w.Token); err != nil {
		return err
	}
	for i, a := range w.Alarms {
		if a == "" {
			return &workflow.InvalidInput{Problems: []string{fmt.Sprintf("%s: alarms[%d]: empty alarm name", op, i)}}
		}
	}
	var prev Watch
	_, err := s.getJSON(ctx, op, watchKeys(w)[0], &prev)
	hadPrev := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	// Index entries first, the primary record last: a watch findable by
	// deployment is findable by everything it waits for.
	keys := watchKeys(w)
	for _, k := range slices.Concat(keys[1:], keys[:1]) {
		if _, err := s.putJSON(ctx, op, k, w, s3api.Precondition{}); err != nil {
			return err
		}
	}
	if hadPrev && prev.Token != w.Token {
		for _, k := range watchKeys(prev)[1:] {
			if slices.Contains(keys, k) {
				continue
			}
			if err := s.deleteWatchEntry(ctx, op, k, prev.Token); err != nil {
				return err
			}
		}
	}
	return nil
}

// WatchesForAlarm returns the watches on alarm, in key order (by
// deployment).
func (s *Store) WatchesForAlarm(ctx context.Context, alarm string) ([]Watch, error) {
	op := fmt.Sprintf("find watches on alarm %s", alarm)
	if err := checkNames(op, "alarm", alarm); err != nil {
		return nil, err
	}
	return s.watchesUnder(ctx, op, alarmPrefix(alarm))
}

// WatchesForECSDeployment returns the watches on the ECS deployment id, or
// on the service deployment ARN, in key order (by deployment).
func (s *Store) WatchesForECSDeployment(ctx context.Context, id string) ([]Watch, error) {
	op := fmt.Sprintf("find watches on ECS deployment %s", id)
	if err := checkNames(op, "ECS deployment id", id); err != nil {
		return nil, err
	}
	return s.watchesUnder(ctx, op, ecsPrefix(id))
}

// WatchForDeployment returns the current watch of deployment; ErrNotFound
// when it waits for nothing.
func (s *Store) WatchForDeployment(ctx context.Context, deployment string) (Watch, error) {
	op := fmt.Sprintf("read watch of deployment %s", deployment)
	if err := checkNames(op, "deployment", deployment); err != nil {
		return Watch{}, err
	}
	var w Watch
	_, err := s.getJSON(ctx, op, watchByDeployment+segment(deployment)+".json", &w)
	return w, err
}

func (s *Store) watchesUnder(ctx context.Context, op, prefix string) ([]Watch, error) {
	keys, err := s.s3.List(ctx, s.stateBucket, prefix, 0)
	if err != nil {
		return nil, translate(op, err)
	}
	var out []Watch
	for _, k := range keys {
		var w Watch
		_, err := s.getJSON(ctx, op, k, &w)
		if errors.Is(err, ErrNotFound) {
			continue // deleted since the listing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// DeleteWatch removes every record of w. A record that now holds another
// watch of the same deployment (another token) is left alone, so deleting a
// finished wait never removes the one that followed it. Idempotent.
func (s *Store) DeleteWatch(ctx context.Context, w Watch) error {
	op := fmt.Sprintf("delete watch of deployment %s", w.Deployment)
	if err := checkNames(op, "deployment", w.Deployment, "token", w.Token); err != nil {
		return err
	}
	// Index entries first, the primary record last: if this fails half way,
	// the primary record still leads a retry, or the deployment's next
	// PutWatch, to the entries left.
	keys := watchKeys(w)
	for _, k := range slices.Concat(keys[1:], keys[:1]) {
		if err := s.deleteWatchEntry(ctx, op, k, w.Token); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) deleteWatchEntry(ctx context.Context, op, key, token string) error {
	return deleteIf(ctx, s, op, key, func(w Watch) bool { return w.Token == token })
}
