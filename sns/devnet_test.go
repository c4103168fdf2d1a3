package sns_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/sns"
	"github.com/sessiongo/sdk/swarm"
)

const (
	aliceID = "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72"
	bobID   = "057aeb66e45660c3bdfb7c62706f6440226af43ec13f3b6f899c1dd4db1b8fce5b"
)

func newPool(t *testing.T, nw *devnet.Network) *swarm.Pool {
	t.Helper()
	p, err := swarm.NewPool(swarm.PoolConfig{Seeds: []string{nw.SeedURL()}, SeedRootCAs: nw.CertPool()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newTransport(t *testing.T) *swarm.HTTPSTransport {
	tr := swarm.NewHTTPSTransport(swarm.HTTPSOptions{Timeout: 5 * time.Second})
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestResolveOnDevnet(t *testing.T) {
	nw := devnettest.Start(t, devnet.WithNodes(6), devnet.WithName("Alice", aliceID))
	r, err := sns.NewResolver(sns.ResolverConfig{Transport: newTransport(t), Nodes: newPool(t, nw)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := r.Resolve(ctx, "ALICE")
	if err != nil || id.String() != aliceID {
		t.Fatalf("%s %v", id, err)
	}
	if _, err := r.Resolve(ctx, "nobody"); !errors.Is(err, sns.ErrNotFound) {
		t.Fatalf("unregistered: %v", err)
	}
	if _, err := r.Resolve(ctx, "bad name!"); !errors.Is(err, sns.ErrInvalidName) {
		t.Fatalf("invalid: %v", err)
	}
	// Every node corrupting its replies: an error, never a wrong answer.
	for _, n := range nw.Nodes() {
		n.SetFaults(devnet.Faults{CorruptRate: 1})
	}
	if id, err := r.Resolve(ctx, "alice"); err == nil {
		t.Fatalf("corrupt replies resolved to %s", id)
	}
	// A slow network and a short deadline.
	for _, n := range nw.Nodes() {
		n.SetFaults(devnet.Faults{Delay: 10 * time.Second})
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := r.Resolve(short, "alice"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow: %v", err)
	}
}

// mixedNodes gives two nodes of one network and one of another.
type mixedNodes struct{ a, b []swarm.Node }

func (m mixedNodes) RandomNodes(context.Context, int, func(swarm.Node) bool) ([]swarm.Node, error) {
	return []swarm.Node{m.a[0], m.a[1], m.b[0]}, nil
}

func TestResolveDisagreement(t *testing.T) {
	nwA := devnettest.Start(t, devnet.WithNodes(3), devnet.WithName("carol", aliceID))
	nwB := devnettest.Start(t, devnet.WithNodes(3), devnet.WithName("carol", bobID))
	ctx := context.Background()
	a, err := newPool(t, nwA).Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newPool(t, nwB).Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := sns.NewResolver(sns.ResolverConfig{Transport: newTransport(t), Nodes: mixedNodes{a, b}})
	_, err = r.Resolve(ctx, "carol")
	var de *sns.DisagreementError
	if !errors.Is(err, sns.ErrDisagreement) || !errors.As(err, &de) || de.Answers != 2 {
		t.Fatalf("got %v", err)
	}
	// Registered on one network only: "found" and "not found" disagree too.
	if err := nwA.RegisterName("dave", aliceID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(ctx, "dave"); !errors.Is(err, sns.ErrDisagreement) {
		t.Fatalf("got %v", err)
	}
	// A quorum larger than the network.
	r4, _ := sns.NewResolver(sns.ResolverConfig{Transport: newTransport(t), Nodes: newPool(t, nwA), Quorum: 4})
	if _, err := r4.Resolve(ctx, "carol"); !errors.Is(err, swarm.ErrNoNodes) {
		t.Fatalf("quorum of 4 on 3 nodes: %v", err)
	}
}

func TestNewResolverNeedsParts(t *testing.T) {
	if _, err := sns.NewResolver(sns.ResolverConfig{}); err == nil {
		t.Fatal("empty config accepted")
	}
}
