package swarm_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/swarm"
)

// Issue 15: nodes that lie. Each test puts a liar in a 5-node swarm (one swarm: devnet puts up to
// 13 nodes in one) and checks that the Client believes only what the liar can prove, reports it,
// and gets its answers from the honest members.

func (e *env) swarmNode(t *testing.T, n *devnet.Node) swarm.Node {
	t.Helper()
	nodes, err := e.pool.Nodes(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range nodes {
		if sn.Ed25519 == n.Ed25519PublicKey() {
			return sn
		}
	}
	t.Fatalf("%v not in the pool", n)
	return swarm.Node{}
}

func storeN(t *testing.T, e *env, s swarm.Signer, n int) map[string]bool {
	t.Helper()
	hashes := map[string]bool{}
	for i := 0; i < n; i++ {
		res, err := e.client.Store(ctxT(t), swarm.Unsigned(s.AccountID()), swarm.StoreRequest{Data: []byte(fmt.Sprintf("message %d", i)), TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		hashes[res.Hash] = true
	}
	return hashes
}

func TestHostileRetrieveIsVerified(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults devnet.Faults
		reason error
	}{
		{"duplicates under fresh hashes and junk", devnet.Faults{DuplicateMessages: 20, JunkMessages: 50}, swarm.ErrHashMismatch},
		{"junk expiries", devnet.Faults{JunkExpiry: true}, swarm.ErrImpossibleExpiry},
		{"corrupted data", devnet.Faults{CorruptData: true}, swarm.ErrHashMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEnv(t, devnet.WithNodes(5))
			ctx := ctxT(t)
			s := swarm.NewKeysSigner(keysN(t, 50))
			want := storeN(t, e, s, 5)
			_, members := e.nw.SwarmFor(s.AccountID())
			liar := e.swarmNode(t, members[0])
			members[0].SetFaults(tc.faults)

			res, node, err := e.client.RetrieveFrom(ctx, s, swarm.RetrieveRequest{}, liar)
			if err != nil || node != liar {
				t.Fatalf("retrieve from the liar: %v (%v)", err, node)
			}
			for _, m := range res.Messages {
				if !want[m.Hash] {
					t.Fatalf("a message the swarm does not hold got through: %s", m.Hash)
				}
			}
			if len(res.Dropped) == 0 || !errors.Is(res.Dropped[0].Reason, tc.reason) {
				t.Fatalf("dropped %v", res.Dropped)
			}
			if res.LastHash != "" && !want[res.LastHash] {
				t.Fatalf("resume point %s is not a stored message", res.LastHash)
			}
			if !e.pool.Banned(liar) {
				t.Fatal("the liar is not banned")
			}
			// The next retrieve goes to an honest member, however much the liar is preferred.
			res, node, err = e.client.RetrieveFrom(ctx, s, swarm.RetrieveRequest{}, liar)
			if err != nil || node == liar || len(res.Messages) != len(want) || len(res.Dropped) != 0 {
				t.Fatalf("after the ban: node %v, %d messages, dropped %v, %v", node, len(res.Messages), res.Dropped, err)
			}
		})
	}
}

// A node sending "t": 1 (or any time the others disagree with) does not move the network time
// of the Client; requests keep working.
func TestHostileTimeIgnored(t *testing.T) {
	e := startEnv(t, devnet.WithNodes(5))
	ctx := ctxT(t)
	s := swarm.NewKeysSigner(keysN(t, 51))
	_, members := e.nw.SwarmFor(s.AccountID())
	members[0].SetFaults(devnet.Faults{FakeTime: 1})
	liar := e.swarmNode(t, members[0])
	for i := 0; i < 10; i++ {
		if _, _, err := e.client.RetrieveFrom(ctx, s, swarm.RetrieveRequest{}, liar); err != nil {
			t.Fatalf("retrieve %d: %v", i, err)
		}
		if _, err := e.client.Store(ctx, s, swarm.StoreRequest{Namespace: 2, Data: []byte{byte(i)}, TTL: time.Hour}); err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
		if off := e.client.ClockOffset(); off > time.Second || off < -time.Second {
			t.Fatalf("offset %v after %d replies with t=1", off, i+1)
		}
	}
}

// The network's time is an hour ahead of ours; one node agrees with our clock (it lies, or its
// clock is wrong). The Client follows the network, and the odd node is reported and avoided.
func TestHostileClockMinority(t *testing.T) {
	e := startEnv(t, devnet.WithNodes(5))
	ctx := ctxT(t)
	s := swarm.NewKeysSigner(keysN(t, 52))
	_, members := e.nw.SwarmFor(s.AccountID())
	for i, n := range members {
		if i > 0 {
			n.SetFaults(devnet.Faults{ClockSkew: time.Hour})
		}
	}
	odd := e.swarmNode(t, members[0])
	for i := 0; i < 10; i++ {
		if _, err := e.client.Retrieve(ctx, s, swarm.RetrieveRequest{}); err != nil {
			t.Fatalf("retrieve %d: %v", i, err)
		}
	}
	if d := e.client.ClockOffset() - time.Hour; d > 2*time.Second || d < -2*time.Second {
		t.Fatalf("offset %v, want about 1h", e.client.ClockOffset())
	}
	// Asked first, the odd node refuses the network's time; the request goes elsewhere, and
	// the node is reported until it is banned.
	for i := 0; i < 6; i++ {
		if _, node, err := e.client.RetrieveFrom(ctx, s, swarm.RetrieveRequest{}, odd); err != nil || node == odd {
			t.Fatalf("retrieve %d: %v from %v", i, err, node)
		}
	}
	if d := e.client.ClockOffset() - time.Hour; d > 2*time.Second || d < -2*time.Second {
		t.Fatalf("offset %v, want about 1h", e.client.ClockOffset())
	}
	if !e.pool.Banned(odd) {
		t.Fatal("the node that keeps refusing the network's time is not banned")
	}
}

// A node refusing every timestamp (406) cannot hold requests up: the network time is asked of
// other nodes, it does not move, and the request goes to another member.
func TestHostileClockRefusals(t *testing.T) {
	e := startEnv(t, devnet.WithNodes(5))
	ctx := ctxT(t)
	s := swarm.NewKeysSigner(keysN(t, 53))
	_, members := e.nw.SwarmFor(s.AccountID())
	members[0].SetFaults(devnet.Faults{Status: 406})
	liar := e.swarmNode(t, members[0])
	for i := 0; i < 8; i++ {
		if _, node, err := e.client.RetrieveFrom(ctx, s, swarm.RetrieveRequest{}, liar); err != nil || node == liar {
			t.Fatalf("retrieve %d: %v from %v", i, err, node)
		}
	}
	if off := e.client.ClockOffset(); off > time.Second || off < -time.Second {
		t.Fatalf("offset %v", off)
	}
	if !e.pool.Banned(liar) {
		t.Fatal("a node refusing the agreed time over and over is not banned")
	}
}

// Nodes that drop stores while claiming success: every store still reaches an honest member,
// and a dropper that answered as the entry node (with made-up member results) is banned.
func TestHostileDroppedStores(t *testing.T) {
	e := startEnv(t, devnet.WithNodes(5))
	ctx := ctxT(t)
	s := swarm.NewKeysSigner(keysN(t, 54))
	_, members := e.nw.SwarmFor(s.AccountID())
	members[0].SetFaults(devnet.Faults{DropStores: true})
	members[1].SetFaults(devnet.Faults{DropStores: true})
	for i := 0; i < 20; i++ {
		res, err := e.client.Store(ctx, s, swarm.StoreRequest{Namespace: 2, Data: []byte(fmt.Sprint("kept ", i)), TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		held := 0
		for _, n := range members[2:] {
			if n.HasMessage(res.Hash) {
				held++
			}
		}
		if held == 0 {
			t.Fatalf("store %d is held by no honest member", i)
		}
	}
	// The honest members are never blamed for the results the droppers made up for them.
	for _, n := range members[2:] {
		if sn := e.swarmNode(t, n); e.pool.Banned(sn) {
			t.Fatalf("honest member %v banned", sn)
		}
	}
}
