package onion

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/swarm"
)

// End-to-end tests of paths and transports against the loopback devnet: real HTTPS nodes that
// peel layers, relay between nodes and to servers, and inject faults.

type testNet struct {
	nw   *devnet.Network
	pool *swarm.Pool
	tr   *Transport
}

func startTestNet(t *testing.T, nodes int, cfg Config) *testNet {
	t.Helper()
	base := runtime.NumGoroutine()
	nw := devnettest.Start(t, devnet.WithNodes(nodes), devnet.WithSeed(42))
	pool, err := swarm.NewPool(swarm.PoolConfig{Seeds: []string{nw.SeedURL()}, SeedRootCAs: nw.CertPool(), MinSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Pool = pool
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg.Diversity = DistinctNodes // every devnet node is on 127.0.0.1
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tr.Close(); err != nil {
			t.Error(err)
		}
		_ = nw.Close()
		// No goroutine of ours may outlive Close (idle HTTP connections take a moment).
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > base+2 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > base+2 {
			buf := make([]byte, 1<<16)
			t.Errorf("%d goroutines left (had %d):\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
	})
	return &testNet{nw: nw, pool: pool, tr: tr}
}

func (tn *testNet) swarmNode(t *testing.T, n *devnet.Node) swarm.Node {
	t.Helper()
	nodes, err := tn.pool.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range nodes {
		if sn.Ed25519 == n.Ed25519PublicKey() {
			return sn
		}
	}
	t.Fatalf("node %v not in pool", n)
	return swarm.Node{}
}

func (tn *testNet) devnetNode(t *testing.T, sn swarm.Node) *devnet.Node {
	t.Helper()
	n, ok := tn.nw.Node(sn.Ed25519)
	if !ok {
		t.Fatalf("node %v not in devnet", sn)
	}
	return n
}

func sendInfo(t *testing.T, tr *Transport, node swarm.Node) error {
	t.Helper()
	body, err := tr.Send(context.Background(), node, []byte(`{"method":"info","params":{}}`))
	if err != nil {
		return err
	}
	var j struct {
		Version []int `json:"version"`
		T       int64 `json:"t"`
	}
	if err := json.Unmarshal(body, &j); err != nil || len(j.Version) == 0 || j.T == 0 {
		t.Fatalf("info reply %s: %v", body, err)
	}
	return nil
}

func TestTransportSendAndReusePaths(t *testing.T) {
	for _, enc := range []EncType{XChaCha20, AESGCM} {
		t.Run(enc.String(), func(t *testing.T) {
			tn := startTestNet(t, 12, Config{EncType: enc})
			nodes := tn.nw.Nodes()
			for i := 0; i < 6; i++ {
				if err := sendInfo(t, tn.tr, tn.swarmNode(t, nodes[i])); err != nil {
					t.Fatal(err)
				}
			}
			paths := tn.tr.Paths()
			if len(paths) == 0 || len(paths) > 2*2 {
				t.Fatalf("%d paths", len(paths))
			}
			for _, p := range paths {
				if len(p.Nodes) != 3 {
					t.Fatalf("path of %d nodes", len(p.Nodes))
				}
				seen := map[[32]byte]bool{}
				for _, n := range p.Nodes {
					if seen[n.Ed25519] {
						t.Fatalf("node twice in a path: %v", p.Nodes)
					}
					seen[n.Ed25519] = true
				}
				if p.Failures != 0 || p.Pending != 0 {
					t.Fatalf("path %+v", p)
				}
			}
			// Paths are reused: more requests do not build new ones once two exist.
			waitFor(t, func() bool { return len(tn.tr.Paths()) >= 2 })
			before := tn.tr.Paths()
			for i := 0; i < 6; i++ {
				if err := sendInfo(t, tn.tr, tn.swarmNode(t, nodes[6+i%6])); err != nil {
					t.Fatal(err)
				}
			}
			after := tn.tr.Paths()
			if !samePaths(before, after) {
				t.Fatalf("paths changed without failures:\n%v\n%v", before, after)
			}
		})
	}
}

func samePaths(a, b []Path) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i].Nodes) != len(b[i].Nodes) {
			return false
		}
		for j := range a[i].Nodes {
			if a[i].Nodes[j] != b[i].Nodes[j] {
				return false
			}
		}
	}
	return true
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A request never goes through a path that contains its destination.
func TestTransportAvoidsDestinationInPath(t *testing.T) {
	tn := startTestNet(t, 8, Config{Paths: 1})
	if err := sendInfo(t, tn.tr, tn.swarmNode(t, tn.nw.Nodes()[0])); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(tn.tr.Paths()) >= 1 })
	p := tn.tr.Paths()[0]
	// Send to each node of the path: each must go through another (new) path.
	for _, n := range p.Nodes {
		if err := sendInfo(t, tn.tr, n); err != nil {
			t.Fatal(err)
		}
	}
	found := false
	for _, q := range tn.tr.Paths() {
		if !q.conflictsWithAll(p.Nodes) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no path avoiding %v: %v", p.Nodes, tn.tr.Paths())
	}
	// And the unit rule itself.
	live := &path{nodes: p.Nodes}
	for _, n := range p.Nodes {
		if !live.conflicts(DistinctNodes, n) {
			t.Fatal("a path does not conflict with its own node")
		}
	}
}

