// Package v4srvtest holds test helpers shared by the devnet servers' tests: a devnet with an
// onion transport over it, to reach a server destination through real 3-hop paths, and a plain
// HTTP round trip.
package v4srvtest

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/swarm"
)

// Network starts a small devnet (closed with tb.Cleanup).
func Network(tb testing.TB, nodes int) *devnet.Network {
	tb.Helper()
	nw, err := devnet.Start(context.Background(), devnet.WithNodes(nodes))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = nw.Close() })
	return nw
}

// Transport returns an onion transport over nw's nodes (distinct nodes only, since they share
// 127.0.0.1), closed with tb.Cleanup.
func Transport(tb testing.TB, nw *devnet.Network, enc onion.EncType) *onion.Transport {
	tb.Helper()
	pool, err := swarm.NewPool(swarm.PoolConfig{Seeds: []string{nw.SeedURL()}, SeedRootCAs: nw.CertPool()})
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := onion.New(onion.Config{Pool: pool, Diversity: onion.DistinctNodes, EncType: enc})
	if err != nil {
		tb.Fatal(err)
	}
	pool.SetTransport(tr)
	tb.Cleanup(func() { _ = tr.Close() })
	return tr
}

// RoundTrip sends req with hc and returns the status, headers and body of the answer.
func RoundTrip(tb testing.TB, hc *http.Client, req *http.Request) (int, http.Header, []byte) {
	tb.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, resp.Header, out
}
