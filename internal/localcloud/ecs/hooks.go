package ecs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// Lifecycle hook statuses.
const (
	hookAwaiting   = "AWAITING_ACTION"
	hookInProgress = "IN_PROGRESS"
	hookSucceeded  = "SUCCEEDED"
	hookFailed     = "FAILED"
	hookTimedOut   = "TIMED_OUT"
)

// startHooks starts the hooks configured for stage: PAUSE hooks wait for
// ContinueServiceDeployment, AWS_LAMBDA hooks are invoked at once. The
// hooks of earlier stages stay in lifecycleHookDetails with their final
// status, so a hook continued twice is told it no longer awaits action.
func (s *Service) startHooks(now time.Time, sv *service, sd *serviceDeployment, stage string) {
	for i, h := range sd.Config.Hooks {
		if !slices.Contains(h.LifecycleStages, stage) {
			continue
		}
		mins, action := h.timeout()
		run := hookRun{
			Index: i, Type: h.TargetType, TargetARN: h.HookTargetARN, Stage: stage,
			ExpiresAt: now.Add(time.Duration(mins) * time.Minute), TimeoutAction: action,
		}
		if run.Type == "" {
			run.Type = hookLambda
		}
		if run.Type == hookPause {
			run.ID, run.Status = "ecs-pause-"+s.opaqueID(43), hookAwaiting
		} else {
			run.ID, run.Status, run.NextInvoke = "ecs-lambda-"+s.opaqueID(43), hookInProgress, now
		}
		sd.Hooks = append(sd.Hooks, run)
		s.hookEvent(now, sd, &sd.Hooks[len(sd.Hooks)-1])
	}
}

// hooksDone reports whether every hook of the current stage let the
// deployment go on.
func hooksDone(sd *serviceDeployment) bool {
	for _, h := range sd.Hooks {
		if h.Status != hookSucceeded && !(h.Status == hookTimedOut && h.TimeoutAction == actionGo) {
			return false
		}
	}
	return true
}

// tendHooks times hooks out, invokes the Lambda hooks that are due, and
// returns why the deployment must roll back, if a hook says so.
func (s *Service) tendHooks(now time.Time, sv *service, sd *serviceDeployment) string {
	for i := range sd.Hooks {
		h := &sd.Hooks[i]
		if (h.Status == hookAwaiting || h.Status == hookInProgress) && !now.Before(h.ExpiresAt) {
			h.Status, h.Invoking = hookTimedOut, false
			h.Reason = "The lifecycle hook timed out."
			s.hookEvent(now, sd, h)
		}
		switch {
		case h.Status == hookFailed:
			return fmt.Sprintf("Lifecycle hook %s at %s failed: %s", h.ID, h.Stage, h.Reason)
		case h.Status == hookTimedOut && h.TimeoutAction == actionRevert:
			return fmt.Sprintf("Lifecycle hook %s at %s timed out.", h.ID, h.Stage)
		case h.Type == hookLambda && h.Status == hookInProgress && !h.Invoking && !now.Before(h.NextInvoke):
			s.invokeHook(now, sv, sd, h)
		}
	}
	return ""
}

// invokeHook invokes a Lambda hook with the payload ECS sends, outside
// s.mu, and records its answer.
func (s *Service) invokeHook(now time.Time, sv *service, sd *serviceDeployment, h *hookRun) {
	h.Invoking = true
	weights := func(on float64) map[string]float64 {
		return map[string]float64{sd.FromTG: 100 - on, sd.ToTG: on}
	}
	details := map[string]any{
		"productionTrafficWeights": weights(sd.ProdWeight),
		"testTrafficWeights":       map[string]float64{},
		"serviceArn":               sd.ServiceARN,
		"targetServiceRevisionArn": sd.Target,
	}
	if sd.TestRule != "" {
		details["testTrafficWeights"] = weights(sd.TestWeight)
	}
	payload := map[string]any{
		"executionDetails": details,
		"executionId":      h.ID,
		"lifecycleStage":   h.Stage,
		"resourceArn":      sd.ARN,
	}
	if hd := sd.Config.Hooks[h.Index].HookDetails; len(hd) > 0 && string(hd) != "null" {
		payload["hookDetails"] = hd
	}
	body, err := json.Marshal(payload)
	if err != nil {
		h.Status, h.Reason, h.Invoking = hookFailed, "encode the hook payload: "+err.Error(), false
		return
	}
	arn, sdARN, id := h.TargetARN, sd.ARN, h.ID
	s.effect(func() {
		var out []byte
		err := fmt.Errorf("no Lambda service is wired to the local ECS")
		if s.hooks != nil {
			out, err = s.hooks.InvokeHook(context.Background(), arn, body)
		}
		s.locked(func(now time.Time) (any, error) {
			s.hookAnswered(now, sdARN, id, out, err)
			return nil, nil
		})
	})
}

