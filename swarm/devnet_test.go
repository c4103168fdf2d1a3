package swarm_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/swarm"
)

// memStore is a PoolStore in memory.
type memStore struct {
	mu    sync.Mutex
	nodes []swarm.Node
	when  time.Time
}

func (m *memStore) LoadPool(context.Context) ([]swarm.Node, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]swarm.Node(nil), m.nodes...), m.when, nil
}

func (m *memStore) SavePool(_ context.Context, nodes []swarm.Node, when time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nodes, m.when = append([]swarm.Node(nil), nodes...), when
	return nil
}

type env struct {
	nw     *devnet.Network
	tr     *swarm.HTTPSTransport
	pool   *swarm.Pool
	client *swarm.Client
	store  *memStore
}

func startEnv(t *testing.T, opts ...devnet.Option) *env {
	t.Helper()
	nw := devnettest.Start(t, opts...)
	tr := swarm.NewHTTPSTransport(swarm.HTTPSOptions{Timeout: 5 * time.Second})
	t.Cleanup(func() { tr.Close() })
	st := &memStore{}
	pool, err := swarm.NewPool(swarm.PoolConfig{
		Seeds:       []string{nw.SeedURL()},
		SeedRootCAs: nw.CertPool(),
		Transport:   tr,
		Store:       st,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := swarm.NewClient(swarm.ClientConfig{Transport: tr, Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	return &env{nw: nw, tr: tr, pool: pool, client: c, store: st}
}

// startGrownEnv starts a 14-node devnet, loads the pool, and then adds two nodes to the devnet,
// which the pool does not know yet.
func startGrownEnv(t *testing.T) (*env, context.Context, []*devnet.Node) {
	t.Helper()
	e := startEnv(t, devnet.WithNodes(14))
	ctx := ctxT(t)
	if _, err := e.pool.Nodes(ctx); err != nil {
		t.Fatal(err)
	}
	added, err := e.nw.AddNodes(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	return e, ctx, added
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func keysN(t *testing.T, b byte) *crypto.Keys {
	seed := make([]byte, 32)
	seed[0], seed[31] = b, b
	k, err := crypto.KeysFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// devnetMembers returns the Ed25519 keys of account's swarm as devnet computes it.
func devnetMembers(nw *devnet.Network, id crypto.AccountID) (uint64, map[[32]byte]*devnet.Node) {
	sid, nodes := nw.SwarmFor(id)
	m := map[[32]byte]*devnet.Node{}
	for _, n := range nodes {
		m[n.Ed25519PublicKey()] = n
	}
	return sid, m
}

func TestPoolBootstrapAndSwarms(t *testing.T) {
	e := startEnv(t)
	ctx := ctxT(t)
	nodes, err := e.pool.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != len(e.nw.Nodes()) {
		t.Fatalf("pool has %d nodes, devnet %d", len(nodes), len(e.nw.Nodes()))
	}
	for _, n := range nodes {
		dn, ok := e.nw.Node(n.Ed25519)
		if !ok || n.X25519 != dn.X25519PublicKey() || n.AddrPort().String() != dn.Addr() || n.SwarmID != dn.SwarmID() {
			t.Fatalf("node %v does not match devnet", n)
		}
	}
	if len(e.store.nodes) != len(nodes) {
		t.Fatal("pool not persisted")
	}
	// Local swarm mapping agrees with the network, and with get_swarm.
	for i := byte(1); i < 20; i++ {
		id := keysN(t, i).AccountID()
		sid, members, err := e.pool.Swarm(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want, wantMembers := devnetMembers(e.nw, id)
		if sid != want || len(members) != len(wantMembers) {
			t.Fatalf("account %d: swarm %x (%d members), devnet %x (%d)", i, sid, len(members), want, len(wantMembers))
		}
		if i < 4 {
			info, err := e.client.GetSwarm(ctx, id)
			if err != nil || info.ID != sid || len(info.Nodes) != len(members) {
				t.Fatalf("get_swarm: %+v %v", info, err)
			}
		}
	}

	// A restart with the saved pool does not need the seed.
	p2, err := swarm.NewPool(swarm.PoolConfig{Seeds: []string{"https://127.0.0.1:1"}, Store: e.store})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := p2.Nodes(ctx); err != nil || len(n) != len(nodes) {
		t.Fatalf("restart: %d %v", len(n), err)
	}
}

func TestSeedTLSIsVerified(t *testing.T) {
	e := startEnv(t, devnet.WithNodes(5))
	// Without the devnet CA the seed's certificate is not trusted.
	p, err := swarm.NewPool(swarm.PoolConfig{Seeds: []string{e.nw.SeedURL()}, RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Nodes(ctxT(t)); !errors.Is(err, swarm.ErrNoSeeds) {
		t.Fatalf("untrusted seed accepted: %v", err)
	}
	// A small network lowers the minimum pool size.
	if n, err := e.pool.Nodes(ctxT(t)); err != nil || len(n) != 5 {
		t.Fatalf("%d %v", len(n), err)
	}
}

func TestPoolRefreshFromNodes(t *testing.T) {
	e, ctx, added := startGrownEnv(t)
	if err := e.pool.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if e.pool.Len() != 16 {
		t.Fatalf("pool has %d nodes after refresh", e.pool.Len())
	}
	found := 0
	for _, n := range e.store.nodes {
		for _, a := range added {
			if n.Ed25519 == a.Ed25519PublicKey() {
				found++
			}
		}
	}
	if found != 2 {
		t.Fatal("refreshed pool not persisted")
	}
	// Nodes that answer garbage, with the seed offline (else the pool goes back to it), make
	// the refresh fail and the old pool stay.
	for _, n := range e.nw.Nodes() {
		n.SetFaults(devnet.Faults{CorruptRate: 1})
	}
	e.nw.StopSeed()
	if err := e.pool.Refresh(ctx); err == nil {
		t.Fatal("refresh from corrupt nodes succeeded")
	}
	if e.pool.Len() != 16 {
		t.Fatalf("pool changed to %d nodes", e.pool.Len())
	}
}

func TestStoreRetrieveAndFriends(t *testing.T) {
	e := startEnv(t)
	ctx := ctxT(t)
	k := keysN(t, 7)
	s := swarm.NewKeysSigner(k)
	var hashes []string
	for i, data := range []string{"one", "two", "three"} {
		res, err := e.client.Store(ctx, s, swarm.StoreRequest{Namespace: swarm.NamespaceContacts, Data: []byte(data), TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if res.Hash != swarm.MessageHash(k.AccountID(), swarm.NamespaceContacts, []byte(data)) || res.Succeeded() == 0 {
			t.Fatalf("store %d: %+v", i, res)
		}
		for key, m := range res.Swarm {
			if m.Failed {
				t.Fatalf("member %s failed: %+v", key, m)
			}
		}
		hashes = append(hashes, res.Hash)
	}
	_, members := devnetMembers(e.nw, k.AccountID())
	for _, m := range members {
		if !m.HasMessage(hashes[0]) {
			t.Fatalf("%v lacks the message", m)
		}
	}
	got, err := e.client.Retrieve(ctx, s, swarm.RetrieveRequest{Namespace: swarm.NamespaceContacts})
	if err != nil || len(got.Messages) != 3 || string(got.Messages[2].Data) != "three" || got.Messages[0].Hash != hashes[0] {
		t.Fatalf("%+v %v", got, err)
	}
	got, err = e.client.Retrieve(ctx, s, swarm.RetrieveRequest{Namespace: swarm.NamespaceContacts, LastHash: hashes[1]})
	if err != nil || len(got.Messages) != 1 || got.Messages[0].Hash != hashes[2] {
		t.Fatalf("after last hash: %+v %v", got, err)
	}
	// Someone else stores into our public inbox without a signature; reading it needs ours.
	other := keysN(t, 8)
	if _, err := e.client.Store(ctx, swarm.Unsigned(other.AccountID()), swarm.StoreRequest{Data: []byte("hello"), TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Retrieve(ctx, swarm.Unsigned(other.AccountID()), swarm.RetrieveRequest{}); !errors.Is(err, swarm.ErrCannotSign) {
		t.Fatalf("unsigned retrieve: %v", err)
	}
	// A signature by the wrong key is rejected with 401.
	if _, err := e.client.Retrieve(ctx, wrongSigner{other.AccountID(), k}, swarm.RetrieveRequest{}); !errors.Is(err, swarm.ErrUnauthorized) {
		t.Fatalf("forged retrieve: %v", err)
	}
	inbox, err := e.client.Retrieve(ctx, swarm.NewKeysSigner(other), swarm.RetrieveRequest{})
	if err != nil || len(inbox.Messages) != 1 {
		t.Fatalf("%+v %v", inbox, err)
	}

	exp, err := e.client.GetExpiries(ctx, s, swarm.GetExpiriesRequest{Hashes: hashes[:2]})
	if err != nil || len(exp) != 2 {
		t.Fatalf("%v %v", exp, err)
	}
	newExp := e.client.Now().Add(30 * time.Minute)
	er, err := e.client.Expire(ctx, s, swarm.ExpireRequest{Hashes: hashes[:1], Expiry: newExp, Shorten: true})
	if err != nil || er.Succeeded() == 0 {
		t.Fatalf("%+v %v", er, err)
	}
	for _, m := range er.Swarm {
		if !m.Failed && (len(m.Updated) != 1 || m.Updated[0] != hashes[0]) {
			t.Fatalf("expire member %+v", m)
		}
	}
	exp, _ = e.client.GetExpiries(ctx, s, swarm.GetExpiriesRequest{Hashes: hashes[:1]})
	if d := exp[hashes[0]].Sub(newExp); d < -time.Second || d > time.Second {
		t.Fatalf("expiry %v, want %v", exp[hashes[0]], newExp)
	}
	if _, err := e.client.ExpireAll(ctx, s, swarm.ExpireAllRequest{Namespace: swarm.NamespaceContacts, Expiry: e.client.Now().Add(20 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	dr, err := e.client.Delete(ctx, s, swarm.DeleteRequest{Hashes: hashes[:1], Required: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range dr.Swarm {
		if !m.Failed && len(m.Deleted) != 1 {
			t.Fatalf("delete member %+v", m)
		}
	}
	if _, err := e.client.Delete(ctx, s, swarm.DeleteRequest{Hashes: hashes[:1], Required: true}); !errors.Is(err, swarm.ErrNotFound) {
		t.Fatalf("second required delete: %v", err)
	}
	if _, err := e.client.DeleteBefore(ctx, s, swarm.DeleteBeforeRequest{Namespace: swarm.NamespaceContacts, Before: e.client.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteAll(ctx, s, swarm.DeleteAllRequest{AllNamespaces: true}); err != nil {
		t.Fatal(err)
	}
	got, err = e.client.Retrieve(ctx, s, swarm.RetrieveRequest{Namespace: swarm.NamespaceContacts})
	if err != nil || len(got.Messages) != 0 {
		t.Fatalf("after delete_all: %+v %v", got, err)
	}
	info, err := e.client.Info(ctx, mustNode(t, e, 0))
	if err != nil || len(info.Version) != 3 {
		t.Fatalf("%+v %v", info, err)
	}
}

type wrongSigner struct {
	id crypto.AccountID
	k  *crypto.Keys
}

func (w wrongSigner) AccountID() crypto.AccountID { return w.id }
func (w wrongSigner) SignRequest(msg []byte) (swarm.Auth, error) {
	return swarm.NewKeysSigner(w.k).SignRequest(msg)
}

func mustNode(t *testing.T, e *env, i int) swarm.Node {
	nodes, err := e.pool.Nodes(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return nodes[i]
}

func TestBatchAndGroupAdmin(t *testing.T) {
	e := startEnv(t, devnet.WithNodes(6))
	ctx := ctxT(t)
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	g, err := swarm.NewGroupAdminSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.client.Batch(ctx, g,
		swarm.StoreRequest{Namespace: swarm.NamespaceGroupInfo, Data: []byte("info"), TTL: time.Hour},
		swarm.StoreRequest{Namespace: swarm.NamespaceGroupKeys, Data: []byte("keys"), TTL: time.Hour},
		swarm.RetrieveRequest{Namespace: swarm.NamespaceGroupMessages},
	)
	if err != nil || len(res) != 3 {
		t.Fatalf("%v %v", res, err)
	}
	for i, r := range res {
		if r.Err() != nil {
			t.Fatalf("sub %d: %v", i, r.Err())
		}
	}
	var tok [swarm.SubaccountTokenSize]byte
	tok[0], tok[1] = 0x03, 0x01
	if _, err := e.client.RevokeSubaccount(ctx, g, swarm.RevokeSubaccountRequest{Tokens: [][36]byte{tok}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UnrevokeSubaccount(ctx, g, swarm.UnrevokeSubaccountRequest{Tokens: [][36]byte{tok}}); err != nil {
		t.Fatal(err)
	}
	// A sequence stops at the first failure (a delete of a hash nobody has, required).
	seq, err := e.client.Sequence(ctx, g,
		swarm.DeleteRequest{Hashes: []string{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, Required: true},
		swarm.RetrieveRequest{Namespace: swarm.NamespaceGroupInfo},
	)
	if err != nil || len(seq) != 1 || !errors.Is(seq[0].Err(), swarm.ErrNotFound) {
		t.Fatalf("%v %v", seq, err)
	}
}

// The first 421 is answered with the right swarm, which the client then uses.
func TestWrongSwarmUsesReplySwarm(t *testing.T) {
	e := startEnv(t)
	ctx := ctxT(t)
	k := keysN(t, 9)
	nodes, err := e.pool.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sid, _ := devnetMembers(e.nw, k.AccountID())
	// Keep only nodes of other swarms in the pool: the client's first pick is wrong for sure.
	var wrong []swarm.Node
	for _, n := range nodes {
		if n.SwarmID != sid {
			wrong = append(wrong, n)
		}
	}
	if len(wrong) == 0 {
		t.Fatal("devnet has a single swarm")
	}
	if err := e.pool.Set(ctx, wrong); err != nil {
		t.Fatal(err)
	}
	res, err := e.client.Store(ctx, swarm.NewKeysSigner(k), swarm.StoreRequest{Namespace: 2, Data: []byte("x"), TTL: time.Hour})
	if err != nil || res.Succeeded() == 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if id, members, _ := e.pool.Swarm(ctx, k.AccountID()); id != sid || len(members) == 0 {
		t.Fatalf("cached swarm %x, want %x", id, sid)
	}
}

// 421 from every node: the client refreshes the pool on the second and gives up on the third.
func TestWrongSwarmThreeTimes(t *testing.T) {
	e := startEnv(t)
	ctx := ctxT(t)
	k := keysN(t, 10)
	if _, err := e.pool.Nodes(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range e.nw.Nodes() {
		n.SetFaults(devnet.Faults{Status: 421})
	}
	// Shrink the pool so that the refresh after the second 421 visibly restores it.
	nodes, _ := e.pool.Nodes(ctx)
	if err := e.pool.Set(ctx, nodes[:len(nodes)-1]); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.Retrieve(ctx, swarm.NewKeysSigner(k), swarm.RetrieveRequest{})
	if !errors.Is(err, swarm.ErrWrongSwarm) {
		t.Fatalf("got %v", err)
	}
	var ne *swarm.NodeError
	if !errors.As(err, &ne) || ne.Status != 421 {
		t.Fatalf("not a NodeError: %v", err)
	}
	// The error keeps the node's whole swarm list, however long.
	if info, perr := swarm.ParseSwarm(ne.Body); perr != nil || len(info.Nodes) == 0 {
		t.Fatalf("421 body (%d bytes) lost its swarm: %v", len(ne.Body), perr)
	}
	if e.pool.Len() != len(nodes) {
		t.Fatalf("pool not refreshed after the second 421: %d nodes", e.pool.Len())
	}
	// The same rules apply to a batch whose every subrequest is refused with 421.
	_, err = e.client.Batch(ctx, swarm.NewKeysSigner(k), swarm.RetrieveRequest{}, swarm.RetrieveRequest{Namespace: 2})
	if !errors.Is(err, swarm.ErrWrongSwarm) {
		t.Fatalf("batch: %v", err)
	}
}

func TestClockSkewIsLearned(t *testing.T) {
	e := startEnv(t, devnet.WithNodes(5))
	ctx := ctxT(t)
	if _, err := e.pool.Nodes(ctx); err != nil {
		t.Fatal(err)
	}
	skew := 5 * time.Minute
	for _, n := range e.nw.Nodes() {
		n.SetFaults(devnet.Faults{ClockSkew: skew})
	}
	k := keysN(t, 11)
	if _, err := e.client.Retrieve(ctx, swarm.NewKeysSigner(k), swarm.RetrieveRequest{}); err != nil {
		t.Fatal(err)
	}
	if d := e.client.ClockOffset() - skew; d < -2*time.Second || d > 2*time.Second {
		t.Fatalf("offset %v, want about %v", e.client.ClockOffset(), skew)
	}
	// The other way round, inside a batch: every subrequest gets 406, the client learns the
	// time and retries.
	for _, n := range e.nw.Nodes() {
		n.SetFaults(devnet.Faults{ClockSkew: -skew})
	}
	res, err := e.client.Batch(ctx, swarm.NewKeysSigner(k), swarm.RetrieveRequest{}, swarm.RetrieveRequest{Namespace: 2})
	if err != nil || res[0].Err() != nil || res[1].Err() != nil {
		t.Fatalf("batch: %v %v", res, err)
	}
	if d := e.client.ClockOffset() + skew; d < -2*time.Second || d > 2*time.Second {
		t.Fatalf("offset %v, want about %v", e.client.ClockOffset(), -skew)
	}
}

func TestUnreachableAndSlowNodes(t *testing.T) {
	e := startEnv(t, devnet.WithNodes(6))
	ctx := ctxT(t)
	if _, err := e.pool.Nodes(ctx); err != nil {
		t.Fatal(err)
	}
	k := keysN(t, 12)
	_, members := devnetMembers(e.nw, k.AccountID())
	// All but one member drop connections or fail: the client moves on to another member.
	c, err := swarm.NewClient(swarm.ClientConfig{Transport: e.tr, Pool: e.pool, MaxAttempts: len(members)})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for _, m := range members {
		switch {
		case i == 0:
		case i%2 == 0:
			m.SetFaults(devnet.Faults{DropRate: 1})
		default:
			m.Stop()
		}
		i++
	}
	if _, err := c.Retrieve(ctx, swarm.NewKeysSigner(k), swarm.RetrieveRequest{}); err != nil {
		t.Fatal(err)
	}
	// A slow node and a short deadline: the call returns the context's error, promptly.
	for _, m := range members {
		m.SetFaults(devnet.Faults{Delay: 10 * time.Second})
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Retrieve(short, swarm.NewKeysSigner(k), swarm.RetrieveRequest{})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Fatalf("%v after %v", err, time.Since(start))
	}
	// Garbage replies give errors, never panics. A flipped byte can leave a reply that is still
	// valid JSON (a digit of "t", say), which nothing can tell from a real one; so ask several
	// times and require that corruption is noticed.
	for _, m := range members {
		m.SetFaults(devnet.Faults{CorruptRate: 1})
	}
	failed := 0
	for i := 0; i < 10; i++ {
		if _, err := c.Retrieve(ctx, swarm.NewKeysSigner(k), swarm.RetrieveRequest{}); err != nil {
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("corrupt replies accepted every time")
	}
}

func TestHTTPSTransportErrors(t *testing.T) {
	tr := swarm.NewHTTPSTransport(swarm.HTTPSOptions{Timeout: time.Second})
	defer tr.Close()
	if _, err := tr.Send(context.Background(), swarm.Node{}, []byte("{}")); !errors.Is(err, swarm.ErrInvalidNode) {
		t.Fatal(err)
	}
	n := swarm.Node{IP: netip.MustParseAddr("127.0.0.1"), Port: 1}
	if _, err := tr.Send(context.Background(), n, []byte("{}")); err == nil {
		t.Fatal("closed port answered")
	}
}

// reentrant is a transport that, like an onion transport, asks the pool for nodes while it
// sends.
type reentrant struct {
	pool  *swarm.Pool
	inner swarm.Transport
	calls int
	mu    sync.Mutex
}

func (r *reentrant) Send(ctx context.Context, node swarm.Node, body []byte) ([]byte, error) {
	if _, err := r.pool.RandomNodes(ctx, 3, nil); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.calls++
	r.mu.Unlock()
	return r.inner.Send(ctx, node, body)
}

func TestPoolRefreshThroughReentrantTransport(t *testing.T) {
	e := startEnv(t, devnet.WithNodes(8))
	// A pool that is always stale, so every use wants a refresh.
	pool, err := swarm.NewPool(swarm.PoolConfig{Seeds: []string{e.nw.SeedURL()}, SeedRootCAs: e.nw.CertPool(), MaxAge: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	rt := &reentrant{pool: pool, inner: e.tr}
	pool.SetTransport(rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pool.Nodes(ctx); err != nil { // from the seed
		t.Fatal(err)
	}
	if len(pool.Snapshot()) != 8 {
		t.Fatal("snapshot")
	}
	if _, err := pool.Nodes(ctx); err != nil { // stale: refresh through rt, which re-enters
		t.Fatal(err)
	}
	if err := pool.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.calls != 6 {
		t.Fatalf("%d refresh requests, want 6", rt.calls)
	}
}
