package session

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/fileserver"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/sns"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
)

// NetworkConfig says how to reach the Session network. The zero value means Session's mainnet
// through onion paths.
type NetworkConfig struct {
	// Seeds are the seed node URLs (default: mainnet seeds). A devnet gives its own.
	Seeds []string
	// SeedRootCAs are the roots trusted for the seeds' certificates (nil: the system roots). In
	// direct mode they are also trusted for servers (file server, communities) reached over
	// HTTPS.
	SeedRootCAs *x509.CertPool
	// FileServer is the file server for attachments and profile pictures (zero: Session's).
	// FileServerEd25519 is its Ed25519 key, written into file URLs for non-default servers.
	FileServer        onion.Server
	FileServerEd25519 [32]byte
	// Direct sends requests straight to storage nodes over HTTPS instead of through 3-hop onion
	// paths: faster, but the nodes see this machine's IP address.
	Direct bool
	// PathDiversity says which nodes may share an onion path (default onion.DistinctSubnets).
	// A devnet, whose nodes all listen on 127.0.0.1, needs onion.DistinctNodes.
	PathDiversity onion.Diversity
	// Proxy routes the HTTPS connections to nodes and seeds (e.g. http.ProxyURL of a
	// "socks5://" URL for Tor); nil connects directly.
	Proxy func(*http.Request) (*url.URL, error)
	// Isolated keeps every request inside the configured network: servers (the file server,
	// community rooms, the file URLs of received attachments and profile pictures) must be on
	// a loopback address or on a host of the seeds or of FileServer, and requests to others
	// fail with ErrOutsideNetwork before anything is resolved or sent. It is on whenever every
	// seed is a loopback address (a devnet). It guards the server requests of the Client and
	// of Network.Servers and FileServer, not those sent on Network.Onion directly.
	Isolated bool
	// HTTPClient, in direct mode, is the HTTP client for requests to servers (communities, the
	// file server), for example with a custom transport; it should not follow redirects. Nil:
	// a client built from SeedRootCAs, Proxy and DisableKeepAlives.
	HTTPClient *http.Client
	// DisableKeepAlives, in direct mode, opens a new connection for every request to a server
	// instead of reusing kept-alive ones. Some server fronts (pysogs under its standard uWSGI
	// set-up) close idle connections without saying so, and a request sent on such a
	// connection fails with EOF or "connection reset" (the direct transport already avoids
	// kept-alive connections for requests that are not safe to send twice, and retries the
	// others once; this turns reuse off altogether).
	DisableKeepAlives bool
	// Store persists the node pool so that a restart need not ask the seeds (optional).
	Store store.KVStore
	// Logger receives the network's logs (default: discard).
	Logger *slog.Logger
	// PollConcurrency bounds the polls of the Network's running clients in flight at once
	// (default DefaultPollConcurrency). The polls one Network serves per second are about
	// PollConcurrency divided by the round-trip time; raise it for many clients on a slow
	// network.
	PollConcurrency int
}

// Network is a connection to the Session network: the node pool, the swarm cache and the
// transport (onion paths or direct). Many Clients can share one Network (see [WithNetwork]), which
// is how hundreds of bots in one process share one pool and one set of paths. It is safe for
// concurrent use and does no I/O until a request needs it.
type Network struct {
	pool      *swarm.Pool
	rpc       *swarm.Client
	transport swarm.Transport
	onion     *onion.Transport // nil in direct mode
	servers   onion.ServerTransport
	files     *fileserver.Client
	sched     *scheduler    // the poll loop of every running client (scheduler.go)
	leases    *leaseRenewer // renews the account leases of its clients (lease.go)
	closeOnce sync.Once
	closers   []func() error
}

