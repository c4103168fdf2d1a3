package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/session"
)

// The devnet demo: the bot answers !ping with a quoted pong and a reaction, and !dm with a
// blinded DM that reveals its real Account ID.
func TestCommunitybotOnDevnet(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := runDevnet(context.Background(), f, false); err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`bot → room: "pong" (a reply to the user: true)`,
		"bot reacted 👍 to !ping",
		`bot → user (blinded DM): "Hi! This is a private message through the community inbox.", from the bot's real Account ID: true`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// The bot joins the room of an external devnet named by its network file (what `sessionctl
// devnet` writes) and answers there.
func TestCommunitybotOnExternalDevnet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn := devnettest.Start(t, devnet.WithNodes(8))
	srv, err := sogsd.Start(ctx, sogsd.WithNetwork(dn))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.CreateRoom(sogsd.RoomConfig{Token: "lobby", Name: "Lobby"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b, err := json.Marshal(session.NetworkFile{Seeds: []string{dn.SeedURL()}, CACertPEM: string(dn.CACertPEM()),
		PathDiversity: "nodes", Communities: []string{srv.JoinURL("lobby")}})
	if err != nil {
		t.Fatal(err)
	}
	netFile := filepath.Join(dir, "devnet.json")
	if err := os.WriteFile(netFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	botCtx, stopBot := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runReal(botCtx, "", filepath.Join(dir, "bot.db"), netFile, false) }()
	defer func() {
		stopBot()
		if err := <-done; err != nil {
			t.Errorf("bot: %v", err)
		}
	}()
	cfg, err := session.LoadNetworkConfig(netFile)
	if err != nil {
		t.Fatal(err)
	}
	user, err := session.NewClient(session.WithNetworkConfig(cfg), session.WithPollInterval(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer user.Close()
	room := srv.JoinURL("lobby")
	if _, err := user.JoinCommunity(ctx, room); err != nil {
		t.Fatal(err)
	}
	events, stopSub := user.Subscribe(16)
	defer stopSub()
	go user.Run(botCtx)
	// The bot joins when it starts and reads the room from then on: ping until it answers
	// (slowly: the room allows 5 posts in 16 s).
	tick := time.NewTicker(3 * time.Second)
	defer tick.Stop()
	if _, err := user.SendCommunityMessage(ctx, room, "!ping"); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case e := <-events:
			if m, ok := e.(*session.CommunityMessage); ok && !m.Self && m.Text == "pong" {
				return
			}
		case <-tick.C:
			if _, err := user.SendCommunityMessage(ctx, room, "!ping"); err != nil {
				t.Log(err)
			}
		case <-ctx.Done():
			t.Fatal("no pong")
		}
	}
}
