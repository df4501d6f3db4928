package endpoint_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// This file writes the world the fault matrix runs in: one environment
// (and cluster, and load balancer) per strategy, one service per cell.

// matrixRow is a strategy of the fault matrix. Its key names its
// environment, cluster and load balancer, and prefixes its services.
type matrixRow struct {
	key, title string
	// lb: canary by weight and bluegreen move a listener rule's weights.
	lb bool
	// daemon: one task per container instance of an EC2 cluster.
	daemon bool
	// native: strategy kind ecs, ECS shifts the rule's weights itself
	// between the service's two target groups.
	native bool
	// ecsBakeAfter (kind ecs) is how many PAUSE hooks Slipway continued
	// when ECS starts its own bake: after PRE_PRODUCTION_TRAFFIC_SHIFT's
	// for a canary or the first linear step, after
	// POST_PRODUCTION_TRAFFIC_SHIFT's for bluegreen.
	ecsBakeAfter int
	// bakes is how many bakes a deployment goes through.
	bakes int
	// strategy is the service spec's strategy block.
	strategy string
}

// matrixRows are the strategies, in the table's order. Bakes are a minute
// (the reconcile interval is two): a deployment takes minutes of
// simulated time.
var matrixRows = []matrixRow{
	{key: "rl", title: "rolling", bakes: 1, strategy: `strategy:
  kind: rolling
  finalBake: 1m
  alarms: ["${SERVICE}-${ENVIRONMENT}-errors"]
  stabilizationTimeout: 10m
`},
	{key: "cw", title: "canary by weight", lb: true, bakes: 3, strategy: `strategy:
  kind: canary
  steps:
    - weight: 10
      bake: 1m
    - weight: 50
      bake: 1m
    - weight: 100
  finalBake: 1m
  alarms: ["${SERVICE}-${ENVIRONMENT}-5xx"]
  stabilizationTimeout: 10m
`},
	{key: "cc", title: "canary by count", bakes: 2, strategy: `strategy:
  kind: canary
  steps:
    - weight: 50
      bake: 1m
    - weight: 100
  finalBake: 1m
  alarms: ["${SERVICE}-${ENVIRONMENT}-errors"]
  stabilizationTimeout: 10m
`},
	{key: "bg", title: "bluegreen", lb: true, bakes: 1, strategy: `strategy:
  kind: bluegreen
  finalBake: 1m
  terminationWait: 1m
  alarms: ["${SERVICE}-${ENVIRONMENT}-5xx"]
  stabilizationTimeout: 10m
`},
	{key: "dm", title: "DAEMON rolling", daemon: true, bakes: 1, strategy: `strategy:
  kind: rolling
  finalBake: 1m
  alarms: ["${SERVICE}-${ENVIRONMENT}-errors"]
  stabilizationTimeout: 10m
`},
	// ECS-native (kind ecs): one service; ECS moves the traffic and bakes
	// (bake: ECS keeps the old revision a minute after the shift);
	// Slipway's one bake is finalBake at POST_PRODUCTION_TRAFFIC_SHIFT.
	{key: "nb", title: "ECS-native bluegreen", lb: true, native: true, bakes: 1, ecsBakeAfter: 4, strategy: `strategy:
  kind: ecs
  mode: bluegreen
  bake: 1m
  finalBake: 1m
  alarms: ["${SERVICE}-${ENVIRONMENT}-5xx"]
  stabilizationTimeout: 10m
`},
	{key: "nc", title: "ECS-native canary", lb: true, native: true, bakes: 1, ecsBakeAfter: 3, strategy: `strategy:
  kind: ecs
  mode: canary
  canaryPercent: 10
  canaryBake: 1m
  bake: 1m
  finalBake: 1m
  alarms: ["${SERVICE}-${ENVIRONMENT}-5xx"]
  stabilizationTimeout: 10m
`},
	{key: "nl", title: "ECS-native linear", lb: true, native: true, bakes: 1, ecsBakeAfter: 3, strategy: `strategy:
  kind: ecs
  mode: linear
  stepPercent: 50
  stepBake: 1m
  bake: 1m
  finalBake: 1m
  alarms: ["${SERVICE}-${ENVIRONMENT}-5xx"]
  stabilizationTimeout: 10m
`},
}

