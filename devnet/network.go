package devnet

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/blake2b"
)

// Errors returned by the devnet.
var (
	// ErrClosed is returned by operations on a Network after Close.
	ErrClosed = errors.New("devnet: network closed")
	// ErrUnknownNode is returned when a node is not (or no longer) part of the network.
	ErrUnknownNode = errors.New("devnet: unknown node")
	// ErrInvalidName is returned by RegisterName for a name or account ID it cannot register.
	ErrInvalidName = errors.New("devnet: invalid ONS name or account ID")
)

const (
	defaultNodes = 20
	hfMajor      = 19
	hfMinor      = 4
)

// storageServerVersion is what nodes report in info, get_stats and get_service_nodes.
var storageServerVersion = [3]int{2, 8, 0}

// Option configures Start.
type Option func(*config)

type config struct {
	nodes     int
	seed      uint64
	seeded    bool
	clock     func() time.Time
	logger    *slog.Logger
	names     map[string]string
	hostAlias map[string]string
}

// WithNodes sets the number of storage nodes (default 20, which oxend's rules split into two
// swarms; 13 or fewer give a single swarm).
func WithNodes(n int) Option { return func(c *config) { c.nodes = n } }

// WithSeed makes the network deterministic: node identities, block hashes (and so the swarm
// assignment), ONS nonces and every fault decision derive from seed.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed, c.seeded = seed, true } }

// WithClock sets the network's clock (default time.Now). Every node reads it (plus its own
// ClockSkew fault) for timestamps, signature windows and TTL expiry.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithLogger sets the logger (default: discard). Secrets are never logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithName registers an ONS name (case-insensitive) for a 66-hex Session ID, served by
// oxend_request ons_resolve. Invalid entries make Start fail with ErrInvalidName.
func WithName(name, sessionID string) Option {
	return func(c *config) {
		if c.names == nil {
			c.names = map[string]string{}
		}
		c.names[name] = sessionID
	}
}

// WithHostAlias makes nodes relaying onion requests to a server (the "host" routing form) reach
// host at addr ("127.0.0.1:port") instead of resolving it. Relays only ever dial loopback
// addresses: a host that is neither aliased nor a loopback address is answered with 502.
func WithHostAlias(host, addr string) Option {
	return func(c *config) {
		if c.hostAlias == nil {
			c.hostAlias = map[string]string{}
		}
		c.hostAlias[strings.ToLower(host)] = addr
	}
}

// SetHostAlias is WithHostAlias at run time, for servers started after the network (for
// example with a certificate from IssueCertificate). An empty addr removes the alias.
func (nw *Network) SetHostAlias(host, addr string) {
	nw.aliasMu.Lock()
	defer nw.aliasMu.Unlock()
	if addr == "" {
		delete(nw.hostAlias, strings.ToLower(host))
		return
	}
	nw.hostAlias[strings.ToLower(host)] = addr
}

func (nw *Network) alias(host string) (string, bool) {
	nw.aliasMu.RLock()
	defer nw.aliasMu.RUnlock()
	a, ok := nw.hostAlias[strings.ToLower(host)]
	return a, ok
}

// Network is a running devnet: storage nodes on 127.0.0.1, each with its own identity, TLS
// certificate and port, grouped into swarms, plus a seed node. It is safe for concurrent use.
type Network struct {
	log   *slog.Logger
	clock func() time.Time
	seed  uint64

	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caPEM  []byte
	pool   *x509.CertPool

	mu        sync.RWMutex
	nodes     []*Node // registration order
	byEd      map[[32]byte]*Node
	assign    map[[32]byte]uint64
	swarmIDs  []uint64
	height    uint64
	blockHash [32]byte
	names     map[[32]byte]onsRecord
	nextIndex int

	rngMu sync.Mutex
	rng   *mrand.Rand

	seedMu   sync.Mutex
	seedSrv  *http.Server
	seedURL  string
	seedCert tls.Certificate

	relay     *http.Client
	aliasMu   sync.RWMutex
	hostAlias map[string]string

	lifeMu  sync.Mutex
	closed  bool
	servers map[*http.Server]bool // every running server, closed by Close
	wg      sync.WaitGroup
	closing chan struct{}

	closeCtx    context.Context
	closeCancel context.CancelFunc
}

