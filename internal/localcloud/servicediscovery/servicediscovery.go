// Package servicediscovery simulates AWS Cloud Map for the local endpoint:
// private DNS and HTTP namespaces, services, the instances ECS registers for
// services with serviceRegistries, and DiscoverInstances over them.
//
// Cloud Map's namespace and instance operations are asynchronous on AWS;
// here they complete at once and GetOperation reports SUCCESS, which is what
// a client polling for completion sees eventually.
package servicediscovery

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// Config configures a Service; zero values take defaults.
type Config struct {
	Region string
	Clock  clock.Clock
}

// Service is the simulated Cloud Map. It implements protocol.JSONHandler
// and, for ECS, the instance registry (ServiceExists, RegisterInstance,
// DeregisterInstance). The zero value is not usable; use New.
type Service struct {
	region string
	clock  clock.Clock

	mu sync.Mutex
	st state
}

type state struct {
	Seq        uint64                `json:"seq"`
	Namespaces map[string]*namespace `json:"namespaces"` // by id
	Services   map[string]*service   `json:"services"`   // by id
	Operations map[string]*operation `json:"operations"` // by id
}

type namespace struct {
	ID          string    `json:"id"`
	ARN         string    `json:"arn"`
	Name        string    `json:"name"`
	Type        string    `json:"type"` // DNS_PRIVATE, DNS_PUBLIC or HTTP
	Description string    `json:"description,omitempty"`
	Vpc         string    `json:"vpc,omitempty"`
	ZoneID      string    `json:"hostedZoneId,omitempty"`
	RequestID   string    `json:"creatorRequestId,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
}

type service struct {
	ID          string                       `json:"id"`
	ARN         string                       `json:"arn"`
	Name        string                       `json:"name"`
	NamespaceID string                       `json:"namespaceId"`
	Description string                       `json:"description,omitempty"`
	Type        string                       `json:"type,omitempty"`
	DNSConfig   json.RawMessage              `json:"dnsConfig,omitempty"`
	HealthCheck json.RawMessage              `json:"healthCheckConfig,omitempty"`
	CustomCheck json.RawMessage              `json:"healthCheckCustomConfig,omitempty"`
	RequestID   string                       `json:"creatorRequestId,omitempty"`
	CreatedAt   time.Time                    `json:"createdAt"`
	Instances   map[string]map[string]string `json:"instances"` // id → attributes
	Revision    int64                        `json:"revision"`
}

type operation struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Targets   map[string]string `json:"targets"`
	CreatedAt time.Time         `json:"createdAt"`
}

// New returns an empty Cloud Map.
func New(cfg Config) *Service {
	if cfg.Region == "" {
		cfg.Region = protocol.DefaultRegion
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	return &Service{region: cfg.Region, clock: cfg.Clock, st: newState()}
}

func newState() state {
	return state{Namespaces: map[string]*namespace{}, Services: map[string]*service{}, Operations: map[string]*operation{}}
}

func errorf(code, format string, args ...any) *protocol.Error {
	return protocol.Errorf(http.StatusBadRequest, code, format, args...)
}

func invalidInput(format string, args ...any) *protocol.Error {
	return errorf("InvalidInput", format, args...)
}

// ServeJSON serves one Cloud Map operation (the part of X-Amz-Target after
// "Route53AutoNaming_v20170314.").
func (s *Service) ServeJSON(ctx context.Context, op string, body []byte) (any, error) {
	switch op {
	case "CreatePrivateDnsNamespace":
		return handle(s, body, s.createPrivateDNSNamespace)
	case "CreateHttpNamespace":
		return handle(s, body, s.createHTTPNamespace)
	case "GetNamespace":
		return handle(s, body, s.getNamespace)
	case "ListNamespaces":
		return handle(s, body, s.listNamespaces)
	case "GetOperation":
		return handle(s, body, s.getOperation)
	case "CreateService":
		return handle(s, body, s.createService)
	case "GetService":
		return handle(s, body, s.getService)
	case "ListServices":
		return handle(s, body, s.listServices)
	case "DeleteService":
		return handle(s, body, s.deleteService)
	case "RegisterInstance":
		return handle(s, body, s.registerInstance)
	case "DeregisterInstance":
		return handle(s, body, s.deregisterInstance)
	case "ListInstances":
		return handle(s, body, s.listInstances)
	case "DiscoverInstances":
		return handle(s, body, s.discoverInstances)
	}
	return nil, protocol.UnknownOperation(op)
}

// handle decodes body into In and runs f with the state locked.
func handle[In any](s *Service, body []byte, f func(now time.Time, in *In) (any, error)) (any, error) {
	return protocol.Handle(body, &s.mu, s.clock.Now, f)
}

// id returns a fresh identifier of n lowercase letters and digits, derived
// from a counter so that runs are reproducible; s.mu must be held.
func (s *Service) id(n int) string {
	s.st.Seq++
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], s.st.Seq)
	sum := sha256.Sum256(b[:])
	return hex.EncodeToString(sum[:])[:n]
}

func (s *Service) arn(resource string) string {
	return "arn:aws:servicediscovery:" + s.region + ":" + protocol.Account + ":" + resource
}

// operationLocked records a finished operation and returns its id.
func (s *Service) operationLocked(now time.Time, kind string, targets map[string]string) map[string]string {
	op := &operation{ID: s.id(32), Type: kind, Targets: targets, CreatedAt: now}
	s.st.Operations[op.ID] = op
	return map[string]string{"OperationId": op.ID}
}

type createNamespaceIn struct {
	Name             string `json:"Name"`
	Vpc              string `json:"Vpc"`
	CreatorRequestID string `json:"CreatorRequestId"`
	Description      string `json:"Description"`
}

func (s *Service) createPrivateDNSNamespace(now time.Time, in *createNamespaceIn) (any, error) {
	if in.Vpc == "" {
		return nil, invalidInput("Vpc is required.")
	}
	return s.createNamespaceLocked(now, in, "DNS_PRIVATE")
}

func (s *Service) createHTTPNamespace(now time.Time, in *createNamespaceIn) (any, error) {
	return s.createNamespaceLocked(now, in, "HTTP")
}

func (s *Service) createNamespaceLocked(now time.Time, in *createNamespaceIn, kind string) (any, error) {
	if in.Name == "" || len(in.Name) > 1024 {
		return nil, invalidInput("Name must be 1 to 1024 characters.")
	}
	for _, ns := range s.st.Namespaces {
		if ns.Name == in.Name && (kind == "HTTP" || ns.Type == "HTTP" || ns.Vpc == in.Vpc) {
			if in.CreatorRequestID != "" && ns.RequestID == in.CreatorRequestID {
				return s.operationLocked(now, "CREATE_NAMESPACE", map[string]string{"NAMESPACE": ns.ID}), nil
			}
			return nil, errorf("NamespaceAlreadyExists", "Namespace %s already exists.", in.Name)
		}
	}
	ns := &namespace{ID: "ns-" + s.id(16), Name: in.Name, Type: kind, Description: in.Description, Vpc: in.Vpc,
		RequestID: in.CreatorRequestID, CreatedAt: now}
	ns.ARN = s.arn("namespace/" + ns.ID)
	if kind != "HTTP" {
		ns.ZoneID = "Z" + strings.ToUpper(s.id(20))
	}
	s.st.Namespaces[ns.ID] = ns
	return s.operationLocked(now, "CREATE_NAMESPACE", map[string]string{"NAMESPACE": ns.ID}), nil
}

// AddNamespace creates an HTTP namespace (kind "HTTP") or a private DNS
// namespace (kind "DNS_PRIVATE", in a simulated VPC) and returns its id. The
// local endpoint uses it to seed a world.
func (s *Service) AddNamespace(name, kind string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := &createNamespaceIn{Name: name}
	switch kind {
	case "HTTP":
	case "DNS_PRIVATE":
		in.Vpc = "vpc-local"
	default:
		return "", fmt.Errorf("add namespace %s: kind %q is not HTTP or DNS_PRIVATE", name, kind)
	}
	out, err := s.createNamespaceLocked(s.clock.Now(), in, kind)
	if err != nil {
		return "", fmt.Errorf("add namespace %s: %w", name, err)
	}
	return s.st.Operations[out.(map[string]string)["OperationId"]].Targets["NAMESPACE"], nil
}

type namespaceOut struct {
	ID           string         `json:"Id"`
	Arn          string         `json:"Arn"`
	Name         string         `json:"Name"`
	Type         string         `json:"Type"`
	Description  string         `json:"Description,omitempty"`
	ServiceCount int32          `json:"ServiceCount"`
	Properties   map[string]any `json:"Properties"`
	CreateDate   float64        `json:"CreateDate"`
	RequestID    string         `json:"CreatorRequestId,omitempty"`
}

func (s *Service) namespaceOut(ns *namespace) namespaceOut {
	out := namespaceOut{ID: ns.ID, Arn: ns.ARN, Name: ns.Name, Type: ns.Type, Description: ns.Description,
		CreateDate: protocol.EpochSeconds(ns.CreatedAt), RequestID: ns.RequestID,
		Properties: map[string]any{"HttpProperties": map[string]string{"HttpName": ns.Name}}}
	if ns.ZoneID != "" {
		out.Properties["DnsProperties"] = map[string]string{"HostedZoneId": ns.ZoneID}
	}
	for _, sv := range s.st.Services {
		if sv.NamespaceID == ns.ID {
			out.ServiceCount++
		}
	}
	return out
}

type idIn struct {
	ID          string `json:"Id"`
	OperationID string `json:"OperationId"`
}

func (s *Service) getNamespace(now time.Time, in *idIn) (any, error) {
	ns := s.st.Namespaces[in.ID]
	if ns == nil {
		return nil, errorf("NamespaceNotFound", "Namespace not found: %s", in.ID)
	}
	return map[string]any{"Namespace": s.namespaceOut(ns)}, nil
}

type filter struct {
	Name      string   `json:"Name"`
	Values    []string `json:"Values"`
	Condition string   `json:"Condition"`
}

type listIn struct {
	MaxResults *int32   `json:"MaxResults"`
	NextToken  string   `json:"NextToken"`
	Filters    []filter `json:"Filters"`
	ServiceID  string   `json:"ServiceId"`
}

func (s *Service) listNamespaces(now time.Time, in *listIn) (any, error) {
	var out []namespaceOut
	for _, id := range slices.Sorted(maps.Keys(s.st.Namespaces)) {
		ns := s.st.Namespaces[id]
		keep := true
		for _, f := range in.Filters {
			switch f.Name {
			case "TYPE":
				keep = keep && slices.Contains(f.Values, ns.Type)
			case "NAME":
				keep = keep && slices.Contains(f.Values, ns.Name)
			case "HTTP_NAME":
				keep = keep && slices.Contains(f.Values, ns.Name)
			default:
				return nil, invalidInput("Unsupported filter %q: use TYPE, NAME or HTTP_NAME.", f.Name)
			}
		}
		if keep {
			out = append(out, s.namespaceOut(ns))
		}
	}
	page, next, err := paginate(out, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return struct {
		Namespaces []namespaceOut `json:"Namespaces"`
		NextToken  *string        `json:"NextToken,omitempty"`
	}{append([]namespaceOut{}, page...), next}, nil
}

func (s *Service) getOperation(now time.Time, in *idIn) (any, error) {
	op := s.st.Operations[in.OperationID]
	if op == nil {
		return nil, errorf("OperationNotFound", "Operation not found: %s", in.OperationID)
	}
	at := protocol.EpochSeconds(op.CreatedAt)
	return map[string]any{"Operation": map[string]any{
		"Id": op.ID, "Type": op.Type, "Status": "SUCCESS", "CreateDate": at, "UpdateDate": at, "Targets": op.Targets,
	}}, nil
}

type createServiceIn struct {
	Name             string          `json:"Name"`
	NamespaceID      string          `json:"NamespaceId"`
	CreatorRequestID string          `json:"CreatorRequestId"`
	Description      string          `json:"Description"`
	DNSConfig        json.RawMessage `json:"DnsConfig"`
	HealthCheck      json.RawMessage `json:"HealthCheckConfig"`
	CustomCheck      json.RawMessage `json:"HealthCheckCustomConfig"`
	Type             string          `json:"Type"`
}

func (s *Service) createService(now time.Time, in *createServiceIn) (any, error) {
	if in.NamespaceID == "" && len(in.DNSConfig) > 0 {
		var dc struct{ NamespaceId string }
		if err := json.Unmarshal(in.DNSConfig, &dc); err == nil {
			in.NamespaceID = dc.NamespaceId
		}
	}
	sv, err := s.createServiceLocked(now, in, "")
	if err != nil {
		return nil, err
	}
	return map[string]any{"Service": s.serviceOut(sv)}, nil
}

func (s *Service) createServiceLocked(now time.Time, in *createServiceIn, id string) (*service, error) {
	if in.Name == "" || len(in.Name) > 127 {
		return nil, invalidInput("Name must be 1 to 127 characters.")
	}
	if s.st.Namespaces[in.NamespaceID] == nil {
		return nil, errorf("NamespaceNotFound", "Namespace not found: %s", in.NamespaceID)
	}
	for _, sv := range s.st.Services {
		if sv.NamespaceID == in.NamespaceID && sv.Name == in.Name {
			return nil, errorf("ServiceAlreadyExists", "Service already exists: %s", sv.ID)
		}
	}
	if id == "" {
		id = "srv-" + s.id(16)
	} else if s.st.Services[id] != nil {
		return nil, errorf("ServiceAlreadyExists", "Service already exists: %s", id)
	}
	sv := &service{ID: id, ARN: s.arn("service/" + id), Name: in.Name, NamespaceID: in.NamespaceID,
		Description: in.Description, Type: in.Type, DNSConfig: in.DNSConfig, HealthCheck: in.HealthCheck,
		CustomCheck: in.CustomCheck, RequestID: in.CreatorRequestID, CreatedAt: now, Instances: map[string]map[string]string{}}
	s.st.Services[sv.ID] = sv
	return sv, nil
}

// AddService creates the service name in namespace namespaceID with the
// given id (srv-…, as a spec may refer to it), or a generated one when id is
// empty, and returns its ARN.
func (s *Service) AddService(namespaceID, name, id string) (string, error) {
	if id != "" && !strings.HasPrefix(id, "srv-") {
		return "", fmt.Errorf("add service %s: id %q does not start with srv-", name, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, err := s.createServiceLocked(s.clock.Now(), &createServiceIn{Name: name, NamespaceID: namespaceID}, id)
	if err != nil {
		return "", fmt.Errorf("add service %s: %w", name, err)
	}
	return sv.ARN, nil
}

type serviceOut struct {
	ID            string          `json:"Id"`
	Arn           string          `json:"Arn"`
	Name          string          `json:"Name"`
	NamespaceID   string          `json:"NamespaceId"`
	Description   string          `json:"Description,omitempty"`
	InstanceCount int32           `json:"InstanceCount"`
	Type          string          `json:"Type,omitempty"`
	DNSConfig     json.RawMessage `json:"DnsConfig,omitempty"`
	HealthCheck   json.RawMessage `json:"HealthCheckConfig,omitempty"`
	CustomCheck   json.RawMessage `json:"HealthCheckCustomConfig,omitempty"`
	CreateDate    float64         `json:"CreateDate"`
	RequestID     string          `json:"CreatorRequestId,omitempty"`
}

func (s *Service) serviceOut(sv *service) serviceOut {
	return serviceOut{ID: sv.ID, Arn: sv.ARN, Name: sv.Name, NamespaceID: sv.NamespaceID, Description: sv.Description,
		InstanceCount: int32(len(sv.Instances)), Type: sv.Type, DNSConfig: sv.DNSConfig, HealthCheck: sv.HealthCheck,
		CustomCheck: sv.CustomCheck, CreateDate: protocol.EpochSeconds(sv.CreatedAt), RequestID: sv.RequestID}
}

func (s *Service) serviceLocked(id string) (*service, error) {
	sv := s.st.Services[id]
	if sv == nil {
		return nil, errorf("ServiceNotFound", "Service not found: %s", id)
	}
	return sv, nil
}

func (s *Service) getService(now time.Time, in *idIn) (any, error) {
	sv, err := s.serviceLocked(in.ID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Service": s.serviceOut(sv)}, nil
}

func (s *Service) listServices(now time.Time, in *listIn) (any, error) {
	var out []serviceOut
	for _, id := range slices.Sorted(maps.Keys(s.st.Services)) {
		sv := s.st.Services[id]
		keep := true
		for _, f := range in.Filters {
			switch f.Name {
			case "NAMESPACE_ID":
				keep = keep && slices.Contains(f.Values, sv.NamespaceID)
			default:
				return nil, invalidInput("Unsupported filter %q: use NAMESPACE_ID.", f.Name)
			}
		}
		if keep {
			out = append(out, s.serviceOut(sv))
		}
	}
	page, next, err := paginate(out, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return struct {
		Services  []serviceOut `json:"Services"`
		NextToken *string      `json:"NextToken,omitempty"`
	}{append([]serviceOut{}, page...), next}, nil
}

func (s *Service) deleteService(now time.Time, in *idIn) (any, error) {
	sv, err := s.serviceLocked(in.ID)
	if err != nil {
		return nil, err
	}
	if len(sv.Instances) > 0 {
		return nil, errorf("ResourceInUse", "Service %s has registered instances.", sv.ID)
	}
	delete(s.st.Services, sv.ID)
	return struct{}{}, nil
}

type instanceIn struct {
	ServiceID        string            `json:"ServiceId"`
	InstanceID       string            `json:"InstanceId"`
	CreatorRequestID string            `json:"CreatorRequestId"`
	Attributes       map[string]string `json:"Attributes"`
}

func (s *Service) registerInstance(now time.Time, in *instanceIn) (any, error) {
	if err := s.registerLocked(in.ServiceID, in.InstanceID, in.Attributes); err != nil {
		return nil, err
	}
	return s.operationLocked(now, "REGISTER_INSTANCE", map[string]string{"SERVICE": in.ServiceID, "INSTANCE": in.InstanceID}), nil
}

func (s *Service) registerLocked(serviceID, instanceID string, attrs map[string]string) error {
	sv, err := s.serviceLocked(serviceID)
	if err != nil {
		return err
	}
	if instanceID == "" || len(instanceID) > 64 {
		return invalidInput("InstanceId must be 1 to 64 characters.")
	}
	if len(attrs) > 30 {
		return invalidInput("An instance can have at most 30 attributes.")
	}
	sv.Instances[instanceID] = maps.Clone(attrs)
	sv.Revision++
	return nil
}

func (s *Service) deregisterInstance(now time.Time, in *instanceIn) (any, error) {
	if err := s.deregisterLocked(in.ServiceID, in.InstanceID); err != nil {
		return nil, err
	}
	return s.operationLocked(now, "DEREGISTER_INSTANCE", map[string]string{"SERVICE": in.ServiceID, "INSTANCE": in.InstanceID}), nil
}

func (s *Service) deregisterLocked(serviceID, instanceID string) error {
	sv, err := s.serviceLocked(serviceID)
	if err != nil {
		return err
	}
	if _, ok := sv.Instances[instanceID]; !ok {
		return errorf("InstanceNotFound", "Instance not found: %s", instanceID)
	}
	delete(sv.Instances, instanceID)
	sv.Revision++
	return nil
}

type instanceOut struct {
	ID         string            `json:"Id"`
	Attributes map[string]string `json:"Attributes"`
}

func (s *Service) listInstances(now time.Time, in *listIn) (any, error) {
	sv, err := s.serviceLocked(in.ServiceID)
	if err != nil {
		return nil, err
	}
	var out []instanceOut
	for _, id := range slices.Sorted(maps.Keys(sv.Instances)) {
		out = append(out, instanceOut{ID: id, Attributes: sv.Instances[id]})
	}
	page, next, err := paginate(out, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return struct {
		Instances []instanceOut `json:"Instances"`
		NextToken *string       `json:"NextToken,omitempty"`
	}{append([]instanceOut{}, page...), next}, nil
}

type discoverIn struct {
	NamespaceName   string            `json:"NamespaceName"`
	ServiceName     string            `json:"ServiceName"`
	MaxResults      *int32            `json:"MaxResults"`
	QueryParameters map[string]string `json:"QueryParameters"`
	HealthStatus    string            `json:"HealthStatus"`
}

type discoveredOut struct {
	InstanceID    string            `json:"InstanceId"`
	NamespaceName string            `json:"NamespaceName"`
	ServiceName   string            `json:"ServiceName"`
	HealthStatus  string            `json:"HealthStatus"`
	Attributes    map[string]string `json:"Attributes"`
}

func (s *Service) discoverInstances(now time.Time, in *discoverIn) (any, error) {
	var ns *namespace
	for _, n := range s.st.Namespaces {
		if n.Name == in.NamespaceName {
			ns = n
		}
	}
	if ns == nil {
		return nil, errorf("NamespaceNotFound", "Namespace not found: %s", in.NamespaceName)
	}
	var sv *service
	for _, v := range s.st.Services {
		if v.NamespaceID == ns.ID && v.Name == in.ServiceName {
			sv = v
		}
	}
	if sv == nil {
		return nil, errorf("ServiceNotFound", "Service not found: %s", in.ServiceName)
	}
	max := int32(100)
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return nil, invalidInput("MaxResults must be 1 to 1000.")
		}
		max = *in.MaxResults
	}
	out := []discoveredOut{}
	// Every instance is healthy: ECS deregisters a task before it stops.
	if h := cmp.Or(in.HealthStatus, "ALL"); h == "UNHEALTHY" {
		max = 0
	}
	for _, id := range slices.Sorted(maps.Keys(sv.Instances)) {
		attrs := sv.Instances[id]
		match := true
		for k, v := range in.QueryParameters {
			match = match && attrs[k] == v
		}
		if match && int32(len(out)) < max {
			out = append(out, discoveredOut{InstanceID: id, NamespaceName: ns.Name, ServiceName: sv.Name, HealthStatus: "HEALTHY", Attributes: attrs})
		}
	}
	return map[string]any{"Instances": out, "InstancesRevision": sv.Revision}, nil
}

// ServiceExists reports whether the service id (srv-…) exists.
func (s *Service) ServiceExists(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Services[id] != nil
}

// RegisterInstance registers (or replaces) instance instanceID in the
// service serviceID with attributes, as ECS does for a task that starts.
func (s *Service) RegisterInstance(serviceID, instanceID string, attributes map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.registerLocked(serviceID, instanceID, attributes); err != nil {
		return fmt.Errorf("register instance %s in %s: %w", instanceID, serviceID, err)
	}
	return nil
}

// DeregisterInstance removes instance instanceID from the service serviceID.
func (s *Service) DeregisterInstance(serviceID, instanceID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.deregisterLocked(serviceID, instanceID); err != nil {
		return fmt.Errorf("deregister instance %s from %s: %w", instanceID, serviceID, err)
	}
	return nil
}

// Snapshot returns the whole state as JSON.
func (s *Service) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := json.Marshal(&s.st)
	if err != nil {
		return nil, fmt.Errorf("snapshot servicediscovery: %w", err)
	}
	return b, nil
}

// Restore replaces the state with one taken by Snapshot.
func (s *Service) Restore(b []byte) error {
	st := newState()
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("restore servicediscovery: %w", err)
	}
	for id, sv := range st.Services {
		if sv == nil {
			return fmt.Errorf("restore servicediscovery: service %s: null", id)
		}
		if sv.Instances == nil {
			sv.Instances = map[string]map[string]string{}
		}
	}
	for id, ns := range st.Namespaces {
		if ns == nil {
			return fmt.Errorf("restore servicediscovery: namespace %s: null", id)
		}
	}
	for id, op := range st.Operations {
		if op == nil {
			return fmt.Errorf("restore servicediscovery: operation %s: null", id)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = st
	return nil
}

// paginate returns the page of items starting at token (a plain offset) and
// the token of the next page: 100 items unless max (1..100) says otherwise.
// A bad token or max gets Cloud Map's error; the token is checked first.
func paginate[T any](items []T, token string, max *int32) ([]T, *string, error) {
	page, next, err := protocol.Paginate(items, token, max, protocol.PageRules{DefaultSize: 100, MaxSize: 100})
	switch {
	case errors.Is(err, protocol.ErrBadNextToken):
		return nil, nil, invalidInput("Invalid NextToken.")
	case err != nil:
		return nil, nil, invalidInput("MaxResults must be 1 to 100.")
	case next == "":
		return page, nil, nil
	}
	return page, &next, nil
}
