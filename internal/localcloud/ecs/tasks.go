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
	t := c.Tasks[lastPart(in.Task)]
	if t == nil {
		return nil, invalidParam("The referenced task was not found.")
	}
	s.beginStop(now, c, t, "UserInitiated", cmp.Or(in.Reason, "Task stopped by user"), false)
	return map[string]any{"task": s.taskOut(c, t, false)}, nil
}
