package postgres_test

import (
	"context"
	"testing"

	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/postgres"
	"github.com/sessiongo/sdk/store/postgres/pgtest"
	"github.com/sessiongo/sdk/store/storetest"
)

// BenchmarkPostgresStore: messages saved and marked handled per second (msgs/s) on the test
// server, batches of 10 over 100 accounts, plain and fenced by each account's lease (each
// write then also checks the lease in its transaction).
func BenchmarkPostgresStore(b *testing.B) {
	storetest.BenchStore(b, func(b *testing.B) store.Store {
		s, err := postgres.Open(context.Background(), pgtest.DSN(b))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
