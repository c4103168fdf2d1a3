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
		storetest.Run(t, func(t *testing.T) store.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
	t.Run("memory", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			s, err := sqlite.Open(context.Background(), ":memory:")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

func TestSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "restart.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	acc := storetest.TestAccount(t, 3)
	if err := s.PutAccount(ctx, acc); err != nil {
		t.Fatal(err)
	}
	c := store.Cursor{Account: acc.ID, Swarm: acc.ID}
	if _, err := s.SaveRetrieved(ctx, c, []store.Incoming{storetest.Msg("x", 0, time.Time{}), storetest.Msg("y", 0, time.Time{})}, "y"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkHandled(ctx, acc.ID, "x"); err != nil {
		t.Fatal(err)
	}
	// "Crash": close without handling y.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(ctx, path)
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
	if fresh, _ := s.SaveRetrieved(ctx, c, []store.Incoming{storetest.Msg("x", 0, time.Time{})}, ""); len(fresh) != 0 {
		t.Fatal("handled message would be delivered twice after restart")
	}
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
