package swarm

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sessiongo/sdk/crypto"
)

// MainnetSeeds returns the URLs of Session's mainnet seed nodes (HTTPS oxend JSON-RPC proxies
// with publicly trusted certificates).
func MainnetSeeds() []string {
	return []string{
		"https://seed1.getsession.org:4443",
		"https://seed2.getsession.org:4443",
		"https://seed3.getsession.org:4443",
	}
}

// PoolStore persists the node pool so that a restart does not have to ask the seeds. The
// Client's store implements it; methods must be safe for concurrent use. A pool belongs to the
// network of its seeds: a store shared by pools of different seeds (a devnet and mainnet, or
// two devnets) must keep one saved pool per set of seeds (see SeedsKey), so that a pool saved
// for one network is never used on another.
type PoolStore interface {
	// LoadPool returns the saved nodes and when they were fetched; no saved pool is (nil,
	// zero time, nil).
	LoadPool(ctx context.Context) ([]Node, time.Time, error)
	// SavePool replaces the saved pool.
	SavePool(ctx context.Context, nodes []Node, fetched time.Time) error
}

// PoolConfig configures a Pool. Only what differs from the defaults needs setting.
type PoolConfig struct {
	// Seeds are the seed URLs (scheme://host:port, "/json_rpc" is appended). Default
	// MainnetSeeds().
	Seeds []string
	// SeedClient is the HTTP client for seeds. Default: a client with its own transport that
	// verifies certificates against SeedRootCAs (or the system roots), 10 s timeout. Seeds are
	// never contacted with verification off.
	SeedClient *http.Client
	// SeedRootCAs are the roots trusted for seed certificates when SeedClient is nil (nil: the
	// system roots). Pin a private CA here, or devnet's certificate.
	SeedRootCAs *x509.CertPool
	// Transport is used to refresh the pool from random nodes (an onion transport normally;
	// see also SetTransport). Without one the pool is only ever fetched from seeds.
	Transport Transport
	// Store persists the pool (optional).
	Store PoolStore
	// MaxAge is how long a pool is used before it is refreshed (default 2 h).
	MaxAge time.Duration
	// MinSize is the smallest usable pool (default 12); below it the seeds are asked. When a
	// seed returns fewer nodes it becomes min(max(3, seed size - 3), MinSize).
	MinSize int
	// RefreshNodes is how many random nodes are asked in a refresh; only the nodes all of them
	// list are kept (default 3).
	RefreshNodes int
	// RequestTimeout bounds each seed or node request of a refresh (default 10 s).
	RequestTimeout time.Duration
	// Logger receives debug logs (default: discard).
	Logger *slog.Logger
}

// Pool is the snode pool and the cache of account swarms. It is safe for concurrent use. It
// starts no goroutines: fetches happen in the calls that need them, one at a time.
type Pool struct {
	cfg    PoolConfig
	tr     atomic.Pointer[Transport] // refresh transport (PoolConfig.Transport or SetTransport)
	seeds  *http.Client
	log    *slog.Logger
	sem    chan struct{} // held while fetching (one fetch at a time)
	mu     sync.Mutex
	nodes  []Node
	index  swarmIndex
	cache  map[[32]byte]cachedSwarm
	when   time.Time // when nodes were fetched
	gen    uint64    // increments on every pool change
	seedSz int       // size of the last seed answer (0: none yet)

	// rep counts nodes' offenses; banned nodes are left out of answers (reputation.go).
	rep reputation

	// lastOK is when a node of the pool last answered a request; seedTry when the seeds were
	// last asked (zero: not since the pool was loaded). See nodesFailing.
	lastOK  time.Time
	seedTry time.Time
}

// seedFailover is how long requests to every node may fail before the pool goes back to its
// seeds (and how often at most it does so while they keep failing): the saved or refreshed
// nodes may belong to a network that is gone or was replaced.
const seedFailover = 30 * time.Second

// SeedsKey identifies a set of seed URLs (order, case and a trailing "/" or "/json_rpc" do
// not matter): the key under which a PoolStore keeps the pool fetched through them.
func SeedsKey(seeds []string) string {
	norm := make([]string, 0, len(seeds))
	for _, s := range seeds {
		s = strings.ToLower(strings.TrimSpace(s))
		s = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(s, "/"), "/json_rpc"), "/")
		norm = append(norm, s)
	}
	slices.Sort(norm)
	norm = slices.Compact(norm)
	sum := sha256.Sum256([]byte(strings.Join(norm, "\n")))
	return hex.EncodeToString(sum[:12])
}

type cachedSwarm struct {
	id    uint64
	nodes []Node
}

