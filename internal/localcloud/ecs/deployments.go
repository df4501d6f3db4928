package ecs

// ECS-native deployments: what the local endpoint models.
//
// A service whose deploymentConfiguration.strategy is BLUE_GREEN, CANARY or
// LINEAR is deployed by ECS itself, as on AWS since 2025: one service, two
// target groups, and ECS moving the weights of the production listener
// rule. Every such deployment is a service deployment
// (arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID, ID 21
// characters of [A-Za-z0-9_-]) from the source service revisions to a
// target service revision
// (arn:aws:ecs:REGION:ACCOUNT:service-revision/CLUSTER/SERVICE/ID, ID 19
// digits). A ROLLING service's deployments get service revisions too (so a
// native deployment has a source revision after a migration), but no
// service deployment record: ListServiceDeployments lists the native ones
// only (not modelled yet for ROLLING).
//
// Accepted by CreateService and UpdateService (field names as in the API):
//
//	deploymentConfiguration.strategy             ROLLING (default) | BLUE_GREEN | CANARY | LINEAR
//	deploymentConfiguration.bakeTimeInMinutes    0–1440 (default 0); native strategies only
//	deploymentConfiguration.canaryConfiguration  {canaryPercent 0.1–100 in steps of 0.1 (default 5),
//	                                              canaryBakeTimeInMinutes 0–1440 (default 10)}; CANARY only
//	deploymentConfiguration.linearConfiguration  {stepPercent 3–100 in steps of 0.1 (default 10),
//	                                              stepBakeTimeInMinutes 0–1440 (default 6)}; LINEAR only
//	deploymentConfiguration.lifecycleHooks[]     {targetType AWS_LAMBDA | PAUSE, hookTargetArn (a Lambda
//	                                              ARN, AWS_LAMBDA only, required), roleArn (required for
//	                                              AWS_LAMBDA), lifecycleStages (≥ 1), hookDetails
//	                                              (AWS_LAMBDA only, passed to the function),
//	                                              timeoutConfiguration{timeoutInMinutes 1–20160
//	                                              (default 1440), action ROLLBACK (default) | CONTINUE}}
//	                                              at most 10 PAUSE and 10 AWS_LAMBDA hooks
//	deploymentConfiguration.alarms               {alarmNames, enable, rollback}
//	deploymentConfiguration.deploymentCircuitBreaker {enable, rollback}
//	loadBalancers[].advancedConfiguration        {alternateTargetGroupArn, productionListenerRule,
//	                                              testListenerRule (optional), roleArn} — all but
//	                                              testListenerRule required with a native strategy,
//	                                              refused with ROLLING
//
// Validation gives InvalidParameterException as ECS does for: a native
// strategy without a load balancer or without advancedConfiguration, an
// alternate target group equal to the primary one or missing, a listener
// rule that does not exist (or does not forward to the primary target
// group), canaryConfiguration with a strategy other than CANARY (likewise
// linearConfiguration), values out of range, a hook stage not valid for
// its type (PAUSE hooks may not use TEST_TRAFFIC_SHIFT or
// PRODUCTION_TRAFFIC_SHIFT), an AWS_LAMBDA hook without hookTargetArn or
// roleArn, a PAUSE hook with hookTargetArn, roleArn or hookDetails, and
// DAEMON services with a native strategy. Any other field of these shapes
// (earlySuccessCriteria, …) is refused with "… is not modelled by the
// local endpoint yet", never dropped.
//
// Operations: DescribeServiceDeployments (serviceDeploymentArns, ≤ 20;
// unknown ARNs come back as failures with reason MISSING),
// ListServiceDeployments (cluster, service, status filter, createdAt
// filter, maxResults 1–100 default 20, nextToken), DescribeServiceRevisions
// (serviceRevisionArns, ≤ 20), ContinueServiceDeployment
// (serviceDeploymentArn, hookId, action CONTINUE (default) | ROLLBACK) and
// StopServiceDeployment (serviceDeploymentArn, stopType ROLLBACK; ABORT is
// refused as not modelled yet). Errors: ServiceDeploymentNotFoundException
// for an unknown deployment ARN; InvalidParameterException for an unknown
// hookId or action; ConflictException for a hook that is not a PAUSE hook
// AWAITING_ACTION (continued already) and for a deployment that is not
// IN_PROGRESS (finished, or already rolling back), or that StopServiceDeployment
// finds in CLEAN_UP (its source revision is already stopping).
//
// One deployment runs on the endpoint's clock as on AWS, stage by stage
// (ServiceDeployment.lifecycleStage):
//
//	RECONCILE_SERVICE              hooks run only when the service has more than one
//	                               ACTIVE revision (a deployment started while another ran)
//	PRE_SCALE_UP                   hooks
//	SCALE_UP                       the target revision's tasks start (the full desired count,
//	                               whatever maximumPercent says) with the endpoint's task
//	                               timings and register in the alternate target group; the
//	                               stage ends when all are healthy
//	POST_SCALE_UP                  hooks
//	TEST_TRAFFIC_SHIFT             the test listener rule (if any) forwards 100 % to the
//	                               alternate target group; AWS_LAMBDA hooks
//	POST_TEST_TRAFFIC_SHIFT        hooks
//	PRODUCTION_TRAFFIC_SHIFT       per step: PRE_PRODUCTION_TRAFFIC_SHIFT hooks, the production
//	                               rule's forward weights move (BLUE_GREEN 0→100 at once;
//	                               CANARY canaryPercent, canaryBakeTimeInMinutes, then 100;
//	                               LINEAR stepPercent per step with stepBakeTimeInMinutes
//	                               between steps, none after 100), AWS_LAMBDA hooks
//	                               at PRODUCTION_TRAFFIC_SHIFT
//	POST_PRODUCTION_TRAFFIC_SHIFT  hooks
//	BAKE_TIME                      bakeTimeInMinutes with the source revision still running
//	CLEAN_UP                       the source tasks drain and stop; the target groups swap
//	                               roles in the service's loadBalancers (targetGroupArn ↔
//	                               alternateTargetGroupArn) so the next deployment shifts
//	                               the other way; status SUCCESSFUL
//
// Weights are written through the endpoint's ELBv2 model: only the forward
// action's TargetGroups change ({primary, 100-p}, {alternate, p}; p with a
// tenth of a percent becomes weights out of 1000); every other action
// (authenticate-oidc, authenticate-cognito, …), the action order and the
// forward's TargetGroupStickinessConfig are kept as read.
//
// Service deployment status: PENDING (created) → IN_PROGRESS (first
// reconcile) → SUCCESSFUL, or ROLLBACK_IN_PROGRESS → ROLLBACK_SUCCESSFUL,
// or STOPPED (a newer deployment replaced it: its target tasks stop and its
// traffic goes back at once). The first deployment of a service has no
// source revision: it goes to the target group production already uses,
// rewrites the rules as a weighted forward over both groups with all of
// it there (as AWS is seen doing), skips the bakes, and a failure leaves
// it ROLLBACK_FAILED (nothing to roll back to). A rollback sets the production and test rules back to 100 %
// on the source target group at once, stops the target revision's tasks
// and leaves the source revision as it ran (replacing its tasks that
// stop); it is ROLLBACK_SUCCESSFUL once the target's tasks have stopped and
// the source runs its desired count healthy, and ROLLBACK_FAILED when,
// with the circuit breaker on, its threshold of the source revision's
// tasks fail to start during the rollback (a crash or image pull fault on
// the source image, its tasks stopped). It is started by
// ContinueServiceDeployment ROLLBACK, a PAUSE hook timing out with action
// ROLLBACK, an AWS_LAMBDA hook answering FAILED (or failing, or answering
// no valid hookStatus), StopServiceDeployment ROLLBACK, the circuit
// breaker (failed target tasks reaching its threshold, with rollback set;
// the simulation's crash and image pull faults make tasks fail), and an
// alarm of deploymentConfiguration.alarms (enable and rollback set) in
// ALARM during the deployment or its bake (read from the endpoint's
// CloudWatch when the deployment starts, then followed through its alarm
// state changes, so a deployment paused at a hook polls nothing).
// ServiceDeployment.rollback, .alarms (TRIGGERED, triggeredAlarmNames) and
// .deploymentCircuitBreaker (failureCount, threshold, TRIGGERED) say why.
//
// Hooks: DescribeServiceDeployments shows lifecycleHookDetails for every
// hook the deployment has run so far, oldest first, with its final status
// (hookId "ecs-pause-…" or "ecs-lambda-…"; a hook at
// PRE_PRODUCTION_TRAFFIC_SHIFT runs before each production step with a
// fresh hookId;
// targetType, targetArn for AWS_LAMBDA, status, expiresAt = start +
// timeoutInMinutes, timeoutAction). A PAUSE hook is AWAITING_ACTION until
// ContinueServiceDeployment or its timeout (TIMED_OUT, then its action).
// An AWS_LAMBDA hook is IN_PROGRESS while the local Lambda function is
// invoked synchronously with the payload ECS sends:
//
//	{"executionDetails": {"testTrafficWeights": {TG_ARN: WEIGHT…}, "productionTrafficWeights": {…},
//	                      "serviceArn": …, "targetServiceRevisionArn": …},
//	 "executionId": …, "lifecycleStage": STAGE, "resourceArn": SERVICE_DEPLOYMENT_ARN,
//	 "hookDetails": HOOK_DETAILS (when configured)}
//
// and answers {"hookStatus": SUCCEEDED | FAILED | IN_PROGRESS,
// "callBackDelay": seconds (default 30)}; IN_PROGRESS invokes it again
// after callBackDelay, until the hook's timeout. Several hooks of one stage
// run together; the stage ends when all have SUCCEEDED, and any FAILED
// rolls back.
//
// Events on EventBridge (source aws.ecs, resources as AWS sends them):
//   - "ECS Hook State Change" (resources [serviceDeploymentArn]) with detail
//     {eventType INFO, eventName HOOK_IN_PROGRESS | HOOK_AWAITING_ACTION |
//     HOOK_SUCCEEDED | HOOK_FAILED | HOOK_TIMED_OUT, hookId, hookType,
//     expiresAt, lifecycleStage, clusterArn, serviceArn,
//     serviceDeploymentArn, updatedAt}; see events/ecs-hook-state-change.json.
//   - "ECS Deployment State Change" (resources [serviceArn]) exactly as for
//     ROLLING: detail {eventType, eventName SERVICE_DEPLOYMENT_IN_PROGRESS |
//     SERVICE_DEPLOYMENT_COMPLETED | SERVICE_DEPLOYMENT_FAILED, deploymentId
//     (the ecs-svc/… id DescribeServices shows), updatedAt, reason}. AWS
//     documents no serviceDeploymentArn in this event; correlate by the
//     service ARN in resources and deploymentId. A native deployment sends
//     IN_PROGRESS when it starts, COMPLETED when it is SUCCESSFUL, and
//     FAILED (eventType ERROR, reason naming the cause) when it rolls back
//     — its terminal event either way; see
//     events/ecs-service-deployment-state-change.json.
//
// Not modelled yet (refused or absent, never silently different): the
// NLB form of productionListenerRule/testListenerRule (a listener ARN),
// earlySuccessCriteria, deploymentCircuitBreaker.resetOnHealthyTask and
// thresholdConfiguration, StopServiceDeployment ABORT, ROLLBACK_FAILED of a
// deployment that had a source revision for any cause but its tasks
// failing to start (a listener rule ECS cannot modify, …), the STOP_REQUESTED and
// ROLLBACK_REQUESTED statuses, Service Connect and VPC Lattice following
// the revision, service deployment records for ROLLING services, more than
// one load balancer with advancedConfiguration, bake, hooks and alarms on
// ROLLING deployments, alarms or circuit breaker without rollback, and
// scaling the target revision in while it deploys. (A source task that
// stops before CLEAN_UP is replaced, as the scheduler keeps the source
// revision's count.)
