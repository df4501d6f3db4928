package ecs

import (
	"cmp"
	"slices"
	"time"
)

type revisionSummaryOut struct {
	ARN                string   `json:"arn"`
	RequestedTaskCount int32    `json:"requestedTaskCount"`
	RunningTaskCount   int32    `json:"runningTaskCount"`
	PendingTaskCount   int32    `json:"pendingTaskCount"`
	ProductionWeight   *float64 `json:"requestedProductionTrafficWeight,omitempty"`
	TestWeight         *float64 `json:"requestedTestTrafficWeight,omitempty"`
}

type hookDetailOut struct {
	HookID        string   `json:"hookId"`
	TargetType    string   `json:"targetType"`
	TargetARN     string   `json:"targetArn,omitempty"`
	Status        string   `json:"status"`
	ExpiresAt     *float64 `json:"expiresAt,omitempty"`
	TimeoutAction string   `json:"timeoutAction"`
}

type sdConfigOut struct {
	CircuitBreaker        circuitBreakerOut    `json:"deploymentCircuitBreaker"`
	MaximumPercent        int32                `json:"maximumPercent"`
	MinimumHealthyPercent int32                `json:"minimumHealthyPercent"`
	Alarms                *deploymentAlarms    `json:"alarms,omitempty"`
	Strategy              string               `json:"strategy"`
	BakeTimeInMinutes     *int32               `json:"bakeTimeInMinutes,omitempty"`
	Canary                *canaryConfiguration `json:"canaryConfiguration,omitempty"`
	Linear                *linearConfiguration `json:"linearConfiguration,omitempty"`
	LifecycleHooks        []lifecycleHook      `json:"lifecycleHooks,omitempty"`
}

type serviceDeploymentOut struct {
	ServiceDeploymentARN string               `json:"serviceDeploymentArn"`
	ServiceARN           string               `json:"serviceArn"`
	ClusterARN           string               `json:"clusterArn"`
	CreatedAt            *float64             `json:"createdAt,omitempty"`
	StartedAt            *float64             `json:"startedAt,omitempty"`
	FinishedAt           *float64             `json:"finishedAt,omitempty"`
	StoppedAt            *float64             `json:"stoppedAt,omitempty"`
	UpdatedAt            *float64             `json:"updatedAt,omitempty"`
	Sources              []revisionSummaryOut `json:"sourceServiceRevisions"`
	Target               *revisionSummaryOut  `json:"targetServiceRevision,omitempty"`
	Status               string               `json:"status"`
	StatusReason         string               `json:"statusReason,omitempty"`
	LifecycleStage       string               `json:"lifecycleStage"`
	Config               sdConfigOut          `json:"deploymentConfiguration"`
	Rollback             *struct {
		Reason    string   `json:"reason"`
		StartedAt *float64 `json:"startedAt"`
		Revision  string   `json:"serviceRevisionArn"`
	} `json:"rollback,omitempty"`
	CircuitBreaker struct {
		Status       string `json:"status"`
		FailureCount int32  `json:"failureCount"`
		Threshold    int32  `json:"threshold"`
	} `json:"deploymentCircuitBreaker"`
	Alarms *struct {
		Status    string   `json:"status"`
		Names     []string `json:"alarmNames"`
		Triggered []string `json:"triggeredAlarmNames"`
	} `json:"alarms,omitempty"`
	LifecycleHookDetails []hookDetailOut `json:"lifecycleHookDetails,omitempty"`
}

// revisionSummary counts the tasks of revision arn in the service, with
// the traffic weights it was asked to take.
func (s *Service) revisionSummary(sv *service, arn string, prod, test *float64) revisionSummaryOut {
	out := revisionSummaryOut{ARN: arn, ProductionWeight: prod, TestWeight: test}
	if sv == nil {
		return out
	}
	c := s.st.Clusters[lastPart(sv.ARN[:len(sv.ARN)-len(sv.Name)-1])]
	for _, d := range sv.Deployments {
		if d.Revision != arn {
			continue
		}
		out.RequestedTaskCount += d.DesiredCount
		if c != nil {
			p, r := s.countTasks(c, sv.Name, d.ID)
			out.PendingTaskCount += p
			out.RunningTaskCount += r
		}
	}
	return out
}