func (p Path) conflictsWithAll(nodes []swarm.Node) bool {
	for _, n := range nodes {
		for _, m := range p.Nodes {
			if n.Ed25519 == m.Ed25519 {
				return true
			}
		}
	}
	return false
}

// swarm.Client runs over the onion transport: store and retrieve through 3-hop paths.
func TestTransportWithSwarmClient(t *testing.T) {
	tn := startTestNet(t, 12, Config{})
	c, err := swarm.NewClient(swarm.ClientConfig{Transport: tn.tr, Pool: tn.pool})
	if err != nil {
		t.Fatal(err)
	}
	node := tn.swarmNode(t, tn.nw.Nodes()[3])
	info, err := c.Info(context.Background(), node)
	if err != nil {
		t.Fatal(err)
	}
	if info == nil {
		t.Fatal("nil info")
	}
	keys, err := crypto.GenerateKeys(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer := swarm.NewKeysSigner(keys)
	data := []byte("hello through three hops")
	if _, err := c.Store(context.Background(), signer, swarm.StoreRequest{Data: data, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Retrieve(context.Background(), signer, swarm.RetrieveRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 1 || string(got.Messages[0].Data) != string(data) {
		t.Fatalf("retrieved %+v", got.Messages)
	}
}

// A guard that stops answering: the path is dropped, the guard marked bad, and the request
// retried on another path.
func TestTransportGuardDown(t *testing.T) {
	tn := startTestNet(t, 12, Config{Paths: 2})
	if err := sendInfo(t, tn.tr, tn.swarmNode(t, tn.nw.Nodes()[0])); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(tn.tr.Paths()) >= 2 })
	dest := tn.freeNode(t)
	guard := tn.tr.Paths()[0].Nodes[0]
	tn.devnetNode(t, guard).Stop()
	for i := 0; i < 4; i++ { // some requests land on the broken path
		if err := sendInfo(t, tn.tr, dest); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if tn.tr.NodeFailures(guard) < NodeFailureThreshold {
		// The random path choice may have avoided the broken path every time.
		for i := 0; i < 20 && tn.tr.NodeFailures(guard) < NodeFailureThreshold; i++ {
			if err := sendInfo(t, tn.tr, dest); err != nil {
				t.Fatal(err)
			}
		}
	}
	if f := tn.tr.NodeFailures(guard); f < NodeFailureThreshold {
		t.Fatalf("guard failures %d", f)
	}
	for _, p := range tn.tr.Paths() {
		if p.conflictsWithAll([]swarm.Node{guard}) {
			t.Fatalf("dead guard still in a path: %v", p.Nodes)
		}
	}
}

// A hop that is no longer a node ("Next node not found"): it is marked bad and replaced in
// place; the request succeeds on a retry.
func TestTransportNextNodeNotFound(t *testing.T) {
	tn := startTestNet(t, 14, Config{Paths: 2})
	if err := sendInfo(t, tn.tr, tn.swarmNode(t, tn.nw.Nodes()[0])); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(tn.tr.Paths()) >= 2 })
	dest := tn.freeNode(t)
	p := tn.tr.Paths()[0]
	middle := p.Nodes[1]
	if err := tn.nw.RemoveNode(context.Background(), tn.devnetNode(t, middle)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30 && tn.tr.NodeFailures(middle) == 0; i++ { // until a request uses p
		if err := sendInfo(t, tn.tr, dest); err != nil {
			t.Fatal(err)
		}
	}
	if f := tn.tr.NodeFailures(middle); f != NodeFailureThreshold {
		t.Fatalf("removed node failures %d", f)
	}
	var replaced bool
	for _, q := range tn.tr.Paths() {
		if q.Nodes[0] == p.Nodes[0] && q.Nodes[2] == p.Nodes[2] && q.Nodes[1] != middle {
			replaced = true
		}
		if q.conflictsWithAll([]swarm.Node{middle}) {
			t.Fatalf("removed node still in a path: %v", q.Nodes)
		}
	}
	if !replaced {
		t.Fatalf("node not replaced in place: before %v, now %v", p.Nodes, tn.tr.Paths())
	}
}

// A node that hops keep answering "Next node not found" for (issue 12 item 4) is dropped from
// the pool, not only from paths: the pool stops offering it, so it is neither a swarm choice
// nor in any new path, even after the transport forgets failure counts.
func TestTransportNextNodeNotFoundEvictsFromPool(t *testing.T) {
	tn := startTestNet(t, 8, Config{Paths: 2})
	if err := sendInfo(t, tn.tr, tn.swarmNode(t, tn.nw.Nodes()[0])); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(tn.tr.Paths()) >= 2 })
	gone := tn.freeNode(t)
	if err := tn.nw.RemoveNode(context.Background(), tn.devnetNode(t, gone)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		err := sendInfo(t, tn.tr, gone)
		var pe *PathError
		if !errors.As(err, &pe) || pe.Status != http.StatusBadGateway {
			t.Fatalf("send to a removed node: %v", err)
		}
		if !pe.NotDelivered() {
			t.Fatalf("a request that never reached its destination says it may have: %v", pe)
		}
	}
	if !tn.pool.Banned(gone) {
		t.Fatal("node reported missing again and again is not banned from the pool")
	}
	nodes, err := tn.pool.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Ed25519 == gone.Ed25519 {
			t.Fatal("node reported missing again and again is still in the pool")
		}
	}
	// Forgotten failure counts (too few good nodes) do not bring it back into paths.
	for _, n := range nodes {
		tn.tr.setNodeFailure(n, NodeFailureThreshold)
	}
	for i := 0; i < 10; i++ {
		if err := sendInfo(t, tn.tr, nodes[i%len(nodes)]); err != nil {
			t.Fatal(err)
		}
		for _, p := range tn.tr.Paths() {
			if p.conflictsWithAll([]swarm.Node{gone}) {
				t.Fatalf("evicted node in a path: %v", p.Nodes)
			}
		}
	}
}

