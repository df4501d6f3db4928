// Package events holds sample event payloads in the exact shapes AWS
// delivers them through EventBridge (ECR pushes, S3 spec uploads, CloudWatch
// alarm and ECS deployment state changes) and a manual execution input. The
// handler tests of internal/trigger are fed from them, and they are what
// `make invoke-<fn>` sends to a function.
package events

import "embed"

// Files holds every sample payload, by file name ("ecr-push.json").
//
//go:embed *.json
var Files embed.FS
