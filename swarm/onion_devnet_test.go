package swarm_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/internal/devnetonion"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/swarm"
)

// The storage client over 3-hop onion paths (package onion's swarm.Transport): the same RPCs
// and retry rules as over the direct transport, with statuses taken from the destination's
// encrypted reply.
func TestClientOverOnion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	nw := devnettest.Start(t, devnet.WithNodes(16))
	c, _, pool := devnetonion.SwarmClient(t, nw, onion.Config{RequestTimeout: 10 * time.Second})
	k := keysN(t, 21)
	s := swarm.NewKeysSigner(k)
	res, err := c.Store(ctx, s, swarm.StoreRequest{Namespace: swarm.NamespaceUserProfile, Data: []byte("through the onion"), TTL: time.Hour})
	if err != nil || res.Succeeded() == 0 {
		t.Fatalf("%+v %v", res, err)
	}
	got, err := c.Retrieve(ctx, s, swarm.RetrieveRequest{Namespace: swarm.NamespaceUserProfile})
	if err != nil || len(got.Messages) != 1 || string(got.Messages[0].Data) != "through the onion" {
		t.Fatalf("%+v %v", got, err)
	}
	if err := pool.Refresh(ctx); err != nil {
		t.Fatalf("pool refresh through onion paths: %v", err)
	}

	// Wrong swarm everywhere: the inner 421 drives the same rules, ending in ErrWrongSwarm.
	for _, n := range nw.Nodes() {
		n.SetFaults(devnet.Faults{Status: 421})
	}
	_, err = c.Retrieve(ctx, s, swarm.RetrieveRequest{Namespace: swarm.NamespaceUserProfile})
	var ne *swarm.NodeError
	if !errors.Is(err, swarm.ErrWrongSwarm) || !errors.As(err, &ne) {
		t.Fatalf("got %v", err)
	}
}