// Start starts a devnet. The context bounds startup only; the network runs until Close.
func Start(ctx context.Context, opts ...Option) (*Network, error) {
	c := config{nodes: defaultNodes, clock: time.Now}
	for _, o := range opts {
		o(&c)
	}
	if c.nodes < 1 {
		return nil, fmt.Errorf("devnet: need at least one node, got %d", c.nodes)
	}
	if !c.seeded {
		var b [8]byte
		if _, err := crand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("devnet: seed: %w", err)
		}
		c.seed = binary.LittleEndian.Uint64(b[:])
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	nw := &Network{
		log:       c.logger,
		clock:     c.clock,
		seed:      c.seed,
		byEd:      map[[32]byte]*Node{},
		assign:    map[[32]byte]uint64{},
		names:     map[[32]byte]onsRecord{},
		rng:       mrand.New(mrand.NewPCG(c.seed, 0x64657661)),
		hostAlias: map[string]string{},
		closing:   make(chan struct{}),
		height:    1,
	}
	nw.closeCtx, nw.closeCancel = context.WithCancel(context.Background())
	for h, a := range c.hostAlias {
		nw.SetHostAlias(h, a)
	}
	if err := nw.makeCA(); err != nil {
		return nil, err
	}
	nw.relay = nw.newRelayClient()
	for name, id := range c.names {
		if err := nw.RegisterName(name, id); err != nil {
			return nil, err
		}
	}
	var started []*Node
	fail := func(err error) (*Network, error) {
		nw.Close() // closes every server started so far, registered or not
		return nil, err
	}
	for i := 0; i < c.nodes; i++ {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		n, err := nw.newNode()
		if err != nil {
			return fail(err)
		}
		if err := n.listen(""); err != nil {
			return fail(err)
		}
		started = append(started, n)
	}
	nw.mu.Lock()
	for _, n := range started {
		nw.nodes = append(nw.nodes, n)
		nw.byEd[n.edPub] = n
	}
	nw.reassignLocked()
	nw.mu.Unlock()
	if err := nw.startSeed(); err != nil {
		return fail(err)
	}
	nw.log.Debug("devnet: started", "nodes", len(started), "seed", nw.seedURL)
	return nw, nil
}

// Close stops every node and the seed, waits for in-flight requests to finish, and releases
// everything. It is safe to call more than once.
func (nw *Network) Close() error {
	nw.lifeMu.Lock()
	if nw.closed {
		nw.lifeMu.Unlock()
		return nil
	}
	nw.closed = true
	close(nw.closing)
	nw.closeCancel()
	nw.lifeMu.Unlock()
	nw.mu.RLock()
	nodes := append([]*Node(nil), nw.nodes...)
	nw.mu.RUnlock()
	for _, n := range nodes {
		n.Stop()
	}
	nw.lifeMu.Lock()
	servers := nw.servers
	nw.servers = nil
	nw.lifeMu.Unlock()
	for srv := range servers {
		srv.Close()
	}
	nw.wg.Wait()
	nw.relay.CloseIdleConnections()
	return nil
}

// enter registers an in-flight request; it returns false once the network is closing.
func (nw *Network) enter() bool {
	nw.lifeMu.Lock()
	defer nw.lifeMu.Unlock()
	if nw.closed {
		return false
	}
	nw.wg.Add(1)
	return true
}

func (nw *Network) leave() { nw.wg.Done() }

