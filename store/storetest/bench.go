package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessiongo/sdk/store"
)

// BenchStore runs BenchSaveAndHandle on stores made by open (closed after each run), as
// sub-benchmarks "plain" and "fenced": batches of 10 messages over 100 accounts.
func BenchStore(b *testing.B, open func(b *testing.B) store.Store) {
	for _, name := range []string{"plain", "fenced"} {
		fenced := name == "fenced"
		b.Run(name, func(b *testing.B) {
			s := open(b)
			defer s.Close()
			BenchSaveAndHandle(b, s, 100, 10, fenced)
		})
	}
}

// BenchSaveAndHandle measures what a client does with each message: save a retrieved batch
// (SaveRetrieved, batches of batch messages) and mark each handled (MarkHandled), for accounts
// accounts in turn; with fenced, through store.Fence under each account's lease, as a Client
// holding its lease does. It reports msgs/s: messages saved and marked handled per second.
func BenchSaveAndHandle(b *testing.B, s store.Store, accounts, batch int, fenced bool) {
	ctx := context.Background()
	views := make([]store.Store, accounts)
	cursors := make([]store.Cursor, accounts)
	for i := range views {
		a := TestAccount(b, 1000+i)
		cursors[i] = store.Cursor{Account: a.ID, Swarm: a.ID}
		views[i] = s
		if fenced {
			l, err := s.AcquireLease(ctx, store.LeaseRequest{Name: store.AccountLease(a.ID), Holder: "bench", TTL: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			views[i] = store.Fence(s, l)
		}
	}
	data := make([]byte, 400) // a typical short message as stored
	exp := time.Now().Add(14 * 24 * time.Hour)
	msgs := make([]store.Incoming, batch)
	b.ResetTimer()
	start := time.Now()
	for n := 0; n < b.N; n++ {
		i := n % accounts
		for j := range msgs {
			msgs[j] = store.Incoming{Hash: fmt.Sprintf("h%d-%d", n, j), Data: data, Timestamp: time.Now(), Expiry: exp}
		}
		if _, err := views[i].SaveRetrieved(ctx, cursors[i], msgs, msgs[batch-1].Hash); err != nil {
			b.Fatal(err)
		}
		for _, m := range msgs {
			if err := views[i].MarkHandled(ctx, cursors[i].Account, m.Hash); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "msgs/s")
}
