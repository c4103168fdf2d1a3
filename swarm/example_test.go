package swarm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/swarm"
)

// Store a message in our own swarm and read it back, over a local devnet.
func Example() {
	ctx := context.Background()
	nw, err := devnet.Start(ctx, devnet.WithNodes(6))
	if err != nil {
		panic(err)
	}
	defer nw.Close()

	tr := swarm.NewHTTPSTransport(swarm.HTTPSOptions{}) // or an onion transport
	defer tr.Close()
	pool, _ := swarm.NewPool(swarm.PoolConfig{
		Seeds:       []string{nw.SeedURL()}, // default: swarm.MainnetSeeds()
		SeedRootCAs: nw.CertPool(),          // default: the system roots
		Transport:   tr,
	})
	client, _ := swarm.NewClient(swarm.ClientConfig{Transport: tr, Pool: pool})

	keys, _ := crypto.KeysFromSeed(make([]byte, 16))
	me := swarm.NewKeysSigner(keys)
	stored, err := client.Store(ctx, me, swarm.StoreRequest{
		Namespace: swarm.NamespaceDefault,
		Data:      []byte("hello, swarm"),
		TTL:       24 * time.Hour,
	})
	if err != nil {
		panic(err)
	}
	got, err := client.Retrieve(ctx, me, swarm.RetrieveRequest{})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(got.Messages), string(got.Messages[0].Data), got.Messages[0].Hash == stored.Hash)
	// Output: 1 hello, swarm true
}

func ExampleClosestSwarm() {
	id, _ := crypto.ParseAccountID("0560068fd8fe7fedfc15afb919aca87cc9ceb4e5ef2a507c52c2a0385c1be7a8d3")
	swarms := []uint64{0x1000000000000000, 0x8000000000000000, 0xf000000000000000}
	space := swarm.AccountSwarmSpace(id)
	chosen, _ := swarm.ClosestSwarm(swarms, space)
	fmt.Printf("%016x -> %016x\n", space, chosen)
	// Output: 79bdeb72636045b4 -> 8000000000000000
}

func ExampleMessageHash() {
	id, _ := crypto.ParseAccountID("0560068fd8fe7fedfc15afb919aca87cc9ceb4e5ef2a507c52c2a0385c1be7a8d3")
	fmt.Println(swarm.MessageHash(id, 42, []byte("abc 123")))
	// Output: icC9Fi9cFsX4TtHw0oVnuqZR06QEzWR3osGQEZYFP6U
}

func ExampleRetrieveRequest_SignatureMessage() {
	fmt.Printf("%s\n", swarm.RetrieveRequest{Namespace: -10}.SignatureMessage(1700000000123))
	// Output: retrieve-101700000000123
}