// NewNetwork prepares a Network; it does no I/O.
func NewNetwork(cfg NetworkConfig) (*Network, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Network{}
	https := swarm.NewHTTPSTransport(swarm.HTTPSOptions{Proxy: cfg.Proxy})
	n.closers = append(n.closers, https.Close)
	// The pool refreshes itself through the network's transport, and onion paths are built from
	// the pool: the pool gets a forwarder that is pointed at the transport once it exists.
	fwd := &forwardTransport{}
	var seedClient *http.Client
	if cfg.Proxy != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = cfg.Proxy
		if cfg.SeedRootCAs != nil {
			tr.TLSClientConfig = newTLSConfig(cfg.SeedRootCAs)
		}
		seedClient = &http.Client{Transport: tr, Timeout: 15 * time.Second}
		n.closers = append(n.closers, func() error { tr.CloseIdleConnections(); return nil })
	}
	var ps swarm.PoolStore
	if cfg.Store != nil {
		seeds := cfg.Seeds
		if len(seeds) == 0 {
			seeds = swarm.MainnetSeeds()
		}
		ps = kvPoolStore{kv: cfg.Store, key: poolKey + "/" + swarm.SeedsKey(seeds)}
	}
	pool, err := swarm.NewPool(swarm.PoolConfig{
		Seeds:       cfg.Seeds,
		SeedClient:  seedClient,
		SeedRootCAs: cfg.SeedRootCAs,
		Transport:   fwd,
		Store:       ps,
		Logger:      log,
	})
	if err != nil {
		return nil, fmt.Errorf("session: network: %w", err)
	}
	n.pool = pool
	n.closers = append(n.closers, func() error { pool.CloseIdleConnections(); return nil })
	fwd.t = https
	if !cfg.Direct {
		ot, err := onion.New(onion.Config{Pool: pool, Proxy: cfg.Proxy, Diversity: cfg.PathDiversity, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("session: network: %w", err)
		}
		n.onion = ot
		n.closers = append(n.closers, ot.Close)
		fwd.t = ot
	}
	n.transport = fwd.t
	if n.onion != nil {
		n.servers = n.onion
	} else {
		direct := &onion.DirectServerTransport{Client: cfg.HTTPClient, DisableKeepAlives: cfg.DisableKeepAlives}
		n.closers = append(n.closers, func() error { direct.CloseIdleConnections(); return nil })
		if cfg.HTTPClient == nil && (cfg.SeedRootCAs != nil || cfg.Proxy != nil) {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.Proxy = cfg.Proxy
			if cfg.SeedRootCAs != nil {
				tr.TLSClientConfig = newTLSConfig(cfg.SeedRootCAs)
			}
			direct.Client = &http.Client{Transport: tr, Timeout: 60 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			n.closers = append(n.closers, func() error { tr.CloseIdleConnections(); return nil })
		}
		n.servers = direct
	}
	if isolatedConfig(cfg) {
		n.servers = newIsolation(cfg, n.servers)
	}
	files, err := fileserver.New(fileserver.Config{Transport: n.servers, Server: cfg.FileServer,
		Ed25519: cfg.FileServerEd25519, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("session: network: %w", err)
	}
	n.files = files
	rpc, err := swarm.NewClient(swarm.ClientConfig{Transport: n.transport, Pool: pool, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("session: network: %w", err)
	}
	n.rpc = rpc
	// Closed first (closers run in reverse): running clients stop before the transports go.
	n.sched = newScheduler(cfg.PollConcurrency)
	n.closers = append(n.closers, n.sched.close)
	n.leases = newLeaseRenewer()
	n.closers = append(n.closers, n.leases.close)
	return n, nil
}

// forwardTransport forwards to t, which is set once before any request is made.
type forwardTransport struct{ t swarm.Transport }

func (f *forwardTransport) Send(ctx context.Context, node swarm.Node, body []byte) ([]byte, error) {
	return f.t.Send(ctx, node, body)
}

// Onion returns the onion transport, or nil when the network is direct. Its Do method sends
// requests to servers (communities, the file server) through onion paths.
func (n *Network) Onion() *onion.Transport { return n.onion }

// ResolveName looks up a Session Name Service (ONS) name, asking three random nodes through the
// network's transport and accepting only a unanimous answer (see package [sns]).
func (n *Network) ResolveName(ctx context.Context, name string) (crypto.AccountID, error) {
	r, err := sns.NewResolver(sns.ResolverConfig{Transport: n.transport, Nodes: n.pool})
	if err != nil {
		return crypto.AccountID{}, err
	}
	return r.Resolve(ctx, name)
}

// Servers returns the transport for requests to servers (communities, the file server): onion
// paths, or plain HTTPS in direct mode.
func (n *Network) Servers() onion.ServerTransport { return n.servers }

// FileServer returns the client of the network's file server.
func (n *Network) FileServer() *fileserver.Client { return n.files }

// Pool returns the network's node pool.
func (n *Network) Pool() *swarm.Pool { return n.pool }

// RPC returns the signed storage RPC client, for requests the Client has no method for.
func (n *Network) RPC() *swarm.Client { return n.rpc }

// Now returns network time (local time corrected by what the nodes report).
func (n *Network) Now() time.Time { return n.rpc.Now() }

// Close releases the network's connections and paths. Clients using it should be stopped
// first; a Run still active returns ErrClosed, after its polls in flight have returned.
func (n *Network) Close() error {
	var errs []error
	n.closeOnce.Do(func() {
		for i := len(n.closers) - 1; i >= 0; i-- {
			errs = append(errs, n.closers[i]())
		}
	})
	return errors.Join(errs...)
}

// kvPoolStore keeps the node pool in a KVStore as JSON, under a key made from the seeds it
// came from: a store used on another network (a new devnet, or mainnet after a devnet) starts
// from that network's seeds instead of sending to the nodes of the old one.
type kvPoolStore struct {
	kv  store.KVStore
	key string
}

type savedPool struct {
	Fetched time.Time    `json:"fetched"`
	Nodes   []swarm.Node `json:"nodes"`
}

// The pool is saved under poolKey + "/" + swarm.SeedsKey(seeds); the unkeyed record of earlier
// versions is never read (it may belong to any network).
const poolBucket, poolKey = "swarm", "pool"

func (s kvPoolStore) LoadPool(ctx context.Context) ([]swarm.Node, time.Time, error) {
	b, err := s.kv.GetValue(ctx, poolBucket, s.key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	var p savedPool
	if err := json.Unmarshal(b, &p); err != nil {
		// A corrupt saved pool is not fatal: the seeds give a new one.
		return nil, time.Time{}, nil
	}
	return p.Nodes, p.Fetched, nil
}

func (s kvPoolStore) SavePool(ctx context.Context, nodes []swarm.Node, fetched time.Time) error {
	b, err := json.Marshal(savedPool{Fetched: fetched, Nodes: nodes})
	if err != nil {
		return err
	}
	return s.kv.PutValue(ctx, poolBucket, s.key, b)
}
