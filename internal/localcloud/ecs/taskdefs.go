package ecs

import (
	"cmp"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

type registerTaskDefinitionIn struct {
	Family                  string          `json:"family"`
	NetworkMode             string          `json:"networkMode"`
	RequiresCompatibilities []string        `json:"requiresCompatibilities"`
	CPU                     string          `json:"cpu"`
	Memory                  string          `json:"memory"`
	ContainerDefinitions    []containerIn   `json:"containerDefinitions"`
	Tags                    []tag           `json:"tags"`
	ExecutionRoleARN        string          `json:"executionRoleArn"`
	Volumes                 json.RawMessage `json:"volumes"`
}

type containerIn struct {
	Name              string `json:"name"`
	Image             string `json:"image"`
	Essential         *bool  `json:"essential"`
	CPU               int32  `json:"cpu"`
	Memory            *int32 `json:"memory"`
	MemoryReservation *int32 `json:"memoryReservation"`
	PortMappings      []struct {
		ContainerPort *int32 `json:"containerPort"`
		HostPort      *int32 `json:"hostPort"`
	} `json:"portMappings"`
	HealthCheck *struct {
		Command     []string `json:"command"`
		StartPeriod int32    `json:"startPeriod"`
	} `json:"healthCheck"`
	LogConfiguration *struct {
		LogDriver string `json:"logDriver"`
	} `json:"logConfiguration"`
}

// fargateMemory lists, for each Fargate task cpu, the valid memory range
// and its step (MiB).
var fargateMemory = map[int32]struct{ lo, hi, step int32 }{
	256:   {512, 2048, 512}, // 512, 1024, 2048: checked specially below
	512:   {1024, 4096, 1024},
	1024:  {2048, 8192, 1024},
	2048:  {4096, 16384, 1024},
	4096:  {8192, 30720, 1024},
	8192:  {16384, 61440, 4096},
	16384: {32768, 122880, 8192},
}

func validFargate(cpu, mem int32) bool {
	if cpu == 256 {
		return mem == 512 || mem == 1024 || mem == 2048
	}
	r, ok := fargateMemory[cpu]
	return ok && mem >= r.lo && mem <= r.hi && (mem-r.lo)%r.step == 0
}

// parseUnits reads a task-level cpu ("512", "0.5 vCPU") or memory ("1024",
// "1 GB") value as CPU units or MiB.
func parseUnits(v string, unit string, scale float64) (int32, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, true
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= math.MaxInt32 {
		return int32(n), true
	}
	num, u, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(strings.TrimSpace(u), unit) {
		return 0, false
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 || f*scale > math.MaxInt32 {
		return 0, false
	}
	return int32(f * scale), true
}

func (s *Service) registerTaskDefinition(body []byte) (any, error) {
	var in registerTaskDefinitionIn
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := protocol.DecodeJSON(body, &raw); err != nil {
		return nil, err
	}
	delete(raw, "tags")
	td, err := parseTaskDef(&in, raw)
	if err != nil {
		return nil, err
	}
	if err := validTags(in.Tags); err != nil {
		return nil, err
	}
	return s.locked(func(now time.Time) (any, error) {
		revs := s.st.Families[td.Family]
		td.Revision = int32(len(revs) + 1)
		td.ARN = s.arn("task-definition/" + td.Family + ":" + itoa(td.Revision))
		td.Status = "ACTIVE"
		td.RegisteredAt = now
		s.st.Families[td.Family] = append(revs, td)
		s.setTags(td.ARN, in.Tags)
		return map[string]any{"taskDefinition": s.taskDefOut(td), "tags": tagList(s.st.Tags[td.ARN])}, nil
	})
}

func parseTaskDef(in *registerTaskDefinitionIn, raw map[string]json.RawMessage) (*taskDef, error) {
	if in.Family == "" {
		return nil, clientErr("Family name can not be blank.")
	}
	if !validName(in.Family) {
		return nil, clientErr("Family contains invalid characters: only letters, numbers, hyphens and underscores are allowed, up to 255.")
	}
	if len(in.ContainerDefinitions) == 0 {
		return nil, clientErr("Container list cannot be empty.")
	}
	td := &taskDef{Raw: raw, Family: in.Family, NetworkMode: in.NetworkMode, Compatibility: in.RequiresCompatibilities}
	if td.NetworkMode == "" {
		td.NetworkMode = "bridge"
	}
	switch td.NetworkMode {
	case "bridge", "host", "awsvpc", "none":
	default:
		return nil, clientErr("Invalid networkMode %q: must be one of bridge, host, awsvpc, none.", in.NetworkMode)
	}
	var ok bool
	if td.CPU, ok = parseUnits(in.CPU, "vcpu", 1024); !ok {
		return nil, clientErr("Invalid 'cpu' setting for task: %q.", in.CPU)
	}
	if td.Memory, ok = parseUnits(in.Memory, "gb", 1024); !ok {
		return nil, clientErr("Invalid 'memory' setting for task: %q.", in.Memory)
	}
	fargate := false
	for _, c := range in.RequiresCompatibilities {
		switch c {
		case "FARGATE":
			fargate = true
		case "EC2", "EXTERNAL", "MANAGED_INSTANCES":
		default:
			return nil, clientErr("Invalid requiresCompatibilities value %q.", c)
		}
	}
	if fargate {
		if td.NetworkMode != "awsvpc" {
			return nil, clientErr("Fargate only supports network mode ‘awsvpc’.")
		}
		if td.CPU == 0 {
			return nil, clientErr("Fargate requires that 'cpu' be defined at the task level.")
		}
		if td.Memory == 0 {
			return nil, clientErr("Fargate requires that 'memory' be defined at the task level.")
		}
		if !validFargate(td.CPU, td.Memory) {
			return nil, clientErr("No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid values.", td.CPU, td.Memory)
		}
	}
	essential := false
	names := map[string]bool{}
	for _, c := range in.ContainerDefinitions {
		if c.Name == "" {
			return nil, clientErr("Container.name should not be null or empty.")
		}
		if names[c.Name] {
			return nil, clientErr("Duplicate container name %q: container names must be unique within a task definition.", c.Name)
		}
		names[c.Name] = true
		if c.Image == "" {
			return nil, clientErr("Container.image should not be null or empty.")
		}
		cd := containerDef{Name: c.Name, Image: c.Image, Essential: c.Essential == nil || *c.Essential, CPU: c.CPU}
		// Placement reserves the soft limit when there is one, as ECS does.
		if c.MemoryReservation != nil {
			cd.Memory = *c.MemoryReservation
		} else if c.Memory != nil {
			cd.Memory = *c.Memory
		}
		if !fargate && td.Memory == 0 && cd.Memory == 0 {
			return nil, clientErr("Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", c.Name)
		}
		if c.Memory != nil && c.MemoryReservation != nil && *c.MemoryReservation > *c.Memory {
			return nil, clientErr("Invalid setting for container '%s'. 'memoryReservation' must be less than or equal to 'memory'.", c.Name)
		}
		if fargate && c.LogConfiguration != nil && c.LogConfiguration.LogDriver == "awslogs" && in.ExecutionRoleARN == "" {
			return nil, clientErr("Fargate requires task definition to have execution role ARN to support log driver awslogs.")
		}
		for _, p := range c.PortMappings {
			if p.ContainerPort == nil || *p.ContainerPort < 1 || *p.ContainerPort > 65535 {
				return nil, clientErr("Invalid port mapping for container '%s': containerPort must be 1-65535.", c.Name)
			}
			pm := portMapping{ContainerPort: *p.ContainerPort}
			if p.HostPort != nil {
				pm.HostPort = *p.HostPort
			}
			if (td.NetworkMode == "awsvpc" || td.NetworkMode == "host") && pm.HostPort != 0 && pm.HostPort != pm.ContainerPort {
				return nil, clientErr("When networkMode=%s, the host ports and container ports in port mappings must match.", td.NetworkMode)
			}
			cd.Ports = append(cd.Ports, pm)
		}
		if c.HealthCheck != nil && len(c.HealthCheck.Command) > 0 {
			cd.HealthCheck, cd.HealthStartPeriod = true, c.HealthCheck.StartPeriod
		}
		essential = essential || cd.Essential
		td.Containers = append(td.Containers, cd)
	}
	if !essential {
		return nil, clientErr("Task definition must have at least one essential container.")
	}
	return td, nil
}

// taskDefOut is the TaskDefinition shape: the fields as registered plus
// what ECS adds.
func (s *Service) taskDefOut(td *taskDef) map[string]any {
	out := make(map[string]any, len(td.Raw)+8)
	for k, v := range td.Raw {
		out[k] = v
	}
	out["family"] = td.Family
	out["taskDefinitionArn"] = td.ARN
	out["revision"] = td.Revision
	out["status"] = td.Status
	out["networkMode"] = td.NetworkMode
	compat := []string{"EC2"}
	if td.NetworkMode == "awsvpc" && td.CPU > 0 && td.Memory > 0 && validFargate(td.CPU, td.Memory) {
		compat = append(compat, "FARGATE")
	}
	out["compatibilities"] = compat
	out["registeredAt"] = protocol.EpochSeconds(td.RegisteredAt)
	out["registeredBy"] = "arn:aws:iam::" + protocol.Account + ":root"
	if !td.DeregisteredAt.IsZero() {
		out["deregisteredAt"] = protocol.EpochSeconds(td.DeregisteredAt)
	}
	return out
}

// taskDefLocked resolves a task definition reference: "family" (the latest
// ACTIVE revision), "family:revision" or a full ARN; s.mu must be held.
func (s *Service) taskDefLocked(ref string) (*taskDef, error) {
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		_, name, _ = strings.Cut(ref, ":task-definition/")
	}
	family, rev, hasRev := strings.Cut(name, ":")
	revs := s.st.Families[family]
	if !hasRev {
		for i := len(revs) - 1; i >= 0; i-- {
			if revs[i].Status == "ACTIVE" {
				return revs[i], nil
			}
		}
		return nil, clientErr("Unable to describe task definition.")
	}
	n, err := strconv.Atoi(rev)
	if err != nil || n < 1 || n > len(revs) {
		return nil, clientErr("Unable to describe task definition.")
	}
	return revs[n-1], nil
}

type describeTaskDefinitionIn struct {
	TaskDefinition string   `json:"taskDefinition"`
	Include        []string `json:"include"`
}

func (s *Service) describeTaskDefinition(now time.Time, in *describeTaskDefinitionIn) (any, error) {
	if in.TaskDefinition == "" {
		return nil, clientErr("taskDefinition can not be blank.")
	}
	td, err := s.taskDefLocked(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"taskDefinition": s.taskDefOut(td)}
	if slices.Contains(in.Include, "TAGS") {
		out["tags"] = tagList(s.st.Tags[td.ARN])
	}
	return out, nil
}

type listTaskDefinitionsIn struct {
	FamilyPrefix string `json:"familyPrefix"`
	Status       string `json:"status"`
	Sort         string `json:"sort"`
	MaxResults   *int32 `json:"maxResults"`
	NextToken    string `json:"nextToken"`
}

func (s *Service) listTaskDefinitions(now time.Time, in *listTaskDefinitionsIn) (any, error) {
	status := cmp.Or(in.Status, "ACTIVE")
	if status != "ACTIVE" && status != "INACTIVE" && status != "DELETE_IN_PROGRESS" {
		return nil, invalidParam("status must be ACTIVE, INACTIVE or DELETE_IN_PROGRESS.")
	}
	sortOrder := cmp.Or(in.Sort, "ASC")
	if sortOrder != "ASC" && sortOrder != "DESC" {
		return nil, invalidParam("sort must be ASC or DESC.")
	}
	var tds []*taskDef
	for family, revs := range s.st.Families {
		// familyPrefix is, despite its name, the full family name.
		if in.FamilyPrefix != "" && family != in.FamilyPrefix {
			continue
		}
		for _, td := range revs {
			if td.Status == status {
				tds = append(tds, td)
			}
		}
	}
	slices.SortFunc(tds, func(a, b *taskDef) int {
		return cmp.Or(cmp.Compare(a.Family, b.Family), cmp.Compare(a.Revision, b.Revision))
	})
	if sortOrder == "DESC" {
		slices.Reverse(tds)
	}
	arns := make([]string, 0, len(tds))
	for _, td := range tds {
		arns = append(arns, td.ARN)
	}
	page, next, err := paginate(arns, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return struct {
		TaskDefinitionArns []string `json:"taskDefinitionArns"`
		NextToken          *string  `json:"nextToken,omitempty"`
	}{append([]string{}, page...), next}, nil
}

func (s *Service) listTaskDefinitionFamilies(now time.Time, in *listTaskDefinitionsIn) (any, error) {
	status := cmp.Or(in.Status, "ACTIVE")
	if status != "ACTIVE" && status != "INACTIVE" && status != "ALL" {
		return nil, invalidParam("status must be ACTIVE, INACTIVE or ALL.")
	}
	var families []string
	for _, family := range slices.Sorted(maps.Keys(s.st.Families)) {
		if !strings.HasPrefix(family, in.FamilyPrefix) {
			continue
		}
		active := slices.ContainsFunc(s.st.Families[family], func(td *taskDef) bool { return td.Status == "ACTIVE" })
		if status == "ALL" || (status == "ACTIVE") == active {
			families = append(families, family)
		}
	}
	page, next, err := paginate(families, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return struct {
		Families  []string `json:"families"`
		NextToken *string  `json:"nextToken,omitempty"`
	}{append([]string{}, page...), next}, nil
}

func (s *Service) deregisterTaskDefinition(now time.Time, in *describeTaskDefinitionIn) (any, error) {
	if !strings.Contains(lastPart(in.TaskDefinition), ":") {
		return nil, clientErr("Task definition revision must be specified: family:revision or a full ARN.")
	}
	td, err := s.taskDefLocked(in.TaskDefinition)
	if err != nil {
		return nil, clientErr("The specified task definition does not exist.")
	}
	if td.Status == "ACTIVE" {
		td.Status = "INACTIVE"
		td.DeregisteredAt = now
	}
	return map[string]any{"taskDefinition": s.taskDefOut(td)}, nil
}