// NewPool returns an empty pool; the first call that needs nodes loads them (from the store,
// else from a seed). It does no I/O.
func NewPool(cfg PoolConfig) (*Pool, error) {
	if len(cfg.Seeds) == 0 {
		cfg.Seeds = MainnetSeeds()
	}
	seeds := make([]string, 0, len(cfg.Seeds))
	for _, s := range cfg.Seeds {
		if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
			return nil, fmt.Errorf("swarm: seed %q: want an http(s) URL", s)
		}
		// The seed's JSON-RPC URL, as seeds are often written, names the seed too.
		seeds = append(seeds, strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(s, "/"), "/json_rpc"), "/"))
	}
	cfg.Seeds = seeds
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 2 * time.Hour
	}
	if cfg.MinSize <= 0 {
		cfg.MinSize = 12
	}
	if cfg.RefreshNodes <= 0 {
		cfg.RefreshNodes = 3
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	p := &Pool{cfg: cfg, seeds: cfg.SeedClient, log: cfg.Logger, sem: make(chan struct{}, 1),
		cache: map[[32]byte]cachedSwarm{}}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Transport != nil {
		p.SetTransport(cfg.Transport)
	}
	if p.seeds == nil {
		p.seeds = &http.Client{
			Timeout:       cfg.RequestTimeout,
			CheckRedirect: noRedirects,
			Transport: &http.Transport{
				DialContext:         (&net.Dialer{Timeout: cfg.RequestTimeout}).DialContext,
				TLSClientConfig:     &tls.Config{RootCAs: cfg.SeedRootCAs, MinVersion: tls.VersionTLS12},
				TLSHandshakeTimeout: cfg.RequestTimeout,
				MaxIdleConnsPerHost: 1,
				IdleConnTimeout:     30 * time.Second,
			},
		}
	}
	return p, nil
}

// SetTransport sets the transport used to refresh the pool from nodes, replacing
// PoolConfig.Transport. It breaks the construction cycle with transports that take their
// nodes from this pool (an onion transport): create the pool, then the transport, then call
// SetTransport. Requests the pool sends carry a context that makes the pool's own methods
// (Nodes, RandomNodes, Swarm) answer from the current nodes without waiting for the refresh in
// progress, so such a transport may call them while sending.
func (p *Pool) SetTransport(t Transport) {
	if t == nil {
		p.tr.Store(nil)
		return
	}
	p.tr.Store(&t)
}

func (p *Pool) transport() Transport {
	if t := p.tr.Load(); t != nil {
		return *t
	}
	return nil
}

// CloseIdleConnections closes the idle connections of the pool's own seed client (not of a
// PoolConfig.SeedClient). Call it when the pool is no longer used.
func (p *Pool) CloseIdleConnections() {
	if p.cfg.SeedClient == nil {
		p.seeds.CloseIdleConnections()
	}
}

// Snapshot returns the nodes the pool holds now, without loading or refreshing (nil when it
// has none yet), banned nodes left out (see Report). It never blocks on a fetch.
func (p *Pool) Snapshot() []Node {
	p.mu.Lock()
	nodes := append([]Node(nil), p.nodes...)
	p.mu.Unlock()
	return p.rep.filter(nodes)
}

// refreshingKey marks the contexts of requests the pool sends while it holds its fetch lock.
type refreshingKey struct{}

// minSize is the usable minimum, lowered when the seeds know fewer nodes (small networks).
func (p *Pool) minSize() int {
	m := p.cfg.MinSize
	if p.seedSz > 0 && p.seedSz < m {
		m = min(max(3, p.seedSz-3), m)
	}
	return m
}

// Len returns the number of nodes in the pool (without loading it).
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.nodes)
}

// Nodes returns a copy of the pool, loading or refreshing it first when needed. Banned nodes
// are left out (see Report).
func (p *Pool) Nodes(ctx context.Context) ([]Node, error) {
	if err := p.ensure(ctx); err != nil {
		return nil, err
	}
	p.mu.Lock()
	nodes := append([]Node(nil), p.nodes...)
	p.mu.Unlock()
	return p.rep.filter(nodes), nil
}

// RandomNodes returns up to n distinct random nodes of the pool for which skip (if not nil)
// is false. It fails with ErrNoNodes when none qualifies.
func (p *Pool) RandomNodes(ctx context.Context, n int, skip func(Node) bool) ([]Node, error) {
	nodes, err := p.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	rand.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
	out := nodes[:0]
	for _, nd := range nodes {
		if len(out) == n {
			break
		}
		if skip == nil || !skip(nd) {
			out = append(out, nd)
		}
	}
	if len(out) == 0 {
		return nil, ErrNoNodes
	}
	return out, nil
}

