package devnet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"strings"
	"time"

	"github.com/sessiongo/sdk/devnet"
)

// Start a local network, look at its swarms and ask one node for its version, the way a client
// would: over HTTPS, trusting the devnet's CA.
func ExampleStart() {
	nw, err := devnet.Start(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	defer nw.Close()

	fmt.Println("nodes:", len(nw.Nodes()))
	fmt.Println("swarms:", len(nw.Swarms()))

	hc := nw.HTTPClient()
	defer hc.CloseIdleConnections()
	resp, err := hc.Post(nw.Nodes()[0].URL()+"/storage_rpc/v1", "application/json",
		strings.NewReader(`{"method":"info","params":{}}`))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var info struct {
		Version []int `json:"version"`
	}
	if err := json.Unmarshal(body, &info); err != nil {
		log.Fatal(err)
	}
	fmt.Println("status:", resp.StatusCode, "version:", info.Version)
	// Output:
	// nodes: 20
	// swarms: 2
	// status: 200 version: [2 8 0]
}

// Make one node of an account's swarm misbehave, the way a client test checks its failover.
func ExampleNode_SetFaults() {
	nw, err := devnet.Start(context.Background(), devnet.WithSeed(1))
	if err != nil {
		log.Fatal(err)
	}
	defer nw.Close()

	var account [33]byte // an all-zero 05 account, for the example
	account[0] = 0x05
	_, members := nw.SwarmFor(account)

	members[0].SetFaults(devnet.Faults{Status: 503})                // "not ready"
	members[1].SetFaults(devnet.Faults{DropRate: 0.5})              // drops half the requests
	members[2].SetFaults(devnet.Faults{ClockSkew: 2 * time.Minute}) // two minutes fast
	members[3].Stop()                                               // offline; Restart brings it back

	fmt.Println(members[0].Faults().Status, members[3].Running())
	// Output: 503 false
}
