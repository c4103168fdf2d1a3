// Package devnetonion puts the SDK's onion transport, and the storage client over it, on a
// devnet: 3-hop paths of distinct nodes (every devnet node listens on 127.0.0.1) from a pool
// seeded by the devnet's seed. It is for the tests of the packages above onion that run on a
// devnet (onion's own tests build theirs by hand: this package imports onion).
package devnetonion

import (
	"testing"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/swarm"
)

// New makes an onion transport over nw with cfg (its Pool and Diversity are set here) and the
// node pool it builds paths from, which refreshes through it. The caller closes the transport.
func New(nw *devnet.Network, cfg onion.Config) (*onion.Transport, *swarm.Pool, error) {
	pool, err := swarm.NewPool(swarm.PoolConfig{Seeds: []string{nw.SeedURL()}, SeedRootCAs: nw.CertPool()})
	if err != nil {
		return nil, nil, err
	}
	cfg.Pool, cfg.Diversity = pool, onion.DistinctNodes
	tr, err := onion.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	pool.SetTransport(tr)
	return tr, pool, nil
}

// Start is New for tb: the transport is closed when tb ends, and an error fails tb.
func Start(tb testing.TB, nw *devnet.Network, cfg onion.Config) (*onion.Transport, *swarm.Pool) {
	tb.Helper()
	tr, pool, err := New(nw, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tr.Close() })
	return tr, pool
}

// SwarmClient is a storage client over Start's transport.
func SwarmClient(tb testing.TB, nw *devnet.Network, cfg onion.Config) (*swarm.Client, *onion.Transport, *swarm.Pool) {
	tb.Helper()
	tr, pool := Start(tb, nw, cfg)
	c, err := swarm.NewClient(swarm.ClientConfig{Transport: tr, Pool: pool})
	if err != nil {
		tb.Fatal(err)
	}
	return c, tr, pool
}
