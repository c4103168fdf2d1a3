package sogsd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strings"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/sogsd"
)

// Start a community server, create a room, seed a message and read it back the way a client
// polls: a signed request with the X-SOGS-* headers. Clients normally reach the server through
// an onion path instead (onion.Transport.Do with the server's OnionServer()).
func ExampleStart() {
	ctx := context.Background()
	srv, err := sogsd.Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	if err := srv.CreateRoom(sogsd.RoomConfig{Token: "lobby", Name: "Lobby"}); err != nil {
		log.Fatal(err)
	}
	author, _ := crypto.GenerateKeys(nil)
	if _, err := srv.PostAs("lobby", author, sogsd.Pad([]byte("welcome"))); err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.HasPrefix(srv.JoinURL("lobby"), srv.URL()+"/lobby?public_key="))

	// A reader signs its request with its 15-blinded key on this server.
	reader, _ := crypto.GenerateKeys(nil)
	signer, err := srv.Signer(reader)
	if err != nil {
		log.Fatal(err)
	}
	path := "/room/lobby/messages/since/0"
	headers, err := signer.Sign("GET", path, nil)
	if err != nil {
		log.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL()+path, nil)
	headers.Set(req.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var rows []struct {
		Seqno int64  `json:"seqno"`
		Data  []byte `json:"data"` // base64 in the JSON
	}
	if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, len(rows), rows[0].Seqno, string(bytes.TrimRight(rows[0].Data[:8], "\x00\x80")))
	// Output:
	// true
	// 200 1 1 welcome
}

// Populate builds the fixture of a poll benchmark: rooms full of signed messages.
func ExampleServer_Populate() {
	srv, err := sogsd.Start(context.Background(), sogsd.WithPostRateLimit(0, 0))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	author, _ := crypto.GenerateKeys(nil)
	rooms, err := srv.Populate(5, 100, author)
	if err != nil {
		log.Fatal(err)
	}
	msgs, _ := srv.Messages(rooms[4])
	fmt.Println(rooms[0], len(rooms), len(msgs), msgs[99].Seqno)
	// Output: room-0 5 100 100
}
