package session_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
)

// Issue 15 acceptance: Clients on a devnet whose swarm has a lying node. Every attack gives 0
// extra events, 0 lost messages and a store that holds only genuine messages, and every Message
// event carries the message's storage hash (the stable ID an idempotent handler can use).

// countingStore counts the records the Client adds to its store: messages in added, the
// content markers of 1:1 messages (hash "c:...", no data: see session/dedup.go) in markers.
type countingStore struct {
	*store.Memory
	added, markers atomic.Int64
}

func (s *countingStore) SaveRetrieved(ctx context.Context, c store.Cursor, msgs []store.Incoming, last string) ([]store.Incoming, error) {
	n, err := s.Memory.SaveRetrieved(ctx, c, msgs, last)
	for _, m := range n {
		if strings.HasPrefix(m.Hash, "c:") && len(m.Data) == 0 {
			s.markers.Add(1)
		} else {
			s.added.Add(1)
		}
	}
	return n, err
}

func (s *countingStore) SaveHandled(ctx context.Context, a crypto.AccountID, m store.Incoming) error {
	s.added.Add(1)
	return s.Memory.SaveHandled(ctx, a, m)
}

// hostileExchange sends n messages from alice to bob while bob's swarm holds a liar (faults set
// on liars of bob's swarm before anything is sent) and polls bob until every message arrived; it
// checks that nothing else arrived and returns how many records bob's store gained.
func hostileExchange(t *testing.T, dn *devnet.Network, alice, bob *session.Client, br *session.Recorder, bs *countingStore, n int) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sent := map[string]string{} // hash -> text
	for i := 0; i < n; i++ {
		text := fmt.Sprintf("m%d", i)
		res, err := alice.SendText(ctx, bob.AccountID(), text)
		if err != nil {
			t.Fatalf("send %s: %v", text, err)
		}
		sent[res.Hash] = text
	}
	polls := 0
	for {
		got := map[string]int{}
		for _, e := range br.Events() {
			switch e := e.(type) {
			case *session.Message:
				if sent[e.Hash] != e.Text {
					t.Fatalf("event %q with hash %s, which was sent as %q", e.Text, e.Hash, sent[e.Hash])
				}
				got[e.Hash]++
			case *session.MessageRequest:
			default:
				t.Fatalf("extra event %T: %+v", e, e)
			}
		}
		for h, c := range got {
			if c > 1 {
				t.Fatalf("%s delivered %d times", sent[h], c)
			}
		}
		if len(got) == n {
			break
		}
		if polls++; polls > 200 {
			t.Fatalf("%d of %d messages after %d polls", len(got), n, polls)
		}
		if err := bob.PollOnce(ctx); err != nil {
			t.Logf("poll: %v", err)
		}
		// No reply may jump the network time, not even for a moment.
		if off := time.Until(bob.Network().Now()); off > 2*time.Second || off < -2*time.Second {
			t.Fatalf("network time jumped by %v at poll %d", off, polls)
		}
	}
	t.Logf("%d messages delivered once each after %d polls", n, polls)
	// More polls bring nothing more.
	for i := 0; i < 5; i++ {
		if err := bob.PollOnce(ctx); err != nil {
			t.Logf("poll: %v", err)
		}
	}
	if m := len(br.Events()); m > n+1 {
		t.Fatalf("%d events after the last poll, want %d messages (and one request)", m, n)
	}
	return bs.added.Load()
}

// replayAfterDelete deletes bob's messages from his swarm; a node replaying them (valid hashes,
// fresh expiries) then brings no event back.
func replayAfterDelete(t *testing.T, bob *session.Client, br *session.Recorder, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var hashes []string
	for _, e := range br.Events() {
		if m, ok := e.(*session.Message); ok {
			hashes = append(hashes, m.Hash)
		}
	}
	if _, err := bob.Network().RPC().Delete(ctx, swarm.NewKeysSigner(bob.Keys()), swarm.DeleteRequest{Hashes: hashes}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := bob.PollOnce(ctx); err != nil {
			t.Logf("poll: %v", err)
		}
	}
	if m := session.CountEvents[*session.Message](br, nil); m != n {
		t.Fatalf("%d Message events after the replays, want %d", m, n)
	}
}