// freeNode returns a node in no live path.
func (tn *testNet) freeNode(t *testing.T) swarm.Node {
	t.Helper()
	for _, n := range tn.nw.Nodes() {
		sn := tn.swarmNode(t, n)
		free := true
		for _, p := range tn.tr.Paths() {
			free = free && !p.conflictsWithAll([]swarm.Node{sn})
		}
		if free {
			return sn
		}
	}
	t.Fatal("every node is in a path")
	return swarm.Node{}
}

// A hop answering errors makes its path fail; at the threshold the path is dropped and its
// nodes blamed. Requests keep succeeding through retries on other paths.
func TestTransportPathFailureThreshold(t *testing.T) {
	tn := startTestNet(t, 12, Config{Paths: 2, MaxAttempts: 3})
	if err := sendInfo(t, tn.tr, tn.swarmNode(t, tn.nw.Nodes()[0])); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(tn.tr.Paths()) >= 2 })
	dest := tn.freeNode(t)
	bad := tn.tr.Paths()[0]
	tn.devnetNode(t, bad.Nodes[1]).SetFaults(devnet.Faults{Status: http.StatusServiceUnavailable})
	for i := 0; i < 40; i++ {
		if err := sendInfo(t, tn.tr, dest); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		still := false
		for _, p := range tn.tr.Paths() {
			if samePaths([]Path{p}, []Path{bad}) {
				still = true
			}
		}
		if !still {
			break
		}
	}
	for _, p := range tn.tr.Paths() {
		if samePaths([]Path{p}, []Path{bad}) {
			t.Fatalf("failing path still live: %+v", p)
		}
	}
	if f := tn.tr.NodeFailures(bad.Nodes[0]); f < NodeFailureThreshold {
		t.Fatalf("guard of dropped path has %d failures", f)
	}
	if f := tn.tr.NodeFailures(bad.Nodes[2]); f < 1 {
		t.Fatalf("last hop of dropped path has %d failures", f)
	}
}

