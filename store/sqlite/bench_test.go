package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/sqlite"
	"github.com/sessiongo/sdk/store/storetest"
)

// BenchmarkSQLiteStore: messages saved and marked handled per second (msgs/s) in a WAL file,
// batches of 10 over 100 accounts, plain and fenced by each account's lease.
func BenchmarkSQLiteStore(b *testing.B) {
	storetest.BenchStore(b, func(b *testing.B) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
