package swarm_test

import (
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/swarm"
)

func TestSeedsKey(t *testing.T) {
	a := swarm.SeedsKey([]string{"https://127.0.0.1:1", "https://Seed.example:4443/"})
	for _, same := range [][]string{
		{"https://seed.example:4443", "https://127.0.0.1:1"},
		{"https://seed.example:4443/json_rpc", " https://127.0.0.1:1/", "https://127.0.0.1:1"},
	} {
		if got := swarm.SeedsKey(same); got != a {
			t.Errorf("SeedsKey(%q) = %s, want %s", same, got, a)
		}
	}
	for _, other := range [][]string{{"https://127.0.0.1:1"}, {"https://127.0.0.1:2", "https://seed.example:4443"}, swarm.MainnetSeeds()} {
		if swarm.SeedsKey(other) == a {
			t.Errorf("SeedsKey(%q) equals another set's key", other)
		}
	}
}

// A seed's JSON-RPC URL, as it is often written (and as `sessionctl devnet` used to print it),
// names the seed.
func TestPoolSeedRPCURL(t *testing.T) {
	nw := devnettest.Start(t, devnet.WithNodes(6))
	pool, err := swarm.NewPool(swarm.PoolConfig{Seeds: []string{nw.SeedURL() + "/json_rpc"}, SeedRootCAs: nw.CertPool()})
	if err != nil {
		t.Fatal(err)
	}
	if nodes, err := pool.Nodes(ctxT(t)); err != nil || len(nodes) != 6 {
		t.Fatalf("pool from %s/json_rpc: %d nodes, %v", nw.SeedURL(), len(nodes), err)
	}
}

// A saved pool whose nodes are all gone (their network was stopped and replaced) does not
// hold the client forever: the first request that finds no node answering sends the pool back
// to its seeds, and the request is made on the new network.
func TestPoolBackToSeedsWhenSavedNodesFail(t *testing.T) {
	ctx := ctxT(t)
	old := devnettest.Start(t, devnet.WithNodes(8))
	oldEnv := &memStore{}
	p0, err := swarm.NewPool(swarm.PoolConfig{Seeds: []string{old.SeedURL()}, SeedRootCAs: old.CertPool(), Store: oldEnv})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p0.Nodes(ctx); err != nil {
		t.Fatal(err)
	}
	old.Close() // the saved pool now names nodes that refuse connections

	e := startEnv(t, devnet.WithNodes(8))
	e.store.nodes, e.store.when = oldEnv.nodes, time.Now()
	pool, err := swarm.NewPool(swarm.PoolConfig{Seeds: []string{e.nw.SeedURL()}, SeedRootCAs: e.nw.CertPool(),
		Transport: e.tr, Store: e.store, RequestTimeout: 2 * time.Second, MinSize: 6})
	if err != nil {
		t.Fatal(err)
	}
	c, err := swarm.NewClient(swarm.ClientConfig{Transport: e.tr, Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	k := keysN(t, 7)
	start := time.Now()
	res, err := c.Store(ctx, swarm.NewKeysSigner(k), swarm.StoreRequest{Namespace: swarm.NamespaceDefault,
		Data: []byte("on the new network"), TTL: time.Hour})
	if err != nil {
		t.Fatalf("store after the network was replaced: %v", err)
	}
	_, members := devnetMembers(e.nw, k.AccountID())
	if res.Succeeded() == 0 {
		t.Fatal("no member stored the message")
	}
	for n := range members {
		if !members[n].HasMessage(res.Hash) {
			t.Fatalf("member %x of the new network's swarm lacks the message", n[:4])
		}
	}
	if got := pool.Snapshot(); len(got) != 8 {
		t.Fatalf("pool has %d nodes, want the new network's 8", len(got))
	}
	if _, ok := e.nw.Node(e.store.nodes[0].Ed25519); !ok || len(e.store.nodes) != 8 {
		t.Fatal("the new network's pool was not saved")
	}
	t.Logf("recovered in %v", time.Since(start))

	// When the nodes and the seeds both fail, the pool is kept.
	e.nw.StopSeed()
	for _, n := range e.nw.Nodes() {
		n.Stop()
	}
	if _, err := c.Store(ctx, swarm.NewKeysSigner(k), swarm.StoreRequest{Namespace: swarm.NamespaceDefault,
		Data: []byte("nobody home"), TTL: time.Hour}); err == nil {
		t.Fatal("store with every node stopped succeeded")
	}
	if got := pool.Snapshot(); len(got) != 8 {
		t.Fatalf("pool has %d nodes after the seeds failed, want the 8 kept", len(got))
	}
}

// A refresh whose nodes answer garbage goes back to the seeds.
func TestRefreshFallsBackToSeeds(t *testing.T) {
	e, ctx, added := startGrownEnv(t)
	for _, n := range e.nw.Nodes() {
		n.SetFaults(devnet.Faults{CorruptRate: 1})
	}
	if err := e.pool.Refresh(ctx); err != nil {
		t.Fatalf("refresh with corrupt nodes and a working seed: %v", err)
	}
	nodes := e.pool.Snapshot()
	if len(nodes) != 16 {
		t.Fatalf("pool has %d nodes, want the seed's 16", len(nodes))
	}
	for _, a := range added {
		found := false
		for _, n := range nodes {
			found = found || n.Ed25519 == a.Ed25519PublicKey()
		}
		if !found {
			t.Fatal("the seed's new nodes are not in the pool")
		}
	}
}
