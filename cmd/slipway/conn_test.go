package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfnsdk "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go/logging"

	"github.com/slipwayhq/slipway/internal/awsapi"
	"github.com/slipwayhq/slipway/internal/operator"
)

// lateWriteConn returns from each Write only once the response to the
// request has reached the SDK (or after 30 ms, for a write the server has
// to see before it answers), as a descheduled goroutine does on a busy
// machine: the local endpoint's response then arrives while net/http is
// still sending the request.
type lateWriteConn struct {
	net.Conn
	answered <-chan struct{}
}

func (c lateWriteConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	select {
	case <-c.answered:
		// The SDK closes the request body right after its client's Do
		// returns.
		time.Sleep(2 * time.Millisecond)
	case <-time.After(30 * time.Millisecond):
	}
	return n, err
}

// answeredClient tells, on answered, each time a response has been
// handed to the SDK.
type answeredClient struct {
	next     aws.HTTPClient
	answered chan struct{}
}

func (c answeredClient) Do(r *http.Request) (*http.Response, error) {
	res, err := c.next.Do(r)
	select {
	case c.answered <- struct{}{}:
	default:
	}
	return res, err
}

// sdkLog keeps what the SDK logs.
type sdkLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *sdkLog) Logf(_ logging.Classification, format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, v...))
}

// TestSDKKeepsConnectionsToLocal reads a large execution history (a
// chunked response of tens of KB) from the local endpoint several times
// with the real SDK client while its request writes return late. Without
// awsapi.KeepConnections the SDK's closing of the request body makes
// net/http close each connection under its response ("failed to discard
// remaining HTTP response body … use of closed network connection" when a
// drain is cut): one connection per request. With it, one connection
// serves them all and the SDK logs nothing.
func TestSDKKeepsConnectionsToLocal(t *testing.T) {
	r, op := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The seed's initial deployments: one that ended Deployed has a long history.
	list, err := op.Status(ctx, operator.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var arn string
	for _, x := range list {
		if x.Deployed() {
			arn = x.ARN
		}
	}
	if arn == "" {
		t.Fatalf("no deployed execution to read in %+v", list)
	}
	read := func(t *testing.T, keep bool) (dials int32, log *sdkLog) {
		log = &sdkLog{}
		var n atomic.Int32
		answered := make(chan struct{}, 1)
		tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			n.Add(1)
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			return lateWriteConn{Conn: c, answered: answered}, err
		}}
		defer tr.CloseIdleConnections()
		cfg := r.AWS.Copy()
		cfg.HTTPClient = answeredClient{next: &http.Client{Transport: tr}, answered: answered}
		if keep {
			cfg.HTTPClient = awsapi.KeepConnections(cfg.HTTPClient)
		}
		cfg.Logger = log
		client := sfnsdk.NewFromConfig(cfg)
		for range 4 {
			out, err := client.GetExecutionHistory(ctx, &sfnsdk.GetExecutionHistoryInput{
				ExecutionArn: &arn, ReverseOrder: true, IncludeExecutionData: aws.Bool(true)})
			if err != nil {
				if keep {
					t.Fatal(err)
				}
				continue // the cut response failed to decode
			}
			if len(out.Events) < 20 {
				t.Fatalf("history of %s: %d events, want a whole deployment's", arn, len(out.Events))
			}
		}
		return n.Load(), log
	}
	t.Run("the race, reproduced", func(t *testing.T) {
		dials, log := read(t, false)
		t.Logf("%d connections; SDK log: %q", dials, log.lines)
		if dials < 2 {
			t.Fatalf("4 requests with late writes used %d connection(s) without KeepConnections: the test no longer reproduces the race", dials)
		}
	})
	t.Run("kept", func(t *testing.T) {
		dials, log := read(t, true)
		if dials != 1 {
			t.Errorf("4 requests used %d connections, want 1", dials)
		}
		for _, l := range log.lines {
			if strings.Contains(l, "failed to discard") || strings.Contains(l, "failed to close") {
				t.Errorf("SDK logged: %s", l)
			}
		}
	})
}
