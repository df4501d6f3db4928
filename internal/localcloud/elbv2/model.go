// Package elbv2 simulates Elastic Load Balancing v2 for the local endpoint:
// application load balancers, target groups, listeners and rules with
// weighted forward actions, and target health that follows the health of
// the ECS tasks behind the targets. It speaks the query protocol (Version
// 2015-12-01) through ServeQuery, reports the traffic share of every target
// group for the CloudWatch metrics generator, and implements the target
// registry the ECS simulation registers its tasks in.
package elbv2

import (
	"encoding/xml"
	"time"
)

// Namespace is the XML namespace of ELBv2 query responses.
const Namespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

// Version is the API version ELBv2 query requests carry.
const Version = "2015-12-01"

const (
	account = "000000000000"
	// maxForwardGroups is how many target groups one forward action may name.
	maxForwardGroups = 5
	// maxWeight is the largest weight of a target group in a forward action.
	maxWeight = 999
	// defaultDeregistrationDelay is the target group attribute
	// deregistration_delay.timeout_seconds when not set.
	defaultDeregistrationDelay = 300 * time.Second
)

// Target health states, as AWS names them.
const (
	StateInitial   = "initial"
	StateHealthy   = "healthy"
	StateUnhealthy = "unhealthy"
	StateUnused    = "unused"
	StateDraining  = "draining"
)

// The state of the simulation, kept in plain structs so it snapshots to JSON.
type state struct {
	LoadBalancers map[string]*loadBalancer // by ARN
	TargetGroups  map[string]*targetGroup  // by ARN
	Listeners     map[string]*listener     // by ARN
	Rules         map[string]*rule         // by ARN, default rules included
	Tags          map[string][]tag         // by resource ARN
}

type loadBalancer struct {
	ARN, Name, DNSName, Scheme, Type, VPCID, IPAddressType string
	Subnets, SecurityGroups                                []string
	Created                                                time.Time
}

type targetGroup struct {
	ARN, Name, Protocol, VPCID, TargetType string
	Port                                   int32
	HealthCheck                            healthCheck
	Targets                                []*target
	Created                                time.Time
	// Attributes holds the attributes set by ModifyTargetGroupAttributes;
	// the others have their defaults.
	Attributes map[string]string `json:",omitempty"`
}

type healthCheck struct {
	Enabled                              bool
	Protocol, Port, Path, Matcher        string
	IntervalSeconds, TimeoutSeconds      int32
	HealthyThreshold, UnhealthyThreshold int32
}

// target is one registered target. Managed targets belong to the ECS
// simulation, which reports their health; the others (registered through
// the API) turn healthy once the health checks would have passed.
type target struct {
	ID                  string
	Port                int32
	State, Reason, Desc string
	Managed             bool
	Registered          time.Time
	// DrainUntil, when set, is when a draining target is removed.
	DrainUntil time.Time
}

type listener struct {
	ARN, LoadBalancerARN, Protocol string
	Port                           int32
	DefaultRuleARN                 string
	// SSLPolicy and Certificates are set on HTTPS listeners only; the
	// first certificate is the default one.
	SSLPolicy    string   `json:",omitempty"`
	Certificates []string `json:",omitempty"`
}

type rule struct {
	ARN, ListenerARN string
	Priority         int // 0 for the default rule
	IsDefault        bool
	Conditions       []condition
	Actions          []action
}

type action struct {
	Type           string
	Order          int32
	TargetGroupARN string
	Forward        *forwardConfig
	FixedResponse  *fixedResponse
	Redirect       *redirect
	OIDC           *authOIDC    `json:",omitempty"`
	Cognito        *authCognito `json:",omitempty"`
	// useExisting is UseExistingClientSecret of an authenticate-oidc
	// action in a request: take the secret from the rule being replaced.
	useExisting bool
	// index is the action's member number in the request, for messages.
	index int
}

// authSession is what authenticate-oidc and authenticate-cognito share,
// with AWS's defaults filled in.
type authSession struct {
	SessionCookieName, Scope, OnUnauthenticatedRequest string
	SessionTimeout                                     int64
	ExtraParams                                        map[string]string `json:",omitempty"`
}

// authOIDC is an authenticate-oidc action. ClientSecret is kept but never
// returned by Describe*, as on AWS.
type authOIDC struct {
	Issuer, AuthorizationEndpoint, TokenEndpoint, UserInfoEndpoint string
	ClientID, ClientSecret                                         string
	authSession
}

// authCognito is an authenticate-cognito action.
type authCognito struct {
	UserPoolARN, UserPoolClientID, UserPoolDomain string
	authSession
}

type forwardConfig struct {
	TargetGroups []weightedGroup
	Stickiness   *stickiness
}

type weightedGroup struct {
	ARN    string
	Weight int32
}

type stickiness struct {
	Enabled         bool
	DurationSeconds int32
}

type fixedResponse struct{ StatusCode, ContentType, MessageBody string }

type redirect struct{ Protocol, Port, Host, Path, Query, StatusCode string }

type condition struct {
	Field      string
	Values     []string
	HeaderName string
	QueryPairs []keyValue
}

type keyValue struct{ Key, Value string }

type tag struct{ Key, Value string }

// XML shapes of responses. Lists are wrapped in <member> elements.