// serve runs srv on ln in a goroutine that Close waits for; it fails once the network is closed.
func (nw *Network) serve(srv *http.Server, ln net.Listener) error {
	nw.lifeMu.Lock()
	if nw.closed {
		nw.lifeMu.Unlock()
		ln.Close()
		return ErrClosed
	}
	if nw.servers == nil {
		nw.servers = map[*http.Server]bool{}
	}
	nw.servers[srv] = true
	nw.wg.Add(1)
	nw.lifeMu.Unlock()
	go func() {
		defer nw.wg.Done()
		_ = srv.Serve(tls.NewListener(ln, srv.TLSConfig))
	}()
	return nil
}

// unserve closes srv and forgets it.
func (nw *Network) unserve(srv *http.Server) {
	nw.lifeMu.Lock()
	delete(nw.servers, srv)
	nw.lifeMu.Unlock()
	srv.Close()
}

func (nw *Network) isClosed() bool {
	select {
	case <-nw.closing:
		return true
	default:
		return false
	}
}

// SeedURL is the base URL of the seed node (HTTPS, certificate from the devnet CA): clients POST
// oxend JSON-RPC get_n_service_nodes / get_service_nodes to SeedURL()+"/json_rpc".
func (nw *Network) SeedURL() string {
	nw.seedMu.Lock()
	defer nw.seedMu.Unlock()
	return nw.seedURL
}

// CACertPEM is the devnet CA certificate (PEM) that signed the seed's and every node's TLS
// certificate: the trust material a client pins for the seed.
func (nw *Network) CACertPEM() []byte { return append([]byte(nil), nw.caPEM...) }

// CertPool is a fresh pool holding the devnet CA.
func (nw *Network) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(nw.caCert)
	return p
}

// TLSConfig is a client TLS configuration that trusts the devnet CA (and nothing else).
func (nw *Network) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: nw.CertPool(), MinVersion: tls.VersionTLS12}
}

// HTTPClient returns a new HTTP client that trusts the devnet CA. Callers should call
// CloseIdleConnections on its transport when done.
func (nw *Network) HTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{TLSClientConfig: nw.TLSConfig(), ForceAttemptHTTP2: false},
		Timeout:   30 * time.Second,
	}
}

// Now is the network clock in use (without any node's skew).
func (nw *Network) Now() time.Time { return nw.clock() }

// Height is the fake chain height; it grows with every membership change.
func (nw *Network) Height() uint64 {
	nw.mu.RLock()
	defer nw.mu.RUnlock()
	return nw.height
}

// Nodes lists the registered nodes (running or stopped), in registration order.
func (nw *Network) Nodes() []*Node {
	nw.mu.RLock()
	defer nw.mu.RUnlock()
	return append([]*Node(nil), nw.nodes...)
}

// Node finds a registered node by its Ed25519 public key.
func (nw *Network) Node(ed25519Pub [32]byte) (*Node, bool) {
	nw.mu.RLock()
	defer nw.mu.RUnlock()
	n, ok := nw.byEd[ed25519Pub]
	return n, ok
}

// Swarms maps each swarm id to its members (sorted by Ed25519 key).
func (nw *Network) Swarms() map[uint64][]*Node {
	nw.mu.RLock()
	defer nw.mu.RUnlock()
	out := map[uint64][]*Node{}
	for _, id := range nw.swarmIDs {
		out[id] = nw.membersLocked(id)
	}
	return out
}

// SwarmFor returns the swarm id and members responsible for a 33-byte account (a
// crypto.AccountID converts directly). The account's prefix is ignored, as in the real mapping.
func (nw *Network) SwarmFor(acct [33]byte) (uint64, []*Node) {
	nw.mu.RLock()
	defer nw.mu.RUnlock()
	id := nw.swarmForLocked(account(acct))
	return id, nw.membersLocked(id)
}

func (nw *Network) swarmForLocked(a account) uint64 {
	return closestSwarm(nw.swarmIDs, swarmSpace(a.key()))
}

