package session_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
)

// lateHistogram counts how late scheduled polls start, in poll intervals, in bins of 1/1000 of
// an interval up to lateBins/1000 intervals (later ones count in the last bin). It is
// allocated before the heap is measured, so it costs the accounts nothing.
const lateBins = 20000

type lateHistogram struct {
	bins [lateBins]atomic.Int64
	n    atomic.Int64
}

func (h *lateHistogram) add(late, interval time.Duration) {
	i := int(float64(max(late, 0)) / float64(interval) * 1000)
	h.bins[min(i, lateBins-1)].Add(1)
	h.n.Add(1)
}

// quantile returns the q-quantile in intervals.
func (h *lateHistogram) quantile(q float64) float64 {
	want := int64(q*float64(h.n.Load()) + 0.5)
	var seen int64
	for i := range h.bins {
		seen += h.bins[i].Load()
		if seen >= max(want, 1) {
			return float64(i+1) / 1000
		}
	}
	return float64(lateBins) / 1000
}

// scaleRun is what runAccounts measured.
type scaleRun struct {
	heapPerAccount       float64
	goroutinesPerAccount float64
	baseGoroutines       int // before the accounts started
	maxGoroutines        int // while they ran
	late                 *lateHistogram
}

// runAccounts runs n accounts (one shared Network and store, as a multi-bot process would) on
// the child devnet until each has polled once, watches them for `watch`, and measures the heap
// and goroutines they add and how late their polls start.
func runAccounts(tb testing.TB, dn *childDevnet, n int, interval, watch time.Duration, cfg session.NetworkConfig) scaleRun {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nw, err := session.NewNetwork(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer nw.Close()
	res := scaleRun{late: &lateHistogram{}}
	session.SetPollObserver(nw, func(_ string, late, interval time.Duration) { res.late.add(late, interval) })
	st := store.NewMemory()
	// Warm the shared network (pool, paths, connections) so it is not counted per account.
	warm, err := session.NewClient(session.WithNetwork(nw), session.WithStore(store.NewMemory()))
	if err != nil {
		tb.Fatal(err)
	}
	if err := warm.PollOnce(ctx); err != nil {
		tb.Fatal(err)
	}
	connected := make([]atomic.Bool, n)
	var up atomic.Int64
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	res.baseGoroutines = runtime.NumGoroutine()

	clients := make([]*session.Client, n)
	dones := make([]<-chan error, n)
	for j := range clients {
		c, err := session.NewClient(session.WithNetwork(nw), session.WithStore(st),
			session.WithSeed(seedFor(j)), session.WithPollInterval(interval))
		if err != nil {
			tb.Fatal(err)
		}
		c.AddEventHandler(func(evt session.Event) {
			if _, ok := evt.(*session.Connected); ok && connected[j].CompareAndSwap(false, true) {
				up.Add(1)
			}
		})
		clients[j] = c
		dones[j] = c.Start(ctx)
	}
	sample := func() {
		res.maxGoroutines = max(res.maxGoroutines, runtime.NumGoroutine())
	}
	deadline := time.Now().Add(3 * time.Minute)
	for up.Load() < int64(n) && time.Now().Before(deadline) {
		sample()
		time.Sleep(50 * time.Millisecond)
	}
	if up.Load() < int64(n) {
		tb.Fatalf("only %d of %d accounts polled", up.Load(), n)
	}
	for end := time.Now().Add(watch); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		sample()
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	res.heapPerAccount = (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(n)
	res.goroutinesPerAccount = float64(res.maxGoroutines-res.baseGoroutines) / float64(n)
	cancel()
	for j, done := range dones {
		if err := <-done; err != nil {
			tb.Errorf("account %d: Run returned %v", j, err)
		}
	}
	runtime.KeepAlive(clients)
	return res
}

// BenchmarkManyAccounts runs 10,000 accounts on one Network (onion paths, as by default)
// against a devnet in a child process, each polling every 30 s (about 330 onion requests a
// second, which two cores serve with the devnet's share), and watches them for three intervals
// after all have polled once. It reports the heap and goroutines each account adds
// (the most goroutines seen while they ran) and the median and 99th percentile of how late
// polls started versus their schedule, in poll intervals.
func BenchmarkManyAccounts(b *testing.B) {
	const (
		n        = 10000
		interval = 30 * time.Second
	)
	dn := startChildDevnet(b)
	for range b.N {
		r := runAccounts(b, dn, n, interval, 3*interval, dn.config(false))
		b.ReportMetric(r.heapPerAccount, "heapB/account")
		b.ReportMetric(r.goroutinesPerAccount, "goroutines/account")
		b.ReportMetric(r.late.quantile(0.50), "p50-late-intervals")
		b.ReportMetric(r.late.quantile(0.99), "p99-late-intervals")
	}
}

// The goroutines of running clients do not grow with their number: 2,000 accounts run on about
// the goroutines that 200 do: the scheduler's loop, the polls in flight (at most
// PollConcurrency) and the connections to the nodes (two goroutines each, bounded by the
// transport per node), where a goroutine per account would add at least 1,800.
func TestGoroutinesDoNotGrowWithAccounts(t *testing.T) {
	dn := startChildDevnet(t)
	cfg := dn.config(true)
	cfg.PollConcurrency = 16
	small := runAccounts(t, dn, 200, 5*time.Second, 2*time.Second, cfg)
	large := runAccounts(t, dn, 2000, 5*time.Second, 2*time.Second, cfg)
	addSmall, addLarge := small.maxGoroutines-small.baseGoroutines, large.maxGoroutines-large.baseGoroutines
	t.Logf("goroutines added: %d by 200 accounts, %d by 2,000", addSmall, addLarge)
	// The bound: at most one goroutine per ten accounts, here for the 1,800 more.
	if grow := addLarge - addSmall; grow > 180 {
		t.Fatalf("1,800 more accounts added %d goroutines (200 accounts: %d → %d; 2,000: %d → %d)", grow,
			small.baseGoroutines, small.maxGoroutines, large.baseGoroutines, large.maxGoroutines)
	}
}

// BenchmarkClientCPUPerMessage measures the client's own CPU time per delivered 1:1 message:
// Alice sends it (stored in Bob's swarm, and a sync copy in hers, each through a 3-hop onion
// path), Bob polls until it arrives (a retrieve through an onion path), decodes it and
// dispatches the event. The devnet runs in a child process, so the process's CPU time is the
// two clients' alone. Next to it, the crypto floor of the same message is measured in the same
// run with the SDK's own primitives: the crypto the issue names and nothing else, namely two
// seals (message and sync copy), the hop layers both ways (three onion requests of four layers
// each, their replies opened), the node signatures the client checks (every confirming member's,
// both stores) and the open of the message. Crypto the client does besides (the envelopes'
// decoy Pro signatures, the requests' Ed25519 signatures, message hashes) counts above the
// floor. x-floor is client-us/msg over floor-us/msg. The floor runs in chunks between the
// messages' chunks, so that a shared machine's changing load weighs on both alike.
func BenchmarkClientCPUPerMessage(b *testing.B) {
	if _, err := processCPU(); err != nil {
		b.Fatal(err)
	}
	dn := startChildDevnet(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	alice, _ := session.NewTestClient(b, session.WithNetworkConfig(dn.config(false)))
	bob, _ := session.NewTestClient(b, session.WithNetworkConfig(dn.config(false)))
	got := make(chan string, 1)
	bob.AddEventHandler(func(evt session.Event) {
		if m, ok := evt.(*session.Message); ok {
			select {
			case got <- m.Text:
			default:
			}
		}
	})
	body := strings.Repeat("a typical chat message ", 4) // ~100 bytes: pads to 160
	stored := 0                                          // members that confirmed (and signed) the last store
	deliver := func(text string) int {
		sent, err := alice.SendText(ctx, bob.AccountID(), text)
		if err != nil {
			b.Fatal(err)
		}
		stored = sent.Stored
		for polls := 1; ; polls++ {
			if err := bob.PollOnce(ctx); err != nil {
				b.Fatal(err)
			}
			select {
			case t := <-got:
				if t != text {
					b.Fatalf("received %q, want %q", t, text)
				}
				return polls
			default:
			}
			if polls == 100 {
				b.Fatalf("%q did not arrive after %d polls", text, polls)
			}
		}
	}
	for i := range 5 { // paths, pool, swarms, the message request
		deliver(fmt.Sprintf("%swarm-up %d", body, i))
	}
	floor := newCryptoFloor(b, alice.Keys(), bob.Keys(), len(body)+8)
	floor.nodeSigs = stored
	runtime.GC()
	b.ResetTimer()
	// The floor runs in chunks between the messages' chunks, so that both see the same machine
	// (a shared machine's load changes the CPU time a piece of work takes).
	const chunk = 10
	var clientCPU, floorCPU time.Duration
	floorIters, polls := 0, 0
	for i := 0; i < b.N; i += chunk {
		c0, _ := processCPU()
		for j := i; j < min(i+chunk, b.N); j++ {
			polls += deliver(fmt.Sprintf("%s%d", body, j))
		}
		c1, _ := processCPU()
		floor.run(b, chunk)
		c2, _ := processCPU()
		clientCPU += c1 - c0
		floorCPU += c2 - c1
		floorIters += chunk
	}
	b.StopTimer()
	client := float64(clientCPU) / float64(b.N) / 1e3
	floorUS := float64(floorCPU) / float64(floorIters) / 1e3
	b.ReportMetric(client, "client-us/msg")
	b.ReportMetric(floorUS, "floor-us/msg")
	b.ReportMetric(client/floorUS, "x-floor")
	b.ReportMetric(float64(polls)/float64(b.N), "polls/msg")
}

// Sizes of the storage RPCs of one message, for the floor's symmetric encryption: requests and
// replies (a store reply lists every swarm member). The X25519 and Ed25519 work dominates.
const (
	floorStoreOverhead = 400
	floorRetrieveReq   = 400
	floorStoreReply    = 2000
)

// cryptoFloor is the cryptography of one delivered message that the issue counts as its floor
// (seal, open, the hop layers both ways, the node signatures), done with the SDK's primitives.
type cryptoFloor struct {
	alice, bob                *crypto.Keys
	content                   []byte
	hops                      [3]onion.Hop
	dest                      onion.NodeDestination
	ch                        *onion.Channel
	storeReq                  []byte
	storeReply, retrieveReply []byte
	nodePub                   ed25519.PublicKey
	hash, nodeSig             []byte
	nodeSigs                  int // node signatures checked per store (members that confirmed)
}

func newCryptoFloor(b *testing.B, alice, bob *crypto.Keys, contentLen int) *cryptoFloor {
	content := make([]byte, contentLen)
	var hops [3]onion.Hop
	var dest onion.NodeDestination
	for i := range hops {
		k, err := crypto.GenerateKeys(nil)
		if err != nil {
			b.Fatal(err)
		}
		hops[i] = onion.Hop{Ed25519: k.Ed25519PublicKey(), X25519: k.X25519PublicKey()}
	}
	destKeys, err := crypto.GenerateKeys(nil)
	if err != nil {
		b.Fatal(err)
	}
	dest = onion.NodeDestination{Ed25519: destKeys.Ed25519PublicKey(), X25519: destKeys.X25519PublicKey()}
	// A reply channel and sealed replies of each size (the reply key's derivation is in Build).
	eph, err := onion.GenerateKeyPair(nil)
	if err != nil {
		b.Fatal(err)
	}
	ch, err := onion.NewClientChannel(onion.XChaCha20, eph, dest.X25519)
	if err != nil {
		b.Fatal(err)
	}
	ct, err := session.Seal(alice, bob.AccountID(), content)
	if err != nil {
		b.Fatal(err)
	}
	storeReq := make([]byte, len(ct)*4/3+floorStoreOverhead)
	retrieveReply, _ := ch.Seal(nil, make([]byte, len(ct)*4/3+floorStoreOverhead))
	storeReply, _ := ch.Seal(nil, make([]byte, floorStoreReply))
	nodeKey := ed25519.NewKeyFromSeed(make([]byte, 32))
	nodePub := nodeKey.Public().(ed25519.PublicKey)
	hash := []byte("a43hTvp0vBqLDSVyqBfhTT4MTcoV6y1nyFTvRYSuRPM")
	nodeSig := ed25519.Sign(nodeKey, hash)
	return &cryptoFloor{alice: alice, bob: bob, content: content, hops: hops, dest: dest, ch: ch,
		storeReq: storeReq, storeReply: storeReply, retrieveReply: retrieveReply, nodePub: nodePub,
		hash: hash, nodeSig: nodeSig}
}

// run does the floor's work of iters messages.
func (f *cryptoFloor) run(b *testing.B, iters int) {
	alice, bob, content, hops, dest, ch := f.alice, f.bob, f.content, f.hops, f.dest, f.ch
	storeReq, storeReply, retrieveReply := f.storeReq, f.storeReply, f.retrieveReply
	nodePub, hash, nodeSig := f.nodePub, f.hash, f.nodeSig
	for range iters {
		msg, err := session.Seal(alice, bob.AccountID(), content)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := session.Seal(alice, alice.AccountID(), content); err != nil { // sync copy
			b.Fatal(err)
		}
		for _, req := range [][]byte{storeReq, storeReq, storeReq[:floorRetrieveReq]} {
			if _, err := onion.Build(hops[:], dest, req, nil); err != nil {
				b.Fatal(err)
			}
		}
		for _, reply := range [][]byte{storeReply, storeReply, retrieveReply} {
			if _, err := ch.Open(reply); err != nil {
				b.Fatal(err)
			}
		}
		for range 2 * f.nodeSigs { // every confirming member's signature, both stores
			if !ed25519.Verify(nodePub, hash, nodeSig) {
				b.Fatal("node signature")
			}
		}
		if _, _, err := session.Open(bob, msg); err != nil {
			b.Fatal(err)
		}
	}
}
