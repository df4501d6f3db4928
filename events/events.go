// Package events holds sample event payloads in the exact shapes AWS
// delivers them through EventBridge (ECR pushes, S3 spec uploads, CloudWatch
// alarm and ECS deployment state changes, the lifecycle hook events of
// ECS-native deployments) and a manual execution input. The
// handler tests of internal/trigger are fed from them, and they are
// ready-made payloads for invoking a function by hand.
//
// manual-start.json is the documented input of a deployment started by hand
// (pasted into the Step Functions console, or sent by `aws stepfunctions
// start-execution`): a workflow.Request, of which only service and
// environment are required.
//
//	service                 services/<service>.yaml
//	environment             environments/<environment>.yaml
//	image                   optional: a tag ("v1.4.2"), a digest ("sha256:…") or a
//	                        full image reference; empty deploys the running image
//	specVersion             optional: S3 version id of the service spec (default latest)
//	environmentSpecVersion  optional: S3 version id of the environment spec
//	strategy                optional: a strategy for this deployment only, a name
//	                        ("rolling") or an object in the spec's shape
//	reason                  free text shown in history and events
//
// Prepare resolves the rest (digest, specs, plan).
package events

import "embed"

// Files holds every sample payload, by file name ("ecr-push.json").
//
//go:embed *.json
var Files embed.FS
