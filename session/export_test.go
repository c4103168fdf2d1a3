package session

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/filesd"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/onion"
)

// The end-to-end setup every test of the Client shares. It is in package session so that the
// package's own tests use it as it is, and package session_test's through this file, as
// net/http's export_test.go does: a devnet per test (devnettest.Start) and the servers a test
// asks for (StartSOGS, StartLobby, StartFiles), NetConfig for a client on it, NewTestClient,
// one Recorder of a client's events, and one wait (WaitUntil, WaitEvent) and one count
// (CountEvents) over it.

// WaitTimeout bounds WaitEvent.
const WaitTimeout = 30 * time.Second

// NetConfig returns the config of a client on dn: onion paths of distinct nodes (every devnet
// node is on 127.0.0.1), or direct requests.
func NetConfig(dn *devnet.Network, direct bool) NetworkConfig {
	return NetworkConfig{Seeds: []string{dn.SeedURL()}, SeedRootCAs: dn.CertPool(), Direct: direct,
		PathDiversity: onion.DistinctNodes}
}

// StartSOGS starts a community server on dn, closed when tb ends.
func StartSOGS(tb testing.TB, dn *devnet.Network, opts ...sogsd.Option) *sogsd.Server {
	tb.Helper()
	return startServer(tb, sogsd.Start, dn, opts)
}

// StartLobby starts a community server on dn with one room, "lobby", and returns the server
// and the room's join URL.
func StartLobby(tb testing.TB, dn *devnet.Network, opts ...sogsd.Option) (*sogsd.Server, string) {
	tb.Helper()
	s := StartSOGS(tb, dn, opts...)
	if err := s.CreateRoom(sogsd.RoomConfig{Token: "lobby", Name: "Lobby"}); err != nil {
		tb.Fatal(err)
	}
	return s, s.JoinURL("lobby")
}

// StartFiles starts a file server on dn, closed when tb ends.
func StartFiles(tb testing.TB, dn *devnet.Network, opts ...filesd.Option) *filesd.Server {
	tb.Helper()
	return startServer(tb, filesd.Start, dn, opts)
}

// startServer starts one of devnet's servers (sogsd, filesd: they share their options) on dn,
// closed when tb ends.
func startServer[S io.Closer](tb testing.TB, start func(context.Context, ...sogsd.Option) (S, error), dn *devnet.Network, opts []sogsd.Option) S {
	tb.Helper()
	s, err := start(context.Background(), append([]sogsd.Option{sogsd.WithNetwork(dn)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// StoredMessages counts the messages dn's nodes hold (each copy).
func StoredMessages(dn *devnet.Network) int {
	n := 0
	for _, node := range dn.Nodes() {
		n += node.MessageCount()
	}
	return n
}

// Recorder collects the events of the clients it handles (AddEventHandler(r.Handle)).
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

// Handle records evt.
func (r *Recorder) Handle(evt Event) {
	r.mu.Lock()
	r.events = append(r.events, evt)
	r.mu.Unlock()
}

// Events returns the events recorded so far, oldest first.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// String lists the recorded events, one a line, for failure messages.
func (r *Recorder) String() string {
	var b strings.Builder
	for _, e := range r.Events() {
		fmt.Fprintf(&b, "\n\t%T %+v", e, e)
	}
	return b.String()
}

// NewTestClient makes a Client with opts, closed when tb ends, and records its events.
func NewTestClient(tb testing.TB, opts ...Option) (*Client, *Recorder) {
	tb.Helper()
	c, err := NewClient(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	r := &Recorder{}
	c.AddEventHandler(r.Handle)
	return c, r
}

// WaitUntil calls poll (PollOnce, PollCommunities; nil while Run polls) until cond holds, and
// fails tb when d has passed first.
func WaitUntil(tb testing.TB, d time.Duration, poll func(context.Context) error, cond func() bool) {
	tb.Helper()
	waitUntil(tb, d, poll, cond, func() string { return fmt.Sprintf("condition not met within %v", d) })
}

func waitUntil(tb testing.TB, d time.Duration, poll func(context.Context) error, cond func() bool, failure func() string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for !cond() {
		if poll != nil {
			if err := poll(ctx); err != nil && ctx.Err() == nil {
				tb.Logf("poll: %v", err)
			}
			if cond() {
				return
			}
		}
		if ctx.Err() != nil {
			tb.Fatal(failure())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitEvent returns the first event of type T that r recorded and ok accepts (nil: any),
// calling poll between looks (see WaitUntil), and fails tb after WaitTimeout.
func WaitEvent[T any](tb testing.TB, r *Recorder, poll func(context.Context) error, ok func(T) bool) T {
	tb.Helper()
	var got T
	waitUntil(tb, WaitTimeout, poll, func() bool {
		for _, e := range r.Events() {
			if v, is := e.(T); is && (ok == nil || ok(v)) {
				got = v
				return true
			}
		}
		return false
	}, func() string { return fmt.Sprintf("no %T event arrived; events: %s", got, r) })
	return got
}

// CountEvents counts the events of type T that r recorded and ok accepts (nil: all).
func CountEvents[T any](r *Recorder, ok func(T) bool) int {
	n := 0
	for _, e := range r.Events() {
		if v, is := e.(T); is && (ok == nil || ok(v)) {
			n++
		}
	}
	return n
}
