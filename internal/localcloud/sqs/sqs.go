// Package sqs simulates the part of Amazon SQS the local endpoint needs:
// standard queues that hold what nobody may lose — Lambda's on-failure
// records and EventBridge's undeliverable events — for a person or a test to
// read. It serves the AWS JSON 1.0 protocol of the current SDKs
// (X-Amz-Target: AmazonSQS.<Op>): CreateQueue, GetQueueUrl,
// GetQueueAttributes, SendMessage, ReceiveMessage, DeleteMessage, ListQueues
// and PurgeQueue, and offers SendByARN to the other simulated services.
//
// Time is the clock's: a received message is invisible for the visibility
// timeout and then received again; messages older than the retention period
// are gone. Not modelled, and refused with an error naming them: FIFO
// queues, message attributes, delays, long polling (WaitTimeSeconds) and
// queue attributes other than those listed in settable. The query protocol
// is not served: the SDKs and the aws CLI (v1 and v2) speak JSON to SQS.
package sqs

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
)

// TargetPrefix is the X-Amz-Target prefix of SQS's JSON 1.0 requests.
const TargetPrefix = "AmazonSQS"

// Error shapes SQS answers with (the JSON protocol's names).
const (
	CodeQueueDoesNotExist      = "QueueDoesNotExist"
	CodeQueueNameExists        = "QueueNameExists"
	CodeInvalidAttributeName   = "InvalidAttributeName"
	CodeInvalidAttributeValue  = "InvalidAttributeValue"
	CodeReceiptHandleIsInvalid = "ReceiptHandleIsInvalid"
	CodePurgeQueueInProgress   = "PurgeQueueInProgress"
	CodeInvalidParameterValue  = "InvalidParameterValue"
	CodeUnsupportedOperation   = "UnsupportedOperation"
)

// Queue defaults and limits, as AWS documents them.
const (
	defaultVisibility = 30 * time.Second
	maxVisibility     = 12 * time.Hour
	defaultRetention  = 4 * 24 * time.Hour
	minRetention      = time.Minute
	maxRetention      = 14 * 24 * time.Hour
	maxMessageSize    = 1024 * 1024
	maxReceive        = 10
	purgeInterval     = 60 * time.Second
)

// settable are the queue attributes CreateQueue accepts. VisibilityTimeout
// and MessageRetentionPeriod are modelled; the encryption attributes and
// Policy are kept and returned as given (the simulation neither encrypts nor
// checks policies), so nothing set is silently dropped.
var settable = map[string]bool{
	"VisibilityTimeout": true, "MessageRetentionPeriod": true,
	"KmsMasterKeyId": true, "KmsDataKeyReusePeriodSeconds": true, "SqsManagedSseEnabled": true, "Policy": true,
}

var queueNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,80}$`)

// Config configures a Service.
type Config struct {
	// Region of queue ARNs and URLs; protocol.DefaultRegion if empty.
	Region string
	// Clock times visibility, retention and timestamps; real if nil.
	Clock clock.Clock
}

// Service is the simulated SQS, a protocol.JSONHandler. It is safe for
// concurrent use.
type Service struct {
	region string
	clock  clock.Clock

	mu     sync.Mutex
	queues map[string]*queue // by name
}

// queue is one standard queue.
type queue struct {
	Name       string            `json:"name"`
	Attributes map[string]string `json:"attributes,omitempty"` // as set, settable only
	Created    time.Time         `json:"created"`
	LastPurge  time.Time         `json:"lastPurge,omitzero"`
	Messages   []*message        `json:"messages"`
}

// message is one message in a queue.
type message struct {
	ID           string    `json:"id"`
	Body         string    `json:"body"`
	Sent         time.Time `json:"sent"`
	VisibleAt    time.Time `json:"visibleAt"`
	Receipt      string    `json:"receipt,omitempty"`
	ReceiveCount int       `json:"receiveCount"`
	FirstReceive time.Time `json:"firstReceive,omitzero"`
}

// New returns an SQS with no queues.
func New(cfg Config) *Service {
	if cfg.Region == "" {
		cfg.Region = protocol.DefaultRegion
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	return &Service{region: cfg.Region, clock: cfg.Clock, queues: map[string]*queue{}}
}

// ARN returns the ARN of the queue name.
func (s *Service) ARN(name string) string {
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", s.region, protocol.Account, name)
}

// URL returns the URL of the queue name, as AWS forms it.
func (s *Service) URL(name string) string {
	return fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", s.region, protocol.Account, name)
}

func notFound() *protocol.Error {
	return &protocol.Error{Code: "AWS.SimpleQueueService.NonExistentQueue", Type: CodeQueueDoesNotExist,
		Message: "The specified queue does not exist.", Status: http.StatusBadRequest}
}

func invalid(code, format string, args ...any) *protocol.Error {
	return protocol.Errorf(http.StatusBadRequest, code, format, args...)
}

// byURL returns the queue a QueueUrl names: any URL whose path is
// /<account>/<name> of the local account (so the local endpoint's own
// address works as well as AWS's). Call with s.mu held.
func (s *Service) byURL(u string) (*queue, error) {
	if u == "" {
		return nil, invalid("MissingParameter", "The request must contain the parameter QueueUrl.")
	}
	parts := strings.Split(strings.TrimRight(u, "/"), "/")
	if len(parts) < 2 || parts[len(parts)-2] != protocol.Account {
		return nil, notFound()
	}
	q, ok := s.queues[parts[len(parts)-1]]
	if !ok {
		return nil, notFound()
	}
	return q, nil
}

// SendByARN sends body to the queue with the given ARN, as a service
// delivering to a destination (Lambda, EventBridge) does.
func (s *Service) SendByARN(arn, body string) error {
	name, ok := strings.CutPrefix(arn, s.ARN("")) // the ARN of a queue without its name
	if !ok {
		return fmt.Errorf("send to %s: not a queue of this region and account", arn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[name]
	if !ok {
		return fmt.Errorf("send to %s: %w", arn, notFound())
	}
	if _, err := s.send(q, body); err != nil {
		return fmt.Errorf("send to %s: %w", arn, err)
	}
	return nil
}

// Depth returns ApproximateNumberOfMessagesVisible of every queue by name.
func (s *Service) Depth() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	out := make(map[string]int, len(s.queues))
	for name, q := range s.queues {
		s.expire(q, now)
		visible, _ := q.counts(now)
		out[name] = visible
	}
	return out
}

// ServeJSON dispatches one SQS operation.
func (s *Service) ServeJSON(_ context.Context, op string, body []byte) (any, error) {
	switch op {
	case "CreateQueue":
		return s.createQueue(body)
	case "GetQueueUrl":
		return s.getQueueURL(body)
	case "GetQueueAttributes":
		return s.getQueueAttributes(body)
	case "SendMessage":
		return s.sendMessage(body)
	case "ReceiveMessage":
		return s.receiveMessage(body)
	case "DeleteMessage":
		return s.deleteMessage(body)
	case "ListQueues":
		return s.listQueues(body)
	case "PurgeQueue":
		return s.purgeQueue(body)
	}
	return nil, protocol.Errorf(http.StatusBadRequest, protocol.CodeUnknownOperation,
		"operation %s is not modelled by the local SQS (it serves CreateQueue, GetQueueUrl, GetQueueAttributes, SendMessage, ReceiveMessage, DeleteMessage, ListQueues, PurgeQueue)", op)
}

func (s *Service) createQueue(body []byte) (any, error) {
	var in struct {
		QueueName  string
		Attributes map[string]string
		Tags       map[string]string
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if !queueNameRE.MatchString(in.QueueName) {
		if strings.HasSuffix(in.QueueName, ".fifo") {
			return nil, invalid(CodeUnsupportedOperation, "FIFO queues are not modelled by the local SQS: %s", in.QueueName)
		}
		return nil, invalid(CodeInvalidParameterValue, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length: %q", in.QueueName)
	}
	if len(in.Tags) > 0 {
		return nil, invalid(CodeUnsupportedOperation, "queue tags are not modelled by the local SQS")
	}
	for _, k := range slices.Sorted(maps.Keys(in.Attributes)) {
		if !settable[k] {
			return nil, invalid(CodeInvalidAttributeName, "attribute %s is unknown or not modelled by the local SQS (it models %v)", k, slices.Sorted(maps.Keys(settable)))
		}
	}
	if _, err := attrSeconds(in.Attributes, "VisibilityTimeout", defaultVisibility, 0, maxVisibility); err != nil {
		return nil, err
	}
	if _, err := attrSeconds(in.Attributes, "MessageRetentionPeriod", defaultRetention, minRetention, maxRetention); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.queues[in.QueueName]; ok {
		if !maps.Equal(q.Attributes, in.Attributes) {
			return nil, &protocol.Error{Code: "QueueAlreadyExists", Type: CodeQueueNameExists, Status: http.StatusBadRequest,
				Message: fmt.Sprintf("A queue already exists with the same name and a different value for attribute(s): %s", in.QueueName)}
		}
	} else {
		attrs := map[string]string{}
		for k, v := range in.Attributes {
			attrs[k] = v
		}
		s.queues[in.QueueName] = &queue{Name: in.QueueName, Attributes: attrs, Created: s.clock.Now()}
	}
	return map[string]string{"QueueUrl": s.URL(in.QueueName)}, nil
}

// attrSeconds reads a duration attribute given in seconds.
func attrSeconds(attrs map[string]string, name string, def, lo, hi time.Duration) (time.Duration, error) {
	v, ok := attrs[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	d := time.Duration(n) * time.Second
	if err != nil || d < lo || d > hi {
		return 0, invalid(CodeInvalidAttributeValue, "Invalid value for the parameter %s: %q (want %d to %d seconds)", name, v, int(lo.Seconds()), int(hi.Seconds()))
	}
	return d, nil
}

func (q *queue) visibility() time.Duration {
	d, _ := attrSeconds(q.Attributes, "VisibilityTimeout", defaultVisibility, 0, maxVisibility)
	return d
}

func (q *queue) retention() time.Duration {
	d, _ := attrSeconds(q.Attributes, "MessageRetentionPeriod", defaultRetention, minRetention, maxRetention)
	return d
}

// expire drops messages older than the retention period.
func (s *Service) expire(q *queue, now time.Time) {
	ret := q.retention()
	q.Messages = slices.DeleteFunc(q.Messages, func(m *message) bool { return !now.Before(m.Sent.Add(ret)) })
}

// counts returns how many messages are visible and in flight.
func (q *queue) counts(now time.Time) (visible, inFlight int) {
	for _, m := range q.Messages {
		if now.Before(m.VisibleAt) {
			inFlight++
		} else {
			visible++
		}
	}
	return visible, inFlight
}

func (s *Service) getQueueURL(body []byte) (any, error) {
	var in struct {
		QueueName              string
		QueueOwnerAWSAccountId string
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.queues[in.QueueName]; !ok || (in.QueueOwnerAWSAccountId != "" && in.QueueOwnerAWSAccountId != protocol.Account) {
		return nil, notFound()
	}
	return map[string]string{"QueueUrl": s.URL(in.QueueName)}, nil
}

// queueAttributes are the attributes GetQueueAttributes answers, set or
// not; the stored settable ones are added.
var queueAttributes = []string{
	"QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed",
	"CreatedTimestamp", "LastModifiedTimestamp", "VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds",
	"MaximumMessageSize", "ReceiveMessageWaitTimeSeconds",
}

func (s *Service) getQueueAttributes(body []byte) (any, error) {
	var in struct {
		QueueUrl       string
		AttributeNames []string
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.byURL(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	s.expire(q, now)
	visible, inFlight := q.counts(now)
	vis, ret := q.visibility(), q.retention()
	all := map[string]string{
		"QueueArn":                              s.ARN(q.Name),
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(inFlight),
		"ApproximateNumberOfMessagesDelayed":    "0",
		"CreatedTimestamp":                      strconv.FormatInt(q.Created.Unix(), 10),
		"LastModifiedTimestamp":                 strconv.FormatInt(q.Created.Unix(), 10),
		"VisibilityTimeout":                     strconv.Itoa(int(vis.Seconds())),
		"MessageRetentionPeriod":                strconv.Itoa(int(ret.Seconds())),
		"DelaySeconds":                          "0",
		"MaximumMessageSize":                    strconv.Itoa(maxMessageSize),
		"ReceiveMessageWaitTimeSeconds":         "0",
	}
	for k, v := range q.Attributes {
		all[k] = v
	}
	out := map[string]string{}
	for _, n := range in.AttributeNames {
		if n == "All" {
			out = all
			break
		}
		v, ok := all[n]
		if !ok {
			if !slices.Contains(queueAttributes, n) && !settable[n] {
				return nil, invalid(CodeInvalidAttributeName, "Unknown or not modelled attribute %s.", n)
			}
			continue
		}
		out[n] = v
	}
	if len(out) == 0 {
		return struct{}{}, nil
	}
	return map[string]any{"Attributes": out}, nil
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// send appends a message; call with s.mu held.
func (s *Service) send(q *queue, body string) (*message, error) {
	if body == "" {
		return nil, invalid("MissingParameter", "The request must contain the parameter MessageBody.")
	}
	if len(body) > maxMessageSize {
		return nil, invalid(CodeInvalidParameterValue, "One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", maxMessageSize)
	}
	now := s.clock.Now()
	s.expire(q, now)
	m := &message{ID: uuid.NewString(), Body: body, Sent: now, VisibleAt: now}
	q.Messages = append(q.Messages, m)
	return m, nil
}

func (s *Service) sendMessage(body []byte) (any, error) {
	var in struct {
		QueueUrl                string
		MessageBody             string
		DelaySeconds            int
		MessageAttributes       map[string]any
		MessageSystemAttributes map[string]any
		MessageGroupId          string
		MessageDeduplicationId  string
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	switch {
	case in.DelaySeconds != 0:
		return nil, invalid(CodeUnsupportedOperation, "DelaySeconds is not modelled by the local SQS")
	case len(in.MessageAttributes) > 0 || len(in.MessageSystemAttributes) > 0:
		return nil, invalid(CodeUnsupportedOperation, "message attributes are not modelled by the local SQS")
	case in.MessageGroupId != "" || in.MessageDeduplicationId != "":
		return nil, invalid(CodeInvalidParameterValue, "MessageGroupId and MessageDeduplicationId are for FIFO queues, which the local SQS does not model")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.byURL(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	m, err := s.send(q, in.MessageBody)
	if err != nil {
		return nil, err
	}
	return map[string]string{"MessageId": m.ID, "MD5OfMessageBody": md5Hex(m.Body)}, nil
}

func (s *Service) receiveMessage(body []byte) (any, error) {
	var in struct {
		QueueUrl                    string
		MaxNumberOfMessages         *int
		VisibilityTimeout           *int
		WaitTimeSeconds             int
		AttributeNames              []string
		MessageSystemAttributeNames []string
		MessageAttributeNames       []string
		ReceiveRequestAttemptId     string
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.WaitTimeSeconds != 0 {
		return nil, invalid(CodeUnsupportedOperation, "long polling (WaitTimeSeconds) is not modelled by the local SQS: poll with 0")
	}
	if in.ReceiveRequestAttemptId != "" {
		return nil, invalid(CodeInvalidParameterValue, "ReceiveRequestAttemptId is for FIFO queues, which the local SQS does not model")
	}
	n := 1
	if in.MaxNumberOfMessages != nil {
		n = *in.MaxNumberOfMessages
		if n < 1 || n > maxReceive {
			return nil, invalid(CodeInvalidParameterValue, "Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10.", n)
		}
	}
	names := append(slices.Clone(in.AttributeNames), in.MessageSystemAttributeNames...)
	for _, a := range names {
		if a != "All" && !slices.Contains(messageAttributes, a) {
			return nil, invalid(CodeInvalidAttributeName, "message system attribute %s is unknown or not modelled by the local SQS (it models %v)", a, messageAttributes)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.byURL(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	vis := q.visibility()
	if in.VisibilityTimeout != nil {
		vis = time.Duration(*in.VisibilityTimeout) * time.Second
		if vis < 0 || vis > maxVisibility {
			return nil, invalid(CodeInvalidParameterValue, "Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.", *in.VisibilityTimeout)
		}
	}
	now := s.clock.Now()
	s.expire(q, now)
	type outMessage struct {
		MessageId     string
		ReceiptHandle string
		MD5OfBody     string
		Body          string
		Attributes    map[string]string `json:",omitempty"`
	}
	out := []outMessage{}
	for _, m := range q.Messages {
		if len(out) == n {
			break
		}
		if now.Before(m.VisibleAt) {
			continue
		}
		m.ReceiveCount++
		if m.FirstReceive.IsZero() {
			m.FirstReceive = now
		}
		m.VisibleAt = now.Add(vis)
		m.Receipt = uuid.NewString()
		o := outMessage{MessageId: m.ID, ReceiptHandle: m.Receipt, MD5OfBody: md5Hex(m.Body), Body: m.Body}
		attrs := map[string]string{
			"SentTimestamp":                    strconv.FormatInt(m.Sent.UnixMilli(), 10),
			"ApproximateReceiveCount":          strconv.Itoa(m.ReceiveCount),
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.FirstReceive.UnixMilli(), 10),
		}
		for _, a := range names {
			if o.Attributes == nil {
				o.Attributes = map[string]string{}
			}
			if a == "All" {
				o.Attributes = attrs
				break
			}
			o.Attributes[a] = attrs[a]
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		return struct{}{}, nil
	}
	return map[string]any{"Messages": out}, nil
}

// messageAttributes are the message system attributes ReceiveMessage
// returns.
var messageAttributes = []string{"SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"}

func (s *Service) deleteMessage(body []byte) (any, error) {
	var in struct {
		QueueUrl      string
		ReceiptHandle string
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.byURL(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if in.ReceiptHandle == "" {
		return nil, invalid(CodeReceiptHandleIsInvalid, "The input receipt handle is invalid.")
	}
	// Deleting a message already deleted (or expired) with a handle of the
	// right form succeeds, as on AWS; the local handles are UUIDs.
	if uuid.Validate(in.ReceiptHandle) != nil {
		return nil, invalid(CodeReceiptHandleIsInvalid, "The input receipt handle %q is not a valid receipt handle.", in.ReceiptHandle)
	}
	q.Messages = slices.DeleteFunc(q.Messages, func(m *message) bool { return m.Receipt == in.ReceiptHandle })
	return struct{}{}, nil
}

func (s *Service) listQueues(body []byte) (any, error) {
	var in struct {
		QueueNamePrefix string
		MaxResults      *int
		NextToken       string
	}
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	limit := 1000
	if in.MaxResults != nil {
		limit = *in.MaxResults
		if limit < 1 || limit > 1000 {
			return nil, invalid(CodeInvalidParameterValue, "Value %d for parameter MaxResults is invalid. Reason: Must be between 1 and 1000.", limit)
		}
	}
	s.mu.Lock()
	names := slices.Sorted(maps.Keys(s.queues))
	s.mu.Unlock()
	urls := []string{}
	next := ""
	for _, n := range names {
		if !strings.HasPrefix(n, in.QueueNamePrefix) || n < in.NextToken {
			continue
		}
		if len(urls) == limit {
			next = n
			break
		}
		urls = append(urls, s.URL(n))
	}
	if len(urls) == 0 {
		return struct{}{}, nil
	}
	out := map[string]any{"QueueUrls": urls}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func (s *Service) purgeQueue(body []byte) (any, error) {
	var in struct{ QueueUrl string }
	if err := protocol.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.byURL(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if !q.LastPurge.IsZero() && now.Before(q.LastPurge.Add(purgeInterval)) {
		return nil, &protocol.Error{Code: "AWS.SimpleQueueService.PurgeQueueInProgress", Type: CodePurgeQueueInProgress, Status: http.StatusBadRequest,
			Message: fmt.Sprintf("Only one PurgeQueue operation on %s is allowed every 60 seconds.", q.Name)}
	}
	q.LastPurge = now
	q.Messages = nil
	return struct{}{}, nil
}

// Snapshot returns every queue and its messages as JSON, for --state-dir.
func (s *Service) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	qs := make([]*queue, 0, len(s.queues))
	for _, n := range slices.Sorted(maps.Keys(s.queues)) {
		qs = append(qs, s.queues[n])
	}
	b, err := json.Marshal(struct {
		Queues []*queue `json:"queues"`
	}{qs})
	if err != nil {
		return nil, fmt.Errorf("marshal sqs snapshot: %w", err)
	}
	return b, nil
}

// Restore replaces every queue with those of a Snapshot.
func (s *Service) Restore(data []byte) error {
	var snap struct {
		Queues []*queue `json:"queues"`
	}
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("decode sqs snapshot: %w", err)
	}
	queues := map[string]*queue{}
	for i, q := range snap.Queues {
		if q == nil || !queueNameRE.MatchString(q.Name) {
			return fmt.Errorf("sqs snapshot: queues[%d]: invalid queue name", i)
		}
		queues[q.Name] = q
	}
	s.mu.Lock()
	s.queues = queues
	s.mu.Unlock()
	return nil
}