// Answers from the destination node are not path failures and come back as *swarm.NodeError.
func TestTransportNodeStatus(t *testing.T) {
	tn := startTestNet(t, 12, Config{Paths: 1})
	nodes := tn.nw.Nodes()
	if err := sendInfo(t, tn.tr, tn.swarmNode(t, nodes[0])); err != nil {
		t.Fatal(err)
	}
	dest := tn.freeNode(t)
	_, err := tn.tr.Send(context.Background(), dest, []byte(`{"method":"no_such_method","params":{}}`))
	var ne *swarm.NodeError
	if !errors.As(err, &ne) || ne.Status != http.StatusBadRequest || ne.Node != dest {
		t.Fatalf("want NodeError 400, got %v", err)
	}
	if !errors.Is(err, swarm.ErrBadRequest) {
		t.Fatal("NodeError does not match ErrBadRequest")
	}
	for _, p := range tn.tr.Paths() {
		if p.Failures != 0 {
			t.Fatalf("a destination's 400 counted against the path: %+v", p)
		}
	}
}

// Replies that do not decrypt (a corrupting destination) are path failures, retried once, then
// returned as a *PathError wrapping ErrDecrypt.
func TestTransportCorruptReplies(t *testing.T) {
	tn := startTestNet(t, 12, Config{Paths: 1, MaxAttempts: 1})
	nodes := tn.nw.Nodes()
	if err := sendInfo(t, tn.tr, tn.swarmNode(t, nodes[0])); err != nil {
		t.Fatal(err)
	}
	dest := tn.freeNode(t)
	// Corrupt every body the guards return: the reply, base64 text, stops decrypting.
	for _, p := range tn.tr.Paths() {
		tn.devnetNode(t, p.Nodes[0]).SetFaults(devnet.Faults{CorruptRate: 1})
	}
	err := sendInfo(t, tn.tr, dest)
	var pe *PathError
	if !errors.As(err, &pe) {
		t.Fatalf("want PathError, got %v", err)
	}
	if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrMalformed) {
		t.Fatalf("want a decryption failure, got %v", err)
	}
}

