package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/store"
)

const ttl = 2 * time.Second // long enough for a loaded 2-core machine to finish a held phase

func acquire(t *testing.T, s store.Store, name, holder string) store.Lease {
	t.Helper()
	l, err := s.AcquireLease(context.Background(), store.LeaseRequest{Name: name, Holder: holder, TTL: ttl})
	if err != nil {
		t.Fatalf("acquire %s for %s: %v", name, holder, err)
	}
	return l
}

func testLeases(t *testing.T, s store.Store) {
	ctx := context.Background()
	name := store.AccountLease(TestAccount(t, 20).ID)
	before := time.Now().Add(-time.Second)
	a := acquire(t, s, name, "host-a/1/aa/")
	if a.Name != name || a.Holder != "host-a/1/aa/" || a.Generation < 1 || !a.Expires.After(a.Acquired) ||
		a.Acquired.Before(before) || a.Expires.Sub(a.Acquired) < ttl-10*time.Millisecond {
		t.Fatalf("lease = %+v", a)
	}
	if id, ok := a.Account(); !ok || id != TestAccount(t, 20).ID {
		t.Fatal("Account() does not give the account back")
	}
	// Held: nobody else (not even the same holder) acquires it; the error names the holder.
	for _, h := range []string{"host-b/2/bb/", a.Holder} {
		_, err := s.AcquireLease(ctx, store.LeaseRequest{Name: name, Holder: h, TTL: ttl})
		var held *store.HeldError
		if !errors.Is(err, store.ErrAccountInUse) || !errors.As(err, &held) || held.Holder != a.Holder || held.Generation != a.Generation || !strings.Contains(err.Error(), "host-a") {
			t.Fatalf("second acquire by %s: %v", h, err)
		}
	}
	// A stale Replace does not take it either.
	if _, err := s.AcquireLease(ctx, store.LeaseRequest{Name: name, Holder: "host-b/2/bb/", TTL: ttl, Replace: a.Generation + 7}); !errors.Is(err, store.ErrAccountInUse) {
		t.Fatalf("stale replace: %v", err)
	}
	ls, err := s.Leases(ctx)
	if err != nil || len(ls) != 1 || ls[0].Holder != a.Holder || ls[0].Generation != a.Generation {
		t.Fatalf("Leases = %+v %v", ls, err)
	}
	// Renewing keeps the generation and moves the expiry.
	time.Sleep(ttl / 3)
	r, err := s.RenewLease(ctx, a, ttl)
	if err != nil || r.Generation != a.Generation || !r.Expires.After(a.Expires) {
		t.Fatalf("renew: %+v %v", r, err)
	}
	// Released: free at once, with a new generation for the next holder.
	if err := s.ReleaseLease(ctx, r); err != nil {
		t.Fatal(err)
	}
	if ls, _ := s.Leases(ctx); len(ls) != 0 {
		t.Fatalf("released lease still listed: %+v", ls)
	}
	if _, err := s.RenewLease(ctx, r, ttl); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("renew after release: %v", err)
	}
	b := acquire(t, s, name, "host-b/2/bb/")
	if b.Generation != a.Generation+1 {
		t.Fatalf("generation after release = %d, want %d", b.Generation, a.Generation+1)
	}
	if err := s.ReleaseLease(ctx, r); err != nil {
		t.Fatal("releasing a stale lease must do nothing, not fail")
	}
	if ls, _ := s.Leases(ctx); len(ls) != 1 || ls[0].Holder != b.Holder {
		t.Fatal("a stale release ended the current lease")
	}
	// Not renewed within its TTL: another holder takes it, and the old one cannot renew.
	time.Sleep(ttl + 50*time.Millisecond)
	if ls, _ := s.Leases(ctx); len(ls) != 0 {
		t.Fatalf("expired lease still listed: %+v", ls)
	}
	if _, err := s.RenewLease(ctx, b, ttl); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("renew after expiry: %v", err)
	}
	c := acquire(t, s, name, "host-c/3/cc/")
	if c.Generation != b.Generation+1 {
		t.Fatalf("generation after expiry = %d", c.Generation)
	}
	// Replace takes a live lease from a holder known to be gone.
	d, err := s.AcquireLease(ctx, store.LeaseRequest{Name: name, Holder: "host-d/4/dd/", TTL: ttl, Replace: c.Generation})
	if err != nil || d.Generation != c.Generation+1 {
		t.Fatalf("replace: %+v %v", d, err)
	}
	if _, err := s.RenewLease(ctx, c, ttl); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("renew after being replaced: %v", err)
	}
	// Renewing many at once: the current ones are renewed, the stale one is left out.
	e := acquire(t, s, "batch-1", "host-e/5/ee/")
	f := acquire(t, s, "batch-2", "host-e/5/ee/")
	time.Sleep(ttl / 3)
	got, err := s.RenewLeases(ctx, []store.Lease{e, c, f}, ttl)
	if err != nil || len(got) != 2 || got[0].Name != "batch-1" || got[1].Name != "batch-2" ||
		!got[0].Expires.After(e.Expires) || got[1].Generation != f.Generation {
		t.Fatalf("RenewLeases = %+v, %v", got, err)
	}
	if got, err := s.RenewLeases(ctx, nil, ttl); err != nil || len(got) != 0 {
		t.Fatalf("RenewLeases(nil) = %v, %v", got, err)
	}
	for _, l := range []store.Lease{e, f} {
		if err := s.ReleaseLease(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if h, _ := s.LeaseHistory(ctx, "batch-1"); len(h) != 1 || !h[0].Released {
		t.Fatalf("batch history %+v", h)
	}
	// Leases of other names are independent.
	other := acquire(t, s, "fleet:test:member", "host-a/1/aa/")
	if other.Generation != 1 {
		t.Fatalf("another name's first generation = %d", other.Generation)
	}
	// The history has every generation, in order, without overlap.
	h, err := s.LeaseHistory(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 4 {
		t.Fatalf("history = %+v", h)
	}
	for i, want := range []string{"host-a/1/aa/", "host-b/2/bb/", "host-c/3/cc/", "host-d/4/dd/"} {
		if h[i].Holder != want || h[i].Generation != a.Generation+int64(i) || h[i].Name != name {
			t.Fatalf("history[%d] = %+v", i, h[i])
		}
	}
	if !h[0].Released || h[1].Released || h[2].Released {
		t.Fatalf("released flags: %+v", h)
	}
	if !h[0].Ended.Before(h[1].Acquired) && !h[0].Ended.Equal(h[1].Acquired) {
		t.Fatalf("released generation ends after the next began: %+v", h[:2])
	}
	if !h[0].Ended.Before(r.Expires) {
		t.Fatalf("released generation ended at its expiry, not at the release: %+v", h[0])
	}
	if !h[1].Ended.Before(h[2].Acquired) {
		t.Fatalf("expired generation: %+v then %+v", h[1], h[2])
	}
	if h[2].Ended.After(h[3].Acquired) {
		t.Fatalf("replaced generation ends after its successor began: %+v then %+v", h[2], h[3])
	}
	if err := store.CheckLeaseHistory(h); err != nil {
		t.Fatal(err)
	}
	all, err := s.LeaseHistory(ctx, "")
	if err != nil || len(all) != 7 {
		t.Fatalf("whole history: %d %v", len(all), err)
	}
	if err := store.CheckLeaseHistory(all); err != nil {
		t.Fatal(err)
	}
	// Bad requests.
	for _, req := range []store.LeaseRequest{{Name: "", Holder: "x", TTL: ttl}, {Name: "n", Holder: "", TTL: ttl}, {Name: "n", Holder: "x", TTL: 0}, {Name: "n", Holder: "x", TTL: 48 * time.Hour}} {
		if _, err := s.AcquireLease(ctx, req); err == nil {
			t.Fatalf("bad request accepted: %+v", req)
		}
	}
}

// Many holders racing for one lease: exactly one wins each round.
func testLeaseRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	name := store.AccountLease(TestAccount(t, 21).ID)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			_, err := s.AcquireLease(ctx, store.LeaseRequest{Name: name, Holder: "racer/" + string(rune('a'+w)), TTL: time.Minute})
			switch {
			case err == nil:
				mu.Lock()
				wins++
				mu.Unlock()
			case !errors.Is(err, store.ErrAccountInUse):
				t.Error(err)
			}
		}(w)
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d holders acquired one lease", wins)
	}
}

