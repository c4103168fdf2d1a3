package swarm

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

// memStore is a PoolStore in memory.
type memStore struct {
	mu    sync.Mutex
	nodes []Node
	when  time.Time
	saves int
}

func (m *memStore) LoadPool(context.Context) ([]Node, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Node(nil), m.nodes...), m.when, nil
}

func (m *memStore) SavePool(_ context.Context, nodes []Node, when time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nodes, m.when = append([]Node(nil), nodes...), when
	m.saves++
	return nil
}

// fakeNodes makes n valid nodes spread over the given swarm IDs.
func fakeNodes(n int, swarms ...uint64) []Node {
	out := make([]Node, n)
	for i := range out {
		out[i] = Node{
			IP:      netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}),
			Port:    uint16(20000 + i),
			Ed25519: [32]byte{1, byte(i >> 8), byte(i)},
			X25519:  [32]byte{2, byte(i >> 8), byte(i)},
			SwarmID: swarms[i%len(swarms)],
		}
	}
	return out
}

func TestPoolFromStoreAndSwarms(t *testing.T) {
	ctx := context.Background()
	st := &memStore{nodes: fakeNodes(30, 100, 1<<62, 3<<62, InvalidSwarmID), when: time.Now()}
	// Seeds point nowhere reachable: a fresh stored pool must not need them.
	p, err := NewPool(PoolConfig{Seeds: []string{"https://127.0.0.1:1"}, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := p.Nodes(ctx)
	if err != nil || len(nodes) != 30 {
		t.Fatalf("%d %v", len(nodes), err)
	}
	acct := crypto.NewAccountID(crypto.PrefixStandard, [32]byte{}) // swarm space 0
	id, members, err := p.Swarm(ctx, acct)
	if err != nil || id != 100 || len(members) == 0 {
		t.Fatalf("%d %v %v", id, members, err)
	}
	for _, m := range members {
		if m.SwarmID != 100 {
			t.Fatalf("member of swarm %d", m.SwarmID)
		}
	}
	// A 421 body replaces the cached swarm; Remove drops a node everywhere.
	other := fakeNodes(2, 1<<62)
	p.setSwarm(acct, SwarmInfo{ID: 1 << 62, Nodes: other})
	if id, m, _ := p.Swarm(ctx, acct); id != 1<<62 || len(m) != 2 {
		t.Fatalf("after setSwarm: %d %v", id, m)
	}
	p.Remove(other[0])
	if _, m, _ := p.Swarm(ctx, acct); len(m) != 1 {
		t.Fatalf("after Remove: %v", m)
	}
	p.dropFromSwarm(acct, other[1])
	if id, _, _ := p.Swarm(ctx, acct); id != 100 {
		t.Fatalf("emptied cache entry not recomputed: %d", id)
	}
	if p.Len() != 29 {
		t.Fatalf("len %d", p.Len())
	}
	rn, err := p.RandomNodes(ctx, 5, func(n Node) bool { return n.SwarmID != 100 })
	if err != nil || len(rn) != 5 {
		t.Fatal(rn, err)
	}
	for _, n := range rn {
		if n.SwarmID != 100 {
			t.Fatal("skip ignored")
		}
	}
	if _, err := p.RandomNodes(ctx, 5, func(Node) bool { return true }); !errors.Is(err, ErrNoNodes) {
		t.Fatal(err)
	}
	if err := p.Set(ctx, fakeNodes(12, 5)); err != nil || st.saves != 1 || p.Len() != 12 {
		t.Fatalf("Set: %v saves %d", err, st.saves)
	}
	if err := p.Set(ctx, []Node{{}}); !errors.Is(err, ErrNoNodes) {
		t.Fatal(err)
	}
}

func TestPoolNoSeedsAnswer(t *testing.T) {
	p, err := NewPool(PoolConfig{Seeds: []string{"https://127.0.0.1:1"}, RequestTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Nodes(context.Background()); !errors.Is(err, ErrNoSeeds) {
		t.Fatalf("%v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Nodes(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v", err)
	}
	if _, err := NewPool(PoolConfig{Seeds: []string{"ftp://x"}}); err == nil {
		t.Fatal("ftp seed accepted")
	}
}

func TestIntersect(t *testing.T) {
	a := fakeNodes(5, 1)
	b := append([]Node(nil), a[1:]...)
	c := append([]Node(nil), a[:4]...)
	c[2].Port++ // disagrees on one node's port
	got := intersect([][]Node{a, b, c})
	if len(got) != 2 || got[0] != a[1] || got[1] != a[3] {
		t.Fatalf("%v", got)
	}
	if intersect(nil) != nil {
		t.Fatal("empty")
	}
}