func TestTransportTimeoutAndCancel(t *testing.T) {
	tn := startTestNet(t, 8, Config{Paths: 1, RequestTimeout: 500 * time.Millisecond})
	nodes := tn.nw.Nodes()
	if err := sendInfo(t, tn.tr, tn.swarmNode(t, nodes[0])); err != nil {
		t.Fatal(err)
	}
	var guards []swarm.Node
	for _, p := range tn.tr.Paths() {
		guards = append(guards, p.Nodes[0])
		tn.devnetNode(t, p.Nodes[0]).SetFaults(devnet.Faults{Delay: 3 * time.Second})
	}
	var dest swarm.Node
	for _, n := range nodes {
		sn := tn.swarmNode(t, n)
		free := true
		for _, p := range tn.tr.Paths() {
			free = free && !p.conflictsWithAll([]swarm.Node{sn})
		}
		if free {
			dest = sn
		}
	}
	start := time.Now()
	err := sendInfo(t, tn.tr, dest)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want DeadlineExceeded, got %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("timeout took %v", time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tn.tr.Send(ctx, dest, []byte(`{}`)); !errors.Is(err, context.Canceled) {
		t.Fatalf("want Canceled, got %v", err)
	}
	for _, g := range guards {
		tn.devnetNode(t, g).SetFaults(devnet.Faults{})
	}
}

func TestTransportStatus(t *testing.T) {
	tn := startTestNet(t, 8, Config{Paths: 1})
	if s := tn.tr.Status(); s != StatusUnknown {
		t.Fatalf("status %v before use", s)
	}
	if err := sendInfo(t, tn.tr, tn.swarmNode(t, tn.nw.Nodes()[0])); err != nil {
		t.Fatal(err)
	}
	if s := tn.tr.Status(); s != StatusConnected {
		t.Fatalf("status %v after a request", s)
	}
	waitFor(t, func() bool { return tn.tr.Status() == StatusConnected && len(tn.tr.Paths()) >= 1 })
	// Stop every node: the paths fail as requests use them, and are dropped.
	dest := tn.freeNode(t)
	for _, n := range tn.nw.Nodes() {
		n.Stop()
	}
	for i := 0; i < 10 && tn.tr.Status() == StatusConnected; i++ {
		_ = sendInfo(t, tn.tr, dest)
	}
	waitFor(t, func() bool { return tn.tr.Status() == StatusDisconnected })
	if StatusConnecting.String() != "connecting" || Status(9).String() != "unknown" {
		t.Fatal("Status strings")
	}
}

func TestTransportClosed(t *testing.T) {
	// Nine nodes: a path being rebuilt in the background may briefly hold three more nodes, and
	// freeNode needs one outside every path.
	tn := startTestNet(t, 9, Config{Paths: 1})
	if err := sendInfo(t, tn.tr, tn.swarmNode(t, tn.nw.Nodes()[0])); err != nil {
		t.Fatal(err)
	}
	// A request in flight (its guard is slow) is canceled by Close.
	for _, p := range tn.tr.Paths() {
		tn.devnetNode(t, p.Nodes[0]).SetFaults(devnet.Faults{Delay: 5 * time.Second})
	}
	dest := tn.freeNode(t)
	errc := make(chan error, 1)
	go func() { errc <- sendInfo(t, tn.tr, dest) }()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := tn.tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) || time.Since(start) > 2*time.Second {
		t.Fatalf("in-flight request: %v after %v", err, time.Since(start))
	}
	if err := tn.tr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.tr.Send(context.Background(), tn.swarmNode(t, tn.nw.Nodes()[0]), []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Fatalf("want ErrClosed, got %v", err)
	}
	if _, err := tn.tr.Do(context.Background(), Server{URL: ServerURL{Scheme: "http", Host: "127.0.0.1", Port: 1}}, &ServerRequest{Endpoint: "/"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("want ErrClosed, got %v", err)
	}
}

// When failures leave too few nodes for a path, they are forgotten (as a pool refresh does in
// libsession) rather than leaving the transport unable to build paths.
func TestTransportFailuresForgotten(t *testing.T) {
	tn := startTestNet(t, 6, Config{Paths: 1})
	nodes, err := tn.pool.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		tn.tr.setNodeFailure(n, NodeFailureThreshold)
	}
	if err := sendInfo(t, tn.tr, nodes[0]); err != nil {
		t.Fatal(err)
	}
	if f := tn.tr.NodeFailures(nodes[1]); f != 0 {
		t.Fatalf("failures not forgotten: %d", f)
	}
}

// Too few nodes for a path: ErrNoPath, not a hang.
func TestTransportNotEnoughNodes(t *testing.T) {
	tn := startTestNet(t, 3, Config{})
	err := sendInfo(t, tn.tr, tn.swarmNode(t, tn.nw.Nodes()[0]))
	if !errors.Is(err, ErrNoPath) {
		t.Fatalf("want ErrNoPath, got %v", err)
	}
}

// v4Server is a minimal server destination (like a community server): it opens the layer the
// last hop POSTs, answers with a v4 reply encrypted to the client.
type v4Server struct {
	kp   KeyPair
	mu   sync.Mutex
	reqs []*ServerRequest
}

