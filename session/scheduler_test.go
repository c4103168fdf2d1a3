package session_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
)

// unreachable is a network whose seed refuses connections: every poll fails at once, which
// keeps the scheduler busy without a devnet.
func unreachable() session.NetworkConfig {
	return session.NetworkConfig{Seeds: []string{"https://127.0.0.1:1"}, Direct: true}
}

// faultyStore fails LastHash (the swarm lane's first read) or the group index (the group
// lane's) once armed, and can make LastHash slow while counting its concurrent callers.
type faultyStore struct {
	store.Store
	failLastHash, failGroups atomic.Bool
	slow                     time.Duration
	inFlight, maxInFlight    atomic.Int64
	mu                       sync.Mutex
	polled                   map[string]bool // accounts whose LastHash was read
}

var errDisk = errors.New("disk on fire")

func (s *faultyStore) LastHash(ctx context.Context, c store.Cursor) (string, error) {
	if s.failLastHash.Load() {
		return "", errDisk
	}
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxInFlight.Load()
		if n <= m || s.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	s.mu.Lock()
	if s.polled == nil {
		s.polled = map[string]bool{}
	}
	s.polled[c.Account.String()] = true
	s.mu.Unlock()
	time.Sleep(s.slow)
	return s.Store.LastHash(ctx, c)
}

func (s *faultyStore) GetValue(ctx context.Context, bucket, key string) ([]byte, error) {
	if bucket == "groupindex" && s.failGroups.Load() {
		return nil, errDisk
	}
	return s.Store.GetValue(ctx, bucket, key)
}

func (s *faultyStore) polledAccounts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.polled)
}

// waitGoroutines waits until no more than n goroutines run, and fails if they do not end.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines still run, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func result(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// A store failure in any lane ends Run with an error matching ErrStore (errgroup-style: the
// other lanes stop too), and no goroutine of the run is left.
func TestRunEndsOnStoreFailure(t *testing.T) {
	for _, lane := range []string{"swarm", "group"} {
		t.Run(lane, func(t *testing.T) {
			nw, err := session.NewNetwork(unreachable())
			if err != nil {
				t.Fatal(err)
			}
			defer nw.Close()
			base := runtime.NumGoroutine()
			st := &faultyStore{Store: store.NewMemory()}
			c, _ := session.NewTestClient(t, session.WithNetwork(nw), session.WithStore(st),
				session.WithPollInterval(10*time.Millisecond), session.WithMaxBackoff(20*time.Millisecond))
			var polls atomic.Int64
			c.AddEventHandler(func(evt session.Event) {
				if _, ok := evt.(*session.PollError); ok {
					polls.Add(1)
				}
			})
			done := c.Start(context.Background())
			for polls.Load() < 3 {
				time.Sleep(5 * time.Millisecond)
			}
			if lane == "swarm" {
				st.failLastHash.Store(true)
			} else {
				st.failGroups.Store(true)
			}
			err = result(t, done)
			if !errors.Is(err, session.ErrStore) || !errors.Is(err, errDisk) {
				t.Fatalf("Run returned %v, want ErrStore wrapping the store's error", err)
			}
			waitGoroutines(t, base)
			// The client can run again once the store is back.
			st.failLastHash.Store(false)
			st.failGroups.Store(false)
			ctx, cancel := context.WithCancel(context.Background())
			done = c.Start(ctx)
			time.Sleep(50 * time.Millisecond)
			cancel()
			if err := result(t, done); err != nil {
				t.Fatalf("second Run returned %v", err)
			}
			waitGoroutines(t, base)
		})
	}
}

// Start refuses a second run and a PollOnce while one runs, returns nil when ctx ends, and
// ErrClosed when the Network is closed under it.
func TestStartLifecycle(t *testing.T) {
	nw, err := session.NewNetwork(unreachable())
	if err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	c, _ := session.NewTestClient(t, session.WithNetwork(nw), session.WithPollInterval(10*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	done := c.Start(ctx)
	if err := <-c.Start(ctx); !errors.Is(err, session.ErrAlreadyRunning) {
		t.Fatalf("second Start: %v", err)
	}
	if err := c.PollOnce(ctx); !errors.Is(err, session.ErrPollInProgress) {
		t.Fatalf("PollOnce while running: %v", err)
	}
	cancel()
	if err := result(t, done); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	// An ended ctx: Start returns at once.
	if err := result(t, c.Start(ctx)); err != nil {
		t.Fatalf("Start with an ended ctx: %v", err)
	}
	done = c.Start(context.Background())
	time.Sleep(30 * time.Millisecond)
	if err := nw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := result(t, done); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("Run after Network.Close: %v", err)
	}
	if err := result(t, c.Start(context.Background())); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("Start after Network.Close: %v", err)
	}
	waitGoroutines(t, base)
}

// No more polls than PollConcurrency are in flight, and every account gets its turn.
func TestPollConcurrencyBound(t *testing.T) {
	cfg := unreachable()
	cfg.PollConcurrency = 3
	nw, err := session.NewNetwork(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()
	st := &faultyStore{Store: store.NewMemory(), slow: 10 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	var dones []<-chan error
	const n = 30
	for i := range n {
		c, _ := session.NewTestClient(t, session.WithNetwork(nw), session.WithStore(st), session.WithSeed(seedFor(i)),
			session.WithPollInterval(20*time.Millisecond), session.WithMaxBackoff(40*time.Millisecond))
		dones = append(dones, c.Start(ctx))
	}
	deadline := time.Now().Add(10 * time.Second)
	for st.polledAccounts() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	for _, d := range dones {
		if err := result(t, d); err != nil {
			t.Fatal(err)
		}
	}
	if got := st.polledAccounts(); got < n {
		t.Fatalf("%d of %d accounts polled", got, n)
	}
	if m := st.maxInFlight.Load(); m > 3 || m < 2 {
		t.Fatalf("%d polls in flight at once, want at most PollConcurrency (3) and more than one", m)
	}
}

// A handler that blocks holds no slot: with PollConcurrency 1, another client keeps polling.
func TestBlockedHandlerDoesNotStallOthers(t *testing.T) {
	cfg := unreachable()
	cfg.PollConcurrency = 1
	nw, err := session.NewNetwork(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()
	opts := []session.Option{session.WithNetwork(nw), session.WithPollInterval(10 * time.Millisecond),
		session.WithMaxBackoff(20 * time.Millisecond)}
	stuck, _ := session.NewTestClient(t, append(opts, session.WithSeed(seedFor(1)))...)
	other, _ := session.NewTestClient(t, append(opts, session.WithSeed(seedFor(2)))...)
	release := make(chan struct{})
	blocked := make(chan struct{}, 1)
	stuck.AddEventHandler(func(session.Event) {
		select {
		case blocked <- struct{}{}:
		default:
		}
		<-release
	})
	var otherPolls atomic.Int64
	other.AddEventHandler(func(evt session.Event) {
		if _, ok := evt.(*session.PollError); ok {
			otherPolls.Add(1)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	d1 := stuck.Start(ctx)
	<-blocked
	d2 := other.Start(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for otherPolls.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if otherPolls.Load() < 5 {
		t.Fatalf("the other client polled %d times while a handler blocked", otherPolls.Load())
	}
	cancel()
	close(release)
	for _, d := range []<-chan error{d1, d2} {
		if err := result(t, d); err != nil {
			t.Fatal(err)
		}
	}
}
