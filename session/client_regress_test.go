package session_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store/sqlite"
)

// A Subscribe channel that nobody reads does not keep Run from returning when ctx ends (the
// events it could not deliver are delivered by a later poll).
func TestUnreadSubscribeDoesNotBlockShutdown(t *testing.T) {
	c, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetworkConfig{Seeds: []string{"https://127.0.0.1:1"}, Direct: true}),
		session.WithPollInterval(10*time.Millisecond))
	_, stop := c.Subscribe(0)
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	time.Sleep(300 * time.Millisecond) // PollErrors are waiting to be delivered by now
	cancel()
	select {
	case err := <-done:
		t.Logf("Run returned %v", err)
	case <-time.After(3 * time.Second):
		stop()
		<-done
		t.Fatal("Run did not return after ctx ended (blocked in dispatch to an unread Subscribe channel)")
	}
}

// A handler that polls (here PollCommunities from a PollOnce handler) is refused with
// ErrPollInProgress instead of deadlocking on the dispatch lock.
func TestPollFromHandlerIsRefused(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t)
	s, _ := session.StartLobby(t, dn)
	cfg := session.NetConfig(dn, true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice, _ := session.NewTestClient(t, session.WithNetworkConfig(cfg))
	bob, _ := session.NewTestClient(t, session.WithNetworkConfig(cfg))
	if _, err := bob.JoinCommunity(ctx, s.JoinURL("lobby")); err != nil {
		t.Fatal(err)
	}
	other, _ := crypto.GenerateKeys(nil)
	if _, err := s.PostAs("lobby", other, sogsd.Pad([]byte("\x0a\x03\x0a\x01x"))); err != nil {
		t.Fatal(err)
	}
	var fired atomic.Bool
	bob.AddEventHandler(func(e session.Event) {
		if _, ok := e.(*session.Message); ok && fired.CompareAndSwap(false, true) {
			hctx, hc := context.WithTimeout(context.Background(), 10*time.Second)
			defer hc()
			if err := bob.PollCommunities(hctx); !errors.Is(err, session.ErrPollInProgress) {
				t.Errorf("PollCommunities from a handler: %v", err)
			}
		}
	})
	if _, err := alice.SendText(ctx, bob.AccountID(), "hi"); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 50 && !fired.Load(); i++ {
			_ = bob.PollOnce(ctx)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	select {
	case <-done:
		if !fired.Load() {
			t.Fatal("the message never arrived")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("deadlock: handler calling PollCommunities never returns")
	}
}

// Cancelling Run's ctx while a handler runs (a clean shutdown) still records the message as
// handled: it is not delivered again after the restart.
func TestShutdownDuringHandlerDeliversOnce(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t)
	cfg := session.NetConfig(dn, true)
	path := filepath.Join(t.TempDir(), "bot.db")
	bg := context.Background()
	st, err := sqlite.Open(bg, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	alice, _ := session.NewTestClient(t, session.WithNetworkConfig(cfg))
	bot, _ := session.NewTestClient(t, session.WithStore(st), session.WithNetworkConfig(cfg), session.WithPollInterval(50*time.Millisecond))
	if _, err := alice.SendText(bg, bot.AccountID(), "one"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	var n atomic.Int32
	bot.AddEventHandler(func(e session.Event) {
		if m, ok := e.(*session.Message); ok && m.Text == "one" {
			n.Add(1)
			cancel() // shutdown requested while the handler runs
		}
	})
	if err := bot.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 1 {
		t.Fatalf("first run delivered %d", n.Load())
	}
	ctx2, cancel2 := context.WithTimeout(bg, time.Second)
	defer cancel2()
	_ = bot.Run(ctx2)
	if n.Load() != 1 {
		t.Fatalf("message delivered %d times across a clean shutdown + restart", n.Load())
	}
}

// Two concurrent PollOnce calls: one polls, the other is refused; nothing is delivered twice.
func TestConcurrentPollOnceDeliversOnce(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t)
	cfg := session.NetConfig(dn, true)
	bg := context.Background()
	alice, _ := session.NewTestClient(t, session.WithNetworkConfig(cfg))
	bot, _ := session.NewTestClient(t, session.WithNetworkConfig(cfg))
	var mu sync.Mutex
	seen := map[string]int{}
	bot.AddEventHandler(func(e session.Event) {
		if m, ok := e.(*session.Message); ok {
			mu.Lock()
			seen[m.Text]++
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	})
	for i := 0; i < 10; i++ {
		if _, err := alice.SendText(bg, bot.AccountID(), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = bot.PollOnce(bg) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, session.ErrPollInProgress) {
			t.Fatal(err)
		}
	}
	for len(seen) < 10 { // whichever poll was refused, the messages all arrive
		if err := bot.PollOnce(bg); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == 10 {
			break
		}
	}
	dups := 0
	for k, n := range seen {
		if n > 1 {
			dups++
			t.Logf("%q delivered %d times", k, n)
		}
	}
	if dups > 0 {
		t.Fatalf("%d messages delivered more than once", dups)
	}
}
