package session_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/session"
)

// Item 3: a network that does not answer (a seed that accepts connections and never replies)
// is reported within a few seconds, not after the network layer's timeouts.
func TestUnreachableNetworkReportedQuickly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, direct := range []bool{false, true} {
		c, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetworkConfig{Seeds: []string{"https://" + ln.Addr().String()}, Direct: direct}),
			session.WithPollInterval(100*time.Millisecond))
		events, stop := c.Subscribe(8)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- c.Run(ctx) }()
		select {
		case e := <-events:
			pe, ok := e.(*session.PollError)
			if !ok || !errors.Is(pe.Err, session.ErrNoAnswerYet) || pe.Backoff != 0 {
				t.Errorf("direct=%v: first event %T %v", direct, e, e)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("direct=%v: reported after %v", direct, took)
			}
		case <-time.After(8 * time.Second):
			t.Errorf("direct=%v: nothing reported in 8 s", direct)
		}
		cancel()
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// A reachable network is not reported as slow: the first event is Connected.
func TestReachableNetworkNotReportedSlow(t *testing.T) {
	dn := devnettest.Start(t)
	c, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)), session.WithPollInterval(100*time.Millisecond))
	events, stop := c.Subscribe(8)
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case e := <-events:
		if _, ok := e.(*session.Connected); !ok {
			t.Fatalf("first event %T %v", e, e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not connected")
	}
}
