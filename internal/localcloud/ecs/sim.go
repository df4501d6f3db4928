package ecs

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// reconcileLocked brings the whole simulation up to now: due task steps
// happen, every service's scheduler runs, and the timer is armed for the
// next due step. s.mu must be held.
func (s *Service) reconcileLocked(now time.Time) {
	for _, name := range slices.Sorted(maps.Keys(s.st.Clusters)) {
		c := s.st.Clusters[name]
		if c.Status != "ACTIVE" {
			continue
		}
		// A pass can make more steps due at once (a health check failure
		// past the grace period); a few passes settle it.
		for range 10 {
			stepped := false
			for _, t := range sortedTasks(c) {
				for !t.Next.IsZero() && !t.Next.After(now) {
					s.stepTask(now, c, t)
					stepped = true
				}
			}
			for _, svName := range slices.Sorted(maps.Keys(c.Services)) {
				s.scheduleService(now, c, c.Services[svName])
			}
			if !stepped {
				break
			}
		}
		for id, t := range c.Tasks {
			if t.LastStatus == "STOPPED" && now.Sub(t.StoppedAt) > forgetAfter {
				delete(c.Tasks, id)
				delete(s.st.Tags, t.ARN)
			}
		}
	}
	s.armLocked(now)
}

// armLocked sets the timer for the earliest due task step, or stops it
// when nothing is due. s.mu must be held.
func (s *Service) armLocked(now time.Time) {
	if s.closed {
		return
	}
	var next time.Time
	for _, c := range s.st.Clusters {
		if c.Status != "ACTIVE" {
			continue
		}
		for _, t := range c.Tasks {
			if !t.Next.IsZero() && (next.IsZero() || t.Next.Before(next)) {
				next = t.Next
			}
		}
	}
	for _, sd := range s.st.ServiceDeployments {
		if due := nativeDue(now, sd); !due.IsZero() && (next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	if next.IsZero() {
		if s.timer != nil {
			s.timer.Stop()
		}
		return
	}
	d := max(next.Sub(now), 0)
	if s.timer == nil {
		s.timer = s.clock.NewTimer(d)
		go s.run(s.timer)
		return
	}
	s.timer.Reset(d)
}

// run reacts to the timer until Close. On a virtual clock the timer's value
// carries a busy hold, released once the reaction is done.
func (s *Service) run(t interface{ C() <-chan time.Time }) {
	for {
		select {
		case <-t.C():
		case <-s.quit:
			return
		}
		s.mu.Lock()
		s.reconcileLocked(s.clock.Now())
		s.mu.Unlock()
		s.flush()
		s.clock.Done()
	}
}

func sortedTasks(c *cluster) []*task {
	return sortTasks(slices.Collect(maps.Values(c.Tasks)))
}

// sortTasks sorts ts oldest first (then by id) and returns it.
func sortTasks(ts []*task) []*task {
	slices.SortFunc(ts, func(a, b *task) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return ts
}

// behaviour returns the faults of the task's images, combined.
func (s *Service) behaviour(t *task) faults.Behaviour {
	var b faults.Behaviour
	if s.faults == nil {
		return b
	}
	for _, ct := range t.Containers {
		f := s.faults.ForImage(ct.Image)
		b.CrashOnStart = b.CrashOnStart || (f.CrashOnStart && ct.Essential)
		b.FailHealthChecks = b.FailHealthChecks || f.FailHealthChecks
	}
	return b
}

// stepTask makes the task's due step happen.
func (s *Service) stepTask(now time.Time, c *cluster, t *task) {
	step := t.Step
	t.Step, t.Next = "", time.Time{}
	sv := c.Services[t.Service]
	switch step {
	case stepPending:
		s.setStatus(now, c, t, "PENDING")
		t.Step, t.Next = stepRunning, now.Add(s.timings.Pull)
	case stepRunning:
		if s.pull(now, c, t) {
			return
		}
		t.StartedAt = now
		for i := range t.Containers {
			t.Containers[i].LastStatus = "RUNNING"
		}
		s.setStatus(now, c, t, "RUNNING")
		b := s.behaviour(t)
		if b.CrashOnStart {
			t.Step, t.Next = stepCrash, now.Add(crashTime)
			return
		}
		checked := false
		if sv != nil && len(sv.LoadBalancers) > 0 {
			s.registerTargets(now, c, sv, t)
			checked = true
		}
		if sv != nil {
			s.registerInstances(c, sv, t)
		}
		for _, ct := range s.containerDefs(t) {
			checked = checked || ct.HealthCheck
		}
		if checked {
			wait := healthCheckTime
			if sv != nil && len(sv.LoadBalancers) > 0 {
				wait = s.verdictAfter(sv, t, b.FailHealthChecks)
			}
			t.Step, t.Next = stepHealth, now.Add(wait)
		}
	case stepCrash:
		code := int32(1)
		for i := range t.Containers {
			ct := &t.Containers[i]
			ct.LastStatus = "STOPPED"
			if ct.Essential && s.faults != nil && s.faults.ForImage(ct.Image).CrashOnStart {
				ct.ExitCode = &code
				ct.Reason = "Essential container in task exited"
			}
		}
		s.beginStop(now, c, t, "EssentialContainerExited", "Essential container in task exited", true)
	case stepHealth:
		s.healthVerdict(now, c, sv, t)
	case stepHCFail:
		reason := "Task failed container health checks"
		if sv != nil && len(sv.LoadBalancers) > 0 {
			reason = "Task failed ELB health checks in (target-group " + lbsOf(sv, t)[0].TargetGroupARN + ")"
			s.serviceEvent(now, sv, fmt.Sprintf("(service %s) (task %s) failed ELB health checks in (target-group %s).",
				sv.Name, t.ID, lbsOf(sv, t)[0].TargetGroupARN))
		} else if sv != nil {
			s.serviceEvent(now, sv, fmt.Sprintf("(service %s) (task %s) failed container health checks.", sv.Name, t.ID))
		}
		s.beginStop(now, c, t, "ServiceSchedulerInitiated", reason, true)
	case stepDrained:
		if sv != nil {
			s.deregisterTargets(now, c, sv, t)
		}
		s.setStatus(now, c, t, "STOPPING")
		t.Step, t.Next = stepStopped, now.Add(stopTime)
	case stepStopped:
		t.StoppedAt = now
		for i := range t.Containers {
			ct := &t.Containers[i]
			if ct.LastStatus == "RUNNING" && ct.ExitCode == nil {
				zero := int32(0)
				ct.ExitCode = &zero
			}
			ct.LastStatus = "STOPPED"
		}
		s.setStatus(now, c, t, "STOPPED")
	}
}

// healthVerdict settles the first health check of a running task: healthy,
// or unhealthy and replaced once the grace period is over.
func (s *Service) healthVerdict(now time.Time, c *cluster, sv *service, t *task) {
	withLB := sv != nil && len(sv.LoadBalancers) > 0
	containerCheck := false
	for _, cd := range s.containerDefs(t) {
		containerCheck = containerCheck || cd.HealthCheck
	}
	status := "HEALTHY"
	if s.behaviour(t).FailHealthChecks {
		status = "UNHEALTHY"
	}
	if containerCheck {
		t.HealthStatus = status
		for i, cd := range s.containerDefs(t) {
			if cd.HealthCheck && i < len(t.Containers) {
				t.Containers[i].HealthStatus = status
			}
		}
	} else if status == "UNHEALTHY" && withLB {
		t.HealthStatus = "UNHEALTHY"
	}
	t.Version++
	if withLB && t.TargetsUp && s.targets != nil {
		state, reason := "healthy", ""
		if status == "UNHEALTHY" {
			state, reason = "unhealthy", "Target.FailedHealthChecks"
		}
		for _, lb := range lbsOf(sv, t) {
			arn, id := lb.TargetGroupARN, s.targetOf(c, t, lb).ID
			s.effect(func() { s.targets.SetTargetHealth(arn, id, state, reason) })
		}
	}
	if status == "UNHEALTHY" && sv != nil {
		grace := t.StartedAt.Add(time.Duration(sv.GracePeriod) * time.Second)
		t.Step, t.Next = stepHCFail, maxTime(now, grace)
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// containerDefs returns the container definitions of the task's revision.
func (s *Service) containerDefs(t *task) []containerDef {
	td, err := s.taskDefLocked(t.TaskDefinition)
	if err != nil {
		return nil
	}
	return td.Containers
}

// setStatus moves the task to status and posts its state change event.
func (s *Service) setStatus(now time.Time, c *cluster, t *task, status string) {
	t.LastStatus = status
	t.Version++
	s.taskEvent(now, c, t)
}

// beginStop starts stopping a task: a task with targets drains first
// (DEACTIVATING), the others go to STOPPING. failed counts the stop
// against the task's deployment for the circuit breaker.
func (s *Service) beginStop(now time.Time, c *cluster, t *task, code, reason string, failed bool) {
	if t.stopping() {
		return
	}
	t.DesiredStatus = "STOPPED"
	t.StoppingAt = now
	t.StopCode, t.StoppedReason, t.Failed = code, reason, failed
	sv := c.Services[t.Service]
	if sv != nil {
		s.deregisterInstances(c, sv, t)
		if failed {
			for _, d := range sv.Deployments {
				if d.ID == t.Deployment {
					d.FailedTasks++
					d.UpdatedAt = now
				}
			}
		}
	}
	if t.TargetsUp && sv != nil && s.targets != nil {
		for _, lb := range lbsOf(sv, t) {
			arn, id := lb.TargetGroupARN, s.targetOf(c, t, lb).ID
			s.effect(func() { s.targets.SetTargetHealth(arn, id, "draining", "Target.DeregistrationInProgress") })
		}
		s.serviceEvent(now, sv, fmt.Sprintf("(service %s) has begun draining connections on 1 tasks.", sv.Name))
		s.setStatus(now, c, t, "DEACTIVATING")
		t.Step, t.Next = stepDrained, now.Add(s.drainFor(sv, t))
		return
	}
	s.setStatus(now, c, t, "STOPPING")
	t.Step, t.Next = stepStopped, now.Add(stopTime)
}

// targetOf returns the load balancer target of task t for lb.
func (s *Service) targetOf(c *cluster, t *task, lb loadBalancer) Target {
	if t.Network != nil && t.Network.Awsvpc != nil {
		return Target{ID: t.PrivateIP, Port: lb.ContainerPort}
	}
	id := ""
	if i := findInstance(c, t.ContainerInstance); i != nil {
		id = i.EC2ID
	}
	return Target{ID: id, Port: t.HostPorts[lb.ContainerName+":"+itoa(lb.ContainerPort)]}
}

func (s *Service) registerTargets(now time.Time, c *cluster, sv *service, t *task) {
	if s.targets == nil {
		return
	}
	t.TargetsUp = true
	for _, lb := range lbsOf(sv, t) {
		arn, target := lb.TargetGroupARN, s.targetOf(c, t, lb)
		s.effect(func() {
			s.targets.RegisterTargets(arn, []Target{target})
			s.targets.SetTargetHealth(arn, target.ID, "initial", "Elb.RegistrationInProgress")
		})
		s.serviceEvent(now, sv, fmt.Sprintf("(service %s) registered 1 targets in (target-group %s)", sv.Name, arn))
	}
}

func (s *Service) deregisterTargets(now time.Time, c *cluster, sv *service, t *task) {
	if s.targets == nil || !t.TargetsUp {
		return
	}
	t.TargetsUp = false
	for _, lb := range lbsOf(sv, t) {
		arn, id := lb.TargetGroupARN, s.targetOf(c, t, lb).ID
		s.effect(func() { s.targets.DeregisterTargets(arn, []string{id}) })
		s.serviceEvent(now, sv, fmt.Sprintf("(service %s) deregistered 1 targets in (target-group %s)", sv.Name, arn))
	}
}

// registerInstances registers the task in the Cloud Map services of sv.
func (s *Service) registerInstances(c *cluster, sv *service, t *task) {
	if s.names == nil {
		return
	}
	family := t.TaskDefinition
	if td, err := s.taskDefLocked(t.TaskDefinition); err == nil {
		family = td.Family
	}
	for _, r := range sv.Registries {
		attrs := map[string]string{
			"AWS_INSTANCE_IPV4":          t.PrivateIP,
			"AWS_INIT_HEALTH_STATUS":     "HEALTHY",
			"AVAILABILITY_ZONE":          s.region + "a",
			"REGION":                     s.region,
			"ECS_CLUSTER_NAME":           c.Name,
			"ECS_SERVICE_NAME":           sv.Name,
			"ECS_TASK_DEFINITION_FAMILY": family,
		}
		port := r.Port
		if r.ContainerName != "" {
			port = r.ContainerPort
			if hp, ok := t.HostPorts[r.ContainerName+":"+itoa(r.ContainerPort)]; ok {
				port = hp
			}
		}
		if port > 0 {
			attrs["AWS_INSTANCE_PORT"] = itoa(port)
		}
		id, taskID, svName := registryServiceID(r.RegistryARN), t.ID, sv.Name
		t.CloudMap = append(t.CloudMap, id)
		s.effect(func() {
			if err := s.names.RegisterInstance(id, taskID, attrs); err != nil {
				s.log.Warn("register task in Cloud Map", "service", svName, "task", taskID, "registry", id, "error", err)
			}
		})
	}
}

// deregisterInstances deregisters the task from the Cloud Map services it
// registered in.
func (s *Service) deregisterInstances(c *cluster, sv *service, t *task) {
	if s.names == nil || t.StartedAt.IsZero() {
		return
	}
	ids := t.CloudMap
	t.CloudMap = nil
	for _, id := range ids {
		id, taskID, svName := id, t.ID, sv.Name
		s.effect(func() {
			if err := s.names.DeregisterInstance(id, taskID); err != nil {
				s.log.Warn("deregister task from Cloud Map", "service", svName, "task", taskID, "registry", id, "error", err)
			}
		})
	}
}

// serviceEvent adds a message to the service's events, newest first.
func (s *Service) serviceEvent(now time.Time, sv *service, msg string) {
	e := serviceEvent{ID: strings.Join([]string{s.id(8), s.id(4), s.id(4), s.id(4), s.id(12)}, "-"), CreatedAt: now, Message: msg}
	sv.Events = append([]serviceEvent{e}, sv.Events...)
	if len(sv.Events) > maxEvents {
		sv.Events = sv.Events[:maxEvents]
	}
}

// isoMillis formats t as the ECS events do: 2026-11-25T16:44:30.918Z.
func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// deploymentStateDetail is the detail of an "ECS Deployment State Change"
// event.
type deploymentStateDetail struct {
	EventType    string `json:"eventType"`
	EventName    string `json:"eventName"`
	DeploymentID string `json:"deploymentId"`
	UpdatedAt    string `json:"updatedAt"`
	Reason       string `json:"reason"`
}

func (s *Service) deploymentEvent(sv *service, d *deployment, name string, now time.Time) {
	detail := deploymentStateDetail{EventType: "INFO", EventName: name, DeploymentID: d.ID, UpdatedAt: isoMillis(now)}
	switch name {
	case "SERVICE_DEPLOYMENT_IN_PROGRESS":
		detail.Reason = "ECS deployment " + d.ID + " in progress."
	case "SERVICE_DEPLOYMENT_COMPLETED":
		detail.Reason = "ECS deployment " + d.ID + " completed."
	case "SERVICE_DEPLOYMENT_FAILED":
		detail.EventType = "ERROR"
		detail.Reason = d.RolloutReason
	}
	e := protocol.Event{Source: "aws.ecs", DetailType: "ECS Deployment State Change", Resources: []string{sv.ARN}, Detail: detail}
	s.effect(func() { s.events.PutEvent(context.Background(), e) })
}

// taskStateDetail is the detail of an "ECS Task State Change" event: the
// task as DescribeTasks shows it, with ISO timestamps.
type taskStateDetail struct {
	ClusterARN           string               `json:"clusterArn"`
	ContainerInstanceARN string               `json:"containerInstanceArn,omitempty"`
	Containers           []taskStateContainer `json:"containers"`
	CPU                  string               `json:"cpu,omitempty"`
	Memory               string               `json:"memory,omitempty"`
	CreatedAt            string               `json:"createdAt"`
	DesiredStatus        string               `json:"desiredStatus"`
	Group                string               `json:"group"`
	LaunchType           string               `json:"launchType"`
	LastStatus           string               `json:"lastStatus"`
	AvailabilityZone     string               `json:"availabilityZone"`
	StartedAt            string               `json:"startedAt,omitempty"`
	StartedBy            string               `json:"startedBy,omitempty"`
	StoppingAt           string               `json:"stoppingAt,omitempty"`
	StoppedAt            string               `json:"stoppedAt,omitempty"`
	StopCode             string               `json:"stopCode,omitempty"`
	StoppedReason        string               `json:"stoppedReason,omitempty"`
	TaskARN              string               `json:"taskArn"`
	TaskDefinitionARN    string               `json:"taskDefinitionArn"`
	UpdatedAt            string               `json:"updatedAt"`
	Version              int64                `json:"version"`
	Overrides            map[string]any       `json:"overrides"`
	Attachments          []attachmentOut      `json:"attachments,omitempty"`
}

type taskStateContainer struct {
	ContainerARN string `json:"containerArn"`
	ExitCode     *int32 `json:"exitCode,omitempty"`
	LastStatus   string `json:"lastStatus"`
	Name         string `json:"name"`
	Image        string `json:"image"`
	TaskARN      string `json:"taskArn"`
	Reason       string `json:"reason,omitempty"`
}

func isoOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return isoMillis(t)
}

func (s *Service) taskEvent(now time.Time, c *cluster, t *task) {
	o := s.taskOut(c, t, false)
	d := taskStateDetail{
		ClusterARN: c.ARN, ContainerInstanceARN: t.ContainerInstance, CPU: o.CPU, Memory: o.Memory,
		CreatedAt: isoMillis(t.CreatedAt), DesiredStatus: t.DesiredStatus, Group: t.Group, LaunchType: t.LaunchType,
		LastStatus: t.LastStatus, AvailabilityZone: o.AvailabilityZone,
		StartedAt: isoOrEmpty(t.StartedAt), StartedBy: t.StartedBy, StoppingAt: isoOrEmpty(t.StoppingAt),
		StoppedAt: isoOrEmpty(t.StoppedAt), StopCode: t.StopCode, StoppedReason: t.StoppedReason,
		TaskARN: t.ARN, TaskDefinitionARN: t.TaskDefinition, UpdatedAt: isoMillis(now), Version: t.Version,
		Overrides:   map[string]any{"containerOverrides": []any{}},
		Attachments: o.Attachments,
	}
	for _, ct := range o.Containers {
		d.Containers = append(d.Containers, taskStateContainer{
			ContainerARN: ct.ContainerARN, ExitCode: ct.ExitCode, LastStatus: ct.LastStatus,
			Name: ct.Name, Image: ct.Image, TaskARN: ct.TaskARN, Reason: ct.Reason,
		})
	}
	e := protocol.Event{Source: "aws.ecs", DetailType: "ECS Task State Change", Resources: []string{t.ARN}, Detail: d}
	s.effect(func() { s.events.PutEvent(context.Background(), e) })
}

// RevisionOfTarget returns the image of the container that serves the load
// balancer target id (a task's private IP, or the EC2 instance id of its
// container instance), including tasks still draining.
func (s *Service) RevisionOfTarget(id string) (string, bool) {
	image, ok := s.RevisionsOfTargets()[id]
	return image, ok
}

// RevisionsOfTargets returns, for every load balancer target of a task
// (RevisionOfTarget's ids), the image of the container it serves: one pass
// over the tasks, for a caller that looks up many targets at once (the
// local CloudWatch, every simulated minute). Of tasks sharing a target (an
// EC2 instance's), the oldest one's image is given.
func (s *Service) RevisionsOfTargets() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(s.st.Clusters)) {
		c := s.st.Clusters[name]
		for _, t := range sortedTasks(c) {
			sv := c.Services[t.Service]
			if sv == nil || len(sv.LoadBalancers) == 0 || t.LastStatus == "STOPPED" || !t.TargetsUp {
				continue
			}
			lb := sv.LoadBalancers[0]
			id := s.targetOf(c, t, lb).ID
			if _, seen := out[id]; seen {
				continue
			}
			for _, ct := range t.Containers {
				if ct.Name == lb.ContainerName {
					out[id] = ct.Image
					break
				}
			}
		}
	}
	return out
}

// failureThreshold is the number of failed tasks at which the circuit
// breaker fails a deployment: half the desired count, at least 3 and at
// most 200.
func failureThreshold(desired int32) int32 {
	return min(max(int32(math.Ceil(float64(desired)*0.5)), 3), 200)
}
