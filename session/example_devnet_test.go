package session_test

import (
	"context"
	"time"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
)

// exampleDevnet starts the network of an Example: a devnet, a Session network on 127.0.0.1 in
// this process. It returns a context that ends after a minute, the config of a network on the
// devnet, and the function that stops both. On the real network there is nothing to start:
// leave the config out, and mainnet seeds and onion paths are the default.
func exampleDevnet() (context.Context, session.NetworkConfig, func()) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	dn, err := devnet.Start(ctx)
	if err != nil {
		panic(err)
	}
	// Every devnet node listens on 127.0.0.1, so onion paths need only distinct nodes.
	cfg := session.NetworkConfig{Seeds: []string{dn.SeedURL()}, SeedRootCAs: dn.CertPool(), PathDiversity: onion.DistinctNodes}
	return ctx, cfg, func() { dn.Close(); cancel() }
}
