package ecs

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// liveTasks returns the tasks of sv that are neither stopping nor stopped,
// oldest first.
func liveTasks(c *cluster, sv *service) []*task {
	// Filter, then sort: a cluster keeps its stopped tasks, and sorting
	// them all for each service on every scheduler run dominated the
	// simulation's time in a cluster of many services.
	var out []*task
	for _, t := range c.Tasks {
		if t.Service == sv.Name && !t.stopping() && t.LastStatus != "STOPPED" && isDeploymentOf(sv, t.Deployment) {
			out = append(out, t)
		}
	}
	return sortTasks(out)
}

func isDeploymentOf(sv *service, id string) bool {
	return slices.ContainsFunc(sv.Deployments, func(d *deployment) bool { return d.ID == id })
}

func activeInstances(c *cluster) []*containerInstance {
	var out []*containerInstance
	for _, i := range c.Instances {
		if i.Status == "ACTIVE" {
			out = append(out, i)
		}
	}
	return out
}

// scheduleService runs the service scheduler once: it starts and stops
// tasks within the deployment configuration's bounds, applies the circuit
// breaker and records a steady state.
func (s *Service) scheduleService(now time.Time, c *cluster, sv *service) {
	switch sv.Status {
	case "INACTIVE":
		return
	case "DRAINING":
		var stopped []string
		for _, t := range liveTasks(c, sv) {
			s.beginStop(now, c, t, "ServiceSchedulerInitiated", "Service deleted", false)
			stopped = append(stopped, t.ID)
		}
		s.stoppedEvent(now, sv, stopped)
		for _, t := range c.Tasks {
			if t.Service == sv.Name && t.LastStatus != "STOPPED" && isDeploymentOf(sv, t.Deployment) {
				return
			}
		}
		sv.Status = "INACTIVE"
		return
	}
	if sd := s.activeNative(sv); sd != nil {
		s.advanceNative(now, c, sv, sd)
	}
	p := primary(sv)
	if p == nil {
		return
	}
	s.checkBreaker(now, c, sv)
	p = primary(sv)
	switch sd := s.activeNative(sv); {
	case sd != nil && sd.Status == sdInProgress && sd.Stage != stageCleanUp:
		// A native deployment brings its target revision up beside the
		// source; the rolling scheduler takes over for CLEAN_UP and
		// rollbacks, stopping the tasks of the revision that lost.
		s.scaleTarget(now, c, sv, sd, p)
		s.keepSource(now, c, sv, sd)
	case sv.Scheduling == "DAEMON":
		s.scheduleDaemon(now, c, sv, p)
	default:
		s.scheduleReplica(now, c, sv, p)
	}
	s.dropDrained(now, c, sv)
	s.checkSteady(now, c, sv)
}

func (s *Service) scheduleReplica(now time.Time, c *cluster, sv *service, p *deployment) {
	desired := p.DesiredCount
	maxTotal := int(math.Floor(float64(desired) * float64(sv.MaximumPercent) / 100))
	minHealthy := int(math.Ceil(float64(desired) * float64(sv.MinimumHealthy) / 100))
	live := liveTasks(c, sv)
	// Tasks on a draining container instance are replaced like those of an
	// old deployment.
	var mine, old []*task
	for _, t := range live {
		if t.Deployment == p.ID && !onDrainingInstance(c, t) {
			mine = append(mine, t)
		} else {
			old = append(old, t)
		}
	}
	reason := "Scaling activity initiated by (deployment " + p.ID + ")"
	var stopped []string
	// Scale in: the newest, least healthy tasks go first.
	if extra := len(mine) - int(desired); extra > 0 {
		victims := slices.Clone(mine)
		slices.SortStableFunc(victims, func(a, b *task) int {
			return cmp.Or(boolCmp(a.healthy(), b.healthy()), b.CreatedAt.Compare(a.CreatedAt))
		})
		for _, t := range victims[:extra] {
			s.beginStop(now, c, t, "ServiceSchedulerInitiated", reason, false)
			stopped = append(stopped, t.ID)
		}
		live = liveTasks(c, sv)
		mine = mine[:0]
		for _, t := range live {
			if t.Deployment == p.ID && !onDrainingInstance(c, t) {
				mine = append(mine, t)
			}
		}
	}
	failed := p.RolloutState == "FAILED"
	// Start new tasks, never above maximumPercent of the desired count.
	if !failed {
		// At most a batch per pass, as ECS launches in batches; the new
		// tasks' own steps bring the next pass.
		n := min(int(desired)-len(mine), maxTotal-len(live), placeBatch)
		var started []string
		for range max(n, 0) {
			t := s.placeTask(now, c, sv, p, nil)
			if t == nil {
				break
			}
			started = append(started, t.ID)
		}
		s.startedEvent(now, sv, started)
	}
	// Stop old tasks, never below minimumHealthyPercent of the desired
	// count: unhealthy ones freely, healthy ones while enough remain.
	if !failed {
		healthy := 0
		for _, t := range liveTasks(c, sv) {
			if t.healthy() {
				healthy++
			}
		}
		canStop := healthy - minHealthy
		for _, t := range old {
			if !t.healthy() {
				s.beginStop(now, c, t, "ServiceSchedulerInitiated", reason, false)
				stopped = append(stopped, t.ID)
			} else if canStop > 0 {
				canStop--
				s.beginStop(now, c, t, "ServiceSchedulerInitiated", reason, false)
				stopped = append(stopped, t.ID)
			}
		}
	}
	s.stoppedEvent(now, sv, stopped)
}

