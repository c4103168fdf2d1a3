package onion_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/swarm"
)

// A Transport sends storage RPCs through 3-hop onion paths. Here it runs against a loopback
// devnet; against the real network leave out Seeds, SeedRootCAs and Diversity.
func ExampleTransport() {
	ctx := context.Background()
	nw, err := devnet.Start(ctx, devnet.WithNodes(10))
	if err != nil {
		log.Fatal(err)
	}
	defer nw.Close()

	pool, err := swarm.NewPool(swarm.PoolConfig{Seeds: []string{nw.SeedURL()}, SeedRootCAs: nw.CertPool()})
	if err != nil {
		log.Fatal(err)
	}
	tr, err := onion.New(onion.Config{
		Pool:      pool,
		Diversity: onion.DistinctNodes, // devnet nodes all live on 127.0.0.1
	})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	pool.SetTransport(tr) // the pool refreshes itself through onion requests too

	// The swarm client signs and routes storage requests; the transport carries them.
	client, err := swarm.NewClient(swarm.ClientConfig{Transport: tr, Pool: pool})
	if err != nil {
		log.Fatal(err)
	}
	nodes, err := pool.Nodes(ctx)
	if err != nil {
		log.Fatal(err)
	}
	info, err := client.Info(ctx, nodes[0])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("node answered through the onion:", info != nil)
	fmt.Println("hops per path:", len(tr.Paths()[0].Nodes))
	// Output:
	// node answered through the onion: true
	// hops per path: 3
}

// Build wraps a payload in one layer per hop; each node can open only its own layer. This
// example plays both sides: the client builds, the (single) hop and the destination peel.
func ExampleBuild() {
	guard, _ := onion.GenerateKeyPair(nil)
	dest, _ := onion.GenerateKeyPair(nil)
	destEd := [32]byte{0xde}

	o, err := onion.Build(
		[]onion.Hop{{Ed25519: [32]byte{0x01}, X25519: guard.Public}},
		onion.NodeDestination{Ed25519: destEd, X25519: dest.Public},
		[]byte(`{"method":"info","params":{}}`), nil)
	if err != nil {
		log.Fatal(err)
	}

	// The guard opens its layer and learns only where to forward.
	req, _ := onion.ParseHopRequest(o.Body)
	plain, _, _ := req.Open(guard)
	layer, _ := onion.ParseLayer(plain)
	fmt.Println("guard sees:", layer.Kind, layer.Destination == destEd)

	// The destination opens the next layer, runs the RPC, and encrypts its reply.
	next, _ := onion.NewServerChannel(layer.EncType, dest, layer.EphemeralKey)
	inner, _ := next.Open(layer.Blob)
	final, _ := onion.ParseLayer(inner)
	fmt.Println("destination sees:", final.Kind, string(final.Blob))
	reply, _ := onion.EncodeNodeReply(next, nil, 200, []byte(`{"version":[2,8,0]}`))

	// Only the client can read the reply.
	r, err := o.DecodeNodeResponse(reply)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("client reads:", r.Status, string(r.Body))
	// Output:
	// guard sees: relay_to_node true
	// destination sees: final {"method":"info","params":{}}
	// client reads: 200 {"version":[2,8,0]}
}

// EncodeV4Request builds the payload of a request to a server destination.
func ExampleEncodeV4Request() {
	p, err := onion.EncodeV4Request(&onion.ServerRequest{Method: "GET", Endpoint: "/capabilities"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(p))
	// Output: l56:{"endpoint":"/capabilities","headers":{},"method":"GET"}e
}

// A server destination: its URL and X25519 key.
func ExampleNewServer() {
	srv, err := onion.NewServer("https://open.getsession.org", [32]byte{ /* the server's X25519 key */ })
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(srv.URL.Scheme, srv.URL.Host, srv.URL.EffectivePort())
	_ = func(tr onion.ServerTransport) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		resp, err := tr.Do(ctx, srv, &onion.ServerRequest{Endpoint: "/capabilities"})
		if err == nil {
			fmt.Println(resp.Status, string(resp.Body))
		}
	}
	// Output: https open.getsession.org 443
}
