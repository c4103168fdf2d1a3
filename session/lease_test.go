package session_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/sqlite"
)

// runAsync runs c.Run(ctx) and returns its result channel.
func runAsync(ctx context.Context, c *session.Client) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- c.Run(ctx) }()
	return ch
}

func waitLease(t *testing.T, c *session.Client) store.Lease {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if l, ok := c.Lease(); ok {
			return l
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the client never took its lease")
	return store.Lease{}
}

// Issue 16 (4): two processes on one SQLite file used to split the messages silently. Now the
// second opener gets ErrAccountInUse naming the holder, for Run and PollOnce alike, until the
// first stops.
func TestSecondClientOfAccountRefused(t *testing.T) {
	dn := devnettest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "bot.db")
	keys, _ := crypto.GenerateKeys(nil)
	// Two handles on the file, as two processes have.
	open := func() store.Store {
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	first, _ := session.NewTestClient(t, session.WithKeys(keys), session.WithStore(open()), session.WithNetworkConfig(session.NetConfig(dn, true)))
	second, _ := session.NewTestClient(t, session.WithStore(open()), session.WithNetworkConfig(session.NetConfig(dn, true)))
	if second.AccountID() != keys.AccountID() {
		t.Fatal("the second client is not on the file's account")
	}
	runCtx, stop := context.WithCancel(ctx)
	done := runAsync(runCtx, first)
	held := waitLease(t, first)

	for name, poll := range map[string]func(context.Context) error{"Run": second.Run, "PollOnce": second.PollOnce, "PollCommunities": second.PollCommunities} {
		err := poll(ctx)
		var he *store.HeldError
		if !errors.Is(err, session.ErrAccountInUse) || !errors.As(err, &he) || he.Holder != held.Holder {
			t.Fatalf("second client's %s: %v", name, err)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("process %d", os.Getpid())) || !strings.Contains(err.Error(), keys.AccountID().String()) {
			t.Fatalf("the error does not name the holder and the account: %v", err)
		}
		if errors.Is(err, session.ErrStore) {
			t.Fatalf("an account in use is not a store failure: %v", err)
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Released at the end of Run: the second client may poll now.
	if err := second.PollOnce(ctx); err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	hist, err := open().LeaseHistory(ctx, store.AccountLease(keys.AccountID()))
	if err != nil || len(hist) != 2 || !hist[0].Released || hist[1].Holder == hist[0].Holder {
		t.Fatalf("lease history %+v %v", hist, err)
	}
	if err := store.CheckLeaseHistory(hist); err != nil {
		t.Fatal(err)
	}
}

// flakyStore makes the database unreachable on demand (a partition): lease calls hang until
// their deadline and, with all set, every other call fails too.
type flakyStore struct {
	store.Store
	down  *atomic.Bool
	all   bool
	renew *atomic.Int64 // successful renewals
}

var errUnreachable = errors.New("database unreachable")

func (f flakyStore) cut() bool { return f.all && f.down.Load() }

func (f flakyStore) RenewLease(ctx context.Context, l store.Lease, ttl time.Duration) (store.Lease, error) {
	if f.down.Load() {
		<-ctx.Done() // a partition hangs rather than refuses
		return store.Lease{}, errUnreachable
	}
	nl, err := f.Store.RenewLease(ctx, l, ttl)
	if err == nil {
		f.renew.Add(1)
	}
	return nl, err
}
func (f flakyStore) RenewLeases(ctx context.Context, ls []store.Lease, ttl time.Duration) ([]store.Lease, error) {
	if f.down.Load() {
		<-ctx.Done()
		return nil, errUnreachable
	}
	got, err := f.Store.RenewLeases(ctx, ls, ttl)
	if err == nil {
		f.renew.Add(int64(len(got)))
	}
	return got, err
}
func (f flakyStore) ReleaseLease(ctx context.Context, l store.Lease) error {
	if f.down.Load() {
		return errUnreachable
	}
	return f.Store.ReleaseLease(ctx, l)
}
func (f flakyStore) SaveRetrieved(ctx context.Context, c store.Cursor, m []store.Incoming, h string) ([]store.Incoming, error) {
	if f.cut() {
		return nil, errUnreachable
	}
	return f.Store.SaveRetrieved(ctx, c, m, h)
}
func (f flakyStore) LastHash(ctx context.Context, c store.Cursor) (string, error) {
	if f.cut() {
		return "", errUnreachable
	}
	return f.Store.LastHash(ctx, c)
}
func (f flakyStore) Pending(ctx context.Context, a crypto.AccountID) ([]store.Incoming, error) {
	if f.cut() {
		return nil, errUnreachable
	}
	return f.Store.Pending(ctx, a)
}
func (f flakyStore) GetValue(ctx context.Context, b, k string) ([]byte, error) {
	if f.cut() {
		return nil, errUnreachable
	}
	return f.Store.GetValue(ctx, b, k)
}

// A Client cut off from its database stops before its lease can be taken (by the store's
// clock), and is closed: it no longer sends either. With only the lease unreachable, the
// renewer stops it (ErrLeaseLost); with everything unreachable, the first failed read does
// (ErrStore), earlier still.
func TestPartitionedClientStopsBeforeLeaseExpires(t *testing.T) {
	dn := devnettest.Start(t)
	for _, all := range []bool{false, true} {
		t.Run(fmt.Sprintf("all=%v", all), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			mem := store.NewMemory()
			fs := flakyStore{Store: mem, down: new(atomic.Bool), all: all, renew: new(atomic.Int64)}
			const ttl = 1500 * time.Millisecond
			bot, _ := session.NewTestClient(t, session.WithStore(fs), session.WithNetworkConfig(session.NetConfig(dn, true)),
				session.WithLeaseTTL(ttl), session.WithPollInterval(100*time.Millisecond))
			done := runAsync(ctx, bot)
			waitLease(t, bot)
			for deadline := time.Now().Add(30 * time.Second); fs.renew.Load() < 2; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the lease is not being renewed")
				}
			}
			fs.down.Store(true)
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * ttl):
				t.Fatal("the partitioned client kept running")
			}
			stoppedAt := time.Now()
			if !errors.Is(err, session.ErrStore) || !all && !errors.Is(err, session.ErrLeaseLost) {
				t.Fatalf("Run ended with %v", err)
			}
			leases, _ := mem.LeaseHistory(ctx, store.AccountLease(bot.AccountID()))
			if len(leases) != 1 {
				t.Fatalf("history %+v", leases)
			}
			if !stoppedAt.Before(leases[0].Ended) {
				t.Fatalf("stopped at %v, after the lease could be taken (%v)", stoppedAt, leases[0].Ended)
			}
			if !all {
				if _, err := bot.SendText(ctx, bot.AccountID(), "after the loss"); !errors.Is(err, session.ErrClosed) {
					t.Fatalf("a client that lost its lease still sends: %v", err)
				}
			}
			// Another holder takes the account once the lease expired; the old one's writes
			// are refused when the database is back.
			time.Sleep(time.Until(leases[0].Ended) + 10*time.Millisecond)
			if _, err := mem.AcquireLease(ctx, store.LeaseRequest{Name: store.AccountLease(bot.AccountID()), Holder: "next", TTL: time.Minute}); err != nil {
				t.Fatal(err)
			}
			fs.down.Store(false)
			old := store.Lease{Name: leases[0].Name, Holder: leases[0].Holder, Generation: leases[0].Generation}
			if err := store.Fence(mem, old).PutValue(ctx, "x", "y", nil); !errors.Is(err, store.ErrLeaseLost) {
				t.Fatalf("stale write after the partition: %v", err)
			}
			if err := bot.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A Client whose lease another holder took (e.g. after a long pause) stops, and its writes are
// refused by the store.
func TestLeaseTakenStopsClient(t *testing.T) {
	dn := devnettest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mem := store.NewMemory()
	bot, _ := session.NewTestClient(t, session.WithStore(mem), session.WithNetworkConfig(session.NetConfig(dn, true)),
		session.WithLeaseTTL(time.Second), session.WithPollInterval(100*time.Millisecond))
	done := runAsync(ctx, bot)
	l := waitLease(t, bot)
	if _, err := mem.AcquireLease(ctx, store.LeaseRequest{Name: l.Name, Holder: "thief", TTL: time.Minute, Replace: l.Generation}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, session.ErrLeaseLost) {
			t.Fatalf("Run ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a client whose lease was taken kept running")
	}
	if err := store.Fence(mem, l).PutValue(ctx, "x", "y", nil); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("stale write accepted: %v", err)
	}
	if err := bot.Run(ctx); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("Run after the loss: %v", err)
	}
}

