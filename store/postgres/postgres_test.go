package postgres_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/postgres"
	"github.com/sessiongo/sdk/store/postgres/pgtest"
	"github.com/sessiongo/sdk/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func open(t *testing.T, dsn string, opts ...store.Option) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts ...store.Option) store.Store { return open(t, pgtest.DSN(t), opts...) })
}

func TestSurvivesReconnect(t *testing.T) {
	dsn := pgtest.DSN(t)
	storetest.Reopen(t, func(t *testing.T) store.Store { return open(t, dsn) })
}

func TestRejectsNewerSchema(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s := open(t, dsn)
	if _, err := s.Pool().Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, postgres.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	_, err := postgres.Open(ctx, dsn)
	if !errors.Is(err, postgres.ErrSchemaTooNew) {
		t.Fatalf("a database from a newer SDK must be refused: %v", err)
	}
	// And left as it was.
	var n int
	if err := s.Pool().QueryRow(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&n); err != nil || n != postgres.SchemaVersion()+1 {
		t.Fatalf("version = %d %v", n, err)
	}
}

// Processes starting together on an empty schema apply each migration once.
func TestConcurrentMigration(t *testing.T) {
	dsn := pgtest.DSN(t)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(context.Background(), dsn)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var rows int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM schema_version`).Scan(&rows); err != nil || rows != postgres.SchemaVersion() {
		t.Fatalf("schema_version rows = %d %v", rows, err)
	}
}

func TestBadDSN(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := postgres.Open(ctx, "host=/nonexistent-dir port=1 user=x connect_timeout=2"); err == nil {
		t.Fatal("unreachable server accepted")
	}
	if _, err := postgres.Open(ctx, "postgres://%zz"); err == nil {
		t.Fatal("malformed DSN accepted")
	}
}