// hookAnswered records a Lambda hook's answer: SUCCEEDED, FAILED, or
// IN_PROGRESS to be invoked again after callBackDelay seconds. Anything
// else, or a failed invocation, fails the hook, as on AWS.
func (s *Service) hookAnswered(now time.Time, sdARN, id string, out []byte, err error) {
	sd := s.st.ServiceDeployments[sdARN]
	if sd == nil || sd.Status != sdInProgress {
		return
	}
	i := slices.IndexFunc(sd.Hooks, func(h hookRun) bool { return h.ID == id })
	if i < 0 || sd.Hooks[i].Status != hookInProgress {
		return
	}
	h := &sd.Hooks[i]
	h.Invoking = false
	var answer struct {
		HookStatus    string   `json:"hookStatus"`
		CallBackDelay *float64 `json:"callBackDelay"`
	}
	switch {
	case err != nil:
		h.Status, h.Reason = hookFailed, "invoke "+h.TargetARN+": "+err.Error()
	case json.Unmarshal(out, &answer) != nil:
		h.Status, h.Reason = hookFailed, "the function did not return a JSON object with hookStatus."
	case answer.HookStatus == hookSucceeded:
		h.Status = hookSucceeded
	case answer.HookStatus == hookFailed:
		h.Status, h.Reason = hookFailed, "the function returned hookStatus FAILED."
	case answer.HookStatus == hookInProgress:
		delay := defaultCallBack
		if answer.CallBackDelay != nil && *answer.CallBackDelay >= 0 {
			delay = time.Duration(*answer.CallBackDelay * float64(time.Second))
		}
		h.NextInvoke = now.Add(delay)
		return
	default:
		h.Status, h.Reason = hookFailed, fmt.Sprintf("the function returned no valid hookStatus (%q).", answer.HookStatus)
	}
	sd.UpdatedAt = now
	s.hookEvent(now, sd, h)
}

// hookStateDetail is the detail of an "ECS Hook State Change" event.
type hookStateDetail struct {
	EventType            string `json:"eventType"`
	EventName            string `json:"eventName"`
	HookID               string `json:"hookId"`
	HookType             string `json:"hookType"`
	ExpiresAt            string `json:"expiresAt"`
	LifecycleStage       string `json:"lifecycleStage"`
	ClusterARN           string `json:"clusterArn"`
	ServiceARN           string `json:"serviceArn"`
	ServiceDeploymentARN string `json:"serviceDeploymentArn"`
	UpdatedAt            string `json:"updatedAt"`
}

// hookEvent posts the hook's state change to EventBridge.
func (s *Service) hookEvent(now time.Time, sd *serviceDeployment, h *hookRun) {
	name := "HOOK_" + h.Status
	detail := hookStateDetail{
		EventType: "INFO", EventName: name, HookID: h.ID, HookType: h.Type,
		ExpiresAt: h.ExpiresAt.UTC().Format(time.RFC3339), LifecycleStage: h.Stage,
		ClusterARN: sd.ClusterARN, ServiceARN: sd.ServiceARN, ServiceDeploymentARN: sd.ARN, UpdatedAt: isoMillis(now),
	}
	e := protocol.Event{Source: "aws.ecs", DetailType: "ECS Hook State Change", Resources: []string{sd.ARN}, Detail: detail}
	s.effect(func() { s.events.PutEvent(context.Background(), e) })
}

