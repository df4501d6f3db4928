package ecs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

type createClusterIn struct {
	ClusterName                     string                         `json:"clusterName"`
	Tags                            []tag                          `json:"tags"`
	Settings                        json.RawMessage                `json:"settings"`
	CapacityProviders               []string                       `json:"capacityProviders"`
	DefaultCapacityProviderStrategy []capacityProviderStrategyItem `json:"defaultCapacityProviderStrategy"`
}

func (s *Service) createCluster(now time.Time, in *createClusterIn) (any, error) {
	name := in.ClusterName
	if name == "" {
		name = "default"
	}
	if !validName(name) {
		return nil, invalidParam("Cluster name must be 1-255 letters, numbers, hyphens and underscores.")
	}
	for _, p := range in.CapacityProviders {
		if p != "FARGATE" && p != "FARGATE_SPOT" {
			return nil, invalidParam("The specified capacity provider %s is not in an ACTIVE state. Specify a valid capacity provider and try again.", p)
		}
	}
	if err := validTags(in.Tags); err != nil {
		return nil, err
	}
	c := s.st.Clusters[name]
	if c == nil || c.Status != "ACTIVE" {
		c = &cluster{Name: name, ARN: s.arn("cluster/" + name), Status: "ACTIVE",
			Services: map[string]*service{}, Tasks: map[string]*task{}}
		s.st.Clusters[name] = c
	}
	// CreateCluster of an existing cluster is idempotent and updates it.
	c.Settings = in.Settings
	if in.CapacityProviders != nil {
		c.Providers = in.CapacityProviders
	}
	if in.DefaultCapacityProviderStrategy != nil {
		c.Strategy = in.DefaultCapacityProviderStrategy
	}
	s.setTags(c.ARN, in.Tags)
	return map[string]any{"cluster": s.clusterOut(c, false)}, nil
}

type describeClustersIn struct {
	Clusters []string `json:"clusters"`
	Include  []string `json:"include"`
}

func (s *Service) describeClusters(now time.Time, in *describeClustersIn) (any, error) {
	refs := in.Clusters
	if len(refs) == 0 {
		refs = []string{"default"}
	}
	out := struct {
		Clusters []clusterOut `json:"clusters"`
		Failures []failure    `json:"failures"`
	}{Clusters: []clusterOut{}, Failures: []failure{}}
	for _, ref := range refs {
		name := lastPart(ref)
		c := s.st.Clusters[name]
		if c == nil {
			out.Failures = append(out.Failures, failure{ARN: s.arn("cluster/" + name), Reason: "MISSING"})
			continue
		}
		out.Clusters = append(out.Clusters, s.clusterOut(c, slices.Contains(in.Include, "TAGS")))
	}
	return out, nil
}

type listIn struct {
	MaxResults *int32 `json:"maxResults"`
	NextToken  string `json:"nextToken"`
}