// The lease of a process that died on this machine is taken at once, not after its TTL.
func TestDeadLocalHolderReplaced(t *testing.T) {
	dn := devnettest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A holder identity of a process of this machine that has exited.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(store.NewHolderID(), "/")
	parts[1] = fmt.Sprint(cmd.Process.Pid)
	dead := strings.Join(parts, "/")
	mem := store.NewMemory()
	keys, _ := crypto.GenerateKeys(nil)
	if _, err := mem.AcquireLease(ctx, store.LeaseRequest{Name: store.AccountLease(keys.AccountID()), Holder: dead, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	bot, _ := session.NewTestClient(t, session.WithKeys(keys), session.WithStore(mem), session.WithNetworkConfig(session.NetConfig(dn, true)))
	err := bot.PollOnce(ctx)
	if runtime.GOOS != "linux" {
		// Elsewhere the SDK cannot tell a dead local process: it waits for the TTL.
		if !errors.Is(err, session.ErrAccountInUse) {
			t.Fatalf("PollOnce: %v", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("the dead holder's lease was not taken over: %v", err)
	}
	// A live holder (this very process, under another identity) is never replaced.
	if _, err := mem.AcquireLease(ctx, store.LeaseRequest{Name: store.AccountLease(keys.AccountID()), Holder: store.NewHolderID(), TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := bot.PollOnce(ctx); !errors.Is(err, session.ErrAccountInUse) {
		t.Fatalf("a live holder was replaced: %v", err)
	}
}

// Many Clients of different accounts on one store each hold their own lease.
func TestLeasesPerAccount(t *testing.T) {
	dn := devnettest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "many.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var clients []*session.Client
	for i := 0; i < 5; i++ {
		keys, _ := crypto.GenerateKeys(nil)
		c, _ := session.NewTestClient(t, session.WithStore(st), session.WithNetworkConfig(session.NetConfig(dn, true)), session.WithKeys(keys))
		clients = append(clients, c)
		wg.Add(1)
		go func() { defer wg.Done(); _ = c.Run(runCtx) }()
	}
	for _, c := range clients {
		waitLease(t, c)
	}
	ls, err := st.Leases(ctx)
	if err != nil || len(ls) != 5 {
		t.Fatalf("leases %v %v", ls, err)
	}
	stop()
	wg.Wait()
	if ls, _ := st.Leases(ctx); len(ls) != 0 {
		t.Fatalf("leases left after Run ended: %v", ls)
	}
}

// A handler still running when the Client is told to stop (its Run cancelled and Close called
// at once, as a fleet handing the account over may) finishes while the lease is held: the
// lease is released only after it returns, and nothing is delivered once it is released.
func TestNoDeliveryAfterLeaseReleased(t *testing.T) {
	dn := devnettest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nw, err := session.NewNetwork(session.NetConfig(dn, true))
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()
	mem := store.NewMemory()
	bot, _ := session.NewTestClient(t, session.WithStore(mem), session.WithNetwork(nw),
		session.WithLeaseTTL(time.Second), session.WithPollInterval(100*time.Millisecond))
	type delivery struct {
		held bool
		at   time.Time
	}
	var mu sync.Mutex
	var got []delivery
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	bot.AddEventHandler(func(evt session.Event) {
		if _, ok := evt.(*session.Message); !ok {
			return
		}
		once.Do(func() { close(entered); <-release })
		_, held := bot.Lease()
		mu.Lock()
		got = append(got, delivery{held, time.Now()})
		mu.Unlock()
	})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := runAsync(runCtx, bot)
	l := waitLease(t, bot)
	sender, _ := session.NewTestClient(t, session.WithNetwork(nw))
	for _, text := range []string{"one", "two", "three"} {
		if _, err := sender.SendText(ctx, bot.AccountID(), text, session.WithoutSync()); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-entered:
	case <-ctx.Done():
		t.Fatal("no message delivered")
	}
	stop()
	closed := make(chan error, 1)
	go func() { closed <- bot.Close() }()
	time.Sleep(200 * time.Millisecond) // time for a release under the handler
	close(release)
	// Run's ctx ended first: nil, though Close came before its last poll returned (a review
	// found that reporting store failures after the end briefly made this ErrClosed).
	if err := <-done; err != nil {
		t.Fatalf("Run: %v; want nil (its ctx ended)", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	hist, err := mem.LeaseHistory(ctx, l.Name)
	if err != nil || len(hist) != 1 || !hist[0].Released {
		t.Fatalf("lease history %+v, %v", hist, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, d := range got {
		// Ended has the store's millisecond precision.
		if !d.held || d.at.Truncate(time.Millisecond).After(hist[0].Ended) {
			t.Errorf("delivery %d at %v (holding: %v) after the lease ended %+v", i, d.at, d.held, hist[0])
		}
	}
	if _, held := bot.Lease(); held {
		t.Fatal("the lease is still held after Run and Close returned")
	}
}

// failingMarkStore fails the first MarkHandled with err, cancelling the Run first (a handover
// arriving as the write fails).
type failingMarkStore struct {
	store.Store
	err    error
	cancel context.CancelFunc
	once   sync.Once
	failed atomic.Bool
}

func (s *failingMarkStore) MarkHandled(ctx context.Context, a crypto.AccountID, hash string) error {
	var fail bool
	s.once.Do(func() { fail = true })
	if fail {
		s.cancel()
		s.failed.Store(true)
		return s.err
	}
	return s.Store.MarkHandled(ctx, a, hash)
}

// A Run stopped (its ctx cancelled: a fleet's handover) just as recording a handled message
// fails used to return nil, so a fleet reported a clean handover although the message would be
// delivered again by the next holder. The failure is Run's result now: matching ErrLeaseLost
// when the store refused the write under a lost lease, ErrStore for any other failure.
func TestRunReportsAFailedRecordAtItsEnd(t *testing.T) {
	dn := devnettest.Start(t)
	nw, err := session.NewNetwork(session.NetConfig(dn, true))
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()
	for _, tc := range []struct {
		name string
		err  error
		lost bool
	}{
		{"lease lost", &store.LostError{Why: "taken by another holder"}, true},
		{"store failure", errUnreachable, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			runCtx, stop := context.WithCancel(ctx)
			defer stop()
			st := &failingMarkStore{Store: store.NewMemory(), err: tc.err, cancel: stop}
			bot, _ := session.NewTestClient(t, session.WithStore(st), session.WithNetwork(nw),
				session.WithPollInterval(100*time.Millisecond))
			done := runAsync(runCtx, bot)
			waitLease(t, bot)
			sender, _ := session.NewTestClient(t, session.WithNetwork(nw))
			if _, err := sender.SendText(ctx, bot.AccountID(), "hello", session.WithoutSync()); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-done:
			case <-ctx.Done():
				t.Fatal("Run did not end")
			}
			if !st.failed.Load() {
				t.Fatalf("Run ended (%v) before handling the message", err)
			}
			if !errors.Is(err, session.ErrStore) || errors.Is(err, session.ErrLeaseLost) != tc.lost {
				t.Fatalf("Run ended with %v; want the failure (ErrStore, ErrLeaseLost: %v)", err, tc.lost)
			}
		})
	}
}