func (s *Service) serviceDeploymentOut(sd *serviceDeployment) serviceDeploymentOut {
	_, sv := s.serviceOfDeployment(sd)
	out := serviceDeploymentOut{
		ServiceDeploymentARN: sd.ARN, ServiceARN: sd.ServiceARN, ClusterARN: sd.ClusterARN,
		CreatedAt: ts(sd.CreatedAt), StartedAt: ts(sd.StartedAt), FinishedAt: ts(sd.FinishedAt),
		StoppedAt: ts(sd.StoppedAt), UpdatedAt: ts(sd.UpdatedAt),
		Sources: []revisionSummaryOut{}, Status: sd.Status, StatusReason: sd.Reason, LifecycleStage: sd.Stage,
		Config: sdConfigOut{
			CircuitBreaker: circuitBreakerOut{Enable: sd.Breaker, Rollback: sd.Breaker},
			MaximumPercent: sd.MaxPercent, MinimumHealthyPercent: sd.MinHealthy,
			Alarms: sd.Config.Alarms, Strategy: sd.Config.Strategy, BakeTimeInMinutes: sd.Config.BakeMinutes,
			Canary: sd.Config.Canary, Linear: sd.Config.Linear, LifecycleHooks: sd.Config.Hooks,
		},
	}
	prodTo, testTo := sd.ProdWeight, sd.TestWeight
	prodFrom, testFrom := 100-prodTo, 100-testTo
	for _, arn := range sd.Sources {
		out.Sources = append(out.Sources, s.revisionSummary(sv, arn, &prodFrom, &testFrom))
	}
	target := s.revisionSummary(sv, sd.Target, &prodTo, &testTo)
	out.Target = &target
	if r := sd.Rollback; r != nil {
		out.Rollback = &struct {
			Reason    string   `json:"reason"`
			StartedAt *float64 `json:"startedAt"`
			Revision  string   `json:"serviceRevisionArn"`
		}{r.Reason, ts(r.StartedAt), r.Revision}
	}
	out.CircuitBreaker.Status = sd.BreakerStatus
	if sv != nil {
		if d := findDeployment(sv, sd.Deployment); d != nil {
			out.CircuitBreaker.FailureCount = d.FailedTasks
			out.CircuitBreaker.Threshold = failureThreshold(d.DesiredCount)
		}
	}
	if al := sd.Config.Alarms; al != nil {
		out.Alarms = &struct {
			Status    string   `json:"status"`
			Names     []string `json:"alarmNames"`
			Triggered []string `json:"triggeredAlarmNames"`
		}{sd.AlarmStatus, al.AlarmNames, append([]string{}, sd.Triggered...)}
	}
	for _, h := range sd.Hooks {
		out.LifecycleHookDetails = append(out.LifecycleHookDetails, hookDetailOut{
			HookID: h.ID, TargetType: h.Type, TargetARN: h.TargetARN, Status: h.Status,
			ExpiresAt: ts(h.ExpiresAt), TimeoutAction: h.TimeoutAction,
		})
	}
	return out
}

type describeSDIn struct {
	ARNs []string `json:"serviceDeploymentArns"`
}

func (s *Service) describeServiceDeployments(now time.Time, in *describeSDIn) (any, error) {
	switch {
	case len(in.ARNs) == 0:
		return nil, invalidParam("serviceDeploymentArns can not be empty.")
	case len(in.ARNs) > 20:
		return nil, invalidParam("serviceDeploymentArns can have at most 20 items.")
	}
	out := struct {
		ServiceDeployments []serviceDeploymentOut `json:"serviceDeployments"`
		Failures           []failure              `json:"failures"`
	}{[]serviceDeploymentOut{}, []failure{}}
	for _, arn := range in.ARNs {
		sd := s.st.ServiceDeployments[arn]
		if sd == nil {
			out.Failures = append(out.Failures, failure{ARN: arn, Reason: "MISSING"})
			continue
		}
		out.ServiceDeployments = append(out.ServiceDeployments, s.serviceDeploymentOut(sd))
	}
	return out, nil
}

type listSDIn struct {
	Cluster   string   `json:"cluster"`
	Service   string   `json:"service"`
	Status    []string `json:"status"`
	CreatedAt *struct {
		Before *float64 `json:"before"`
		After  *float64 `json:"after"`
	} `json:"createdAt"`
	MaxResults *int32 `json:"maxResults"`
	NextToken  string `json:"nextToken"`
}

type sdBriefOut struct {
	ServiceDeploymentARN string   `json:"serviceDeploymentArn"`
	ServiceARN           string   `json:"serviceArn"`
	ClusterARN           string   `json:"clusterArn"`
	StartedAt            *float64 `json:"startedAt,omitempty"`
	CreatedAt            *float64 `json:"createdAt,omitempty"`
	FinishedAt           *float64 `json:"finishedAt,omitempty"`
	TargetRevision       string   `json:"targetServiceRevisionArn"`
	Status               string   `json:"status"`
	StatusReason         string   `json:"statusReason,omitempty"`
}

var sdStatuses = []string{sdPending, sdSuccessful, sdStopped, "STOP_REQUESTED", sdInProgress, "ROLLBACK_REQUESTED",
	sdRollingBack, sdRolledBack, sdRollbackFailed}