type xmlTime time.Time

// MarshalXML writes the time as AWS does: ISO 8601 in UTC with milliseconds.
func (t xmlTime) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return e.EncodeElement(time.Time(t).UTC().Format("2006-01-02T15:04:05.000Z"), start)
}

type xmlLoadBalancer struct {
	LoadBalancerArn       string
	DNSName               string
	CanonicalHostedZoneId string
	CreatedTime           xmlTime
	LoadBalancerName      string
	Scheme                string
	VpcId                 string
	State                 struct{ Code string }
	Type                  string
	AvailabilityZones     []xmlAZ  `xml:"AvailabilityZones>member"`
	SecurityGroups        []string `xml:"SecurityGroups>member"`
	IpAddressType         string
}

type xmlAZ struct{ ZoneName, SubnetId string }

type xmlTargetGroup struct {
	TargetGroupArn             string
	TargetGroupName            string
	Protocol                   string `xml:",omitempty"`
	Port                       int32  `xml:",omitempty"`
	VpcId                      string `xml:",omitempty"`
	HealthCheckProtocol        string `xml:",omitempty"`
	HealthCheckPort            string `xml:",omitempty"`
	HealthCheckEnabled         bool
	HealthCheckIntervalSeconds int32
	HealthCheckTimeoutSeconds  int32
	HealthyThresholdCount      int32
	UnhealthyThresholdCount    int32
	HealthCheckPath            string `xml:",omitempty"`
	Matcher                    *struct{ HttpCode string }
	LoadBalancerArns           []string `xml:"LoadBalancerArns>member"`
	TargetType                 string
	IpAddressType              string `xml:",omitempty"`
}

type xmlListener struct {
	ListenerArn     string
	LoadBalancerArn string
	Port            int32
	Protocol        string
	SslPolicy       string           `xml:",omitempty"`
	Certificates    []xmlCertificate `xml:"Certificates>member"`
	DefaultActions  []xmlAction      `xml:"DefaultActions>member"`
}

type xmlCertificate struct {
	CertificateArn string
}

type xmlRule struct {
	RuleArn    string
	Priority   string
	Conditions []xmlCondition `xml:"Conditions>member"`
	Actions    []xmlAction    `xml:"Actions>member"`
	IsDefault  bool
}

type xmlAction struct {
	Type                      string
	Order                     int32  `xml:",omitempty"`
	TargetGroupArn            string `xml:",omitempty"`
	AuthenticateOidcConfig    *xmlOIDC
	AuthenticateCognitoConfig *xmlCognito
	ForwardConfig             *xmlForward
	FixedResponseConfig       *xmlFixed
	RedirectConfig            *xmlRedirect
}

// xmlOIDC has no ClientSecret: AWS never returns it.
type xmlOIDC struct {
	Issuer, AuthorizationEndpoint, TokenEndpoint, UserInfoEndpoint, ClientId string
	xmlSession
}

type xmlCognito struct {
	UserPoolArn, UserPoolClientId, UserPoolDomain string
	xmlSession
}

type xmlSession struct {
	SessionCookieName, Scope         string
	SessionTimeout                   int64
	AuthenticationRequestExtraParams *xmlMap
	OnUnauthenticatedRequest         string
}

// xmlMap is a query-protocol map: <entry><key/><value/></entry>….
type xmlMap struct {
	Entries []xmlEntry `xml:"entry"`
}

type xmlEntry struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type xmlForward struct {
	TargetGroups                []xmlTuple `xml:"TargetGroups>member"`
	TargetGroupStickinessConfig *xmlStickiness
}

type xmlTuple struct {
	TargetGroupArn string
	Weight         int32
}

type xmlStickiness struct {
	Enabled         bool
	DurationSeconds int32 `xml:",omitempty"`
}

type xmlFixed struct {
	StatusCode  string
	ContentType string `xml:",omitempty"`
	MessageBody string `xml:",omitempty"`
}

type xmlRedirect struct {
	Protocol, Port, Host, Path, Query string `xml:",omitempty"`
	StatusCode                        string
}

type xmlCondition struct {
	Field                   string
	Values                  []string `xml:"Values>member"`
	HostHeaderConfig        *xmlValues
	PathPatternConfig       *xmlValues
	HttpRequestMethodConfig *xmlValues
	SourceIpConfig          *xmlValues
	HttpHeaderConfig        *xmlHeader
	QueryStringConfig       *xmlQuery
}

type xmlValues struct {
	Values []string `xml:"Values>member"`
}

type xmlHeader struct {
	HttpHeaderName string
	Values         []string `xml:"Values>member"`
}

type xmlQuery struct {
	Values []xmlKeyValue `xml:"Values>member"`
}

type xmlKeyValue struct {
	Key   string `xml:",omitempty"`
	Value string
}

type xmlTargetHealth struct {
	Target struct {
		Id   string
		Port int32 `xml:",omitempty"`
	}
	HealthCheckPort string `xml:",omitempty"`
	TargetHealth    struct {
		State       string
		Reason      string `xml:",omitempty"`
		Description string `xml:",omitempty"`
	}
}

type xmlTagDescription struct {
	ResourceArn string
	Tags        []tag `xml:"Tags>member"`
}
