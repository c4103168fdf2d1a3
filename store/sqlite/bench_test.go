package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sessiongo/sdk/store/sqlite"
	"github.com/sessiongo/sdk/store/storetest"
)

// BenchmarkSQLiteStore: messages saved and marked handled per second (msgs/s) in a WAL file,
// batches of 10 over 100 accounts, plain and fenced by each account's lease.
func BenchmarkSQLiteStore(b *testing.B) {
	for _, fenced := range []bool{false, true} {
		name := "plain"
		if fenced {
			name = "fenced"
		}
		b.Run(name, func(b *testing.B) {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			storetest.BenchSaveAndHandle(b, s, 100, 10, fenced)
		})
	}
}
