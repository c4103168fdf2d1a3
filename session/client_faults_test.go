package session_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/session"
)

// exchange sends n messages from alice to bob, calling fault after the first half, and checks
// that bob receives every one exactly once.
func exchange(t *testing.T, alice, bob *session.Client, br *session.Recorder, n int, fault func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		if i == n/2 {
			if err := bob.PollOnce(ctx); err != nil {
				t.Logf("poll before fault: %v", err)
			}
			fault()
		}
		text := fmt.Sprintf("m%d", i)
		for attempt := 0; ; attempt++ {
			_, err := alice.SendText(ctx, bob.AccountID(), text)
			if err == nil {
				break
			}
			// A send may fail while the network repairs itself; the caller retries. What must
			// never happen is a loss or a duplicate on the receiving side.
			if attempt == 5 {
				t.Fatalf("send %s: %v", text, err)
			}
			t.Logf("send %s attempt %d: %v", text, attempt, err)
			time.Sleep(200 * time.Millisecond)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		counts := map[string]int{}
		for _, e := range br.Events() {
			if m, ok := e.(*session.Message); ok {
				counts[m.Text]++
			}
		}
		for text, c := range counts {
			if c > 1 {
				t.Fatalf("%s delivered %d times", text, c)
			}
		}
		if len(counts) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages arrived", len(counts), n)
		}
		if err := bob.PollOnce(ctx); err != nil {
			t.Logf("poll: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestFaultsLoseAndDuplicateNothing(t *testing.T) {
	t.Parallel()
	t.Run("swarm node dies", func(t *testing.T) {
		dn := devnettest.Start(t, devnet.WithSeed(1))
		alice, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
		bob, br := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
		exchange(t, alice, bob, br, 10, func() {
			// Half of Bob's swarm goes offline, including (likely) the member he polls.
			_, members := dn.SwarmFor(bob.AccountID())
			for i, m := range members {
				if i%2 == 0 {
					m.Stop()
				}
			}
		})
	})
	t.Run("swarm change", func(t *testing.T) {
		dn := devnettest.Start(t, devnet.WithSeed(2), devnet.WithNodes(12))
		alice, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
		bob, br := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
		exchange(t, alice, bob, br, 10, func() {
			if _, err := dn.AddNodes(context.Background(), 12); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("clock skew", func(t *testing.T) {
		dn := devnettest.Start(t, devnet.WithSeed(3))
		alice, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, true)))
		bob, br := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, true)))
		exchange(t, alice, bob, br, 6, func() {
			// Every node runs 10 minutes ahead of us: signatures are outside their window until
			// the clients learn the network time.
			for _, n := range dn.Nodes() {
				n.SetFaults(devnet.Faults{ClockSkew: 10 * time.Minute})
			}
		})
	})
	t.Run("path node fails", func(t *testing.T) {
		dn := devnettest.Start(t, devnet.WithSeed(4))
		alice, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
		bob, br := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
		exchange(t, alice, bob, br, 10, func() {
			// Kill the middle hop of every path both clients use.
			for _, c := range []*session.Client{alice, bob} {
				for _, p := range c.Network().Onion().Paths() {
					if n, ok := dn.Node(p.Nodes[1].Ed25519); ok {
						n.Stop()
					}
				}
			}
		})
	})
}