func (s *Service) listClusters(now time.Time, in *listIn) (any, error) {
	var arns []string
	for _, c := range s.st.Clusters {
		if c.Status == "ACTIVE" {
			arns = append(arns, c.ARN)
		}
	}
	slices.Sort(arns)
	page, next, err := paginate(arns, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return struct {
		ClusterArns []string `json:"clusterArns"`
		NextToken   *string  `json:"nextToken,omitempty"`
	}{append([]string{}, page...), next}, nil
}

type clusterIn struct {
	Cluster string `json:"cluster"`
}

func (s *Service) deleteCluster(now time.Time, in *clusterIn) (any, error) {
	if in.Cluster == "" {
		return nil, invalidParam("cluster can not be blank.")
	}
	c, err := s.clusterLocked(in.Cluster)
	if err != nil {
		return nil, err
	}
	for _, sv := range c.Services {
		if sv.Status != "INACTIVE" {
			return nil, protocol.Errorf(http.StatusBadRequest, "ClusterContainsServicesException",
				"The Cluster cannot be deleted while Services are active.")
		}
	}
	for _, i := range c.Instances {
		if i.Status == "ACTIVE" || i.Status == "DRAINING" {
			return nil, protocol.Errorf(http.StatusBadRequest, "ClusterContainsContainerInstancesException",
				"The Cluster cannot be deleted while Container Instances are active or draining.")
		}
	}
	for _, t := range c.Tasks {
		if t.LastStatus != "STOPPED" {
			return nil, protocol.Errorf(http.StatusBadRequest, "ClusterContainsTasksException",
				"The Cluster cannot be deleted while Tasks are active.")
		}
	}
	c.Status = "INACTIVE"
	return map[string]any{"cluster": s.clusterOut(c, false)}, nil
}

// AddContainerInstance registers a simulated EC2 container instance with cpu
// CPU units and memory MiB in the ACTIVE cluster named clusterName and
// returns its ARN. DAEMON services start a task on it at once.
func (s *Service) AddContainerInstance(clusterName string, cpu, memory int32) (string, error) {
	if cpu <= 0 || memory <= 0 {
		return "", fmt.Errorf("add container instance to %s: cpu and memory must be positive, got %d and %d", clusterName, cpu, memory)
	}
	out, err := s.locked(func(now time.Time) (any, error) {
		c, err := s.clusterLocked(clusterName)
		if err != nil {
			return "", err
		}
		if len(c.Instances) >= maxInstancesPerCluster {
			return "", invalidParam("The cluster has reached its quota of %d container instances.", maxInstancesPerCluster)
		}
		n := len(c.Instances) + 1
		i := &containerInstance{
			ARN:    s.arn("container-instance/" + c.Name + "/" + s.id(32)),
			EC2ID:  "i-" + s.id(17),
			Status: "ACTIVE", CPU: cpu, Memory: memory,
			PrivateIP:    fmt.Sprintf("10.0.%d.%d", 100+n/250, 10+n%250),
			RegisteredAt: now,
		}
		c.Instances = append(c.Instances, i)
		return i.ARN, nil
	})
	if err != nil {
		return "", fmt.Errorf("add container instance to %s: %w", clusterName, err)
	}
	return out.(string), nil
}

type listContainerInstancesIn struct {
	Cluster    string `json:"cluster"`
	Status     string `json:"status"`
	Filter     string `json:"filter"`
	MaxResults *int32 `json:"maxResults"`
	NextToken  string `json:"nextToken"`
}

func (s *Service) listContainerInstances(now time.Time, in *listContainerInstancesIn) (any, error) {
	c, err := s.clusterLocked(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.Filter != "" {
		return nil, invalidParam("Cluster query language filters are not supported by the local endpoint.")
	}
	var arns []string
	for _, i := range c.Instances {
		// Without a status filter every instance but the INACTIVE ones.
		if (in.Status == "" && i.Status != "INACTIVE") || i.Status == in.Status {
			arns = append(arns, i.ARN)
		}
	}
	page, next, err := paginate(arns, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return struct {
		ContainerInstanceArns []string `json:"containerInstanceArns"`
		NextToken             *string  `json:"nextToken,omitempty"`
	}{append([]string{}, page...), next}, nil
}

type describeContainerInstancesIn struct {
	Cluster            string   `json:"cluster"`
	ContainerInstances []string `json:"containerInstances"`
}

func (s *Service) describeContainerInstances(now time.Time, in *describeContainerInstancesIn) (any, error) {
	c, err := s.clusterLocked(in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.ContainerInstances) == 0 {
		return nil, invalidParam("containerInstances can not be empty.")
	}
	out := struct {
		ContainerInstances []containerInstanceOut `json:"containerInstances"`
		Failures           []failure              `json:"failures"`
	}{ContainerInstances: []containerInstanceOut{}, Failures: []failure{}}
	for _, ref := range in.ContainerInstances {
		i := findInstance(c, ref)
		if i == nil {
			out.Failures = append(out.Failures, failure{ARN: ref, Reason: "MISSING"})
			continue
		}
		out.ContainerInstances = append(out.ContainerInstances, s.instanceOut(c, i))
	}
	return out, nil
}

type updateInstancesStateIn struct {
	Cluster            string   `json:"cluster"`
	ContainerInstances []string `json:"containerInstances"`
	Status             string   `json:"status"`
}

// updateContainerInstancesState drains instances (their service tasks are
// replaced elsewhere within the deployment configuration's bounds) or makes
// them ACTIVE again.
func (s *Service) updateContainerInstancesState(now time.Time, in *updateInstancesStateIn) (any, error) {
	c, err := s.clusterLocked(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.Status != "ACTIVE" && in.Status != "DRAINING" {
		return nil, invalidParam("status must be ACTIVE or DRAINING.")
	}
	if len(in.ContainerInstances) == 0 || len(in.ContainerInstances) > 10 {
		return nil, invalidParam("containerInstances must have 1 to 10 items.")
	}
	out := struct {
		ContainerInstances []containerInstanceOut `json:"containerInstances"`
		Failures           []failure              `json:"failures"`
	}{ContainerInstances: []containerInstanceOut{}, Failures: []failure{}}
	for _, ref := range in.ContainerInstances {
		i := findInstance(c, ref)
		if i == nil || i.Status == "INACTIVE" {
			out.Failures = append(out.Failures, failure{ARN: ref, Reason: "MISSING"})
			continue
		}
		i.Status = in.Status
		out.ContainerInstances = append(out.ContainerInstances, s.instanceOut(c, i))
	}
	return out, nil
}

type deregisterInstanceIn struct {
	Cluster           string `json:"cluster"`
	ContainerInstance string `json:"containerInstance"`
	Force             bool   `json:"force"`
}

// deregisterContainerInstance removes an instance from the cluster; its
// tasks stop (only with force when some are still running).
func (s *Service) deregisterContainerInstance(now time.Time, in *deregisterInstanceIn) (any, error) {
	c, err := s.clusterLocked(in.Cluster)
	if err != nil {
		return nil, err
	}
	i := findInstance(c, in.ContainerInstance)
	if i == nil || i.Status == "INACTIVE" {
		return nil, invalidParam("The referenced container instance was not found.")
	}
	var running []*task
	for _, t := range sortedTasks(c) {
		if t.ContainerInstance == i.ARN && t.LastStatus != "STOPPED" {
			running = append(running, t)
		}
	}
	if len(running) > 0 && !in.Force {
		return nil, invalidParam("Found running tasks on the instance. Use force to deregister the container instance anyway.")
	}
	for _, t := range running {
		s.beginStop(now, c, t, "UserInitiated", "Container instance deregistration forced by user", false)
	}
	i.Status = "INACTIVE"
	return map[string]any{"containerInstance": s.instanceOut(c, i)}, nil
}

func findInstance(c *cluster, ref string) *containerInstance {
	for _, i := range c.Instances {
		if i.ARN == ref || lastPart(i.ARN) == ref || i.EC2ID == ref {
			return i
		}
	}
	return nil
}

// usedResources returns the CPU and memory reserved on the instance arn by
// tasks that are not STOPPED.
func (s *Service) usedResources(c *cluster, arn string) (cpu, mem int32) {
	for _, t := range c.Tasks {
		if t.ContainerInstance == arn && t.LastStatus != "STOPPED" {
			cpu += t.CPU
			mem += t.Memory
		}
	}
	return cpu, mem
}

func validName(name string) bool {
	if name == "" || len(name) > 255 {
		return false
	}
	for _, r := range name {
		if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Tags.

func validTags(tags []tag) error {
	if len(tags) > 50 {
		return invalidParam("Too many tags: at most 50 are allowed.")
	}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return invalidParam("Tag keys must be 1-128 characters and values at most 256.")
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return invalidParam("Tag keys cannot start with the reserved prefix aws:.")
		}
	}
	return nil
}

func (s *Service) setTags(arn string, tags []tag) {
	if len(tags) == 0 {
		return
	}
	m := s.st.Tags[arn]
	if m == nil {
		m = map[string]string{}
		s.st.Tags[arn] = m
	}
	for _, t := range tags {
		m[t.Key] = t.Value
	}
}

// resourceExists reports whether arn names a cluster, service, task,
// container instance or task definition revision that ECS knows.
func (s *Service) resourceExists(arn string) bool {
	for _, c := range s.st.Clusters {
		if c.ARN == arn && c.Status == "ACTIVE" {
			return true
		}
		for _, sv := range c.Services {
			if sv.ARN == arn && sv.Status != "INACTIVE" {
				return true
			}
		}
		for _, t := range c.Tasks {
			if t.ARN == arn {
				return true
			}
		}
		for _, i := range c.Instances {
			if i.ARN == arn {
				return true
			}
		}
	}
	_, err := s.taskDefLocked(arn)
	return err == nil && strings.HasPrefix(arn, "arn:")
}

type tagResourceIn struct {
	ResourceARN string   `json:"resourceArn"`
	Tags        []tag    `json:"tags"`
	TagKeys     []string `json:"tagKeys"`
}

func (s *Service) tagResource(now time.Time, in *tagResourceIn) (any, error) {
	if !s.resourceExists(in.ResourceARN) {
		return nil, invalidParam("The specified resource %q is not valid.", in.ResourceARN)
	}
	if len(in.Tags) == 0 {
		return nil, invalidParam("tags can not be empty.")
	}
	if err := validTags(in.Tags); err != nil {
		return nil, err
	}
	s.setTags(in.ResourceARN, in.Tags)
	return struct{}{}, nil
}

func (s *Service) untagResource(now time.Time, in *tagResourceIn) (any, error) {
	if !s.resourceExists(in.ResourceARN) {
		return nil, invalidParam("The specified resource %q is not valid.", in.ResourceARN)
	}
	for _, k := range in.TagKeys {
		delete(s.st.Tags[in.ResourceARN], k)
	}
	return struct{}{}, nil
}

func (s *Service) listTagsForResource(now time.Time, in *tagResourceIn) (any, error) {
	if !s.resourceExists(in.ResourceARN) {
		return nil, invalidParam("The specified resource %q is not valid.", in.ResourceARN)
	}
	return map[string]any{"tags": tagList(s.st.Tags[in.ResourceARN])}, nil
}