// Writes through a fenced view succeed while its lease is current and are refused, changing
// nothing, once it is not.
func testFencing(t *testing.T, s store.Store) {
	ctx := context.Background()
	acct := TestAccount(t, 22)
	name := store.AccountLease(acct.ID)
	exp := time.Now().Add(time.Hour)
	c := store.Cursor{Account: acct.ID, Swarm: acct.ID}
	l, err := s.AcquireLease(ctx, store.LeaseRequest{Name: name, Holder: "old/1/aa/", TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	f := store.Fence(s, l)
	// Every kind of write works while the lease is held.
	if err := f.PutAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if _, err := f.SaveRetrieved(ctx, c, []store.Incoming{Msg("a", 0, exp), Msg("b", 0, exp)}, "b"); err != nil {
		t.Fatal(err)
	}
	if err := f.MarkHandled(ctx, acct.ID, "a"); err != nil {
		t.Fatal(err)
	}
	if err := f.SaveHandled(ctx, acct.ID, Msg("own", 0, exp)); err != nil {
		t.Fatal(err)
	}
	if err := f.PutValue(ctx, "contacts", acct.ID.String()+"/x", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := f.DeleteValue(ctx, "contacts", acct.ID.String()+"/none"); err != nil {
		t.Fatal(err)
	}
	if err := f.Prune(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Closing a view leaves the store open.
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Accounts(ctx); err != nil {
		t.Fatalf("closing a fenced view closed the store: %v", err)
	}

	lost := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("%s with a lost lease: %v", what, err)
		}
	}
	checkUnchanged := func() {
		t.Helper()
		if h, _ := s.LastHash(ctx, c); h != "b" {
			t.Fatalf("cursor moved by a stale writer: %q", h)
		}
		p, _ := s.Pending(ctx, acct.ID)
		if len(p) != 1 || p[0].Hash != "b" {
			t.Fatalf("pending changed by a stale writer: %+v", p)
		}
		if v, err := s.GetValue(ctx, "contacts", acct.ID.String()+"/x"); err != nil || string(v) != "v" {
			t.Fatalf("value changed by a stale writer: %q %v", v, err)
		}
		if a, err := s.GetAccount(ctx, acct.ID); err != nil || a.Name != acct.Name {
			t.Fatalf("account changed by a stale writer: %v %v", a, err)
		}
	}
	tryAll := func() {
		t.Helper()
		_, err := f.SaveRetrieved(ctx, c, []store.Incoming{Msg("c", 0, exp)}, "c")
		lost("SaveRetrieved", err)
		lost("MarkHandled", f.MarkHandled(ctx, acct.ID, "b"))
		lost("SaveHandled", f.SaveHandled(ctx, acct.ID, Msg("own2", 0, exp)))
		lost("PutValue", f.PutValue(ctx, "contacts", acct.ID.String()+"/x", []byte("stale")))
		lost("DeleteValue", f.DeleteValue(ctx, "contacts", acct.ID.String()+"/x"))
		renamed := acct
		renamed.Name = "stale"
		lost("PutAccount", f.PutAccount(ctx, renamed))
		lost("DeleteAccount", f.DeleteAccount(ctx, acct.ID))
		lost("Prune", f.Prune(ctx, time.Now()))
		checkUnchanged()
		// Reads still work.
		if _, err := f.Pending(ctx, acct.ID); err != nil {
			t.Fatal(err)
		}
	}
	// Expired, nobody took it yet: the old holder may no longer write.
	time.Sleep(ttl + 50*time.Millisecond)
	tryAll()
	// Taken by another holder: still refused, and the new holder's view works.
	nl, err := s.AcquireLease(ctx, store.LeaseRequest{Name: name, Holder: "new/2/bb/", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	tryAll()
	nf := store.Fence(s, nl)
	if _, err := nf.SaveRetrieved(ctx, c, []store.Incoming{Msg("c", 0, exp)}, "c"); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.LastHash(ctx, c); h != "c" {
		t.Fatal("the new holder's write is missing")
	}
	// Once released, the new holder's view is refused too.
	if err := s.ReleaseLease(ctx, nl); err != nil {
		t.Fatal(err)
	}
	lost("write after release", nf.PutValue(ctx, "b", "k", nil))
}

// writeCounter is an application's wrapper of a store (as for metrics): it embeds the store,
// counts the writes and passes them on with the ctx it was given.
type writeCounter struct {
	store.Store
	mu     sync.Mutex
	writes map[string]int
}

func (w *writeCounter) count(what string) {
	w.mu.Lock()
	w.writes[what]++
	w.mu.Unlock()
}

func (w *writeCounter) PutAccount(ctx context.Context, a store.Account) error {
	w.count("PutAccount")
	return w.Store.PutAccount(ctx, a)
}
func (w *writeCounter) SaveRetrieved(ctx context.Context, c store.Cursor, msgs []store.Incoming, last string) ([]store.Incoming, error) {
	w.count("SaveRetrieved")
	return w.Store.SaveRetrieved(ctx, c, msgs, last)
}
func (w *writeCounter) MarkHandled(ctx context.Context, account crypto.AccountID, hash string) error {
	w.count("MarkHandled")
	return w.Store.MarkHandled(ctx, account, hash)
}
func (w *writeCounter) PutValue(ctx context.Context, bucket, key string, value []byte) error {
	w.count("PutValue")
	return w.Store.PutValue(ctx, bucket, key, value)
}

// A store wrapped by the application stays in the path of fenced writes (store.Fence over the
// wrapper, or a ctx from store.WithFence): the wrapper sees every write, and the store under it
// still refuses those of a lease no longer current.
func testFencedWrapper(t *testing.T, s store.Store) {
	ctx := context.Background()
	acct := TestAccount(t, 23)
	w := &writeCounter{Store: s, writes: map[string]int{}}
	c := store.Cursor{Account: acct.ID, Swarm: acct.ID}
	l, err := w.AcquireLease(ctx, store.LeaseRequest{Name: store.AccountLease(acct.ID), Holder: "wrapped/1/aa/", TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	f := store.Fence(w, l)
	if err := f.PutAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if _, err := f.SaveRetrieved(ctx, c, []store.Incoming{Msg("a", 0, time.Time{})}, "a"); err != nil {
		t.Fatal(err)
	}
	if err := w.PutValue(store.WithFence(ctx, l), "b", acct.ID.String()+"/k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	// Taken over: the wrapper still sees the writes, and the store refuses them.
	if _, err := s.AcquireLease(ctx, store.LeaseRequest{Name: l.Name, Holder: "next/2/bb/", TTL: ttl, Replace: l.Generation}); err != nil {
		t.Fatal(err)
	}
	if err := f.MarkHandled(ctx, acct.ID, "a"); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("stale MarkHandled through the wrapper: %v", err)
	}
	if err := w.PutValue(store.WithFence(ctx, l), "b", acct.ID.String()+"/k", []byte("stale")); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("stale PutValue through the wrapper: %v", err)
	}
	want := map[string]int{"PutAccount": 1, "SaveRetrieved": 1, "MarkHandled": 1, "PutValue": 2}
	if fmt.Sprint(w.writes) != fmt.Sprint(want) {
		t.Fatalf("the wrapper saw writes %v, want %v", w.writes, want)
	}
	if p, _ := s.Pending(ctx, acct.ID); len(p) != 1 {
		t.Fatalf("a stale write through the wrapper changed the store: pending %+v", p)
	}
	if v, _ := s.GetValue(ctx, "b", acct.ID.String()+"/k"); string(v) != "v" {
		t.Fatalf("a stale write through the wrapper changed the store: %q", v)
	}
	// Without a fence, writes are not checked (the store's own callers, set-up tools).
	if err := w.PutValue(ctx, "b", acct.ID.String()+"/k", []byte("admin")); err != nil {
		t.Fatal(err)
	}
}

// Reopen checks that what a store saved survives closing it without handling a pending
// message (a crash): open must return a store on the same database each time it is called.
func Reopen(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	ctx := context.Background()
	s := open(t)
	acc := TestAccount(t, 3)
	if err := s.PutAccount(ctx, acc); err != nil {
		t.Fatal(err)
	}
	c := store.Cursor{Account: acc.ID, Swarm: acc.ID}
	if _, err := s.SaveRetrieved(ctx, c, []store.Incoming{Msg("x", 0, time.Time{}), Msg("y", 0, time.Time{})}, "y"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkHandled(ctx, acc.ID, "x"); err != nil {
		t.Fatal(err)
	}
	// "Crash": close without handling y.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t)
	if got, err := s.GetAccount(ctx, acc.ID); err != nil || got.Seed != acc.Seed {
		t.Fatalf("account lost: %v", err)
	}
	if h, _ := s.LastHash(ctx, c); h != "y" {
		t.Fatalf("cursor lost: %q", h)
	}
	p, err := s.Pending(ctx, acc.ID)
	if err != nil || len(p) != 1 || p[0].Hash != "y" || string(p[0].Data) != "data-y" {
		t.Fatalf("pending after reopening: %+v %v", p, err)
	}
	if fresh, _ := s.SaveRetrieved(ctx, c, []store.Incoming{Msg("x", 0, time.Time{})}, ""); len(fresh) != 0 {
		t.Fatal("handled message would be delivered twice after reopening")
	}
}
