package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/store"
)

func testAccount(t *testing.T, n byte) store.Account {
	t.Helper()
	var seed [32]byte
	seed[0] = n
	k, err := crypto.KeysFromSeed(seed[:16])
	if err != nil {
		t.Fatal(err)
	}
	return store.Account{ID: k.AccountID(), Seed: seed, Name: fmt.Sprintf("bot%d", n), CreatedAt: time.UnixMilli(int64(1700000000000 + int(n)))}
}

// backends returns a fresh store of each kind.
func backends(t *testing.T) map[string]store.Store {
	t.Helper()
	sq, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	mem, err := store.OpenSQLite(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	return map[string]store.Store{"memory": store.NewMemory(), "sqlite": sq, "sqlite-memory": mem}
}

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			a, b := testAccount(t, 2), testAccount(t, 1)
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
			if err := s.DeleteAccount(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetValue(ctx, "contacts", a.ID.String()+"/peer"); !errors.Is(err, store.ErrNotFound) {
				t.Fatal("the account's KV records must go with it")
			}
			if _, err := s.GetValue(ctx, "contacts", b.ID.String()+"/peer"); err != nil {
				t.Fatal("another account's KV records must stay")
			}
			if err := s.DeleteAccount(ctx, a.ID); err != nil {
				t.Fatal("deleting twice must not fail")
			}
			if all, _ := s.Accounts(ctx); len(all) != 1 {
				t.Fatalf("after delete: %v", all)
			}
		})
	}
}

func msg(h string, ns int16, exp time.Time) store.Incoming {
	return store.Incoming{Hash: h, Namespace: ns, Data: []byte("data-" + h), Timestamp: time.UnixMilli(1700000000000), Expiry: exp}
}

func TestInbox(t *testing.T) {
	ctx := context.Background()
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			acc := testAccount(t, 1).ID
			c0 := store.Cursor{Account: acc, Swarm: acc, Namespace: 0}
			c5 := store.Cursor{Account: acc, Swarm: acc, Namespace: 5}
			if h, err := s.LastHash(ctx, c0); err != nil || h != "" {
				t.Fatalf("empty cursor: %q %v", h, err)
			}
			exp := time.UnixMilli(1800000000000)
			fresh, err := s.SaveRetrieved(ctx, c0, []store.Incoming{msg("a", 0, exp), msg("b", 0, exp)}, "b")
			if err != nil || len(fresh) != 2 {
				t.Fatalf("first save: %v %v", fresh, err)
			}
			// Re-retrieving overlapping messages (e.g. after a swarm change) yields only new ones,
			// even across namespaces.
			fresh, err = s.SaveRetrieved(ctx, c5, []store.Incoming{msg("b", 5, exp), msg("c", 5, exp)}, "c")
			if err != nil || len(fresh) != 1 || fresh[0].Hash != "c" {
				t.Fatalf("second save: %v %v", fresh, err)
			}
			if h, _ := s.LastHash(ctx, c0); h != "b" {
				t.Fatalf("last hash ns0 = %q", h)
			}
			if h, _ := s.LastHash(ctx, c5); h != "c" {
				t.Fatalf("last hash ns5 = %q", h)
			}
			p, err := s.Pending(ctx, acc)
			if err != nil || len(p) != 3 || p[0].Hash != "a" || p[2].Hash != "c" || string(p[1].Data) != "data-b" || !p[0].Expiry.Equal(exp) {
				t.Fatalf("pending = %+v %v", p, err)
			}
			if err := s.MarkHandled(ctx, acc, "a"); err != nil {
				t.Fatal(err)
			}
			if p, _ := s.Pending(ctx, acc); len(p) != 2 {
				t.Fatalf("pending after handling = %v", p)
			}
			// A handled message retrieved again is still recognised.
			if fresh, _ := s.SaveRetrieved(ctx, c0, []store.Incoming{msg("a", 0, exp)}, ""); len(fresh) != 0 {
				t.Fatal("handled message came back")
			}
			if h, _ := s.LastHash(ctx, c0); h != "b" {
				t.Fatal("empty lastHash must not move the cursor")
			}
			// Another account sees its own messages only.
			other := testAccount(t, 9).ID
			if fresh, _ := s.SaveRetrieved(ctx, store.Cursor{Account: other, Swarm: other}, []store.Incoming{msg("a", 0, exp)}, "a"); len(fresh) != 1 {
				t.Fatal("hashes must be per account")
			}
			// Prune forgets handled, expired hashes only.
			if err := s.Prune(ctx, exp.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			if fresh, _ := s.SaveRetrieved(ctx, c0, []store.Incoming{msg("a", 0, exp)}, ""); len(fresh) != 1 {
				t.Fatal("pruned hash should be new again")
			}
			if p, _ := s.Pending(ctx, acc); len(p) != 3 {
				t.Fatalf("pending messages must survive pruning: %v", p)
			}
			// A message we stored ourselves is known without ever being pending.
			if err := s.SaveHandled(ctx, acc, msg("own", 0, exp)); err != nil {
				t.Fatal(err)
			}
			if fresh, _ := s.SaveRetrieved(ctx, c0, []store.Incoming{msg("own", 0, exp)}, ""); len(fresh) != 0 {
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
		})
	}
}