// pinPoll makes node the member bob polls first (as if bob had been reading from it).
func pinPoll(t *testing.T, bs *countingStore, bob *session.Client, node *devnet.Node) {
	t.Helper()
	k := node.Ed25519PublicKey()
	pos := fmt.Sprintf("%x:%s", k[:], "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	cur := store.Cursor{Account: bob.AccountID(), Swarm: bob.AccountID(), Namespace: 0}
	if _, err := bs.Memory.SaveRetrieved(context.Background(), cur, nil, pos); err != nil {
		t.Fatal(err)
	}
}

func hostilePair(t *testing.T, dn *devnet.Network) (alice, bob *session.Client, br *session.Recorder, bs *countingStore) {
	t.Helper()
	alice, _ = session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, true)))
	bs = &countingStore{Memory: store.NewMemory()}
	bob, br = session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, true)), session.WithStore(bs))
	return alice, bob, br, bs
}

func TestHostileNodeNoExtraEvents(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		faults devnet.Faults
		// unpinned: bob is not made to poll the liar first.
		unpinned bool
	}{
		// The measurement: a node repeating each message under fresh hashes (10 messages
		// became 210 events) and sending junk with expiries that never come (8,000 rows).
		{name: "duplicates under fresh hashes", faults: devnet.Faults{DuplicateMessages: 20}},
		{name: "junk with junk expiries", faults: devnet.Faults{JunkMessages: 100, JunkExpiry: true}},
		{name: "corrupted data", faults: devnet.Faults{CorruptData: true}},
		{name: "replays of deleted messages", faults: devnet.Faults{ReplayOld: true}},
		{name: `lying time ("t": 1)`, faults: devnet.Faults{FakeTime: 1}},
		{name: "lying time (15 days back)", faults: devnet.Faults{FakeTime: time.Now().Add(-15 * 24 * time.Hour).UnixMilli()}},
		// A node that drops stores and then answers retrieves truthfully with nothing cannot
		// be told from a quiet inbox; the client reading from it (pinned here) gets the messages
		// when it asks the next member (every rotateEvery-th poll).
		{name: "dropped stores", faults: devnet.Faults{DropStores: true}},
		{name: "dropped stores, not pinned", faults: devnet.Faults{DropStores: true}, unpinned: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dn := devnettest.Start(t, devnet.WithNodes(5), devnet.WithSeed(15))
			alice, bob, br, bs := hostilePair(t, dn)
			_, members := dn.SwarmFor(bob.AccountID())
			members[0].SetFaults(tc.faults)
			if !tc.unpinned {
				pinPoll(t, bs, bob, members[0])
			}
			const n = 10
			added := hostileExchange(t, dn, alice, bob, br, bs, n)
			if tc.faults.ReplayOld {
				replayAfterDelete(t, bob, br, n)
			}
			// Bob's store holds the n messages (and nothing a node made up).
			if added != n {
				t.Fatalf("bob's store gained %d records for %d messages", added, n)
			}
			if m := bs.markers.Load(); m != n {
				t.Fatalf("bob's store gained %d content markers for %d messages", m, n)
			}
			if off := time.Until(bob.Network().Now()); off > 2*time.Second || off < -2*time.Second {
				t.Fatalf("network time moved by %v", off)
			}
		})
	}
}

