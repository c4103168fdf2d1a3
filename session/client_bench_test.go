package session_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
)

// BenchmarkDevnetSendReceive measures messages delivered end to end through 3-hop onion paths on
// a devnet: Alice sends b.N text messages (each stored in Bob's swarm plus a sync copy in hers)
// from 8 goroutines while Bob's Run loop receives them. msg/s is the figure of merit.
func BenchmarkDevnetSendReceive(b *testing.B) {
	dn := devnettest.Start(b)
	alice, _ := session.NewTestClient(b, session.WithNetworkConfig(session.NetConfig(dn, false)))
	bob, _ := session.NewTestClient(b, session.WithNetworkConfig(session.NetConfig(dn, false)), session.WithPollInterval(5*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Warm up the paths and the pool.
	if _, err := alice.SendText(ctx, bob.AccountID(), "warm-up"); err != nil {
		b.Fatal(err)
	}
	if err := bob.PollOnce(ctx); err != nil {
		b.Fatal(err)
	}
	var received atomic.Int64
	all := make(chan struct{})
	bob.AddEventHandler(func(evt session.Event) {
		if m, ok := evt.(*session.Message); ok && m.Text != "warm-up" {
			if received.Add(1) == int64(b.N) {
				close(all)
			}
		}
	})
	done := make(chan error, 1)
	go func() { done <- bob.Run(ctx) }()

	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if _, err := alice.SendText(ctx, bob.AccountID(), fmt.Sprintf("message %d", i)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-all:
	case <-time.After(2 * time.Minute):
		b.Fatalf("only %d of %d messages arrived", received.Load(), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
	cancel()
	<-done
}

// BenchmarkIdleClients runs 1,000 clients (one shared Network and store, as a multi-bot process
// would) polling one devnet, and reports the heap bytes each client costs.
func BenchmarkIdleClients(b *testing.B) {
	const n = 1000
	dn := devnettest.Start(b)
	for i := 0; i < b.N; i++ {
		func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			nw, err := session.NewNetwork(session.NetConfig(dn, false))
			if err != nil {
				b.Fatal(err)
			}
			defer nw.Close()
			st := store.NewMemory()
			// Warm the shared network (pool, paths) so it is not counted per client.
			warm, err := session.NewClient(session.WithNetwork(nw), session.WithStore(store.NewMemory()))
			if err != nil {
				b.Fatal(err)
			}
			if err := warm.PollOnce(ctx); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)

			clients := make([]*session.Client, n)
			var wg sync.WaitGroup
			var polled atomic.Int64
			for j := range clients {
				c, err := session.NewClient(session.WithNetwork(nw), session.WithStore(st),
					session.WithSeed(seedFor(j)), session.WithPollInterval(time.Second))
				if err != nil {
					b.Fatal(err)
				}
				var once sync.Once
				c.AddEventHandler(func(evt session.Event) {
					if _, ok := evt.(*session.Connected); ok {
						once.Do(func() { polled.Add(1) })
					}
				})
				clients[j] = c
				wg.Add(1)
				go func() {
					defer wg.Done()
					c.Run(ctx)
				}()
			}
			deadline := time.Now().Add(2 * time.Minute)
			for polled.Load() < n && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if polled.Load() < n {
				b.Fatalf("only %d of %d clients polled", polled.Load(), n)
			}
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heapB/client")
			cancel()
			wg.Wait()
			runtime.KeepAlive(clients)
		}()
	}
}

func seedFor(i int) []byte {
	seed := make([]byte, 16)
	seed[0], seed[1], seed[2] = byte(i), byte(i>>8), 0x5e
	return seed
}