func TestKV(t *testing.T) {
	ctx := context.Background()
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
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
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			var wg sync.WaitGroup
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					acc := testAccount(t, byte(w)).ID
					for i := 0; i < 20; i++ {
						h := fmt.Sprintf("h%d-%d", w, i)
						if _, err := s.SaveRetrieved(ctx, store.Cursor{Account: acc, Swarm: acc}, []store.Incoming{msg(h, 0, time.Time{})}, h); err != nil {
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
		})
	}
}

func TestSQLiteSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "restart.db")
	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	acc := testAccount(t, 3)
	if err := s.PutAccount(ctx, acc); err != nil {
		t.Fatal(err)
	}
	c := store.Cursor{Account: acc.ID, Swarm: acc.ID}
	if _, err := s.SaveRetrieved(ctx, c, []store.Incoming{msg("x", 0, time.Time{}), msg("y", 0, time.Time{})}, "y"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkHandled(ctx, acc.ID, "x"); err != nil {
		t.Fatal(err)
	}
	// "Crash": close without handling y.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.GetAccount(ctx, acc.ID); err != nil || got.Seed != acc.Seed {
		t.Fatalf("account lost: %v", err)
	}
	if h, _ := s.LastHash(ctx, c); h != "y" {
		t.Fatalf("cursor lost: %q", h)
	}
	p, err := s.Pending(ctx, acc.ID)
	if err != nil || len(p) != 1 || p[0].Hash != "y" || string(p[0].Data) != "data-y" {
		t.Fatalf("pending after restart: %+v %v", p, err)
	}
	if fresh, _ := s.SaveRetrieved(ctx, c, []store.Incoming{msg("x", 0, time.Time{})}, ""); len(fresh) != 0 {
		t.Fatal("handled message would be delivered twice after restart")
	}
}

func TestSQLiteRejectsNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.db")
	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Simulate a database written by a newer SDK.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_version (version) VALUES (?)`, store.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := store.OpenSQLite(ctx, path); err == nil {
		s.Close()
		t.Fatal("a database from a newer SDK must be refused, not modified")
	}
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, s := range backends(t) {
		if _, err := s.Accounts(ctx); err == nil {
			t.Errorf("%s: cancelled context accepted", name)
		}
	}
}

func ExampleOpenSQLite() {
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, ":memory:")
	if err != nil {
		panic(err)
	}
	defer s.Close()
	keys, _ := crypto.GenerateKeys(nil)
	_ = s.PutAccount(ctx, store.Account{ID: keys.AccountID(), Seed: keys.Seed(), Name: "echo bot"})
	accounts, _ := s.Accounts(ctx)
	fmt.Println(len(accounts), accounts[0].Name)
	// Output: 1 echo bot
}

func mustPending(t *testing.T, s store.Store, acc crypto.AccountID) []store.Incoming {
	t.Helper()
	p, err := s.Pending(context.Background(), acc)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
