package devnet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/groups"
	"github.com/sessiongo/sdk/internal/devnetonion"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/sns"
	"github.com/sessiongo/sdk/swarm"
)

// These tests drive the devnet with the SDK's own client packages. The devnet's checks are
// written independently of them, so agreement here is a cross-check of both sides.

func TestInteropSwarmClient(t *testing.T) {
	ctx := context.Background()
	nw := devnettest.Start(t, devnet.WithSeed(17))
	pool, err := swarm.NewPool(swarm.PoolConfig{Seeds: []string{nw.SeedURL()}, SeedRootCAs: nw.CertPool()})
	if err != nil {
		t.Fatal(err)
	}
	tr := swarm.NewHTTPSTransport(swarm.HTTPSOptions{Timeout: 10 * time.Second})
	c, err := swarm.NewClient(swarm.ClientConfig{Transport: tr, Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := crypto.KeysFromSeed(bytes.Repeat([]byte{7}, 16))
	if err != nil {
		t.Fatal(err)
	}
	s := swarm.NewKeysSigner(keys)
	for _, ns := range []swarm.Namespace{0, 2, -21} {
		data := []byte("interop " + time.Now().String())
		if _, err := c.Store(ctx, s, swarm.StoreRequest{Namespace: ns, Data: data, TTL: time.Hour}); err != nil {
			t.Fatalf("store ns %d: %v", ns, err)
		}
		got, err := c.Retrieve(ctx, s, swarm.RetrieveRequest{Namespace: ns})
		if err != nil {
			t.Fatalf("retrieve ns %d: %v", ns, err)
		}
		want := swarm.MessageHash(keys.AccountID(), ns, data)
		raw, _ := json.Marshal(got)
		if !bytes.Contains(raw, []byte(want)) {
			t.Fatalf("ns %d: stored message %s not retrieved: %s", ns, want, raw)
		}
	}
	if _, err := c.DeleteAll(ctx, s, swarm.DeleteAllRequest{}); err != nil {
		t.Fatalf("delete_all: %v", err)
	}
}

// TestInteropChurn421: the client caches a one-swarm pool; a node joins and the swarm splits; the
// client's requests meet 421s and recover.
func TestInteropChurn421(t *testing.T) {
	ctx := context.Background()
	nw := devnettest.Start(t, devnet.WithNodes(13), devnet.WithSeed(23))
	pool, err := swarm.NewPool(swarm.PoolConfig{Seeds: []string{nw.SeedURL()}, SeedRootCAs: nw.CertPool()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := swarm.NewClient(swarm.ClientConfig{Transport: swarm.NewHTTPSTransport(swarm.HTTPSOptions{}), Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	var signers []swarm.Signer
	for i := 0; i < 8; i++ {
		keys, err := crypto.KeysFromSeed(bytes.Repeat([]byte{byte(i + 1)}, 16))
		if err != nil {
			t.Fatal(err)
		}
		s := swarm.NewKeysSigner(keys)
		signers = append(signers, s)
		if _, err := c.Store(ctx, s, swarm.StoreRequest{Data: []byte("before"), TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := nw.AddNodes(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if len(nw.Swarms()) != 2 {
		t.Fatal("no split")
	}
	for i, s := range signers {
		if _, err := c.Store(ctx, s, swarm.StoreRequest{Data: []byte("after"), TTL: time.Hour}); err != nil {
			t.Fatalf("account %d: store after the split: %v", i, err)
		}
		got, err := c.Retrieve(ctx, s, swarm.RetrieveRequest{})
		if err != nil {
			t.Fatalf("account %d: retrieve after the split: %v", i, err)
		}
		raw, _ := json.Marshal(got)
		if !bytes.Contains(raw, []byte(swarm.MessageHash(s.AccountID(), 0, []byte("before")))) {
			t.Fatalf("account %d: message stored before the split is missing: %s", i, raw)
		}
	}
}

func TestInteropOnionBuilder(t *testing.T) {
	nw := devnettest.Start(t, devnet.WithNodes(8))
	hc := nw.HTTPClient()
	defer hc.CloseIdleConnections()
	nodes := nw.Nodes()
	hop := func(n *devnet.Node) onion.Hop {
		return onion.Hop{Ed25519: n.Ed25519PublicKey(), X25519: n.X25519PublicKey()}
	}
	for _, enc := range []string{"xchacha20", "aes-gcm"} {
		et, err := onion.ParseEncType(enc)
		if err != nil {
			t.Fatal(err)
		}
		dest := nodes[7]
		o, err := onion.Build([]onion.Hop{hop(nodes[0]), hop(nodes[1]), hop(nodes[2])},
			onion.NodeDestination{Ed25519: dest.Ed25519PublicKey(), X25519: dest.X25519PublicKey()},
			[]byte(`{"method":"info","params":{}}`), &onion.BuildOptions{EncType: et})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Post(nodes[0].URL()+"/onion_req/v2", "application/octet-stream", bytes.NewReader(o.Body))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: outer %d %s", enc, resp.StatusCode, body)
		}
		nr, err := o.DecodeNodeResponse(body)
		if err != nil {
			t.Fatalf("%s: %v", enc, err)
		}
		var info struct {
			Version []int `json:"version"`
		}
		if nr.Status != 200 || json.Unmarshal(nr.Body, &info) != nil || len(info.Version) != 3 {
			t.Fatalf("%s: %d %s", enc, nr.Status, nr.Body)
		}
	}
}

// TestInteropGroupSubaccount: a member signs with the groups package's subaccount signer (blinded
// key kT, group-signed token); the admin revokes and unrevokes the token.
func TestInteropGroupSubaccount(t *testing.T) {
	ctx := context.Background()
	nw := devnettest.Start(t, devnet.WithNodes(6))
	pool, err := swarm.NewPool(swarm.PoolConfig{Seeds: []string{nw.SeedURL()}, SeedRootCAs: nw.CertPool(), MinSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	c, err := swarm.NewClient(swarm.ClientConfig{Transport: swarm.NewHTTPSTransport(swarm.HTTPSOptions{}), Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	var seed [32]byte
	seed[0] = 3
	admin := groups.NewAdminKey(seed)
	member, err := crypto.KeysFromSeed(bytes.Repeat([]byte{9}, 16))
	if err != nil {
		t.Fatal(err)
	}
	flags := groups.SubaccountFlags(true, false)
	auth, err := admin.SubaccountAuth(member.AccountID(), flags)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := groups.NewSubaccountSigner(member, admin.ID(), auth)
	if err != nil {
		t.Fatal(err)
	}
	as, err := swarm.NewGroupAdminSigner(admin.PrivateKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Store(ctx, ms, swarm.StoreRequest{Namespace: 11, Data: []byte("hi group"), TTL: time.Hour}); err != nil {
		t.Fatalf("member store: %v", err)
	}
	if _, err := c.Retrieve(ctx, ms, swarm.RetrieveRequest{Namespace: 11}); err != nil {
		t.Fatalf("member retrieve: %v", err)
	}
	tok, err := admin.SubaccountToken(member.AccountID(), flags)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RevokeSubaccount(ctx, as, swarm.RevokeSubaccountRequest{Tokens: [][swarm.SubaccountTokenSize]byte{tok}}); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := c.Retrieve(ctx, ms, swarm.RetrieveRequest{Namespace: 11}); !errors.Is(err, swarm.ErrUnauthorized) {
		t.Fatalf("revoked member retrieve: %v", err)
	}
	if _, err := c.UnrevokeSubaccount(ctx, as, swarm.UnrevokeSubaccountRequest{Tokens: [][swarm.SubaccountTokenSize]byte{tok}}); err != nil {
		t.Fatalf("unrevoke: %v", err)
	}
	if _, err := c.Retrieve(ctx, ms, swarm.RetrieveRequest{Namespace: 11}); err != nil {
		t.Fatalf("unrevoked member retrieve: %v", err)
	}
}

// TestInteropONS resolves a name registered in the devnet with the sns package.
func TestInteropONS(t *testing.T) {
	ctx := context.Background()
	keys, err := crypto.KeysFromSeed(bytes.Repeat([]byte{5}, 16))
	if err != nil {
		t.Fatal(err)
	}
	id := keys.AccountID()
	nw := devnettest.Start(t, devnet.WithNodes(5), devnet.WithName("DevUser", id.String()))
	pool, err := swarm.NewPool(swarm.PoolConfig{Seeds: []string{nw.SeedURL()}, SeedRootCAs: nw.CertPool(), MinSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	r, err := sns.NewResolver(sns.ResolverConfig{Transport: swarm.NewHTTPSTransport(swarm.HTTPSOptions{}), Nodes: pool})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Resolve(ctx, "devuser")
	if err != nil {
		t.Fatal(err)
	}
	if got != id {
		t.Fatalf("resolved %s, want %s", got, id)
	}
	if _, err := r.Resolve(ctx, "nobody"); err == nil {
		t.Fatal("an unregistered name resolved")
	}
}

// TestInteropOnionTransport runs the swarm client over the onion package's Transport (3-hop paths
// built from the devnet pool); then one path's guard drops every request and the client recovers.
func TestInteropOnionTransport(t *testing.T) {
	ctx := context.Background()
	nw := devnettest.Start(t, devnet.WithSeed(41))
	c, tr, _ := devnetonion.SwarmClient(t, nw, onion.Config{RequestTimeout: 5 * time.Second})
	keys, err := crypto.KeysFromSeed(bytes.Repeat([]byte{11}, 16))
	if err != nil {
		t.Fatal(err)
	}
	s := swarm.NewKeysSigner(keys)
	for i := 0; i < 3; i++ {
		data := []byte{byte(i), 'o'}
		if _, err := c.Store(ctx, s, swarm.StoreRequest{Data: data, TTL: time.Hour}); err != nil {
			t.Fatalf("store %d over onion: %v", i, err)
		}
	}
	// One path's guard drops every connection: requests fail over to the other path. The
	// second path is built in the background: wait for it.
	paths := tr.Paths()
	for deadline := time.Now().Add(10 * time.Second); len(paths) < 2 && time.Now().Before(deadline); paths = tr.Paths() {
		time.Sleep(10 * time.Millisecond)
	}
	if len(paths) < 2 {
		t.Fatalf("%d paths", len(paths))
	}
	if n, ok := nw.Node(paths[0].Nodes[0].Ed25519); ok {
		n.SetFaults(devnet.Faults{DropRate: 1})
	}
	var got *swarm.RetrieveResult
	for i := 0; i < 5; i++ {
		if got, err = c.Retrieve(ctx, s, swarm.RetrieveRequest{}); err != nil {
			t.Fatalf("retrieve %d over onion with a dropping guard: %v", i, err)
		}
	}
	raw, _ := json.Marshal(got)
	if !bytes.Contains(raw, []byte(swarm.MessageHash(keys.AccountID(), 0, []byte{2, 'o'}))) {
		t.Fatalf("retrieve over onion: %s", raw)
	}
}