// Set replaces the pool with nodes (for example a list the application fetched itself) and
// persists it. The swarm cache is cleared.
func (p *Pool) Set(ctx context.Context, nodes []Node) error {
	valid := make([]Node, 0, len(nodes))
	for _, n := range nodes {
		if n.Valid() {
			valid = append(valid, n)
		}
	}
	if len(valid) == 0 {
		return ErrNoNodes
	}
	p.install(valid, time.Now())
	p.persist(ctx)
	return nil
}

// Remove drops a node from the pool and from every cached swarm (for example after a relay
// reported "Next node not found" for it).
func (p *Pool) Remove(node Node) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.nodes[:0:0]
	for _, n := range p.nodes {
		if n.Ed25519 != node.Ed25519 {
			out = append(out, n)
		}
	}
	if len(out) == len(p.nodes) {
		return
	}
	p.nodes = out
	p.index = newSwarmIndex(out)
	for k, c := range p.cache {
		c.nodes = without(c.nodes, node)
		p.cache[k] = c
	}
	p.gen++
}

func without(nodes []Node, drop Node) []Node {
	out := make([]Node, 0, len(nodes))
	for _, n := range nodes {
		if n.Ed25519 != drop.Ed25519 {
			out = append(out, n)
		}
	}
	return out
}

// Swarm returns the ID and members of the swarm that stores account, computed locally from the
// pool (and cached until the pool changes or a node says otherwise). Banned members are left
// out unless all are (see Report).
func (p *Pool) Swarm(ctx context.Context, account crypto.AccountID) (uint64, []Node, error) {
	id, members, err := p.swarm(ctx, account)
	if err != nil {
		return 0, nil, err
	}
	return id, p.rep.filter(members), nil
}

func (p *Pool) swarm(ctx context.Context, account crypto.AccountID) (uint64, []Node, error) {
	if err := p.ensure(ctx); err != nil {
		return 0, nil, err
	}
	key := account.Key()
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.cache[key]; ok && len(c.nodes) > 0 {
		return c.id, append([]Node(nil), c.nodes...), nil
	}
	id, members, ok := p.index.lookup(key)
	if !ok || len(members) == 0 {
		return 0, nil, fmt.Errorf("swarm for %s: %w", account, ErrNoNodes)
	}
	p.cache[key] = cachedSwarm{id: id, nodes: members}
	return id, append([]Node(nil), members...), nil
}

// setSwarm replaces the cached swarm of account with what a node said (a 421 body).
func (p *Pool) setSwarm(account crypto.AccountID, info SwarmInfo) {
	if len(info.Nodes) == 0 || info.ID == InvalidSwarmID {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cache[account.Key()] = cachedSwarm{id: info.ID, nodes: append([]Node(nil), info.Nodes...)}
}

// dropFromSwarm removes a node from account's cached swarm.
func (p *Pool) dropFromSwarm(account crypto.AccountID, node Node) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.cache[account.Key()]; ok {
		c.nodes = without(c.nodes, node)
		p.cache[account.Key()] = c
	}
}