// onDrainingInstance reports whether the task runs on a container instance
// that is no longer ACTIVE.
func onDrainingInstance(c *cluster, t *task) bool {
	if t.ContainerInstance == "" {
		return false
	}
	i := findInstance(c, t.ContainerInstance)
	return i == nil || i.Status != "ACTIVE"
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func (s *Service) scheduleDaemon(now time.Time, c *cluster, sv *service, p *deployment) {
	insts := activeInstances(c)
	desired := int32(len(insts))
	if p.DesiredCount != desired {
		p.DesiredCount, p.UpdatedAt = desired, now
	}
	sv.DesiredCount = desired
	minHealthy := int(math.Ceil(float64(desired) * float64(sv.MinimumHealthy) / 100))
	live := liveTasks(c, sv)
	healthy := 0
	for _, t := range live {
		if t.healthy() {
			healthy++
		}
	}
	canStop := healthy - minHealthy
	if canStop <= 0 && healthy == len(live) && len(live) >= int(desired) && !s.inFlight(c, sv) {
		// With no room above 100% a DAEMON deployment must stop a task to
		// make progress; when rounding leaves none (one instance at 50%),
		// ECS still replaces one at a time.
		canStop = 1
	}
	reason := "Scaling activity initiated by (deployment " + p.ID + ")"
	failed := p.RolloutState == "FAILED"
	var started, stopped []string
	for _, t := range live {
		if i := findInstance(c, t.ContainerInstance); i == nil || i.Status != "ACTIVE" {
			s.beginStop(now, c, t, "ServiceSchedulerInitiated", reason, false)
			stopped = append(stopped, t.ID)
		}
	}
	for _, inst := range insts {
		var here []*task
		occupied := false
		for _, t := range c.Tasks {
			if t.Service == sv.Name && t.ContainerInstance == inst.ARN && t.LastStatus != "STOPPED" && isDeploymentOf(sv, t.Deployment) {
				occupied = true
				if !t.stopping() {
					here = append(here, t)
				}
			}
		}
		if slices.ContainsFunc(here, func(t *task) bool { return t.Deployment == p.ID }) || failed {
			continue
		}
		// The old task on this instance must stop before the new one can
		// start (host ports, one task per instance).
		for _, t := range here {
			if !t.healthy() {
				s.beginStop(now, c, t, "ServiceSchedulerInitiated", reason, false)
				stopped = append(stopped, t.ID)
			} else if canStop > 0 {
				canStop--
				s.beginStop(now, c, t, "ServiceSchedulerInitiated", reason, false)
				stopped = append(stopped, t.ID)
			}
		}
		if !occupied {
			if t := s.placeTask(now, c, sv, p, inst); t != nil {
				started = append(started, t.ID)
			}
		}
	}
	s.startedEvent(now, sv, started)
	s.stoppedEvent(now, sv, stopped)
}

// inFlight reports whether a task of sv is starting or stopping.
func (s *Service) inFlight(c *cluster, sv *service) bool {
	for _, t := range c.Tasks {
		if t.Service == sv.Name && isDeploymentOf(sv, t.Deployment) && t.LastStatus != "STOPPED" &&
			(t.stopping() || !t.healthy()) {
			return true
		}
	}
	return false
}

func (s *Service) startedEvent(now time.Time, sv *service, ids []string) {
	if len(ids) == 0 {
		return
	}
	s.serviceEvent(now, sv, fmt.Sprintf("(service %s) has started %d tasks: %s.", sv.Name, len(ids), taskList(ids)))
}

func (s *Service) stoppedEvent(now time.Time, sv *service, ids []string) {
	if len(ids) == 0 {
		return
	}
	s.serviceEvent(now, sv, fmt.Sprintf("(service %s) has stopped %d running tasks: %s.", sv.Name, len(ids), taskList(ids)))
}

func taskList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "(task " + id + ")"
	}
	return strings.Join(parts, " ")
}

