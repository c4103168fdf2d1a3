package session_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/session"
)

// syncBuffer is a concurrency-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Item 2: a handler that panics does not consume the message silently: with the default
// logger the panic and its stack are printed, a HandlerError event reports it, and the message
// is delivered again.
func TestHandlerPanicIsReportedAndRedelivered(t *testing.T) {
	var logs syncBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	defer slog.SetDefault(old)

	ctx := context.Background()
	dn := devnettest.Start(t)
	alice, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
	bob, br := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false))) // no WithLogger
	var mu sync.Mutex
	deliveries := 0
	bob.AddEventHandler(func(evt session.Event) {
		if m, ok := evt.(*session.Message); ok && m.Text == "boom" {
			mu.Lock()
			deliveries++
			n := deliveries
			mu.Unlock()
			if n == 1 {
				panic("a bug in the bot")
			}
		}
	})
	if _, err := alice.SendText(ctx, bob.AccountID(), "boom"); err != nil {
		t.Fatal(err)
	}
	session.WaitUntil(t, 20*time.Second, bob.PollOnce, func() bool { mu.Lock(); defer mu.Unlock(); return deliveries >= 2 })

	he := session.WaitEvent[*session.HandlerError](t, br, bob.PollOnce, nil)
	m, ok := he.Event.(*session.Message)
	var pe *session.PanicError
	if !ok || m.Text != "boom" || !he.Panic || !he.Retry || he.Attempt != 1 || !errors.As(he.Err, &pe) ||
		!strings.Contains(string(he.Stack), "handlers_test.go") {
		t.Fatalf("handler error %+v", he)
	}
	out := logs.String()
	if !strings.Contains(out, "event handler panicked") || !strings.Contains(out, "a bug in the bot") || !strings.Contains(out, "handlers_test.go") {
		t.Fatalf("the default logger did not get the panic and its stack:\n%s", out)
	}
	// Delivered twice in all (the panic, then the retry), and not again.
	for range 3 {
		if err := bob.PollOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	n := deliveries
	mu.Unlock()
	if n != 2 || session.CountEvents[*session.DeadLetter](br, nil) != 0 {
		t.Fatalf("%d deliveries, %d dead letters", n, session.CountEvents[*session.DeadLetter](br, nil))
	}
}

// Item 2: a handler asks for redelivery with an error; after MaxDeliveries failures the event
// is given up as a DeadLetter and the messages after it arrive.
func TestHandlerErrorRetriesThenDeadLetter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dn := devnettest.Start(t)
	alice, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
	bob, br := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)), session.WithMaxDeliveries(3),
		session.WithLogger(slog.New(slog.DiscardHandler)))
	var mu sync.Mutex
	var seen []string
	errDB := errors.New("database unavailable")
	bob.AddEventHandlerE(func(ctx context.Context, evt session.Event) error {
		m, ok := evt.(*session.Message)
		if !ok {
			return nil
		}
		mu.Lock()
		seen = append(seen, m.Text)
		mu.Unlock()
		if m.Text == "poison" {
			return errDB
		}
		return nil
	})
	if _, err := alice.SendText(ctx, bob.AccountID(), "poison"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.SendText(ctx, bob.AccountID(), "after"); err != nil {
		t.Fatal(err)
	}
	got := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen...) }
	session.WaitUntil(t, 20*time.Second, bob.PollOnce, func() bool { s := got(); return len(s) > 0 && s[len(s)-1] == "after" })
	for range 3 {
		if err := bob.PollOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if s := strings.Join(got(), ","); s != "poison,poison,poison,after" {
		t.Fatalf("deliveries %s", s)
	}
	var attempts []int
	for _, e := range br.Events() {
		if he, ok := e.(*session.HandlerError); ok {
			if !errors.Is(he.Err, errDB) || he.Panic || he.Retry != (he.Attempt < 3) {
				t.Fatalf("handler error %+v", he)
			}
			attempts = append(attempts, he.Attempt)
		}
	}
	if len(attempts) != 3 || attempts[0] != 1 || attempts[2] != 3 {
		t.Fatalf("handler errors for attempts %v", attempts)
	}
	dl := session.WaitEvent[*session.DeadLetter](t, br, bob.PollOnce, nil)
	if m, ok := dl.Event.(*session.Message); !ok || m.Text != "poison" || dl.Attempts != 3 || !errors.Is(dl.Err, errDB) {
		t.Fatalf("dead letter %+v", dl)
	}
	if n := session.CountEvents[*session.DeadLetter](br, nil); n != 1 {
		t.Fatalf("%d dead letters", n)
	}
}

// A failed community message is delivered again by the next poll of its room.
func TestHandlerErrorRedeliversCommunityMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dn := devnettest.Start(t)
	_, room := session.StartLobby(t, dn)
	alice, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
	bob, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
	for _, c := range []*session.Client{alice, bob} {
		if _, err := c.JoinCommunity(ctx, room); err != nil {
			t.Fatal(err)
		}
	}
	var calls atomic.Int32
	bob.AddEventHandlerE(func(_ context.Context, evt session.Event) error {
		if m, ok := evt.(*session.CommunityMessage); ok && m.Text == "hi" {
			if calls.Add(1) == 1 {
				return errors.New("not now")
			}
		}
		return nil
	})
	if _, err := alice.SendCommunityMessage(ctx, room, "hi"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for calls.Load() < 2 && time.Now().Before(deadline) {
		if err := bob.PollCommunities(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := bob.PollCommunities(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("the community message was handled %d times, want 2", n)
	}
}

// Item 2: nil handlers are refused when they are registered, not when an event arrives.
func TestNilHandlersRefused(t *testing.T) {
	t.Parallel()
	c, _ := session.NewTestClient(t)
	for name, add := range map[string]func(){
		"AddEventHandler":  func() { c.AddEventHandler(nil) },
		"AddEventHandlerE": func() { c.AddEventHandlerE(nil) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "nil handler") {
					t.Errorf("%s(nil): recovered %v", name, r)
				}
			}()
			add()
		}()
	}
}