func serviceDeploymentNotFound(arn string) *protocol.Error {
	return protocol.Errorf(http.StatusBadRequest, "ServiceDeploymentNotFoundException",
		"The service deployment %s does not exist. Use ListServiceDeployments to find its ARN.", arn)
}

func conflict(format string, args ...any) *protocol.Error {
	return protocol.Errorf(http.StatusBadRequest, "ConflictException", format, args...)
}

type continueIn struct {
	ServiceDeploymentARN string `json:"serviceDeploymentArn"`
	HookID               string `json:"hookId"`
	Action               string `json:"action"`
}

// continueServiceDeployment resolves a PAUSE hook that awaits action:
// CONTINUE lets the deployment go on, ROLLBACK rolls it back.
func (s *Service) continueServiceDeployment(now time.Time, in *continueIn) (any, error) {
	switch {
	case in.ServiceDeploymentARN == "":
		return nil, invalidParam("serviceDeploymentArn can not be blank.")
	case in.HookID == "":
		return nil, invalidParam("hookId can not be blank.")
	}
	action := in.Action
	if action == "" {
		action = actionGo
	}
	if action != actionGo && action != actionRevert {
		return nil, invalidParam("action must be CONTINUE or ROLLBACK, not %s.", in.Action)
	}
	sd := s.st.ServiceDeployments[in.ServiceDeploymentARN]
	if sd == nil {
		return nil, serviceDeploymentNotFound(in.ServiceDeploymentARN)
	}
	if sd.Status != sdInProgress {
		return nil, conflict("The service deployment %s is %s; only an IN_PROGRESS deployment can be continued.", sd.ARN, sd.Status)
	}
	i := slices.IndexFunc(sd.Hooks, func(h hookRun) bool { return h.ID == in.HookID })
	if i < 0 {
		return nil, invalidParam("The lifecycle hook %s was not found in service deployment %s.", in.HookID, sd.ARN)
	}
	h := &sd.Hooks[i]
	if h.Type != hookPause || h.Status != hookAwaiting {
		return nil, conflict("The lifecycle hook %s is %s, not a PAUSE hook in AWAITING_ACTION.", h.ID, h.Status)
	}
	if action == actionGo {
		h.Status = hookSucceeded
	} else {
		h.Status, h.Reason = hookFailed, "ContinueServiceDeployment asked for ROLLBACK."
	}
	sd.UpdatedAt = now
	s.hookEvent(now, sd, h)
	return map[string]string{"serviceDeploymentArn": sd.ARN}, nil
}

type stopDeploymentIn struct {
	ServiceDeploymentARN string `json:"serviceDeploymentArn"`
	StopType             string `json:"stopType"`
}

// stopServiceDeployment rolls a running deployment back.
func (s *Service) stopServiceDeployment(now time.Time, in *stopDeploymentIn) (any, error) {
	if in.ServiceDeploymentARN == "" {
		return nil, invalidParam("serviceDeploymentArn can not be blank.")
	}
	switch in.StopType {
	case "", actionRevert:
	case "ABORT":
		return nil, invalidParam("StopServiceDeployment: stopType ABORT is not modelled by the local endpoint yet; use ROLLBACK.")
	default:
		return nil, invalidParam("stopType must be ROLLBACK, not %s.", in.StopType)
	}
	sd := s.st.ServiceDeployments[in.ServiceDeploymentARN]
	if sd == nil {
		return nil, serviceDeploymentNotFound(in.ServiceDeploymentARN)
	}
	if sd.Status != sdInProgress && sd.Status != sdPending {
		return nil, conflict("The service deployment %s is %s; only a PENDING or IN_PROGRESS deployment can be stopped.", sd.ARN, sd.Status)
	}
	if sd.Stage == stageCleanUp {
		return nil, conflict("The service deployment %s is in CLEAN_UP: the source revision is stopping and it can no longer roll back.", sd.ARN)
	}
	c, sv := s.serviceOfDeployment(sd)
	if sv == nil {
		return nil, serviceNotFound()
	}
	s.rollbackNative(now, c, sv, sd, "Service deployment stopped by StopServiceDeployment with ROLLBACK.")
	return map[string]string{"serviceDeploymentArn": sd.ARN}, nil
}