// dropDrained removes the ACTIVE deployments that have no task left.
func (s *Service) dropDrained(now time.Time, c *cluster, sv *service) {
	sv.Deployments = slices.DeleteFunc(sv.Deployments, func(d *deployment) bool {
		if d.Status == "PRIMARY" {
			return false
		}
		for _, t := range c.Tasks {
			if t.Service == sv.Name && t.Deployment == d.ID && t.LastStatus != "STOPPED" {
				return false
			}
		}
		return true
	})
	// An old deployment's desired count follows its remaining tasks down.
	for _, d := range sv.Deployments {
		if d.Status == "PRIMARY" {
			continue
		}
		n := int32(0)
		for _, t := range c.Tasks {
			if t.Service == sv.Name && t.Deployment == d.ID && !t.stopping() && t.LastStatus != "STOPPED" {
				n++
			}
		}
		if n != d.DesiredCount {
			d.DesiredCount, d.UpdatedAt = n, now
		}
	}
}

// checkBreaker fails the primary deployment when its failed tasks reach the
// circuit breaker's threshold, and rolls back to the last completed
// deployment when the service asks for it.
func (s *Service) checkBreaker(now time.Time, c *cluster, sv *service) {
	p := primary(sv)
	if p == nil || p.Native != "" || !sv.CircuitBreaker || p.RolloutState != "IN_PROGRESS" || p.FailedTasks < failureThreshold(p.DesiredCount) {
		return
	}
	p.RolloutState = "FAILED"
	p.RolloutReason = "ECS deployment circuit breaker: tasks failed to start."
	p.UpdatedAt = now
	s.serviceEvent(now, sv, fmt.Sprintf("(service %s) (deployment %s) deployment failed: tasks failed to start.", sv.Name, p.ID))
	s.deploymentEvent(sv, p, "SERVICE_DEPLOYMENT_FAILED", now)
	last := sv.LastCompleted
	if !sv.Rollback || last == nil || last.ID == p.ID {
		return
	}
	s.serviceEvent(now, sv, fmt.Sprintf("(service %s) rolling back to deployment %s.", sv.Name, last.ID))
	sv.LaunchType, sv.Strategy, sv.Network = last.LaunchType, last.Strategy, last.Network
	s.startDeployment(now, c, sv, last.TaskDefinition, "ECS deployment circuit breaker: rolling back to deploymentId "+last.ID+".")
}

// checkSteady completes the primary deployment once it runs its desired
// count of healthy tasks and the old deployments are drained, and posts the
// steady-state service event on arrival.
func (s *Service) checkSteady(now time.Time, c *cluster, sv *service) {
	p := primary(sv)
	if p == nil {
		return
	}
	steady := len(sv.Deployments) == 1 && p.RolloutState != "FAILED"
	n := int32(0)
	for _, t := range liveTasks(c, sv) {
		if t.Deployment != p.ID || !t.healthy() {
			steady = false
		}
		n++
	}
	steady = steady && n == p.DesiredCount
	// A native deployment completes at the end of its CLEAN_UP stage.
	if steady && p.RolloutState == "IN_PROGRESS" && s.activeNative(sv) == nil && p.Native == "" {
		p.RolloutState = "COMPLETED"
		p.RolloutReason = "ECS deployment " + p.ID + " completed."
		p.UpdatedAt = now
		done := *p
		sv.LastCompleted = &done
		s.serviceEvent(now, sv, fmt.Sprintf("(service %s) (deployment %s) deployment completed.", sv.Name, p.ID))
		s.deploymentEvent(sv, p, "SERVICE_DEPLOYMENT_COMPLETED", now)
	}
	if steady && !sv.Steady {
		s.serviceEvent(now, sv, fmt.Sprintf("(service %s) has reached a steady state.", sv.Name))
	}
	sv.Steady = steady
}

