// Package trigger turns events into deployment requests and waiting tasks
// into completed ones: it parses the EventBridge events Slipway listens to
// (ECR pushes, spec uploads, alarm and ECS deployment state changes),
// validates them at the edge, routes them to the services they concern, names
// executions so that a repeated event starts nothing new, and holds the
// handlers the Lambda functions in functions/ run.
//
// Events arrive late, twice, out of order or malformed. A malformed or
// unexpected event is logged with the reason and dropped (the handler returns
// nil, so Lambda does not retry it); only failures that may pass on their own
// (a throttled or unavailable AWS API) are returned, so that Lambda's
// asynchronous retries run the handler again. Every start is idempotent, so a
// retry never deploys twice.
package trigger