func (nw *Network) membersLocked(id uint64) []*Node {
	var out []*Node
	for _, n := range nw.nodes {
		if sid, ok := nw.assign[n.edPub]; ok && sid == id {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return lessKey(out[i].edPub, out[j].edPub) })
	return out
}

func lessKey(a, b [32]byte) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// swarmOf is a node's current swarm (InvalidSwarmID when it has none).
func (nw *Network) swarmOf(n *Node) uint64 {
	nw.mu.RLock()
	defer nw.mu.RUnlock()
	if id, ok := nw.assign[n.edPub]; ok {
		return id
	}
	return InvalidSwarmID
}

// reassignLocked advances the fake chain by one block and re-runs oxend's swarm assignment.
func (nw *Network) reassignLocked() {
	nw.height++
	var hb [8]byte
	binary.LittleEndian.PutUint64(hb[:], nw.height)
	var sb [8]byte
	binary.LittleEndian.PutUint64(sb[:], nw.seed)
	nw.blockHash = blake2b.Sum256(append(append([]byte("devnet block"), sb[:]...), hb[:]...))
	active := make([][32]byte, 0, len(nw.nodes))
	for _, n := range nw.nodes {
		active = append(active, n.edPub)
	}
	nw.assign = assignSwarms(nw.assign, active, nw.blockHash)
	seen := map[uint64]bool{}
	nw.swarmIDs = nw.swarmIDs[:0]
	for _, id := range nw.assign {
		if !seen[id] {
			seen[id] = true
			nw.swarmIDs = append(nw.swarmIDs, id)
		}
	}
	sort.Slice(nw.swarmIDs, func(i, j int) bool { return nw.swarmIDs[i] < nw.swarmIDs[j] })
}

// randUint64 draws from the network's deterministic RNG.
func (nw *Network) randUint64() uint64 {
	nw.rngMu.Lock()
	defer nw.rngMu.Unlock()
	return nw.rng.Uint64()
}

// newNode creates a node identity (deterministic under WithSeed) and its TLS certificate.
func (nw *Network) newNode() (*Node, error) {
	nw.mu.Lock()
	idx := nw.nextIndex
	nw.nextIndex++
	nw.mu.Unlock()
	var ib [16]byte
	binary.LittleEndian.PutUint64(ib[:8], nw.seed)
	binary.LittleEndian.PutUint64(ib[8:], uint64(idx))
	seed := blake2b.Sum256(append([]byte("devnet node"), ib[:]...))
	priv := ed25519.NewKeyFromSeed(seed[:])
	n := &Node{nw: nw, index: idx, edPriv: priv, store: newStore()}
	copy(n.edPub[:], priv.Public().(ed25519.PublicKey))
	h := sha512.Sum512(seed[:])
	copy(n.xPriv[:], h[:32])
	n.xPriv[0] &= 248
	n.xPriv[31] &= 127
	n.xPriv[31] |= 64
	x, ok := edToX(n.edPub)
	if !ok {
		return nil, fmt.Errorf("devnet: node key conversion failed")
	}
	n.xPub = x
	n.faultRng = mrand.New(mrand.NewPCG(nw.seed, uint64(idx)+1))
	cert, err := nw.issueCert()
	if err != nil {
		return nil, err
	}
	n.cert = cert
	return n, nil
}

func (nw *Network) makeCA() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		return fmt.Errorf("devnet: CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sessiongo devnet CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("devnet: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("devnet: CA certificate: %w", err)
	}
	nw.caCert, nw.caKey = cert, key
	nw.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	nw.pool = x509.NewCertPool()
	nw.pool.AddCert(cert)
	return nil
}

// issueCert makes a leaf certificate for 127.0.0.1 / localhost (CN=localhost, like the real
// storage servers' self-signed ones) signed by the devnet CA.
func (nw *Network) issueCert() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("devnet: TLS key: %w", err)
	}
	serial, err := crand.Int(crand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("devnet: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, nw.caCert, &key.PublicKey, nw.caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("devnet: TLS certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func serverTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
}
