package ecs

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

type listTasksIn struct {
	Cluster           string `json:"cluster"`
	ContainerInstance string `json:"containerInstance"`
	Family            string `json:"family"`
	ServiceName       string `json:"serviceName"`
	DesiredStatus     string `json:"desiredStatus"`
	StartedBy         string `json:"startedBy"`
	LaunchType        string `json:"launchType"`
	MaxResults        *int32 `json:"maxResults"`
	NextToken         string `json:"nextToken"`
}

func (s *Service) listTasks(now time.Time, in *listTasksIn) (any, error) {
	c, err := s.clusterLocked(in.Cluster)
	if err != nil {
		return nil, err
	}
	desired := cmp.Or(in.DesiredStatus, "RUNNING")
	if desired != "RUNNING" && desired != "PENDING" && desired != "STOPPED" {
		return nil, invalidParam("desiredStatus must be RUNNING, PENDING or STOPPED.")
	}
	if in.ServiceName != "" {
		if sv := c.Services[lastPart(in.ServiceName)]; sv == nil {
			return nil, serviceNotFound()
		}
	}
	var inst *containerInstance
	if in.ContainerInstance != "" {
		if inst = findInstance(c, in.ContainerInstance); inst == nil {
			return nil, invalidParam("The referenced container instance was not found.")
		}
	}
	var arns []string
	for _, t := range sortedTasks(c) {
		if t.DesiredStatus != desired ||
			(in.ServiceName != "" && t.Service != lastPart(in.ServiceName)) ||
			(inst != nil && t.ContainerInstance != inst.ARN) ||
			(in.StartedBy != "" && t.StartedBy != in.StartedBy) ||
			(in.LaunchType != "" && t.LaunchType != in.LaunchType) {
			continue
		}
		if in.Family != "" {
			family, _, _ := strings.Cut(lastPart(t.TaskDefinition), ":")
			if family != in.Family {
				continue
			}
		}
		arns = append(arns, t.ARN)
	}
	page, next, err := paginate(arns, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return struct {
		TaskArns  []string `json:"taskArns"`
		NextToken *string  `json:"nextToken,omitempty"`
	}{append([]string{}, page...), next}, nil
}

type describeTasksIn struct {
	Cluster string   `json:"cluster"`
	Tasks   []string `json:"tasks"`
	Include []string `json:"include"`
}

func (s *Service) describeTasks(now time.Time, in *describeTasksIn) (any, error) {
	c, err := s.clusterLocked(in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.Tasks) == 0 {
		return nil, invalidParam("Tasks cannot be empty.")
	}
	if len(in.Tasks) > 100 {
		return nil, invalidParam("tasks can have at most 100 items.")
	}
	out := struct {
		Tasks    []taskOut `json:"tasks"`
		Failures []failure `json:"failures"`
	}{Tasks: []taskOut{}, Failures: []failure{}}
	for _, ref := range in.Tasks {
		t := c.Tasks[lastPart(ref)]
		if t == nil {
			out.Failures = append(out.Failures, failure{ARN: ref, Reason: "MISSING"})
			continue
		}
		out.Tasks = append(out.Tasks, s.taskOut(c, t, slices.Contains(in.Include, "TAGS")))
	}
	return out, nil
}

type stopTaskIn struct {
	Cluster string `json:"cluster"`
	Task    string `json:"task"`
	Reason  string `json:"reason"`
}

func (s *Service) stopTask(now time.Time, in *stopTaskIn) (any, error) {
	c, err := s.clusterLocked(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.Task == "" {
		return nil, invalidParam("task can not be blank.")
	}
	// The API allows a reason of up to 255 characters.
	if len(in.Reason) > 255 {
		return nil, invalidParam("reason must be at most 255 characters.")
	}
	t := c.Tasks[lastPart(in.Task)]
	if t == nil {
		return nil, invalidParam("The referenced task was not found.")
	}
	s.beginStop(now, c, t, "UserInitiated", cmp.Or(in.Reason, "Task stopped by user"), false)
	return map[string]any{"task": s.taskOut(c, t, false)}, nil
}

type runTaskIn struct {
	Cluster                  string                         `json:"cluster"`
	TaskDefinition           string                         `json:"taskDefinition"`
	Count                    *int32                         `json:"count"`
	LaunchType               string                         `json:"launchType"`
	CapacityProviderStrategy []capacityProviderStrategyItem `json:"capacityProviderStrategy"`
	NetworkConfiguration     *networkConfiguration          `json:"networkConfiguration"`
	PlatformVersion          string                         `json:"platformVersion"`
	StartedBy                string                         `json:"startedBy"`
	Group                    string                         `json:"group"`
	Tags                     []tag                          `json:"tags"`
}

// runTask starts standalone tasks: they run until stopped and are not
// replaced when they stop.
func (s *Service) runTask(now time.Time, in *runTaskIn) (any, error) {
	c, err := s.clusterLocked(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.TaskDefinition == "" {
		return nil, invalidParam("taskDefinition can not be blank.")
	}
	td, err := s.taskDefLocked(in.TaskDefinition)
	if err != nil {
		return nil, invalidParam("TaskDefinition not found.")
	}
	if td.Status != "ACTIVE" {
		return nil, invalidParam("TaskDefinition is inactive")
	}
	count := int32(1)
	if in.Count != nil {
		count = *in.Count
	}
	if count < 1 || count > 10 {
		return nil, invalidParam("count must be between 1 and 10.")
	}
	if len(in.StartedBy) > 128 {
		return nil, invalidParam("startedBy must be at most 128 characters.")
	}
	if err := validTags(in.Tags); err != nil {
		return nil, err
	}
	// A throwaway service and deployment describe how to run the tasks.
	sv := &service{Scheduling: "REPLICA", Network: in.NetworkConfiguration, PlatformVersion: in.PlatformVersion}
	if err := s.setLaunch(c, sv, in.LaunchType, in.CapacityProviderStrategy, true); err != nil {
		return nil, err
	}
	if err := s.validateRun(c, sv, td); err != nil {
		return nil, err
	}
	if !sv.fargate() && len(activeInstances(c)) == 0 {
		return nil, invalidParam("No Container Instances were found in your cluster.")
	}
	d := &deployment{ID: in.StartedBy, TaskDefinition: td.ARN, LaunchType: sv.LaunchType, Strategy: sv.Strategy, Network: sv.Network}
	out := struct {
		Tasks    []taskOut `json:"tasks"`
		Failures []failure `json:"failures"`
	}{Tasks: []taskOut{}, Failures: []failure{}}
	for range count {
		t := s.placeTask(now, c, sv, d, nil)
		if t == nil {
			reason := "RESOURCE:CPU"
			switch {
			case strings.Contains(sv.Unplaced, "memory"):
				reason = "RESOURCE:MEMORY"
			case strings.Contains(sv.Unplaced, "port"):
				reason = "RESOURCE:PORTS"
			}
			out.Failures = append(out.Failures, failure{Reason: reason})
			continue
		}
		t.Group = cmp.Or(in.Group, "family:"+td.Family)
		t.StartedBy = in.StartedBy
		s.setTags(t.ARN, in.Tags)
		out.Tasks = append(out.Tasks, s.taskOut(c, t, false))
	}
	return out, nil
}