// taskResources returns the CPU and memory a task of td reserves.
func taskResources(td *taskDef) (cpu, mem int32) {
	cpu, mem = td.CPU, td.Memory
	if cpu == 0 {
		for _, cd := range td.Containers {
			cpu += cd.CPU
		}
	}
	if mem == 0 {
		for _, cd := range td.Containers {
			mem += cd.Memory
		}
	}
	return cpu, mem
}

// placeTask starts a task of deployment d: on Fargate, or on an EC2
// container instance with room for it (inst when given, for DAEMON). It
// returns nil, with a service event saying why, when the task cannot be
// placed.
func (s *Service) placeTask(now time.Time, c *cluster, sv *service, d *deployment, inst *containerInstance) *task {
	td, err := s.taskDefLocked(d.TaskDefinition)
	if err != nil {
		return nil
	}
	cpu, mem := taskResources(td)
	t := &task{
		Service: sv.Name, Deployment: d.ID, TaskDefinition: td.ARN, StartedBy: d.ID, Group: "service:" + sv.Name,
		CPU: cpu, Memory: mem, LastStatus: "PROVISIONING", DesiredStatus: "RUNNING", HealthStatus: "UNKNOWN",
		CreatedAt: now, Step: stepPending, Next: now.Add(s.timings.Provisioning),
	}
	if td.NetworkMode == "awsvpc" {
		t.Network = d.Network
	}
	fargate := d.LaunchType == "FARGATE" || len(d.Strategy) > 0
	if fargate {
		t.LaunchType = "FARGATE"
		t.CapacityProvider = s.pickProvider(c, sv, d)
	} else {
		t.LaunchType = "EC2"
		ports := hostPorts(td)
		var why string
		inst, why = s.pickInstance(c, sv, td, cpu, mem, ports, inst)
		if inst == nil {
			if sv.Unplaced != why {
				sv.Unplaced = why
				s.serviceEvent(now, sv, fmt.Sprintf("(service %s) was unable to place a task because no container instance met all of its requirements. %s", sv.Name, why))
			}
			return nil
		}
		t.ContainerInstance = inst.ARN
		t.HostPorts = map[string]int32{}
		next := int32(32768)
		for _, cd := range td.Containers {
			for _, pm := range cd.Ports {
				hp := pm.HostPort
				if td.NetworkMode == "host" {
					hp = pm.ContainerPort
				}
				if td.NetworkMode == "bridge" && hp == 0 {
					hp = s.freePort(c, inst, &next)
				}
				if td.NetworkMode != "awsvpc" {
					t.HostPorts[cd.Name+":"+itoa(pm.ContainerPort)] = hp
				}
			}
		}
		if td.NetworkMode != "awsvpc" {
			t.PrivateIP = inst.PrivateIP
		}
	}
	sv.Unplaced = ""
	t.ID = s.id(32)
	t.ARN = s.arn("task/" + c.Name + "/" + t.ID)
	if t.PrivateIP == "" {
		// Each task gets its own address in 10.1.0.0/16 and up, so that a
		// target id names one task.
		s.st.IPSeq++
		n := s.st.IPSeq
		t.PrivateIP = fmt.Sprintf("10.%d.%d.%d", 1+(n/62500)%250, (n/250)%250, n%250+2)
	}
	for _, cd := range td.Containers {
		t.Containers = append(t.Containers, taskContainer{
			Name: cd.Name, Image: cd.Image, Essential: cd.Essential, LastStatus: "PENDING", HealthStatus: "UNKNOWN",
		})
	}
	c.Tasks[t.ID] = t
	s.setStatus(now, c, t, "PROVISIONING")
	if sv.PropagateTags == "SERVICE" {
		s.setTags(t.ARN, tagList(s.st.Tags[sv.ARN]))
	}
	return t
}