func (s *v4Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != V4Target || r.Method != http.MethodPost {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	body, _ := io.ReadAll(r.Body)
	l, err := ParseLayer(body)
	if err != nil || !l.HasEphemeral {
		http.Error(w, "bad layer", http.StatusBadRequest)
		return
	}
	ch, err := NewServerChannel(l.EncType, s.kp, l.EphemeralKey)
	if err != nil {
		http.Error(w, "bad key", http.StatusBadRequest)
		return
	}
	pt, err := ch.Open(l.Blob)
	if err != nil {
		http.Error(w, "bad ciphertext", http.StatusBadRequest)
		return
	}
	req, err := ParseV4Request(pt)
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	resp := &Response{Status: 200, Headers: map[string]string{"content-type": "application/json"}, Body: []byte(`{"echo":"` + req.Endpoint + `"}`)}
	if req.Endpoint == "/missing" {
		resp = &Response{Status: 404, Body: []byte("no such thing")}
	}
	out, _ := EncodeV4Response(resp)
	sealed, _ := ch.Seal(nil, out)
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(sealed)
}

func TestTransportServerDestination(t *testing.T) {
	tn := startTestNet(t, 8, Config{})
	srv := &v4Server{kp: testKeyPair(t, 42)}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	host, port, _ := net.SplitHostPort(hs.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	server, err := NewServer("http://"+host+":"+port, srv.kp.Public)
	if err != nil || server.URL.Port != uint16(p) {
		t.Fatal(server, err)
	}
	r, err := tn.tr.Do(context.Background(), server, &ServerRequest{Method: "POST", Endpoint: "/room/x/message", Body: []byte(`{"a":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || string(r.Body) != `{"echo":"/room/x/message"}` || r.Headers["content-type"] != "application/json" {
		t.Fatalf("response %+v", r)
	}
	r, err = tn.tr.Do(context.Background(), server, &ServerRequest{Endpoint: "/missing"})
	if err != nil || r.Status != 404 || string(r.Body) != "no such thing" {
		t.Fatalf("404: %+v %v", r, err)
	}
	srv.mu.Lock()
	reqs := append([]*ServerRequest(nil), srv.reqs...)
	srv.mu.Unlock()
	if len(reqs) != 2 || reqs[0].Method != "POST" || string(reqs[0].Body) != `{"a":1}` || reqs[1].Method != "GET" {
		t.Fatalf("server saw %+v", reqs)
	}
	for _, p := range tn.tr.Paths() {
		if p.Failures != 0 {
			t.Fatalf("a server's 404 counted against the path: %+v", p)
		}
	}
	// The same over HTTPS (the last hop verifies the devnet certificate).
	cert, err := tn.nw.IssueCertificate()
	if err != nil {
		t.Fatal(err)
	}
	hss := httptest.NewUnstartedServer(srv)
	hss.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	hss.StartTLS()
	defer hss.Close()
	secure, err := NewServer(hss.URL, srv.kp.Public)
	if err != nil || secure.URL.Scheme != "https" {
		t.Fatal(secure, err)
	}
	r, err = tn.tr.Do(context.Background(), secure, &ServerRequest{Endpoint: "/capabilities"})
	if err != nil || r.Status != 200 || string(r.Body) != `{"echo":"/capabilities"}` {
		t.Fatalf("https: %+v %v", r, err)
	}
	// A server that does not hold the key: the reply cannot be decrypted.
	wrong, _ := NewServer("http://"+host+":"+port, testKeyPair(t, 43).Public)
	if _, err := tn.tr.Do(context.Background(), wrong, &ServerRequest{Endpoint: "/x"}); err == nil {
		t.Fatal("request to a server with the wrong key succeeded")
	}
}

func TestTransportConcurrent(t *testing.T) {
	tn := startTestNet(t, 12, Config{})
	nodes := tn.nw.Nodes()
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := tn.tr.Send(context.Background(), tn.swarmNode(t, nodes[i%len(nodes)]), []byte(`{"method":"info","params":{}}`))
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without a pool")
	}
	pool, _ := swarm.NewPool(swarm.PoolConfig{Seeds: []string{"http://127.0.0.1:1"}})
	if _, err := New(Config{Pool: pool, EncType: 9}); !errors.Is(err, ErrUnknownEncType) {
		t.Fatal(err)
	}
	if _, err := New(Config{Pool: pool, Hops: 20}); err == nil {
		t.Fatal("20 hops accepted")
	}
}

// The pool refreshes itself from nodes through this transport (a pool refresh while the
// transport is building paths from the pool must not wait for itself).
func TestTransportPoolRefreshThroughOnion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nw := devnettest.Start(t, devnet.WithNodes(10), devnet.WithSeed(7))
	pool, err := swarm.NewPool(swarm.PoolConfig{Seeds: []string{nw.SeedURL()}, SeedRootCAs: nw.CertPool(), MinSize: 3, MaxAge: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(Config{Pool: pool, Diversity: DistinctNodes, RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	counted := &countingTransport{Transport: tr}
	pool.SetTransport(counted)
	nodes, err := pool.Nodes(ctx) // from the seed
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		time.Sleep(150 * time.Millisecond) // the pool is now stale: the next use refreshes it through us
		start := time.Now()
		if err := sendInfo(t, tr, nodes[i]); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("request %d took %v (waited on the pool refresh?)", i, d)
		}
	}
	if counted.n.Load() == 0 {
		t.Fatal("the pool never refreshed through the onion transport")
	}
}

type countingTransport struct {
	*Transport
	n atomic.Int64
}

func (c *countingTransport) Send(ctx context.Context, node swarm.Node, body []byte) ([]byte, error) {
	c.n.Add(1)
	return c.Transport.Send(ctx, node, body)
}
