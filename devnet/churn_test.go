package devnet

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// storeMany stores one public message for each of k users through their swarm.
func storeMany(t *testing.T, tn *tnet, k int, ns int16) ([]*user, []string) {
	t.Helper()
	var users []*user
	var hashes []string
	now := ms(time.Now())
	for i := 0; i < k; i++ {
		u := newUser(t, byte(100+i), 0x05)
		n, _ := tn.home(u)
		d := []byte{byte(i), 'm'}
		if ns == 0 {
			tn.rpcJSON(n, "store", obj{"pubkey": u.hex(), "timestamp": now, "ttl": 600000, "data": b64(d)}, 200)
		} else {
			tn.storeSigned(n, u, ns, d, now, 600000)
		}
		users = append(users, u)
		hashes = append(hashes, messageHash(u.acct, ns, d))
	}
	return users, hashes
}

// everyMemberHas checks that every member of each user's current swarm holds its message.
func everyMemberHas(t *testing.T, tn *tnet, users []*user, hashes []string) {
	t.Helper()
	for i, u := range users {
		_, members := tn.nw.SwarmFor(u.acct)
		for _, m := range members {
			if !m.HasMessage(hashes[i]) {
				t.Fatalf("user %d: member %s of its swarm lacks its message", i, m)
			}
		}
	}
}

func TestChurnSplitSwarm(t *testing.T) {
	tn := startNet(t, WithNodes(13), WithSeed(5))
	if len(tn.nw.Swarms()) != 1 {
		t.Fatal("want one swarm")
	}
	users, hashes := storeMany(t, tn, 12, 0)
	h0 := tn.nw.Height()
	added, err := tn.nw.AddNodes(context.Background(), 1)
	if err != nil || len(added) != 1 {
		t.Fatal(err)
	}
	if tn.nw.Height() != h0+1 || len(tn.nw.Swarms()) != 2 {
		t.Fatalf("after adding a 14th node: %d swarms", len(tn.nw.Swarms()))
	}
	everyMemberHas(t, tn, users, hashes)
	// Some user now belongs to the swarm that does not include some old node: that node answers
	// 421 with the new swarm, and the data is served by the new swarm.
	saw421 := false
	for i, u := range users {
		id, members := tn.nw.SwarmFor(u.acct)
		for _, n := range tn.nw.Nodes() {
			if n.SwarmID() == id {
				continue
			}
			st, _ := tn.rpc(n, "retrieve", u.auth(obj{"timestamp": ms(time.Now())}, "retrieve"+itoa(ms(time.Now()))))
			if st == 421 {
				saw421 = true
			}
			break
		}
		got := tn.retrieveHashes(members[len(members)-1], u, 0, ms(time.Now()))
		if len(got) != 1 || got[0] != hashes[i] {
			t.Fatalf("user %d after the split: %v", i, got)
		}
	}
	if !saw421 {
		t.Fatal("no 421 after the split")
	}
}

func TestChurnNewcomerAndNamespaceQuirk(t *testing.T) {
	tn := startNet(t, WithNodes(20), WithSeed(11))
	users, hashes := storeMany(t, tn, 6, 5)
	added, err := tn.nw.AddNodes(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	nn := added[0]
	everyMemberHas(t, tn, users, hashes)
	// Pushed rows carry no namespace: on the newcomer they sit in namespace 0.
	for i, u := range users {
		id, _ := tn.nw.SwarmFor(u.acct)
		if id != nn.SwarmID() {
			continue
		}
		now := ms(time.Now())
		if got := tn.retrieveHashes(nn, u, 0, now); len(got) != 1 || got[0] != hashes[i] {
			t.Fatalf("newcomer ns 0: %v", got)
		}
		if got := tn.retrieveHashes(nn, u, 5, now); len(got) != 0 {
			t.Fatalf("newcomer ns 5: %v", got)
		}
	}
}

func TestChurnRemoveDissolves(t *testing.T) {
	tn := startNet(t, WithNodes(14), WithSeed(5))
	swarms := tn.nw.Swarms()
	if len(swarms) != 2 {
		t.Fatal("want two swarms")
	}
	users, hashes := storeMany(t, tn, 12, 0)
	var victim []*Node
	for _, m := range swarms {
		victim = m
		break
	}
	// Remove five members: the swarm drops to 2, too few for Robin Hood to top it up from the
	// other swarm (excess 2 < deficit 3), so it is dissolved.
	for _, n := range victim[:5] {
		if err := tn.nw.RemoveNode(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	if len(tn.nw.Swarms()) != 1 || len(tn.nw.Nodes()) != 9 {
		t.Fatalf("after removals: %d swarms, %d nodes", len(tn.nw.Swarms()), len(tn.nw.Nodes()))
	}
	everyMemberHas(t, tn, users, hashes)
	if err := tn.nw.RemoveNode(context.Background(), victim[0]); err == nil {
		t.Fatal("removing a removed node must fail")
	}
	tn.nw.Reassign()
	if len(tn.nw.Swarms()) != 1 {
		t.Fatal("Reassign with the same membership changed the swarms")
	}
}

func TestClosedNetwork(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Start(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start with a cancelled context: %v", err)
	}
	if _, err := Start(context.Background(), WithNodes(0)); err == nil {
		t.Fatal("zero nodes accepted")
	}
	if _, err := Start(context.Background(), WithName("-bad", "05")); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("bad name: %v", err)
	}
	nw, err := Start(context.Background(), WithNodes(2))
	if err != nil {
		t.Fatal(err)
	}
	n := nw.Nodes()[0]
	n.Stop()
	nw.Close()
	if _, err := nw.AddNodes(context.Background(), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("AddNodes after Close: %v", err)
	}
	if err := n.Restart(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Restart after Close: %v", err)
	}
	if err := nw.RemoveNode(context.Background(), n); !errors.Is(err, ErrClosed) {
		t.Fatalf("RemoveNode after Close: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Fatalf("goroutines %d > %d", g, before)
	}
}
