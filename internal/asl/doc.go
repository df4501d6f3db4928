// Package asl parses, validates and runs Amazon States Language definitions
// (the JSONPath query language) in-process, on a clock.Clock.
//
// Parse turns a definition into a validated *Definition. An Engine runs
// executions of definitions: task states call a TaskRunner (or, for Lambda
// resources, a LambdaInvoker), callback tasks wait for SendTaskSuccess or
// SendTaskFailure, and every execution records the history AWS Step
// Functions would, with the same event type names.
//
// JSON values are handled as the generic Go shapes encoding/json produces,
// except that numbers are int64 when integral and float64 otherwise.
package asl
