package community_test

import (
	"context"
	"fmt"

	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/onion"
)

func ExampleParseURL() {
	u, err := community.ParseURL("https://open.getsession.org/session?public_key=a03c383cf63c3c4efe67acc52112a6dd734b3a946b9545f488aaa93da7991238")
	if err != nil {
		panic(err)
	}
	fmt.Println(u.Server.URL, u.Token)
	_, err = community.ParseURL("https://open.getsession.org/session")
	fmt.Println(err)
	// Output:
	// https://open.getsession.org session
	// community: bad community URL: want exactly one public_key parameter, got 0
}

// A bot posts to a room of an in-process community server and reads it back. Real bots use an
// *onion.Transport (a session.Network's Onion()); this one talks to the local server directly.
func ExampleClient_Post() {
	ctx := context.Background()
	srv, err := sogsd.Start(ctx)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	_ = srv.CreateRoom(sogsd.RoomConfig{Token: "lobby", Name: "Lobby"})

	room, err := community.ParseURL(srv.JoinURL("lobby"))
	if err != nil {
		panic(err)
	}
	keys, _ := crypto.GenerateKeys(nil)
	c, err := community.New(community.Config{Keys: keys, Server: room.Server, Transport: &onion.DirectServerTransport{}})
	if err != nil {
		panic(err)
	}
	info, err := c.Room(ctx, room.Token)
	if err != nil {
		panic(err)
	}
	fmt.Println("joined", info.Name)
	if _, err := c.Post(ctx, room.Token, []byte("hello, room"), nil); err != nil {
		panic(err)
	}
	page, err := c.Since(ctx, room.Token, 0, nil)
	if err != nil {
		panic(err)
	}
	for _, m := range page.Messages {
		fmt.Printf("%s… wrote %q\n", m.Author.String()[:2], m.Content())
	}
	// Output:
	// joined Lobby
	// 15… wrote "hello, room"
}
