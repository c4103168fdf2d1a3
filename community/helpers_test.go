package community_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/internal/devnetonion"
	"github.com/sessiongo/sdk/onion"
)

var (
	netOnce sync.Once
	netErr  error
	sharedN *devnet.Network
	trOnce  sync.Once
	sharedT *onion.Transport
	trErr   error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedT != nil {
		_ = sharedT.Close()
	}
	if sharedN != nil {
		_ = sharedN.Close()
	}
	os.Exit(code)
}

// network is one devnet shared by the package's tests.
func network(tb testing.TB) *devnet.Network {
	tb.Helper()
	netOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sharedN, netErr = devnet.Start(ctx, devnet.WithNodes(8))
	})
	if netErr != nil {
		tb.Fatal(netErr)
	}
	return sharedN
}

// transport is an onion transport over the shared devnet (3-hop paths of distinct nodes: they
// all listen on 127.0.0.1).
func transport(tb testing.TB) *onion.Transport {
	tb.Helper()
	nw := network(tb)
	trOnce.Do(func() {
		sharedT, _, trErr = devnetonion.New(nw, onion.Config{})
	})
	if trErr != nil {
		tb.Fatal(trErr)
	}
	return sharedT
}

// server starts a community server on the shared devnet, reachable through onion paths.
func server(tb testing.TB, opts ...sogsd.Option) *sogsd.Server {
	tb.Helper()
	s, err := sogsd.Start(context.Background(), append([]sogsd.Option{sogsd.WithNetwork(network(tb))}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func newKeys(tb testing.TB) *crypto.Keys {
	tb.Helper()
	k, err := crypto.GenerateKeys(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// user makes a community client for new keys (or keys) on s through onion paths; cfg adjusts
// its config.
func user(tb testing.TB, s *sogsd.Server, keys *crypto.Keys, cfg func(*community.Config)) *community.Client {
	tb.Helper()
	if keys == nil {
		keys = newKeys(tb)
	}
	c := community.Config{Keys: keys, Server: s.OnionServer(), Transport: transport(tb)}
	if cfg != nil {
		cfg(&c)
	}
	cl, err := community.New(c)
	if err != nil {
		tb.Fatal(err)
	}
	return cl
}

func ctxT(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
