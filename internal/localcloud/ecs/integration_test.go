package ecs_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/url"
	"regexp"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/slipwayhq/slipway/internal/localcloud/ecs"
	"github.com/slipwayhq/slipway/internal/localcloud/elbv2"
	"github.com/slipwayhq/slipway/internal/localcloud/faults"
	"github.com/slipwayhq/slipway/internal/localcloud/servicediscovery"
)

// elbTargets adapts *elbv2.Service to ecs.TargetRegistry, as the core
// wires them: the two packages each declare their own Target.
type elbTargets struct{ *elbv2.Service }

func (e elbTargets) RegisterTargets(arn string, targets []ecs.Target) {
	out := make([]elbv2.Target, len(targets))
	for i, t := range targets {
		out[i] = elbv2.Target{ID: t.ID, Port: t.Port}
	}
	e.Service.RegisterTargets(arn, out)
}

// query calls an ELBv2 action and returns the first ARN named field of its
// result.
func query(t *testing.T, s *elbv2.Service, action, field string, params map[string]string) string {
	t.Helper()
	v := url.Values{}
	for k, p := range params {
		v.Set(k, p)
	}
	out, err := s.ServeQuery(context.Background(), action, v)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	b, err := xml.Marshal(struct {
		XMLName xml.Name `xml:"Result"`
		V       any      `xml:"V"`
	}{V: out})
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("<" + field + ">([^<]+)</" + field + ">").FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s: no %s in %s", action, field, b)
	}
	return string(m[1])
}

// TestWithELBv2AndCloudMap runs a service against the real ELBv2 and Cloud
// Map simulations: targets follow task health, Cloud Map lists the tasks,
// and every healthy target maps back to its image.
func TestWithELBv2AndCloudMap(t *testing.T) {
	w := newWorld(t)
	elb := elbv2.New(elbv2.Config{Clock: w.clock})
	names := servicediscovery.New(servicediscovery.Config{Clock: w.clock})
	ns, err := names.AddNamespace("staging.local", "DNS_PRIVATE")
	if err != nil {
		t.Fatal(err)
	}
	regARN, err := names.AddService(ns, "web", registryID)
	if err != nil {
		t.Fatal(err)
	}
	tg := query(t, elb, "CreateTargetGroup", "TargetGroupArn", map[string]string{
		"Name": "staging-web-blue", "Protocol": "HTTP", "Port": "8080", "VpcId": "vpc-1", "TargetType": "ip"})
	lb := query(t, elb, "CreateLoadBalancer", "LoadBalancerArn", map[string]string{
		"Name": "staging", "Subnets.member.1": "subnet-1", "Subnets.member.2": "subnet-2"})
	query(t, elb, "CreateListener", "ListenerArn", map[string]string{
		"LoadBalancerArn": lb, "Protocol": "HTTP", "Port": "80",
		"DefaultActions.member.1.Type": "forward", "DefaultActions.member.1.TargetGroupArn": tg})

	w.svc.Close()
	w.svc = ecs.New(ecs.Config{Clock: w.clock, Events: w.events, Faults: w.faults, Targets: elbTargets{elb}, Names: names})
	t.Cleanup(w.svc.Close)
	w.api = newClient(t, w.svc)
	w.cluster("staging")
	td := w.webTaskDef(ecrURI + "web@sha256:one")
	ctx := context.Background()
	if _, err := w.api.CreateService(ctx, createInput(td, tg, regARN, 2)); err != nil {
		t.Fatal(err)
	}
	w.settle()

	healthy := elb.HealthyTargets(tg)
	var ips []string
	for _, tk := range w.tasks("staging", "web", types.DesiredStatusRunning) {
		ips = append(ips, aws.ToString(tk.Attachments[0].Details[0].Value))
	}
	slices.Sort(healthy)
	slices.Sort(ips)
	if len(healthy) != 2 || !slices.Equal(healthy, ips) {
		t.Fatalf("got healthy targets %v, want the task addresses %v", healthy, ips)
	}
	for _, id := range healthy {
		if img, ok := w.svc.RevisionOfTarget(id); !ok || img != ecrURI+"web@sha256:one" {
			t.Errorf("target %s: got %q %v, want web@sha256:one", id, img, ok)
		}
	}
	out, err := names.ServeJSON(ctx, "ListInstances", []byte(`{"ServiceId":"`+registryID+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Instances []struct{ Id string } }
	if b, err := json.Marshal(out); err != nil || json.Unmarshal(b, &list) != nil {
		t.Fatalf("list instances: %v", err)
	}
	if got := len(list.Instances); got != 2 {
		t.Errorf("got %d Cloud Map instances, want 2", got)
	}

	// A revision that fails its health checks never becomes a healthy
	// target; the old revision keeps serving.
	w.faults.SetImage("sha256:sick", faults.Behaviour{FailHealthChecks: true})
	sick := w.webTaskDef(ecrURI + "web@sha256:sick")
	if _, err := w.api.UpdateService(ctx, updateInput(sick)); err != nil {
		t.Fatal(err)
	}
	w.settle()
	for _, id := range elb.HealthyTargets(tg) {
		if img, _ := w.svc.RevisionOfTarget(id); img != ecrURI+"web@sha256:one" {
			t.Errorf("healthy target %s serves %s, want only web@sha256:one", id, img)
		}
	}
	if got := len(elb.HealthyTargets(tg)); got != 2 {
		t.Errorf("got %d healthy targets, want the 2 old ones", got)
	}
}
