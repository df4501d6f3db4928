// Package asl parses, validates and runs Amazon States Language definitions
// (the JSONPath query language) in-process, on a clock.Clock.
//
// Parse turns a definition into a validated *Definition, or a
// *ValidationError listing every problem with the path of the field at
// fault. Definitions using the JSONata query language are rejected for now.
//
// An Engine runs executions. Task states call a TaskRunner, except Lambda
// resources (a function ARN, or arn:aws:states:::lambda:invoke with its AWS
// result wrapper), which call a LambdaInvoker. A ".waitForTaskToken" task
// ignores its call's result and waits for SendTaskSuccess, SendTaskFailure,
// its HeartbeatSeconds or its TimeoutSeconds. Each execution records the
// history AWS Step Functions would, with the same event type names, the
// states it entered in order, and its state-transition count.
//
// # Time
//
// Executions run on the engine's clock. On a clock.Virtual an execution
// that only waits (Wait states, retries, timeouts, bakes) finishes in
// milliseconds: the clock jumps to the next timer whenever nothing is in
// flight. Code that acts on an execution from outside at a chosen moment,
// a test completing a task token for example, holds the clock with Busy
// while it acts and releases it with Done; time stands still meanwhile. A
// fake task that takes time calls the clock's Sleep.
//
// # Differences from AWS
//
//   - A task without TimeoutSeconds never times out (AWS stops it after a
//     year), and HeartbeatSeconds applies only to ".waitForTaskToken" tasks,
//     the only ones that can send heartbeats here.
//   - A ".$" path of Parameters, ResultSelector or ItemSelector that matches
//     nothing fails with States.Runtime, as AWS does, which no Retry or
//     Catch handles; the specification says States.ParameterPathFailure.
//   - A failed Parallel branch or Map iteration fails the state with the
//     branch's own error, as AWS does, rather than States.BranchFailed.
//   - Object keys in outputs come out sorted; JSON numbers are int64 when
//     integral and float64 otherwise.
//   - Only inline Map is supported (no ItemReader, ResultWriter, ItemBatcher
//     or tolerated failures), and workflow variables (Assign) are not.
package asl
