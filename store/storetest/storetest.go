// Package storetest is the conformance suite of store.Store: every implementation (Memory,
// SQLite, PostgreSQL, or an application's own) must pass it. Call Run from a test with a function
// that opens a fresh, empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/store"
)

// Opener returns a new, empty store for one test, made with opts; it registers the store's
// closing with t.Cleanup.
type Opener func(t *testing.T, opts ...store.Option) store.Store

// Run runs every conformance test on stores made by open, each as a subtest.
func Run(t *testing.T, open Opener) {
	t.Helper()
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, open(t)) })
	t.Run("AccountRedacted", func(t *testing.T) { testAccountRedacted(t, open(t)) })
	t.Run("Inbox", func(t *testing.T) { testInbox(t, open(t)) })
	t.Run("PruneBounds", func(t *testing.T) { testPruneBounds(t, open(t)) })
	t.Run("SeenBound", func(t *testing.T) { testSeenBound(t, open(t, store.WithMaxSeenPerAccount(50))) })
	t.Run("KV", func(t *testing.T) { testKV(t, open(t)) })
	t.Run("AnyBytes", func(t *testing.T) { testAnyBytes(t, open(t)) })
	t.Run("ConcurrentUse", func(t *testing.T) { testConcurrentUse(t, open(t)) })
	t.Run("ContextCancelled", func(t *testing.T) { testContextCancelled(t, open(t)) })
	t.Run("Leases", func(t *testing.T) { testLeases(t, open(t)) })
	t.Run("LeaseRace", func(t *testing.T) { testLeaseRace(t, open(t)) })
	t.Run("Fencing", func(t *testing.T) { testFencing(t, open(t)) })
	t.Run("FencedWrapper", func(t *testing.T) { testFencedWrapper(t, open(t)) })
}

// TestAccount returns a deterministic account numbered n (its CreatedAt grows with n).
func TestAccount(t testing.TB, n int) store.Account {
	t.Helper()
	var seed [32]byte
	seed[0], seed[1] = byte(n), byte(n>>8)
	k, err := crypto.KeysFromSeed(seed[:16])
	if err != nil {
		t.Fatal(err)
	}
	return store.Account{ID: k.AccountID(), Seed: seed, Name: fmt.Sprintf("bot%d", n),
		CreatedAt: time.UnixMilli(int64(1700000000000 + n))}
}

// Msg returns a retrieved message with hash h in namespace ns expiring at exp.
func Msg(h string, ns int16, exp time.Time) store.Incoming {
	return store.Incoming{Hash: h, Namespace: ns, Data: []byte("data-" + h),
		Timestamp: time.UnixMilli(1700000000000), Expiry: exp}
}