func (s *Service) listServiceDeployments(now time.Time, in *listSDIn) (any, error) {
	c, err := s.clusterLocked(in.Cluster)
	if err != nil {
		return nil, err
	}
	sv, err := s.serviceLocked(c, in.Service)
	if err != nil {
		return nil, err
	}
	for _, st := range in.Status {
		if !slices.Contains(sdStatuses, st) {
			return nil, invalidParam("status %s is not a service deployment status.", st)
		}
	}
	var sds []*serviceDeployment
	for _, sd := range s.st.ServiceDeployments {
		if sd.ServiceARN != sv.ARN || (len(in.Status) > 0 && !slices.Contains(in.Status, sd.Status)) {
			continue
		}
		if in.CreatedAt != nil {
			at := float64(sd.CreatedAt.UnixMilli()) / 1000
			if (in.CreatedAt.Before != nil && at >= *in.CreatedAt.Before) || (in.CreatedAt.After != nil && at <= *in.CreatedAt.After) {
				continue
			}
		}
		sds = append(sds, sd)
	}
	// Newest first.
	slices.SortFunc(sds, func(a, b *serviceDeployment) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ARN, a.ARN))
	})
	max := in.MaxResults
	if max == nil {
		twenty := int32(20)
		max = &twenty
	}
	page, next, err := paginate(sds, in.NextToken, max)
	if err != nil {
		return nil, err
	}
	out := struct {
		ServiceDeployments []sdBriefOut `json:"serviceDeployments"`
		NextToken          *string      `json:"nextToken,omitempty"`
	}{[]sdBriefOut{}, next}
	for _, sd := range page {
		out.ServiceDeployments = append(out.ServiceDeployments, sdBriefOut{
			ServiceDeploymentARN: sd.ARN, ServiceARN: sd.ServiceARN, ClusterARN: sd.ClusterARN,
			StartedAt: ts(sd.StartedAt), CreatedAt: ts(sd.CreatedAt), FinishedAt: ts(sd.FinishedAt),
			TargetRevision: sd.Target, Status: sd.Status, StatusReason: sd.Reason,
		})
	}
	return out, nil
}

type describeRevisionsIn struct {
	ARNs []string `json:"serviceRevisionArns"`
}

type revisionOut struct {
	ServiceRevisionARN       string                         `json:"serviceRevisionArn"`
	ServiceARN               string                         `json:"serviceArn"`
	ClusterARN               string                         `json:"clusterArn"`
	TaskDefinition           string                         `json:"taskDefinition"`
	CapacityProviderStrategy []capacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	LaunchType               string                         `json:"launchType,omitempty"`
	PlatformVersion          string                         `json:"platformVersion,omitempty"`
	PlatformFamily           string                         `json:"platformFamily,omitempty"`
	LoadBalancers            []loadBalancer                 `json:"loadBalancers"`
	ServiceRegistries        []serviceRegistry              `json:"serviceRegistries"`
	NetworkConfiguration     *networkConfiguration          `json:"networkConfiguration,omitempty"`
	ContainerImages          []containerImage               `json:"containerImages"`
	GuardDutyEnabled         bool                           `json:"guardDutyEnabled"`
	CreatedAt                *float64                       `json:"createdAt"`
}

func (s *Service) describeServiceRevisions(now time.Time, in *describeRevisionsIn) (any, error) {
	switch {
	case len(in.ARNs) == 0:
		return nil, invalidParam("serviceRevisionArns can not be empty.")
	case len(in.ARNs) > 20:
		return nil, invalidParam("serviceRevisionArns can have at most 20 items.")
	}
	out := struct {
		ServiceRevisions []revisionOut `json:"serviceRevisions"`
		Failures         []failure     `json:"failures"`
	}{[]revisionOut{}, []failure{}}
	for _, arn := range in.ARNs {
		r := s.st.Revisions[arn]
		if r == nil {
			out.Failures = append(out.Failures, failure{ARN: arn, Reason: "MISSING"})
			continue
		}
		ro := revisionOut{
			ServiceRevisionARN: r.ARN, ServiceARN: r.ServiceARN, ClusterARN: r.ClusterARN, TaskDefinition: r.TaskDefinition,
			CapacityProviderStrategy: r.Strategy, LaunchType: r.LaunchType, PlatformVersion: r.Platform,
			LoadBalancers: append([]loadBalancer{}, r.LoadBalancers...), ServiceRegistries: append([]serviceRegistry{}, r.Registries...),
			NetworkConfiguration: r.Network, ContainerImages: append([]containerImage{}, r.Images...), CreatedAt: ts(r.CreatedAt),
		}
		if r.LaunchType == "FARGATE" || len(r.Strategy) > 0 {
			ro.PlatformFamily = "Linux"
		}
		out.ServiceRevisions = append(out.ServiceRevisions, ro)
	}
	return out, nil
}