// A swarm member 15 days fast (an honest node with a broken clock), then gone, and Run
// restarted in the same process: no message is delivered twice (its time never becomes the
// network's, and pruning uses the local clock).
func TestHonestSkewedNodeThenRestart(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t, devnet.WithNodes(5), devnet.WithSeed(16))
	alice, bob, br, bs := hostilePair(t, dn)
	_, members := dn.SwarmFor(bob.AccountID())
	members[0].SetFaults(devnet.Faults{ClockSkew: 15 * 24 * time.Hour})
	pinPoll(t, bs, bob, members[0])
	const n = 20
	hostileExchange(t, dn, alice, bob, br, bs, n)
	members[0].Stop()
	for round := 0; round < 2; round++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err := <-bob.Start(ctx)
		cancel()
		if err != nil {
			t.Fatalf("run %d: %v", round, err)
		}
	}
	if msgs := session.CountEvents[*session.Message](br, nil); msgs != n {
		t.Fatalf("%d Message events for %d messages after restarts", msgs, n)
	}
}

// One Network shared by 100 clients survives one lying node (duplicates, junk and a lying
// clock at once): every client gets its message exactly once, and the shared network time stays
// right.
func TestHundredClientsShareNetworkWithLiar(t *testing.T) {
	dn := devnettest.Start(t, devnet.WithNodes(12), devnet.WithSeed(17))
	netw, err := session.NewNetwork(session.NetConfig(dn, true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netw.Close() })
	dn.Nodes()[0].SetFaults(devnet.Faults{DuplicateMessages: 5, JunkMessages: 20, FakeTime: 1})
	sender, _ := session.NewTestClient(t, session.WithNetwork(netw))
	const clients = 100
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	type rc struct {
		c *session.Client
		r *session.Recorder
	}
	rcs := make([]rc, clients)
	for i := range rcs {
		c, r := session.NewTestClient(t, session.WithNetwork(netw))
		rcs[i] = rc{c, r}
		if _, err := sender.SendText(ctx, c.AccountID(), fmt.Sprint("hello ", i)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	sem := make(chan struct{}, 10)
	for i, x := range rcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			want := fmt.Sprint("hello ", i)
			for polls := 0; ; polls++ {
				got := 0
				for _, e := range x.r.Events() {
					if m, ok := e.(*session.Message); ok {
						if m.Text != want {
							errs <- fmt.Errorf("client %d got %q", i, m.Text)
							return
						}
						got++
					}
				}
				if got > 1 {
					errs <- fmt.Errorf("client %d got its message %d times", i, got)
					return
				}
				if got == 1 {
					_ = x.c.PollOnce(ctx) // one more poll brings nothing
					if n := session.CountEvents[*session.Message](x.r, nil); n != 1 {
						errs <- fmt.Errorf("client %d: %d messages after another poll", i, n)
					}
					return
				}
				if polls > 50 || ctx.Err() != nil {
					errs <- fmt.Errorf("client %d: no message after %d polls", i, polls)
					return
				}
				_ = x.c.PollOnce(ctx)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if off := time.Until(netw.Now()); off > 2*time.Second || off < -2*time.Second {
		t.Fatalf("shared network time moved by %v", off)
	}
}

// Network.Close leaves no goroutine behind: not the seed client's connections (which used to
// linger for their 30 s idle timeout), not the nodes' or the paths'.
func TestNetworkCloseLeavesNoGoroutines(t *testing.T) {
	for _, direct := range []bool{true, false} {
		t.Run(fmt.Sprint("direct=", direct), func(t *testing.T) {
			dn := devnettest.Start(t, devnet.WithNodes(6))
			// Let devnet's own goroutines settle before counting.
			time.Sleep(50 * time.Millisecond)
			base := runtime.NumGoroutine()
			netw, err := session.NewNetwork(session.NetConfig(dn, direct))
			if err != nil {
				t.Fatal(err)
			}
			c, err := session.NewClient(session.WithNetwork(netw))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := c.PollOnce(ctx); err != nil { // the pool comes from the seed
				t.Fatal(err)
			}
			c.Close()
			if err := netw.Close(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(2 * time.Second)
			for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > base {
				buf := make([]byte, 1<<16)
				t.Fatalf("%d goroutines 2 s after Close, %d before the network:\n%s", n, base, buf[:runtime.Stack(buf, true)])
			}
		})
	}
}