func testAccounts(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := TestAccount(t, 2), TestAccount(t, 1)
	if _, err := s.GetAccount(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing account: %v", err)
	}
	for _, acc := range []store.Account{a, b} {
		if err := s.PutAccount(ctx, acc); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetAccount(ctx, a.ID)
	if err != nil || got.Seed != a.Seed || got.Name != "bot2" || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("GetAccount = %+v, %v", got, err)
	}
	k, err := got.Keys()
	if err != nil || k.AccountID() != a.ID {
		t.Fatal("Keys() does not give the account back")
	}
	all, err := s.Accounts(ctx)
	if err != nil || len(all) != 2 || all[0].ID != b.ID {
		t.Fatalf("Accounts = %v, %v", all, err)
	}
	a.Name = "renamed"
	if err := s.PutAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetAccount(ctx, a.ID); got.Name != "renamed" {
		t.Fatal("replace failed")
	}
	if err := s.PutValue(ctx, "contacts", a.ID.String()+"/peer", []byte("approved")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutValue(ctx, "contacts", b.ID.String()+"/peer", []byte("approved")); err != nil {
		t.Fatal(err)
	}
	// A key that merely looks like a prefix pattern must not be taken for one.
	if err := s.PutValue(ctx, "contacts", "%/peer", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetValue(ctx, "contacts", a.ID.String()+"/peer"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("the account's KV records must go with it")
	}
	if _, err := s.GetValue(ctx, "contacts", b.ID.String()+"/peer"); err != nil {
		t.Fatal("another account's KV records must stay")
	}
	if _, err := s.GetValue(ctx, "contacts", "%/peer"); err != nil {
		t.Fatal("an unrelated KV record must stay")
	}
	if err := s.DeleteAccount(ctx, a.ID); err != nil {
		t.Fatal("deleting twice must not fail")
	}
	if all, _ := s.Accounts(ctx); len(all) != 1 {
		t.Fatalf("after delete: %v", all)
	}
}

func testInbox(t *testing.T, s store.Store) {
	ctx := context.Background()
	acc := TestAccount(t, 1).ID
	c0 := store.Cursor{Account: acc, Swarm: acc, Namespace: 0}
	c5 := store.Cursor{Account: acc, Swarm: acc, Namespace: 5}
	if h, err := s.LastHash(ctx, c0); err != nil || h != "" {
		t.Fatalf("empty cursor: %q %v", h, err)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	beforeSave := time.Now().Truncate(time.Millisecond)
	fresh, err := s.SaveRetrieved(ctx, c0, []store.Incoming{Msg("a", 0, exp), Msg("b", 0, exp)}, "b")
	afterSave := time.Now()
	if err != nil || len(fresh) != 2 {
		t.Fatalf("first save: %v %v", fresh, err)
	}
	// Re-retrieving overlapping messages (e.g. after a swarm change) yields only new ones,
	// even across namespaces.
	fresh, err = s.SaveRetrieved(ctx, c5, []store.Incoming{Msg("b", 5, exp), Msg("c", 5, exp)}, "c")
	if err != nil || len(fresh) != 1 || fresh[0].Hash != "c" {
		t.Fatalf("second save: %v %v", fresh, err)
	}
	// The same hash twice in one batch is one message.
	fresh, err = s.SaveRetrieved(ctx, c5, []store.Incoming{Msg("d", 5, exp), Msg("d", 5, exp)}, "d")
	if err != nil || len(fresh) != 1 {
		t.Fatalf("duplicate in one batch: %v %v", fresh, err)
	}
	if err := s.MarkHandled(ctx, acc, "d"); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.LastHash(ctx, c0); h != "b" {
		t.Fatalf("last hash ns0 = %q", h)
	}
	if h, _ := s.LastHash(ctx, c5); h != "d" {
		t.Fatalf("last hash ns5 = %q", h)
	}
	p, err := s.Pending(ctx, acc)
	if err != nil || len(p) != 3 || p[0].Hash != "a" || p[2].Hash != "c" || string(p[1].Data) != "data-b" || !p[0].Expiry.Equal(exp) {
		t.Fatalf("pending = %+v %v", p, err)
	}
	// When each was saved, by the store's clock (a client tells a replay from a message that
	// waited through an outage by it).
	if p[0].Saved.Before(beforeSave) || p[0].Saved.After(afterSave) {
		t.Fatalf("pending %q saved at %v, not between %v and %v", p[0].Hash, p[0].Saved, beforeSave, afterSave)
	}
	if err := s.MarkHandled(ctx, acc, "a"); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Pending(ctx, acc); len(p) != 2 {
		t.Fatalf("pending after handling = %v", p)
	}
	// A handled message retrieved again is still recognised.
	if fresh, _ := s.SaveRetrieved(ctx, c0, []store.Incoming{Msg("a", 0, exp)}, ""); len(fresh) != 0 {
		t.Fatal("handled message came back")
	}
	if h, _ := s.LastHash(ctx, c0); h != "b" {
		t.Fatal("empty lastHash must not move the cursor")
	}
	// Another account sees its own messages only.
	other := TestAccount(t, 9).ID
	if fresh, _ := s.SaveRetrieved(ctx, store.Cursor{Account: other, Swarm: other}, []store.Incoming{Msg("a", 0, exp)}, "a"); len(fresh) != 1 {
		t.Fatal("hashes must be per account")
	}
	// Prune forgets handled hashes only, MaxMessageTTL + PruneMargin after they were saved
	// (whatever the message's expiry: an hour here).
	saved := exp.Add(-time.Hour) // a little before the records were saved
	if err := s.Prune(ctx, exp.Add(store.PruneMargin+time.Minute)); err != nil {
		t.Fatal(err)
	}
	if fresh, _ := s.SaveRetrieved(ctx, c0, []store.Incoming{Msg("a", 0, exp)}, ""); len(fresh) != 0 {
		t.Fatal("a hash was pruned at its expiry plus the margin, long before MaxMessageTTL + PruneMargin")
	}
	if err := s.Prune(ctx, store.SeenUntil(saved).Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if fresh, _ := s.SaveRetrieved(ctx, c0, []store.Incoming{Msg("a", 0, exp)}, ""); len(fresh) != 1 {
		t.Fatal("pruned hash should be new again")
	}
	if p, _ := s.Pending(ctx, acc); len(p) != 3 {
		t.Fatalf("pending messages must survive pruning: %v", p)
	}
	// A message we stored ourselves is known without ever being pending.
	if err := s.SaveHandled(ctx, acc, Msg("own", 0, exp)); err != nil {
		t.Fatal(err)
	}
	if fresh, _ := s.SaveRetrieved(ctx, c0, []store.Incoming{Msg("own", 0, exp)}, ""); len(fresh) != 0 {
		t.Fatal("a message saved as handled came back as new")
	}
	for _, p := range mustPending(t, s, acc) {
		if p.Hash == "own" {
			t.Fatal("a message saved as handled is pending")
		}
	}
	if err := s.DeleteAccount(ctx, acc); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Pending(ctx, acc); len(p) != 0 {
		t.Fatal("delete account must drop its messages")
	}
	if h, _ := s.LastHash(ctx, c0); h != "" {
		t.Fatal("delete account must drop its cursors")
	}
}

func testKV(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.GetValue(ctx, "pool", "main"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	if err := s.PutValue(ctx, "pool", "main", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutValue(ctx, "pool", "main", []byte("y")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetValue(ctx, "pool", "main"); err != nil || string(v) != "y" {
		t.Fatalf("%q %v", v, err)
	}
	if err := s.PutValue(ctx, "pool", "empty", nil); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetValue(ctx, "pool", "empty"); err != nil || len(v) != 0 {
		t.Fatalf("empty value: %q %v", v, err)
	}
	if err := s.DeleteValue(ctx, "pool", "main"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetValue(ctx, "pool", "main"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("deleted value still there")
	}
	if err := s.DeleteValue(ctx, "pool", "main"); err != nil {
		t.Fatal("deleting a missing value must not fail")
	}
}

func testConcurrentUse(t *testing.T, s store.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			acc := TestAccount(t, w).ID
			for i := 0; i < 20; i++ {
				h := fmt.Sprintf("h%d-%d", w, i)
				if _, err := s.SaveRetrieved(ctx, store.Cursor{Account: acc, Swarm: acc}, []store.Incoming{Msg(h, 0, time.Time{})}, h); err != nil {
					t.Error(err)
					return
				}
				if err := s.MarkHandled(ctx, acc, h); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
}

func testContextCancelled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Accounts(ctx); err == nil {
		t.Error("cancelled context accepted by Accounts")
	}
	if err := s.PutValue(ctx, "b", "k", nil); err == nil {
		t.Error("cancelled context accepted by PutValue")
	}
}

func mustPending(t *testing.T, s store.Store, acc crypto.AccountID) []store.Incoming {
	t.Helper()
	p, err := s.Pending(context.Background(), acc)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Hashes, cursors and KV keys are whatever a node or an application gives: NUL bytes and invalid
// UTF-8 must round-trip, not fail a write (which would end a client's Run).
func testAnyBytes(t *testing.T, s store.Store) {
	ctx := context.Background()
	acc := TestAccount(t, 30).ID
	c := store.Cursor{Account: acc, Swarm: acc, Namespace: -10}
	odd := []string{"nul\x00byte", "bad\xff\xfeutf8", "", "'; DROP TABLE kv; --", "%_\\"}
	var msgs []store.Incoming
	for i, h := range odd {
		if h == "" {
			continue
		}
		m := Msg(h, -10, time.Time{})
		m.Data = []byte{0, byte(i), 0xff}
		msgs = append(msgs, m)
	}
	fresh, err := s.SaveRetrieved(ctx, c, msgs, odd[1])
	if err != nil || len(fresh) != len(msgs) {
		t.Fatalf("save odd hashes: %d %v", len(fresh), err)
	}
	if h, err := s.LastHash(ctx, c); err != nil || h != odd[1] {
		t.Fatalf("cursor = %q %v", h, err)
	}
	p, err := s.Pending(ctx, acc)
	if err != nil || len(p) != len(msgs) {
		t.Fatalf("pending %v %v", p, err)
	}
	for i := range p {
		if p[i].Hash != msgs[i].Hash || string(p[i].Data) != string(msgs[i].Data) || p[i].Namespace != -10 {
			t.Fatalf("pending[%d] = %+v, want %+v", i, p[i], msgs[i])
		}
		if err := s.MarkHandled(ctx, acc, p[i].Hash); err != nil {
			t.Fatal(err)
		}
	}
	if fresh, _ := s.SaveRetrieved(ctx, c, msgs, ""); len(fresh) != 0 {
		t.Fatal("odd hashes not recognised")
	}
	for _, k := range odd {
		if err := s.PutValue(ctx, k, k, []byte(k)); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	for _, k := range odd {
		if v, err := s.GetValue(ctx, k, k); err != nil || string(v) != k {
			t.Fatalf("get %q = %q %v", k, v, err)
		}
	}
}