// matrixService is the service of a cell.
func matrixService(row matrixRow, col string) string { return row.key + "-" + col }

// matrixGroups are the target groups (blue, green) of the service whose
// listener rule is rule. Their ids start with b where rule ids have a 0:
// an ELBv2 fault matched by a cell's rule id must not hit a call that
// names another cell's target group.
func matrixGroups(name, rule string) []string {
	id := rule[strings.LastIndex(rule, "/")+1:]
	var out []string
	for i, slot := range []string{"blue", "green"} {
		out = append(out, fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/%s-%s/b%s%d", name, slot, id[1:15], i))
	}
	return out
}

// ruleID is the listener rule id of the n-th load-balanced service, and
// the target group ids follow from it: 16 hex digits, unique in the world.
func ruleID(n int) string { return fmt.Sprintf("%016x", 0xa000+n) }

// writeMatrixWorld writes the spec root of the matrix under dir: an
// environment per row and a service per (row, column) in cells.
func writeMatrixWorld(t *testing.T, dir string, cells map[string][]string) map[string]string {
	t.Helper()
	rules := map[string]string{} // service → listener rule ARN
	for _, sub := range []string{"environments", "services"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, row := range matrixRows {
		var env strings.Builder
		fmt.Fprintf(&env, "cluster: %s\nlaunchType: FARGATE\nnetwork:\n  subnets: [subnet-0a1b2c3d4e5f60001]\n  securityGroups: [sg-0a1b2c3d4e5f60001]\n  assignPublicIp: false\n", row.key)
		if row.lb {
			env.WriteString("loadBalancers:\n")
		}
		for _, col := range cells[row.key] {
			name := matrixService(row, col)
			if row.lb {
				n++
				rule := fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:000000000000:listener-rule/app/%s/0123456789abcdef/0123456789abcdef/%s", row.key, ruleID(n))
				rules[name] = rule
				fmt.Fprintf(&env, "  %s:\n    listenerRuleArn: %s\n    targetGroupArns:\n", name, rule)
				for _, g := range matrixGroups(name, rule) {
					fmt.Fprintf(&env, "      - %s\n", g)
				}
				env.WriteString("    containerName: app\n    containerPort: 8080\n")
				if row.native {
					env.WriteString("    infrastructureRoleArn: arn:aws:iam::000000000000:role/ecsInfrastructureRoleForLoadBalancers\n")
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "services", name+".yaml"), []byte(matrixServiceSpec(row, name)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "environments", row.key+".yaml"), []byte(env.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return rules
}

// matrixServiceSpec is the spec of a cell's service: a small Fargate
// service of two tasks (with a port for the load balancer), or a DAEMON on
// the EC2 instances, deployed with the row's strategy.
func matrixServiceSpec(row matrixRow, name string) string {
	head := fmt.Sprintf("image:\n  repository: %s\n  tags: [\"v*\"]\npipeline: [%s]\n", name, row.key)
	if row.daemon {
		return head + `taskDefinition:
  requiresCompatibilities: [EC2]
  networkMode: host
  containerDefinitions:
    - name: app
      image: ${IMAGE}
      essential: true
      cpu: 16
      memory: 32
      healthCheck:
        command: ["CMD-SHELL", "test -f /tmp/ready"]
service:
  schedulingStrategy: DAEMON
  launchType: EC2
  deploymentConfiguration:
    minimumHealthyPercent: 50
    maximumPercent: 100
` + row.strategy
	}
	port := ""
	if row.lb {
		port = "      portMappings:\n        - containerPort: 8080\n          protocol: tcp\n"
	}
	return head + `taskDefinition:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "256"
  memory: "512"
  containerDefinitions:
    - name: app
      image: ${IMAGE}
      essential: true
      healthCheck:
        command: ["CMD-SHELL", "test -f /tmp/ready"]
` + port + `service:
  desiredCount: 2
` + row.strategy
}
