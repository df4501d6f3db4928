// Package spec parses, validates and renders Slipway's service and
// environment specs; it makes no AWS calls.
//
// A spec root holds services/<name>.yaml and environments/<name>.yaml (.yml
// and .json too). Parsing is strict: files are read into a node tree that
// remembers the file, line and column of every value, then decoded against
// the Go types with the AWS APIs' camelCase field names, so an unknown
// field, a value of the wrong type or an enum value the API does not define
// is a Problem that points at the text. Validate adds the rules ECS and
// Slipway impose and returns every problem at once.
//
// Render resolves one service for one environment and one deployment: the
// environment's strategy and RFC 7386 merge-patch overrides, then ${NAME}
// variables, then the environment's defaults (launch type, network, load
// balancer), and checks the result again. Its output, a Rendered, holds the
// exact ecs.RegisterTaskDefinitionInput and ecs.CreateServiceInput to send.
//
// docs/spec.md is the reference for users.
package spec
