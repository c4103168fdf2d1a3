// Package devnettest starts devnets for tests, the way net/http/httptest starts servers: one call,
// and the network is closed when the test ends.
//
//	func TestBot(t *testing.T) {
//		nw := devnettest.Start(t, devnet.WithNodes(8))
//		cfg := session.NetworkConfig{Seeds: []string{nw.SeedURL()}, SeedRootCAs: nw.CertPool(),
//			PathDiversity: onion.DistinctNodes}
//		…
//	}
//
// It is a package of its own so that programs that run a devnet (sessionctl devnet, the
// examples) do not link package testing.
package devnettest

import (
	"context"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet"
)

// StartTimeout bounds how long Start waits for a devnet to come up.
const StartTimeout = time.Minute

// Start starts a devnet with opts and closes it when tb and its subtests have ended
// (tb.Cleanup). A devnet that does not start fails tb.
func Start(tb testing.TB, opts ...devnet.Option) *devnet.Network {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	nw, err := devnet.Start(ctx, opts...)
	if err != nil {
		tb.Fatalf("devnettest: starting a devnet: %v", err)
	}
	tb.Cleanup(func() {
		if err := nw.Close(); err != nil {
			tb.Errorf("devnettest: closing the devnet: %v", err)
		}
	})
	return nw
}