// hostPorts returns the fixed host ports a task of td binds.
func hostPorts(td *taskDef) []int32 {
	var out []int32
	for _, cd := range td.Containers {
		for _, pm := range cd.Ports {
			switch {
			case td.NetworkMode == "host":
				out = append(out, pm.ContainerPort)
			case td.NetworkMode == "bridge" && pm.HostPort != 0:
				out = append(out, pm.HostPort)
			}
		}
	}
	return out
}

func (s *Service) usedPorts(c *cluster, inst *containerInstance) map[int32]bool {
	used := map[int32]bool{}
	for _, t := range c.Tasks {
		if t.ContainerInstance == inst.ARN && t.LastStatus != "STOPPED" {
			for _, hp := range t.HostPorts {
				used[hp] = true
			}
		}
	}
	return used
}

func (s *Service) freePort(c *cluster, inst *containerInstance, next *int32) int32 {
	used := s.usedPorts(c, inst)
	for used[*next] {
		*next++
	}
	p := *next
	*next++
	return p
}

// pickInstance chooses a container instance with room for a task: the
// given one, or the ACTIVE instance running the fewest tasks of the
// service (then the most free CPU). It returns nil and the reason ECS would
// give when none fits.
func (s *Service) pickInstance(c *cluster, sv *service, td *taskDef, cpu, mem int32, ports []int32, only *containerInstance) (*containerInstance, string) {
	candidates := activeInstances(c)
	if only != nil {
		candidates = []*containerInstance{only}
	}
	if len(candidates) == 0 {
		return nil, "Reason: No Container Instances were found in your cluster."
	}
	var best *containerInstance
	bestCount, bestFree := 0, int32(0)
	why := ""
	for _, inst := range candidates {
		usedCPU, usedMem := s.usedResources(c, inst.ARN)
		id := lastPart(inst.ARN)
		switch {
		case inst.CPU-usedCPU < cpu:
			why = "The closest matching (container-instance " + id + ") has insufficient CPU units available."
			continue
		case inst.Memory-usedMem < mem:
			why = "The closest matching (container-instance " + id + ") has insufficient memory available."
			continue
		}
		used := s.usedPorts(c, inst)
		if slices.ContainsFunc(ports, func(p int32) bool { return used[p] }) {
			why = "The closest matching (container-instance " + id + ") is already using a port required by your task."
			continue
		}
		count := 0
		for _, t := range c.Tasks {
			if t.ContainerInstance == inst.ARN && t.Service == sv.Name && t.LastStatus != "STOPPED" {
				count++
			}
		}
		free := inst.CPU - usedCPU
		if best == nil || count < bestCount || (count == bestCount && free > bestFree) {
			best, bestCount, bestFree = inst, count, free
		}
	}
	if best == nil {
		return nil, why
	}
	return best, ""
}

// pickProvider chooses the Fargate capacity provider of a new task from the
// deployment's strategy: the base first, then by weight.
func (s *Service) pickProvider(c *cluster, sv *service, d *deployment) string {
	if len(d.Strategy) == 0 {
		return ""
	}
	counts := map[string]int32{}
	for _, t := range liveTasks(c, sv) {
		if t.Deployment == d.ID {
			counts[t.CapacityProvider]++
		}
	}
	for _, p := range d.Strategy {
		if p.Base > 0 && counts[p.CapacityProvider] < p.Base {
			return p.CapacityProvider
		}
	}
	best, bestRatio := "", math.Inf(1)
	for _, p := range d.Strategy {
		if p.Weight == 0 {
			continue
		}
		r := float64(counts[p.CapacityProvider]) / float64(p.Weight)
		if r < bestRatio {
			best, bestRatio = p.CapacityProvider, r
		}
	}
	return best
}

// countTasks returns the pending and running tasks of a deployment.
func (s *Service) countTasks(c *cluster, svName, deploymentID string) (pending, running int32) {
	for _, t := range c.Tasks {
		if t.Service != svName || t.Deployment != deploymentID {
			continue
		}
		switch t.LastStatus {
		case "RUNNING":
			running++
		case "PROVISIONING", "PENDING":
			pending++
		}
	}
	return pending, running
}