// Refresh fetches a new pool now: from RefreshNodes random nodes through the Transport when
// the pool is usable (keeping only what they all list), otherwise from a seed. On failure the
// old pool stays.
func (p *Pool) Refresh(ctx context.Context) error {
	if ctx.Value(refreshingKey{}) != nil {
		return fmt.Errorf("swarm: pool refresh from within a pool refresh")
	}
	if err := p.lock(ctx); err != nil {
		return err
	}
	defer p.unlock()
	p.mu.Lock()
	usable := len(p.nodes) >= p.minSize()
	p.mu.Unlock()
	if usable && p.transport() != nil {
		err := p.refreshFromNodes(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		// The nodes did not answer: back to the seeds (the old pool stays if they fail too).
		p.log.Debug("swarm: pool refresh from nodes failed; asking the seeds", "err", err)
		if serr := p.refreshFromSeeds(ctx); serr != nil {
			return errors.Join(err, serr)
		}
		return nil
	}
	return p.refreshFromSeeds(ctx)
}

// nodeAnswered records that a node of the pool answered a request.
func (p *Pool) nodeAnswered() {
	p.mu.Lock()
	p.lastOK = time.Now()
	p.mu.Unlock()
}

// nodesFailing is told that a request failed on every node it tried, none answering. When no
// node has answered for seedFailover (or at all since the pool was loaded from the store), and
// the seeds were not asked in that time, the pool is fetched from the seeds again: the nodes
// may belong to a network that is gone or was replaced under a saved store. While the seeds
// fail too, the pool is kept. It reports whether the pool was replaced.
func (p *Pool) nodesFailing(ctx context.Context) bool {
	if ctx.Value(refreshingKey{}) != nil || ctx.Err() != nil {
		return false
	}
	p.mu.Lock()
	due := time.Since(p.lastOK) >= seedFailover && time.Since(p.seedTry) >= seedFailover
	p.mu.Unlock()
	if !due {
		return false
	}
	if err := p.lock(ctx); err != nil {
		return false
	}
	defer p.unlock()
	p.mu.Lock()
	due = time.Since(p.lastOK) >= seedFailover && time.Since(p.seedTry) >= seedFailover
	p.mu.Unlock()
	if !due {
		return false // another request went to the seeds while we waited
	}
	p.log.Debug("swarm: no node of the pool answers; asking the seeds")
	if err := p.refreshFromSeeds(ctx); err != nil {
		p.log.Debug("swarm: seeds failed too; keeping the pool", "err", err)
		return false
	}
	return true
}

func (p *Pool) lock(ctx context.Context) error {
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Pool) unlock() { <-p.sem }

// ensure makes the pool usable: load it from the store, fetch it from a seed if too small,
// refresh it from nodes if too old (keeping the old one if that fails).
func (p *Pool) ensure(ctx context.Context) error {
	if p.fresh() {
		return nil
	}
	if ctx.Value(refreshingKey{}) != nil {
		// Called from within our own refresh (a transport choosing its path): answer with
		// what we have rather than wait for ourselves.
		if p.Len() == 0 {
			return ErrNoNodes
		}
		return nil
	}
	p.mu.Lock()
	gen := p.gen
	p.mu.Unlock()
	if err := p.lock(ctx); err != nil {
		return err
	}
	defer p.unlock()
	p.mu.Lock()
	changed := p.gen != gen
	p.mu.Unlock()
	if changed && p.fresh() {
		return nil // another caller fetched while we waited
	}
	if p.Len() == 0 && p.cfg.Store != nil {
		nodes, when, err := p.cfg.Store.LoadPool(ctx)
		if err != nil {
			p.log.Debug("swarm: loading the saved pool failed", "err", err)
		} else if len(nodes) > 0 {
			p.install(nodes, when)
			p.log.Debug("swarm: pool loaded from store", "nodes", len(nodes), "fetched", when)
			if p.fresh() {
				return nil
			}
		}
	}
	p.mu.Lock()
	size, min := len(p.nodes), p.minSize()
	p.mu.Unlock()
	if size >= min && p.transport() != nil {
		err := p.refreshFromNodes(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		// The nodes did not answer: back to the seeds, keeping the old pool if they fail too.
		if serr := p.refreshFromSeeds(ctx); serr != nil {
			if ctx.Err() != nil {
				return serr
			}
			p.log.Debug("swarm: pool refresh from nodes and seeds failed; keeping the old pool", "err", err, "seeds", serr)
		}
		return nil
	}
	if err := p.refreshFromSeeds(ctx); err != nil {
		if size > 0 && ctx.Err() == nil {
			p.log.Debug("swarm: seed refresh failed; keeping the small pool", "err", err, "nodes", size)
			return nil
		}
		return err
	}
	return nil
}

// fresh reports whether the pool is big enough and young enough.
func (p *Pool) fresh() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.nodes) >= p.minSize() && time.Since(p.when) < p.cfg.MaxAge
}

// install replaces the pool: shuffled, swarms rebuilt, swarm cache cleared.
func (p *Pool) install(nodes []Node, when time.Time) {
	nodes = append([]Node(nil), nodes...)
	rand.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nodes = nodes
	p.index = newSwarmIndex(nodes)
	p.cache = map[[32]byte]cachedSwarm{}
	p.when = when
	p.gen++
}

func (p *Pool) persist(ctx context.Context) {
	if p.cfg.Store == nil {
		return
	}
	p.mu.Lock()
	nodes, when := append([]Node(nil), p.nodes...), p.when
	p.mu.Unlock()
	if err := p.cfg.Store.SavePool(ctx, nodes, when); err != nil {
		p.log.Debug("swarm: saving the pool failed", "err", err)
	}
}

// seedBody asks a seed for every active node with the fields a client needs, swarm_id
// included because swarms are computed locally.
const seedBody = `{"jsonrpc":"2.0","method":"get_n_service_nodes","params":{"active_only":true,"fields":{"public_ip":true,"storage_port":true,"pubkey_x25519":true,"pubkey_ed25519":true,"swarm_id":true}}}`

