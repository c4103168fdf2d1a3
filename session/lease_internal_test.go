package session

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/store"
)

// newLeaseClient is a Client on st (closed when tb ends).
func newLeaseClient(tb testing.TB, st store.Store, opts ...Option) *Client {
	c, _ := NewTestClient(tb, append([]Option{WithStore(st)}, opts...)...)
	return c
}

// A poll that runs on after its lease was released (a straggler: bookkeeping that ignores
// cancellation, a poll that ignored it) used to write unfenced, since "no lease held" read as
// "not polling": over what the account's next holder wrote. Its writes are now fenced by the
// poll's own generation and refused; a write outside any poll takes a lease of its own, and is
// refused with ErrAccountInUse while another holder has the account.
func TestPollWriteAfterReleaseRefused(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMemory()
	c := newLeaseClient(t, mem, WithLeaseTTL(time.Second))
	pctx, err := c.startLease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.store.PutValue(pctx, "b", "k", []byte("poll")); err != nil {
		t.Fatalf("a poll's write under its lease: %v", err)
	}
	if err := c.finishLease(nil); err != nil {
		t.Fatal(err)
	}
	// The next holder takes the account and writes.
	l, err := mem.AcquireLease(ctx, store.LeaseRequest{Name: store.AccountLease(c.id), Holder: "next", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Fence(mem, l).PutValue(ctx, "b", "k", []byte("next")); err != nil {
		t.Fatal(err)
	}
	// The poll's bookkeeping (which ignores cancellation), then the poll itself.
	for i, wctx := range []context.Context{context.WithoutCancel(pctx), pctx} {
		if err := c.store.PutValue(wctx, "b", "k", []byte("stale")); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("write %d of the poll after its lease was released: %v", i, err)
		}
	}
	if err := c.store.PutValue(ctx, "b", "k", []byte("outside")); !errors.Is(err, ErrAccountInUse) {
		t.Fatalf("a write outside a poll while another holder has the account: %v", err)
	}
	if v, _ := mem.GetValue(ctx, "b", "k"); string(v) != "next" {
		t.Fatalf("the next holder's value was overwritten: %q", v)
	}
	// Once the other holder is gone, a write outside a poll takes a lease of its own, held
	// while writes follow and released when they stop.
	if err := mem.ReleaseLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := c.store.PutValue(ctx, "b", "k", []byte("mine")); err != nil {
		t.Fatal(err)
	}
	wl, held := c.Lease()
	if !held || wl.Generation != l.Generation+1 {
		t.Fatalf("write lease %+v held=%v", wl, held)
	}
	// A poll starting now takes that lease over (no second acquisition by the same Client).
	pctx, err = c.startLease(ctx)
	if err != nil {
		t.Fatalf("a poll after a write: %v", err)
	}
	if pl, _ := c.Lease(); pl.Generation != wl.Generation {
		t.Fatalf("the poll took generation %d, not the write lease's %d", pl.Generation, wl.Generation)
	}
	if err := c.finishLease(nil); err != nil {
		t.Fatal(err)
	}
	if err := c.store.PutValue(ctx, "b", "k", []byte("again")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, held := c.Lease(); !held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an idle write lease was never released")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ls, _ := mem.Leases(ctx); len(ls) != 0 {
		t.Fatalf("the idle write lease is still held in the store: %+v", ls)
	}
	hist, _ := mem.LeaseHistory(ctx, store.AccountLease(c.id))
	if err := store.CheckLeaseHistory(hist); err != nil || len(hist) != 4 {
		t.Fatalf("history %+v: %v", hist, err)
	}
}

// A poll's context handed to another Client (a handler of AddEventHandlerE gets it, and may
// pass it on) fences nothing there: that Client writes under its own lease.
func TestPollContextOfAnotherClient(t *testing.T) {
	mem := store.NewMemory()
	var cs [2]*Client
	for i := range cs {
		k, err := crypto.GenerateKeys(nil)
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = newLeaseClient(t, mem, WithKeys(k))
	}
	pctx, err := cs[0].startLease(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer cs[0].finishLease(nil)
	if err := cs[1].store.PutValue(pctx, "b", "k", []byte("v")); err != nil {
		t.Fatalf("a write of one Client with another's poll context: %v", err)
	}
	if l, held := cs[1].Lease(); !held || l.Name != store.AccountLease(cs[1].id) {
		t.Fatalf("the write was not made under the writer's own lease: %+v %v", l, held)
	}
}

// A lease that the store renewed after its keeper had given up (the reply came after the local
// deadline) is released when the reply comes, so that the account need not wait a TTL for it
// to expire.
func TestLateRenewalReleased(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMemory()
	const ttl = 3 * time.Second
	// The first renewal (a third of the TTL in) commits well before the lease expires in the
	// store, but its reply comes after the local deadline (9/10 of the TTL).
	st := &lateRenewStore{Memory: mem, before: 1200 * time.Millisecond, after: 800 * time.Millisecond, renewed: make(chan time.Time, 1)}
	c := newLeaseClient(t, st, WithLeaseTTL(ttl))
	pctx, err := c.startLease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-pctx.Done():
	case <-time.After(3 * ttl):
		t.Fatal("the lease was not lost although its renewal came too late")
	}
	if err := c.finishLease(nil); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("the poll ended with %v", err)
	}
	returned := <-st.renewed
	for {
		ls, _ := mem.Leases(ctx)
		if len(ls) == 0 {
			break
		}
		if time.Since(returned) > ttl/3 {
			t.Fatalf("the lease renewed too late is still held %v after the renewal returned: %+v", time.Since(returned), ls)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lateRenewStore renews after before, whatever the caller's deadline, and replies after after
// more (a database that committed the renewal, whose reply came after the client gave up
// waiting), and says when it replied.
type lateRenewStore struct {
	*store.Memory
	before, after time.Duration
	renewed       chan time.Time
}

func (s *lateRenewStore) RenewLeases(ctx context.Context, ls []store.Lease, ttl time.Duration) ([]store.Lease, error) {
	time.Sleep(s.before)
	got, err := s.Memory.RenewLeases(context.Background(), ls, ttl)
	time.Sleep(s.after)
	select {
	case s.renewed <- time.Now():
	default:
	}
	return got, err
}

// BenchmarkLeaseHeap measures the heap a Client's lease state adds per account: 2,000 Clients
// on one Network, with and without a held lease (as a running Client holds it).
func BenchmarkLeaseHeap(b *testing.B) {
	const n = 2000
	mem := store.NewMemory()
	nw, err := NewNetwork(NetworkConfig{Store: mem})
	if err != nil {
		b.Fatal(err)
	}
	defer nw.Close()
	measure := func(hold bool) float64 {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		cs := make([]*Client, n)
		for i := range cs {
			k, err := crypto.GenerateKeys(nil)
			if err != nil {
				b.Fatal(err)
			}
			cs[i] = newLeaseClient(b, mem, WithNetwork(nw), WithKeys(k))
			if hold {
				if _, err := cs[i].startLease(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		for _, c := range cs {
			if hold {
				c.finishLease(nil)
			}
			c.Close()
		}
		return float64(after.HeapAlloc-before.HeapAlloc) / n
	}
	for range b.N {
		idle, held := measure(false), measure(true)
		b.ReportMetric(idle, "clientB/account")
		b.ReportMetric(held-idle, "heldB/account")
	}
}

// hangingStore's reads wait for their ctx (an unreachable database) once hang is set.
type hangingStore struct {
	store.Store
	hang    atomic.Bool
	release chan struct{}
}

func (s *hangingStore) GetValue(ctx context.Context, bucket, key string) ([]byte, error) {
	if s.hang.Load() {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.release:
			return nil, errors.New("the read was never bounded")
		}
	}
	return s.Store.GetValue(ctx, bucket, key)
}

// A poll's bookkeeping ignores cancellation (context.WithoutCancel). Once its lease was lost,
// its reads used to be bounded by nothing (the lease's deadline applied only while held), so a
// read hanging on an unreachable database kept the poll, and so Run, from ending for as long:
// a fleet then saw a Client that neither served nor stopped. Such a read fails at once now,
// with the loss; a read outside any poll (the application's) is not cut short.
func TestPollReadAfterLossFailsAtOnce(t *testing.T) {
	ctx := context.Background()
	st := &hangingStore{Store: store.NewMemory(), release: make(chan struct{})}
	c := newLeaseClient(t, st, WithLeaseTTL(time.Minute))
	pctx, err := c.startLease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := c.Lease()
	c.lease.lose(&store.LostError{Lease: l, Why: "test"})
	st.hang.Store(true)
	got := make(chan error, 1)
	go func() {
		_, err := c.store.GetValue(context.WithoutCancel(pctx), "b", "k")
		got <- err
	}()
	select {
	case err := <-got:
		if !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("the poll's read after its lease was lost: %v", err)
		}
	case <-time.After(10 * time.Second):
		close(st.release)
		t.Fatalf("the poll's read after its lease was lost waited on the store: %v", <-got)
	}
	// The application's own read (no poll in its ctx) waits as the store does: here until
	// its own deadline.
	actx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.store.GetValue(actx, "b", "k"); err == nil || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("a read outside a poll was cut short (%v after %v)", err, time.Since(start))
	}
	_ = c.finishLease(nil)
}

// Sends to groups and communities used to go out before the Client took the account's lease
// (their bookkeeping came after the network call, if any), so a Client that does not serve the
// account (another process polls it, e.g. a fleet member) sent anyway; group admin operations
// pushed new keys and configs, then were refused when saving them.
// Like 1:1 sends, they take the lease first now: refused with ErrAccountInUse naming the
// holder, and nothing reaches the group's swarm or the community server.
func TestGroupAndCommunitySendsRefusedWhileServedElsewhere(t *testing.T) {
	dn := devnettest.Start(t)
	srv, _ := StartLobby(t, dn)
	cfg := NetConfig(dn, false)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, member := gNewPeer(t, cfg, "Admin"), gNewPeer(t, cfg, "Member")
	g, err := admin.CreateGroup(ctx, "Fenced", member.AccountID())
	if err != nil {
		t.Fatal(err)
	}
	url := srv.JoinURL("lobby")
	// The account's holder: a poll of the admin's Client (as a fleet member's Run holds it).
	if _, err := admin.startLease(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.finishLease(nil) }()
	held, _ := admin.Lease()
	// A Client of the same account in another process (its own holder), on the same database.
	other, _ := NewTestClient(t, WithNetworkConfig(cfg), WithStore(admin.store), WithAccount(admin.AccountID()),
		WithLeaseHolder("another process"))
	stored := func() int {
		n := 0
		for _, node := range dn.Nodes() {
			n += node.MessageCount()
		}
		return n
	}
	before := stored()
	refused := func(what string, err error) {
		t.Helper()
		var he *store.HeldError
		if !errors.Is(err, ErrAccountInUse) || !errors.As(err, &he) || he.Holder != held.Holder {
			t.Fatalf("%s while another holder serves the account: %v", what, err)
		}
	}
	_, err = other.SendGroupText(ctx, g.ID, "refused")
	refused("a group send", err)
	_, err = other.SendCommunityMessage(ctx, url, "refused")
	refused("a community post", err)
	_, err = other.SendCommunityDM(ctx, url, member.AccountID(), "refused")
	refused("a community DM", err)
	// Admin operations push keys and configs before they save: refused before them too.
	refused("a group rename", other.SetGroupName(ctx, g.ID, "renamed", nil))
	newcomer, _ := crypto.GenerateKeys(nil)
	refused("an invitation", other.InviteToGroup(ctx, g.ID, newcomer.AccountID()))
	refused("a reaction", other.ReactInCommunity(ctx, url, 1, "+1"))
	if n := stored(); n != before {
		t.Fatalf("the swarms hold %d messages after the refused sends, %d before", n, before)
	}
	if msgs, err := srv.Messages("lobby"); err != nil || len(msgs) != 0 {
		t.Fatalf("the room has %d posts (%v)", len(msgs), err)
	}
	if dms := srv.Inbox(member.AccountID()); len(dms) != 0 {
		t.Fatalf("the community delivered %d DMs", len(dms))
	}
	// The holder itself sends as before.
	if _, err := admin.SendGroupText(ctx, g.ID, "from the holder"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.SendCommunityMessage(ctx, url, "from the holder"); err != nil {
		t.Fatal(err)
	}
}

// slowReleaseStore takes a while to release a lease (a slow database), saying when one began.
type slowReleaseStore struct {
	*store.Memory
	began chan struct{}
}

func (s *slowReleaseStore) ReleaseLease(ctx context.Context, l store.Lease) error {
	select {
	case s.began <- struct{}{}:
	default:
	}
	time.Sleep(300 * time.Millisecond)
	return s.Memory.ReleaseLease(ctx, l)
}

// A poll starting while the Client's idle write lease was being released in the store used to
// be refused by that very lease (ErrAccountInUse naming its own process): the release cleared
// the Client's hold before the store's. Releases and acquisitions are serialised now. Found by
// review.
func TestPollStartingDuringIdleReleaseNotRefused(t *testing.T) {
	ctx := context.Background()
	st := &slowReleaseStore{Memory: store.NewMemory(), began: make(chan struct{}, 1)}
	c := newLeaseClient(t, st, WithLeaseTTL(time.Second))
	if err := c.store.PutValue(ctx, "b", "k", []byte("v")); err != nil { // takes a write lease
		t.Fatal(err)
	}
	select {
	case <-st.began: // released when idle: the store's release is under way
	case <-time.After(10 * time.Second):
		t.Fatal("the idle write lease was never released")
	}
	if _, err := c.startLease(ctx); err != nil {
		t.Fatalf("a poll starting as the idle lease is released: %v", err)
	}
	if err := c.finishLease(nil); err != nil {
		t.Fatal(err)
	}
}
