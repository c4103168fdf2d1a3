package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/sqlite"
	"github.com/sessiongo/sdk/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, opts ...store.Option) store.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
	t.Run("memory", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, opts ...store.Option) store.Store {
			s, err := sqlite.Open(context.Background(), ":memory:", opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

func TestSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "restart.db")
	storetest.Reopen(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestRejectsNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Simulate a database written by a newer SDK.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_version (version) VALUES (?)`, sqlite.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := sqlite.Open(ctx, path); err == nil {
		s.Close()
		t.Fatal("a database from a newer SDK must be refused, not modified")
	}
}

// Issue 16 (6): a path in a missing directory used to fail at the first query with SQLite's
// "unable to open database file: out of memory (14)".
func TestBadPathClearError(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such", "dir", "bot.db")
	_, err := sqlite.Open(ctx, missing)
	if !errors.Is(err, sqlite.ErrBadPath) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing directory: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, filepath.Join(dir, "no", "such", "dir")) || !strings.Contains(msg, "does not exist") || strings.Contains(msg, "out of memory") {
		t.Fatalf("unclear error: %q", msg)
	}
	if _, err := sqlite.Open(ctx, dir); !errors.Is(err, sqlite.ErrBadPath) || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("directory as path: %v", err)
	}
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Open(ctx, filepath.Join(file, "bot.db")); !errors.Is(err, sqlite.ErrBadPath) || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("file as directory: %v", err)
	}
	if _, err := sqlite.Open(ctx, ""); !errors.Is(err, sqlite.ErrBadPath) {
		t.Fatalf("empty path: %v", err)
	}
	// A file in an existing directory opens.
	s, err := sqlite.Open(ctx, filepath.Join(dir, "ok.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func ExampleOpen() {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, ":memory:")
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

// A database of schema 1 (before bounds and leases) is migrated with its data: every record is
// kept MaxMessageTTL + PruneMargin from the migration whatever its expiry (the time it was saved
// is unknown), the per-account counts are right, leases work.
func TestMigrateFromV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	acc := storetest.TestAccount(t, 1)
	now := time.Now()
	for _, q := range []string{string(v1), `CREATE TABLE schema_version (version INTEGER NOT NULL)`, `INSERT INTO schema_version VALUES (1)`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for i, exp := range []int64{0, now.Add(time.Hour).UnixMilli(), time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()} {
		if _, err := db.Exec(`INSERT INTO messages (account, hash, namespace, data, ts, expiry, handled) VALUES (?, ?, 0, NULL, 1, ?, 1)`,
			acc.ID[:], fmt.Sprint("h", i), exp); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := sqlite.Open(ctx, path, store.WithMaxSeenPerAccount(3))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The hour-long message is kept past its expiry plus the margin; every record is bounded.
	c := store.Cursor{Account: acc.ID, Swarm: acc.ID}
	all := func() []store.Incoming {
		return []store.Incoming{storetest.Msg("h0", 0, time.Time{}), storetest.Msg("h1", 0, time.Time{}), storetest.Msg("h2", 0, time.Time{})}
	}
	for _, at := range []time.Time{now.Add(time.Hour + store.PruneMargin + time.Minute), store.SeenUntil(now).Add(-time.Hour)} {
		if err := s.Prune(ctx, at); err != nil {
			t.Fatal(err)
		}
		if fresh, err := s.SaveRetrieved(ctx, c, all(), ""); err != nil || len(fresh) != 0 {
			t.Fatalf("after migration and pruning at now+%v: %v %v", at.Sub(now), fresh, err)
		}
	}
	if err := s.Prune(ctx, store.SeenUntil(now).Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if fresh, _ := s.SaveRetrieved(ctx, c, all(), ""); len(fresh) != 3 {
		t.Fatalf("records outlived the bound: %v", fresh)
	}
	if _, err := s.AcquireLease(ctx, store.LeaseRequest{Name: "x", Holder: "h", TTL: time.Second}); err != nil {
		t.Fatal(err)
	}
}

// Two handles on one file (as two processes have) share leases and fencing.
func TestLeasesAcrossHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	a, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	la, err := a.AcquireLease(ctx, store.LeaseRequest{Name: "acct", Holder: "A", TTL: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.AcquireLease(ctx, store.LeaseRequest{Name: "acct", Holder: "B", TTL: time.Minute}); !errors.Is(err, store.ErrAccountInUse) {
		t.Fatalf("second handle acquired a held lease: %v", err)
	}
	time.Sleep(400 * time.Millisecond)
	lb, err := b.AcquireLease(ctx, store.LeaseRequest{Name: "acct", Holder: "B", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Fence(a, la).PutValue(ctx, "k", "v", []byte("stale")); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("stale write through the other handle: %v", err)
	}
	if err := store.Fence(b, lb).PutValue(ctx, "k", "v", []byte("fresh")); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.GetValue(ctx, "k", "v"); string(v) != "fresh" {
		t.Fatalf("value = %q", v)
	}
	h, err := a.LeaseHistory(ctx, "acct")
	if err != nil || len(h) != 2 {
		t.Fatalf("history %v %v", h, err)
	}
	if err := store.CheckLeaseHistory(h); err != nil {
		t.Fatal(err)
	}
}
