package sns_test

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/sns"
	"github.com/sessiongo/sdk/swarm"
)

// Resolve a name over a local devnet that has it registered.
func ExampleResolver_Resolve() {
	ctx := context.Background()
	nw, err := devnet.Start(ctx, devnet.WithNodes(5),
		devnet.WithName("alice", "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72"))
	if err != nil {
		panic(err)
	}
	defer nw.Close()

	tr := swarm.NewHTTPSTransport(swarm.HTTPSOptions{}) // normally an onion transport
	defer tr.Close()
	pool, _ := swarm.NewPool(swarm.PoolConfig{Seeds: []string{nw.SeedURL()}, SeedRootCAs: nw.CertPool()})
	r, _ := sns.NewResolver(sns.ResolverConfig{Transport: tr, Nodes: pool})

	id, err := r.Resolve(ctx, "Alice")
	fmt.Println(id, err)
	// Output: 05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72 <nil>
}

func ExampleNameHash() {
	h, _ := sns.NameHash("KeeJef")
	fmt.Println(base64.StdEncoding.EncodeToString(h[:]))
	// Output: mNpp69gJKd4runEa2LZ5MyWUpw1LjMlP8xtMbLDBVuc=
}