// nodeRefreshBody is the same question to a storage node, which forwards it to its oxend.
const nodeRefreshBody = `{"method":"oxend_request","params":{"endpoint":"get_service_nodes","params":{"active_only":true,"fields":{"public_ip":true,"storage_port":true,"pubkey_x25519":true,"pubkey_ed25519":true,"swarm_id":true}}}}`

// refreshFromSeeds asks the seeds in random order; the first usable answer is trusted as is.
func (p *Pool) refreshFromSeeds(ctx context.Context) error {
	p.mu.Lock()
	p.seedTry = time.Now()
	p.mu.Unlock()
	seeds := append([]string(nil), p.cfg.Seeds...)
	rand.Shuffle(len(seeds), func(i, j int) { seeds[i], seeds[j] = seeds[j], seeds[i] })
	var errs []error
	for _, s := range seeds {
		nodes, err := p.fetchSeed(ctx, s)
		if err == nil && len(nodes) == 0 {
			err = ErrNoNodes
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		p.mu.Lock()
		p.seedSz = len(nodes)
		p.mu.Unlock()
		p.install(nodes, time.Now())
		p.persist(ctx)
		p.log.Debug("swarm: pool fetched from seed", "seed", s, "nodes", len(nodes))
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrNoSeeds, err)
	}
	return fmt.Errorf("%w: %w", ErrNoSeeds, errors.Join(errs...))
}

// FetchSeed asks one seed for the node list: POST <seed>/json_rpc get_n_service_nodes. It
// needs HTTP 200 with a JSON content type. c must verify the seed's certificate.
func FetchSeed(ctx context.Context, c *http.Client, seed string) ([]Node, error) {
	u := strings.TrimSuffix(seed, "/") + "/json_rpc"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(seedBody))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := readLimited(res.Body, DefaultMaxResponseSize)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: seed answered %d", ErrInvalidResponse, res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return nil, fmt.Errorf("%w: seed content type %q", ErrInvalidResponse, ct)
	}
	nodes, _, err := ParseServiceNodes(body)
	return nodes, err
}

func (p *Pool) fetchSeed(ctx context.Context, seed string) ([]Node, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout)
	defer cancel()
	return FetchSeed(ctx, p.seeds, seed)
}

// refreshFromNodes asks RefreshNodes random nodes through the Transport and keeps the nodes
// every one of them lists (same key, address, port and swarm). Any failure, or agreement on
// fewer than the minimum, keeps the old pool.
func (p *Pool) refreshFromNodes(ctx context.Context) error {
	p.mu.Lock()
	cands := append([]Node(nil), p.nodes...)
	min := p.minSize()
	p.mu.Unlock()
	cands = p.rep.filter(cands) // a banned node is not asked for the node list
	if len(cands) < p.cfg.RefreshNodes {
		return fmt.Errorf("refresh: %w: %d nodes for %d queries", ErrNoNodes, len(cands), p.cfg.RefreshNodes)
	}
	tr := p.transport()
	if tr == nil {
		return fmt.Errorf("swarm: pool refresh from nodes: no transport")
	}
	rand.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	cands = cands[:p.cfg.RefreshNodes]
	ctx = context.WithValue(ctx, refreshingKey{}, true)
	lists := make([][]Node, len(cands))
	g, gctx := errgroup.WithContext(ctx)
	for i, n := range cands {
		g.Go(func() error {
			rctx, cancel := context.WithTimeout(gctx, p.cfg.RequestTimeout)
			defer cancel()
			body, err := tr.Send(rctx, n, []byte(nodeRefreshBody))
			if err != nil {
				return fmt.Errorf("refresh from %s: %w", n, err)
			}
			nodes, _, err := ParseServiceNodes(body)
			if err != nil {
				return fmt.Errorf("refresh from %s: %w", n, err)
			}
			lists[i] = nodes
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	common := intersect(lists)
	if len(common) < min {
		return fmt.Errorf("%w: %d nodes in common, need %d", ErrDisagreement, len(common), min)
	}
	p.install(common, time.Now())
	p.persist(ctx)
	p.log.Debug("swarm: pool refreshed from nodes", "nodes", len(common))
	return nil
}

// intersect returns the nodes present (identically) in every list, in the first list's order.
func intersect(lists [][]Node) []Node {
	if len(lists) == 0 {
		return nil
	}
	count := map[Node]int{}
	for _, l := range lists {
		seen := map[Node]bool{}
		for _, n := range l {
			if !seen[n] {
				seen[n] = true
				count[n]++
			}
		}
	}
	var out []Node
	for _, n := range lists[0] {
		if count[n] == len(lists) {
			out = append(out, n)
			count[n] = 0
		}
	}
	return out
}
